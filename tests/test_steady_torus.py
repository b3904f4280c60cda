"""Aggregation-diffusion on the 2-D torus: steady states by FFT convolution, and a radial kernel
and/or an external potential from three clean states by Gauss-Newton on Fourier shells and a 2-D
Fourier series."""

import numpy as np
import pytest

from pinnbilo import InputError, steady

from conftest import assert_jacobian_matches_differences, central_difference

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


def test_potential_basis_counts_and_spans_the_fourier_modes():
    spec = steady.TorusSpectral((2, 3))
    B = spec.basis(GRID)
    assert spec.modes == (2, 3) and B.shape == (64 * 64, 5 * 7 - 1)
    np.testing.assert_allclose(GRID.h * B.T @ B, 0.5 * np.eye(B.shape[1]), atol=1e-12)  # orthogonal, L = 1
    np.testing.assert_allclose(B.sum(axis=0), 0.0, atol=1e-9)  # no constant: zero-mean gauge
    X, Y = GRID.coordinates()
    v = potential(X, Y).ravel()
    coef = 2 * GRID.h * B.T @ v
    np.testing.assert_allclose(B @ coef, v - v.mean(), atol=1e-12)
    assert steady.TorusSpectral((0, 3)).basis(GRID).shape[1] == 6  # V of y alone


def test_potential_from_three_clean_states_with_the_kernel_known(states):
    model = steady.TorusAggregationDiffusion(GRID, kappa=1.0, V=steady.TorusSpectral(3), W=gaussian)
    fit = model.fit(states)
    X, Y = GRID.coordinates()
    assert model.unknowns == ("V",) and set(fit.functions) == {"V"}
    assert steady.radial_error(model.V, potential(X, Y)) < 0.01
    assert abs(model.V.mean()) < 1e-12  # the gauge
    assert fit.loss < 1e-14


def test_potential_and_radial_kernel_jointly_from_three_clean_states(states):
    model = steady.TorusAggregationDiffusion(GRID, kappa=1.0, V=steady.TorusSpectral(4), W=steady.RadialSpectral(16))
    fit = model.fit(states)
    X, Y = GRID.coordinates()
    DX, DY = GRID.lags()
    assert model.unknowns == ("V", "W") and set(fit.functions) == {"V", "W"}
    assert steady.radial_error(model.V, potential(X, Y)) < 0.02
    assert steady.radial_error(model.W, gaussian(DX, DY)) < 0.02
    assert fit.loss < 1e-14
    # a single state cannot separate V from W, and the fit says so
    one = steady.TorusStates(GRID, states.u[:1], states.sigma[:1], states.mass[:1], states.weights[:1])
    with pytest.warns(UserWarning, match="single steady state"):
        steady.TorusAggregationDiffusion(GRID, 1.0, V=steady.TorusSpectral(2), W=steady.RadialSpectral(4)).fit(one)


def test_joint_jacobian_and_gradient_match_differences(states):
    model = steady.TorusAggregationDiffusion(GRID, kappa=1.0, V=steady.TorusSpectral(2), W=steady.RadialSpectral(4))
    problem = model.residual(states, smoothness=1e-3)
    theta = 0.05 * np.random.default_rng(1).standard_normal(problem.n_params)
    assert_jacobian_matches_differences(problem, theta)
    r = problem.residual(theta)
    grad = 2 * problem.jacobian(theta).T @ r

    def loss(t):
        q = problem.residual(t)
        return float(q @ q)

    np.testing.assert_allclose(grad, central_difference(loss, theta), rtol=1e-5, atol=1e-8 * np.abs(grad).max())


def _with(states, **change):
    fields = dict(u=states.u, sigma=states.sigma, mass=states.mass, weights=states.weights)
    fields.update(change)
    return steady.TorusStates(GRID, **fields)


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda s: steady.TorusSpectral(0), "TorusSpectral.modes"),
        (lambda s: steady.TorusSpectral((0, 0)), "constant"),
        (lambda s: steady.TorusSpectral((1, 2, 3)), "pair"),
        (lambda s: steady.TorusSpectral(1.5), "integer"),
        (lambda s: steady.TorusAggregationDiffusion(GRID, V=steady.TorusSpectral(40)), "resolves"),
        (lambda s: steady.TorusAggregationDiffusion(GRID, V=steady.Spectral(3)), "TorusSpectral"),
        (lambda s: steady.TorusAggregationDiffusion(GRID, V=steady.RadialSpectral(3)), "TorusSpectral"),
        (lambda s: steady.TorusAggregationDiffusion(GRID, W=steady.TorusSpectral(3)), "RadialSpectral"),
        (lambda s: steady.TorusAggregationDiffusion(GRID, V=potential, W=gaussian), "nothing to learn"),
        (lambda s: steady.TorusAggregationDiffusion(GRID, W=np.full((64, 64), np.nan), V=steady.TorusSpectral(2)), "W"),
        (lambda s: steady.TorusAggregationDiffusion(GRID, W=np.ones((32, 32)), V=steady.TorusSpectral(2)), "W"),
        (lambda s: _model().fit(_with(s, u=s.u[:, :32])), "data.u"),
        (lambda s: _model().fit(_with(s, u=np.where(s.u > 1.5, np.nan, s.u))), "data.u"),
        (lambda s: _model().fit(_with(s, sigma=np.array([0.3, 0.3]))), "data.sigma"),
        (lambda s: _model().fit(_with(s, mass=-s.mass)), "positive"),
        (lambda s: _model().fit(s, smoothness="corner"), "smoothness"),
        (lambda s: _model().fit(s, max_iter=0), "max_iter"),
        (lambda s: _model().residual(s, smoothness=-1.0), "smoothness"),
    ],
)
def test_bad_potential_input_is_refused(states, make, words):
    with pytest.raises(InputError, match=words):
        make(states)


def _model():
    return steady.TorusAggregationDiffusion(GRID, kappa=1.0, V=steady.TorusSpectral(2), W=gaussian)


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


NOISY_GRID = steady.TorusGrid(32, 1.0)


@pytest.fixture(scope="module")
def noisy_potential_fits():
    """V learned (TorusSpectral(4), W known) from the three states on 32x32 with 1% noise (std
    relative to max u of each state), five noise seeds: the smoothness="auto" fits (5,), their V
    errors (5,), the V errors with smoothness 0 (5,) and the true noise std of each state (3,)."""
    clean = steady.torus_states(NOISY_GRID, potential, gaussian, kappa=1.0, sigma=0.3, mass=[0.5, 1.0, 2.0])
    X, Y = NOISY_GRID.coordinates()
    delta = 0.01 * clean.u.max(axis=(1, 2))
    fits, errors = [], []
    for seed in range(5):
        u = clean.u + delta[:, None, None] * np.random.default_rng(seed).standard_normal(clean.u.shape)
        data = steady.TorusStates(NOISY_GRID, u, clean.sigma, clean.mass, clean.weights)
        pair = []
        for smoothness in ("auto", 0.0):
            model = steady.TorusAggregationDiffusion(NOISY_GRID, 1.0, V=steady.TorusSpectral(4), W=gaussian)
            fit = model.fit(data, smoothness=smoothness)
            pair.append(steady.radial_error(model.V, potential(X, Y)))
            if smoothness == "auto":
                fits.append(fit)
        errors.append(pair)
    e = np.array(errors)
    return fits, e[:, 0], e[:, 1], delta


def test_potential_from_noisy_states_with_the_smoothness_chosen_from_the_data(noisy_potential_fits):
    # measured: auto 3.2-4.8% (median 4.2%), smoothness 0 3.2-5.3% (median 4.6%)
    fits, auto, plain, delta = noisy_potential_fits
    assert np.all(auto < 0.10)  # about twice the worst of the five seeds
    assert np.median(auto) < np.median(plain)  # the penalty helps on most seeds
    assert np.all(auto < 1.1 * plain)  # and never costs more than a few percent of the error
    for fit in fits:
        # the L-curve of a few dozen well-determined modes has no corner: the least predictive risk is taken
        assert fit.extra["smoothness_rule"] == "risk"
        assert 1e-7 < fit.extra["smoothness"] < 1e-3
        np.testing.assert_allclose(fit.extra["noise"], delta, rtol=0.25)  # the 2-D spectrum's estimate
        assert fit.extra["lcurve"].shape == (37, 3)
