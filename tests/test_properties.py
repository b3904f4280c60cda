"""Property-based tests (hypothesis).

* jet algebra: the kept monomials are exactly the downward closure of what was asked for;
* Taylor rules: every row is the derivative of the previous one over k, and closed forms hold;
* random MLPs: value, first and second derivatives equal an independent hyper-dual reference;
* random residual expressions: PINN and BiLO objective gradients equal finite differences;
* round trips: weights, checkpoints (with exact resume), expression printing and parsing;
* malformed input: a clear pinnbilo error, never a crash, never silently wrong numbers.

All tests are derandomized (the same examples on every run, no example database) and sized so
the file runs in well under a minute. Code that could take the interpreter down or allocate without
bound runs in a memory-capped child process.
"""

from __future__ import annotations

import itertools
import math
import operator
import os
import subprocess
import sys
import tempfile
import textwrap
from functools import lru_cache
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, assume, example, given, settings
from hypothesis import strategies as st

import pinnbilo as pb
from pinnbilo import _core
from pinnbilo import expr as ex

import reference
from conftest import central_difference

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


ACTIVATIONS = ("tanh", "sin", "cos", "sigmoid", "softplus")
seeds = st.integers(0, 2**31 - 1)


def all_multi_indices(n: int, max_order: int) -> List[List[int]]:
    return [list(a) for a in itertools.product(range(max_order + 1), repeat=n) if sum(a) <= max_order]


# =============================================================================================
# 1. Jet algebra


@st.composite
def wanted_sets(draw) -> Tuple[int, List[List[int]]]:
    n_dirs = draw(st.integers(0, 4))
    alpha = st.lists(st.integers(0, 3), min_size=n_dirs, max_size=n_dirs)
    return n_dirs, draw(st.lists(alpha, max_size=5))


@props(300)
@given(wanted_sets())
def test_jet_monomials_are_the_downward_closure(case):
    n_dirs, wanted = case
    mons = [tuple(m) for m in _core.jet_monomials(n_dirs, wanted)]
    kept = set(mons)
    assert mons[0] == (0,) * n_dirs, "the constant comes first"
    assert len(kept) == len(mons), "no duplicates"
    assert all(len(m) == n_dirs for m in mons)
    assert {tuple(w) for w in wanted} <= kept
    for m in mons:  # downward closed
        for i in range(n_dirs):
            if m[i] > 0:
                assert m[:i] + (m[i] - 1,) + m[i + 1 :] in kept
    # ... and the smallest such set: everything below some wanted index, nothing else.
    boxes = {b for w in wanted for b in itertools.product(*(range(a + 1) for a in w))}
    assert kept == boxes | {(0,) * n_dirs}
    degrees = [sum(m) for m in mons]
    assert degrees == sorted(degrees), "stored by degree"
    # A fixed layout: the closure of the closure, or of the request reordered and repeated, is the same list.
    assert [tuple(m) for m in _core.jet_monomials(n_dirs, [list(m) for m in mons])] == mons
    assert [tuple(m) for m in _core.jet_monomials(n_dirs, wanted[::-1] + wanted)] == mons


@props(200)
@given(
    n_dirs=st.integers(0, 3),
    wanted=st.lists(st.lists(st.integers(-2, 20), max_size=4), max_size=3),
)
def test_jet_monomials_reject_bad_multi_indices(n_dirs, wanted):
    valid = all(len(w) == n_dirs and min(w, default=0) >= 0 and sum(w) <= 16 for w in wanted)
    if valid:
        assert len(_core.jet_monomials(n_dirs, wanted)) >= 1
    else:
        with pytest.raises(pb.InputError, match="JetSpec"):
            _core.jet_monomials(n_dirs, wanted)


CHILD_PRELUDE = """
import resource
import numpy as np
import pinnbilo as pb
from pinnbilo import _core

# Cap the address space 256 MiB above what the imports use: a runaway allocation fails fast.
vm = [line for line in open("/proc/self/status") if line.startswith("VmSize")][0].split()[1]
cap = int(vm) * 1024 + 256 * 1024**2
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def outcome(call):
    try:
        call()
        print("returned")
    except pb.InputError:
        print("InputError")
    except BaseException as exc:
        print(type(exc).__name__)
"""


def run_capped(body: str) -> List[str]:
    """Run code in a memory-capped child interpreter; one outcome name per ``outcome(...)`` call."""
    if not sys.platform.startswith("linux"):
        pytest.skip("memory-capped child process needs Linux")
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    code = CHILD_PRELUDE + textwrap.dedent(body)
    try:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail("the child process hung")
    assert proc.returncode == 0, f"exit status {proc.returncode}: {proc.stderr[-2000:]}"
    return proc.stdout.split()


def test_huge_derivative_orders_are_rejected_not_allocated():
    """Orders whose sum overflows an int must still be rejected, before any closure is built."""
    got = run_capped(
        """
        outcome(lambda: _core.jet_monomials(2, [[2**30, 2**30]]))
        outcome(lambda: _core.jet_monomials(3, [[2**31 - 1, 1, 0]]))
        outcome(lambda: _core.mlp_derivatives([2, 3, 1], "tanh", np.zeros(13), np.zeros((1, 2)), [[2**31 - 1, 1]]))
        """
    )
    assert got == ["InputError"] * 3


def test_predict_rejects_huge_derivative_orders():
    got = run_capped(
        """
        problem = pb.problems.exponential_growth()
        model = pb.BiLO(problem, problem.synthetic_data(3), hidden=(3,), n_res=3)
        for k in (17, 2**31, 2**40, 10**30):
            outcome(lambda: model.predict([0.5], [{"t": k}]))
        """
    )
    assert got == ["InputError"] * 4


# =============================================================================================
# 2. Taylor coefficients of the elementary functions

DOMAINS = {
    "tanh": (-3.0, 3.0),
    "sin": (-4.0, 4.0),
    "cos": (-4.0, 4.0),
    "exp": (-3.0, 3.0),
    "sigmoid": (-4.0, 4.0),
    "softplus": (-4.0, 4.0),
    "log": (0.3, 4.0),
    "pow": (0.3, 4.0),
}
exponents = st.one_of(st.integers(-3, 4).map(float), st.floats(-3.0, 3.0))


@st.composite
def taylor_cases(draw):
    name = draw(st.sampled_from(sorted(DOMAINS)))
    lo, hi = DOMAINS[name]
    x = np.array(draw(st.lists(st.floats(lo, hi), min_size=1, max_size=6)))
    p = draw(exponents) if name == "pow" else 0.0
    return name, p, x, draw(st.integers(0, 7))


@props(300)
@given(taylor_cases())
def test_taylor_rows_are_normalised_derivatives(case):
    """Row k is d/dx of row k-1 divided by k (central differences)."""
    name, p, x, order = case
    h = 1e-5
    rows = _core.taylor_coefficients(name, p, x, order + 1)
    assert rows.shape == (order + 2, x.size)
    assert np.all(np.isfinite(rows))
    up = _core.taylor_coefficients(name, p, x + h, order + 1)
    down = _core.taylor_coefficients(name, p, x - h, order + 1)
    for k in range(1, order + 1):
        fd = (up[k - 1] - down[k - 1]) / (2 * h) / k
        scale = np.abs(rows[k - 1]) + np.abs(rows[k]) + np.abs(rows[k + 1])
        err = np.abs(rows[k] - fd)
        assert np.all(err <= 1e-6 * scale + 1e-9), (name, p, k, x, rows[k], fd)


def _rows(name: str, x: np.ndarray, order: int, p: float = 0.0) -> np.ndarray:
    return _core.taylor_coefficients(name, p, x, order)


@props(200)
@given(
    xs=st.lists(st.floats(-3.0, 3.0), min_size=1, max_size=6),
    order=st.integers(0, 8),
    p=exponents,
)
def test_taylor_rows_closed_forms(xs, order, p):
    x = np.array(xs)
    k = np.arange(order + 1)[:, None]
    fact = np.array([math.factorial(int(i)) for i in k[:, 0]], dtype=np.float64)[:, None]

    sin, cos = _rows("sin", x, order), _rows("cos", x, order)
    np.testing.assert_allclose(sin[0] ** 2 + cos[0] ** 2, 1.0, rtol=0, atol=4e-16)
    np.testing.assert_allclose(sin * fact, np.sin(x + k * np.pi / 2), rtol=0, atol=1e-14)
    np.testing.assert_allclose(cos * fact, np.cos(x + k * np.pi / 2), rtol=0, atol=1e-14)

    np.testing.assert_allclose(_rows("exp", x, order), np.exp(x) / fact, rtol=1e-14, atol=0)

    # tanh(x) = 2 sigmoid(2x) - 1 ties two independent recurrences together at every order.
    th, sg2 = _rows("tanh", x, order), _rows("sigmoid", 2 * x, order)
    np.testing.assert_allclose(th[0], np.tanh(x), rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(th[1:], 2.0 ** (k[1:] + 1) * sg2[1:], rtol=1e-10, atol=1e-12)
    if order >= 1:
        np.testing.assert_allclose(th[1], 1 - np.tanh(x) ** 2, rtol=1e-13, atol=1e-16)

    # softplus' = sigmoid at every order: (k+1) softplus_{k+1} = sigmoid_k.
    sp, sg = _rows("softplus", x, order + 1), _rows("sigmoid", x, order)
    np.testing.assert_allclose(sp[0], np.logaddexp(0.0, x), rtol=1e-14)
    np.testing.assert_allclose(sg[0], 1 / (1 + np.exp(-x)), rtol=1e-14)
    np.testing.assert_allclose(sp[1:] * (k + 1), sg, rtol=1e-12, atol=1e-13)

    # log and pow on positive arguments.
    y = 0.3 + np.abs(x)
    lg = _rows("log", y, order)
    np.testing.assert_allclose(lg[0], np.log(y), rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(lg[1:], (-1.0) ** (k[1:] + 1) / (k[1:] * y ** k[1:]), rtol=1e-12)
    binom = np.cumprod(np.r_[1.0, [(p - j) / (j + 1) for j in range(order)]])[:, None]
    pw = _rows("pow", y, order, p)
    want = binom * y ** (p - k)
    np.testing.assert_allclose(pw, want, rtol=1e-11, atol=1e-13 * np.max(np.abs(want)))


# =============================================================================================
# 3. Random MLPs against the hyper-dual reference and finite differences


@st.composite
def mlps(draw):
    n_in = draw(st.integers(1, 3))
    hidden = draw(st.lists(st.integers(1, 8), min_size=1, max_size=3))
    n_out = draw(st.integers(1, 2))
    activation = draw(st.sampled_from(ACTIVATIONS))
    seed = draw(seeds)
    jitter = draw(st.floats(0.0, 0.5))
    n_points = draw(st.integers(1, 5))
    sizes = [n_in, *hidden, n_out]
    rng = np.random.default_rng(seed)
    params = _core.mlp_init(sizes, activation, seed) + jitter * rng.standard_normal(_core.mlp_n_params(sizes))
    inputs = rng.uniform(-1.5, 1.5, (n_points, n_in))
    return sizes, activation, params, inputs


@props(300)
@given(mlps(), seeds)
def test_mlp_derivatives_match_hyperdual_reference(net, seed):
    sizes, activation, params, inputs = net
    assert _core.mlp_n_params(sizes) == reference.n_params(sizes)
    derivs = all_multi_indices(sizes[0], 2)
    np.random.default_rng(seed).shuffle(derivs)  # the request order must not matter
    out = _core.mlp_derivatives(sizes, activation, params, inputs, derivs)
    assert out.shape == (len(derivs), sizes[-1], inputs.shape[0])
    for alpha, got in zip(derivs, out):
        want = reference.derivative(sizes, activation, params, inputs, alpha)
        scale = max(1.0, float(np.max(np.abs(want))))
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13 * scale, err_msg=f"alpha={alpha}")
    # One derivative alone is the same number as inside the full jet.
    k = seed % len(derivs)
    alone = _core.mlp_derivatives(sizes, activation, params, inputs, [derivs[k]])[0]
    np.testing.assert_allclose(alone, out[k], rtol=1e-13, atol=1e-14 * max(1.0, float(np.max(np.abs(out[k])))))


@props(200)
@given(mlps())
def test_mlp_derivatives_match_finite_differences(net):
    """Every derivative of order <= 3 is the central difference of one of order one less."""
    sizes, activation, params, inputs = net
    n_in = sizes[0]
    derivs = all_multi_indices(n_in, 3)
    index = {tuple(a): i for i, a in enumerate(derivs)}
    full = _core.mlp_derivatives(sizes, activation, params, inputs, derivs)
    h = 1e-5
    for i in range(n_in):
        e = np.zeros(n_in)
        e[i] = h
        up = _core.mlp_derivatives(sizes, activation, params, inputs + e, derivs)
        down = _core.mlp_derivatives(sizes, activation, params, inputs - e, derivs)
        for alpha in derivs:
            if sum(alpha) == 3:
                continue
            beta = list(alpha)
            beta[i] += 1
            fd = (up[index[tuple(alpha)]] - down[index[tuple(alpha)]]) / (2 * h)
            got = full[index[tuple(beta)]]
            scale = max(1.0, float(np.max(np.abs(got))), float(np.max(np.abs(full[index[tuple(alpha)]]))))
            assert np.max(np.abs(got - fd)) <= 1e-7 * scale, (alpha, i)


@props(100)
@given(mlps())
def test_mlp_float32_agrees_with_float64(net):
    sizes, activation, params, inputs = net
    derivs = all_multi_indices(sizes[0], 2)
    p32, x32 = params.astype(np.float32), inputs.astype(np.float32)
    got = _core.mlp_derivatives_f32(sizes, activation, p32, x32, derivs)
    want = _core.mlp_derivatives(sizes, activation, p32.astype(np.float64), x32.astype(np.float64), derivs)
    assert got.dtype == np.float32
    for g, w in zip(got, want):
        assert np.max(np.abs(g - w)) <= 1e-4 * max(1.0, float(np.max(np.abs(w))))


# =============================================================================================
# 4. Random residual expressions: exact objective gradients

A, B, T = ex.param("a"), ex.param("b"), ex.coord("t")
constants = st.floats(-2.0, 2.0).map(lambda v: ex.const(round(v, 3)))
SYMBOLS = st.sampled_from([ex.u, ex.u, ex.u.t, ex.u.tt, A, B, T])
LEAVES = st.one_of(SYMBOLS, SYMBOLS, constants)  # mostly symbols

# Smooth functions applied to arguments where they are defined (and stay moderate).
UNARY: Dict[str, Callable[[ex.Expr], ex.Expr]] = {
    "neg": operator.neg,
    "sin": ex.sin,
    "cos": ex.cos,
    "tanh": ex.tanh,
    "sigmoid": ex.sigmoid,
    "softplus": ex.softplus,
    "exp_sin": lambda e: ex.exp(ex.sin(e)),
    "exp_gauss": lambda e: ex.exp(-(e**2)),
    "sqrt": lambda e: ex.sqrt(1 + e**2),
    "log": lambda e: ex.log(1 + e**2),
    "recip": lambda e: 1 / (1 + e**2),
    "square": lambda e: e**2,
    "cube": lambda e: e**3,
}
BINARY: Dict[str, Callable[[ex.Expr, ex.Expr], ex.Expr]] = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "div": lambda a, b: a / (2 + ex.sin(b)),
}


def expressions(leaves, unary, binary, max_leaves: int):
    def extend(children):
        return st.one_of(
            st.builds(lambda f, a: unary[f](a), st.sampled_from(sorted(unary)), children),
            st.builds(lambda f, a, b: binary[f](a, b), st.sampled_from(sorted(binary)), children, children),
        )

    return st.recursive(leaves, extend, max_leaves=max_leaves)


SAFE_EXPRESSIONS = expressions(LEAVES, UNARY, BINARY, max_leaves=7)
TRANSFORMS = ["N", "1 + t*N", "1 + t*N*sigmoid(a)", "cos(b) + t*N + a*t**2"]
BOUNDS = [(None, None), (0.0, 3.0), (0.2, None), (None, 4.0)]
METHODS = [(pb.PINN, "pinn"), (pb.BiLO, "lower"), (pb.BiLO, "upper")]


@st.composite
def objective_cases(draw):
    terms = draw(st.lists(SAFE_EXPRESSIONS, min_size=1, max_size=3))
    residual = terms[0]
    for term in terms[1:]:
        residual = residual + term
    if not ex.names_in(residual)["u"]:
        residual = ex.u.t - residual
    params = [
        pb.Parameter("a", draw(st.floats(0.5, 2.0)), draw(st.sampled_from(BOUNDS))),
        pb.Parameter("b", draw(st.floats(0.5, 2.0)), draw(st.sampled_from(BOUNDS))),
    ]
    problem = pb.Problem(("t",), {"t": (0.0, 1.0)}, params, residual, transform=draw(st.sampled_from(TRANSFORMS)))
    cls, objective = draw(st.sampled_from(METHODS))
    options = dict(
        hidden=draw(st.sampled_from([(4,), (4, 3)])),
        activation=draw(st.sampled_from(ACTIVATIONS)),
        **{w: draw(st.floats(0.1, 2.0)) for w in ("w_res", "w_rgrad", "w_data")},
    )
    return problem, cls, objective, options, draw(seeds)


@props(500)
@given(objective_cases())
def test_random_residual_objective_gradients(case):
    problem, cls, objective, options, seed = case
    rng = np.random.default_rng(seed)
    data = pb.Data(rng.uniform(0.05, 1.0, 3), rng.normal(1.0, 0.3, 3))
    model = cls(problem, data, n_res=5, seed=seed % 1000, **options)
    t = model._trainer
    t.set_weights(t.get_weights() + 0.3 * rng.standard_normal(t.n_weights))  # away from the symmetric start
    x = model.state_vector(objective)
    f, g, losses = model.objective(objective, x)
    assume(np.isfinite(f) and abs(f) < 1e8)
    assert g.shape == x.shape and np.all(np.isfinite(g))
    assert f == pytest.approx(losses["total"])
    g_fd = central_difference(lambda y: model.objective(objective, y)[0], x)
    scale = max(1.0, abs(f), float(np.max(np.abs(g_fd))))
    assert np.max(np.abs(g - g_fd)) <= 1e-6 * scale, (str(problem.residual), objective)


# Richer grammar for printing: two coordinates, mixed derivatives, any constants, free division and powers.
RT_LEAVES = st.one_of(
    st.sampled_from([ex.u, ex.u.t, ex.u.tt, ex.u.x, ex.u.xt, ex.u.d(t=2, x=1), A, B, T, ex.coord("x")]),
    st.floats(-1e3, 1e3).map(ex.const),
)
RT_BINARY = {**BINARY, "truediv": operator.truediv, "pow": operator.pow}
RT_EXPRESSIONS = expressions(RT_LEAVES, UNARY, RT_BINARY, max_leaves=8)


def compiled_or_error(e: ex.Expr, coords, params) -> object:
    try:
        return ex.compile_expr(e, coords, params, "r").ops
    except pb.InputError as exc:  # e.g. a constant folding to a non-finite value
        return f"InputError: {exc}"


@props(200)
@given(RT_EXPRESSIONS)
@example((-ex.u) ** 2)
@example((-ex.u) ** A)
@example(ex.const(-0.0) ** T)
@example(-(ex.u**2))
@example(ex.const(-2.0) ** ex.const(2.0) * ex.u)
def test_print_parse_round_trip(e):
    coords, params = ("t", "x"), ("a", "b")
    text = str(e)
    back = ex.parse(text, coords, params)
    assert str(back) == text
    assert compiled_or_error(back, coords, params) == compiled_or_error(e, coords, params), text


# =============================================================================================
# 5. Round trips: weights and checkpoints


def _heat() -> pb.Problem:
    return pb.Problem(
        ("t", "x"),
        {"t": (0.0, 1.0), "x": (0.0, 1.0)},
        [pb.Parameter("D", 0.5, bounds=(0.0, None))],
        "u.t - D*u.xx",
        transform="sin(pi*x) + t*x*(1 - x)*N",
    )


PROBLEMS: Dict[str, Callable[[], pb.Problem]] = {
    "exponential": lambda: pb.problems.exponential_growth(),
    "logistic": lambda: pb.problems.logistic_growth(bounds=(None, 10.0)),
    "custom": lambda: pb.ode_problem(
        "u.t - a*u*(1 - u/b) + sin(t)", 0.5, [pb.Parameter("a", 1.0, (0.0, 4.0)), pb.Parameter("b", 2.0, (1.0, None))]
    ),
    "heat": _heat,
}


@st.composite
def model_configs(draw):
    return dict(
        problem=draw(st.sampled_from(sorted(PROBLEMS))),
        cls=draw(st.sampled_from([pb.PINN, pb.BiLO])),
        dtype=draw(st.sampled_from(["float64", "float32"])),
        activation=draw(st.sampled_from(ACTIVATIONS + ("exp",))),
        hidden=tuple(draw(st.lists(st.integers(1, 6), min_size=1, max_size=3))),
        seed=draw(st.integers(0, 10_000)),
        steps=draw(st.integers(0, 6)),
        amsgrad=draw(st.booleans()),
    )


def make_model(config) -> pb.Model:
    problem = PROBLEMS[config["problem"]]()
    rng = np.random.default_rng(config["seed"])
    points = problem.random_points(4, seed=config["seed"])
    data = pb.Data(points, rng.normal(1.0, 0.2, 4))
    return config["cls"](
        problem,
        data,
        hidden=config["hidden"],
        activation=config["activation"],
        dtype=config["dtype"],
        seed=config["seed"],
        n_res=4,
    )


@props(80)
@given(model_configs(), seeds)
def test_weight_round_trips_are_exact(config, seed):
    model = make_model(config)
    t = model._trainer
    np_dtype = np.float64 if config["dtype"] == "float64" else np.float32
    before = t.get_weights().copy()
    model.set_weights(model.get_weights())
    np.testing.assert_array_equal(t.get_weights(), before)

    w = np.random.default_rng(seed).standard_normal(t.n_weights)
    t.set_weights(w)
    np.testing.assert_array_equal(t.get_weights(), w.astype(np_dtype))
    # The (W, b) view follows the core's flat layout, the one of the reference.
    layers = model.get_weights()
    for (w_model, b_model), (w_ref, b_ref) in zip(layers, reference.unpack(model.sizes, t.get_weights())):
        np.testing.assert_array_equal(w_model, w_ref)
        np.testing.assert_array_equal(b_model, b_ref)
    model.set_weights([(wl * 0, bl * 0) for wl, bl in layers])
    model.set_weights(layers)
    np.testing.assert_array_equal(t.get_weights(), w.astype(np_dtype))


def _state(model: pb.Model) -> Dict[str, object]:
    t = model._trainer
    return {
        "weights": t.get_weights(),
        "raw": t.get_raw_params(),
        "params": model.params,
        "step": model.step,
        "history": t.get_history(),
        "adam": t.get_adam_state(),
    }


def _assert_same_state(a: Dict[str, object], b: Dict[str, object]) -> None:
    np.testing.assert_array_equal(a["weights"], b["weights"])
    np.testing.assert_array_equal(a["raw"], b["raw"])
    assert a["params"] == b["params"]
    assert a["step"] == b["step"]
    assert a["history"].keys() == b["history"].keys()
    for key in a["history"]:
        np.testing.assert_array_equal(a["history"][key], b["history"][key], err_msg=key)
    for group in ("weights", "params"):
        for key in ("m", "v", "v_max", "t"):
            np.testing.assert_array_equal(a["adam"][group][key], b["adam"][group][key], err_msg=f"{group} {key}")


@props(100)
@given(model_configs())
def test_checkpoint_round_trip_and_exact_resume(config):
    model = make_model(config)
    fit = dict(lr=1e-2, lr_params=1e-2, amsgrad=config["amsgrad"], callback_every=1, on_diverge="return")
    model.fit(steps=config["steps"], **fit)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.npz")
        model.save(path)
        back = pb.load(path)
    assert type(back) is type(model)
    assert (back.dtype, back.activation, back.hidden, back.sizes) == (
        model.dtype,
        model.activation,
        model.hidden,
        model.sizes,
    )
    assert back.weights_config == model.weights_config
    np.testing.assert_array_equal(back.collocation, model.collocation)
    np.testing.assert_array_equal(back.data.points, model.data.points)
    np.testing.assert_array_equal(back.data.values, model.data.values)
    _assert_same_state(_state(back), _state(model))
    np.testing.assert_equal(back.losses(), model.losses())  # NaN-aware: deep exp nets overflow in float32
    # Training on from the checkpoint is bit-identical to training on without it.
    model.fit(steps=3, **fit)
    back.fit(steps=3, **fit)
    _assert_same_state(_state(back), _state(model))


@props(60)
@given(objective_cases())
@example((pb.ode_problem(ex.u.t - A * (-ex.u) ** 2, 1.0, {"a": 1.0, "b": 1.0}), pb.PINN, "pinn", {}, 0))
def test_checkpoint_keeps_random_residuals(case):
    """Checkpoints store the problem as text: the reloaded residual and transform must be the same programs."""
    problem, cls, _, options, seed = case
    rng = np.random.default_rng(seed)
    model = cls(problem, pb.Data(rng.uniform(0.05, 1.0, 3), rng.normal(1.0, 0.3, 3)), n_res=4, **options)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.npz")
        model.save(path)
        back = pb.load(path)
    assert back.problem.compiled_residual.ops == problem.compiled_residual.ops
    assert back.problem.compiled_transform.ops == problem.compiled_transform.ops
    np.testing.assert_equal(back.losses(), model.losses())


# =============================================================================================
# 6. Malformed input: a pinnbilo error, never a crash or a silent wrong answer

BAD_NUMBERS = [np.nan, np.inf, -np.inf]


@st.composite
def arrays(draw, shape: Tuple[Optional[int], ...], allow_non_finite: bool = True):
    """An array of `shape` (None: any count >= 1), or one malformed on purpose: an axis too few or
    too many, a wrong length, no rows, a scalar, NaN/inf entries; as float64, float32 or lists."""
    dims = [draw(st.integers(1, 4)) if s is None else s for s in shape]
    mutation = draw(st.sampled_from(["none", "none", "none", "drop_axis", "add_axis", "resize", "empty", "scalar"]))
    if mutation == "drop_axis" and dims:
        del dims[draw(st.integers(0, len(dims) - 1))]
    elif mutation == "add_axis":
        dims.insert(draw(st.integers(0, len(dims))), draw(st.integers(1, 2)))
    elif mutation == "resize" and dims:
        i = draw(st.integers(0, len(dims) - 1))
        dims[i] = max(0, dims[i] + draw(st.sampled_from([-1, 1, 2])))
    elif mutation == "empty" and dims:
        dims[0] = 0
    elif mutation == "scalar":
        dims = []
    rng = np.random.default_rng(draw(seeds))
    a = rng.uniform(-1.0, 1.0, size=tuple(dims))
    if allow_non_finite and a.size:
        for _ in range(draw(st.sampled_from([0, 0, 1, 2]))):
            a.flat[rng.integers(a.size)] = draw(st.sampled_from(BAD_NUMBERS))
    kind = draw(st.sampled_from(["float64", "float32", "list"]))
    if kind == "float32":
        return a.astype(np.float32)
    return a.tolist() if kind == "list" and a.ndim > 0 else a


def check_rejected_or_finite(call: Callable[[], object], valid: bool) -> object:
    """Valid input gives finite numbers; anything else raises pb.InputError."""
    if not valid:
        with pytest.raises(pb.InputError):
            call()
        return None
    out = call()
    values = out.values() if isinstance(out, dict) else [out]
    for v in values:
        assert np.all(np.isfinite(np.asarray(v, dtype=np.float64)))
    return out


def points_valid(x: object, n_coords: int) -> bool:
    p = np.asarray(x, dtype=np.float64)
    if n_coords == 1 and p.ndim <= 1:
        p = p.reshape(-1, 1)
    return p.ndim == 2 and p.shape[1] == n_coords and p.shape[0] > 0 and bool(np.all(np.isfinite(p)))


@lru_cache(maxsize=None)
def small_model(name: str) -> pb.Model:
    """Tiny models shared by the malformed-input tests (each test restores what it changes)."""
    if name == "heat":
        problem = _heat()
        data = pb.Data(problem.random_points(4, seed=1), np.ones(4))
        return pb.BiLO(problem, data, hidden=(4,), n_res=3, seed=1)
    problem = pb.problems.exponential_growth()
    cls = {"pinn": pb.PINN, "bilo": pb.BiLO, "bilo32": pb.BiLO}[name]
    dtype = "float32" if name == "bilo32" else "float64"
    return cls(problem, problem.synthetic_data(4), hidden=(4, 3), n_res=4, seed=1, dtype=dtype)


MODEL_NAMES = ["pinn", "bilo", "bilo32", "heat"]


@props(300)
@given(st.sampled_from(MODEL_NAMES), st.data())
def test_predict_and_residual_validate_points(name, data):
    model = small_model(name)
    n_coords = len(model.problem.coords)
    points = data.draw(arrays((None, n_coords)))
    valid = points_valid(points, n_coords)
    check_rejected_or_finite(lambda: model.predict(points), valid)
    check_rejected_or_finite(lambda: model.residual(points), valid)
    names = ["u", "u_t"] + (["u_a" if name != "heat" else "u_xx"] if name != "pinn" else [])
    out = check_rejected_or_finite(lambda: model.predict(points, names), valid)
    if valid:
        n = np.asarray(points, dtype=np.float64).reshape(-1, n_coords).shape[0]
        assert sorted(out) == sorted(names) and all(v.shape == (n,) for v in out.values())


@props(300)
@given(st.integers(1, 2), st.integers(1, 4), st.data())
def test_data_validates_points_and_values(n_coords, m, data):
    points = data.draw(arrays((m, n_coords)))
    values = data.draw(arrays((m,)))
    p = np.asarray(points, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if p.ndim == 1:
        p = p[:, None]
    if p.ndim == 2 and p.shape[0] > 0 and p.shape[1] == 0:
        return  # zero coordinates: a Model rejects such data; Data alone need not
    valid = p.ndim == 2 and v.shape == (p.shape[0],) and p.shape[0] > 0 and np.all(np.isfinite(p))
    valid = bool(valid and np.all(np.isfinite(v)))
    d = check_rejected_or_finite(lambda: pb.Data(points, values).points, valid)
    if valid:
        got = pb.Data(points, values)
        assert got.points.shape == p.shape and got.values.shape == (p.shape[0],) and len(got) == p.shape[0]
        np.testing.assert_array_equal(d, p)


@st.composite
def mlp_calls(draw):
    """Arguments of mlp_derivatives, each possibly malformed."""
    sizes = [draw(st.integers(1, 3)), *draw(st.lists(st.integers(1, 4), min_size=1, max_size=2)), 1]
    if draw(st.integers(0, 5)) == 0:  # sometimes a bad architecture
        sizes[draw(st.integers(0, len(sizes) - 1))] = draw(st.integers(-2, 0))
    n_in = sizes[0]
    n_params = sum(o * i + o for i, o in zip(sizes[:-1], sizes[1:])) if min(sizes) > 0 else 3
    params = draw(arrays((n_params,)))
    inputs = draw(arrays((None, max(n_in, 1))))
    entry = st.integers(-1, 9) if draw(st.booleans()) else st.integers(0, 2)
    length = st.integers(max(n_in, 0), max(n_in, 0)) if draw(st.integers(0, 3)) else st.integers(0, 4)
    derivs = draw(st.lists(length.flatmap(lambda k: st.lists(entry, min_size=k, max_size=k)), max_size=4))
    activation = draw(st.sampled_from(ACTIVATIONS + ("exp", "relu", "log")))
    return sizes, activation, params, inputs, derivs


@props(400)
@given(mlp_calls())
def test_mlp_derivatives_validate_arguments(call):
    sizes, activation, params, inputs, derivs = call
    n_in = sizes[0]
    p = np.asarray(params, dtype=np.float64)
    x = np.asarray(inputs, dtype=np.float64)
    valid = (
        min(sizes) > 0
        and activation in ACTIVATIONS + ("exp",)
        and p.shape == (reference.n_params(sizes),)
        and bool(np.all(np.isfinite(p)))
        and x.ndim == 2
        and x.shape[0] > 0
        and x.shape[1] == n_in
        and bool(np.all(np.isfinite(x)))
        and all(len(d) == n_in and min(d, default=0) >= 0 and sum(d) <= 16 for d in derivs)
    )
    out = check_rejected_or_finite(lambda: _core.mlp_derivatives(sizes, activation, params, inputs, derivs), valid)
    if valid:
        assert out.shape == (len(derivs), 1, x.shape[0])


@props(200)
@given(st.sampled_from(MODEL_NAMES), st.sampled_from(["weights", "raw"]), st.data())
def test_trainer_setters_validate_and_keep_state_on_error(name, which, data):
    t = small_model(name)._trainer
    get, put = (t.get_weights, t.set_weights) if which == "weights" else (t.get_raw_params, t.set_raw_params)
    before = get().copy()
    value = data.draw(arrays((before.size,)))
    v = np.asarray(value, dtype=np.float64)
    if before.dtype == np.float32:
        with np.errstate(over="ignore"):
            v = v.astype(np.float32)
    valid = v.shape == before.shape and bool(np.all(np.isfinite(v)))
    try:
        if valid:
            put(value)
            np.testing.assert_array_equal(get(), v)
        else:
            with pytest.raises(pb.InputError):
                put(value)
            np.testing.assert_array_equal(get(), before)  # a rejected value changes nothing
    finally:
        put(before)


@props(200)
@given(st.sampled_from(MODEL_NAMES), st.sampled_from(["pinn", "lower", "upper"]), st.data())
def test_objective_validates_the_shape_of_x(name, objective, data):
    model = small_model(name)
    good = model.state_vector(objective)
    x = data.draw(arrays(good.shape, allow_non_finite=False))
    valid = np.asarray(x, dtype=np.float64).shape == good.shape
    out = check_rejected_or_finite(lambda: model.objective(objective, x)[1], valid)
    if valid:
        assert out.shape == good.shape
    np.testing.assert_array_equal(model.state_vector(objective), good)  # evaluating moves nothing


@props(40)
@given(st.text("abcdelnoprtuwPIN _-", max_size=8), st.sampled_from(MODEL_NAMES))
def test_objective_rejects_unknown_names(name, model_name):
    assume(name not in ("pinn", "lower", "upper"))
    model = small_model(model_name)
    with pytest.raises(pb.InputError, match="unknown objective"):
        model.objective(name, np.zeros(3))
    with pytest.raises(pb.InputError, match="unknown objective"):
        model.state_vector(name)


@props(60)
@given(
    st.sampled_from(MODEL_NAMES),
    st.sampled_from(["pinn", "lower", "upper"]),
    st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(BAD_NUMBERS)), min_size=1, max_size=3),
)
@example("bilo", "lower", [(0, np.nan)])
def test_objective_rejects_non_finite_x(name, objective, bad):
    model = small_model(name)
    x = model.state_vector(objective)
    for i, value in bad:
        x[i % x.size] = value
    with pytest.raises(pb.InputError):
        model.objective(objective, x)


@props(150)
@given(
    name=st.sampled_from(sorted(DOMAINS) + ["relu", "sqrt", ""]),
    x=arrays((None,), allow_non_finite=False),
    order=st.one_of(st.integers(-3, 22), st.integers(-(2**31), 2**31 - 1)),
)
@example(name="sin", x=np.array([0.5]), order=-2)
def test_taylor_coefficients_validate_arguments(name, x, order):
    valid = name in DOMAINS and np.asarray(x).ndim == 1 and 0 <= order <= 18
    if valid:
        out = _core.taylor_coefficients(name, 1.5, np.abs(np.asarray(x, dtype=np.float64)) + 0.5, order)
        assert out.shape == (order + 1, np.asarray(x).size) and np.all(np.isfinite(out))
    else:
        with pytest.raises(pb.InputError):
            _core.taylor_coefficients(name, 1.5, x, order)


@props(40)
@given(
    st.sampled_from(MODEL_NAMES),
    st.one_of(st.integers(), st.none(), st.floats(), st.tuples(st.integers()), st.lists(st.integers(0, 2))),
)
@example("pinn", 3)
def test_predict_rejects_derivative_specs_of_the_wrong_type(name, spec):
    model = small_model(name)
    with pytest.raises(pb.InputError, match="derivative"):
        model.predict([[0.5] * len(model.problem.coords)], [spec])


@props(20)
@given(st.integers(9, 2**70))
@example(2**31)
def test_huge_derivative_order_in_a_residual_is_an_input_error(order):
    with pytest.raises(pb.InputError):
        problem = pb.ode_problem(f"u.d(t={order}) - a*u", 1.0, {"a": 1.0})
        pb.PINN(problem, pb.Data([0.5], [1.0]), hidden=(3,), n_res=3)


@pytest.mark.filterwarnings("ignore::numpy.exceptions.ComplexWarning")
def test_complex_arrays_are_rejected():
    with pytest.raises(pb.InputError):
        pb.Data(np.array([0.1 + 1j, 0.2]), [1.0, 2.0])
    with pytest.raises(pb.InputError):
        small_model("pinn").predict(np.array([0.5 + 3j]))


# ---------------------------------------------------------------------------------------------
# Corrupted checkpoints


@lru_cache(maxsize=None)
def checkpoint_arrays() -> Dict[str, np.ndarray]:
    problem = pb.problems.exponential_growth()
    model = pb.BiLO(problem, problem.synthetic_data(5), hidden=(4,), n_res=5, seed=2)
    model.fit(steps=3, callback_every=1)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.npz")
        model.save(path)
        with np.load(path) as f:
            return {k: f[k] for k in f.files}


def load_corrupted(key: str, value: np.ndarray) -> pb.Model:
    arrays_ = {**checkpoint_arrays(), key: value}
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "bad.npz")
        np.savez(path, **arrays_)
        return pb.load(path)


def corrupt(a: np.ndarray, how: str) -> np.ndarray:
    if how == "text":
        return np.array(["abc"])
    if how == "extra_axis":
        return a[None, ...]
    if how == "empty":
        return np.zeros((0,) + a.shape[1:])
    if how == "nan":
        b = a.astype(np.float64).copy()
        b.reshape(-1)[0] = np.nan
        return b
    if how == "truncated":
        return a[:-1]
    if how == "fractional":
        return a.astype(np.float64) + 0.5
    if how == "vector":
        return np.array([a, a])
    if how == "negative":
        return -1 - a
    raise AssertionError(how)


STATE_ARRAYS = {
    **{k: ["text", "extra_axis", "empty", "nan"] for k in ("weights", "raw_params", "data_points", "data_values")},
    "collocation": ["text", "extra_axis", "empty", "nan"],
    **{f"adam_{g}_{m}": ["text", "extra_axis", "empty"] for g in ("weights", "params") for m in ("m", "v", "v_max")},
}


@props(40)
@given(st.sampled_from(sorted(STATE_ARRAYS)).flatmap(lambda k: st.tuples(st.just(k), st.sampled_from(STATE_ARRAYS[k]))))
def test_load_rejects_corrupted_state_arrays(case):
    key, how = case
    with pytest.raises(pb.InputError):
        load_corrupted(key, corrupt(checkpoint_arrays()[key], how))


BOOKKEEPING_ARRAYS = {
    "history_step": ["text", "truncated", "fractional"],
    **{f"history_{k}": ["text", "truncated", "extra_axis"] for k in ("res", "rgrad", "data", "total")},
    # history_params as text: checked in a child process below (a regression there crashes).
    "history_params": ["truncated"],
    **{f"adam_{g}_t": ["text", "vector", "nan", "negative"] for g in ("weights", "params")},
}


@props(30)
@given(
    st.sampled_from(sorted(BOOKKEEPING_ARRAYS)).flatmap(
        lambda k: st.tuples(st.just(k), st.sampled_from(BOOKKEEPING_ARRAYS[k]))
    )
)
@example(("history_step", "text"))
@example(("adam_weights_t", "text"))
def test_load_rejects_corrupted_bookkeeping(case):
    key, how = case
    with pytest.raises(pb.InputError):
        load_corrupted(key, corrupt(checkpoint_arrays()[key], how))


def test_load_of_non_numeric_history_params_does_not_crash():
    """Checked in a child process: a regression here takes the interpreter down."""
    got = run_capped(
        """
        import os, tempfile

        problem = pb.problems.exponential_growth()
        model = pb.BiLO(problem, problem.synthetic_data(5), hidden=(4,), n_res=5)
        path = os.path.join(tempfile.mkdtemp(), "model.npz")
        model.save(path)
        with np.load(path) as f:
            arrays = {k: f[k] for k in f.files}
        for bad in (np.array(["abc"]), np.array([b"xy"]), np.array([None], dtype=object)):
            np.savez(path, **{**arrays, "history_params": bad})
            outcome(lambda: pb.load(path))
        """
    )
    assert got == ["InputError"] * 3
