"""Levenberg-Marquardt for network unknowns on the fixed-point residual vector (steady.levenberg)."""

import warnings

import numpy as np
import pytest

from pinnbilo import steady as st
from pinnbilo.errors import InputError

GRID = st.PeriodicGrid(128, 1.0)


def morse(lag):
    total = np.zeros_like(lag)
    for k in range(-3, 4):
        s = np.sqrt((lag + k) ** 2 + 0.02**2)
        total += -np.exp(-s / 0.15) + 0.6 * np.exp(-s / 0.05)
    return total


def potential(x):
    return 0.15 * np.cos(2 * np.pi * x) + 0.1 * np.sin(4 * np.pi * x + 0.7)


@pytest.fixture(scope="module")
def morse_states():
    return st.aggregation_diffusion_states(GRID, V=potential, W=morse, kappa=1.0, sigma=0.2, mass=[0.5, 1.0, 2.0])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_network_reaches_the_loss_floor_on_the_morse_kernel(morse_states, seed):
    # L-BFGS stalls near 3e-11 (about 2% error); measured here 0.39-0.42% at losses 2e-19-8e-19.
    model = st.AggregationDiffusion(GRID, kappa=1.0, V=potential, W=st.Unknown(hidden=(64,), modes=8, seed=seed))
    fit = model.fit(morse_states, optimizer="lm", check=False)
    err = st.relative_error(fit.functions["W"], morse(GRID.lags))
    assert err < 0.005, err
    assert fit.loss < 1e-17, fit.loss
    assert fit.extra["optimizer"] == "lm" and fit.extra["jacobian"] == "analytic"
    assert fit.extra["lm_loss"] == pytest.approx(fit.loss, rel=1e-6)
    assert 0 < fit.extra["lm_iterations"] <= fit.extra["lm_trials"] <= 400
    assert fit.adam_steps == 0 and fit.lbfgs_iterations == 0


@pytest.fixture(scope="module")
def small():
    grid = st.PeriodicGrid(24, 1.0)
    data = st.aggregation_diffusion_states(
        grid, V=lambda x: 0.3 * np.cos(2 * np.pi * x), W=lambda r: -np.cos(2 * np.pi * r), kappa=1.0,
        sigma=[0.5, 0.7], mass=[1.0, 1.5],
    )  # fmt: skip
    data = st.observe_periodic(data, m=16, noise=0.0, seed=0)  # unobserved points: zero rows
    model = st.AggregationDiffusion(grid, 1.0, V=st.Unknown(hidden=(5, 4), modes=2), W=st.Unknown(hidden=(6,), modes=2))
    return model, data


@pytest.mark.parametrize("activation", ["tanh", "sin", "softplus", "sigmoid"])
def test_residual_and_jacobian_are_the_cores(small, activation):
    model, data = small
    model = st.AggregationDiffusion(
        model.grid, 1.0, V=st.Unknown(hidden=(5, 4), modes=2, activation=activation),
        W=st.Unknown(hidden=(6,), modes=2, activation=activation, seed=3),
    )  # fmt: skip
    smooth = {"V": 1e-3, "W": 2e-3}
    problem = model.network_residual(data, smooth)
    theta = model.params + 0.1 * np.random.default_rng(1).normal(size=model.params.size)
    r = problem.residual(theta)
    loss, grad = model.loss_and_grad(data, theta, smooth)
    assert r @ r == pytest.approx(loss, rel=1e-12)
    J = problem.jacobian(theta)
    assert J.shape == (r.size, theta.size) == (problem.n_rows, problem.n_params)
    np.testing.assert_allclose(2 * J.T @ r, grad, rtol=1e-9, atol=1e-12 * np.abs(grad).max())
    fd = np.empty_like(J)
    for j in range(theta.size):
        e = np.zeros_like(theta)
        e[j] = 1e-6
        fd[:, j] = (problem.residual(theta + e) - problem.residual(theta - e)) / 2e-6
    np.testing.assert_allclose(J, fd, rtol=1e-6, atol=1e-8 * np.abs(J).max())
    assert problem.jacobian_source == "analytic"
    # The steps apply A by FFT without forming it: the same product as the dense A.
    X = np.random.default_rng(2).normal(size=(problem.grid.n * len(problem.names), 7))
    dense = problem.values_jacobian(theta) @ X
    np.testing.assert_allclose(
        problem.values_jacobian_times(theta, X), dense, rtol=1e-10, atol=1e-13 * np.abs(dense).max()
    )


def test_lm_after_lbfgs_lowers_the_loss_and_keeps_the_record(small):
    model, data = small
    base = st.AggregationDiffusion(
        model.grid, 1.0, V=st.Unknown(hidden=(8,), modes=2), W=st.Unknown(hidden=(8,), modes=2)
    )
    before = base.fit(data, adam_steps=200, lbfgs_steps=20, check=False).loss
    again = st.AggregationDiffusion(
        model.grid, 1.0, V=st.Unknown(hidden=(8,), modes=2), W=st.Unknown(hidden=(8,), modes=2)
    )
    fit = again.fit(data, adam_steps=200, lbfgs_steps=20, lm_steps=60, check=False, smoothness={"W": 1e-6})
    assert fit.loss < before
    assert fit.extra["optimizer"] == "adam+lbfgs" and fit.extra["lm_trials"] <= 60
    assert fit.history[-1, 1] == pytest.approx(fit.loss, rel=1e-6)
    assert np.all(np.diff(fit.history[:, 0]) > 0)
    assert fit.extra["penalty"] > 0


def test_bad_lm_options_are_refused(small):
    model, data = small
    with pytest.raises(InputError, match="optimizer"):
        model.fit(data, optimizer="bfgs", check=False)
    with pytest.raises(InputError, match="lm_steps"):
        model.fit(data, optimizer="lm", lm_steps=-1, check=False)
    with pytest.raises(InputError, match="lm_steps"):
        model.fit(data, lm_steps=2.5, check=False)
    with pytest.raises(InputError, match="adam_steps, lbfgs_steps"):
        model.fit(data, optimizer="lm", adam_steps=10, lbfgs_steps=5, check=False)
    spectral = st.AggregationDiffusion(model.grid, 1.0, V=st.Spectral(3), W=st.Spectral(3))
    with pytest.raises(InputError, match="Spectral"):
        spectral.fit(data, optimizer="lm", check=False)
    with pytest.raises(InputError, match="Spectral"):
        spectral.fit(data, lm_steps=5, check=False)
    with pytest.raises(InputError, match="network"):
        spectral.network_residual(data)


def _fit_lm(states, modes, seed=0):
    model = st.AggregationDiffusion(GRID, kappa=1.0, V=potential, W=st.Unknown(hidden=(64,), modes=modes, seed=seed))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = model.fit(states, optimizer="lm")
    return fit, [w for w in caught if "cannot tell from zero" in str(w.message)]


def test_more_features_than_the_data_support_are_warned_of(morse_states):
    # 16 Fourier features: 0.58% W error (8 features: 0.39%), the extra content in modes the states
    # change the residual by less than the fit's misfit (3.5e-5 of W's energy; threshold 1e-5)
    fit, caught = _fit_lm(morse_states, 16)
    assert len(caught) == 1 and caught[0].filename == __file__
    message = str(caught[0].message)
    assert "fewer Fourier features" in message and "smoothness" in message and "Spectral" in message
    assert fit.extra["undetermined_energy"] > st.diagnostics.UNDETERMINED_ENERGY_WARNING
    modes = fit.extra["undetermined_modes"]
    assert min(modes) >= 15 and 64 in modes
    assert 0 < fit.extra["residual_floor"] < 1e-8


def test_a_fit_within_what_the_data_support_is_not_warned_of(morse_states):
    fit, caught = _fit_lm(morse_states, 8)
    assert caught == []
    assert fit.extra["undetermined_energy"] < st.diagnostics.UNDETERMINED_ENERGY_WARNING / 2
    assert st.relative_error(fit.functions["W"], morse(GRID.lags)) < 0.005


@pytest.mark.parametrize("unknowns", [("W",), ("V", "W")])
def test_mode_sensitivities_are_the_jacobians(small, unknowns):
    model, data = small
    grid, n = model.grid, model.grid.n
    V = None if "V" in unknowns else (lambda x: 0.3 * np.cos(2 * np.pi * x))
    model = st.AggregationDiffusion(grid, 1.0, V=st.Unknown(hidden=(4,), modes=2) if V is None else V,
                                    W=st.Unknown(hidden=(6,), modes=2, seed=3))  # fmt: skip
    support = st.mode_support(model, data, misfit=1e-6, noise=np.zeros(len(data)))
    f = model.functions()
    J = st.fixed_point_jacobian(grid, data, f["V"], f["W"], 1.0, unknowns, observed_only=True)
    JW = J[:, -n:]
    if "V" in unknowns:
        U, sv, _ = np.linalg.svd(J[:, :n], full_matrices=False)
        Q = U[:, sv > 1e-10 * sv[0]]  # what V can absorb
        JW = JW - Q @ (Q.T @ JW)
    j = np.arange(n)
    sens = []
    for k in range(n // 2 + 1):
        c = np.linalg.norm(JW @ np.cos(2 * np.pi * k * j / n))
        s = np.linalg.norm(JW @ np.sin(2 * np.pi * k * j / n))
        sens.append(np.sqrt((c**2 + s**2) / 2) if 0 < k < n // 2 else c)
    sens = np.array(sens)
    sens[0] = 0.0
    np.testing.assert_allclose(support.sensitivity, sens / sens.max(), rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(support.bound[1:] * sens[1:], 1e-6, rtol=1e-9)
