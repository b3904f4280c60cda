"""PINN and BiLO models: a network, a problem, data, and the C++ training state."""

from __future__ import annotations

import contextlib
import functools
import math
import numbers
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, TypeVar, Union

import numpy as np

from . import _core, _validation
from ._validation import _show, flag, function, number
from .errors import InputError, TrainingDiverged
from .problem import ACTIVATIONS, Data, Problem, float_array, layer_widths
from .results import FitResult, History
from .training import GROUPS, RunOptions, count, schedules_for_groups

STATUS = {0: "completed", 1: "converged", 2: "stopped", 3: "diverged", 4: "early_stopped"}
DTYPES = {"float64": np.float64, "float32": np.float32}
OBJECTIVES = ("pinn", "lower", "upper")

StepCallback = Callable[["Model", int], Optional[bool]]
F = TypeVar("F", bound=Callable[..., Any])


def _locked(method: F) -> F:
    """Run a method under the model's lock: reads and writes of the training state from several
    threads are serialised, so a read during ``fit`` waits for it and never changes the run."""

    @functools.wraps(method)
    def wrapper(self: "Model", *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


@contextlib.contextmanager
def _fitting(model: "Model") -> Iterator[None]:
    """Holds ``model`` for one fit: its lock, and a flag that refuses a second fit at once with a
    clear error, from another thread (it would interleave steps) or from a callback of the running
    fit (it would run inside the core's loop, whose state the outer run still holds). A callback
    may still read the model."""
    me = threading.get_ident()
    with model._flag_lock:
        if model._fit_thread == me:
            raise InputError(
                "fit was called from inside a callback of this model's own fit: one fit at a time per model; "
                "return False from the callback to stop the run, then call fit again"
            )
        if model._fit_thread is not None:
            raise InputError("this model is already training in another thread: one fit at a time per model")
        model._fit_thread = me
    try:
        with model._lock:
            yield
    finally:
        with model._flag_lock:
            model._fit_thread = None


def _one_fit(method: F) -> F:
    """``fit`` inside :func:`_fitting`."""

    @functools.wraps(method)
    def wrapper(self: "Model", *args: Any, **kwargs: Any) -> Any:
        with _fitting(self):
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _model_seed(value: object) -> int:
    """The weight-initialisation seed: an integer in [0, 2^63)."""
    return _validation.seed(value, "seed")


class Model:
    """Common machinery of :class:`PINN` and :class:`BiLO`. Not instantiated directly.

    Parameters
    ----------
    problem : the inverse problem.
    data : observations (see :class:`~pinnbilo.Data`).
    hidden : hidden layer widths, e.g. ``(32, 32)``.
    activation : one of tanh, sin, cos, sigmoid, softplus, exp.
    data : observations (see :class:`~pinnbilo.Data`): one Data, or a list of them for several
        observed quantities (fields of a system, derivatives, integrals), each on its own points.
    collocation : residual points, (n, n_coords); default a uniform grid of ``n_res`` points
        per coordinate.
    n_res : collocation grid size per coordinate when ``collocation`` is not given; default 101
        for one coordinate, 33 for two (1,089 points, a BiLO step of a few milliseconds with the
        default network), 13 for three, 7 beyond.
    networks : "shared" (one network with an output per field, the default) or "per_field" (one
        network of the same hidden sizes per field, which stiff systems often train better with).
    normalize_inputs : map each coordinate's interval to [-1, 1] at the network input (the
        derivatives stay in the coordinates). Default None: only coordinates whose interval
        reaches outside [-1, 1] (a time span [0, 6]), where tanh units would otherwise start
        saturated.
    dtype : "float64" (default) or "float32".
    seed : seeds the weight initialisation; equal seeds give identical runs.
    w_res, w_data : loss weights; ``w_rgrad`` weights BiLO's residual-gradient term (default
        0.1: heavier weights slow the lower level down on stiff solutions such as logistic
        growth; lighter ones make the local operator less accurate away from the current a).
    w_reg : weight of the unknown functions' smoothness regulariser mean |grad f|^2 over the
        collocation points (default 0).

    Unknown functions (``problem.functions``) are small networks of their own. PINN trains them
    jointly with the solution network. BiLO feeds their values f(z) to the solution network as
    extra inputs, takes the residual gradient along a constant shift of each function, and
    trains them at the upper level on ``w_data L_data + w_reg L_reg``.
    """

    method: str = ""
    display_name: str = ""
    _method_code: int = -1
    default_w_rgrad: float = 0.0

    def __init__(
        self,
        problem: Problem,
        data: Union[Data, Sequence[Data]],
        hidden: Sequence[int] = (32, 32),
        activation: str = "tanh",
        collocation: Optional[object] = None,
        n_res: Optional[int] = None,
        dtype: str = "float64",
        seed: int = 0,
        w_res: float = 1.0,
        w_rgrad: Optional[float] = None,
        w_data: float = 1.0,
        w_reg: float = 0.0,
        networks: str = "shared",
        normalize_inputs: Optional[bool] = None,
        _param_gains: Optional[Sequence[float]] = None,
    ) -> None:
        if type(self) is Model:
            raise TypeError("use PINN or BiLO")
        self._lock = threading.RLock()  # the training state: see _locked
        self._flag_lock = threading.Lock()
        self._fit_thread: Optional[int] = None
        if w_rgrad is None:
            w_rgrad = self.default_w_rgrad
        if not isinstance(problem, Problem):
            raise InputError(f"problem must be a pinnbilo Problem, got {type(problem).__name__}")
        observations = [data] if isinstance(data, Data) else list(data) if isinstance(data, (list, tuple)) else None
        if not observations or not all(isinstance(d, Data) for d in observations):
            raise InputError(
                "data must be a pinnbilo.Data or a non-empty list of them, e.g. problem.synthetic_data(20, noise=0.01)"
            )
        if not isinstance(networks, str) or networks not in ("shared", "per_field"):
            raise InputError(f"networks must be 'shared' or 'per_field', got {_show(networks)}")
        if normalize_inputs is not None:
            if not isinstance(normalize_inputs, (bool, np.bool_)):  # 0 and 1 are not read as False/True
                raise InputError(
                    f"normalize_inputs must be True, False or None (automatic), got {_show(normalize_inputs)}"
                )
            normalize_inputs = bool(normalize_inputs)
        hidden = layer_widths(hidden, "hidden")
        if not isinstance(activation, str) or activation not in ACTIVATIONS:
            raise InputError(f"unknown activation {_show(activation)}; choose one of {', '.join(ACTIVATIONS)}")
        if not isinstance(dtype, str) or dtype not in DTYPES:
            raise InputError(f"dtype must be 'float64' or 'float32', got {_show(dtype)}")
        seed = _model_seed(seed)
        weights = {"w_res": w_res, "w_rgrad": w_rgrad, "w_data": w_data, "w_reg": w_reg}
        w_res, w_rgrad, w_data, w_reg = (number(w, k, nonnegative=True) for k, w in weights.items())
        for d in observations:
            if d.points.shape[1] != len(problem.coords):
                raise InputError(
                    f"data points have {d.points.shape[1]} columns but the problem has coordinates {problem.coords}"
                )
        self.problem = problem
        self.observations: List[Data] = observations
        self.data = observations[0]
        self.networks = networks
        self.normalize_inputs = normalize_inputs
        self.hidden = tuple(int(h) for h in hidden)
        self.activation = activation
        self.dtype = dtype
        self.seed = int(seed)
        if n_res is None:
            n_res = {1: 101, 2: 33, 3: 13}.get(len(problem.coords), 7)
        elif isinstance(n_res, (bool, np.bool_)) or not isinstance(n_res, numbers.Integral) or n_res <= 0:
            raise InputError(f"n_res (grid points per coordinate) must be a positive integer, got {_show(n_res)}")
        self.collocation = (
            problem.grid(n_res) if collocation is None else problem.as_points(collocation, "collocation points")
        )
        problem.require_inside(self.collocation, "collocation points")
        n_nets = 1 if networks == "shared" else len(problem.fields)
        _require_memory(self.collocation.shape[0], hidden, n_nets, self.method == "bilo", "collocation points")
        for d in observations:
            problem.require_inside(d.points, "data points")
        compiled_obs = [self._compile_observation(d) for d in observations]
        self.weights_config = {
            "w_res": float(w_res),
            "w_rgrad": float(w_rgrad),
            "w_data": float(w_data),
            "w_reg": float(w_reg),
        }
        if dtype == "float32":
            self._require_float32_range()
        n_perturb = len(problem.params) + len(problem.functions)
        n_in = problem.n_coordinate_features + (n_perturb if self.method == "bilo" else 0)
        n_fields = len(problem.fields)
        if networks == "shared":
            self.network_sizes = [[n_in, *self.hidden, n_fields]]
        else:
            self.network_sizes = [[n_in, *self.hidden, 1] for _ in range(n_fields)]
        self.sizes = self.network_sizes[0]
        trainer_cls = _core.Trainer64 if dtype == "float64" else _core.Trainer32
        lows = [-math.inf if p.bounds[0] is None else float(p.bounds[0]) for p in problem.params]
        highs = [math.inf if p.bounds[1] is None else float(p.bounds[1]) for p in problem.params]
        # Each parameter is trained in units of its scale (see Parameter.scale); checkpoints of
        # earlier versions pass their own gains.
        gains = (
            [float(g) for g in _param_gains]
            if _param_gains is not None
            else [
                _core.param_gain(lo, hi, p.resolved_scale, float(p.init))
                for lo, hi, p in zip(lows, highs, problem.params)
            ]
        )
        self.param_gains = tuple(gains)
        bounds = list(zip(lows, highs, gains))
        definition = {
            "n_coords": len(problem.coords),
            "n_params": len(problem.params),
            "n_fields": n_fields,
            "n_known": len(problem.sources),
            "functions": self._function_defs(),
            "transforms": [(c.ops, c.leaves) for c in problem.compiled_transforms],
            "residuals": [(c.ops, c.leaves) for c in problem.compiled_residuals],
            "conditions": [(c.program.ops, c.program.leaves, c.weight, c.paired) for c in problem.compiled_conditions],
            "observations": [(prog.ops, prog.leaves, d.integral) for d, prog in zip(observations, compiled_obs)],
            **self._input_scaling(),
            "periodic": [hi - lo if c in problem.periodic else 0.0 for c, (lo, hi) in problem.domain.items()],
        }
        row_weights = _row_weights(observations)
        obs_arrays = [
            {
                "points": d.points,
                "values": d.values,
                "weights": w,
                "quadrature": d.quadrature,
                "known": problem.known_values(d.points),
            }
            for d, w in zip(observations, row_weights)
        ]
        cond_arrays = [
            {"points": c.points, "known": problem.known_values(c.points)} for c in problem.compiled_conditions
        ]
        try:
            self._trainer = trainer_cls.create(
                definition,
                self.network_sizes,
                activation,
                self._method_code,
                bounds,
                self.collocation,
                problem.known_values(self.collocation),
                cond_arrays,
                obs_arrays,
                {**self.weights_config},
                self.seed,
            )
        except MemoryError:
            raise InputError(
                f"the model does not fit in memory: {self.collocation.shape[0]} collocation points with hidden "
                f"{self.hidden}; use fewer points (n_res=, collocation=) or a smaller network"
            ) from None
        self._trainer.set_params([p.init for p in problem.params])

    def _input_scaling(self) -> Dict[str, List[float]]:
        """Shift and scale per coordinate at the network input (empty: identity)."""
        lows = [self.problem.domain[c][0] for c in self.problem.coords]
        highs = [self.problem.domain[c][1] for c in self.problem.coords]
        if self.normalize_inputs is False:
            return {}
        wide = [
            (lo < -1.0 or hi > 1.0) and c not in self.problem.periodic
            for c, lo, hi in zip(self.problem.coords, lows, highs)
        ]
        if self.normalize_inputs is None and not any(wide):
            return {}
        on = [True] * len(wide) if self.normalize_inputs else wide
        shift = [(lo + hi) / 2 if o else 0.0 for lo, hi, o in zip(lows, highs, on)]
        scale = [2.0 / (hi - lo) if o else 1.0 for lo, hi, o in zip(lows, highs, on)]
        return {"input_shift": shift, "input_scale": scale}

    def _compile_observation(self, d: Data) -> Any:
        """The core's program for what a Data observes (its ``of``)."""
        from . import expr as ex

        p = self.problem
        if d.of is None:
            if len(p.fields) > 1:
                raise InputError(
                    f"data for a system must say what they observe: Data(..., of='{p.fields[0]}'); "
                    f"fields: {', '.join(p.fields)}"
                )
            text = p.fields[0]
        else:
            text = d.of
        try:
            e = ex.parse(
                text, p.coords, p.param_names, functions=p.function_inputs, known_names=list(p.sources), fields=p.fields
            )
        except InputError as exc:
            raise InputError(
                f"data observe {text!r}, which is not a field ({', '.join(p.fields)}) or an expression of them: {exc}"
            ) from None
        if not ex.names_in(e)["u"]:
            raise InputError(f"data of {text!r} must observe a field ({', '.join(p.fields)}) or an expression of them")
        return ex.compile_expr(
            e, p.coords, p.param_names, f"observation {text!r}", p.function_inputs, list(p.sources), fields=p.fields
        )

    def _require_float32_range(self) -> None:
        """Every number the float32 core will hold must be a finite float32."""
        limit = float(np.finfo(np.float32).max)
        arrays = {"collocation points": self.collocation}
        for k, d in enumerate(self.observations):
            arrays[f"data values ({k})"] = d.values
            arrays[f"data points ({k})"] = d.points
            if d.sigma is not None:
                arrays[f"data weights 1/sigma^2 ({k})"] = np.asarray(d.weights)
        pr = self.problem
        programs = {f"residual '{n}'": c for n, c in zip(pr.residual_names, pr.compiled_residuals)}
        programs.update({f"the transform of '{f}'": c for f, c in zip(pr.fields, pr.compiled_transforms)})
        programs.update({f"condition {k}": c.program for k, c in enumerate(pr.compiled_conditions)})
        programs.update(
            {f"the observed {d.of or pr.fields[0]!r}": self._compile_observation(d) for d in self.observations}
        )
        for k, d in enumerate(self.observations):
            if d.quadrature is not None:
                arrays[f"quadrature weights ({k})"] = d.quadrature
        for what, prog in programs.items():
            arrays[f"the constants of {what}"] = np.array([op[3] for op in prog.ops], dtype=np.float64)
        for what, values in arrays.items():
            if values.size and float(np.max(np.abs(values))) > limit:
                raise InputError(
                    f"{what} reach {float(np.max(np.abs(values))):.3g}, beyond float32's range ({limit:.3g}); "
                    "use dtype='float64' or rescale the problem"
                )

    def _function_defs(self) -> List[tuple]:
        out = []
        for f, prog in zip(self.problem.functions, self.problem.compiled_functions):
            if f.activation not in ACTIVATIONS:
                raise InputError(f"function '{f.name}': unknown activation '{f.activation}'; use one of {ACTIVATIONS}")
            inputs = [self.problem.coords.index(c) for c in self.problem.function_inputs[f.name]]
            out.append((inputs, [len(inputs), *f.hidden, 1], f.activation, prog.ops, prog.leaves))
        return out

    @_locked
    def set_collocation(self, points: object) -> None:
        """Replace the residual points, (n, n_coords), e.g. to resample them."""
        p = self.problem.as_points(points, "collocation points")
        self.problem.require_inside(p, "collocation points")
        n_nets = 1 if self.networks == "shared" else len(self.problem.fields)
        _require_memory(p.shape[0], self.hidden, n_nets, self.method == "bilo", "collocation points")
        try:
            self._trainer.set_collocation(p, self.problem.known_values(p))
        except MemoryError:
            raise InputError(f"collocation points: {p.shape[0]} points do not fit in memory; use fewer") from None
        self.collocation = p

    # -- state ---------------------------------------------------------------------------------
    @property
    @_locked
    def params(self) -> Dict[str, float]:
        """Current parameter values {name: value}."""
        return dict(zip(self.problem.param_names, self._trainer.get_params()))

    @_locked
    def set_params(self, values: Mapping[str, float]) -> None:
        """Set parameters by name (others keep their values)."""
        if not isinstance(values, Mapping):
            raise InputError(f"set_params takes a mapping {{name: value}}, got {type(values).__name__}")
        current = self.params
        for k, v in values.items():
            if not isinstance(k, str) or k not in current:
                raise InputError(f"unknown parameter {_show(k)}; parameters: {', '.join(current) or 'none'}")
            current[k] = number(v, f"parameter '{k}' (the value it is set to)")
        self._trainer.set_params([current[n] for n in self.problem.param_names])

    @property
    @_locked
    def step(self) -> int:
        """Number of optimisation steps taken so far (Adam and L-BFGS)."""
        return int(self._trainer.global_step)

    @_locked
    def get_weights(self) -> List[Tuple[np.ndarray, np.ndarray]]:
        """The network as [(W, b), ...] per layer; W has shape (out, in), b shape (out,). With
        ``networks="per_field"``, the layers of each field's network one network after another."""
        flat = self._trainer.get_weights()
        out, pos = [], 0
        for sizes in self.network_sizes:
            for n_in, n_out in zip(sizes[:-1], sizes[1:]):
                w = flat[pos : pos + n_in * n_out].reshape(n_out, n_in).copy()
                pos += n_in * n_out
                b = flat[pos : pos + n_out].copy()
                pos += n_out
                out.append((w, b))
        return out

    @_locked
    def set_weights(self, layers: Sequence[Tuple[np.ndarray, np.ndarray]]) -> None:
        """Inverse of :meth:`get_weights`; shapes must match exactly."""
        shapes = [(n_out, n_in) for sizes in self.network_sizes for n_in, n_out in zip(sizes[:-1], sizes[1:])]
        if not isinstance(layers, (list, tuple)) or len(layers) != len(shapes):
            got = len(layers) if isinstance(layers, (list, tuple)) else type(layers).__name__
            raise InputError(f"expected {len(shapes)} layers (W, b) in a list, got {got}")
        for i, layer in enumerate(layers):
            if not isinstance(layer, (list, tuple)) or len(layer) != 2:
                raise InputError(f"layer {i} must be a pair (W, b), got {type(layer).__name__}")
        parts = []
        for i, ((w, b), (n_out, n_in)) in enumerate(zip(layers, shapes)):
            w, b = float_array(w, f"layer {i} W"), float_array(b, f"layer {i} b")
            if w.shape != (n_out, n_in) or b.shape != (n_out,):
                raise InputError(f"layer {i}: expected W {(n_out, n_in)} and b {(n_out,)}, got {w.shape} and {b.shape}")
            parts += [w.ravel(), b]
        self._trainer.set_weights(np.concatenate(parts))

    @property
    @_locked
    def history(self) -> History:
        """Losses and parameter values per step (numpy arrays)."""
        h = self._trainer.get_history()
        return History(
            step=h["step"],
            total=h["total"],
            res=h["res"],
            rgrad=h["rgrad"],
            data=h["data"],
            reg=h["reg"],
            params={n: h["params"][:, j].copy() for j, n in enumerate(self.problem.param_names)},
        )

    # -- evaluation ----------------------------------------------------------------------------
    @_locked
    def predict(
        self,
        points: object,
        derivatives: Optional[Sequence[Union[str, Mapping[str, int]]]] = None,
        field: Optional[str] = None,
    ) -> Any:
        """The fitted solution at points ((n, n_coords), or (n,) for one coordinate).

        Without ``derivatives``: u, shape (n,); for a system, the field ``field``, or without it
        a dict {field: (n,)}. With a list such as ``["u", "u_t", "u_tt"]`` (or ``{"t": 2}``; for a
        system ``["S", "S_t", "I_t"]``): a dict name -> (n,) array. BiLO models also give
        derivatives in the parameters (``"u_a"``, ``"u_ta"``) at the current parameter values.
        """
        p = self.problem.as_points(points)
        fields = self.problem.fields
        zero = [0] * len(self._input_names())
        if derivatives is None:
            if field is None and len(fields) > 1:
                return {f: self._trainer.predict(p, [zero], j)[0].astype(np.float64) for j, f in enumerate(fields)}
            j = self.problem.field_index(field)
            return self._trainer.predict(p, [zero], j)[0].astype(np.float64)
        if isinstance(derivatives, (str, Mapping)):
            derivatives = [derivatives]
        if not isinstance(derivatives, (list, tuple)):
            raise InputError(
                f"derivatives must be a list of names such as ['u_t'] or mappings, got {_show(derivatives)}"
            )
        out: Dict[str, np.ndarray] = {}
        for d in derivatives:
            if not isinstance(d, (str, Mapping)):
                raise InputError(
                    f"a derivative is a name such as 'u_t' or a mapping such as {{'t': 1}}, got {_show(d)}"
                )
            if isinstance(d, str):
                j, multi = self._named_derivative(d)
                if field is not None and j != self.problem.field_index(field):
                    raise InputError(
                        f"{_show(d)} is a derivative of '{fields[j]}', not of field={_show(field)}; drop field="
                    )
                name = d
            else:
                j = self.problem.field_index(field)
                multi = self._multi_index(d)
                name = _deriv_name(d, fields[j])
            out[name] = self._trainer.predict(p, [multi], j)[0].astype(np.float64)
        return out

    def _named_derivative(self, d: str) -> Tuple[int, List[int]]:
        """'S_t' -> (index of S, multi-index of t); 'u_ta' for BiLO's parameter derivatives."""
        fields = self.problem.fields
        for j, f in sorted(enumerate(fields), key=lambda jf: -len(jf[1])):
            if d == f:
                return j, [0] * len(self._input_names())
            if d.startswith(f + "_") and len(d) > len(f) + 1:
                return j, self._multi_index(d[len(f) + 1 :], whole=d)
        raise InputError(
            f"derivative names look like {fields[0]!r}, '{fields[0]}_t', '{fields[0]}_tt'; got {_show(d)} "
            f"(fields: {', '.join(fields)})"
        )

    @_locked
    def observation_predictions(self) -> List[np.ndarray]:
        """What the model predicts for each observation in ``observations``, row by row (one
        value per point, or one per integral)."""
        return [self._trainer.observe(k).astype(np.float64) for k in range(len(self.observations))]

    @_locked
    def residual(self, points: object) -> np.ndarray:
        """The residual r at points: (n,); for several residuals (n_residuals, n)."""
        p = self.problem.as_points(points)
        rows = self._trainer.residual(p, self.problem.known_values(p)).astype(np.float64)
        per = rows.shape[0] // len(self.problem.residuals)
        out = rows[::per]
        return out[0] if out.shape[0] == 1 else out

    @_locked
    def function(
        self, name: str, points: object, derivatives: Optional[Sequence[Mapping[str, int]]] = None
    ) -> Union[np.ndarray, List[np.ndarray]]:
        """The learned unknown function ``name`` at points ((n, n_coords), or (n,) for one
        coordinate): (n,).  With ``derivatives`` (e.g. ``[{"x": 1}, {"x": 2}]``): a list of (n,)
        arrays, one per derivative."""
        k = self.problem.function_names.index(self.problem.get_function(name).name)
        p = self.problem.as_points(points)
        if derivatives is None:
            return self._trainer.predict_function(k, p, [[0] * len(self.problem.coords)])[0].astype(np.float64)
        if isinstance(derivatives, Mapping):
            derivatives = [derivatives]
        if not isinstance(derivatives, (list, tuple)):
            raise InputError(f"derivatives must be a list of mappings such as [{{'x': 1}}], got {_show(derivatives)}")
        multis = []
        for d in derivatives:
            if not isinstance(d, Mapping) or any(not isinstance(c, str) or c not in self.problem.coords for c in d):
                raise InputError(f"derivatives are mappings over the coordinates {self.problem.coords}, got {_show(d)}")
            for c, v in d.items():
                if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= v <= 16:
                    raise InputError(f"derivative order for '{c}' must be an int in [0, 16], got {_show(v)}")
            multis.append([int(d.get(c, 0)) for c in self.problem.coords])
        out = self._trainer.predict_function(k, p, multis)
        return [row.astype(np.float64) for row in out]

    def function_errors(self, points: Optional[object] = None) -> Dict[str, float]:
        """Relative L2 error ||f - f_true|| / ||f_true|| of each unknown function over points
        (default: a grid of 201 points per coordinate, 51 for two or more)."""
        if points is None:
            points = self.problem.grid(201 if len(self.problem.coords) == 1 else 51)
        p = self.problem.as_points(points)
        out = {}
        for name in self.problem.function_names:
            truth = self.problem.true_function(name, p)
            scale = max(float(np.linalg.norm(truth)), 1e-300)
            out[name] = float(np.linalg.norm(self.function(name, p) - truth) / scale)
        return out

    def _input_names(self) -> List[str]:
        if self.method != "bilo":
            return list(self.problem.coords)
        return list(self.problem.coords) + self.problem.param_names + self.problem.function_names

    def _multi_index(self, d: Union[str, Mapping[str, int]], whole: str = "") -> List[int]:
        """Orders over the network inputs from a mapping, or from the letters after 'u_' (whole:
        the full name, for messages)."""
        names = self._input_names()
        if isinstance(d, str):
            orders: Dict[str, int] = {}
            rest = d
            # Greedy match of input names (longest first) so multi-letter names work.
            while rest:
                for name in sorted(names, key=len, reverse=True):
                    if rest.startswith(name):
                        orders[name] = orders.get(name, 0) + 1
                        rest = rest[len(name) :]
                        break
                else:
                    raise InputError(
                        f"cannot read derivative {whole or d!r}: inputs of this {self.display_name} network are {names}"
                    )
        else:
            orders = dict(d)
        for k, v in orders.items():
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= v <= 16:
                raise InputError(f"derivative order for {_show(k)} must be an int in [0, 16], got {_show(v)}")
            if not isinstance(k, str) or k not in names:
                raise InputError(
                    f"cannot differentiate in {_show(k)}: inputs of this {self.display_name} network are {names}"
                )
        return [int(orders.get(n, 0)) for n in names]

    def parameter_errors(self) -> Dict[str, float]:
        """Relative error |a - a_true| / |a_true| per parameter (needs true values)."""
        true = self.problem.true_params
        return {k: abs(v - true[k]) / abs(true[k]) if true[k] != 0 else abs(v) for k, v in self.params.items()}

    # -- objectives for external optimisers ---------------------------------------------------
    @_locked
    def objective(self, name: str, x: np.ndarray) -> Tuple[float, np.ndarray, Dict[str, float]]:
        """Loss and gradient of one objective at a flat vector x (float64), for SciPy and tests.

        ``name``: 'pinn' (x = [weights, raw upper]), 'lower' (x = weights; BiLO residual
        level at the current parameters), 'upper' (x = raw upper; data level at the current
        weights). Raw upper variables are the unconstrained values behind any parameter bounds,
        followed by the unknown functions' network weights.
        """
        t = self._trainer
        nw = t.n_weights
        x = self._objective_x(name, x)
        if name == "pinn":
            losses, gw, gr = t.pinn(x[:nw], x[nw:])
            return losses["total"], np.concatenate([gw, gr]).astype(np.float64), losses
        if name == "lower":
            losses, gw = t.lower(x, t.get_raw_params())
            return losses["total"], gw.astype(np.float64), losses
        losses, gr = t.upper(t.get_weights(), x)
        return losses["total"], gr.astype(np.float64), losses

    def _objective_x(self, name: object, x: object) -> np.ndarray:
        """``x`` for the objective ``name`` (see :meth:`objective`), checked: a finite float64
        vector of that objective's size."""
        if not isinstance(name, str) or name not in OBJECTIVES:
            raise InputError(f"unknown objective {_show(name)}; use 'pinn', 'lower' or 'upper'")
        t = self._trainer
        size = {"pinn": t.n_weights + t.n_raw, "lower": t.n_weights, "upper": t.n_raw}[name]
        a = float_array(x, "x")
        if a.shape != (size,):
            raise InputError(f"x must have shape ({size},) for {name!r}, got {a.shape}")
        if not np.all(np.isfinite(a)):
            raise InputError("x contains NaN or inf; objectives are evaluated at finite points only")
        return a

    @_locked
    def state_vector(self, name: str) -> np.ndarray:
        """The current x of an objective (see :meth:`objective`): (size,) float64."""
        if not isinstance(name, str) or name not in OBJECTIVES:
            raise InputError(f"unknown objective {_show(name)}; use 'pinn', 'lower' or 'upper'")
        t = self._trainer
        if name == "pinn":
            return np.concatenate([t.get_weights(), t.get_raw_params()]).astype(np.float64)
        if name == "lower":
            return t.get_weights().astype(np.float64)
        if name == "upper":
            return t.get_raw_params().astype(np.float64)
        raise InputError(f"unknown objective '{name}'; use 'pinn', 'lower' or 'upper'")

    @_locked
    def set_state_vector(self, name: str, x: np.ndarray) -> None:
        """Set the state from an objective's x (see :meth:`objective`): a finite (size,) vector."""
        x = self._objective_x(name, x)
        t = self._trainer
        nw = t.n_weights
        if name == "pinn":
            t.set_weights(x[:nw])
            t.set_raw_params(x[nw:])
        elif name == "lower":
            t.set_weights(x)
        else:
            t.set_raw_params(x)

    # -- training ------------------------------------------------------------------------------
    def _adam_options(
        self,
        lr: float,
        lr_params: float,
        amsgrad: bool,
        lr_functions: Optional[float] = None,
        schedule: object = None,
    ) -> Dict[str, object]:
        lr, lr_params = number(lr, "lr", positive=True), number(lr_params, "lr_params", positive=True)
        lr_f = lr if lr_functions is None else number(lr_functions, "lr_functions", positive=True)
        schedules = schedules_for_groups(schedule)  # type: ignore[arg-type]
        return {
            **self.weights_config,
            "adam_weights": {"lr": float(lr), "amsgrad": bool(amsgrad)},
            "adam_params": {"lr": float(lr_params), "amsgrad": bool(amsgrad)},
            "lr_functions": float(lr_f),
            **{f"schedule_{g}": schedules[g].core() for g in GROUPS},
        }

    def _run(
        self,
        steps: int,
        train_params: bool,
        callback_every: int,
        progress: bool,
        tol: float,
        callback: Optional[StepCallback],
        label: str,
        run_options: RunOptions,
    ) -> Tuple[str, Dict[str, object]]:
        """Adam steps in C++; returns (status, the core's run record)."""
        bar = _progress_bar(steps, f"{self.display_name} {label}", progress)
        done = [0]
        start_step = self.step
        resample = getattr(self, "_resample_every", 0)
        every = math.gcd(callback_every, resample) if resample else callback_every
        if resample and start_step % every:
            # Resampling counts global steps (so a resumed run draws the same points as one long
            # run): the callback period must meet the global multiples of `resample`.
            every = math.gcd(every, start_step)

        def on_callback(global_step: int) -> bool:
            taken = global_step - start_step
            if resample and global_step % resample == 0:
                n = self.collocation.shape[0]
                self.set_collocation(self.problem.random_points(n, seed=(self.seed * 1_000_003 + global_step) % 2**63))
            if taken % callback_every != 0:
                return True
            bar.update(taken - done[0])
            done[0] = taken
            last = self._trainer.last_record()
            if last is not None and progress:
                _, losses, params = last
                post = {
                    "loss": f"{losses['total']:.2e}",
                    "res": f"{losses['res']:.1e}",
                    "data": f"{losses['data']:.1e}",
                }
                post.update({n: f"{v:.4g}" for n, v in zip(self.problem.param_names, params)})
                bar.set_postfix(post, refresh=False)
            if callback is not None and callback(self, global_step) is False:
                return False
            return True

        control = run_options.core(steps, train_params, every, tol)
        try:
            rec = self._trainer.run(control, on_callback)
        finally:
            bar.close()
        return ("interrupted" if rec["interrupted"] else STATUS[int(rec["status"])]), rec

    @_one_fit
    def fit(
        self,
        steps: int = 5000,
        lr: float = 1e-3,
        lr_params: float = 1e-3,
        lbfgs_steps: int = 0,
        tol: float = 0.0,
        amsgrad: bool = False,
        callback_every: int = 100,
        callback: Optional[StepCallback] = None,
        progress: bool = False,
        on_diverge: str = "raise",
        pretrain_steps: int = 0,
        lr_functions: Optional[float] = None,
        resample_every: int = 0,
        schedule: object = None,
        keep: str = "last",
        monitor: str = "total",
        spike_factor: Optional[float] = None,
        spike_lr_factor: float = 0.5,
        max_spikes: int = 20,
        patience: int = 0,
        min_delta: float = 0.0,
        max_iter_lower: int = 0,
        tol_lower: float = 0.0,
    ) -> FitResult:
        """Train: (BiLO: ``pretrain_steps`` with parameters fixed,) ``steps`` Adam steps, then
        optionally ``lbfgs_steps`` L-BFGS-B iterations (SciPy), reporting why L-BFGS stopped.

        lr, lr_params : Adam learning rates of the weights and of the parameters (which are
            trained in units of their scale, see :class:`~pinnbilo.Parameter`).
        tol : stop Adam when the monitored objective falls below tol (0: never).
        callback : ``f(model, step)`` every ``callback_every`` steps; return False to stop.
        progress : show a tqdm bar with the current losses and parameters.
        on_diverge : 'raise' (TrainingDiverged) or 'return' (status 'diverged'); either way the
            model keeps the last state with finite losses.
        lr_functions : Adam learning rate of the unknown functions' networks (default: lr).
        resample_every : draw new uniform random collocation points (as many as now) at every
            global step that is a multiple of this (0: keep them); seeded by the step, so a
            resumed run draws the same points as one long run.
        schedule : learning-rate schedule of every group: None (constant), a kind ('cosine',
            'exponential', 'step', 'plateau'), a :class:`~pinnbilo.Schedule` or a dict of its
            fields; or a dict by group, ``{"weights": ..., "params": ..., "functions": ...}``.
            It runs inside the C++ loop and restarts in each phase (pretraining, inverse).
        keep : 'last' (the state after the last step) or 'best': the state with the lowest
            monitored objective of each phase (``result.best_step`` says which).
        monitor : the objective that keep, tol, spike control, patience and the plateau schedule
            read: 'total' (PINN: its loss; BiLO: lower + upper level, the lower alone while
            pretraining), 'lower' (w_res L_res + w_rgrad L_rgrad), 'data' or 'res'.
        spike_factor : spike control (None: off). A step whose monitored objective exceeds
            spike_factor times the phase's minimum so far, or is not finite, rolls the model
            back to that minimum's state and multiplies every learning rate by
            ``spike_lr_factor``, at most ``max_spikes`` times per phase (``result.spikes``).
        patience, min_delta : early stopping (patience 0: off): stop (status 'early_stopped')
            after ``patience`` steps without the monitored objective falling below
            (1 - min_delta) times its best.
        max_iter_lower, tol_lower : BiLO's lower level as an inner loop (as in the BiLO
            reference code): before each step of the inverse phase, up to ``max_iter_lower``
            weight-only Adam steps until the lower loss is below ``tol_lower``
            (``result.lower_steps`` counts them; they are not in the history).
        Ctrl-C stops within one callback interval and returns with status 'interrupted'
        (with keep='best', in the best state so far), in the Adam and in the L-BFGS phase.
        """
        plan = self._plan_fit(
            steps=steps,
            lr=lr,
            lr_params=lr_params,
            lbfgs_steps=lbfgs_steps,
            tol=tol,
            amsgrad=amsgrad,
            callback_every=callback_every,
            callback=callback,
            progress=progress,
            on_diverge=on_diverge,
            pretrain_steps=pretrain_steps,
            lr_functions=lr_functions,
            resample_every=resample_every,
            schedule=schedule,
            keep=keep,
            monitor=monitor,
            spike_factor=spike_factor,
            spike_lr_factor=spike_lr_factor,
            max_spikes=max_spikes,
            patience=patience,
            min_delta=min_delta,
            max_iter_lower=max_iter_lower,
            tol_lower=tol_lower,
        )
        tally = _FitTally()
        for label, n, train_params in plan.phases:
            status, rec = self._run(
                n, train_params, plan.callback_every, plan.progress, plan.tol, plan.callback, label, plan.run_options
            )
            if not tally.add(label, status, rec):
                break
        return self._finish_fit(plan, tally)

    def _plan_fit(
        self,
        steps: int,
        lr: float,
        lr_params: float,
        lbfgs_steps: int,
        tol: float,
        amsgrad: bool,
        callback_every: int,
        callback: Optional[StepCallback],
        progress: bool,
        on_diverge: str,
        pretrain_steps: int,
        lr_functions: Optional[float],
        resample_every: int,
        schedule: object,
        keep: str,
        monitor: str,
        spike_factor: Optional[float],
        spike_lr_factor: float,
        max_spikes: int,
        patience: int,
        min_delta: float,
        max_iter_lower: int,
        tol_lower: float,
    ) -> "_FitPlan":
        """Checks fit's arguments, sets the trainer's options, and returns the run plan."""
        steps, pretrain_steps, lbfgs_steps = (
            count(v, nm)
            for nm, v in (("steps", steps), ("pretrain_steps", pretrain_steps), ("lbfgs_steps", lbfgs_steps))
        )
        callback_every = count(callback_every, "callback_every", minimum=1)
        resample_every = count(resample_every, "resample_every")
        tol = number(tol, "tol", nonnegative=True)
        amsgrad = flag(amsgrad, "amsgrad")
        progress = flag(progress, "progress")
        if callback is not None:
            function(callback, "callback", signature="f(model, step) -> None or False")
        if not isinstance(on_diverge, str) or on_diverge not in ("raise", "return"):
            raise InputError(f"on_diverge must be 'raise' or 'return', got {_show(on_diverge)}")
        if pretrain_steps and self.method != "bilo":
            raise InputError("pretrain_steps is a BiLO phase; PINN has no pretraining")
        max_iter_lower = count(max_iter_lower, "max_iter_lower")
        if max_iter_lower and self.method != "bilo":
            raise InputError("max_iter_lower is BiLO's inner lower-level loop; PINN has no lower level")
        run_options = RunOptions(
            keep=keep,
            monitor=monitor,
            spike_factor=spike_factor,
            spike_lr_factor=spike_lr_factor,
            max_spikes=max_spikes,
            patience=patience,
            min_delta=min_delta,
            max_iter_lower=max_iter_lower,
            tol_lower=tol_lower,
        )
        self._trainer.set_options(self._adam_options(lr, lr_params, amsgrad, lr_functions, schedule))
        self._resample_every = int(resample_every)
        phases = ([("pretrain", pretrain_steps, False)] if pretrain_steps else []) + [("inverse", steps, True)]
        return _FitPlan(
            phases=phases,
            lbfgs_steps=lbfgs_steps,
            tol=tol,
            callback_every=callback_every,
            callback=callback,
            progress=progress,
            on_diverge=on_diverge,
            run_options=run_options,
            start=time.perf_counter(),
        )

    def _finish_fit(self, plan: "_FitPlan", tally: "_FitTally") -> FitResult:
        """The fit's result after its Adam phases: the L-BFGS phase, messages, the final state."""
        status, keep = tally.status, plan.run_options.keep
        diverged = tally.diverged
        result = FitResult(
            params=self.params, losses={}, status=status, steps=tally.taken, wall_time=0.0, diverged_step=diverged
        )
        result.keep = keep
        result.best_step = tally.best_step if keep == "best" else None
        result.spikes = tally.spikes
        result.lower_steps = tally.lower_steps
        if status == "diverged":
            result.message = (
                f"loss or gradient became non-finite at step {diverged}; the model was restored to the last finite "
                "state. Lower the learning rates, check the data scale, add parameter bounds, or let "
                "fit(spike_factor=...) roll back and reduce the learning rate."
            )
            if plan.on_diverge == "raise":
                raise TrainingDiverged(result.message, diverged if diverged is not None else -1)
        elif status == "interrupted":
            result.message = "interrupted by the user (KeyboardInterrupt); the model holds a consistent state"
        elif plan.lbfgs_steps > 0:
            from .lbfgs import refine

            try:
                result.lbfgs = refine(self, plan.lbfgs_steps)
                result.message = "; ".join(str(r) for r in result.lbfgs)
            except KeyboardInterrupt:
                # refine keeps the best state it reached; say so instead of unwinding the caller.
                result.status = "interrupted"
                result.message = (
                    "interrupted by the user (KeyboardInterrupt) during L-BFGS; the best state so far is kept"
                )
        result.wall_time = time.perf_counter() - plan.start
        result.params = self.params
        result.losses = self.losses()
        result.model, result.end_step = self, self.step
        return result

    @_locked
    def losses(self) -> Dict[str, float]:
        """The losses at the current state: res, rgrad, data, reg, total (this method's objective)."""
        t = self._trainer
        if self.method == "pinn":
            losses, _, _ = t.pinn(t.get_weights(), t.get_raw_params())
            return dict(losses)
        lo, _ = t.lower(t.get_weights(), t.get_raw_params())
        up, _ = t.upper(t.get_weights(), t.get_raw_params())
        return {
            "res": lo["res"],
            "rgrad": lo["rgrad"],
            "data": up["data"],
            "reg": up["reg"],
            "total": lo["total"] + up["total"],
        }

    # -- checkpoints ---------------------------------------------------------------------------
    @_locked
    def posterior(
        self, priors: Optional[Mapping[str, object]] = None, sigma: object = None, refine: bool = True, **options: Any
    ) -> Any:
        """The Laplace (Gauss-Newton) posterior of the scalar parameters at the current fit:
        :func:`pinnbilo.uncertainty.laplace` (``options``: ``max_steps``, ``lower_steps``,
        ``lower_lr``, ``fd_step``, ``pinn_maxiter``). The model is not changed."""
        from .uncertainty.laplace import laplace

        return laplace(self, priors, sigma, refine, **options)

    def save(self, path: str) -> None:
        """Write a complete checkpoint (weights, parameters, Adam state, history, problem, data,
        configuration) atomically: a crash mid-write leaves any previous file intact."""
        from .checkpoint import save

        if isinstance(path, str):
            try:
                os.fsencode(path)
            except UnicodeEncodeError:
                raise InputError(
                    f"path {_show(path)} holds characters no file name can hold (lone surrogates)"
                ) from None
        save(self, path)

    @_locked
    def __reduce__(self) -> Tuple[Callable[..., "Model"], Tuple[bytes, Problem]]:
        """A model pickles as its checkpoint (:func:`pinnbilo.checkpoint.to_bytes`, taken under
        the model's lock, so a pickle during ``fit`` from another thread waits for it) and its
        problem, which pickles itself (see :meth:`Problem.__reduce__`) and brings the Python
        callables a checkpoint cannot hold. Unpickling runs every check of :func:`pinnbilo.load`
        and gives a model with a lock of its own that trains on bit-identically."""
        from .checkpoint import from_bytes, to_bytes

        return from_bytes, (to_bytes(self), self.problem)

    def __repr__(self) -> str:
        ps = ", ".join(f"{k}={v:.6g}" for k, v in self.params.items())
        return f"{type(self).__name__}(problem={self.problem.name!r}, hidden={self.hidden}, step={self.step}, {ps})"


@dataclass
class _FitPlan:
    """A fit's checked arguments: its Adam phases (label, steps, train_params) and what follows."""

    phases: List[Tuple[str, int, bool]]
    lbfgs_steps: int
    tol: float
    callback_every: int
    callback: Optional[StepCallback]
    progress: bool
    on_diverge: str
    run_options: RunOptions
    start: float


@dataclass
class _FitTally:
    """What a fit's Adam phases did, summed over the phases."""

    status: str = "completed"
    taken: int = 0
    spikes: int = 0
    lower_steps: int = 0
    diverged: Optional[int] = None
    best_step: Optional[int] = None

    def add(self, label: str, status: str, rec: Mapping[str, Any]) -> bool:
        """Counts one phase's run record; returns whether the next phase may start."""
        self.status = status
        self.taken += int(rec["steps"])
        self.spikes += int(rec["spikes"])
        self.lower_steps += int(rec["lower_steps"])
        d = int(rec["diverged_step"])
        self.diverged = d if d >= 0 else None
        b = int(rec.get("best_step", -1))
        self.best_step = b if b >= 0 else None
        if status in ("diverged", "interrupted", "stopped"):
            return False
        if status in ("converged", "early_stopped") and label == "pretrain":
            self.status = "completed"  # pretraining reached its tolerance: go on to the inverse phase
        return True


class _NoBar:
    """Stands in for a tqdm bar when progress is off (tqdm's import costs a few hundred ms)."""

    def update(self, n: int) -> None:
        pass

    def set_postfix(self, *args: object, **kwargs: object) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, desc: str, show: bool) -> Any:
    if not show:
        return _NoBar()
    from tqdm.auto import tqdm  # type: ignore[import-untyped]  # no stubs for tqdm

    return tqdm(total=total, desc=desc, leave=False)


def _available_bytes() -> float:
    """The memory this process may use: the smaller of its address-space limit and the machine's
    physical memory (inf where neither is known)."""
    import os

    limits = []
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            limits.append(float(soft))
    except (ImportError, OSError, ValueError):
        pass
    try:
        limits.append(float(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")))
    except (AttributeError, OSError, ValueError):
        pass
    return min(limits) if limits else math.inf


def _require_memory(n_points: int, hidden: Sequence[int], n_nets: int, bilo: bool, what: str) -> None:
    """Refuse, before the core allocates, a number of points whose training state cannot fit in
    memory (a MemoryError or the OOM killer otherwise). The estimate, 4 bytes per point times 4 per
    hidden unit plus 100, per network, twice for BiLO, is what 1-D problems measure; problems with
    more derivatives need more, so a refusal here is of a run that could not have fitted."""
    need = 4.0 * n_points * (4 * sum(hidden) + 100) * n_nets * (2 if bilo else 1)
    have = _available_bytes()
    if need > have:
        raise InputError(
            f"{what}: {n_points} points with hidden {tuple(hidden)} need about {need / 2**30:.1f} GiB, more than "
            f"the {have / 2**30:.1f} GiB this process may use; use fewer points (n_res=, collocation=) or a smaller "
            "network"
        )


def _deriv_name(d: Mapping[str, int], field: str = "u") -> str:
    return f"{field}_" + "".join(k * int(v) for k, v in d.items()) if any(d.values()) else field


def _row_weights(observations: Sequence[Data]) -> List[Optional[np.ndarray]]:
    """Per-row weights 1/sigma^2 scaled to mean 1 over all rows (None everywhere without sigma):
    the data loss is then the Gaussian negative log-likelihood up to a constant factor."""
    given = [d.sigma is not None for d in observations]
    if not any(given):
        return [None] * len(observations)
    if not all(given):
        missing = [k for k, g in enumerate(given) if not g]
        raise InputError(
            f"sigma is given for some observations but not for {missing}: give every observation its standard "
            "deviation (Data(..., sigma=...)) or none"
        )
    raw = [np.asarray(d.weights, dtype=np.float64) for d in observations]
    mean = float(np.mean(np.concatenate(raw)))
    if not np.isfinite(mean):
        raise InputError("a sigma is so small that 1/sigma^2 overflows; give standard deviations above 1e-150")
    return [w / mean for w in raw]


class PINN(Model):
    """Physics-informed neural network (Raissi et al. 2019): u(z; W), parameters trained jointly
    with the weights on ``w_res L_res + w_data L_data``."""

    method = "pinn"
    display_name = "PINN"
    _method_code = 0


class BiLO(Model):
    """Bilevel local operator (Zhang et al. 2026): u(z, a; W) takes the parameters as inputs.

    Lower level: weights follow ``w_res L_res + w_rgrad L_rgrad`` (residual and its total
    derivative in the parameters); upper level: parameters follow ``w_data L_data`` with the
    weights fixed; both updated simultaneously. ``fit(pretrain_steps=...)`` first trains the
    weights at the initial guess.
    """

    method = "bilo"
    display_name = "BiLO"
    _method_code = 1
    default_w_rgrad = 0.1
