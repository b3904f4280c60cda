"""Hostile input to pinnbilo.steady: every refusal is an InputError naming the argument, and a result
that would be NaN/inf is refused with its cause instead of returned."""

import warnings

import numpy as np
import pytest

import pinnbilo as pb
from pinnbilo import steady as st
from pinnbilo.steady import diagnostics, generate

GRID = st.PeriodicGrid(32)
IGRID = st.IntervalGrid(16)
V0 = np.cos(2 * np.pi * GRID.x)


class Hostile:
    """Every conversion raises: np.asarray/astype(float) must not let RuntimeError through."""

    def __repr__(self):
        raise RuntimeError("hostile __repr__")

    def __len__(self):
        return 2

    def __iter__(self):
        raise RuntimeError("hostile __iter__")

    def __float__(self):
        raise RuntimeError("hostile __float__")


@pytest.fixture(scope="module")
def states():
    return st.aggregation_diffusion_states(GRID, V=V0, kappa=0.0, sigma=[0.5, 1.0])


@pytest.fixture(scope="module")
def dstates():
    return st.semilinear_states(IGRID, g=lambda x, u: 1.0 + 0.0 * u, left=[0.0, 0.5], right=0.0)


def _map_args(**kw):
    args = dict(grid=GRID, u=np.ones(32), V=V0, W=np.zeros(32), kappa=1.0, sigma=1.0, mass=1.0)
    args.update(kw)
    return args


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda s: st.PeriodicStates(GRID, Hostile(), sigma=1.0), "steady states u"),
        (lambda s: st.PeriodicStates(GRID, s.u, sigma=Hostile()), "sigma"),
        (lambda s: st.steady_state(GRID, V=Hostile()), "V"),
        (lambda s: st.evolve(GRID, Hostile()), "u0"),
        (lambda s: st.relative_error(Hostile(), [1.0, 2.0]), "learned"),
        (lambda s: st.distill(Hostile(), GRID.x, st.fourier(1)), "x"),
        (lambda s: st.gaussians(Hostile(), [0.1]), "centers"),
        (lambda s: st.Unknown(hidden=Hostile()), "Unknown.hidden"),
        (lambda s: st.polynomials(2, var=Hostile()), "var"),
        (lambda s: st.fourier(Hostile()), "modes"),
        (lambda s: st.fixed_point_jacobian(GRID, s, V0, V0, 1.0, unknowns=Hostile()), "unknowns"),
    ],
)
def test_objects_whose_conversion_raises_are_refused_by_name(states, call, words):
    with pytest.raises(pb.InputError, match=words):
        call(states)


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: st.Unknown(hidden=10**5000), "Unknown.hidden must be a tuple"),
        (lambda: st.fourier(10**5000), "modes must be an integer"),
        (lambda: st.polynomials(2, var=10**5000), "var must be a variable name"),
    ],
)
def test_huge_integers_in_messages_do_not_break_them(call, words):
    with pytest.raises(pb.InputError, match=words):
        call()


def test_booleans_are_not_numbers_but_a_mask_is_a_weight(states):
    with pytest.raises(pb.InputError, match="sigma must be numbers, got booleans"):
        st.aggregation_diffusion_states(GRID, V=V0, kappa=0.0, sigma=[0.5, True])
    with pytest.raises(pb.InputError, match="sigma"):
        st.PeriodicStates(GRID, states.u, sigma=True)
    with pytest.raises(pb.InputError, match="left"):
        st.semilinear_states(IGRID, g=lambda x, u: 1.0 + 0 * u, left=True)
    with pytest.raises(pb.InputError, match="x must be numbers"):
        st.Semilinear(IGRID, g=st.Unknown(hidden=(4,))).g(True, [0.5])
    mask = np.ones(states.u.shape, dtype=bool)
    mask[:, ::2] = False
    kept = st.PeriodicStates(GRID, states.u, states.sigma, weights=mask)
    assert kept.weights.dtype == np.float64 and kept.weights.sum() == mask.sum()


def test_per_state_values_must_be_flat():
    with pytest.raises(pb.InputError, match=r"sigma: give a number or a flat list.*\(2, 2, 2\)"):
        st.aggregation_diffusion_states(GRID, V=V0, kappa=0.0, sigma=np.full((2, 2, 2), 0.5))
    with pytest.raises(pb.InputError, match="left"):
        st.semilinear_states(IGRID, g=lambda x, u: 1.0 + 0 * u, left=[[0.1, 0.2], [0.3]])


@pytest.mark.parametrize(
    "bad, words",
    [
        (dict(grid=np.ones(32)), "grid must be a pinnbilo.steady.PeriodicGrid"),
        (dict(u=0.5), r"u: expected shape \(\.\.\., 32\).*got \(\)"),
        (dict(u=np.ones(3)), r"u: expected shape \(\.\.\., 32\).*got \(3,\)"),
        (dict(V=[1.0, 2.0, 3.0]), r"V: expected shape \(32,\).*got \(3,\)"),
        (dict(V=-1), r"V: expected shape \(32,\)"),
        (dict(V=lambda x: x), "V must be its values at grid.x"),
        (dict(W=None), "W must be an array"),
        (dict(kappa="a"), "kappa must be a real number"),
        (dict(kappa=float("nan")), "kappa must be finite"),
        (dict(sigma=0.0), "sigma must be positive"),
        (dict(mass=None), "mass must be a real number"),
    ],
)
def test_aggregation_map_checks_every_argument(bad, words):
    with pytest.raises(pb.InputError, match=words):
        st.aggregation_map(**_map_args(**bad))


def test_aggregation_map_values_unchanged_for_valid_input():
    u = np.exp(np.sin(2 * np.pi * GRID.x))[None, :] * np.array([[1.0], [2.0]])
    W = -np.exp(-(GRID.lags**2) / 0.02)
    out = st.aggregation_map(GRID, u, V0, W, 0.7, 0.5, 1.3)
    conv = GRID.h * np.real(np.fft.ifft(np.fft.fft(W) * np.fft.fft(u, axis=1), axis=1))
    e = np.exp(-(0.7 * conv + V0) / 0.5)
    assert out.shape == (2, 32)
    assert np.allclose(out, 1.3 * e / (GRID.h * e.sum(axis=1, keepdims=True)), rtol=1e-12)


@pytest.mark.parametrize(
    "bad, words",
    [
        (dict(grid=GRID), "grid must be a pinnbilo.steady.IntervalGrid"),
        (dict(u=0.5), r"u: expected shape \(16,\)"),
        (dict(g="x"), "g must be a function"),
        (dict(diffusion=0.0), "diffusion D must be positive"),
        (dict(diffusion=True), "diffusion D must be a real number"),
        (dict(left=1j), "left must be a real number"),
        (dict(right=[1, 2, 3]), "right must be a real number"),
    ],
)
def test_semilinear_map_checks_every_argument(dstates, bad, words):
    args = dict(grid=IGRID, u=dstates.u[0], g=lambda x, u: 1.0 + 0 * u, diffusion=1.0, left=0.0, right=0.0)
    args.update(bad)
    with pytest.raises(pb.InputError, match=words):
        st.semilinear_map(**args)


def test_overflowing_results_are_refused_with_their_cause(dstates):
    huge_v = 1e300 * V0
    with pytest.raises(pb.InputError, match="aggregation_map.*not finite.*overflows"):
        st.aggregation_map(**_map_args(V=huge_v, sigma=1e-10))
    with pytest.raises(st.SolverFailed, match="non-finite at iteration 0"):
        st.steady_state(GRID, V=huge_v, kappa=0.0, sigma=1e-10)
    with pytest.raises(pb.InputError, match="semilinear_map.*not finite"):
        st.semilinear_map(IGRID, dstates.u[0], lambda x, u: 1e308 + 0 * u, 1e-300, 0.0, 0.0)


def test_newton_failure_message_summarises_instead_of_listing_the_iterate(monkeypatch):
    from scipy.optimize import NoConvergence

    def failing(f, x0, **kwargs):
        raise NoConvergence(np.asarray(x0) * 1.01)  # what scipy raises: the last iterate itself

    monkeypatch.setattr(generate, "newton_krylov", failing)
    grid = st.PeriodicGrid(256)
    with pytest.raises(st.SolverFailed) as err:  # one Newton step from the uniform start cannot reach a peaked state
        st.steady_state(grid, V=np.cos(2 * np.pi * grid.x), W=lambda r: -np.exp(-(r**2) / 0.02), sigma=0.05,
                        method="newton", maxiter=1)  # fmt: skip
    msg = str(err.value)
    assert "relative fixed-point residual" in msg and len(msg) < 300
    assert msg.count("e-") <= 2  # the residual and tol, not 256 values
    with pytest.raises(st.SolverFailed) as err:
        st.semilinear_state(IGRID, lambda x, u: 1.0 + 0 * u)
    assert "residual" in str(err.value) and len(str(err.value)) < 300


def test_grid_methods_check_their_arguments():
    with pytest.raises(pb.InputError, match=r"u: expected shape \(\.\.\., 32\)"):
        GRID.convolve(np.ones(32), 1.0)
    with pytest.raises(pb.InputError, match=r"w: expected shape \(32,\)"):
        GRID.convolve(np.ones(3), np.ones(32))
    with pytest.raises(pb.InputError, match="u"):
        GRID.integrate("abc")
    with pytest.raises(pb.InputError, match="x must have 1 axes"):
        GRID.fourier_features(0.5, 2)
    with pytest.raises(pb.InputError, match="modes must be at least 1"):
        GRID.fourier_features(GRID.x, 0)
    assert GRID.fourier_features(GRID.x, 3).shape == (6, 32)
    assert GRID.fourier_features([0.1, 0.2], 3, even=True).shape == (3, 2)
    assert GRID.integrate(np.ones((2, 32))) == pytest.approx([1.0, 1.0])


def test_jacobian_matches_the_dense_formula(states):
    W = -np.exp(-(GRID.lags**2) / 0.02)
    J = st.fixed_point_jacobian(GRID, states, V0, W, 0.8)
    n, h = GRID.n, GRID.h
    idx = (np.arange(n)[:, None] - np.arange(n)[None, :]) % n
    blocks = []
    for s in range(len(states)):
        u, sig = states.u[s], states.sigma[s]
        a = -(0.8 * GRID.convolve(W, u) + V0) / sig
        p = np.exp(a - a.max())
        p /= p.sum()
        t = states.mass[s] / h * p
        d = -(np.diag(t) - np.outer(t, p)) / sig
        blocks.append(np.hstack([d, d @ (0.8 * h * u[idx])]) / np.sqrt(np.sum(u * u)))
    assert np.allclose(J, np.vstack(blocks), rtol=1e-12, atol=1e-14 * np.abs(J).max())


def test_zero_mean_basis_is_orthonormal_and_zero_mean():
    n = 9
    Q = diagnostics._from_zero_mean(np.eye(n - 1)).T  # columns: the basis vectors on the grid
    assert np.allclose(Q.T @ Q, np.eye(n - 1), atol=1e-14)
    assert np.allclose(Q.sum(axis=0), 0.0, atol=1e-14)
    J = np.random.default_rng(0).standard_normal((4, n))
    assert np.allclose(diagnostics._to_zero_mean(J), J @ Q, atol=1e-14)


def test_identifiability_refuses_an_svd_too_large_and_fit_skips_it():
    big = st.PeriodicGrid(5000)
    data = st.PeriodicStates(big, np.ones((1, 5000)) + 0.1 * np.cos(2 * np.pi * big.x), [1.0])
    model = st.AggregationDiffusion(big, kappa=0.0, V=st.Unknown(hidden=(4,), modes=2))
    with pytest.raises(pb.InputError, match="identifiability: .* over the limit"):
        st.identifiability(model, data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = model.fit(data, adam_steps=1, lbfgs_steps=0)
    assert any("identifiability check skipped" in str(w.message) for w in caught)
    assert np.isfinite(fit.loss)
