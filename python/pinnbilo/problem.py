"""Inverse problems: equation, domain, unknown parameters, hard constraints, data."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import expr as ex
from .errors import InputError

Bounds = Tuple[Optional[float], Optional[float]]
SolutionFn = Callable[[np.ndarray, Mapping[str, float]], np.ndarray]

RESERVED = {"u", "N", "pi", "e", *ex.FUNCTIONS}


@dataclass(frozen=True)
class Parameter:
    """An unknown scalar of the equation.

    ``init`` is the initial guess; ``bounds`` = (lower, upper), either may be None, enforced by a
    smooth transform (open interval); ``true`` is the value used for synthetic data, if known.
    ``scale``: how far one unit of the optimiser's variable moves the parameter near ``init``
    (the optimisers train ``a / scale``, through the bound transform). Default ``|init|`` (1 when
    init is 0): every parameter is trained as a multiple of its initial guess, so parameters of
    very different magnitude (D = 0.1, rho = 2) move at comparable relative rates under Adam.
    """

    name: str
    init: float
    bounds: Bounds = (None, None)
    true: Optional[float] = None
    scale: Optional[float] = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise InputError(f"parameter name {self.name!r} must be a Python identifier")
        if self.name in RESERVED:
            raise InputError(f"parameter name '{self.name}' is reserved; pick another")
        _require_finite_number(self.init, f"initial guess of '{self.name}'")
        if not isinstance(self.bounds, (tuple, list)) or len(self.bounds) != 2:
            raise InputError(
                f"bounds of '{self.name}' must be a pair (lower, upper), either None for no bound, got {self.bounds!r}"
            )
        lo, hi = self.bounds
        for side, v in (("lower", lo), ("upper", hi)):
            if v is not None:
                _require_finite_number(v, f"{side} bound of '{self.name}'")
        if lo is not None and hi is not None and not lo < hi:
            raise InputError(f"bounds of '{self.name}': lower {lo} must be below upper {hi}")
        if (lo is not None and self.init <= lo) or (hi is not None and self.init >= hi):
            raise InputError(f"initial guess {self.init} of '{self.name}' lies outside its bounds {self.bounds}")
        if self.true is not None:
            _require_finite_number(self.true, f"true value of '{self.name}'")
        if self.scale is not None:
            _require_finite_number(self.scale, f"scale of '{self.name}'")
            if not self.scale > 0:
                raise InputError(f"scale of '{self.name}' must be > 0, got {self.scale!r}")

    @property
    def resolved_scale(self) -> float:
        """The scale in use: ``scale`` if given, else ``|init|`` (1 when init is 0)."""
        if self.scale is not None:
            return float(self.scale)
        return abs(float(self.init)) if self.init != 0 else 1.0


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
            raise InputError(f"function name {self.name!r} must be a Python identifier")
        if self.name in RESERVED:
            raise InputError(f"function name '{self.name}' is reserved; pick another")
        if not isinstance(self.transform, str):
            raise InputError(f"transform of function '{self.name}' must be text such as '1 + x*(1 - x)*N'")
        hidden = tuple(self.hidden)
        if not hidden or any(isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h <= 0 for h in hidden):
            raise InputError(f"hidden of function '{self.name}' must be positive layer widths, got {self.hidden!r}")
        object.__setattr__(self, "hidden", tuple(int(h) for h in hidden))
        if self.inputs is not None:
            object.__setattr__(self, "inputs", tuple(self.inputs))
        if self.true is not None and not callable(self.true):
            raise InputError(f"true of function '{self.name}' must be a callable f(points) -> values")


@dataclass
class Data:
    """Observations ``values[i] ~ u(points[i])``.

    points: (m, n_coords) array; values: (m,) array. ``noise`` records the noise level used to
    make synthetic data (informational).
    """

    points: np.ndarray
    values: np.ndarray
    noise: float = 0.0

    def __post_init__(self) -> None:
        pts = float_array(self.points, "data points")
        if pts.ndim == 1:
            pts = pts[:, None]
        vals = float_array(self.values, "data values")
        if pts.ndim != 2:
            raise InputError(f"data points must have shape (m, n_coords), got {pts.shape}")
        if vals.ndim != 1 or vals.shape[0] != pts.shape[0]:
            raise InputError(f"data values must have shape ({pts.shape[0]},) to match the points, got {vals.shape}")
        if pts.shape[0] == 0:
            raise InputError("data is empty: need at least one observation")
        if not np.all(np.isfinite(pts)):
            raise InputError("data points contain NaN or inf; remove or fix those rows")
        if not np.all(np.isfinite(vals)):
            bad = np.flatnonzero(~np.isfinite(vals))
            raise InputError(
                f"data values contain NaN or inf at indices {bad[:10].tolist()}; remove those observations"
            )
        if not (isinstance(self.noise, (int, float)) and math.isfinite(self.noise) and self.noise >= 0):
            raise InputError(f"noise must be a finite number >= 0, got {self.noise!r}")
        self.points, self.values = pts, vals

    def __len__(self) -> int:
        return int(self.values.shape[0])


def float_array(x: object, what: str) -> np.ndarray:
    """x as a float64 array, or InputError when it is not numeric (strings, ragged lists, ...)."""
    try:
        if np.iscomplexobj(x):  # type: ignore[arg-type]  # any object: numpy tells
            raise InputError(f"{what} must be real numbers, got a complex array")
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"{what} must be numeric arrays: {exc}") from None


def _require_finite_number(v: object, what: str) -> None:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) or not math.isfinite(float(v)):
        raise InputError(f"{what} must be a finite number, got {v!r}")


ExprInput = Union[str, ex.Expr]


class Problem:
    """An inverse problem: residual r[u](z; params) = 0 on a box domain, with the solution
    represented as ``u = transform(N, z, params)`` so boundary/initial conditions hold exactly.

    Parameters
    ----------
    coords : names of the coordinates, e.g. ``("t",)``.
    domain : {coordinate: (low, high)}.
    params : the unknown parameters.
    residual : text such as ``"u.t - a*u"`` or an :class:`~pinnbilo.expr.Expr`.
    transform : text or expression in ``N`` (the network output), coordinates and parameters;
        default ``"N"`` (no hard constraint).
    solution : optional ``f(points (n, n_coords), params dict) -> (n,)`` exact solution, used for
        synthetic data and error measurement.
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
        residual: ExprInput,
        transform: ExprInput = "N",
        solution: Optional[SolutionFn] = None,
        name: str = "custom",
        spec: Optional[Dict[str, object]] = None,
        functions: Sequence[Function] = (),
        sources: Optional[Mapping[str, Callable[[np.ndarray], np.ndarray]]] = None,
    ) -> None:
        self.coords: Tuple[str, ...] = tuple(coords)
        if not self.coords:
            raise InputError("a problem needs at least one coordinate, e.g. coords=('t',)")
        for c in self.coords:
            if not isinstance(c, str) or not c.isidentifier() or c in RESERVED:
                raise InputError(f"coordinate name {c!r} must be an identifier other than {sorted(RESERVED)}")
        if len(set(self.coords)) != len(self.coords):
            raise InputError(f"duplicate coordinate names in {self.coords}")
        self.domain: Dict[str, Tuple[float, float]] = {}
        for c in self.coords:
            if c not in domain:
                raise InputError(f"domain has no interval for coordinate '{c}'; give domain={{'{c}': (low, high)}}")
            lo, hi = domain[c]
            _require_finite_number(lo, f"domain low of '{c}'")
            _require_finite_number(hi, f"domain high of '{c}'")
            if not float(lo) < float(hi):
                raise InputError(f"domain of '{c}': low {lo} must be below high {hi}")
            self.domain[c] = (float(lo), float(hi))
        extra = set(domain) - set(self.coords)
        if extra:
            raise InputError(f"domain names unknown coordinates {sorted(extra)}; coordinates: {self.coords}")
        if isinstance(params, (str, Parameter)) or not isinstance(params, (list, tuple)):
            raise InputError(f"params must be a list of pinnbilo.Parameter, got {params!r}")
        for p in params:
            if not isinstance(p, Parameter):
                raise InputError(f"params must be pinnbilo.Parameter objects such as Parameter('a', 1.0), got {p!r}")
        self.params: Tuple[Parameter, ...] = tuple(params)
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            raise InputError(f"duplicate parameter names in {names}")
        self.functions: Tuple[Function, ...] = tuple(functions)
        self.sources: Dict[str, Callable[[np.ndarray], np.ndarray]] = dict(sources or {})
        for f in self.functions:
            if not isinstance(f, Function):
                raise InputError(f"functions must be pinnbilo.Function objects, got {type(f).__name__}")
        for sname, fn in self.sources.items():
            if not isinstance(sname, str) or not sname.isidentifier() or sname in RESERVED:
                raise InputError(f"source name {sname!r} must be an identifier other than {sorted(RESERVED)}")
            if not callable(fn):
                raise InputError(f"source '{sname}' must be a callable f(points (n, n_coords)) -> (n,)")
        all_names = list(self.coords) + names + [f.name for f in self.functions] + list(self.sources)
        dupes = sorted({n for n in all_names if all_names.count(n) > 1})
        if dupes:
            raise InputError(f"names used twice among coordinates, parameters, functions and sources: {dupes}")
        self.function_inputs: Dict[str, Tuple[str, ...]] = {}
        for f in self.functions:
            inputs = self.coords if f.inputs is None else f.inputs
            bad = [c for c in inputs if c not in self.coords]
            if bad or not inputs or len(set(inputs)) != len(inputs):
                raise InputError(
                    f"inputs of function '{f.name}' must be distinct coordinates among {self.coords}, got {inputs}"
                )
            self.function_inputs[f.name] = tuple(inputs)
        self.residual: ex.Expr = self._as_expr(residual, allow_u=True, allow_net=False, what="residual")
        self.transform: ex.Expr = self._as_expr(transform, allow_u=False, allow_net=True, what="transform")
        if not ex.names_in(self.transform)["net"]:
            raise InputError("the transform must use the network output N, e.g. 'u0 + t*N'")
        for fname, deriv in ex.names_in(self.transform)["fn"]:
            if deriv:
                raise InputError(f"the transform may use the value of '{fname}', not its derivatives")
        if not ex.names_in(self.residual)["u"]:
            raise InputError("the residual must use u or its derivatives, e.g. 'u.t - a*u'")
        self.solution = solution
        self.name = name
        self.spec = spec  # how to rebuild a built-in problem (for checkpoints)
        self.compiled_residual = ex.compile_expr(
            self.residual, self.coords, self.param_names, "residual", self.function_inputs, list(self.sources)
        )
        self.compiled_transform = ex.compile_expr(
            self.transform, self.coords, self.param_names, "transform", self.function_inputs
        )
        self.compiled_functions = [self._compile_function(f) for f in self.functions]

    def _compile_function(self, f: Function) -> ex.CompiledProgram:
        inputs = self.function_inputs[f.name]
        e = ex.parse(f.transform, inputs, (), allow_u=False, allow_net=True)
        if not ex.names_in(e)["net"]:
            raise InputError(f"the transform of function '{f.name}' must use its network output N, e.g. '1 + x*N'")
        return ex.compile_expr(e, self.coords, (), f"transform of function '{f.name}'")

    def _as_expr(self, e: ExprInput, allow_u: bool, allow_net: bool, what: str) -> ex.Expr:
        if isinstance(e, str):
            return ex.parse(
                e,
                self.coords,
                self.param_names,
                allow_u=allow_u,
                allow_net=allow_net,
                functions=self.function_inputs,
                known_names=list(self.sources) if allow_u else (),
            )
        if isinstance(e, ex.Expr):
            return e
        raise InputError(f"{what} must be a string such as 'u.t - a*u' or an expression, got {type(e).__name__}")

    # -- names and values ----------------------------------------------------------------------
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
        for f in self.functions:
            if f.name == name:
                return f
        raise InputError(f"unknown function '{name}'; functions: {', '.join(self.function_names) or 'none'}")

    def true_function(self, name: str, points: object) -> np.ndarray:
        """The true values of function ``name`` at points (n, n_coords): (n,)."""
        f = self.get_function(name)
        if f.true is None:
            raise InputError(f"the true '{name}' is unknown; pass Function(..., true=callable)")
        p = self.as_points(points)
        cols = [self.coords.index(c) for c in self.function_inputs[name]]
        vals = np.asarray(f.true(p[:, cols]), dtype=np.float64).reshape(-1)
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
        """Derivatives of u (multi-indices over coords) the residual needs."""
        return self.compiled_residual.derivatives

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
        rng = np.random.default_rng(seed)
        lo = np.array([self.domain[c][0] for c in self.coords])
        hi = np.array([self.domain[c][1] for c in self.coords])
        return lo + (hi - lo) * rng.random((n, len(self.coords)))

    # -- data ----------------------------------------------------------------------------------
    def exact(self, points: object, params: Optional[Mapping[str, float]] = None) -> np.ndarray:
        """The exact solution at points for params (default: the true values): (n,)."""
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
                _require_finite_number(v, f"parameter '{k}'")
            params = {**self.true_params_or_init(), **{k: float(v) for k, v in params.items()}}
        vals = np.asarray(self.solution(p, dict(params) if params is not None else self.true_params))
        if np.iscomplexobj(vals):
            raise InputError(f"the exact solution of '{self.name}' returned complex values; it must be real")
        vals = vals.astype(np.float64)
        if vals.size != p.shape[0]:
            raise InputError(f"the exact solution returned {vals.size} values for {p.shape[0]} points")
        return vals.reshape(p.shape[0])

    def true_params_or_init(self) -> Dict[str, float]:
        """The true value of each parameter where known, else its initial guess."""
        return {p.name: float(p.true if p.true is not None else p.init) for p in self.params}

    def synthetic_data(
        self,
        n: int = 20,
        noise: float = 0.0,
        seed: int = 0,
        points: Optional[object] = None,
        params: Optional[Mapping[str, float]] = None,
    ) -> Data:
        """Observations of the exact solution with Gaussian noise.

        n points on a uniform grid of the domain (for one coordinate: excluding the lower end,
        where the initial condition already fixes u), unless ``points`` are given. ``noise`` is
        relative: the noise standard deviation is ``noise * max|u|`` over the points. Seeded.
        """
        if not (isinstance(noise, (int, float)) and math.isfinite(noise) and noise >= 0):
            raise InputError(f"noise must be a finite number >= 0, got {noise!r}")
        if points is None:
            n = _positive_int(n, "number of data points n")
            if len(self.coords) == 1:
                lo, hi = self.domain[self.coords[0]]
                pts = np.linspace(lo, hi, n + 1)[1:, None]
            else:
                pts = self.random_points(n, seed)
        else:
            pts = self.as_points(points, "data points")
        clean = self.exact(pts, params)
        rng = np.random.default_rng(seed)
        scale = float(noise) * float(np.max(np.abs(clean)))
        return Data(pts, clean + scale * rng.standard_normal(clean.shape), noise=float(noise))

    def describe(self) -> str:
        parts = [f"{p.name} (guess {p.init:g})" for p in self.params]
        parts += [f"{f.name}({', '.join(self.function_inputs[f.name])}) = {f.transform}" for f in self.functions]
        return f"{self.name}: r = {self.residual} = 0; u = {self.transform}; unknowns: {', '.join(parts)}"

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
        }


def problem_from_dict(d: Mapping[str, object]) -> Problem:
    """Inverse of :meth:`Problem.to_dict`; built-in problems come back with their exact solution."""
    spec = d.get("spec")
    if isinstance(spec, dict) and spec.get("builtin"):
        from . import problems

        kwargs = dict(spec.get("kwargs", {}))
        return problems.get(str(spec["builtin"]), **kwargs)
    if d.get("sources"):
        raise InputError(
            f"the problem reads the sources {d['sources']}, which are Python callables and are not stored; "
            "pass the problem itself: pinnbilo.load(path, problem=...)"
        )
    params = [
        Parameter(p["name"], p["init"], tuple(p["bounds"]), p["true"], p.get("scale"))  # type: ignore[index, union-attr]
        for p in d["params"]  # type: ignore[attr-defined]
    ]
    functions = [
        Function(f["name"], tuple(f["inputs"]), f["transform"], tuple(f["hidden"]), f["activation"])
        for f in d.get("functions", [])  # type: ignore[attr-defined]
    ]
    return Problem(
        d["coords"],  # type: ignore[arg-type]
        {k: tuple(v) for k, v in d["domain"].items()},  # type: ignore[attr-defined]
        params,
        str(d["residual"]),
        str(d["transform"]),
        name=str(d.get("name", "custom")),
        functions=functions,
    )


MAX_POINTS = 10_000_000  # points per array a problem makes (grids, data): a cap, not an allocation failure


def _positive_int(n: object, what: str, cap: int = MAX_POINTS) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or int(n) <= 0:
        raise InputError(f"{what} must be a positive integer, got {n!r}")
    if int(n) > cap:
        raise InputError(f"{what} = {n} is over the limit of {cap}")
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
    _require_finite_number(u0, "u0")
    plist = [Parameter(k, v) for k, v in params.items()] if isinstance(params, Mapping) else list(params)
    t0 = float(t_span[0])
    transform = (
        ex.as_expr(float(u0)) + (ex.coord("t") - t0) * ex.N if t0 != 0 else ex.as_expr(float(u0)) + ex.coord("t") * ex.N
    )
    return Problem(("t",), {"t": t_span}, plist, residual, transform, solution=solution, name=name, spec=spec)
