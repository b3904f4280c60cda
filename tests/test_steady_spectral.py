"""Spectral (Fourier-series) unknowns of aggregation-diffusion fitted by Gauss-Newton: the residual's
Jacobian against finite differences, the loss against the C++ core, recovery of a Morse-type
kernel to the discretisation's accuracy on clean data and with the smoothness chosen from noisy
partial data, and clear errors."""

import numpy as np
import pytest

from pinnbilo import InputError, steady

from conftest import assert_jacobian_matches_differences

GRID = steady.PeriodicGrid(128, 1.0)


def morse(lag):
    """W(r) = -exp(-s/0.15) + 0.6 exp(-s/0.05), s = sqrt(r^2 + 0.02^2), periodised on the unit torus."""
    total = 0.0
    for k in range(-3, 4):
        s = np.sqrt((lag + k) ** 2 + 0.02**2)
        total = total - np.exp(-s / 0.15) + 0.6 * np.exp(-s / 0.05)
    return total


def potential(x):
    return 0.15 * np.cos(2 * np.pi * x) + 0.1 * np.sin(4 * np.pi * x + 0.7)


@pytest.fixture(scope="module")
def states():
    return steady.aggregation_diffusion_states(GRID, V=potential, W=morse, kappa=1.0, sigma=0.2, mass=[0.5, 1.0, 2.0])


def _core_depth(w):
    """The depth of the repulsive core: W at lag 0 above the kernel's minimum."""
    return w[0] - w.min()


@pytest.mark.parametrize("learn", ["W", "VW"])
def test_jacobian_matches_central_differences(states, learn):
    obs = steady.observe_periodic(states, m=48, noise=0.01, seed=1)  # partial, noisy: weights 0 and 1
    V = steady.Spectral(6) if "V" in learn else potential
    model = steady.AggregationDiffusion(GRID, kappa=1.0, V=V, W=steady.Spectral(8))
    problem = model.spectral_residual(obs, {k: 1e-3 for k in learn})
    rng = np.random.default_rng(0)
    theta = 0.05 * rng.standard_normal(problem.n_params)
    assert_jacobian_matches_differences(problem, theta)


def test_loss_agrees_with_the_core_and_gradient_with_differences(states):
    obs = steady.observe_periodic(states, m=64, noise=0.0)
    model = steady.AggregationDiffusion(GRID, kappa=1.0, V=steady.Spectral(5), W=steady.Spectral(10))
    smooth = {"V": 1e-3, "W": 2e-3}
    theta = 0.1 * np.random.default_rng(3).standard_normal(model.params.size)
    loss, grad = model.loss_and_grad(obs, theta, smoothness=smooth)  # C++ core, chained through the basis
    r = model.spectral_residual(obs, smooth).residual(theta)  # numpy, independent
    assert loss == pytest.approx(float(r @ r), rel=1e-12)
    h = 1e-6
    for j in range(0, theta.size, 3):
        e = np.zeros_like(theta)
        e[j] = h
        fd = (model.loss_and_grad(obs, theta + e, smooth)[0] - model.loss_and_grad(obs, theta - e, smooth)[0]) / (2 * h)
        assert grad[j] == pytest.approx(fd, rel=1e-6, abs=1e-10)


@pytest.mark.parametrize("modes", [None, 20, 40])
def test_clean_morse_kernel_to_the_discretisation_accuracy(states, modes):
    model = steady.AggregationDiffusion(GRID, kappa=1.0, V=potential, W=steady.Spectral(modes))
    fit = model.fit(states, check=False)
    truth = morse(GRID.lags)
    assert steady.relative_error(fit.functions["W"], truth) < 0.005  # more modes never make it worse
    w, t = fit.functions["W"], truth - truth.mean()
    assert abs(_core_depth(w) - _core_depth(t)) < 0.1 * _core_depth(t)
    assert fit.loss < 1e-15
    assert fit.extra["method"] == "gauss-newton" and fit.extra["smoothness"] == 0.0


def test_potential_and_kernel_together_from_clean_states(states):
    model = steady.AggregationDiffusion(GRID, kappa=1.0, V=steady.Spectral(), W=steady.Spectral())
    fit = model.fit(states, check=False)
    assert steady.relative_error(fit.functions["W"], morse(GRID.lags)) < 0.005
    assert steady.relative_error(fit.functions["V"], potential(GRID.x)) < 1e-6
    x = np.linspace(0, 1, 37)
    np.testing.assert_allclose(model.evaluate("V", x), potential(x) - 0.0, atol=1e-6)


@pytest.mark.parametrize("noise_seed", range(5))
def test_smoothness_chosen_from_noisy_partial_data(states, noise_seed):
    obs = steady.observe_periodic(states, m=64, noise=0.02, seed=noise_seed)
    model = steady.AggregationDiffusion(GRID, kappa=1.0, V=potential, W=steady.Spectral())
    fit = model.fit(obs, smoothness="auto", check=False)
    assert steady.relative_error(fit.functions["W"], morse(GRID.lags)) < 0.08
    assert 1e-6 < fit.extra["smoothness"] < 1.0
    true_noise = 0.02 * states.u.max(axis=1)
    np.testing.assert_allclose(fit.extra["noise"], true_noise, rtol=0.5)
    assert fit.extra["lcurve"].shape[1] == 3
    assert fit.extra["smoothness_rule"] == "lcurve"  # the circle's L-curve has its corner


def test_auto_smoothness_of_clean_data_is_zero(states):
    model = steady.AggregationDiffusion(GRID, kappa=1.0, V=potential, W=steady.Spectral(20))
    fit = model.fit(states, smoothness="auto", check=False)
    assert fit.extra["smoothness"] == 0.0 and fit.extra["smoothness_rule"] == "clean"
    assert np.all(steady.noise_level(states) < 1e-9 * states.u.max(axis=1))


def test_noise_level_estimates_white_noise(states):
    obs = steady.observe_periodic(states, noise=0.01, seed=4)
    np.testing.assert_allclose(steady.noise_level(obs), 0.01 * states.u.max(axis=1), rtol=0.35)


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: steady.Spectral(0), "Spectral.modes"),
        (lambda: steady.Spectral(True), "Spectral.modes"),
        (lambda: steady.AggregationDiffusion(GRID, W=steady.Spectral(64)), "below Nyquist"),
        (lambda: steady.AggregationDiffusion(GRID, V=steady.Unknown(), W=steady.Spectral()), "both"),
    ],
)
def test_bad_spectral_setups_are_refused(make, words):
    with pytest.raises(InputError, match=words):
        make()


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"adam_steps": 100}, "Gauss-Newton"),
        ({"lbfgs_steps": 10, "lr": 1e-3}, "lbfgs_steps, lr|lr, lbfgs_steps"),
        ({"smoothness": "gcv"}, "'auto'"),
        ({"smoothness": -1.0}, "smoothness"),
        ({"max_iter": 0}, "max_iter"),
    ],
)
def test_bad_spectral_fit_options_are_refused(states, kwargs, words):
    model = steady.AggregationDiffusion(GRID, kappa=1.0, V=potential, W=steady.Spectral(10))
    with pytest.raises(InputError, match=words):
        model.fit(states, check=False, **kwargs)
    with pytest.raises(InputError, match="Spectral"):
        model.build(states)


def test_network_fit_takes_the_automatic_smoothness(states):
    obs = steady.observe_periodic(states, m=64, noise=0.02, seed=0)
    model = steady.AggregationDiffusion(GRID, kappa=1.0, V=potential, W=steady.Unknown(hidden=(8,)))
    fit = model.fit(obs, adam_steps=20, lbfgs_steps=5, smoothness="auto", check=False)
    assert 1e-6 < fit.extra["smoothness"] < 1.0 and fit.extra["noise"].shape == (3,)


def test_warnings_point_at_the_callers_line():
    uniform = steady.PeriodicStates(GRID, np.ones((1, GRID.n)), sigma=1.0)
    model = steady.AggregationDiffusion(GRID, kappa=1.0, W=steady.Spectral(5))
    with pytest.warns(UserWarning, match="uniform") as record:
        model.fit(uniform)
    assert record[0].filename == __file__


def test_newton_from_the_uniform_start_of_a_peaked_state_agrees_with_picard():
    picard = steady.steady_state(GRID, potential, morse, kappa=1.0, sigma=0.2, mass=3.0)
    newton = steady.steady_state(GRID, potential, morse, kappa=1.0, sigma=0.2, mass=3.0, method="newton")
    assert picard.max() > 10  # peaked: the case where Newton on T(u) - u stalled
    np.testing.assert_allclose(newton, picard, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("n", [64, 2048])
def test_log_newton_jacobian_is_exact(n):
    from pinnbilo.steady.newton import LogFixedPoint

    grid = steady.PeriodicGrid(n, 1.0)
    prob = LogFixedPoint(grid, potential(grid.x), morse(grid.lags), 1.0, 0.2, 2.0)
    rng = np.random.default_rng(n)
    psi, v = 0.3 * rng.standard_normal(n), rng.standard_normal(n)
    F, p = prob.residual(psi)
    h = 1e-6
    fd = (prob.residual(psi + h * v)[0] - prob.residual(psi - h * v)[0]) / (2 * h)
    np.testing.assert_allclose(prob.jvp(psi, p, v), fd, rtol=1e-6, atol=1e-8)
    if n <= 64:
        np.testing.assert_allclose(prob.jacobian(psi, p) @ v, prob.jvp(psi, p, v), rtol=1e-12, atol=1e-12)


def test_newton_on_a_large_grid_uses_the_matrix_free_product():
    grid = steady.PeriodicGrid(2048, 1.0)
    u = steady.steady_state(grid, potential, morse, kappa=1.0, sigma=0.2, mass=1.0, method="newton")
    picard = steady.steady_state(grid, potential, morse, kappa=1.0, sigma=0.2, mass=1.0)
    np.testing.assert_allclose(u, picard, rtol=1e-7)


def test_identifiability_compares_modes_with_the_noise_floor():
    rng = np.random.default_rng(0)
    grid = steady.PeriodicGrid(64, 1.0)
    uniform = steady.PeriodicStates(grid, 1.0 + 0.02 * rng.standard_normal((2, 64)), sigma=1.0, mass=1.0)
    model = steady.AggregationDiffusion(grid, kappa=1.0, W=steady.Unknown(hidden=(4,)))
    report = steady.identifiability(model, uniform)
    assert not report.ok and "noise floor" in report.messages[0]
    assert report.noise_floor > 1e-3
    # clean states of the same shape: no noise floor
    clean = steady.PeriodicStates(grid, np.ones((2, 64)), sigma=1.0, mass=1.0)
    assert steady.identifiability(model, clean).noise_floor == 0.0


def test_denoised_states_keep_the_noise_estimate(states):
    noisy = steady.observe_periodic(states, noise=0.02, seed=0)
    smooth = steady.denoise_periodic(noisy)
    np.testing.assert_allclose(smooth.noise, steady.noise_level(noisy))
    np.testing.assert_allclose(steady.noise_level(smooth), smooth.noise)
    assert smooth.subset([1]).noise[0] == smooth.noise[1]


def test_energy_in_modes_no_state_shows_is_warned_of(states):
    noisy = steady.observe_periodic(states, m=64, noise=0.02, seed=0)
    model = steady.AggregationDiffusion(GRID, kappa=1.0, V=potential, W=steady.Unknown(modes=8, hidden=(16,)))
    with pytest.warns(UserWarning) as record:
        fit = model.fit(noisy, adam_steps=300, lbfgs_steps=100)
    assert any("energy of the learned W" in str(r.message) for r in record)
    assert any("noise floor" in str(r.message) for r in record)  # before the fit: mode 8 is below it
    assert fit.extra["unseen_energy"] > 0.05
    spectral = steady.AggregationDiffusion(GRID, kappa=1.0, V=potential, W=steady.Spectral())
    fit = spectral.fit(noisy, smoothness="auto")  # the penalty keeps the hidden modes empty
    assert fit.extra["unseen_energy"] < 0.01


def gaussian_kernel(lag):
    return -np.exp(-(lag**2) / (2 * 0.1**2))


def test_porous_medium_kernel_from_clean_states():
    V = lambda x: 0.3 * np.cos(2 * np.pi * x)  # noqa: E731
    states = steady.aggregation_diffusion_states(GRID, V=V, W=gaussian_kernel, kappa=1.0, sigma=0.2,
                                                 mass=[0.5, 1.0, 2.0], exponent=2.0)  # fmt: skip
    assert np.sum(states.u[0] < 1e-8) > 10  # compactly supported states among them
    np.testing.assert_allclose(GRID.integrate(states.u), [0.5, 1.0, 2.0], rtol=1e-10)
    model = steady.AggregationDiffusion(GRID, kappa=1.0, V=V, W=steady.Spectral(), exponent=2.0)
    fit = model.fit(states)
    assert steady.relative_error(fit.functions["W"], gaussian_kernel(GRID.lags)) < 0.01
    assert fit.extra["determined_lags"] == 1.0  # the mass-2 state covers the circle
    held = steady.steady_state(GRID, V, gaussian_kernel, 1.0, 0.2, 1.5, exponent=2.0)
    np.testing.assert_allclose(model.predict(0.2, 1.5), held, atol=1e-6 * held.max())


def test_porous_medium_residual_jacobian_and_the_support_warning():
    V = lambda x: 0.5 * np.cos(2 * np.pi * x)  # noqa: E731
    states = steady.aggregation_diffusion_states(GRID, V=V, W=gaussian_kernel, kappa=1.0, sigma=0.1,
                                                 mass=[0.5, 1.0], exponent=2.0)  # fmt: skip
    model = steady.AggregationDiffusion(GRID, kappa=1.0, V=V, W=steady.Spectral(12), exponent=2.0)
    problem = model.spectral_residual(states)
    theta = 0.01 * np.random.default_rng(1).standard_normal(problem.n_params)
    assert_jacobian_matches_differences(problem, theta, rtol=1e-5, atol=1e-8)
    loss, grad = model.loss_and_grad(states, theta)
    assert loss == pytest.approx(float(problem.residual(theta) @ problem.residual(theta)))
    with pytest.warns(UserWarning, match="compactly supported"):
        fit = model.fit(states)
    assert fit.extra["determined_lags"] < 0.5


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: steady.AggregationDiffusion(GRID, W=steady.Unknown(), exponent=2.0), "Spectral"),
        (lambda: steady.AggregationDiffusion(GRID, W=steady.Spectral(), exponent=0.5), "exponent"),
        (lambda: steady.steady_state(GRID, W=gaussian_kernel, exponent=2.0, method="newton"), "picard"),
        (lambda: steady.steady_state(GRID, W=gaussian_kernel, exponent="2"), "exponent"),
    ],
)
def test_bad_porous_medium_setups_are_refused(make, words):
    with pytest.raises(InputError, match=words):
        make()
