"""One run of a sweep, as a Dask task executes it: a configuration in, one result row out.

The row never raises: a run that fails or diverges is a row with its status and message, so one
bad configuration does not end a sweep of thousands.
"""

from __future__ import annotations

import math
import os
import time
import traceback
from typing import Any, Dict, Mapping

# One core per task: the kernels' thread pool and any BLAS stay single-threaded in a worker.
THREAD_ENV = {
    "PINNBILO_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


def _finite_or_none(x: float) -> Any:
    return float(x) if math.isfinite(x) else None


def run_one(config: Mapping[str, Any]) -> Dict[str, Any]:
    """Train one configuration (see :mod:`pinnbilo.sweep.spec`) and return its row.

    The row holds the configuration, ``err_<unknown>`` (relative errors of every parameter and
    function), ``loss_<kind>`` (final losses), ``steps``, ``wall_time`` (s), ``status``
    ('completed', 'converged', 'early_stopped', 'diverged', 'failed', ...) and ``message``.
    """
    for k, v in THREAD_ENV.items():
        os.environ.setdefault(k, v)
    from .. import compare
    from .._core import set_num_threads

    set_num_threads(1)
    row: Dict[str, Any] = dict(config)
    row.pop("steps", None)  # the row's steps are those taken; the budget stays under budget_steps
    if "steps" in config:
        row["budget_steps"] = config["steps"]
    start = time.perf_counter()
    try:
        prefixed = {
            p: {k.split(".", 1)[1]: v for k, v in config.items() if k.startswith(p + ".")}
            for p in ("problem", "model", "fit")
        }
        model_options = dict(prefixed["model"])
        if isinstance(model_options.get("hidden"), list):
            model_options["hidden"] = tuple(model_options["hidden"])
        outcome = compare.run(
            str(config["problem"]),
            noise=float(config.get("noise", 0.0)),
            seed=int(config.get("seed", 0)),
            data_seed=int(config.get("data_seed", config.get("seed", 0))),
            steps=config.get("steps"),
            problem_args=prefixed["problem"],
            methods=(str(config["method"]),),
            n_data=config.get("n_data"),
            model_options=model_options,
            fit_options={"on_diverge": "return", **prefixed["fit"]},
        )[0]
        row.update({f"err_{k}": _finite_or_none(v) for k, v in outcome.errors.items()})
        row.update({f"loss_{k}": _finite_or_none(v) for k, v in outcome.losses.items()})
        row.update(steps=outcome.steps, status=outcome.status, message=outcome.message)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # recorded, not fatal: see the module docstring
        last = traceback.extract_tb(exc.__traceback__)[-1:]
        where = f" ({last[0].filename.rsplit('/', 1)[-1]}:{last[0].lineno})" if last else ""
        row.update(steps=0, status="failed", message=f"{type(exc).__name__}: {exc}{where}")
    row["wall_time"] = time.perf_counter() - start
    row["worker_pid"] = os.getpid()
    return row
