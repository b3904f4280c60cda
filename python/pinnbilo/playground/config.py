"""The playground's controls: their bounds, validation, the equation catalogue, and model building.

Every value the page sends goes through :func:`validate` first; a bad value raises
:class:`~pinnbilo.InputError` naming the control and its allowed range, which the server turns into
an HTTP 400 answer shown on the page.
"""

from __future__ import annotations

import inspect
import math
import re
from dataclasses import dataclass, field, replace
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from .. import _validation as check
from .. import problems
from .._validation import _show
from ..errors import InputError
from ..model import ACTIVATIONS, PINN, BiLO, Model
from ..problem import Data, Problem

METHODS = {"bilo": BiLO, "pinn": PINN}
PHASES = ("pretrain", "inverse")
# The page's parameter controls are positional: slot "a" is a problem's first scalar parameter,
# "b" its second, ...; the page labels them with the parameter's own name.
SLOTS = ("a", "b", "c")
MAX_COORDS = 2  # one coordinate: line plots; two: heatmaps


@dataclass(frozen=True)
class Control:
    """One control: kind 'float', 'int', 'bool' or 'choice'; ``live`` controls apply without a reset;
    ``help``: a sentence for the page's tooltip."""

    name: str
    kind: str
    default: Any
    lo: Optional[float] = None
    hi: Optional[float] = None
    choices: Tuple[str, ...] = ()
    live: bool = False
    label: str = ""
    help: str = ""


# The page's tooltips, one per control (the parameter slots are worded by the page with the
# parameter's own name).
HELP = {
    "equation": "the equation whose parameters (or unknown functions) are inferred from data of u",
    "method": "BiLO: bilevel local operator, u(t, a; W); PINN: physics-informed neural network, u(t; W)",
    "compare": "train the other method too, side by side, on the same data and residual points",
    "phase": "pretrain: fit the equation with the parameters held at their initial values; inverse: infer them",
    "u0": "the initial value u(t0), built into the network's output (a hard constraint)",
    "init": "the starting guess of this parameter: training starts from it",
    "true": "the true value of this parameter: the synthetic data are made with it",
    "n_res": "residual points: where the equation's residual is evaluated (per axis in two coordinates)",
    "interior": "keep the residual points off the boundary: at a box's corners a hard constraint can leave "
    "a residual no network removes",
    "n_data": "how many observations of u the data hold (of each field, for a system)",
    "noise": "Gaussian noise on the data, its standard deviation relative to max |u|",
    "seed": "seeds the data, their noise and the initial weights: the same seed gives the same run",
    "lr": "Adam's learning rate for the network weights",
    "lr_a": "Adam's learning rate for the parameters and the unknown functions' networks",
    "lr_half_life": "both learning rates halve every this many steps, down to 2% of their value (0: constant)",
    "w_res": "weight of the residual loss L_res, the mean squared residual of the equation",
    "w_rgrad": "BiLO: weight of the residual-gradient loss L_rgrad = mean (dr/da)^2 (a local operator)",
    "w_data": "weight of the data loss L_data: PINN balances it against the residual",
    "w_reg": "weight of the smoothness regulariser of the unknown functions",
    "pretrain_steps": "BiLO's first steps train the network alone, with the parameters held at their initial values",
    "layers": "hidden layers of the network",
    "neurons": "neurons per hidden layer",
    "activation": "the activation function of the hidden layers",
    "steps_per_frame": "training steps between two redraws, and per press of step",
}


def _controls(equations: Sequence[str]) -> Dict[str, Control]:
    c = [
        Control("equation", "choice", equations[0], choices=tuple(equations), label="equation"),
        Control("method", "choice", "bilo", choices=tuple(METHODS), label="method"),
        Control("compare", "bool", False, label="PINN and BiLO side by side"),
        Control("phase", "choice", "inverse", choices=PHASES, live=True, label="phase"),
        Control("u0", "float", 1.0, -10.0, 10.0, label="u0"),
    ]
    for s in SLOTS:
        c.append(Control(f"{s}_init", "float", 1.0, -20.0, 20.0, label=f"initial {s}", help=HELP["init"]))
        c.append(Control(f"{s}_true", "float", 2.0, -20.0, 20.0, label=f"true {s}", help=HELP["true"]))
    c += [
        Control("n_res", "int", 51, 2, 2000, label="residual points"),
        Control("interior", "bool", False, label="residual points inside only"),
        Control("n_data", "int", 20, 1, 500, label="data points"),
        Control("noise", "float", 0.01, 0.0, 1.0, label="noise level"),
        Control("seed", "int", 0, 0, 2**31 - 1, label="seed"),
        Control("lr", "float", 5e-3, 1e-6, 1.0, live=True, label="learning rate (weights)"),
        Control("lr_a", "float", 1e-2, 1e-6, 1.0, live=True, label="learning rate (a)"),
        # Adam at a fixed learning rate never settles (loss spikes, BiLO's a drifting off after
        # thousands of steps): both rates halve every lr_half_life steps, down to LR_FLOOR of
        # their value (0: constant).
        Control("lr_half_life", "int", 1000, 0, 1_000_000, live=True, label="learning-rate half-life (steps)"),
        Control("w_res", "float", 1.0, 0.0, 1e4, live=True, label="w_res"),
        Control("w_rgrad", "float", 0.1, 0.0, 1e4, live=True, label="w_rgrad"),
        Control("w_data", "float", 1.0, 0.0, 1e4, live=True, label="w_data"),
        Control("w_reg", "float", 0.0, 0.0, 1e4, live=True, label="w_reg"),
        Control("pretrain_steps", "int", 0, 0, 100_000, live=True, label="BiLO pretraining steps"),
        Control("layers", "int", 2, 1, 8, label="hidden layers"),
        Control("neurons", "int", 16, 1, 256, label="neurons per layer"),
        Control("activation", "choice", "tanh", choices=ACTIVATIONS, label="activation"),
        Control("steps_per_frame", "int", 10, 1, 5000, live=True, label="steps per frame"),
    ]
    return {x.name: replace(x, help=x.help or HELP[x.name]) for x in c}


# Starting settings by the problem's shape (not its name): space-time problems need fewer residual
# points per axis, heavier data and lighter residual-gradient weights, and BiLO pretraining;
# unknown functions need the smoothness regulariser. Later entries win.
SHAPE_SETTINGS: Tuple[Tuple[str, Dict[str, Any]], ...] = (
    # The unknown functions' networks learn at lr_a: above 1e-3 BiLO's lower level falls behind
    # them and its D(x) climbs from 2-4% to 5-30% error after 5000 steps (bench/playground_presets.py).
    (
        "unknown functions",
        {"n_res": 51, "w_reg": 1e-3, "w_data": 100.0, "lr_a": 1e-3, "pretrain_steps": 800, "steps_per_frame": 20},
    ),
    (
        "two coordinates",
        {
            "n_res": 16,
            "n_data": 100,
            "neurons": 32,
            "w_data": 100.0,
            "w_rgrad": 0.01,
            "pretrain_steps": 800,
            "steps_per_frame": 20,
        },
    ),
    # An unknown field f(x, y) (Darcy): the library's recipe (compare.RECIPES["darcy"]) of 20
    # interior points per axis (at the corners no smooth u satisfies the equation) and 1000
    # pretraining steps; without the regulariser and at lr_a 3e-3 BiLO's f reaches 18% error by
    # step 2500 (21% at w_reg 1e-3 and lr_a 1e-3 after 5000).
    (
        "functions of two coordinates",
        {"n_res": 20, "interior": True, "pretrain_steps": 1000, "w_reg": 0.0, "lr_a": 3e-3},
    ),
    # Systems (Lotka-Volterra): BiLO's lower level carries every field's sensitivity to every rate
    # and must keep up with them. At the defaults (no pretraining, lr_a 1e-2, w_rgrad 0.1) its rates
    # run off to 100-500% error; at lr_a 3e-3 after 1000-2000 pretraining steps they still do for
    # some seeds. 3000 pretraining steps, lr_a 1e-3, w_rgrad 0.01 (as compare.RECIPES) and a
    # half-life of 3000 steps (so that the rates still move after the pretraining) bring both
    # methods within 1% in 20,000 steps (bench/playground_presets.py), from 30 points per field.
    (
        "systems",
        {"n_data": 30, "w_rgrad": 0.01, "pretrain_steps": 3000, "lr_a": 1e-3, "lr_half_life": 3000},
    ),
)


def shape_settings(n_coords: int, n_functions: int, field: bool = False, n_fields: int = 1) -> Dict[str, Any]:
    """The starting control values of a problem of this shape (beyond the global defaults);
    ``field``: an unknown function depends on both coordinates; ``n_fields``: the solution's fields."""
    out: Dict[str, Any] = {}
    for what, values in SHAPE_SETTINGS:
        if (
            (what == "two coordinates" and n_coords == 2)
            or (what == "unknown functions" and n_functions > 0)
            or (what == "functions of two coordinates" and field)
            or (what == "systems" and n_fields > 1)
        ):
            out.update(values)
    return out


# The playground's variant of a built-in problem, as the factory's keyword arguments:
# Lotka-Volterra's four unknown rates do not fit the three parameter slots, so the predator's
# death rate delta is known (the other three are inferred).
VARIANTS: Dict[str, Dict[str, Any]] = {"lotka_volterra": {"known": ("delta",)}}


@dataclass(frozen=True)
class Equation:
    """A built-in problem the playground can show: one or two coordinates, up to len(SLOTS) scalar
    parameters, unknown functions of one coordinate (or of both, in two), and an exact solution;
    a system of several fields in one coordinate (an ODE system such as SIR) too."""

    name: str
    label: str
    coords: Tuple[str, ...]
    params: Tuple[str, ...]
    functions: Tuple[str, ...]
    has_u0: bool  # whether the factory takes the initial value u0 (ODEs in t do, boundary value problems not)
    defaults: Dict[str, Any]  # control values this equation starts from
    domains: Tuple[Tuple[float, float], ...]
    fields: Tuple[str, ...] = ("u",)
    # The factory's keyword arguments for each parameter's initial and true value: ``p_init``
    # and ``p_true``, or ``p_init`` and ``p`` itself (the systems' factories, e.g. sir(beta, beta_init)).
    args: Tuple[Tuple[str, str], ...] = ()
    fixed: Mapping[str, Any] = field(default_factory=dict)  # the factory's arguments of its VARIANTS entry

    @property
    def is_system(self) -> bool:
        return len(self.fields) > 1

    @property
    def param(self) -> str:
        """The first scalar parameter's name ('' when there is none)."""
        return self.params[0] if self.params else ""

    @property
    def coord(self) -> str:
        return self.coords[0]

    @property
    def domain(self) -> Tuple[float, float]:
        """The first coordinate's interval."""
        return self.domains[0]

    def n_points(self, n_res: int) -> int:
        """Residual points of a grid with n_res points per coordinate."""
        return int(n_res) ** len(self.coords)

    def problem(self, cfg: Mapping[str, Any]) -> Problem:
        """The problem with the parameter values and u0 of the controls ``cfg``."""
        kwargs: Dict[str, Any] = dict(self.fixed)
        for slot, (init, true) in zip(SLOTS, self.arg_names()):
            kwargs[init] = cfg[f"{slot}_init"]
            kwargs[true] = cfg[f"{slot}_true"]
        if self.has_u0:
            kwargs["u0"] = cfg["u0"]
        return problems.get(self.name, **kwargs)

    def arg_names(self) -> Tuple[Tuple[str, str], ...]:
        """(initial, true) keyword argument names per parameter (``p_init``, ``p_true`` by default)."""
        return self.args or tuple((f"{p}_init", f"{p}_true") for p in self.params)

    def data(self, problem: Problem, cfg: Mapping[str, Any]) -> List[Data]:
        """The synthetic observations of a configuration: n_data points of u, or of every field of
        a system on shared points (each field's noise relative to its own size)."""
        if self.is_system:
            return problem.synthetic_observations(cfg["n_data"], noise=cfg["noise"], seed=cfg["seed"])
        return [problem.synthetic_data(cfg["n_data"], noise=cfg["noise"], seed=cfg["seed"])]

    def describe(self) -> Dict[str, Any]:
        """JSON-able description for the page."""
        return {
            "name": self.name,
            "label": self.label,
            "param": self.param,
            "params": list(self.params),
            "functions": list(self.functions),
            "coord": self.coord,
            "coords": list(self.coords),
            "has_u0": self.has_u0,
            "defaults": self.defaults,
            "domain": list(self.domain),
            "domains": [list(d) for d in self.domains],
            "fields": list(self.fields),
        }


def _label(name: str, factory: Any, problem: Problem) -> str:
    # The factories' docstrings open with the equation in ``...``; fall back to the residual text.
    m = re.search(r"``([^`]+)``", inspect.getdoc(factory) or "")
    return f"{name}: {m.group(1) if m else str(problem.residual) + ' = 0'}"


def _param_args(problem: Problem, sig: Mapping[str, inspect.Parameter]) -> Optional[Tuple[Tuple[str, str], ...]]:
    """The factory's (initial, true) argument names per parameter: ``p_init`` with ``p_true``, or
    (systems) with ``p`` itself; None when a parameter has no such pair.

    Only systems take the true value as ``p``: the condition problems do too (robin_poisson's k),
    but their exact solution holds at the true value alone, so the views at the current value
    (the exact solution there, the local operator) would be wrong."""
    out = []
    own = len(problem.fields) > 1
    for p in problem.param_names:
        true = next((k for k in (f"{p}_true", p) if k in sig and (own or k != p)), None)
        if f"{p}_init" not in sig or true is None:
            return None
        out.append((f"{p}_init", true))
    return tuple(out)


def _why_not(problem: Problem, sig: Mapping[str, inspect.Parameter]) -> str:
    """Why the playground cannot show a problem ('' when it can)."""
    if not 1 <= len(problem.coords) <= MAX_COORDS:
        return "the playground shows problems in one or two coordinates"
    if len(problem.fields) > 1 and len(problem.coords) > 1:
        # Several fields are drawn as several curves; heatmaps show one field.
        return "the playground shows systems of several fields in one coordinate only"
    if len(problem.params) > len(SLOTS):
        return f"the playground shows at most {len(SLOTS)} scalar parameters"
    if not problem.params and not problem.functions:
        return "nothing to infer: no scalar parameter and no unknown function"
    if problem.solution is None:
        return "needs an exact solution"
    if _param_args(problem, sig) is None:
        need = {f"{p.name}_{k}" for p in problem.params for k in ("init", "true")}
        return f"needs arguments {sorted(need)}"
    for f in problem.functions:
        inputs = tuple(problem.function_inputs[f.name])
        # Lines over one coordinate; heatmaps over both coordinates of a two-coordinate problem.
        if len(inputs) != 1 and inputs != tuple(problem.coords):
            return "the playground draws unknown functions of one coordinate or of both coordinates"
        if f.true is None:
            return f"needs the true {f.name}"
    return ""


def catalogue() -> Tuple[List[Equation], List[Dict[str, str]]]:
    """The built-in problems the playground supports, and those it cannot show (with the reason).

    Built from :data:`pinnbilo.problems.BUILTINS`, so new problems appear by themselves when they
    have one or two coordinates, an exact solution, ``<p>_init`` and ``<p>_true`` keyword arguments
    for each scalar parameter (optionally ``u0``), and unknown functions (if any) of one coordinate
    or of all the problem's coordinates (drawn as heatmaps in two) with known truth.
    """
    ok: List[Equation] = []
    skipped: List[Dict[str, str]] = []
    for name, factory in problems.BUILTINS.items():
        fixed = VARIANTS.get(name, {})
        try:
            problem = factory(**fixed)
        except Exception as exc:  # a problem that needs arguments cannot be shown with defaults
            skipped.append({"name": name, "reason": f"needs arguments: {exc}"})
            continue
        sig = inspect.signature(factory).parameters
        reason = _why_not(problem, sig)
        if reason:
            skipped.append({"name": name, "reason": reason})
            continue
        has_u0 = "u0" in sig
        field = any(len(problem.function_inputs[f]) == 2 for f in problem.function_names)
        defaults: Dict[str, Any] = shape_settings(
            len(problem.coords), len(problem.functions), field, len(problem.fields)
        )
        args = _param_args(problem, sig)
        assert args is not None  # _why_not checked it
        for slot, p in zip(SLOTS, problem.params):  # as the factory makes them (a default init may be None: shared)
            defaults[f"{slot}_init"] = float(p.init)
            defaults[f"{slot}_true"] = float(problem.true_params[p.name])
        if has_u0:
            defaults["u0"] = float(sig["u0"].default)
        eq = Equation(
            name,
            _label(name, factory, problem),
            tuple(problem.coords),
            tuple(problem.param_names),
            tuple(problem.function_names),
            has_u0,
            defaults,
            tuple((float(problem.domain[c][0]), float(problem.domain[c][1])) for c in problem.coords),
            tuple(problem.fields),
            args,
            dict(fixed),
        )
        ok.append(eq)
    if not ok:
        raise RuntimeError("no built-in problem can be shown in the playground")
    return ok, skipped


class Controls:
    """The control schema for a given equation catalogue, with validation."""

    def __init__(self, equations: Sequence[Equation]) -> None:
        self.equations = {e.name: e for e in equations}
        self.controls = _controls([e.name for e in equations])

    def defaults(self) -> Dict[str, Any]:
        cfg = {k: c.default for k, c in self.controls.items()}
        cfg.update(self.equations[cfg["equation"]].defaults)
        return cfg

    def schema(self) -> List[Dict[str, Any]]:
        """JSON-able description for the page."""
        return [
            {
                "name": c.name,
                "kind": c.kind,
                "default": c.default,
                "min": c.lo,
                "max": c.hi,
                "choices": list(c.choices),
                "live": c.live,
                "label": c.label,
                "help": c.help,
            }
            for c in self.controls.values()
        ]

    def value(self, name: str, v: Any, label: str = "") -> Any:
        """One control's value, checked and normalised; InputError naming the control (as ``label``,
        default its own label) otherwise."""
        c = self.controls.get(name)
        if c is None:
            raise InputError(f"unknown control '{name}'; controls: {', '.join(self.controls)}")
        if label:
            c = replace(c, label=label)
        if c.kind == "bool":
            if not isinstance(v, bool):
                raise InputError(f"{c.label} must be true or false, got {_show(v)}")
            return v
        if c.kind == "choice":
            if not isinstance(v, str) or v not in c.choices:
                raise InputError(f"{c.label} must be one of {', '.join(c.choices)}, got {_show(v)}")
            return v
        assert c.lo is not None and c.hi is not None
        # JSON numbers arrive as ints of any size or floats; the shared checks refuse integers too
        # large for float64 with a message (never an OverflowError).
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise InputError(f"{c.label} must be a number, got {_show(v)}")
        if isinstance(v, float) and not math.isfinite(v):
            raise InputError(f"{c.label} must be a finite number, got {v!r}")
        out: Any
        if c.kind == "int":
            if isinstance(v, float):
                if not v.is_integer():
                    raise InputError(f"{c.label} must be a whole number, got {v!r}")
                v = int(v)  # a page may send 20.0 for 20
            out = check.integer(v, c.label)
        else:
            out = check.real(v, c.label)
        if not c.lo <= out <= c.hi:
            raise InputError(f"{c.label} must lie in [{c.lo:g}, {c.hi:g}], got {_show(out)}")
        return out

    def validate(self, current: Mapping[str, Any], changes: object) -> Tuple[Dict[str, Any], bool]:
        """Apply ``changes`` to a copy of ``current``; returns (new config, whether models must be rebuilt).

        Parameter values may be named by slot (``a_init``, ``b_true``) or by the parameter's own
        name (``rho_true``). Choosing another equation takes that equation's starting values (u0,
        parameters, and the settings of its shape) unless the change gives them (logistic growth
        needs 0 < u0 < 1; Poisson's D is a different quantity from a).
        """
        if not isinstance(changes, dict) or not changes:
            raise InputError("changes must be a non-empty JSON object {control: value}")
        name = changes.get("equation", current["equation"])
        eq = self.equations[self.value("equation", name)]
        changes = self._by_slot(eq, changes)
        new = dict(current)
        names = {
            f"{slot}_{k}": f"{'initial' if k == 'init' else 'true'} {p}"
            for slot, p in zip(SLOTS, eq.params)
            for k in ("init", "true")
        }
        for k, v in changes.items():
            new[k] = self.value(k, v, names.get(k, ""))
        for slot in SLOTS[len(eq.params) :]:
            for k in (f"{slot}_init", f"{slot}_true"):
                if k in changes:
                    have = ", ".join(eq.params) or "none"
                    raise InputError(f"{eq.name} has no parameter '{slot}' to set with {k}; its parameters: {have}")
        if "equation" in changes and new["equation"] != current["equation"]:
            # Another equation starts from its own defaults unless the change names them.
            preset = {k for e in self.equations.values() for k in e.defaults}
            for k in preset:
                if k not in changes:
                    new[k] = eq.defaults.get(k, self.controls[k].default)
        rebuild = any(not self.controls[k].live and new[k] != current[k] for k in changes) or (
            new["u0"] != current["u0"]
        )
        check_size(new, eq)
        if rebuild:
            # Cheap checks of the problem's own constraints (e.g. 0 < u0 < 1, bounds) before anything is replaced.
            eq.problem(new)
        return new, rebuild

    def _by_slot(self, eq: Equation, changes: Mapping[str, Any]) -> Dict[str, Any]:
        """``changes`` with parameters named by their own name (``rho_true``) renamed to their slot."""
        alias = {f"{p}_{k}": f"{slot}_{k}" for slot, p in zip(SLOTS, eq.params) for k in ("init", "true")}
        out: Dict[str, Any] = {}
        for k, v in changes.items():
            key = alias.get(k, k)
            if key in out:
                raise InputError(f"'{k}' and '{key}' set the same value; send one of them")
            out[key] = v
        return out


# Work per training step ~ residual points x layers x neurons^2: this bound keeps a step of the
# largest allowed network (BiLO, 8 x 128, 250 points) near 0.3 s on one busy core, so the page stays responsive.
MAX_WORK = 250 * 8 * 128**2


def check_size(cfg: Mapping[str, Any], eq: Equation) -> None:
    """InputError when the network and the residual points together are too much work per step."""
    n = eq.n_points(cfg["n_res"])
    work = n * cfg["layers"] * cfg["neurons"] ** 2
    if work > MAX_WORK:
        what = (
            f"{cfg['n_res']} residual points"
            if len(eq.coords) == 1
            else (f"{cfg['n_res']} residual points per coordinate ({n} in all)")
        )
        raise InputError(
            f"network too large for {what}: residual points x hidden layers x "
            f"neurons^2 = {work:.3g} exceeds {MAX_WORK:.3g}; use fewer neurons, layers or residual points"
        )


def build_models(cfg: Mapping[str, Any], eq: Equation) -> List[Model]:
    """The models of a configuration: the chosen method first, then (side by side) the other one
    on the same data and residual points."""
    problem = eq.problem(cfg)
    data = eq.data(problem, cfg)
    methods = [cfg["method"]] + ([m for m in METHODS if m != cfg["method"]] if cfg["compare"] else [])
    points = problem.grid(cfg["n_res"], interior=True) if cfg["interior"] else None
    return [companion(METHODS[m], problem, data, cfg, points) for m in methods]


def companion(
    cls: type, problem: Problem, data: Sequence[Data], cfg: Mapping[str, Any], collocation: Optional[Any]
) -> Model:
    """A model of class ``cls`` configured from the controls, on the observations ``data``."""
    return cls(
        problem,
        list(data),
        hidden=(cfg["neurons"],) * cfg["layers"],
        activation=cfg["activation"],
        collocation=collocation,
        n_res=cfg["n_res"],
        seed=cfg["seed"],
        w_res=cfg["w_res"],
        w_rgrad=cfg["w_rgrad"],
        w_data=cfg["w_data"],
        w_reg=cfg["w_reg"],
    )
