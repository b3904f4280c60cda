"""Exceptions raised by pinnbilo.

All derive from :class:`PinnbiloError`, so ``except pinnbilo.PinnbiloError`` catches every
error the library raises on purpose.
"""

from __future__ import annotations


class PinnbiloError(Exception):
    """Base class of all pinnbilo errors."""


class InputError(PinnbiloError, ValueError):
    """An argument is malformed: wrong shape, NaN/inf, unknown name, non-positive size, ...

    The message names the argument and what would fix it.
    """


class TrainingDiverged(PinnbiloError, RuntimeError):
    """A loss or gradient became NaN/inf during training.

    The model was restored to the last state with finite losses; ``step`` is the step at which
    the non-finite value appeared.
    """

    def __init__(self, message: str, step: int = -1) -> None:
        super().__init__(message)
        self.step = step
