"""Aggregation-diffusion on the 2-D torus with a radial interaction kernel learned from steady
states.

u_t = div(sigma grad u + kappa u grad(W*u) + u grad V) on [0, L)^2 with N x N points; steady
states of mass M are the fixed points of T(u) = M exp(-(kappa W*u + V)/sigma) / integral, the
convolution taken by FFT (numpy's pocketfft: O(N^2 log N)).

The unknown radial kernel is a sum over Fourier shells: a periodised radial function has Fourier
coefficients that depend on |k| only, so W(r) = sum_s theta_s sum_{|k|^2 = s} cos(2 pi k . r / L)
spans every band-limited radial kernel of the torus (``RadialSpectral(shells)``). The fit is the
one of :mod:`pinnbilo.steady.spectral` (truncated Gauss-Newton on the exact fixed-point residual,
``smoothness="auto"`` from the L-curve) on the flattened grid; V is known.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from .. import _validation as check
from ..errors import InputError
from . import _checks
from .generate import SolverFailed
from .spectral import SpectralResidual, solve
from .train import SteadyFit

MAX_TORUS_POINTS = 1024  # per side


@dataclass(frozen=True)
class TorusGrid:
    """The torus [0, L)^2 with N x N points x_ij = (i h, j h), h = L / N. Functions on it are
    (N, N) arrays (axis 0: x, axis 1: y); flattened internally."""

    N: int
    length: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "N", check.integer(self.N, "TorusGrid N", minimum=4, maximum=MAX_TORUS_POINTS))
        object.__setattr__(self, "length", check.real(self.length, "TorusGrid length", positive=True))

    @property
    def n(self) -> int:
        """Points in all (N^2): the length of a flattened function."""
        return self.N * self.N

    @property
    def h(self) -> float:
        """The area of one cell, (L / N)^2: the quadrature weight."""
        return (self.length / self.N) ** 2

    @property
    def spacing(self) -> float:
        return self.length / self.N

    def coordinates(self) -> tuple:
        """(X, Y): (N, N) arrays of the points."""
        x = np.arange(self.N) * self.spacing
        return np.meshgrid(x, x, indexing="ij")

    def lags(self) -> tuple:
        """(DX, DY): signed lags (N, N) at which kernels are sampled (as PeriodicGrid.lags per axis)."""
        k = np.arange(self.N)
        d = np.where(k <= self.N // 2, k, k - self.N) * self.spacing
        return np.meshgrid(d, d, indexing="ij")

    def _convolve(self, w: np.ndarray, u: np.ndarray) -> np.ndarray:
        """(W*u) = h sum_j W(x - x_j) u_j over flattened last axes; w (..., N^2), u (..., N^2)."""
        N = self.N
        wh = np.fft.rfft2(np.reshape(w, w.shape[:-1] + (N, N)))
        uh = np.fft.rfft2(np.reshape(u, u.shape[:-1] + (N, N)))
        out = self.h * np.fft.irfft2(wh * uh, s=(N, N))
        return out.reshape(out.shape[:-2] + (N * N,))

    def _integrate(self, u: np.ndarray) -> np.ndarray:
        return self.h * np.sum(u, axis=-1)

    def forward_differences(self, B: np.ndarray) -> np.ndarray:
        """Periodic forward differences along x and along y of flattened columns B (N^2, p):
        (2 N^2, p), so that ||D f||^2 / h is the discrete int |grad f|^2 up to the cell scale."""
        N = self.N
        cube = B.reshape(N, N, -1)
        dx = np.roll(cube, -1, axis=0) - cube
        dy = np.roll(cube, -1, axis=1) - cube
        return np.concatenate([dx.reshape(N * N, -1), dy.reshape(N * N, -1)])

    def values(self, f: object, name: str) -> np.ndarray:
        """Values of a known function: None (0), an (N, N) array, or a callable of (X, Y) (for W,
        of the lags); flattened (N^2,)."""
        if f is None:
            return np.zeros(self.n)
        if callable(f):
            X, Y = self.lags() if name == "W" else self.coordinates()
            from .generate import call_user

            f = call_user(f, name, X, Y)
        a = _checks.values(f, name, shape=(self.N, self.N), shape_hint=f"(N, N) = ({self.N}, {self.N}) grid values")
        return a.ravel()


@dataclass(frozen=True)
class RadialSpectral:
    """A radial kernel of the torus as a sum over Fourier shells |k|^2 = s, 0 < s <= shells_max
    (all shells up to |k| = kmax; default kmax = N/2 - 1)."""

    kmax: Optional[int] = None

    def __post_init__(self) -> None:
        if self.kmax is not None:
            object.__setattr__(self, "kmax", check.integer(self.kmax, "RadialSpectral.kmax", minimum=1, maximum=4096))

    def basis(self, grid: TorusGrid) -> np.ndarray:
        """The shell functions at the lags: (N^2, number of shells)."""
        top = grid.N // 2 - 1
        kmax = top if self.kmax is None else self.kmax
        if kmax > top:
            raise InputError(f"RadialSpectral(kmax={kmax}) is above what an N = {grid.N} torus resolves ({top})")
        k = np.arange(-kmax, kmax + 1)
        KX, KY = np.meshgrid(k, k, indexing="ij")
        norm2 = KX**2 + KY**2
        shells = np.unique(norm2[(norm2 > 0) & (norm2 <= kmax**2)])
        DX, DY = grid.lags()
        cols = []
        for s in shells:
            ks = np.argwhere(norm2 == s)
            phase = 2 * np.pi * (np.outer(DX.ravel(), k[ks[:, 0]]) + np.outer(DY.ravel(), k[ks[:, 1]])) / grid.length
            cols.append(np.cos(phase).sum(axis=1) / len(ks))
        return np.stack(cols, axis=1)


@dataclass
class TorusStates:
    """Steady states on a TorusGrid: u (S, N, N), sigma (S,), mass (S,), weights (S, N, N)."""

    grid: TorusGrid
    u: np.ndarray
    sigma: np.ndarray
    mass: np.ndarray
    weights: np.ndarray
    noise: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return int(self.u.shape[0])

    def flat(self) -> "TorusStates":
        """The same states with flattened (S, N^2) arrays (what the fitting code reads)."""
        S = len(self)
        return TorusStates(
            self.grid, self.u.reshape(S, -1), self.sigma, self.mass, self.weights.reshape(S, -1), self.noise
        )


def torus_steady_state(
    grid: TorusGrid,
    V: Union[None, np.ndarray, Callable] = None,
    W: Union[None, np.ndarray, Callable] = None,
    kappa: float = 1.0,
    sigma: float = 1.0,
    mass: float = 1.0,
    damping: float = 0.5,
    tol: float = 1e-10,
    maxiter: int = 20000,
) -> np.ndarray:
    """A steady state on the torus by damped Picard iteration from the uniform state: (N, N)."""
    if not isinstance(grid, TorusGrid):
        raise InputError(f"grid must be a pinnbilo.steady.TorusGrid, got {type(grid).__name__}")
    Vv, Wv = grid.values(V, "V"), grid.values(W, "W")
    kappa = check.real(kappa, "kappa")
    sigma, mass = check.real(sigma, "sigma", positive=True), check.real(mass, "mass", positive=True)
    damping = check.real(damping, "damping", positive=True, high=1.0)
    tol = check.real(tol, "tol", positive=True)
    maxiter = check.integer(maxiter, "maxiter", minimum=1, maximum=10_000_000)
    u = np.full(grid.n, mass / grid.length**2)
    for _ in range(maxiter):
        a = -(kappa * grid._convolve(Wv, u) + Vv) / sigma
        e = np.exp(a - a.max())
        T = mass * e / grid._integrate(e)
        r = T - u
        if not np.all(np.isfinite(r)):
            raise SolverFailed("torus picard: the map became non-finite; use smaller V, W, kappa or a larger sigma")
        if np.linalg.norm(r) <= tol * np.linalg.norm(u):
            return u.reshape(grid.N, grid.N)
        u = u + damping * r
    raise SolverFailed(f"torus picard did not converge in {maxiter} iterations (tol {tol:g}); try a smaller damping")


def torus_states(
    grid: TorusGrid,
    V: Union[None, np.ndarray, Callable] = None,
    W: Union[None, np.ndarray, Callable] = None,
    kappa: float = 1.0,
    sigma: Union[float, Sequence[float]] = 1.0,
    mass: Union[float, Sequence[float]] = 1.0,
    **solver: Any,
) -> TorusStates:
    """One steady state per entry of the broadcast (sigma, mass): TorusStates."""
    sig = np.atleast_1d(np.asarray(_checks.values(sigma, "sigma"), dtype=float))
    ms = np.atleast_1d(np.asarray(_checks.values(mass, "mass"), dtype=float))
    for name, a in (("sigma", sig), ("mass", ms)):
        if a.ndim != 1 or a.size == 0:
            raise InputError(f"{name}: give a number or a flat, non-empty list (one per state), got shape {a.shape}")
    try:
        sig, ms = np.broadcast_arrays(sig, ms)
    except ValueError:
        raise InputError(f"sigma and mass must broadcast together, got {sig.shape} and {ms.shape}") from None
    u = np.stack([torus_steady_state(grid, V, W, kappa, float(s), float(m), **solver) for s, m in zip(sig, ms)])
    return TorusStates(grid, u, np.array(sig, dtype=float), np.array(ms, dtype=float), np.ones_like(u))


class TorusAggregationDiffusion:
    """A radial kernel W (RadialSpectral) learned from steady states on the torus, V known."""

    def __init__(
        self,
        grid: TorusGrid,
        kappa: float = 1.0,
        V: Union[None, np.ndarray, Callable] = None,
        W: Optional[RadialSpectral] = None,
    ) -> None:
        if not isinstance(grid, TorusGrid):
            raise InputError(f"grid must be a pinnbilo.steady.TorusGrid, got {type(grid).__name__}")
        self.grid, self.kappa = grid, check.real(kappa, "kappa")
        if self.kappa == 0:
            raise InputError("kappa = 0: W never enters the equation; set kappa != 0")
        self.spec = RadialSpectral() if W is None else W
        if not isinstance(self.spec, RadialSpectral):
            raise InputError("W must be a pinnbilo.steady.RadialSpectral (the learned radial kernel)")
        self.V = grid.values(V, "V")
        self.basis = self.spec.basis(grid)
        self.params = np.zeros(self.basis.shape[1])
        self.result: Optional[SteadyFit] = None

    def residual(self, data: TorusStates, smoothness: float = 0.0) -> SpectralResidual:
        """The fixed-point residual vector and its Jacobian in the shell coefficients."""
        if not isinstance(data, TorusStates) or data.grid != self.grid:
            raise InputError("data must be TorusStates on the model's grid (see pinnbilo.steady.torus_states)")
        lam = check.real(smoothness, "smoothness", nonnegative=True)
        return SpectralResidual(self.grid, self.kappa, data.flat(), {"W": self.basis}, {"V": self.V}, (0.0, lam))  # type: ignore[arg-type]

    def fit(self, data: TorusStates, smoothness: Union[float, str] = 0.0, max_iter: int = 50) -> SteadyFit:
        """Gauss-Newton for the shell coefficients (smoothness: lambda >= 0 or "auto")."""
        import time

        start = time.perf_counter()
        problem = self.residual(data, 0.0)
        auto = isinstance(smoothness, str) and smoothness == "auto"
        how: Any = "auto" if auto else (0.0, check.real(smoothness, "smoothness", nonnegative=True))
        out = solve(problem, how, ("W",), check.integer(max_iter, "max_iter", minimum=1, maximum=100_000))
        self.params = out.theta
        fit = SteadyFit(
            params=out.theta.copy(),
            loss=out.loss,
            functions={"W": self.W},
            history=np.asarray(out.history, dtype=float).reshape(-1, 2),
            lbfgs_message="not run",
            wall_time=time.perf_counter() - start,
            extra={"method": "gauss-newton", "iterations": out.iterations, "message": out.message,
                   "smoothness": out.smoothness, "fixed_point_loss": out.fixed_point_loss},
        )  # fmt: skip
        self.result = fit
        return fit

    @property
    def W(self) -> np.ndarray:
        """The learned kernel at the lags, zero mean: (N, N)."""
        return (self.basis @ self.params).reshape(self.grid.N, self.grid.N)


def radial_error(learned: np.ndarray, truth: np.ndarray) -> float:
    """||W - W_true|| / ||W_true|| over the torus after removing both means."""
    a, b = np.asarray(learned, float).ravel(), np.asarray(truth, float).ravel()
    a, b = a - a.mean(), b - b.mean()
    return float(np.linalg.norm(a - b)) / max(float(np.linalg.norm(b)), math.ulp(1.0))
