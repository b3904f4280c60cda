"""Area 1: problem construction, data, conditions, built-in problems and the expression parser."""

from __future__ import annotations

import os
import tempfile
from functools import lru_cache
from typing import Any, Dict, List

import numpy as np

import pinnbilo as pb
from pinnbilo import expr as ex

from .core import (
    ARRAYS,
    CALLABLES,
    CHOICE,
    FLAG,
    NONNEG,
    OPTIONAL,
    POS,
    REAL,
    SCALARS,
    SEED,
    TEXT,
    Case,
    H,
    Lit,
    Silent,
    case,
    cross,
    finite,
    kind,
)

AREA = "problems"
MOD = __name__


def _exp_solution(points: np.ndarray, p: Dict[str, float]) -> np.ndarray:
    return np.exp(p["a"] * points[:, 0])


def _base_problem_kwargs() -> Dict[str, Any]:
    return dict(
        coords=("t",),
        domain={"t": (0.0, 1.0)},
        params=[pb.Parameter("a", 1.0, true=2.0)],
        residual="u.t - a*u",
        transform="1 + t*N",
        solution=_exp_solution,
    )


def _tiny_model(problem: pb.Problem, data: Any = None, cls: Any = pb.PINN) -> Any:
    if data is None:
        lo, hi = problem.domain[problem.coords[0]]
        pts = np.full((2, len(problem.coords)), 0.5)
        for j, c in enumerate(problem.coords):
            lo, hi = problem.domain[c]
            pts[:, j] = [lo + 0.3 * (hi - lo), lo + 0.7 * (hi - lo)]
        data = pb.Data(pts, np.array([0.1, 0.2]), of=None if len(problem.fields) == 1 else problem.fields[0])
    return cls(problem, data, hidden=(4,), n_res=5)


def _check_model_finite(model: Any) -> str:
    losses = model.losses()
    if not all(finite(v) for v in losses.values()):
        raise Silent(f"accepted, but the model's losses are not finite: {losses}")
    return "model built, losses finite"


# -- targets --------------------------------------------------------------------------------------


def t_parameter(**kw: Any) -> Any:
    args = dict(name="a", init=1.0)
    args.update(kw)
    p = pb.Parameter(**args)
    problem = pb.ode_problem("u.t - a*u", 1.0, [p])
    return _check_model_finite(_tiny_model(problem))


def t_function(**kw: Any) -> Any:
    args: Dict[str, Any] = dict(name="D", transform="1 + x*(1 - x)*N", hidden=(4,))
    args.update(kw)
    f = pb.Function(**args)
    problem = pb.Problem(("x",), {"x": (0, 1)}, [], "D*u.xx + D.x*u.x + 1", "x*(1 - x)*N", functions=[f])
    m = _tiny_model(problem)
    if f.true is not None:
        m.function_errors()
    return _check_model_finite(m)


def t_problem(**kw: Any) -> Any:
    args = _base_problem_kwargs()
    args.update(kw)
    problem = pb.Problem(**args)
    problem.describe()
    problem.to_dict()
    if problem.solution is not None:
        data = problem.synthetic_data(4)
        if not finite(data.values):
            raise Silent("synthetic data not finite")
    return _check_model_finite(_tiny_model(problem))


def t_sources(sources: Any) -> Any:
    args = _base_problem_kwargs()
    args.update(residual="u.t - a*u - s", sources=sources, solution=None)
    problem = pb.Problem(**args)
    return _check_model_finite(_tiny_model(problem))


def _problem_2d(conditions: List[Any]) -> pb.Problem:
    return pb.Problem(("x", "t"), {"x": (0, 1), "t": (0, 1)}, [pb.Parameter("a", 1.0)], "u.t - a*u.xx",
                      conditions=conditions)  # fmt: skip


def t_condition(_helper: str, **kw: Any) -> Any:
    defaults: Dict[str, Dict[str, Any]] = {
        "dirichlet": dict(on="x=0"),
        "neumann": dict(on="x=1"),
        "robin": dict(on="x=1", alpha="1", beta="a"),
        "initial": dict(value="sin(pi*x)"),
        "periodic": dict(coord="x"),
        "Condition": dict(residual="u - 1", on="x=0"),
    }
    args = {**defaults[_helper], **kw}
    fn = pb.Condition if _helper == "Condition" else getattr(pb, _helper)
    c = fn(**args)
    if not isinstance(c, pb.Condition):
        raise Silent(f"{_helper} returned {type(c).__name__}")
    problem = _problem_2d([c])
    problem.describe()
    return _check_model_finite(_tiny_model(problem))


def t_data(**kw: Any) -> Any:
    args: Dict[str, Any] = dict(points=np.array([[0.2], [0.6]]), values=np.array([1.0, 2.0]))
    args.update(kw)
    d = pb.Data(**args)
    problem = pb.problems.exponential_growth()
    return _check_model_finite(pb.PINN(problem, d, hidden=(4,), n_res=5))


def t_from_arrays(**kw: Any) -> Any:
    args: Dict[str, Any] = dict(points=np.array([[0.2], [0.6]]), values=np.array([1.0, 2.0]))
    args.update(kw)
    out = pb.Data.from_arrays(**args)
    data = out if isinstance(out, list) else [out]
    problem = pb.problems.exponential_growth()
    return _check_model_finite(pb.PINN(problem, data, hidden=(4,), n_res=5))


TABLES: Dict[str, bytes] = {
    "empty_file": b"",
    "header_only": b"t,u\n",
    "not_number": b"t,u\n0.1,abc\n0.2,1.0\n",
    "not_utf8": b"t,u\n0.1,\xff\xfe\n",
    "binary": bytes(range(256)) * 4,
    "duplicate_columns": b"t,u,u\n0.1,1,2\n",
    "inf_cell": b"t,u\n0.1,inf\n0.2,1.0\n",
    "nan_coord": b"t,u\nnan,1.0\n0.2,1.0\n",
    "empty_coord": b"t,u\n,1.0\n0.2,1.0\n",
    "digits5000": b"t,u\n0.1," + b"1" + b"0" * 5000 + b"\n",
    "no_coord_column": b"x,u\n0.1,1\n",
    "only_coords": b"t\n0.1\n",
    "all_empty_values": b"t,u\n0.1,\n0.2,\n",
    "outside_domain": b"t,u\n5.0,1.0\n",
    "ragged_rows": b"t,u\n0.1\n0.2,1.0,3.0\n",
    "nul_bytes": b"t,u\n0.1,1\x00\n",
    "negative_sigma": b"t,u,u_sigma\n0.1,1.0,-1\n",
    "zero_sigma": b"t,u,u_sigma\n0.1,1.0,0\n",
    "huge_header": b",".join(b"c%d" % i for i in range(20000)) + b"\n" + b",".join(b"1" for _ in range(20000)) + b"\n",
}


def t_table_file(_content: str, **kw: Any) -> Any:
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "table.csv")
        with open(path, "wb") as fh:
            fh.write(TABLES[_content])
        args: Dict[str, Any] = dict(table=path, coords=("t",))
        args.update(kw)
        out = pb.Data.from_table(**args)
        problem = pb.problems.exponential_growth()
        return _check_model_finite(pb.PINN(problem, out, hidden=(4,), n_res=5))


def t_from_table(**kw: Any) -> Any:
    args: Dict[str, Any] = dict(coords=("t",))
    args.update(kw)
    if "table" not in args:
        import pandas as pd

        args["table"] = pd.DataFrame({"t": [0.2, 0.5], "u": [1.0, 2.0]})
    out = pb.Data.from_table(**args)
    problem = pb.problems.exponential_growth()
    return _check_model_finite(pb.PINN(problem, out, hidden=(4,), n_res=5))


def t_dataframe(_frame: str) -> Any:
    import pandas as pd

    frames = {
        "object_column": pd.DataFrame({"t": [0.2, 0.5], "u": ["a", "b"]}),
        "complex_column": pd.DataFrame({"t": [0.2, 0.5], "u": [1 + 1j, 2.0]}),
        "duplicate_columns": pd.DataFrame([[0.2, 1.0, 2.0]], columns=["t", "u", "u"]),
        "inf_column": pd.DataFrame({"t": [0.2, 0.5], "u": [np.inf, 1.0]}),
        "int_column_names": pd.DataFrame({0: [0.2], 1: [1.0]}),
        "empty_frame": pd.DataFrame(),
        "none_cells": pd.DataFrame({"t": [0.2, None], "u": [1.0, 2.0]}),
    }
    out = pb.Data.from_table(frames[_frame], ("t",))
    problem = pb.problems.exponential_growth()
    return _check_model_finite(pb.PINN(problem, out, hidden=(4,), n_res=5))


@lru_cache(maxsize=None)
def _fixture_1d() -> pb.Problem:
    return pb.problems.exponential_growth()


@lru_cache(maxsize=None)
def _fixture_2d() -> pb.Problem:
    def sol(p: np.ndarray, params: Dict[str, float]) -> np.ndarray:
        return np.sin(np.pi * p[:, 0]) * np.exp(-p[:, 1])

    return pb.Problem(("x", "t"), {"x": (0, 1), "t": (0, 1)}, [pb.Parameter("a", 1.0, true=1.0)], "u.t - a*u.xx",
                      solution=sol)  # fmt: skip


@lru_cache(maxsize=None)
def _fixture_sir() -> pb.Problem:
    return pb.problems.sir()


def t_method(_method: str, _fixture: str = "1d", **kw: Any) -> Any:
    problem = {"1d": _fixture_1d, "2d": _fixture_2d, "sir": _fixture_sir}[_fixture]()
    out = getattr(problem, _method)(**kw)
    if isinstance(out, np.ndarray) and out.dtype.kind == "f" and not finite(out):
        raise Silent(f"returned non-finite values: {out[:5]}")
    if isinstance(out, pb.Data) and not (finite(out.values) and finite(out.points)):
        raise Silent("returned Data with non-finite values")
    return f"returned {type(out).__name__}"


def t_ode_problem(**kw: Any) -> Any:
    args: Dict[str, Any] = dict(residual="u.t - a*u", u0=1.0, params={"a": 1.0})
    args.update(kw)
    problem = pb.ode_problem(**args)
    if problem.solution is not None:
        if not finite(problem.synthetic_data(3).values):
            raise Silent("synthetic data not finite")
    return _check_model_finite(_tiny_model(problem))


def t_builtin(_name: str, _direct: bool = False, _model: bool = False, **kw: Any) -> Any:
    problem = pb.problems.BUILTINS[_name](**kw) if _direct else pb.problems.get(_name, **kw)
    if _model:
        return _check_model_finite(_tiny_model(problem))
    if not isinstance(problem, pb.Problem):
        raise Silent(f"returned {type(problem).__name__}")
    for p in problem.params:
        if not (finite(p.init) and (p.true is None or finite(p.true))):
            raise Silent(f"parameter {p.name} not finite: {p}")
    return "built"


def t_get(name: Any) -> Any:
    return pb.problems.get(name)


def t_final_time_data(**kw: Any) -> Any:
    from pinnbilo.problems import final_time_data

    args: Dict[str, Any] = dict(problem=pb.problems.heat_initial(), n=5)
    args.update(kw)
    d = final_time_data(**args)
    if not finite(d.values):
        raise Silent("non-finite data")
    return "data"


def t_residual(text: str, _as: str = "residual") -> Any:
    if _as == "residual":
        problem = pb.ode_problem(text, 1.0, {"a": 1.0})
    else:
        problem = pb.Problem(("t",), {"t": (0, 1)}, [pb.Parameter("a", 1.0)], "u.t - a*u", transform=text)
    m = _tiny_model(problem, cls=pb.BiLO)
    return _check_model_finite(m)


def _deep(n: int, op: str) -> Any:
    e: Any = ex.u
    for _ in range(n):
        e = (e + ex.u) if op == "add" else (-e if op == "neg" else ex.sin(e))
    return e


EXPR_OBJECTS = {
    "deep_add_10000": lambda: _deep(10000, "add") + ex.u.t,
    "deep_neg_100000": lambda: _deep(100000, "neg") + ex.u.t,
    "deep_sin_3000": lambda: _deep(3000, "sin") + ex.u.t,
    "const_nan": lambda: ex.u.t - ex.const(float("nan")) * ex.u,
    "const_inf": lambda: ex.u.t - ex.const(float("inf")) * ex.u,
    "const_huge_int": lambda: ex.u.t - ex.const(10**5000) * ex.u,
    "const_str": lambda: ex.u.t - ex.const("a") * ex.u,
    "const_bool": lambda: ex.u.t - ex.const(True) * ex.u,
    "add_str": lambda: ex.u.t - "a",
    "mul_none": lambda: ex.u.t * None,
    "pow_complex": lambda: ex.u.t ** (1 + 1j),
    "d_order_9": lambda: ex.u.d(t=9),
    "d_order_neg": lambda: ex.u.d(t=-1) + ex.u,
    "d_order_frac": lambda: ex.u.d(t=1.5),
    "d_order_huge": lambda: ex.u.d(t=10**5000),
    "d_order_true": lambda: ex.u.d(t=True),
    "d_unknown_coord": lambda: ex.u.d(q=1),
    "d_of_param": lambda: ex.param("a").d(t=1),
    "attr_unknown_coord": lambda: ex.u.q,
    "attr_many_orders": lambda: getattr(ex.u, "t" * 9),
    "sin_of_str": lambda: ex.sin("x") + ex.u,
    "unknown_param_object": lambda: ex.u.t - ex.param("b") * ex.u,
    "unknown_coord_object": lambda: ex.u.t - ex.coord("x") * ex.u,
    "unknown_function_object": lambda: ex.u.t - ex.function("D") * ex.u,
    "unknown_known_object": lambda: ex.u.t - ex.known("s") * ex.u,
    "unknown_field_object": lambda: ex.u.t - ex.field("S"),
    "net_in_residual": lambda: ex.u.t - ex.N,
    "div_by_zero_const": lambda: ex.u.t - ex.u / 0,
    "zero_pow_neg": lambda: ex.u.t - ex.const(0.0) ** -1 * ex.u,
    "log_zero_const": lambda: ex.u.t - ex.log(ex.const(0.0)) * ex.u,
    "sqrt_neg_const": lambda: ex.u.t - ex.sqrt(ex.const(-1.0)) * ex.u,
    "exp_overflow_const": lambda: ex.u.t - ex.exp(ex.const(1000.0)) * ex.u,
    "pow_overflow_const": lambda: ex.u.t - ex.const(10.0) ** 400 * ex.u,
    "valid_objects": lambda: ex.u.t - ex.param("a") * ex.u,
}


def t_expr_object(builder: str) -> Any:
    e = EXPR_OBJECTS[builder]()
    problem = pb.ode_problem(e, 1.0, {"a": 1.0})
    return _check_model_finite(_tiny_model(problem, cls=pb.BiLO))


# Residual texts: (label, text, mode); error = must be refused
EXPRESSIONS = [
    ("valid", "u.t - a*u", "accept"),
    ("valid_spaces", "  u.t   -   a * u  ", "accept"),
    ("empty", "", "error"),
    ("blank", "   \n\t ", "error"),
    ("chars_20001", "u.t - a*u" + " " * 19992 + "+0", "error"),
    ("plus_chain_5000", "+".join(["u"] * 5000) + " + u.t", "error"),
    ("minus_100000", "-" * 100000 + "u + u.t", "error"),
    ("minus_150", "-" * 150 + "u + u.t", "accept"),
    ("parens_1000", "(" * 1000 + "u" + ")" * 1000 + " + u.t", "error"),
    ("parens_100", "(" * 100 + "u.t - a*u" + ")" * 100, "accept"),
    ("sin_nest_300", "sin(" * 300 + "u" + ")" * 300 + " + u.t", "error"),
    ("unknown_name", "u.t - b*u", "error"),
    ("unknown_function", "u.t - foo(u)", "error"),
    ("unknown_coordinate_deriv", "u.x - a*u", "error"),
    ("no_u", "a*t", "error"),
    ("only_constant", "1", "error"),
    ("N_in_residual", "u.t - N", "error"),
    ("syntax", "u.t - * a", "error"),
    ("unbalanced", "(u.t - a*u", "error"),
    ("import", "__import__('os').system('true')", "error"),
    ("lambda", "(lambda: u)()", "error"),
    ("dunder_attr", "u.__class__", "error"),
    ("class_attr", "u.t.__class__.__mro__", "error"),
    ("subscript", "u[0]", "error"),
    ("list", "[u.t, u]", "error"),
    ("comparison", "u.t - a*u == 0", "error"),
    ("bool_op", "u.t and u", "error"),
    ("ternary", "u.t if a else u", "error"),
    ("matmul", "u.t @ u", "error"),
    ("floordiv", "u.t // u", "error"),
    ("modulo", "u.t % u", "error"),
    ("bitxor", "u.t ^ u", "error"),
    ("walrus", "(x := u.t)", "error"),
    ("fstring", "f'{u}'", "error"),
    ("string_const", "u.t - 'a'", "error"),
    ("bytes_const", "u.t - b'a'", "error"),
    ("bool_const", "u.t - True*u", "error"),
    ("none_const", "u.t - None", "error"),
    ("complex_const", "u.t - 1j*u", "error"),
    ("inf_literal", "u.t - 1e999*u", "error"),
    ("int_literal_5000_digits", "u.t - " + "1" + "0" * 5000 + "*u", "error"),
    ("int_literal_4000_digits", "u.t - " + "1" + "0" * 4000 + "*u", "error"),
    ("pow_10_5000", "u.t - 10**5000*u", "error"),
    ("pow_huge_exponent", "u.t - u**(10**5000)", "error"),
    ("exp_1000", "u.t - exp(1000)*u", "error"),
    ("log_0", "u.t - log(0)*u", "error"),
    ("div_0", "u.t - 1/0*u", "error"),
    ("zero_pow_neg", "u.t - 0**-1*u", "error"),
    ("sqrt_neg", "u.t - sqrt(-1)*u", "error"),
    ("d_order_9", "u.d(t=9) - a*u", "error"),
    ("d_order_neg", "u.d(t=-1) - a*u", "error"),
    ("d_order_float", "u.d(t=1.5) - a*u", "error"),
    ("d_order_huge", "u.d(t=10**9) - a*u", "error"),
    ("d_positional", "u.d(1) - a*u", "error"),
    ("d_kwargs_splat", "u.d(**{'t': 1}) - a*u", "error"),
    ("d_unknown_coord", "u.d(x=1) - a*u", "error"),
    ("many_letters", "u.tttttttttt - a*u", "error"),
    ("func_two_args", "u.t - sin(u, u)", "error"),
    ("func_no_args", "u.t - sin()", "error"),
    ("func_kwarg", "u.t - sin(x=u)", "error"),
    ("func_of_func_name", "u.t - sin(sin)", "error"),
    ("attr_of_param", "u.t - a.t*u", "error"),
    ("attr_of_number", "u.t - (1).real*u", "error"),
    ("surrogate", "u.t - a*u\ud800", "error"),
    ("surrogate_name", "u.t - \ud800*u", "error"),
    ("nul_char", "u.t - a*u\x00", "error"),
    ("em_dash", "u.t \u2014 a*u", "error"),
    ("unicode_identifier", "u.t - \u00e4*u", "error"),
    ("fullwidth_u_nfkc", "\uff55.t - a*u", "accept"),  # Python folds identifiers by NFKC: it is u
    ("semicolon", "u.t - a*u; 1", "error"),
    ("newline_statement", "u.t - a*u\nimport os", "error"),
    ("star", "*u", "error"),
    ("slice", "u[1:2]", "error"),
    ("dict_display", "{u: 1}", "error"),
    ("set_display", "{u}", "error"),
    ("generator", "(u for u in u)", "error"),
    ("await", "await u", "error"),
    ("yield", "(yield u)", "error"),
    ("pi_e_names", "u.t - pi*e*u", "accept"),
    ("reserved_N_in_transform_missing", "t", "error_transform"),
    ("transform_with_u", "1 + t*u", "error_transform"),
    ("transform_deriv", "1 + t*N.t", "error_transform"),
    ("transform_unknown", "1 + t*N*b", "error_transform"),
    ("transform_valid", "1 + t*N", "accept_transform"),
]


# -- cases ----------------------------------------------------------------------------------------


def cases() -> List[Case]:
    out: List[Case] = []

    # Parameter
    out += cross(AREA, MOD, "t_parameter", "pb.Parameter", {
        "name": TEXT, "init": REAL, "true": REAL.plus("none"), "scale": POS.plus("none"),
        "bounds": CHOICE,
    })  # fmt: skip
    lo_kind = kind("none", "neg1", "zero", "negfrac", "ninf")
    out += cross(AREA, MOD, "t_parameter", "pb.Parameter", {"bounds[lo]": lo_kind}, wrap={"bounds[lo]": lambda v: (v, None)},
                 words={"bounds[lo]": ("bound",)})  # fmt: skip
    hi_kind = kind("none", "frac", "big", "i63", "inf")
    out += cross(AREA, MOD, "t_parameter", "pb.Parameter", {"bounds[hi]": hi_kind}, wrap={"bounds[hi]": lambda v: (None, v)},
                 words={"bounds[hi]": ("bound",)})  # fmt: skip
    for label, kw in {
        "inverted_bounds": dict(bounds=(2.0, 1.0)),
        "init_on_lower_bound": dict(bounds=(1.0, 2.0)),
        "true_outside_bounds": dict(bounds=(0.0, 2.0), true=5.0),
        "equal_bounds": dict(bounds=(1.0, 1.0)),
        "reserved_name_u": dict(name="u"),
        "reserved_name_exp": dict(name="exp"),
        "reserved_name_pi": dict(name="pi"),
        "name_with_space": dict(name="a b"),
        "keyword_name": dict(name="lambda"),
        "bounds_three": dict(bounds=(0, 1, 2)),
        "bounds_numpy_nan": dict(bounds=(np.float64("nan"), None)),
    }.items():
        out.append(case(AREA, f"pb.Parameter.{label}", MOD, "t_parameter", "error", **kw))

    # Function (checked through a Problem and a model)
    fn_hidden = kind("list3")
    out += cross(AREA, MOD, "t_function", "pb.Function", {
        "name": TEXT.minus("str"), "transform": CHOICE, "hidden": fn_hidden, "activation": CHOICE,
        "inputs": OPTIONAL, "true": OPTIONAL,
    }, values=SCALARS + CALLABLES)  # fmt: skip
    out += cross(AREA, MOD, "t_function", "pb.Function", {"hidden[0]": kind("one")}, wrap={"hidden[0]": lambda v: (v,)},
                 words={"hidden[0]": ("hidden",)})  # fmt: skip
    for label, kw in {
        "hidden_width_10**9": dict(hidden=(10**9,)),
        "hidden_width_100000": dict(hidden=(100000, 100000)),
        "inputs_unknown_coord": dict(inputs=("q",)),
        "inputs_duplicate": dict(inputs=("x", "x")),
        "inputs_empty": dict(inputs=()),
        "transform_without_N": dict(transform="1 + x"),
        "transform_reads_u": dict(transform="u + N"),
        "transform_syntax": dict(transform="1 + * N"),
        "true_returns_wrong_length": dict(true=H("fn_short")),
    }.items():
        out.append(case(AREA, f"pb.Function.{label}", MOD, "t_function", "error", **kw))

    # Problem: every argument crossed (spec: any JSON-able dict is a valid spec, e.g. {"note": "..."})
    out += cross(AREA, MOD, "t_problem", "pb.Problem", {
        "coords": CHOICE, "domain": CHOICE, "params": CHOICE, "residual": CHOICE, "transform": CHOICE,
        "solution": OPTIONAL, "name": TEXT.plus("empty_str", "surrogate"), "spec": OPTIONAL.plus("dict"),
        "functions": kind("empty_str", "empty"), "fields": CHOICE, "conditions": CHOICE, "periodic": CHOICE,
    }, values=SCALARS + CALLABLES)  # fmt: skip
    out += cross(AREA, MOD, "t_problem", "pb.Problem", {"domain[t][0]": REAL.minus("one", "frac", "big", "i63")},
                 wrap={"domain[t][0]": lambda v: {"t": (v, 1.0)}}, words={"domain[t][0]": ("domain",)})  # fmt: skip
    out += cross(AREA, MOD, "t_problem", "pb.Problem", {"domain[t][1]": kind("frac", "big", "i63")},
                 wrap={"domain[t][1]": lambda v: {"t": (0.0, v)}}, words={"domain[t][1]": ("domain",)})  # fmt: skip
    out += cross(AREA, MOD, "t_sources", "pb.Problem(sources=...)", {"sources[s]": CHOICE},
                 values=SCALARS + CALLABLES, wrap={"sources[s]": lambda v: {"s": v}},
                 words={"sources[s]": ("source",)}, also_ok=("ZeroDivisionError",))  # fmt: skip
    out += cross(
        AREA, MOD, "t_sources", "pb.Problem(sources=...)", {"sources": OPTIONAL}, words={"sources": ("source",)}
    )
    for label, kw in {
        "coords_duplicate": dict(coords=("t", "t"), domain={"t": (0, 1)}),
        "coords_reserved": dict(coords=("u",), domain={"u": (0, 1)}),
        "coords_pi": dict(coords=("pi",), domain={"pi": (0, 1)}),
        "domain_extra_coord": dict(domain={"t": (0, 1), "x": (0, 1)}),
        "domain_inverted": dict(domain={"t": (1, 0)}),
        "domain_point": dict(domain={"t": (1, 1)}),
        "domain_three": dict(domain={"t": (0, 1, 2)}),
        "domain_overflow_width": dict(domain={"t": (-1e308, 1e308)}),
        "params_duplicate": dict(params=[pb.Parameter("a", 1.0), pb.Parameter("a", 2.0)]),
        "param_named_like_coord": dict(params=[pb.Parameter("t", 1.0)], residual="u.t - t*u"),
        "residual_empty_list": dict(residual=[]),
        "residual_empty_dict": dict(residual={}),
        "residual_dict_bad_key": dict(residual={"": "u.t - a*u"}),
        "residual_dict_int_key": dict(residual={1: "u.t - a*u"}),
        "transform_dict_unknown_field": dict(transform={"v": "N"}),
        "fields_with_underscore": dict(fields=("u_1",)),
        "fields_duplicate": dict(fields=("u", "u")),
        "fields_reserved": dict(fields=("N",)),
        "periodic_unknown": dict(periodic=("x",)),
        "periodic_duplicate": dict(periodic=("t", "t")),
        "periodic_string": dict(periodic="t"),
        "functions_not_Function": dict(functions=["D"]),
        "solution_raises": dict(solution=H("fn_raises")),
        "solution_nan": dict(solution=H("fn_nan")),
        "solution_complex": dict(solution=H("fn_complex")),
        "solution_wrong_shape": dict(solution=H("fn_short")),
        "solution_none_result": dict(solution=H("fn_none")),
        "solution_str_result": dict(solution=H("fn_str")),
    }.items():
        also = ("ZeroDivisionError",) if label == "solution_raises" else ()
        out.append(case(AREA, f"pb.Problem.{label}", MOD, "t_problem", "error", also_ok=also, **kw))

    # conditions helpers, compiled into a 2-D problem and a model
    helper_args = {
        "dirichlet": {"on": CHOICE, "value": kind("zero", "one", "frac", "neg1", "negfrac", "big", "i63", "str"),
                      "field": CHOICE, "weight": NONNEG, "n": kind("one", "big")},
        "neumann": {"on": CHOICE, "flux": kind("zero", "one", "frac", "neg1", "negfrac", "big", "i63"),
                    "field": CHOICE, "weight": NONNEG, "n": kind("one")},
        "robin": {"on": CHOICE, "alpha": kind("zero", "one", "frac", "neg1", "negfrac", "big", "i63"),
                  "beta": kind("zero", "one", "frac", "neg1", "negfrac", "big", "i63"),
                  "g": kind("zero", "one", "frac", "neg1", "negfrac", "big", "i63"), "field": CHOICE,
                  "weight": NONNEG, "n": kind("one")},
        "initial": {"value": kind("zero", "one", "frac", "neg1", "negfrac", "big", "i63"), "field": CHOICE,
                    "derivative": kind("zero", "one"), "coord": CHOICE, "weight": NONNEG, "n": kind("one")},
        "periodic": {"coord": CHOICE, "expr": CHOICE, "weight": NONNEG, "n": kind("one")},
        "Condition": {"residual": CHOICE, "on": CHOICE, "points": OPTIONAL, "n": kind("one", "big"),
                      "weight": NONNEG, "periodic": OPTIONAL, "name": TEXT.plus("empty_str", "surrogate")},
    }  # fmt: skip
    for helper, args in helper_args.items():
        label = f"pb.{helper}"
        out += cross(AREA, MOD, "t_condition", label, args, base={"_helper": helper})
    faces = [
        "x",
        "x=",
        "=0",
        "x=5",
        "q=0",
        "x=nan",
        "x=1e400",
        "x=0=0",
        "x==0",
        "t=high",
        "x=low ",
        " x = 1 ",
        "x=0.0000000001",
        "x=" + "0" * 5000,
        "x=\ud800",
        "x=inf",
        "x=-0",
    ]
    ok_faces = {"t=high", "x=low ", " x = 1 ", "x=0.0000000001", "x=" + "0" * 5000, "x=-0"}
    for f in faces:
        mode = "accept" if f in ok_faces else "error"
        out.append(case(AREA, f"pb.dirichlet.on={f[:20]!r}", MOD, "t_condition", mode, _helper="dirichlet",
                        on=Lit(f, repr(f[:30])), words=("face", "on")))  # fmt: skip
    for label, kw in {
        "initial_derivative_9": dict(_helper="initial", derivative=9),
        "initial_coord_unknown": dict(_helper="initial", coord="q"),
        "robin_unknown_name": dict(_helper="robin", alpha="b"),
        "dirichlet_value_expression_bad": dict(_helper="dirichlet", value="sin("),
        "periodic_coord_t": dict(_helper="periodic", coord="q"),
        "Condition_two_places": dict(_helper="Condition", on="x=0", periodic="x"),
        "Condition_none_place": dict(_helper="Condition", on=None),
        "Condition_points_outside": dict(_helper="Condition", on=None, points=np.array([[2.0, 0.5]])),
        "Condition_points_nan": dict(_helper="Condition", on=None, points=np.array([[np.nan, 0.5]])),
        "Condition_points_wrong_cols": dict(_helper="Condition", on=None, points=np.array([[0.5]])),
        "Condition_residual_without_u": dict(_helper="Condition", residual="x - 1"),
        "Condition_n_10**6_2d": dict(_helper="Condition", n=10**6, mode_override="accept"),
    }.items():
        mode = kw.pop("mode_override", "error")
        out.append(case(AREA, f"conditions.{label}", MOD, "t_condition", mode, **kw))

    # Data, from_arrays, from_table
    out += cross(AREA, MOD, "t_data", "pb.Data", {
        "points": CHOICE, "values": CHOICE, "noise": NONNEG, "of": OPTIONAL.plus("str"), "sigma": POS.plus("none"),
        "integral": kind("true"), "quadrature": OPTIONAL,
    }, values=ARRAYS)  # fmt: skip
    # integral=True with a valid quadrature: 'of' 'abc' refused later by the model; keep mode error for of='str'?
    out += cross(AREA, MOD, "t_from_arrays", "pb.Data.from_arrays", {
        "points": CHOICE, "values": CHOICE, "sigma": POS.plus("none"), "of": OPTIONAL,
    }, values=ARRAYS)  # fmt: skip
    out += cross(AREA, MOD, "t_from_arrays", "pb.Data.from_arrays", {"values[u]": kind("nan_array")},
                 wrap={"values[u]": lambda v: {"u": v}}, values=ARRAYS, words={"values[u]": ("values",)})  # fmt: skip
    out += cross(AREA, MOD, "t_from_arrays", "pb.Data.from_arrays", {"sigma[u]": POS.plus("none")},
                 base={"values": {"u": np.array([1.0, 2.0])}}, wrap={"sigma[u]": lambda v: {"u": v}},
                 words={"sigma[u]": ("sigma",)})  # fmt: skip
    for label, kw in {
        "values_empty_mapping": dict(values={}),
        "values_mapping_with_of": dict(values={"u": [1.0, 2.0]}, of="u"),
        "sigma_mapping_extra": dict(values={"u": [1.0, 2.0]}, sigma={"u": 1.0, "v": 1.0}),
        "values_all_nan": dict(values={"u": [np.nan, np.nan]}),
        "points_rows_mismatch": dict(values=[1.0, 2.0, 3.0]),
        "values_2d": dict(values=[[1.0, 2.0]]),
        "sigma_negative_array": dict(sigma=np.array([1.0, -1.0])),
        "sigma_tiny": dict(sigma=1e-300),
        "of_unknown_field": dict(of="v"),
        "of_expression_bad": dict(of="u +"),
    }.items():
        out.append(case(AREA, f"pb.Data.from_arrays.{label}", MOD, "t_from_arrays", "error", **kw))
    for label, kw in {
        "points_outside_domain": dict(points=np.array([[2.0], [0.5]])),
        "points_two_columns": dict(points=np.array([[0.1, 0.2], [0.3, 0.4]])),
        "sigma_inf": dict(sigma=np.inf),
        "integral_without_quadrature": dict(integral=True, values=np.array([1.0])),
        "quadrature_without_integral": dict(quadrature=np.array([0.5, 0.5])),
        "integral_quadrature_nan": dict(integral=True, values=np.array([1.0]), quadrature=np.array([0.5, np.nan])),
        "integral_numpy_bool": dict(
            integral=np.bool_(True), values=np.array([1.0]), quadrature=np.array([0.5, 0.5]), mode_override="accept"
        ),
        "int64_values_overflowing_float32": dict(values=np.array([1e39, 1.0])),
    }.items():
        mode = kw.pop("mode_override", "error")
        if label == "int64_values_overflowing_float32":
            mode = "accept"  # float64 model: valid
        out.append(case(AREA, f"pb.Data.{label}", MOD, "t_data", mode, **kw))
    for content in TABLES:
        mode = "accept" if content in ("ragged_rows",) else "error"
        out.append(case(AREA, f"pb.Data.from_table.csv_{content}", MOD, "t_table_file", mode, _content=content,
                        call=f"pb.Data.from_table(<csv: {content}>, ('t',))", words=("table", "column", "csv")))  # fmt: skip
    out += cross(AREA, MOD, "t_from_table", "pb.Data.from_table", {"table": CHOICE, "coords": CHOICE, "fields": OPTIONAL},
                 values=SCALARS + ("bytes",))  # fmt: skip
    out.append(case(AREA, "pb.Data.from_table.missing_file", MOD, "t_from_table", "error", table="/nonexistent/x.csv"))
    out.append(case(AREA, "pb.Data.from_table.directory", MOD, "t_from_table", "error", table="/tmp"))
    out.append(case(AREA, "pb.Data.from_table.surrogate_path", MOD, "t_from_table", "error", table="/tmp/\ud800.csv",
                    words=("table", "path", "file")))  # fmt: skip
    for frame in ("object_column", "complex_column", "duplicate_columns", "inf_column", "int_column_names",
                  "empty_frame", "none_cells"):  # fmt: skip
        mode = "accept" if frame == "none_cells" else "error"
        out.append(case(AREA, f"pb.Data.from_table.frame_{frame}", MOD, "t_dataframe", mode, _frame=frame,
                        call=f"pb.Data.from_table(<DataFrame: {frame}>, ('t',))", words=("table", "column")))  # fmt: skip

    # Problem methods
    methods = {
        ("synthetic_data", "1d"): {"n": kind("one"), "noise": NONNEG, "seed": SEED.plus("list3"),
                                   "points": OPTIONAL.plus("zero", "one"), "params": kind("none", "dict"),
                                   "of": OPTIONAL},
        ("synthetic_observations", "sir"): {"n": kind("one"), "noise": NONNEG, "seed": SEED.plus("list3"),
                                            "fields": OPTIONAL, "points": kind("none", "zero", "one", "frac", "list3"),
                                            "params": OPTIONAL},
        ("grid", "1d"): {"n": kind(), "interior": FLAG.plus("zero", "one")},
        ("random_points", "2d"): {"n": kind("one", "big"), "seed": SEED.plus("list3")},
        ("exact", "1d"): {"points": kind("zero", "one", "frac", "neg1", "negfrac", "list3", skip=("big", "i63")),
                          "params": kind("none", "dict")},
        ("integral_data", "2d"): {"of": OPTIONAL, "value": REAL.plus("none"), "over": OPTIONAL, "n": kind("one"),
                                  "sigma": POS.plus("none"), "params": kind("none", "dict")},
        ("face", "2d"): {"on": CHOICE},
        ("field_index", "sir"): {"field": CHOICE},
        ("as_points", "2d"): {"points": CHOICE},
        ("get_function", "1d"): {"name": CHOICE},
    }  # fmt: skip
    needs = {"exact": {"points": [0.5]}, "grid": {"n": 5}, "random_points": {"n": 5}}
    for (meth, fx), args in methods.items():
        base = {"_method": meth, "_fixture": fx, **needs.get(meth, {})}
        out += cross(AREA, MOD, "t_method", f"problem.{meth}", args, base=base,
                     values=ARRAYS if meth in ("exact", "as_points") else SCALARS)  # fmt: skip
    out += cross(AREA, MOD, "t_method", "problem.synthetic_data", {"params[a]": REAL},
                 base={"_method": "synthetic_data", "n": 3}, wrap={"params[a]": lambda v: {"a": v}},
                 words={"params[a]": ("parameter", "a")})  # fmt: skip
    out.append(case(AREA, "problem.synthetic_data.params_unknown", MOD, "t_method", "error", _method="synthetic_data",
                    params={"b": 1.0}))  # fmt: skip
    out.append(case(AREA, "problem.synthetic_data.points_outside", MOD, "t_method", "error", _method="synthetic_data",
                    points=[[2.0]]))  # fmt: skip
    out.append(case(AREA, "problem.grid.n_10**4_in_2d", MOD, "t_method", "error", _method="grid", _fixture="2d",
                    n=10**4))  # fmt: skip
    out.append(case(AREA, "problem.random_points.n_10**8", MOD, "t_method", "error", _method="random_points",
                    _fixture="2d", n=10**8))  # fmt: skip
    out.append(case(AREA, "problem.integral_data.n_300", MOD, "t_method", "error", _method="integral_data",
                    _fixture="2d", n=300))  # fmt: skip

    # ode_problem
    out += cross(AREA, MOD, "t_ode_problem", "pb.ode_problem", {
        "residual": CHOICE, "u0": REAL, "params": kind("dict"), "t_span": CHOICE, "solution": OPTIONAL,
    }, values=SCALARS + CALLABLES)  # fmt: skip
    out += cross(AREA, MOD, "t_ode_problem", "pb.ode_problem", {"params[a]": REAL},
                 wrap={"params[a]": lambda v: {"a": v}}, words={"params[a]": ("a", "initial guess")})  # fmt: skip
    out += cross(AREA, MOD, "t_ode_problem", "pb.ode_problem", {"t_span[0]": REAL.minus("one", "frac", "big", "i63")},
                 wrap={"t_span[0]": lambda v: (v, 1.0)}, words={"t_span[0]": ("t_span", "domain")})  # fmt: skip

    # built-in problems: every argument of every one, through get() and directly
    for name, fn in pb.problems.BUILTINS.items():
        import inspect

        for pname, prm in inspect.signature(fn).parameters.items():
            d = prm.default
            if pname in ("hidden",):
                k = kind("list3")
            elif pname in ("t_span", "bounds"):
                k = CHOICE
            elif isinstance(d, bool):
                k = FLAG
            elif isinstance(d, (int, float)):
                # None: a true value left unknown is meaningful for some; any clear outcome is fine
                k = kind("none", "neg1", "zero", "one", "frac", "negfrac", "big", "i63")
            else:
                k = CHOICE
            for direct in (False, True):
                label = f"pb.problems.{name}" if direct else f"pb.problems.get('{name}')"
                out += cross(AREA, MOD, "t_builtin", label, {pname: k}, base={"_name": name, "_direct": direct},
                             words={pname: (pname, name)})  # fmt: skip
        out += cross(AREA, MOD, "t_builtin", f"pb.problems.get('{name}')", {"bogus_kwarg": CHOICE},
                     base={"_name": name}, values=("one",), words={"bogus_kwarg": ("bogus",)})  # fmt: skip
    for label, kw in {
        "variable_poisson_hidden_30000_model": dict(_name="variable_poisson", hidden=(30000, 30000), _model=True),
        "darcy_hidden_10**9_model": dict(_name="darcy", hidden=(10**9,), _model=True),
        "logistic_u0_1": dict(_name="logistic", u0=1.0),
        "exponential_t_span_inverted": dict(_name="exponential", t_span=(1.0, 0.0)),
        "exponential_t_span_three": dict(_name="exponential", t_span=(0.0, 1.0, 2.0)),
        "exponential_bounds_inverted": dict(_name="exponential", bounds=(5.0, 0.0)),
        "heat_D_1e300": dict(_name="heat_initial", D=1e300, mode_override="accept"),
    }.items():
        mode = kw.pop("mode_override", "error")
        out.append(case(AREA, f"pb.problems.get.{label}", MOD, "t_builtin", mode, **kw))
    out += cross(AREA, MOD, "t_get", "pb.problems.get", {"name": CHOICE}, words={"name": ("problem",)})
    out += cross(AREA, MOD, "t_final_time_data", "final_time_data", {
        "problem": CHOICE, "n": kind("one"), "noise": NONNEG, "seed": SEED.plus("list3"), "t": kind("none", "zero", "one"),
    })  # fmt: skip

    # expression parser
    for label, text, mode in EXPRESSIONS:
        as_ = "transform" if mode.endswith("_transform") else "residual"
        m = mode.split("_")[0]
        shown = text if len(text) <= 40 else f"{text[:20]!r}...({len(text)} chars)"
        out.append(case(AREA, f"expr.{label}", MOD, "t_residual", m, text=Lit(text, repr(shown)), _as=as_,
                        words=("expression", "residual", "transform"), timeout=30,
                        call=f"pb.ode_problem({shown!r}, ...) as {as_}"))  # fmt: skip
    for b in EXPR_OBJECTS:
        m = "accept" if b == "valid_objects" else "error"
        out.append(case(AREA, f"expr_object.{b}", MOD, "t_expr_object", m, builder=b,
                        call=f"pb.ode_problem(<pb.expr: {b}>, ...)", words=("expression", "order", "constant"),
                        timeout=30))  # fmt: skip
    return out
