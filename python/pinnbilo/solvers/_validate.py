"""Argument checks shared by the reference solvers; every failure is an InputError naming the argument."""

from __future__ import annotations

import numbers
from typing import Any, Callable, Sequence, Tuple, Union

import numpy as np

from ..errors import InputError

Coefficient = Union[float, Callable[..., np.ndarray]]


def check_size(value: object, name: str, minimum: int) -> int:
    """An integer grid size of at least ``minimum`` points."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InputError(f"{name} must be an integer number of grid points, got {value!r}")
    if value < minimum:
        raise InputError(f"{name} must be at least {minimum} grid points, got {value}; use a finer grid")
    return int(value)


def check_scalar(value: object, name: str, positive: bool = False) -> float:
    """A finite real number, optionally > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(f"{name} must be a real number, got {value!r}")
    x = float(value)
    if not np.isfinite(x):
        raise InputError(f"{name} must be finite, got {x}")
    if positive and x <= 0.0:
        raise InputError(f"{name} must be positive, got {x}")
    return x


def check_interval(domain: object, name: str) -> Tuple[float, float]:
    """A pair (lo, hi) of finite numbers with lo < hi."""
    pair: Any = domain  # anything at all: the unpacking below is the check
    try:
        lo_raw, hi_raw = pair
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a pair (lo, hi), got {domain!r}") from None
    lo = check_scalar(lo_raw, f"{name}[0]")
    hi = check_scalar(hi_raw, f"{name}[1]")
    if not lo < hi:
        raise InputError(f"{name} must satisfy lo < hi, got ({lo}, {hi})")
    return lo, hi


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
        try:
            values = np.asarray(raw, dtype=float)
        except (TypeError, ValueError):
            raise InputError(f"{name} must return real numbers, got {type(raw).__name__}") from None
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
