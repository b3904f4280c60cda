"""Independent pure-numpy reference for an MLP and its input derivatives, for tests.

Nothing here uses pinnbilo. Derivatives come from hyper-dual numbers

    x = v + d1 e1 + d2 e2 + d12 e1 e2,      e1^2 = e2^2 = 0,  e1 e2 = e2 e1 != 0,

which carry a value, two first-order parts (one per seeded direction) and the mixed second-order
part. Seeding input ``i`` with ``e1`` and input ``j`` with ``e2`` and pushing the point through the
network gives, exactly up to rounding, ``u``, ``du/dz_i``, ``du/dz_j`` and ``d2u/dz_i dz_j``
(``i == j`` gives the pure second derivative). There is no truncation error: hyper-dual arithmetic
is exact for the first and mixed second derivatives.

Network layout (the core's flat parameter vector): for each layer ``l`` in order, ``W_l`` of shape
``(out, in)`` stored row-major, then ``b_l`` of shape ``(out,)``. Hidden layers apply the
activation; the last layer is affine.

Array conventions: points are given as ``(n, n_in)``; internal quantities are ``(width, n)``;
results are ``(n_out, n)`` per derivative.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Callable, Union

import numpy as np

Scalar = Union[float, np.ndarray]
Fn = Callable[[np.ndarray], np.ndarray]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


# name -> (f, f', f'')
ACTIVATIONS: dict[str, tuple[Fn, Fn, Fn]] = {
    "tanh": (
        np.tanh,
        lambda x: 1.0 - np.tanh(x) ** 2,
        lambda x: -2.0 * np.tanh(x) * (1.0 - np.tanh(x) ** 2),
    ),
    "sin": (np.sin, np.cos, lambda x: -np.sin(x)),
    "cos": (np.cos, lambda x: -np.sin(x), lambda x: -np.cos(x)),
    "exp": (np.exp, np.exp, np.exp),
    "sigmoid": (
        _sigmoid,
        lambda x: _sigmoid(x) * (1.0 - _sigmoid(x)),
        lambda x: _sigmoid(x) * (1.0 - _sigmoid(x)) * (1.0 - 2.0 * _sigmoid(x)),
    ),
    "softplus": (
        lambda x: np.logaddexp(0.0, x),
        _sigmoid,
        lambda x: _sigmoid(x) * (1.0 - _sigmoid(x)),
    ),
}


class HyperDual:
    """Arrays of hyper-dual numbers ``v + d1 e1 + d2 e2 + d12 e1 e2`` (all parts the same shape)."""

    __slots__ = ("d1", "d2", "d12", "v")

    def __init__(
        self,
        v: np.ndarray,
        d1: np.ndarray | None = None,
        d2: np.ndarray | None = None,
        d12: np.ndarray | None = None,
    ) -> None:
        self.v = np.asarray(v, dtype=np.float64)
        z = np.zeros_like(self.v)
        self.d1 = z.copy() if d1 is None else np.asarray(d1, dtype=np.float64)
        self.d2 = z.copy() if d2 is None else np.asarray(d2, dtype=np.float64)
        self.d12 = z.copy() if d12 is None else np.asarray(d12, dtype=np.float64)

    # -- arithmetic ----------------------------------------------------------------------------
    def __add__(self, other: HyperDual | Scalar) -> HyperDual:
        if isinstance(other, HyperDual):
            return HyperDual(self.v + other.v, self.d1 + other.d1, self.d2 + other.d2, self.d12 + other.d12)
        return HyperDual(self.v + other, self.d1, self.d2, self.d12)

    __radd__ = __add__

    def __neg__(self) -> HyperDual:
        return HyperDual(-self.v, -self.d1, -self.d2, -self.d12)

    def __sub__(self, other: HyperDual | Scalar) -> HyperDual:
        return self + (-other)

    def __rsub__(self, other: Scalar) -> HyperDual:
        return (-self) + other

    def __mul__(self, other: HyperDual | Scalar) -> HyperDual:
        if isinstance(other, HyperDual):
            return HyperDual(
                self.v * other.v,
                self.v * other.d1 + self.d1 * other.v,
                self.v * other.d2 + self.d2 * other.v,
                self.v * other.d12 + self.d1 * other.d2 + self.d2 * other.d1 + self.d12 * other.v,
            )
        return HyperDual(self.v * other, self.d1 * other, self.d2 * other, self.d12 * other)

    __rmul__ = __mul__

    def rmatmul(self, w: np.ndarray) -> HyperDual:
        """``w @ self`` for a constant matrix w (out, in) and self of shape (in, n)."""
        return HyperDual(w @ self.v, w @ self.d1, w @ self.d2, w @ self.d12)

    def apply(self, f: Fn, df: Fn, d2f: Fn) -> HyperDual:
        """``f(self)`` given f, f' and f'': exact chain rule to second (mixed) order."""
        f1 = df(self.v)
        return HyperDual(f(self.v), f1 * self.d1, f1 * self.d2, f1 * self.d12 + d2f(self.v) * self.d1 * self.d2)

    def activate(self, name: str) -> HyperDual:
        if name not in ACTIVATIONS:
            raise ValueError(f"unknown activation {name!r}; known: {sorted(ACTIVATIONS)}")
        return self.apply(*ACTIVATIONS[name])


# -- networks ------------------------------------------------------------------------------------
def n_params(sizes: Sequence[int]) -> int:
    """Number of weights and biases of an MLP with layer widths ``sizes``."""
    return sum(o * i + o for i, o in zip(sizes[:-1], sizes[1:]))


def unpack(sizes: Sequence[int], params: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Flat parameters -> [(W (out, in), b (out,)), ...] per layer."""
    params = np.asarray(params, dtype=np.float64)
    if params.shape != (n_params(sizes),):
        raise ValueError(f"params must have shape ({n_params(sizes)},), got {params.shape}")
    layers, pos = [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        w = params[pos : pos + n_out * n_in].reshape(n_out, n_in)
        pos += n_out * n_in
        b = params[pos : pos + n_out]
        pos += n_out
        layers.append((w, b))
    return layers


def forward(sizes: Sequence[int], activation: str, params: np.ndarray, x: HyperDual) -> HyperDual:
    """Push hyper-dual inputs of shape (n_in, n) through the network: (n_out, n)."""
    layers = unpack(sizes, params)
    h = x
    for k, (w, b) in enumerate(layers):
        h = h.rmatmul(w) + b[:, None]
        if k < len(layers) - 1:
            h = h.activate(activation)
    return h


def _seeded(inputs: np.ndarray, i: int, j: int) -> HyperDual:
    x = np.asarray(inputs, dtype=np.float64).T.copy()  # (n_in, n)
    d1 = np.zeros_like(x)
    d2 = np.zeros_like(x)
    d1[i] = 1.0
    d2[j] = 1.0
    return HyperDual(x, d1, d2)


def value(sizes: Sequence[int], activation: str, params: np.ndarray, inputs: np.ndarray) -> np.ndarray:
    """Network output u at inputs (n, n_in): (n_out, n)."""
    x = np.asarray(inputs, dtype=np.float64).T
    return forward(sizes, activation, params, HyperDual(x)).v


def second(
    sizes: Sequence[int], activation: str, params: np.ndarray, inputs: np.ndarray, i: int, j: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(u, du/dz_i, du/dz_j, d2u/dz_i dz_j)`` at inputs (n, n_in), each (n_out, n)."""
    y = forward(sizes, activation, params, _seeded(inputs, i, j))
    return y.v, y.d1, y.d2, y.d12


def jacobian(sizes: Sequence[int], activation: str, params: np.ndarray, inputs: np.ndarray) -> np.ndarray:
    """All first derivatives: (n_in, n_out, n) with ``[i] = du/dz_i``."""
    n_in = sizes[0]
    return np.stack([second(sizes, activation, params, inputs, i, i)[1] for i in range(n_in)])


def hessian(sizes: Sequence[int], activation: str, params: np.ndarray, inputs: np.ndarray) -> np.ndarray:
    """All second derivatives: (n_in, n_in, n_out, n) with ``[i, j] = d2u/dz_i dz_j``."""
    n_in = sizes[0]
    out = np.empty((n_in, n_in, sizes[-1], np.asarray(inputs).shape[0]))
    for i in range(n_in):
        for j in range(i, n_in):
            out[i, j] = out[j, i] = second(sizes, activation, params, inputs, i, j)[3]
    return out


def derivative(
    sizes: Sequence[int],
    activation: str,
    params: np.ndarray,
    inputs: np.ndarray,
    alpha: Sequence[int],
) -> np.ndarray:
    """``d^alpha u`` for a multi-index alpha of total order <= 2 over the inputs: (n_out, n)."""
    alpha = [int(a) for a in alpha]
    if len(alpha) != sizes[0] or any(a < 0 for a in alpha):
        raise ValueError(f"alpha must have {sizes[0]} non-negative entries, got {alpha}")
    dirs = [k for k, a in enumerate(alpha) for _ in range(a)]
    if len(dirs) == 0:
        return value(sizes, activation, params, inputs)
    if len(dirs) == 1:
        return second(sizes, activation, params, inputs, dirs[0], dirs[0])[1]
    if len(dirs) == 2:
        return second(sizes, activation, params, inputs, dirs[0], dirs[1])[3]
    raise ValueError(f"the hyper-dual reference gives orders <= 2; alpha {alpha} has order {len(dirs)}")
