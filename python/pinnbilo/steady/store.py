"""Saving and loading steady-state models: the grid, the model's set-up (what is learned and how,
the known functions), the learned parameters and the last fit record, in one .npz file.

Three model kinds (meta["model"]): AggregationDiffusion and Semilinear on 1-D grids, and
TorusAggregationDiffusion on the 2-D torus (its TorusSpectral V and/or RadialSpectral W, the known
one as an (N, N) array). The format is the same for all of them, so version-1 files of the 1-D
models written before the torus was added load unchanged.

Written as model checkpoints are (a temp file renamed over the target: a crash leaves the previous
file), read as they are (a regular file only, sizes and dtypes checked before anything is
decompressed). The model is rebuilt through its constructor, so every stored setting passes the
same checks as a user's; the learned functions are stored with the file and compared after
loading, so an edited or mismatched file is refused rather than silently loaded.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, Dict, Union

import numpy as np

from .. import _validation as check
from ..checkpoint import MAX_META_BYTES, _Archive, _open_regular, write_atomically
from ..errors import InputError
from .grids import MAX_GRID_POINTS, IntervalGrid, PeriodicGrid
from .models import AggregationDiffusion, Semilinear, Unknown
from .series import Chebyshev
from .spectral import Spectral
from .torus import RadialSpectral, TorusAggregationDiffusion, TorusGrid, TorusSpectral
from .train import SteadyFit

FORMAT = "pinnbilo-steady"
VERSION = 1
_KNOWN = re.compile(r"meta|params|known_V|known_W|functions_\w+|history|extra_\w+")
MAX_VALUES = 64 * MAX_GRID_POINTS
CHECK_RTOL = 1e-9

SteadyModel = Union[AggregationDiffusion, Semilinear, TorusAggregationDiffusion]
MODELS = ("AggregationDiffusion", "Semilinear", "TorusAggregationDiffusion")


def _at(d: Any, key: str) -> Any:
    """d[key], or None when absent (metadata values are checked where they are used)."""
    return d.get(key)


def _names_or_numbers(d: Any, key: str, what: str) -> list:
    v = d.get(key, [])
    if not isinstance(v, list) or len(v) > 1000:
        raise InputError(f"{what}: '{key}' must be a list, got {check._show(v)}")
    return v


def _spec(f: object) -> Dict[str, Any]:
    if isinstance(f, Unknown):
        return {
            "kind": "Unknown",
            "hidden": list(f.hidden),
            "activation": f.activation,
            "modes": f.modes,
            "seed": f.seed,
        }
    if isinstance(f, Spectral):
        return {"kind": "Spectral", "modes": f.modes}
    if isinstance(f, Chebyshev):
        return {"kind": "Chebyshev", "degree": f.degree}
    if isinstance(f, TorusSpectral):
        return {"kind": "TorusSpectral", "modes": list(f.modes)}  # type: ignore[arg-type]  # a pair
    if isinstance(f, RadialSpectral):
        return {"kind": "RadialSpectral", "kmax": f.kmax}
    return {"kind": "known"}


def _from_spec(d: object, what: str) -> Any:
    if not isinstance(d, dict):
        raise InputError(f"{what}: expected a description of the unknown, got {check._show(d)}")
    kind = _at(d, "kind")
    if kind == "Unknown":
        return Unknown(
            hidden=tuple(_names_or_numbers(d, "hidden", what)),
            activation=_at(d, "activation"),
            modes=_at(d, "modes"),
            seed=_at(d, "seed"),
        )
    if kind == "Spectral":
        return Spectral(_at(d, "modes"))
    if kind == "Chebyshev":
        return Chebyshev(_at(d, "degree"))
    if kind == "TorusSpectral":
        modes = _at(d, "modes")
        return TorusSpectral(tuple(modes) if isinstance(modes, list) else modes)
    if kind == "RadialSpectral":
        return RadialSpectral(_at(d, "kmax"))
    raise InputError(f"{what}: unknown kind {check._show(kind)}")


def _fit_record(fit: SteadyFit) -> Dict[str, Any]:
    scalars = {k: v for k, v in fit.extra.items() if isinstance(v, (int, float, str)) and not isinstance(v, bool)}
    return {
        "loss": fit.loss,
        "status": fit.status,
        "adam_steps": fit.adam_steps,
        "lbfgs_iterations": fit.lbfgs_iterations,
        "lbfgs_message": fit.lbfgs_message,
        "wall_time": fit.wall_time,
        "extra": scalars,
        "extra_arrays": sorted(k for k, v in fit.extra.items() if isinstance(v, np.ndarray)),
        "functions": sorted(fit.functions),
    }


def _torus_check(model: TorusAggregationDiffusion) -> np.ndarray:
    """The functions a torus model's parameters give, stored to be compared on loading: V then W,
    flattened, (2 N^2,)."""
    return np.concatenate([model.V.ravel(), model.W.ravel()])


def save(model: SteadyModel, path: Union[str, "os.PathLike[str]"]) -> None:
    """Write ``model`` (an AggregationDiffusion, Semilinear or TorusAggregationDiffusion, fitted or
    not) to ``path`` (.npz)."""
    if not isinstance(model, (AggregationDiffusion, Semilinear, TorusAggregationDiffusion)):
        raise InputError(
            "steady.save takes an AggregationDiffusion, Semilinear or TorusAggregationDiffusion model, "
            f"got {type(model).__name__}"
        )
    path = os.fspath(path)
    meta: Dict[str, Any] = {"format": FORMAT, "version": VERSION}
    arrays: Dict[str, np.ndarray] = {"params": np.asarray(model.params, dtype=np.float64)}
    if isinstance(model, AggregationDiffusion):
        meta.update(model="AggregationDiffusion", grid={"n": model.grid.n, "length": model.grid.length})
        meta["kappa"] = model.kappa
        meta["exponent"] = model.exponent
        for name in ("V", "W"):
            meta[name] = _spec(model._spectral.get(name) or model._spec[name])
            if model._spec[name] is None:
                arrays[f"known_{name}"] = model._known[name]
        arrays["functions_check"] = np.concatenate([model.functions()["V"], model.functions()["W"]])
    elif isinstance(model, Semilinear):
        meta.update(model="Semilinear", grid={"n": model.grid.n, "a": model.grid.a, "b": model.grid.b})
        meta.update(diffusion=model.diffusion, depends_on=model.depends_on, u_range=list(model.u_range))
        meta["g"] = _spec(model.series if model.series is not None else model.spec)
        probe = np.linspace(model.u_range[0], model.u_range[1], 8)
        arrays["functions_check"] = model.g(np.broadcast_to(model.grid.x[:8], probe.shape), probe)
    elif isinstance(model, TorusAggregationDiffusion):
        meta.update(model="TorusAggregationDiffusion", grid={"N": model.grid.N, "length": model.grid.length})
        meta["kappa"] = model.kappa
        meta["V"] = _spec(model.V_spec)
        meta["W"] = _spec(model.spec)
        for name in ("V", "W"):
            if name in model.known:
                arrays[f"known_{name}"] = model.known[name].reshape(model.grid.N, model.grid.N)
        arrays["functions_check"] = _torus_check(model)
    if model.result is not None:
        fit = model.result
        meta["fit"] = _fit_record(fit)
        arrays["history"] = np.asarray(fit.history, dtype=np.float64)
        for k, v in fit.functions.items():
            arrays[f"functions_fit_{k}"] = np.asarray(v, dtype=np.float64)
        for k in meta["fit"]["extra_arrays"]:
            arrays[f"extra_{k}"] = np.asarray(fit.extra[k], dtype=np.float64)
    try:
        text = json.dumps(meta, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise InputError(f"steady.save: the model's settings cannot be written ({exc})") from None
    arrays["meta"] = np.frombuffer(text.encode(), dtype=np.uint8)
    write_atomically(path, arrays)


def load(path: Union[str, "os.PathLike[str]"]) -> SteadyModel:
    """The model :func:`save` wrote to ``path``, with its parameters and last fit record
    (``model.result``). Raises InputError for a file that is not one, damaged, or edited."""
    name = check.text(os.fspath(path) if isinstance(path, os.PathLike) else path, "path", nonempty=True)
    with _open_regular(name, name) as fh, _Archive(fh, name, known=_KNOWN) as arrays:
        meta = _read_meta(arrays, name)
        model = _rebuild(meta, arrays, name)
        _verify(model, meta, arrays, name)
        model.result = _restore_fit(meta, arrays, model, name)
    return model


def _read_meta(arrays: _Archive, name: str) -> Dict[str, Any]:
    if "meta" not in arrays or arrays.header("meta")[1] != np.uint8:
        raise InputError(f"{name} is not a pinnbilo steady-state model file (from pinnbilo.steady.save)")
    raw = arrays.read("meta", max_values=MAX_META_BYTES)
    try:
        meta = json.loads(raw.tobytes().decode())
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{name}: unreadable metadata ({type(exc).__name__})") from None
    if not isinstance(meta, dict) or _at(meta, "format") != FORMAT:
        raise InputError(f"{name} is not a pinnbilo steady-state model file (a model checkpoint? use pinnbilo.load)")
    if type(_at(meta, "version")) is not int or meta["version"] != VERSION:
        raise InputError(f"{name}: steady model file version {check._show(meta.get('version'))} is not supported")
    return meta


def _array(arrays: _Archive, key: str, name: str, shape: Any = None) -> np.ndarray:
    if key not in arrays:
        raise InputError(f"{name}: array '{key}' is missing; the file is damaged")
    if arrays.header(key)[1] != np.float64:
        raise InputError(f"{name}: array '{key}' is stored as {arrays.header(key)[1]}, expected float64")
    a = arrays.read(key, max_values=MAX_VALUES)
    if shape is not None and a.shape != tuple(shape):
        raise InputError(f"{name}: array '{key}' has shape {a.shape}, expected {tuple(shape)}")
    if not np.all(np.isfinite(a)):
        raise InputError(f"{name}: array '{key}' contains NaN or inf")
    return np.array(a)


def _rebuild(meta: Dict[str, Any], arrays: _Archive, name: str) -> SteadyModel:
    grid = _at(meta, "grid")
    if not isinstance(grid, dict):
        raise InputError(f"{name}: the grid is missing from the metadata")
    try:
        if _at(meta, "model") == "AggregationDiffusion":
            g = PeriodicGrid(_at(grid, "n"), _at(grid, "length"))
            fs: Dict[str, Any] = {}
            for fname in ("V", "W"):
                d = meta.get(fname)
                if isinstance(d, dict) and _at(d, "kind") == "known":
                    fs[fname] = _array(arrays, f"known_{fname}", name, (g.n,))
                else:
                    fs[fname] = _from_spec(d, f"{name}: {fname}")
            exponent = 1.0 if _at(meta, "exponent") is None else _at(meta, "exponent")
            model: SteadyModel = AggregationDiffusion(
                g, kappa=_at(meta, "kappa"), V=fs["V"], W=fs["W"], exponent=exponent
            )
        elif _at(meta, "model") == "Semilinear":
            ig = IntervalGrid(_at(grid, "n"), _at(grid, "a"), _at(grid, "b"))
            model = Semilinear(ig, _at(meta, "diffusion"), g=_from_spec(_at(meta, "g"), f"{name}: g"),
                               depends_on=_at(meta, "depends_on"))  # fmt: skip
            u_range = _at(meta, "u_range")
            if not (
                isinstance(u_range, list)
                and len(u_range) == 2
                and all(map(_finite, u_range))
                and u_range[1] > u_range[0]
            ):
                raise InputError(f"u_range must be two increasing finite numbers, got {check._show(u_range)}")
            model.u_range = (float(u_range[0]), float(u_range[1]))
        elif _at(meta, "model") == "TorusAggregationDiffusion":
            tg = TorusGrid(_at(grid, "N"), _at(grid, "length"))
            fs = {}
            for fname in ("V", "W"):
                d = meta.get(fname)
                if isinstance(d, dict) and _at(d, "kind") == "known":
                    fs[fname] = _array(arrays, f"known_{fname}", name, (tg.N, tg.N))
                else:
                    fs[fname] = _from_spec(d, f"{name}: {fname}")
            model = TorusAggregationDiffusion(tg, kappa=_at(meta, "kappa"), V=fs["V"], W=fs["W"])
        else:
            raise InputError(f"unknown model {check._show(meta.get('model'))} (known: {', '.join(MODELS)})")
    except InputError as exc:
        raise InputError(f"{name}: {exc}") from None
    model.params = _array(arrays, "params", name, model.params.shape)
    return model


def _finite(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and bool(np.isfinite(v))


def _verify(model: SteadyModel, meta: Dict[str, Any], arrays: _Archive, name: str) -> None:
    if isinstance(model, AggregationDiffusion):
        f = model.functions()
        now = np.concatenate([f["V"], f["W"]])
    elif isinstance(model, TorusAggregationDiffusion):
        now = _torus_check(model)
    else:
        probe = np.linspace(model.u_range[0], model.u_range[1], 8)
        now = model.g(np.broadcast_to(model.grid.x[:8], probe.shape), probe)
    stored = _array(arrays, "functions_check", name, now.shape)
    scale = max(1.0, float(np.max(np.abs(stored))))
    if not np.allclose(now, stored, rtol=CHECK_RTOL, atol=CHECK_RTOL * scale):
        raise InputError(
            f"{name}: the stored parameters do not reproduce the functions stored with them "
            f"(largest difference {float(np.max(np.abs(now - stored))):.3g}); the file was edited or damaged"
        )


def _restore_fit(meta: Dict[str, Any], arrays: _Archive, model: SteadyModel, name: str) -> Any:
    rec = _at(meta, "fit")
    if rec is None:
        return None
    if not isinstance(rec, dict):
        raise InputError(f"{name}: bad fit record")
    history = _array(arrays, "history", name)
    if history.ndim != 2 or history.shape[1] != 2:
        raise InputError(f"{name}: the fit history must have shape (k, 2), got {history.shape}")
    functions = {}
    for k in _names_or_numbers(rec, "functions", name):
        if not isinstance(k, str) or not re.fullmatch(r"\w+", k):
            raise InputError(f"{name}: bad function name {check._show(k)} in the fit record")
        functions[k] = _array(arrays, f"functions_fit_{k}", name)
    extra: Dict[str, Any] = {}
    scalars = rec.get("extra", {})
    if not isinstance(scalars, dict):
        raise InputError(f"{name}: bad fit record extras")
    for k, v in scalars.items():
        if not isinstance(v, (int, float, str)) or isinstance(v, bool):
            raise InputError(f"{name}: fit record extra {check._show(k)} is not a number or text")
        extra[str(k)] = v
    for k in _names_or_numbers(rec, "extra_arrays", name):
        if not isinstance(k, str) or not re.fullmatch(r"\w+", k):
            raise InputError(f"{name}: bad array name {check._show(k)} in the fit record")
        extra[k] = _array(arrays, f"extra_{k}", name)
    if "u_range" in extra or isinstance(model, Semilinear):
        extra["u_range"] = model.u_range if isinstance(model, Semilinear) else extra["u_range"]
    try:
        return SteadyFit(
            params=model.params.copy(),
            loss=check.real(_at(rec, "loss"), "fit loss"),
            functions=functions,
            history=history,
            status=check.choice(_at(rec, "status"), "fit status", ("completed", "interrupted", "diverged")),
            adam_steps=check.integer(_at(rec, "adam_steps"), "fit adam_steps", minimum=0),
            lbfgs_iterations=check.integer(_at(rec, "lbfgs_iterations"), "fit lbfgs_iterations", minimum=0),
            lbfgs_message=check.text(_at(rec, "lbfgs_message"), "fit lbfgs_message"),
            wall_time=check.real(_at(rec, "wall_time"), "fit wall_time", nonnegative=True),
            extra=extra,
        )
    except InputError as exc:
        raise InputError(f"{name}: {exc}") from None
