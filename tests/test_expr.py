"""Expressions: parsing, printing, compilation."""

import math

import pytest

import pinnbilo as pb
from pinnbilo import expr as ex


def test_string_and_operator_forms_agree():
    coords, params = ("t",), ("a",)
    parsed = ex.parse("u.t - a*u*(1 - u)", coords, params)
    built = ex.u.t - ex.param("a") * ex.u * (1 - ex.u)
    assert ex.compile_expr(parsed, coords, params, "r").ops == ex.compile_expr(built, coords, params, "r").ops


@pytest.mark.parametrize("text", ["u.t - a*u", "u.tt + sin(t)*exp(-a*u)/(1 + u**2)", "sqrt(u) - 2**t*log(a + 3)"])
def test_print_parse_round_trip(text):
    e = ex.parse(text, ("t",), ("a",))
    again = ex.parse(str(e), ("t",), ("a",))
    assert ex.compile_expr(e, ("t",), ("a",), "r").ops == ex.compile_expr(again, ("t",), ("a",), "r").ops


def test_constants_fold_and_subexpressions_are_shared():
    c = ex.compile_expr(ex.parse("u*(2*pi/4) + u*(2*pi/4)", ("t",), ()), ("t",), (), "r")
    # leaf u, scale by pi/2 (shared), add (u*c + u*c is one op: add of the shared node with itself)
    assert len(c.ops) == 3
    assert c.ops[1][3] == pytest.approx(math.pi / 2)


def test_derivatives_needed_are_reported():
    problem = pb.Problem(
        ("t", "x"),
        {"t": (0, 1), "x": (0, 1)},
        [pb.Parameter("D", 1.0)],
        "u.t - D*u.xx + u.d(x=1)*u",
        transform="N",
    )
    assert problem.derivatives == [(0, 0), (0, 1), (0, 2), (1, 0)]


def test_u_derivative_notation():
    assert ex.u.xt.deriv == ex.u.d(t=1, x=1).deriv == (("t", 1), ("x", 1))
    with pytest.raises(pb.InputError):
        ex.param("a").d(t=1)
