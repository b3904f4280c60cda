"""Training-step and forward-jet timings (pytest-benchmark).

Run: ``pytest bench/ --benchmark-only`` (not part of the test suite: tests check correctness,
benchmarks measure speed). One step = losses + all gradients + the Adam update, in C++.
"""

import numpy as np
import pytest

import pinnbilo as pb
from pinnbilo import _core

WIDTHS = [32, 64, 128]
DEPTHS = [2, 4]
POINTS = [128, 1024]


def ode_model(cls, width, depth, n_points, dtype="float64"):
    problem = pb.problems.exponential_growth()
    data = problem.synthetic_data(20, noise=0.0)
    colloc = np.linspace(0.0, 1.0, n_points)
    return cls(problem, data, hidden=(width,) * depth, collocation=colloc, dtype=dtype, seed=0)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("n_points", POINTS)
@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("cls", [pb.PINN, pb.BiLO], ids=["pinn", "bilo"])
def test_ode_training_step(benchmark, cls, width, depth, n_points, dtype):
    model = ode_model(cls, width, depth, n_points, dtype)
    trainer = model._trainer
    steps = 20
    benchmark.extra_info["steps_per_round"] = steps
    benchmark.pedantic(lambda: trainer.run(steps, True, 1 << 30, None, 0.0), rounds=10, warmup_rounds=1)


@pytest.mark.parametrize("n_points", [128, 1024])
@pytest.mark.parametrize("width", [32, 64])
def test_forward_jets(benchmark, width, n_points):
    sizes = [2, width, width, width, width, 1]
    w = _core.mlp_init(sizes, "tanh", 0)
    z = np.random.default_rng(0).uniform(size=(n_points, 2))
    derivs = [[0, 0], [1, 0], [0, 1], [1, 1]]
    benchmark(_core.mlp_derivatives, sizes, "tanh", w, z, derivs)
