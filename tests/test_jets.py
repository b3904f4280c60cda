"""Jet coefficients (network derivatives) against finite differences."""

import numpy as np
import pytest

import pinnbilo as pb
from pinnbilo import _core

FUNCS = [
    ("tanh", 0.0),
    ("sin", 0.0),
    ("cos", 0.0),
    ("exp", 0.0),
    ("sigmoid", 0.0),
    ("softplus", 0.0),
    ("log", 0.0),
    ("pow", 2.5),
    ("pow", -1.0),
    ("pow", 3.0),
]


@pytest.mark.parametrize("name,p", FUNCS)
def test_taylor_coefficients_are_normalised_derivatives(name, p):
    """Row k equals d/dx of row k-1, divided by k (checked by central differences)."""
    x = np.linspace(0.3, 1.7, 9)
    h = 1e-5
    rows = _core.taylor_coefficients(name, p, x, 5)
    up = _core.taylor_coefficients(name, p, x + h, 5)
    down = _core.taylor_coefficients(name, p, x - h, 5)
    for k in range(1, 6):
        fd = (up[k - 1] - down[k - 1]) / (2 * h) / k
        np.testing.assert_allclose(rows[k], fd, rtol=1e-6, atol=1e-8)


def test_taylor_coefficients_known_values():
    x = np.array([0.4])
    t = np.tanh(0.4)
    rows = _core.taylor_coefficients("tanh", 0.0, x, 3)
    np.testing.assert_allclose(rows[:, 0], [t, 1 - t**2, -t * (1 - t**2), (1 - t**2) * (3 * t**2 - 1) / 3], rtol=1e-14)
    np.testing.assert_allclose(_core.taylor_coefficients("exp", 0.0, x, 2)[:, 0], np.exp(0.4) * np.array([1, 1, 0.5]))


def test_jet_monomials_downward_closed():
    mons = _core.jet_monomials(2, [[2, 1]])
    assert mons[0] == [0, 0]
    assert sorted(map(tuple, mons)) == sorted([(i, j) for i in range(3) for j in range(2)])


@pytest.mark.parametrize("activation", ["tanh", "sin"])
def test_mlp_derivatives_against_finite_differences(activation):
    sizes = [2, 7, 6, 1]
    w = _core.mlp_init(sizes, activation, 11)
    rng = np.random.default_rng(0)
    z = rng.uniform(-1, 1, (5, 2))
    derivs = [[0, 0], [1, 0], [0, 1], [2, 0], [1, 1], [3, 0], [2, 1]]
    d = _core.mlp_derivatives(sizes, activation, w, z, derivs)[:, 0, :]
    h = 1e-4

    def f(shift):
        return _core.mlp_derivatives(sizes, activation, w, z + shift, [[0, 0], [1, 0], [2, 0], [1, 1]])[:, 0, :]

    e0, e1 = np.array([h, 0.0]), np.array([0.0, h])
    base, p0, m0, p1, m1 = f(0), f(e0), f(-e0), f(e1), f(-e1)
    np.testing.assert_allclose(d[1], (p0[0] - m0[0]) / (2 * h), rtol=1e-7, atol=1e-9)  # u_t
    np.testing.assert_allclose(d[2], (p1[0] - m1[0]) / (2 * h), rtol=1e-7, atol=1e-9)  # u_a
    np.testing.assert_allclose(d[3], (p0[1] - m0[1]) / (2 * h), rtol=1e-7, atol=1e-9)  # u_tt
    np.testing.assert_allclose(d[4], (p1[1] - m1[1]) / (2 * h), rtol=1e-7, atol=1e-9)  # u_ta
    np.testing.assert_allclose(d[5], (p0[2] - m0[2]) / (2 * h), rtol=1e-6, atol=1e-8)  # u_ttt
    np.testing.assert_allclose(d[6], (p1[2] - m1[2]) / (2 * h), rtol=1e-6, atol=1e-8)  # u_tta
    np.testing.assert_allclose(d[0], base[0], rtol=0, atol=0)


def test_model_predict_derivatives_include_transform(exp_problem, exp_data):
    """u = 1 + t N: derivatives of the full solution (transform included) vs finite differences."""
    model = pb.BiLO(exp_problem, exp_data, hidden=(8, 8), seed=2)
    model.fit(steps=20)
    t = np.linspace(0.05, 0.95, 6)
    d = model.predict(t, ["u", "u_t", "u_tt", "u_a", "u_ta"])
    h = 1e-5
    up, um = model.predict(t + h, ["u", "u_t"]), model.predict(t - h, ["u", "u_t"])
    np.testing.assert_allclose(d["u_t"], (up["u"] - um["u"]) / (2 * h), rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(d["u_tt"], (up["u_t"] - um["u_t"]) / (2 * h), rtol=1e-7, atol=1e-8)
    a = model.params["a"]
    model.set_params({"a": a + h})
    ap = model.predict(t, ["u", "u_t"])
    model.set_params({"a": a - h})
    am = model.predict(t, ["u", "u_t"])
    np.testing.assert_allclose(d["u_a"], (ap["u"] - am["u"]) / (2 * h), rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(d["u_ta"], (ap["u_t"] - am["u_t"]) / (2 * h), rtol=1e-7, atol=1e-9)
    # Hard constraint: u(0) = u0 exactly, whatever the weights.
    assert model.predict([0.0])[0] == 1.0


def test_pinn_predict_rejects_parameter_derivatives(exp_problem, exp_data):
    model = pb.PINN(exp_problem, exp_data, hidden=(4,))
    with pytest.raises(pb.InputError, match="inputs of this PINN network"):
        model.predict([0.5], ["u_a"])
