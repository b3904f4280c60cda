"""Complete, atomically written checkpoints that resume training exactly."""

from __future__ import annotations

import glob
import io
import json
import math
import os
import re
import stat
import tempfile
import time
import zipfile
from typing import TYPE_CHECKING, Any, BinaryIO, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _validation as check
from .errors import InputError
from .problem import Data, Problem, problem_from_dict

if TYPE_CHECKING:
    from .model import Model

FORMAT = "pinnbilo-checkpoint"
# 2: parameters trained in units of their scale (param_gains); 3: observations, networks;
# 4: the model's predictions at its first collocation points (check_values), compared on loading.
VERSION = 4
VERSIONS = (1, 2, 3, VERSION)
HISTORY_KEYS = ("step", "res", "rgrad", "data", "reg", "total", "params")
TEMP_PREFIX, TEMP_SUFFIX = ".pinnbilo-", ".tmp"
# What a checkpoint may ask for before anything is allocated: a file is refused, not obeyed.
MAX_WIDTH = 4096  # neurons per layer
MAX_LAYERS = 64
MAX_WEIGHTS = 50_000_000  # per network (400 MB of float64)
MAX_META_BYTES = 1_000_000
MAX_VALUES = check.MAX_ELEMENTS  # any other array: what the library lets a caller ask for
# Adam's step count: more steps than any run can take (the bias correction reads it as a float64,
# exact up to 2^53) means the file was edited.
MAX_ADAM_STEPS = 2**53
N_CHECK = 8  # collocation points at which a checkpoint stores the model's predictions
# How far a loaded model's predictions may be from those stored with it (relative to max(1, |u|)):
# the same weights on another CPU's build may round differently, an edited file does not come close.
CHECK_RTOL = {"float64": 1e-9, "float32": 1e-4}
# The entries a checkpoint has; others are ignored up to MAX_EXTRA_BYTES in all (a zip bomb is
# refused from the zip directory's declared sizes, before anything is decompressed).
_KNOWN = re.compile(
    r"meta|weights|raw_params|collocation|data_points|data_values|check_values|obs\d+_(points|values|sigma|quadrature)"
    r"|adam_(weights|params)_(m|v|v_max|t)|history_(" + "|".join(HISTORY_KEYS) + ")"
)
MAX_EXTRA_BYTES = 2**20
# A checkpoint has a few dozen entries (four per observable); a zip directory of millions is
# refused from its end record before zipfile parses (and allocates) the directory.
MAX_ENTRIES = 10_000
MAX_DIRECTORY_BYTES = 8 * 2**20
NETWORK_ARRAYS = ("weights", "raw_params", "adam_weights_m", "adam_weights_v", "adam_weights_v_max",
                  "adam_params_m", "adam_params_v", "adam_params_v_max")  # fmt: skip
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
        arrays["check_values"] = _check_values(model, model.collocation)
        return arrays


def _check_values(model: "Model", collocation: np.ndarray) -> np.ndarray:
    """The model's fields at its first N_CHECK collocation points, shape (k, n_fields): stored with
    a checkpoint, recomputed on loading, so a file whose problem or arrays were edited is refused."""
    points = np.ascontiguousarray(collocation[:N_CHECK], dtype=np.float64)
    zero = [0] * len(model._input_names())
    t = model._trainer
    columns = [np.asarray(t.predict(points, [zero], j)[0], dtype=np.float64) for j in range(len(model.problem.fields))]
    return np.stack(columns, axis=1)


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
    write_atomically(path, _arrays(model))


def write_atomically(path: str, arrays: Mapping[str, np.ndarray]) -> None:
    """Write ``arrays`` as an .npz file at ``path``: a locked temp file in the same folder, synced,
    then renamed over ``path``, so a crash or a kill leaves the previous file intact."""
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
    arrays' declared shapes and dtypes (an array is read only once its size is known to be right),
    types and ranges of the metadata. The rebuilt model must reproduce the predictions stored with
    it. Any damage or mismatch raises :class:`~pinnbilo.InputError` saying what is wrong; only a
    regular file is read (a FIFO or a device is refused without waiting on it).
    """
    problem, strict = _load_options(problem, strict)
    if not isinstance(path, (str, os.PathLike)):
        raise InputError(f"path must be a file name, got {check._show(path)} ({type(path).__name__})")
    name = str(path)
    with _open_regular(path, name) as fh, _Archive(fh, name) as arrays:
        return _restore(arrays, name, problem, strict)


def from_bytes(data: bytes, problem: "Optional[Problem]" = None, strict: bool = True) -> "Model":
    """Rebuild a model from :func:`to_bytes`'s checkpoint (what a model pickles as), with every
    check of :func:`load`; ``problem`` and ``strict`` as there."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InputError(f"a checkpoint in memory is bytes (from checkpoint.to_bytes), got {type(data).__name__}")
    problem, strict = _load_options(problem, strict)
    with _Archive(io.BytesIO(data), IN_MEMORY) as arrays:
        return _restore(arrays, IN_MEMORY, problem, strict)


def _load_options(problem: object, strict: object) -> "Tuple[Optional[Problem], bool]":
    """``problem`` (None or a Problem) and ``strict`` (a bool), checked before the file is opened."""
    if problem is not None and not isinstance(problem, Problem):
        raise InputError(
            f"problem must be a pinnbilo Problem (or None for the stored one), got {check._show(problem)} "
            f"({type(problem).__name__})"
        )
    return problem, check.flag(strict, "strict")


def _open_regular(path: "Union[str, os.PathLike[str]]", name: str) -> BinaryIO:
    """``path`` opened for reading, refused unless it is a regular file. Opened without blocking
    and checked on the open descriptor: a FIFO (whose open or read would wait for a writer for
    ever) or a device such as /dev/zero is refused, even if it replaced a file a moment before."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except IsADirectoryError:
        raise InputError(f"{name} is a folder, not a pinnbilo checkpoint") from None
    except ValueError as exc:  # a NUL character, or text the file system cannot encode
        raise InputError(f"path {check._show(name)} is not a usable file name: {exc}") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise InputError(f"{name} is a folder, not a pinnbilo checkpoint")
        if not stat.S_ISREG(mode):
            raise InputError(f"{name} is not a regular file (a FIFO, socket or device?), not a pinnbilo checkpoint")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


class _Archive(Mapping[str, np.ndarray]):
    """The arrays of a .npz file, read one at a time and only on request.

    The zip directory and each array's .npy header are read first: an array is refused when its
    header and its declared (uncompressed) size disagree, when it holds Python objects, or when it
    is larger than its reader allows (:meth:`read`'s ``max_values``), so a zip bomb or a header
    claiming 10^12 values is refused before anything is allocated; arrays nobody asks for are never
    decompressed. ``name`` names the file in messages.
    """

    def __init__(self, fh: BinaryIO, name: str, known: "re.Pattern[str]" = _KNOWN) -> None:
        self.name = name
        self._fh = fh
        head = fh.read(6)
        fh.seek(0)
        if head == b"\x93NUMPY":
            raise InputError(f"{name} holds a single array (.npy), not a pinnbilo checkpoint (.npz from model.save)")
        self._refuse_huge_directory(fh)
        try:
            self._zip = zipfile.ZipFile(fh)
            infos = self._zip.infolist()
        except Exception as exc:  # zipfile raises many types on damaged files; all mean the same here
            raise self._damaged(exc) from None
        if len(infos) > MAX_ENTRIES:
            self._zip.close()
            raise InputError(
                f"{name} has {len(infos)} entries, over the limit of {MAX_ENTRIES}: not a pinnbilo checkpoint"
            )
        self._members = {i.filename[:-4]: i for i in infos if i.filename.endswith(".npy")}
        extra = {k: i.file_size for k, i in self._members.items() if not known.fullmatch(k)}
        extra.update({i.filename: i.file_size for i in infos if not i.filename.endswith(".npy")})
        if sum(extra.values()) > MAX_EXTRA_BYTES:
            raise InputError(
                f"{name} holds {sum(extra.values())} bytes (uncompressed) in entries no pinnbilo checkpoint has "
                f"({_short(sorted(extra))}): refused unread, the file is damaged or not a checkpoint"
            )
        self._headers: Dict[str, Tuple[Tuple[int, ...], np.dtype]] = {}
        self._cache: Dict[str, np.ndarray] = {}

    def _refuse_huge_directory(self, fh: BinaryIO) -> None:
        """Read the zip's end record (the last 22 bytes plus an optional comment of up to 64 KiB)
        and refuse a directory that declares more than MAX_ENTRIES entries or MAX_DIRECTORY_BYTES."""
        try:
            end = fh.seek(0, 2)
            fh.seek(max(0, end - 22 - 65535))
            tail = fh.read()
            fh.seek(0)
        except Exception as exc:
            raise self._damaged(exc) from None
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or len(tail) < at + 22:
            return  # zipfile reports the damage in its own words
        entries = int.from_bytes(tail[at + 10 : at + 12], "little")
        directory_bytes = int.from_bytes(tail[at + 12 : at + 16], "little")
        # 0xFFFF / 0xFFFFFFFF mean "see the zip64 record"; the count is checked after parsing then.
        if (entries != 0xFFFF and entries > MAX_ENTRIES) or (
            directory_bytes != 0xFFFFFFFF and directory_bytes > MAX_DIRECTORY_BYTES
        ):
            raise InputError(
                f"{self.name} declares a zip directory of {entries} entries in {directory_bytes} bytes, over the "
                f"limits of {MAX_ENTRIES} entries and {MAX_DIRECTORY_BYTES} bytes: not a pinnbilo checkpoint"
            )

    def __enter__(self) -> "_Archive":
        return self

    def __exit__(self, *exc: object) -> None:
        self._zip.close()

    def _damaged(self, exc: BaseException, key: str = "") -> InputError:
        where = f" (array '{key}')" if key else ""
        return InputError(
            f"{self.name} is not a readable pinnbilo checkpoint (corrupted or truncated?){where}: {exc!r}"
        )

    def __iter__(self) -> Iterator[str]:
        return iter(self._members)

    def __len__(self) -> int:
        return len(self._members)

    def __contains__(self, key: object) -> bool:  # Mapping's own would read the array
        return key in self._members

    def header(self, key: str) -> Tuple[Tuple[int, ...], np.dtype]:
        """The declared (shape, dtype) of array ``key``, checked against its size in the zip directory."""
        if key not in self._headers:
            info = self._members[key]
            try:
                with self._zip.open(info) as fh:
                    version = np.lib.format.read_magic(fh)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
                    elif version == (2, 0):
                        shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
                    else:
                        raise ValueError(f"array format version {version} is not one numpy.savez writes")
                    offset = fh.tell()
            except Exception as exc:
                raise self._damaged(exc, key) from None
            if dtype.hasobject:
                raise InputError(f"{self.name}: array '{key}' holds Python objects, which no pinnbilo checkpoint has")
            size = math.prod(shape) * dtype.itemsize
            if size != info.file_size - offset:
                raise InputError(
                    f"{self.name}: array '{key}' declares shape {_short(shape)} ({size} bytes) but the file holds "
                    f"{info.file_size - offset} bytes for it: the file is damaged"
                )
            self._headers[key] = (tuple(int(d) for d in shape), dtype)
        return self._headers[key]

    def shape(self, key: str) -> Tuple[int, ...]:
        return self.header(key)[0]

    def dtype(self, key: str) -> np.dtype:
        return self.header(key)[1]

    def read(self, key: str, max_values: int = MAX_VALUES) -> np.ndarray:
        """Array ``key``, refused before it is decompressed if it holds more than ``max_values`` values."""
        if key not in self._cache:
            shape, _ = self.header(key)
            n = math.prod(shape)
            if n > max_values:
                raise InputError(
                    f"{self.name}: array '{key}' of shape {_short(shape)} holds {n} values, over the limit of "
                    f"{max_values} for it: the file is damaged or was edited"
                )
            try:
                with self._zip.open(self._members[key]) as fh:
                    self._cache[key] = np.lib.format.read_array(fh, allow_pickle=False)
            except Exception as exc:  # a bad CRC, a truncated stream, a failed decompression
                raise self._damaged(exc, key) from None
        return self._cache[key]

    def __getitem__(self, key: str) -> np.ndarray:
        return self.read(key)


def _restore(arrays: _Archive, path: str, problem: "Optional[Problem]", strict: bool) -> "Model":
    """The model a checkpoint's arrays describe, each field checked first (see :func:`load`);
    ``path`` names the checkpoint in messages."""
    from .model import ACTIVATIONS, DTYPES, PINN, BiLO

    meta = _read_meta(path, arrays)
    stored_problem = _field(meta, "problem", dict, path)
    given = problem is not None
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
        raise InputError(f"{path}: unknown activation {_short(activation)}")
    dtype = _field(meta, "dtype", str, path)
    if dtype not in DTYPES:
        raise InputError(f"{path}: unknown dtype {_short(dtype)}")
    seed = _int_field(meta, "seed", path)
    global_step = _int_field(meta, "global_step", path)
    weights_config = _field(meta, "weights_config", dict, path)
    for k, v in weights_config.items():
        if k not in ("w_res", "w_rgrad", "w_data", "w_reg") or not _finite_number(v) or v < 0:
            raise InputError(f"{path}: weights_config[{_short(k)}] = {_short(v)} is not a loss weight (finite, >= 0)")
    noise = meta.get("data_noise", 0.0)
    if not _finite_number(noise) or noise < 0:
        raise InputError(f"{path}: data_noise {_short(noise)} must be a finite number >= 0")
    cls = {"pinn": PINN, "bilo": BiLO}[method]
    n_in = problem.n_coordinate_features + (len(problem.params) + len(problem.functions) if method == "bilo" else 0)
    networks = meta.get("networks", "shared")
    if networks not in ("shared", "per_field"):
        raise InputError(f"{path}: unknown networks layout {_short(networks)}")
    n_fields = len(problem.fields)
    n_weights = (
        _n_weights([n_in, *hidden, n_fields]) if networks == "shared" else n_fields * _n_weights([n_in, *hidden, 1])
    )
    n_raw = len(problem.params) + sum(
        _n_weights([len(problem.function_inputs[f.name]), *f.hidden, 1]) for f in problem.functions
    )
    state = _network_arrays(arrays, n_weights, n_raw, np.dtype(DTYPES[dtype]), path)
    gains = _gains(meta, problem, path)
    n_hist = _history_length(arrays, len(problem.params), path)
    if n_hist > global_step:
        raise InputError(f"{path}: the history has {n_hist} records but global_step is {global_step}")
    check_values = _stored_check_values(meta, arrays, n_fields, path)
    adam_steps = {group: _int_array(arrays, f"adam_{group}_t", path) for group in ("weights", "params")}
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
        t.set_weights(state["weights"])
        t.set_raw_params(state["raw_params"])
        t.set_adam_state(
            {
                group: {
                    "m": state[f"adam_{group}_m"],
                    "v": state[f"adam_{group}_v"],
                    "v_max": state[f"adam_{group}_v_max"],
                    "t": adam_steps[group],
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
    if check_values is not None and (strict or not given):
        _compare_check_values(model, check_values, dtype, path)
    return model


def _network_arrays(arrays: _Archive, n_weights: int, n_raw: int, dtype: np.dtype, path: str) -> Dict[str, np.ndarray]:
    """The weights, raw parameters and Adam moments, each checked for its shape and dtype (the
    model's own: a float64 model stores float64) before it is read."""
    expected = {key: (n_raw,) if "params" in key else (n_weights,) for key in NETWORK_ARRAYS}
    for key, shape in expected.items():
        if key not in arrays:
            raise InputError(f"{path}: checkpoint is incomplete, missing '{key}'")
        if arrays.shape(key) != shape:
            raise InputError(
                f"{path}: '{key}' has shape {_short(arrays.shape(key))} but the stored network needs {shape} "
                "(corrupted, or edited metadata?)"
            )
        if arrays.dtype(key) != dtype:
            raise InputError(
                f"{path}: '{key}' is stored as {arrays.dtype(key)}, but a {dtype} model stores {dtype}: "
                "the file is damaged or was edited"
            )
    return {key: arrays.read(key, max_values=n) for key, (n,) in expected.items()}


def _stored_check_values(meta: Mapping[str, Any], arrays: _Archive, n_fields: int, path: str) -> Optional[np.ndarray]:
    """The predictions a version-4 file stores (None for older files), checked for shape and dtype."""
    if meta.get("version") != VERSION:
        return None
    if "check_values" not in arrays:
        raise InputError(f"{path}: checkpoint is incomplete, missing 'check_values'")
    shape, dtype = arrays.header("check_values")
    if len(shape) != 2 or not 1 <= shape[0] <= N_CHECK or shape[1] != n_fields or dtype != np.float64:
        raise InputError(
            f"{path}: 'check_values' must be float64 of shape (1 to {N_CHECK}, {n_fields}), got {dtype} of shape "
            f"{_short(shape)}"
        )
    return arrays.read("check_values")


def _compare_check_values(model: "Model", stored: np.ndarray, dtype: str, path: str) -> None:
    """InputError unless the rebuilt model predicts what the saved one did at the same points."""
    points = model.collocation
    if points.shape[0] < stored.shape[0]:
        raise InputError(f"{path}: the file stores predictions at more points than it has collocation points")
    now = _check_values(model, points)[: stored.shape[0]]
    scale = max(1.0, float(np.max(np.abs(stored)))) if np.all(np.isfinite(stored)) else math.inf
    err = float(np.max(np.abs(now - stored))) if np.all(np.isfinite(now)) else math.inf
    if not err <= CHECK_RTOL[dtype] * scale:
        raise InputError(
            f"{path}: the rebuilt model does not reproduce the predictions stored with it (largest difference "
            f"{err:.3g}): the file's problem description or arrays were edited or damaged"
        )


def _normalize_flag(meta: Mapping[str, Any], path: str) -> Optional[bool]:
    # Files before version 3 never normalised: False keeps their networks' meaning.
    flag = meta.get("normalize_inputs", None if meta.get("version", 0) >= 3 else False)
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


def _read_meta(path: str, arrays: _Archive) -> Dict[str, Any]:
    if "meta" not in arrays:
        raise InputError(f"{path} is not a pinnbilo checkpoint: missing or bad metadata")
    shape, dtype = arrays.header("meta")
    if dtype != np.uint8 or len(shape) != 1:
        raise InputError(f"{path} is not a pinnbilo checkpoint: missing or bad metadata")
    if shape[0] > MAX_META_BYTES:
        raise InputError(f"{path}: metadata of {shape[0]} bytes is over the limit of {MAX_META_BYTES}")
    raw = arrays.read("meta", max_values=MAX_META_BYTES)
    try:
        meta = json.loads(raw.tobytes().decode())
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{path} is not a pinnbilo checkpoint: unreadable metadata ({type(exc).__name__})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise InputError(f"{path} is not a pinnbilo checkpoint")
    version = meta.get("version")
    if type(version) is not int or version not in VERSIONS:  # True and 3.0 are not versions
        raise InputError(f"{path}: checkpoint version {_short(version)} is not supported (expected 1 to {VERSION})")
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


def _int_array(arrays: _Archive, key: str, path: str) -> int:
    """An Adam step count: one integer in [0, MAX_ADAM_STEPS]."""
    if key not in arrays:
        raise InputError(f"{path}: checkpoint is incomplete, missing '{key}'")
    shape, dtype = arrays.header(key)
    if shape != () or dtype.kind not in "iu":
        raise InputError(f"{path}: '{key}' must be one non-negative integer, got {dtype} of shape {_short(shape)}")
    n = int(arrays.read(key))
    if not 0 <= n <= MAX_ADAM_STEPS:
        raise InputError(
            f"{path}: '{key}' = {n} must be a non-negative integer of at most 2**53 (more steps than any run "
            "takes): the file is damaged or was edited"
        )
    return n


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
    return check._show(v)


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


def _history_length(arrays: _Archive, n_params: int, path: str) -> int:
    """Records in the stored history (0 without one), every history array's declared shape and
    dtype checked before any is read."""
    if "history_step" not in arrays:
        return 0
    step = arrays.shape("history_step")
    n = step[0] if len(step) == 1 else -1
    for key in HISTORY_KEYS:
        name = f"history_{key}"
        if name not in arrays and key == "reg":
            continue
        shape = arrays.shape(name) if name in arrays else None
        want = (n, n_params) if key == "params" else (n,)
        if shape != want or arrays.dtype(name).kind not in "iuf":
            raise InputError(f"{path}: history '{key}' is missing or has shape {_short(shape)} (expected {want})")
    return n
