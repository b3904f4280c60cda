"""The exact grid posterior (against adaptive quadrature and closed-form Gaussian posteriors, in
one to three dimensions) and ensembles of independently trained models."""

from __future__ import annotations

import math
import os
import signal
import sys
import threading
import time
from typing import Any, Dict

import numpy as np
import pytest
from scipy import integrate  # type: ignore[import-untyped]  # no scipy stubs

import pinnbilo as pb
from pinnbilo.uncertainty import Gamma, Normal, Uniform, ensemble, grid_posterior, laplace_solution

X_INTERIOR = np.linspace(0.0, 1.0, 13)[1:-1]
EXP_FIT: Dict[str, Any] = dict(steps=600, pretrain_steps=200, lr=1e-2, lr_params=1e-2, schedule="cosine", keep="best")


def poisson_data(seed: int) -> pb.Data:
    rng = np.random.default_rng(seed)
    y = np.sin(np.pi * X_INTERIOR) + 0.2 * rng.standard_normal(X_INTERIOR.size)
    return pb.Data(X_INTERIOR[:, None], y, sigma=0.2)


@pytest.fixture(scope="module")
def poisson() -> pb.Problem:
    return pb.pde_problems.poisson(D_true=1.0, D_init=2.0)


def quad_moments(logpost, low: float, high: float):
    """Mean and std of exp(logpost) on (low, high) by adaptive quadrature (scipy.integrate.quad)."""
    peak = max(logpost(x) for x in np.linspace(low, high, 2001)[1:-1])
    f = [lambda x, k=k: x**k * math.exp(logpost(x) - peak) for k in range(3)]
    z, m1, m2 = (integrate.quad(g, low, high, limit=400, epsabs=0, epsrel=1e-11)[0] for g in f)
    mean = m1 / z
    return mean, math.sqrt(m2 / z - mean**2)


# -- against quadrature ------------------------------------------------------------------------
def test_grid_posterior_matches_adaptive_quadrature(poisson: pb.Problem) -> None:
    """Poisson anchor (u = sin(pi x) / D, noise 0.2, Gamma(2, 1) prior): the grid's mean, std
    and 95% interval equal those of the same density integrated by scipy.integrate.quad."""
    data = poisson_data(0)
    s = np.sin(np.pi * X_INTERIOR)

    def logpost(D: float) -> float:
        return -0.5 * float(np.sum(((s / D - data.values) / 0.2) ** 2)) + math.log(D) - D

    mean, std = quad_moments(logpost, 0.3, 3.0)
    ref = grid_posterior(poisson, data, priors={"D": Gamma(2.0, 1.0)}, grid={"D": np.linspace(0.3, 3.0, 2701)})
    assert abs(ref.mean["D"] - mean) < 1e-5 * mean
    assert abs(ref.std["D"] - std) < 1e-4 * std
    assert integrate.trapezoid(ref.density, ref.axes["D"]) == pytest.approx(1.0, abs=1e-12)
    lo, hi = ref.intervals95["D"]
    z = integrate.quad(lambda x: math.exp(logpost(x)), 0.3, 3.0, epsrel=1e-11)[0]
    below = integrate.quad(lambda x: math.exp(logpost(x)), 0.3, lo, epsrel=1e-11)[0] / z
    above = integrate.quad(lambda x: math.exp(logpost(x)), hi, 3.0, epsrel=1e-11)[0] / z
    assert below == pytest.approx(0.025, abs=2e-4) and above == pytest.approx(0.025, abs=2e-4)
    assert not any("cuts the posterior off" in n for n in ref.notes)


def test_unknown_sigma_is_integrated_out(poisson: pb.Problem) -> None:
    """Without sigma the grid integrates one common sigma out under p(sigma) ~ 1/sigma: the
    likelihood is RSS^(-m/2)."""
    data = poisson_data(2)
    bare = pb.Data(data.points, data.values)
    s = np.sin(np.pi * X_INTERIOR)

    def logpost(D: float) -> float:
        return -5.5 * math.log(float(np.sum((s / D - bare.values) ** 2)))

    mean, std = quad_moments(logpost, 0.4, 3.0)
    ref = grid_posterior(poisson, bare, grid={"D": np.linspace(0.4, 3.0, 2601)}, priors={"D": Uniform(0.4, 3.0)})
    assert ref.sigma_estimated and any("integrated out" in n for n in ref.notes)
    assert abs(ref.mean["D"] - mean) < 1e-5 * mean and abs(ref.std["D"] - std) < 1e-4 * std


# -- against closed-form Gaussian posteriors ----------------------------------------------------
def polynomial_problem(n_params: int) -> pb.Problem:
    """u' = a + b t + c t^2 (first n_params terms), u(0) = 0: u is linear in the parameters."""
    names = "abc"[:n_params]
    residual = "u.t - " + " - ".join(f"{n}*t**{k}" if k else n for k, n in enumerate(names))

    def solution(points, p):
        t = points[:, 0]
        return sum(p[n] * t ** (k + 1) / (k + 1) for k, n in enumerate(names))

    return pb.ode_problem(residual, 0.0, {n: 0.5 for n in names}, solution=solution)


def gaussian_posterior(t: np.ndarray, y: np.ndarray, sigma: float, mu0: np.ndarray, sd0: np.ndarray):
    """The exact posterior of the linear model y = X theta + noise under Normal priors."""
    X = np.stack([t ** (k + 1) / (k + 1) for k in range(mu0.size)], axis=1)
    precision = X.T @ X / sigma**2 + np.diag(1 / sd0**2)
    cov = np.linalg.inv(precision)
    return cov @ (X.T @ y / sigma**2 + mu0 / sd0**2), cov


@pytest.mark.parametrize("n_params, points", [(2, 121), (3, 81)])
def test_grid_and_laplace_against_a_linear_gaussian_model(n_params: int, points: int) -> None:
    problem = polynomial_problem(n_params)
    rng = np.random.default_rng(n_params)
    t = np.linspace(0.1, 1.0, 10)
    truth = np.array([1.0, -0.5, 0.3])[:n_params]
    X = np.stack([t ** (k + 1) / (k + 1) for k in range(n_params)], axis=1)
    y = X @ truth + 0.05 * rng.standard_normal(t.size)
    data = pb.Data(t[:, None], y, sigma=0.05)
    mu0, sd0 = np.zeros(n_params), np.array([2.0, 3.0, 4.0])[:n_params]
    priors = {n: Normal(0.0, float(s)) for n, s in zip("abc", sd0)}
    mean, cov = gaussian_posterior(t, y, 0.05, mu0, sd0)
    sd = np.sqrt(np.diag(cov))
    grid = {n: np.linspace(mean[j] - 7 * sd[j], mean[j] + 7 * sd[j], points) for j, n in enumerate("abc"[:n_params])}
    t0 = time.perf_counter()
    ref = grid_posterior(problem, data, priors=priors, grid=grid)
    assert time.perf_counter() - t0 < 10.0
    got = np.array([ref.mean[n] for n in ref.names])
    assert np.all(np.abs(got - mean) < 2e-3 * sd)
    assert np.allclose(ref.cov, cov, rtol=0.01, atol=0.01 * float(np.max(np.abs(cov))))
    # The model is linear, so its Laplace posterior is exact.
    post = laplace_solution(problem, data, priors=priors)
    assert np.allclose([post.mean[n] for n in post.names], mean, rtol=0, atol=1e-6 * float(sd.min()))
    assert np.allclose(post.cov, cov, rtol=1e-5, atol=0)
    assert post.corr.shape == (n_params, n_params)


def test_grid_loops_over_solutions_that_do_not_broadcast() -> None:
    problem = polynomial_problem(2)
    t = np.linspace(0.1, 1.0, 10)
    data = pb.Data(t[:, None], 0.7 * t + 0.1 * t**2, sigma=0.05)
    grid = {"a": np.linspace(0.4, 1.0, 31), "b": np.linspace(-0.5, 0.7, 33)}

    def scalar_only(points, p):
        a, b = float(p["a"]), float(p["b"])  # fails on arrays: the grid is looped over
        return a * points[:, 0] + b * points[:, 0] ** 2 / 2

    looped = grid_posterior(problem, data, grid=grid, solution=scalar_only)
    vectorised = grid_posterior(problem, data, grid=grid)
    assert np.allclose(looped.density, vectorised.density, rtol=1e-10, atol=1e-12)
    assert looped.density.shape == (31, 33) and set(looped.marginals) == {"a", "b"}
    assert any("improper flat" in n for n in looped.notes)


def test_with_priors_reuses_the_likelihood(poisson: pb.Problem) -> None:
    data = poisson_data(1)
    grid = {"D": np.linspace(0.3, 3.0, 1001)}
    flat = grid_posterior(poisson, data, grid=grid)
    direct = grid_posterior(poisson, data, priors={"D": Gamma(2.0, 1.0)}, grid=grid)
    reused = flat.with_priors({"D": Gamma(2.0, 1.0)})
    assert np.allclose(reused.density, direct.density, rtol=1e-12, atol=0)
    assert reused.mean["D"] != flat.mean["D"]
    assert "GridPosterior(1001 grid; D = " in repr(direct)
    pytest.importorskip("pandas")
    assert list(direct.to_frame().columns) == ["mean", "std", "low 95%", "high 95%", "map"]


def test_grid_warns_when_it_cuts_the_posterior(poisson: pb.Problem) -> None:
    ref = grid_posterior(poisson, poisson_data(0), grid={"D": np.linspace(0.9, 1.0, 51)})
    assert any("cuts the posterior off" in n for n in ref.notes)


def test_grid_bad_input(poisson: pb.Problem) -> None:
    data = poisson_data(0)
    with pytest.raises(pb.InputError, match="grid is required"):
        grid_posterior(poisson, data)
    with pytest.raises(pb.InputError, match="unknown parameter"):
        grid_posterior(poisson, data, grid={"k": np.linspace(1, 2, 5)})
    with pytest.raises(pb.InputError, match="strictly increasing"):
        grid_posterior(poisson, data, grid={"D": [1.0, 0.5, 2.0]})
    with pytest.raises(pb.InputError, match="at least 3"):
        grid_posterior(poisson, data, grid={"D": [1.0, 2.0]})
    with pytest.raises(pb.InputError, match="contains NaN"):
        grid_posterior(poisson, data, grid={"D": [1.0, np.nan, 2.0]})
    with pytest.raises(pb.InputError, match="over the limit"):
        grid_posterior(polynomial_problem(3), data, grid={n: np.linspace(0, 1, 101) for n in "abc"})
    with pytest.raises(pb.InputError, match="missing"):
        grid_posterior(polynomial_problem(2), data, grid={"a": np.linspace(0, 1, 11)})
    with pytest.raises(pb.InputError, match="outside the priors' support"):
        grid_posterior(poisson, data, grid={"D": np.linspace(-2.0, -1.0, 11)})
    with pytest.raises(pb.InputError, match="sigma must be positive"):
        grid_posterior(poisson, data, sigma=0.0, grid={"D": np.linspace(0.5, 2, 11)})
    four = pb.ode_problem("u.t - a - b - c - d", 0.0, {n: 1.0 for n in "abcd"})
    with pytest.raises(pb.InputError, match="up to 3 parameters"):
        grid_posterior(four, data, grid={n: np.linspace(0, 1, 5) for n in "abcd"}, solution=lambda p, q: p[:, 0])


# -- ensembles ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def growth() -> pb.Problem:
    return pb.problems.exponential_growth(a_true=2.0, a_init=1.0)


def test_ensemble_in_worker_processes(growth: pb.Problem) -> None:
    """Three seeds in two processes, one data set per seed, one of them bad: its run fails and is
    reported while the others give estimates."""
    bad = pb.Data(np.array([[0.5]]), np.array([1.0]), of="v")  # observes a field the problem lacks
    data = {s: growth.synthetic_data(20, noise=0.02, seed=s) for s in (0, 1)}
    data[2] = bad
    result = ensemble(growth, data, seeds=[0, 1, 2], model_kwargs={"hidden": (8, 8)}, fit_kwargs=EXP_FIT, workers=2)
    assert result.statuses == {0: "completed", 1: "completed", 2: "failed"}
    assert "InputError" in result.failed[0]["error"] and result.failed[0]["seed"] == 2
    values = result.values("a")
    assert values.shape == (2,) and np.all(np.abs(values - 2.0) < 0.1)
    assert result.median["a"] == pytest.approx(float(np.median(values)))
    assert result.iqr["a"][0] <= result.median["a"] <= result.iqr["a"][1]
    assert not result.interrupted and "2/3 runs good" in repr(result)
    pd = pytest.importorskip("pandas")
    table = result.params
    assert isinstance(table, pd.DataFrame) and list(table.index) == [0, 1, 2]
    assert table.loc[2, "status"] == "failed" and math.isnan(table.loc[2, "a"])


def test_ensemble_in_process_matches_a_single_fit(growth: pb.Problem) -> None:
    data = growth.synthetic_data(20, noise=0.02, seed=0)
    result = ensemble(growth, data, seeds=[3], model_kwargs={"hidden": (8, 8)}, fit_kwargs=EXP_FIT, workers=0)
    model = pb.BiLO(growth, data, hidden=(8, 8), seed=3)
    model.fit(**EXP_FIT)
    assert result.runs[0]["params"] == model.params  # equal seeds give identical runs
    assert math.isnan(result.std["a"])  # one run has no spread


def test_ensemble_bad_input(growth: pb.Problem) -> None:
    data = growth.synthetic_data(20, noise=0.02, seed=0)
    with pytest.raises(pb.InputError, match="method must be one of"):
        ensemble(growth, data, method="gp")
    with pytest.raises(pb.InputError, match="seeds is empty"):
        ensemble(growth, data, seeds=[])
    with pytest.raises(pb.InputError, match="distinct"):
        ensemble(growth, data, seeds=[1, 1])
    with pytest.raises(pb.InputError, match="a seed in seeds must be at least 0"):
        ensemble(growth, data, seeds=[-1])
    with pytest.raises(pb.InputError, match="come from the ensemble"):
        ensemble(growth, data, model_kwargs={"seed": 3})
    with pytest.raises(pb.InputError, match="cannot be passed"):
        ensemble(growth, data, fit_kwargs={"stepz": 3})
    with pytest.raises(pb.InputError, match="hidden"):
        ensemble(growth, data, model_kwargs={"hidden": (0,)})
    with pytest.raises(pb.InputError, match="lacks seeds"):
        ensemble(growth, {0: data}, seeds=[0, 1])
    with pytest.raises(pb.InputError, match="workers must be at least 0"):
        ensemble(growth, data, workers=-1)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to oneself is a POSIX signal")
@pytest.mark.parametrize("workers", [0, 1])
def test_ctrl_c_returns_the_runs_done(growth: pb.Problem, workers: int) -> None:
    """SIGINT while long fits run: the ensemble returns at once with what had finished."""
    data = growth.synthetic_data(20, noise=0.02, seed=0)
    fit = dict(steps=200_000, lr=1e-3, lr_params=1e-3, callback_every=50)
    timer = threading.Timer(3.0 if workers else 0.5, os.kill, (os.getpid(), signal.SIGINT))
    t0 = time.perf_counter()
    timer.start()
    try:
        result = ensemble(growth, data, seeds=[0, 1], model_kwargs={"hidden": (8,)}, fit_kwargs=fit, workers=workers)
    finally:
        timer.cancel()
    assert result.interrupted
    assert time.perf_counter() - t0 < 30
    assert all(s in ("not run", "interrupted") for s in result.statuses.values())
    assert all(r["status"] == "interrupted" for r in result.runs)
