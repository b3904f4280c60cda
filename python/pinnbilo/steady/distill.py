"""Symbolic distillation: a learned function as a sparse combination of candidate terms, found by
sequentially thresholded least squares (STLSQ), printed as a readable expression."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, List, Sequence

import numpy as np

from .. import _validation as check
from ..errors import InputError, PinnbiloError
from ._checks import values as _values

_Func = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Term:
    """A candidate term: a name as printed (e.g. "x^2", "cos(2 pi x)") and its function of x."""

    name: str
    func: Callable[[np.ndarray], np.ndarray]

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise InputError(f"Term.name must be a string, got {type(self.name).__name__}")
        if not callable(self.func):
            raise InputError(f"Term.func must be a function of x, got {type(self.func).__name__}")

    def values(self, x: np.ndarray) -> np.ndarray:
        """The term at x (n,), checked: a real array of x's shape (a scalar is broadcast)."""
        try:
            raw = self.func(x)
        except PinnbiloError:
            raise
        except Exception as exc:  # the user's term failing is a bad argument
            raise InputError(f"term {check._show(self.name)} raised {type(exc).__name__}: {exc}") from exc
        v = _values(raw, f"term {check._show(self.name)}", finite=False)
        if v.size == 1:
            return np.full(x.shape, float(v.ravel()[0]))
        if v.shape != x.shape:
            raise InputError(
                f"term {check._show(self.name)} must return one value per point, shape {x.shape}; got {v.shape}"
            )
        return v


# The term functions come from factories, so each one keeps its own p, k, c, s.
def _power(p: int) -> _Func:
    return lambda x: x**p


def _cos(k: int, length: float) -> _Func:
    return lambda x: np.cos(2 * np.pi * k * x / length)


def _sin(k: int, length: float) -> _Func:
    return lambda x: np.sin(2 * np.pi * k * x / length)


def _gaussian(c: float, s: float) -> _Func:
    return lambda x: np.exp(-((x - c) ** 2) / (2 * s * s))


def constant() -> List[Term]:
    return [Term("1", lambda x: np.ones_like(x))]


MAX_DEGREE = 100  # x^100 already spans 10^30 between 0.5 and 1


def _var(var: object) -> str:
    if not isinstance(var, str) or not var.isidentifier():
        raise InputError(f"var must be a variable name such as 'x', got {check._show(var)}")
    return var


def polynomials(degree: int, var: str = "x") -> List[Term]:
    """x, x^2, ..., x^degree (the constant is separate: constant())."""
    degree, var = check.integer(degree, "degree", minimum=0, maximum=MAX_DEGREE), _var(var)
    return [Term(var if p == 1 else f"{var}^{p}", _power(p)) for p in range(1, int(degree) + 1)]


MAX_MODES = 10_000  # Fourier candidates: each is a column of the least-squares matrix
MAX_ITERATIONS = 10_000  # STLSQ rounds: each drops at least one term, so more than the terms is never needed


def fourier(modes: int, length: float = 1.0, var: str = "x", even: bool = False) -> List[Term]:
    """cos(2 pi k x / L) and (unless even) sin(2 pi k x / L) for k = 1..modes."""
    if isinstance(modes, bool) or not isinstance(modes, (int, np.integer)) or not 0 <= modes <= MAX_MODES:
        raise InputError(f"modes must be an integer in [0, {MAX_MODES}], got {check._show(modes)}")
    length, var = check.real(length, "length", positive=True), _var(var)
    even = check.flag(even, "even")
    out = []
    for k in range(1, int(modes) + 1):
        arg = f"2 pi {k if k > 1 else ''}{var}" + (f"/{length:g}" if length != 1 else "")
        out.append(Term(f"cos({arg})", _cos(k, length)))
        if not even:
            out.append(Term(f"sin({arg})", _sin(k, length)))
    return out


def gaussians(centers: Sequence[float], widths: Sequence[float], var: str = "x") -> List[Term]:
    """exp(-(x - c)^2 / (2 s^2)) for every centre c and width s (each a number or a flat list)."""
    var = _var(var)
    cs, ss = (np.atleast_1d(_values(v, name)) for v, name in ((centers, "centers"), (widths, "widths")))
    for a, name in ((cs, "centers"), (ss, "widths")):
        if a.ndim != 1:
            raise InputError(f"{name} must be a number or a flat list of numbers, got shape {a.shape}")
    if np.any(ss <= 0):
        raise InputError(f"widths must be positive, got {ss.tolist()}")
    if cs.size * ss.size > MAX_MODES:
        raise InputError(f"{cs.size} centres x {ss.size} widths is over the limit of {MAX_MODES} terms")
    return [
        Term(
            f"exp(-({var}-{c:g})^2/{2 * s * s:g})" if c != 0 else f"exp(-{var}^2/{2 * s * s:g})",
            _gaussian(c, s),
        )
        for c in cs.tolist()
        for s in ss.tolist()
    ]


@dataclass
class Distilled:
    """coefficients: one per term (zero where pruned); expression: the readable sum of the kept
    terms; rel_error: ||fit - y|| / ||y|| on the given points."""

    terms: List[Term]
    coefficients: np.ndarray
    rel_error: float

    @property
    def expression(self) -> str:
        parts = []
        for t, c in zip(self.terms, self.coefficients):
            if c == 0:
                continue
            mag = f"{abs(c):.4g}"
            body = mag if t.name == "1" else f"{mag}*{t.name}"
            parts.append(("- " if c < 0 else "+ ") + body)
        if not parts:
            return "0"
        s = " ".join(parts)
        return s[2:] if s.startswith("+ ") else "-" + s[2:]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = _values(x, "x")
        return sum((c * t.func(x) for t, c in zip(self.terms, self.coefficients) if c != 0), np.zeros_like(x))

    def __str__(self) -> str:
        return f"{self.expression}    (relative error {100 * self.rel_error:.3g}%)"


def distill(
    x: np.ndarray,
    y: np.ndarray,
    terms: Sequence[Term],
    threshold: float = 0.05,
    max_iter: int = 20,
) -> Distilled:
    """STLSQ: least squares on all terms, then repeatedly drop terms whose coefficient (on columns
    scaled to unit RMS) is below threshold x the largest, and refit on the rest.

    x, y: (n,) samples of the learned function (e.g. the grid and the zero-mean learned V);
    terms: candidates, e.g. constant() + fourier(4) + polynomials(3) + gaussians([0], [0.1]).
    """
    x = _values(x, "distill: x").ravel()
    y = _values(y, "distill: y").ravel()
    if x.shape != y.shape or x.size == 0:
        raise InputError(f"distill: x and y must be non-empty and of equal length, got {x.shape} and {y.shape}")
    if isinstance(terms, (str, bytes, Term)) or not isinstance(terms, (list, tuple)):
        raise InputError(
            f"distill: terms must be a list of Term, e.g. constant() + fourier(3); got {type(terms).__name__}"
        )
    terms = list(terms)
    if not terms:
        raise InputError("distill: give at least one candidate term")
    if not all(isinstance(t, Term) for t in terms):
        raise InputError("distill: every candidate must be a pinnbilo.steady.Term (see constant(), fourier(), ...)")
    check.size_request(x.size * len(terms), "distill (points x terms)")
    threshold = check.real(threshold, "threshold", nonnegative=True)
    if not threshold < 1:
        raise InputError(f"threshold must be a number in [0, 1), got {threshold}")
    max_iter = check.integer(max_iter, "max_iter", minimum=1, maximum=MAX_ITERATIONS)
    A = np.stack([t.values(x) for t in terms], axis=1)
    norms = np.sqrt(np.mean(A * A, axis=0))
    if np.any(norms == 0) or not np.all(np.isfinite(norms)):
        bad = [terms[i].name for i in np.flatnonzero((norms == 0) | ~np.isfinite(norms))]
        raise InputError(f"distill: candidate terms vanish or are not finite on x: {bad}")
    An = A / norms
    keep = np.ones(len(terms), dtype=bool)
    c = np.zeros(len(terms))
    for _ in range(int(max_iter)):
        c = np.zeros(len(terms))
        c[keep] = np.linalg.lstsq(An[:, keep], y, rcond=None)[0]
        small = np.abs(c) < threshold * np.abs(c).max()
        new = keep & ~small
        if np.array_equal(new, keep) or not new.any():
            break
        keep = new
    coef = c / norms
    with np.errstate(all="ignore"):
        fit = A @ coef
        ny = np.linalg.norm(y)
        err = float(np.linalg.norm(fit - y) / ny) if ny > 0 else float(np.linalg.norm(fit))
    if not (np.all(np.isfinite(coef)) and np.isfinite(err)):
        raise InputError("distill: the least-squares fit overflows float64; scale y or the terms to moderate values")
    return Distilled(terms, coef, err)
