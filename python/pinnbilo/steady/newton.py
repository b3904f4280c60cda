"""Newton's method for steady states of aggregation-diffusion, in log variables, with the exact
Jacobian.

Peaked states span orders of magnitude (u from 0.05 to 20 at mass 3), so Newton on T(u) - u = 0
with finite-difference Jacobian-vector products (scipy's newton_krylov) stalls. In psi = log u the
fixed-point equation reads

    F(psi) = log M - a - log(h sum_j exp(-a_j)) - psi = 0,   a = (kappa W*u + V) / sigma,  u = exp(psi),

whose Jacobian-vector product is exact and costs one convolution:

    J dpsi = -da + (p . da) - dpsi,   da = kappa/sigma W*(u dpsi),   p = softmax(-a).

Mass is kept by construction and positivity by the variables. Steps are damped by halving until
||F|| decreases. Where that stalls (||F|| has a local minimum with J singular: near a fold, the
uniform start of a peaked state) the solve goes on by pseudo-transient continuation: steps
(I/dt - J) dpsi = F, i.e. implicit Euler on psi' = F, whose stable equilibria are the stable steady
states, with dt grown as ||F|| falls (switched evolution relaxation) until the steps are Newton's.
Small grids solve J dense; large ones by GMRES on the matrix-free product.
"""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from .grids import PeriodicGrid

DENSE_UP_TO = 1024  # grid points; above, GMRES on the matrix-free Jacobian
GMRES_RTOL = 1e-10  # relative residual of each Newton step's linear solve


class LogFixedPoint:
    """F(psi) and its Jacobian for one (V, W, kappa, sigma, mass) on ``grid``.

    dense: how the linear solves of :func:`newton` are done; None (default) dense up to
    DENSE_UP_TO points, GMRES on the matrix-free product above; True or False forces one.
    """

    def __init__(
        self,
        grid: PeriodicGrid,
        V: np.ndarray,
        W: np.ndarray,
        kappa: float,
        sigma: float,
        mass: float,
        dense: Optional[bool] = None,
    ) -> None:
        self.grid, self.V, self.W = grid, V, W
        self.kappa, self.sigma, self.mass = kappa, sigma, mass
        self.dense = dense

    def _a(self, u: np.ndarray) -> np.ndarray:
        return (self.kappa * self.grid._convolve(self.W, u) + self.V) / self.sigma

    def residual(self, psi: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """(F(psi), p = softmax(-a))."""
        a = self._a(np.exp(psi))
        m = np.min(a)
        e = np.exp(-(a - m))
        s = self.grid.h * np.sum(e)
        F = np.log(self.mass) - a - (np.log(s) - m) - psi
        return F, e / np.sum(e)

    def jvp(self, psi: np.ndarray, p: np.ndarray, dpsi: np.ndarray) -> np.ndarray:
        """J(psi) dpsi (p from residual(psi))."""
        da = (self.kappa / self.sigma) * self.grid._convolve(self.W, np.exp(psi) * dpsi)
        return -da + (p @ da) - dpsi

    def jacobian(self, psi: np.ndarray, p: np.ndarray) -> np.ndarray:
        """The dense (n, n) Jacobian."""
        n, h = self.grid.n, self.grid.h
        idx = (np.arange(n)[:, None] - np.arange(n)[None, :]) % n
        C = (self.kappa * h / self.sigma) * self.W[idx]  # da = C du
        dA = C * np.exp(psi)[None, :]
        return -dA + p[None, :] @ dA - np.eye(n)


def _solve(problem: LogFixedPoint, psi: np.ndarray, p: np.ndarray, rhs: np.ndarray, shift: float) -> np.ndarray:
    """(shift I - J) x = rhs."""
    n = problem.grid.n
    if (n <= DENSE_UP_TO) if problem.dense is None else problem.dense:
        return np.linalg.solve(shift * np.eye(n) - problem.jacobian(psi, p), rhs)
    from scipy.sparse.linalg import LinearOperator, gmres  # type: ignore[import-untyped]  # no stubs

    A = LinearOperator((n, n), matvec=lambda v: shift * v - problem.jvp(psi, p, v), dtype=float)
    # 1e-10, not tighter: near a singular J (a translation-invariant state) GMRES can stagnate a
    # little above 1e-12 and would then spend every iteration; the outer loop checks the residual
    x, _ = gmres(A, rhs, rtol=GMRES_RTOL, restart=min(n, 200), maxiter=20)
    return np.asarray(x)


def _relative(psi: np.ndarray, F: np.ndarray) -> float:
    u = np.exp(psi)
    return float(np.linalg.norm(np.exp(psi + F) - u) / np.linalg.norm(u))


def newton(problem: LogFixedPoint, u0: np.ndarray, tol: float, maxiter: int) -> Tuple[np.ndarray, float, int, str]:
    """Damped Newton from u0 > 0 until ||T(u) - u|| <= tol ||u||, then pseudo-transient
    continuation if Newton stalls. Returns (u, relative residual, iterations, why it stopped)."""
    psi0 = np.log(u0)
    u, rel, it, why = _damped_newton(problem, psi0, tol, maxiter)
    if rel <= tol or why != STALLED:
        return u, rel, it, why
    u2, rel2, it2, why2 = _pseudo_transient(problem, psi0, tol, maxiter)
    return u2, rel2, it + it2, why2 if rel2 <= tol else f"{why}; pseudo-transient continuation: {why2}"


STALLED = "no damped Newton step decreases the residual"


def _pseudo_transient(
    problem: LogFixedPoint, psi: np.ndarray, tol: float, maxiter: int
) -> Tuple[np.ndarray, float, int, str]:
    F, p = problem.residual(psi)
    dt = 1.0
    norm = float(np.linalg.norm(F))
    for it in range(maxiter * 5 + 1):
        rel = _relative(psi, F)
        if not np.isfinite(rel):
            return np.exp(psi), rel, it, "the iterate overflowed"
        if rel <= tol:
            return np.exp(psi), rel, it, "converged"
        step = _solve(problem, psi, p, F, 1.0 / dt)
        trial = psi + step
        with np.errstate(all="ignore"):
            F_trial, p_trial = problem.residual(trial)
        new = float(np.linalg.norm(F_trial))
        if not np.isfinite(new):
            dt /= 4  # too long a step: shorter, from the same point
            continue
        psi, F, p = trial, F_trial, p_trial
        dt = min(dt * norm / max(new, 1e-300), 1e12)
        norm = new
    return np.exp(psi), _relative(psi, F), maxiter * 5, f"stopped after {maxiter * 5} steps"


def _damped_newton(
    problem: LogFixedPoint, psi: np.ndarray, tol: float, maxiter: int
) -> Tuple[np.ndarray, float, int, str]:
    F, p = problem.residual(psi)
    for it in range(maxiter + 1):
        u = np.exp(psi)
        rel = float(np.linalg.norm(np.exp(psi + F) - u) / np.linalg.norm(u))
        if not np.isfinite(rel):
            return u, rel, it, "the iterate overflowed"
        if rel <= tol:
            return u, rel, it, "converged"
        if it == maxiter:
            break
        step = _solve(problem, psi, p, F, 0.0)
        f0 = float(F @ F)
        t = 1.0
        while t >= 2.0**-30:
            trial = psi + t * step
            with np.errstate(all="ignore"):
                F_trial, p_trial = problem.residual(trial)
            f = float(F_trial @ F_trial)
            if np.isfinite(f) and f < (1 - 1e-4 * t) * f0:
                break
            t /= 2
        else:
            return np.exp(psi), rel, it, STALLED
        psi, F, p = trial, F_trial, p_trial
    return np.exp(psi), rel, maxiter, f"stopped at maxiter = {maxiter}"
