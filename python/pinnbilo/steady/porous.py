"""Porous-medium (nonlinear) diffusion: u_t = (u (H'(u) + kappa W*u + V)_x)_x with
H'(u) = sigma m/(m-1) u^(m-1), m > 1 (after Carrillo, Salmaniw, Leon Villares, arXiv 2602.05632).

Steady states satisfy H'(u) + Phi = C on the support of u, Phi = kappa W*u + V, so they are the
fixed points of

    T(u)_i = (a (C - Phi_i))_+^q,   a = (m-1) / (sigma m),   q = 1/(m-1),

with the constant C fixed by the mass, h sum_i T(u)_i = M (a monotone equation in C, solved by
bracketing). States may be compactly supported (T is 0 where Phi >= C). The linear-diffusion
family is the limit m -> 1 (T = M exp(-Phi/sigma) / integral).

The derivative: with g_i = (a (C - Phi_i))_+^q and g'_i = q a (a (C - Phi_i))_+^(q-1) (0 off the
support), the mass constraint gives dC = sum_i g'_i dPhi_i / sum_i g'_i, so
dT_i = g'_i (dC - dPhi_i).
"""

from __future__ import annotations

from typing import Tuple

import numpy as np
from scipy.optimize import brentq  # type: ignore[import-untyped]  # no scipy stubs

from .grids import PeriodicGrid


def level(grid: PeriodicGrid, phi: np.ndarray, sigma: float, mass: float, m: float) -> float:
    """The constant C with h sum_i (a (C - phi_i))_+^q = mass."""
    a, q = (m - 1) / (sigma * m), 1.0 / (m - 1)
    lo = float(np.min(phi))
    hi = float(np.max(phi)) + (mass / grid.length) ** (m - 1) / a  # there T >= M / L everywhere

    def excess(c: float) -> float:
        return float(grid.h * np.sum(np.maximum(a * (c - phi), 0.0) ** q) - mass)

    with np.errstate(all="ignore"):
        below, above = excess(lo), excess(hi)
    if not (np.isfinite(below) and np.isfinite(above) and below <= 0 <= above):
        from .generate import SolverFailed

        raise SolverFailed(
            "porous medium: the level C fixed by the mass cannot be bracketed (sigma, the mass or Phi overflow "
            "float64); use moderate values"
        )
    return float(brentq(excess, lo, hi, xtol=1e-15 * max(1.0, abs(hi)), rtol=4 * np.finfo(float).eps, maxiter=500))


def porous_map(
    grid: PeriodicGrid, u: np.ndarray, V: np.ndarray, W: np.ndarray, kappa: float, sigma: float, mass: float, m: float
) -> np.ndarray:
    """T(u) for one state u (n,)."""
    phi = kappa * grid._convolve(W, u) + V
    c = level(grid, phi, sigma, mass, m)
    return np.maximum((m - 1) / (sigma * m) * (c - phi), 0.0) ** (1.0 / (m - 1))


def map_and_slopes(
    grid: PeriodicGrid, phi: np.ndarray, sigma: float, mass: float, m: float
) -> Tuple[np.ndarray, np.ndarray]:
    """(T, dT/dPhi) for one state from Phi (n,): T (n,) and the (n, n) Jacobian diag(g')(1 w^T - I)."""
    a, q = (m - 1) / (sigma * m), 1.0 / (m - 1)
    c = level(grid, phi, sigma, mass, m)
    base = np.maximum(a * (c - phi), 0.0)
    T = base**q
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(base > 0, q * a * base ** (q - 1), 0.0)
    total = slope.sum()
    w = slope / total if total > 0 else slope
    return T, slope[:, None] * (w[None, :] - np.eye(phi.size))
