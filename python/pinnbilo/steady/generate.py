"""Steady states of the forward problems: damped fixed-point iteration, Newton-Krylov on T(u) - u = 0
(which also finds unstable states), and positivity-preserving time stepping to check stability."""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Sequence, Tuple, Union

import numpy as np
import scipy.sparse as sp  # type: ignore[import-untyped]  # no scipy stubs
from scipy.linalg import solve_banded  # type: ignore[import-untyped]  # no scipy stubs
from scipy.optimize import NoConvergence, newton_krylov  # type: ignore[import-untyped]  # no scipy stubs
from scipy.sparse.linalg import spsolve  # type: ignore[import-untyped]  # no scipy stubs

from .. import _validation as check
from ..errors import InputError, PinnbiloError
from . import _checks
from .data import DirichletStates, PeriodicStates, per_state
from .grids import IntervalGrid, PeriodicGrid, require_grid

GFunction = Callable[[np.ndarray, np.ndarray], np.ndarray]


class SolverFailed(PinnbiloError, RuntimeError):
    """A steady-state solver did not reach its tolerance; the message says how far it got."""


def call_user(f: Callable[..., Any], name: str, *args: np.ndarray) -> Any:
    """A user's function on grid arrays; what it raises becomes an InputError naming it."""
    try:
        return f(*args)
    except PinnbiloError:
        raise
    except Exception as exc:  # the user's function failing on the grid is a bad argument
        raise InputError(f"{name} raised {type(exc).__name__} on the grid: {exc}") from exc


def grid_function(grid: Any, f: object, name: str, at: np.ndarray) -> np.ndarray:
    """Values of a known function on ``at``: None (zero), grid values, or a callable of ``at``."""
    if f is None:
        return np.zeros(grid.n)
    if callable(f):
        f = call_user(f, name, at)
    return grid.check_values(f, name)


MAX_TIME_STEPS = 10_000_000  # evolve: a cap on t_end / dt (a run of hours), not a hang
MAX_EXPONENT = 20.0  # porous-medium exponents beyond this are no model anyone fits (and overflow)
MAX_ITERATIONS = 10_000_000  # fixed-point and Newton iterations: a cap, not a hang


def _initial(grid: PeriodicGrid, u0: Optional[np.ndarray], mass: float) -> np.ndarray:
    if u0 is None:
        return np.full(grid.n, mass / grid.length)
    u = grid.check_values(u0, "u0")
    if np.any(u <= 0):
        raise InputError("u0 must be a positive density (the scheme works with log u); got values <= 0")
    scaled = u * (mass / grid._integrate(u))
    return _checks.finite_result(scaled, "u0 scaled to the mass", "u0 is too small or too large to normalise")


def aggregation_map(
    grid: PeriodicGrid, u: np.ndarray, V: np.ndarray, W: np.ndarray, kappa: float, sigma: float, mass: float
) -> np.ndarray:
    """The fixed-point map T(u) = M exp(-(kappa W*u + V)/sigma) / integral(exp(...)): shape of u.

    u: (..., n) densities on the grid (last axis); V: (n,) values on grid.x; W: (n,) values at
    grid.lags; kappa real; sigma, mass > 0. Normalised by log-sum-exp, so it never overflows for
    finite inputs of moderate size; a non-finite answer raises InputError.
    """
    require_grid(grid, PeriodicGrid)
    u = grid.check_states(u, "u")
    for name, f, at in (("V", V, "grid.x"), ("W", W, "grid.lags")):
        if callable(f):
            raise InputError(
                f"{name} must be its values at {at}, shape ({grid.n},), not a function: evaluate it first "
                f"({name}({at}))"
            )
    V, W = grid.check_values(V, "V"), grid.check_values(W, "W")
    kappa = check.real(kappa, "kappa")
    sigma, mass = check.real(sigma, "sigma", positive=True), check.real(mass, "mass", positive=True)
    with np.errstate(all="ignore"):  # overflow is reported below, with its cause
        out = _aggregation_map(grid, u, V, W, kappa, sigma, mass)
    return _checks.finite_result(
        out, "aggregation_map(...)", "(kappa W*u + V) / sigma or the mass overflows float64; use smaller values"
    )


def _aggregation_map(
    grid: PeriodicGrid, u: np.ndarray, V: np.ndarray, W: np.ndarray, kappa: float, sigma: float, mass: float
) -> np.ndarray:
    """aggregation_map without the checks: the solvers' inner loop."""
    a = -(kappa * grid._convolve(W, u) + V) / sigma
    a = a - np.max(a, axis=-1, keepdims=True)
    e = np.exp(a)
    return mass * e / grid._integrate(e)[..., None]


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
    exponent: float = 1.0,
) -> np.ndarray:
    """A steady state of u_t = (sigma u_x + kappa u (W*u)_x + u V_x)_x with mass M: shape (n,).

    V: values on grid.x or a callable of x; W: values at grid.lags or a callable of the signed lag.
    exponent m: 1 for linear diffusion (above); m > 1 for porous-medium diffusion
    u_t = (u (sigma m/(m-1) u^(m-1) + kappa W*u + V)_x)_x, whose states may be compactly supported
    (see pinnbilo.steady.porous; Picard only).
    method "picard": u <- (1 - damping) u + damping T(u) (finds stable states);
    "newton": damped Newton in log u with the exact Jacobian from u0 (finds unstable ones too;
    at most min(maxiter, 200) iterations; see pinnbilo.steady.newton).
    Raises SolverFailed when ||T(u) - u|| / ||u|| does not fall below tol.
    """
    require_grid(grid, PeriodicGrid)
    V = grid_function(grid, V, "V", grid.x)
    W = grid_function(grid, W, "W", grid.lags)
    kappa = check.real(kappa, "kappa")
    sigma, mass = check.real(sigma, "sigma", positive=True), check.real(mass, "mass", positive=True)
    method = check.choice(method, "method", ("picard", "newton"))
    damping = check.real(damping, "damping", positive=True, high=1.0)
    tol = check.real(tol, "tol", positive=True)
    maxiter = check.integer(maxiter, "maxiter", minimum=1, maximum=MAX_ITERATIONS)
    exponent = check.real(exponent, "exponent", high=MAX_EXPONENT)
    if exponent < 1:
        raise InputError(f"exponent must be 1 (linear diffusion) or above (porous medium), got {exponent:g}")
    if exponent != 1 and method == "newton":
        raise InputError(
            "method='newton' is for linear diffusion (exponent 1); use method='picard' for the porous medium"
        )
    u = _initial(grid, u0, mass)

    def residual(v: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):  # a non-finite map is reported with its cause below
            if exponent != 1:
                from .porous import porous_map

                return porous_map(grid, v, V, W, kappa, sigma, mass, exponent) - v
            return _aggregation_map(grid, v, V, W, kappa, sigma, mass) - v

    iterations = maxiter
    if method == "picard":
        for k in range(maxiter):
            r = residual(u)
            if not np.all(np.isfinite(r)):
                raise SolverFailed(
                    f"picard: the fixed-point map became non-finite at iteration {k}: (kappa W*u + V) / sigma "
                    "overflows float64; use smaller V, W, kappa or a larger sigma"
                )
            if np.linalg.norm(r) <= tol * np.linalg.norm(u):
                return u
            u = u + damping * r
    elif method == "newton":
        from .newton import LogFixedPoint, newton

        iterations = min(maxiter, 200)
        with np.errstate(all="ignore"):
            u, rel, taken, why = newton(LogFixedPoint(grid, V, W, kappa, sigma, mass), u, tol, iterations)
        if not rel <= tol:
            raise SolverFailed(
                f"Newton did not converge in {taken} iterations: {why}, relative fixed-point residual {rel:.3e} "
                f"(tol {tol:g}); try another u0 or method='picard'"
            )
    rel = _relative_residual(residual, u)
    if not rel <= 10 * tol:
        raise SolverFailed(
            f"{method}: relative fixed-point residual {rel:.3e} after {iterations} iterations (tol {tol:g}); "
            "try method='newton', another u0, or a smaller damping"
        )
    return u


def _relative_residual(residual: Callable[[np.ndarray], np.ndarray], u: np.ndarray) -> float:
    """||T(u) - u|| / ||u||; NaN when u or T(u) is not finite."""
    with np.errstate(all="ignore"):
        return float(np.linalg.norm(residual(u)) / np.linalg.norm(u))


def _why(e: Exception, residual: Callable[[np.ndarray], np.ndarray]) -> str:
    """Why scipy's solver stopped, short: scipy's NoConvergence carries the whole iterate (n values),
    so the message gives its relative residual instead; other messages are cut to their first line."""
    arg = e.args[0] if e.args else None
    if isinstance(e, NoConvergence) and isinstance(arg, np.ndarray) and arg.ndim == 1 and arg.size:
        try:
            rel = _relative_residual(residual, np.asarray(arg, dtype=float))
        except Exception:  # a user's function failing again must not hide the solver failure
            return "stopped without reaching the tolerance"
        return f"stopped at relative fixed-point residual {rel:.3e}"
    try:
        text = str(e).split("\n")[0]
    except Exception:
        text = type(e).__name__
    if text.lstrip().startswith("["):  # an iterate printed as an array: its values say nothing useful
        return "stopped without reaching the tolerance"
    return text if len(text) <= 200 else text[:197] + "..."


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
    require_grid(grid, PeriodicGrid)
    V = grid_function(grid, V, "V", grid.x)
    W = grid_function(grid, W, "W", grid.lags)
    sigma, dt = check.real(sigma, "sigma", positive=True), check.real(dt, "dt", positive=True)
    t_end = check.real(t_end, "t_end", positive=True)
    kappa = check.real(kappa, "kappa")
    tol = check.real(tol, "tol", nonnegative=True)
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
    for step in range(int(np.ceil(t_end / dt))):
        phi = kappa * grid._convolve(W, u) + V
        d = (phi[right] - phi) / sigma  # delta at i + 1/2
        bp, bm = _bernoulli(d), _bernoulli(-d)
        # J_{i+1/2} = (sigma/h) (B(d) u_i - B(-d) u_{i+1}); u_new + dt/h (J_{i+1/2} - J_{i-1/2}) = u.
        diag = 1 + c * (bp + np.roll(bm, 1))
        rows = np.concatenate([idx, idx, idx])
        cols = np.concatenate([idx, right, (idx - 1) % n])
        vals = np.concatenate([diag, -c * bm, -c * np.roll(bp, 1)])
        A = sp.csc_matrix((vals, (rows, cols)), shape=(n, n))
        new = spsolve(A, u)
        if not np.all(np.isfinite(new)):
            raise InputError(
                f"evolve: the density became non-finite at step {step}: the potential kappa W*u + V "
                f"(max |.| {np.max(np.abs(phi)):.3g}) varies too fast against sigma = {sigma:g} for float64"
            )
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
    require_grid(grid, PeriodicGrid)
    u = grid.check_values(u, "u")
    size = check.real(size, "size", positive=True, high=0.5)
    rng = np.random.default_rng(check.seed(seed))
    p = rng.standard_normal(grid.n)
    p -= p.mean()
    if np.any(u <= 0):
        raise InputError("u must be a positive density")
    u0 = u * (1 + size * p / np.max(np.abs(p)))
    u0 *= grid._integrate(u) / grid._integrate(u0)  # same mass: otherwise it relaxes to another state
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
    require_grid(grid, PeriodicGrid)
    sig, ms, starts = _per_state_arguments({"sigma": sigma, "mass": mass}, u0)
    u = np.stack(
        [steady_state(grid, V, W, kappa, sig[s], ms[s], u0=starts[s], method=method, **solver) for s in range(len(sig))]
    )
    return PeriodicStates(grid, u, sig, ms)


# -------------------------------------------------------------------------------------------------
# Semilinear two-point problems -D u'' = g(x, u), Dirichlet data.


def _per_state_arguments(values: Dict[str, object], u0: object) -> Tuple[np.ndarray, np.ndarray, list]:
    """Two per-state arguments (scalars or one value per state) and the initial states (a list of
    arrays or None, or None), broadcast to one number of states S: ((S,), (S,), [S])."""
    if u0 is None:
        starts: Optional[list] = None
    elif isinstance(u0, np.ndarray) and u0.ndim == 2:
        starts = list(u0)
    elif isinstance(u0, (list, tuple)):
        starts = list(u0)
    else:
        raise InputError(
            f"u0 must be a list of initial states (arrays or None), one per state; got {type(u0).__name__}"
        )
    arrays = {name: np.atleast_1d(_checks.values(v, name)) for name, v in values.items()}
    for name, a in arrays.items():
        if a.ndim != 1:
            raise InputError(f"{name}: give a number or a flat list of one value per state, got shape {a.shape}")
        if a.size == 0:
            raise InputError(f"{name} is empty; give a number or one value per state")
    S = max([a.size for a in arrays.values()] + [0 if starts is None else len(starts)])
    first, second = (per_state(a, S, name) for name, a in arrays.items())
    starts = [None] * S if starts is None else starts
    if len(starts) != S:
        raise InputError(f"u0: expected {S} initial states (one per state), got {len(starts)}")
    return first, second, starts


def _laplacian_banded(grid: IntervalGrid, diffusion: float) -> np.ndarray:
    c = diffusion / grid.h**2
    ab = np.empty((3, grid.n))
    ab[0], ab[1], ab[2] = -c, 2 * c, -c
    return ab


def semilinear_map(
    grid: IntervalGrid, u: np.ndarray, g: GFunction, diffusion: float, left: float, right: float
) -> np.ndarray:
    """The fixed-point map T(u) = (-D Delta_h)^{-1} (g(x, u) + boundary terms): shape (n,).

    u: (n,) values at the interior points grid.x; g: a function g(x, u) of two (n,) arrays
    returning (n,) values (or a scalar); diffusion D > 0; left, right: the Dirichlet values.
    """
    require_grid(grid, IntervalGrid)
    u = grid.check_values(u, "u")
    if not callable(g):
        raise InputError(f"g must be a function g(x, u) of two arrays, got {check._show(g)} ({type(g).__name__})")
    diffusion = check.real(diffusion, "diffusion D", positive=True)
    left, right = check.real(left, "left"), check.real(right, "right")
    with np.errstate(all="ignore"):
        out = _semilinear_map(grid, u, g, diffusion, left, right)
    return _checks.finite_result(
        out, "semilinear_map(...)", "g(x, u) and the boundary values over D h^2 overflow float64"
    )


def _semilinear_map(
    grid: IntervalGrid, u: np.ndarray, g: GFunction, diffusion: float, left: float, right: float
) -> np.ndarray:
    """semilinear_map without the argument checks (g's answer is still checked: it is the user's)."""
    answer = _checks.values(call_user(g, "g", grid.x, u), "g(x, u)")
    rhs = np.full(u.shape, answer.ravel()[0]) if answer.size == 1 else grid.check_values(answer, "g(x, u)")
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
    require_grid(grid, IntervalGrid)
    if not callable(g):
        raise InputError(f"g must be a function g(x, u) of two arrays, got {check._show(g)} ({type(g).__name__})")
    diffusion = check.real(diffusion, "diffusion D", positive=True)
    left, right = check.real(left, "left"), check.real(right, "right")
    tol = check.real(tol, "tol", positive=True)
    maxiter = check.integer(maxiter, "maxiter", minimum=1, maximum=MAX_ITERATIONS)
    if u0 is None:
        u = left + (right - left) * (grid.x - grid.a) / (grid.b - grid.a)
    else:
        u = grid.check_values(u0, "u0").copy()

    def residual(v: np.ndarray) -> np.ndarray:
        return _semilinear_map(grid, v, g, diffusion, left, right) - v

    try:
        u = np.asarray(newton_krylov(residual, u, f_tol=tol * max(1.0, np.max(np.abs(u))), maxiter=maxiter))
    except InputError:
        raise  # the user's g answered badly: not a solver failure
    except (NoConvergence, ValueError) as e:
        raise SolverFailed(f"Newton-Krylov did not converge for -D u'' = g(x, u): {_why(e, residual)}") from None
    return _checks.finite_result(u, "semilinear_state", "the Newton iterate overflowed; g(x, u) grows too fast")


def semilinear_states(
    grid: IntervalGrid,
    g: GFunction,
    diffusion: float = 1.0,
    left: Union[float, Sequence[float]] = 0.0,
    right: Union[float, Sequence[float]] = 0.0,
    u0: Optional[Sequence[Optional[np.ndarray]]] = None,
) -> DirichletStates:
    """One steady state per entry of the broadcast (left, right, u0): DirichletStates."""
    require_grid(grid, IntervalGrid)
    lv, rv, starts = _per_state_arguments({"left": left, "right": right}, u0)
    u = np.stack([semilinear_state(grid, g, diffusion, lv[s], rv[s], starts[s]) for s in range(len(lv))])
    return DirichletStates(grid, u, lv, rv)
