"""BiLO-HMC's density and leapfrog trajectories in the core (ParameterPosterior) against the
Python path: the same log density and gradient for every prior kind and for several parameters,
the same trajectories, the same draws; the fallback for priors the core does not know; errors."""

from __future__ import annotations

from typing import Any, Dict

import numpy as np
import pytest

import pinnbilo as pb
from pinnbilo import _core
from pinnbilo.uncertainty import Flat, Gamma, LogNormal, Normal, Uniform, priors
from pinnbilo.uncertainty.bilo_hmc import BiLOTarget, bilo_hmc, native_prior
from pinnbilo.uncertainty.forwards import BiLOForward
from pinnbilo.uncertainty.samplers import Target, leapfrog

FIT: Dict[str, Any] = dict(steps=600, pretrain_steps=300, lr=1e-2, lr_params=1e-2, schedule="cosine", keep="best")
X_INTERIOR = np.linspace(0.0, 1.0, 13)[1:-1]


@pytest.fixture(scope="module")
def poisson() -> pb.BiLO:
    problem = pb.pde_problems.poisson(D_true=1.0, D_init=2.0)
    rng = np.random.default_rng(0)
    data = pb.Data(X_INTERIOR[:, None], np.sin(np.pi * X_INTERIOR) + 0.2 * rng.standard_normal(11), sigma=0.2)
    model = pb.BiLO(problem, data, hidden=(16, 16), seed=0)
    model.fit(**FIT)
    return model


@pytest.fixture(scope="module")
def two_params() -> pb.BiLO:
    """Two parameters and two observations (one of an expression: u.x), unequal sigma."""
    problem = pb.problems.get("fisher_kpp")
    u = problem.synthetic_data(12, noise=0.01, seed=1)
    pts = u.points[:6]
    flux = pb.Data(pts, np.asarray(problem.exact_field(pts, "u")) * 0 + 0.1, of="u.x", sigma=0.5)
    model = pb.BiLO(problem, [pb.Data(u.points, u.values, sigma=0.02), flux], hidden=(12, 12), n_res=64, seed=0)
    model.fit(steps=200, pretrain_steps=100, lr=1e-2)
    return model


def targets(model: pb.BiLO, prior_list: list, sigma: np.ndarray) -> "tuple[BiLOTarget, BiLOTarget]":
    forward = BiLOForward(model, 0, 1e-3)
    return BiLOTarget(forward, prior_list, sigma, "core"), BiLOTarget(forward, prior_list, sigma, "python")


@pytest.mark.parametrize(
    "prior",
    [
        Gamma(2.0, 1.0),
        Normal(1.2, 0.5),
        LogNormal(0.1, 0.4),
        Uniform(0.1, 4.0),
        Flat(0.0, 10.0),
        priors.Truncated(Normal(1.0, 2.0), 0.2, 3.0),
    ],  # fmt: skip
)
def test_core_density_is_the_python_density(poisson: pb.BiLO, prior: Any) -> None:
    core, python = targets(poisson, [prior], np.full(11, 0.2))
    assert core.engine == "core" and python.engine == "python"
    for d in (0.5, 0.97, 1.3, 2.5):
        a, b = core(np.array([d])), python(np.array([d]))
        assert a[0] == pytest.approx(b[0], rel=1e-11, abs=1e-11)
        np.testing.assert_allclose(a[1], b[1], rtol=1e-8, atol=1e-10)


def test_core_density_with_two_parameters_and_expression_data(two_params: pb.BiLO) -> None:
    sigma = np.concatenate([np.full(12, 0.02), np.full(6, 0.5)])
    core, python = targets(two_params, [Uniform(0.0, 1.0), Normal(2.0, 1.0)], sigma)
    for theta in ([0.1, 2.0], [0.12, 1.8], [0.08, 2.3]):
        a, b = core(np.array(theta)), python(np.array(theta))
        assert a[0] == pytest.approx(b[0], rel=1e-10)
        # the Python path differences the network for the u.x rows (step 1e-6 relative)
        np.testing.assert_allclose(a[1], b[1], rtol=1e-5, atol=1e-6 * np.abs(b[1]).max())


def test_core_trajectory_is_the_python_trajectory(poisson: pb.BiLO) -> None:
    core, python = targets(poisson, [Gamma(2.0, 1.0)], np.full(11, 0.2))
    x = np.array([1.1])
    logp, grad = python(x)
    from pinnbilo.uncertainty.samplers import Point

    start = Point(x, logp, grad)
    inv_mass = np.array([0.01])
    ends = []
    for t in (Target(core, 1), Target(python, 1)):
        end, q = leapfrog(t, start, np.array([0.7]), 0.05, inv_mass, 25)
        assert end is not None and t.evals == 25
        ends.append((end.x, end.logp, q))
    np.testing.assert_allclose(ends[0][0], ends[1][0], rtol=1e-10)
    assert ends[0][1] == pytest.approx(ends[1][1], rel=1e-10)
    np.testing.assert_allclose(ends[0][2], ends[1][2], rtol=1e-8)
    # out of the support: a divergence in both
    for t in (Target(core, 1), Target(python, 1)):
        end, _ = leapfrog(t, start, np.array([-500.0]), 0.5, np.array([1.0]), 10)
        assert end is None


def test_core_and_python_engines_give_the_same_draws(poisson: pb.BiLO) -> None:
    """With the network held (lower_steps=0) both sample one fixed density: the same draws up to
    rounding. (Retrainings stop on a tolerance, so rounding can change their step counts: the
    draws then agree in distribution, which test_uncertainty_bilo_hmc checks against the grid.)
    Short chains: over long ones the rounding differences grow through the step-size tuning."""
    kw: Dict[str, Any] = dict(n_warmup=5, chains=2, seed=2, lower_steps=0)
    a = bilo_hmc(poisson, 10, {"D": Gamma(2.0, 1.0)}, engine="core", **kw)
    b = bilo_hmc(poisson, 10, {"D": Gamma(2.0, 1.0)}, engine="python", **kw)
    assert np.unique(a.samples).size > 5  # the chains move
    np.testing.assert_allclose(a.samples, b.samples, rtol=1e-8)
    assert any("in the core" in n for n in a.notes) and any("in Python" in n for n in b.notes)


def test_priors_the_core_does_not_know_use_python(poisson: pb.BiLO) -> None:
    class Shifted(Normal):
        def _logpdf(self, x: np.ndarray) -> np.ndarray:
            return np.asarray(super()._logpdf(x) + 0.1 * x)

    assert native_prior(Shifted(1.0, 1.0)) is None
    assert native_prior(Gamma(2.0, 1.0)) == (3, 2.0, 1.0, 0.0, np.inf)
    core, _ = targets(poisson, [Shifted(1.0, 1.0)], np.full(11, 0.2))
    assert core.engine == "python" and core.native_leapfrog is None


def test_core_posterior_bad_input(poisson: pb.BiLO) -> None:
    trainer = poisson._trainer
    ok = [(3, 2.0, 1.0, 0.0, np.inf)]
    with pytest.raises(pb.InputError, match="sigma"):
        _core.ParameterPosterior64(trainer, np.full(3, 0.2), ok)
    with pytest.raises(pb.InputError, match="sigma"):
        _core.ParameterPosterior64(trainer, np.r_[np.full(10, 0.2), np.nan], ok)
    with pytest.raises(pb.InputError, match="priors"):
        _core.ParameterPosterior64(trainer, np.full(11, 0.2), ok * 2)
    with pytest.raises(pb.InputError, match="prior kind"):
        _core.ParameterPosterior64(trainer, np.full(11, 0.2), [(9, 0.0, 1.0, 0.0, 1.0)])
    with pytest.raises(pb.InputError, match="Gamma"):
        _core.ParameterPosterior64(trainer, np.full(11, 0.2), [(3, -2.0, 1.0, 0.0, np.inf)])
    post = _core.ParameterPosterior64(trainer, np.full(11, 0.2), ok)
    with pytest.raises(pb.InputError, match="theta"):
        post.evaluate(np.array([1.0, 2.0]))
    with pytest.raises(pb.InputError, match="step size"):
        post.leapfrog(np.array([1.0]), np.array([0.0]), np.array([0.0]), -0.1, np.array([1.0]), 3)
    with pytest.raises(pb.InputError, match="one value per parameter"):
        post.leapfrog(np.array([1.0]), np.array([0.0]), np.array([0.0, 1.0]), 0.1, np.array([1.0]), 3)
    with pytest.raises(pb.InputError, match="engine"):
        bilo_hmc(poisson, 5, engine="gpu")
