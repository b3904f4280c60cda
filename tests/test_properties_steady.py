"""Property-based tests (hypothesis) of every public entry point of pinnbilo.steady: whatever value
any one argument takes, the call returns or raises a pinnbilo error naming that argument; never a
bare TypeError/AttributeError/IndexError/OverflowError, never a hang."""

from __future__ import annotations

import warnings
from typing import Any, Callable, Dict, Tuple

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pinnbilo as pb
from pinnbilo import steady as sd

FAST = settings(
    max_examples=25, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)

GRID = sd.PeriodicGrid(32)
IGRID = sd.IntervalGrid(16)
STATES = sd.aggregation_diffusion_states(GRID, V=lambda x: np.cos(2 * np.pi * x), kappa=0.0, sigma=[0.5, 1.0])
DSTATES = sd.semilinear_states(IGRID, lambda x, u: 1 + 0 * u, left=[0.0, 1.0], right=[0.0, 0.5])
NET = sd.Unknown(hidden=(4,), modes=1)
MODEL_V = sd.AggregationDiffusion(GRID, kappa=0.0, V=NET)
MODEL_G = sd.Semilinear(IGRID, g=sd.Unknown(hidden=(4,)))

# Values no argument of these functions should take without a clear answer.
HOSTILE = st.sampled_from(
    [None, "abc", "", "\ud800", float("nan"), float("inf"), -float("inf"), -1, 0, 1.5, 10**9, 2**63, 10**400,
     1 + 2j, [1, 2], [[1], [2, 3]], np.array([]), np.full(3, np.nan), object(), True, {"a": 1}, (), b"x"]
)  # fmt: skip
ANY = HOSTILE | st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(2**70), 2**70) | st.text(max_size=5)

# entry point -> (function, valid keyword arguments); each argument is replaced in turn.
CASES: Dict[str, Tuple[Callable[..., Any], Dict[str, Any]]] = {
    "PeriodicGrid": (sd.PeriodicGrid, dict(n=32, length=1.0)),
    "IntervalGrid": (sd.IntervalGrid, dict(n=16, a=0.0, b=1.0)),
    "steady_state": (
        sd.steady_state,
        dict(
            grid=GRID,
            V=None,
            W=None,
            kappa=1.0,
            sigma=1.0,
            mass=1.0,
            u0=None,
            method="picard",
            damping=0.5,
            tol=1e-10,
            maxiter=200,
        ),
    ),  # fmt: skip
    "evolve": (sd.evolve, dict(grid=GRID, u0=np.ones(32), V=None, W=None, kappa=1.0, sigma=1.0, t_end=0.1, dt=0.01)),
    "is_stable": (sd.is_stable, dict(grid=GRID, u=np.ones(32), kappa=1.0, sigma=1.0, size=1e-3, t_end=0.2, seed=0)),
    "aggregation_diffusion_states": (
        sd.aggregation_diffusion_states,
        dict(grid=GRID, V=np.cos(2 * np.pi * GRID.x), kappa=0.0, sigma=[0.5, 1.0], mass=1.0, u0=None),
    ),
    "semilinear_state": (
        sd.semilinear_state,
        dict(grid=IGRID, g=lambda x, u: 1 + 0 * u, diffusion=1.0, left=0.0, right=0.0, u0=None, tol=1e-11, maxiter=50),
    ),
    "semilinear_states": (
        sd.semilinear_states,
        dict(grid=IGRID, g=lambda x, u: 1 + 0 * u, diffusion=1.0, left=0.0, right=0.0, u0=None),
    ),
    "PeriodicStates": (
        sd.PeriodicStates,
        dict(grid=GRID, u=STATES.u, sigma=STATES.sigma, mass=STATES.mass, weights=None),
    ),
    "DirichletStates": (sd.DirichletStates, dict(grid=IGRID, u=DSTATES.u, left=DSTATES.left, right=DSTATES.right)),
    "observe_periodic": (sd.observe_periodic, dict(states=STATES, m=8, noise=0.01, seed=0)),
    "denoise_periodic": (sd.denoise_periodic, dict(states=STATES, factor=3.0)),
    "observe_dirichlet": (sd.observe_dirichlet, dict(states=DSTATES, m=8, noise=0.01, seed=0)),
    "sample_indices": (sd.sample_indices, dict(n=32, m=8)),
    "Unknown": (sd.Unknown, dict(hidden=(4,), activation="tanh", modes=1, seed=0)),
    "AggregationDiffusion": (sd.AggregationDiffusion, dict(grid=GRID, kappa=0.0, V=NET, W=None)),
    "AggregationDiffusion.fit": (
        MODEL_V.fit,
        dict(data=STATES, adam_steps=3, lr=1e-3, lbfgs_steps=3, progress=False, check=True, smoothness=0.0),
    ),
    "AggregationDiffusion.evaluate": (MODEL_V.evaluate, dict(name="V", at=np.array([0.1, 0.2]))),
    "AggregationDiffusion.loss_and_grad": (MODEL_V.loss_and_grad, dict(data=STATES, params=None, smoothness=0.0)),
    "AggregationDiffusion.predict": (MODEL_V.predict, dict(sigma=1.0, mass=1.0, u0=None, method="picard")),
    "Semilinear": (sd.Semilinear, dict(grid=IGRID, diffusion=1.0, g=sd.Unknown(hidden=(4,)), depends_on="u")),
    "Semilinear.fit": (MODEL_G.fit, dict(data=DSTATES, adam_steps=3, lr=1e-3, lbfgs_steps=3, progress=False)),
    "Semilinear.g": (MODEL_G.g, dict(x=np.array([0.1]), u=np.array([0.1]))),
    "identifiability": (
        sd.identifiability,
        dict(model=MODEL_V, data=STATES, rtol=1e-8, mode_tol=1e-3, observed_only=False, checked_modes=None),
    ),
    "fixed_point_jacobian": (
        sd.fixed_point_jacobian,
        dict(grid=GRID, data=STATES, V=np.zeros(32), W=np.zeros(32), kappa=0.0, unknowns=("V",), observed_only=False),
    ),
    "direct_potential": (sd.direct_potential, dict(grid=GRID, u=np.ones(32), sigma=1.0, W=None, kappa=0.0)),
    "distill": (
        sd.distill,
        dict(x=GRID.x, y=np.cos(2 * np.pi * GRID.x), terms=sd.fourier(2), threshold=0.05, max_iter=20),
    ),
    "polynomials": (sd.polynomials, dict(degree=3, var="x")),
    "fourier": (sd.fourier, dict(modes=3, length=1.0, var="x", even=False)),
    "gaussians": (sd.gaussians, dict(centers=[0.0], widths=[0.1], var="x")),
    "relative_error": (sd.relative_error, dict(learned=np.ones(3), truth=np.arange(3.0), gauge=True)),
}
ARGUMENTS = [(name, arg) for name, (_, kw) in CASES.items() for arg in kw]


def _call(name: str, arg: str, value: object) -> None:
    from pinnbilo.steady import generate

    fn, kw = CASES[name]
    cap = generate.MAX_TIME_STEPS
    # A t_end of 1e5 is valid (2e6 steps, minutes): what is tested is the answer, not the run, so
    # the cap on time steps is lowered here (the cap itself is tested in test_steady_errors).
    generate.MAX_TIME_STEPS = 2000
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fn(**{**kw, arg: value})
        except pb.PinnbiloError:
            pass  # InputError, SolverFailed: the library's own, with its message
        finally:
            generate.MAX_TIME_STEPS = cap


@pytest.mark.parametrize("name", list(CASES))
def test_valid_arguments_run(name):
    fn, kw = CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fn(**kw)


@pytest.mark.parametrize("name,arg", ARGUMENTS)
@FAST
@given(value=ANY)
def test_any_value_of_any_argument_is_answered_clearly(name, arg, value):
    _call(name, arg, value)


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: sd.steady_state("grid"), "grid must be a pinnbilo.steady.PeriodicGrid"),
        (lambda: sd.steady_state(GRID, kappa=None), "kappa must be a real number"),
        (lambda: sd.steady_state(GRID, mass="2"), "mass must be a real number"),
        (lambda: sd.steady_state(GRID, u0="flat"), "u0 must be an array"),
        (lambda: sd.steady_state(GRID, maxiter=2.5), "maxiter must be an integer"),
        (lambda: sd.steady_state(GRID, tol=None), "tol must be a real number"),
        (lambda: MODEL_V.fit(STATES, lr="fast"), "lr must be a real number"),
        (lambda: MODEL_V.fit(STATES, adam_steps="many"), "adam_steps must be an integer"),
        (lambda: MODEL_V.fit(STATES, check="no"), "check must be True or False"),
        (lambda: sd.aggregation_diffusion_states(GRID, sigma="0.5"), "sigma must be an array of numbers"),
        (lambda: sd.aggregation_diffusion_states(GRID, sigma=[]), "sigma is empty"),
        (lambda: sd.distill(GRID.x, GRID.x, terms=None), "terms must be a list of Term"),
        (lambda: sd.distill(GRID.x, GRID.x, sd.fourier(2), threshold=None), "threshold must be a real number"),
        (lambda: sd.distill(GRID.x, GRID.x, [sd.Term("bad", lambda x: 1 / 0)]), "term 'bad' raised ZeroDivisionError"),
        (lambda: sd.identifiability(MODEL_V, STATES, rtol=float("nan")), "rtol must be finite"),
        (lambda: sd.identifiability(MODEL_V, STATES, checked_modes=-1), "checked_modes must be at least 1"),
        (lambda: sd.PeriodicStates(GRID, STATES.u, 1.0, weights=np.zeros((2, 32))), "no observed point"),
        (lambda: MODEL_V.fit(STATES, smoothness={"W": 1e-3}), "smoothness for W, which is known"),
        (lambda: sd.fixed_point_jacobian(GRID, STATES, GRID.x, GRID.x, 0.0, unknowns=None), "unknowns must be"),
        (lambda: MODEL_G.g(np.array([]), np.array([])), "x and u are empty"),
        (lambda: sd.Unknown(hidden=(10**6,)), "Unknown.hidden width must be at most"),
        (lambda: sd.Unknown(hidden=8), "Unknown.hidden must be a tuple"),
        (lambda: sd.PeriodicGrid(10**9), "PeriodicGrid n must be at most"),
        (lambda: sd.sample_indices(2**63, None), "n must be at most"),
        (lambda: sd.direct_potential(GRID, np.ones(32), 1.0, W="x"), "W must be an array"),
        (lambda: sd.steady_state(GRID, V=lambda x: x[:3]), r"V: expected shape \(32,\)"),
        (lambda: sd.steady_state(GRID, V=lambda x: 1 / 0), "V raised ZeroDivisionError"),
        (lambda: sd.semilinear_state(IGRID, lambda x, u: 1j * u), "g\\(x, u\\) must be real"),
    ],
)
def test_named_messages(call, words):
    with pytest.raises(pb.InputError, match=words):
        call()


def test_solver_failure_messages_stay_short(monkeypatch):
    # scipy's NoConvergence message holds the whole iterate (~2 kB at n = 128); ours keeps its first line.
    from scipy.optimize import NoConvergence

    from pinnbilo.steady import generate

    def failing(*args, **kwargs):
        raise NoConvergence("no convergence\n" + repr(list(np.linspace(0, 1, 128))))

    monkeypatch.setattr(generate, "newton_krylov", failing)  # the semilinear solver's Newton-Krylov
    with pytest.raises(sd.SolverFailed) as err:
        sd.semilinear_state(sd.IntervalGrid(128), lambda x, u: 1.0 + 0 * u)
    assert "no convergence" in str(err.value) and len(str(err.value)) < 300
