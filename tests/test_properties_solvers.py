"""Property-based tests (hypothesis) of the reference solvers in pinnbilo.solvers.

* hostile arguments: whatever any argument holds (None, strings, nan/inf, huge or negative sizes,
  complex numbers, arrays of the wrong shape, callables that raise or return the wrong thing,
  reversed, degenerate or overflowing domains), a solver returns a GridSolution with finite values
  or raises pinnbilo.InputError: never another exception, never a floating-point warning from the
  solvers' own code, never a hang, never a silent NaN. Sizes that would exhaust memory are checked
  in a memory-capped child process, so a missing cap fails the test instead of the machine.
* mathematics: second-order convergence on manufactured solutions, discrete eigenfunctions solved
  exactly, linearity and superposition, reflection and transposition symmetry, the maximum
  principle, the heat equation's Fourier modes, the Fisher-KPP invariant region, and exact and
  fourth-order spline interpolation.

All tests are derandomized (the same examples on every run, no example database) and sized so the
file runs in well under a minute on two cores.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
import warnings
from typing import Any, Callable, Dict, List
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import pinnbilo as pb
from pinnbilo.solvers import GridSolution, solve_darcy_2d, solve_poisson_1d, solve_reaction_diffusion_1d
from pinnbilo.solvers import _validate as V

PROPERTY = settings(
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=False,
    phases=[Phase.explicit, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)


def props(n: int) -> settings:
    """The shared profile with n examples."""
    return settings(PROPERTY, max_examples=n)


PI = np.pi
HANG_S = 30.0  # one call taking longer than this is a hang (the slowest legitimate ones take < 1 s here)

# =============================================================================================
# Hostile values


def _raise(exc: BaseException) -> Any:
    raise exc


BIG_INTS = st.sampled_from([10**9, 2**31, 2**63, 2**64 + 1, -(2**63), 10**400, -(10**400)])
ODD_NUMBERS = st.sampled_from(
    [
        float("nan"),
        float("inf"),
        -float("inf"),
        0.0,
        -0.0,
        5e-324,
        -5e-324,
        1e-300,
        1e300,
        1.7976931348623157e308,
        -1.7976931348623157e308,
        np.float64("nan"),
        np.float32(3.0),
        np.int64(7),
        np.uint8(9),
        np.float64(1e308),
    ]
)
NOT_NUMBERS = st.sampled_from(
    [
        None,
        True,
        False,
        "1.0",
        "",
        b"1",
        1j,
        complex(1.0, 0.0),
        np.complex128(2 + 0j),
        [1.0],
        (1.0, 2.0),
        {},
        {1.0: 2.0},
        np.array(1.0),
        np.array([1.0, 2.0]),
        np.array([np.nan]),
        np.zeros((2, 2)),
        np.array(["a", "b"]),
        object(),
        Ellipsis,
        slice(1),
    ]
)
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**6), 10**6),
    BIG_INTS,
    ODD_NUMBERS,
    st.complex_numbers(allow_nan=True, allow_infinity=True),
)
ANYTHING = st.one_of(NUMBERS, NOT_NUMBERS, st.text(max_size=4))
# Sizes drawn in this process stay small: sizes past the caps are the memory-capped child's business.
SMALL_SIZES = st.one_of(
    st.integers(-(10**6), 40),
    st.sampled_from([0, 1, 2, 3, 4, 5, -1, 4.0, 10.0, 12.5, "10", None, True, np.int64(9), np.uint8(6), 8 + 0j]),
    st.sampled_from([np.float64(10.0), np.array(10), [10], float("nan"), float("inf")]),
)


# Callables: one kind per way a user function can go wrong (or right). ``c`` is a drawn number.
def _values(kind: str, c: Any, x: np.ndarray) -> Any:
    if kind == "const":
        return c
    if kind == "scaled":
        return c * (1.0 + 0.25 * np.sin(3.0 * x))
    if kind == "smooth":
        return 1.0 + 0.5 * np.sin(2.0 * x)
    if kind == "short":
        return np.ones(x.size - 1)
    if kind == "column":
        return np.ones(x.shape + (1,))
    if kind == "flat":
        return np.ones(x.size)
    if kind == "empty":
        return np.array([])
    if kind == "three":
        return np.ones(3)
    if kind == "nan_at":
        v = np.ones_like(x)
        v.flat[min(v.size - 1, abs(hash(str(c))) % max(v.size, 1))] = np.nan
        return v
    if kind == "inf":
        return np.full(x.shape, np.inf)
    if kind == "negative":
        return -np.ones_like(x)
    if kind == "zero":
        return np.zeros_like(x)
    if kind == "complex":
        return x + 1j
    if kind == "complex_real":
        return x.astype(complex)
    if kind == "string":
        return "abc"
    if kind == "strings":
        return np.full(x.shape, "1.5")
    if kind == "none":
        return None
    if kind == "object":
        return np.array([object()] * x.size, dtype=object).reshape(x.shape)
    if kind == "list":
        return list(np.ravel(x))
    if kind == "ragged":
        return [[1.0], [1.0, 2.0]]
    if kind == "dict":
        return {"a": 1}
    if kind == "bigint":
        return 10**400
    if kind == "bigints":
        return [10**400] * x.size
    if kind == "generator":
        return (v for v in np.ravel(x))
    if kind == "huge":
        return np.full(x.shape, 1e308)
    if kind == "tiny":
        return np.full(x.shape, 5e-324)
    if kind == "raise_value":
        return _raise(ValueError("bad"))
    if kind == "raise_zero":
        return 1 / 0
    if kind == "raise_key":
        return _raise(KeyError("k"))
    if kind == "raise_input":
        return _raise(pb.InputError("from the callable"))
    if kind == "raise_type":
        return x(0)  # calling an array: TypeError
    if kind == "raise_overflow":
        return math.exp(1000.0)
    if kind == "raise_recursion":
        return _raise(RecursionError("deep"))
    raise AssertionError(kind)


FN_KINDS = [
    "const", "scaled", "smooth", "short", "column", "flat", "empty", "three", "nan_at", "inf", "negative",
    "zero", "complex", "complex_real", "string", "strings", "none", "object", "list", "ragged", "dict",
    "bigint", "bigints", "generator", "huge", "tiny", "raise_value", "raise_zero", "raise_key",
    "raise_input", "raise_type", "raise_overflow", "raise_recursion",
]  # fmt: skip


class Fn:
    """A user function of any number of grid arrays (x), (x, y) or (u,) that misbehaves as ``kind`` says."""

    def __init__(self, kind: str, c: Any) -> None:
        self.kind, self.c = kind, c

    def __call__(self, *args: np.ndarray) -> Any:
        return _values(self.kind, self.c, np.asarray(args[0]))

    def __repr__(self) -> str:
        return f"Fn({self.kind!r}, {self.c!r})"


FUNCTIONS = st.builds(Fn, st.sampled_from(FN_KINDS), st.one_of(NUMBERS, st.floats(-10.0, 10.0)))
COEFFICIENTS = st.one_of(FUNCTIONS, NUMBERS, NOT_NUMBERS, st.floats(0.01, 100.0))


@st.composite
def intervals(draw) -> Any:
    """Pairs of any kind: valid, reversed, degenerate, too narrow or too wide, or not pairs at all."""
    kind = draw(st.sampled_from(["valid", "reversed", "equal", "narrow", "wide", "any", "arrays", "other"]))
    a = draw(st.floats(-1e3, 1e3))
    w = draw(st.floats(1e-3, 1e3))
    if kind == "valid":
        return (a, a + w)
    if kind == "reversed":
        return (a + w, a)
    if kind == "equal":
        return (a, a)
    if kind == "narrow":
        return (a, a + draw(st.sampled_from([5e-324, 1e-300, 1e-200, 1e-160, 1e-15 * max(1.0, abs(a))])))
    if kind == "wide":
        return draw(st.sampled_from([(-1e308, 1e308), (0.0, 1e308), (-1.7e308, 0.0), (0.0, 1e200), (1e300, 1.1e300)]))
    if kind == "any":
        return (draw(ANYTHING), draw(ANYTHING))
    if kind == "arrays":
        return draw(st.sampled_from([np.array([0.0, 1.0]), np.array([[0.0, 1.0]]), np.array([1.0, 0.0]), [0, 1]]))
    return draw(st.one_of(ANYTHING, st.lists(st.floats(-5, 5), max_size=4).map(tuple)))


def mostly(usual: st.SearchStrategy, other: st.SearchStrategy) -> st.SearchStrategy:
    """``usual`` three times in four, ``other`` otherwise (shrinking towards ``usual``)."""
    return st.sampled_from([False, False, False, True]).flatmap(lambda odd: other if odd else usual)


def checked(call: Callable[[], Any]) -> Any:
    """Run ``call``: an InputError with a message, or a GridSolution with finite values on valid axes.

    No RuntimeWarning (overflow, invalid value, complex cast) may come from pinnbilo's own code, and
    the call must end within HANG_S seconds.
    """
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("error", category=RuntimeWarning, module=r"pinnbilo\.")
            result = call()
    except pb.InputError as exc:
        assert str(exc), "an InputError must say what is wrong"
        return None
    finally:
        assert time.perf_counter() - start < HANG_S, "the call took too long: a hang"
    assert isinstance(result, GridSolution)
    assert np.all(np.isfinite(result.values)), "a silent non-finite result"
    assert result.values.shape == tuple(a.size for a in result.axes)
    for a in result.axes:
        assert np.all(np.isfinite(a)) and np.all(a[1:] > a[:-1])
    # The interpolant is usable at the nodes.
    nodes = np.stack([g.ravel() for g in np.meshgrid(*result.axes, indexing="ij")], axis=1)[:50]
    assert np.all(np.isfinite(result(nodes[:, 0] if result.ndim == 1 else nodes)))
    return result


# =============================================================================================
# 1. Hostile arguments: every argument on its own, then all of them at once

POISSON_VALID: Dict[str, Any] = dict(D=1.0, source=Fn("smooth", 1.0), n=9, left=0.5, right=-0.5, domain=(0.0, 1.0))
POISSON_HOSTILE = {
    "D": COEFFICIENTS,
    "source": COEFFICIENTS,
    "n": SMALL_SIZES,
    "left": st.one_of(NUMBERS, NOT_NUMBERS),
    "right": st.one_of(NUMBERS, NOT_NUMBERS),
    "domain": intervals(),
}


@props(200)
@given(data=st.data(), name=st.sampled_from(sorted(POISSON_HOSTILE)))
def test_poisson_any_one_argument(data, name):
    value = data.draw(POISSON_HOSTILE[name], label=name)
    checked(lambda: solve_poisson_1d(**{**POISSON_VALID, name: value}))


@props(120)
@given(st.fixed_dictionaries({k: mostly(st.just(v), POISSON_HOSTILE[k]) for k, v in POISSON_VALID.items()}))
def test_poisson_any_arguments(kwargs):
    checked(lambda: solve_poisson_1d(**kwargs))


def darcy_domains() -> st.SearchStrategy:
    return st.one_of(st.tuples(intervals(), intervals()), intervals(), ANYTHING)


FACES = st.one_of(
    st.sampled_from(["harmonic", "arithmetic", "midpoint", "Harmonic", "", "geometric", None, 1, b"harmonic"]),
    st.sampled_from([["harmonic"], np.array(["harmonic", "x"]), np.array("midpoint"), ("midpoint",)]),
    st.text(max_size=5),
)
DARCY_VALID: Dict[str, Any] = dict(f=1.0, source=1.0, n=9, domain=((0.0, 1.0), (0.0, 2.0)), face="harmonic")
DARCY_HOSTILE = {
    "f": COEFFICIENTS,
    "source": COEFFICIENTS,
    "n": SMALL_SIZES,
    "domain": darcy_domains(),
    "face": FACES,
}


@props(160)
@given(data=st.data(), name=st.sampled_from(sorted(DARCY_HOSTILE)))
def test_darcy_any_one_argument(data, name):
    value = data.draw(DARCY_HOSTILE[name], label=name)
    checked(lambda: solve_darcy_2d(**{**DARCY_VALID, name: value}))


@props(80)
@given(st.fixed_dictionaries({k: mostly(st.just(v), DARCY_HOSTILE[k]) for k, v in DARCY_VALID.items()}))
def test_darcy_any_arguments(kwargs):
    checked(lambda: solve_darcy_2d(**kwargs))


def fisher(u: np.ndarray) -> np.ndarray:
    return 2.0 * u * (1.0 - u)


def fisher_prime(u: np.ndarray) -> np.ndarray:
    return 2.0 - 4.0 * u


REACTIONS = st.one_of(
    st.none(),
    st.just(fisher),
    FUNCTIONS,
    ANYTHING,
    st.sampled_from(
        [
            lambda u: 10.0 * u**2,  # blows up in finite time
            lambda u: np.sqrt(u - 0.5),  # nan for part of the solution
            lambda u: np.where(u.max() < 0.9, np.nan, 0.0 * u),  # nan after a while
            lambda u: 1e300 * u,  # overflows at once
            lambda u: -1e300 * u,  # extremely stiff decay
            lambda u: u if u.max() > 0.5 else _raise(ValueError("late")),  # raises after a while
            lambda u: 1e4 * np.sin(1e3 * u),  # stiff and oscillatory
            lambda u: u[::-1],  # not local, but a valid function of u
        ]
    ),
)
DERIVATIVES = st.one_of(
    st.none(),
    st.just(fisher_prime),
    FUNCTIONS,
    ANYTHING,
    st.sampled_from([lambda u: -1e6 + 0.0 * u, lambda u: -fisher_prime(u), lambda u: 0.0 * u, lambda u: 4.0 * u]),
)
RD_VALID: Dict[str, Any] = dict(
    D=0.1,
    reaction=fisher,
    u0=Fn("smooth", 1.0),
    t_end=0.5,
    nx=11,
    nt=5,
    domain=(0.0, 1.0),
    left=0.0,
    right=0.0,
    rtol=1e-6,
    atol=1e-8,
    reaction_derivative=None,
    method="BDF",
)
RD_HOSTILE = {
    "D": st.one_of(NUMBERS, NOT_NUMBERS, FUNCTIONS),
    "reaction": REACTIONS,
    "u0": st.one_of(FUNCTIONS, ANYTHING),
    "t_end": st.one_of(NUMBERS, NOT_NUMBERS, st.sampled_from([1e-320, 1e-300, 1e6, 1e300])),
    "nx": SMALL_SIZES,
    "nt": SMALL_SIZES,
    "domain": intervals(),
    "left": st.one_of(NUMBERS, NOT_NUMBERS),
    "right": st.one_of(NUMBERS, NOT_NUMBERS),
    "rtol": st.one_of(NUMBERS, NOT_NUMBERS, st.sampled_from([1e-300, 1e-20, 0.5, 1.0, 2.0])),
    "atol": st.one_of(NUMBERS, NOT_NUMBERS, st.sampled_from([1e-300, 1e300])),
    "reaction_derivative": DERIVATIVES,
    "method": st.one_of(FACES, st.sampled_from(["BDF", "Radau", "RK45", "LSODA", "bdf"])),
}


@props(260)
@given(data=st.data(), name=st.sampled_from(sorted(RD_HOSTILE)))
def test_reaction_diffusion_any_one_argument(data, name):
    value = data.draw(RD_HOSTILE[name], label=name)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="At least one element of `rtol` is too small")
        checked(lambda: solve_reaction_diffusion_1d(**{**RD_VALID, name: value}))


@props(120)
@given(st.fixed_dictionaries({k: mostly(st.just(v), RD_HOSTILE[k]) for k, v in RD_VALID.items()}))
def test_reaction_diffusion_any_arguments(kwargs):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="At least one element of `rtol` is too small")
        checked(lambda: solve_reaction_diffusion_1d(**kwargs))


@props(60)
@given(
    derivative=st.sampled_from(
        [lambda u: -1e6 + 0.0 * u, lambda u: -fisher_prime(u), lambda u: 10.0 * fisher_prime(u)]
    ),
    nx=st.integers(6, 40),
)
def test_reaction_diffusion_wrong_jacobian_is_refused_quickly(derivative, nx):
    """A wrong reaction_derivative used to stall the integrator for many seconds (its Newton steps
    fail and the step size collapses); it is now refused at once."""
    start = time.perf_counter()
    with pytest.raises(pb.InputError, match="reaction_derivative does not match reaction"):
        solve_reaction_diffusion_1d(**{**RD_VALID, "nx": nx, "reaction_derivative": derivative})
    assert time.perf_counter() - start < 2.0


@props(30)
@given(limit=st.integers(5, 200), with_reaction=st.booleans(), with_derivative=st.booleans())
def test_reaction_diffusion_stops_at_the_evaluation_limit(limit, with_reaction, with_derivative):
    """An integration needing more evaluations than the limit ends with an InputError saying so, at once."""
    import pinnbilo.solvers.reaction_diffusion as rd

    kwargs = {**RD_VALID, "nx": 41, "t_end": 50.0, "rtol": 1e-10, "atol": 1e-12}
    if not with_reaction:
        kwargs["reaction"] = None
    elif with_derivative:
        kwargs["reaction_derivative"] = fisher_prime
    with patch.object(rd, "MAX_EVALUATIONS", limit):
        with pytest.raises(pb.InputError, match=f"over {limit} evaluations of the right-hand side"):
            solve_reaction_diffusion_1d(**kwargs)


@props(40)
@given(atol=st.floats(1.0, 1e300), amp=st.floats(0.0, 1e3))
def test_reaction_diffusion_refuses_an_absolute_tolerance_as_large_as_the_solution(atol, amp):
    """atol past max(1, |u0|, |left|, |right|) used to send the integrator flailing up to the evaluation limit."""
    kwargs = {**RD_VALID, "u0": lambda x: amp * np.sin(PI * x), "atol": atol}
    if atol >= max(1.0, amp):
        with pytest.raises(pb.InputError, match="atol"):
            solve_reaction_diffusion_1d(**kwargs)
    else:
        checked(lambda: solve_reaction_diffusion_1d(**kwargs))


def axes_like() -> st.SearchStrategy:
    good = st.one_of(
        st.integers(4, 12).map(lambda n: np.linspace(0.0, 1.0, n)),
        st.lists(st.floats(-1e6, 1e6), min_size=4, max_size=10, unique=True).map(lambda v: np.sort(np.array(v))),
    )
    bad = st.one_of(
        ANYTHING,
        st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=6).map(np.array),
        st.sampled_from(
            [
                np.array([0.0, 1.0, 1.0, 2.0]),
                np.array([3.0, 2.0, 1.0, 0.0]),
                np.array([0.0, 5e-324, 1e-323, 1.5e-323]),
                np.array([-1.7e308, -1e308, 1e308, 1.7e308]),
                np.linspace(0, 1, 6) + 1j,
                np.array(["0", "1", "2", "3"]),
                np.zeros((2, 4)),
                [0, 1, 2, "3"],
            ]
        ),
    )
    return mostly(good, bad)


@props(200)
@given(
    axes=mostly(st.lists(axes_like(), min_size=1, max_size=3).map(tuple), st.one_of(ANYTHING, st.lists(axes_like()))),
    values=mostly(
        st.sampled_from(
            ["grid", "grid", "grid_nan", "grid_huge", "grid_complex", "grid_big_alternating", "grid_scaled"]
        ),
        st.one_of(ANYTHING, st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=12).map(np.array)),
    ),
)
def test_grid_solution_any_axes_and_values(axes, values):
    def make() -> GridSolution:
        try:
            shape = tuple(np.size(a) for a in axes)
        except TypeError:
            shape = (4,)
        v: Any = values
        if isinstance(values, str) and values.startswith("grid"):
            base = np.ones(shape)
            if values == "grid_nan":
                base.flat[0] = np.nan
            elif values == "grid_huge":
                base *= 1e308
            elif values == "grid_complex":
                base = base + 1j
            elif values == "grid_big_alternating":
                base = 1.7e308 * (-1.0) ** np.arange(base.size).reshape(shape)
            elif values == "grid_scaled":
                base = np.sin(np.arange(base.size)).reshape(shape) * 1e300
            v = base
        return GridSolution(axes, v)

    checked(make)


POINTS = st.one_of(
    ANYTHING,
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=6).map(np.array),
    st.lists(st.floats(-0.5, 1.5), max_size=6).map(np.array),
    st.lists(st.lists(st.floats(-0.5, 1.5), min_size=2, max_size=2), max_size=6).map(np.array),
    st.sampled_from([np.zeros((0,)), np.zeros((0, 2)), np.zeros((3, 3)), np.array([[0.5, 0.5j]]), [[0.5, 0.5]]]),
)


@props(200)
@given(points=POINTS, d=st.integers(1, 2))
def test_grid_solution_any_points(points, d):
    x = np.linspace(0.0, 1.0, 7)
    sol = GridSolution((x,) * d, np.ones((7,) * d))
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("error", category=RuntimeWarning, module=r"pinnbilo\.")
            out = sol(points)
    except pb.InputError as exc:
        assert str(exc)
        return
    assert out.ndim == 1 and np.all(np.isfinite(out))
    np.testing.assert_allclose(out, 1.0, atol=1e-12)  # the interpolant of a constant is that constant


# ---------------------------------------------------------------- the _validate helpers


@props(300)
@given(value=ANYTHING, positive=st.booleans())
def test_check_scalar_gives_a_finite_float_or_input_error(value, positive):
    try:
        x = V.check_scalar(value, "arg", positive=positive)
    except pb.InputError as exc:
        assert "arg" in str(exc)
        return
    assert type(x) is float and math.isfinite(x) and (x > 0 or not positive)
    assert x == float(value)


@props(300)
@given(value=st.one_of(ANYTHING, SMALL_SIZES, BIG_INTS), minimum=st.integers(0, 10), maximum=st.integers(10, 10**8))
def test_check_size_gives_an_int_in_range_or_input_error(value, minimum, maximum):
    try:
        n = V.check_size(value, "n", minimum, maximum)
    except pb.InputError as exc:
        assert str(exc).startswith("n ")
        return
    assert type(n) is int and minimum <= n <= maximum and n == value


@props(300)
@given(domain=intervals())
def test_check_interval_gives_an_ordered_finite_pair_or_input_error(domain):
    try:
        lo, hi = V.check_interval(domain, "domain")
    except pb.InputError as exc:
        assert "domain" in str(exc)
        return
    assert lo < hi and math.isfinite(hi - lo)


@props(200)
@given(domain=intervals(), n=st.integers(4, 2000))
def test_grid_nodes_are_strictly_increasing_or_input_error(domain, n):
    try:
        lo, hi = V.check_interval(domain, "domain")
        x, h = V.grid(lo, hi, n, "domain", "n")
    except pb.InputError:
        return
    assert x.shape == (n,) and x[0] == lo and x[-1] == hi
    assert np.all(x[1:] > x[:-1]) and 0 < h * h < np.inf


@props(200)
@given(value=ANYTHING, choice=st.sampled_from(["a", "bc"]))
def test_check_choice(value, choice):
    try:
        got = V.check_choice(value, "opt", ("a", "bc"))
    except pb.InputError as exc:
        assert "opt must be one of" in str(exc)
        assert not (isinstance(value, str) and value in ("a", "bc"))
        return
    assert got == value and isinstance(got, str)


@props(200)
@given(coefficient=COEFFICIENTS, positive=st.booleans(), d=st.integers(1, 2))
def test_evaluate_gives_finite_values_of_the_grid_shape_or_input_error(coefficient, positive, d):
    x = np.linspace(0.0, 1.0, 5)
    args = tuple(np.meshgrid(*(x,) * d, indexing="ij"))
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("error", category=RuntimeWarning, module=r"pinnbilo\.")
            values = V.evaluate(coefficient, args, "coef", positive=positive)
    except pb.InputError as exc:
        assert "coef" in str(exc) or isinstance(coefficient, Fn) and coefficient.kind == "raise_input"
        return
    assert values.shape == args[0].shape and values.dtype == float
    assert np.all(np.isfinite(values)) and (not positive or np.all(values > 0))


@props(200)
@given(raw=st.one_of(ANYTHING, st.lists(st.one_of(st.floats(), st.integers(), st.complex_numbers()), max_size=4)))
def test_as_real_gives_floats_or_input_error(raw):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", np.exceptions.ComplexWarning)
            arr = V.as_real(raw, "thing must be")
    except pb.InputError as exc:
        assert str(exc).startswith("thing must be")
        return
    assert arr.dtype == float
    assert not np.iscomplexobj(np.asarray(raw)), "complex values must not be cast to real silently"


@props(200)
@given(values=st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=6).map(np.array))
def test_power_of_two_scale_brings_the_largest_value_to_one_two(values):
    s = V.power_of_two_scale(values)
    assert s > 0 and math.isfinite(s) and math.frexp(s)[0] == 0.5  # a power of two
    top = float(np.max(np.abs(values)))
    if top > 0:
        assert 1.0 <= top / s < 2.0
        normal = np.abs(values / s) >= np.finfo(float).tiny  # dividing by a power of two is exact unless subnormal
        np.testing.assert_array_equal((values / s * s)[normal], values[normal])


# ---------------------------------------------------------------- sizes past the caps


CHILD = """
import resource, sys, time
import numpy as np
import scipy.integrate, scipy.interpolate, scipy.linalg, scipy.sparse.linalg  # loaded before the cap
import pinnbilo as pb
from pinnbilo.solvers import solve_darcy_2d, solve_poisson_1d, solve_reaction_diffusion_1d
from hypothesis import given, settings, strategies as st

# Cap the address space 512 MiB above what the imports use: an allocation of a huge grid fails fast.
vm = [line for line in open("/proc/self/status") if line.startswith("VmSize")][0].split()[1]
cap = int(vm) * 1024 + 512 * 1024**2
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

huge = st.one_of(st.integers(10**7 + 1, 2**70), st.sampled_from([10**9, 2**31, 2**62, 2**63, 2**64, 10**400]))
small = st.integers(4, 12)


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(n=huge, other=small, which=st.sampled_from(["poisson", "darcy", "darcy_edge", "nx", "nt", "both", "product"]))
def check(n, other, which):
    calls = {
        "poisson": lambda: solve_poisson_1d(1.0, 1.0, n=n),
        "darcy": lambda: solve_darcy_2d(1.0, 1.0, n=n),
        "darcy_edge": lambda: solve_darcy_2d(1.0, 1.0, n=1026 + n % 10**6),
        "nx": lambda: solve_reaction_diffusion_1d(0.1, None, np.sin, nx=n, nt=other),
        "nt": lambda: solve_reaction_diffusion_1d(0.1, None, np.sin, nx=other, nt=n),
        "both": lambda: solve_reaction_diffusion_1d(0.1, None, np.sin, nx=n, nt=n),
        # each size under the cap, their product over it
        "product": lambda: solve_reaction_diffusion_1d(0.1, None, np.sin, nx=4000 + other, nt=4000),
    }
    start = time.perf_counter()
    try:
        calls[which]()
    except pb.InputError as exc:
        assert "limit" in str(exc), str(exc)
    else:
        raise AssertionError("a grid past the cap was accepted")
    assert time.perf_counter() - start < 1.0, "the cap must come before any allocation"


check()
print("ok")
"""


def test_sizes_past_the_caps_are_refused_before_allocating():
    if not sys.platform.startswith("linux"):
        pytest.skip("memory-capped child process needs Linux")
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    try:
        proc = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail("the child process hung")
    assert proc.returncode == 0 and proc.stdout.split() == ["ok"], f"exit {proc.returncode}: {proc.stderr[-3000:]}"


# =============================================================================================
# 2. Mathematics


def assert_second_order(errors: List[float]) -> None:
    """Halving h divides the error by about 4 (measured 3.98-4.03 over many random cases)."""
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all((ratios > 3.6) & (ratios < 4.4)), (errors, ratios)


@st.composite
def poisson_cases(draw) -> Dict[str, Any]:
    return dict(
        k=draw(st.integers(1, 3)),
        d0=draw(st.floats(0.1, 10.0)),
        eps=draw(st.floats(0.0, 0.5)),
        lo=draw(st.floats(-2.0, 2.0)),
        length=draw(st.floats(0.5, 3.0)),
        amp=draw(st.floats(0.5, 3.0)) * draw(st.sampled_from([-1.0, 1.0])),
        a=draw(st.floats(-2.0, 2.0)),
        b=draw(st.floats(-2.0, 2.0)),
    )


@props(20)
@given(case=poisson_cases())
def test_poisson_manufactured_solution_converges_at_second_order(case):
    """u = amp sin(w (x - lo)) + a + b x with D = d0 (1 + eps sin 2x): source = D' u' + D u''."""
    k, d0, eps, lo, length, amp, a, b = (case[key] for key in ("k", "d0", "eps", "lo", "length", "amp", "a", "b"))
    hi, w = lo + length, k * PI / length

    def u(x):
        return amp * np.sin(w * (x - lo)) + a + b * x

    def D(x):
        return d0 * (1.0 + eps * np.sin(2.0 * x))

    def source(x):
        du = amp * w * np.cos(w * (x - lo)) + b
        return 2.0 * d0 * eps * np.cos(2.0 * x) * du - D(x) * amp * w * w * np.sin(w * (x - lo))

    errors = []
    for n in (41, 81, 161):
        sol = solve_poisson_1d(D, source, n=n, left=u(lo), right=u(hi), domain=(lo, hi))
        assert sol.values[0] == u(lo) and sol.values[-1] == u(hi)
        errors.append(float(np.abs(sol.values - u(sol.axes[0])).max()))
    assert_second_order(errors)
    assert errors[-1] < 2e-3 * abs(amp) * k**2


@props(25)
@given(
    k=st.integers(1, 6),
    d0=st.floats(1e-3, 1e3),
    n=st.integers(8, 200),
    lo=st.floats(-5.0, 5.0),
    length=st.floats(0.1, 10.0),
    amp=st.floats(-1e3, 1e3),
)
def test_poisson_discrete_eigenfunction_is_solved_exactly(k, d0, n, lo, length, amp):
    """sin(k pi (x - lo) / L) is an eigenvector of the discrete Laplacian with eigenvalue
    -(4 / h^2) sin^2(k pi h / 2L): with that source the scheme reproduces it to rounding."""
    h = length / (n - 1)
    w = k * PI / length
    lam = 4.0 / h**2 * np.sin(w * h / 2.0) ** 2
    sol = solve_poisson_1d(d0, lambda x: -d0 * lam * amp * np.sin(w * (x - lo)), n=n, domain=(lo, lo + length))
    x = sol.axes[0]
    exact = amp * np.sin(w * (x - lo))
    exact[[0, -1]] = 0.0
    np.testing.assert_allclose(sol.values, exact, rtol=0, atol=1e-9 * abs(amp) * n + 1e-300)


@props(25)
@given(
    c=st.lists(st.floats(-10.0, 10.0), min_size=3, max_size=3),
    d0=st.floats(1e-3, 1e3),
    n=st.integers(4, 300),
    lo=st.floats(-5.0, 5.0),
    length=st.floats(0.1, 10.0),
)
def test_poisson_constant_coefficient_reproduces_quadratics(c, d0, n, lo, length):
    hi = lo + length

    def u(x):
        return c[0] + c[1] * x + c[2] * x * x

    sol = solve_poisson_1d(d0, 2.0 * c[2] * d0, n=n, left=u(lo), right=u(hi), domain=(lo, hi))
    scale = 1.0 + abs(c[0]) + abs(c[1]) * max(abs(lo), abs(hi)) + abs(c[2]) * max(lo * lo, hi * hi)
    np.testing.assert_allclose(sol.values, u(sol.axes[0]), rtol=0, atol=1e-12 * scale * n)


@props(25)
@given(
    alpha=st.floats(-100.0, 100.0),
    beta=st.floats(-100.0, 100.0),
    left=st.floats(-10.0, 10.0),
    right=st.floats(-10.0, 10.0),
    eps=st.floats(0.0, 0.9),
    n=st.integers(4, 120),
    lo=st.floats(-3.0, 3.0),
    length=st.floats(0.1, 5.0),
)
def test_poisson_is_linear_in_source_and_boundary_values(alpha, beta, left, right, eps, n, lo, length):
    """u(alpha f1 + beta f2, left, right) = alpha u(f1, 0, 0) + beta u(f2, 0, 0) + u(0, left, right)."""
    dom = (lo, lo + length)

    def D(x):
        return 1.0 + eps * np.cos(3.0 * x)

    def f1(x):
        return np.exp(x / 2.0)

    def f2(x):
        return np.sign(x - lo - length / 3.0)  # discontinuous: the discrete problem is linear anyway

    whole = solve_poisson_1d(D, lambda x: alpha * f1(x) + beta * f2(x), n=n, left=left, right=right, domain=dom)
    u1, u2 = solve_poisson_1d(D, f1, n=n, domain=dom), solve_poisson_1d(D, f2, n=n, domain=dom)
    ub = solve_poisson_1d(D, 0.0, n=n, left=left, right=right, domain=dom)
    parts = alpha * u1.values + beta * u2.values + ub.values
    scale = abs(alpha) * np.abs(u1.values).max() + abs(beta) * np.abs(u2.values).max() + abs(left) + abs(right)
    np.testing.assert_allclose(whole.values, parts, rtol=0, atol=1e-11 * n * n * (scale + 1e-300))
    # The boundary part alone is the discrete harmonic function, monotone between left and right.
    assert np.all(np.diff(ub.values) * np.sign(right - left) >= -1e-12 * (abs(left) + abs(right)))


@props(25)
@given(
    coeffs=st.lists(st.floats(-1.0, 1.0), min_size=4, max_size=4),
    left=st.floats(-5.0, 5.0),
    right=st.floats(-5.0, 5.0),
    n=st.integers(4, 150),
    lo=st.floats(-3.0, 3.0),
    length=st.floats(0.1, 5.0),
)
def test_poisson_reflection_symmetry(coeffs, left, right, n, lo, length):
    """Reflecting x -> lo + hi - x (D and source reflected, left and right swapped) reverses the solution."""
    hi = lo + length
    a, b, c, d = coeffs

    def D(x):
        return np.exp(a * np.sin(x) + b * x)

    def source(x):
        return c + d * np.cos(2.0 * x) + np.sin(x) ** 2

    sol = solve_poisson_1d(D, source, n=n, left=left, right=right, domain=(lo, hi))
    mirror = solve_poisson_1d(
        lambda x: D(lo + hi - x), lambda x: source(lo + hi - x), n=n, left=right, right=left, domain=(lo, hi)
    )
    scale = np.abs(sol.values).max() + 1e-300
    np.testing.assert_allclose(mirror.values[::-1], sol.values, rtol=0, atol=1e-9 * scale)


@props(25)
@given(
    coeffs=st.lists(st.floats(-2.0, 2.0), min_size=3, max_size=3),
    left=st.floats(-5.0, 5.0),
    right=st.floats(-5.0, 5.0),
    n=st.integers(4, 150),
    lo=st.floats(-3.0, 3.0),
    length=st.floats(0.1, 5.0),
)
def test_poisson_maximum_principle(coeffs, left, right, n, lo, length):
    """(D u')' = source < 0: u lies strictly above the D-harmonic interpolant of its boundary values (the
    solution with no source), hence above min(left, right); with D constant that is the chord."""
    a, b, c = coeffs
    dom = (lo, lo + length)

    def D(x):
        return np.exp(a * np.cos(x))

    sol = solve_poisson_1d(D, lambda x: -np.exp(b * np.sin(c * x)), n=n, left=left, right=right, domain=dom)
    base = solve_poisson_1d(D, 0.0, n=n, left=left, right=right, domain=dom)
    tol = 1e-12 * (1 + abs(left) + abs(right))
    assert np.all(sol.values[1:-1] > base.values[1:-1])
    assert np.all(sol.values >= min(left, right) - tol)
    flat = solve_poisson_1d(2.0, -1.0, n=n, left=left, right=right, domain=dom)
    chord = left + (right - left) * (flat.axes[0] - lo) / length
    assert np.all(flat.values[1:-1] > chord[1:-1])


FACES_ALL = ("harmonic", "arithmetic", "midpoint")


@st.composite
def darcy_cases(draw) -> Dict[str, Any]:
    return dict(
        p=draw(st.integers(1, 2)),
        q=draw(st.integers(1, 2)),
        f0=draw(st.floats(0.1, 10.0)),
        eps=draw(st.floats(0.0, 0.5)),
        x0=draw(st.floats(-1.0, 1.0)),
        y0=draw(st.floats(-1.0, 1.0)),
        lx=draw(st.floats(0.5, 2.0)),
        ly=draw(st.floats(0.5, 2.0)),
        face=draw(st.sampled_from(["harmonic", "arithmetic", "midpoint"])),
    )


@props(8)
@given(case=darcy_cases())
def test_darcy_manufactured_solution_converges_at_second_order(case):
    p, q, f0, eps, x0, y0, lx, ly = (case[k] for k in ("p", "q", "f0", "eps", "x0", "y0", "lx", "ly"))
    wx, wy = p * PI / lx, q * PI / ly

    def u(x, y):
        return np.sin(wx * (x - x0)) * np.sin(wy * (y - y0))

    def f(x, y):
        return f0 * (1.0 + eps * np.sin(x + 2.0 * y))

    def source(x, y):  # -div(f grad u) = -(f_x u_x + f_y u_y + f lap u)
        g = f0 * eps * np.cos(x + 2.0 * y)
        ux = wx * np.cos(wx * (x - x0)) * np.sin(wy * (y - y0))
        uy = wy * np.sin(wx * (x - x0)) * np.cos(wy * (y - y0))
        return -(g * ux + 2.0 * g * uy - (wx * wx + wy * wy) * f(x, y) * u(x, y))

    errors = []
    for n in (17, 33, 65):
        sol = solve_darcy_2d(f, source, n=n, domain=((x0, x0 + lx), (y0, y0 + ly)), face=case["face"])
        X, Y = np.meshgrid(*sol.axes, indexing="ij")
        errors.append(float(np.abs(sol.values - u(X, Y)).max()))
    assert_second_order(errors)


@props(20)
@given(
    p=st.integers(1, 4),
    q=st.integers(1, 4),
    f0=st.floats(1e-3, 1e3),
    n=st.integers(6, 40),
    x0=st.floats(-3.0, 3.0),
    lx=st.floats(0.2, 5.0),
    ly=st.floats(0.2, 5.0),
)
def test_darcy_constant_coefficient_discrete_eigenfunction_all_faces(p, q, f0, n, x0, lx, ly):
    """With f constant every face rule gives the same 5-point scheme, and the product of discrete sine
    modes is its eigenvector: the solver reproduces it to rounding, and the three rules agree."""
    hx, hy = lx / (n - 1), ly / (n - 1)
    wx, wy = p * PI / lx, q * PI / ly
    lam = 4.0 / hx**2 * np.sin(wx * hx / 2) ** 2 + 4.0 / hy**2 * np.sin(wy * hy / 2) ** 2
    y0 = -x0 / 2.0

    def mode(x, y):
        return np.sin(wx * (x - x0)) * np.sin(wy * (y - y0))

    dom = ((x0, x0 + lx), (y0, y0 + ly))
    sols = [solve_darcy_2d(f0, lambda x, y: f0 * lam * mode(x, y), n=n, domain=dom, face=face) for face in FACES_ALL]
    X, Y = np.meshgrid(*sols[0].axes, indexing="ij")
    exact = mode(X, Y)
    exact[[0, -1], :] = 0.0
    exact[:, [0, -1]] = 0.0
    for sol in sols:
        np.testing.assert_allclose(sol.values, exact, rtol=0, atol=1e-10 * n * n)
        np.testing.assert_allclose(sol.values, sols[0].values, rtol=0, atol=1e-11 * n * n)


@props(15)
@given(
    coeffs=st.lists(st.floats(-1.5, 1.5), min_size=4, max_size=4),
    n=st.integers(5, 30),
    lo=st.floats(-2.0, 2.0),
    length=st.floats(0.3, 3.0),
    face=st.sampled_from(FACES_ALL),
)
def test_darcy_symmetries_and_maximum_principle(coeffs, n, lo, length, face):
    """On a square: transposing (f(y, x), source(y, x)) transposes u; reflecting x -> lo + hi - x
    reflects it; and a non-negative source gives a non-negative u (the matrix is an M-matrix)."""
    a, b, c, d = coeffs
    hi = lo + length
    dom = ((lo, hi), (lo, hi))

    def f(x, y):
        return np.exp(a * np.sin(2.0 * x) + b * np.cos(y) * x)

    def source(x, y):
        return np.exp(c * np.cos(x + y)) * (1.0 + np.sin(d * x * y)) ** 2

    sol = solve_darcy_2d(f, source, n=n, domain=dom, face=face)
    scale = np.abs(sol.values).max()
    assert scale > 0
    assert np.all(sol.values >= -1e-12 * scale)
    transposed = solve_darcy_2d(lambda x, y: f(y, x), lambda x, y: source(y, x), n=n, domain=dom, face=face)
    np.testing.assert_allclose(transposed.values.T, sol.values, rtol=0, atol=1e-9 * scale)
    mirror = solve_darcy_2d(
        lambda x, y: f(lo + hi - x, y), lambda x, y: source(lo + hi - x, y), n=n, domain=dom, face=face
    )
    np.testing.assert_allclose(mirror.values[::-1, :], sol.values, rtol=0, atol=1e-9 * scale)


@props(15)
@given(
    k=st.integers(1, 4),
    D=st.floats(0.01, 2.0),
    amp=st.floats(-5.0, 5.0).filter(lambda a: abs(a) > 1e-3),
    nx=st.integers(8, 60),
    lo=st.floats(-2.0, 2.0),
    length=st.floats(0.5, 3.0),
    t_end=st.floats(0.05, 2.0),
    method=st.sampled_from(["BDF", "Radau"]),
)
def test_heat_equation_fourier_mode_decays_exactly(k, D, amp, nx, lo, length, t_end, method):
    """With no reaction, u0 = amp sin(k pi (x - lo) / L) is a discrete eigenvector of the Laplacian:
    the semi-discrete solution is amp exp(-D mu_h t) sin(...), mu_h = (4 / h^2) sin^2(k pi h / 2L),
    exact up to the integrator's tolerance; it is within O(h^2) of the continuous mode exp(-D w^2 t)
    and its maximum and energy never grow."""
    h = length / (nx - 1)
    w = k * PI / length
    mu = 4.0 / h**2 * np.sin(w * h / 2.0) ** 2
    sol = solve_reaction_diffusion_1d(
        D, None, lambda x: amp * np.sin(w * (x - lo)), t_end=t_end, nx=nx, nt=6, domain=(lo, lo + length),
        rtol=1e-9, atol=1e-12 * abs(amp), method=method,
    )  # fmt: skip
    X, T = np.meshgrid(*sol.axes, indexing="ij")
    semi = amp * np.exp(-D * mu * T) * np.sin(w * (X - lo))
    semi[[0, -1], :] = 0.0
    np.testing.assert_allclose(sol.values, semi, rtol=0, atol=1e-6 * abs(amp))
    continuous = amp * np.exp(-D * w * w * T) * np.sin(w * (X - lo))
    assert np.abs(sol.values - continuous).max() <= abs(amp) * (D * w**4 * h**2 * t_end / 12.0 * 1.5 + 1e-6)
    peaks = np.abs(sol.values).max(axis=0)
    energy = (sol.values**2).sum(axis=0)
    assert np.all(np.diff(peaks) <= 1e-7 * abs(amp)) and np.all(np.diff(energy) <= 1e-7 * amp * amp * nx)


@props(15)
@given(
    left=st.floats(-5.0, 5.0),
    right=st.floats(-5.0, 5.0),
    D=st.floats(0.01, 2.0),
    nx=st.integers(5, 60),
    lo=st.floats(-2.0, 2.0),
    length=st.floats(0.5, 3.0),
)
def test_heat_equation_keeps_the_linear_steady_state(left, right, D, nx, lo, length):
    """The straight line between the boundary values solves u_t = D u_xx: it stays put."""
    line = lambda x: left + (right - left) * (x - lo) / length  # noqa: E731
    sol = solve_reaction_diffusion_1d(
        D, None, line, t_end=1.0, nx=nx, nt=5, domain=(lo, lo + length), left=left, right=right
    )
    np.testing.assert_allclose(
        sol.values, line(sol.axes[0])[:, None] * np.ones(5), rtol=0, atol=1e-9 * (1 + abs(left) + abs(right))
    )


@props(12)
@given(
    c=st.lists(st.floats(-1.0, 1.0), min_size=3, max_size=3),
    rho=st.floats(0.1, 5.0),
    D=st.floats(0.005, 0.5),
    nx=st.integers(8, 50),
    bc=st.floats(0.0, 1.0),
    use_derivative=st.booleans(),
)
def test_reaction_diffusion_reflection_symmetry_and_invariant_region(c, rho, D, nx, bc, use_derivative):
    """Fisher-KPP u_t = D u_xx + rho u (1 - u): reflecting u0 and swapping the boundary values reflects
    the solution; with u0 and the boundary values in [0, 1] the solution stays in [0, 1]; the exact
    reaction_derivative gives the same answer as the difference Jacobian."""

    def reaction(u):
        return rho * u * (1.0 - u)

    def u0(x):  # in [0, 1], not symmetric
        return 0.5 + 0.5 * np.sin(PI * (c[0] + c[1] * x + c[2] * x * x))

    kw = dict(t_end=1.0, nx=nx, nt=5, domain=(0.0, 1.0), rtol=1e-9, atol=1e-11)
    deriv = (lambda u: rho * (1.0 - 2.0 * u)) if use_derivative else None
    sol = solve_reaction_diffusion_1d(D, reaction, u0, left=bc, right=0.3, reaction_derivative=deriv, **kw)
    mirror = solve_reaction_diffusion_1d(D, reaction, lambda x: u0(1.0 - x), left=0.3, right=bc, **kw)
    np.testing.assert_allclose(mirror.values[::-1, :], sol.values, rtol=0, atol=1e-6)
    assert np.all(sol.values >= -1e-7) and np.all(sol.values <= 1.0 + 1e-7)


@props(12)
@given(
    k=st.integers(1, 3),
    D=st.floats(0.01, 1.0),
    nx=st.integers(4, 20).map(lambda m: 2 * m + 1),
)
def test_reaction_diffusion_symmetric_problem_has_symmetric_solution(k, D, nx):
    """A reaction that is odd in u keeps an odd-mode initial condition odd about the midpoint, and an
    even one even (sin of an odd multiple of pi x is even about x = 1/2)."""
    sol = solve_reaction_diffusion_1d(
        D, lambda u: u - u**3, lambda x: 0.8 * np.sin((2 * k - 1) * PI * x), t_end=1.0, nx=nx, nt=5,
        rtol=1e-10, atol=1e-12,
    )  # fmt: skip
    np.testing.assert_allclose(sol.values[::-1, :], sol.values, rtol=0, atol=1e-7)
    odd = solve_reaction_diffusion_1d(
        D, lambda u: u - u**3, lambda x: 0.8 * np.sin(2 * k * PI * x), t_end=1.0, nx=nx, nt=5, rtol=1e-10, atol=1e-12
    )
    np.testing.assert_allclose(odd.values[::-1, :], -odd.values, rtol=0, atol=1e-7)
    assert np.all(np.abs(odd.values[nx // 2, :]) <= 1e-7)


# ---------------------------------------------------------------- interpolation


@st.composite
def increasing_axes(draw, min_size: int = 4, max_size: int = 30) -> np.ndarray:
    """Strictly increasing, possibly non-uniform, with no gap under a tenth of the largest."""
    n = draw(st.integers(min_size, max_size))
    lo = draw(st.floats(-10.0, 10.0))
    gaps = np.array(draw(st.lists(st.floats(0.1, 1.0), min_size=n - 1, max_size=n - 1)))
    scale = draw(st.floats(0.01, 10.0))
    return lo + scale * np.concatenate([[0.0], np.cumsum(gaps)])


@props(40)
@given(data=st.data(), d=st.integers(1, 3))
def test_interpolant_reproduces_the_nodes_and_cubics(data, d):
    """At the nodes the interpolant returns the values given; a cubic in each coordinate (which the
    not-a-knot spline reproduces) is exact everywhere in the grid."""
    max_size = {1: 40, 2: 12, 3: 7}[d]
    axes = tuple(data.draw(increasing_axes(max_size=max_size)) for _ in range(d))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    values = data.draw(st.floats(1e-3, 1e3)) * rng.normal(size=tuple(a.size for a in axes))
    sol = GridSolution(axes, values)
    grids = np.meshgrid(*axes, indexing="ij")
    nodes = np.stack([g.ravel() for g in grids], axis=1)
    np.testing.assert_allclose(sol(nodes), values.ravel(), rtol=0, atol=1e-9 * (np.abs(values).max() + 1))

    coef = np.array(data.draw(st.lists(st.floats(-2.0, 2.0), min_size=4 * d, max_size=4 * d))).reshape(d, 4)
    mid = np.array([0.5 * (a[0] + a[-1]) for a in axes])
    half = np.array([0.5 * (a[-1] - a[0]) for a in axes])

    def cubic(p):  # a product of cubics, in coordinates scaled to [-1, 1]
        s = (p - mid) / half
        return np.prod(coef[:, 0] + coef[:, 1] * s + coef[:, 2] * s**2 + coef[:, 3] * s**3, axis=-1)

    exact = GridSolution(axes, cubic(np.stack(grids, axis=-1)))
    q = mid + half * rng.uniform(-1.0, 1.0, (50, d))
    np.testing.assert_allclose(exact(q[:, 0] if d == 1 else q), cubic(q), rtol=0, atol=1e-10 * (4 * 2.0) ** d)


@props(40)
@given(
    w=st.floats(0.5, 8.0),
    phase=st.floats(0.0, 2 * PI),
    lo=st.floats(-3.0, 3.0),
    length=st.floats(0.5, 4.0),
    wh=st.floats(0.02, 0.5),
    uniform=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_interpolant_is_fourth_order_between_nodes(w, phase, lo, length, wh, uniform, seed):
    """Between the nodes, sin(w x + phase) is matched within 0.1 (w h)^4 (the measured constant is
    at most 0.03), h the largest gap; linear interpolation would be off by ~(w h)^2 / 8."""
    rng = np.random.default_rng(seed)
    n = max(4, int(math.ceil(w * length / wh)) + 1)
    if uniform:
        x = np.linspace(lo, lo + length, n)
    else:
        gaps = rng.uniform(0.5, 1.0, n - 1)
        x = lo + length * np.concatenate([[0.0], np.cumsum(gaps)]) / gaps.sum()
    h = float(np.diff(x).max())
    sol = GridSolution((x,), np.sin(w * x + phase))
    q = rng.uniform(lo, lo + length, 400)
    err = float(np.abs(sol(q) - np.sin(w * q + phase)).max())
    assert err <= 0.1 * (w * h) ** 4 + 1e-13, (err, (w * h) ** 4)


@props(30)
@given(
    alpha=st.floats(-10.0, 10.0),
    beta=st.floats(-10.0, 10.0),
    d=st.integers(1, 2),
    seed=st.integers(0, 2**32 - 1),
)
def test_interpolant_is_linear_in_the_values(alpha, beta, d, seed):
    rng = np.random.default_rng(seed)
    axes = tuple(np.sort(rng.uniform(0, 1, 8)) + np.arange(8) for _ in range(d))
    shape = (8,) * d
    v1, v2 = rng.normal(size=shape), rng.normal(size=shape)
    q = np.column_stack([rng.uniform(a[0], a[-1], 60) for a in axes])
    q = q[:, 0] if d == 1 else q
    combined = GridSolution(axes, alpha * v1 + beta * v2)(q)
    parts = alpha * GridSolution(axes, v1)(q) + beta * GridSolution(axes, v2)(q)
    np.testing.assert_allclose(combined, parts, rtol=0, atol=1e-10 * (abs(alpha) + abs(beta) + 1))


@props(20)
@given(scale=st.sampled_from([1e-300, 1e-150, 1e-10, 1.0, 1e10, 1e150, 1e300]), n=st.integers(5, 60))
def test_poisson_and_darcy_are_scale_invariant(scale, n):
    """Multiplying D (f) and the source by the same factor leaves the solution unchanged: the schemes
    divide by a power of two near max D (f), so even factors near the ends of the float range work."""
    src = lambda x: np.cos(3.0 * x)  # noqa: E731
    base = solve_poisson_1d(lambda x: 1.0 + x * x, src, n=n, left=1.0, right=2.0)
    scaled = solve_poisson_1d(lambda x: scale * (1.0 + x * x), lambda x: scale * src(x), n=n, left=1.0, right=2.0)
    np.testing.assert_allclose(scaled.values, base.values, rtol=1e-12, atol=1e-14)
    m = max(5, n // 3)
    base2 = solve_darcy_2d(lambda x, y: 1.0 + x * y, 1.0, n=m)
    scaled2 = solve_darcy_2d(lambda x, y: scale * (1.0 + x * y), scale, n=m)
    np.testing.assert_allclose(scaled2.values, base2.values, rtol=1e-12, atol=1e-14)
