"""Argument checks shared by every public entry point: each failure is an InputError that names the
argument, says what it got and what it needs.

The checks take anything (strings, None, complex numbers, nested lists, huge integers) and never
let a bare TypeError/AttributeError/OverflowError through: numbers go through ``numbers.Real`` /
``numbers.Integral`` before any conversion, arrays through one guarded ``np.asarray``.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence, Tuple

import numpy as np

from .errors import InputError

# The largest array the checks let a caller ask for before anything is allocated (10^8 float64
# values: 800 MB). Bigger requests are refused with a message instead of a MemoryError.
MAX_ELEMENTS = 100_000_000


def _show(value: object) -> str:
    """A short repr for messages: a 5000-digit integer or a 10^6-element list is cut."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        # repr of an int over 4300 digits raises; a long one says nothing useful either
        return f"an integer of about {int(value.bit_length() * math.log10(2)) + 1} digits"
    try:
        text = repr(value)
    except Exception:  # a hostile __repr__ must not replace the real error
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 80 else text[:77] + "..."


def real(
    value: object,
    name: str,
    *,
    positive: bool = False,
    nonnegative: bool = False,
    low: Optional[float] = None,
    high: Optional[float] = None,
) -> float:
    """A finite real number (bool refused); optionally > 0, >= 0, or within [low, high]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(f"{name} must be a real number, got {_show(value)} ({type(value).__name__})")
    try:
        x = float(value)
    except (OverflowError, ValueError):
        raise InputError(f"{name} must be finite, got {_show(value)}, which overflows float64") from None
    if not math.isfinite(x):
        raise InputError(f"{name} must be finite, got {x}")
    if positive and not x > 0:
        raise InputError(f"{name} must be positive, got {x}")
    if nonnegative and not x >= 0:
        raise InputError(f"{name} must be >= 0, got {x}")
    if low is not None and x < low or high is not None and x > high:
        raise InputError(f"{name} must be in [{low}, {high}], got {x}")
    return x


def integer(value: object, name: str, *, minimum: Optional[int] = None, maximum: Optional[int] = None) -> int:
    """An integer (bool and floats such as 2.0 refused) within [minimum, maximum]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InputError(f"{name} must be an integer, got {_show(value)} ({type(value).__name__})")
    n = int(value)
    if minimum is not None and n < minimum:
        raise InputError(f"{name} must be at least {minimum}, got {_show(n)}")
    if maximum is not None and n > maximum:
        raise InputError(f"{name} must be at most {maximum}, got {_show(n)}")
    return n


def seed(value: object, name: str = "seed") -> int:
    """A random seed: an integer in [0, 2^63)."""
    return integer(value, name, minimum=0, maximum=2**63 - 1)


def flag(value: object, name: str) -> bool:
    """A bool (numpy bools too); 0/1 and strings are refused so that "False" is not read as true."""
    if not isinstance(value, (bool, np.bool_)):
        raise InputError(f"{name} must be True or False, got {_show(value)}")
    return bool(value)


def choice(value: object, name: str, options: Iterable[str]) -> str:
    """One of the strings in ``options``."""
    opts = tuple(options)
    if not isinstance(value, str) or value not in opts:
        raise InputError(f"{name} must be one of {', '.join(repr(o) for o in opts)}, got {_show(value)}")
    return value


def array(
    value: object,
    name: str,
    *,
    shape: Optional[Sequence[Optional[int]]] = None,
    ndim: Optional[int] = None,
    finite: bool = True,
    shape_hint: str = "",
    booleans: bool = False,
) -> np.ndarray:
    """A float64 array (a copy never shares memory with the caller's), real and finite; boolean
    arrays are refused unless ``booleans`` (a mask, read as 0/1).

    ``shape``: the required shape, ``None`` entries free; ``ndim``: the required number of axes;
    ``shape_hint`` is appended to shape errors (what the axes mean).
    """
    if value is None or isinstance(value, (str, bytes, dict)) or (not booleans and isinstance(value, (bool, np.bool_))):
        raise InputError(f"{name} must be an array of numbers, got {_show(value)}")
    try:
        raw = np.asarray(value)
    except Exception as exc:  # a hostile __array__/__iter__/__float__ must not escape as itself
        raise InputError(f"{name} must be an array of numbers of one shape: {exc}") from None
    if raw.dtype.kind == "c":
        raise InputError(f"{name} must be real; got complex values")
    if raw.dtype.kind == "b" and not booleans:
        raise InputError(f"{name} must be an array of numbers, got booleans; convert with .astype(float) if meant")
    if raw.dtype.kind not in "biuf":
        try:
            raw = raw.astype(float)
        except Exception:
            raise InputError(f"{name} must be an array of numbers, got elements of type {raw.dtype}") from None
    a = np.array(raw, dtype=np.float64)
    hint = f" ({shape_hint})" if shape_hint else ""
    if ndim is not None and a.ndim != ndim:
        raise InputError(f"{name} must have {ndim} axes{hint}, got shape {a.shape}")
    if shape is not None:
        if a.ndim != len(shape) or any(s is not None and s != d for s, d in zip(shape, a.shape)):
            want = (
                "(" + ", ".join("any" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
            )
            raise InputError(f"{name}: expected shape {want}{hint}, got {a.shape}")
    if finite and not np.all(np.isfinite(a)):
        raise InputError(f"{name} contains NaN or inf")
    return a


def size_request(n_elements: float, name: str, cap: int = MAX_ELEMENTS) -> None:
    """Refuse an allocation of ``n_elements`` values over ``cap`` before it is attempted."""
    if n_elements > cap:
        raise InputError(f"{name} asks for {n_elements:.3g} values, over the limit of {cap:.3g}; use a smaller size")


def pair(value: object, name: str) -> Tuple[Any, Any]:
    """Two items (lo, hi), without any check of their type."""
    if isinstance(value, (str, bytes)):
        raise InputError(f"{name} must be a pair (lo, hi), got {_show(value)}")
    items: Any = value  # anything at all: the unpacking is the check
    try:
        a, b = items
    except Exception:  # a hostile __iter__ raises anything
        raise InputError(f"{name} must be a pair (lo, hi), got {_show(value)}") from None
    return a, b


def number(value: object, name: str, *, positive: bool = False, nonnegative: bool = False) -> float:
    """Like :func:`real` (a finite real number, bool refused), with the message "``name`` must be
    a finite number [> 0 | >= 0], got ..." for every failure."""
    want = "a positive finite number" if positive else "a finite number >= 0" if nonnegative else "a finite number"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise InputError(f"{name} must be {want}, got {_show(value)} ({type(value).__name__})")
    try:
        x = float(value)
    except Exception:  # OverflowError for 10**5000; a hostile __float__ must not escape either
        raise InputError(f"{name} must be {want}, got {_show(value)}, which is not a float64") from None
    if not math.isfinite(x) or (positive and not x > 0) or (nonnegative and not x >= 0):
        raise InputError(f"{name} must be {want}, got {_show(value)}")
    return x


def text(value: object, name: str, *, example: str = "", nonempty: bool = False) -> str:
    """A str (non-empty after stripping with ``nonempty``); ``example`` goes into the message."""
    if not isinstance(value, str) or (nonempty and not value.strip()):
        eg = f" such as {example}" if example else ""
        raise InputError(f"{name} must be {'non-empty ' if nonempty else ''}text{eg}, got {_show(value)}")
    return value


def items(value: object, name: str, *, example: str = "") -> Tuple[Any, ...]:
    """The items of a list or tuple (numpy arrays, sets and generators too), as a tuple; a str, a
    mapping, a number or an object whose iteration fails is refused."""
    eg = f" such as {example}" if example else ""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise InputError(f"{name} must be a sequence{eg}, got {_show(value)} ({type(value).__name__})")
    try:
        return tuple(value)
    except Exception:  # a hostile __iter__, a 0-d array
        raise InputError(f"{name} must be a sequence{eg}, got {_show(value)} ({type(value).__name__})") from None


def names(value: object, name: str, *, example: str = "('x', 't')") -> Tuple[str, ...]:
    """A sequence of str (see :func:`items`), as a tuple."""
    out = items(value, name, example=example)
    for v in out:
        if not isinstance(v, str):
            raise InputError(f"{name} must be a sequence of names such as {example}, got the item {_show(v)}")
    return out


def function(value: object, name: str, *, signature: str = "") -> Callable[..., Any]:
    """A callable (``signature`` describes it in the message, e.g. "f(points) -> values")."""
    if not callable(value):
        what = f"a callable {signature}" if signature else "a callable"
        raise InputError(f"{name} must be {what}, got {_show(value)} ({type(value).__name__})")
    return value
