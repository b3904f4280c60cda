"""Array checks of the steady-state API on top of pinnbilo._validation.

``values`` is ``_validation.array`` made safe against any object (a hostile ``__float__`` or
``__iter__`` raising anything becomes an InputError naming the argument) and strict about
booleans: ``True`` is not a diffusion coefficient or a boundary value.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _validation as check
from ..errors import InputError


def _text(exc: BaseException) -> str:
    """An exception's message, cut; one whose str() itself fails still gives its type."""
    try:
        text = str(exc)
    except Exception:  # a hostile exception must not replace the real error
        text = ""
    text = text.split("\n")[0]
    return text if len(text) <= 120 else text[:117] + "..."


def _holds_bool(value: Any, depth: int = 0) -> bool:
    """Whether a (nested) list or tuple holds a Python or numpy bool: np.asarray([0.5, True]) would
    quietly read True as 1.0. Deeper than 32 levels np.asarray refuses the value anyway."""
    if depth > 32:
        return False
    types = set(map(type, value))
    if bool in types or np.bool_ in types:
        return True
    if list in types or tuple in types:
        return any(_holds_bool(v, depth + 1) for v in value if isinstance(v, (list, tuple)))
    return False


def values(value: object, name: str, *, allow_bool: bool = False, **kw: Any) -> np.ndarray:
    """A finite float64 array (see ``_validation.array`` for ``shape``, ``ndim``, ``finite``,
    ``shape_hint``); booleans are refused unless ``allow_bool`` (e.g. an observation mask)."""
    if isinstance(value, (str, bytes, dict)) or value is None:
        return check.array(value, name, **kw)  # refuses them with its own message
    try:
        probe = np.asarray(value)
        if not allow_bool and (probe.dtype.kind == "b" or (isinstance(value, (list, tuple)) and _holds_bool(value))):
            raise InputError(f"{name} must be numbers, got booleans ({check._show(value)})")
        return check.array(probe, name, booleans=allow_bool, **kw)
    except InputError:
        raise
    except Exception as exc:  # any object at all: its conversion failing is a bad argument
        raise InputError(
            f"{name} must be an array of numbers; converting {check._show(value)} raised "
            f"{type(exc).__name__}: {_text(exc)}"
        ) from None


def finite_result(out: np.ndarray, what: str, why: str) -> np.ndarray:
    """``out`` when every value is finite, else an InputError saying ``what`` overflowed and ``why``."""
    if not np.all(np.isfinite(out)):
        raise InputError(f"{what} is not finite (NaN or inf): {why}")
    return out
