"""Two species with cross-interaction kernels on the periodic interval:

    (u_i)_t = (sigma_i (u_i)_x + kappa u_i (sum_j W_ij * u_j)_x + u_i (V_i)_x)_x,   i = 1, 2,

whose steady states are the fixed points of T_i(u) = M_i exp(-Phi_i/sigma_i) / integral, with
Phi_i = kappa sum_j W_ij * u_j + V_i. Any of the four even kernels W11, W12, W21, W22 may be
learned (as Fourier series, :class:`~pinnbilo.steady.Spectral`), the others known; the fit is the
truncated Gauss-Newton of :mod:`pinnbilo.steady.spectral` on the residuals of both species.

Identifiability of the pair: W_ij enters only species i's equation and only through u_j, so mode k
of W_ij is seen through the k-th Fourier coefficient of u_j; and W_i1, W_i2 are separated only by
states in which u_1 and u_2 differ in shape (:meth:`TwoSpecies.identifiability`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

from .. import _validation as check
from ..errors import InputError
from . import _checks
from .generate import SolverFailed, grid_function
from .grids import PeriodicGrid, require_grid
from .spectral import Spectral, gauss_newton
from .train import SteadyFit

PAIRS = ("11", "12", "21", "22")
KernelArg = Union[None, Spectral, np.ndarray, Callable[[np.ndarray], np.ndarray]]


@dataclass
class TwoSpeciesStates:
    """Steady states of the two-species system: u (S, 2, n), sigma (S, 2), mass (S, 2), weights
    (S, 2, n) (1 where a datum exists)."""

    grid: PeriodicGrid
    u: np.ndarray
    sigma: np.ndarray
    mass: np.ndarray
    weights: np.ndarray

    def __len__(self) -> int:
        return int(self.u.shape[0])


def _kernels(grid: PeriodicGrid, W: Mapping[str, object]) -> Dict[str, object]:
    if not isinstance(W, Mapping):
        raise InputError(f"W must be a dict with keys among {PAIRS}, got {check._show(W)}")
    bad = [k for k in W if k not in PAIRS]
    if bad:
        raise InputError(f"W: unknown kernel names {bad}; use '11', '12', '21', '22' (W_ij acts on species i from j)")
    return {k: W.get(k) for k in PAIRS}


def two_species_states(
    grid: PeriodicGrid,
    V: Sequence[Any] = (None, None),
    W: Optional[Mapping[str, Any]] = None,
    kappa: float = 1.0,
    sigma: Any = (1.0, 1.0),
    mass: Any = (1.0, 1.0),
    damping: float = 0.5,
    tol: float = 1e-11,
    maxiter: int = 50000,
) -> TwoSpeciesStates:
    """Steady states by damped Picard iteration from the uniform state: one per row of sigma and
    mass, each (2,) or (S, 2)."""
    require_grid(grid, PeriodicGrid)
    Vs = _pair_of_functions(grid, V)
    Ws = {k: grid_function(grid, f, f"W{k}", grid.lags) for k, f in _kernels(grid, {} if W is None else W).items()}
    kappa = check.real(kappa, "kappa")
    sig = np.atleast_2d(_checks.values(sigma, "sigma"))
    ms = np.atleast_2d(_checks.values(mass, "mass"))
    if sig.shape[-1] != 2 or ms.shape[-1] != 2:
        raise InputError(f"sigma and mass: two values (species 1, 2) per state, got shapes {sig.shape}, {ms.shape}")
    sig, ms = np.broadcast_arrays(sig, ms)
    if np.any(sig <= 0) or np.any(ms <= 0):
        raise InputError("sigma and mass must be positive")
    damping = check.real(damping, "damping", positive=True, high=1.0)
    tol = check.real(tol, "tol", positive=True)
    maxiter = check.integer(maxiter, "maxiter", minimum=1, maximum=10_000_000)
    out = []
    for s in range(sig.shape[0]):
        u = np.stack([np.full(grid.n, ms[s, i] / grid.length) for i in range(2)])
        for _ in range(maxiter):
            T = _maps(grid, u, Vs, Ws, kappa, sig[s], ms[s])
            r = T - u
            if not np.all(np.isfinite(r)):
                raise SolverFailed(
                    "two-species picard: the map became non-finite; use smaller W, kappa or larger sigma"
                )
            if np.linalg.norm(r) <= tol * np.linalg.norm(u):
                break
            u = u + damping * r
        else:
            raise SolverFailed(f"two-species picard did not converge in {maxiter} iterations; try a smaller damping")
        out.append(u)
    u_all = np.stack(out)
    return TwoSpeciesStates(grid, u_all, np.array(sig, float), np.array(ms, float), np.ones_like(u_all))


def _pair_of_functions(grid: PeriodicGrid, V: Sequence[Any]) -> List[np.ndarray]:
    if isinstance(V, (str, bytes)) or not isinstance(V, (tuple, list)) or len(V) != 2:
        raise InputError(
            f"V must be a pair (V1, V2) of known potentials (None, values or callables), got {check._show(V)}"
        )
    return [grid_function(grid, V[i], f"V{i + 1}", grid.x) for i in range(2)]


def _maps(
    grid: PeriodicGrid,
    u: np.ndarray,
    V: List[np.ndarray],
    W: Dict[str, np.ndarray],
    kappa: float,
    sigma: Any,
    mass: Any,
) -> np.ndarray:
    """T(u) for both species: u (2, n) -> (2, n)."""
    out = np.empty_like(u)
    for i in range(2):
        phi = V[i] + kappa * sum(grid._convolve(W[f"{i + 1}{j + 1}"], u[j]) for j in range(2))
        a = -phi / sigma[i]
        e = np.exp(a - a.max())
        out[i] = mass[i] * e / grid._integrate(e)
    return out


class TwoSpecies:
    """Learn some of the kernels W11, W12, W21, W22 (given as Spectral()) from two-species steady
    states; V = (V1, V2) and the other kernels are known (values at grid.lags, callables, None)."""

    def __init__(
        self,
        grid: PeriodicGrid,
        kappa: float = 1.0,
        V: Sequence[Any] = (None, None),
        W: Optional[Mapping[str, Any]] = None,
    ) -> None:
        require_grid(grid, PeriodicGrid)
        self.grid, self.kappa = grid, check.real(kappa, "kappa")
        if self.kappa == 0:
            raise InputError("kappa = 0: no kernel enters the equations; set kappa != 0")
        self.V = _pair_of_functions(grid, V)
        self.learned: Dict[str, Spectral] = {}
        self.known: Dict[str, np.ndarray] = {}
        for k, f in _kernels(grid, {} if W is None else W).items():
            if isinstance(f, Spectral):
                f.resolved(grid)
                self.learned[k] = f
            else:
                self.known[k] = grid_function(grid, f, f"W{k}", grid.lags)
        if not self.learned:
            raise InputError(
                "TwoSpecies: nothing to learn; give some of W['11'], W['12'], W['21'], W['22'] as Spectral()"
            )
        self.bases = {k: s.basis(grid, "W", grid.lags) for k, s in self.learned.items()}
        sizes = [self.bases[k].shape[1] for k in self.learned]
        starts = np.cumsum([0] + sizes)
        self.slices = {k: slice(int(a), int(a + b)) for k, a, b in zip(self.learned, starts, sizes)}
        self.params = np.zeros(int(sum(sizes)))
        self.result: Optional[SteadyFit] = None

    def kernels(self, params: Optional[np.ndarray] = None) -> Dict[str, np.ndarray]:
        """All four kernels at grid.lags (learned ones in the zero-mean gauge)."""
        theta = self.params if params is None else params
        out = dict(self.known)
        for k in self.learned:
            out[k] = self.bases[k] @ theta[self.slices[k]]
        return {k: out[k] for k in PAIRS}

    def residual_problem(self, data: TwoSpeciesStates, smoothness: float = 0.0) -> "_Residual":
        if not isinstance(data, TwoSpeciesStates) or data.grid != self.grid:
            raise InputError(
                "data must be TwoSpeciesStates on the model's grid (see pinnbilo.steady.two_species_states)"
            )
        return _Residual(self, data, check.real(smoothness, "smoothness", nonnegative=True))

    def fit(self, data: TwoSpeciesStates, smoothness: float = 0.0, max_iter: int = 50) -> SteadyFit:
        """Truncated Gauss-Newton on both species' residuals from the linearised start."""
        import time

        start = time.perf_counter()
        problem = self.residual_problem(data, smoothness)
        theta, its, why, hist = gauss_newton(
            problem, problem.linear_start(), check.integer(max_iter, "max_iter", minimum=1, maximum=100_000)
        )
        self.params = theta
        r = problem.residual(theta)
        fit = SteadyFit(
            params=theta.copy(),
            loss=float(r @ r),
            functions={f"W{k}": v for k, v in self.kernels().items()},
            history=np.asarray(hist, dtype=float).reshape(-1, 2),
            lbfgs_message="not run",
            wall_time=time.perf_counter() - start,
            extra={"method": "gauss-newton", "iterations": its, "message": why, "smoothness": float(smoothness)},
        )
        self.result = fit
        return fit

    def identifiability(self, data: TwoSpeciesStates, mode_tol: float = 1e-3, checked_modes: int = 3) -> List[str]:
        """What the states cannot determine, one line each (empty: nothing found): modes of a
        learned W_ij that no u_j shows, and W_i1, W_i2 both learned from states where u_1 and u_2
        have the same shape (their effects cannot be told apart)."""
        mode_tol = check.real(mode_tol, "mode_tol", nonnegative=True)
        checked_modes = check.integer(checked_modes, "checked_modes", minimum=1, maximum=self.grid.n // 2)
        messages = []
        uh = np.abs(np.fft.rfft(data.u, axis=-1))  # (S, 2, n/2 + 1)
        visibility = (uh / uh[..., :1]).max(axis=0)  # (2, modes)
        for k in self.learned:
            j = int(k[1]) - 1
            unseen = [m for m in range(1, checked_modes + 1) if visibility[j, m] < mode_tol]
            if unseen:
                messages.append(f"W{k}: Fourier modes {unseen} are not seen by species {j + 1} in any state")
        for i in ("1", "2"):
            if f"{i}1" in self.learned and f"{i}2" in self.learned:
                shapes = data.u / data.mass[..., None]
                diff = np.abs(np.fft.rfft(shapes[:, 0] - shapes[:, 1], axis=-1))[:, 1 : checked_modes + 1].max()
                if diff < mode_tol * np.abs(np.fft.rfft(shapes[:, 0], axis=-1))[:, 0].max():
                    messages.append(
                        f"W{i}1 and W{i}2 are both learned, but the two species have the same shape in every state: "
                        f"only W{i}1 + W{i}2 is determined"
                    )
        return messages


class _Residual:
    """The stacked residuals of both species and their Jacobian in the learned coefficients (the
    interface gauss_newton reads)."""

    def __init__(self, model: TwoSpecies, data: TwoSpeciesStates, smoothness: float) -> None:
        self.model, self.data, self.grid = model, data, model.grid
        self.n_params = model.params.size
        m = data.weights
        self.row_scale = np.sqrt(m) / np.sqrt(np.sum(m * data.u**2, axis=-1, keepdims=True))  # (S, 2, n)
        rows = []
        if smoothness > 0:
            for k in model.learned:
                B = model.bases[k]
                block = np.zeros((self.grid.n, self.n_params))
                block[:, model.slices[k]] = math.sqrt(smoothness / self.grid.h) * (np.roll(B, -1, axis=0) - B)
                rows.append(block)
        self.penalty_rows = np.concatenate(rows) if rows else np.zeros((0, self.n_params))
        # dPhi_i/dtheta for each state and species: kappa (basis of W_ij convolved with u_j)
        self.dphi = np.zeros(data.u.shape + (self.n_params,))
        for s in range(len(data)):
            for k in model.learned:
                i, j = int(k[0]) - 1, int(k[1]) - 1
                conv = self.grid._convolve(model.bases[k].T, data.u[s, j]).T
                self.dphi[s, i][:, model.slices[k]] = model.kappa * conv

    def _maps(self, theta: np.ndarray) -> np.ndarray:
        W = self.model.kernels(theta)
        d = self.data
        return np.stack(
            [_maps(self.grid, d.u[s], self.model.V, W, self.model.kappa, d.sigma[s], d.mass[s]) for s in range(len(d))]
        )

    def residual(self, theta: np.ndarray) -> np.ndarray:
        r = (self.row_scale * (self._maps(theta) - self.data.u)).ravel()
        return np.concatenate([r, self.penalty_rows @ theta])

    def jacobian(self, theta: np.ndarray) -> np.ndarray:
        T = self._maps(theta)
        d, h = self.data, self.grid.h
        blocks = []
        for s in range(len(d)):
            for i in range(2):
                t = T[s, i][:, None]
                G = self.dphi[s, i]
                dT = -(t * G - (h / d.mass[s, i]) * t * (T[s, i] @ G)[None, :]) / d.sigma[s, i]
                blocks.append(self.row_scale[s, i][:, None] * dT)
        return np.concatenate(blocks + [self.penalty_rows])

    def linear_start(self) -> np.ndarray:
        """sigma_i log u_i + Phi_i(theta) = c_si on the observed points, weighted by u (the
        residual's first-order form), minimum-norm least squares."""
        d, model = self.data, self.model
        S = len(d)
        known = model.kernels(np.zeros(self.n_params))
        rows, rhs = [], []
        for s in range(S):
            for i in range(2):
                u = d.u[s, i]
                ok = (d.weights[s, i] > 0) & (u > 0)
                w = (self.row_scale[s, i] * np.where(ok, u, 0.0))[ok][:, None]
                phi0 = model.V[i] + model.kappa * sum(
                    self.grid._convolve(known[f"{i + 1}{j + 1}"], d.u[s, j]) for j in range(2)
                )
                c = np.zeros((int(ok.sum()), 2 * S))
                c[:, 2 * s + i] = -1.0
                rows.append(w * np.concatenate([self.dphi[s, i][ok], c], axis=1))
                rhs.append(-(w[:, 0] * (d.sigma[s, i] * np.log(u[ok]) + phi0[ok])))
        A = np.concatenate(rows)
        P = np.concatenate([self.penalty_rows, np.zeros((self.penalty_rows.shape[0], 2 * S))], axis=1)
        sol = np.linalg.lstsq(np.concatenate([A, P]), np.concatenate(rhs + [np.zeros(P.shape[0])]), rcond=None)[0]
        return np.asarray(sol[: self.n_params])
