"""Training-step and forward-jet timings (pytest-benchmark).

Run: ``pytest bench/ --benchmark-only`` (not part of the test suite: tests check correctness,
benchmarks measure speed); ``-k fkpp``, ``-k latency`` and so on pick subsets. One step = losses +
all gradients + the Adam update(s), in C++. For the comparison with PyTorch and JAX see
bench/compare_frameworks.py. Each benchmark records the step's matrix-product FLOP count
(extra_info["flops"], see cases.step_flops) so GFLOP/s can be read off the JSON output.
"""

import numpy as np
import pytest
from cases import Case, make_model, step_flops

import pinnbilo as pb
from pinnbilo import _core

WIDTHS = [32, 64, 128]
DEPTHS = [2, 4]
POINTS = [128, 1024]


@pytest.fixture(params=[1, 2], ids=["1thread", "2threads"])
def threads(request):
    before = pb.get_num_threads()
    pb.set_num_threads(request.param)
    yield request.param
    pb.set_num_threads(before)


def _time_steps(benchmark, case: Case, threads: int) -> None:
    model = make_model(case)
    trainer = model._trainer
    steps = max(1, int(2e8 // step_flops(case)["total"]))  # ~10 ms per round at 20 GFLOP/s
    benchmark.extra_info.update(steps_per_round=steps, flops=step_flops(case)["total"], threads=threads)

    def run() -> None:
        trainer.run({"steps": steps, "train_params": True, "callback_every": 1 << 30}, None)
        trainer.clear_history()

    benchmark.pedantic(run, rounds=10, warmup_rounds=1)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("n_points", POINTS)
@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("method", ["pinn", "bilo"])
def test_ode_training_step(benchmark, threads, method, width, depth, n_points, dtype):
    """Exponential growth u_t = a u, u = 1 + t N."""
    _time_steps(benchmark, Case("ode", method, width, depth, n_points, dtype), threads)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("n_points", [1024, 4096])
@pytest.mark.parametrize("method", ["pinn", "bilo"])
def test_fkpp_training_step(benchmark, threads, method, n_points, dtype):
    """Fisher-KPP u_t = D u_xx + rho u (1 - u), width 64, 4 hidden layers."""
    _time_steps(benchmark, Case("fkpp", method, 64, 4, n_points, dtype), threads)


@pytest.mark.parametrize("method", ["pinn", "bilo"])
def test_latency_step(benchmark, method):
    """The smallest configuration, one step per call: per-step overhead shows here."""
    trainer = make_model(Case("ode", method, 32, 2, 128))._trainer

    def run() -> None:
        trainer.run({"steps": 1, "train_params": True, "callback_every": 1 << 30}, None)

    benchmark.pedantic(run, rounds=2000, iterations=1, warmup_rounds=20)
    trainer.clear_history()


@pytest.mark.parametrize("n_points", [128, 1024])
@pytest.mark.parametrize("width", [32, 64])
def test_forward_jets(benchmark, width, n_points):
    """Forward-only jet evaluation: u and its derivatives up to (1, 1) at n points."""
    sizes = [2, width, width, width, width, 1]
    w = _core.mlp_init(sizes, "tanh", 0)
    z = np.random.default_rng(0).uniform(size=(n_points, 2))
    derivs = [[0, 0], [1, 0], [0, 1], [1, 1]]
    benchmark(_core.mlp_derivatives, sizes, "tanh", w, z, derivs)


def test_forward_predict(benchmark):
    """Model.predict with second derivatives on the Fisher-KPP BiLO network (4096 points)."""
    model = make_model(Case("fkpp", "bilo", 64, 4, 1024))
    pts = np.random.default_rng(2).random((4096, 2))
    benchmark(model.predict, pts, ["u", "u_t", "u_xx", "u_D", "u_rho"])


def test_steady_loss_and_gradient(benchmark):
    """Fixed-point steady-state loss and its gradient (pinnbilo.steady), the docstring's example size."""
    from pinnbilo import steady

    grid = steady.PeriodicGrid(128, length=1.0)
    states = steady.aggregation_diffusion_states(
        grid, V=lambda x: np.cos(4 * np.pi * x) + 0.5 * np.cos(2 * np.pi * x), kappa=0.0, sigma=[0.5, 1.0]
    )
    model = steady.AggregationDiffusion(grid, kappa=0.0, V=steady.Unknown())
    core = model.build(states)
    params = model.params
    benchmark(core.loss_and_grad, params)
