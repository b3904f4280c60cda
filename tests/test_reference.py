"""The core's Taylor-mode MLP derivatives against an independent hyper-dual numpy reference."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pytest

from pinnbilo import _core

try:
    import reference as ref
except ImportError:  # tests/ imported as a package
    from . import reference as ref  # type: ignore[no-redef]

ACTIVATIONS = ["tanh", "sin", "cos", "sigmoid", "softplus", "exp"]
SIZES = [[2, 8, 8, 1], [3, 5, 5, 5, 2], [1, 6, 1]]
RTOL = 1e-12


def random_params(sizes: Sequence[int], activation: str, seed: int) -> np.ndarray:
    """The core's initialisation, plus random biases and a perturbation so nothing is zero."""
    base = _core.mlp_init(list(sizes), activation, seed)
    assert base.shape == (ref.n_params(sizes),)
    rng = np.random.default_rng(seed + 1000)
    p = base + 0.8 * rng.standard_normal(base.shape)
    # nested exponentials overflow quickly: keep the exp networks small
    return 0.4 * p if activation == "exp" else p


def random_inputs(n_in: int, n: int = 17, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1.5, 1.5, size=(n, n_in))


def assert_close(actual: np.ndarray, expected: np.ndarray, rtol: float = RTOL) -> None:
    """Elementwise agreement relative to the scale of the expected array."""
    scale = max(float(np.max(np.abs(expected))), 1e-300)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


def unit(n_in: int, *dirs: int) -> list[int]:
    alpha = [0] * n_in
    for d in dirs:
        alpha[d] += 1
    return alpha


def cases():
    return [pytest.param(s, a, id=f"{'-'.join(map(str, s))}-{a}") for s, a in itertools.product(SIZES, ACTIVATIONS)]


# -- the reference itself ----------------------------------------------------------------------
def test_reference_matches_plain_numpy_forward():
    sizes = [3, 4, 2]
    p = random_params(sizes, "tanh", 3)
    x = random_inputs(3)
    w1 = p[:12].reshape(4, 3)
    b1 = p[12:16]
    w2 = p[16:24].reshape(2, 4)
    b2 = p[24:26]
    expected = w2 @ np.tanh(w1 @ x.T + b1[:, None]) + b2[:, None]
    assert_close(ref.value(sizes, "tanh", p, x), expected, 1e-14)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_reference_against_finite_differences(activation):
    sizes = [2, 6, 6, 1]
    p = random_params(sizes, activation, 4)
    x = random_inputs(2, 9, seed=4)
    h = 1e-5
    for i, j in [(0, 0), (0, 1), (1, 1)]:
        _, di, _, dij = ref.second(sizes, activation, p, x, i, j)
        e = np.zeros(2)
        e[i] = h
        fd1 = (ref.value(sizes, activation, p, x + e) - ref.value(sizes, activation, p, x - e)) / (2 * h)
        assert_close(di, fd1, 1e-8)
        ej = np.zeros(2)
        ej[j] = h
        dj_plus = ref.second(sizes, activation, p, x + ej, i, i)[1]
        dj_minus = ref.second(sizes, activation, p, x - ej, i, i)[1]
        assert_close(dij, (dj_plus - dj_minus) / (2 * h), 1e-7)


# -- core vs reference, float64 ----------------------------------------------------------------
@pytest.mark.parametrize("sizes,activation", cases())
def test_value_and_first_derivatives(sizes, activation):
    n_in = sizes[0]
    p = random_params(sizes, activation, 0)
    x = random_inputs(n_in)
    derivs = [unit(n_in)] + [unit(n_in, i) for i in range(n_in)]
    out = _core.mlp_derivatives(sizes, activation, p, x, derivs)
    assert out.shape == (len(derivs), sizes[-1], x.shape[0])
    assert out.dtype == np.float64
    assert_close(out[0], ref.value(sizes, activation, p, x))
    jac = ref.jacobian(sizes, activation, p, x)
    for i in range(n_in):
        assert_close(out[1 + i], jac[i])


@pytest.mark.parametrize("sizes,activation", cases())
def test_second_derivatives_pure_and_mixed(sizes, activation):
    n_in = sizes[0]
    p = random_params(sizes, activation, 1)
    x = random_inputs(n_in, seed=1)
    pairs = [(i, j) for i in range(n_in) for j in range(i, n_in)]
    # Ask for the second derivatives only, highest first: the core must close the set itself.
    derivs = [unit(n_in, i, j) for i, j in reversed(pairs)]
    out = _core.mlp_derivatives(sizes, activation, p, x, derivs)
    hess = ref.hessian(sizes, activation, p, x)
    for k, (i, j) in enumerate(reversed(pairs)):
        assert_close(out[k], hess[i, j])


@pytest.mark.parametrize("activation", ["tanh", "sin"])
def test_single_mixed_derivative_alone_and_repeated(activation):
    sizes = [3, 5, 5, 5, 2]
    p = random_params(sizes, activation, 2)
    x = random_inputs(3, seed=2)
    expected = ref.derivative(sizes, activation, p, x, [0, 1, 1])
    alone = _core.mlp_derivatives(sizes, activation, p, x, [[0, 1, 1]])
    assert_close(alone[0], expected)
    twice = _core.mlp_derivatives(sizes, activation, p, x, [[0, 1, 1], [0, 0, 0], [0, 1, 1]])
    assert_close(twice[0], expected)
    assert_close(twice[2], expected)
    assert_close(twice[1], ref.value(sizes, activation, p, x))


def test_one_point_and_many_points():
    sizes = [2, 8, 8, 1]
    p = random_params(sizes, "tanh", 5)
    for n in (1, 1000):
        x = random_inputs(2, n, seed=n)
        out = _core.mlp_derivatives(sizes, "tanh", p, x, [[1, 1]])
        assert out.shape == (1, 1, n)
        assert_close(out[0], ref.derivative(sizes, "tanh", p, x, [1, 1]))


# -- higher orders against finite differences of the reference's exact second derivatives ------
def _fd(f, x: np.ndarray, k: int, h: float = 5e-4) -> np.ndarray:
    """d f / d z_k: central differences with one Richardson step (error O(h^4))."""

    def central(step: float) -> np.ndarray:
        e = np.zeros(x.shape[1])
        e[k] = step
        return (f(x + e) - f(x - e)) / (2 * step)

    return (4 * central(h / 2) - central(h)) / 3


def _fd2(f, x: np.ndarray, k: int, h: float = 1e-3) -> np.ndarray:
    """d2 f / d z_k^2: second differences with one Richardson step (error O(h^4))."""

    def central(step: float) -> np.ndarray:
        e = np.zeros(x.shape[1])
        e[k] = step
        return (f(x + e) - 2 * f(x) + f(x - e)) / step**2

    return (4 * central(h / 2) - central(h)) / 3


@pytest.mark.parametrize("activation", ["tanh", "sin"])
def test_third_order_tta(activation):
    """{t: 2, a: 1} on a BiLO-shaped network u(t, a): d/da of the reference's u_tt."""
    sizes = [2, 8, 8, 1]
    p = random_params(sizes, activation, 6)
    x = random_inputs(2, seed=6)
    out = _core.mlp_derivatives(sizes, activation, p, x, [[2, 1], [3, 0]])

    def u_tt(z):
        return ref.derivative(sizes, activation, p, z, [2, 0])

    assert_close(out[0], _fd(u_tt, x, 1), 1e-8)
    assert_close(out[1], _fd(u_tt, x, 0), 1e-8)


@pytest.mark.parametrize("activation", ["tanh", "sin"])
def test_third_order_all_mixed_and_fourth_order(activation):
    sizes = [3, 5, 5, 5, 2]
    p = random_params(sizes, activation, 7)
    x = random_inputs(3, seed=7)
    out = _core.mlp_derivatives(sizes, activation, p, x, [[1, 1, 1], [2, 0, 2]])

    def u_01(z):
        return ref.derivative(sizes, activation, p, z, [1, 1, 0])

    assert_close(out[0], _fd(u_01, x, 2), 1e-8)

    # fourth order: second difference in z_2 of the exact u_00
    def u_00(z):
        return ref.derivative(sizes, activation, p, z, [2, 0, 0])

    assert_close(out[1], _fd2(u_00, x, 2), 1e-8)


# -- float32 ------------------------------------------------------------------------------------
@pytest.mark.parametrize("sizes,activation", [c for c in cases() if c.values[1] != "exp"])
def test_float32_agrees(sizes, activation):
    n_in = sizes[0]
    p32 = random_params(sizes, activation, 8).astype(np.float32)
    x32 = random_inputs(n_in, seed=8).astype(np.float32)
    p64, x64 = p32.astype(np.float64), x32.astype(np.float64)
    pairs = [(i, j) for i in range(n_in) for j in range(i, n_in)]
    derivs = [unit(n_in)] + [unit(n_in, i) for i in range(n_in)] + [unit(n_in, *q) for q in pairs]
    out = _core.mlp_derivatives_f32(sizes, activation, p32, x32, derivs)
    assert out.dtype == np.float32
    assert out.shape == (len(derivs), sizes[-1], x32.shape[0])
    expected = [ref.value(sizes, activation, p64, x64)]
    jac = ref.jacobian(sizes, activation, p64, x64)
    hess = ref.hessian(sizes, activation, p64, x64)
    expected += [jac[i] for i in range(n_in)] + [hess[i, j] for i, j in pairs]
    for k, e in enumerate(expected):
        assert_close(out[k].astype(np.float64), e, 1e-5)


def test_float32_init_is_float32():
    p = _core.mlp_init_f32([2, 4, 1], "tanh", 0)
    assert p.dtype == np.float32 and p.shape == (ref.n_params([2, 4, 1]),)


# -- high orders of a one-neuron network, in closed form --------------------------------------
def _activation_derivative(activation: str, y: np.ndarray, k: int) -> np.ndarray:
    """phi^(k)(y): sin/cos by phase shift, exp directly, tanh/sigmoid from the polynomial
    recurrence P_{k+1}(s) = P_k'(s) q(s) with q = 1 - s^2 (tanh) or s - s^2 (sigmoid)."""
    if activation == "sin":
        return np.sin(y + k * np.pi / 2)
    if activation == "cos":
        return np.cos(y + k * np.pi / 2)
    if activation == "exp":
        return np.exp(y)
    P = np.polynomial.Polynomial
    if activation == "tanh":
        s, q = np.tanh(y), P([1.0, 0.0, -1.0])
    else:
        s, q = 1.0 / (1.0 + np.exp(-y)), P([0.0, 1.0, -1.0])
    poly = P([0.0, 1.0])
    for _ in range(k):
        poly = poly.deriv() * q
    return poly(s)


@pytest.mark.parametrize("activation", ["tanh", "sin", "cos", "sigmoid", "exp"])
def test_high_order_pure_derivatives_one_neuron(activation):
    """u = c phi(w x + b) + d has d^k u / dx^k = c w^k phi^(k)(w x + b)."""
    w, b, c, d = 0.9, 0.2, 1.3, -0.4
    params = np.array([w, b, c, d])
    x = np.linspace(-2.0, 2.0, 11)[:, None]
    orders = list(range(9))
    out = _core.mlp_derivatives([1, 1, 1], activation, params, x, [[k] for k in orders])
    y = w * x[:, 0] + b
    for k in orders:
        expected = c * w**k * _activation_derivative(activation, y, k) + (d if k == 0 else 0.0)
        assert_close(out[k, 0], expected, 1e-11)
