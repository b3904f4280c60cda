"""Sweeps and benchmark suites: many inverse problems, one Dask task each.

Typical use::

    from pinnbilo import sweep

    spec = sweep.Sweep(grid={"problem": ["exponential"], "method": ["PINN", "BiLO"],
                             "noise": [0.0, 0.01], "seed": [1, 2, 3]})
    table = sweep.run_sweep(spec, workers=2, out="results/")   # pandas DataFrame, one row per run
    print(sweep.summarize(table))

or ``python -m pinnbilo sweep SPEC.toml --workers 2 --out results/``. Needs the ``sweep`` extra
(Dask distributed and pandas): ``pip install 'pinnbilo[sweep]'``.
"""

from __future__ import annotations

import os
from typing import List

from .engine import local_client, run_sweep, to_table
from .report import markdown_table, plot_errors, summarize
from .spec import Sweep, run_id
from .store import ResultStore
from .task import run_one

SUITES_DIR = os.path.join(os.path.dirname(__file__), "suites")


def suites() -> List[str]:
    """The names of the shipped suites (``python -m pinnbilo sweep --suite NAME``)."""
    return sorted(f[:-5] for f in os.listdir(SUITES_DIR) if f.endswith(".toml"))


def suite(name: str) -> Sweep:
    """A shipped suite by name, e.g. ``suite("bilo-paper")``."""
    from ..errors import InputError

    if name not in suites():
        raise InputError(f"unknown suite {name!r}; shipped suites: {', '.join(suites())}")
    return Sweep.from_toml(os.path.join(SUITES_DIR, f"{name}.toml"))


__all__ = [
    "Sweep",
    "run_sweep",
    "run_one",
    "run_id",
    "summarize",
    "plot_errors",
    "markdown_table",
    "ResultStore",
    "local_client",
    "to_table",
    "suite",
    "suites",
]
