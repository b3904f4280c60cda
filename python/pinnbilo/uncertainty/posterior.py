"""The Gaussian (Laplace) posterior of the scalar parameters and its summaries."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from .._validation import real
from ..errors import InputError

Intervals = Dict[str, Tuple[float, float]]


def quantile(level: float, dof: Optional[int]) -> float:
    """The two-sided quantile of a central interval: normal, or Student-t with ``dof`` degrees
    of freedom (an estimated sigma)."""
    from scipy import stats  # type: ignore[import-untyped]  # no scipy stubs

    q = 0.5 + level / 2
    return float(stats.norm.ppf(q) if dof is None else stats.t.ppf(q, dof))


def require_level(level: object) -> float:
    """A probability strictly between 0 and 1."""
    x = real(level, "level")
    if not 0 < x < 1:
        raise InputError(f"level must be a probability strictly between 0 and 1 (0.95: a 95% interval), got {x}")
    return x


def frame(rows: List[Dict[str, Any]], index: str) -> Any:
    """Rows as a pandas DataFrame indexed by ``index``; an ImportError saying how to get pandas."""
    try:
        import pandas as pd  # type: ignore[import-untyped, unused-ignore]  # stubs are optional
    except ModuleNotFoundError:
        raise ImportError(
            "to_frame needs pandas (pip install pandas); the same numbers are in .mean, .std and .interval()"
        ) from None
    return pd.DataFrame(rows).set_index(index)


def summary_frame(
    names: List[str],
    mean: Dict[str, float],
    std: Dict[str, float],
    intervals: Intervals,
    level: float,
    extra: Tuple[str, Dict[str, float]],
) -> Any:
    """One row per parameter: mean, std, the interval of ``level``, and one more column
    ``extra = (title, {name: value})`` (NaN where a name is missing); see :func:`frame`."""
    pct = f"{100 * level:g}%"
    title, values = extra
    rows = [
        {
            "parameter": n,
            "mean": mean[n],
            "std": std[n],
            f"low {pct}": intervals[n][0],
            f"high {pct}": intervals[n][1],
            title: values.get(n, math.nan),
        }
        for n in names
    ]
    return frame(rows, "parameter")


@dataclass
class Posterior:
    """A Gaussian posterior N(mean, cov) of the scalar parameters, in their physical units.

    names : the parameters, in the order of ``cov``'s rows.
    mean : {name: value}, the Laplace centre (the MAP when refined, else the fit's estimate).
    cov : (p, p) covariance; ``std`` {name: sqrt(cov_jj)}; ``corr`` (p, p) correlations.
    sigma : the noise standard deviation of each data row, (m,); ``sigma_estimated`` whether it
        was estimated from the residuals (then intervals use the Student-t quantile with ``dof``
        = m - p degrees of freedom).
    method : what was linearised and how the Jacobian was obtained, in words.
    estimate : {name: value}, the point the search started from (the fit's estimate).
    map_steps : Gauss-Newton steps from ``estimate`` to ``mean``; converged : whether the last
        step was below the tolerance.
    bounds : {name: (low, high)} of the prior's support; intervals are clipped to it.
    notes : anything the numbers depend on (flat or improper priors, estimated sigma, clipping).
    """

    names: List[str]
    mean: Dict[str, float]
    cov: np.ndarray
    sigma: np.ndarray
    sigma_estimated: bool
    method: str
    estimate: Dict[str, float] = field(default_factory=dict)
    map_steps: int = 0
    converged: bool = True
    bounds: Dict[str, Tuple[float, float]] = field(default_factory=dict)
    dof: Optional[int] = None
    notes: List[str] = field(default_factory=list)
    priors: str = ""

    @property
    def std(self) -> Dict[str, float]:
        """{name: standard deviation}."""
        return {n: float(math.sqrt(max(self.cov[j, j], 0.0))) for j, n in enumerate(self.names)}

    @property
    def corr(self) -> np.ndarray:
        """(p, p) correlation matrix."""
        d = np.sqrt(np.maximum(np.diag(self.cov), 1e-300))
        return np.asarray(self.cov / np.outer(d, d))

    def interval(self, level: float = 0.95) -> Intervals:
        """{name: (low, high)}: the central interval of probability ``level`` of each marginal
        (mean +- z std; Student-t quantile when sigma was estimated), clipped to the support."""
        z = quantile(require_level(level), self.dof if self.sigma_estimated else None)
        out: Intervals = {}
        for n, s in self.std.items():
            lo, hi = self.bounds.get(n, (-math.inf, math.inf))
            out[n] = (max(self.mean[n] - z * s, lo), min(self.mean[n] + z * s, hi))
        return out

    @property
    def intervals95(self) -> Intervals:
        """The 95% intervals, ``interval(0.95)``."""
        return self.interval(0.95)

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """n draws from N(mean, cov): (n, p), columns in the order of ``names``."""
        from .._validation import integer
        from .._validation import seed as check_seed

        count = integer(n, "n", minimum=1, maximum=10_000_000)
        rng = np.random.default_rng(check_seed(seed))
        mu = np.array([self.mean[k] for k in self.names])
        return np.asarray(rng.multivariate_normal(mu, self.cov, size=count))

    def to_frame(self, level: float = 0.95) -> Any:
        """A pandas DataFrame, one row per parameter: mean, std, the interval of ``level``, and
        the fit's estimate."""
        return summary_frame(self.names, self.mean, self.std, self.interval(level), level, ("estimate", self.estimate))

    def __repr__(self) -> str:
        iv = self.intervals95
        parts = [
            f"{n} = {self.mean[n]:.6g} +- {self.std[n]:.3g} (95%: {iv[n][0]:.4g} to {iv[n][1]:.4g})" for n in self.names
        ]
        sig = "estimated" if self.sigma_estimated else "known"
        return f"Posterior(Laplace; {'; '.join(parts)}; sigma {sig})"
