"""pinnbilo: PINN and BiLO inverse problems for differential equations on a C++
truncated-Taylor-mode core.

Typical use::

    import pinnbilo as pb
    problem = pb.problems.exponential_growth(a_true=2.0, a_init=1.0)
    data = problem.synthetic_data(n=20, noise=0.01, seed=0)
    model = pb.BiLO(problem, data, hidden=(32, 32))
    result = model.fit(steps=3000, pretrain_steps=500)
    print(result.params)
"""

from __future__ import annotations

from . import expr, problems
from ._core import get_num_threads
from ._core import set_num_threads as _core_set_num_threads
from ._version import __version__
from .batch import fit_many
from .checkpoint import load
from .conditions import Condition, dirichlet, initial, neumann, periodic, robin
from .errors import InputError, PinnbiloError, TrainingDiverged
from .model import PINN, BiLO, Model
from .problem import Data, Function, Parameter, Problem, ode_problem
from .results import FitResult, History, LbfgsReport
from .training import Schedule


def set_num_threads(n: int) -> None:
    """Use ``n`` threads (an integer in [1, 256]) in the core's batched evaluations; results do not
    depend on it, only the time does.

    Raises InputError for anything else (a bool, a float, 0, 257).
    """
    from . import _validation

    _core_set_num_threads(_validation.integer(n, "the number of threads n", minimum=1, maximum=256))


def __getattr__(name: str) -> object:
    # pinnbilo.plotting imports matplotlib, an optional dependency: load it on first use.
    # pinnbilo.steady (functions from steady states), pinnbilo.sweep (many runs on Dask) and
    # pinnbilo.uncertainty (posteriors, samplers) are loaded on first use too.
    if name in ("plotting", "steady", "sweep", "uncertainty"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'pinnbilo' has no attribute '{name}'")


__all__ = [
    "PINN",
    "BiLO",
    "Model",
    "Problem",
    "Parameter",
    "Function",
    "Data",
    "Condition",
    "dirichlet",
    "neumann",
    "robin",
    "initial",
    "periodic",
    "ode_problem",
    "fit_many",
    "problems",
    "expr",
    "load",
    "FitResult",
    "History",
    "LbfgsReport",
    "Schedule",
    "__version__",
    "PinnbiloError",
    "InputError",
    "TrainingDiverged",
    "plotting",
    "steady",
    "sweep",
    "uncertainty",
    "set_num_threads",
    "get_num_threads",
]
