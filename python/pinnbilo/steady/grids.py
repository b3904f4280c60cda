"""Grids of the steady-state problems: the periodic interval and the Dirichlet interval."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import _validation as check
from ..errors import InputError
from ._checks import values

MAX_GRID_POINTS = 1_000_000  # the fixed-point maps hold several (S, n) arrays; the diagnostics n x n ones
MAX_FEATURE_MODES = 10_000  # Fourier features of a network input: each is a row of the feature matrix


@dataclass(frozen=True)
class PeriodicGrid:
    """n equispaced points x_i = i h on the periodic interval [0, length), h = length / n."""

    n: int
    length: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "n", check.integer(self.n, "PeriodicGrid n", minimum=4, maximum=MAX_GRID_POINTS))
        object.__setattr__(self, "length", check.real(self.length, "PeriodicGrid length", positive=True))

    @property
    def h(self) -> float:
        return self.length / self.n

    @property
    def x(self) -> np.ndarray:
        """Grid points, shape (n,)."""
        return np.arange(self.n) * self.h

    @property
    def lags(self) -> np.ndarray:
        """Signed lags of the kernel samples W_k = W(lag_k): k h for k <= n/2, k h - length above; shape (n,)."""
        k = np.arange(self.n)
        return np.where(k <= self.n // 2, k, k - self.n) * self.h

    def fourier_features(self, x: np.ndarray, modes: int, even: bool = False) -> np.ndarray:
        """cos(2 pi k x / L) (and sin unless even) for k = 1..modes at points x (m,): shape
        (modes, m) when even, else (2 modes, m).

        Any function of these features is periodic; of the cosines alone, also even.
        """
        x = values(x, "x", ndim=1, shape_hint="points")
        modes = check.integer(modes, "modes", minimum=1, maximum=MAX_FEATURE_MODES)
        even = check.flag(even, "even")
        check.size_request(2 * modes * x.size, "fourier_features (features x points)")
        return self._features(x, modes, even)

    def _features(self, x: np.ndarray, modes: int, even: bool) -> np.ndarray:
        """fourier_features without the checks (x (m,) float, modes >= 1)."""
        k = np.arange(1, int(modes) + 1)[:, None]
        phase = 2 * np.pi * k * x[None, :] / self.length
        return np.cos(phase) if even else np.concatenate([np.cos(phase), np.sin(phase)])

    def convolve(self, w: np.ndarray, u: np.ndarray) -> np.ndarray:
        """(W*u)_i = h sum_j W_{(i-j) mod n} u_j by FFT; w (n,) kernel values at self.lags,
        u (..., n): shape of u."""
        w = self.check_values(w, "w")
        u = self.check_states(u, "u")
        return self._convolve(w, u)

    def _convolve(self, w: np.ndarray, u: np.ndarray) -> np.ndarray:
        """convolve without the checks: the inner loops of the solvers call this one."""
        return self.h * np.fft.irfft(np.fft.rfft(w) * np.fft.rfft(u, axis=-1), n=self.n, axis=-1)

    def integrate(self, u: np.ndarray) -> np.ndarray:
        """h sum_i u_i (exact for trigonometric polynomials) over the last axis of u (..., n):
        shape u.shape[:-1] (a float for u (n,))."""
        return self._integrate(self.check_states(u, "u"))

    def _integrate(self, u: np.ndarray) -> np.ndarray:
        return self.h * np.sum(u, axis=-1)

    def check_states(self, u: object, name: str) -> np.ndarray:
        """A finite float array of shape (..., n): one or more functions on the grid."""
        a = values(u, name)
        if a.ndim == 0 or a.shape[-1] != self.n:
            raise InputError(
                f"{name}: expected shape (..., {self.n}) (values on the {self.n}-point grid, last axis), got {a.shape}"
            )
        return a

    def check_values(self, v: np.ndarray, name: str) -> np.ndarray:
        """A finite float array of shape (n,)."""
        return values(v, name, shape=(self.n,), shape_hint=f"one value per point of the {self.n}-point grid")


@dataclass(frozen=True)
class IntervalGrid:
    """The interval [a, b] with n interior points x_i = a + i h, i = 1..n, h = (b - a) / (n + 1)."""

    n: int
    a: float = 0.0
    b: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "n", check.integer(self.n, "IntervalGrid n", minimum=2, maximum=MAX_GRID_POINTS))
        object.__setattr__(self, "a", check.real(self.a, "IntervalGrid a"))
        object.__setattr__(self, "b", check.real(self.b, "IntervalGrid b"))
        if not self.b > self.a:
            raise InputError(f"IntervalGrid: need a < b, got a={self.a!r}, b={self.b!r}")  # floats: short reprs

    @property
    def h(self) -> float:
        return (self.b - self.a) / (self.n + 1)

    @property
    def x(self) -> np.ndarray:
        """Interior points, shape (n,)."""
        return self.a + self.h * np.arange(1, self.n + 1)

    @property
    def x_full(self) -> np.ndarray:
        """Interior points with both ends, shape (n + 2,)."""
        return self.a + self.h * np.arange(self.n + 2)

    def check_values(self, v: np.ndarray, name: str) -> np.ndarray:
        """A finite float array of shape (n,)."""
        return values(v, name, shape=(self.n,), shape_hint=f"one value per interior point, {self.n} of them")


def require_grid(grid: object, kind: type, name: str = "grid") -> None:
    """``grid`` must be a ``kind`` (PeriodicGrid or IntervalGrid)."""
    if not isinstance(grid, kind):
        raise InputError(
            f"{name} must be a pinnbilo.steady.{kind.__name__}, got {check._show(grid)} ({type(grid).__name__})"
        )
