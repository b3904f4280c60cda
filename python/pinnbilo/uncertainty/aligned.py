"""The exact posterior by quadrature on a grid aligned with the posterior's principal axes.

A strongly correlated posterior (Fisher-KPP's D and rho: correlation 0.998) is a thin ridge
across an axis-aligned box: most of the box's points (each one a solution of the problem) fall
where the density is negligible, and the ridge's cross-section is met by a point or two per row.
Aligned with the eigenvectors of a Gaussian approximation (a Laplace posterior, say) the ridge
fills the grid, so every point carries mass and each axis is resolved on its own scale:
theta(s) = mean + V diag(sqrt(lambda)) s with s on a regular grid of ``width`` standard
deviations per principal axis. The map is linear, so the quadrature weights
are the trapezoid weights in s (the Jacobian is a constant and cancels in the normalisation).
The Gaussian approximation only places the grid: the density on it is the exact posterior.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from .._validation import _show, array
from ..errors import InputError
from ..problem import Problem
from . import priors as priors_mod
from ._observations import SolutionFn, as_list
from .posterior import Intervals, Posterior, require_level, summary_frame
from .reference import MAX_GRID, _trapezoid, log_likelihood


@dataclass
class AlignedGridPosterior:
    """A posterior tabulated on a grid along principal axes.

    names : the parameters, in the order of the columns of ``points`` and of ``cov``.
    points : (G, d) parameter values of the grid; mass : (G,) posterior probability of each
        point's cell (sums to 1).
    mean, std : {name: value}; cov : (d, d); corr : (d, d); map : {name: value} of the point of
        highest density. axes : (d, d) the principal directions (columns), scaled to one standard
        deviation of the Gaussian that placed the grid.
    notes : what the numbers depend on (cut-off mass at the edge of the grid, priors, sigma).
    """

    names: List[str]
    points: np.ndarray
    mass: np.ndarray
    mean: Dict[str, float]
    std: Dict[str, float]
    cov: np.ndarray
    map: Dict[str, float]
    axes: np.ndarray
    sigma_estimated: bool
    notes: List[str] = field(default_factory=list)

    @property
    def corr(self) -> np.ndarray:
        d = np.sqrt(np.maximum(np.diag(self.cov), 1e-300))
        return np.asarray(self.cov / np.outer(d, d))

    def interval(self, level: float = 0.95) -> Intervals:
        """{name: (low, high)}: the equal-tailed interval of probability ``level`` of each
        marginal (weighted quantiles of the grid's points; accurate to about a grid spacing)."""
        lv = require_level(level)
        out: Intervals = {}
        for j, n in enumerate(self.names):
            order = np.argsort(self.points[:, j])
            x, cdf = self.points[order, j], np.cumsum(self.mass[order])
            cdf = (cdf - 0.5 * self.mass[order]) / cdf[-1]  # mid-cell cumulative mass
            out[n] = (float(np.interp((1 - lv) / 2, cdf, x)), float(np.interp((1 + lv) / 2, cdf, x)))
        return out

    @property
    def intervals95(self) -> Intervals:
        return self.interval(0.95)

    def to_frame(self, level: float = 0.95) -> Any:
        """A pandas DataFrame, one row per parameter: mean, std, interval of ``level``, grid MAP."""
        return summary_frame(self.names, self.mean, self.std, self.interval(level), level, ("map", self.map))


Around = Union[Posterior, Tuple[Mapping[str, float], Any]]


def _gaussian(problem: Problem, around: object) -> Tuple[List[str], np.ndarray, np.ndarray]:
    """(names, mean (d,), cov (d, d)) of the Gaussian that places the grid."""
    if isinstance(around, Posterior):
        names, mean_map, cov_in = list(around.names), around.mean, around.cov
    elif isinstance(around, tuple) and len(around) == 2 and isinstance(around[0], Mapping):
        mean_map, cov_in = around
        names = list(mean_map)
    else:
        raise InputError(
            "around must be a Posterior (e.g. laplace(model)) or a pair ({name: mean}, covariance), "
            f"got {_show(around)}"
        )
    known = [p.name for p in problem.params]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InputError(f"around names parameters the problem does not have: {unknown}; it has {known}")
    if len(names) != len(known):
        raise InputError(f"around must cover every parameter of the problem ({known}), got {names}")
    d = len(names)
    mean = array([mean_map[n] for n in names], "around's mean", shape=(d,))
    cov = array(cov_in, "around's covariance", shape=(d, d))
    if not np.allclose(cov, cov.T, rtol=1e-8, atol=0.0):
        raise InputError("around's covariance must be symmetric")
    return names, mean, 0.5 * (cov + cov.T)


def aligned_grid_posterior(
    problem: Problem,
    data: object,
    around: Around,
    priors: Optional[Mapping[str, object]] = None,
    sigma: object = None,
    n: Union[int, Sequence[int]] = 41,
    width: float = 6.0,
    solution: Optional[SolutionFn] = None,
) -> AlignedGridPosterior:
    """The exact posterior of the problem's parameters by quadrature on a grid along the
    principal axes of a Gaussian approximation ``around`` (a :class:`Posterior` such as
    ``laplace(model)``, or ``({name: mean}, cov)``).

    data, priors, sigma, solution : as in :func:`grid_posterior`.
    n : grid points per principal axis (one number, or one per axis from the longest axis to the
        shortest); at most 10^6 points in all.
    width : the grid spans +- ``width`` standard deviations of the Gaussian on every axis; a note
        says when more than 1e-3 of the posterior's mass lies on the grid's outer cells (widen it).
    """
    if not isinstance(problem, Problem):
        raise InputError(f"problem must be a pinnbilo Problem, got {_show(problem)}")
    names, mean, cov = _gaussian(problem, around)
    d = len(names)
    counts = [int(n)] * d if isinstance(n, (int, np.integer)) else [int(c) for c in n]
    if len(counts) != d or min(counts) < 3:
        raise InputError(f"n must be one count (>= 3) or one per parameter ({d}), got {n!r}")
    if not (isinstance(width, (int, float)) and math.isfinite(width) and width > 0):
        raise InputError(f"width must be a positive number of standard deviations, got {width!r}")
    total = int(np.prod(counts))
    if total > MAX_GRID:
        raise InputError(f"the grid has {total} points, more than {MAX_GRID}: lower n")
    lam, vec = np.linalg.eigh(cov)
    if not np.all(lam > 0):
        raise InputError("around's covariance must be positive definite (every eigenvalue above 0)")
    order = np.argsort(lam)[::-1]  # longest axis first, as n is given
    scaled = vec[:, order] * np.sqrt(lam[order])[None, :]
    s_axes = [np.linspace(-width, width, c) for c in counts]
    mesh = np.meshgrid(*s_axes, indexing="ij")
    s = np.stack([g.ravel() for g in mesh], axis=1)
    points = mean[None, :] + s @ scaled.T
    cell = _trapezoid(s_axes[0])
    for ax in s_axes[1:]:
        cell = np.multiply.outer(cell, _trapezoid(ax))
    cell = cell.ravel()
    prior_map = priors_mod.resolve(problem.params, priors)
    logp = np.zeros(total)
    for j, name in enumerate(names):
        logp = logp + np.asarray(prior_map[name].logpdf(points[:, j]), dtype=np.float64)
    inside = np.isfinite(logp)
    if not np.any(inside):
        raise InputError("the posterior is zero at every grid point: the grid lies outside the priors' support")
    observations = as_list(data)
    loglik = np.full(total, -np.inf)
    ll, estimated, notes = log_likelihood(problem, observations, sigma, names, points[inside], solution, total)
    loglik[inside] = ll
    logpost = loglik + logp
    with np.errstate(under="ignore", invalid="ignore"):
        dens = np.where(inside, np.exp(logpost - np.max(logpost[inside])), 0.0)
    mass = dens * cell
    mass = mass / np.sum(mass)
    m = mass @ points
    dev = points - m[None, :]
    cov_post = (dev * mass[:, None]).T @ dev
    edge = np.zeros(total, dtype=bool)
    for j in range(d):
        edge |= np.isclose(np.abs(s[:, j]), width)
    if float(np.sum(mass[edge])) > 1e-3:
        notes.append(f"{float(np.sum(mass[edge])):.1e} of the mass lies on the grid's outer cells: widen it")
    if not np.all(inside):
        notes.append(f"{int(np.sum(~inside))} grid points lie outside the priors' support (density 0 there)")
    for name in names:
        if name not in (priors or {}):
            kind = "improper flat" if not prior_map[name].proper else "Uniform"
            notes.append(f"no prior given for '{name}': {kind} prior on {prior_map[name].support}")
    best = int(np.argmax(np.where(inside, logpost, -np.inf)))
    return AlignedGridPosterior(
        names=names,
        points=points,
        mass=mass,
        mean={k: float(v) for k, v in zip(names, m)},
        std={k: float(math.sqrt(max(cov_post[j, j], 0.0))) for j, k in enumerate(names)},
        cov=cov_post,
        map={k: float(points[best, j]) for j, k in enumerate(names)},
        axes=scaled,
        sigma_estimated=estimated,
        notes=notes,
    )
