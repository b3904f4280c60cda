"""Prior distributions of scalar parameters: log-density, its first two derivatives, samples.

Every prior works on numbers or numpy arrays (elementwise); outside its support ``logpdf`` is
``-inf`` and ``grad``/``hess`` are 0. The derivatives are those of ``logpdf`` in the physical
value x (not in any unconstrained coordinate the optimisers use).
"""

from __future__ import annotations

import math
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from .._validation import _show, real
from ..errors import InputError

Number = Union[float, np.ndarray]


def _out(x: Any, values: np.ndarray) -> Number:
    """A float for a scalar argument, the array otherwise."""
    return float(values) if np.ndim(x) == 0 else values


class Prior:
    """Base class of the priors. ``support`` is the open interval (low, high) of positive
    density; ``mean`` and ``std`` are those of the distribution (nan when it has none)."""

    support: Tuple[float, float] = (-math.inf, math.inf)
    proper: bool = True

    def _logpdf(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _grad(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _hess(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _inside(self, x: np.ndarray) -> np.ndarray:
        lo, hi = self.support
        return np.asarray((x > lo) & (x < hi))

    def contains(self, x: float) -> bool:
        """Whether x lies inside the open support."""
        return bool(self._inside(np.asarray(float(x))))

    def logpdf(self, x: Any) -> Number:
        """log p(x) (normalised for proper priors; 0 inside the support for improper flat ones)."""
        a = np.asarray(x, dtype=np.float64)
        inside = self._inside(a)
        with np.errstate(all="ignore"):  # the formulas are evaluated outside the support too
            v = np.where(inside, self._logpdf(np.where(inside, a, self._safe_point())), -np.inf)
        return _out(x, v)

    def grad(self, x: Any) -> Number:
        """d log p / dx (0 outside the support)."""
        a = np.asarray(x, dtype=np.float64)
        inside = self._inside(a)
        with np.errstate(all="ignore"):
            v = np.where(inside, self._grad(np.where(inside, a, self._safe_point())), 0.0)
        return _out(x, v)

    def hess(self, x: Any) -> Number:
        """d^2 log p / dx^2 (0 outside the support)."""
        a = np.asarray(x, dtype=np.float64)
        inside = self._inside(a)
        with np.errstate(all="ignore"):
            v = np.where(inside, self._hess(np.where(inside, a, self._safe_point())), 0.0)
        return _out(x, v)

    def _safe_point(self) -> float:
        """A point inside the support, substituted where x is outside (keeps the formulas finite)."""
        lo, hi = self.support
        if math.isfinite(lo) and math.isfinite(hi):
            return (lo + hi) / 2
        if math.isfinite(lo):
            return lo + 1.0
        if math.isfinite(hi):
            return hi - 1.0
        return 0.0

    def sample(self, rng: Optional[np.random.Generator] = None, size: Union[int, Tuple[int, ...]] = 1) -> np.ndarray:
        """Draws from the prior: an array of shape ``size`` (a numpy Generator, default a fresh one)."""
        if rng is None:
            rng = np.random.default_rng()
        if not isinstance(rng, np.random.Generator):
            raise InputError(f"rng must be a numpy Generator (np.random.default_rng(seed)), got {_show(rng)}")
        return np.asarray(self._sample(rng, size), dtype=np.float64)

    def core_form(self) -> Optional[Tuple[int, float, float]]:
        """The C++ core's (kind, a, b) of this distribution (pinnbilo/posterior.hpp), or None when
        the core does not know it (a user's subclass: evaluated in Python)."""
        return None

    def _sample(self, rng: np.random.Generator, size: Union[int, Tuple[int, ...]]) -> np.ndarray:
        raise NotImplementedError

    @property
    def mean(self) -> float:
        return math.nan

    @property
    def std(self) -> float:
        return math.nan


def _scale(value: object, what: str) -> float:
    """A positive finite scale of a prior, named in the message."""
    return real(value, what, positive=True)


class Normal(Prior):
    """Normal(mean, std): density exp(-(x - mean)^2 / (2 std^2)) / (std sqrt(2 pi)) on the real line."""

    def __init__(self, mean: float, std: float) -> None:
        self._mu = real(mean, "Normal prior: mean")
        self._sd = _scale(std, "Normal prior: std")

    def _logpdf(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(-0.5 * ((x - self._mu) / self._sd) ** 2 - math.log(self._sd * math.sqrt(2 * math.pi)))

    def _grad(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(-(x - self._mu) / self._sd**2)

    def _hess(self, x: np.ndarray) -> np.ndarray:
        return np.full(np.shape(x), -1.0 / self._sd**2)

    def core_form(self) -> Optional[Tuple[int, float, float]]:
        return (1, self._mu, self._sd) if type(self) is Normal else None

    def _sample(self, rng: np.random.Generator, size: Union[int, Tuple[int, ...]]) -> np.ndarray:
        return rng.normal(self._mu, self._sd, size)

    @property
    def mean(self) -> float:
        return self._mu

    @property
    def std(self) -> float:
        return self._sd

    def __repr__(self) -> str:
        return f"Normal(mean={self._mu:g}, std={self._sd:g})"


class LogNormal(Prior):
    """LogNormal(mu, sigma): log x ~ Normal(mu, sigma), x > 0."""

    support = (0.0, math.inf)

    def __init__(self, mu: float, sigma: float) -> None:
        self._mu = real(mu, "LogNormal prior: mu (the mean of log x)")
        self._s = _scale(sigma, "LogNormal prior: sigma (the std of log x)")

    def _logpdf(self, x: np.ndarray) -> np.ndarray:
        lx = np.log(x)
        return np.asarray(-lx - math.log(self._s * math.sqrt(2 * math.pi)) - (lx - self._mu) ** 2 / (2 * self._s**2))

    def _grad(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(-1.0 / x - (np.log(x) - self._mu) / (self._s**2 * x))

    def _hess(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(1.0 / x**2 - (1.0 - np.log(x) + self._mu) / (self._s**2 * x**2))

    def core_form(self) -> Optional[Tuple[int, float, float]]:
        return (2, self._mu, self._s) if type(self) is LogNormal else None

    def _sample(self, rng: np.random.Generator, size: Union[int, Tuple[int, ...]]) -> np.ndarray:
        return rng.lognormal(self._mu, self._s, size)

    @property
    def mean(self) -> float:
        return math.exp(self._mu + self._s**2 / 2)

    @property
    def std(self) -> float:
        return math.sqrt(math.expm1(self._s**2)) * self.mean

    def __repr__(self) -> str:
        return f"LogNormal(mu={self._mu:g}, sigma={self._s:g})"


class Gamma(Prior):
    """Gamma(alpha, rate): density rate^alpha x^(alpha - 1) exp(-rate x) / Gamma(alpha), x > 0."""

    support = (0.0, math.inf)

    def __init__(self, alpha: float, rate: float) -> None:
        self._a = _scale(alpha, "Gamma prior: alpha (the shape)")
        self._r = _scale(rate, "Gamma prior: rate")
        self._c = self._a * math.log(self._r) - math.lgamma(self._a)

    def _logpdf(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self._c + (self._a - 1.0) * np.log(x) - self._r * x)

    def _grad(self, x: np.ndarray) -> np.ndarray:
        return np.asarray((self._a - 1.0) / x - self._r)

    def _hess(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(-(self._a - 1.0) / x**2)

    def core_form(self) -> Optional[Tuple[int, float, float]]:
        return (3, self._a, self._r) if type(self) is Gamma else None

    def _sample(self, rng: np.random.Generator, size: Union[int, Tuple[int, ...]]) -> np.ndarray:
        return rng.gamma(self._a, 1.0 / self._r, size)

    @property
    def mean(self) -> float:
        return self._a / self._r

    @property
    def std(self) -> float:
        return math.sqrt(self._a) / self._r

    def __repr__(self) -> str:
        return f"Gamma(alpha={self._a:g}, rate={self._r:g})"


class Uniform(Prior):
    """Uniform(low, high): constant density 1 / (high - low) on (low, high)."""

    def __init__(self, low: float, high: float) -> None:
        lo = real(low, "Uniform prior: low")
        hi = real(high, "Uniform prior: high")
        if not lo < hi:
            raise InputError(f"Uniform prior: low must be below high, got low={lo} and high={hi}")
        self.support = (lo, hi)

    def _logpdf(self, x: np.ndarray) -> np.ndarray:
        lo, hi = self.support
        return np.full(np.shape(x), -math.log(hi - lo))

    def _grad(self, x: np.ndarray) -> np.ndarray:
        return np.zeros(np.shape(x))

    def _hess(self, x: np.ndarray) -> np.ndarray:
        return np.zeros(np.shape(x))

    def core_form(self) -> Optional[Tuple[int, float, float]]:
        return (4, 0.0, 0.0) if type(self) is Uniform else None

    def _sample(self, rng: np.random.Generator, size: Union[int, Tuple[int, ...]]) -> np.ndarray:
        return rng.uniform(self.support[0], self.support[1], size)

    @property
    def mean(self) -> float:
        return (self.support[0] + self.support[1]) / 2

    @property
    def std(self) -> float:
        return (self.support[1] - self.support[0]) / math.sqrt(12.0)

    def __repr__(self) -> str:
        return f"Uniform(low={self.support[0]:g}, high={self.support[1]:g})"


class Flat(Prior):
    """The improper flat prior on (low, high) (either end may be infinite): log p = 0 inside.
    The default for a parameter without a prior whose bounds are not both finite."""

    proper = False

    def __init__(self, low: float = -math.inf, high: float = math.inf) -> None:
        lo = -math.inf if low == -math.inf else real(low, "Flat prior: low")
        hi = math.inf if high == math.inf else real(high, "Flat prior: high")
        if not lo < hi:
            raise InputError(f"Flat prior: low must be below high, got low={lo} and high={hi}")
        self.support = (lo, hi)

    def _logpdf(self, x: np.ndarray) -> np.ndarray:
        return np.zeros(np.shape(x))

    def _grad(self, x: np.ndarray) -> np.ndarray:
        return np.zeros(np.shape(x))

    def _hess(self, x: np.ndarray) -> np.ndarray:
        return np.zeros(np.shape(x))

    def core_form(self) -> Optional[Tuple[int, float, float]]:
        return (0, 0.0, 0.0) if type(self) is Flat else None

    def _sample(self, rng: np.random.Generator, size: Union[int, Tuple[int, ...]]) -> np.ndarray:
        raise InputError("the flat prior is improper: it cannot be sampled; give a proper prior")

    def __repr__(self) -> str:
        return f"Flat(low={self.support[0]:g}, high={self.support[1]:g})"


class Truncated(Prior):
    """A prior restricted to a parameter's bounds (not renormalised: the log-density differs from
    the restricted density by a constant, which no posterior computed here depends on)."""

    def __init__(self, base: Prior, low: float, high: float) -> None:
        self.base = base
        self.support = (max(base.support[0], low), min(base.support[1], high))
        self.proper = base.proper

    def _logpdf(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.base._logpdf(x))

    def _grad(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.base._grad(x))

    def _hess(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.base._hess(x))

    def core_form(self) -> Optional[Tuple[int, float, float]]:
        return self.base.core_form() if type(self) is Truncated else None

    def _sample(self, rng: np.random.Generator, size: Union[int, Tuple[int, ...]]) -> np.ndarray:
        n = int(np.prod(size))
        out = np.empty(0)
        for _ in range(1000):  # rejection: the bounds cut off little of a sensible prior
            draw = np.asarray(self.base._sample(rng, max(n, 16)))
            out = np.concatenate([out, draw[self._inside(draw)]])
            if out.size >= n:
                return out[:n].reshape(size)
        raise InputError(f"{self.base!r} puts almost no mass inside the bounds {self.support}: cannot sample it")

    def __repr__(self) -> str:
        return f"{self.base!r} restricted to {self.support}"


def resolve(
    params: Sequence[Any],
    priors: Optional[Mapping[str, object]],
    checks: Sequence[Tuple[str, Mapping[str, float]]] = (),
) -> Dict[str, Prior]:
    """The prior of every parameter (:class:`~pinnbilo.Parameter`): the given ones, checked and
    restricted to the parameter's bounds, and the default for the rest: Uniform on the bounds
    when both are finite, else the improper flat prior on them. ``checks``: pairs (what,
    {name: value}) of values each support must contain, e.g. ("initial guess", {...})."""
    names = [p.name for p in params]
    given: Mapping[str, object] = {} if priors is None else priors
    if not isinstance(given, Mapping):
        raise InputError(f"priors must be a mapping {{parameter name: prior}}, got {_show(priors)}")
    unknown = [k for k in given if k not in names]
    if unknown:
        raise InputError(
            f"priors name unknown parameter(s) {_show(unknown)}; "
            f"the problem's parameters are {', '.join(names) or 'none'}"
        )
    out: Dict[str, Prior] = {}
    for p in params:
        lo = -math.inf if p.bounds[0] is None else float(p.bounds[0])
        hi = math.inf if p.bounds[1] is None else float(p.bounds[1])
        prior = given.get(p.name)
        if prior is None:
            out[p.name] = Uniform(lo, hi) if math.isfinite(lo) and math.isfinite(hi) else Flat(lo, hi)
            continue
        if not isinstance(prior, Prior):
            raise InputError(
                f"the prior of '{p.name}' must be a prior object such as Normal(1, 0.5) or Gamma(2, 1), "
                f"got {_show(prior)}"
            )
        both = prior if prior.support[0] >= lo and prior.support[1] <= hi else Truncated(prior, lo, hi)
        if not both.support[0] < both.support[1]:
            raise InputError(f"the prior {prior!r} of '{p.name}' has no mass inside the bounds {p.bounds}")
        for what, values in checks:
            value = float(values[p.name])
            if not both.contains(value):
                raise InputError(
                    f"the prior {prior!r} of '{p.name}' excludes its {what} {value:g}: its support is "
                    f"{both.support}; give a prior whose support contains it"
                )
        out[p.name] = both
    return out


def log_prior(priors: Sequence[Prior], theta: np.ndarray) -> float:
    """Sum of the priors' log-densities at theta (p,)."""
    return float(sum(float(pr.logpdf(float(t))) for pr, t in zip(priors, theta)))


def describe(priors: Mapping[str, Prior]) -> str:
    """One line naming each parameter's prior."""
    return ", ".join(f"{k} ~ {v!r}" for k, v in priors.items())
