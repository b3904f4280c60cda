"""Warnings that point at the user's line: the first frame outside the pinnbilo package, however
deep inside it the warning is raised (a fixed stacklevel points at the wrong line, or at sys:1,
as soon as a call path changes)."""

from __future__ import annotations

import os
import sys
import warnings
from typing import Type

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def user_stacklevel() -> int:
    """The stacklevel of the innermost caller outside pinnbilo, for a warnings.warn called by the
    caller of this function."""
    frame = sys._getframe(1)  # the function that will call warnings.warn
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def warn_user(message: str, category: Type[Warning] = UserWarning) -> None:
    """warnings.warn(message, category) attributed to the user's line."""
    warnings.warn(message, category, stacklevel=user_stacklevel())
