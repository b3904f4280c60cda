"""Complete, atomically written checkpoints that resume training exactly."""

from __future__ import annotations

import glob
import io
import json
import math
import os
import tempfile
import time
from typing import TYPE_CHECKING, Any, BinaryIO, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

from .errors import InputError
from .problem import Data, Problem, problem_from_dict

if TYPE_CHECKING:
    from .model import Model

FORMAT = "pinnbilo-checkpoint"
VERSION = 3  # 2: parameters trained in units of their scale (param_gains); 3: observations, networks
HISTORY_KEYS = ("step", "res", "rgrad", "data", "reg", "total", "params")
TEMP_PREFIX, TEMP_SUFFIX = ".pinnbilo-", ".tmp"
# What a checkpoint may ask for before anything is allocated: a file is refused, not obeyed.
MAX_WIDTH = 4096  # neurons per layer
MAX_LAYERS = 64
MAX_WEIGHTS = 50_000_000  # per network (400 MB of float64)
MAX_META_BYTES = 1_000_000
IN_MEMORY = "the checkpoint in memory"  # how messages name from_bytes's checkpoint


def _arrays(model: "Model") -> Dict[str, np.ndarray]:
    """The checkpoint's arrays (metadata included), read under the model's lock: a save or a
    pickle during ``fit`` from another thread waits for it and never sees a half-taken step."""
    with model._lock:
        t = model._trainer
        adam = t.get_adam_state()
        hist = t.get_history()
        meta = {
            "format": FORMAT,
            "version": VERSION,
            "method": model.method,
            "problem": model.problem.to_dict(),
            "hidden": list(model.hidden),
            "activation": model.activation,
            "dtype": model.dtype,
            "seed": model.seed,
            "weights_config": model.weights_config,
            "global_step": t.global_step,
            "data_noise": model.data.noise,
            "param_gains": list(model.param_gains),
            "networks": model.networks,
            "normalize_inputs": model.normalize_inputs,
            "observations": [
                {"of": d.of, "integral": bool(d.integral), "noise": d.noise, "sigma": d.sigma is not None}
                for d in model.observations
            ],
        }
        arrays: Dict[str, np.ndarray] = {
            "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
            "weights": t.get_weights(),
            "raw_params": t.get_raw_params(),
            "collocation": model.collocation,
            "data_points": model.data.points,
            "data_values": model.data.values,
        }
        for k, d in enumerate(model.observations):
            if k > 0:  # observation 0 is data_points, data_values
                arrays[f"obs{k}_points"] = d.points
                arrays[f"obs{k}_values"] = d.values
            if d.sigma is not None:
                arrays[f"obs{k}_sigma"] = np.asarray(d.sigma)
            if d.quadrature is not None:
                arrays[f"obs{k}_quadrature"] = d.quadrature
        for group in ("weights", "params"):
            for key in ("m", "v", "v_max"):
                arrays[f"adam_{group}_{key}"] = np.asarray(adam[group][key])
            arrays[f"adam_{group}_t"] = np.array(adam[group]["t"], dtype=np.int64)
        for key in HISTORY_KEYS:
            arrays[f"history_{key}"] = hist[key]
        return arrays


def to_bytes(model: "Model") -> bytes:
    """The checkpoint :func:`save` writes, in memory (the .npz file's bytes): what a model
    pickles as. :func:`from_bytes` reads it back."""
    buffer = io.BytesIO()
    _write_npz(buffer, _arrays(model))
    return buffer.getvalue()


def _write_npz(fh: BinaryIO, arrays: Mapping[str, np.ndarray]) -> None:
    np.savez(fh, **arrays)  # type: ignore[arg-type]  # numpy's stub reads **kwds as allow_pickle


def save(model: "Model", path: str) -> None:
    """Write model state to ``path`` (.npz): temp file in the same folder, then rename."""
    arrays = _arrays(model)
    folder = os.path.dirname(os.path.abspath(path))
    remove_stale_temp_files(folder)
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=folder)
    try:
        _lock(fd)  # held until the file is renamed: tells remove_stale_temp_files its writer lives
        with os.fdopen(fd, "wb") as fh:
            _write_npz(fh, arrays)
            fh.flush()
            os.fsync(fh.fileno())
            os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _lock(fd: int) -> bool:
    """An exclusive non-blocking lock on an open file; False when another process holds one."""
    try:
        import fcntl
    except ImportError:  # not POSIX: stale files are recognised by age alone
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


def remove_stale_temp_files(folder: str, min_age_s: float = 1.0) -> List[str]:
    """Delete temp files that killed saves left in ``folder``; returns their paths.

    A live save holds a lock on its temp file until the rename, so a file whose lock can be
    taken belongs to a process that died mid-write. Files younger than ``min_age_s`` and empty
    are spared: their writer may be between creating the file and locking it.
    """
    removed = []
    for name in glob.glob(os.path.join(glob.escape(folder), TEMP_PREFIX + "*" + TEMP_SUFFIX)):
        try:
            st = os.stat(name)
            if st.st_size == 0 and time.time() - st.st_mtime < min_age_s:
                continue
            fd = os.open(name, os.O_RDONLY)
        except OSError:
            continue  # gone already, or not ours to open
        try:
            if _lock(fd):
                os.unlink(name)
                removed.append(name)
        except OSError:
            pass
        finally:
            os.close(fd)
    return removed


def load(path: str, problem: "Optional[Problem]" = None, strict: bool = True) -> "Model":
    """Rebuild a model from :func:`save`'s file; training continues exactly where it stopped.

    ``problem``: the problem to use instead of the stored description (needed when the problem
    reads Python callables as sources, which a file cannot hold). It must match the stored
    definition (coordinates, domain, residual, transform, parameters, functions) unless
    ``strict=False``.

    Every field is checked before anything is allocated: sizes against limits and against the
    arrays actually present, types and ranges of the metadata. Any damage or mismatch raises
    :class:`~pinnbilo.InputError` saying what is wrong.
    """
    arrays = _read_arrays(path)
    return _restore(arrays, str(path), problem, strict)


def from_bytes(data: bytes, problem: "Optional[Problem]" = None, strict: bool = True) -> "Model":
    """Rebuild a model from :func:`to_bytes`'s checkpoint (what a model pickles as), with every
    check of :func:`load`; ``problem`` and ``strict`` as there."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InputError(f"a checkpoint in memory is bytes (from checkpoint.to_bytes), got {type(data).__name__}")
    return _restore(_read_npz(io.BytesIO(data), IN_MEMORY), IN_MEMORY, problem, strict)


def _restore(arrays: Mapping[str, np.ndarray], path: str, problem: "Optional[Problem]", strict: bool) -> "Model":
    """The model a checkpoint's arrays describe, each field checked first (see :func:`load`);
    ``path`` names the checkpoint in messages."""
    from .model import ACTIVATIONS, DTYPES, PINN, BiLO

    meta = _read_meta(path, arrays)
    stored_problem = _field(meta, "problem", dict, path)
    if problem is None:
        try:
            problem = problem_from_dict(_checked_problem_dict(stored_problem, path))
        except InputError as exc:
            text = str(exc)
            raise InputError(text if text.startswith(f"{path}:") else f"{path}: the stored problem: {text}") from None
        except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
            raise InputError(f"{path}: the stored problem definition is malformed: {exc!r}") from None
    elif strict:
        _require_same_problem(problem, stored_problem, path)
    method = _field(meta, "method", str, path)
    if method not in ("pinn", "bilo"):
        raise InputError(f"{path}: unknown method {method!r} (expected 'pinn' or 'bilo')")
    hidden = _sizes(meta.get("hidden"), f"{path}: hidden")
    activation = _field(meta, "activation", str, path)
    if activation not in ACTIVATIONS:
        raise InputError(f"{path}: unknown activation {activation!r}")
    dtype = _field(meta, "dtype", str, path)
    if dtype not in DTYPES:
        raise InputError(f"{path}: unknown dtype {dtype!r}")
    seed = _int_field(meta, "seed", path)
    global_step = _int_field(meta, "global_step", path)
    weights_config = _field(meta, "weights_config", dict, path)
    for k, v in weights_config.items():
        if k not in ("w_res", "w_rgrad", "w_data", "w_reg") or not _finite_number(v) or v < 0:
            raise InputError(f"{path}: weights_config[{k!r}] = {v!r} is not a loss weight (finite, >= 0)")
    noise = meta.get("data_noise", 0.0)
    if not _finite_number(noise) or noise < 0:
        raise InputError(f"{path}: data_noise {noise!r} must be a finite number >= 0")
    cls = {"pinn": PINN, "bilo": BiLO}[method]
    n_in = problem.n_coordinate_features + (len(problem.params) + len(problem.functions) if method == "bilo" else 0)
    networks = meta.get("networks", "shared")
    if networks not in ("shared", "per_field"):
        raise InputError(f"{path}: unknown networks layout {networks!r}")
    n_fields = len(problem.fields)
    n_weights = (
        _n_weights([n_in, *hidden, n_fields]) if networks == "shared" else n_fields * _n_weights([n_in, *hidden, 1])
    )
    n_raw = len(problem.params) + sum(
        _n_weights([len(problem.function_inputs[f.name]), *f.hidden, 1]) for f in problem.functions
    )
    expected = {"weights": (n_weights,), "raw_params": (n_raw,), "adam_weights_m": (n_weights,),
                "adam_weights_v": (n_weights,), "adam_weights_v_max": (n_weights,), "adam_params_m": (n_raw,),
                "adam_params_v": (n_raw,), "adam_params_v_max": (n_raw,)}  # fmt: skip
    for key, shape in expected.items():
        if key not in arrays:
            raise InputError(f"{path}: checkpoint is incomplete, missing '{key}'")
        if arrays[key].shape != shape:
            raise InputError(
                f"{path}: '{key}' has shape {arrays[key].shape} but the stored network needs {shape} "
                "(corrupted, or edited metadata?)"
            )
    gains = _gains(meta, problem, path)
    n_hist = _history_length(arrays, len(problem.params), path)
    if n_hist > global_step:
        raise InputError(f"{path}: the history has {n_hist} records but global_step is {global_step}")
    try:
        data = _observations(meta, arrays, float(noise), path)
        model = cls(
            problem,
            data,
            networks=networks,
            normalize_inputs=_normalize_flag(meta, path),
            hidden=hidden,
            activation=activation,
            collocation=arrays["collocation"],
            dtype=dtype,
            seed=seed,
            _param_gains=gains,
            **weights_config,
        )
        t = model._trainer
        t.set_weights(arrays["weights"])
        t.set_raw_params(arrays["raw_params"])
        t.set_adam_state(
            {
                group: {
                    "m": arrays[f"adam_{group}_m"],
                    "v": arrays[f"adam_{group}_v"],
                    "v_max": arrays[f"adam_{group}_v_max"],
                    "t": _int_array(arrays, f"adam_{group}_t", path),
                }
                for group in ("weights", "params")
            }
        )
        t.set_history({key: arrays[f"history_{key}"] for key in HISTORY_KEYS if f"history_{key}" in arrays})
        t.set_global_step(global_step)
    except KeyError as exc:
        raise InputError(f"{path}: checkpoint is incomplete, missing {exc}") from None
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
    except (TypeError, ValueError, RuntimeError) as exc:
        raise InputError(f"{path}: checkpoint content is malformed: {exc}") from None
    return model


def _normalize_flag(meta: Mapping[str, Any], path: str) -> Optional[bool]:
    # Files before version 3 never normalised: False keeps their networks' meaning.
    flag = meta.get("normalize_inputs", None if meta.get("version") == VERSION else False)
    if flag not in (None, True, False):
        raise InputError("normalize_inputs must be true, false or null")
    return flag  # type: ignore[no-any-return]


def _observations(meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray], noise: float, path: str) -> List[Data]:
    """The model's observations: one Data per stored entry (version 3), else the single data set."""
    stored = meta.get("observations")
    if stored is None:
        return [Data(arrays["data_points"], arrays["data_values"], noise=noise)]
    if not isinstance(stored, list) or not stored or len(stored) > 10_000:
        raise InputError("'observations' must be a non-empty list")
    orphans = sorted(
        key for key in arrays if key.startswith("obs") and key.split("_")[0][3:].isdigit()
        and int(key.split("_")[0][3:]) >= len(stored)
    )  # fmt: skip
    if orphans:
        raise InputError(f"the file holds arrays of observations its metadata does not list: {orphans}")
    out = []
    for k, o in enumerate(stored):
        if (
            not isinstance(o, dict)
            or not isinstance(o.get("integral", False), bool)
            or not isinstance(o.get("sigma", False), bool)
        ):
            raise InputError(f"observation {k} is malformed")
        of = o.get("of")
        if of is not None and not isinstance(of, str):
            raise InputError(f"observation {k}: 'of' must be text")
        obs_noise = o.get("noise", 0.0)
        if not _finite_number(obs_noise) or obs_noise < 0:
            raise InputError(f"observation {k}: noise must be a finite number >= 0")
        out.append(
            Data(
                arrays["data_points" if k == 0 else f"obs{k}_points"],
                arrays["data_values" if k == 0 else f"obs{k}_values"],
                noise=float(obs_noise),
                of=of,
                sigma=arrays[f"obs{k}_sigma"] if o.get("sigma") else None,
                integral=bool(o.get("integral", False)),
                quadrature=arrays.get(f"obs{k}_quadrature"),
            )
        )
    return out


def _read_arrays(path: str) -> Dict[str, np.ndarray]:
    if not isinstance(path, (str, os.PathLike)):
        raise InputError(f"path must be a file name, got {type(path).__name__}")
    return _read_npz(path, str(path))


def _read_npz(source: Union[str, "os.PathLike[str]", BinaryIO], name: str) -> Dict[str, np.ndarray]:
    """The arrays of the .npz file or buffer ``source`` (``name`` in messages), never unpickling."""
    try:
        f = np.load(source, allow_pickle=False)
    except FileNotFoundError:
        raise
    except IsADirectoryError:
        raise InputError(f"{name} is a folder, not a pinnbilo checkpoint") from None
    except Exception as exc:  # numpy raises many types on damaged files; all mean the same here
        raise InputError(f"{name} is not a readable pinnbilo checkpoint (corrupted or truncated?): {exc!r}") from None
    if not isinstance(f, np.lib.npyio.NpzFile):
        raise InputError(f"{name} holds a single array (.npy), not a pinnbilo checkpoint (.npz from model.save)")
    try:
        with f:
            return {k: f[k] for k in f.files}
    except Exception as exc:
        raise InputError(f"{name} is not a readable pinnbilo checkpoint (corrupted or truncated?): {exc!r}") from None


def _read_meta(path: str, arrays: Mapping[str, np.ndarray]) -> Dict[str, Any]:
    raw = arrays.get("meta")
    if raw is None or raw.dtype != np.uint8 or raw.ndim != 1:
        raise InputError(f"{path} is not a pinnbilo checkpoint: missing or bad metadata")
    if raw.size > MAX_META_BYTES:
        raise InputError(f"{path}: metadata of {raw.size} bytes is over the limit of {MAX_META_BYTES}")
    try:
        meta = json.loads(raw.tobytes().decode())
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{path} is not a pinnbilo checkpoint: unreadable metadata ({type(exc).__name__})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise InputError(f"{path} is not a pinnbilo checkpoint")
    if meta.get("version") not in (1, 2, VERSION):
        raise InputError(
            f"{path}: checkpoint version {meta.get('version')!r} is not supported (expected 1 to {VERSION})"
        )
    return meta


def _field(meta: Mapping[str, Any], key: str, kind: type, path: str) -> Any:
    if key not in meta:
        raise InputError(f"{path}: checkpoint is incomplete, missing '{key}'")
    v = meta[key]
    if not isinstance(v, kind) or isinstance(v, bool):
        raise InputError(f"{path}: '{key}' must be a {kind.__name__}, got {type(v).__name__}")
    return v


def _int_field(meta: Mapping[str, Any], key: str, path: str) -> int:
    v = _field(meta, key, int, path)
    if v < 0 or v > 2**62:
        raise InputError(f"{path}: '{key}' = {v} must be a non-negative integer")
    return int(v)


def _int_array(arrays: Mapping[str, np.ndarray], key: str, path: str) -> int:
    a = arrays[key]
    if a.shape != () or a.dtype.kind not in "iu" or int(a) < 0:
        raise InputError(f"{path}: '{key}' must be one non-negative integer")
    return int(a)


def _finite_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _sizes(v: object, what: str) -> List[int]:
    if not isinstance(v, list) or not v or len(v) > MAX_LAYERS:
        raise InputError(f"{what} must be a list of 1 to {MAX_LAYERS} layer widths, got {_short(v)}")
    for h in v:
        if isinstance(h, bool) or not isinstance(h, int) or not 1 <= h <= MAX_WIDTH:
            raise InputError(f"{what}: layer width {_short(h)} must be an integer in [1, {MAX_WIDTH}]")
    return [int(h) for h in v]


def _n_weights(sizes: Sequence[int]) -> int:
    n = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
    if n > MAX_WEIGHTS:
        raise InputError(f"a network of sizes {list(sizes)} has {n} weights, over the limit of {MAX_WEIGHTS}")
    return n


def _short(v: object) -> str:
    r = repr(v)
    return r if len(r) <= 60 else r[:57] + "..."


def _checked_problem_dict(d: Dict[str, Any], path: str) -> Dict[str, Any]:
    """The stored problem with its network sizes bounded before the problem is rebuilt."""
    spec = d.get("spec")
    if isinstance(spec, dict) and isinstance(spec.get("kwargs"), dict) and "hidden" in spec["kwargs"]:
        _sizes(spec["kwargs"]["hidden"], f"{path}: a built-in problem's function network")
    functions = d.get("functions", [])
    if not isinstance(functions, list):
        raise InputError(f"{path}: the stored problem's functions must be a list")
    for f in functions:
        if not isinstance(f, dict):
            raise InputError(f"{path}: a stored function must be a record, got {_short(f)}")
        _sizes(f.get("hidden"), f"{path}: hidden of function {_short(f.get('name'))}")
    return d


def _definition(d: Mapping[str, Any]) -> Dict[str, Any]:
    """What must agree between a given problem and a stored one."""
    return {
        "coords": d.get("coords"),
        "domain": d.get("domain"),
        "residual": d.get("residual"),
        "transform": d.get("transform"),
        "params": [(p.get("name"), p.get("bounds")) for p in d.get("params", []) if isinstance(p, dict)],
        "functions": [
            (f.get("name"), f.get("inputs"), f.get("transform"), f.get("hidden"), f.get("activation"))
            for f in d.get("functions", [])
            if isinstance(f, dict)
        ],
        "sources": d.get("sources"),
        # Version 2 files predate systems: one field u, one residual, no conditions.
        "fields": d.get("fields", ["u"]),
        "periodic": d.get("periodic", []),
        "residuals": d.get("residuals", {"residual": d.get("residual")}),
        "conditions": [
            (c.get("residual"), c.get("on"), c.get("periodic"), c.get("weight"))
            for c in d.get("conditions", [])
            if isinstance(c, dict)
        ],  # fmt: skip
    }


def _require_same_problem(problem: "Problem", stored: Dict[str, Any], path: str) -> None:
    if not isinstance(problem, Problem):
        raise InputError(f"problem must be a pinnbilo Problem, got {type(problem).__name__}")
    given, kept = _definition(json.loads(json.dumps(problem.to_dict()))), _definition(stored)
    diff = [k for k in given if given[k] != kept[k]]
    if diff:
        detail = "; ".join(f"{k}: stored {_short(kept[k])}, given {_short(given[k])}" for k in diff)
        raise InputError(
            f"{path}: the given problem does not match the checkpoint ({detail}); "
            "pass strict=False to load the weights into it anyway"
        )


def _gains(meta: Mapping[str, Any], problem: "Problem", path: str) -> Optional[List[float]]:
    """The parameters' gains the weights were trained with (version 1 files: all 1)."""
    if meta.get("version") == 1:
        return [1.0] * len(problem.params)
    g = meta.get("param_gains")
    if not isinstance(g, list) or len(g) != len(problem.params) or not all(_finite_number(x) and x > 0 for x in g):
        raise InputError(f"{path}: param_gains must list one positive number per parameter, got {_short(g)}")
    return [float(x) for x in g]


def _history_length(arrays: Mapping[str, np.ndarray], n_params: int, path: str) -> int:
    step = arrays.get("history_step")
    if step is None:
        return 0
    n = int(step.shape[0]) if step.ndim == 1 else -1
    for key in HISTORY_KEYS:
        a = arrays.get(f"history_{key}")
        want = (n, n_params) if key == "params" else (n,)
        if a is None and key == "reg":
            continue
        if a is None or a.shape != want or a.dtype.kind not in "iuf":
            raise InputError(f"{path}: history '{key}' is missing or has shape {None if a is None else a.shape}")
    return n
