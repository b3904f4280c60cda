"""SciPy L-BFGS-B on the core's loss-and-gradient calls, with an honest report of why it stopped.

PINN: one joint problem over [weights, raw parameters].
BiLO: the bilevel structure is kept: rounds of L-BFGS on the weights for the lower level at
fixed parameters, then on the parameters for the data level at fixed weights.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Dict, List, Tuple

import numpy as np
from scipy.optimize import OptimizeResult, minimize  # type: ignore[import-untyped]  # no scipy stubs

from ._warnings import user_stacklevel
from .results import LbfgsReport

if TYPE_CHECKING:
    from .model import Model

BILO_ROUNDS = 3
UPPER_ITERATIONS = 20


def minimize_objective(model: "Model", objective: str, maxiter: int) -> LbfgsReport:
    """Run L-BFGS-B on one objective of the model from its current state and keep the result.

    Each iteration is appended to the model's history. Tolerances are set far below SciPy's
    defaults, so the run ends on ``maxiter`` or a genuine line-search/convergence condition,
    never silently after one iteration; the reason is in the report.
    """
    x0 = model.state_vector(objective)
    cache: Dict[bytes, Tuple[float, Dict[str, float]]] = {}

    def fun(x: np.ndarray) -> Tuple[float, np.ndarray]:
        if not np.all(np.isfinite(x)):
            return float("inf"), np.zeros_like(x)
        f, g, losses = model.objective(objective, x)
        cache[x.tobytes()] = (f, losses)
        if not np.isfinite(f) or not np.all(np.isfinite(g)):
            # Tell the line search this point is unusable instead of handing it NaN.
            return float("inf"), np.zeros_like(g)
        return float(f), g

    f0, _ = fun(x0)
    params_now = model._trainer.get_params

    def record(intermediate_result: OptimizeResult) -> None:
        x = np.asarray(intermediate_result.x)
        hit = cache.get(x.tobytes())
        if hit is None:
            _, _, losses = model.objective(objective, x)
        else:
            losses = hit[1]
        model.set_state_vector(objective, x)
        full = model.losses()
        model._trainer.append_record({**full, "total": losses["total"]}, list(params_now()))

    res = minimize(
        fun,
        x0,
        jac=True,
        method="L-BFGS-B",
        callback=record,
        options={"maxiter": int(maxiter), "maxcor": 50, "ftol": 1e-15, "gtol": 1e-12, "maxls": 50},
    )
    x = res.x if np.isfinite(res.fun) and res.fun <= f0 else x0
    model.set_state_vector(objective, x)
    report = LbfgsReport(
        objective=objective,
        success=bool(res.success),
        message=str(res.message),
        iterations=int(res.nit),
        evaluations=int(res.nfev),
        loss_before=float(f0),
        loss_after=float(min(res.fun, f0)),
    )
    if res.nit <= 1 and maxiter > 1:
        warnings.warn(
            f"{report} (it made no progress: the state before L-BFGS is kept)",
            RuntimeWarning,
            stacklevel=user_stacklevel(),
        )
    return report


def refine(model: "Model", iterations: int) -> List[LbfgsReport]:
    """The Adam -> L-BFGS hand-off used by ``fit(lbfgs_steps=...)``."""
    if model.method == "pinn":
        return [minimize_objective(model, "pinn", iterations)]
    reports = []
    per_round = max(1, iterations // BILO_ROUNDS)
    for _ in range(BILO_ROUNDS):
        reports.append(minimize_objective(model, "lower", per_round))
        if model._trainer.n_params:
            reports.append(minimize_objective(model, "upper", UPPER_ITERATIONS))
    return reports
