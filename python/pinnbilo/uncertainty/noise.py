"""The noise model of the observations: Gaussian with a known standard deviation per row, or one
common standard deviation estimated from the residuals."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from .._validation import _show, array, real
from ..errors import InputError
from ..problem import Data

ESTIMATE = "estimate"


@dataclass(frozen=True)
class Noise:
    """``sigma``: the standard deviation of each data row, (m,), or None until estimated;
    ``estimated``: whether one common sigma is estimated from the residuals; ``source``: where
    sigma comes from, in words."""

    sigma: Optional[np.ndarray]
    estimated: bool
    source: str

    def with_estimate(self, residuals: np.ndarray, n_params: int) -> "Noise":
        """The estimated noise: sigma^2 = RSS / (m - p) over the residuals (m,) at the estimate."""
        m = residuals.shape[0]
        if m <= n_params:
            raise InputError(
                f"sigma cannot be estimated from {m} data rows for {n_params} parameter(s): it needs more rows "
                "than parameters; give sigma (Data(..., sigma=...) or sigma=...)"
            )
        s2 = float(np.sum(residuals**2)) / (m - n_params)
        if not s2 > 0:
            raise InputError(
                "the residuals at the estimate are all zero, so no noise level can be estimated from them; give sigma"
            )
        return Noise(np.full(m, math.sqrt(s2)), True, f"estimated from the residuals (RSS/(m - p), m={m})")


def rows(observations: Sequence[Data]) -> int:
    """The number of data rows (one per point, one per integral observation)."""
    return int(sum(len(d) for d in observations))


def resolve(observations: Sequence[Data], sigma: object) -> Noise:
    """The noise model for ``sigma``: None (the data's sigma when every observation has one, else
    estimated), ``"estimate"``, a positive number (every row), or an array of one positive value
    per data row, the observations' rows one after another."""
    m = rows(observations)
    if sigma is None:
        if all(d.sigma is not None for d in observations):
            given = np.concatenate([np.asarray(d.sigma, dtype=np.float64) for d in observations])
            return Noise(given, False, "from Data.sigma")
        return Noise(None, True, "estimated (the data carry no sigma)")
    if isinstance(sigma, str):
        if sigma != ESTIMATE:
            raise InputError(f"sigma must be None, 'estimate', a positive number or {m} of them, got {_show(sigma)}")
        return Noise(None, True, "estimated (sigma='estimate')")
    if np.ndim(sigma) == 0:  # type: ignore[arg-type]  # anything: the checks below say what is wrong
        s = real(sigma, "sigma", positive=True)
        return Noise(np.full(m, s), False, "given (one value for every row)")
    values = array(sigma, "sigma", shape=(m,), shape_hint="one standard deviation per data row")
    if not np.all(values > 0):
        bad = np.flatnonzero(~(values > 0))
        raise InputError(f"sigma must be positive; rows {bad[:10].tolist()} are not")
    return Noise(values, False, "given (one value per row)")
