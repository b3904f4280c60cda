"""What each observation measures, and its prediction from a solution u(z; theta)."""

from __future__ import annotations

from typing import Any, Callable, List, Mapping, Optional, Sequence

import numpy as np

from .._validation import _show
from ..errors import InputError
from ..problem import Data, Problem

SolutionFn = Callable[[np.ndarray, Mapping[str, float]], Any]


def as_list(data: object, what: str = "data") -> List[Data]:
    """One Data or a non-empty list of them, as a list."""
    if isinstance(data, Data):
        return [data]
    if isinstance(data, (list, tuple)) and data and all(isinstance(d, Data) for d in data):
        return list(data)
    raise InputError(f"{what} must be a pinnbilo.Data or a non-empty list of them, got {_show(data)}")


def field_of(problem: Problem, d: Data) -> Optional[str]:
    """The field a Data observes (its values, or their integral), or None for an expression
    such as ``"u.x"`` or ``"S + I"``."""
    if d.of is None:
        if len(problem.fields) > 1:
            raise InputError(
                f"data for a system must say what they observe: Data(..., of='{problem.fields[0]}'); "
                f"fields: {', '.join(problem.fields)}"
            )
        return problem.fields[0]
    name = d.of.strip()
    return name if name in problem.fields else None


def field_data_only(problem: Problem, observations: Sequence[Data], who: str) -> List[str]:
    """The observed field of each Data; an InputError for observations of expressions."""
    out = []
    for k, d in enumerate(observations):
        f = field_of(problem, d)
        if f is None:
            raise InputError(
                f"{who} handles observations of a field ({', '.join(problem.fields)}) or of its integral; "
                f"observation {k} is of the expression {d.of!r}, which is not supported here yet"
            )
        out.append(f)
    return out


def solution_fields(problem: Problem, solution: SolutionFn, points: np.ndarray, params: Mapping[str, float]) -> Any:
    """Every field of ``solution(points, params)``: (n, n_fields)."""
    try:
        vals = np.asarray(solution(points, dict(params)))
    except InputError:
        raise
    except Exception as exc:
        raise InputError(
            f"the solution raised {type(exc).__name__} at {dict(params)}: {_show(str(exc))}; it must take "
            "(points (n, n_coords), {name: value}) and return the field values"
        ) from None
    if np.iscomplexobj(vals) or vals.dtype.kind not in "biuf":
        raise InputError(f"the solution must return real numbers, got dtype {vals.dtype}")
    n, nf = points.shape[0], len(problem.fields)
    if nf == 1 and vals.size == n:
        return vals.astype(np.float64).reshape(n, 1)
    if vals.shape == (n, nf):
        return vals.astype(np.float64)
    raise InputError(f"the solution returned shape {vals.shape} for {n} points; expected ({n},) or ({n}, {nf})")


def predict(
    problem: Problem,
    solution: SolutionFn,
    observations: Sequence[Data],
    fields: Sequence[str],
    params: Mapping[str, float],
) -> np.ndarray:
    """The observations' predicted rows (m,) from the solution at params: the field at each
    point, or the quadrature sum for an integral observation."""
    out = []
    for d, f in zip(observations, fields):
        u = solution_fields(problem, solution, d.points, params)[:, problem.fields.index(f)]
        out.append(np.array([float(np.dot(np.asarray(d.quadrature), u))]) if d.integral else u)
    return np.concatenate(out)


def values(observations: Sequence[Data]) -> np.ndarray:
    """The observed rows one observation after another: (m,)."""
    return np.concatenate([np.asarray(d.values, dtype=np.float64) for d in observations])
