"""Inverse problems: equation, domain, unknown parameters, hard constraints, data."""

from __future__ import annotations

import dataclasses
import math
import numbers
import pickle
import sys
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union, overload

import numpy as np

from . import _validation
from . import expr as ex
from ._validation import _show, flag, function, items, names, number, text
from ._warnings import user_stacklevel
from .conditions import Condition
from .errors import InputError

Bounds = Tuple[Optional[float], Optional[float]]
SolutionFn = Callable[[np.ndarray, Mapping[str, float]], np.ndarray]

RESERVED = {"u", "N", "pi", "e", *ex.FUNCTIONS}


class NotPicklableError(InputError, pickle.PicklingError):
    """A problem (or unknown function) holds a Python callable that the standard ``pickle``
    module cannot pickle: a lambda or a local function. Both an :class:`~pinnbilo.InputError`
    and a :class:`pickle.PicklingError`."""


def _pickling_by_value() -> bool:
    """Whether the pickling that called into this module may pickle functions by value:
    a subclass of the standard picklers (cloudpickle, dill, ...) or :mod:`copy`, which keeps
    functions as they are. False for the standard library's ``pickle``, which pickles functions
    by reference (module and name) only."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__") == __name__:
        frame = frame.f_back  # type: ignore[assignment]  # None ends the loop
    if frame is None:
        return False
    if frame.f_globals.get("__name__") == "copy":
        return True
    standard = (pickle.Pickler, pickle._Pickler)
    pickler = frame.f_locals.get("self")
    return isinstance(pickler, standard) and type(pickler) not in standard


def _require_picklable(callables: Mapping[str, object], owner: str) -> None:
    """Under the standard ``pickle``: a clear :class:`NotPicklableError` naming the first of
    ``callables`` ({what: callable or None}) that it cannot pickle, instead of pickle's own."""
    if _pickling_by_value():
        return
    for what, fn in callables.items():
        if fn is None:
            continue
        try:
            pickle.dumps(fn)
        except (pickle.PicklingError, AttributeError, TypeError) as exc:
            raise NotPicklableError(
                f"{owner} cannot be pickled with the standard pickle module: its {what} {fn!r} is not picklable "
                f"({type(exc).__name__}: {exc}). Define it as a module-level function (pickled by reference), or "
                "pickle with cloudpickle (cloudpickle.dumps, as Dask does), which pickles lambdas and local "
                "functions by value"
            ) from None


@dataclass(frozen=True)
class Parameter:
    """An unknown scalar of the equation.

    ``init`` is the initial guess; ``bounds`` = (lower, upper), either may be None, enforced by a
    smooth transform (open interval); ``true`` is the value used for synthetic data, if known.
    ``scale``: how far one unit of the optimiser's variable moves the parameter near ``init``
    (the optimisers train ``a / scale``, through the bound transform). Default ``|init|`` (1 when
    init is 0): every parameter is trained as a multiple of its initial guess, so parameters of
    very different magnitude (D = 0.1, rho = 2) move at comparable relative rates under Adam.

    The numbers are stored as floats and ``bounds`` as a tuple.
    """

    name: str
    init: float
    bounds: Bounds = (None, None)
    true: Optional[float] = None
    scale: Optional[float] = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise InputError(f"parameter name {_show(self.name)} must be a Python identifier")
        if self.name in RESERVED:
            raise InputError(f"parameter name '{self.name}' is reserved; pick another")
        # Numbers are checked (a huge int, a bool or a complex refused) and kept as floats.
        init = _require_finite_number(self.init, f"initial guess of '{self.name}'")
        if not isinstance(self.bounds, (tuple, list)) or len(self.bounds) != 2:
            raise InputError(
                f"bounds of '{self.name}' must be a pair (lower, upper), either None for no bound, "
                f"got {_show(self.bounds)}"
            )
        lo = None if self.bounds[0] is None else _require_finite_number(self.bounds[0], f"lower bound of '{self.name}'")
        hi = None if self.bounds[1] is None else _require_finite_number(self.bounds[1], f"upper bound of '{self.name}'")
        if lo is not None and hi is not None and not lo < hi:
            raise InputError(f"bounds of '{self.name}': lower {lo} must be below upper {hi}")
        if (lo is not None and init <= lo) or (hi is not None and init >= hi):
            raise InputError(f"initial guess {init} of '{self.name}' lies outside its bounds {(lo, hi)}")
        true = None if self.true is None else _require_finite_number(self.true, f"true value of '{self.name}'")
        if true is not None and ((lo is not None and true <= lo) or (hi is not None and true >= hi)):
            raise InputError(f"true value {true} of '{self.name}' lies outside its bounds {(lo, hi)}")
        scale = None if self.scale is None else _require_finite_number(self.scale, f"scale of '{self.name}'")
        if scale is not None and not scale > 0:
            raise InputError(f"scale of '{self.name}' must be > 0, got {scale!r}")
        object.__setattr__(self, "init", init)
        object.__setattr__(self, "bounds", (lo, hi))
        object.__setattr__(self, "true", true)
        object.__setattr__(self, "scale", scale)

    @property
    def resolved_scale(self) -> float:
        """The scale in use: ``scale`` if given, else ``|init|`` (1 when init is 0)."""
        if self.scale is not None:
            return float(self.scale)
        return abs(float(self.init)) if self.init != 0 else 1.0


ACTIVATIONS = ("tanh", "sin", "cos", "sigmoid", "softplus", "exp")
MAX_WIDTH = 4096  # widest hidden layer: wider ones are refused before anything is allocated


def layer_widths(hidden: object, what: str) -> Tuple[int, ...]:
    """Hidden layer widths as a tuple of ints in [1, MAX_WIDTH]; InputError naming ``what``."""
    if isinstance(hidden, numbers.Number):
        raise InputError(f"{what} must be a sequence of layer widths such as (32, 32), got the number {_show(hidden)}")
    widths = items(hidden, what, example="(32, 32)")
    if not widths or any(
        isinstance(h, (bool, np.bool_)) or not isinstance(h, numbers.Integral) or h <= 0 for h in widths
    ):
        raise InputError(f"{what} must be a non-empty sequence of positive layer widths, got {_show(hidden)}")
    if any(h > MAX_WIDTH for h in widths):  # type: ignore[operator]  # Integral, checked above
        raise InputError(f"{what}: layer widths above {MAX_WIDTH} are not supported, got {_show(hidden)}")
    out = tuple(int(h) for h in widths)  # type: ignore[call-overload]
    # Many wide layers: refuse the weight matrices before the core allocates them.
    _validation.size_request(sum(a * b for a, b in zip(out, out[1:])), f"{what} (weights between its layers)")
    return out


@dataclass(frozen=True)
class Function:
    """An unknown function of some coordinates, represented by a small network ``N``.

    ``inputs``: the coordinates it depends on (default: all of the problem's). ``transform``:
    f in terms of its network output ``N`` and its input coordinates, e.g. ``"1 + x*(1 - x)*N"``
    (f = 1 at the ends) or ``"0.5 + 2*sigmoid(N)"`` (f between 0.5 and 2.5); default ``"N"``.
    ``hidden``/``activation``: its network. ``true``: optional ``f(points (n, len(inputs))) ->
    (n,)``, the truth used for synthetic data and error measurement.
    """

    name: str
    inputs: Optional[Tuple[str, ...]] = None
    transform: str = "N"
    hidden: Tuple[int, ...] = (16, 16)
    activation: str = "tanh"
    true: Optional[Callable[[np.ndarray], np.ndarray]] = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise InputError(f"function name {_show(self.name)} must be a Python identifier")
        if self.name in RESERVED:
            raise InputError(f"function name '{self.name}' is reserved; pick another")
        if not isinstance(self.transform, str):
            raise InputError(
                f"transform of function '{self.name}' must be text such as '1 + x*(1 - x)*N', "
                f"got {_show(self.transform)}"
            )
        object.__setattr__(self, "hidden", layer_widths(self.hidden, f"hidden of function '{self.name}'"))
        if not isinstance(self.activation, str) or self.activation not in ACTIVATIONS:
            raise InputError(
                f"function '{self.name}': unknown activation {_show(self.activation)}; use one of {ACTIVATIONS}"
            )
        if self.inputs is not None:
            object.__setattr__(
                self, "inputs", names(self.inputs, f"inputs of function '{self.name}'", example="('x',)")
            )
        if self.true is not None:
            function(self.true, f"true of function '{self.name}'", signature="f(points) -> values")

    def __reduce__(self) -> Tuple[Callable[..., "Function"], Tuple[Any, ...]]:
        """Pickle by the constructor's arguments; with the standard ``pickle``, a ``true`` that is
        a lambda or local function raises :class:`NotPicklableError` saying so."""
        _require_picklable({"true function": self.true}, f"function '{self.name}'")
        return Function, tuple(getattr(self, f.name) for f in dataclasses.fields(self))


@dataclass
class Data:
    """Observations of one quantity: ``values[i] ~ y(points[i])``, where ``y`` is ``of``: a field
    (``"u"``, ``"I"``), a derivative (``"u.x"``: flux data) or any expression of the fields
    (``"S + I"``).  ``of=None`` means the problem's only field.

    points: (m, n_coords) array; values: (m,) array. ``sigma``: the noise standard deviation, a
    number or one per point ((m,) array), so that the data loss is the Gaussian negative
    log-likelihood up to a constant factor: each row weighs ``1 / sigma^2`` (weights are scaled to
    mean 1 over all the observations a model gets; ``w_data`` sets the overall scale). ``noise``
    records the relative noise level used to make synthetic data (informational).

    An integral observation (see :meth:`Problem.integral_data`) has ``integral=True``: one value,
    ``values[0] ~ sum_i quadrature[i] * y(points[i])``.
    """

    points: np.ndarray
    values: np.ndarray
    noise: float = 0.0
    of: Optional[str] = None
    sigma: Optional[Union[float, np.ndarray]] = None
    integral: bool = False
    quadrature: Optional[np.ndarray] = None

    def __post_init__(self) -> None:
        self.integral = flag(self.integral, "integral")
        pts = float_array(self.points, "data points")
        if pts.ndim == 1:
            pts = pts[:, None]
        vals = float_array(self.values, "data values")
        if vals.ndim == 0 and self.integral:
            vals = vals.reshape(1)
        if pts.ndim != 2:
            raise InputError(f"data points must have shape (m, n_coords), got {pts.shape}")
        rows = 1 if self.integral else pts.shape[0]
        if vals.ndim != 1 or vals.shape[0] != rows:
            what = "one value (the integral)" if self.integral else f"shape ({pts.shape[0]},) to match the points"
            raise InputError(f"data values must have {what}, got {vals.shape}")
        if pts.shape[0] == 0:
            raise InputError("data is empty: need at least one observation")
        if not np.all(np.isfinite(pts)):
            raise InputError("data points contain NaN or inf; remove or fix those rows")
        if not np.all(np.isfinite(vals)):
            bad = np.flatnonzero(~np.isfinite(vals))
            raise InputError(
                f"data values contain NaN or inf at indices {bad[:10].tolist()}; remove those observations"
            )
        self.noise = number(self.noise, "noise", nonnegative=True)
        if self.of is not None and (not isinstance(self.of, str) or not self.of.strip()):
            raise InputError(f"of must name what the data observe, e.g. 'u', 'I' or 'u.x', got {_show(self.of)}")
        if self.sigma is not None:
            sig = float_array(self.sigma, "sigma")
            if sig.ndim == 0:
                sig = np.full(rows, float(sig))
            if sig.shape != (rows,):
                raise InputError(f"sigma must be a number or one value per observation ({rows},), got {sig.shape}")
            if not np.all(np.isfinite(sig)) or not np.all(sig > 0):
                bad = np.flatnonzero(~(np.isfinite(sig) & (sig > 0)))
                raise InputError(
                    f"sigma must be positive and finite (a standard deviation); rows {bad[:10].tolist()} are not"
                )
            self.sigma = sig
        if self.integral:
            if self.quadrature is None:
                raise InputError("an integral observation needs quadrature weights, one per point")
            q = float_array(self.quadrature, "quadrature weights")
            if q.shape != (pts.shape[0],) or not np.all(np.isfinite(q)):
                raise InputError(f"quadrature weights must be {pts.shape[0]} finite numbers, got shape {q.shape}")
            self.quadrature = q
        elif self.quadrature is not None:
            raise InputError("quadrature weights belong to integral observations (integral=True)")
        self.points, self.values = pts, vals

    def __len__(self) -> int:
        return int(self.values.shape[0])

    @property
    def weights(self) -> Optional[np.ndarray]:
        """1 / sigma^2 per row, or None without sigma."""
        if self.sigma is None:
            return None
        with np.errstate(over="ignore", divide="ignore"):  # a tiny sigma: inf, refused by the model
            return 1.0 / np.asarray(self.sigma) ** 2

    @overload
    @staticmethod
    def from_arrays(  # type: ignore[overload-overlap]  # a Mapping of values is the list form
        points: object, values: Mapping[str, object], sigma: object = None, of: None = None
    ) -> List["Data"]: ...

    @overload
    @staticmethod
    def from_arrays(points: object, values: object, sigma: object = None, of: Optional[str] = None) -> "Data": ...

    @staticmethod
    def from_arrays(
        points: object, values: object, sigma: object = None, of: Optional[str] = None
    ) -> Union["Data", List["Data"]]:
        """Observations from arrays: ``values`` (m,) of one quantity ``of``, giving a Data; or a
        mapping ``{field or expression: (m,) values}`` on shared points, giving one Data per entry
        (entries that are NaN are left out of that entry: partial observation). ``sigma``: a
        number, (m,) values, or a mapping like ``values``."""
        if isinstance(values, Mapping):
            if of is not None:
                raise InputError("with values given by name, the names say what is observed; drop of=")
            if not values:
                raise InputError("values is an empty mapping: observe at least one quantity")
            if isinstance(sigma, Mapping):
                extra = sorted(set(map(str, sigma)) - set(map(str, values)))
                missing = sorted(set(map(str, values)) - set(map(str, sigma)))
                if extra or missing:
                    raise InputError(
                        f"sigma by name must name exactly the observed quantities {sorted(map(str, values))}: "
                        f"unknown {extra}, missing {missing}"
                    )
            pts = float_array(points, "data points")
            if pts.ndim == 0:
                pts = pts.reshape(1, 1)
            if pts.ndim == 1:
                pts = pts[:, None]
            out = []
            for name, v in values.items():
                vals = float_array(v, f"values of '{name}'")
                if vals.ndim != 1 or vals.shape[0] != pts.shape[0]:
                    raise InputError(
                        f"values of '{name}' must have one entry per point ({pts.shape[0]}), got shape {vals.shape}"
                    )
                keep = ~np.isnan(vals)
                if not keep.any():
                    raise InputError(f"values of '{name}' are all NaN: nothing observed")
                sig = sigma.get(name) if isinstance(sigma, Mapping) else sigma
                if sig is not None:
                    sig = float_array(sig, f"sigma of '{name}'")
                    if sig.ndim == 1:
                        if sig.shape[0] != vals.shape[0]:
                            raise InputError(
                                f"sigma of '{name}' must be a number or one value per point ({vals.shape[0]})"
                            )
                        sig = sig[keep]
                out.append(Data(pts[keep], vals[keep], of=str(name), sigma=sig))  # type: ignore[arg-type]
            return out
        return Data(points, values, of=of, sigma=sigma)  # type: ignore[arg-type]

    @staticmethod
    def from_table(table: object, coords: Sequence[str], fields: Optional[Sequence[str]] = None) -> List["Data"]:
        """Observations from a table: a CSV file (path) with a header row, or a pandas DataFrame.
        Columns named by coordinate hold the points; every other column (or those in ``fields``)
        is an observed quantity, with empty/NaN cells where it was not measured. A column
        ``<name>_sigma`` gives that quantity's per-point standard deviation. One Data per quantity."""
        if isinstance(coords, str) or not isinstance(coords, (list, tuple)) or not coords:
            raise InputError(f"coords must be a non-empty sequence of column names such as ('t',), got {_show(coords)}")
        if fields is not None and (isinstance(fields, str) or not isinstance(fields, (list, tuple))):
            raise InputError(f"fields must be a sequence of column names such as ('I',), got {_show(fields)}")
        columns: Dict[str, np.ndarray] = {}
        if isinstance(table, (str, bytes)) or hasattr(table, "__fspath__"):
            import csv
            import os

            path = os.fsdecode(table)  # type: ignore[call-overload]
            if not os.path.isfile(path):
                raise InputError(f"no table file at {path!r}")
            try:
                with open(path, newline="", encoding="utf-8-sig") as fh:
                    rows = list(csv.reader(fh))
            except (UnicodeDecodeError, csv.Error) as exc:
                raise InputError(f"{path}: not a UTF-8 CSV table ({exc})") from None
            if len(rows) < 2:
                raise InputError(f"{path}: need a header row and at least one data row")
            header = [h.strip() for h in rows[0]]
            dupes = sorted({h for h in header if header.count(h) > 1})
            if dupes:
                raise InputError(f"{path}: columns named twice: {dupes}")
            body = rows[1:]
            for j, h in enumerate(header):
                try:
                    columns[h] = np.array([float(r[j]) if j < len(r) and r[j].strip() else np.nan for r in body])
                except ValueError:
                    raise InputError(f"{path}: column '{h}' holds a value that is not a number") from None
        elif hasattr(table, "columns") and hasattr(table, "to_numpy"):
            names = [str(h) for h in table.columns]  # type: ignore[attr-defined]
            dupes = sorted({h for h in names if names.count(h) > 1})
            if dupes:
                raise InputError(f"the table has columns named twice: {dupes}")
            for h in table.columns:  # type: ignore[attr-defined]
                if np.iscomplexobj(table[h].to_numpy()):  # type: ignore[index]
                    raise InputError(f"column '{h}' of the table holds complex values; it must hold real numbers")
                try:
                    columns[str(h)] = float_array(table[h].to_numpy(dtype=float), f"column '{h}'")  # type: ignore[index]
                except (TypeError, ValueError) as exc:
                    if isinstance(exc, InputError):
                        raise
                    raise InputError(f"column '{h}' of the table holds values that are not numbers") from None
        else:
            raise InputError(f"table must be a CSV path or a pandas DataFrame, got {type(table).__name__}")
        for h, col in columns.items():
            if np.any(np.isinf(col)):
                raise InputError(f"column '{h}' of the table holds inf; leave a cell empty where nothing was measured")
        missing = [c for c in coords if c not in columns]
        if missing:
            raise InputError(f"the table has no column for coordinate(s) {missing}; columns: {sorted(columns)}")
        pts = np.stack([columns[c] for c in coords], axis=1)
        if not np.all(np.isfinite(pts)):
            raise InputError("the table's coordinate columns contain empty or non-numeric cells")
        names = (
            list(fields) if fields is not None else [h for h in columns if h not in coords and not h.endswith("_sigma")]
        )
        if not names:
            raise InputError("the table has no observed columns besides the coordinates")
        out = []
        for name in names:
            if name not in columns:
                raise InputError(f"the table has no column '{name}'; columns: {sorted(columns)}")
            vals = columns[name]
            keep = np.isfinite(vals)
            if not keep.any():
                if fields is not None:
                    raise InputError(f"column '{name}' of the table is empty: nothing observed")
                continue
            sig = columns.get(f"{name}_sigma")
            out.append(Data(pts[keep], vals[keep], of=name, sigma=None if sig is None else sig[keep]))
        if not out:
            raise InputError("every observed column of the table is empty")
        return out


def float_array(x: object, what: str) -> np.ndarray:
    """x as a float64 array, or InputError when it is not numeric (strings, ragged lists, complex
    or boolean values, integers beyond float64, objects whose conversion fails, ...)."""
    if x is None or isinstance(x, (str, bytes, dict, bool, np.bool_)):
        raise InputError(f"{what} must be numeric arrays, got {_show(x)}")
    try:
        if np.iscomplexobj(x):  # type: ignore[arg-type]  # any object: numpy tells
            raise InputError(f"{what} must be real numbers, got a complex array")
        out = np.asarray(x, dtype=np.float64)
        if isinstance(x, np.ndarray) and x.dtype.kind == "b":
            raise InputError(f"{what} must be numbers, got True/False values")
        return out
    except InputError:
        raise
    except Exception as exc:  # OverflowError (10**5000), a hostile __float__/__iter__, RecursionError
        raise InputError(f"{what} must be numeric arrays: {type(exc).__name__}: {_show_text(exc)}") from None


def _show_text(exc: BaseException) -> str:
    """An exception's message, cut, and safe against a message that cannot be made."""
    try:
        msg = str(exc)
    except Exception:
        return "?"
    return msg if len(msg) <= 200 else msg[:197] + "..."


def _require_finite_number(v: object, what: str) -> float:
    """``v`` as a float: a finite real number (bool, complex, 10**5000 and text refused)."""
    return number(v, what)


ExprInput = Union[str, ex.Expr]


@dataclass
class CompiledCondition:
    """A condition as the core takes it: its program, weight, pairing and points (n, n_coords)."""

    program: ex.CompiledProgram
    weight: float
    paired: bool
    points: np.ndarray
    expr: ex.Expr


def _check_spec(spec: object) -> Optional[Dict[str, object]]:
    """``spec``: None or a JSON-able dict (a checkpoint stores it as JSON)."""
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise InputError(f"spec must be None or a dict of JSON values, got {_show(spec)} ({type(spec).__name__})")
    import json

    try:
        json.dumps(spec, allow_nan=False)
    except Exception as exc:  # a value JSON cannot hold: NaN, an object, a 5000-digit integer, ...
        raise InputError(f"spec must be a dict of JSON values: {type(exc).__name__}: {_show_text(exc)}") from None
    return spec


def _field_names(fields: object) -> Tuple[str, ...]:
    if isinstance(fields, str) or not isinstance(fields, (list, tuple)):
        raise InputError(f"fields must be a sequence of names such as ('S', 'I', 'R'), got {_show(fields)}")
    out = tuple(fields)
    if not out:
        raise InputError("a problem needs at least one field")
    for f in out:
        if not isinstance(f, str) or not f.isidentifier() or (f in RESERVED and f != "u"):
            raise InputError(f"field name {_show(f)} must be an identifier other than {sorted(RESERVED - {'u'})}")
        if "_" in f:
            raise InputError(
                f"field name {f!r}: no underscores in field names (derivatives are named like '{f.split('_')[0]}_t')"
            )
    if len(set(out)) != len(out):
        raise InputError(f"duplicate field names in {out}")
    return out


class Problem:
    """An inverse problem: residuals r_m[u](z; params) = 0 on a box domain, with each field
    represented as ``u = transform(N, z, params)`` so boundary/initial conditions can hold exactly,
    and further conditions as loss terms.

    Parameters
    ----------
    coords : names of the coordinates, e.g. ``("t",)``.
    domain : {coordinate: (low, high)}.
    params : the unknown parameters.
    residual : text such as ``"u.t - a*u"`` or an :class:`~pinnbilo.expr.Expr`; for a system, a
        list of them or a dict by name (``{"prey": "x.t - a*x + b*x*y", ...}``).
    transform : text or expression in ``N`` (the network output), coordinates and parameters;
        default ``"N"`` (no hard constraint). For a system, a dict by field (``{"S": "S0 + t*N"}``;
        fields left out get ``"N"``); in each, ``N`` is that field's network output.
    solution : optional ``f(points (n, n_coords), params dict) -> (n,)`` exact solution (for a
        system ``(n, n_fields)``), used for synthetic data and error measurement.
    fields : the names of the unknown fields, default ``("u",)``; residuals and conditions read
        them and their derivatives by name (``S.t``, ``I.xx``, ``v.d(x=1, t=1)``).
    conditions : :class:`~pinnbilo.Condition` terms (Dirichlet, Neumann, Robin, periodic,
        initial values and derivatives) evaluated on their own points with their own weights.
    periodic : coordinates in which every field is periodic by construction, with the length of
        the coordinate's interval as period: the networks read ``cos(2 pi z / L)`` and
        ``sin(2 pi z / L)`` instead of ``z`` (a hard constraint; ``pb.periodic`` is the soft one).
    functions : unknown functions (:class:`Function`); the residual reads them by name (``D``,
        ``D.x``), the transform may read their values.
    sources : known source terms ``{name: f(points (n, n_coords)) -> (n,)}`` the residual reads by
        name; evaluated once per set of collocation points.
    """

    def __init__(
        self,
        coords: Sequence[str],
        domain: Mapping[str, Tuple[float, float]],
        params: Sequence[Parameter],
        residual: Union[ExprInput, Sequence[ExprInput], Mapping[str, ExprInput]],
        transform: Union[ExprInput, Mapping[str, ExprInput]] = "N",
        solution: Optional[SolutionFn] = None,
        name: str = "custom",
        spec: Optional[Dict[str, object]] = None,
        functions: Sequence[Function] = (),
        sources: Optional[Mapping[str, Callable[[np.ndarray], np.ndarray]]] = None,
        fields: Sequence[str] = ("u",),
        conditions: Sequence[Condition] = (),
        periodic: Sequence[str] = (),
    ) -> None:
        if isinstance(coords, str):
            raise InputError(f"coords must be a sequence of names such as ('t', 'x'), got the string {_show(coords)}")
        self.coords: Tuple[str, ...] = items(coords, "coords", example="('t', 'x')")
        if not self.coords:
            raise InputError("a problem needs at least one coordinate, e.g. coords=('t',)")
        for c in self.coords:
            if not isinstance(c, str) or not c.isidentifier() or c in RESERVED:
                raise InputError(f"coordinate name {_show(c)} must be an identifier other than {sorted(RESERVED)}")
        if len(set(self.coords)) != len(self.coords):
            raise InputError(f"duplicate coordinate names in {self.coords}")
        self.domain: Dict[str, Tuple[float, float]] = {}
        for c in self.coords:
            if not isinstance(domain, Mapping) or c not in domain:
                raise InputError(f"domain has no interval for coordinate '{c}'; give domain={{'{c}': (low, high)}}")
            interval = domain[c]
            if isinstance(interval, (str, bytes, Mapping)) or not isinstance(interval, (list, tuple, np.ndarray)):
                raise InputError(f"domain of '{c}' must be an interval (low, high), got {_show(interval)}")
            if len(interval) != 2:
                raise InputError(f"domain of '{c}' must be an interval (low, high), got {_show(interval)}")
            lo = _require_finite_number(interval[0], f"domain low of '{c}'")
            hi = _require_finite_number(interval[1], f"domain high of '{c}'")
            if not lo < hi:
                raise InputError(f"domain of '{c}': low {lo} must be below high {hi}")
            if not math.isfinite(hi - lo):
                raise InputError(f"domain of '{c}': the width of ({lo}, {hi}) overflows float64")
            self.domain[c] = (lo, hi)
        extra = set(domain) - set(self.coords)
        if extra:
            raise InputError(f"domain names unknown coordinates {sorted(extra)}; coordinates: {self.coords}")
        if isinstance(params, (str, Parameter)) or not isinstance(params, (list, tuple)):
            raise InputError(f"params must be a list of pinnbilo.Parameter, got {_show(params)}")
        for p in params:
            if not isinstance(p, Parameter):
                raise InputError(
                    f"params must be pinnbilo.Parameter objects such as Parameter('a', 1.0), got {_show(p)}"
                )
        self.params: Tuple[Parameter, ...] = tuple(params)
        pnames = [p.name for p in self.params]
        if len(set(pnames)) != len(pnames):
            raise InputError(f"duplicate parameter names in {pnames}")
        if isinstance(functions, Function):
            raise InputError("functions must be a list of pinnbilo.Function objects: write functions=[f]")
        self.functions: Tuple[Function, ...] = items(functions, "functions", example="[Function('D')]")
        if sources is not None and not isinstance(sources, Mapping):
            raise InputError(
                f"sources must be a mapping {{name: f(points (n, n_coords)) -> (n,)}}, got {_show(sources)}"
            )
        self.sources: Dict[str, Callable[[np.ndarray], np.ndarray]] = dict(sources or {})
        for f in self.functions:
            if not isinstance(f, Function):
                raise InputError(f"functions must be pinnbilo.Function objects, got {type(f).__name__}")
        for sname, fn in self.sources.items():
            if not isinstance(sname, str) or not sname.isidentifier() or sname in RESERVED:
                raise InputError(f"source name {_show(sname)} must be an identifier other than {sorted(RESERVED)}")
            function(fn, f"source '{sname}'", signature="f(points (n, n_coords)) -> (n,)")
        self.fields: Tuple[str, ...] = _field_names(fields)
        if isinstance(periodic, str) or not isinstance(periodic, (list, tuple)):
            raise InputError(f"periodic must be a sequence of coordinate names such as ('x',), got {_show(periodic)}")
        periodic = names(periodic, "periodic", example="('x',)")
        bad = [c for c in periodic if c not in self.coords]
        if bad or len(set(periodic)) != len(periodic):
            raise InputError(
                f"periodic must name distinct coordinates among {self.coords}, got {_show(tuple(periodic))}"
            )
        self.periodic: Tuple[str, ...] = tuple(periodic)
        all_names = (
            list(self.coords) + pnames + [f.name for f in self.functions] + list(self.sources)
            + [f for f in self.fields if f != "u"]
        )  # fmt: skip
        dupes = sorted({n for n in all_names if all_names.count(n) > 1})
        if dupes:
            raise InputError(f"names used twice among coordinates, parameters, functions, sources and fields: {dupes}")
        self.function_inputs: Dict[str, Tuple[str, ...]] = {}
        for f in self.functions:
            inputs = self.coords if f.inputs is None else f.inputs
            bad = [c for c in inputs if c not in self.coords]
            if bad or not inputs or len(set(inputs)) != len(inputs):
                raise InputError(
                    f"inputs of function '{f.name}' must be distinct coordinates among {self.coords}, got {inputs}"
                )
            self.function_inputs[f.name] = tuple(inputs)
        self.residual_names, self.residuals = self._residual_list(residual)
        self.residual: ex.Expr = self.residuals[0]
        self.transforms: Dict[str, ex.Expr] = self._transform_map(transform)
        self.transform: ex.Expr = self.transforms[self.fields[0]]
        if solution is not None:
            function(solution, "solution", signature="f(points (n, n_coords), params dict) -> (n,)")
        self.solution = solution
        self.name = text(name, "name", example="'heat'")
        self.spec = _check_spec(spec)  # how to rebuild a built-in problem (for checkpoints)
        self.compiled_residuals = [
            ex.compile_expr(
                r, self.coords, self.param_names, f"residual '{n}'", self.function_inputs, list(self.sources),
                fields=self.fields,
            )
            for n, r in zip(self.residual_names, self.residuals)
        ]  # fmt: skip
        self.compiled_residual = self.compiled_residuals[0]
        self.compiled_transforms = [
            ex.compile_expr(
                self.transforms[f], self.coords, self.param_names, f"transform of '{f}'", self.function_inputs,
                net_index=i,
            )
            for i, f in enumerate(self.fields)
        ]  # fmt: skip
        self.compiled_transform = self.compiled_transforms[0]
        self.compiled_functions = [self._compile_function(f) for f in self.functions]
        if isinstance(conditions, Condition) or not isinstance(conditions, (list, tuple)):
            raise InputError(f"conditions must be a list of pinnbilo.Condition, got {type(conditions).__name__}")
        self.conditions: Tuple[Condition, ...] = tuple(conditions)
        self.compiled_conditions: List[CompiledCondition] = [self._compile_condition(c) for c in self.conditions]
        self._warn_undetermined()
        for fname, e in self.transforms.items():
            reads = ex.names_in(e)["coord"] & set(self.periodic)
            if reads:
                warnings.warn(
                    f"the transform of '{fname}' reads the periodic coordinate(s) {sorted(reads)}: '{fname}' is "
                    "periodic there only if the transform is",
                    stacklevel=user_stacklevel(),
                )

    def _residual_list(self, residual: object) -> Tuple[List[str], Tuple[ex.Expr, ...]]:
        if isinstance(residual, (str, ex.Expr)):
            items = [("residual", residual)]
        elif isinstance(residual, Mapping):
            bad = [k for k in residual if not isinstance(k, str) or not k.strip()]
            if bad:
                raise InputError(f"residual names must be non-empty text, got {_show(bad)}")
            items = [(k, v) for k, v in residual.items()]
        elif isinstance(residual, (list, tuple)):
            items = [(f"r{i}", v) for i, v in enumerate(residual)]
        else:
            raise InputError(
                "residual must be text such as 'u.t - a*u', a list of them or a dict by name, "
                f"got {type(residual).__name__}"
            )
        if not items:
            raise InputError("a problem needs at least one residual")
        exprs = []
        for rname, r in items:
            what = "the residual" if rname == "residual" else f"residual '{rname}'"
            e = self._as_expr(r, allow_u=True, allow_net=False, what=what)
            if not ex.names_in(e)["u"]:
                used = self.fields[0] if len(self.fields) == 1 else "a field (" + ", ".join(self.fields) + ")"
                raise InputError(f"{what} must use {used} or its derivatives, e.g. 'u.t - a*u'")
            exprs.append(e)
        return [n for n, _ in items], tuple(exprs)

    def _transform_map(self, transform: object) -> Dict[str, ex.Expr]:
        if isinstance(transform, Mapping):
            unknown = sorted(set(transform) - set(self.fields))
            if unknown:
                raise InputError(f"transform names unknown field(s) {unknown}; fields: {', '.join(self.fields)}")
            given: Dict[str, object] = dict(transform)
        elif len(self.fields) == 1:
            given = {self.fields[0]: transform}
        elif (isinstance(transform, str) and transform.strip() == "N") or transform is ex.N:
            given = {}  # the default: no hard constraint on any field
        else:
            raise InputError(
                f"a system's transform is a dict by field, e.g. {{'{self.fields[0]}': '1 + t*N'}}; "
                "fields left out get 'N'"
            )
        out = {}
        for f in self.fields:
            e = self._as_expr(given.get(f, "N"), allow_u=False, allow_net=True, what=f"transform of '{f}'")
            if not ex.names_in(e)["net"]:
                what = "the transform" if len(self.fields) == 1 else f"the transform of '{f}'"
                raise InputError(f"{what} must use the network output N, e.g. 'u0 + t*N'")
            for fname, deriv in ex.names_in(e)["fn"]:
                if deriv:
                    what = "the transform" if len(self.fields) == 1 else f"the transform of '{f}'"
                    raise InputError(f"{what} may use the value of '{fname}', not its derivatives")
            out[f] = e
        return out

    def _compile_condition(self, c: Condition) -> "CompiledCondition":
        if not isinstance(c, Condition):
            raise InputError(f"conditions must be pinnbilo.Condition objects, got {type(c).__name__}")
        e = self._as_expr(c.residual, allow_u=True, allow_net=False, what=f"condition {c.label}")
        if not ex.names_in(e)["u"]:
            raise InputError(f"condition {c.label}: its residual must read a field ({', '.join(self.fields)})")
        prog = ex.compile_expr(
            e, self.coords, self.param_names, f"condition {c.label}", self.function_inputs, list(self.sources),
            fields=self.fields,
        )  # fmt: skip
        paired = False
        if c.points is not None:
            pts = self.as_points(c.points, f"points of condition {c.label}")
            self.require_inside(pts, f"points of condition {c.label}")
        elif c.on is not None:
            coord, value = self.face(c.on)
            pts = self.face_points(coord, value, int(c.n))
        else:
            coord = str(c.periodic)
            if coord not in self.coords:
                raise InputError(f"periodic condition in '{coord}': not a coordinate; coordinates: {self.coords}")
            lo, hi = self.domain[coord]
            pts = np.concatenate([self.face_points(coord, lo, int(c.n)), self.face_points(coord, hi, int(c.n))])
            paired = True
        return CompiledCondition(prog, float(c.weight), paired, pts, e)

    def _warn_undetermined(self) -> None:
        read = set()
        for r in self.residuals:
            read |= {name for name, _ in ex.names_in(r)["field"]}
        missing = [f for f in self.fields if f not in read]
        if missing:
            warnings.warn(
                f"problem '{self.name}': no residual reads the field(s) {missing}; only data and conditions determine "
                "them",
                stacklevel=user_stacklevel(),
            )
        elif len(self.residuals) < len(self.fields):
            warnings.warn(
                f"problem '{self.name}': {len(self.fields)} fields but {len(self.residuals)} residual(s); the system "
                "may not determine every field",
                stacklevel=user_stacklevel(),
            )

    # -- faces ---------------------------------------------------------------------------------
    def face(self, on: str) -> Tuple[str, float]:
        """The face ``"x=0"`` / ``"x=high"`` as (coordinate, value); InputError if it is not a face."""
        if not isinstance(on, str) or "=" not in on:
            raise InputError(f"a face is written like 'x=0' or 'x=high', got {_show(on)}")
        name, side = (p.strip() for p in on.split("=", 1))
        if name not in self.coords:
            raise InputError(f"face {_show(on)}: '{name}' is not a coordinate; coordinates: {', '.join(self.coords)}")
        lo, hi = self.domain[name]
        if side in ("low", "lo", "min"):
            return name, lo
        if side in ("high", "hi", "max"):
            return name, hi
        try:
            v = float(side)
        except ValueError:
            v = math.nan
        tol = 1e-9 * max(1.0, abs(hi - lo))
        for end in (lo, hi):
            if abs(v - end) <= tol:
                return name, end
        raise InputError(
            f"no face {_show(on)}: the domain of {name} is ({lo:g}, {hi:g}), "
            f"so its faces are {name}={lo:g} and {name}={hi:g}"
        )

    def face_points(self, coord: str, value: float, n: int) -> np.ndarray:
        """About n points on the face ``coord = value``: a grid over the other coordinates
        (endpoints included), one point for a 1-D domain: (m, n_coords)."""
        others = [c for c in self.coords if c != coord]
        if not others:
            return np.array([[value]], dtype=np.float64)
        per_axis = max(2, int(round(n ** (1.0 / len(others)))))
        axes = [np.linspace(*self.domain[c], per_axis) for c in others]
        mesh = np.meshgrid(*axes, indexing="ij")
        cols = {c: m.ravel() for c, m in zip(others, mesh)}
        cols[coord] = np.full(mesh[0].size, float(value))
        return np.stack([cols[c] for c in self.coords], axis=1)

    def _compile_function(self, f: Function) -> ex.CompiledProgram:
        inputs = self.function_inputs[f.name]
        e = ex.parse(f.transform, inputs, (), allow_u=False, allow_net=True)
        if not ex.names_in(e)["net"]:
            raise InputError(f"the transform of function '{f.name}' must use its network output N, e.g. '1 + x*N'")
        return ex.compile_expr(e, self.coords, (), f"transform of function '{f.name}'")

    def _as_expr(self, e: object, allow_u: bool, allow_net: bool, what: str) -> ex.Expr:
        if isinstance(e, str):
            return ex.parse(
                e,
                self.coords,
                self.param_names,
                allow_u=allow_u,
                allow_net=allow_net,
                functions=self.function_inputs,
                known_names=list(self.sources) if allow_u else (),
                fields=self.fields,
            )
        if isinstance(e, ex.Expr):
            return e
        raise InputError(f"{what} must be a string such as 'u.t - a*u' or an expression, got {type(e).__name__}")

    # -- names and values ----------------------------------------------------------------------
    @property
    def n_coordinate_features(self) -> int:
        """Network inputs for the coordinates: one each, two for each periodic coordinate."""
        return len(self.coords) + len(self.periodic)

    @property
    def param_names(self) -> List[str]:
        return [p.name for p in self.params]

    @property
    def initial_params(self) -> Dict[str, float]:
        return {p.name: float(p.init) for p in self.params}

    @property
    def true_params(self) -> Dict[str, float]:
        """True parameter values; raises if any is unknown."""
        missing = [p.name for p in self.params if p.true is None]
        if missing:
            raise InputError(f"true values unknown for {missing}; pass Parameter(..., true=value)")
        return {p.name: float(p.true) for p in self.params}  # type: ignore[arg-type]

    @property
    def function_names(self) -> List[str]:
        return [f.name for f in self.functions]

    def get_function(self, name: str) -> Function:
        """The unknown function called ``name``."""
        if isinstance(name, str):
            for f in self.functions:
                if f.name == name:
                    return f
        raise InputError(f"unknown function {_show(name)}; functions: {', '.join(self.function_names) or 'none'}")

    def true_function(self, name: str, points: object) -> np.ndarray:
        """The true values of function ``name`` at points (n, n_coords): (n,)."""
        f = self.get_function(name)
        if f.true is None:
            raise InputError(f"the true '{name}' is unknown; pass Function(..., true=callable)")
        p = self.as_points(points)
        cols = [self.coords.index(c) for c in self.function_inputs[name]]
        vals = float_array(f.true(p[:, cols]), f"the values the true '{name}' returned").reshape(-1)  # type: ignore[misc]
        if vals.shape != (p.shape[0],) or not np.all(np.isfinite(vals)):
            raise InputError(f"the true '{name}' must return {p.shape[0]} finite values")
        return vals

    def known_values(self, points: np.ndarray) -> Optional[np.ndarray]:
        """The sources at points (n, n_coords): (n, n_sources), or None without sources."""
        if not self.sources:
            return None
        cols = []
        for sname, fn in self.sources.items():
            raw = np.asarray(fn(points))
            if np.iscomplexobj(raw):
                raise InputError(f"source '{sname}' returned complex values; it must return real numbers")
            try:
                v = raw.astype(np.float64)
            except (TypeError, ValueError):
                raise InputError(f"source '{sname}' must return numbers, got {raw.dtype}") from None
            if v.shape not in ((points.shape[0],), (points.shape[0], 1)):
                raise InputError(f"source '{sname}' returned shape {v.shape}; expected ({points.shape[0]},)")
            if not np.all(np.isfinite(v)):
                raise InputError(f"source '{sname}' returned NaN or inf at some collocation points")
            cols.append(v.reshape(-1))
        return np.stack(cols, axis=1)

    @property
    def derivatives(self) -> List[Tuple[int, ...]]:
        """Derivatives of the fields (multi-indices over coords) the residuals need."""
        return sorted({d for prog in self.compiled_residuals for d in prog.derivatives})

    def field_index(self, field: Optional[str]) -> int:
        """The position of a field by name (None: the only field)."""
        if field is None:
            if len(self.fields) > 1:
                raise InputError(f"this problem has the fields {', '.join(self.fields)}: say which one")
            return 0
        if not isinstance(field, str) or field not in self.fields:
            raise InputError(f"unknown field {_show(field)}; fields: {', '.join(self.fields)}")
        return self.fields.index(field)

    # -- points --------------------------------------------------------------------------------
    def as_points(self, points: object, what: str = "points") -> np.ndarray:
        """Coerce to a float64 array of shape (n, n_coords), checking it is finite and non-empty."""
        p = float_array(points, what)
        if p.ndim == 1 and len(self.coords) == 1:
            p = p[:, None]
        if p.ndim == 0:
            p = p.reshape(1, 1) if len(self.coords) == 1 else p
        if p.ndim != 2 or p.shape[1] != len(self.coords):
            raise InputError(
                f"{what} must have shape (n, {len(self.coords)}) for coordinates {self.coords}, got {p.shape}"
            )
        if p.shape[0] == 0:
            raise InputError(f"{what} is empty")
        if not np.all(np.isfinite(p)):
            raise InputError(f"{what} contain NaN or inf")
        return p

    def outside(self, points: np.ndarray) -> np.ndarray:
        """Boolean mask of the rows of points (n, n_coords) outside the domain box."""
        lo = np.array([self.domain[c][0] for c in self.coords])
        hi = np.array([self.domain[c][1] for c in self.coords])
        slack = 1e-12 * np.maximum(1.0, np.abs(hi - lo))
        return np.any((points < lo - slack) | (points > hi + slack), axis=1)

    def require_inside(self, points: np.ndarray, what: str) -> None:
        """Raise InputError if any point lies outside the domain box."""
        bad = np.flatnonzero(self.outside(points))
        if bad.size:
            raise InputError(
                f"{bad.size} of the {what} lie outside the domain {self.domain}, e.g. row {bad[0]}: "
                f"{points[bad[0]].tolist()}; drop them or widen the domain"
            )

    def grid(self, n: int, interior: bool = False) -> np.ndarray:
        """A tensor grid with n points per coordinate: (n**d, d), endpoints included; with
        ``interior=True`` the n points of each axis avoid its ends (where, at the corners of a box,
        a smooth residual may not vanish): (n**d, d)."""
        n = _positive_int(n, "grid size n")
        interior = flag(interior, "interior")
        if n < 2:
            raise InputError("grid size n must be >= 2")
        if n ** len(self.coords) > MAX_POINTS:
            raise InputError(
                f"a grid of {n} points per coordinate has {n ** len(self.coords)} points, over {MAX_POINTS}"
            )
        if interior:
            axes = [np.linspace(lo, hi, n + 2)[1:-1] for lo, hi in (self.domain[c] for c in self.coords)]
        else:
            axes = [np.linspace(lo, hi, n) for lo, hi in (self.domain[c] for c in self.coords)]
        mesh = np.meshgrid(*axes, indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=1)

    def random_points(self, n: int, seed: int = 0) -> np.ndarray:
        """n uniform random points in the domain box: (n, d)."""
        n = _positive_int(n, "number of points n")
        rng = np.random.default_rng(_seed(seed))
        lo = np.array([self.domain[c][0] for c in self.coords])
        hi = np.array([self.domain[c][1] for c in self.coords])
        return lo + (hi - lo) * rng.random((n, len(self.coords)))

    # -- data ----------------------------------------------------------------------------------
    def exact(self, points: object, params: Optional[Mapping[str, float]] = None) -> np.ndarray:
        """The exact solution at points for params (default: the true values): (n,) for one
        field, (n, n_fields) for a system."""
        if self.solution is None:
            raise InputError(f"problem '{self.name}' has no exact solution; pass solution=... or give data")
        p = self.as_points(points)
        if params is not None:
            if not isinstance(params, Mapping):
                raise InputError(f"params must be a mapping {{name: value}}, got {type(params).__name__}")
            unknown = set(params) - set(self.param_names)
            if unknown:
                raise InputError(
                    f"unknown parameter(s) {sorted(unknown)}; parameters: {', '.join(self.param_names) or 'none'}"
                )
            for k, v in params.items():
                _require_finite_number(v, f"parameter {_show(k)}")
            params = {**self.true_params_or_init(), **{k: float(v) for k, v in params.items()}}
        vals = np.asarray(self.solution(p, dict(params) if params is not None else self.true_params))
        if np.iscomplexobj(vals):
            raise InputError(f"the exact solution of '{self.name}' returned complex values; it must be real")
        vals = float_array(vals, f"the values the exact solution of '{self.name}' returned")
        nf = len(self.fields)
        if nf == 1 and vals.size == p.shape[0]:
            return vals.reshape(p.shape[0])
        if nf > 1 and vals.shape == (p.shape[0], nf):
            return vals
        want = f"({p.shape[0]},)" if nf == 1 else f"({p.shape[0]}, {nf}), one column per field"
        raise InputError(f"the exact solution returned shape {vals.shape} for {p.shape[0]} points; expected {want}")

    def exact_field(
        self, points: object, field: Optional[str] = None, params: Optional[Mapping[str, float]] = None
    ) -> np.ndarray:
        """The exact solution's field ``field`` at points: (n,)."""
        j = self.field_index(field)
        v = self.exact(points, params)
        return v if v.ndim == 1 else v[:, j]

    def true_params_or_init(self) -> Dict[str, float]:
        """The true value of each parameter where known, else its initial guess."""
        return {p.name: float(p.true if p.true is not None else p.init) for p in self.params}

    def _data_points(self, n: int, seed: int, points: Optional[object]) -> np.ndarray:
        _seed(seed)
        if points is not None:
            return self.as_points(points, "data points")
        n = _positive_int(n, "number of data points n")
        if len(self.coords) == 1:
            lo, hi = self.domain[self.coords[0]]
            return np.linspace(lo, hi, n + 1)[1:, None]
        return self.random_points(n, seed)

    def synthetic_data(
        self,
        n: int = 20,
        noise: float = 0.0,
        seed: int = 0,
        points: Optional[object] = None,
        params: Optional[Mapping[str, float]] = None,
        of: Optional[str] = None,
    ) -> Data:
        """Observations of the exact solution (of the field ``of`` in a system) with Gaussian noise.

        n points on a uniform grid of the domain (for one coordinate: excluding the lower end,
        where the initial condition already fixes u), unless ``points`` are given. ``noise`` is
        relative: the noise standard deviation is ``noise * max|u|`` over the points. Seeded.
        """
        noise = number(noise, "noise", nonnegative=True)
        j = self.field_index(of)
        pts = self._data_points(n, seed, points)
        self.require_inside(pts, "data points")
        clean = self.exact_field(pts, self.fields[j], params)
        rng = np.random.default_rng(seed)
        scale = float(noise) * float(np.max(np.abs(clean)))
        return Data(
            pts, clean + scale * rng.standard_normal(clean.shape), noise=float(noise),
            of=None if len(self.fields) == 1 else self.fields[j],
        )  # fmt: skip

    def synthetic_observations(
        self,
        n: int = 20,
        noise: float = 0.0,
        seed: int = 0,
        fields: Optional[Sequence[str]] = None,
        points: Optional[object] = None,
        params: Optional[Mapping[str, float]] = None,
    ) -> List[Data]:
        """Noisy observations of several fields (default: all) on shared points, one Data per
        field; each field's noise standard deviation is ``noise * max|field|``, recorded as its
        ``sigma`` so that the data loss weighs each field by its own noise level."""
        noise = number(noise, "noise", nonnegative=True)
        if isinstance(fields, str):
            raise InputError(f"fields is a list of field names such as ['I'], got the text {_show(fields)}")
        observed = (
            list(self.fields)
            if fields is None
            else [self.fields[self.field_index(f)] for f in items(fields, "fields", example="['I']")]
        )
        if not observed:
            raise InputError("fields is empty: observe at least one field")
        pts = self._data_points(n, seed, points)
        self.require_inside(pts, "data points")
        exact = self.exact(pts, params)
        exact = exact[:, None] if exact.ndim == 1 else exact
        rng = np.random.default_rng(seed)
        # A field that is zero at every point has no size of its own: it takes the system's.
        system_scale = float(np.max(np.abs(exact))) or 1.0
        out = []
        for f in observed:
            clean = exact[:, self.fields.index(f)]
            sd = float(noise) * (float(np.max(np.abs(clean))) or system_scale)
            out.append(
                Data(pts, clean + sd * rng.standard_normal(clean.shape), noise=float(noise), of=f,
                     sigma=sd if sd > 0 else None)
            )  # fmt: skip
        return out

    def integral_data(
        self,
        of: Optional[str] = None,
        value: Optional[float] = None,
        over: Optional[str] = None,
        n: int = 16,
        sigma: Optional[float] = None,
        params: Optional[Mapping[str, float]] = None,
    ) -> Data:
        """An integral observation: ``value ~ integral of `of` over the domain`` (or over the face
        ``over="x=1"``), by an n-point Gauss-Legendre rule per axis. ``value`` defaults to the
        exact solution's integral when ``of`` is a field (e.g. the total population of SIR)."""
        from numpy.polynomial.legendre import leggauss

        n = _positive_int(n, "quadrature points per axis n", cap=256)
        fixed: Dict[str, float] = {}
        if over is not None:
            c, v = self.face(over)
            fixed[c] = v
        n_free = len(self.coords) - len(fixed)
        _validation.size_request(
            float(n) ** n_free, f"integral_data: n = {n} points per axis in {n_free} axes", MAX_POINTS
        )
        axes, weights = [], []
        for c in self.coords:
            if c in fixed:
                axes.append(np.array([fixed[c]]))
                weights.append(np.array([1.0]))
                continue
            lo, hi = self.domain[c]
            x, w = leggauss(n)
            axes.append(lo + (hi - lo) * (x + 1) / 2)
            weights.append(w * (hi - lo) / 2)
        mesh = np.meshgrid(*axes, indexing="ij")
        wmesh = np.meshgrid(*weights, indexing="ij")
        pts = np.stack([m.ravel() for m in mesh], axis=1)
        q = np.prod(np.stack([w.ravel() for w in wmesh], axis=0), axis=0)
        if of is not None and (not isinstance(of, str) or not of.strip()):
            raise InputError(f"of must name what is integrated, e.g. 'u' or 'S + I + R', got {_show(of)}")
        target = of if of is not None else self.fields[self.field_index(None)]
        if value is None:
            terms = [t.strip() for t in target.split("+")]
            if not all(t in self.fields for t in terms):
                raise InputError(
                    f"give the observed value of the integral of {_show(target)} "
                    "(only fields and sums of fields have a default)"
                )
            value = float(sum(np.dot(q, self.exact_field(pts, t, params)) for t in terms))
        value = _require_finite_number(value, "integral value")
        return Data(pts, np.array([value]), of=target, sigma=sigma, integral=True, quadrature=q)

    def describe(self) -> str:
        """The whole problem, readably: fields, residuals, transforms, conditions, unknowns."""
        parts = [f"{p.name} (guess {p.init:g})" for p in self.params]
        parts += [f"{f.name}({', '.join(self.function_inputs[f.name])}) = {f.transform}" for f in self.functions]
        if len(self.fields) == 1 and len(self.residuals) == 1 and not self.conditions and not self.periodic:
            return f"{self.name}: r = {self.residual} = 0; u = {self.transform}; unknowns: {', '.join(parts)}"
        dom = ", ".join(f"{c} in [{lo:g}, {hi:g}]" for c, (lo, hi) in self.domain.items())
        lines = [f"{self.name}: fields {', '.join(self.fields)} of ({', '.join(self.coords)}), {dom}"]
        for rn, r in zip(self.residual_names, self.residuals):
            lines.append(f"  {rn}: {r} = 0")
        for f in self.fields:
            if ex.to_string(self.transforms[f]) != "N":
                lines.append(f"  {f} = {self.transforms[f]}")
        for c, cc in zip(self.conditions, self.compiled_conditions):
            m = cc.points.shape[0]
            size = f"({m} point{'s' * (m != 1)}, weight {c.weight:g})"
            if c.periodic:
                lines.append(f"  condition: {cc.expr} equal on {c.periodic}=low and {c.periodic}=high {size}")
            else:
                lines.append(f"  condition: {cc.expr} = 0 on {c.on or 'given points'} {size}")
        if self.periodic:
            lines.append(f"  periodic in {', '.join(self.periodic)} (hard: the networks read cos and sin features)")
        lines.append(f"  unknowns: {', '.join(parts) or 'none'}")
        return "\n".join(lines)

    def __reduce__(self) -> Tuple[Callable[..., "Problem"], Tuple[Any, ...]]:
        """Pickle a built-in problem by name and arguments (its ``spec``), any other as
        :meth:`to_dict` plus the Python callables that description leaves out (exact solution,
        sources, true unknown functions); both rebuild through :func:`problem_from_dict`.

        The callables pickle as pickle does: by reference when module-level; lambdas and local
        functions only by value, with cloudpickle (the standard ``pickle`` raises
        :class:`NotPicklableError` naming the callable).
        """
        if _builtin_spec(self.spec) is not None:
            return problem_from_dict, ({"spec": self.spec},)
        trues = {f.name: f.true for f in self.functions if f.true is not None}
        _require_picklable(
            {
                "exact solution": self.solution,
                **{f"source '{k}'": v for k, v in self.sources.items()},
                **{f"true function '{k}'": v for k, v in trues.items()},
            },
            f"problem {self.name!r}",
        )
        return problem_from_dict, (self.to_dict(), self.solution, dict(self.sources), trues)

    def to_dict(self) -> Dict[str, object]:
        """A JSON-able description from which :func:`problem_from_dict` rebuilds the problem."""
        return {
            "coords": list(self.coords),
            "domain": {c: list(v) for c, v in self.domain.items()},
            "params": [
                {"name": p.name, "init": p.init, "bounds": list(p.bounds), "true": p.true, "scale": p.scale}
                for p in self.params
            ],
            "residual": str(self.residual),
            "transform": str(self.transform),
            "name": self.name,
            "spec": self.spec,
            "functions": [
                {
                    "name": f.name,
                    "inputs": list(self.function_inputs[f.name]),
                    "transform": f.transform,
                    "hidden": list(f.hidden),
                    "activation": f.activation,
                }
                for f in self.functions
            ],
            "sources": list(self.sources),
            "fields": list(self.fields),
            "periodic": list(self.periodic),
            "residuals": {n: str(r) for n, r in zip(self.residual_names, self.residuals)},
            "transforms": {f: str(e) for f, e in self.transforms.items()},
            "conditions": [
                {
                    "residual": str(cc.expr),
                    "on": c.on,
                    "periodic": c.periodic,
                    "points": None if c.points is None else cc.points.tolist(),
                    "n": int(c.n),
                    "weight": float(c.weight),
                    "name": c.name,
                }
                for c, cc in zip(self.conditions, self.compiled_conditions)
            ],
        }


def _builtin_spec(spec: object) -> Optional[Dict[str, Any]]:
    """``spec`` when it names a built-in problem (rebuilt by :func:`pinnbilo.problems.get`), else None."""
    return spec if isinstance(spec, dict) and spec.get("builtin") else None


def problem_from_dict(
    d: Mapping[str, object],
    solution: Optional[SolutionFn] = None,
    sources: Optional[Mapping[str, Callable[[np.ndarray], np.ndarray]]] = None,
    function_true: Optional[Mapping[str, Callable[[np.ndarray], np.ndarray]]] = None,
) -> Problem:
    """Inverse of :meth:`Problem.to_dict`; built-in problems come back with their exact solution.

    ``solution``, ``sources`` ({name: callable}, the names the description lists, in its order)
    and ``function_true`` ({function name: callable}) give back the Python callables a
    description cannot hold (see :meth:`Problem.__reduce__`); a built-in problem has its own.
    """
    spec = d.get("spec")
    builtin = _builtin_spec(spec)
    if builtin is not None:
        from . import problems

        return problems.get(str(builtin["builtin"]), **dict(builtin.get("kwargs", {})))
    stored_sources = list(d.get("sources") or [])  # type: ignore[call-overload]
    given_sources = dict(sources or {})
    if stored_sources and not given_sources:
        raise InputError(
            f"the problem reads the sources {stored_sources}, which are Python callables and are not stored; "
            "pass the problem itself: pinnbilo.load(path, problem=...)"
        )
    if list(given_sources) != stored_sources:
        raise InputError(f"sources {list(given_sources)} are given, but the problem reads {stored_sources}")
    trues = dict(function_true or {})
    params = [
        Parameter(p["name"], p["init"], tuple(p["bounds"]), p["true"], p.get("scale"))  # type: ignore[index, union-attr]
        for p in d["params"]  # type: ignore[attr-defined]
    ]
    functions = [
        Function(
            f["name"],
            tuple(f["inputs"]),
            f["transform"],
            tuple(f["hidden"]),
            f["activation"],
            true=trues.pop(f["name"], None),
        )
        for f in d.get("functions", [])  # type: ignore[attr-defined]
    ]
    if trues:
        raise InputError(f"true functions are given for {sorted(trues)}, which the problem does not have")
    for key in ("fields", "periodic"):
        if key in d and not isinstance(d[key], (list, tuple)):
            raise InputError(f"the stored problem's {key} must be a list, got {type(d[key]).__name__}")
    fields: Tuple[str, ...] = tuple(d.get("fields", ("u",)))  # type: ignore[arg-type]
    residual: object = dict(d["residuals"]) if d.get("residuals") else str(d["residual"])  # type: ignore[call-overload]
    if isinstance(residual, dict) and list(residual) == ["residual"]:
        residual = residual["residual"]
    transform: object = dict(d["transforms"]) if d.get("transforms") else str(d["transform"])  # type: ignore[call-overload]
    if isinstance(transform, dict) and len(fields) == 1:
        transform = transform[fields[0]]
    conditions = [
        Condition(
            c["residual"],
            on=c.get("on"),
            periodic=c.get("periodic"),
            points=None if c.get("points") is None else np.asarray(c["points"], dtype=np.float64),
            n=int(c.get("n", 64)),
            weight=float(c.get("weight", 1.0)),
            name=str(c.get("name", "")),
        )  # fmt: skip
        for c in d.get("conditions", [])  # type: ignore[attr-defined]
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # warned when the problem was first made
        return Problem(
            d["coords"],  # type: ignore[arg-type]
            {k: tuple(v) for k, v in d["domain"].items()},  # type: ignore[attr-defined]
            params,
            residual,  # type: ignore[arg-type]
            transform,  # type: ignore[arg-type]
            solution=solution,
            name=str(d.get("name", "custom")),
            spec=spec if isinstance(spec, dict) else None,
            functions=functions,
            sources=given_sources or None,
            fields=fields,
            conditions=conditions,
            periodic=tuple(d.get("periodic", ())),  # type: ignore[arg-type]
        )


MAX_POINTS = 10_000_000  # points per array a problem makes (grids, data): a cap, not an allocation failure


def _seed(value: object) -> int:
    """A seed for numpy's generator: an integer in [0, 2^63) (None, which would draw fresh
    entropy, and bools refused: equal seeds must give equal data)."""
    return _validation.seed(value, "seed")


def _positive_int(n: object, what: str, cap: int = MAX_POINTS) -> int:
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral) or int(n) <= 0:
        raise InputError(f"{what} must be a positive integer, got {_show(n)}")
    if int(n) > cap:
        raise InputError(f"{what} = {_show(int(n))} is over the limit of {cap}")
    return int(n)


def ode_problem(
    residual: ExprInput,
    u0: float,
    params: Union[Sequence[Parameter], Mapping[str, float]],
    t_span: Tuple[float, float] = (0.0, 1.0),
    solution: Optional[SolutionFn] = None,
    name: str = "ode",
    spec: Optional[Dict[str, object]] = None,
) -> Problem:
    """A first-order ODE inverse problem in t with u(t0) = u0 enforced exactly by
    ``u = u0 + (t - t0) N``.

    ``params`` is a list of :class:`Parameter` or a mapping {name: initial guess}.
    """
    u0 = _require_finite_number(u0, "u0")
    if isinstance(params, Mapping):
        plist = [Parameter(k, v) for k, v in params.items()]
    elif isinstance(params, (list, tuple)):
        plist = list(params)
    else:
        raise InputError(
            f"params must be a list of pinnbilo.Parameter or a mapping {{name: initial guess}}, got {_show(params)}"
        )
    span = time_span(t_span)
    t0 = span[0]
    transform = ex.as_expr(u0) + (ex.coord("t") - t0) * ex.N if t0 != 0 else ex.as_expr(u0) + ex.coord("t") * ex.N
    return Problem(("t",), {"t": span}, plist, residual, transform, solution=solution, name=name, spec=spec)


def time_span(t_span: object, what: str = "t_span") -> Tuple[float, float]:
    """A time interval (t0, t1) of finite numbers with t0 < t1."""
    if isinstance(t_span, (str, bytes, Mapping)) or not isinstance(t_span, (list, tuple, np.ndarray)):
        raise InputError(f"{what} must be an interval (t0, t1), got {_show(t_span)}")
    if len(t_span) != 2:
        raise InputError(f"{what} must be an interval (t0, t1), got {_show(t_span)}")
    t0 = _require_finite_number(t_span[0], f"{what}[0] (the start of the domain)")
    t1 = _require_finite_number(t_span[1], f"{what}[1] (the end of the domain)")
    if not t0 < t1:
        raise InputError(f"{what} (the domain of 't'): low {t0} must be below high {t1}")
    return t0, t1
