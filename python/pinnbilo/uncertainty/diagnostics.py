"""Convergence diagnostics of Markov chains: rank-normalised split R-hat, bulk and tail effective
sample size (Vehtari, Gelman, Simpson, Carpenter, Bürkner, Bayesian Analysis 16 (2021) 667).

Every function takes draws shaped ``(n_chains, n_draws)`` or ``(n_chains, n_draws, d)`` (one
chain may be given as ``(n_draws,)``) and returns a float, or a ``(d,)`` array for 3-D input.
Too few draws (fewer than 6 per chain) or a quantity that never varies give NaN, not an error.

* :func:`rhat`: the larger of the rank-normalised split R-hat of the draws (bulk) and of their
  distance from the median (tail). Values above about 1.01 say the chains have not mixed.
* :func:`ess_bulk`: effective sample size of the rank-normalised split chains, from their
  autocorrelation (computed by FFT) summed up to Geyer's initial monotone sequence.
* :func:`ess_tail`: the smaller ESS of the indicators of the 5% and 95% quantiles.
* :func:`ess_basic`, :func:`split_rhat`: the same without rank normalisation (what the MCSE of a
  mean needs, and the classic Gelman-Rubin statistic on split chains).
"""

from __future__ import annotations

import math
from typing import Callable, Union

import numpy as np
from scipy import special, stats  # type: ignore[import-untyped]  # no scipy stubs

from .._validation import array
from ..errors import InputError

__all__ = ["autocorrelation", "ess_basic", "ess_bulk", "ess_tail", "mcse_mean", "rhat", "split_rhat"]

Result = Union[float, np.ndarray]


def _as_draws(draws: object, name: str = "draws") -> tuple[np.ndarray, bool]:
    """Draws as a float array (n_chains, n_draws, d), and whether they came with a d axis;
    NaN/inf are refused."""
    a = array(draws, name)
    if a.ndim == 1:
        return a[None, :, None], False
    if a.ndim == 2:
        return a[:, :, None], False
    if a.ndim == 3:
        return a, True
    raise InputError(f"{name} must be shaped (n_draws,), (n_chains, n_draws) or (n_chains, n_draws, d), got {a.shape}")


def _per_dim(draws: object, one: Callable[[np.ndarray], float]) -> Result:
    """Apply ``one`` ((n_chains, n_draws) -> float) to each coordinate; a float for 1-D/2-D input."""
    a, with_d = _as_draws(draws)
    out = np.array([one(a[:, :, j]) for j in range(a.shape[2])], dtype=np.float64)
    return out if with_d else float(out[0])


def _split(x: np.ndarray) -> np.ndarray:
    """Each chain cut into its first and second half (the middle draw of an odd chain dropped)."""
    half = x.shape[1] // 2
    return np.concatenate([x[:, :half], x[:, x.shape[1] - half :]], axis=0)


def _rank_normalise(x: np.ndarray) -> np.ndarray:
    """Normal scores of the pooled ranks (average ranks for ties, Blom's offset 3/8)."""
    ranks = stats.rankdata(x, method="average").reshape(x.shape)
    return np.asarray(special.ndtri((ranks - 0.375) / (x.size + 0.25)))


def _degenerate(x: np.ndarray) -> bool:
    """Too short to split into halves of two draws and more, or constant."""
    return x.shape[1] < 6 or not np.ptp(x) > 0


def _rhat_of(x: np.ndarray) -> float:
    """Gelman-Rubin potential scale reduction of chains x (m, n) (already split)."""
    n = x.shape[1]
    within = float(np.mean(np.var(x, axis=1, ddof=1)))
    if not within > 0:
        return math.nan
    between = n * float(np.var(np.mean(x, axis=1), ddof=1))
    return math.sqrt(((n - 1) / n * within + between / n) / within)


def _split_rhat_1(x: np.ndarray) -> float:
    return math.nan if _degenerate(x) else _rhat_of(_split(x))


def _rank_rhat_1(x: np.ndarray) -> float:
    if _degenerate(x):
        return math.nan
    bulk = _rhat_of(_rank_normalise(_split(x)))
    folded = np.abs(x - np.median(x))
    tail = _rhat_of(_rank_normalise(_split(folded))) if np.ptp(folded) > 0 else math.nan
    return float(np.nanmax([bulk, tail])) if not (math.isnan(bulk) and math.isnan(tail)) else math.nan


def split_rhat(draws: object) -> Result:
    """Split R-hat (Gelman et al., BDA3 eq. 11.4) without rank normalisation.

    draws : (n_chains, n_draws) or (n_chains, n_draws, d). Returns a float or (d,) array.
    """
    return _per_dim(draws, _split_rhat_1)


def rhat(draws: object) -> Result:
    """Rank-normalised split R-hat (Vehtari et al. 2021): max of bulk and folded (tail) R-hat.

    draws : (n_chains, n_draws) or (n_chains, n_draws, d). Returns a float or (d,) array;
    about 1 for mixed chains, above 1.01 when the chains disagree.
    """
    return _per_dim(draws, _rank_rhat_1)


def autocorrelation(x: object) -> np.ndarray:
    """Autocorrelation of one chain x (n,) at lags 0..n-1 (biased estimator, via FFT)."""
    a = array(x, "x", ndim=1)
    n = a.size
    if n == 0:
        return a
    centred = a - a.mean()
    size = 1 << (2 * n - 1).bit_length()  # zero padding: a linear, not circular, correlation
    f = np.fft.rfft(centred, size)
    acov = np.fft.irfft(f * np.conj(f), size)[:n] / n
    return acov / acov[0] if acov[0] > 0 else np.zeros(n)


def _autocovariance(x: np.ndarray) -> np.ndarray:
    """Biased autocovariance of each chain of x (m, n) at lags 0..n-1, by FFT."""
    n = x.shape[1]
    centred = x - x.mean(axis=1, keepdims=True)
    size = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(centred, size, axis=1)
    return np.fft.irfft(f * np.conj(f), size, axis=1)[:, :n] / n


def _ess_of(x: np.ndarray) -> float:
    """ESS of chains x (m, n) by Geyer's initial monotone sequence (Stan's estimator)."""
    m, n = x.shape
    acov = _autocovariance(x)
    mean_var = float(np.mean(acov[:, 0])) * n / (n - 1.0)
    var_plus = mean_var * (n - 1.0) / n + (float(np.var(np.mean(x, axis=1), ddof=1)) if m > 1 else 0.0)
    if not var_plus > 0:
        return math.nan
    rho = 1.0 - (mean_var - np.mean(acov, axis=0)) / var_plus  # combined autocorrelation by lag
    rho[0] = 1.0
    # Initial positive sequence: the sums of adjacent pairs, Gamma_k = rho_2k + rho_2k+1, are
    # kept while they are positive (lags up to n - 2 as in Stan).
    n_pairs = (n - 1) // 2
    pairs = rho[: 2 * n_pairs].reshape(n_pairs, 2).sum(axis=1)
    nonpositive = np.flatnonzero(pairs[1:] <= 0)
    k = int(nonpositive[0]) + 1 if nonpositive.size else n_pairs  # Gamma_0 >= 1 always counts
    gammas = np.minimum.accumulate(pairs[:k])  # initial monotone sequence
    tau = -1.0 + 2.0 * float(np.sum(gammas))
    if k < n_pairs and rho[2 * k] > 0:
        tau += float(rho[2 * k])  # the positive first half of the first negative pair, as in Stan
    total = m * n
    tau = max(tau, 1.0 / math.log10(total))  # Stan's cap: ESS at most S log10(S)
    return total / tau


def ess_basic(draws: object) -> Result:
    """Effective sample size of the split chains, no rank normalisation: the ESS for the MCSE of
    a posterior mean. draws : (n_chains, n_draws) or (n_chains, n_draws, d)."""
    return _per_dim(draws, lambda x: math.nan if _degenerate(x) else _ess_of(_split(x)))


def ess_bulk(draws: object) -> Result:
    """Bulk effective sample size (Vehtari et al. 2021): ESS of the rank-normalised split chains.

    draws : (n_chains, n_draws) or (n_chains, n_draws, d). For independent draws about the
    number of draws; for an AR(1) chain with coefficient phi about n (1 - phi) / (1 + phi).
    """
    return _per_dim(draws, lambda x: math.nan if _degenerate(x) else _ess_of(_rank_normalise(_split(x))))


def _tail_1(x: np.ndarray) -> float:
    if _degenerate(x):
        return math.nan
    out = []
    for q in (0.05, 0.95):
        indicator = (x <= np.quantile(x, q)).astype(np.float64)
        out.append(_ess_of(_split(indicator)) if np.ptp(indicator) > 0 else math.nan)
    return float(np.nanmin(out)) if not all(math.isnan(v) for v in out) else math.nan


def ess_tail(draws: object) -> Result:
    """Tail effective sample size: the smaller ESS of the indicators x <= q5 and x <= q95 (what
    the 5% and 95% quantiles, hence a 90% interval, are estimated with).
    draws : (n_chains, n_draws) or (n_chains, n_draws, d)."""
    return _per_dim(draws, _tail_1)


def mcse_mean(draws: object) -> Result:
    """Monte Carlo standard error of the posterior mean, sd / sqrt(ESS basic), in the units of
    the draws. draws : (n_chains, n_draws) or (n_chains, n_draws, d)."""

    def one(x: np.ndarray) -> float:
        if _degenerate(x):
            return math.nan
        return float(np.std(x, ddof=1) / math.sqrt(_ess_of(_split(x))))

    return _per_dim(draws, one)
