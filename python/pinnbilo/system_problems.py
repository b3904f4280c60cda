"""Built-in systems and problems with conditions as loss terms, each a short definition a user
could have written, with a SciPy reference solution."""

from __future__ import annotations

import functools
import math
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ._validation import _show, flag, names, number
from .conditions import Condition, robin
from .errors import InputError
from .pde_problems import plain
from .problem import Parameter, Problem


def _spec(name: str, **kwargs: object) -> dict:
    return {"builtin": name, "kwargs": plain(kwargs)}


def _ode_reference(
    rhs: Callable[[np.ndarray, Mapping[str, float]], Sequence[float]], y0: Sequence[float], t_end: float
) -> Callable[[np.ndarray, Mapping[str, float]], np.ndarray]:
    """An exact-solution function for an ODE system: SciPy's DOP853 at tight tolerances, one
    dense solution per parameter set (cached), evaluated at the points' t."""
    from scipy.integrate import solve_ivp  # type: ignore[import-untyped]  # no scipy stubs

    @functools.lru_cache(maxsize=16)
    def dense(key: Tuple[Tuple[str, float], ...]) -> Callable[[np.ndarray], np.ndarray]:
        p = dict(key)
        sol = solve_ivp(
            lambda t, y: rhs(y, p), (0.0, t_end), list(y0), method="DOP853", rtol=1e-12, atol=1e-12, dense_output=True
        )
        if not sol.success:
            raise RuntimeError(f"the reference ODE solve failed: {sol.message}")
        return sol.sol  # type: ignore[no-any-return]

    def solution(points: np.ndarray, p: Mapping[str, float]) -> np.ndarray:
        return np.asarray(dense(tuple(sorted((k, float(v)) for k, v in p.items())))(points[:, 0])).T

    return solution


def lotka_volterra(
    alpha: float = 1.0,
    beta: float = 0.5,
    gamma: float = 0.5,
    delta: float = 1.0,
    init: float = 0.7,
    t_end: float = 3.0,
    x0: float = 1.0,
    y0: float = 0.5,
    alpha_init: Optional[float] = None,
    beta_init: Optional[float] = None,
    gamma_init: Optional[float] = None,
    delta_init: Optional[float] = None,
    known: Sequence[str] = (),
) -> Problem:
    """Prey x and predator y: ``x' = alpha x - beta x y``, ``y' = gamma x y - delta y`` on
    [0, t_end], the initial populations as hard constraints; all four rates unknown, starting
    from ``init`` (or from ``<rate>_init`` where given), but the rates named in ``known``, held at
    their given values. Over [0, 3] (half a cycle), BiLO's lower level solves the forward problem
    from the residual alone; over a whole cycle (t_end = 6) it settles on a wrong, nearly steady
    solution unless the residual gradient's weight is small."""
    x0, y0, t_end = number(x0, "x0"), number(y0, "y0"), number(t_end, "t_end", positive=True)
    true = {"alpha": alpha, "beta": beta, "gamma": gamma, "delta": delta}
    given = {"alpha": alpha_init, "beta": beta_init, "gamma": gamma_init, "delta": delta_init}
    start = {k: init if v is None else v for k, v in given.items()}
    held = names(known, "known", example="('delta',)")
    for k in held:
        if k not in true:
            raise InputError(f"known names the rates to hold fixed, one of {', '.join(true)}; got {_show(k)}")
    if len(set(held)) == len(true):
        raise InputError("known holds every rate fixed: leave at least one to infer")
    fixed = {k: number(true[k], k) for k in held}
    params = [Parameter(k, start[k], (0.0, None), true=v) for k, v in true.items() if k not in fixed]

    def rate(k: str) -> str:  # a known rate enters the equations as its number
        return repr(fixed[k]) if k in fixed else k

    def rhs(y: np.ndarray, p: Mapping[str, float]) -> List[float]:
        q = {**fixed, **p}
        return [q["alpha"] * y[0] - q["beta"] * y[0] * y[1], q["gamma"] * y[0] * y[1] - q["delta"] * y[1]]

    return Problem(
        ("t",),
        {"t": (0.0, t_end)},
        params,
        {
            "prey": f"x.t - ({rate('alpha')}*x - {rate('beta')}*x*y)",
            "predator": f"y.t - ({rate('gamma')}*x*y - {rate('delta')}*y)",
        },
        transform={"x": f"{x0!r} + t*N", "y": f"{y0!r} + t*N"},
        fields=("x", "y"),
        solution=_ode_reference(rhs, [x0, y0], t_end),
        name="lotka_volterra",
        spec=_spec("lotka_volterra", alpha=alpha, beta=beta, gamma=gamma, delta=delta, init=init, t_end=t_end,
                   x0=x0, y0=y0, alpha_init=alpha_init, beta_init=beta_init, gamma_init=gamma_init,
                   delta_init=delta_init, known=list(held)),
    )  # fmt: skip


def sir(beta: float = 3.0, gamma: float = 1.0, beta_init: float = 1.5, gamma_init: float = 0.5,
        t_end: float = 8.0, i0: float = 0.02) -> Problem:  # fmt: skip
    """SIR epidemic in population fractions: ``S' = -beta S I``, ``I' = beta S I - gamma I``,
    ``R' = gamma I`` on [0, t_end] with S(0) = 1 - i0, I(0) = i0, R(0) = 0 (hard). Typically only I
    is observed; ``problem.integral_data("S + I + R", value=t_end)`` adds the total population."""
    i0, t_end = number(i0, "i0"), number(t_end, "t_end", positive=True)
    params = [
        Parameter("beta", beta_init, (0.0, None), true=beta),
        Parameter("gamma", gamma_init, (0.0, None), true=gamma),
    ]
    return Problem(
        ("t",),
        {"t": (0.0, t_end)},
        params,
        {"S": "S.t + beta*S*I", "I": "I.t - beta*S*I + gamma*I", "R": "R.t - gamma*I"},
        transform={"S": f"{1 - i0!r} + t*N", "I": f"{i0!r} + t*N", "R": "t*N"},
        fields=("S", "I", "R"),
        solution=_ode_reference(
            lambda y, p: [-p["beta"] * y[0] * y[1], p["beta"] * y[0] * y[1] - p["gamma"] * y[1], p["gamma"] * y[1]],
            [1 - i0, i0, 0.0],
            t_end,
        ),
        name="sir",
        spec=_spec("sir", beta=beta, gamma=gamma, beta_init=beta_init, gamma_init=gamma_init, t_end=t_end, i0=i0),
    )


def lorenz(sigma: float = 10.0, rho: float = 15.0, beta: float = 8.0 / 3.0, init: float = 1.0,
           hard_initial: bool = True) -> Problem:  # fmt: skip
    """The Lorenz system as in DeepXDE's Lorenz_inverse demo: ``x' = sigma (y - x)``,
    ``y' = x (rho - z) - y``, ``z' = x y - beta z`` on [0, 3] from (-8, 7, 27); sigma, rho, beta
    unknown from 1, 1, 1. ``hard_initial=False`` imposes the initial values as loss terms, as
    DeepXDE does."""
    hard_initial = flag(hard_initial, "hard_initial")
    params = [Parameter("sigma", init, (0.0, None), true=sigma), Parameter("rho", init, (0.0, None), true=rho),
              Parameter("beta", init, (0.0, None), true=beta)]  # fmt: skip
    x0 = (-8.0, 7.0, 27.0)
    names = ("x", "y", "z")
    if hard_initial:
        transform: Dict[str, str] = {f: f"{v!r} + t*N" for f, v in zip(names, x0)}
        conditions: Tuple[Condition, ...] = ()
    else:
        transform = {}
        conditions = tuple(Condition(f"{f} - ({v!r})", on="t=0") for f, v in zip(names, x0))
    return Problem(
        ("t",),
        {"t": (0.0, 3.0)},
        params,
        {"x": "x.t - sigma*(y - x)", "y": "y.t - x*(rho - z) + y", "z": "z.t - x*y + beta*z"},
        transform=transform,
        fields=names,
        conditions=conditions,
        solution=_ode_reference(
            lambda y, p: [p["sigma"] * (y[1] - y[0]), y[0] * (p["rho"] - y[2]) - y[1], y[0] * y[1] - p["beta"] * y[2]],
            x0,
            3.0,
        ),
        name="lorenz",
        spec=_spec("lorenz", sigma=sigma, rho=rho, beta=beta, init=init, hard_initial=hard_initial),
    )


def cubic_oscillator(a11: float = -0.1, a12: float = 2.0, a21: float = -2.0, a22: float = -0.1,
                     init: float = 0.0, t_end: float = 2.0) -> Problem:  # fmt: skip
    """The two-component cubic oscillator of the BiLO reference code's SimpleODE:
    ``x' = a11 x^3 + a12 y^3``, ``y' = a21 x^3 + a22 y^3`` from (2, 0); the four coefficients
    unknown, starting from ``init`` (with a scale of 1, since 0 has no magnitude)."""
    t_end = number(t_end, "t_end", positive=True)
    true = {"a11": a11, "a12": a12, "a21": a21, "a22": a22}
    params = [Parameter(k, init, true=v, scale=1.0) for k, v in true.items()]
    return Problem(
        ("t",),
        {"t": (0.0, t_end)},
        params,
        {"x": "x.t - (a11*x**3 + a12*y**3)", "y": "y.t - (a21*x**3 + a22*y**3)"},
        transform={"x": "2.0 + t*N", "y": "t*N"},
        fields=("x", "y"),
        solution=_ode_reference(
            lambda y, p: [p["a11"] * y[0] ** 3 + p["a12"] * y[1] ** 3, p["a21"] * y[0] ** 3 + p["a22"] * y[1] ** 3],
            [2.0, 0.0],
            t_end,
        ),
        name="cubic_oscillator",
        spec=_spec("cubic_oscillator", a11=a11, a12=a12, a21=a21, a22=a22, init=init, t_end=t_end),
    )


def robin_poisson(k: float = 2.0, k_init: float = 0.5) -> Problem:
    """``-u'' = 4 sin(2x)`` on [0, 1], u(0) = 0 (hard) and the Robin condition
    ``u'(1) + k u(1) = g`` as a loss term, with k unknown; exact solution u = sin(2x) + x."""
    k = number(k, "k")
    g = (2 * math.cos(2.0) + 1.0) + k * (math.sin(2.0) + 1.0)

    def solution(points: np.ndarray, p: Mapping[str, float]) -> np.ndarray:
        return np.sin(2 * points[:, 0]) + points[:, 0]

    return Problem(
        ("x",),
        {"x": (0.0, 1.0)},
        [Parameter("k", k_init, (0.0, None), true=k)],
        "u.xx + 4*sin(2*x)",
        transform="x*N",
        conditions=[robin("x=1", "k", "1", repr(g), n=1)],
        solution=solution,
        name="robin_poisson",
        spec=_spec("robin_poisson", k=k, k_init=k_init),
    )


def neumann_flux(q: float = -0.5, q_init: float = 0.5) -> Problem:
    """``-u'' = pi^2 sin(pi x)`` on [0, 1], u(0) = 0 (hard), the flux ``u'(1) = q`` unknown and
    imposed as a loss term; exact solution u = sin(pi x) + (q + pi) x."""

    def solution(points: np.ndarray, p: Mapping[str, float]) -> np.ndarray:
        x = points[:, 0]
        return np.sin(np.pi * x) + (p["q"] + np.pi) * x

    return Problem(
        ("x",),
        {"x": (0.0, 1.0)},
        [Parameter("q", q_init, true=q)],
        "u.xx + pi**2*sin(pi*x)",
        transform="x*N",
        conditions=[Condition("u.x - q", on="x=1")],
        solution=solution,
        name="neumann_flux",
        spec=_spec("neumann_flux", q=q, q_init=q_init),
    )


def _two_species_reference(D: float, kf: float) -> Callable[[np.ndarray], np.ndarray]:
    """Method of lines for DeepXDE's diffusion-reaction system: second-order differences on 801
    nodes, SciPy's BDF at tight tolerances, cubic splines between the nodes (axes x, t)."""
    from scipy.integrate import solve_ivp  # type: ignore[import-untyped]  # no scipy stubs

    from .solvers.grid import GridSolution

    x = np.linspace(0.0, 1.0, 801)
    t = np.linspace(0.0, 10.0, 201)
    h2 = (x[1] - x[0]) ** 2
    m = x.size - 2
    c0 = np.exp(-20.0 * x[1:-1])

    def rhs(_t: float, y: np.ndarray) -> np.ndarray:
        out = np.empty_like(y)
        for k, (lo, hi) in enumerate(((1.0, 0.0), (1.0, 0.0))):
            c = y[k * m : (k + 1) * m]
            full = np.concatenate([[lo], c, [hi]])
            out[k * m : (k + 1) * m] = D * (full[2:] - 2 * c + full[:-2]) / h2
        a, b = y[:m], y[m:]
        out[:m] -= kf * a * b**2
        out[m:] -= 2 * kf * a * b**2
        return out

    import scipy.sparse as sp  # type: ignore[import-untyped]  # no scipy stubs

    band = sp.diags([1.0, 1.0, 1.0], [-1, 0, 1], shape=(m, m), dtype=float)
    coupling = sp.identity(m)
    pattern = sp.bmat([[band, coupling], [coupling, band]])  # each node couples to its neighbours and its partner
    sol = solve_ivp(
        rhs, (0.0, 10.0), np.concatenate([c0, c0]), method="BDF", t_eval=t, rtol=1e-9, atol=1e-11, jac_sparsity=pattern
    )
    if not sol.success:
        raise RuntimeError(f"the reference solve failed: {sol.message}")
    grids = []
    for k in range(2):
        v = np.empty((x.size, t.size))
        v[0], v[-1] = 1.0, 0.0
        v[1:-1] = sol.y[k * m : (k + 1) * m]
        v[:, 0] = np.exp(-20.0 * x)  # the initial state, whose end value 2e-9 the boundary overrides
        grids.append(GridSolution((x, t), v))

    def values(points: np.ndarray) -> np.ndarray:
        return np.stack([g(points) for g in grids], axis=1)

    return values


def reaction_diffusion(D: float = 2.0, kf: float = 0.1, D_init: float = 1.0, kf_init: float = 0.05,
                       hard: bool = True) -> Problem:  # fmt: skip
    """DeepXDE's diffusion-reaction inverse problem: ``ca_t = 1e-3 D ca_xx - kf ca cb^2``,
    ``cb_t = 1e-3 D cb_xx - 2 kf ca cb^2`` for x in [0, 1], t in [0, 10], both species starting at
    exp(-20 x), equal to 1 at x = 0 and 0 at x = 1; D and kf unknown (true 2 and 0.1, guesses 1 and
    0.05). ``hard=True`` puts the initial and boundary values into the transforms
    (``c = exp(-20x) - x exp(-20) + t x (1 - x) N``); ``hard=False`` imposes them as loss terms, as
    DeepXDE does."""
    hard = flag(hard, "hard")
    g = "(exp(-20*x) - x*exp(-20))"
    fields = ("ca", "cb")
    if hard:
        transform: Dict[str, str] = {f: f"{g} + t*x*(1 - x)*N" for f in fields}
        conditions: Tuple[Condition, ...] = ()
    else:
        transform = {}
        conditions = tuple(
            c
            for f in fields
            for c in (
                Condition(f"{f} - exp(-20*x)", on="t=0", n=64),
                Condition(f"{f} - 1", on="x=0", n=64),
                Condition(f, on="x=1", n=64),
            )
        )

    @functools.lru_cache(maxsize=4)
    def reference(d: float, k: float) -> Callable[[np.ndarray], np.ndarray]:
        return _two_species_reference(1e-3 * d, k)

    return Problem(
        ("x", "t"),
        {"x": (0.0, 1.0), "t": (0.0, 10.0)},
        [Parameter("D", D_init, (0.0, None), true=D), Parameter("kf", kf_init, (0.0, None), true=kf)],
        {"ca": "ca.t - 0.001*D*ca.xx + kf*ca*cb**2", "cb": "cb.t - 0.001*D*cb.xx + 2*kf*ca*cb**2"},
        transform=transform,
        fields=fields,
        conditions=conditions,
        solution=lambda points, p: reference(float(p["D"]), float(p["kf"]))(points),
        name="reaction_diffusion",
        spec=_spec("reaction_diffusion", D=D, kf=kf, D_init=D_init, kf_init=kf_init, hard=hard),
    )


def _u0_true_burgers(x: np.ndarray) -> np.ndarray:
    return 0.5 * np.sin(np.pi * x) + 0.25 * np.sin(2.0 * np.pi * x)


def _burgers_reference(nu: float) -> Callable[[np.ndarray], np.ndarray]:
    """Method of lines for ``u_t + (u^2/2)_x = nu u_xx`` with u = 0 at both ends from the true
    u0: conservative central differences on 801 nodes, SciPy's BDF, cubic splines (axes x, t)."""
    import scipy.sparse as sp  # type: ignore[import-untyped]  # no scipy stubs
    from scipy.integrate import solve_ivp  # type: ignore[import-untyped]  # no scipy stubs

    from .solvers.grid import GridSolution

    x = np.linspace(0.0, 1.0, 801)
    t = np.linspace(0.0, 1.0, 201)
    h = x[1] - x[0]
    m = x.size - 2

    def rhs(_t: float, v: np.ndarray) -> np.ndarray:
        full = np.concatenate([[0.0], v, [0.0]])
        flux = 0.5 * full**2
        return -(flux[2:] - flux[:-2]) / (2 * h) + nu * (full[2:] - 2 * v + full[:-2]) / h**2

    pattern = sp.diags([1.0, 1.0, 1.0], [-1, 0, 1], shape=(m, m), dtype=float)
    sol = solve_ivp(rhs, (0.0, 1.0), _u0_true_burgers(x[1:-1]), method="BDF", t_eval=t, rtol=1e-9, atol=1e-11,
                    jac_sparsity=pattern)  # fmt: skip
    if not sol.success:
        raise RuntimeError(f"the reference solve failed: {sol.message}")
    values = np.zeros((x.size, t.size))
    values[1:-1] = sol.y
    return GridSolution((x, t), values)  # type: ignore[return-value]


def burgers_initial(nu: float = 0.05, hidden: tuple = (16, 16)) -> Problem:
    """Burgers ``u_t + u u_x = nu u_xx`` (nu known) for x, t in [0, 1], u = 0 at x = 0 and 1, with
    an unknown initial condition u0(x) (the BiLO paper's Burgers problem); data at the final time
    t = 1 (``problems.final_time_data``); a smoothness regulariser (``w_reg``) on u0 helps.

    Truth u0 = 0.5 sin(pi x) + 0.25 sin(2 pi x), which steepens towards a front by t = 1.
    Transform u = u0(x) + t x (1 - x) N with u0 = x (1 - x) N0(x)."""
    from .problem import Function

    nu = number(nu, "nu", positive=True)
    reference = functools.lru_cache(maxsize=2)(_burgers_reference)
    u0 = Function("u0", ("x",), "x*(1 - x)*N", hidden, true=lambda z: _u0_true_burgers(z[:, 0]))
    return Problem(
        ("x", "t"),
        {"x": (0.0, 1.0), "t": (0.0, 1.0)},
        [],
        f"u.t + u*u.x - {float(nu)!r}*u.xx",
        "u0 + t*x*(1 - x)*N",
        solution=lambda points, p: reference(float(nu))(points),
        name="burgers_initial",
        spec=_spec("burgers_initial", nu=nu, hidden=list(u0.hidden)),
        functions=[u0],
    )
