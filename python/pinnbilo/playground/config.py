"""The playground's controls: their bounds, validation, the equation catalogue, and model building.

Every value the page sends goes through :func:`validate` first; a bad value raises
:class:`~pinnbilo.InputError` naming the control and its allowed range, which the server turns into
an HTTP 400 answer shown on the page.
"""

from __future__ import annotations

import inspect
import math
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from .. import problems
from ..errors import InputError
from ..model import ACTIVATIONS, PINN, BiLO, Model
from ..problem import Data, Problem

METHODS = {"bilo": BiLO, "pinn": PINN}
PHASES = ("pretrain", "inverse")


@dataclass(frozen=True)
class Control:
    """One control: kind 'float', 'int', 'bool' or 'choice'; ``live`` controls apply without a reset."""

    name: str
    kind: str
    default: Any
    lo: Optional[float] = None
    hi: Optional[float] = None
    choices: Tuple[str, ...] = ()
    live: bool = False
    label: str = ""


def _controls(equations: Sequence[str]) -> Dict[str, Control]:
    c = [
        Control("equation", "choice", equations[0], choices=tuple(equations), label="equation"),
        Control("method", "choice", "bilo", choices=tuple(METHODS), label="method"),
        Control("compare", "bool", False, label="PINN and BiLO side by side"),
        Control("phase", "choice", "inverse", choices=PHASES, live=True, label="phase"),
        Control("u0", "float", 1.0, -10.0, 10.0, label="u0"),
        Control("a_init", "float", 1.0, -20.0, 20.0, label="initial a"),
        Control("a_true", "float", 2.0, -20.0, 20.0, label="true a"),
        Control("n_res", "int", 51, 2, 2000, label="residual points"),
        Control("n_data", "int", 20, 1, 500, label="data points"),
        Control("noise", "float", 0.01, 0.0, 1.0, label="noise level"),
        Control("seed", "int", 0, 0, 2**31 - 1, label="seed"),
        Control("lr", "float", 5e-3, 1e-6, 1.0, live=True, label="learning rate (weights)"),
        Control("lr_a", "float", 1e-2, 1e-6, 1.0, live=True, label="learning rate (a)"),
        Control("w_res", "float", 1.0, 0.0, 1e4, live=True, label="w_res"),
        Control("w_rgrad", "float", 0.1, 0.0, 1e4, live=True, label="w_rgrad"),
        Control("w_data", "float", 1.0, 0.0, 1e4, live=True, label="w_data"),
        Control("layers", "int", 2, 1, 8, label="hidden layers"),
        Control("neurons", "int", 16, 1, 256, label="neurons per layer"),
        Control("activation", "choice", "tanh", choices=ACTIVATIONS, label="activation"),
        Control("steps_per_frame", "int", 10, 1, 5000, live=True, label="steps per frame"),
    ]
    return {x.name: x for x in c}


@dataclass(frozen=True)
class Equation:
    """A built-in problem the playground can show: one coordinate, one parameter, an exact solution."""

    name: str
    label: str
    param: str
    coord: str
    has_u0: bool  # whether the factory takes the initial value u0 (ODEs in t do, boundary value problems not)
    defaults: Dict[str, float]
    domain: Tuple[float, float]

    def problem(self, u0: float, a_init: float, a_true: float) -> Problem:
        kwargs: Dict[str, float] = {f"{self.param}_init": a_init, f"{self.param}_true": a_true}
        if self.has_u0:
            kwargs["u0"] = u0
        return problems.get(self.name, **kwargs)


def _label(name: str, factory: Any, problem: Problem) -> str:
    # The factories' docstrings open with the equation in ``...``; fall back to the residual text.
    m = re.search(r"``([^`]+)``", inspect.getdoc(factory) or "")
    return f"{name}: {m.group(1) if m else str(problem.residual) + ' = 0'}"


def catalogue() -> Tuple[List[Equation], List[Dict[str, str]]]:
    """The built-in problems the playground supports, and those it cannot show (with the reason).

    Built from :data:`pinnbilo.problems.BUILTINS`, so new problems appear by themselves when they
    have one coordinate, one parameter, an exact solution and ``<p>_init``, ``<p>_true`` (and
    optionally ``u0``) keyword arguments.
    """
    ok: List[Equation] = []
    skipped: List[Dict[str, str]] = []
    for name, factory in problems.BUILTINS.items():
        try:
            problem = factory()
        except Exception as exc:  # a problem that needs arguments cannot be shown with defaults
            skipped.append({"name": name, "reason": f"needs arguments: {exc}"})
            continue
        sig = inspect.signature(factory).parameters
        if len(problem.coords) != 1 or len(problem.params) != 1:
            skipped.append({"name": name, "reason": "the playground shows one coordinate and one scalar parameter"})
            continue
        p = problem.params[0].name
        need = {f"{p}_init", f"{p}_true"}
        if not need <= set(sig) or problem.solution is None:
            skipped.append({"name": name, "reason": f"needs an exact solution and arguments {sorted(need)}"})
            continue
        has_u0 = "u0" in sig
        defaults = {"a_init": float(sig[f"{p}_init"].default), "a_true": float(sig[f"{p}_true"].default)}
        if has_u0:
            defaults["u0"] = float(sig["u0"].default)
        coord = problem.coords[0]
        eq = Equation(name, _label(name, factory, problem), p, coord, has_u0, defaults, problem.domain[coord])
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
            }
            for c in self.controls.values()
        ]

    def value(self, name: str, v: Any) -> Any:
        """One control's value, checked and normalised; InputError naming the control otherwise."""
        c = self.controls.get(name)
        if c is None:
            raise InputError(f"unknown control '{name}'; controls: {', '.join(self.controls)}")
        if c.kind == "bool":
            if not isinstance(v, bool):
                raise InputError(f"{c.label} must be true or false, got {v!r}")
            return v
        if c.kind == "choice":
            if not isinstance(v, str) or v not in c.choices:
                raise InputError(f"{c.label} must be one of {', '.join(c.choices)}, got {v!r}")
            return v
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise InputError(f"{c.label} must be a number, got {_short(v)}")
        if not math.isfinite(v):
            raise InputError(f"{c.label} must be a finite number, got {v!r}")
        if c.kind == "int":
            if float(v) != int(v):
                raise InputError(f"{c.label} must be a whole number, got {v!r}")
            v = int(v)
        else:
            v = float(v)
        assert c.lo is not None and c.hi is not None
        if not c.lo <= v <= c.hi:
            raise InputError(f"{c.label} must lie in [{c.lo:g}, {c.hi:g}], got {v:g}")
        return v

    def validate(self, current: Mapping[str, Any], changes: object) -> Tuple[Dict[str, Any], bool]:
        """Apply ``changes`` to a copy of ``current``; returns (new config, whether models must be rebuilt).

        Choosing another equation takes that equation's u0 and parameter values unless the change
        gives them (logistic growth needs 0 < u0 < 1; Poisson's D is a different quantity from a).
        """
        if not isinstance(changes, dict) or not changes:
            raise InputError("changes must be a non-empty JSON object {control: value}")
        new = dict(current)
        for k, v in changes.items():
            new[k] = self.value(k, v)
        eq = self.equations[new["equation"]]
        if "equation" in changes and new["equation"] != current["equation"]:
            # Another equation starts from its own defaults unless the change names them.
            for k in ("u0", "a_init", "a_true"):
                if k in eq.defaults and k not in changes:
                    new[k] = eq.defaults[k]
        rebuild = any(not self.controls[k].live and new[k] != current[k] for k in changes) or (
            new["u0"] != current["u0"]
        )
        check_size(new)
        if rebuild:
            # Cheap checks of the problem's own constraints (e.g. 0 < u0 < 1) before anything is replaced.
            eq.problem(new["u0"], new["a_init"], new["a_true"])
        return new, rebuild


# Work per training step ~ residual points x layers x neurons^2: this bound keeps a step of the
# largest allowed network (BiLO, 8 x 128, 250 points) near 0.3 s on one busy core, so the page stays responsive.
MAX_WORK = 250 * 8 * 128**2


def check_size(cfg: Mapping[str, Any]) -> None:
    """InputError when the network and the residual points together are too much work per step."""
    work = cfg["n_res"] * cfg["layers"] * cfg["neurons"] ** 2
    if work > MAX_WORK:
        raise InputError(
            f"network too large for {cfg['n_res']} residual points: residual points x hidden layers x "
            f"neurons^2 = {work:.3g} exceeds {MAX_WORK:.3g}; use fewer neurons, layers or residual points"
        )


def _short(v: object) -> str:
    r = repr(v)
    return r if len(r) <= 40 else r[:37] + "..."


def build_models(cfg: Mapping[str, Any], eq: Equation) -> List[Model]:
    """The models of a configuration: the chosen method first, then (side by side) the other one
    on the same data and residual points."""
    problem = eq.problem(cfg["u0"], cfg["a_init"], cfg["a_true"])
    data = problem.synthetic_data(cfg["n_data"], noise=cfg["noise"], seed=cfg["seed"])
    methods = [cfg["method"]] + ([m for m in METHODS if m != cfg["method"]] if cfg["compare"] else [])
    return [companion(METHODS[m], problem, data, cfg, None) for m in methods]


def companion(cls: type, problem: Problem, data: Data, cfg: Mapping[str, Any], collocation: Optional[Any]) -> Model:
    """A model of class ``cls`` configured from the controls."""
    return cls(
        problem,
        data,
        hidden=(cfg["neurons"],) * cfg["layers"],
        activation=cfg["activation"],
        collocation=collocation,
        n_res=cfg["n_res"],
        seed=cfg["seed"],
        w_res=cfg["w_res"],
        w_rgrad=cfg["w_rgrad"],
        w_data=cfg["w_data"],
    )
