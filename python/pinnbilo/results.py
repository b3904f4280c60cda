"""Small result containers returned by training and evaluation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional

import numpy as np


@dataclass
class History:
    """Per-step training record (Adam steps, then L-BFGS iterations).

    Every array has one entry per recorded step: ``step`` (global step number), ``total`` (the
    objective of that phase), ``res`` (mean squared residual), ``rgrad`` (BiLO: mean squared
    residual gradient), ``data`` (mean squared data misfit), ``reg`` (the unknown functions'
    smoothness mean |grad f|^2, 0 without functions); ``params`` maps each parameter name to its
    value at that step.
    """

    step: np.ndarray
    total: np.ndarray
    res: np.ndarray
    rgrad: np.ndarray
    data: np.ndarray
    params: Dict[str, np.ndarray]
    reg: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return int(self.step.shape[0])


@dataclass
class LbfgsReport:
    """Why SciPy's L-BFGS-B stopped: ``message`` as SciPy gives it, iterations, evaluations."""

    objective: str
    success: bool
    message: str
    iterations: int
    evaluations: int
    loss_before: float
    loss_after: float

    def __str__(self) -> str:
        return (
            f"L-BFGS-B ({self.objective}) stopped after {self.iterations} iterations, {self.evaluations} "
            f"evaluations: {self.message}; loss {self.loss_before:.3e} -> {self.loss_after:.3e}"
        )


@dataclass
class FitResult:
    """Outcome of :meth:`Model.fit`.

    ``status``: 'completed' (all steps), 'converged' (objective below tol), 'early_stopped' (no
    improvement for ``patience`` steps), 'stopped' (a callback asked), 'interrupted' (Ctrl-C), or
    'diverged' (non-finite loss; the model holds the last finite state and ``diverged_step`` says
    where).  ``keep``: which state the model holds ('last' or 'best'); ``best_step``: with
    keep='best', the global step whose state was kept; ``spikes``: roll-backs by the spike
    control; ``lower_steps``: BiLO's inner lower-level steps.
    """

    params: Dict[str, float]
    losses: Dict[str, float]
    status: str
    steps: int
    wall_time: float
    diverged_step: Optional[int] = None
    lbfgs: list = field(default_factory=list)
    message: str = ""
    keep: str = "last"
    best_step: Optional[int] = None
    spikes: int = 0
    lower_steps: int = 0
    # The fitted model and its step count when the fit ended, for uncertainty(); not compared or shown.
    model: Any = field(default=None, repr=False, compare=False)
    end_step: Optional[int] = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> Dict[str, Any]:
        # A pickled result (a sweep's row, a worker's answer) travels without its model.
        state = dict(self.__dict__)
        state["model"] = None
        return state

    def uncertainty(self, priors: Optional[Mapping[str, object]] = None, sigma: object = None, **options: Any) -> Any:
        """The Laplace (Gauss-Newton) posterior of the scalar parameters at this fit's answer:
        ``model.posterior(priors, sigma, **options)`` (see pinnbilo.uncertainty.laplace), with the
        mean, covariance, standard deviations, 95% intervals and correlations.

        Raises InputError when the model has been trained since this fit (its state is no longer
        this fit's answer: call ``model.posterior`` for the current one).
        """
        from .errors import InputError

        if self.model is None:
            raise InputError("this FitResult has no model attached (made by hand or unpickled): use model.posterior()")
        if self.end_step is not None and self.model.step != self.end_step:
            raise InputError(
                f"the model was trained after this fit (step {self.model.step}, the fit ended at {self.end_step}); "
                "call model.posterior() for the model's current state"
            )
        return self.model.posterior(priors, sigma, **options)
