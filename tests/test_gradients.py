"""Exact gradients of the PINN and BiLO objectives against central finite differences."""

import numpy as np
import pytest

import pinnbilo as pb

from conftest import central_difference

RICH_RESIDUAL = "u.t - a*exp(-u)*sin(3*t) + b*u**3/(1 + u**2) - sqrt(1 + u**2)*log(2 + t) + tanh(b*t)*u**0.5"


def rich_problem() -> pb.Problem:
    """Two parameters, bounds of every kind, and every elementary function."""
    params = [pb.Parameter("a", 0.7, bounds=(0.0, 3.0)), pb.Parameter("b", 1.3, bounds=(0.5, None))]
    return pb.Problem(("t",), {"t": (0.0, 1.0)}, params, RICH_RESIDUAL, transform="1 + t*N*sigmoid(a) + b*t**2")


def logistic_problem() -> pb.Problem:
    return pb.problems.logistic_growth(bounds=(None, 10.0))


PROBLEMS = {
    "exponential": lambda: pb.problems.exponential_growth(),
    "logistic": logistic_problem,
    "rich": rich_problem,
}


def objective_cases():
    for name in PROBLEMS:
        yield name, pb.PINN, "pinn"
        yield name, pb.BiLO, "lower"
        yield name, pb.BiLO, "upper"


@pytest.mark.parametrize("problem_name,cls,objective", list(objective_cases()))
def test_objective_gradient_matches_finite_differences(problem_name, cls, objective):
    problem = PROBLEMS[problem_name]()
    rng = np.random.default_rng(3)
    pts = np.sort(rng.uniform(*problem.domain["t"], 7))
    data = pb.Data(pts, 1.0 + 0.3 * rng.standard_normal(7))
    model = cls(problem, data, hidden=(6, 5), activation="tanh", n_res=9, seed=4, w_res=0.7, w_rgrad=1.9, w_data=1.3)
    model.fit(steps=20, lr=1e-2, lr_params=1e-2)  # move away from the symmetric initial state
    x = model.state_vector(objective)
    f, g, _ = model.objective(objective, x)
    g_fd = central_difference(lambda y: model.objective(objective, y)[0], x)
    scale = max(1.0, np.max(np.abs(g_fd)))
    assert np.isfinite(f)
    assert np.max(np.abs(g - g_fd)) < 1e-6 * scale, (problem_name, objective)


@pytest.mark.parametrize("activation", ["tanh", "sin", "sigmoid", "softplus"])
def test_pinn_gradient_every_activation(activation, exp_problem, exp_data):
    model = pb.PINN(exp_problem, exp_data, hidden=(5, 5), activation=activation, n_res=7, seed=1)
    x = model.state_vector("pinn")
    _, g, _ = model.objective("pinn", x)
    g_fd = central_difference(lambda y: model.objective("pinn", y)[0], x)
    assert np.max(np.abs(g - g_fd)) < 1e-6 * max(1.0, np.max(np.abs(g_fd)))


def test_bilo_upper_gradient_is_total_derivative_through_network_input(exp_problem, exp_data):
    """dL_data/da for BiLO equals mean 2 (u - d) du/da with du/da from the network's a-input."""
    model = pb.BiLO(exp_problem, exp_data, hidden=(8, 8), seed=2)
    model.fit(steps=50)
    d = model.predict(exp_data.points, ["u", "u_a"])
    expected = np.mean(2 * (d["u"] - exp_data.values) * d["u_a"])
    _, g, _ = model.objective("upper", model.state_vector("upper"))
    assert g[0] == pytest.approx(expected, rel=1e-10)


def test_bilo_residual_gradient_is_total_derivative(exp_problem, exp_data):
    """dr/da = u_ta - u - a u_a for r = u_t - a u (derived by the library, checked by hand)."""
    model = pb.BiLO(exp_problem, exp_data, hidden=(8, 8), seed=5)
    model.fit(steps=30)
    t = np.linspace(0, 1, 13)
    d = model.predict(t, ["u", "u_t", "u_a", "u_ta"])
    a = model.params["a"]
    r = model._trainer.residual(exp_problem.as_points(t))
    np.testing.assert_allclose(r[0], d["u_t"] - a * d["u"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(r[1], d["u_ta"] - d["u"] - a * d["u_a"], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cls,objective", [(pb.PINN, "pinn"), (pb.BiLO, "lower"), (pb.BiLO, "upper")])
def test_float32_matches_float64(cls, objective, exp_problem, exp_data):
    m64 = cls(exp_problem, exp_data, hidden=(16, 16), seed=7)
    m32 = cls(exp_problem, exp_data, hidden=(16, 16), seed=7, dtype="float32")
    x = m64.state_vector(objective)
    f64, g64, _ = m64.objective(objective, x)
    f32, g32, _ = m32.objective(objective, x)
    assert f32 == pytest.approx(f64, rel=1e-4)
    assert np.max(np.abs(g32 - g64)) < 1e-4 * max(1.0, np.max(np.abs(g64)))
