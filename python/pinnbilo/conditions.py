"""Boundary and initial conditions as loss terms: an expression that should vanish on its points.

Next to the hard output transforms (``u = u0 + t*N``), a condition is a *soft* constraint: its
residual enters the loss on its own points with its own weight. Conditions may read unknown
parameters (a Robin coefficient, an inflow flux), which both methods recover: PINN trains them
jointly; for BiLO, condition residuals belong to the lower level and its residual gradient, as in
the BiLO paper.

Faces of the box domain are written ``"x=0"``, ``"x=1"`` (the value must be one end of the
coordinate's interval), or ``"x=low"`` / ``"x=high"``.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Optional, Union

import numpy as np

from . import expr as ex
from ._validation import _show, number
from .errors import InputError

ExprText = Union[str, ex.Expr]


@dataclass(frozen=True, eq=False)
class Condition:
    """``residual`` = 0 on points of a face (``on="x=1"``), on given ``points`` (n, n_coords), or,
    with ``periodic="x"``, equal on the two faces x = low and x = high.

    ``n``: points on the face when they are not given (a grid over the face's other coordinates;
    one point for a face of a 1-D domain). ``weight``: the term's weight in the residual loss,
    next to the equation's (1). ``name``: a label for messages.
    """

    residual: ExprText
    on: Optional[str] = None
    points: Optional[np.ndarray] = None
    n: int = 64
    weight: float = 1.0
    periodic: Optional[str] = None
    name: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.residual, (str, ex.Expr)):
            raise InputError(f"a condition's residual must be text such as 'u - 1', got {type(self.residual).__name__}")
        given = sum(x is not None for x in (self.on, self.points, self.periodic))
        if given != 1:
            raise InputError("a condition needs exactly one of on='x=0' (a face), points=... or periodic='x'")
        if self.on is not None and not isinstance(self.on, str):
            raise InputError(f"on must name a face such as 'x=0', got {_show(self.on)}")
        if self.periodic is not None and not isinstance(self.periodic, str):
            raise InputError(f"periodic must name a coordinate such as 'x', got {_show(self.periodic)}")
        n = self.n
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral) or not 1 <= int(n) <= 1_000_000:
            raise InputError(f"n (points of a condition) must be an integer in [1, 1000000], got {_show(n)}")
        object.__setattr__(self, "weight", number(self.weight, "a condition's weight", nonnegative=True))
        if not isinstance(self.name, str):
            raise InputError(f"a condition's name must be text (a label for messages), got {_show(self.name)}")

    @property
    def label(self) -> str:
        where = self.on or (f"periodic in {self.periodic}" if self.periodic else "given points")
        return self.name or f"{self.residual} = 0 on {where}"


def _text(v: object, what: str) -> str:
    if isinstance(v, ex.Expr):
        return ex.to_string(v)
    if isinstance(v, str):
        return v
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise InputError(f"{what} must be text such as 'sin(pi*x)' or a number, got {_show(v)}")
    number(v, what)  # finite, and within float64 (10**5000 refused)
    return str(v)


def _field(field: object) -> str:
    if not isinstance(field, str) or not field.isidentifier():
        raise InputError(f"field must be a field's name such as 'u', got {_show(field)}")
    return field


def _face_coordinate(on: object) -> str:
    if not isinstance(on, str):
        raise InputError(f"on must name a face such as 'x=0' or 'x=high', got {_show(on)}")
    name = on.split("=", 1)[0].strip()
    if "=" not in on or not name:
        raise InputError(f"a face is written like 'x=0' or 'x=high', got {_show(on)}")
    return name


def dirichlet(on: str, value: ExprText = "0", field: str = "u", weight: float = 1.0, n: int = 64) -> Condition:
    """``field = value`` on the face ``on``; ``value`` may read coordinates and parameters."""
    return Condition(f"{_field(field)} - ({_text(value, 'value')})", on=on, weight=weight, n=n)


def neumann(on: str, flux: ExprText = "0", field: str = "u", weight: float = 1.0, n: int = 64) -> Condition:
    """The derivative of ``field`` along the face's coordinate equals ``flux`` on the face ``on``
    (``u.x = flux`` on ``x=1`` and on ``x=0`` alike: write the sign of an outward flux into it)."""
    c = _face_coordinate(on)
    return Condition(f"{_field(field)}.d({c}=1) - ({_text(flux, 'flux')})", on=on, weight=weight, n=n)


def robin(
    on: str,
    alpha: ExprText,
    beta: ExprText,
    g: ExprText = "0",
    field: str = "u",
    weight: float = 1.0,
    n: int = 64,
) -> Condition:
    """``alpha * field + beta * d field / d c = g`` on the face ``on`` (c: the face's coordinate);
    alpha, beta and g may be parameters (a Robin coefficient to recover) or expressions."""
    c = _face_coordinate(on)
    f = _field(field)
    a, b, rhs = _text(alpha, "alpha"), _text(beta, "beta"), _text(g, "g")
    return Condition(f"({a})*{f} + ({b})*{f}.d({c}=1) - ({rhs})", on=on, weight=weight, n=n)


def initial(
    value: ExprText, field: str = "u", derivative: int = 0, coord: str = "t", weight: float = 1.0, n: int = 64
) -> Condition:
    """``d^derivative field / d coord^derivative = value`` at ``coord = low`` (the initial time):
    ``initial("sin(pi*x)")``, or ``initial("0", derivative=1)`` for a wave equation's ``u_t(0) = 0``."""
    if isinstance(derivative, bool) or not isinstance(derivative, int) or not 0 <= derivative <= 8:
        raise InputError(f"derivative must be an int in [0, 8], got {_show(derivative)}")
    f = _field(field)
    if not isinstance(coord, str) or not coord.isidentifier():
        raise InputError(f"coord must be a coordinate's name such as 't', got {_show(coord)}")
    lhs = f if derivative == 0 else f"{f}.d({coord}={derivative})"
    return Condition(f"{lhs} - ({_text(value, 'value')})", on=f"{coord}=low", weight=weight, n=n)


def periodic(coord: str, expr: ExprText = "u", weight: float = 1.0, n: int = 64) -> Condition:
    """``expr`` takes equal values on the faces ``coord = low`` and ``coord = high`` (give ``"u"``
    and ``"u.x"`` for a periodic C^1 solution). As a hard constraint instead, see
    ``Problem(periodic=...)``."""
    return Condition(expr, periodic=coord, weight=weight, n=n)
