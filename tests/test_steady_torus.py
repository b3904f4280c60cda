"""Aggregation-diffusion on the 2-D torus: steady states by FFT convolution, and a radial kernel
from three clean states by Gauss-Newton on Fourier shells."""

import numpy as np
import pytest

from pinnbilo import InputError, steady

from conftest import assert_jacobian_matches_differences

GRID = steady.TorusGrid(64, 1.0)


def gaussian(dx, dy):
    return -np.exp(-(dx**2 + dy**2) / (2 * 0.1**2))


def potential(x, y):
    return 0.3 * np.cos(2 * np.pi * x) + 0.2 * np.sin(2 * np.pi * (x + 2 * y)) + 0.15 * np.cos(2 * np.pi * y)


@pytest.fixture(scope="module")
def states():
    return steady.torus_states(GRID, potential, gaussian, kappa=1.0, sigma=0.3, mass=[0.5, 1.0, 2.0])


def test_states_have_their_mass_and_the_convolution_is_the_direct_sum(states):
    np.testing.assert_allclose(GRID.h * states.u.sum(axis=(1, 2)), states.mass, rtol=1e-12)
    X, Y = GRID.coordinates()
    DX, DY = GRID.lags()
    u = states.u[1]
    i, j = 5, 17
    dx, dy = _wrap(X[i, j] - X, Y[i, j] - Y)
    direct = GRID.h * np.sum(gaussian(dx, dy) * u)
    conv = GRID._convolve(gaussian(DX, DY).ravel(), u.ravel()).reshape(64, 64)[i, j]
    assert conv == pytest.approx(direct, rel=1e-10)


def _wrap(dx, dy):
    return (dx + 0.5) % 1.0 - 0.5, (dy + 0.5) % 1.0 - 0.5


def test_radial_kernel_from_three_clean_states(states):
    model = steady.TorusAggregationDiffusion(GRID, kappa=1.0, V=potential, W=steady.RadialSpectral())
    fit = model.fit(states)
    DX, DY = GRID.lags()
    assert steady.radial_error(model.W, gaussian(DX, DY)) < 0.01
    assert fit.loss < 1e-14
    auto = steady.TorusAggregationDiffusion(GRID, kappa=1.0, V=potential, W=steady.RadialSpectral(8))
    assert auto.fit(states, smoothness="auto").extra["smoothness"] == 0.0  # clean data: no penalty


def test_shell_jacobian_matches_differences(states):
    model = steady.TorusAggregationDiffusion(GRID, kappa=1.0, V=potential, W=steady.RadialSpectral(4))
    problem = model.residual(states, smoothness=1e-3)
    theta = 0.05 * np.random.default_rng(0).standard_normal(problem.n_params)
    assert_jacobian_matches_differences(problem, theta)


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: steady.TorusGrid(2), "TorusGrid N"),
        (lambda: steady.RadialSpectral(0), "RadialSpectral.kmax"),
        (lambda: steady.TorusAggregationDiffusion(GRID, W=steady.RadialSpectral(40)), "resolves"),
        (lambda: steady.TorusAggregationDiffusion(GRID, kappa=0.0), "kappa"),
        (lambda: steady.TorusAggregationDiffusion(GRID, V=np.ones(5)), "V"),
        (lambda: steady.torus_steady_state(steady.PeriodicGrid(8)), "TorusGrid"),
        (lambda: steady.torus_states(GRID, sigma=[1.0, 2.0], mass=[1.0, 2.0, 3.0]), "broadcast"),
    ],
)
def test_bad_torus_input_is_refused(make, words):
    with pytest.raises(InputError, match=words):
        make()
