"""Fixed-point steady-state loss timings (pytest-benchmark): one loss + exact gradient in C++.

Run: ``pytest bench/test_bench_steady.py --benchmark-only``. The aggregation-diffusion loss costs
a circulant product per state (S n^2) plus the MLP forward and reverse pass over n points.
"""

import numpy as np
import pytest

from pinnbilo import steady as st


@pytest.mark.parametrize("n", [128, 512])
@pytest.mark.parametrize("unknowns", ["V", "W", "VW"])
def test_aggregation_loss_and_grad(benchmark, n, unknowns):
    grid = st.PeriodicGrid(n, 1.0)
    x = grid.x
    u = np.stack([np.exp(np.cos(2 * np.pi * x) * a) for a in (0.5, 1.0, 2.0, 3.0)])
    data = st.PeriodicStates(grid, u, sigma=0.5)
    model = st.AggregationDiffusion(
        grid,
        kappa=1.0,
        V=st.Unknown(hidden=(32, 32)) if "V" in unknowns else None,
        W=st.Unknown(hidden=(32, 32)) if "W" in unknowns else None,
    )
    core = model.build(data)
    params = model.params
    benchmark.extra_info.update(n=n, states=len(data), n_params=params.size)
    benchmark(core.loss_and_grad, params)


def test_semilinear_loss_and_grad(benchmark):
    grid = st.IntervalGrid(255)
    u = np.stack([np.sin(np.pi * grid.x) * a for a in (0.5, 1.0, 2.0)])
    data = st.DirichletStates(grid, u, 0.0, 0.0)
    model = st.Semilinear(grid, g=st.Unknown(hidden=(32, 32)))
    core = model.build(data)
    benchmark(core.loss_and_grad, model.params)
