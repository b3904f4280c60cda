"""Ensembles: independent models of one problem, one per seed (network initialisation, and the
data when one data set per seed is given), trained in parallel worker processes.

The spread of an ensemble on one data set measures how much the training (initialisation,
optimisation) moves the estimate; with one data set per seed it also contains the data's
sampling variation. Neither is a Bayesian posterior.
"""

from __future__ import annotations

import inspect
import math
import os
import pickle
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple, Union

import numpy as np

from .._validation import _show, choice, integer
from .._validation import seed as check_seed
from ..errors import InputError, TrainingDiverged
from ..problem import Data, Problem
from ._observations import as_list
from .posterior import frame

GOOD = ("completed", "converged", "early_stopped", "stopped")
MAX_SEEDS = 100_000
DataArg = Union[Data, List[Data], Mapping[int, Any], Callable[[int], Any]]


@dataclass
class EnsembleResult:
    """The runs of an ensemble and their spread.

    runs : one record per finished run, by seed: ``seed``, ``status`` ('completed', ...,
        'diverged', 'failed'), ``params`` {name: value} (empty for a failed run), ``steps``,
        ``wall_time`` (s), ``losses``, ``error`` (the exception for a failed run, else '').
    names : the parameters; method : 'bilo' or 'pinn'; seeds : the seeds asked for.
    interrupted : Ctrl-C stopped the ensemble: ``runs`` holds the runs that had finished.
    wall_time : seconds for the whole ensemble.
    The summaries (``median``, ``mean``, ``std``, ``iqr``) are over the runs whose status is
    not 'diverged' or 'failed'.
    """

    runs: List[Dict[str, Any]]
    names: List[str]
    method: str
    seeds: List[int]
    interrupted: bool = False
    wall_time: float = 0.0
    notes: List[str] = field(default_factory=list)

    @property
    def statuses(self) -> Dict[int, str]:
        """{seed: status}; seeds that did not run (an interrupted ensemble) are 'not run'."""
        done = {r["seed"]: r["status"] for r in self.runs}
        return {s: done.get(s, "not run") for s in self.seeds}

    @property
    def failed(self) -> List[Dict[str, Any]]:
        """The records of the runs that diverged or failed."""
        return [r for r in self.runs if r["status"] not in GOOD]

    def values(self, name: str) -> np.ndarray:
        """The estimates of parameter ``name`` over the good runs: (k,)."""
        if name not in self.names:
            raise InputError(f"unknown parameter {_show(name)}; parameters: {', '.join(self.names)}")
        return np.array([r["params"][name] for r in self.runs if r["status"] in GOOD], dtype=np.float64)

    def _stat(self, f: Callable[[np.ndarray], float]) -> Dict[str, float]:
        return {n: (f(v) if v.size else math.nan) for n, v in ((n, self.values(n)) for n in self.names)}

    @property
    def median(self) -> Dict[str, float]:
        return self._stat(lambda v: float(np.median(v)))

    @property
    def mean(self) -> Dict[str, float]:
        return self._stat(lambda v: float(np.mean(v)))

    @property
    def std(self) -> Dict[str, float]:
        """Sample standard deviation (ddof 1; nan with fewer than two good runs)."""
        return self._stat(lambda v: float(np.std(v, ddof=1)) if v.size > 1 else math.nan)

    @property
    def iqr(self) -> Dict[str, Tuple[float, float]]:
        """{name: (25th, 75th percentile)}."""
        out = {}
        for n in self.names:
            v = self.values(n)
            out[n] = (float(np.percentile(v, 25)), float(np.percentile(v, 75))) if v.size else (math.nan, math.nan)
        return out

    @property
    def params(self) -> Any:
        """The per-seed estimates: a pandas DataFrame indexed by seed (columns: the parameters,
        status, steps, wall_time) when pandas is installed, else a dict of lists."""
        rows = [
            {"seed": r["seed"], **{n: r["params"].get(n, math.nan) for n in self.names}, "status": r["status"],
             "steps": r["steps"], "wall_time": r["wall_time"]}
            for r in self.runs
        ]  # fmt: skip
        try:
            return frame(rows, "seed")
        except ImportError:
            return {k: [row[k] for row in rows] for k in (rows[0] if rows else {"seed": None})}

    def to_frame(self) -> Any:
        """The per-seed table as a pandas DataFrame (an ImportError without pandas)."""
        rows = [
            {"seed": r["seed"], **{n: r["params"].get(n, math.nan) for n in self.names}, "status": r["status"],
             "steps": r["steps"], "wall_time": r["wall_time"], "error": r["error"]}
            for r in self.runs
        ]  # fmt: skip
        return frame(rows, "seed")

    def __repr__(self) -> str:
        good = sum(r["status"] in GOOD for r in self.runs)
        med, sd = self.median, self.std
        parts = [f"{n} median {med[n]:.6g} (std {sd[n]:.3g})" for n in self.names]
        tail = ", interrupted" if self.interrupted else ""
        return f"EnsembleResult({self.method}, {good}/{len(self.seeds)} runs good{tail}; {'; '.join(parts)})"


def _dumps(obj: Any) -> bytes:
    """Pickle a task; cloudpickle (when installed) also takes lambdas and local functions."""
    try:
        import cloudpickle  # type: ignore[import-untyped]

        return bytes(cloudpickle.dumps(obj))
    except ModuleNotFoundError:
        pass
    try:
        return pickle.dumps(obj)
    except Exception as exc:
        raise InputError(
            f"the ensemble's problem, data or arguments cannot be pickled for the worker processes ({exc}); "
            "install cloudpickle, use module-level functions, or run with workers=0 (in this process)"
        ) from None


def _train(payload: bytes) -> Dict[str, Any]:
    """One run in a worker: unpickle its task, fit, return the record (never raises)."""
    try:
        task = pickle.loads(payload)
    except Exception as exc:
        return _record(-1, "failed", error=f"the task could not be unpickled: {type(exc).__name__}: {exc}")
    return _fit_one(*task)


def _record(seed: int, status: str, error: str = "", **fields: Any) -> Dict[str, Any]:
    rec: Dict[str, Any] = {"seed": seed, "status": status, "params": {}, "steps": 0, "wall_time": 0.0, "losses": {}}
    rec.update(fields)
    rec["error"] = error
    return rec


def _fit_one(
    problem: Problem, data: List[Data], method: str, seed: int, model_kwargs: Dict[str, Any], fit_kwargs: Dict[str, Any]
) -> Dict[str, Any]:
    """Build and fit one model; its record, with a failure caught and described."""
    t0 = time.perf_counter()
    try:
        from ..model import PINN, BiLO

        cls = BiLO if method == "bilo" else PINN
        model = cls(problem, data, seed=seed, **model_kwargs)
        result = model.fit(**fit_kwargs)
        return _record(
            seed, result.status, error=result.message if result.status == "diverged" else "",
            params=dict(result.params), steps=int(result.steps), wall_time=time.perf_counter() - t0,
            losses=dict(result.losses),
        )  # fmt: skip
    except TrainingDiverged as exc:
        return _record(seed, "diverged", error=str(exc), wall_time=time.perf_counter() - t0)
    except Exception as exc:
        return _record(seed, "failed", error=f"{type(exc).__name__}: {exc}", wall_time=time.perf_counter() - t0)


def _worker_init() -> None:
    """Worker processes: one core thread each, and Ctrl-C left to the parent, which stops them."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from .._core import set_num_threads

    set_num_threads(1)


def _seeds(seeds: Iterable[int]) -> List[int]:
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__iter__"):
        raise InputError(f"seeds must be an iterable of non-negative integers such as range(5), got {_show(seeds)}")
    out: List[int] = []
    for s in seeds:
        out.append(check_seed(s, "a seed in seeds"))
        if len(out) > MAX_SEEDS:
            raise InputError(f"seeds: at most {MAX_SEEDS} runs per ensemble")
    if not out:
        raise InputError("seeds is empty: give at least one seed, e.g. range(5)")
    if len(set(out)) != len(out):
        raise InputError(f"seeds must be distinct, got {_show(out)}")
    return out


def _data_for(data: DataArg, seeds: List[int]) -> Dict[int, List[Data]]:
    """The data of each seed: shared, from a mapping {seed: data}, or from a callable seed -> data."""
    if isinstance(data, Mapping):
        missing = [s for s in seeds if s not in data]
        if missing:
            raise InputError(f"data by seed lacks seeds {_show(missing)}")
        return {s: as_list(data[s], f"data for seed {s}") for s in seeds}
    if callable(data):
        return {s: as_list(data(s), f"data({s})") for s in seeds}
    shared = as_list(data)
    return {s: shared for s in seeds}


def _kwargs(
    value: Optional[Mapping[str, Any]], what: str, target: Callable[..., Any], refused: Tuple[str, ...]
) -> Dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InputError(f"{what} must be a mapping of keyword arguments, got {_show(value)}")
    known = set(inspect.signature(target).parameters) - {"self"}
    bad = [k for k in value if k not in known or k in refused]
    if bad:
        raise InputError(
            f"{what} has arguments {_show(bad)} that cannot be passed here"
            + (f" ({', '.join(refused)} come from the ensemble)" if refused else "")
        )
    return dict(value)


def ensemble(
    problem: Problem,
    data: DataArg,
    method: str = "bilo",
    seeds: Iterable[int] = range(5),
    model_kwargs: Optional[Mapping[str, Any]] = None,
    fit_kwargs: Optional[Mapping[str, Any]] = None,
    workers: Union[int, str, None] = None,
    client: Any = None,
) -> EnsembleResult:
    """Train one model per seed in parallel processes and collect their estimates.

    problem : the inverse problem. data : one Data or a list of them shared by every run, a
        mapping {seed: data}, or a callable ``seed -> data`` (called here, e.g.
        ``lambda s: problem.synthetic_data(20, noise=0.01, seed=s)``).
    method : 'bilo' or 'pinn'. seeds : the runs' seeds (the network initialisation).
    model_kwargs : keyword arguments of the model (hidden, n_res, w_data, ...; not seed).
    fit_kwargs : keyword arguments of :meth:`Model.fit` (steps, lr, schedule, ...).
    workers : worker processes (default: one per core, at most one per run); 0 runs in this
        process one after another (no pickling); 'batch' trains every run in this process in one
        :func:`pinnbilo.fit_many` call on :func:`pinnbilo.set_num_threads` threads (no process
        start-up or pickling, each run bit for bit as alone: the fastest for many small models,
        which all stay in memory at once); 'dask': one Dask task per run on a new LocalCluster
        of one-thread worker processes (one per core, at most one per run), closed at the end.
    client : a ``dask.distributed.Client`` to run the tasks on (any cluster: a LocalCluster, or
        dask-jobqueue's SLURMCluster/PBSCluster); implies Dask. A worker that dies costs only its
        tasks, which the scheduler runs again elsewhere. Needs ``pip install 'pinnbilo[sweep]'``.

    A run that fails or diverges is recorded with its status and error, not raised. Ctrl-C stops
    the workers and returns the runs finished so far (``interrupted`` True). With worker
    processes, a script must create the ensemble under ``if __name__ == "__main__":`` (the
    workers start by importing it).
    """
    from ..model import BiLO, Model

    if not isinstance(problem, Problem):
        raise InputError(f"problem must be a pinnbilo Problem, got {_show(problem)}")
    method = choice(method, "method", ("bilo", "pinn"))
    seed_list = _seeds(seeds)
    mk = _kwargs(model_kwargs, "model_kwargs", Model.__init__, ("problem", "data", "seed", "_param_gains"))
    fk = _kwargs(fit_kwargs, "fit_kwargs", BiLO.fit, ())
    if fk.get("callback") is not None or fk.get("progress"):
        raise InputError("fit_kwargs: callback and progress run in the worker processes; leave them out")
    per_seed = _data_for(data, seed_list)
    if isinstance(workers, str) and workers not in ("batch", "dask"):
        raise InputError(f"workers must be a number of processes, 0, 'batch' or 'dask', got {_show(workers)}")
    on_dask = workers == "dask" or client is not None
    if client is not None and workers not in (None, "dask"):
        raise InputError(f"a client runs the tasks on Dask: leave workers out (or 'dask'), got {_show(workers)}")
    batch = workers == "batch"
    if workers is None or on_dask:
        n_workers = min(len(seed_list), os.cpu_count() or 1)
    elif batch:
        n_workers = 0
    else:
        n_workers = integer(workers, "workers", minimum=0, maximum=4096)
    names = list(problem.param_names)
    # Build the first model here: a bad argument fails at once, not in every worker.
    from ..model import PINN

    (BiLO if method == "bilo" else PINN)(problem, per_seed[seed_list[0]], seed=seed_list[0], **mk)
    payloads = [(problem, per_seed[s], method, s, mk, fk) for s in seed_list]
    t0 = time.perf_counter()
    runs: List[Dict[str, Any]] = []
    interrupted = False
    if on_dask:
        runs, interrupted = _dask(payloads, client, n_workers)
    elif batch:
        runs, interrupted = _batch(payloads)
    elif n_workers == 0:
        for p in payloads:
            try:
                rec = _fit_one(*p)
            except KeyboardInterrupt:  # between fits (a fit itself returns status 'interrupted')
                interrupted = True
                break
            runs.append(rec)
            if rec["status"] == "interrupted":
                interrupted = True
                break
    else:
        runs, interrupted = _pool(payloads, n_workers)
    runs.sort(key=lambda r: r["seed"])
    return EnsembleResult(
        runs=runs, names=names, method=method, seeds=seed_list, interrupted=interrupted,
        wall_time=time.perf_counter() - t0,
    )  # fmt: skip


def _batch(payloads: List[Tuple[Any, ...]]) -> Tuple[List[Dict[str, Any]], bool]:
    """Build every run's model here and train them together with fit_many."""
    from ..batch import fit_many
    from ..model import PINN, BiLO

    runs: List[Dict[str, Any]] = []
    built = []
    for problem, data, method, seed, mk, _ in payloads:
        try:
            built.append((seed, (BiLO if method == "bilo" else PINN)(problem, data, seed=seed, **mk)))
        except Exception as exc:
            runs.append(_record(seed, "failed", error=f"{type(exc).__name__}: {exc}"))
    fk = {k: v for k, v in payloads[0][5].items() if k != "on_diverge"} if payloads else {}
    results = fit_many([m for _, m in built], on_diverge="return", **fk)
    for (seed, _), r in zip(built, results):
        runs.append(
            _record(
                seed, r.status, error=r.message if r.status == "diverged" else "", params=dict(r.params),
                steps=int(r.steps), wall_time=r.wall_time, losses=dict(r.losses),
            )
        )  # fmt: skip
    return runs, any(r.status == "interrupted" for r in results)


def _train_on_dask(payload: bytes) -> Dict[str, Any]:
    """One run as a Dask task: one core thread (the worker's other tasks use the other cores)."""
    from .._core import set_num_threads

    set_num_threads(1)
    return _train(payload)


def _dask(payloads: List[Tuple[Any, ...]], client: Any, n_workers: int) -> Tuple[List[Dict[str, Any]], bool]:
    """Run the payloads as Dask tasks (on ``client``, or a LocalCluster of n_workers processes made
    here and closed at the end); on Ctrl-C cancel what is pending and return what finished."""
    from ..sweep.engine import _require, close_client, local_client

    distributed = _require("dask.distributed")
    own = client is None
    if own:
        client = local_client(n_workers)
    elif not isinstance(client, distributed.Client):
        raise InputError(f"client must be a dask.distributed.Client, got {_show(client)}")
    runs: List[Dict[str, Any]] = []
    interrupted = False
    try:
        blobs = [_dumps(p) for p in payloads]
        keys = [f"pinnbilo-ensemble-{uuid.uuid4().hex}-{p[3]}" for p in payloads]
        futures = client.map(_train_on_dask, blobs, key=keys, pure=False)
        seed_of = {f.key: p[3] for f, p in zip(futures, payloads)}
        try:
            for fut in distributed.as_completed(futures):
                try:
                    rec = fut.result()
                    rec["seed"] = seed_of[fut.key]
                except Exception as exc:  # the task was lost (its workers kept dying)
                    rec = _record(
                        seed_of[fut.key], "failed", error=f"the Dask task failed: {type(exc).__name__}: {exc}"
                    )
                runs.append(rec)
        except KeyboardInterrupt:
            interrupted = True
            client.cancel(futures)
    finally:
        if own:
            close_client(client)
    return runs, interrupted


def _pool(payloads: List[Tuple[Any, ...]], n_workers: int) -> Tuple[List[Dict[str, Any]], bool]:
    """Run the payloads in a process pool; on Ctrl-C stop it and return what finished."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    blobs = [_dumps(p) for p in payloads]
    method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
    executor = ProcessPoolExecutor(max_workers=n_workers, mp_context=mp.get_context(method), initializer=_worker_init)
    runs: List[Dict[str, Any]] = []
    interrupted = False
    futures: Dict[Any, int] = {}
    try:
        for b, p in zip(blobs, payloads):
            futures[executor.submit(_train, b)] = p[3]
        for fut in as_completed(futures):
            try:
                rec = fut.result()
                rec["seed"] = futures[fut]
            except Exception as exc:  # a worker that died (killed, out of memory) breaks the pool:
                # this run and those still pending are recorded as failed, the finished ones kept.
                rec = _record(futures[fut], "failed", error=f"the worker process failed: {type(exc).__name__}: {exc}")
            runs.append(rec)
    except KeyboardInterrupt:
        interrupted = True
        for fut in futures:
            fut.cancel()
        # Running workers ignore SIGINT; end them so that the return does not wait for their fits.
        for proc in list(getattr(executor, "_processes", {}).values()):
            proc.terminate()
    finally:
        executor.shutdown(wait=not interrupted, cancel_futures=True)
    return runs, interrupted
