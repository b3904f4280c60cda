"""The result of an MCMC run (:func:`~pinnbilo.uncertainty.hmc`, ``mala``, ``bpinn_hmc``): the
draws of every chain with what the sampler did, summaries and diagnostics, and an ``.npz`` file
format written atomically and read back without unpickling."""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Union

import numpy as np

from .._validation import real
from ..checkpoint import TEMP_PREFIX, TEMP_SUFFIX, _lock, remove_stale_temp_files
from ..errors import InputError
from . import diagnostics

__all__ = ["Chains"]

FORMAT = "pinnbilo-chains"
VERSION = 1
MAX_META_BYTES = 10_000_000
# The arrays every file holds, with their axes (C chains, N draws, k recorded values, D the
# sampled state's dimension).
ARRAYS = {
    "samples": ("C", "N", "k"),
    "logp": ("C", "N"),
    "accepted": ("C", "N"),
    "divergent": ("C", "N"),
    "step_size": ("C",),
    "mass": ("C", "D"),
    "n_leapfrog": ("C",),
    "grad_evals": ("C",),
}

PathLike = Union[str, "os.PathLike[str]"]


@dataclass
class Chains:
    """Draws of ``n_chains`` Markov chains after warm-up, and how they were made.

    Attributes
    ----------
    samples : (n_chains, n_draws, k) the recorded values (the state itself, or what the
        sampler's ``record`` maps it to: for ``bpinn_hmc`` the physical parameters).
    logp : (n_chains, n_draws) log density of the target at each draw (up to its constant).
    accepted : (n_chains, n_draws) bool, whether the move to each draw was accepted.
    divergent : (n_chains, n_draws) bool, whether the trajectory that produced it diverged
        (non-finite density or gradient, or an energy error above 1000); it was rejected.
    step_size : (n_chains,) the adapted (or given) step size, in units of the mass scales.
    mass : (n_chains, D) the diagonal of the inverse mass matrix per chain, i.e. the variance
        scales the sampler assumed for each coordinate of the sampled state (D may differ from
        k when ``record`` is used).
    n_leapfrog : (n_chains,) nominal leapfrog steps per trajectory (MALA: 1).
    grad_evals : (n_chains,) density-and-gradient evaluations, warm-up included.
    names : optional names of the k recorded values.
    method : 'hmc', 'mala' or 'bpinn_hmc'.
    seed : the run's seed.
    warmup : what warm-up did: ``n_warmup``, per chain ``accept_rate``, ``divergences`` and
        ``path_length`` (HMC's integration time).
    wall_time : seconds spent sampling (over every resumed part of the run).
    status : 'completed' or 'interrupted' (Ctrl-C: the chains finished so far; see ``hmc``).
    notes : lines on how the run was set up (e.g. by ``bilo_hmc``), kept in the file.
    """

    samples: np.ndarray
    logp: np.ndarray
    accepted: np.ndarray
    divergent: np.ndarray
    step_size: np.ndarray
    mass: np.ndarray
    n_leapfrog: np.ndarray
    grad_evals: np.ndarray
    names: Optional[List[str]] = None
    method: str = "hmc"
    seed: int = 0
    warmup: Dict[str, Any] = field(default_factory=dict)
    wall_time: float = 0.0
    status: str = "completed"
    notes: List[str] = field(default_factory=list)

    # -- shape --------------------------------------------------------------------------------
    @property
    def n_chains(self) -> int:
        return int(self.samples.shape[0])

    @property
    def n_draws(self) -> int:
        """Draws per chain."""
        return int(self.samples.shape[1])

    @property
    def dim(self) -> int:
        """Number of recorded values k per draw."""
        return int(self.samples.shape[2])

    @property
    def labels(self) -> List[str]:
        """``names``, or x[0], x[1], ... when there are none."""
        return list(self.names) if self.names is not None else [f"x[{j}]" for j in range(self.dim)]

    @property
    def draws(self) -> np.ndarray:
        """All chains' draws pooled, (n_chains * n_draws, k)."""
        return self.samples.reshape(-1, self.dim)

    @property
    def acceptance_rate(self) -> np.ndarray:
        """(n_chains,) fraction of accepted moves after warm-up."""
        return self.accepted.mean(axis=1) if self.n_draws else np.full(self.n_chains, math.nan)

    @property
    def divergences(self) -> np.ndarray:
        """(n_chains,) number of divergent trajectories after warm-up."""
        return self.divergent.sum(axis=1).astype(np.int64)

    def __getitem__(self, name: str) -> np.ndarray:
        """The draws of one named value, (n_chains, n_draws)."""
        if name not in self.labels:
            raise InputError(f"no value named {name!r}; the chains hold {', '.join(self.labels)}")
        return self.samples[:, :, self.labels.index(name)]

    # -- summaries ------------------------------------------------------------------------------
    def mean(self) -> np.ndarray:
        """(k,) posterior mean over all chains."""
        return self.draws.mean(axis=0) if self.n_draws else np.full(self.dim, math.nan)

    def std(self) -> np.ndarray:
        """(k,) posterior standard deviation over all chains."""
        return self.draws.std(axis=0, ddof=1) if self.draws.shape[0] > 1 else np.full(self.dim, math.nan)

    def interval(self, level: float = 0.9) -> np.ndarray:
        """(2, k) equal-tailed credible interval: rows are the (1 - level)/2 and (1 + level)/2
        quantiles of the pooled draws."""
        lv = real(level, "level")
        if not 0 < lv < 1:
            raise InputError(f"level must be in (0, 1), e.g. 0.9, got {lv}")
        if not self.n_draws:
            return np.full((2, self.dim), math.nan)
        return np.quantile(self.draws, [(1 - lv) / 2, (1 + lv) / 2], axis=0)

    def rhat(self) -> np.ndarray:
        """(k,) rank-normalised split R-hat (see :func:`~pinnbilo.uncertainty.diagnostics.rhat`)."""
        return np.asarray(diagnostics.rhat(self.samples))

    def ess(self, kind: str = "bulk") -> np.ndarray:
        """(k,) effective sample size: kind 'bulk' (default), 'tail' or 'basic'."""
        fns = {"bulk": diagnostics.ess_bulk, "tail": diagnostics.ess_tail, "basic": diagnostics.ess_basic}
        if kind not in fns:
            raise InputError(f"kind must be 'bulk', 'tail' or 'basic', got {kind!r}")
        return np.asarray(fns[kind](self.samples))

    def summary(self, level: float = 0.9) -> Any:
        """A table, one row per recorded value: mean, sd, mcse of the mean, the interval at
        ``level``, bulk and tail ESS, R-hat. A pandas DataFrame when pandas is installed, else
        a dict {column: list}."""
        lo, hi = self.interval(level)
        pct = f"{100 * (1 - level) / 2:g}%", f"{100 * (1 + level) / 2:g}%"
        table: Dict[str, Any] = {
            "mean": self.mean(),
            "sd": self.std(),
            "mcse": np.asarray(diagnostics.mcse_mean(self.samples)),
            pct[0]: lo,
            pct[1]: hi,
            "ess_bulk": self.ess("bulk"),
            "ess_tail": self.ess("tail"),
            "r_hat": self.rhat(),
        }
        try:
            import pandas as pd  # type: ignore[import-untyped, unused-ignore]  # stubs are optional
        except ImportError:
            return {"name": self.labels, **{k: [float(v) for v in col] for k, col in table.items()}}
        return pd.DataFrame(table, index=pd.Index(self.labels, name="name"))

    def __repr__(self) -> str:
        return (
            f"Chains(method={self.method!r}, chains={self.n_chains}, draws={self.n_draws}, dim={self.dim}, "
            f"status={self.status!r}, accept={np.round(self.acceptance_rate, 3).tolist()}, "
            f"divergences={self.divergences.tolist()})"
        )

    # -- files ----------------------------------------------------------------------------------
    def _arrays(self) -> Dict[str, np.ndarray]:
        return {key: np.asarray(getattr(self, key)) for key in ARRAYS}

    def _meta(self) -> Dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "names": self.names,
            "method": self.method,
            "seed": int(self.seed),
            "warmup": _plain(self.warmup),
            "wall_time": float(self.wall_time),
            "status": self.status,
            "notes": [str(n) for n in self.notes],
        }

    def save(self, path: PathLike) -> None:
        """Write the chains to ``path`` (.npz, numbers and JSON metadata, no pickles),
        atomically: a crash mid-write leaves any previous file intact."""
        write_npz(path, self._arrays(), self._meta())

    @classmethod
    def load(cls, path: PathLike) -> "Chains":
        """Read chains written by :meth:`save`, or the chains so far of a sampler checkpoint
        (``hmc(..., checkpoint=path)``). Malformed files raise ``InputError``."""
        arrays, meta = read_npz(path)
        if meta.get("checkpoint"):
            from .samplers import chains_from_checkpoint

            return chains_from_checkpoint(arrays, meta, str(path))
        return cls.from_arrays(arrays, meta, str(path))

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any], where: str) -> "Chains":
        """Chains from a file's arrays and metadata, every shape checked (``where`` names the
        file in messages)."""
        sizes: Dict[str, int] = {}
        out: Dict[str, np.ndarray] = {}
        for key, axes in ARRAYS.items():
            if key not in arrays:
                raise InputError(f"{where}: the chains file has no '{key}' array")
            a = arrays[key]
            if a.ndim != len(axes) or a.dtype.kind not in "biuf":
                raise InputError(f"{where}: '{key}' must be a numeric array with axes {axes}, got {a.dtype} {a.shape}")
            for axis, n in zip(axes, a.shape):
                if sizes.setdefault(axis, n) != n:
                    raise InputError(f"{where}: '{key}' has {n} along {axis}, other arrays have {sizes[axis]}")
            out[key] = a
        names = meta.get("names")
        if names is not None and (
            not isinstance(names, list) or len(names) != sizes["k"] or not all(isinstance(n, str) for n in names)
        ):
            raise InputError(f"{where}: names must be a list of {sizes['k']} strings")
        status = meta.get("status")
        if status not in ("completed", "interrupted"):
            raise InputError(f"{where}: status must be 'completed' or 'interrupted', got {status!r}")
        notes = meta.get("notes", [])
        if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
            raise InputError(f"{where}: notes must be a list of strings")
        warmup = meta.get("warmup", {})
        if not isinstance(warmup, dict):
            raise InputError(f"{where}: warmup must be a mapping")
        return cls(
            samples=out["samples"].astype(np.float64),
            logp=out["logp"].astype(np.float64),
            accepted=out["accepted"].astype(bool),
            divergent=out["divergent"].astype(bool),
            step_size=out["step_size"].astype(np.float64),
            mass=out["mass"].astype(np.float64),
            n_leapfrog=out["n_leapfrog"].astype(np.int64),
            grad_evals=out["grad_evals"].astype(np.int64),
            names=names,
            method=str(meta.get("method", "hmc")),
            seed=int(meta.get("seed", 0)),
            warmup=warmup,
            wall_time=float(meta.get("wall_time", 0.0)),
            status=status,
            notes=notes,
        )


def _plain(value: Any) -> Any:
    """JSON-ready copy: numpy arrays and scalars become lists and Python numbers."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def write_npz(path: PathLike, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
    """Write arrays and JSON metadata (as uint8 bytes, key 'meta') to an .npz file: a temp
    file in the same folder, then a rename, so a reader never sees half a file."""
    if not isinstance(path, (str, os.PathLike)):
        raise InputError(f"path must be a file name, got {type(path).__name__}")
    blob = np.frombuffer(json.dumps(_plain(dict(meta))).encode(), dtype=np.uint8)
    folder = os.path.dirname(os.path.abspath(path))
    remove_stale_temp_files(folder)
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=folder)
    try:
        _lock(fd)  # held until the rename: tells remove_stale_temp_files that its writer lives
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, meta=blob, **arrays)  # type: ignore[arg-type]  # the stub reads **kwds as allow_pickle
            fh.flush()
            os.fsync(fh.fileno())
            os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_npz(path: PathLike) -> "tuple[Dict[str, np.ndarray], Dict[str, Any]]":
    """The arrays and metadata of a file from :func:`write_npz`, never unpickling."""
    where = str(path)
    try:
        f = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except Exception as exc:  # numpy raises many types on damaged files; all mean the same here
        raise InputError(f"{where} is not a readable chains file (corrupted or truncated?): {exc!r}") from None
    if not isinstance(f, np.lib.npyio.NpzFile):
        raise InputError(f"{where} holds a single array (.npy), not a chains file (.npz from Chains.save)")
    try:
        with f:
            arrays = {k: f[k] for k in f.files}
    except Exception as exc:
        raise InputError(f"{where} is not a readable chains file (corrupted or truncated?): {exc!r}") from None
    raw = arrays.pop("meta", None)
    if raw is None or raw.dtype != np.uint8 or raw.ndim != 1 or raw.size > MAX_META_BYTES:
        raise InputError(f"{where} is not a pinnbilo chains file: missing or bad metadata")
    try:
        meta = json.loads(raw.tobytes().decode())
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{where} is not a pinnbilo chains file: unreadable metadata ({type(exc).__name__})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise InputError(f"{where} is not a pinnbilo chains file (format {FORMAT!r}, version {VERSION})")
    return arrays, meta
