"""Pointwise bands of a recovered unknown function (uncertainty.function_band): the retrained
response against the reference solver's, how the band scales with the noise and the prior, where
the output transform pins the function, that its mean is the fitted function, that it covers the
truth (over two seeds), and the errors bad input gets."""

from __future__ import annotations

from typing import Any, Dict

import numpy as np
import pytest

import pinnbilo as pb
from pinnbilo import solvers
from pinnbilo.uncertainty import FunctionBand, function_band
from pinnbilo.uncertainty import function_bands as bands

FIT: Dict[str, Any] = dict(steps=3000, pretrain_steps=600, lr=5e-3, schedule="cosine", keep="best")
NOISE = 0.01  # relative: sigma = NOISE * max|u|
N_DATA, W_DATA, W_REG = 20, 100.0, 1e-3


def TAU_FIT(sigma: float) -> float:
    """The prior scale the fit's w_data L_data + w_reg L_reg implies with a uniform sigma."""
    return float(np.sqrt(W_DATA * sigma**2 / (N_DATA * W_REG)))


def true_d(z: np.ndarray) -> np.ndarray:
    """The true D at points (n, 1): 1 + 0.5 sin(2 pi x)."""
    return 1 + 0.5 * np.sin(2 * np.pi * z[:, 0])


def problem() -> pb.Problem:
    """The README's D(x) example, (D u_x)_x = -pi^2 sin(pi x) with D(0) = D(1) = 1 built in."""
    return pb.problems.variable_poisson()


def fitted(seed: int) -> pb.BiLO:
    prob = problem()
    data = prob.synthetic_data(N_DATA, noise=NOISE, seed=seed)
    model = pb.BiLO(prob, data, n_res=51, w_reg=W_REG, w_data=W_DATA, seed=seed)
    model.fit(**FIT)
    return model


def sigma_of(model: pb.BiLO) -> float:
    """synthetic_data's noise level: NOISE * max|u| over the data points."""
    points = np.concatenate([o.points for o in model.observations])
    return NOISE * float(np.max(np.abs(model.problem.exact_field(points, "u"))))


@pytest.fixture(scope="module")
def model0() -> pb.BiLO:
    return fitted(0)


def test_mean_is_the_fitted_function_and_band_is_symmetric(model0: pb.BiLO) -> None:
    x = np.linspace(0.05, 0.95, 19)
    band = function_band(model0, "D", x, sigma=sigma_of(model0), smoothness_scale=1.0)
    assert isinstance(band, FunctionBand)
    np.testing.assert_allclose(band.mean, model0.function("D", x), rtol=0, atol=1e-12)
    np.testing.assert_allclose(band.upper - band.mean, band.mean - band.lower, rtol=1e-12)
    np.testing.assert_allclose(band.upper - band.mean, 1.959963984540054 * band.std, rtol=1e-9)
    assert np.all(band.std > 0) and band.points.shape == (19, 1)
    assert band.contains(band.mean).all()
    assert not band.contains(band.upper + 1e-9).any()
    assert any("tau" in n for n in band.notes)


def test_std_is_linear_in_sigma_without_a_prior(model0: pb.BiLO) -> None:
    s = sigma_of(model0)
    one = function_band(model0, "D", sigma=s, smoothness_scale=None)
    three = function_band(model0, "D", sigma=3 * s, smoothness_scale=None)
    np.testing.assert_allclose(three.std, 3 * one.std, rtol=1e-8, atol=1e-14)
    assert not one.sigma_estimated


def test_prior_narrows_the_band(model0: pb.BiLO) -> None:
    s = sigma_of(model0)
    free = function_band(model0, "D", sigma=s, smoothness_scale=None)
    fit = function_band(model0, "D", sigma=s)
    assert any("the fit's w_data / w_reg" in n for n in fit.notes)
    np.testing.assert_allclose(fit.std, function_band(model0, "D", sigma=s, smoothness_scale=TAU_FIT(s)).std)
    loose = function_band(model0, "D", sigma=s, smoothness_scale=10.0)
    tight = function_band(model0, "D", sigma=s, smoothness_scale=0.1)
    # adding a positive semi-definite precision can only narrow every pointwise variance
    assert np.all(loose.std <= free.std * (1 + 1e-6))
    assert np.all(tight.std <= loose.std * (1 + 1e-6))
    assert np.median(tight.std) < 0.9 * np.median(free.std)


def test_band_vanishes_where_the_transform_pins_the_function(model0: pb.BiLO) -> None:
    band = function_band(model0, "D", [0.0, 0.5, 1.0], sigma=sigma_of(model0))
    assert band.std[0] < 1e-9 and band.std[2] < 1e-9
    assert band.std[1] > 1e-4
    np.testing.assert_allclose(band.mean[[0, 2]], 1.0, atol=1e-12)


def test_last_layer_band_and_estimated_sigma(model0: pb.BiLO) -> None:
    last = function_band(model0, "D", layers="last", smoothness_scale=1.0, response="local")
    assert last.sigma_estimated and np.all(np.isfinite(last.std))
    estimated = function_band(model0, "D")  # dof: the data rows less the rank of the Jacobian
    assert estimated.sigma_estimated
    assert 0.5 < estimated.sigma[0] / sigma_of(model0) < 2
    assert any("last layer" in n for n in last.notes)


def test_retrained_response_is_the_reference_solvers(model0: pb.BiLO) -> None:
    """The predictions' Jacobian in D's weights, from the linearised retraining, against the same
    Jacobian through the finite-volume solver (D the network's, perturbed weight by weight); the
    local operator alone misses most of it."""
    x = np.linspace(0.02, 0.98, 25)[:, None]
    data_x = np.concatenate([o.points for o in model0.observations])

    def u_reference() -> list:
        def d_of(z: np.ndarray) -> np.ndarray:
            return np.asarray(model0.function("D", z[:, None]), dtype=np.float64)

        def source(z: np.ndarray) -> np.ndarray:
            return -(np.pi**2) * np.sin(np.pi * z)

        return [np.asarray(solvers.solve_poisson_1d(d_of, source, n=1001)(data_x), dtype=np.float64).reshape(-1)]

    (reference,) = bands._central_columns(model0, "upper", np.arange(model0.state_vector("upper").size), u_reference)
    retrained = bands._sensitivities(model0, "D", x, "all", "retrained").jac
    local = bands._sensitivities(model0, "D", x, "all", "local").jac
    scale = np.linalg.norm(reference)
    assert np.linalg.norm(retrained - reference) < 1e-2 * scale
    assert np.linalg.norm(local - reference) > 0.5 * scale


@pytest.mark.parametrize("seed", [0, 1])
def test_band_covers_the_truth(seed: int, model0: pb.BiLO) -> None:
    """With the fit's own prior the band holds the true D nearly everywhere and is not absurdly
    wide; the local operator's band is of the size of the error but under-covers
    (docs/uncertainty.md)."""
    model = model0 if seed == 0 else fitted(seed)
    x = np.linspace(0.02, 0.98, 49)
    truth = true_d(x[:, None])
    band = function_band(model, "D", x, sigma=sigma_of(model))
    err = np.abs(band.mean - truth)
    assert np.mean(band.contains(truth)) >= 0.9
    assert np.median(band.std) < 10 * np.median(err)
    local = function_band(model, "D", x, sigma=sigma_of(model), response="local")
    assert 0.2 < np.median(local.std) / np.median(err) < 3
    assert np.median(local.std) < np.median(band.std)


def test_bad_input(model0: pb.BiLO) -> None:
    prob = problem()
    data = prob.synthetic_data(20, noise=NOISE)
    with pytest.raises(pb.InputError, match="BiLO"):
        function_band(pb.PINN(prob, data, n_res=51), "D")
    with pytest.raises(pb.InputError, match="unknown function"):
        function_band(model0, "V")
    with pytest.raises(pb.InputError, match="not been fitted"):
        function_band(pb.BiLO(prob, data, n_res=51), "D")
    with pytest.raises(pb.InputError, match="level"):
        function_band(model0, "D", level=1.0)
    with pytest.raises(pb.InputError, match="response"):
        function_band(model0, "D", response="global")
    with pytest.raises(pb.InputError, match="layers"):
        function_band(model0, "D", layers="first")
    with pytest.raises(pb.InputError, match="smoothness_scale"):
        function_band(model0, "D", smoothness_scale=-1.0)
    with pytest.raises(pb.InputError):
        function_band(model0, "D", [2.0])  # outside the domain
    with pytest.raises(pb.InputError, match="values"):
        function_band(model0, "D", [0.5]).contains([1.0, 2.0])


def test_plot(model0: pb.BiLO) -> None:
    pytest.importorskip("matplotlib")
    from pinnbilo.uncertainty import plots

    band = function_band(model0, "D", sigma=sigma_of(model0))
    fig = plots.function_band(band, truth=true_d)
    ax = fig.axes[0]
    assert len(ax.lines) == 2 and len(ax.collections) == 1
    with pytest.raises(pb.InputError, match="FunctionBand"):
        plots.function_band(object())
    with pytest.raises(pb.InputError, match="truth"):
        plots.function_band(band, truth=[1.0, 2.0])


def test_two_coordinates_default_grid_and_strided_collocation() -> None:
    """A function of (x, y): the band on a 41 x 41 grid, the retraining and the prior on 1024-point
    strided subsets of a larger collocation set."""
    problem = pb.problems.get("darcy")
    data = problem.synthetic_data(30, noise=0.01, seed=0)
    model = pb.BiLO(problem, data, hidden=(8, 8), n_res=34, seed=0, w_reg=1e-3)
    model.fit(steps=100, pretrain_steps=20, lr=5e-3)
    assert model.collocation.shape[0] > bands.MAX_COLLOCATION
    band = function_band(model, "f", sigma=0.01)
    assert band.points.shape == (41 * 41, 2) and np.all(np.isfinite(band.std))
    assert any("collocation points (strided)" in n for n in band.notes)
