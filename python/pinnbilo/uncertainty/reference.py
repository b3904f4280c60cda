"""The exact posterior of up to three scalar parameters by quadrature on a grid, from the
problem's exact (or reference) solution: the reference that Laplace and sampling are checked
against.

On the grid theta_g the unnormalised log-posterior is log L(theta_g) + sum_j log p_j(theta_gj):
with known sigma, log L = -1/2 sum_i ((u_i(theta_g) - y_i) / sigma_i)^2; with sigma unknown, one
common sigma is integrated out under the Jeffreys prior p(sigma) ~ 1/sigma, which gives
log L = -(m/2) log RSS(theta_g). The density is normalised by the trapezoid rule on the grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np

from .._validation import _show, array, size_request
from ..errors import InputError
from ..problem import Data, Problem
from . import noise
from . import priors as priors_mod
from ._observations import SolutionFn, as_list, field_data_only, predict, values
from .forwards import exact_solution
from .posterior import Intervals, require_level, summary_frame

MAX_DIMS = 3
MAX_GRID = 1_000_000  # grid points (solution evaluations)
MAX_VALUES = 50_000_000  # grid points times data rows held at once
CHUNK = 1_000_000  # values per vectorised solution call


@dataclass
class GridPosterior:
    """A posterior tabulated on a grid.

    names : the parameters, one grid axis each, in this order; axes : {name: (n_j,) grid}.
    density : the normalised posterior density on the grid, shape (n_1, ..., n_d).
    log_likelihood : the log-likelihood on the grid (same shape), kept so that
        :meth:`with_priors` can re-weight it without evaluating the solution again.
    marginals : {name: (n_j,) marginal density on its axis}; mean, std : {name: value};
    cov, corr : (d, d); map : {name: value} of the grid point of highest density.
    sigma_estimated : sigma was unknown and integrated out; notes : what the numbers depend on.
    """

    names: List[str]
    axes: Dict[str, np.ndarray]
    density: np.ndarray
    log_likelihood: np.ndarray
    marginals: Dict[str, np.ndarray]
    mean: Dict[str, float]
    std: Dict[str, float]
    cov: np.ndarray
    map: Dict[str, float]
    sigma_estimated: bool
    notes: List[str] = field(default_factory=list)
    _problem: Optional[Problem] = field(default=None, repr=False)

    @property
    def corr(self) -> np.ndarray:
        d = np.sqrt(np.maximum(np.diag(self.cov), 1e-300))
        return np.asarray(self.cov / np.outer(d, d))

    def interval(self, level: float = 0.95) -> Intervals:
        """{name: (low, high)}: the equal-tailed interval of probability ``level`` of each marginal
        (linear interpolation of its cumulative trapezoid integral)."""
        lv = require_level(level)
        out: Intervals = {}
        for n in self.names:
            x, p = self.axes[n], self.marginals[n]
            cdf = np.concatenate([[0.0], np.cumsum(0.5 * (p[1:] + p[:-1]) * np.diff(x))])
            cdf /= cdf[-1]
            out[n] = (
                float(np.interp((1 - lv) / 2, cdf, x)),
                float(np.interp((1 + lv) / 2, cdf, x)),
            )
        return out

    @property
    def intervals95(self) -> Intervals:
        return self.interval(0.95)

    def with_priors(self, priors: Optional[Mapping[str, object]]) -> "GridPosterior":
        """The same likelihood under other priors (no new solution evaluations)."""
        if self._problem is None:
            raise InputError("this grid posterior does not hold its problem; compute it with grid_posterior")
        keep = [n for n in self.notes if n.startswith("sigma")]  # the likelihood's notes still hold
        return _summarise(self._problem, self.names, self.axes, self.log_likelihood, priors, self.sigma_estimated, keep)

    def to_frame(self, level: float = 0.95) -> Any:
        """A pandas DataFrame, one row per parameter: mean, std, interval of ``level``, grid MAP."""
        return summary_frame(self.names, self.mean, self.std, self.interval(level), level, ("map", self.map))

    def __repr__(self) -> str:
        iv = self.intervals95
        shape = " x ".join(str(self.axes[n].size) for n in self.names)
        parts = [
            f"{n} = {self.mean[n]:.6g} +- {self.std[n]:.3g} (95%: {iv[n][0]:.4g} to {iv[n][1]:.4g})" for n in self.names
        ]
        return f"GridPosterior({shape} grid; {'; '.join(parts)})"


def _axes(problem: Problem, grid: object) -> Tuple[List[str], Dict[str, np.ndarray]]:
    if not isinstance(grid, Mapping) or not grid:
        raise InputError(f"grid must be a mapping {{parameter name: 1-D array of values}}, got {_show(grid)}")
    names = list(problem.param_names)
    unknown = [k for k in grid if k not in names]
    if unknown:
        raise InputError(f"grid names unknown parameter(s) {_show(unknown)}; parameters: {', '.join(names) or 'none'}")
    missing = [n for n in names if n not in grid]
    if missing:
        raise InputError(f"grid must give values for every parameter; missing {missing}")
    if len(names) > MAX_DIMS:
        raise InputError(f"grid posteriors are for up to {MAX_DIMS} parameters; the problem has {len(names)}")
    axes: Dict[str, np.ndarray] = {}
    for n in names:
        a = array(grid[n], f"grid of '{n}'", ndim=1)
        if a.size < 3:
            raise InputError(f"grid of '{n}' needs at least 3 values, got {a.size}")
        if not np.all(np.diff(a) > 0):
            raise InputError(f"grid of '{n}' must be strictly increasing")
        axes[n] = a
    total = float(np.prod([a.size for a in axes.values()]))
    size_request(total, "grid (points)", MAX_GRID)
    return names, axes


def _vectorised(
    problem: Problem, solution: SolutionFn, d: Data, fld: str, names: List[str], flat: np.ndarray
) -> Optional[np.ndarray]:
    """u at d's points for every grid point at once, (G, n), if the solution broadcasts over
    parameter arrays of shape (G, 1); None if it does not (then the grid is looped over)."""
    if len(problem.fields) != 1:
        return None
    n = d.points.shape[0]
    columns: Dict[str, Any] = {k: flat[:, j : j + 1] for j, k in enumerate(names)}
    try:
        with np.errstate(all="ignore"):
            out = np.asarray(solution(d.points, columns), dtype=np.float64)
    except Exception:
        return None
    if out.shape != (flat.shape[0], n):
        return None
    # The broadcast must agree with scalar calls (a solution could broadcast but mean other things).
    for g in {0, flat.shape[0] // 2, flat.shape[0] - 1}:
        one = predict(problem, solution, [Data(d.points, np.zeros(n))], [fld], dict(zip(names, flat[g])))
        if not np.allclose(out[g], one, rtol=1e-10, atol=1e-12 * (1 + float(np.max(np.abs(one))))):
            return None
    return out


def _predictions(
    problem: Problem,
    solution: SolutionFn,
    observations: List[Data],
    fields: List[str],
    names: List[str],
    flat: np.ndarray,
) -> np.ndarray:
    """The predicted data rows for every grid point: (G, m)."""
    blocks = []
    for d, fld in zip(observations, fields):
        n = d.points.shape[0]
        step = max(1, CHUNK // max(n, 1))
        parts: List[np.ndarray] = []
        for start in range(0, flat.shape[0], step):
            chunk = flat[start : start + step]
            u = _vectorised(problem, solution, d, fld, names, chunk) if chunk.shape[0] > 1 else None
            if u is None:
                probe = Data(d.points, np.zeros(n))
                u = np.stack([predict(problem, solution, [probe], [fld], dict(zip(names, g))) for g in chunk])
            parts.append(u @ np.asarray(d.quadrature)[:, None] if d.integral else u)
        blocks.append(np.concatenate(parts, axis=0))
    return np.concatenate(blocks, axis=1)


def _trapezoid(x: np.ndarray) -> np.ndarray:
    w = np.zeros_like(x)
    dx = np.diff(x)
    w[:-1] += dx / 2
    w[1:] += dx / 2
    return w


def _summarise(
    problem: Problem,
    names: List[str],
    axes: Dict[str, np.ndarray],
    loglik: np.ndarray,
    priors: Optional[Mapping[str, object]],
    estimated: bool,
    notes: List[str],
) -> GridPosterior:
    notes = list(notes)
    # A grid needs no initial guess inside the priors' supports: only some grid point inside.
    prior_map = priors_mod.resolve(problem.params, priors)
    d = len(names)
    logp = np.array(loglik, dtype=np.float64)
    for j, n in enumerate(names):
        shape = [1] * d
        shape[j] = axes[n].size
        logp = logp + np.asarray(prior_map[n].logpdf(axes[n])).reshape(shape)
    if not np.any(np.isfinite(logp)):
        raise InputError("the posterior is zero at every grid point: the grid lies outside the priors' support")
    with np.errstate(under="ignore"):
        dens = np.exp(logp - np.max(logp[np.isfinite(logp)]))
    dens = np.where(np.isfinite(logp), dens, 0.0)
    weights = [_trapezoid(axes[n]) for n in names]
    wfull = weights[0]
    for w in weights[1:]:
        wfull = np.multiply.outer(wfull, w)
    z = float(np.sum(dens * wfull))
    dens = dens / z
    marg: Dict[str, np.ndarray] = {}
    for j, n in enumerate(names):
        other = dens
        for k in reversed(range(d)):
            if k != j:
                other = np.tensordot(other, weights[k], axes=([k], [0])) if other.ndim > 1 else other
        marg[n] = np.asarray(other).reshape(axes[n].size)
    grids = np.meshgrid(*[axes[n] for n in names], indexing="ij")
    pw = dens * wfull
    mean = {n: float(np.sum(pw * g)) for n, g in zip(names, grids)}
    cov = np.empty((d, d))
    for a in range(d):
        for b in range(d):
            cov[a, b] = float(np.sum(pw * (grids[a] - mean[names[a]]) * (grids[b] - mean[names[b]])))
    imax = np.unravel_index(int(np.argmax(dens)), dens.shape)
    for n in names:
        p = marg[n]
        if max(p[0], p[-1]) > 1e-3 * float(np.max(p)):
            notes.append(
                f"the grid of '{n}' cuts the posterior off (density at an end above 1e-3 of its peak): widen it"
            )
        if axes[n].size < 21:
            notes.append(f"the grid of '{n}' has only {axes[n].size} points: quadrature errors may be large")
    for n in names:
        if n not in (priors or {}):
            kind = "improper flat" if not prior_map[n].proper else "Uniform"
            notes.append(f"no prior given for '{n}': {kind} prior on {prior_map[n].support}")
    return GridPosterior(
        names=names,
        axes=axes,
        density=dens,
        log_likelihood=np.asarray(loglik),
        marginals=marg,
        mean=mean,
        std={n: float(math.sqrt(max(cov[j, j], 0.0))) for j, n in enumerate(names)},
        cov=cov,
        map={n: float(axes[n][i]) for n, i in zip(names, imax)},
        sigma_estimated=estimated,
        notes=notes,
        _problem=problem,
    )


def grid_posterior(
    problem: Problem,
    data: object,
    priors: Optional[Mapping[str, object]] = None,
    sigma: object = None,
    grid: Optional[Mapping[str, object]] = None,
    solution: Optional[SolutionFn] = None,
) -> GridPosterior:
    """The posterior of the problem's parameters tabulated on a grid (quadrature, no
    approximation beyond the grid's resolution).

    data : one Data or a list (observations of a field or of its integral).
    priors : {name: prior} as in :func:`laplace` (default Uniform on finite bounds, else flat).
    sigma : None (the data's sigma, else unknown and integrated out), ``"estimate"`` (unknown,
        integrated out), a number or one per data row.
    grid : {name: increasing 1-D array} for every parameter (up to 3; at most 10^6 points).
    solution : u(points, params) -> values (default the problem's exact/reference solution). A
        solution that broadcasts over parameter arrays of shape (G, 1) is evaluated for the whole
        grid at once; others once per grid point.
    """
    if not isinstance(problem, Problem):
        raise InputError(f"problem must be a pinnbilo Problem, got {_show(problem)}")
    if not problem.params:
        raise InputError("the problem has no scalar parameters: there is no parameter posterior to compute")
    if grid is None:
        raise InputError(
            "grid is required: {parameter name: 1-D array of values}, e.g. {'D': np.linspace(0.5, 2, 301)}"
        )
    observations = as_list(data)
    names, axes = _axes(problem, grid)
    total = int(np.prod([axes[n].size for n in names]))
    mesh = np.meshgrid(*[axes[n] for n in names], indexing="ij")
    flat = np.stack([g.ravel() for g in mesh], axis=1)
    loglik, estimated, notes = log_likelihood(problem, observations, sigma, names, flat, solution, total)
    shape = tuple(axes[n].size for n in names)
    return _summarise(problem, names, axes, loglik.reshape(shape), priors, estimated, notes)


def log_likelihood(
    problem: Problem,
    observations: List[Data],
    sigma: object,
    names: List[str],
    flat: np.ndarray,
    solution: Optional[SolutionFn],
    total: int,
) -> Tuple[np.ndarray, bool, List[str]]:
    """(log L at each row of ``flat`` (G, d) (G,), whether sigma was integrated out, notes): the
    likelihood of the grid posteriors, from the problem's solution at every parameter point."""
    fields = field_data_only(problem, observations, "grid_posterior")
    noise_model = noise.resolve(observations, sigma)
    sol = exact_solution(problem, solution)
    y = values(observations)
    size_request(float(total) * y.shape[0], "grid points times data rows", MAX_VALUES)
    pred = _predictions(problem, sol, observations, fields, names, flat)
    if not np.all(np.isfinite(pred)):
        bad = flat[~np.all(np.isfinite(pred), axis=1)][0]
        raise InputError(f"the solution is not finite at grid point {dict(zip(names, bad.tolist()))}: narrow the grid")
    resid = pred - y[None, :]
    notes: List[str] = []
    if noise_model.sigma is None:
        m = y.shape[0]
        rss = np.sum(resid**2, axis=1)
        loglik = -0.5 * m * np.log(np.maximum(rss, 1e-300))
        notes.append("sigma unknown: one common sigma integrated out under the prior p(sigma) ~ 1/sigma")
    else:
        loglik = -0.5 * np.sum((resid / noise_model.sigma[None, :]) ** 2, axis=1)
        notes.append(f"sigma {noise_model.source}")
    return loglik, noise_model.sigma is None, notes
