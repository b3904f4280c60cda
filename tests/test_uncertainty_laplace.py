"""The Laplace posterior: priors, the noise model, BiLO's local-operator Jacobian and PINN's
re-optimised differences, MAP refinement, agreement with the exact grid posterior, interval
coverage, and the errors bad input gets."""

from __future__ import annotations

import math
from typing import Any, Dict

import numpy as np
import pytest
from scipy import stats  # type: ignore[import-untyped]  # no scipy stubs

import pinnbilo as pb
from pinnbilo.uncertainty import (
    Flat,
    Gamma,
    LogNormal,
    Normal,
    Uniform,
    grid_posterior,
    laplace,
    laplace_solution,
)
from pinnbilo.uncertainty.forwards import BiLOForward

FAST_FIT: Dict[str, Any] = dict(steps=2000, pretrain_steps=500, lr=1e-2, lr_params=1e-2, schedule="cosine", keep="best")
EXP_FIT: Dict[str, Any] = dict(steps=1000, pretrain_steps=300, lr=1e-2, lr_params=1e-2, schedule="cosine", keep="best")
X_INTERIOR = np.linspace(0.0, 1.0, 13)[1:-1]  # 11 interior points: u = 0 at both ends


def poisson_data(seed: int) -> pb.Data:
    """The anchor's data: 11 interior points of u = sin(pi x) / D with D = 1, noise std 0.2."""
    rng = np.random.default_rng(seed)
    y = np.sin(np.pi * X_INTERIOR) + 0.2 * rng.standard_normal(X_INTERIOR.size)
    return pb.Data(X_INTERIOR[:, None], y, sigma=0.2)


@pytest.fixture(scope="module")
def poisson() -> pb.Problem:
    return pb.pde_problems.poisson(D_true=1.0, D_init=2.0)


@pytest.fixture(scope="module")
def fitted_bilo(poisson: pb.Problem) -> pb.BiLO:
    model = pb.BiLO(poisson, poisson_data(0), hidden=(16, 16), seed=0)
    model.fit(**FAST_FIT)
    return model


# -- priors ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "prior, reference",
    [
        (Normal(0.5, 2.0), stats.norm(0.5, 2.0)),
        (LogNormal(0.2, 0.5), stats.lognorm(0.5, scale=math.exp(0.2))),
        (Gamma(2.0, 1.5), stats.gamma(2.0, scale=1 / 1.5)),
        (Uniform(-1.0, 3.0), stats.uniform(-1.0, 4.0)),
    ],
)
def test_priors_match_scipy_and_their_derivatives(prior, reference) -> None:
    x = np.array([0.3, 0.9, 1.7, 2.5])
    assert np.allclose(prior.logpdf(x), reference.logpdf(x), rtol=1e-12, atol=1e-12)
    h = 1e-5
    fd = (prior.logpdf(x + h) - prior.logpdf(x - h)) / (2 * h)
    assert np.allclose(prior.grad(x), fd, rtol=1e-6, atol=1e-8)
    fd2 = (prior.grad(x + h) - prior.grad(x - h)) / (2 * h)
    assert np.allclose(prior.hess(x), fd2, rtol=1e-5, atol=1e-7)
    assert math.isclose(prior.mean, reference.mean(), rel_tol=1e-12)
    assert math.isclose(prior.std, reference.std(), rel_tol=1e-12)
    draws = prior.sample(np.random.default_rng(0), 40_000)
    assert abs(draws.mean() - prior.mean) < 5 * prior.std / math.sqrt(draws.size)
    assert isinstance(prior.logpdf(1.0), float)


def test_priors_outside_their_support() -> None:
    assert Gamma(2, 1).logpdf(-1.0) == -math.inf
    assert Gamma(2, 1).grad(-1.0) == 0.0
    assert np.asarray(Uniform(0, 1).logpdf(np.array([-0.5, 0.5, 1.5]))).tolist() == [-math.inf, 0.0, -math.inf]
    assert LogNormal(0, 1).logpdf(0.0) == -math.inf
    with pytest.raises(pb.InputError, match="improper"):
        Flat().sample(np.random.default_rng(0), 3)


@pytest.mark.parametrize(
    "make, text",
    [
        (lambda: Normal(0, -1), "std must be positive"),
        (lambda: Normal(0, 0), "std must be positive"),
        (lambda: Normal(float("nan"), 1), "mean must be finite"),
        (lambda: Gamma(0, 1), "alpha"),
        (lambda: Gamma(-2, 1), "alpha"),
        (lambda: Gamma(2, float("inf")), "rate"),
        (lambda: LogNormal(0, -0.1), "sigma"),
        (lambda: Uniform(2, 1), "low must be below high"),
        (lambda: Uniform("a", 1), "low must be a real number"),  # type: ignore[arg-type]
    ],
)
def test_bad_priors(make, text) -> None:
    with pytest.raises(pb.InputError, match=text):
        make()


# -- bad input to laplace ----------------------------------------------------------------------
def test_laplace_bad_input(poisson: pb.Problem, fitted_bilo: pb.BiLO) -> None:
    with pytest.raises(pb.InputError, match="excludes its initial guess 2"):
        laplace(fitted_bilo, priors={"D": Uniform(0.5, 1.5)})
    with pytest.raises(pb.InputError, match="excludes its current value"):
        laplace(fitted_bilo, priors={"D": Uniform(1.5, 3.0)})
    with pytest.raises(pb.InputError, match=r"unknown parameter\(s\) \['k'\]"):
        laplace(fitted_bilo, priors={"k": Normal(0, 1)})
    with pytest.raises(pb.InputError, match="prior of 'D' must be a prior object"):
        laplace(fitted_bilo, priors={"D": (1.0, 0.1)})
    with pytest.raises(pb.InputError, match="priors must be a mapping"):
        laplace(fitted_bilo, priors=[Normal(1, 1)])  # type: ignore[arg-type]
    with pytest.raises(pb.InputError, match="no mass inside the bounds"):
        laplace(fitted_bilo, priors={"D": Uniform(-2.0, -1.0)})
    with pytest.raises(pb.InputError, match="sigma must be finite"):
        laplace(fitted_bilo, sigma=float("nan"))
    with pytest.raises(pb.InputError, match="sigma must be positive"):
        laplace(fitted_bilo, sigma=-0.1)
    with pytest.raises(pb.InputError, match="sigma contains NaN"):
        laplace(fitted_bilo, sigma=np.full(11, np.nan))
    with pytest.raises(pb.InputError, match=r"expected shape \(11,\)"):
        laplace(fitted_bilo, sigma=np.ones(3))
    with pytest.raises(pb.InputError, match="'estimate'"):
        laplace(fitted_bilo, sigma="guess")
    with pytest.raises(pb.InputError, match="not been fitted"):
        laplace(pb.BiLO(poisson, poisson_data(0), hidden=(4,)))
    with pytest.raises(pb.InputError, match="must be a pinnbilo BiLO or PINN"):
        laplace("model")
    with pytest.raises(pb.InputError, match="refine must be True or False"):
        laplace(fitted_bilo, refine="yes")  # type: ignore[arg-type]
    with pytest.raises(pb.InputError, match="level must be a probability"):
        laplace(fitted_bilo, refine=False).interval(1.5)


def test_laplace_solution_refuses_expression_observations(poisson: pb.Problem) -> None:
    flux = pb.Data(X_INTERIOR[:, None], np.pi * np.cos(np.pi * X_INTERIOR), of="u.x", sigma=0.1)
    with pytest.raises(pb.InputError, match="expression 'u.x'"):
        laplace_solution(poisson, flux)
    with pytest.raises(pb.InputError, match="more rows than parameters"):
        laplace_solution(poisson, pb.Data(np.array([[0.5]]), np.array([1.0])))


# -- the Poisson anchor --------------------------------------------------------------------------
def test_poisson_anchor_laplace_matches_the_grid_reference(poisson: pb.Problem) -> None:
    """BiLO's MAP-refined Laplace posterior under a Gamma(2, 1) prior against the exact grid
    posterior on the same data, over three noise draws."""
    prior = {"D": Gamma(2.0, 1.0)}
    grid = {"D": np.linspace(0.3, 3.0, 2701)}
    for seed in range(3):
        data = poisson_data(seed)
        model = pb.BiLO(poisson, data, hidden=(16, 16), seed=seed)
        model.fit(**FAST_FIT)
        post = laplace(model, priors=prior)
        ref = grid_posterior(poisson, data, priors=prior, grid=grid)
        exact = laplace_solution(poisson, data, priors=prior)
        assert abs(post.std["D"] / ref.std["D"] - 1) < 0.25
        assert abs(post.mean["D"] - ref.mean["D"]) < 0.05
        # Against the same Gaussian computed from the exact solution: the network's Jacobian.
        assert abs(post.std["D"] / exact.std["D"] - 1) < 0.02
        assert abs(post.mean["D"] - exact.mean["D"]) < 0.05 * exact.std["D"]
        assert abs(post.mean["D"] - ref.map["D"]) < 2e-3  # the MAP, which the grid resolves to 1e-3
        assert post.sigma.tolist() == [0.2] * 11 and not post.sigma_estimated
        assert "Gamma(alpha=2, rate=1)" in post.priors


def test_informative_prior_moves_the_mode_to_the_map(poisson: pb.Problem, fitted_bilo: pb.BiLO) -> None:
    """A prior far from the data's estimate: the refinement retrains the lower level along the way
    and lands on the exact MAP."""
    prior = {"D": Normal(1.5, 0.05)}
    post = laplace(fitted_bilo, priors=prior)
    exact = laplace_solution(poisson, fitted_bilo.observations, priors=prior)
    assert post.mean["D"] - post.estimate["D"] > 0.3  # moved well away from the fit
    assert post.converged and post.map_steps >= 2
    assert abs(post.mean["D"] - exact.mean["D"]) < 0.02 * exact.std["D"]
    assert abs(post.std["D"] / exact.std["D"] - 1) < 0.01
    unrefined = laplace(fitted_bilo, priors=prior, refine=False)
    assert unrefined.mean == unrefined.estimate == fitted_bilo.params


def test_laplace_leaves_the_model_unchanged(fitted_bilo: pb.BiLO) -> None:
    before = (fitted_bilo.params, fitted_bilo.step, fitted_bilo.state_vector("lower"), len(fitted_bilo.history))
    laplace(fitted_bilo, priors={"D": Normal(1.5, 0.05)})
    after = (fitted_bilo.params, fitted_bilo.step, fitted_bilo.state_vector("lower"), len(fitted_bilo.history))
    assert before[0] == after[0] and before[1] == after[1] and before[3] == after[3]
    assert np.array_equal(before[2], after[2])


def test_pinn_laplace_from_reoptimised_differences(poisson: pb.Problem) -> None:
    data = poisson_data(1)
    model = pb.PINN(poisson, data, hidden=(16, 16), seed=0)
    model.fit(steps=3000, lr=1e-2, lr_params=1e-2, schedule="cosine", keep="best")
    prior = {"D": Gamma(2.0, 1.0)}
    post = laplace(model, priors=prior, pinn_maxiter=100)
    exact = laplace_solution(poisson, data, priors=prior)
    assert abs(post.std["D"] / exact.std["D"] - 1) < 0.03
    assert abs(post.mean["D"] - exact.mean["D"]) < 0.1 * exact.std["D"]
    assert "central differences" in post.method and "PINN" in post.method


def test_estimated_sigma_uses_student_t(poisson: pb.Problem, fitted_bilo: pb.BiLO) -> None:
    post = laplace(fitted_bilo, sigma="estimate")
    assert post.sigma_estimated and post.dof == 10
    resid = np.concatenate(fitted_bilo.observation_predictions()) - fitted_bilo.data.values
    assert math.isclose(post.sigma[0], math.sqrt(np.sum(resid**2) / 10), rel_tol=1e-6)
    lo, hi = post.interval(0.9)["D"]
    assert math.isclose((hi - lo) / 2, stats.t.ppf(0.95, 10) * post.std["D"], rel_tol=1e-9)
    assert any("estimated" in n for n in post.notes) and any("improper flat" in n for n in post.notes)
    # Data without sigma: estimated by default.
    bare = pb.Data(fitted_bilo.data.points, fitted_bilo.data.values)
    assert laplace_solution(poisson, bare).sigma_estimated


def test_posterior_summaries(fitted_bilo: pb.BiLO) -> None:
    post = laplace(fitted_bilo, priors={"D": Gamma(2.0, 1.0)})
    assert post.names == ["D"] and post.cov.shape == (1, 1) and post.corr[0, 0] == pytest.approx(1.0)
    lo, hi = post.intervals95["D"]
    assert math.isclose(hi - post.mean["D"], 1.959963984540054 * post.std["D"], rel_tol=1e-9)
    assert lo < post.mean["D"] < hi
    text = repr(post)
    assert text.startswith("Posterior(Laplace; D = ") and "sigma known" in text and len(text) < 200
    draws = post.sample(20_000, seed=1)
    assert draws.shape == (20_000, 1) and abs(draws.std() / post.std["D"] - 1) < 0.03
    pd = pytest.importorskip("pandas")
    table = post.to_frame()
    assert isinstance(table, pd.DataFrame) and list(table.index) == ["D"]
    assert table.loc["D", "std"] == post.std["D"] and "low 95%" in table.columns


def test_bilo_jacobian_of_flux_observations(poisson: pb.Problem, fitted_bilo: pb.BiLO) -> None:
    """Observations of an expression (u.x): the Jacobian from differences of the local operator,
    against the exact d(u_x)/dD = -pi cos(pi x) / D^2."""
    D = fitted_bilo.params["D"]
    flux = pb.Data(X_INTERIOR[:, None], np.pi * np.cos(np.pi * X_INTERIOR) / D, of="u.x", sigma=0.05)
    model = pb.BiLO(poisson, [fitted_bilo.data, flux], hidden=(16, 16), seed=0)
    model.set_weights(fitted_bilo.get_weights())
    model.set_params({"D": D})
    model.fit(steps=0, pretrain_steps=1)  # one weight step: the network stays the fitted one
    forward = BiLOForward(model, lower_steps=0, lower_lr=1e-3)
    _, jac = forward.at(np.array([D]))
    exact_u = -np.sin(np.pi * X_INTERIOR) / D**2
    exact_ux = -np.pi * np.cos(np.pi * X_INTERIOR) / D**2
    assert np.max(np.abs(jac[:11, 0] - exact_u)) < 0.01
    assert np.max(np.abs(jac[11:, 0] - exact_ux)) < 0.05 * np.pi
    assert "differences of the network" in forward.method


def test_bilo_jacobian_of_a_system_is_the_networks_derivative() -> None:
    """Several fields and parameters: the analytic parameter derivatives equal differences of
    the network in its parameter inputs (any network: no training needed for this identity)."""
    problem = pb.problems.lotka_volterra()
    data = problem.synthetic_observations(8, noise=0.0, seed=0)
    model = pb.BiLO(problem, data, hidden=(8,), seed=3)
    model.fit(steps=1, pretrain_steps=1)
    forward = BiLOForward(model, lower_steps=0, lower_lr=1e-3)
    theta = np.array(list(model.params.values()))
    analytic = forward._jacobian(theta)
    h = 1e-5 * np.maximum(np.abs(theta), 1.0)
    fd = np.stack(
        [
            (forward.value(theta + h[j] * np.eye(theta.size)[j]) - forward.value(theta - h[j] * np.eye(theta.size)[j]))
            / (2 * h[j])
            for j in range(theta.size)
        ],
        axis=1,
    )
    assert analytic.shape == (16, 4)
    assert np.allclose(analytic, fd, rtol=1e-5, atol=1e-7)


# -- coverage ----------------------------------------------------------------------------------
def test_coverage_of_the_95_interval_exponential_growth() -> None:
    """u' = a u with 2% noise: the Laplace 95% interval of a contains the truth in 90-99% of 300
    data sets (the exact solution's Jacobian; for a calibrated interval the chance of falling
    outside is below 2e-4), and BiLO's own intervals on 30 of them agree with those."""
    problem = pb.problems.exponential_growth(a_true=2.0, a_init=1.0)
    sd = 0.02 * math.exp(2.0)  # synthetic_data's noise: 2% of max |u|
    hits = 0
    for s in range(300):
        post = laplace_solution(problem, problem.synthetic_data(20, noise=0.02, seed=s), sigma=sd)
        lo, hi = post.intervals95["a"]
        hits += lo < 2.0 < hi
    assert 270 <= hits <= 297, hits
    bilo_hits = 0
    for s in range(30):
        data = problem.synthetic_data(20, noise=0.02, seed=s)
        model = pb.BiLO(problem, data, hidden=(16, 16), seed=s)
        model.fit(**EXP_FIT)
        post = laplace(model, sigma=sd)
        exact = laplace_solution(problem, data, sigma=sd)
        assert abs(post.std["a"] / exact.std["a"] - 1) < 0.05
        assert abs(post.mean["a"] - exact.mean["a"]) < 0.25 * exact.std["a"]
        lo, hi = post.intervals95["a"]
        bilo_hits += lo < 2.0 < hi
    assert bilo_hits >= 25, bilo_hits  # P(<= 24 of 30) = 0.3% for a calibrated 95% interval


def test_fit_result_uncertainty_is_the_models_posterior_at_the_fit():
    import pickle

    problem = pb.problems.exponential_growth(a_true=2.0, a_init=1.0)
    data = problem.synthetic_data(n=20, noise=0.01, seed=0)
    model = pb.BiLO(problem, data, hidden=(16, 16), seed=0)
    result = model.fit(steps=800, pretrain_steps=200)
    post = result.uncertainty(sigma=0.01)
    direct = model.posterior(sigma=0.01)
    for name in direct.mean:
        assert post.mean[name] == pytest.approx(direct.mean[name], rel=1e-12)
        assert post.std[name] == pytest.approx(direct.std[name], rel=1e-12)
    assert "model" not in repr(result)
    with pytest.raises(pb.InputError, match="no model attached"):
        pickle.loads(pickle.dumps(result)).uncertainty()
    model.fit(steps=5)
    with pytest.raises(pb.InputError, match="trained after this fit"):
        result.uncertainty()
