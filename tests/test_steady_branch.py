"""Branches of steady states: pseudo-arclength continuation, stability and bifurcations, checked
against the noisy Kuramoto transition (critical kappa = 2 sigma / M, order parameter from the
Bessel-function ratio) and against time evolution."""

import importlib

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


def _decays_up_to_translation(u, kappa, sigma, size=1e-3, t_end=30.0):
    """Whether a mass-preserving perturbation of u decays under time evolution to u or to a
    translate of it (with V = 0 the translation is neutral, and branch does not count it either):
    the perturbation's part along the translation is not expected to decay."""
    p = np.random.default_rng(0).standard_normal(u.size)
    u0 = u * (1 + size * (p - p.mean()) / np.max(np.abs(p - p.mean())))
    u0 *= u.sum() / u0.sum()
    end = steady.evolve(GRID, u0, W=kuramoto, kappa=kappa, sigma=sigma, t_end=t_end, dt=0.05)
    uh, eh = np.fft.rfft(u), np.fft.rfft(end)
    k = np.arange(uh.size)
    shift = np.angle(eh[1] * np.conj(uh[1])) if abs(uh[1]) > 1e-12 * abs(uh[0]) else 0.0
    moved = np.fft.irfft(uh * np.exp(1j * k * shift), n=u.size)  # u translated to where end sits
    return bool(np.linalg.norm(end - moved) < 0.1 * np.linalg.norm(u0 - u))


def test_stability_agrees_with_time_evolution():
    b = steady.branch(GRID, W=kuramoto, kappa=0.5, sigma=0.5, mass=1.0, stop=1.5, ds=0.1)
    first, last_uniform = int(np.argmax(b.segment == 0)), int(np.flatnonzero(b.segment == 0)[-1])
    for i in [first, last_uniform, int(np.flatnonzero(b.segment == 1)[-1])]:
        evolved = _decays_up_to_translation(b.states[i], b.values[i], 0.5)
        assert evolved == bool(b.stable[i]), (b.values[i], b.segment[i])
    # a uniform state past the transition is unstable under time evolution too, translations or not
    assert not b.stable[last_uniform]
    assert not steady.is_stable(GRID, b.states[last_uniform], W=kuramoto, kappa=b.values[last_uniform], sigma=0.5)


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


def test_an_unknown_method_is_refused():
    with pytest.raises(InputError, match="method"):
        steady.branch(GRID, W=kuramoto, kappa=0.5, sigma=0.5, stop=1.0, method="sparse")


# Matrix-free continuation (Newton-Krylov): the bordered Jacobian as products, GMRES, ARPACK.

BRANCH = importlib.import_module("pinnbilo.steady.branch")


@pytest.mark.parametrize("parameter, c", [("kappa", 0.7), ("sigma", 0.4), ("mass", 1.5)])
def test_bordered_product_equals_central_differences(parameter, c):
    """The analytic product [[dF/dpsi, dF/dc], [t^T, 0]] (psi, c) against central differences of
    (F(psi, c), t . ((psi, c) - anchor)) at a state that is not steady, in a random direction."""
    grid = steady.PeriodicGrid(512)
    rng = np.random.default_rng(1)
    V = 0.3 * np.cos(2 * np.pi * grid.x) + 0.1 * np.sin(6 * np.pi * grid.x)
    W = -np.exp(-(grid.lags**2) / 0.02) + 0.3 * np.cos(2 * np.pi * grid.lags)
    fixed = {"kappa": 1.2, "sigma": 0.5, "mass": 1.0}
    fam = BRANCH._Family(grid, V, W, fixed, parameter, dense=False)
    psi = np.log(1.0 + 0.5 * np.sin(2 * np.pi * grid.x) + 0.2 * np.cos(4 * np.pi * grid.x + 1.0))
    tangent = rng.standard_normal(grid.n + 1)
    mt = tangent * BRANCH._metric(grid.n)
    anchor = np.append(psi, c) + 0.01 * rng.standard_normal(grid.n + 1)

    def G(x):
        F, _ = fam.at(float(x[-1])).residual(x[:-1])
        return np.append(F, mt @ (x - anchor))

    problem = fam.at(c)
    _, p = problem.residual(psi)
    A = BRANCH._bordered_operator(problem, psi, p, fam.dF_dc(problem, psi, p), mt)
    d = rng.standard_normal(grid.n + 1)
    x, eps = np.append(psi, c), 1e-6
    fd = (G(x + eps * d) - G(x - eps * d)) / (2 * eps)
    jv = A @ d
    assert np.linalg.norm(jv - fd) <= 1e-6 * np.linalg.norm(fd)
    # the same product as the dense Jacobian of the dense method
    np.testing.assert_allclose(jv[:-1] - fam.dF_dc(problem, psi, p) * d[-1], problem.jacobian(psi, p) @ d[:-1],
                               rtol=1e-10, atol=1e-10 * np.abs(jv).max())  # fmt: skip


def test_kuramoto_transition_on_a_4096_point_grid_matrix_free():
    sigma, mass = 0.5, 1.0
    critical = 2 * sigma / mass
    grid = steady.PeriodicGrid(4096)
    b = steady.branch(grid, W=kuramoto, kappa=0.5, sigma=sigma, mass=mass, stop=1.6, ds=0.1)  # auto: matrix-free
    assert len(b.bifurcations) == 1
    assert b.bifurcations[0] == pytest.approx(critical, rel=1e-6)  # the brief asks 1%: the kernel is exact here
    uniform, clustered = b.segment == 0, b.segment == 1
    assert np.all(b.order[uniform] < 1e-8)
    clear = uniform & (np.abs(b.values - critical) > 1e-6)
    assert np.all(b.stable[clear] == (b.values[clear] < critical))
    assert clustered.sum() > 3 and np.all(b.stable[clustered])
    for kappa, r in zip(b.values[clustered][1:], b.order[clustered][1:]):
        assert r == pytest.approx(bessel_order(kappa, sigma, mass), abs=1e-8)
    # below the transition the leading eigenvalue of dF/dpsi is kappa M / (2 sigma) - 1
    below = uniform & (b.values < critical - 0.05)
    np.testing.assert_allclose(b.leading[below], b.values[below] * mass / (2 * sigma) - 1, atol=1e-8)
    np.testing.assert_allclose(grid.integrate(b.states), mass, rtol=1e-9)  # to Newton's tolerance 1e-10


def test_matrix_free_branch_agrees_with_the_dense_one_on_256_points():
    grid = steady.PeriodicGrid(256)
    kw = dict(W=kuramoto, kappa=0.15, sigma=0.3, mass=2.0, stop=0.6, ds=0.08)
    dense = steady.branch(grid, method="dense", **kw)
    krylov = steady.branch(grid, method="krylov", **kw)
    assert len(dense) == len(krylov) and np.array_equal(dense.segment, krylov.segment)
    np.testing.assert_allclose(krylov.bifurcations, dense.bifurcations, rtol=1e-9)
    assert dense.bifurcations[0] == pytest.approx(0.3, rel=1e-6)
    np.testing.assert_allclose(krylov.values, dense.values, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(krylov.order, dense.order, atol=1e-8)
    np.testing.assert_allclose(krylov.leading, dense.leading, atol=1e-8)
    # the critical eigenvalue is double (cos and sin): the clustered states agree up to translation
    spectrum = lambda b: np.abs(np.fft.rfft(b.states, axis=1)) / grid.n  # noqa: E731
    np.testing.assert_allclose(spectrum(krylov), spectrum(dense), atol=1e-8)
    marginal = np.abs(dense.leading) < 1e-6
    assert np.array_equal(krylov.stable[~marginal], dense.stable[~marginal])


def test_matrix_free_mass_continuation_with_a_potential_agrees_with_the_dense_one():
    grid = steady.PeriodicGrid(128)
    kw = dict(V=lambda x: 0.2 * np.cos(2 * np.pi * x), W=lambda r: -np.exp(-(r**2) / 0.02), kappa=1.0, sigma=0.3,
              mass=0.5, parameter="mass", stop=1.5, ds=0.1)  # fmt: skip
    dense, krylov = steady.branch(grid, method="dense", **kw), steady.branch(grid, method="krylov", **kw)
    assert len(dense) == len(krylov) and not krylov.bifurcations
    np.testing.assert_allclose(krylov.values, dense.values, rtol=1e-8)
    np.testing.assert_allclose(krylov.states, dense.states, rtol=1e-7)
    np.testing.assert_allclose(krylov.leading, dense.leading, atol=1e-8)


def test_gmres_that_misses_its_tolerance_is_reported(monkeypatch):
    monkeypatch.setattr(BRANCH, "GMRES_RESTART", 1)
    monkeypatch.setattr(BRANCH, "GMRES_CYCLES", 1)
    grid = steady.PeriodicGrid(256)
    with pytest.warns(RuntimeWarning, match="GMRES missed its relative tolerance"):
        steady.branch(grid, V=lambda x: 0.2 * np.cos(2 * np.pi * x), W=lambda r: -np.exp(-(r**2) / 0.02), sigma=0.3,
                      mass=0.5, parameter="mass", stop=1.0, ds=0.1, method="krylov", max_points=4)  # fmt: skip


def test_arpack_that_does_not_converge_fails_clearly(monkeypatch):
    import scipy.sparse.linalg as sla

    def no_convergence(*args, **kwargs):
        raise sla.ArpackNoConvergence("no convergence", np.zeros(0), np.zeros((0, 0)))

    monkeypatch.setattr(sla, "eigs", no_convergence)
    with pytest.raises(steady.SolverFailed, match="ARPACK"):
        steady.branch(steady.PeriodicGrid(256), W=kuramoto, kappa=0.5, sigma=0.5, stop=0.7, ds=0.1)
