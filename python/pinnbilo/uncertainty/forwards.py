"""Forward models for the Laplace posterior: the predicted data rows u(theta) and their Jacobian
du/dtheta (m, p), from a trained BiLO or PINN model or from a problem's exact solution.

Every model-based forward works on a copy of the model (its checkpoint in memory), so the
user's model is never changed.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ..errors import InputError
from ..problem import Data, Problem
from ..training import RunOptions
from ._observations import SolutionFn, field_data_only, field_of, predict

# Relative step of the central differences of a smooth (exact or reference) solution.
SOLUTION_STEP = 1e-5
# Relative step of BiLO's differences of the local operator (weights held, exact up to rounding).
LOCAL_STEP = 1e-4


def clone(model: Any) -> Any:
    """An independent copy of a model (its checkpoint in memory, sharing the problem object)."""
    from ..checkpoint import from_bytes, to_bytes

    return from_bytes(to_bytes(model), problem=model.problem)


def _steps(theta: np.ndarray, problem: Problem, rel: float) -> np.ndarray:
    """A difference step per parameter: rel times its size (its scale where it is 0)."""
    sizes = [abs(float(t)) if t != 0 else p.resolved_scale for t, p in zip(theta, problem.params)]
    return rel * np.array(sizes)


def _inside_bounds(problem: Problem, j: int, value: float) -> bool:
    lo, hi = problem.params[j].bounds
    return (lo is None or value > lo) and (hi is None or value < hi)


def central_jacobian(f: Any, theta: np.ndarray, base: np.ndarray, problem: Problem, h: np.ndarray) -> np.ndarray:
    """(m, p) differences of f (theta (p,) -> (m,)) at theta: central, one-sided next to a bound."""
    cols = []
    for j in range(theta.size):
        up, down = theta.copy(), theta.copy()
        up[j] += h[j]
        down[j] -= h[j]
        if _inside_bounds(problem, j, float(up[j])) and _inside_bounds(problem, j, float(down[j])):
            cols.append((f(up) - f(down)) / (2 * h[j]))
        elif _inside_bounds(problem, j, float(up[j])):
            cols.append((f(up) - base) / h[j])
        else:
            cols.append((base - f(down)) / h[j])
    return np.stack(cols, axis=1)


class SolutionForward:
    """u(theta) from a solution u(z; theta) (the problem's exact or reference solution, or a
    given callable); Jacobian by central differences of it."""

    def __init__(self, problem: Problem, observations: Sequence[Data], solution: SolutionFn) -> None:
        self.problem = problem
        self.names = list(problem.param_names)
        self.observations = list(observations)
        self.fields = field_data_only(problem, self.observations, "the Laplace posterior of a solution")
        self.solution = solution
        self.method = (
            "Laplace: the given solution u(z; theta) linearised at the mode, Jacobian du/dtheta by central "
            f"differences (relative step {SOLUTION_STEP:g})"
        )

    def value(self, theta: np.ndarray) -> np.ndarray:
        return predict(self.problem, self.solution, self.observations, self.fields, dict(zip(self.names, theta)))

    def at(self, theta: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        base = self.value(theta)
        return base, central_jacobian(self.value, theta, base, self.problem, _steps(theta, self.problem, SOLUTION_STEP))


class BiLOForward:
    """BiLO: the network u(z, theta; W) is a local solution operator around the current theta,
    so du/dtheta at the data is the network's derivative in its parameter inputs, exact in the
    network (analytic for observations of a field or its integral, differences of the network
    with the weights held for other observations). Moving theta retrains the lower level (the
    weights, theta fixed) until the lower loss is back at its level before the move."""

    def __init__(self, model: Any, lower_steps: int, lower_lr: float) -> None:
        self.model = clone(model)
        self.problem: Problem = model.problem
        self.names = list(self.problem.param_names)
        self.observations: List[Data] = list(model.observations)
        self.fields = [field_of(self.problem, d) for d in self.observations]
        self.lower_steps = lower_steps
        self.lower_lr = lower_lr
        m = self.model
        # The retraining's target and monitor: the PDE residual alone (w_res L_res). The lower loss
        # also holds BiLO's residual-gradient term, which a retraining can lower while the network
        # becomes a worse solution at the new theta; the residual says whether it is one.
        self.tol = float(m.losses()["res"])
        self.centre = np.array([m.params[n] for n in self.names])
        self.retrained = 0
        # Each retraining is fit(steps=0, pretrain_steps=lower_steps, lr=lower_lr, tol=self.tol,
        # keep="best", monitor="res"): one core run of that phase, without fit's planning (it runs
        # after every accepted move).
        self._retrain_control: Optional[Dict[str, object]] = None
        if lower_steps:
            m._trainer.set_options(m._adam_options(lower_lr, lower_lr, False))
            self._retrain_control = RunOptions(keep="best", monitor="res").core(lower_steps, False, 100, self.tol)
        # Lower loss after each retraining, over its level at the fit: above 1 the network is a
        # worse solution at the new theta than it was at the fit's.
        self.retrain_ratios: List[float] = []
        how = "analytic in the network's parameter inputs"
        if any(f is None for f in self.fields):
            how += " (for observations of expressions: differences of the network, weights held)"
        self.method = (
            "Laplace (Gauss-Newton): BiLO's local operator u(z, theta; W) linearised at the mode; "
            f"Jacobian du/dtheta {how}; the lower level retrained at each new theta "
            f"(up to {lower_steps} Adam steps at lr {lower_lr:g})"
        )

    def _set(self, theta: np.ndarray) -> None:
        self.model.set_params(dict(zip(self.names, (float(t) for t in theta))))

    def value(self, theta: np.ndarray) -> np.ndarray:
        self._set(theta)
        return np.concatenate(self.model.observation_predictions())

    def at(self, theta: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        self.move_to(theta)
        pred = np.concatenate(self.model.observation_predictions())
        return pred, self._jacobian(theta)

    def move_to(self, theta: np.ndarray) -> None:
        """Set theta and retrain the lower level there (unless it is where the network already is)."""
        if not np.array_equal(theta, self.centre):
            self._set(theta)
            if self._retrain_control is not None:
                # keep="best" on the residual: a retraining never leaves a worse solution than none.
                self.model._trainer.run(self._retrain_control, None)
                self.retrained += 1
                res = float(self.model.losses()["res"])
                self.retrain_ratios.append(res / self.tol if self.tol > 0 else (1.0 if res == 0 else math.inf))
            self.centre = np.array(theta, dtype=np.float64)
        self._set(theta)

    def _jacobian(self, theta: np.ndarray) -> np.ndarray:
        blocks = []
        h: Optional[np.ndarray] = None
        fd: Optional[List[np.ndarray]] = None
        for k, (d, f) in enumerate(zip(self.observations, self.fields)):
            if f is None:
                if fd is None:  # the local operator's differences, all observations at once
                    h = _steps(theta, self.problem, LOCAL_STEP)
                    fd = self._local_differences(theta, h)
                blocks.append(fd[k])
                continue
            cols = []
            for name in self.names:
                out = self.model.predict(d.points, [{name: 1}], field=f)
                du = np.asarray(next(iter(out.values())), dtype=np.float64)
                cols.append(np.array([float(np.dot(np.asarray(d.quadrature), du))]) if d.integral else du)
            blocks.append(np.stack(cols, axis=1))
        self._set(theta)
        return np.concatenate(blocks, axis=0)

    def _local_differences(self, theta: np.ndarray, h: np.ndarray) -> List[np.ndarray]:
        """Per observation, (rows, p) central differences of the network's predictions in theta
        with the weights held (the local operator)."""
        cols: List[List[np.ndarray]] = [[] for _ in self.observations]
        for j in range(theta.size):
            up, down = theta.copy(), theta.copy()
            up[j] += h[j]
            down[j] -= h[j]
            self._set(up)
            hi = self.model.observation_predictions()
            self._set(down)
            lo = self.model.observation_predictions()
            for k in range(len(self.observations)):
                cols[k].append((hi[k] - lo[k]) / (2 * h[j]))
        return [np.stack(c, axis=1) for c in cols]


class PINNForward:
    """PINN: the network u(z; W) is not a function of theta, so u(theta) is the network whose
    weights minimise the residual loss at that theta (theta held, the data term off, L-BFGS from
    the fitted weights), and du/dtheta comes from central differences of it (relative step
    ``fd_step``): every Jacobian costs 2p + 1 weight optimisations. Unknown functions, if any,
    are held at their fitted networks."""

    def __init__(self, model: Any, fd_step: float, maxiter: int) -> None:
        self.model = clone(model)
        self.problem: Problem = model.problem
        self.names = list(self.problem.param_names)
        m = self.model
        m.weights_config["w_data"] = 0.0  # u(theta) is the residual's minimiser, whatever the data say
        m._trainer.set_options(m._adam_options(1e-3, 1e-3, False))
        self.w0 = m.state_vector("lower")
        self.fd_step = fd_step
        self.maxiter = maxiter
        self._cache: Dict[Tuple[float, ...], np.ndarray] = {}
        self.method = (
            "Laplace (Gauss-Newton): PINN's solution network re-optimised on the residual loss at fixed theta "
            f"(L-BFGS-B, up to {maxiter} iterations from the fitted weights); Jacobian du/dtheta by central "
            f"differences of that (relative step {fd_step:g}), since a PINN network is not a function of theta"
        )

    def value(self, theta: np.ndarray) -> np.ndarray:
        key = tuple(float(t) for t in theta)
        if key not in self._cache:
            self._cache[key] = self._solve(theta)
        return self._cache[key]

    def _solve(self, theta: np.ndarray) -> np.ndarray:
        from scipy.optimize import minimize  # type: ignore[import-untyped]  # no scipy stubs

        m = self.model
        m.set_params(dict(zip(self.names, (float(t) for t in theta))))
        raw = m.state_vector("upper")
        nw = self.w0.size

        def loss(w: np.ndarray) -> Tuple[float, np.ndarray]:
            value, grad, _ = m.objective("pinn", np.concatenate([w, raw]))
            return value, grad[:nw]

        res = minimize(
            loss, self.w0, jac=True, method="L-BFGS-B",
            options={"maxiter": self.maxiter, "ftol": 1e-15, "gtol": 1e-12},
        )  # fmt: skip
        w = res.x if np.all(np.isfinite(res.x)) else self.w0
        m.set_state_vector("lower", w)
        return np.concatenate(m.observation_predictions())

    def at(self, theta: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        base = self.value(theta)
        return base, central_jacobian(self.value, theta, base, self.problem, _steps(theta, self.problem, self.fd_step))


def exact_solution(problem: Problem, solution: Optional[SolutionFn]) -> SolutionFn:
    """The given solution callable, or the problem's exact/reference one."""
    if solution is not None:
        if not callable(solution):
            raise InputError(f"solution must be a callable (points, params) -> values, got {type(solution).__name__}")
        return solution
    if problem.solution is None:
        raise InputError(
            f"problem '{problem.name}' has no exact or reference solution: pass solution=(points, params) -> values"
        )
    return problem.solution  # type: ignore[no-any-return]


def current(model: Any) -> Mapping[str, float]:
    """The model's parameter values, checked finite (a diverged model says so)."""
    values = dict(model.params)
    bad = [k for k, v in values.items() if not math.isfinite(v)]
    if bad:
        raise InputError(f"the model's parameters {bad} are not finite; refit it before asking for a posterior")
    return values
