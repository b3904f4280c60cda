"""The grid posterior along principal axes (aligned_grid_posterior): exact on a strongly
correlated linear-Gaussian model when placed by a deliberately wrong Gaussian, and equal to the
axis grid on the skewed Poisson posterior."""

from __future__ import annotations

import numpy as np
import pytest

import pinnbilo as pb
from pinnbilo.uncertainty import Normal, aligned_grid_posterior, grid_posterior
from test_uncertainty_reference import gaussian_posterior, poisson_data, polynomial_problem


def correlated_case():
    """u = a t + b t^2 / 2 seen on t in [0.8, 1]: a and b correlate at about -0.999."""
    problem = polynomial_problem(2)
    t = np.linspace(0.8, 1.0, 12)
    y = t * 1.0 + 0.5 * (-0.5) * t**2 + 0.01 * np.random.default_rng(3).standard_normal(t.size)
    data = pb.Data(t[:, None], y, sigma=0.01)
    sd0 = np.array([2.0, 3.0])
    priors = {n: Normal(0.0, float(s)) for n, s in zip("ab", sd0)}
    mean, cov = gaussian_posterior(t, y, 0.01, np.zeros(2), sd0)
    return problem, data, priors, mean, cov


def test_exact_on_a_ridge_from_a_wrong_gaussian() -> None:
    problem, data, priors, mean, cov = correlated_case()
    sd = np.sqrt(np.diag(cov))
    assert abs(cov[0, 1] / (sd[0] * sd[1])) > 0.99
    # The placing Gaussian is off by half a standard deviation and 50% too wide: only the grid's
    # placement depends on it, the density is the exact posterior.
    off = ({"a": mean[0] + 0.5 * sd[0], "b": mean[1] - 0.5 * sd[1]}, 2.25 * cov)
    post = aligned_grid_posterior(problem, data, off, priors=priors, n=(61, 31), width=6.0)
    got = np.array([post.mean[n] for n in post.names])
    assert np.all(np.abs(got - mean) < 1e-3 * sd)
    assert np.allclose(post.cov, cov, rtol=1e-3, atol=0)
    assert post.corr[0, 1] == pytest.approx(cov[0, 1] / (sd[0] * sd[1]), abs=1e-4)
    lo, hi = post.intervals95["a"]
    assert lo == pytest.approx(mean[0] - 1.959964 * sd[0], abs=0.05 * sd[0])
    assert hi == pytest.approx(mean[0] + 1.959964 * sd[0], abs=0.05 * sd[0])
    assert not any("outer cells" in n for n in post.notes)


def test_matches_the_axis_grid_on_a_skewed_posterior() -> None:
    problem = pb.pde_problems.poisson(D_true=1.0, D_init=2.0)
    data = poisson_data(0)
    axis = grid_posterior(problem, data, grid={"D": np.linspace(0.55, 1.6, 801)})
    guess = ({"D": 1.0}, np.array([[0.08**2]]))
    post = aligned_grid_posterior(problem, data, guess, n=201, width=6.0)
    assert post.mean["D"] == pytest.approx(axis.mean["D"], abs=1e-4)
    assert post.std["D"] == pytest.approx(axis.std["D"], rel=1e-3)
    if _has_pandas():
        assert list(post.to_frame().index) == ["D"]


def test_notes_a_grid_that_cuts_the_posterior() -> None:
    problem, data, priors, mean, cov = correlated_case()
    post = aligned_grid_posterior(problem, data, (dict(zip("ab", mean)), cov / 16), priors=priors, n=21, width=3.0)
    assert any("outer cells" in n for n in post.notes)


def test_bad_input() -> None:
    problem, data, priors, mean, cov = correlated_case()
    around = (dict(zip("ab", mean)), cov)
    with pytest.raises(pb.InputError, match="around must be a Posterior"):
        aligned_grid_posterior(problem, data, mean)
    with pytest.raises(pb.InputError, match="does not have"):
        aligned_grid_posterior(problem, data, ({"a": 1.0, "k": 2.0}, cov))
    with pytest.raises(pb.InputError, match="cover every parameter"):
        aligned_grid_posterior(problem, data, ({"a": 1.0}, cov[:1, :1]))
    with pytest.raises(pb.InputError, match="positive definite"):
        aligned_grid_posterior(problem, data, (around[0], np.array([[1.0, 2.0], [2.0, 1.0]])))
    with pytest.raises(pb.InputError, match="symmetric"):
        aligned_grid_posterior(problem, data, (around[0], np.array([[1.0, 0.5], [0.0, 1.0]])))
    with pytest.raises(pb.InputError, match="NaN"):
        aligned_grid_posterior(problem, data, (around[0], np.full((2, 2), np.nan)))
    with pytest.raises(pb.InputError, match="n must be"):
        aligned_grid_posterior(problem, data, around, n=(11, 11, 11))
    with pytest.raises(pb.InputError, match="n must be"):
        aligned_grid_posterior(problem, data, around, n=2)
    with pytest.raises(pb.InputError, match="width"):
        aligned_grid_posterior(problem, data, around, width=-1.0)
    with pytest.raises(pb.InputError, match="more than"):
        aligned_grid_posterior(problem, data, around, n=(2000, 1000))
    with pytest.raises(pb.InputError, match="outside the priors' support"):
        poisson = pb.pde_problems.poisson(D_true=1.0, D_init=2.0)
        aligned_grid_posterior(poisson, poisson_data(0), ({"D": -5.0}, np.array([[0.01]])))


def _has_pandas() -> bool:
    try:
        import pandas  # noqa: F401
    except ModuleNotFoundError:
        return False
    return True
