"""Area 2: PINN/BiLO constructors, fit options and every model method, diverging runs."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict, List, Tuple

import numpy as np

import pinnbilo as pb

from .core import (
    ARRAYS,
    CALLABLES,
    CHOICE,
    COUNT,
    FLAG,
    NONNEG,
    OPTIONAL,
    POS,
    POS_COUNT,
    SCALARS,
    SEED,
    TEXT,
    Case,
    Finding,
    H,
    Silent,
    case,
    cross,
    finite,
    kind,
)

AREA = "models"
MOD = __name__
CLASSES = {"PINN": pb.PINN, "BiLO": pb.BiLO}


@lru_cache(maxsize=None)
def _fixture(name: str = "exp") -> Tuple[pb.Problem, Any]:
    if name == "exp":
        p = pb.problems.exponential_growth()
        return p, p.synthetic_data(10, noise=0.01)
    if name == "bounded":
        p = pb.problems.exponential_growth(bounds=(0.0, 5.0))
        return p, p.synthetic_data(10, noise=0.01)
    if name == "varpoisson":
        p = pb.problems.variable_poisson(hidden=(4,))
        return p, p.synthetic_data(8)
    if name == "lotka":
        p = pb.problems.lotka_volterra()
        return p, p.synthetic_observations(8, noise=0.01)
    raise KeyError(name)


def _model(cls: str = "BiLO", fixture: str = "exp", **kw: Any) -> Any:
    problem, data = _fixture(fixture)
    args: Dict[str, Any] = dict(hidden=(6, 6), n_res=11)
    args.update(kw)
    return CLASSES[cls](problem, data, **args)


def _snapshot(m: Any) -> Tuple[bytes, bytes, int, int, bytes]:
    t = m._trainer
    return (t.get_weights().tobytes(), t.get_raw_params().tobytes(), int(t.global_step), int(t.history_length()),
            np.asarray(m.collocation).tobytes())  # fmt: skip


def _require_finite_state(m: Any, what: str) -> None:
    w = m._trainer.get_weights()
    p = list(m.params.values())
    if not finite(w) or not finite(p):
        raise Silent(f"{what}: the model's state is not finite (weights finite: {finite(w)}, params {p})")
    losses = m.losses()
    if not all(finite(v) for v in losses.values()):
        raise Silent(f"{what}: the model's losses are not finite: {losses}")
    if not finite(m.predict(np.linspace(0.1, 0.9, 3))):
        raise Silent(f"{what}: predict gives non-finite values")


def _guarded(m: Any, fn: Any) -> Any:
    """Call fn(); when it raises, the model's state must be what it was (a refused call changes
    nothing); when it returns, the state must be finite."""
    before = _snapshot(m)
    try:
        out = fn()
    except (pb.InputError, TypeError, ValueError, OverflowError, AttributeError, KeyError) as exc:
        if _snapshot(m) != before:
            if isinstance(exc, pb.InputError):
                raise Silent(f"refused with InputError ({exc}), but the model's state had changed") from exc
            raise Finding(
                "unclear_error",
                f"{type(exc).__name__}: {exc} -- raised only after the model's state had "
                "changed (not checked up front)",
            ) from exc
        raise
    return out


# -- targets --------------------------------------------------------------------------------------


def t_model(_cls: str, _fixture: str = "exp", **kw: Any) -> Any:
    m = _model(_cls, _fixture, **kw)
    losses = m.losses()
    if not all(finite(v) for v in losses.values()):
        raise Silent(f"accepted, losses not finite: {losses}")
    r = m.fit(steps=2)
    if not all(finite(v) for v in r.losses.values()):
        raise Silent(f"accepted, losses after 2 steps not finite: {r.losses}")
    return "built and trained 2 steps"


def t_model_data(_cls: str, data: Any) -> Any:
    problem, _ = _fixture("exp")
    m = CLASSES[_cls](problem, data, hidden=(4,), n_res=5)
    return f"built {m!r}"


def t_model_problem(_cls: str, problem: Any) -> Any:
    _, data = _fixture("exp")
    m = CLASSES[_cls](problem, data, hidden=(4,), n_res=5)
    return f"built {m!r}"


def t_fit(_cls: str, _fixture: str = "exp", **kw: Any) -> Any:
    m = _model(_cls, _fixture)
    args: Dict[str, Any] = dict(steps=3)
    args.update(kw)
    r = _guarded(m, lambda: m.fit(**args))
    if not isinstance(r, pb.FitResult):
        raise Silent(f"fit returned {type(r).__name__}")
    if r.status == "diverged":
        return "status diverged (on_diverge='return')"
    _require_finite_state(m, "after fit")
    return f"status {r.status}"


def t_method(_cls: str, _method: str, _fixture: str = "exp", _attr: bool = False, **kw: Any) -> Any:
    m = _model(_cls, _fixture)
    if _attr:
        return repr(getattr(m, _method))[:100]
    out = _guarded(m, lambda: getattr(m, _method)(**kw))
    if isinstance(out, np.ndarray) and out.dtype.kind == "f" and not finite(out):
        raise Silent(f"returned non-finite values {out.ravel()[:4]}")
    if isinstance(out, dict) and not all(finite(v) for v in out.values() if isinstance(v, (float, np.ndarray))):
        raise Silent(f"returned non-finite values {out}")
    if _method.startswith("set"):
        _require_finite_state(m, f"after {_method}")
    return f"returned {type(out).__name__}"


def _layers(m: Any) -> List[Tuple[np.ndarray, np.ndarray]]:
    return m.get_weights()


def t_set_weights(_cls: str, _variant: str) -> Any:
    m = _model(_cls)
    L = _layers(m)
    variants = {
        "none": lambda: None,
        "empty_list": lambda: [],
        "one_layer_short": lambda: L[:-1],
        "one_layer_extra": lambda: L + [L[-1]],
        "transposed_W": lambda: [(w.T, b) for w, b in L],
        "b_2d": lambda: [(w, b[:, None]) for w, b in L],
        "nan_W": lambda: [(w * np.nan, b) for w, b in L],
        "inf_b": lambda: [(w, b + np.inf) for w, b in L],
        "complex_W": lambda: [(w + 1j, b) for w, b in L],
        "str_W": lambda: [(np.full(w.shape, "a"), b) for w, b in L],
        "layer_is_triple": lambda: [(w, b, b) for w, b in L],
        "layer_is_dict": lambda: [{"W": w, "b": b} for w, b in L],
        "layer_is_array": lambda: [np.concatenate([w.ravel(), b]) for w, b in L],
        "ragged_W": lambda: [([[1.0, 2.0], [3.0]], b) for w, b in L],
        "huge_values": lambda: [(np.full(w.shape, 1e308), b) for w, b in L],
        "int_W_valid": lambda: [(np.zeros(w.shape, dtype=int), b) for w, b in L],
        "tuple_of_layers_valid": lambda: tuple(L),
        # an object array of 5000-digit ints (0.0 + 10**5000 would overflow while building the value)
        "huge_python_int": lambda: [(np.full(w.shape, 10**5000, dtype=object), b) for w, b in L],
        "generator": lambda: (x for x in L),
    }
    layers = variants[_variant]()
    out = _guarded(m, lambda: m.set_weights(layers))
    if _variant == "huge_values":  # finite weights of 1e308: accepted; losses may overflow, training must not
        try:
            r = m.fit(steps=3, on_diverge="return")
        except pb.PinnbiloError as exc:
            return f"training afterwards: {type(exc).__name__}"
        if r.status != "diverged":
            _require_finite_state(m, "after training from 1e308 weights")
        return f"training afterwards: status {r.status}"
    _require_finite_state(m, f"after set_weights({_variant})")
    return f"returned {out!r}"


def t_state_vector(_cls: str, _op: str, name: Any = "lower", x: Any = "current", _scale: float = 1.0) -> Any:
    m = _model(_cls)
    key = ""
    if isinstance(x, str) and x in ("current", "short", "long", "nan", "inf", "int", "2d", "f32", "huge"):
        key = x
        if not (isinstance(name, str) and name in ("pinn", "lower", "upper")):
            base = m.state_vector("lower")
        else:
            base = m.state_vector(name)
        x = {
            "current": base * _scale,
            "short": base[:-1],
            "long": np.concatenate([base, [0.0]]),
            "nan": np.where(np.arange(base.size) == 0, np.nan, base),
            "inf": np.where(np.arange(base.size) == 0, np.inf, base),
            "int": np.zeros(base.size, dtype=int),
            "2d": base[None, :],
            "f32": base.astype(np.float32),
            "huge": base * 0 + 1e300,
        }[key]
    if _op == "objective":
        out = _guarded(m, lambda: m.objective(name, x))
        f, g, losses = out
        if key != "huge" and not (finite(f) and finite(g)):
            raise Silent(f"objective returned non-finite values: f={f}")
        return "objective finite"
    _guarded(m, lambda: m.set_state_vector(name, x))
    if key != "huge":
        _require_finite_state(m, "after set_state_vector")
    return "set"


def t_diverge(_cls: str, dtype: str = "float64", **fit: Any) -> Any:
    """A run with a huge learning rate must end with TrainingDiverged or status 'diverged' (or a
    finite state), and the model must hold a finite state afterwards."""
    m = _model(_cls, dtype=dtype)
    args: Dict[str, Any] = dict(steps=3000, lr=1e6, lr_params=1e6)
    args.update(fit)
    try:
        r = m.fit(**args)
        how = f"status {r.status}"
    except pb.TrainingDiverged as exc:
        how = f"TrainingDiverged at step {exc.step}"
    except pb.InputError as exc:
        return f"refused: {exc}"
    _require_finite_state(m, f"after a diverging run ({how})")
    # the model must still train afterwards
    m.fit(steps=5, lr=1e-3, lr_params=1e-3, on_diverge="return")
    _require_finite_state(m, "after training again")
    return how


def t_callback(_cls: str, _behaviour: str) -> Any:
    """Callbacks that misbehave: raise, return odd values, re-enter fit, mutate the model."""
    m = _model(_cls)
    calls = [0]

    def cb(model: Any, step: int) -> Any:
        calls[0] += 1
        if _behaviour == "raises":
            raise ZeroDivisionError("the user's function failed")
        if _behaviour == "returns_str_false":
            return "False"
        if _behaviour == "returns_zero":
            return 0
        if _behaviour == "returns_none":
            return None
        if _behaviour == "nested_fit":
            return model.fit(steps=2)
        if _behaviour == "sets_nan_weights":
            model.set_weights([(w * np.nan, b) for w, b in model.get_weights()])
        if _behaviour == "sets_params":
            model.set_params({"a": 3.0})
        if _behaviour == "keyboard_interrupt":
            raise KeyboardInterrupt
        if _behaviour == "system_exit":
            raise SystemExit(3)
        if _behaviour == "saves":
            import os
            import tempfile

            with tempfile.TemporaryDirectory() as d:
                model.save(os.path.join(d, "m.npz"))
                pb.load(os.path.join(d, "m.npz"))
        if _behaviour == "reads_everything":
            model.history, model.params, model.losses(), model.get_weights(), model.step
            model.predict([0.5]), model.residual([0.5]), model.objective("lower", model.state_vector("lower"))
        if _behaviour == "set_collocation":
            model.set_collocation(np.linspace(0, 1, 7))
        return True

    try:
        r = m.fit(steps=20, callback=cb, callback_every=5)
    except ZeroDivisionError as exc:
        if _behaviour == "raises":
            _require_finite_state(m, "after a callback raised")
            return f"the callback's exception propagated ({exc}); state finite"
        raise
    except pb.PinnbiloError as exc:
        _require_finite_state(m, f"after {type(exc).__name__}")
        return f"{type(exc).__name__}: {exc}"
    except SystemExit:
        _require_finite_state(m, "after SystemExit in a callback")
        return "SystemExit propagated; state finite"
    if _behaviour == "sets_nan_weights" and r.status not in ("diverged",):
        _require_finite_state(m, "after a callback set NaN weights")
    elif _behaviour != "sets_nan_weights":
        _require_finite_state(m, f"after callback {_behaviour}")
    if _behaviour == "returns_str_false" and r.steps != 20:
        return f"'False' (a string) stopped the run at {r.steps}"
    if (
        _behaviour
        in (
            "returns_zero",
            "returns_none",
            "nested_fit",
            "sets_params",
            "saves",
            "reads_everything",
            "set_collocation",
            "returns_str_false",
        )
        and calls[0] != 4
    ):
        raise Silent(
            f"the run went on ({r.status}, {r.steps} steps, model.step {m.step}) but its callback was called "
            f"{calls[0]} times, not 4 (every 5 of 20 steps): callbacks and Ctrl-C are dead after it"
        )
    return f"status {r.status}, {r.steps} steps, {calls[0]} callbacks"


def t_num_threads(n: Any) -> Any:
    before = pb.get_num_threads()
    try:
        pb.set_num_threads(n)
        now = pb.get_num_threads()
        m = _model("BiLO")
        m.fit(steps=3)
        return f"set to {now}"
    finally:
        try:
            pb.set_num_threads(before)
        except Exception:
            pass


def t_model_base() -> Any:
    problem, data = _fixture("exp")
    return pb.Model(problem, data)


def t_float32(_what: str) -> Any:
    if _what == "u0_1e39":
        problem = pb.problems.exponential_growth(u0=1e39, a_true=0.0)
        data = pb.Data(np.array([[0.5]]), np.array([1.0]))
    elif _what == "data_1e39":
        problem = pb.problems.exponential_growth()
        data = pb.Data(np.array([[0.5]]), np.array([1e39]))
    elif _what == "sigma_1e-30":
        problem = pb.problems.exponential_growth()
        data = pb.Data(np.array([[0.5]]), np.array([1.0]), sigma=1e-30)
    elif _what == "constant_1e39":
        problem = pb.ode_problem("u.t - 1e39*a*u", 1.0, {"a": 1.0})
        data = pb.Data(np.array([[0.5]]), np.array([1.0]))
    elif _what == "domain_1e39":
        problem = pb.ode_problem("u.t - a*u", 1.0, {"a": 1.0}, t_span=(0.0, 1e39))
        data = pb.Data(np.array([[0.5]]), np.array([1.0]))
    else:
        raise KeyError(_what)
    m = pb.BiLO(problem, data, hidden=(4,), n_res=5, dtype="float32")
    r = m.fit(steps=3, on_diverge="return")
    return f"accepted, status {r.status}"


# -- cases ----------------------------------------------------------------------------------------

CTOR = {
    "hidden": kind("list3"), "activation": CHOICE, "collocation": kind("none", "zero", "one"), "n_res": kind("none"),
    "dtype": CHOICE, "seed": SEED, "w_res": NONNEG, "w_rgrad": NONNEG.plus("none"), "w_data": NONNEG,
    "w_reg": NONNEG, "networks": CHOICE, "normalize_inputs": kind("none", "true"),
}  # fmt: skip

FIT = {
    "steps": COUNT, "lr": POS, "lr_params": POS, "lbfgs_steps": COUNT.plus(skip=("i63", "huge")), "tol": NONNEG,
    "amsgrad": FLAG,
    "callback_every": POS_COUNT.plus("big"), "callback": OPTIONAL.plus("fn_raises", "fn_nan", "fn_str", "fn_none", "fn_complex", "fn_short"), "progress": FLAG, "on_diverge": CHOICE,
    "pretrain_steps": COUNT, "lr_functions": POS.plus("none"), "resample_every": COUNT.plus("big", "i63", "huge"),
    "schedule": OPTIONAL, "keep": CHOICE, "monitor": CHOICE, "spike_factor": kind("none", "frac", "big", "i63"),
    "spike_lr_factor": CHOICE, "max_spikes": COUNT.plus("big"), "patience": COUNT.plus("big"),
    "min_delta": kind("zero"), "max_iter_lower": COUNT, "tol_lower": NONNEG,
}  # fmt: skip

SCHEDULE_FIELDS = {
    "kind": CHOICE, "warmup": kind("zero", "one", "big"), "gamma": kind("one"), "decay_steps": kind("one", "big"),
    "final_factor": kind("zero", "one"), "patience": kind("one", "big"), "threshold": NONNEG,
    "min_factor": kind("zero", "one"),
}  # fmt: skip


def cases() -> List[Case]:
    out: List[Case] = []
    for cls in CLASSES:
        out += cross(AREA, MOD, "t_model", f"pb.{cls}", CTOR, base={"_cls": cls}, values=ARRAYS)
        out += cross(AREA, MOD, "t_model", f"pb.{cls}", {"hidden[1]": kind("one")}, base={"_cls": cls},
                     wrap={"hidden[1]": lambda v: (6, v)}, words={"hidden[1]": ("hidden",)})  # fmt: skip
        out += cross(AREA, MOD, "t_model_data", f"pb.{cls}", {"data": CHOICE}, base={"_cls": cls})
        out += cross(AREA, MOD, "t_model_problem", f"pb.{cls}", {"problem": CHOICE}, base={"_cls": cls})
        for label, kw in {
            "hidden_4097": dict(hidden=(4097,)),
            "hidden_10**9": dict(hidden=(10**9,)),
            "hidden_numpy_int": dict(hidden=np.array([6, 6]), mode="accept"),
            "hidden_numpy_float": dict(hidden=np.array([6.0, 6.0])),
            "hidden_1000_layers": dict(hidden=(2,) * 1000, mode="accept"),
            "hidden_generator": dict(hidden=H("gen66"), mode="accept"),
            "hidden_set": dict(hidden={6, 7}, mode="accept"),
            "collocation_outside": dict(collocation=np.array([0.5, 1.5])),
            "collocation_2_columns": dict(collocation=np.ones((3, 2)) * 0.5),
            "collocation_10**7_points": dict(collocation=H("pts_1e7"), mode="accept"),
            "n_res_10**7": dict(n_res=10**7, mode="accept"),
            "n_res_1": dict(n_res=1),
            "dtype_np_float64": dict(dtype=np.float64),
            "dtype_float16": dict(dtype="float16"),
            "activation_relu": dict(activation="relu"),
            "activation_upper": dict(activation="TANH"),
            "seed_numpy_negative": dict(seed=np.int64(-1)),
            "seed_2**64": dict(seed=2**64),
            "all_weights_zero": dict(w_res=0.0, w_rgrad=0.0, w_data=0.0, mode="accept"),
        }.items():
            mode = kw.pop("mode", "error")
            out.append(case(AREA, f"pb.{cls}.{label}", MOD, "t_model", mode, _cls=cls, **kw,
                            isolate=label in ("collocation_10**7_points", "n_res_10**7", "hidden_10**9"),
                            timeout=120))  # fmt: skip
        for label, data in {
            "data_2_columns": pb.Data(np.ones((2, 2)) * 0.5, np.ones(2)),
            "data_outside": pb.Data(np.array([[5.0]]), np.ones(1)),
            "data_list_with_str": [pb.Data(np.array([[0.5]]), np.ones(1)), "x"],
            "data_empty_list": [],
            "data_of_unknown_field": pb.Data(np.array([[0.5]]), np.ones(1), of="v"),
            "data_of_derivative_bilo_param": pb.Data(np.array([[0.5]]), np.ones(1), of="u.a"),
            "data_sigma_partial": [
                pb.Data(np.array([[0.5]]), np.ones(1), sigma=1.0),
                pb.Data(np.array([[0.6]]), np.ones(1)),
            ],
            "data_sigma_1e-200": pb.Data(np.array([[0.5]]), np.ones(1), sigma=1e-200),
            "data_mutated_nan_after_check": "mutated",
        }.items():
            if label == "data_mutated_nan_after_check":
                out.append(case(AREA, f"pb.{cls}.{label}", MOD, "t_mutated_data", "error", _cls=cls,
                                call=f"d = pb.Data(...); d.values[0] = nan; pb.{cls}(problem, d)"))  # fmt: skip
                continue
            out.append(case(AREA, f"pb.{cls}.{label}", MOD, "t_model_data", "error", _cls=cls, data=data,
                            call=f"pb.{cls}(problem, data=<{label}>)", words=("data",)))  # fmt: skip

        # fit options
        for arg, k in FIT.items():
            if cls == "PINN" and arg in ("pretrain_steps", "max_iter_lower"):
                k = kind("zero")
            base = {"_cls": cls, "callback_every": 1} if arg == "callback" else {"_cls": cls}
            out += cross(AREA, MOD, "t_fit", f"pb.{cls}(...).fit", {arg: k}, base=base,
                         values=SCALARS + CALLABLES if arg == "callback" else SCALARS)  # fmt: skip
        out += cross(AREA, MOD, "t_fit", f"pb.{cls}(...).fit(schedule)", SCHEDULE_FIELDS, base={"_cls": cls},
                     wrap={k: (lambda v, k=k: {"kind": "cosine", k: v} if k != "kind" else {"kind": v})
                           for k in SCHEDULE_FIELDS},
                     words={k: ("schedule", k) for k in SCHEDULE_FIELDS})  # fmt: skip
        for g in ("weights", "params", "functions"):
            out += cross(AREA, MOD, "t_fit", f"pb.{cls}(...).fit", {f"schedule[{g}]": OPTIONAL}, base={"_cls": cls},
                         wrap={f"schedule[{g}]": lambda v, g=g: {g: v}},
                         words={f"schedule[{g}]": ("schedule",)})  # fmt: skip
        for label, kw in {
            "schedule_unknown_kind": dict(schedule="cosin"),
            "schedule_unknown_field": dict(schedule={"kind": "cosine", "bogus": 1}),
            "schedule_mixed_groups": dict(schedule={"weights": "cosine", "kind": "step"}),
            "schedule_class_not_instance": dict(schedule=pb.Schedule),
            "steps_2**63": dict(steps=2**63, timeout=30),
            "steps_numpy_uint64_max": dict(steps=np.uint64(2**64 - 1), timeout=30),
            "steps_numpy_float": dict(steps=np.float64(3.0)),
            "lr_numpy_nan": dict(lr=np.float64("nan")),
            "lr_numpy_float32": dict(lr=np.float32(1e-3), mode="accept"),
            "tol_numpy_inf": dict(tol=np.float64("inf")),
            "callback_every_2**63": dict(callback_every=2**63, timeout=30),
            "resample_every_2**63": dict(resample_every=2**63, timeout=30, mode="accept"),
            "patience_2**63": dict(patience=2**63, timeout=30),
            "max_spikes_2**63": dict(max_spikes=2**63, timeout=30),
            "spike_factor_1": dict(spike_factor=1.0),
            "min_delta_1": dict(min_delta=1.0),
            "on_diverge_upper": dict(on_diverge="RAISE"),
            "lbfgs_after_adam": dict(steps=3, lbfgs_steps=5, mode="accept"),
            "keep_best_monitor_data": dict(keep="best", monitor="data", steps=20, mode="accept"),
            "plateau_schedule": dict(schedule="plateau", steps=20, mode="accept"),
        }.items():
            mode = kw.pop("mode", "error")
            if cls == "PINN" and label == "max_iter_lower_2**63":
                continue
            out.append(case(AREA, f"pb.{cls}(...).fit.{label}", MOD, "t_fit", mode, _cls=cls, **kw))
        if cls == "BiLO":
            out.append(case(AREA, "pb.BiLO(...).fit.max_iter_lower_2**63", MOD, "t_fit", "error", _cls=cls,
                            max_iter_lower=2**63, timeout=30))  # fmt: skip
            out.append(case(AREA, "pb.BiLO(...).fit.pretrain_steps_2**63", MOD, "t_fit", "error", _cls=cls,
                            pretrain_steps=2**63, timeout=30))  # fmt: skip
            out.append(case(AREA, "pb.BiLO(...).fit.lr_functions_nan_varpoisson", MOD, "t_fit", "error", _cls=cls,
                            _fixture="varpoisson", lr_functions=float("nan")))  # fmt: skip

        # methods
        pts = ARRAYS
        meth: Dict[str, Dict[str, Any]] = {
            "predict": {"points": kind("zero", "one", "frac", "neg1", "negfrac", "big", "i63", "list3")},
            "residual": {"points": kind("zero", "one", "frac", "neg1", "negfrac", "big", "i63", "list3")},
            "set_collocation": {"points": kind("zero", "one")},
            "set_params": {"values": kind("dict")},
            "state_vector": {"name": CHOICE},
            "save": {"path": TEXT},
            "function_errors": {
                "points": kind("none", "zero", "one", "frac", "neg1", "negfrac", "big", "i63", "list3")
            },
        }
        for mname, args in meth.items():
            fx = "varpoisson" if mname == "function_errors" else "exp"
            base: Dict[str, Any] = {"_cls": cls, "_method": mname, "_fixture": fx}
            if mname == "save":
                out += cross(AREA, MOD, "t_method", f"{cls}(...).{mname}", args, base=base, values=SCALARS + ("bytes",),
                             also_ok=("FileNotFoundError", "IsADirectoryError", "PermissionError"))  # fmt: skip
            else:
                out += cross(AREA, MOD, "t_method", f"{cls}(...).{mname}", args, base=base, values=pts)
        out += cross(AREA, MOD, "t_method", f"{cls}(...).predict", {"derivatives": OPTIONAL.plus("dict"), "field": OPTIONAL},
                     base={"_cls": cls, "_method": "predict", "points": [0.5]})  # fmt: skip
        out += cross(AREA, MOD, "t_method", f"{cls}(...).predict", {"derivatives[0]": kind("dict")},
                     base={"_cls": cls, "_method": "predict", "points": [0.5]},
                     wrap={"derivatives[0]": lambda v: [v]}, words={"derivatives[0]": ("derivative",)})  # fmt: skip
        out += cross(
            AREA,
            MOD,
            "t_method",
            f"{cls}(...).predict",
            {"derivatives[t]": kind("zero", "one")},
            base={"_cls": cls, "_method": "predict", "points": [0.5]},
            wrap={"derivatives[t]": lambda v: [{"t": v}]},
            words={"derivatives[t]": ("derivative", "order")},
        )
        out += cross(AREA, MOD, "t_method", f"{cls}(...).set_params", {"values[a]": kind("neg1", "zero", "one", "frac",
                     "negfrac", "big", "i63")}, base={"_cls": cls, "_method": "set_params"},
                     wrap={"values[a]": lambda v: {"a": v}}, words={"values[a]": ("parameter", "'a'")})  # fmt: skip
        out += cross(
            AREA,
            MOD,
            "t_method",
            f"{cls}(bounded a in (0, 5)).set_params",
            {"values[a]": kind("one", "frac")},
            base={"_cls": cls, "_method": "set_params", "_fixture": "bounded"},
            wrap={"values[a]": lambda v: {"a": v}},
            words={"values[a]": ("parameter", "'a'", "bound")},
        )
        out += cross(AREA, MOD, "t_method", f"{cls}(...).function", {"name": CHOICE, "points": kind("zero", "one",
                     "frac", "neg1", "negfrac", "big", "i63", "list3"), "derivatives": kind("none", "empty_str", "empty")}, base={"_cls": cls, "_method": "function", "_fixture": "varpoisson",
                     "name": "D", "points": [0.5]})  # fmt: skip
        for label, kw in {
            "predict_u_a": dict(
                _method="predict", points=[0.5], derivatives=["u_a"], mode="accept" if cls == "BiLO" else "error"
            ),
            "predict_u_q": dict(_method="predict", points=[0.5], derivatives=["u_q"]),
            "predict_u_": dict(_method="predict", points=[0.5], derivatives=["u_"]),
            "predict_order_17": dict(_method="predict", points=[0.5], derivatives=["u_" + "t" * 17]),
            "predict_order_16": dict(_method="predict", points=[0.5], derivatives=["u_" + "t" * 16], mode="accept"),
            "predict_dict_order_neg": dict(_method="predict", points=[0.5], derivatives=[{"t": -1}]),
            "predict_dict_unknown": dict(_method="predict", points=[0.5], derivatives=[{"x": 1}]),
            "predict_dict_key_int": dict(_method="predict", points=[0.5], derivatives=[{0: 1}]),
            "predict_10**7_points": dict(_method="predict", points=H("pts_1e7"), mode="accept"),
            "predict_field_v": dict(_method="predict", points=[0.5], field="v"),
            "set_params_unknown": dict(_method="set_params", values={"b": 1.0}),
            "set_params_key_int": dict(_method="set_params", values={5: 1.0}),
            "set_params_numpy_nan": dict(_method="set_params", values={"a": np.float64("nan")}),
            "set_params_numpy_array": dict(_method="set_params", values={"a": np.array([1.0])}),
            "set_params_partly_bad": dict(_method="set_params", values={"a": 2.0, "b": 1.0}),
            "set_params_bounded_edge": dict(_method="set_params", _fixture="bounded", values={"a": 5.0}),
            "set_params_bounded_outside": dict(_method="set_params", _fixture="bounded", values={"a": 7.0}),
            "set_params_bounded_inf": dict(_method="set_params", _fixture="bounded", values={"a": float("inf")}),
            "objective_unknown_name": dict(_method="objective", name="loss", x=np.zeros(3)),
            "state_vector_upper_ok": dict(_method="state_vector", name="upper", mode="accept"),
            "set_collocation_outside": dict(_method="set_collocation", points=[0.5, 3.0]),
            "set_collocation_nan": dict(_method="set_collocation", points=[0.5, np.nan]),
            "set_collocation_2_cols": dict(_method="set_collocation", points=np.full((3, 2), 0.5)),
            "function_unknown_name": dict(_method="function", _fixture="varpoisson", name="E", points=[0.5]),
            "function_on_model_without": dict(_method="function", name="D", points=[0.5]),
            "function_derivative_17": dict(
                _method="function", _fixture="varpoisson", name="D", points=[0.5], derivatives=[{"x": 17}]
            ),
            "function_derivative_bad_key": dict(
                _method="function", _fixture="varpoisson", name="D", points=[0.5], derivatives=[{"t": 1}]
            ),
            "parameter_errors_ok": dict(_method="parameter_errors", mode="accept"),
            "observation_predictions_ok": dict(_method="observation_predictions", mode="accept"),
            "save_no_folder": dict(_method="save", path="/nonexistent/dir/m.npz", also_ok=("FileNotFoundError",)),
            "save_surrogate_path": dict(_method="save", path="/tmp/\ud800.npz", also_ok=("UnicodeEncodeError",)),
        }.items():
            mode = kw.pop("mode", "error")
            iso = "10**7" in label
            out.append(case(AREA, f"model.{cls}.{label}", MOD, "t_method", mode, _cls=cls, isolate=iso,
                            timeout=120 if iso else 60, **kw))  # fmt: skip
        for prop in ("history", "params", "step"):
            out.append(case(AREA, f"model.{cls}.{prop}", MOD, "t_method", "accept", _cls=cls, _method=prop,
                            _attr=True))  # fmt: skip
        for variant in ("none", "empty_list", "one_layer_short", "one_layer_extra", "transposed_W", "b_2d", "nan_W",
                        "inf_b", "complex_W", "str_W", "layer_is_triple", "layer_is_dict", "layer_is_array",
                        "ragged_W", "huge_values", "int_W_valid", "tuple_of_layers_valid", "huge_python_int",
                        "generator"):  # fmt: skip
            mode = "accept" if variant in ("int_W_valid", "tuple_of_layers_valid") else "error"
            if variant == "huge_values":
                mode = "check"
            out.append(
                case(
                    AREA,
                    f"model.{cls}.set_weights.{variant}",
                    MOD,
                    "t_set_weights",
                    mode,
                    _cls=cls,
                    _variant=variant,
                    call=f"model.set_weights(<{variant}>)",
                    words=("layer", "weights"),
                )
            )
        names = ("pinn",) if cls == "PINN" else ("lower", "upper")
        for op in ("objective", "set_state_vector"):
            out += cross(AREA, MOD, "t_state_vector", f"{cls}(...).{op}", {"name": CHOICE, "x": CHOICE},
                         base={"_cls": cls, "_op": op, "name": names[0]}, values=ARRAYS)  # fmt: skip
            for nm in names:
                for xv in ("current", "short", "long", "nan", "inf", "int", "2d", "f32", "huge"):
                    mode = "accept" if xv in ("current", "int", "f32") else "error"
                    if xv == "huge":
                        mode = "accept"  # a finite point: the objective may overflow, or be refused
                    out.append(case(AREA, f"model.{cls}.{op}.{nm}.x_{xv}", MOD, "t_state_vector", mode, _cls=cls,
                                    _op=op, name=nm, x=xv, call=f"model.{op}({nm!r}, <x: {xv}>)",
                                    words=("x", "shape", "size")))  # fmt: skip
            if cls == "BiLO":  # 'pinn' on a BiLO: the joint objective over its network; any clear outcome
                out.append(case(AREA, f"model.{cls}.{op}.name_pinn_on_bilo", MOD, "t_state_vector", "accept",
                                _cls=cls, _op=op, name="pinn", x="current"))  # fmt: skip

        # diverging runs
        for label, kw in {
            "lr_1e6": {},
            "lr_1e6_float32": dict(dtype="float32"),
            "lr_1e6_return": dict(on_diverge="return"),
            "lr_1e6_keep_best": dict(keep="best"),
            "lr_1e6_spike_control": dict(spike_factor=10.0),
            "lr_1e6_then_lbfgs": dict(lbfgs_steps=20, on_diverge="return"),
            "lr_1e12_amsgrad": dict(lr=1e12, lr_params=1e12, amsgrad=True),
            "lr_1e300": dict(lr=1e300, lr_params=1e300),
        }.items():
            out.append(case(AREA, f"diverge.{cls}.{label}", MOD, "t_diverge", "check", _cls=cls, timeout=120,
                            call=f"pb.{cls}(...).fit(steps=3000, lr=1e6, lr_params=1e6, {kw})", **kw))  # fmt: skip
        for b in ("raises", "returns_str_false", "returns_zero", "returns_none", "nested_fit", "sets_nan_weights",
                  "sets_params", "keyboard_interrupt", "system_exit", "saves", "reads_everything",
                  "set_collocation"):  # fmt: skip
            out.append(case(AREA, f"callback.{cls}.{b}", MOD, "t_callback", "check", _cls=cls, _behaviour=b,
                            call=f"model.fit(steps=20, callback=<callback that {b}>, callback_every=5)"))  # fmt: skip
        out.append(case(AREA, f"pb.{cls}.float32_guards_data_1e39", MOD, "t_float32", "error", _what="data_1e39"))
    for w in ("u0_1e39", "sigma_1e-30", "constant_1e39", "domain_1e39"):
        out.append(case(AREA, f"pb.BiLO.float32_{w}", MOD, "t_float32", "error", _what=w))
    out += cross(AREA, MOD, "t_num_threads", "pb.set_num_threads", {"n": kind("one")}, isolate=False, timeout=60,
                 words={"n": ("thread", "n")})  # fmt: skip
    out.append(case(AREA, "pb.Model.direct", MOD, "t_model_base", "error", words=("PINN", "BiLO")))
    return out


def t_mutated_data(_cls: str) -> Any:
    problem, _ = _fixture("exp")
    d = pb.Data(np.array([[0.2], [0.6]]), np.array([1.0, 2.0]))
    d.values[0] = np.nan
    m = CLASSES[_cls](problem, d, hidden=(4,), n_res=5)
    losses = m.losses()
    if not all(finite(v) for v in losses.values()):
        raise Silent(f"data mutated to NaN after Data() was checked: the model accepted it, losses {losses}")
    return "ok"
