"""The C++ gradients of the fixed-point losses against central finite differences in numpy."""

import numpy as np
import pytest

from pinnbilo import _core
from pinnbilo import steady as st

from conftest import central_difference


def _states(grid, S=2):
    x = grid.x
    return np.stack([np.exp(0.8 * np.cos(2 * np.pi * x) + 0.3 * s * np.sin(4 * np.pi * x)) for s in range(S)])


def _numpy_loss(grid, u, w, sigma, mass, V, W, kappa):
    """The aggregation-diffusion fixed-point loss written independently in numpy (FFT convolution)."""
    loss = 0.0
    for s in range(u.shape[0]):
        t = st.aggregation_map(grid, u[s], V, W, kappa, sigma[s], mass[s])
        loss += np.sum(w[s] * (t - u[s]) ** 2) / np.sum(w[s] * u[s] ** 2)
    return loss


@pytest.mark.parametrize("unknowns", [("V",), ("W",), ("V", "W")])
def test_aggregation_gradient_matches_finite_differences(unknowns):
    grid = st.PeriodicGrid(24, 2.0)
    u = _states(grid)
    w = np.ones_like(u)
    w[1, ::3] = 0.0  # sparse observations in one state
    data = st.PeriodicStates(grid, u, sigma=[0.7, 1.3], mass=[1.0, 2.5], weights=w)
    V_known = 0.3 * np.sin(2 * np.pi * grid.x / grid.length)
    W_known = np.exp(-(grid.lags**2) / 0.2)
    model = st.AggregationDiffusion(
        grid,
        kappa=0.8,
        V=st.Unknown(hidden=(6, 5), seed=1) if "V" in unknowns else V_known,
        W=st.Unknown(hidden=(7,), seed=2) if "W" in unknowns else W_known,
    )
    rng = np.random.default_rng(0)
    params = model.params + 0.3 * rng.standard_normal(model.params.size)
    loss, grad = model.loss_and_grad(data, params)

    def f(p):
        model.params = p
        fv = model.functions()
        return _numpy_loss(grid, data.u, data.weights, data.sigma, data.mass, fv["V"], fv["W"], model.kappa)

    assert loss == pytest.approx(f(params), rel=1e-12)
    fd = central_difference(f, params, h=1e-6)
    assert np.max(np.abs(grad - fd)) <= 1e-6 * np.max(np.abs(fd))
    assert np.max(np.abs(fd)) > 1e-3  # the check is not vacuous


def test_aggregation_gradient_in_function_values():
    """d loss / d (V, W grid values) from the core against finite differences."""
    grid = st.PeriodicGrid(16, 1.0)
    u = _states(grid, 3)
    core = _core.AggregationDiffusionFit(grid.n, grid.length, 1.7, u, np.ones_like(u), [0.5, 1.0, 2.0], [1, 2, 3])
    rng = np.random.default_rng(1)
    V, W = rng.standard_normal(grid.n), rng.standard_normal(grid.n)
    _, gv, gw = core.loss_from_values(V, W)
    fd_v = central_difference(lambda v: core.loss_from_values(v, W)[0], V)
    fd_w = central_difference(lambda w: core.loss_from_values(V, w)[0], W)
    assert np.allclose(gv, fd_v, rtol=1e-6, atol=1e-9)
    assert np.allclose(gw, fd_w, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("depends_on", ["u", "x", "xu"])
def test_semilinear_gradient_matches_finite_differences(depends_on):
    grid = st.IntervalGrid(20, 0.0, 2.0)
    u = np.stack([np.sin(np.pi * grid.x / 2) * a + b for a, b in ((1.0, 0.1), (0.5, -0.3))])
    w = np.ones_like(u)
    w[0, 1::4] = 0.0
    data = st.DirichletStates(grid, u, left=[0.1, -0.3], right=[0.2, 0.4], weights=w)
    model = st.Semilinear(grid, diffusion=0.6, g=st.Unknown(hidden=(8, 6), seed=3), depends_on=depends_on)
    rng = np.random.default_rng(2)
    params = model.params + 0.2 * rng.standard_normal(model.params.size)
    loss, grad = model.loss_and_grad(data, params)

    def f(p):
        model.params = p
        total = 0.0
        for s in range(len(data)):
            t = st.semilinear_map(grid, data.u[s], model.g, model.diffusion, data.left[s], data.right[s])
            total += np.sum(w[s] * (t - u[s]) ** 2) / np.sum(w[s] * u[s] ** 2)
        return total

    assert loss == pytest.approx(f(params), rel=1e-10)
    fd = central_difference(f, params, h=1e-6)
    assert np.max(np.abs(grad - fd)) <= 1e-6 * np.max(np.abs(fd))
    assert np.max(np.abs(fd)) > 1e-4


def test_smoothness_penalty_value_and_gradient():
    grid = st.PeriodicGrid(20, 1.5)
    data = st.PeriodicStates(grid, _states(grid), sigma=[0.6, 1.1])
    model = st.AggregationDiffusion(grid, kappa=0.5, V=st.Unknown(hidden=(6,)), W=st.Unknown(hidden=(5,), seed=4))
    lam = {"V": 0.03, "W": 0.2}
    params = model.params.copy()

    def f(p):
        model.params = p
        fv = model.functions()
        fp = _numpy_loss(grid, data.u, data.weights, data.sigma, data.mass, fv["V"], fv["W"], model.kappa)
        for name in ("V", "W"):  # lambda h sum ((f_{i+1} - f_i) / h)^2, periodic
            fp += lam[name] / grid.h * np.sum((np.roll(fv[name], -1) - fv[name]) ** 2)
        return fp

    loss, grad = model.loss_and_grad(data, params, smoothness=lam)
    assert loss == pytest.approx(f(params), rel=1e-12)
    assert loss > model.loss_and_grad(data, params)[0]  # the penalty is on
    fd = central_difference(f, params, h=1e-6)
    assert np.max(np.abs(grad - fd)) <= 1e-6 * np.max(np.abs(fd))
