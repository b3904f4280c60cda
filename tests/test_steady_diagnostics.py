"""Identifiability diagnostics flag what the data cannot determine, and fit() warns before training."""

import warnings

import numpy as np
import pytest

from pinnbilo import steady as st

GRID = st.PeriodicGrid(64, 1.0)


def V_true(x):
    return 0.8 * np.cos(2 * np.pi * x) + 0.3 * np.sin(4 * np.pi * x)


def W_true(r):
    return -np.exp(-(r**2) / (2 * 0.1**2))


@pytest.fixture(scope="module")
def states():
    return st.aggregation_diffusion_states(
        GRID, V=V_true, W=W_true, kappa=1.0, sigma=0.4, mass=[0.5, 2.0], method="newton"
    )


def test_single_state_cannot_separate_V_and_W(states):
    model = st.AggregationDiffusion(GRID, kappa=1.0, V=st.Unknown(hidden=(8,)), W=st.Unknown(hidden=(8,)))
    rep = st.identifiability(model, states.subset([0]))
    # J_W = J_V C(u): at least n - 1 of the 2 (n - 1) gauge-reduced directions are invisible.
    assert rep.n_null >= GRID.n - 1
    assert rep.null_directions["V"].shape == (rep.n_null, GRID.n)
    assert not rep.ok and "single steady state" in rep.messages[0]
    with pytest.warns(UserWarning, match="never separate"):
        model.fit(states.subset([0]), adam_steps=2, lbfgs_steps=0)
    # Every null direction (dV, dW) leaves the state unchanged: dV + kappa dW*u = const.
    u = states.u[0]
    for dv, dw in zip(rep.null_directions["V"][:5], rep.null_directions["W"][:5]):
        change = dv + GRID.convolve(dw, u)
        assert np.ptp(change) < 1e-6 * max(np.ptp(dv), np.ptp(dw))


def test_two_states_separate_V_and_W_at_low_modes(states):
    model = st.AggregationDiffusion(GRID, kappa=1.0, V=st.Unknown(hidden=(8,)), W=st.Unknown(hidden=(8,)))
    rep = st.identifiability(model, states)
    assert rep.unseen_modes == []
    assert rep.mode_visibility[1] > 1e-2
    assert rep.n_null < GRID.n - 1  # a second state removes most of the single-state null space


def test_uniform_state_says_nothing_about_W():
    uniform = st.PeriodicStates(GRID, np.full((2, GRID.n), 1.0), sigma=[0.5, 1.0])
    model = st.AggregationDiffusion(GRID, kappa=1.0, W=st.Unknown(hidden=(8,)))
    rep = st.identifiability(model, uniform)
    assert rep.unseen_modes == [1, 2, 3]
    assert rep.n_null == GRID.n - 1  # every zero-mean direction of W is invisible
    with pytest.warns(UserWarning, match="uniform"):
        model.fit(uniform, adam_steps=2, lbfgs_steps=0)


def test_symmetric_states_hide_odd_modes_of_W():
    # States with period L/2 have u^_k = 0 for odd k, so odd modes of W are flagged.
    x = GRID.x
    u = np.stack([np.exp(np.cos(4 * np.pi * x)), np.exp(0.5 * np.cos(4 * np.pi * x))])
    data = st.PeriodicStates(GRID, u, sigma=[0.5, 1.0])
    model = st.AggregationDiffusion(GRID, kappa=1.0, W=st.Unknown(hidden=(8,), modes=4))
    rep = st.identifiability(model, data)
    assert rep.unseen_modes == [1, 3]
    assert any("modes [1, 3]" in m for m in rep.messages)


def test_potential_alone_is_identifiable_and_fit_does_not_warn(states):
    model = st.AggregationDiffusion(GRID, kappa=1.0, V=st.Unknown(hidden=(8,)), W=W_true)
    rep = st.identifiability(model, states.subset([0]))
    assert rep.ok and rep.n_null == 0
    assert rep.singular_values[-1] > 1e-6 * rep.singular_values[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(states.subset([0]), adam_steps=2, lbfgs_steps=0)


def test_sparse_observations_leave_unobserved_grid_values_to_the_network(states):
    sparse = st.observe_periodic(states, m=16)
    model = st.AggregationDiffusion(GRID, kappa=1.0, V=st.Unknown(hidden=(8,)), W=W_true)
    full = st.identifiability(model, sparse)
    only = st.identifiability(model, sparse, observed_only=True)
    assert full.n_null == 0
    # Unobserved values of V enter the compared residual only through one normaliser per state.
    assert only.n_null >= GRID.n - 16 - len(states)


def test_jacobian_matches_finite_differences(states):
    f = {"V": V_true(GRID.x), "W": W_true(GRID.lags)}
    J = st.fixed_point_jacobian(GRID, states, f["V"], f["W"], 1.0)
    eps = 1e-6
    for col in (3, GRID.n + 5):
        dv, dw = np.zeros(GRID.n), np.zeros(GRID.n)
        (dv if col < GRID.n else dw)[col % GRID.n] = eps
        rows = []
        for s in range(len(states)):
            scale = 1 / np.sqrt(np.sum(states.u[s] ** 2))

            def t(v, w, s=s):
                return st.aggregation_map(GRID, states.u[s], v, w, 1.0, states.sigma[s], states.mass[s])

            rows.append(scale * (t(f["V"] + dv, f["W"] + dw) - t(f["V"] - dv, f["W"] - dw)) / (2 * eps))
        assert np.allclose(J[:, col], np.concatenate(rows), rtol=1e-5, atol=1e-8)


def test_direct_potential_inverts_one_state(states):
    v = st.direct_potential(GRID, states.u[0], 0.4, W_true(GRID.lags), 1.0)
    assert st.relative_error(v, V_true(GRID.x)) < 1e-8
