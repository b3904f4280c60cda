"""Branches of steady states: pseudo-arclength continuation, stability and bifurcations, checked
against the noisy Kuramoto transition (critical kappa = 2 sigma / M, order parameter from the
Bessel-function ratio) and against time evolution."""

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import i0e, i1e

from pinnbilo import InputError, steady

GRID = steady.PeriodicGrid(64, 1.0)


def kuramoto(lag):
    return -np.cos(2 * np.pi * lag)


def bessel_order(kappa, sigma, mass):
    """The Kuramoto order parameter r > 0 solving r = I1(beta r) / I0(beta r), beta = kappa M / sigma."""
    beta = kappa * mass / sigma
    return brentq(lambda r: r - i1e(beta * r) / i0e(beta * r), 1e-9, 1 - 1e-12)


@pytest.mark.parametrize("sigma, mass", [(0.5, 1.0), (0.3, 2.0)])
def test_kuramoto_transition_and_the_bessel_branch(sigma, mass):
    critical = 2 * sigma / mass
    b = steady.branch(GRID, W=kuramoto, kappa=0.5 * critical, sigma=sigma, mass=mass, stop=2 * critical, ds=0.05)
    assert len(b.bifurcations) == 1
    assert b.bifurcations[0] == pytest.approx(critical, rel=0.01)
    uniform, clustered = b.segment == 0, b.segment == 1
    assert np.all(b.order[uniform] < 1e-8)
    clear = uniform & (np.abs(b.values - critical) > 1e-6)  # at the critical value itself: marginal
    assert np.all(b.stable[clear] == (b.values[clear] < critical))
    assert clustered.sum() > 5 and np.all(b.stable[clustered])
    for kappa, r in zip(b.values[clustered][1:], b.order[clustered][1:]):
        assert r == pytest.approx(bessel_order(kappa, sigma, mass), abs=1e-8)
    np.testing.assert_allclose(GRID.integrate(b.states), mass, rtol=1e-12)


def test_stability_agrees_with_time_evolution():
    b = steady.branch(GRID, W=kuramoto, kappa=0.5, sigma=0.5, mass=1.0, stop=1.5, ds=0.1)
    first, last_uniform = int(np.argmax(b.segment == 0)), int(np.flatnonzero(b.segment == 0)[-1])
    for i in [first, last_uniform, int(np.flatnonzero(b.segment == 1)[-1])]:
        evolved = steady.is_stable(GRID, b.states[i], W=kuramoto, kappa=b.values[i], sigma=0.5, t_end=30.0)
        assert evolved == bool(b.stable[i]), (b.values[i], b.segment[i])


def test_continuation_in_mass_with_a_potential_passes_no_spurious_bifurcation():
    V = lambda x: 0.2 * np.cos(2 * np.pi * x)  # noqa: E731
    b = steady.branch(GRID, V=V, W=lambda r: -np.exp(-(r**2) / 0.02), kappa=1.0, sigma=0.3, mass=0.5,
                      parameter="mass", stop=2.0, ds=0.1)  # fmt: skip
    assert b.values[-1] >= 2.0 and np.all(np.diff(b.values[b.segment == 0]) > 0)
    for c, u in zip(b.values[::5], b.states[::5]):
        direct = steady.steady_state(GRID, V, lambda r: -np.exp(-(r**2) / 0.02), 1.0, 0.3, c, u0=u, method="newton")
        np.testing.assert_allclose(u, direct, rtol=1e-7)


def test_branch_table_and_plot():
    pytest.importorskip("matplotlib")
    b = steady.branch(GRID, W=kuramoto, kappa=0.5, sigma=0.5, mass=1.0, stop=1.3, ds=0.1)
    fig = b.plot()
    assert fig.axes[0].get_xlabel() == "kappa"
    try:
        frame = b.to_frame()
    except ImportError:
        return
    assert list(frame.columns) == ["kappa", "order", "stable", "leading_eigenvalue", "segment"]
    assert len(frame) == len(b)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"parameter": "D"}, "parameter"),
        ({"stop": 0.5}, "equals"),
        ({"ds": 0.0}, "ds"),
        ({"max_points": 1}, "max_points"),
        ({"switch": 1}, "switch"),
        ({"parameter": "sigma", "stop": -1.0}, "stop"),
    ],
)
def test_bad_branch_arguments_are_refused(kwargs, words):
    with pytest.raises(InputError, match=words):
        steady.branch(GRID, W=kuramoto, kappa=0.5, sigma=0.5, **kwargs)


def test_large_grids_are_refused_clearly():
    with pytest.raises(InputError, match="1024"):
        steady.branch(steady.PeriodicGrid(2048), W=kuramoto)
