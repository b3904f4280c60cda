"""Complete, atomically written checkpoints that resume training exactly."""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from typing import TYPE_CHECKING, Dict, Optional

import numpy as np

from .errors import InputError
from .problem import Data, Problem, problem_from_dict

if TYPE_CHECKING:
    from .model import Model

FORMAT = "pinnbilo-checkpoint"
VERSION = 1
HISTORY_KEYS = ("step", "res", "rgrad", "data", "reg", "total", "params")


def save(model: "Model", path: str) -> None:
    """Write model state to ``path`` (.npz): temp file in the same folder, then rename."""
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
    }
    arrays: Dict[str, np.ndarray] = {
        "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
        "weights": t.get_weights(),
        "raw_params": t.get_raw_params(),
        "collocation": model.collocation,
        "data_points": model.data.points,
        "data_values": model.data.values,
    }
    for group in ("weights", "params"):
        for key in ("m", "v", "v_max"):
            arrays[f"adam_{group}_{key}"] = adam[group][key]
        arrays[f"adam_{group}_t"] = np.array(adam[group]["t"], dtype=np.int64)
    for key in HISTORY_KEYS:
        arrays[f"history_{key}"] = hist[key]
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".pinnbilo-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(path: str, problem: "Optional[Problem]" = None) -> "Model":
    """Rebuild a model from :func:`save`'s file; training continues exactly where it stopped.

    ``problem``: the problem to use instead of the stored description (needed when the problem
    reads Python callables as sources, which a file cannot hold).
    """
    from .model import PINN, BiLO

    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except FileNotFoundError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise InputError(f"{path} is not a readable pinnbilo checkpoint (corrupted or truncated?): {exc}") from None
    given_problem = False
    try:
        meta = json.loads(arrays["meta"].tobytes().decode())
    except (KeyError, ValueError) as exc:
        raise InputError(f"{path} is not a pinnbilo checkpoint: missing or bad metadata ({exc})") from None
    if meta.get("format") != FORMAT:
        raise InputError(f"{path} is not a pinnbilo checkpoint")
    if meta.get("version") != VERSION:
        raise InputError(f"{path}: checkpoint version {meta.get('version')} is not supported (expected {VERSION})")
    try:
        given_problem = problem is not None
        if problem is None:
            problem = problem_from_dict(meta["problem"])
        cls = {"pinn": PINN, "bilo": BiLO}[meta["method"]]
        data = Data(arrays["data_points"], arrays["data_values"], noise=float(meta.get("data_noise", 0.0)))
        model = cls(
            problem,
            data,
            hidden=meta["hidden"],
            activation=meta["activation"],
            collocation=arrays["collocation"],
            dtype=meta["dtype"],
            seed=meta["seed"],
            **meta["weights_config"],
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
                    "t": int(arrays[f"adam_{group}_t"]),
                }
                for group in ("weights", "params")
            }
        )
        t.set_history({key: arrays[f"history_{key}"] for key in HISTORY_KEYS if f"history_{key}" in arrays})
        t.set_global_step(int(meta["global_step"]))
    except KeyError as exc:
        raise InputError(f"{path}: checkpoint is incomplete, missing {exc}") from None
    except (TypeError, ValueError, RuntimeError) as exc:
        if given_problem:
            stored = meta.get("problem", {})
            raise InputError(
                f"{path}: the given problem does not match the checkpoint (stored: residual "
                f"{stored.get('residual')!r}, coordinates {stored.get('coords')}, functions "
                f"{[f.get('name') for f in stored.get('functions', [])]}): {exc}"
            ) from None
        if isinstance(exc, InputError):
            raise
        raise InputError(f"{path}: checkpoint content is malformed: {exc}") from None
    return model
