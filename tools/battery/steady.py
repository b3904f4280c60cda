"""Area 6: pinnbilo.steady, every public function and class of its ``__all__``, each argument crossed
with the hostile values, plus the documented refusals (smoothness of a known function, all-zero
weights, caps on sizes and steps)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Callable, Dict, List, Tuple

import numpy as np

from pinnbilo import steady as st

from .core import (
    ARRAYS,
    CALLABLES,
    CHOICE,
    COUNT,
    FLAG,
    NONNEG,
    OPTIONAL,
    POS,
    REAL,
    SEED,
    TEXT,
    Case,
    Silent,
    case,
    cross,
    expect_clear,
    finite,
    kind,
)

AREA = "steady"
MOD = __name__


@lru_cache(maxsize=None)
def _fx() -> Dict[str, Any]:
    grid = st.PeriodicGrid(32)
    igrid = st.IntervalGrid(16)
    states = st.aggregation_diffusion_states(grid, V=lambda x: np.cos(2 * np.pi * x), kappa=0.0, sigma=[0.5, 1.0])
    dstates = st.semilinear_states(igrid, g=lambda x, u: 1.0 + 0.0 * u, left=[0.0, 0.5], right=0.0)
    return dict(grid=grid, igrid=igrid, states=states, dstates=dstates)


def _ad(**kw: Any) -> Any:
    args: Dict[str, Any] = dict(grid=_fx()["grid"], kappa=0.0, V=st.Unknown(hidden=(4,), modes=2))
    args.update(kw)
    return st.AggregationDiffusion(**args)


def _sl(**kw: Any) -> Any:
    args: Dict[str, Any] = dict(grid=_fx()["igrid"], g=st.Unknown(hidden=(4,)))
    args.update(kw)
    return st.Semilinear(**args)


# name -> (function, default keyword arguments); built in the child
def _entries() -> Dict[str, Tuple[Callable[..., Any], Callable[[], Dict[str, Any]]]]:
    f = _fx
    return {
        "PeriodicGrid": (st.PeriodicGrid, lambda: dict(n=32)),
        "IntervalGrid": (st.IntervalGrid, lambda: dict(n=16)),
        "PeriodicGrid.convolve": (lambda **k: f()["grid"].convolve(**k), lambda: dict(w=np.ones(32), u=np.ones(32))),
        "PeriodicGrid.integrate": (lambda **k: f()["grid"].integrate(**k), lambda: dict(u=np.ones((2, 32)))),
        "PeriodicGrid.fourier_features": (
            lambda **k: f()["grid"].fourier_features(**k),
            lambda: dict(x=f()["grid"].x, modes=2),
        ),
        "PeriodicStates": (st.PeriodicStates, lambda: dict(grid=f()["grid"], u=f()["states"].u, sigma=[0.5, 1.0])),
        "DirichletStates": (
            st.DirichletStates,
            lambda: dict(grid=f()["igrid"], u=f()["dstates"].u, left=0.0, right=0.0),
        ),
        "PeriodicStates.subset": (lambda **k: f()["states"].subset(**k), lambda: dict(idx=[0])),
        "DirichletStates.subset": (lambda **k: f()["dstates"].subset(**k), lambda: dict(idx=[0])),
        "observe_periodic": (st.observe_periodic, lambda: dict(states=f()["states"], m=16)),
        "denoise_periodic": (st.denoise_periodic, lambda: dict(states=f()["states"])),
        "observe_dirichlet": (st.observe_dirichlet, lambda: dict(states=f()["dstates"], m=8)),
        "sample_indices": (st.sample_indices, lambda: dict(n=32, m=8)),
        "aggregation_map": (
            st.aggregation_map,
            lambda: dict(
                grid=f()["grid"], u=f()["states"].u[0], V=np.zeros(32), W=np.zeros(32), kappa=1.0, sigma=1.0, mass=1.0
            ),
        ),
        "steady_state": (
            st.steady_state,
            lambda: dict(grid=f()["grid"], V=np.cos(2 * np.pi * f()["grid"].x), kappa=0.0),
        ),
        "aggregation_diffusion_states": (
            st.aggregation_diffusion_states,
            lambda: dict(grid=f()["grid"], kappa=0.0, V=np.cos(2 * np.pi * f()["grid"].x), sigma=[0.5, 1.0]),
        ),
        "evolve": (st.evolve, lambda: dict(grid=f()["grid"], u0=f()["states"].u[0], kappa=0.0, t_end=0.1, dt=0.01)),
        "is_stable": (
            st.is_stable,
            lambda: dict(
                grid=f()["grid"],
                u=f()["states"].u[0],
                kappa=0.0,
                V=np.cos(2 * np.pi * f()["grid"].x),
                sigma=0.5,
                t_end=0.5,
                dt=0.05,
            ),
        ),
        "semilinear_map": (
            st.semilinear_map,
            lambda: dict(
                grid=f()["igrid"], u=f()["dstates"].u[0], g=lambda x, u: 1.0 + 0 * u, diffusion=1.0, left=0.0, right=0.0
            ),
        ),
        "semilinear_state": (st.semilinear_state, lambda: dict(grid=f()["igrid"], g=lambda x, u: 1.0 + 0 * u)),
        "semilinear_states": (
            st.semilinear_states,
            lambda: dict(grid=f()["igrid"], g=lambda x, u: 1.0 + 0 * u, left=[0.0, 0.5]),
        ),
        "Unknown": (
            lambda **k: _ad(V=st.Unknown(**k)).fit(_fx()["states"], adam_steps=2, lbfgs_steps=1, check=False),
            lambda: dict(hidden=(4,), modes=2),
        ),
        "AggregationDiffusion": (
            lambda **k: st.AggregationDiffusion(**k).fit(_fx()["states"], adam_steps=2, lbfgs_steps=1, check=False),
            lambda: dict(grid=f()["grid"], kappa=0.0, V=st.Unknown(hidden=(4,), modes=2)),
        ),
        "AggregationDiffusion.fit": (
            lambda **k: _ad().fit(**k),
            lambda: dict(data=f()["states"], adam_steps=3, lbfgs_steps=2),
        ),
        "AggregationDiffusion.loss_and_grad": (lambda **k: _ad().loss_and_grad(**k), lambda: dict(data=f()["states"])),
        "AggregationDiffusion.build": (lambda **k: _ad().build(**k), lambda: dict(data=f()["states"])),
        "AggregationDiffusion.evaluate": (lambda **k: _ad().evaluate(**k), lambda: dict(name="V", at=[0.1, 0.2])),
        "AggregationDiffusion.predict": (lambda **k: _ad().predict(**k), lambda: dict(sigma=1.0, mass=1.0)),
        "Semilinear": (
            lambda **k: st.Semilinear(**k).fit(_fx()["dstates"], adam_steps=2, lbfgs_steps=1),
            lambda: dict(grid=f()["igrid"], g=st.Unknown(hidden=(4,))),
        ),
        "Semilinear.fit": (lambda **k: _sl().fit(**k), lambda: dict(data=f()["dstates"], adam_steps=3, lbfgs_steps=2)),
        "Semilinear.loss_and_grad": (lambda **k: _sl().loss_and_grad(**k), lambda: dict(data=f()["dstates"])),
        "Semilinear.g": (lambda **k: _sl().g(**k), lambda: dict(x=[0.5], u=[0.5])),
        "Semilinear.predict": (lambda **k: _sl().predict(**k), lambda: dict(left=0.0, right=0.0)),
        "relative_error": (st.relative_error, lambda: dict(learned=[1.0, 2.0, 3.0], truth=[1.0, 3.0, 2.0])),
        "identifiability": (st.identifiability, lambda: dict(model=_ad(), data=f()["states"])),
        "fixed_point_jacobian": (
            st.fixed_point_jacobian,
            lambda: dict(grid=f()["grid"], data=f()["states"], V=np.zeros(32), W=np.zeros(32), kappa=1.0),
        ),
        "direct_potential": (st.direct_potential, lambda: dict(grid=f()["grid"], u=f()["states"].u[0], sigma=0.5)),
        "polynomials": (st.polynomials, lambda: dict(degree=3)),
        "fourier": (st.fourier, lambda: dict(modes=3)),
        "gaussians": (st.gaussians, lambda: dict(centers=[0.0, 0.5], widths=[0.1])),
        "distill": (
            st.distill,
            lambda: dict(x=f()["grid"].x, y=np.cos(2 * np.pi * f()["grid"].x), terms=st.constant() + st.fourier(2)),
        ),
    }


def _check_result(out: Any) -> str:
    arrays: List[Any] = []
    if isinstance(out, np.ndarray):
        arrays.append(out)
    elif isinstance(out, (st.PeriodicStates, st.DirichletStates)):
        arrays += [out.u, out.weights]
    elif isinstance(out, st.SteadyFit):
        arrays += [out.params, np.array([out.loss])]
        arrays += list(out.functions.values())
    elif isinstance(out, tuple):
        arrays += [np.asarray(x, dtype=float) for x in out if isinstance(x, (float, np.ndarray))]
    elif isinstance(out, float):
        arrays.append(np.array([out]))
    for a in arrays:
        if np.asarray(a).dtype.kind in "fc" and not finite(a):
            raise Silent(f"accepted, and the result holds non-finite values ({type(out).__name__})")
    return f"returned {type(out).__name__}"


def t_call(_fn: str, **kw: Any) -> Any:
    fn, defaults = _entries()[_fn]
    args = defaults()
    args.update(kw)
    return _check_result(fn(**args))


def t_special(_what: str) -> Any:
    fx = _fx()
    g, states = fx["grid"], fx["states"]
    if _what == "smoothness_of_known_V":
        m = st.AggregationDiffusion(g, kappa=1.0, V=np.cos(2 * np.pi * g.x), W=st.Unknown(hidden=(4,), modes=2))
        return _check_result(m.fit(states, adam_steps=2, lbfgs_steps=1, check=False, smoothness={"V": 1.0}))
    if _what == "smoothness_unknown_key":
        return _check_result(_ad().fit(states, adam_steps=2, lbfgs_steps=1, smoothness={"X": 1.0}))
    if _what == "smoothness_string_value":
        return _check_result(_ad().fit(states, adam_steps=2, lbfgs_steps=1, smoothness={"V": "a"}))
    if _what == "weights_all_zero":
        return _check_result(st.PeriodicStates(g, states.u, states.sigma, weights=np.zeros_like(states.u)))
    if _what == "weights_one_state_zero":
        w = np.ones_like(states.u)
        w[1] = 0
        return _check_result(st.PeriodicStates(g, states.u, states.sigma, weights=w))
    if _what == "weights_negative":
        return _check_result(st.PeriodicStates(g, states.u, states.sigma, weights=-np.ones_like(states.u)))
    if _what == "states_negative_density":
        return _check_result(st.PeriodicStates(g, -states.u, states.sigma, mass=[1.0, 1.0]))
    if _what == "states_zero_mass":
        return _check_result(st.PeriodicStates(g, 0 * states.u, states.sigma))
    if _what == "W_unknown_kappa_zero":
        return _check_result(_ad(W=st.Unknown(hidden=(4,), modes=2), V=None))
    if _what == "nothing_unknown":
        return _check_result(_ad(V=None))
    if _what == "data_on_other_grid":
        other = st.aggregation_diffusion_states(st.PeriodicGrid(16), V=None, kappa=0.0, sigma=1.0)
        return _check_result(_ad().fit(other, adam_steps=2, lbfgs_steps=1))
    if _what == "dirichlet_data_for_aggregation":
        return _check_result(_ad().fit(fx["dstates"], adam_steps=2, lbfgs_steps=1))
    if _what == "fit_diverging_lr":
        r = _ad().fit(states, adam_steps=200, lr=1e8, lbfgs_steps=0, check=False)
        if not finite(r.params) or not np.isfinite(r.loss):
            raise Silent(f"a diverging fit returned non-finite params/loss (status {r.status})")
        return f"status {r.status}, loss {r.loss:.3g}"
    if _what == "grid_10**7":
        return _check_result(st.PeriodicGrid(10**7))
    if _what == "fourier_10**7":
        return _check_result(st.fourier(10**7))
    if _what == "evolve_1e9_steps":
        return _check_result(st.evolve(g, states.u[0], kappa=0.0, t_end=1e7, dt=1e-2))
    if _what == "evolve_t_end_negative":
        return _check_result(st.evolve(g, states.u[0], kappa=0.0, t_end=-1.0))
    if _what == "identifiability_rtol_nan":
        return _check_result(st.identifiability(_ad(), states, rtol=float("nan")))
    if _what == "identifiability_checked_modes_-1":
        return _check_result(st.identifiability(_ad(), states, checked_modes=-1))
    if _what == "identifiability_checked_modes_too_many":
        return _check_result(st.identifiability(_ad(), states, checked_modes=17))
    if _what == "observe_more_than_grid":
        return _check_result(st.observe_periodic(states, m=33))
    if _what == "jacobian_huge_grid":
        big = st.PeriodicGrid(20000)
        u = np.ones((2, 20000))
        s = st.PeriodicStates(big, u, [1.0, 1.0])
        return _check_result(st.fixed_point_jacobian(big, s, np.zeros(20000), np.zeros(20000), 1.0))
    if _what == "identifiability_huge_grid":
        big = st.PeriodicGrid(5000)
        s = st.PeriodicStates(big, np.ones((1, 5000)) + 0.1 * np.cos(2 * np.pi * big.x), [1.0])
        return _check_result(st.identifiability(_ad(grid=big), s))
    if _what == "distill_term_nan":
        t = st.Term("bad", lambda x: x * np.nan)
        return _check_result(st.distill(g.x, np.cos(2 * np.pi * g.x), [t] + st.fourier(1)))
    if _what == "distill_term_raises":
        t = st.Term("bad", lambda x: 1 / 0)  # type: ignore[arg-type,return-value]  # raises on purpose
        return _check_result(st.distill(g.x, np.cos(2 * np.pi * g.x), [t] + st.fourier(1)))
    if _what == "distill_term_complex":
        t = st.Term("bad", lambda x: x + 1j)
        return _check_result(st.distill(g.x, np.cos(2 * np.pi * g.x), [t] + st.fourier(1)))
    if _what == "distill_term_wrong_shape":
        t = st.Term("bad", lambda x: np.ones(3))
        return _check_result(st.distill(g.x, np.cos(2 * np.pi * g.x), [t] + st.fourier(1)))
    if _what == "distill_duplicate_terms":
        return _check_result(st.distill(g.x, np.cos(2 * np.pi * g.x), st.fourier(2) + st.fourier(2)))
    if _what == "distill_y_zero":
        return _check_result(st.distill(g.x, 0 * g.x, st.fourier(2)))
    if _what == "semilinear_g_raises":
        return _check_result(st.semilinear_state(fx["igrid"], lambda x, u: 1 / 0))  # type: ignore[arg-type,return-value]
    if _what == "semilinear_g_nan":
        return _check_result(st.semilinear_state(fx["igrid"], lambda x, u: u * np.nan))
    if _what == "semilinear_g_blows_up":
        return _check_result(st.semilinear_state(fx["igrid"], lambda x, u: np.exp(50 * u) * 1e10))
    if _what == "steady_state_V_raises":
        return _check_result(st.steady_state(g, V=lambda x: 1 / 0, kappa=0.0))
    if _what == "steady_state_V_complex":
        return _check_result(st.steady_state(g, V=lambda x: x + 1j, kappa=0.0))
    if _what == "steady_state_newton_V_nan":
        return _check_result(st.steady_state(g, V=lambda x: x * np.nan, kappa=0.0, method="newton"))
    if _what == "u0_negative":
        return _check_result(st.steady_state(g, V=None, kappa=0.0, u0=-np.ones(32)))
    if _what == "evaluate_known_function":
        return _check_result(_ad().evaluate("W", [0.1]))
    if _what == "newton_message_short":
        # scipy's NoConvergence carries the whole last iterate (n values); the message must not
        # (the semilinear solver uses scipy's newton_krylov; the periodic one's own Newton is
        # made to fail by one iteration from the uniform start of a peaked state)
        from scipy.optimize import NoConvergence  # type: ignore[import-untyped]  # no scipy stubs

        from pinnbilo.steady import generate

        def failing(f: Any, x0: Any, **kw: Any) -> Any:
            raise NoConvergence(np.asarray(x0) * 1.01)

        real = generate.newton_krylov
        generate.newton_krylov = failing
        try:
            msg = expect_clear(
                lambda: st.semilinear_state(fx["igrid"], lambda x, u: 1.0 + 0 * u), what="newton failure"
            )
            g256 = st.PeriodicGrid(256)
            msg2 = expect_clear(lambda: st.steady_state(g256, V=np.cos(2 * np.pi * g256.x), W=lambda r: -np.exp(-(r**2) / 0.02),
                                                        sigma=0.05, method="newton", maxiter=1), what="newton failure")  # fmt: skip
            if len(msg2) > 300 or "residual" not in msg2:
                raise Silent(f"the failure message is not a short summary with the residual: {msg2[:200]!r}")
        finally:
            generate.newton_krylov = real
        numbers = re.findall(r"\d\.\d+(?:e[-+]?\d+)?", msg)
        if len(msg) > 300 or len(numbers) > 3 or "residual" not in msg:
            raise Silent(f"the failure message is not a short summary with the residual: {msg[:200]!r}")
        return msg
    if _what == "aggregation_map_overflow":
        return _check_result(st.aggregation_map(g, states.u[0], 1e300 * np.cos(2 * np.pi * g.x), np.zeros(32),
                                                1.0, 1e-10, 1.0))  # fmt: skip
    if _what == "steady_state_picard_overflow":
        return _check_result(st.steady_state(g, V=1e300 * np.cos(2 * np.pi * g.x), kappa=0.0, sigma=1e-10))
    if _what == "semilinear_map_g_overflow":
        return _check_result(st.semilinear_map(fx["igrid"], fx["dstates"].u[0], lambda x, u: 1e308 + 0 * u,
                                               1e-300, 0.0, 0.0))  # fmt: skip
    if _what == "fit_check_on_huge_grid":
        big = st.PeriodicGrid(5000)
        s = st.PeriodicStates(big, np.ones((1, 5000)) + 0.1 * np.cos(2 * np.pi * big.x), [1.0])
        return _check_result(_ad(grid=big).fit(s, adam_steps=1, lbfgs_steps=0))
    if _what == "semilinear_g_outside_range":
        m = _sl()
        m.fit(fx["dstates"], adam_steps=2, lbfgs_steps=1)
        return _check_result(m.g([0.5], [1e6]))
    raise KeyError(_what)


ARGS: Dict[str, Dict[str, Any]] = {
    "PeriodicGrid": {"n": kind(), "length": POS},
    "IntervalGrid": {"n": kind(), "a": REAL, "b": REAL},
    "PeriodicGrid.convolve": {"w": CHOICE, "u": CHOICE},
    "PeriodicGrid.integrate": {"u": CHOICE},
    "PeriodicGrid.fourier_features": {"x": kind("list3", "empty"), "modes": kind("one", "big"), "even": FLAG},
    "PeriodicStates": {"grid": CHOICE, "u": CHOICE, "sigma": POS, "mass": POS.plus("none"), "weights": OPTIONAL},
    "DirichletStates": {"grid": CHOICE, "u": CHOICE, "left": REAL, "right": REAL, "weights": OPTIONAL},
    "PeriodicStates.subset": {"idx": kind()},
    "DirichletStates.subset": {"idx": kind()},
    "observe_periodic": {"states": CHOICE, "m": OPTIONAL, "noise": NONNEG, "seed": SEED},
    "denoise_periodic": {"states": CHOICE, "factor": POS},
    "observe_dirichlet": {"states": CHOICE, "m": OPTIONAL, "noise": NONNEG, "seed": SEED},
    "sample_indices": {"n": kind("one"), "m": OPTIONAL},
    "aggregation_map": {"grid": CHOICE, "u": CHOICE, "V": CHOICE, "W": CHOICE, "kappa": REAL, "sigma": POS,
                        "mass": POS},
    "steady_state": {"grid": CHOICE, "V": OPTIONAL, "W": OPTIONAL, "kappa": REAL, "sigma": POS, "mass": POS,
                     "u0": OPTIONAL, "method": CHOICE, "damping": kind("one"), "tol": POS, "maxiter": kind("one")},
    "aggregation_diffusion_states": {"grid": CHOICE, "V": OPTIONAL, "W": OPTIONAL, "kappa": REAL,
                                     "sigma": POS.plus("list3"),
                                     "mass": POS, "u0": OPTIONAL, "method": CHOICE},
    "evolve": {"grid": CHOICE, "u0": CHOICE, "V": OPTIONAL, "W": OPTIONAL, "kappa": REAL, "sigma": POS,
               "t_end": POS.minus("big", "i63"), "dt": POS, "tol": NONNEG},
    "is_stable": {"grid": CHOICE, "u": CHOICE, "V": OPTIONAL, "W": OPTIONAL, "kappa": REAL, "sigma": POS,
                  "size": kind(), "t_end": POS.minus("big", "i63"), "dt": POS, "seed": SEED},
    "semilinear_map": {"grid": CHOICE, "u": CHOICE, "g": CHOICE, "diffusion": POS, "left": REAL, "right": REAL},
    "semilinear_state": {"grid": CHOICE, "g": CHOICE, "diffusion": POS, "left": REAL, "right": REAL, "u0": OPTIONAL,
                         "tol": POS, "maxiter": kind("one")},
    "semilinear_states": {"grid": CHOICE, "g": CHOICE, "diffusion": POS, "left": REAL.plus("list3"), "right": REAL,
                          "u0": OPTIONAL},
    "Unknown": {"hidden": kind("list3"), "activation": CHOICE, "modes": kind("one"), "seed": SEED},
    "AggregationDiffusion": {"grid": CHOICE, "kappa": REAL, "V": CHOICE, "W": OPTIONAL},
    # None for the optimiser options means "the default" (it lets Spectral fits refuse given ones)
    "AggregationDiffusion.fit": {"data": CHOICE, "adam_steps": COUNT.plus("none"), "lr": POS.plus("none"),
                                 "lbfgs_steps": COUNT.plus("none"),
                                 "progress": FLAG, "check": FLAG, "smoothness": NONNEG},
    "AggregationDiffusion.loss_and_grad": {"data": CHOICE, "params": OPTIONAL, "smoothness": NONNEG},
    "AggregationDiffusion.build": {"data": CHOICE, "smoothness": NONNEG},
    "AggregationDiffusion.evaluate": {"name": CHOICE, "at": kind("list3")},
    "AggregationDiffusion.predict": {"sigma": POS, "mass": POS, "u0": OPTIONAL, "method": CHOICE},
    "Semilinear": {"grid": CHOICE, "diffusion": POS, "g": OPTIONAL, "depends_on": CHOICE},
    "Semilinear.fit": {"data": CHOICE, "adam_steps": COUNT.plus("none"), "lr": POS.plus("none"),
                       "lbfgs_steps": COUNT.plus("none"), "progress": FLAG},
    "Semilinear.loss_and_grad": {"data": CHOICE, "params": OPTIONAL},
    "Semilinear.g": {"x": kind("zero", "one", "frac", "neg1", "negfrac", "list3", "big", "i63", "arr3d"),
                     "u": kind("zero", "one", "frac", "neg1", "negfrac", "list3", "big", "i63", "arr3d")},
    "Semilinear.predict": {"left": REAL, "right": REAL, "u0": OPTIONAL},
    "relative_error": {"learned": kind("list3"), "truth": kind("list3"), "gauge": FLAG},
    "identifiability": {"model": CHOICE, "data": CHOICE, "rtol": kind("zero", "one"), "mode_tol": NONNEG,
                        "observed_only": FLAG, "checked_modes": kind("none", "one")},
    "fixed_point_jacobian": {"grid": CHOICE, "data": CHOICE, "V": CHOICE, "W": CHOICE, "kappa": REAL,
                             "unknowns": CHOICE, "observed_only": FLAG},
    "direct_potential": {"grid": CHOICE, "u": CHOICE, "sigma": POS, "W": OPTIONAL, "kappa": REAL},
    "polynomials": {"degree": kind("zero", "one"), "var": TEXT},
    "fourier": {"modes": kind("zero", "one"), "length": POS, "var": TEXT, "even": FLAG},
    "gaussians": {"centers": kind("zero", "one", "frac", "neg1", "negfrac", "big", "i63", "list3", "empty"),
                  "widths": kind("one", "frac", "big", "i63", "list3", "empty"), "var": TEXT},
    "distill": {"x": CHOICE, "y": CHOICE, "terms": CHOICE, "threshold": kind("zero"), "max_iter": kind("one")},
}  # fmt: skip

SPECIAL = {
    "smoothness_of_known_V": "error", "smoothness_unknown_key": "error", "smoothness_string_value": "error",
    "weights_all_zero": "error", "weights_one_state_zero": "error", "weights_negative": "error",
    "states_negative_density": "accept", "states_zero_mass": "error", "W_unknown_kappa_zero": "error",
    "nothing_unknown": "error", "data_on_other_grid": "error", "dirichlet_data_for_aggregation": "error",
    "fit_diverging_lr": "check", "grid_10**7": "error", "fourier_10**7": "error", "evolve_1e9_steps": "error",
    "evolve_t_end_negative": "error", "identifiability_rtol_nan": "error",
    "identifiability_checked_modes_-1": "error", "identifiability_checked_modes_too_many": "error",
    "observe_more_than_grid": "error", "jacobian_huge_grid": "error", "identifiability_huge_grid": "accept",
    "distill_term_nan": "error", "distill_term_raises": "error", "distill_term_complex": "error",
    "distill_term_wrong_shape": "error", "distill_duplicate_terms": "accept", "distill_y_zero": "accept",
    "semilinear_g_raises": "error", "semilinear_g_nan": "error", "semilinear_g_blows_up": "error",
    "steady_state_V_raises": "error", "steady_state_V_complex": "error", "steady_state_newton_V_nan": "error",
    "u0_negative": "error", "evaluate_known_function": "error", "semilinear_g_outside_range": "accept",
    "newton_message_short": "check", "aggregation_map_overflow": "error", "steady_state_picard_overflow": "error",
    "semilinear_map_g_overflow": "error", "fit_check_on_huge_grid": "accept",
}  # fmt: skip


def cases() -> List[Case]:
    out: List[Case] = []
    for fn, args in ARGS.items():
        callables_too = any(a in ("V", "W", "g") for a in args)
        out += cross(AREA, MOD, "t_call", f"steady.{fn}", args, base={"_fn": fn},
                     values=ARRAYS + (CALLABLES if callables_too else ()), timeout=60)  # fmt: skip
    # elements and per-state forms
    out += cross(AREA, MOD, "t_call", "steady.Unknown", {"hidden[0]": kind("one")}, base={"_fn": "Unknown"},
                 wrap={"hidden[0]": lambda v: (v,)}, words={"hidden[0]": ("hidden",)})  # fmt: skip
    out += cross(AREA, MOD, "t_call", "steady.aggregation_diffusion_states", {"sigma[1]": POS},
                 base={"_fn": "aggregation_diffusion_states"}, wrap={"sigma[1]": lambda v: [0.5, v]},
                 words={"sigma[1]": ("sigma",)})  # fmt: skip
    out += cross(AREA, MOD, "t_call", "steady.AggregationDiffusion.fit", {"smoothness[V]": NONNEG},
                 base={"_fn": "AggregationDiffusion.fit"}, wrap={"smoothness[V]": lambda v: {"V": v}},
                 words={"smoothness[V]": ("smoothness",)})  # fmt: skip
    out += cross(AREA, MOD, "t_call", "steady.aggregation_diffusion_states", {"u0[0]": OPTIONAL},
                 base={"_fn": "aggregation_diffusion_states"}, wrap={"u0[0]": lambda v: [v, None]},
                 words={"u0[0]": ("u0",)})  # fmt: skip
    for what, mode in SPECIAL.items():
        iso = what in ("jacobian_huge_grid", "identifiability_huge_grid", "grid_10**7", "fit_check_on_huge_grid")
        out.append(case(AREA, f"special.{what}", MOD, "t_special", mode, _what=what, isolate=iso, timeout=60, call=f"steady: {what.replace('_', ' ')}",
                        words=("g", "V", "term", "distill", "weights", "smoothness")))  # fmt: skip
    return out
