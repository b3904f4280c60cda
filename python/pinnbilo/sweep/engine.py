"""Running a sweep on Dask distributed: every configuration a task, results streamed to the store.

Without a client, a ``LocalCluster`` of worker processes (one thread each) is started on this
machine and closed at the end; with a ``client`` or a ``scheduler`` address the sweep runs on that
cluster (for SLURM or PBS, make the client from dask-jobqueue's ``SLURMCluster``/``PBSCluster``).
A worker that dies mid-run costs only its tasks: the scheduler runs them again elsewhere.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Dict, List, Optional, Union

from ..errors import InputError
from .spec import Sweep
from .store import ResultStore
from .task import THREAD_ENV, run_one


def _require(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError:
        raise InputError(
            f"sweeps need {module.split('.')[0]} (Dask distributed and pandas): pip install 'pinnbilo[sweep]'"
        ) from None


def to_table(rows: List[Dict[str, Any]]) -> Any:
    """Rows as a pandas DataFrame, the configuration's columns first."""
    pd = _require("pandas")
    table = pd.DataFrame(rows)
    first = [c for c in ("run_id", "problem", "method", "noise", "n_data", "seed", "data_seed") if c in table]
    return table[first + [c for c in table.columns if c not in first]]


def local_client(workers: Optional[int] = None) -> Any:
    """A Dask client of a new LocalCluster: ``workers`` processes (default: the cores), one thread each."""
    distributed = _require("dask.distributed")
    n = workers if workers is not None else (os.cpu_count() or 1)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InputError(f"workers must be a positive integer, got {workers!r}")
    cluster = distributed.LocalCluster(
        n_workers=n, threads_per_worker=1, processes=True, env=dict(THREAD_ENV), dashboard_address=":0"
    )
    return distributed.Client(cluster)


def close_client(client: Any) -> None:
    """Close a client made here and the cluster it started (a LocalCluster of local_client)."""
    cluster = getattr(client, "cluster", None)
    client.close()
    if cluster is not None:
        cluster.close()


def run_sweep(
    sweep: Union[Sweep, str],
    client: Any = None,
    scheduler: Optional[str] = None,
    workers: Optional[int] = None,
    out: Optional[str] = None,
    progress: bool = True,
) -> Any:
    """Run every configuration of ``sweep`` (a :class:`Sweep` or the path of a TOML spec) that the
    results folder ``out`` does not hold yet, one Dask task each; return the table of all its runs
    (pandas DataFrame, one row per run: see :func:`pinnbilo.sweep.run_one`).

    client : a ``dask.distributed.Client`` to use; scheduler : the address of a running scheduler
    (``"tcp://host:8786"``); neither: a LocalCluster of ``workers`` processes for this sweep.
    out : the results folder (each run written as it finishes, ``results.csv`` at the end); None
    keeps the rows in memory only. progress : a tqdm bar over runs (done, failed, pending).
    Ctrl-C cancels what is still running and returns the table of what finished
    (``table.attrs["interrupted"]`` is True); a rerun with the same ``out`` goes on from there.
    """
    if isinstance(sweep, str):
        sweep = Sweep.from_toml(sweep)
    if not isinstance(sweep, Sweep):
        raise InputError(f"sweep must be a pinnbilo.sweep.Sweep or the path of a TOML spec, got {type(sweep).__name__}")
    if client is not None and scheduler is not None:
        raise InputError("give a client or a scheduler address, not both")
    distributed = _require("dask.distributed")
    _require("pandas")
    store = ResultStore(out)
    configs = sweep.configurations()
    todo = [c for c in configs if c["run_id"] not in store.done()]
    interrupted = False
    if todo:
        own = client is None
        if own:
            client = distributed.Client(scheduler) if scheduler is not None else local_client(workers)
        try:
            if progress:
                print(f"sweep {sweep.name!r}: {len(todo)} runs to do ({len(configs) - len(todo)} done before); "
                      f"Dask dashboard: {client.dashboard_link}", file=sys.stderr)  # fmt: skip
            interrupted = _stream(client, distributed, todo, store, progress)
        finally:
            if own:
                close_client(client)
    table = to_table(store.rows([c["run_id"] for c in configs]))
    table.attrs["interrupted"] = interrupted
    store.write_table(table)
    return table


def _stream(client: Any, distributed: Any, todo: List[Dict[str, Any]], store: ResultStore, progress: bool) -> bool:
    """Submit every run, keep each row as its task finishes; True when Ctrl-C cut the sweep short."""
    futures = client.map(run_one, todo, key=[f"pinnbilo-run-{c['run_id']}" for c in todo], pure=False)
    by_key = {f.key: c for f, c in zip(futures, todo)}
    bar = None
    if progress:
        from tqdm.auto import tqdm  # type: ignore[import-untyped]  # no tqdm stubs

        bar = tqdm(total=len(todo), desc="runs", unit="run")
    failed = 0
    try:
        for i, future in enumerate(distributed.as_completed(futures), start=1):
            try:
                row = future.result()
            except Exception as exc:  # the task itself was lost (e.g. its workers kept dying)
                row = {**by_key[future.key], "steps": 0, "status": "failed", "message": f"{type(exc).__name__}: {exc}"}
            store.add(row)
            failed += row.get("status") == "failed"
            if bar is not None:
                bar.update(1)
                bar.set_postfix(done=i - failed, failed=failed, pending=len(todo) - i)
    except KeyboardInterrupt:
        client.cancel(futures)
        return True
    finally:
        if bar is not None:
            bar.close()
    return False
