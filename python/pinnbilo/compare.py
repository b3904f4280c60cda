"""PINN against BiLO on the same data: ``python -m pinnbilo compare PROBLEM``.

Each built-in problem has a recipe: data, network sizes and training budget that recover its
unknowns. The comparison trains both methods from the same seed on the same observations and
reports parameter and function errors, final losses and wall time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from . import problems
from .errors import InputError
from .model import PINN, BiLO, Model
from .problem import Data, Problem


@dataclass
class Recipe:
    """How to run one built-in problem: model options, fit options, and the data to use."""

    n_data: int = 20
    model: Dict[str, object] = field(default_factory=dict)
    fit: Dict[str, object] = field(default_factory=dict)
    bilo_fit: Dict[str, object] = field(default_factory=dict)  # BiLO only (on top of `fit`)
    bilo_model: Dict[str, object] = field(default_factory=dict)  # BiLO only (on top of `model`)
    final_time: bool = False  # observations on the last time slice only
    interior: bool = False  # collocation on an interior grid (n_res points per axis, ends excluded)

    def data(self, problem: Problem, noise: float, seed: int) -> Data:
        """The observations: uniform in 1-D, random in 2-D, or on the final time slice."""
        if self.final_time:
            return problems.final_time_data(problem, self.n_data, noise=noise, seed=seed)
        return problem.synthetic_data(self.n_data, noise=noise, seed=seed)


RECIPES: Dict[str, Recipe] = {
    # Adam at 1e-2 reaches the noise floor of 20 samples in a few hundred steps here.
    "exponential": Recipe(fit={"steps": 1000, "lr": 1e-2, "lr_params": 1e-2}, bilo_fit={"pretrain_steps": 300}),
    # The logistic curve saturates over t in [0, 3]; larger steps oscillate around the fit.
    "logistic": Recipe(fit={"steps": 8000, "lr": 2e-3, "lr_params": 2e-3}, bilo_fit={"pretrain_steps": 1000}),
    "poisson": Recipe(model={"n_res": 51}, fit={"steps": 3000, "lr_params": 1e-2}, bilo_fit={"pretrain_steps": 600}),
    "fisher_kpp": Recipe(
        n_data=100,
        model={"n_res": 21, "hidden": (32, 32), "w_data": 100.0},
        fit={"steps": 8000, "lr": 5e-3, "lr_params": 1e-2},
        bilo_fit={"pretrain_steps": 1600},
        bilo_model={"w_rgrad": 0.01},
    ),
    "variable_poisson": Recipe(
        model={"n_res": 51, "w_reg": 1e-3, "w_data": 100.0},
        fit={"steps": 6000, "lr": 5e-3},
        bilo_fit={"pretrain_steps": 1200},
    ),
    "heat_initial": Recipe(
        n_data=30,
        final_time=True,
        model={"n_res": 21, "hidden": (32, 32), "w_reg": 1e-3, "w_data": 100.0},
        fit={"steps": 8000, "lr": 2e-3},
        bilo_fit={"pretrain_steps": 2000},
    ),
    "darcy": Recipe(
        n_data=100,
        interior=True,  # at the corners no smooth u satisfies the equation
        model={"n_res": 20, "hidden": (32, 32), "w_data": 100.0},
        fit={"steps": 6000, "lr": 5e-3, "lr_functions": 5e-3},
        bilo_fit={"pretrain_steps": 1000},
    ),
}


@dataclass
class Outcome:
    """One method's result in a comparison."""

    method: str
    errors: Dict[str, float]  # relative errors of parameters and functions (relative L2)
    losses: Dict[str, float]
    steps: int
    wall_time: float
    model: Model


def run(
    name: str,
    noise: float = 0.0,
    seed: int = 0,
    steps: Optional[int] = None,
    progress: bool = False,
) -> List[Outcome]:
    """Train PINN and BiLO on the same data for built-in problem ``name``; ``steps`` overrides
    the recipe's Adam budget (pretraining scales with it)."""
    if name not in RECIPES:
        raise InputError(f"unknown problem '{name}'; built-in problems: {', '.join(sorted(RECIPES))}")
    recipe = RECIPES[name]
    problem = problems.get(name)
    data = recipe.data(problem, noise, seed)
    out = []
    for cls in (PINN, BiLO):
        options = {**recipe.model, **(recipe.bilo_model if cls is BiLO else {})}
        if recipe.interior:
            options["collocation"] = problem.grid(int(options.pop("n_res", 101)), interior=True)  # type: ignore[call-overload]
        model = cls(problem, data, seed=seed, **options)  # type: ignore[arg-type]
        kwargs = {**recipe.fit, **(recipe.bilo_fit if cls is BiLO else {}), "progress": progress}
        if steps is not None:
            scale = steps / float(recipe.fit["steps"])  # type: ignore[arg-type]
            kwargs["steps"] = int(steps)
            if "pretrain_steps" in kwargs:
                kwargs["pretrain_steps"] = max(1, int(round(float(kwargs["pretrain_steps"]) * scale)))  # type: ignore[arg-type]
        start = time.perf_counter()
        result = model.fit(**kwargs)  # type: ignore[arg-type]
        wall = time.perf_counter() - start
        errors: Dict[str, float] = {}
        if problem.params:
            errors.update(model.parameter_errors())
        if problem.functions:
            errors.update(model.function_errors())
        out.append(Outcome(cls.display_name, errors, result.losses, result.steps, wall, model))
    return out


def table(outcomes: List[Outcome]) -> str:
    """A plain-text table of a comparison."""
    names = list(outcomes[0].errors)
    head = f"{'method':<6} " + " ".join(f"{'err ' + n:>12}" for n in names)
    head += f" {'L_res':>9} {'L_data':>9} {'steps':>6} {'wall':>8}"
    rows = [head]
    for o in outcomes:
        row = f"{o.method:<6} " + " ".join(f"{100 * o.errors[n]:>11.3f}%" for n in names)
        row += f" {o.losses['res']:>9.2e} {o.losses['data']:>9.2e} {o.steps:>6d} {o.wall_time:>7.2f}s"
        rows.append(row)
    return "\n".join(rows)


def save_figures(outcomes: List[Outcome], folder: str) -> List[str]:
    """Solution, recovered functions and losses of each method as PNG files in ``folder``."""
    from .plotting import save_figures as save_model_figures

    written = []
    for o in outcomes:
        written += save_model_figures(o.model, folder, f"{o.model.problem.name}_{o.method.lower()}")
    return written
