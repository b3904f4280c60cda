"""Observed steady states: containers, measurement noise and sparse sampling."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Union

import numpy as np

from .. import _validation as check
from ..errors import InputError
from ._checks import values
from .grids import MAX_GRID_POINTS, IntervalGrid, PeriodicGrid, require_grid

ArrayLike = Union[np.ndarray, Sequence[float], float]


def per_state(v: object, S: int, name: str, positive: bool = False) -> np.ndarray:
    """A scalar (broadcast) or one finite value per state: shape (S,)."""
    if S < 1:
        raise InputError(f"{name}: no states; give at least one value")
    a = values(v, name)
    if a.ndim > 1:
        raise InputError(f"{name}: expected a scalar or a flat list of one value per state, got shape {a.shape}")
    if a.size == 1:
        a = np.full(S, float(a.ravel()[0]))
    if a.shape != (S,):
        raise InputError(f"{name}: expected a scalar or one value per state, shape ({S},), got {a.shape}")
    if positive and np.any(a <= 0):
        raise InputError(f"{name} must be positive, got {a.tolist()}")
    return a


def _states(u: object, n: int, what: str) -> np.ndarray:
    a = values(u, what)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] != n or a.shape[0] < 1:
        raise InputError(f"{what}: expected shape (S, {n}) (one row per steady state on the grid), got {a.shape}")
    return a


def _weights(w: object, shape: tuple) -> np.ndarray:
    if w is None:
        return np.ones(shape)
    a = values(w, "weights", shape=shape, shape_hint="like the states", allow_bool=True)  # a mask is natural
    if np.any(a < 0):
        raise InputError("weights must be >= 0 (1 where a datum exists, 0 elsewhere)")
    empty = np.flatnonzero(~np.any(a > 0, axis=1))
    if empty.size:
        raise InputError(
            f"weights: state(s) {empty.tolist()} have no observed point (all weights 0), so they would "
            "determine nothing; drop them (states.subset) or give their observed points weight 1"
        )
    return a


@dataclass
class PeriodicStates:
    """Steady states of aggregation-diffusion on a PeriodicGrid.

    u: (S, n) densities on the grid; weights: (S, n), 1 where a datum exists (0 where u was only
    interpolated); sigma, mass: (S,) the known diffusion and total mass of each state; noise:
    (S,) the standard deviation of the measurement noise when known (denoise_periodic records
    its estimate before filtering), else None (pinnbilo.steady.noise_level estimates it).
    """

    grid: PeriodicGrid
    u: np.ndarray
    sigma: np.ndarray
    mass: np.ndarray
    weights: np.ndarray
    noise: Optional[np.ndarray]

    def __init__(
        self,
        grid: PeriodicGrid,
        u: np.ndarray,
        sigma: ArrayLike,
        mass: Optional[ArrayLike] = None,
        weights: Optional[np.ndarray] = None,
        noise: Optional[ArrayLike] = None,
    ) -> None:
        require_grid(grid, PeriodicGrid)
        self.grid = grid
        self.u = _states(u, grid.n, "steady states u")
        S = self.u.shape[0]
        self.sigma = per_state(sigma, S, "sigma", positive=True)
        self.mass = grid._integrate(self.u) if mass is None else per_state(mass, S, "mass", positive=True)
        if np.any(self.mass <= 0):
            raise InputError("the mass of every state must be positive; pass mass= explicitly for noisy data")
        self.weights = _weights(weights, self.u.shape)
        self.noise = None
        if noise is not None:
            self.noise = per_state(noise, S, "noise")
            if np.any(self.noise < 0):
                raise InputError(f"noise must be >= 0 (a standard deviation per state), got {self.noise.tolist()}")

    def __len__(self) -> int:
        return self.u.shape[0]

    def subset(self, idx: Sequence[int]) -> "PeriodicStates":
        idx = _indices(idx, len(self))
        noise = None if self.noise is None else self.noise[idx]
        return PeriodicStates(self.grid, self.u[idx], self.sigma[idx], self.mass[idx], self.weights[idx], noise)


@dataclass
class DirichletStates:
    """Steady states of -D u'' = g(x, u) on an IntervalGrid.

    u: (S, n) interior values; left, right: (S,) Dirichlet values; weights as for PeriodicStates.
    """

    grid: IntervalGrid
    u: np.ndarray
    left: np.ndarray
    right: np.ndarray
    weights: np.ndarray

    def __init__(
        self,
        grid: IntervalGrid,
        u: np.ndarray,
        left: ArrayLike,
        right: ArrayLike,
        weights: Optional[np.ndarray] = None,
    ) -> None:
        require_grid(grid, IntervalGrid)
        self.grid = grid
        self.u = _states(u, grid.n, "steady states u")
        S = self.u.shape[0]
        self.left = per_state(left, S, "left boundary values")
        self.right = per_state(right, S, "right boundary values")
        self.weights = _weights(weights, self.u.shape)

    def __len__(self) -> int:
        return self.u.shape[0]

    def subset(self, idx: Sequence[int]) -> "DirichletStates":
        idx = _indices(idx, len(self))
        return DirichletStates(self.grid, self.u[idx], self.left[idx], self.right[idx], self.weights[idx])


def _indices(idx: object, S: int) -> list:
    """State indices for subset(): integers in [-S, S), at least one."""
    if isinstance(idx, (str, bytes)) or not isinstance(idx, (Sequence, np.ndarray, range)):
        raise InputError(f"subset: give a list of state indices, got {type(idx).__name__}")
    if isinstance(idx, np.ndarray) and idx.ndim != 1:
        raise InputError(f"subset: give a flat list of state indices, got an array of shape {idx.shape}")
    out = [check.integer(i, "subset index", minimum=-S, maximum=S - 1) for i in idx]
    if not out:
        raise InputError("subset: give at least one state index")
    return out


def sample_indices(n: int, m: Optional[int]) -> np.ndarray:
    """m indices spread evenly over n grid points (all of them when m is None or m >= n)."""
    n = check.integer(n, "n", minimum=1, maximum=MAX_GRID_POINTS)
    if m is None:
        return np.arange(n)
    m = check.integer(m, "m (observations per state)", minimum=2)
    if m > n:
        raise InputError(f"m = {m} observations per state is more than the grid's {n} points")
    if m == n:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n, int(m), endpoint=False)).astype(int))


def _noisy(u: np.ndarray, noise: object, rng: np.random.Generator) -> np.ndarray:
    noise = check.real(noise, "noise (std relative to max|u| of each state)", nonnegative=True)
    scale = noise * np.max(np.abs(u), axis=-1, keepdims=True)
    return u + scale * rng.standard_normal(u.shape)


def observe_periodic(
    states: PeriodicStates, m: Optional[int] = None, noise: float = 0.0, seed: int = 0
) -> PeriodicStates:
    """Noisy observations at m of the grid points, brought back to the grid by periodic cubic splines.

    noise is the standard deviation relative to max|u| of each state. The returned weights are 1
    at the observed points and 0 elsewhere, so the fixed-point residual is compared only where
    data exist; mass and sigma are kept (they are known, not measured).
    """
    _require_states(states, PeriodicStates)
    g = states.grid
    idx = sample_indices(g.n, m)
    rng = np.random.default_rng(check.seed(seed))
    obs = _noisy(states.u[:, idx], noise, rng)
    if idx.size == g.n:
        u = obs
    else:
        xs = np.append(g.x[idx], g.length + g.x[idx[0]])
        from scipy.interpolate import CubicSpline  # type: ignore[import-untyped]  # no stubs; lazy: takes ~1 s to load

        u = CubicSpline(xs, np.concatenate([obs, obs[:, :1]], axis=1), axis=1, bc_type="periodic")(g.x)
        u[:, idx] = obs
    w = np.zeros_like(u)
    w[:, idx] = 1.0
    return PeriodicStates(g, u, states.sigma, states.mass, w)


def denoise_periodic(states: PeriodicStates, factor: float = 3.0) -> PeriodicStates:
    """Low-pass filter each state: keep Fourier modes up to the first one below factor x the noise
    floor (the median magnitude of the upper half of the spectrum), then restore the mass.

    Smooth steady states have fast-decaying spectra and white noise a flat one, so the cut-off is
    where the state's spectrum meets the noise. Weights are kept, and the noise estimated before
    filtering is recorded in ``noise`` (the diagnostics compare modes with it). Mode 1 is always
    kept; whether it stands above the noise is for identifiability() to say. Returns new
    PeriodicStates.
    """
    _require_states(states, PeriodicStates)
    factor = check.real(factor, "factor", positive=True)
    g = states.grid
    uh = np.fft.rfft(states.u, axis=1)
    floor = np.median(np.abs(uh[:, uh.shape[1] // 2 :]), axis=1, keepdims=True)
    below = np.abs(uh) <= factor * floor
    below[:, 0] = False
    cut = np.where(below.any(axis=1), np.argmax(below, axis=1), uh.shape[1])
    for s in range(len(states)):
        uh[s, max(int(cut[s]), 2) :] = 0
    uh[:, 0] = states.mass / g.h  # the known mass, not the noisy one
    u = np.fft.irfft(uh, n=g.n, axis=1)
    from .spectral import noise_level  # the estimate from the unfiltered values: filtering hides it

    noise = states.noise if states.noise is not None else noise_level(states)
    return PeriodicStates(g, u, states.sigma, states.mass, states.weights, noise)


def observe_dirichlet(
    states: DirichletStates, m: Optional[int] = None, noise: float = 0.0, seed: int = 0
) -> DirichletStates:
    """Noisy observations at m interior points, spline-interpolated with the (known) boundary values."""
    _require_states(states, DirichletStates)
    g = states.grid
    idx = sample_indices(g.n, m)
    rng = np.random.default_rng(check.seed(seed))
    obs = _noisy(states.u[:, idx], noise, rng)
    if idx.size == g.n:
        u = obs
    else:
        xs = np.concatenate([[g.a], g.x[idx], [g.b]])
        u = np.empty_like(states.u)
        from scipy.interpolate import CubicSpline  # type: ignore[import-untyped]  # no stubs; lazy: takes ~1 s to load

        for s in range(len(states)):
            ys = np.concatenate([[states.left[s]], obs[s], [states.right[s]]])
            u[s] = CubicSpline(xs, ys)(g.x)
        u[:, idx] = obs
    w = np.zeros_like(u)
    w[:, idx] = 1.0
    return DirichletStates(g, u, states.left, states.right, w)


def _require_states(states: object, kind: type) -> None:
    if not isinstance(states, kind):
        raise InputError(f"states must be {kind.__name__}, got {type(states).__name__}")
