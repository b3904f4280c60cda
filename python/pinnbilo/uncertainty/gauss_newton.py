"""The Gauss-Newton/Laplace step shared by every forward model: the negative log-posterior

    Phi(theta) = 1/2 sum_i ((u_i(theta) - y_i) / sigma_i)^2 - sum_j log p_j(theta_j),

its Gauss-Newton Hessian H = J^T S^-1 J - diag(d^2 log p_j), and a damped Gauss-Newton
(Levenberg-Marquardt) search for its minimum, the MAP.

A forward model gives, at theta, the predicted data rows u (m,) and their Jacobian J (m, p)
(``at``), and a cheaper prediction near the last ``at`` point for the line search (``value``;
BiLO's local operator without retraining).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import List, Optional, Protocol, Sequence, Tuple

import numpy as np

from ..errors import InputError
from .priors import Prior


class Forward(Protocol):
    names: List[str]

    def at(self, theta: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Predicted rows (m,) and Jacobian (m, p) at theta, the model recentred there."""
        ...

    def value(self, theta: np.ndarray) -> np.ndarray:
        """Predicted rows (m,) at theta near the last ``at`` point."""
        ...


@dataclass
class Mode:
    """Where the search ended: theta (p,), predictions (m,), Jacobian (m, p), Hessian (p, p),
    Gauss-Newton steps taken, and whether the last step was below the tolerance."""

    theta: np.ndarray
    pred: np.ndarray
    jac: np.ndarray
    hessian: np.ndarray
    steps: int
    converged: bool
    path: List[np.ndarray] = field(default_factory=list)


def objective(pred: np.ndarray, y: np.ndarray, sigma: np.ndarray, priors: Sequence[Prior], theta: np.ndarray) -> float:
    """Phi(theta): half the weighted squared misfit minus the log prior (+inf outside a support)."""
    lp = sum(float(pr.logpdf(float(t))) for pr, t in zip(priors, theta))
    if not math.isfinite(lp):
        return math.inf
    return 0.5 * float(np.sum(((pred - y) / sigma) ** 2)) - lp


def hessian(jac: np.ndarray, sigma: np.ndarray, priors: Sequence[Prior], theta: np.ndarray) -> np.ndarray:
    """H = J^T S^-1 J - diag(d^2 log p_j / d theta_j^2): (p, p)."""
    jw = jac / sigma[:, None]
    h = jw.T @ jw
    h -= np.diag([float(pr.hess(float(t))) for pr, t in zip(priors, theta)])
    return np.asarray(h)


def gradient(
    pred: np.ndarray, jac: np.ndarray, y: np.ndarray, sigma: np.ndarray, priors: Sequence[Prior], theta: np.ndarray
) -> np.ndarray:
    """d Phi / d theta in the Gauss-Newton model: J^T S^-1 (u - y) - d log p / d theta: (p,)."""
    g = jac.T @ ((pred - y) / sigma**2)
    return np.asarray(g - np.array([float(pr.grad(float(t))) for pr, t in zip(priors, theta)]))


def covariance(h: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """H^-1 for a positive definite H; an InputError naming the directions H does not constrain."""
    evals, evecs = np.linalg.eigh(0.5 * (h + h.T))
    top = float(np.max(np.abs(evals))) if evals.size else 0.0
    if not np.all(np.isfinite(evals)) or evals.min() <= 1e-12 * max(top, 1e-300):
        weak = evecs[:, int(np.argmin(evals))]
        who = [n for n, c in zip(names, weak) if abs(c) > 0.3]
        raise InputError(
            "the posterior is not identifiable: the data and priors give no curvature along "
            f"{', '.join(who) or ', '.join(names)} (smallest Hessian eigenvalue {evals.min():.3g}); "
            "give an informative prior for them or more data"
        )
    return np.asarray((evecs / evals) @ evecs.T)


def _inside(priors: Sequence[Prior], theta: np.ndarray) -> bool:
    return all(pr.contains(float(t)) for pr, t in zip(priors, theta))


def find_mode(
    forward: Forward,
    theta0: np.ndarray,
    y: np.ndarray,
    sigma: np.ndarray,
    priors: Sequence[Prior],
    refine: bool,
    max_steps: int = 10,
    xtol: float = 1e-3,
) -> Mode:
    """The Laplace centre: theta0 itself (refine False) or the MAP found by damped Gauss-Newton
    steps from theta0, stopping when every component of a step is below ``xtol`` posterior
    standard deviations (or after ``max_steps`` steps)."""
    theta = np.array(theta0, dtype=np.float64)
    pred, jac = forward.at(theta)
    h = hessian(jac, sigma, priors, theta)
    path = [theta.copy()]
    if not refine:
        return Mode(theta, pred, jac, h, 0, True, path)
    phi = objective(pred, y, sigma, priors, theta)
    lam, steps, converged = 1e-3, 0, False
    for _ in range(max_steps):
        g = gradient(pred, jac, y, sigma, priors, theta)
        scale = np.maximum(np.abs(np.diag(h)), 1e-12 * max(float(np.max(np.abs(np.diag(h)))), 1e-300))
        accepted: Optional[np.ndarray] = None
        for _try in range(30):
            try:
                delta = np.linalg.solve(h + lam * np.diag(scale), -g)
            except np.linalg.LinAlgError:
                lam *= 10.0
                continue
            for _half in range(60):  # keep the trial inside every prior's support (a bound of Uniform)
                if _inside(priors, theta + delta):
                    break
                delta = delta / 2
            trial = theta + delta
            if objective(forward.value(trial), y, sigma, priors, trial) <= phi:
                accepted = delta
                lam = max(lam / 10.0, 1e-9)
                break
            lam *= 10.0
        if accepted is None:
            converged = True  # no descent direction left at this resolution: theta is the mode
            break
        theta = theta + accepted
        steps += 1
        path.append(theta.copy())
        pred, jac = forward.at(theta)
        h = hessian(jac, sigma, priors, theta)
        phi = objective(pred, y, sigma, priors, theta)
        try:
            std = np.sqrt(np.abs(np.diag(np.linalg.inv(h))))
        except np.linalg.LinAlgError:
            std = np.full(theta.shape, np.inf)
        if np.all(np.abs(accepted) <= xtol * std):
            converged = True
            break
    return Mode(theta, pred, jac, h, steps, converged, path)
