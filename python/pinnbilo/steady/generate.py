"""Steady states of the forward problems: damped fixed-point iteration, Newton-Krylov on T(u) - u = 0
(which also finds unstable states), and positivity-preserving time stepping to check stability."""

from __future__ import annotations

import warnings
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np
import scipy.sparse as sp  # type: ignore[import-untyped]  # no scipy stubs
from scipy.linalg import solve_banded  # type: ignore[import-untyped]  # no scipy stubs
from scipy.optimize import NoConvergence, newton_krylov  # type: ignore[import-untyped]  # no scipy stubs
from scipy.sparse.linalg import spsolve  # type: ignore[import-untyped]  # no scipy stubs

from ..errors import InputError, PinnbiloError
from .data import DirichletStates, PeriodicStates
from .grids import IntervalGrid, PeriodicGrid

GFunction = Callable[[np.ndarray, np.ndarray], np.ndarray]


class SolverFailed(PinnbiloError, RuntimeError):
    """A steady-state solver did not reach its tolerance; the message says how far it got."""


def _grid_function(grid: PeriodicGrid, f: Union[None, np.ndarray, Callable], name: str, at: np.ndarray) -> np.ndarray:
    if f is None:
        return np.zeros(grid.n)
    if callable(f):
        f = np.asarray(f(at), dtype=float)
    return grid.check_values(f, name)


MAX_TIME_STEPS = 10_000_000  # evolve: a cap on t_end / dt (a run of hours), not a hang


def _positive(v: float, name: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise InputError(f"{name} must be a positive number, got {v!r}")
    v = float(v)
    if not np.isfinite(v) or v <= 0:
        raise InputError(f"{name} must be positive and finite, got {v!r}")
    return v


def _initial(grid: PeriodicGrid, u0: Optional[np.ndarray], mass: float) -> np.ndarray:
    if u0 is None:
        return np.full(grid.n, mass / grid.length)
    u = grid.check_values(u0, "u0")
    if np.any(u <= 0):
        raise InputError("u0 must be a positive density (the scheme works with log u); got values <= 0")
    return u * mass / grid.integrate(u)


def aggregation_map(
    grid: PeriodicGrid, u: np.ndarray, V: np.ndarray, W: np.ndarray, kappa: float, sigma: float, mass: float
) -> np.ndarray:
    """T(u) = M exp(-(kappa W*u + V)/sigma) / integral(...) with log-sum-exp normalisation; u (..., n)."""
    a = -(kappa * grid.convolve(W, u) + V) / sigma
    a = a - np.max(a, axis=-1, keepdims=True)
    e = np.exp(a)
    return mass * e / grid.integrate(e)[..., None]


def steady_state(
    grid: PeriodicGrid,
    V: Union[None, np.ndarray, Callable] = None,
    W: Union[None, np.ndarray, Callable] = None,
    kappa: float = 1.0,
    sigma: float = 1.0,
    mass: float = 1.0,
    u0: Optional[np.ndarray] = None,
    method: str = "picard",
    damping: float = 0.5,
    tol: float = 1e-10,
    maxiter: int = 20000,
) -> np.ndarray:
    """A steady state of u_t = (sigma u_x + kappa u (W*u)_x + u V_x)_x with mass M: shape (n,).

    V: values on grid.x or a callable of x; W: values at grid.lags or a callable of the signed lag.
    method "picard": u <- (1 - damping) u + damping T(u) (finds stable states);
    "newton": scipy newton_krylov on T(u) - u = 0 from u0 (finds unstable ones too).
    Raises SolverFailed when ||T(u) - u|| / ||u|| does not fall below tol.
    """
    V = _grid_function(grid, V, "V", grid.x)
    W = _grid_function(grid, W, "W", grid.lags)
    sigma, mass = _positive(sigma, "sigma"), _positive(mass, "mass")
    if not np.isfinite(kappa):
        raise InputError(f"kappa must be finite, got {kappa!r}")
    u = _initial(grid, u0, mass)

    def residual(v: np.ndarray) -> np.ndarray:
        return aggregation_map(grid, v, V, W, kappa, sigma, mass) - v

    if method == "picard":
        if not 0 < damping <= 1:
            raise InputError(f"damping must be in (0, 1], got {damping!r}")
        for _ in range(int(maxiter)):
            r = residual(u)
            if np.linalg.norm(r) <= tol * np.linalg.norm(u):
                return u
            u = u + damping * r
    elif method == "newton":
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                u = newton_krylov(residual, u, f_tol=tol * np.max(np.abs(u)), maxiter=int(maxiter) // 100 + 50)
        except (NoConvergence, ValueError) as e:
            raise SolverFailed(f"Newton-Krylov did not converge: {e}") from None
        u = np.asarray(u)
    else:
        raise InputError(f"method must be 'picard' or 'newton', got {method!r}")
    rel = np.linalg.norm(residual(u)) / np.linalg.norm(u)
    if not rel <= 10 * tol:
        raise SolverFailed(
            f"{method}: relative fixed-point residual {rel:.3e} after {maxiter} iterations (tol {tol:g}); "
            "try method='newton', another u0, or a smaller damping"
        )
    return u


def _bernoulli(z: np.ndarray) -> np.ndarray:
    """B(z) = z / (exp(z) - 1), with B(0) = 1."""
    out = np.ones_like(z)
    nz = np.abs(z) > 1e-12
    out[nz] = z[nz] / np.expm1(z[nz])
    return out


def evolve(
    grid: PeriodicGrid,
    u0: np.ndarray,
    V: Union[None, np.ndarray, Callable] = None,
    W: Union[None, np.ndarray, Callable] = None,
    kappa: float = 1.0,
    sigma: float = 1.0,
    t_end: float = 10.0,
    dt: float = 1e-2,
    tol: float = 0.0,
) -> np.ndarray:
    """Time-steps u_t = (sigma u_x + u Phi_x)_x, Phi = kappa W*u + V, to t_end (or until
    max|u_t| <= tol max|u|): shape (n,).

    Scharfetter-Gummel fluxes, implicit in u with Phi from the previous step: the matrix of every
    step is an M-matrix, so densities stay positive for any dt, and mass is conserved exactly.
    """
    V = _grid_function(grid, V, "V", grid.x)
    W = _grid_function(grid, W, "W", grid.lags)
    sigma, dt, t_end = _positive(sigma, "sigma"), _positive(dt, "dt"), _positive(t_end, "t_end")
    if (
        isinstance(kappa, bool)
        or not isinstance(kappa, (int, float, np.integer, np.floating))
        or not np.isfinite(kappa)
    ):
        raise InputError(f"kappa must be a finite number, got {kappa!r}")
    if isinstance(tol, bool) or not isinstance(tol, (int, float, np.integer, np.floating)) or not tol >= 0:
        raise InputError(f"tol must be a finite number >= 0, got {tol!r}")
    if t_end / dt > MAX_TIME_STEPS:
        raise InputError(
            f"t_end / dt = {t_end / dt:.3g} time steps is over the limit of {MAX_TIME_STEPS}; use a larger dt "
            "(the scheme is stable for any dt) or a tolerance tol to stop at the steady state"
        )
    u = grid.check_values(u0, "u0").copy()
    if np.any(u <= 0):
        raise InputError("u0 must be a positive density")
    n, h = grid.n, grid.h
    idx = np.arange(n)
    right = (idx + 1) % n
    c = dt * sigma / h**2
    for _ in range(int(np.ceil(t_end / dt))):
        phi = kappa * grid.convolve(W, u) + V
        d = (phi[right] - phi) / sigma  # delta at i + 1/2
        bp, bm = _bernoulli(d), _bernoulli(-d)
        # J_{i+1/2} = (sigma/h) (B(d) u_i - B(-d) u_{i+1}); u_new + dt/h (J_{i+1/2} - J_{i-1/2}) = u.
        diag = 1 + c * (bp + np.roll(bm, 1))
        rows = np.concatenate([idx, idx, idx])
        cols = np.concatenate([idx, right, (idx - 1) % n])
        vals = np.concatenate([diag, -c * bm, -c * np.roll(bp, 1)])
        A = sp.csc_matrix((vals, (rows, cols)), shape=(n, n))
        new = spsolve(A, u)
        change = np.max(np.abs(new - u)) / dt
        u = new
        if tol > 0 and change <= tol * np.max(u):
            break
    return u


def is_stable(
    grid: PeriodicGrid,
    u: np.ndarray,
    V: Union[None, np.ndarray, Callable] = None,
    W: Union[None, np.ndarray, Callable] = None,
    kappa: float = 1.0,
    sigma: float = 1.0,
    size: float = 1e-3,
    t_end: float = 50.0,
    dt: float = 0.05,
    seed: int = 0,
) -> bool:
    """Whether a mass-preserving perturbation of relative size `size` decays back to u under evolve()."""
    u = grid.check_values(u, "u")
    rng = np.random.default_rng(seed)
    p = rng.standard_normal(grid.n)
    p -= p.mean()
    if np.any(u <= 0):
        raise InputError("u must be a positive density")
    u0 = u * (1 + size * p / np.max(np.abs(p)))
    u0 *= grid.integrate(u) / grid.integrate(u0)  # same mass: otherwise it relaxes to another state
    end = evolve(grid, u0, V, W, kappa, sigma, t_end=t_end, dt=dt)
    before = np.linalg.norm(u0 - u)
    return bool(np.linalg.norm(end - u) < 0.1 * before)


def aggregation_diffusion_states(
    grid: PeriodicGrid,
    V: Union[None, np.ndarray, Callable] = None,
    W: Union[None, np.ndarray, Callable] = None,
    kappa: float = 1.0,
    sigma: Union[float, Sequence[float], np.ndarray] = 1.0,
    mass: Union[float, Sequence[float], np.ndarray] = 1.0,
    u0: Optional[Sequence[Optional[np.ndarray]]] = None,
    method: str = "picard",
    **solver: Any,
) -> PeriodicStates:
    """Several steady states, one per entry of the broadcast (sigma, mass, u0): PeriodicStates."""
    sig = np.atleast_1d(np.asarray(sigma, dtype=float))
    ms = np.atleast_1d(np.asarray(mass, dtype=float))
    S = max(sig.size, ms.size, 0 if u0 is None else len(u0))
    sig, ms = np.broadcast_to(sig, (S,)), np.broadcast_to(ms, (S,))
    starts = [None] * S if u0 is None else list(u0)
    if len(starts) != S:
        raise InputError(f"u0: expected {S} initial states (one per sigma/mass), got {len(starts)}")
    u = np.stack(
        [steady_state(grid, V, W, kappa, sig[s], ms[s], u0=starts[s], method=method, **solver) for s in range(S)]
    )
    return PeriodicStates(grid, u, sig, ms)


# -------------------------------------------------------------------------------------------------
# Semilinear two-point problems -D u'' = g(x, u), Dirichlet data.


def _laplacian_banded(grid: IntervalGrid, diffusion: float) -> np.ndarray:
    c = diffusion / grid.h**2
    ab = np.empty((3, grid.n))
    ab[0], ab[1], ab[2] = -c, 2 * c, -c
    return ab


def semilinear_map(
    grid: IntervalGrid, u: np.ndarray, g: GFunction, diffusion: float, left: float, right: float
) -> np.ndarray:
    """T(u) = (-D Delta_h)^{-1} (g(x, u) + boundary terms) on the interior points; u (n,)."""
    rhs = np.asarray(g(grid.x, u), dtype=float).copy()
    c = diffusion / grid.h**2
    rhs[0] += c * left
    rhs[-1] += c * right
    return solve_banded((1, 1), _laplacian_banded(grid, diffusion), rhs)


def semilinear_state(
    grid: IntervalGrid,
    g: GFunction,
    diffusion: float = 1.0,
    left: float = 0.0,
    right: float = 0.0,
    u0: Optional[np.ndarray] = None,
    tol: float = 1e-11,
    maxiter: int = 200,
) -> np.ndarray:
    """A solution of -D u'' = g(x, u), u(a) = left, u(b) = right on the interior points: shape (n,).

    Newton-Krylov on T(u) - u = 0 from u0 (default: the straight line between the boundary values).
    """
    diffusion = _positive(diffusion, "diffusion D")
    if u0 is None:
        u = left + (right - left) * (grid.x - grid.a) / (grid.b - grid.a)
    else:
        u = grid.check_values(u0, "u0").copy()

    def residual(v: np.ndarray) -> np.ndarray:
        return semilinear_map(grid, v, g, diffusion, left, right) - v

    try:
        u = np.asarray(newton_krylov(residual, u, f_tol=tol * max(1.0, np.max(np.abs(u))), maxiter=maxiter))
    except (NoConvergence, ValueError) as e:
        raise SolverFailed(f"Newton-Krylov did not converge for -D u'' = g(x, u): {e}") from None
    return u


def semilinear_states(
    grid: IntervalGrid,
    g: GFunction,
    diffusion: float = 1.0,
    left: Union[float, Sequence[float]] = 0.0,
    right: Union[float, Sequence[float]] = 0.0,
    u0: Optional[Sequence[Optional[np.ndarray]]] = None,
) -> DirichletStates:
    """One steady state per entry of the broadcast (left, right, u0): DirichletStates."""
    lv = np.atleast_1d(np.asarray(left, dtype=float))
    rv = np.atleast_1d(np.asarray(right, dtype=float))
    S = max(lv.size, rv.size, 0 if u0 is None else len(u0))
    lv, rv = np.broadcast_to(lv, (S,)), np.broadcast_to(rv, (S,))
    starts = [None] * S if u0 is None else list(u0)
    if len(starts) != S:
        raise InputError(f"u0: expected {S} initial states, got {len(starts)}")
    u = np.stack([semilinear_state(grid, g, diffusion, lv[s], rv[s], starts[s]) for s in range(S)])
    return DirichletStates(grid, u, lv, rv)
