"""Argument checks shared by the reference solvers; every failure is an InputError naming the argument."""

from __future__ import annotations

import numbers
from typing import Any, Callable, Sequence, Tuple, Union

import numpy as np

from .. import _validation as check
from ..errors import InputError

Coefficient = Union[float, Callable[..., np.ndarray]]

# Values per grid a solver makes (nodes, or nodes x output times): a cap with a clear message, not an
# allocation failure. The same cap as pinnbilo.problem.MAX_POINTS.
MAX_POINTS = 10_000_000
_TINY = float(np.finfo(float).tiny)  # smallest normal float64


def check_size(value: object, name: str, minimum: int, maximum: int = MAX_POINTS) -> int:
    """An integer grid size of at least ``minimum`` and at most ``maximum`` points."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        shown = check._show(value)
        raise InputError(f"{name} must be an integer number of grid points, got {shown} ({type(value).__name__})")
    n = int(value)
    if n < minimum:
        raise InputError(f"{name} must be at least {minimum} grid points, got {check._show(n)}; use a finer grid")
    if n > maximum:
        raise InputError(f"{name} = {check._show(n)} is over the limit of {maximum} grid points; use a coarser grid")
    return n


def check_total(count: int, what: str, maximum: int = MAX_POINTS) -> None:
    """A product of grid sizes (the values a solver stores) within ``maximum``."""
    if count > maximum:
        raise InputError(f"{what} make {count} grid values, over the limit of {maximum}; use a coarser grid")


def check_scalar(value: object, name: str, positive: bool = False) -> float:
    """A finite real number, optionally > 0 (pinnbilo._validation.real)."""
    return check.real(value, name, positive=positive)


def check_choice(value: object, name: str, choices: Sequence[str]) -> str:
    """One of the strings ``choices`` (pinnbilo._validation.choice)."""
    return check.choice(value, name, choices)


def check_pair(value: object, name: str, form: str = "(lo, hi)") -> Tuple[Any, Any]:
    """Two items of ``value``, unchecked; anything that does not unpack into two (a number, a string,
    an object whose ``__iter__`` raises) is an InputError showing the wanted ``form``."""
    if isinstance(value, (str, bytes)):
        raise InputError(f"{name} must be a pair {form}, got {check._show(value)}")
    items: Any = value  # anything at all: the unpacking is the check
    try:
        a, b = items
    except Exception:  # a hostile __iter__ may raise anything; it is still a bad argument
        raise InputError(f"{name} must be a pair {form}, got {check._show(value)}") from None
    return a, b


def check_interval(domain: object, name: str) -> Tuple[float, float]:
    """A pair (lo, hi) of finite numbers with lo < hi and a finite width hi - lo."""
    lo_raw, hi_raw = check_pair(domain, name)
    lo = check_scalar(lo_raw, f"{name}[0]")
    hi = check_scalar(hi_raw, f"{name}[1]")
    if not lo < hi:
        raise InputError(f"{name} must satisfy lo < hi, got ({lo}, {hi})")
    if not np.isfinite(hi - lo):
        raise InputError(f"{name} = ({lo}, {hi}) is too wide: hi - lo overflows float64; rescale the coordinate")
    return lo, hi


def grid(lo: float, hi: float, n: int, name: str, size_name: str) -> Tuple[np.ndarray, float]:
    """``n`` equispaced nodes on [lo, hi] and their spacing h, checked to be resolvable in float64.

    The nodes must be strictly increasing and h^2 a normal, finite float (the schemes divide by it);
    ``name`` is the interval's argument and ``size_name`` the size's, for the message.
    """
    x = np.linspace(lo, hi, n)
    h = (hi - lo) / (n - 1)
    if not np.all(x[1:] > x[:-1]):
        raise InputError(
            f"{name} = ({lo}, {hi}) is too narrow for {size_name} = {n}: neighbouring nodes coincide in float64; "
            f"widen the interval, shift it towards 0 or use fewer nodes"
        )
    if not _TINY <= h * h < np.inf:
        raise InputError(
            f"{name} = ({lo}, {hi}) with {size_name} = {n} gives a grid spacing h = {h:.3g} whose square is not a "
            "normal float64; rescale the coordinate (e.g. to [0, 1])"
        )
    return x, h


def as_real(raw: object, must: str) -> np.ndarray:
    """``raw`` as a float array; complex values and anything not convertible are an InputError whose
    message starts with ``must`` (e.g. "source must return")."""
    try:
        arr = np.asarray(raw)
        if np.iscomplexobj(arr):
            raise InputError(f"{must} real numbers, got complex values")
        return np.asarray(arr, dtype=float)
    except InputError:
        raise
    except OverflowError:
        raise InputError(f"{must} finite real numbers; a value overflows float64") from None
    except Exception:  # strings, objects, ragged lists, ... whatever a conversion to float refuses
        raise InputError(f"{must} real numbers, got {type(raw).__name__}") from None


def evaluate(
    coefficient: object,
    args: Sequence[np.ndarray],
    name: str,
    positive: bool = False,
) -> np.ndarray:
    """Values of a float or callable coefficient at grid arrays ``args`` (all of one shape).

    A callable may return an array of the grid shape or a scalar (broadcast). The result is
    checked to be finite and, if ``positive``, > 0 everywhere; the message gives the first
    offending point.
    """
    shape = np.shape(args[0])
    if callable(coefficient):
        try:
            raw = coefficient(*args)
        except InputError:
            raise
        except Exception as exc:  # a user function failing on the grid is a bad argument
            raise InputError(f"{name} raised {type(exc).__name__} on the grid: {exc}") from exc
        values = as_real(raw, f"{name} must return")
        if values.shape == ():
            values = np.full(shape, float(values))
        elif values.shape != shape:
            raise InputError(
                f"{name} must return an array of shape {shape} (one value per grid point), got shape {values.shape}"
            )
    else:
        values = np.full(shape, check_scalar(coefficient, name, positive=positive))
    bad = ~np.isfinite(values)
    if positive:
        bad |= ~(values > 0.0)
    if bad.any():
        i = np.unravel_index(int(np.argmax(bad)), shape)
        where = ", ".join(f"{float(a[i]):.6g}" for a in args)
        need = "positive and finite" if positive else "finite"
        raise InputError(f"{name} must be {need} on the grid; it is {values[i]} at ({where})")
    return values


def power_of_two_scale(values: np.ndarray) -> float:
    """A power of two near ``max(|values|)`` (1 for all zeros): dividing by it is exact and brings the
    largest value to [1, 2), so a linear system built from the scaled values cannot overflow."""
    top = float(np.max(np.abs(values))) if values.size else 0.0
    if top == 0.0 or not np.isfinite(top):
        return 1.0
    return float(np.ldexp(1.0, int(np.frexp(top)[1]) - 1))
