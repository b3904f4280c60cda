"""Area 7: the reference solvers (pinnbilo.solvers) and GridSolution with hostile arguments."""

from __future__ import annotations

from typing import Any, Dict, List

import numpy as np

from pinnbilo import solvers as sv

from .core import ARRAYS, CALLABLES, CHOICE, OPTIONAL, POS, REAL, Case, Silent, case, cross, finite, kind

AREA = "solvers"
MOD = __name__


def _sin(x: np.ndarray) -> np.ndarray:
    return np.sin(np.pi * x)


def _logistic(u: np.ndarray) -> np.ndarray:
    return u * (1 - u)


def _check(sol: Any) -> str:
    if not isinstance(sol, sv.GridSolution):
        raise Silent(f"returned {type(sol).__name__}, not a GridSolution")
    if not finite(sol.values):
        raise Silent("the solution holds non-finite values")
    mid = np.array([[0.5 * (a[0] + a[-1]) for a in sol.axes]])
    if not finite(sol(mid if sol.ndim > 1 else mid[:, 0])):
        raise Silent("interpolating the solution gives non-finite values")
    return f"solved, values {sol.values.shape}"


def t_poisson(**kw: Any) -> Any:
    args: Dict[str, Any] = dict(D=1.0, source=-1.0, n=33)
    args.update(kw)
    return _check(sv.solve_poisson_1d(**args))


def t_darcy(**kw: Any) -> Any:
    args: Dict[str, Any] = dict(f=1.0, source=1.0, n=17)
    args.update(kw)
    return _check(sv.solve_darcy_2d(**args))


def t_rd(**kw: Any) -> Any:
    args: Dict[str, Any] = dict(D=0.1, reaction=_logistic, u0=_sin, t_end=0.1, nx=21, nt=5)
    args.update(kw)
    return _check(sv.solve_reaction_diffusion_1d(**args))


def t_grid(**kw: Any) -> Any:
    args: Dict[str, Any] = dict(axes=(np.linspace(0, 1, 6),), values=np.linspace(0, 1, 6) ** 2)
    args.update(kw)
    return _check(sv.GridSolution(**args))


def t_grid_call(points: Any, _ndim: int = 1) -> Any:
    if _ndim == 1:
        g = sv.GridSolution((np.linspace(0, 1, 6),), np.linspace(0, 1, 6) ** 2)
    else:
        x = np.linspace(0, 1, 5)
        g = sv.GridSolution((x, x), np.add.outer(x, x))
    out = g(points)
    if not finite(out):
        raise Silent(f"returned non-finite values {out}")
    return f"returned {np.shape(out)}"


def t_special(_what: str) -> Any:
    if _what == "poisson_D_negative_somewhere":
        return _check(sv.solve_poisson_1d(lambda x: x - 0.5, -1.0, n=33))
    if _what == "poisson_D_zero":
        return _check(sv.solve_poisson_1d(0.0, -1.0, n=33))
    if _what == "poisson_D_1e-300":
        return _check(sv.solve_poisson_1d(1e-300, 1.0, n=33))
    if _what == "poisson_scales_1e300":
        return _check(sv.solve_poisson_1d(1e-300, 1e300, n=33))
    if _what == "poisson_domain_tiny":
        return _check(sv.solve_poisson_1d(1.0, 1.0, n=33, domain=(1.0, 1.0 + 1e-15)))
    if _what == "poisson_domain_huge":
        return _check(sv.solve_poisson_1d(1.0, 1.0, n=33, domain=(-1e308, 1e308)))
    if _what == "poisson_n_10**7":
        return _check(sv.solve_poisson_1d(1.0, -1.0, n=10**7))
    if _what == "poisson_D_returns_scalar":
        return _check(sv.solve_poisson_1d(lambda x: 2.0, -1.0, n=33))
    if _what == "poisson_D_returns_list":
        return _check(sv.solve_poisson_1d(lambda x: list(x * 0 + 1), -1.0, n=33))
    if _what == "poisson_D_returns_2d":
        return _check(sv.solve_poisson_1d(lambda x: np.ones((len(x), 2)), -1.0, n=33))
    if _what == "poisson_D_returns_int_array":
        return _check(sv.solve_poisson_1d(lambda x: np.ones(len(x), dtype=int), -1.0, n=33))
    if _what == "darcy_n_1025":
        return _check(sv.solve_darcy_2d(1.0, 1.0, n=1025))
    if _what == "darcy_n_1026":
        return _check(sv.solve_darcy_2d(1.0, 1.0, n=1026))
    if _what == "darcy_f_jump_1e300":
        return _check(sv.solve_darcy_2d(lambda x, y: np.where(x < 0.5, 1e-300, 1e300), 1.0, n=17))
    if _what == "darcy_f_one_arg":
        return _check(sv.solve_darcy_2d(lambda x: x, 1.0, n=17))
    if _what == "darcy_domain_flat":
        return _check(sv.solve_darcy_2d(1.0, 1.0, n=17, domain=((0, 1), (0, 1e-300))))
    if _what == "darcy_domain_three":
        return _check(sv.solve_darcy_2d(1.0, 1.0, n=17, domain=((0, 1), (0, 1), (0, 1))))
    if _what == "rd_blows_up":
        return _check(sv.solve_reaction_diffusion_1d(0.1, lambda u: u**2, lambda x: 10 + 0 * x, t_end=10.0, nx=21,
                                                     nt=5))  # fmt: skip
    if _what == "rd_wrong_derivative":
        return _check(sv.solve_reaction_diffusion_1d(0.1, _logistic, _sin, 0.1, 21, 5, reaction_derivative=lambda u: u))
    if _what == "rd_derivative_without_reaction":
        return _check(sv.solve_reaction_diffusion_1d(0.1, None, _sin, 0.1, 21, 5, reaction_derivative=lambda u: u))
    if _what == "rd_sqrt_negative":
        return _check(sv.solve_reaction_diffusion_1d(0.1, lambda u: np.sqrt(u - 10), _sin, 0.1, 21, 5))
    if _what == "rd_reaction_raises_later":
        calls = [0]

        def r(u: np.ndarray) -> np.ndarray:
            calls[0] += 1
            if calls[0] > 5:
                raise ZeroDivisionError("the user's function failed")
            return 0 * u

        return _check(sv.solve_reaction_diffusion_1d(0.1, r, _sin, 0.1, 21, 5))
    if _what == "rd_stiff_tiny_D_long":
        return _check(sv.solve_reaction_diffusion_1d(1e-12, _logistic, _sin, 1e6, 21, 5))
    if _what == "rd_nx_nt_product":
        return _check(sv.solve_reaction_diffusion_1d(0.1, _logistic, _sin, 0.1, 5000, 5000))
    if _what == "rd_t_end_tiny":
        return _check(sv.solve_reaction_diffusion_1d(0.1, _logistic, _sin, 1e-320, 21, 5))
    if _what == "grid_axes_decreasing":
        return _check(sv.GridSolution((np.linspace(1, 0, 6),), np.ones(6)))
    if _what == "grid_axes_duplicate":
        return _check(sv.GridSolution((np.array([0, 0.2, 0.2, 0.6, 1.0]),), np.ones(5)))
    if _what == "grid_values_shape":
        return _check(sv.GridSolution((np.linspace(0, 1, 6),), np.ones(7)))
    if _what == "grid_too_few_points":
        return _check(sv.GridSolution((np.linspace(0, 1, 3),), np.ones(3)))
    if _what == "grid_values_1e308":
        return _check(sv.GridSolution((np.linspace(0, 1, 6),), np.array([1e308, -1e308] * 3)))
    if _what == "grid_axes_1e-320_spacing":
        return _check(sv.GridSolution((np.arange(6) * 1e-320,), np.ones(6)))
    if _what == "grid_2d_values_1d":
        x = np.linspace(0, 1, 5)
        return _check(sv.GridSolution((x, x), np.ones(5)))
    raise KeyError(_what)


SPECIAL = {
    "poisson_D_negative_somewhere": "error", "poisson_D_zero": "error", "poisson_D_1e-300": "accept",
    "poisson_scales_1e300": "error", "poisson_domain_tiny": "error", "poisson_domain_huge": "error",
    "poisson_n_10**7": "accept", "poisson_D_returns_scalar": "accept", "poisson_D_returns_list": "accept",
    "poisson_D_returns_2d": "error", "poisson_D_returns_int_array": "accept", "darcy_n_1025": "accept",
    "darcy_n_1026": "error", "darcy_f_jump_1e300": "accept", "darcy_f_one_arg": "error",
    "darcy_domain_flat": "error", "darcy_domain_three": "error", "rd_blows_up": "error",
    "rd_wrong_derivative": "error", "rd_derivative_without_reaction": "error", "rd_sqrt_negative": "error",
    "rd_reaction_raises_later": "error", "rd_stiff_tiny_D_long": "accept", "rd_nx_nt_product": "error",
    "rd_t_end_tiny": "error", "grid_axes_decreasing": "error", "grid_axes_duplicate": "error",
    "grid_values_shape": "error", "grid_too_few_points": "error", "grid_values_1e308": "accept",
    "grid_axes_1e-320_spacing": "error", "grid_2d_values_1d": "error",
}  # fmt: skip


def cases() -> List[Case]:
    out: List[Case] = []
    vals = ARRAYS + CALLABLES
    out += cross(AREA, MOD, "t_poisson", "solve_poisson_1d", {
        "D": POS, "source": REAL, "n": kind(), "left": REAL, "right": REAL, "domain": CHOICE,
    }, values=vals)  # fmt: skip
    out += cross(AREA, MOD, "t_poisson", "solve_poisson_1d", {"domain[1]": kind("one", "frac", "big", "i63")},
                 wrap={"domain[1]": lambda v: (0.0, v)}, words={"domain[1]": ("domain",)})  # fmt: skip
    out += cross(AREA, MOD, "t_darcy", "solve_darcy_2d", {
        "f": POS, "source": REAL, "n": kind(), "domain": CHOICE, "face": CHOICE,
    }, values=vals)  # fmt: skip
    out += cross(AREA, MOD, "t_darcy", "solve_darcy_2d", {"domain[1]": CHOICE},
                 wrap={"domain[1]": lambda v: ((0.0, 1.0), v)}, words={"domain[1]": ("domain",)})  # fmt: skip
    out += cross(AREA, MOD, "t_rd", "solve_reaction_diffusion_1d", {
        "D": POS, "reaction": OPTIONAL, "u0": CHOICE, "t_end": POS.plus(skip=("big", "i63")), "nx": kind(),
        "nt": kind(), "domain": CHOICE, "left": REAL.plus(skip=("big", "i63")), "right": REAL.plus(skip=("big", "i63")),
        "rtol": kind(), "atol": POS, "reaction_derivative": OPTIONAL, "method": CHOICE,
    }, values=vals)  # fmt: skip
    out += cross(AREA, MOD, "t_grid", "GridSolution", {"axes": CHOICE, "values": CHOICE}, values=vals)
    out += cross(
        AREA, MOD, "t_grid_call", "GridSolution(1-D)(points)", {"points": kind("zero", "one", "empty")}, values=vals
    )
    out += cross(AREA, MOD, "t_grid_call", "GridSolution(2-D)(points)", {"points": kind()}, base={"_ndim": 2},
                 values=vals)  # fmt: skip
    for what, mode in SPECIAL.items():
        iso = what in ("darcy_n_1025", "poisson_n_10**7", "rd_nx_nt_product")
        out.append(case(AREA, f"special.{what}", MOD, "t_special", mode, _what=what, isolate=iso,
                        timeout=180 if iso else 60, call=f"solvers: {what.replace('_', ' ')}",
                        words=("D", "f", "source", "reaction", "domain", "axes", "values", "n")))  # fmt: skip
    return out
