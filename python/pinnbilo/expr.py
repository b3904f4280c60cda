"""Symbolic expressions for residuals and output transforms, and their compilation to the
C++ op list.

A residual is written once, as a string (``"u.t - a*u"``) or with these objects
(``u.t - a * u``); the library works out which derivatives of ``u`` the network must carry,
and the core derives the BiLO residual-gradient ``dr/da`` itself.

Names inside expressions:

* ``u`` the solution (or each field by its name in a system, ``S``, ``I``, ...); ``u.t``,
  ``u.tt``, ``u.xt`` its derivatives (one letter per order and coordinate), ``u.d(t=1, x=2)`` for
  any order.
* ``N`` the raw network output (output transforms only: the output of the transform's own field).
* unknown functions by name (``D``, or ``D(x)``) with derivatives like u (``D.x``, ``D.xx``);
  output transforms may use their values.
* known sources by name (callables of the coordinates evaluated at the collocation points;
  residuals only).
* coordinates (``t``, ``x``, ...) and parameters (``a``, ...) by name.
* functions ``exp, log, sin, cos, tanh, sigmoid, softplus, sqrt, abs`` and the constants ``pi``, ``e``.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from ._validation import _show
from .errors import InputError

# Codes shared with the C++ core (cpp/include/pinnbilo/program.hpp, elementary.hpp, problem.hpp).
OP_LEAF, OP_CONST, OP_ADD, OP_SUB, OP_MUL, OP_NEG, OP_SCALE, OP_ADDCONST, OP_UNARY = range(9)
FUNC_CODES = {"tanh": 0, "sin": 1, "cos": 2, "exp": 3, "log": 4, "sigmoid": 5, "softplus": 6, "pow": 7, "abs": 8}
LEAF_COORD, LEAF_PARAM, LEAF_NET, LEAF_UDERIV, LEAF_FUNC, LEAF_KNOWN = range(6)

MAX_ORDER = 8  # highest derivative order per coordinate the core accepts

FUNCTIONS = ("exp", "log", "sin", "cos", "tanh", "sigmoid", "softplus", "sqrt", "abs")
CONSTANTS = {"pi": math.pi, "e": math.e}

Number = Union[int, float]


@dataclass(frozen=True)
class Expr:
    """A node of an expression graph. Build them with the operators, not directly.

    ``kind`` is one of: const, coord, param, u (the field ``name``), fn (an unknown function
    ``name``), known (a known source ``name``), net, add, sub, mul, div, neg, pow, func.
    """

    kind: str
    args: Tuple["Expr", ...] = ()
    value: float = 0.0
    name: str = ""
    deriv: Tuple[Tuple[str, int], ...] = ()

    # -- arithmetic -------------------------------------------------------------------------
    def __add__(self, other: "ExprLike") -> "Expr":
        return Expr("add", (self, as_expr(other)))

    def __radd__(self, other: "ExprLike") -> "Expr":
        return Expr("add", (as_expr(other), self))

    def __sub__(self, other: "ExprLike") -> "Expr":
        return Expr("sub", (self, as_expr(other)))

    def __rsub__(self, other: "ExprLike") -> "Expr":
        return Expr("sub", (as_expr(other), self))

    def __mul__(self, other: "ExprLike") -> "Expr":
        return Expr("mul", (self, as_expr(other)))

    def __rmul__(self, other: "ExprLike") -> "Expr":
        return Expr("mul", (as_expr(other), self))

    def __truediv__(self, other: "ExprLike") -> "Expr":
        return Expr("div", (self, as_expr(other)))

    def __rtruediv__(self, other: "ExprLike") -> "Expr":
        return Expr("div", (as_expr(other), self))

    def __pow__(self, other: "ExprLike") -> "Expr":
        return Expr("pow", (self, as_expr(other)))

    def __rpow__(self, other: "ExprLike") -> "Expr":
        return Expr("pow", (as_expr(other), self))

    def __neg__(self) -> "Expr":
        return Expr("neg", (self,))

    def __pos__(self) -> "Expr":
        return self

    def __abs__(self) -> "Expr":
        return Expr("func", (self,), name="abs")

    # -- derivatives of u ---------------------------------------------------------------------
    def d(self, **orders: int) -> "Expr":
        """Derivative of ``u`` (or of an unknown function): ``u.d(t=1, x=2)`` is d^3 u / dt dx^2."""
        if self.kind not in ("u", "fn"):
            raise InputError("only u and unknown functions have derivatives; write u.t, u.xx or u.d(x=2)")
        merged: Dict[str, int] = dict(self.deriv)
        for name, k in orders.items():
            if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= MAX_ORDER:
                raise InputError(f"derivative order for '{name}' must be an int in [0, {MAX_ORDER}], got {_show(k)}")
            merged[name] = merged.get(name, 0) + k
        return Expr(self.kind, name=self.name, deriv=tuple(sorted((n, k) for n, k in merged.items() if k > 0)))

    def __getattr__(self, attr: str) -> "Expr":
        # u.t, u.xx, u.xt: one letter per differentiation.
        if attr.startswith("__") or self.kind not in ("u", "fn"):
            raise AttributeError(attr)
        orders: Dict[str, int] = {}
        for letter in attr:
            orders[letter] = orders.get(letter, 0) + 1
        return self.d(**orders)

    def __str__(self) -> str:
        return to_string(self)

    def __repr__(self) -> str:
        return f"Expr({to_string(self)!r})"


ExprLike = Union[Expr, Number]


def as_expr(x: ExprLike) -> Expr:
    """Wrap a number as a constant expression; pass expressions through."""
    if isinstance(x, Expr):
        return x
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise InputError(f"cannot use {_show(x)} of type {type(x).__name__} in an expression; use numbers or symbols")
    try:
        v = float(x)
    except OverflowError:
        raise InputError(f"expression constant {_show(x)} is beyond float64's range") from None
    if not math.isfinite(v):
        raise InputError(f"expression constant {_show(x)} is not finite")
    return Expr("const", value=v)


def const(v: Number) -> Expr:
    return as_expr(v)


def coord(name: str) -> Expr:
    return Expr("coord", name=name)


def param(name: str) -> Expr:
    return Expr("param", name=name)


def function(name: str) -> Expr:
    """An unknown function by name; ``function("D").x`` is its x-derivative."""
    return Expr("fn", name=name)


def known(name: str) -> Expr:
    """A known source by name (values supplied per collocation point)."""
    return Expr("known", name=name)


def field(name: str) -> Expr:
    """A field of a system by name; ``field("S").t`` is its t-derivative."""
    return Expr("u", name=name)


u = field("u")
N = Expr("net")


def _func(name: str) -> Callable[[ExprLike], Expr]:
    def f(x: ExprLike) -> Expr:
        return Expr("func", (as_expr(x),), name=name)

    f.__name__ = name
    f.__doc__ = f"{name}(x) as an expression."
    return f


exp = _func("exp")
log = _func("log")
sin = _func("sin")
cos = _func("cos")
tanh = _func("tanh")
sigmoid = _func("sigmoid")
softplus = _func("softplus")
sqrt = _func("sqrt")
abs_ = _func("abs")

_PRECEDENCE = {"add": 1, "sub": 1, "mul": 2, "div": 2, "neg": 3, "pow": 4}


def to_string(e: Expr) -> str:
    """A string that :func:`parse` reads back to the same expression."""
    k = e.kind
    if k == "const":
        for cname, cval in CONSTANTS.items():
            if e.value == cval:
                return cname
        return f"({e.value!r})" if math.copysign(1.0, e.value) < 0 else repr(e.value)
    if k in ("coord", "param", "known"):
        return e.name
    if k == "net":
        return "N"
    if k in ("u", "fn"):
        base = (e.name or "u") if k == "u" else e.name
        if not e.deriv:
            return base
        if all(len(n) == 1 for n, _ in e.deriv):
            return base + "." + "".join(n * o for n, o in e.deriv)
        return base + ".d(" + ", ".join(f"{n}={o}" for n, o in e.deriv) + ")"
    if k == "func":
        return f"{e.name}({to_string(e.args[0])})"
    if k == "neg":
        return f"(-{to_string(e.args[0])})"
    sym = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**"}[k]
    return f"({to_string(e.args[0])} {sym} {to_string(e.args[1])})"


# ---------------------------------------------------------------------------------------------
# Parsing


MAX_TEXT = 20_000  # characters of one expression
MAX_DEPTH = 200  # nesting levels of one expression (operators, calls, parentheses)


def _short(text: str) -> str:
    return repr(text) if len(text) <= 60 else repr(text[:57]) + "..."


def _depth(tree: ast.AST) -> int:
    """The nesting depth of a syntax tree, without recursion."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, d = stack.pop()
        deepest = max(deepest, d)
        stack.extend((child, d + 1) for child in ast.iter_child_nodes(node))
    return deepest


def parse(
    text: str,
    coords: Sequence[str],
    params: Sequence[str],
    constants: Optional[Dict[str, float]] = None,
    allow_u: bool = True,
    allow_net: bool = False,
    functions: Optional[Mapping[str, Sequence[str]]] = None,
    known_names: Sequence[str] = (),
    fields: Sequence[str] = ("u",),
) -> Expr:
    """Parse a residual or transform written as Python-like text.

    ``functions`` maps each unknown function's name to the coordinates it depends on;
    ``known_names`` are known sources; ``fields`` the names of the solution fields (with
    ``allow_u``). Unknown names raise :class:`InputError` listing the
    names that are known.
    """
    functions = dict(functions or {})
    if not isinstance(text, str) or not text.strip():
        raise InputError("expression must be a non-empty string such as 'u.t - a*u'")
    if len(text) > MAX_TEXT:
        raise InputError(f"expression of {len(text)} characters is over the limit of {MAX_TEXT}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError("expression contains characters that are not valid text (lone surrogates)") from None
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise InputError(f"cannot parse expression {_short(text)}: {exc.msg}") from None
    except (RecursionError, MemoryError):  # the parser's own guard against deep nesting
        raise InputError(f"expression {_short(text)} is nested too deeply; write it with fewer levels") from None
    if _depth(tree) > MAX_DEPTH:
        raise InputError(f"expression {_short(text)} is nested more than {MAX_DEPTH} levels deep")
    names: Dict[str, Expr] = {c: coord(c) for c in coords}
    names.update({p: param(p) for p in params})
    for cname, cval in {**CONSTANTS, **(constants or {})}.items():
        names.setdefault(cname, const(cval))
    names.update({f: function(f) for f in functions})
    names.update({k: known(k) for k in known_names})
    if allow_u:
        names.update({f: field(f) for f in fields})
    if allow_net:
        names["N"] = N
    known_list = sorted(set(names) | set(FUNCTIONS))

    def visit(node: ast.AST) -> Expr:
        if isinstance(node, ast.Expression):
            return visit(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return const(node.value)
        if isinstance(node, ast.Name):
            if node.id not in names:
                raise InputError(f"unknown name '{node.id}' in {_short(text)}; known names: {', '.join(known_list)}")
            return names[node.id]
        if isinstance(node, ast.Attribute):
            base = visit(node.value)
            if base.kind not in ("u", "fn"):
                raise InputError(
                    f"'.{node.attr}' in {_short(text)}: only the fields and unknown functions have derivatives"
                )
            for letter in node.attr:
                if letter not in coords:
                    raise InputError(
                        f"{to_string(base)}.{node.attr} in {_short(text)}: '{letter}' is not a coordinate; "
                        f"coordinates: {', '.join(coords)}"
                    )
            return getattr(base, node.attr)
        if isinstance(node, ast.BinOp):
            a, b = visit(node.left), visit(node.right)
            ops = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow"}
            for cls, kind in ops.items():
                if isinstance(node.op, cls):
                    return Expr(kind, (a, b))
            raise InputError(f"operator {type(node.op).__name__} is not supported in {_short(text)}")
        if isinstance(node, ast.UnaryOp):
            a = visit(node.operand)
            if isinstance(node.op, ast.USub):
                # A negative literal is one constant, as to_string writes const(-2.5): "(-2.5)".
                return const(-a.value) if isinstance(node.operand, ast.Constant) else -a
            if isinstance(node.op, ast.UAdd):
                return a
            raise InputError(f"operator {type(node.op).__name__} is not supported in {_short(text)}")
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr == "d":
                base = visit(node.func.value)
                if node.args or any(kw.arg is None for kw in node.keywords):
                    raise InputError("u.d() takes keyword orders only, e.g. u.d(x=2)")
                orders = {}
                for kw in node.keywords:
                    if kw.arg not in coords:
                        raise InputError(f"u.d({kw.arg}=...) in {_short(text)}: '{kw.arg}' is not a coordinate")
                    if not (isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, int)):
                        raise InputError("u.d() orders must be integer literals")
                    orders[str(kw.arg)] = int(kw.value.value)
                return base.d(**orders)
            if isinstance(node.func, ast.Name) and node.func.id in functions:
                # D(x): the unknown function at its own coordinates, written out for readability.
                fname = node.func.id
                got = [a.id if isinstance(a, ast.Name) else None for a in node.args]
                if node.keywords or got != list(functions[fname]):
                    want = ", ".join(functions[fname])
                    raise InputError(f"{fname}(...) in {_short(text)}: write {fname}({want}) or just {fname}")
                return function(fname)
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                fname = node.func.id if isinstance(node.func, ast.Name) else ast.dump(node.func)
                raise InputError(f"unknown function '{fname}' in {_short(text)}; known: {', '.join(FUNCTIONS)}")
            if len(node.args) != 1 or node.keywords:
                raise InputError(f"{node.func.id}() takes exactly one argument")
            return Expr("func", (visit(node.args[0]),), name=node.func.id)
        raise InputError(f"unsupported syntax {type(node).__name__} in {_short(text)}")

    return visit(tree)


# ---------------------------------------------------------------------------------------------
# Compilation to the core's op list


@dataclass
class CompiledProgram:
    """An op list and its leaf table, in the tuple form the C++ core takes."""

    ops: List[Tuple[int, int, int, float, int, int]]
    leaves: List[Tuple[int, int, List[int]]]

    @property
    def derivatives(self) -> List[Tuple[int, ...]]:
        """Multi-indices (over coordinates) of the derivatives of u the program reads."""
        return sorted({tuple(d) for kind, _, d in self.leaves if kind == LEAF_UDERIV})

    @property
    def n_known(self) -> int:
        """1 + the largest known-source column the program reads (0 if none)."""
        return 1 + max((i for kind, i, _ in self.leaves if kind == LEAF_KNOWN), default=-1)


def names_in(e: Expr) -> Dict[str, set]:
    """Coordinates, parameters and u-derivative names an expression uses."""
    found: Dict[str, set] = {
        "coord": set(), "param": set(), "u": set(), "field": set(), "net": set(), "fn": set(), "known": set()
    }  # fmt: skip

    # An explicit stack and a depth check: expressions built from pb.expr objects may be deep.
    seen, stack = set(), [(e, 1)]
    while stack:
        x, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InputError(f"expression is nested more than {MAX_DEPTH} levels deep; build it with fewer levels")
        if id(x) in seen:
            continue
        seen.add(id(x))
        if x.kind in ("coord", "param", "known"):
            found[x.kind].add(x.name)
        elif x.kind == "u":
            found["u"].add(x.deriv)
            found["field"].add((x.name or "u", x.deriv))
        elif x.kind == "fn":
            found["fn"].add((x.name, x.deriv))
        elif x.kind == "net":
            found["net"].add(True)
        stack.extend((a, depth + 1) for a in x.args)
    return found


def compile_expr(
    e: Expr,
    coords: Sequence[str],
    params: Sequence[str],
    context: str,
    functions: Optional[Mapping[str, Sequence[str]]] = None,
    known_names: Sequence[str] = (),
    fields: Sequence[str] = ("u",),
    net_index: int = 0,
) -> CompiledProgram:
    """Lower an expression DAG to the core's op list, with common subexpressions shared and
    constants folded.  ``context`` names the expression in error messages; ``functions`` maps
    unknown functions (in order) to the coordinates they depend on; ``known_names`` lists the
    known sources (in order); ``fields`` the solution fields (in order); ``net_index`` the network
    output that ``N`` reads (a field's transform reads its own)."""
    functions = dict(functions or {})
    fnames = list(functions)
    ops: List[Tuple[int, int, int, float, int, int]] = []
    leaves: List[Tuple[int, int, List[int]]] = []
    memo: Dict[tuple, int] = {}

    def emit(key: tuple, op: Tuple[int, int, int, float, int, int]) -> int:
        if key in memo:
            return memo[key]
        ops.append(op)
        memo[key] = len(ops) - 1
        return memo[key]

    def leaf(key: tuple, entry: Tuple[int, int, List[int]]) -> int:
        if key in memo:
            return memo[key]
        leaves.append(entry)
        return emit(key, (OP_LEAF, -1, -1, 0.0, 0, len(leaves) - 1))

    def constant_value(x: Expr) -> Optional[float]:
        """The value of x if it contains no symbol (evaluated without emitting ops)."""
        if x.kind == "const":
            return x.value
        if x.kind in ("coord", "param", "u", "net", "fn", "known"):
            return None
        vals = [constant_value(a) for a in x.args]
        if any(v is None for v in vals):
            return None
        if x.kind == "func":
            return _eval_func(x.name, vals[0], context)  # type: ignore[arg-type]
        if x.kind == "neg":
            return -vals[0]  # type: ignore[operator]
        if x.kind == "pow":
            return _safe_pow(vals[0], vals[1], context)  # type: ignore[arg-type]
        return _fold(x.kind, vals[0], vals[1], context)  # type: ignore[arg-type]

    def lower(x: Expr) -> Tuple[int, Optional[float]]:
        """Returns (op index, constant value if x folds to a constant). Constants are not
        emitted (index -1): every operation absorbs a constant operand (AddConst, Scale)."""
        k = x.kind
        if k == "const":
            return -1, x.value
        if k == "coord":
            if x.name not in coords:
                raise InputError(f"{context}: unknown coordinate '{x.name}'; coordinates: {', '.join(coords)}")
            i = list(coords).index(x.name)
            return leaf(("coord", i), (LEAF_COORD, i, [])), None
        if k == "param":
            if x.name not in params:
                raise InputError(f"{context}: unknown parameter '{x.name}'; parameters: {', '.join(params) or 'none'}")
            j = list(params).index(x.name)
            return leaf(("param", j), (LEAF_PARAM, j, [])), None
        if k == "net":
            return leaf(("net",), (LEAF_NET, int(net_index), [])), None
        if k == "known":
            if x.name not in known_names:
                raise InputError(f"{context}: unknown source '{x.name}'; sources: {', '.join(known_names) or 'none'}")
            j = list(known_names).index(x.name)
            return leaf(("known", j), (LEAF_KNOWN, j, [])), None
        if k == "fn":
            if x.name not in functions:
                raise InputError(f"{context}: unknown function '{x.name}'; functions: {', '.join(fnames) or 'none'}")
            multi = [0] * len(coords)
            for name, order in x.deriv:
                if name not in functions[x.name]:
                    raise InputError(
                        f"{context}: {x.name} depends on ({', '.join(functions[x.name])}) only, so its derivative "
                        f"in '{name}' is zero; drop that term"
                    )
                multi[list(coords).index(name)] = order
            j = fnames.index(x.name)
            return leaf(("fn", j, tuple(multi)), (LEAF_FUNC, j, multi)), None
        if k == "u":
            fname_u = x.name or "u"
            if fname_u not in fields:
                raise InputError(
                    f"{context}: unknown field '{fname_u}'; fields: {', '.join(fields)} (declare it in fields=...)"
                )
            multi = [0] * len(coords)
            for name, order in x.deriv:
                if name not in coords:
                    raise InputError(
                        f"{context}: u is differentiated in '{name}', which is not a coordinate; "
                        f"coordinates: {', '.join(coords)}"
                    )
                multi[list(coords).index(name)] = order
            fi = list(fields).index(fname_u)
            return leaf(("u", fi, tuple(multi)), (LEAF_UDERIV, fi, multi)), None
        if k == "func":
            a, ca = lower(x.args[0])
            fname = x.name
            if ca is not None:
                v = _eval_func(fname, ca, context)
                return lower(const(v))
            if fname == "sqrt":
                return emit(("pow", a, 0.5), (OP_UNARY, a, -1, 0.5, FUNC_CODES["pow"], -1)), None
            return emit(("func", fname, a), (OP_UNARY, a, -1, 0.0, FUNC_CODES[fname], -1)), None
        if k == "neg":
            a, ca = lower(x.args[0])
            if ca is not None:
                return lower(const(-ca))
            return emit(("neg", a), (OP_NEG, a, -1, 0.0, 0, -1)), None
        a_expr, b_expr = x.args
        if k == "pow":
            cb = constant_value(b_expr)
            if cb is None:
                # a ** b with b varying: exp(b log a)
                return lower(exp(b_expr * log(a_expr)))
            a, ca = lower(a_expr)
            if ca is not None:
                return lower(const(_safe_pow(ca, cb, context)))
            if cb == 1.0:
                return a, None
            if cb == 2.0:
                return emit(("mul", a, a), (OP_MUL, a, a, 0.0, 0, -1)), None
            return emit(("pow", a, cb), (OP_UNARY, a, -1, cb, FUNC_CODES["pow"], -1)), None
        a, ca = lower(a_expr)
        b, cb = lower(b_expr)
        if ca is not None and cb is not None:
            return lower(const(_fold(k, ca, cb, context)))
        if k == "add":
            if ca is not None:
                return (emit(("addc", b, ca), (OP_ADDCONST, b, -1, ca, 0, -1)) if ca != 0 else b), None
            if cb is not None:
                return (emit(("addc", a, cb), (OP_ADDCONST, a, -1, cb, 0, -1)) if cb != 0 else a), None
            return emit(("add",) + tuple(sorted((a, b))), (OP_ADD, a, b, 0.0, 0, -1)), None
        if k == "sub":
            if cb is not None:
                return (emit(("addc", a, -cb), (OP_ADDCONST, a, -1, -cb, 0, -1)) if cb != 0 else a), None
            if ca is not None:
                nb = emit(("neg", b), (OP_NEG, b, -1, 0.0, 0, -1))
                return (emit(("addc", nb, ca), (OP_ADDCONST, nb, -1, ca, 0, -1)) if ca != 0 else nb), None
            return emit(("sub", a, b), (OP_SUB, a, b, 0.0, 0, -1)), None
        if k == "mul":
            if ca is not None:
                return emit(("scale", b, ca), (OP_SCALE, b, -1, ca, 0, -1)), None
            if cb is not None:
                return emit(("scale", a, cb), (OP_SCALE, a, -1, cb, 0, -1)), None
            return emit(("mul",) + tuple(sorted((a, b))), (OP_MUL, a, b, 0.0, 0, -1)), None
        if k == "div":
            if cb is not None:
                if cb == 0:
                    raise InputError(f"{context}: division by the constant 0")
                return emit(("scale", a, 1.0 / cb), (OP_SCALE, a, -1, 1.0 / cb, 0, -1)), None
            inv = emit(("pow", b, -1.0), (OP_UNARY, b, -1, -1.0, FUNC_CODES["pow"], -1))
            if ca is not None:
                return emit(("scale", inv, ca), (OP_SCALE, inv, -1, ca, 0, -1)), None
            return emit(("mul",) + tuple(sorted((a, inv))), (OP_MUL, a, inv, 0.0, 0, -1)), None
        raise InputError(f"{context}: unknown expression kind '{k}'")

    try:
        out, value = lower(e)
    except RecursionError:
        raise InputError(f"{context} is nested too deeply; build it with fewer levels") from None
    if out < 0:
        out = emit(("const", value), (OP_CONST, -1, -1, float(value), 0, -1))  # type: ignore[arg-type]
    if out != len(ops) - 1:
        # The result must be the last op: append an identity so the core reads it there.
        ops.append((OP_SCALE, out, -1, 1.0, 0, -1))
    return CompiledProgram(ops, leaves)


def _eval_func(name: str, v: float, context: str) -> float:
    table: Dict[str, Callable[[float], float]] = {
        "exp": math.exp,
        "log": math.log,
        "sin": math.sin,
        "cos": math.cos,
        "tanh": math.tanh,
        "sigmoid": lambda x: 1.0 / (1.0 + math.exp(-x)),
        "softplus": lambda x: math.log1p(math.exp(x)),
        "sqrt": math.sqrt,
        "abs": math.fabs,
    }
    try:
        return float(table[name](v))
    except (ValueError, OverflowError):
        raise InputError(f"{context}: {name}({v}) is not defined") from None


def _safe_pow(a: float, b: float, context: str) -> float:
    try:
        r = a**b
    except (ZeroDivisionError, OverflowError):
        raise InputError(f"{context}: {a} ** {b} is not defined") from None
    if isinstance(r, complex) or not math.isfinite(r):
        raise InputError(f"{context}: {a} ** {b} is not a finite real number")
    return float(r)


def _fold(kind: str, a: float, b: float, context: str) -> float:
    if kind == "add":
        return a + b
    if kind == "sub":
        return a - b
    if kind == "mul":
        return a * b
    if kind == "div":
        if b == 0:
            raise InputError(f"{context}: division by the constant 0")
        return a / b
    raise InputError(f"{context}: cannot fold '{kind}'")
