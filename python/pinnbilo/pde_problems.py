"""Built-in PDE inverse problems (after the BiLO paper's examples), each a short definition a
user could have written. Exact solutions come from closed forms or the reference solvers in
:mod:`pinnbilo.solvers`, computed once on first use."""

from __future__ import annotations

import functools
from typing import Any, Callable, Mapping, Optional

import numpy as np

from ._validation import _show, number
from .errors import InputError
from .problem import Data, Function, Parameter, Problem, _positive_int

SolutionFn = Callable[[np.ndarray, Mapping[str, float]], np.ndarray]


def plain(value: Any) -> Any:
    """``value`` with numpy scalars as Python numbers and tuples as lists (recursively): what a
    built-in problem's spec holds, so that it stores as JSON."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def _spec(name: str, **kwargs: object) -> dict:
    return {"builtin": name, "kwargs": plain(kwargs)}


def poisson(D_true: float = 2.0, D_init: float = 1.0) -> Problem:
    """``D u_xx = -pi^2 sin(pi x)`` on [0, 1], u(0) = u(1) = 0; unknown scalar D.

    Exact solution u = sin(pi x) / D."""

    def solution(points: np.ndarray, p: Mapping[str, float]) -> np.ndarray:
        return np.sin(np.pi * points[:, 0]) / p["D"]

    return Problem(
        ("x",),
        {"x": (0.0, 1.0)},
        [Parameter("D", D_init, (0.0, None), D_true)],
        "D*u.xx + pi**2*sin(pi*x)",
        "x*(1 - x)*N",
        solution=solution,
        name="poisson",
        spec=_spec("poisson", D_true=D_true, D_init=D_init),
    )


def fisher_kpp(D_true: float = 0.1, rho_true: float = 2.0, D_init: float = 0.2, rho_init: float = 1.0) -> Problem:
    """Fisher-KPP ``u_t = D u_xx + rho u (1 - u)`` for x, t in [0, 1], u(x, 0) = 0.5 sin^2(pi x),
    u = 0 at x = 0 and 1; unknown D and rho.

    Hard constraints: u = 0.5 sin^2(pi x) + t x (1 - x) N. Bounds D in (0, 1) and rho in
    (0, 5) keep both positive and put their Adam steps on comparable scales. Reference solution:
    method of lines (:func:`pinnbilo.solvers.solve_reaction_diffusion_1d`)."""

    @functools.lru_cache(maxsize=4)
    def reference(D: float, rho: float) -> Callable[[np.ndarray], np.ndarray]:
        from .solvers import solve_reaction_diffusion_1d

        return solve_reaction_diffusion_1d(
            D,
            lambda u: rho * u * (1.0 - u),
            lambda x: 0.5 * np.sin(np.pi * x) ** 2,
            t_end=1.0,
            nx=401,
            nt=201,
            reaction_derivative=lambda u: rho * (1.0 - 2.0 * u),
        )

    def solution(points: np.ndarray, p: Mapping[str, float]) -> np.ndarray:
        return reference(float(p["D"]), float(p["rho"]))(points)

    return Problem(
        ("x", "t"),
        {"x": (0.0, 1.0), "t": (0.0, 1.0)},
        [Parameter("D", D_init, (0.0, 1.0), D_true), Parameter("rho", rho_init, (0.0, 5.0), rho_true)],
        "u.t - D*u.xx - rho*u*(1 - u)",
        "0.5*sin(pi*x)**2 + t*x*(1 - x)*N",
        solution=solution,
        name="fisher_kpp",
        spec=_spec("fisher_kpp", D_true=D_true, rho_true=rho_true, D_init=D_init, rho_init=rho_init),
    )


def _d_true_varpoisson(x: np.ndarray) -> np.ndarray:
    return 1.0 + 0.5 * np.sin(2.0 * np.pi * x)


def variable_poisson(hidden: tuple = (16, 16)) -> Problem:
    """``(D(x) u_x)_x = -pi^2 sin(pi x)`` on [0, 1], u(0) = u(1) = 0; unknown function D(x).

    Truth D(x) = 1 + 0.5 sin(2 pi x); D(0) = D(1) = 1 is built in by the transform
    D = 1 + x (1 - x) N. Near x = 1/2, where u_x vanishes, the data say little about D: the
    smoothness weight ``w_reg`` fills that gap. Reference solution: conservative finite
    differences (:func:`pinnbilo.solvers.solve_poisson_1d`)."""

    @functools.lru_cache(maxsize=1)
    def reference() -> Callable[[np.ndarray], np.ndarray]:
        from .solvers import solve_poisson_1d

        return solve_poisson_1d(_d_true_varpoisson, lambda x: -(np.pi**2) * np.sin(np.pi * x), n=4001)

    def solution(points: np.ndarray, p: Mapping[str, float]) -> np.ndarray:
        return reference()(points)

    D = Function("D", ("x",), "1 + x*(1 - x)*N", hidden, true=lambda z: _d_true_varpoisson(z[:, 0]))
    return Problem(
        ("x",),
        {"x": (0.0, 1.0)},
        [],
        "D*u.xx + D.x*u.x + pi**2*sin(pi*x)",
        "x*(1 - x)*N",
        solution=solution,
        name="variable_poisson",
        spec=_spec("variable_poisson", hidden=list(D.hidden)),
        functions=[D],
    )


def _u0_true_heat(x: np.ndarray) -> np.ndarray:
    return np.sin(np.pi * x) + 0.5 * np.sin(3.0 * np.pi * x)


def heat_initial(D: float = 0.02, hidden: tuple = (16, 16)) -> Problem:
    """Heat equation ``u_t = D u_xx`` (D known) for x, t in [0, 1], u = 0 at x = 0 and 1, with an
    unknown initial condition u0(x); data at the final time t = 1 (``final_time_data``).

    Truth u0 = sin(pi x) + 0.5 sin(3 pi x); exact solution by separation of variables.
    Transform u = u0(x) + t x (1 - x) N with u0 = x (1 - x) N0(x)."""
    D = number(D, "D", positive=True)

    def solution(points: np.ndarray, p: Mapping[str, float]) -> np.ndarray:
        x, t = points[:, 0], points[:, 1]
        return np.exp(-D * np.pi**2 * t) * np.sin(np.pi * x) + 0.5 * np.exp(-9.0 * D * np.pi**2 * t) * np.sin(
            3.0 * np.pi * x
        )

    u0 = Function("u0", ("x",), "x*(1 - x)*N", hidden, true=lambda z: _u0_true_heat(z[:, 0]))
    return Problem(
        ("x", "t"),
        {"x": (0.0, 1.0), "t": (0.0, 1.0)},
        [],
        f"u.t - {D!r}*u.xx",
        "u0 + t*x*(1 - x)*N",
        solution=solution,
        name="heat_initial",
        spec=_spec("heat_initial", D=D, hidden=list(u0.hidden)),
        functions=[u0],
    )


def final_time_data(
    problem: Problem, n: int = 30, noise: float = 0.0, seed: int = 0, t: Optional[float] = None
) -> Data:
    """Observations of ``problem`` (coordinates x, t) at n points of x on the final time slice
    (or at time ``t``): a Data of n values."""
    if not isinstance(problem, Problem) or problem.coords != ("x", "t"):
        raise InputError(f"problem must be a pinnbilo Problem in the coordinates (x, t), got {_show(problem)}")
    n = _positive_int(n, "number of data points n")
    t_end = problem.domain["t"][1] if t is None else number(t, "t")
    lo, hi = problem.domain["x"]
    x = np.linspace(lo, hi, n + 2)[1:-1]
    return problem.synthetic_data(points=np.stack([x, np.full_like(x, t_end)], axis=1), noise=noise, seed=seed)


def _f_true_darcy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return 1.0 + 0.5 * np.sin(2.0 * np.pi * x) * np.sin(2.0 * np.pi * y)


def darcy(hidden: tuple = (32, 32)) -> Problem:
    """Darcy flow ``-div(f grad u) = 1`` on the unit square, u = 0 on the boundary; unknown
    permeability field f(x, y) > 0.

    Truth f = 1 + 0.5 sin(2 pi x) sin(2 pi y); positivity by the transform f = 0.1 + softplus(N).
    Reference solution: finite volumes on a 201 x 201 grid (:func:`pinnbilo.solvers.solve_darcy_2d`)."""

    @functools.lru_cache(maxsize=1)
    def reference() -> Callable[[np.ndarray], np.ndarray]:
        from .solvers import solve_darcy_2d

        return solve_darcy_2d(_f_true_darcy, 1.0, n=201)

    def solution(points: np.ndarray, p: Mapping[str, float]) -> np.ndarray:
        return reference()(points)

    f = Function("f", ("x", "y"), "0.1 + softplus(N)", hidden, true=lambda z: _f_true_darcy(z[:, 0], z[:, 1]))
    return Problem(
        ("x", "y"),
        {"x": (0.0, 1.0), "y": (0.0, 1.0)},
        [],
        "f*(u.xx + u.yy) + f.x*u.x + f.y*u.y + 1",
        "x*(1 - x)*y*(1 - y)*N",
        solution=solution,
        name="darcy",
        spec=_spec("darcy", hidden=list(f.hidden)),
        functions=[f],
    )
