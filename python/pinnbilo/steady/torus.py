"""Aggregation-diffusion on the 2-D torus with a radial interaction kernel and an external
potential learned from steady states.

u_t = div(sigma grad u + kappa u grad(W*u) + u grad V) on [0, L)^2 with N x N points; steady
states of mass M are the fixed points of T(u) = M exp(-(kappa W*u + V)/sigma) / integral, the
convolution taken by FFT (numpy's pocketfft: O(N^2 log N)).

The unknown radial kernel is a sum over Fourier shells: a periodised radial function has Fourier
coefficients that depend on |k| only, so W(r) = sum_s theta_s sum_{|k|^2 = s} cos(2 pi k . r / L)
spans every band-limited radial kernel of the torus (``RadialSpectral(kmax)``). The unknown
potential is a 2-D Fourier series, cos and sin of 2 pi (kx x + ky y) / L for |kx| <= Kx,
|ky| <= Ky without the constant (``TorusSpectral((Kx, Ky))``: the mean of V changes no steady
state, so it is fixed at zero). Either or both are learned, the other given; the fit is the one of
:mod:`pinnbilo.steady.spectral` (truncated Gauss-Newton on the exact fixed-point residual with its
analytic Jacobian, minimum-norm steps, ``smoothness="auto"`` from the L-curve or, where it has no
under-regularised branch, the least predictive risk, with the noise estimated from each state's
2-D spectrum) on the flattened grid; the penalty lambda int |grad f|^2 is the circle's.
Models are saved and loaded by :mod:`pinnbilo.steady.store` (``model.save``, ``steady.load``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from .. import _validation as check
from .._warnings import warn_user
from ..errors import InputError
from . import _checks
from .generate import SolverFailed
from .spectral import Spectral, SpectralResidual, solve
from .train import SteadyFit

MAX_TORUS_POINTS = 1024  # per side
MAX_TORUS_MODES = 256  # TorusSpectral frequencies per axis: (2K + 1)^2 - 1 columns of N^2 values


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
        (2 N^2, p), so that ||D f||^2 is the discrete int |grad f|^2 (square cells: area h =
        spacing^2)."""
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


@dataclass(frozen=True)
class TorusSpectral:
    """An unknown external potential V(x, y) of the torus as a 2-D Fourier series.

    modes: K (the same on both axes) or (Kx, Ky): the frequencies kx = -Kx..Kx, ky = -Ky..Ky. Each
    wave vector k != 0 of the half plane (ky > 0, or ky = 0 and kx > 0) contributes
    cos(2 pi k . x / L) and sin(2 pi k . x / L): (2 Kx + 1)(2 Ky + 1) - 1 coefficients, every real
    trigonometric polynomial of those degrees without its constant (the mean of V is not
    identifiable: zero-mean gauge). Kx = 0 or Ky = 0 gives a V of one variable. Fitted with the
    kernel by Gauss-Newton (see :class:`TorusAggregationDiffusion`).
    """

    modes: Union[int, Tuple[int, int]] = 4

    def __post_init__(self) -> None:
        m = self.modes
        if isinstance(m, (tuple, list)):
            if len(m) != 2:
                raise InputError(f"TorusSpectral.modes: give K or a pair (Kx, Ky), got {len(m)} numbers")
            pair = tuple(check.integer(k, f"TorusSpectral.modes[{i}]", minimum=0, maximum=MAX_TORUS_MODES)
                         for i, k in enumerate(m))  # fmt: skip
        else:
            k = check.integer(m, "TorusSpectral.modes", minimum=1, maximum=MAX_TORUS_MODES)
            pair = (k, k)
        if pair == (0, 0):
            raise InputError("TorusSpectral.modes = (0, 0) leaves only the constant, which no state shows")
        object.__setattr__(self, "modes", pair)

    def wavevectors(self, grid: "TorusGrid") -> np.ndarray:
        """The wave vectors (kx, ky) of the half plane: (p / 2, 2) integers; InputError if a
        frequency is at or above the torus's Nyquist frequency N/2."""
        kx_max, ky_max = self.modes  # type: ignore[misc]  # a pair after __post_init__
        top = grid.N // 2 - 1
        if max(kx_max, ky_max) > top:
            raise InputError(
                f"TorusSpectral(modes={self.modes}) asks for frequencies above what an N = {grid.N} torus resolves "
                f"below Nyquist ({top}); use modes <= {top} or a finer grid"
            )
        KX, KY = np.meshgrid(np.arange(-kx_max, kx_max + 1), np.arange(-ky_max, ky_max + 1), indexing="ij")
        kx, ky = KX.ravel(), KY.ravel()
        half = (ky > 0) | ((ky == 0) & (kx > 0))
        return np.stack([kx[half], ky[half]], axis=1)

    def basis(self, grid: "TorusGrid") -> np.ndarray:
        """The basis functions at the grid points, flattened: (N^2, p), the cosines of
        ``wavevectors`` then their sines."""
        k = self.wavevectors(grid)
        X, Y = grid.coordinates()
        phase = 2 * np.pi * (np.outer(X.ravel(), k[:, 0]) + np.outer(Y.ravel(), k[:, 1])) / grid.length
        return np.concatenate([np.cos(phase), np.sin(phase)], axis=1)


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
    """The radial kernel W and/or the external potential V learned from steady states on the torus.

    W: a RadialSpectral (learned; None: RadialSpectral(), all shells) or the known kernel (an (N, N)
    array at grid.lags() or a callable of the lags (DX, DY)). V: a TorusSpectral (learned) or the
    known potential (None: 0, an (N, N) array or a callable of (X, Y)). At least one of them is
    learned. The learned functions have zero mean (constants change no steady state).
    """

    def __init__(
        self,
        grid: TorusGrid,
        kappa: float = 1.0,
        V: Union[None, np.ndarray, Callable, TorusSpectral] = None,
        W: Union[None, np.ndarray, Callable, RadialSpectral] = None,
    ) -> None:
        if not isinstance(grid, TorusGrid):
            raise InputError(f"grid must be a pinnbilo.steady.TorusGrid, got {type(grid).__name__}")
        self.grid, self.kappa = grid, check.real(kappa, "kappa")
        if W is None:
            W = RadialSpectral()
        from .models import Unknown

        for name, f, kind in (("V", V, TorusSpectral), ("W", W, RadialSpectral)):
            other = RadialSpectral if kind is TorusSpectral else TorusSpectral
            if isinstance(f, (other, Spectral, Unknown)):
                raise InputError(
                    f"{name}: a learned {name} on the torus is a pinnbilo.steady.{kind.__name__}, got "
                    f"{type(f).__name__} (or give the known {name} as an (N, N) array or a callable)"
                )
        self.spec: Optional[RadialSpectral] = W if isinstance(W, RadialSpectral) else None
        self.V_spec: Optional[TorusSpectral] = V if isinstance(V, TorusSpectral) else None
        if self.spec is not None and self.kappa == 0:
            raise InputError("kappa = 0: W never enters the equation; set kappa != 0 (or give W as known)")
        self.bases: Dict[str, np.ndarray] = {}
        self.known: Dict[str, np.ndarray] = {}
        if self.V_spec is not None:
            self.bases["V"] = self.V_spec.basis(grid)
        else:
            self.known["V"] = grid.values(V, "V")
        if self.spec is not None:
            self.bases["W"] = self.spec.basis(grid)
        else:
            self.known["W"] = grid.values(W, "W")
        if not self.bases:
            raise InputError("nothing to learn: give V=pinnbilo.steady.TorusSpectral(...) and/or W=RadialSpectral(...)")
        self.unknowns: Tuple[str, ...] = tuple(k for k in ("V", "W") if k in self.bases)
        self.params = np.zeros(sum(b.shape[1] for b in self.bases.values()))
        self.result: Optional[SteadyFit] = None

    def _check_data(self, data: object) -> TorusStates:
        if not isinstance(data, TorusStates) or data.grid != self.grid:
            raise InputError("data must be TorusStates on the model's grid (see pinnbilo.steady.torus_states)")
        N = self.grid.N
        u = _checks.values(data.u, "data.u", ndim=3, shape_hint="(states, N, N)")
        if u.shape[1:] != (N, N) or u.shape[0] == 0:
            raise InputError(f"data.u: expected shape (S, {N}, {N}) with S >= 1, got {u.shape}")
        _checks.values(data.weights, "data.weights", shape=u.shape, shape_hint="one weight per value of data.u")
        for name in ("sigma", "mass"):
            a = _checks.values(getattr(data, name), f"data.{name}", shape=(u.shape[0],), shape_hint="one per state")
            if np.any(a <= 0):
                raise InputError(f"data.{name} must be positive, got {a}")
        if np.any(np.sum(u * data.weights, axis=(1, 2)) == 0):
            raise InputError("data: a state has no observed mass (all weights or values zero)")
        return data

    def residual(self, data: TorusStates, smoothness: float = 0.0) -> SpectralResidual:
        """The fixed-point residual vector and its Jacobian in the coefficients (those of V, then
        those of W): ``problem.residual(theta)`` (S N^2 + penalty rows,), ``problem.jacobian(theta)``
        (S N^2 + penalty rows, p). smoothness: lambda >= 0 of the penalty lambda int |grad f|^2 on
        each learned function."""
        data = self._check_data(data)
        lam = check.real(smoothness, "smoothness", nonnegative=True)
        how = tuple(lam if k in self.bases else 0.0 for k in ("V", "W"))
        return SpectralResidual(self.grid, self.kappa, data.flat(), self.bases, self.known, how)  # type: ignore[arg-type]

    def fit(self, data: TorusStates, smoothness: Union[float, str] = 0.0, max_iter: int = 50) -> SteadyFit:
        """Gauss-Newton for the coefficients of the learned functions (smoothness: lambda >= 0 of
        lambda int |grad f|^2, or "auto"). Returns a SteadyFit; ``functions`` holds the learned V
        and/or W, (N, N) each; ``extra`` the smoothness used and how it was chosen
        ("smoothness_rule": "given", "clean", "lcurve" or "risk", see pinnbilo.steady.spectral.solve),
        the noise std of each state estimated from the observed values ("noise", (S,); as
        pinnbilo.steady.noise_level does for the circle, or the states' recorded ``noise``), the
        fixed-point loss and the penalty, and for "auto" the scanned L-curve ("lcurve", (37, 3):
        lambda, fixed-point loss, roughness)."""
        import time

        start = time.perf_counter()
        problem = self.residual(data, 0.0)
        auto = isinstance(smoothness, str) and smoothness == "auto"
        max_iter = check.integer(max_iter, "max_iter", minimum=1, maximum=100_000)
        if auto:
            how: Any = "auto"
        else:
            lam = check.real(smoothness, "smoothness", nonnegative=True)
            how = tuple(lam if k in self.bases else 0.0 for k in ("V", "W"))
        if len(data) == 1 and len(self.unknowns) == 2:
            warn_user(
                "a single steady state with both V and W unknown can never separate them: any change of W is "
                "absorbed by V (V -> V - kappa dW*u). Observe at least two states that differ (other mass or sigma)."
            )
        out = solve(problem, how, self.unknowns, max_iter)
        self.params = out.theta
        fit = SteadyFit(
            params=out.theta.copy(),
            loss=out.loss,
            functions={k: getattr(self, k) for k in self.unknowns},
            history=np.asarray(out.history, dtype=float).reshape(-1, 2),
            lbfgs_message="not run",
            wall_time=time.perf_counter() - start,
            extra={"method": "gauss-newton", "iterations": out.iterations, "message": out.message,
                   "smoothness": out.smoothness, "smoothness_rule": out.rule, "noise": out.noise,
                   "penalty": float(out.loss - out.fixed_point_loss), "fixed_point_loss": out.fixed_point_loss,
                   "lcurve": np.asarray(out.lcurve, dtype=float).reshape(-1, 3)},
        )  # fmt: skip
        self.result = fit
        return fit

    def save(self, path: str) -> None:
        """Write the model (grid, kappa, what is learned, the known V/W, parameters, last fit) to
        ``path`` (.npz); pinnbilo.steady.load reads it."""
        from .store import save

        save(self, path)

    def _function(self, name: str) -> np.ndarray:
        if name in self.bases:
            sizes = [self.bases[k].shape[1] for k in self.unknowns]
            start = sum(sizes[: self.unknowns.index(name)])
            f = self.bases[name] @ self.params[start : start + self.bases[name].shape[1]]
        else:
            f = self.known[name]
        return f.reshape(self.grid.N, self.grid.N)

    @property
    def W(self) -> np.ndarray:
        """The kernel at the lags: (N, N); learned: zero mean."""
        return self._function("W")

    @property
    def V(self) -> np.ndarray:
        """The potential at the grid points: (N, N); learned: zero mean."""
        return self._function("V")


def radial_error(learned: np.ndarray, truth: np.ndarray) -> float:
    """||f - f_true|| / ||f_true|| over the torus after removing both means: for W (at the lags)
    or V (at the points), (N, N) arrays."""
    a, b = np.asarray(learned, float).ravel(), np.asarray(truth, float).ravel()
    a, b = a - a.mean(), b - b.mean()
    return float(np.linalg.norm(a - b)) / max(float(np.linalg.norm(b)), math.ulp(1.0))
