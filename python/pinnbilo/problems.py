"""Built-in problems, each a short definition a user could have written."""

from __future__ import annotations

from typing import Callable, Dict, Mapping, Tuple

import numpy as np

from .errors import InputError
from .pde_problems import darcy, final_time_data, fisher_kpp, heat_initial, poisson, variable_poisson
from .problem import Bounds, Parameter, Problem, ode_problem
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
    t0 = float(t_span[0])

    def solution(points: np.ndarray, p: Mapping[str, float]) -> np.ndarray:
        return u0 * np.exp(p["a"] * (points[:, 0] - t0))

    return ode_problem(
        "u.t - a*u",
        u0,
        [Parameter("a", a_init, bounds, a_true)],
        t_span,
        solution,
        name="exponential",
        spec={
            "builtin": "exponential",
            "kwargs": dict(a_true=a_true, a_init=a_init, u0=u0, t_span=list(t_span), bounds=list(bounds)),
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
    if not 0.0 < u0 < 1.0:
        raise InputError(f"logistic growth needs 0 < u0 < 1, got {u0}")
    t0 = float(t_span[0])

    def solution(points: np.ndarray, p: Mapping[str, float]) -> np.ndarray:
        return 1.0 / (1.0 + (1.0 / u0 - 1.0) * np.exp(-p["a"] * (points[:, 0] - t0)))

    return ode_problem(
        "u.t - a*u*(1 - u)",
        u0,
        [Parameter("a", a_init, bounds, a_true)],
        t_span,
        solution,
        name="logistic",
        spec={
            "builtin": "logistic",
            "kwargs": dict(a_true=a_true, a_init=a_init, u0=u0, t_span=list(t_span), bounds=list(bounds)),
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
    if name not in BUILTINS:
        raise InputError(f"unknown problem '{name}'; built-in problems: {', '.join(sorted(BUILTINS))}")
    if "t_span" in kwargs and kwargs["t_span"] is not None:
        kwargs["t_span"] = tuple(kwargs["t_span"])  # type: ignore[arg-type]
    for key in ("bounds", "hidden"):
        if key in kwargs and kwargs[key] is not None:
            kwargs[key] = tuple(kwargs[key])  # type: ignore[arg-type]
    import inspect

    accepted = inspect.signature(BUILTINS[name]).parameters
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise InputError(f"problem '{name}' has no argument(s) {unknown}; it takes {', '.join(accepted) or 'none'}")
    try:
        return BUILTINS[name](**kwargs)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"problem '{name}': bad argument value ({exc})") from None
