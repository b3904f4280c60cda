"""Built-in problems, each a short definition a user could have written."""

from __future__ import annotations

from typing import Callable, Dict, Mapping, Tuple

import numpy as np

from ._validation import _show, number
from .errors import InputError
from .pde_problems import darcy, final_time_data, fisher_kpp, heat_initial, plain, poisson, variable_poisson
from .problem import Bounds, Parameter, Problem, ode_problem, time_span
from .system_problems import (
    burgers_initial,
    cubic_oscillator,
    lorenz,
    lotka_volterra,
    neumann_flux,
    reaction_diffusion,
    robin_poisson,
    sir,
)

__all__ = [
    "exponential_growth",
    "logistic_growth",
    "poisson",
    "fisher_kpp",
    "variable_poisson",
    "heat_initial",
    "darcy",
    "final_time_data",
    "lotka_volterra",
    "sir",
    "lorenz",
    "cubic_oscillator",
    "robin_poisson",
    "neumann_flux",
    "BUILTINS",
    "get",
]


def exponential_growth(
    a_true: float = 2.0,
    a_init: float = 1.0,
    u0: float = 1.0,
    t_span: Tuple[float, float] = (0.0, 1.0),
    bounds: Bounds = (None, None),
) -> Problem:
    """``u_t = a u`` on t in t_span with u(t0) = u0; exact solution u0 exp(a (t - t0))."""
    u0 = number(u0, "u0")
    span = time_span(t_span)
    t0 = span[0]
    a = Parameter("a", a_init, bounds, a_true)

    def solution(points: np.ndarray, p: Mapping[str, float]) -> np.ndarray:
        return u0 * np.exp(p["a"] * (points[:, 0] - t0))

    return ode_problem(
        "u.t - a*u",
        u0,
        [a],
        span,
        solution,
        name="exponential",
        spec={
            "builtin": "exponential",
            "kwargs": plain(dict(a_true=a.true, a_init=a.init, u0=u0, t_span=list(span), bounds=list(a.bounds))),
        },
    )


def logistic_growth(
    a_true: float = 2.0,
    a_init: float = 1.0,
    u0: float = 0.1,
    t_span: Tuple[float, float] = (0.0, 3.0),
    bounds: Bounds = (None, None),
) -> Problem:
    """``u_t = a u (1 - u)`` with u(t0) = u0 in (0, 1); exact solution 1 / (1 + (1/u0 - 1) e^{-a (t - t0)})."""
    u0 = number(u0, "u0")
    if not 0.0 < u0 < 1.0:
        raise InputError(f"logistic growth needs 0 < u0 < 1, got {u0}")
    span = time_span(t_span)
    t0 = span[0]
    a = Parameter("a", a_init, bounds, a_true)

    def solution(points: np.ndarray, p: Mapping[str, float]) -> np.ndarray:
        return 1.0 / (1.0 + (1.0 / u0 - 1.0) * np.exp(-p["a"] * (points[:, 0] - t0)))

    return ode_problem(
        "u.t - a*u*(1 - u)",
        u0,
        [a],
        span,
        solution,
        name="logistic",
        spec={
            "builtin": "logistic",
            "kwargs": plain(dict(a_true=a.true, a_init=a.init, u0=u0, t_span=list(span), bounds=list(a.bounds))),
        },
    )


BUILTINS: Dict[str, Callable[..., Problem]] = {
    "exponential": exponential_growth,
    "logistic": logistic_growth,
    "poisson": poisson,
    "fisher_kpp": fisher_kpp,
    "variable_poisson": variable_poisson,
    "heat_initial": heat_initial,
    "darcy": darcy,
    "lotka_volterra": lotka_volterra,
    "sir": sir,
    "lorenz": lorenz,
    "cubic_oscillator": cubic_oscillator,
    "robin_poisson": robin_poisson,
    "neumann_flux": neumann_flux,
    "reaction_diffusion": reaction_diffusion,
    "burgers_initial": burgers_initial,
}


def get(name: str, **kwargs: object) -> Problem:
    """A built-in problem by name: one of :data:`BUILTINS`."""
    if not isinstance(name, str) or name not in BUILTINS:
        raise InputError(f"unknown problem {_show(name)}; built-in problems: {', '.join(sorted(BUILTINS))}")
    # A stored spec (JSON) holds lists where the problems take tuples.
    for key in ("t_span", "bounds", "hidden"):
        if isinstance(kwargs.get(key), list):
            kwargs[key] = tuple(kwargs[key])  # type: ignore[arg-type]
    import inspect

    accepted = inspect.signature(BUILTINS[name]).parameters
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise InputError(f"problem '{name}' has no argument(s) {unknown}; it takes {', '.join(accepted) or 'none'}")
    try:
        return BUILTINS[name](**kwargs)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"problem '{name}': bad argument value ({type(exc).__name__}: {exc})") from None
