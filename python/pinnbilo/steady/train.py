"""Optimisers on the C++ fixed-point loss: Adam stepping in C++, then SciPy L-BFGS-B on the exact
loss and gradient. Shared by every steady-state model."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Dict, List, Tuple

import numpy as np
from scipy.optimize import minimize  # type: ignore[import-untyped]  # no scipy stubs

from .. import _validation as check
from .._warnings import user_stacklevel


@dataclass
class SteadyFit:
    """What a fit returns.

    params: flat network weights; loss: final fixed-point loss; functions: the learned functions on
    the grid (e.g. {"V": (n,), "W": (n,)} in the zero-mean gauge, or {"g": (S, n)});
    history: (k, 2) array of (step, loss); status: "completed", "interrupted" (Ctrl-C) or
    "diverged"; lbfgs_message: why L-BFGS stopped.
    """

    params: np.ndarray
    loss: float
    functions: Dict[str, np.ndarray]
    history: np.ndarray
    status: str = "completed"
    adam_steps: int = 0
    lbfgs_iterations: int = 0
    lbfgs_message: str = ""
    wall_time: float = 0.0
    extra: Dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (
            f"SteadyFit(loss={self.loss:.3e}, status={self.status!r}, adam_steps={self.adam_steps}, "
            f"lbfgs_iterations={self.lbfgs_iterations}, functions={sorted(self.functions)})"
        )


MAX_STEPS = 100_000_000  # a cap on adam_steps and lbfgs_steps (days of work), not an accident


def check_budget(adam_steps: object, lr: object, lbfgs_steps: object) -> None:
    check.integer(adam_steps, "adam_steps", minimum=0, maximum=MAX_STEPS)
    check.integer(lbfgs_steps, "lbfgs_steps", minimum=0, maximum=MAX_STEPS)
    check.real(lr, "lr", positive=True)


def optimise(
    core: Any,
    params: np.ndarray,
    adam_steps: int,
    lr: float,
    lbfgs_steps: int,
    progress: bool = False,
    every: int = 50,
) -> SteadyFit:
    """Adam then L-BFGS-B on core.loss_and_grad. Returns the fit with ``functions`` and ``extra``
    left empty for the model to fill. Ctrl-C ends the run cleanly with status "interrupted" and
    the best iterate so far."""
    check_budget(adam_steps, lr, lbfgs_steps)
    start = time.perf_counter()
    history: List[Tuple[int, float]] = []
    bar = None
    if progress:
        from tqdm.auto import tqdm  # type: ignore[import-untyped]  # no tqdm stubs

        bar = tqdm(total=int(adam_steps) + int(lbfgs_steps), desc="steady fit", leave=False)
    status = "completed"
    x = np.asarray(params, dtype=float).copy()
    taken = 0
    last_step = [0]

    def on_adam(step: int, loss: float) -> bool:
        history.append((step, loss))
        if bar is not None:
            bar.update(step - last_step[0])
            bar.set_postfix(loss=f"{loss:.3e}")
        last_step[0] = step
        return True

    try:
        if adam_steps > 0:
            x, taken, _, interrupted = core.adam(x, int(adam_steps), float(lr), int(every), on_adam)
            if interrupted:
                status = "interrupted"
            elif taken < 0:
                status = "diverged"
                taken = -taken - 1
                warnings.warn(
                    f"the fixed-point loss became non-finite at Adam step {taken}; the last finite iterate is "
                    "kept (try a smaller lr)",
                    RuntimeWarning,
                    stacklevel=user_stacklevel(),
                )
        iterations, message = 0, "not run"
        best_f: List[float] = [float("inf")]  # the lowest finite loss L-BFGS has seen
        best_x: List[np.ndarray] = [x.copy()]  # and the iterate where it was seen
        if lbfgs_steps > 0 and status == "completed":
            step0 = history[-1][0] if history else 0

            def fun(z: np.ndarray) -> Tuple[float, np.ndarray]:
                f, g = core.loss_and_grad(z)
                if not np.isfinite(f) or not np.all(np.isfinite(g)):
                    return float("inf"), np.zeros_like(z)
                if f < best_f[0]:
                    best_f[0], best_x[0] = f, z.copy()
                return float(f), g

            def on_iter(z: np.ndarray) -> None:
                history.append((step0 + len(history), best_f[0]))
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{best_f[0]:.3e}")

            try:
                res = minimize(
                    fun,
                    x,
                    jac=True,
                    method="L-BFGS-B",
                    callback=on_iter,
                    options={"maxiter": int(lbfgs_steps), "maxcor": 30, "ftol": 1e-16, "gtol": 1e-14, "maxls": 40},
                )
                iterations, message = int(res.nit), str(res.message)
            except KeyboardInterrupt:
                status, message = "interrupted", "interrupted (Ctrl-C)"
            if np.isfinite(best_f[0]):
                x = best_x[0]
    except KeyboardInterrupt:
        status = "interrupted"
        iterations, message = 0, "not run"
    finally:
        if bar is not None:
            bar.close()
    return SteadyFit(
        params=x,
        loss=float(core.loss_and_grad(x)[0]),
        functions={},
        history=np.asarray(history, dtype=float).reshape(-1, 2),
        status=status,
        adam_steps=int(taken),
        lbfgs_iterations=iterations,
        lbfgs_message=message,
        wall_time=time.perf_counter() - start,
    )
