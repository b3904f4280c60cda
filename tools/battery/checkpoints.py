"""Area 3: pb.load on hostile files, load(problem=...) mismatches, exact resume, kill -9 during save."""

from __future__ import annotations

import copy
import io
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from functools import lru_cache
from typing import Any, Callable, Dict, List, Tuple

import numpy as np

import pinnbilo as pb

from .core import CHOICE, SCALARS, Case, Finding, Silent, case, cross, finite, kind, rss_mb

AREA = "checkpoints"
MOD = __name__


@lru_cache(maxsize=None)
def _dir() -> str:
    """A folder for this child's files, inside the battery's scratch folder (its working directory)."""
    return tempfile.mkdtemp(prefix="ckpt-", dir=os.getcwd())


# -- fixtures -------------------------------------------------------------------------------------


def _make(kind_: str) -> Any:
    if kind_ == "builtin":
        p = pb.problems.exponential_growth()
        m = pb.BiLO(p, p.synthetic_data(10, noise=0.01), hidden=(6, 6), n_res=11)
    elif kind_ == "custom":
        p = pb.ode_problem("u.t - a*u", 1.0, {"a": 1.0}, solution=lambda t, q: np.exp(q["a"] * t[:, 0]))
        m = pb.BiLO(p, p.synthetic_data(10, noise=0.01, params={"a": 2.0}), hidden=(6, 6), n_res=11)
    elif kind_ == "pinn":
        p = pb.problems.exponential_growth(bounds=(0.0, 5.0))
        m = pb.PINN(p, p.synthetic_data(10, noise=0.01), hidden=(6, 6), n_res=11)
    elif kind_ == "float32":
        p = pb.problems.logistic_growth()
        m = pb.BiLO(p, p.synthetic_data(10, noise=0.01), hidden=(6, 6), n_res=11, dtype="float32")
    elif kind_ == "lotka_per_field":
        p = pb.problems.lotka_volterra()
        m = pb.PINN(p, p.synthetic_observations(8, noise=0.01), hidden=(6,), n_res=11, networks="per_field")
    elif kind_ == "varpoisson":
        p = pb.problems.variable_poisson(hidden=(4,))
        m = pb.BiLO(p, p.synthetic_data(8), hidden=(6,), n_res=11, w_reg=1e-3)
    elif kind_ == "sir_integral":
        p = pb.problems.sir()
        obs = [p.synthetic_data(8, of="I", noise=0.01), p.integral_data("S + I + R", n=4)]
        m = pb.BiLO(p, obs, hidden=(6,), n_res=11)
    elif kind_ == "schedule_keep_best":
        p = pb.problems.exponential_growth()
        m = pb.BiLO(p, p.synthetic_data(10, noise=0.01), hidden=(6, 6), n_res=11)
    else:
        raise KeyError(kind_)
    return m


@lru_cache(maxsize=None)
def _base(kind_: str = "builtin") -> str:
    m = _make(kind_)
    m.fit(steps=20)
    path = os.path.join(_dir(), f"base-{kind_}.npz")
    m.save(path)
    return path


def _read(path: str) -> Tuple[Dict[str, Any], Dict[str, np.ndarray]]:
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads(arrays["meta"].tobytes().decode())
    return meta, arrays


def _write(path: str, meta: Any, arrays: Dict[str, np.ndarray], raw_meta: bytes = None) -> None:  # type: ignore[assignment]
    out = dict(arrays)
    if meta is _KEEP:
        pass
    elif raw_meta is not None:
        out["meta"] = np.frombuffer(raw_meta, dtype=np.uint8)
    elif meta is not _MISSING:
        out["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    else:
        out.pop("meta", None)
    np.savez(path, **out)


_MISSING = object()
_KEEP = object()  # write the arrays' own 'meta' entry


def _same_as_base(loaded: Any, base_path: str) -> str:
    """A loaded (possibly tampered) file must be the stored model: the same predictions, params
    and step, and continuing it must train exactly as the untouched file does."""
    ref = pb.load(base_path)
    x = np.linspace(0.05, 0.95, 7)
    if ref.params != loaded.params or ref.step != loaded.step:
        raise Silent(
            f"loaded a different model: params {loaded.params} vs {ref.params}, step {loaded.step} vs {ref.step}"
        )
    if type(ref) is not type(loaded) or ref.hidden != loaded.hidden or ref.dtype != loaded.dtype:
        raise Silent(f"loaded a different model: {loaded!r} vs {ref!r}")
    a, b = ref.predict(x), loaded.predict(x)
    if a.tobytes() != b.tobytes():
        raise Silent(f"loaded a model that predicts differently: {b[:3]} vs {a[:3]}")
    ref.fit(steps=5)
    try:
        loaded.fit(steps=5)
    except pb.PinnbiloError as exc:
        raise Silent(f"loaded, but training it on fails: {type(exc).__name__}: {exc}") from None
    if ref._trainer.get_weights().tobytes() != loaded._trainer.get_weights().tobytes():
        raise Silent("loaded, but 5 more steps train differently from the untouched file (optimizer state differs)")
    return "loaded the same model (harmless change)"


# -- mutations of a saved file ----------------------------------------------------------------------

Mutation = Callable[[Dict[str, Any], Dict[str, np.ndarray]], Any]


def _set(path: List[Any], value: Any) -> Mutation:
    def f(meta: Dict[str, Any], arrays: Dict[str, np.ndarray]) -> Any:
        d: Any = meta
        for k in path[:-1]:
            d = d[k]
        if value is _MISSING:
            del d[path[-1]]
        else:
            d[path[-1]] = value
        return meta

    return f


def _arr(key: str, fn: Callable[[Any], Any]) -> Mutation:
    def f(meta: Dict[str, Any], arrays: Dict[str, np.ndarray]) -> Any:
        if fn is None:
            del arrays[key]
        else:
            arrays[key] = fn(arrays.get(key))
        return meta

    return f


def _both(*ms: Mutation) -> Mutation:
    def f(meta: Dict[str, Any], arrays: Dict[str, np.ndarray]) -> Any:
        for m in ms:
            meta = m(meta, arrays)
        return meta

    return f


def _nested(n: int) -> Any:
    v: Any = 0
    for _ in range(n):
        v = [v]
    return v


# name -> (mutation, mode, base kind); mode error: must be refused; accept: refused, or the same model
MUTATIONS: Dict[str, Tuple[Mutation, str, str]] = {
    "meta_is_list": (lambda m, a: [m], "error", "builtin"),
    "meta_is_string": (lambda m, a: "pinnbilo-checkpoint", "error", "builtin"),
    "meta_is_null": (lambda m, a: None, "error", "builtin"),
    "meta_is_number": (lambda m, a: 3, "error", "builtin"),
    "meta_missing": (lambda m, a: _MISSING, "error", "builtin"),
    "meta_nested_100000": (lambda m, a: None, "error", "builtin"),  # raw bytes below
    "meta_field_nested_3000": (_set(["problem", "spec"], None), "error", "builtin"),  # raw below
    "meta_over_1MB": (_set(["padding"], "x" * 1_100_000), "error", "builtin"),
    "meta_not_utf8": (lambda m, a: None, "error", "builtin"),
    "meta_json_nan_constant": (lambda m, a: None, "accept", "builtin"),
    "format_wrong": (_set(["format"], "other"), "error", "builtin"),
    "version_99": (_set(["version"], 99), "error", "builtin"),
    "version_str": (_set(["version"], "3"), "error", "builtin"),
    "version_true": (_set(["version"], True), "accept", "builtin"),
    "version_1.0_float": (_set(["version"], 1.0), "accept", "builtin"),
    "version_2": (_set(["version"], 2), "accept", "builtin"),
    "hidden_30000x30000": (_set(["hidden"], [30000, 30000]), "error", "builtin"),
    "hidden_empty": (_set(["hidden"], []), "error", "builtin"),
    "hidden_str": (_set(["hidden"], "abc"), "error", "builtin"),
    "hidden_negative": (_set(["hidden"], [-1, 6]), "error", "builtin"),
    "hidden_float": (_set(["hidden"], [6.0, 6]), "error", "builtin"),
    "hidden_bool": (_set(["hidden"], [True, 6]), "error", "builtin"),
    "hidden_zero": (_set(["hidden"], [0]), "error", "builtin"),
    "hidden_4096x64": (_set(["hidden"], [4096] * 64), "error", "builtin"),
    "hidden_10**30": (_set(["hidden"], [10**30]), "error", "builtin"),
    "hidden_null": (_set(["hidden"], None), "error", "builtin"),
    "hidden_mismatch_arrays": (_set(["hidden"], [6, 6, 6]), "error", "builtin"),
    "hidden_5000_digits": (lambda m, a: None, "error", "builtin"),  # raw below
    "global_step_negative": (_set(["global_step"], -1), "error", "builtin"),
    "global_step_fraction": (_set(["global_step"], 20.5), "error", "builtin"),
    "global_step_string": (_set(["global_step"], "20"), "error", "builtin"),
    "global_step_null": (_set(["global_step"], None), "error", "builtin"),
    "global_step_true": (_set(["global_step"], True), "error", "builtin"),
    "global_step_2**63": (_set(["global_step"], 2**63), "error", "builtin"),
    "global_step_10**30": (_set(["global_step"], 10**30), "error", "builtin"),
    "global_step_missing": (_set(["global_step"], _MISSING), "error", "builtin"),
    "global_step_smaller_than_history": (_set(["global_step"], 5), "error", "builtin"),
    "seed_negative": (_set(["seed"], -1), "error", "builtin"),
    "seed_string": (_set(["seed"], "0"), "error", "builtin"),
    "seed_2**70": (_set(["seed"], 2**70), "error", "builtin"),
    "method_svm": (_set(["method"], "svm"), "error", "builtin"),
    "method_pinn_on_bilo_arrays": (_set(["method"], "pinn"), "error", "builtin"),
    "method_null": (_set(["method"], None), "error", "builtin"),
    "activation_relu": (_set(["activation"], "relu"), "error", "builtin"),
    "dtype_float16": (_set(["dtype"], "float16"), "error", "builtin"),
    "dtype_null": (_set(["dtype"], None), "error", "builtin"),
    "weights_config_list": (_set(["weights_config"], []), "error", "builtin"),
    "weights_config_negative": (_set(["weights_config", "w_res"], -1.0), "error", "builtin"),
    "weights_config_nan": (lambda m, a: None, "error", "builtin"),  # raw NaN below
    "weights_config_inf": (lambda m, a: None, "error", "builtin"),  # raw Infinity below
    "weights_config_string": (_set(["weights_config", "w_res"], "1"), "error", "builtin"),
    "weights_config_unknown_key": (_set(["weights_config", "bogus"], 1.0), "error", "builtin"),
    "weights_config_bool": (_set(["weights_config", "w_res"], True), "error", "builtin"),
    "data_noise_negative": (_set(["data_noise"], -1), "error", "builtin"),
    "data_noise_string": (_set(["data_noise"], "x"), "error", "builtin"),
    "param_gains_empty": (_set(["param_gains"], []), "error", "builtin"),
    "param_gains_negative": (_set(["param_gains"], [-1.0]), "error", "builtin"),
    "param_gains_zero": (_set(["param_gains"], [0.0]), "error", "builtin"),
    "param_gains_string": (_set(["param_gains"], ["a"]), "error", "builtin"),
    "param_gains_two": (_set(["param_gains"], [1.0, 1.0]), "error", "builtin"),
    "param_gains_null": (_set(["param_gains"], None), "error", "builtin"),
    "networks_bogus": (_set(["networks"], "bogus"), "error", "builtin"),
    "networks_per_field_single": (_set(["networks"], "per_field"), "accept", "builtin"),
    "normalize_inputs_yes": (_set(["normalize_inputs"], "yes"), "error", "builtin"),
    "normalize_inputs_zero": (_set(["normalize_inputs"], 0), "accept", "builtin"),
    "observations_empty": (_set(["observations"], []), "error", "builtin"),
    "observations_string": (_set(["observations"], "x"), "error", "builtin"),
    "observations_of_number": (_set(["observations"], [{"of": 5}]), "error", "builtin"),
    "observations_sigma_without_array": (_set(["observations"], [{"of": None, "sigma": True}]), "error", "builtin"),
    "observations_integral_without_quadrature": (_set(["observations"], [{"integral": True}]), "error", "builtin"),
    "observations_20000": (_set(["observations"], [{}] * 20000), "error", "builtin"),
    "observations_two_entries_one_array": (_set(["observations"], [{}, {}]), "error", "builtin"),
    "observations_item_list": (_set(["observations"], [[1]]), "error", "builtin"),
    "problem_missing": (_set(["problem"], _MISSING), "error", "builtin"),
    "problem_list": (_set(["problem"], []), "error", "builtin"),
    "spec_unknown_builtin": (_set(["problem", "spec", "builtin"], "nope"), "error", "builtin"),
    "spec_kwargs_string_value": (_set(["problem", "spec", "kwargs", "a_true"], "x"), "error", "builtin"),
    "spec_kwargs_not_dict": (_set(["problem", "spec", "kwargs"], [1, 2]), "error", "builtin"),
    "spec_kwargs_unknown": (_set(["problem", "spec", "kwargs", "bogus"], 1), "error", "builtin"),
    "spec_kwargs_t_span_1e308": (_set(["problem", "spec", "kwargs", "t_span"], [0.0, 1e308]), "accept", "builtin"),
    "spec_kwargs_u0_changed": (_set(["problem", "spec", "kwargs", "u0"], 5.0), "accept", "builtin"),
    "spec_builtin_other_problem": (
        _set(["problem", "spec"], {"builtin": "logistic", "kwargs": {}}),
        "accept",
        "builtin",
    ),
    "spec_builtin_variable_poisson_hidden_30000": (
        _set(["problem", "spec"], {"builtin": "variable_poisson", "kwargs": {"hidden": [30000, 30000]}}),
        "error",
        "builtin",
    ),
    "spec_builtin_number": (_set(["problem", "spec", "builtin"], 5), "error", "builtin"),
    "custom_coords_string": (_set(["problem", "coords"], "t"), "error", "custom"),
    "custom_coords_two": (_set(["problem", "coords"], ["t", "x"]), "error", "custom"),
    "custom_domain_inverted": (_set(["problem", "domain"], {"t": [1.0, 0.0]}), "error", "custom"),
    "custom_domain_string": (_set(["problem", "domain"], "t"), "error", "custom"),
    "custom_residual_unknown_name_ignored": (_set(["problem", "residual"], "u.t - b*u"), "accept", "custom"),
    "custom_residual_nested_minus_ignored": (_set(["problem", "residual"], "-" * 100000 + "u"), "accept", "custom"),
    "custom_residual_number_ignored": (_set(["problem", "residual"], 5), "accept", "custom"),
    "custom_transform_changed": (_set(["problem", "transforms"], {"u": "2 + t*N"}), "accept", "custom"),
    "custom_params_missing_init": (_set(["problem", "params"], [{"name": "a"}]), "error", "custom"),
    "custom_params_string": (_set(["problem", "params"], "abc"), "error", "custom"),
    "custom_params_two": (
        _set(
            ["problem", "params"],
            [
                {"name": "a", "init": 1.0, "bounds": [None, None], "true": None, "scale": None},
                {"name": "b", "init": 1.0, "bounds": [None, None], "true": None, "scale": None},
            ],
        ),
        "error",
        "custom",
    ),
    "custom_params_nan_init": (lambda m, a: None, "error", "custom"),  # raw NaN below
    "custom_sources": (_set(["problem", "sources"], ["s"]), "error", "custom"),
    "custom_functions_hidden_30000": (
        _set(
            ["problem", "functions"],
            [{"name": "D", "inputs": ["t"], "transform": "N", "hidden": [30000, 30000], "activation": "tanh"}],
        ),
        "error",
        "custom",
    ),
    "custom_functions_string": (_set(["problem", "functions"], "D"), "error", "custom"),
    "custom_fields_string": (_set(["problem", "fields"], "u"), "error", "custom"),
    "custom_periodic_number": (_set(["problem", "periodic"], 5), "error", "custom"),
    "custom_conditions_bad": (_set(["problem", "conditions"], [{"residual": 5}]), "error", "custom"),
    "custom_conditions_huge_n": (
        _set(["problem", "conditions"], [{"residual": "u - 1", "on": "t=0", "n": 10**9}]),
        "error",
        "custom",
    ),
    "custom_name_number": (_set(["problem", "name"], 5), "accept", "custom"),
    "weights_wrong_shape": (_arr("weights", lambda w: w[:-1]), "error", "builtin"),
    "weights_2d": (_arr("weights", lambda w: w[None, :]), "error", "builtin"),
    "weights_nan": (_arr("weights", lambda w: np.where(np.arange(w.size) == 0, np.nan, w)), "error", "builtin"),
    "weights_inf": (_arr("weights", lambda w: np.where(np.arange(w.size) == 0, np.inf, w)), "error", "builtin"),
    "weights_strings": (_arr("weights", lambda w: np.array(["a"] * w.size)), "error", "builtin"),
    "weights_complex": (_arr("weights", lambda w: w + 1j), "error", "builtin"),
    "weights_int": (_arr("weights", lambda w: w.astype(np.int64)), "accept", "builtin"),
    "weights_float32": (_arr("weights", lambda w: w.astype(np.float32)), "accept", "builtin"),
    "weights_missing": (_arr("weights", None), "error", "builtin"),
    "raw_params_nan": (_arr("raw_params", lambda w: w * np.nan), "error", "builtin"),
    "raw_params_inf": (_arr("raw_params", lambda w: w + np.inf), "error", "builtin"),
    "raw_params_two": (_arr("raw_params", lambda w: np.concatenate([w, w])), "error", "builtin"),
    "collocation_nan": (_arr("collocation", lambda c: np.where(c == c.max(), np.nan, c)), "error", "builtin"),
    "collocation_outside": (_arr("collocation", lambda c: c + 5.0), "error", "builtin"),
    "collocation_empty": (_arr("collocation", lambda c: c[:0]), "error", "builtin"),
    "collocation_missing": (_arr("collocation", None), "error", "builtin"),
    "collocation_3_columns": (_arr("collocation", lambda c: np.repeat(c, 3, axis=1)), "error", "builtin"),
    "data_points_3_columns": (_arr("data_points", lambda c: np.repeat(c, 3, axis=1)), "error", "builtin"),
    "data_values_nan": (_arr("data_values", lambda v: v * np.nan), "error", "builtin"),
    "data_values_short": (_arr("data_values", lambda v: v[:-1]), "error", "builtin"),
    "data_values_missing": (_arr("data_values", None), "error", "builtin"),
    "adam_v_negative": (_arr("adam_weights_v", lambda v: -np.abs(v) - 1.0), "error", "builtin"),
    "adam_v_max_negative": (_arr("adam_weights_v_max", lambda v: -np.abs(v) - 1.0), "error", "builtin"),
    "adam_params_v_negative": (_arr("adam_params_v", lambda v: -np.abs(v) - 1.0), "error", "builtin"),
    "adam_m_nan": (_arr("adam_weights_m", lambda v: v * np.nan), "error", "builtin"),
    "adam_v_inf": (_arr("adam_weights_v", lambda v: v + np.inf), "error", "builtin"),
    "adam_t_negative": (_arr("adam_weights_t", lambda t: np.array(-1, dtype=np.int64)), "error", "builtin"),
    "adam_t_float": (_arr("adam_weights_t", lambda t: np.array(20.0)), "error", "builtin"),
    "adam_t_vector": (_arr("adam_weights_t", lambda t: np.array([20, 20])), "error", "builtin"),
    "adam_t_huge": (_arr("adam_weights_t", lambda t: np.array(2**62, dtype=np.int64)), "error", "builtin"),
    "adam_t_uint64_max": (_arr("adam_weights_t", lambda t: np.array(2**64 - 1, dtype=np.uint64)), "error", "builtin"),
    "adam_m_wrong_shape": (_arr("adam_weights_m", lambda v: v[:-1]), "error", "builtin"),
    "adam_missing": (_arr("adam_params_m", None), "error", "builtin"),
    "history_step_longer": (_arr("history_step", lambda h: np.concatenate([h, h])), "error", "builtin"),
    "history_total_shorter": (_arr("history_total", lambda h: h[:-1]), "error", "builtin"),
    "history_params_wrong_columns": (_arr("history_params", lambda h: np.repeat(h, 2, axis=1)), "error", "builtin"),
    "history_step_strings": (_arr("history_step", lambda h: h.astype(str)), "error", "builtin"),
    "history_step_2d": (_arr("history_step", lambda h: h[None, :]), "error", "builtin"),
    "history_total_nan": (_arr("history_total", lambda h: h * np.nan), "accept", "builtin"),
    "history_step_decreasing": (_arr("history_step", lambda h: h[::-1].copy()), "accept", "builtin"),
    "history_step_negative": (_arr("history_step", lambda h: -h), "error", "builtin"),
    "history_all_missing": (
        _both(*[_arr(f"history_{k}", None) for k in ("step", "res", "rgrad", "data", "reg", "total", "params")]),
        "accept",
        "builtin",
    ),
    "history_step_only": (
        _both(*[_arr(f"history_{k}", None) for k in ("res", "rgrad", "data", "reg", "total", "params")]),
        "error",
        "builtin",
    ),
    "orphan_observation_arrays": (_arr("obs5_points", lambda _: np.ones((2, 1))), "error", "builtin"),
    "extra_unknown_array": (_arr("junk", lambda _: np.ones(3)), "accept", "builtin"),
    "meta_float_array": (_both(_arr("meta", lambda m: m.astype(np.float64)), lambda m, a: _KEEP), "error", "builtin"),
    "meta_2d": (_both(_arr("meta", lambda m: m[None, :]), lambda m, a: _KEEP), "error", "builtin"),
}

RAW_META: Dict[str, Callable[[bytes], bytes]] = {
    "meta_nested_100000": lambda b: b"[" * 100000 + b"]" * 100000,
    "meta_field_nested_3000": lambda b: b.replace(b'"spec": null', b'"spec": ' + b"[" * 3000 + b"]" * 3000),
    "meta_not_utf8": lambda b: b"\xff\xfe" + b,
    # an unknown key holding JSON's NaN extension (json.dumps writes none in a checkpoint)
    "meta_json_nan_constant": lambda b: b.replace(b'"format": ', b'"x": NaN, "format": ', 1),
    "hidden_5000_digits": lambda b: b.replace(b'"hidden": [6, 6]', b'"hidden": [1' + b"0" * 5000 + b"]"),
    "weights_config_nan": lambda b: b.replace(b'"w_res": 1.0', b'"w_res": NaN'),
    "weights_config_inf": lambda b: b.replace(b'"w_res": 1.0', b'"w_res": Infinity'),
    "custom_params_nan_init": lambda b: b.replace(b'"init": 1.0', b'"init": NaN'),
}


def t_mutation(_name: str) -> Any:
    fn, mode, base_kind = MUTATIONS[_name]
    base = _base(base_kind)
    meta, arrays = _read(base)
    new = fn(copy.deepcopy(meta), arrays)
    path = os.path.join(_dir(), f"mut-{_name}.npz")
    raw = None
    if _name in RAW_META:  # edited as text: on the original metadata unless the mutation made one
        raw = RAW_META[_name](json.dumps(new if new is not None else meta).encode())
    meta = new
    check_rss = _name.startswith("hidden_30000") or "30000" in _name
    before = rss_mb()
    _write(path, meta, arrays, raw)
    try:
        model = pb.load(path)
    finally:
        grew = rss_mb() - before
        if check_rss and grew > 300:
            raise Silent(f"peak RSS grew by {grew:.0f} MB while loading: allocated before refusing")
    return _same_as_base(model, base)


# raw-file cases ---------------------------------------------------------------------------------


def _zip_bomb(path: str, key: str, n: int, base: str) -> None:
    """A valid checkpoint plus an array ``key`` of n float64 zeros, deflated (a few MB on disk)."""
    meta, arrays = _read(base)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for k, v in arrays.items():
            if k == key:
                continue
            buf = io.BytesIO()
            np.lib.format.write_array(buf, v)
            z.writestr(k + ".npy", buf.getvalue())
        with z.open(key + ".npy", "w", force_zip64=True) as fh:
            header = {"descr": "<f8", "fortran_order": False, "shape": (n,)}
            np.lib.format.write_array_header_1_0(fh, header)
            chunk = bytes(1 << 24)
            left = n * 8
            while left > 0:
                fh.write(chunk[: min(left, len(chunk))])
                left -= len(chunk)


def _fake_shape(path: str, base: str) -> None:
    """weights.npy whose header claims 10**12 elements with only the real data behind it."""
    meta, arrays = _read(base)
    with zipfile.ZipFile(path, "w") as z:
        for k, v in arrays.items():
            buf = io.BytesIO()
            if k == "weights":
                np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)})
                buf.write(v.tobytes())
            else:
                np.lib.format.write_array(buf, v)
            z.writestr(k + ".npy", buf.getvalue())


def t_raw(_what: str) -> Any:
    base = _base("builtin")
    path = os.path.join(_dir(), f"raw-{_what}.npz")
    blob = open(base, "rb").read()
    before = rss_mb()
    if _what == "npy":
        path = path[:-4] + ".npy"
        np.save(path, np.arange(10.0))
    elif _what == "npy_named_npz":
        with open(path, "wb") as fh:
            np.save(fh, np.arange(10.0))
    elif _what == "random_bytes":
        open(path, "wb").write(random.Random(0).randbytes(5000))
    elif _what == "empty_file":
        open(path, "wb").close()
    elif _what.startswith("truncated_"):
        cut = {"truncated_half": len(blob) // 2, "truncated_minus_22": len(blob) - 22,
               "truncated_minus_1": len(blob) - 1, "truncated_first_100": 100}[_what]  # fmt: skip
        open(path, "wb").write(blob[:cut])
    elif _what == "central_directory_flipped":
        b = bytearray(blob)
        pos = b.rfind(b"PK\x01\x02")
        for i in range(pos + 10, min(pos + 40, len(b))):
            b[i] ^= 0xFF
        open(path, "wb").write(bytes(b))
    elif _what == "data_bytes_flipped":
        b = bytearray(blob)
        for i in range(len(b) // 3, len(b) // 3 + 64):
            b[i] ^= 0x5A
        open(path, "wb").write(bytes(b))
    elif _what == "zip_of_text":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("readme.txt", "hello")
    elif _what == "pickled_object_array":
        np.savez(path, meta=np.array([{"a": 1}], dtype=object))
    elif _what == "text_file":
        open(path, "w").write("not a checkpoint\n" * 10)
    elif _what == "gzip_file":
        import gzip

        open(path, "wb").write(gzip.compress(blob))
    elif _what == "directory":
        path = _dir()
    elif _what == "fifo":
        path = os.path.join(_dir(), "fifo.npz")
        if not os.path.exists(path):
            os.mkfifo(path)
    elif _what == "symlink_loop":
        path = os.path.join(_dir(), "loop.npz")
        if not os.path.islink(path):
            os.symlink(path, path)
    elif _what == "dev_zero":
        path = "/dev/zero"
    elif _what == "fake_shape_10**12":
        _fake_shape(path, base)
    elif _what == "zip_bomb_extra_2GB":
        _zip_bomb(path, "junk", 250_000_000, base)
    elif _what == "zip_bomb_weights_2GB":
        _zip_bomb(path, "weights", 250_000_000, base)
    else:
        raise KeyError(_what)
    before = rss_mb()
    try:
        model = pb.load(path)
    finally:
        grew = rss_mb() - before
        if grew > 500:
            raise Silent(
                f"peak RSS grew by {grew:.0f} MB while loading {_what}: the file's arrays were read before "
                "anything was checked"
            )
    return _same_as_base(model, base)


def t_load_args(**kw: Any) -> Any:
    args: Dict[str, Any] = dict(path=_base("builtin"))
    args.update(kw)
    m = pb.load(**args)
    return _same_as_base(m, _base("builtin"))


def t_load_problem(_which: str, strict: Any = True) -> Any:
    problems = {
        "logistic": lambda: pb.problems.logistic_growth(),
        "t_span_0_2": lambda: pb.problems.exponential_growth(t_span=(0.0, 2.0)),
        "same_other_init": lambda: pb.problems.exponential_growth(a_init=3.0),
        "same": lambda: pb.problems.exponential_growth(),
        "two_params": lambda: pb.ode_problem("u.t - a*u - b", 1.0, {"a": 1.0, "b": 0.0}),
        "with_sources": lambda: pb.Problem(
            ("t",),
            {"t": (0, 1)},
            [pb.Parameter("a", 1.0)],
            "u.t - a*u - s",
            "1 + t*N",
            sources={"s": lambda p: 0 * p[:, 0]},
        ),
        "two_coords": lambda: pb.Problem(
            ("t", "x"), {"t": (0, 1), "x": (0, 1)}, [pb.Parameter("a", 1.0)], "u.t - a*u.xx"
        ),
        "string": lambda: "exponential",
        "other_transform": lambda: pb.problems.exponential_growth(u0=5.0),
    }
    p = problems[_which]()
    m = pb.load(_base("builtin"), problem=p, strict=strict)
    if strict is False or strict == 0:
        if _which in ("logistic", "other_transform", "t_span_0_2", "two_coords", "two_params", "with_sources"):
            return f"strict=False loaded into the given problem: {m!r}"
    return _same_as_base(m, _base("builtin"))


def t_roundtrip(_kind: str) -> Any:
    """Save after 20 steps, load, and train both 15 more steps: bit-identical weights, params, history."""
    m = _make(_kind)
    fit_kw: Dict[str, Any] = {}
    if _kind == "schedule_keep_best":
        fit_kw = dict(schedule="cosine", keep="best", spike_factor=10.0)
    m.fit(steps=20, **fit_kw)
    path = os.path.join(_dir(), f"rt-{_kind}.npz")
    m.save(path)
    b = pb.load(path)
    m.fit(steps=15, **fit_kw)
    b.fit(steps=15, **fit_kw)
    wa, wb = m._trainer.get_weights(), b._trainer.get_weights()
    if wa.tobytes() != wb.tobytes():
        raise Silent(f"resumed run differs from the continuous one: max |dw| = {np.max(np.abs(wa - wb)):.3g}")
    if m.params != b.params or m.step != b.step:
        raise Silent(f"resumed run differs: params {b.params} vs {m.params}, step {b.step} vs {m.step}")
    ha, hb = m.history, b.history
    if ha.total.tobytes() != hb.total.tobytes() or ha.step.tobytes() != hb.step.tobytes():
        raise Silent("resumed history differs from the continuous one")
    return "resumed exactly"


def t_kill_save(rounds: int = 0) -> Any:
    """kill -9 a child repeatedly while it saves; then: the file loads, no temp file survives the next save."""
    rounds = rounds or int(os.environ.get("BATTERY_KILLS", "50"))
    folder = tempfile.mkdtemp(prefix="battery-kill-", dir=_dir())
    path = os.path.join(folder, "model.npz")
    script = f"""
import sys, pinnbilo as pb
p = pb.problems.exponential_growth()
m = pb.BiLO(p, p.synthetic_data(10), hidden=(256, 256), n_res=21)
m.save({path!r})
print("ready", flush=True)
while True:
    m.fit(steps=1)
    m.save({path!r})
"""
    rng = random.Random(1)
    hits = 0
    for i in range(rounds):
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if b"ready" not in line:
            proc.kill()
            raise Finding("unclear_error", f"the saving child did not start (round {i}): {line!r}")
        time.sleep(rng.uniform(0.0, 0.25))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if any(n.endswith(".tmp") for n in os.listdir(folder)):
            hits += 1
        try:
            m = pb.load(path)
        except Exception as exc:
            raise Silent(f"after kill -9 #{i + 1} the checkpoint does not load: {type(exc).__name__}: {exc}") from None
        if not finite(m._trainer.get_weights()):
            raise Silent(f"after kill -9 #{i + 1} the checkpoint holds non-finite weights")
    time.sleep(1.1)  # empty temp files younger than 1 s are spared on purpose (their writer may live)
    m = pb.load(path)
    m.save(path)
    left = [n for n in os.listdir(folder) if n.startswith(".pinnbilo-") and n.endswith(".tmp")]
    if left:
        raise Silent(f"after {rounds} kills and a new save, stale temp files remain: {left}")
    pb.load(path)
    return f"{rounds} kills ({hits} mid-write, temp file left behind); file intact, temp files cleaned by the next save"


def t_save_disk_full() -> Any:
    """A save that hits the file-size limit (as on a full disk) fails with an OSError; the previous
    checkpoint stays intact and no temp file is left."""
    import resource

    folder = tempfile.mkdtemp(prefix="battery-full-", dir=_dir())
    path = os.path.join(folder, "model.npz")
    small = _make("builtin")
    small.save(path)
    good = open(path, "rb").read()
    p = pb.problems.exponential_growth()
    big = pb.BiLO(p, p.synthetic_data(10), hidden=(512, 512), n_res=11)
    old = resource.getrlimit(resource.RLIMIT_FSIZE)
    prev = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (len(good) * 4, old[1]))
    try:
        try:
            big.save(path)
            outcome = "save succeeded?"
        except OSError as exc:
            outcome = f"{type(exc).__name__}: {exc}"
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old)
        signal.signal(signal.SIGXFSZ, prev)
    if open(path, "rb").read() != good:
        raise Silent(f"the previous checkpoint changed after a failed save ({outcome})")
    left = [n for n in os.listdir(folder) if n.endswith(".tmp")]
    if left:
        raise Silent(f"a failed save left temp files: {left} ({outcome})")
    pb.load(path)
    return f"failed save: {outcome}; previous file intact"


# -- cases ----------------------------------------------------------------------------------------


def cases() -> List[Case]:
    out: List[Case] = []
    for name, (_, mode, _) in MUTATIONS.items():
        iso = "30000" in name
        out.append(case(AREA, f"load.meta.{name}" if not name.startswith(("weights_", "raw_", "coll", "data_", "adam",
                        "history", "orphan", "extra", "meta_float", "meta_2d")) else f"load.arrays.{name}", MOD,
                        "t_mutation", mode, _name=name, call=f"pb.load(<checkpoint with {name}>)", isolate=iso,
                        words=("checkpoint", ".npz"), timeout=60))  # fmt: skip
    for what in (
        "npy",
        "npy_named_npz",
        "random_bytes",
        "empty_file",
        "truncated_half",
        "truncated_minus_22",
        "truncated_minus_1",
        "truncated_first_100",
        "central_directory_flipped",
        "data_bytes_flipped",
        "zip_of_text",
        "pickled_object_array",
        "text_file",
        "gzip_file",
        "directory",
        "fifo",
        "symlink_loop",
        "dev_zero",
        "fake_shape_10**12",
        "zip_bomb_extra_2GB",
        "zip_bomb_weights_2GB",
    ):
        iso = what.startswith(("zip_bomb", "fake_shape", "fifo", "dev_zero"))
        out.append(case(AREA, f"load.file.{what}", MOD, "t_raw", "error", _what=what, isolate=iso,
                        timeout=20 if what in ("fifo", "dev_zero") else 120, also_ok=("OSError",) if what ==
                        "symlink_loop" else (), call=f"pb.load(<{what}>)", words=("checkpoint",)))  # fmt: skip
    out += cross(AREA, MOD, "t_load_args", "pb.load", {"path": CHOICE, "problem": kind("none")},
                 values=SCALARS + ("bytes",), also_ok=("FileNotFoundError",))  # fmt: skip
    out += cross(AREA, MOD, "t_load_problem", "pb.load(path, problem=<the same problem>)", {"strict": kind("true")},
                 base={"_which": "same"})  # fmt: skip
    out.append(case(AREA, "load.path_missing_file", MOD, "t_load_args", "error", path="/nonexistent/m.npz",
                    also_ok=("FileNotFoundError",)))  # fmt: skip
    out.append(case(AREA, "load.path_pathlike_ok", MOD, "t_load_path_obj", "accept"))
    for which, strict, mode in (("logistic", True, "error"), ("t_span_0_2", True, "error"),
                                ("same_other_init", True, "accept"), ("same", True, "accept"),
                                ("two_params", True, "error"), ("with_sources", True, "error"),
                                ("two_coords", True, "error"), ("string", True, "error"),
                                ("other_transform", True, "error"), ("logistic", False, "accept"),
                                ("two_params", False, "error"), ("two_coords", False, "error"),
                                ("with_sources", False, "accept"), ("string", False, "error"),
                                ("logistic", "no", "error"), ("logistic", 0, "accept")):  # fmt: skip
        out.append(case(AREA, f"load.problem.{which}.strict={strict!r}", MOD, "t_load_problem", mode, _which=which,
                        strict=strict, call=f"pb.load(exponential.npz, problem=<{which}>, strict={strict!r})",
                        words=("problem", "match", "strict")))  # fmt: skip
    for k in (
        "builtin",
        "custom",
        "pinn",
        "float32",
        "lotka_per_field",
        "varpoisson",
        "sir_integral",
        "schedule_keep_best",
    ):
        out.append(case(AREA, f"resume_exact.{k}", MOD, "t_roundtrip", "check", _kind=k,
                        call=f"save after 20 steps, load, 15 more steps on both ({k})"))  # fmt: skip
    out.append(
        case(
            AREA,
            "save.kill9_repeated",
            MOD,
            "t_kill_save",
            "check",
            isolate=True,
            timeout=600,
            call="kill -9 a child during model.save, BATTERY_KILLS times (--kills), then save again",
        )
    )
    out.append(
        case(
            AREA,
            "save.file_size_limit",
            MOD,
            "t_save_disk_full",
            "check",
            isolate=True,
            timeout=120,
            call="model.save(path) under RLIMIT_FSIZE (a full disk) over an existing checkpoint",
        )
    )
    return out


def t_load_path_obj() -> Any:
    import pathlib

    return _same_as_base(pb.load(pathlib.Path(_base("builtin"))), _base("builtin"))
