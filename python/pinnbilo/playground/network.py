"""What the page draws of one model: neuron heatmaps, edge weights, prediction, histories.

The hidden-neuron activations are recomputed in numpy from :meth:`Model.get_weights`: the core
exposes the network output only, and the network is a plain MLP ``h <- act(W h + b)`` on the raw
inputs (t) for PINN or (t, a) for BiLO, with a linear last layer.
"""

from __future__ import annotations

import base64
import math
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ..errors import InputError
from ..model import Model

ACT: Dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "tanh": np.tanh,
    "sin": np.sin,
    "cos": np.cos,
    "sigmoid": lambda x: 0.5 * (1.0 + np.tanh(0.5 * x)),
    "softplus": lambda x: np.logaddexp(0.0, x),
    "exp": lambda x: np.exp(np.minimum(x, 700.0)),
}
BOUNDED = {"tanh", "sin", "cos", "sigmoid"}
GRID = 16  # heatmap resolution per axis
MAX_SHOWN = 8  # neurons drawn per layer; larger layers show their first MAX_SHOWN
MAX_HISTORY = 300  # history points sent to the page


def layer_outputs(layers: Sequence[Tuple[np.ndarray, np.ndarray]], x: np.ndarray, activation: str) -> List[np.ndarray]:
    """Every layer's values for inputs x (n, n_in): [x, h1, ..., N], each (n, width)."""
    act = ACT[activation]
    outs = [x]
    h = x
    for i, (w, b) in enumerate(layers):
        h = h @ w.T + b
        if i < len(layers) - 1:
            h = act(h)
        outs.append(h)
    return outs


def a_window(a: float) -> Tuple[float, float]:
    """The heatmaps' a range: the current value +-50% (+-0.5 around zero)."""
    half = 0.5 * abs(a) if abs(a) > 1e-3 else 0.5
    return a - half, a + half


def _encode(v: np.ndarray, scale: float) -> str:
    """Values in [-scale, scale] as base64 bytes 0..255 (row-major, a rows x t columns)."""
    q = np.clip(np.round((v / scale + 1.0) * 127.5), 0, 255).astype(np.uint8)
    return base64.b64encode(q.tobytes()).decode("ascii")


def _row_axis(model: Model) -> Tuple[str, str, np.ndarray]:
    """The heatmaps' vertical axis: (name, kind, values).

    Columns always run over the first coordinate. Rows run over the second coordinate when there
    is one; otherwise, for BiLO, over its first extra input: a parameter's current value +-50%, or
    an unknown function's current values scaled by 0.5 to 1.5; otherwise there is one row. Inputs
    not on an axis keep their current values.
    """
    problem = model.problem
    if len(problem.coords) >= 2:
        lo, hi = problem.domain[problem.coords[1]]
        return problem.coords[1], "coord", np.linspace(lo, hi, GRID)
    if model.method == "bilo" and problem.params:
        a_lo, a_hi = a_window(float(model.params[problem.param_names[0]]))
        return problem.param_names[0], "param", np.linspace(a_lo, a_hi, GRID)
    if model.method == "bilo" and problem.functions:
        return problem.function_names[0], "function", np.linspace(0.5, 1.5, GRID)
    return "", "none", np.zeros(1)


def network_inputs(model: Model, points: np.ndarray) -> np.ndarray:
    """The network's inputs at coordinate points (n, n_coords): the coordinates, then (BiLO) the
    current parameters and the unknown functions' values there: (n, n_in)."""
    cols = [points]
    if model.method == "bilo":
        n = points.shape[0]
        cols += [np.full((n, 1), float(v)) for v in model.params.values()]
        cols += [np.asarray(model.function(f, points)).reshape(n, 1) for f in model.problem.function_names]
    return np.concatenate(cols, axis=1)


def network_view(model: Model) -> Dict[str, Any]:
    """Neurons (heatmaps over the first coordinate and the row axis, see :func:`_row_axis`) and the
    edge weights of the drawn subset."""
    layers = model.get_weights()
    problem = model.problem
    coord = problem.coords[0]
    t_lo, t_hi = problem.domain[coord]
    t = np.linspace(t_lo, t_hi, GRID)
    row_name, row_kind, rows = _row_axis(model)
    rr, tt = np.meshgrid(rows, t, indexing="ij")  # rows x columns
    points = np.zeros((tt.size, len(problem.coords)))
    points[:, 0] = tt.ravel()
    if row_kind == "coord":
        points[:, 1] = rr.ravel()
    elif len(problem.coords) > 1:
        points[:, 1:] = [problem.domain[c][0] for c in problem.coords[1:]]
    x = network_inputs(model, points)
    names = list(problem.coords)
    if model.method == "bilo":
        names += problem.param_names + problem.function_names
    if row_kind in ("param", "function"):
        j = names.index(row_name)
        x[:, j] = rr.ravel() if row_kind == "param" else x[:, j] * rr.ravel()
    outs = layer_outputs(layers, x, model.activation)
    shown = [list(range(min(o.shape[1], MAX_SHOWN))) for o in outs]
    view_layers = []
    last = len(outs) - 1
    for li, o in enumerate(outs):
        heat, scales = [], []
        layer_scale = float(np.max(np.abs(o))) if o.size else 1.0
        for j in shown[li]:
            v = o[:, j]
            if li == 0 or li == last:
                s = float(np.max(np.abs(v)))
            elif model.activation in BOUNDED:
                s = 1.0
            else:
                s = layer_scale
            s = s if math.isfinite(s) and s > 1e-12 else 1.0
            heat.append(_encode(v, s))
            scales.append(s)
        view_layers.append({"width": int(o.shape[1]), "shown": shown[li], "heat": heat, "scale": scales})
    edges = []
    for li, (w, _) in enumerate(layers):
        sub = w[np.ix_(shown[li + 1], shown[li])]
        edges.append(np.round(sub, 4).tolist())
    n_rows = len(rows)
    row_range = [float(rows[0]), float(rows[-1])] if n_rows > 1 else None
    return {
        "inputs": names,
        "layers": view_layers,
        "edges": edges,
        "grid": GRID,
        "rows": n_rows,
        "t_range": [t_lo, t_hi],
        "row_name": row_name,
        "row_kind": row_kind,
        "row_range": row_range,
        "a_range": row_range if row_kind == "param" else None,
        "max_abs_weight": float(max(np.max(np.abs(w)) for w, _ in layers)),
    }


def _finite_list(v: np.ndarray, digits: int = 8) -> List[Any]:
    return [float(f"{x:.{digits}g}") if math.isfinite(x) else None for x in v.tolist()]


def _line(v: np.ndarray, digits: int = 8) -> List[Any]:
    """A line plot's values: one list for one field ((n,)), one list per field for a system ((n, n_fields))."""
    return _finite_list(v, digits) if v.ndim == 1 else [_finite_list(col, digits) for col in v.T]


def history_view(model: Model) -> Dict[str, Any]:
    """The loss curves and the parameter trajectories, thinned to at most MAX_HISTORY points."""
    h = model.history
    assert h.reg is not None  # Model.history always fills reg
    n = len(h)
    idx = np.unique(np.linspace(0, n - 1, MAX_HISTORY).round().astype(int)) if n > MAX_HISTORY else np.arange(n)
    params = {k: _finite_list(v[idx]) for k, v in h.params.items()}
    return {
        "step": [int(s) for s in h.step[idx]],
        "total": _finite_list(h.total[idx]),
        "res": _finite_list(h.res[idx]),
        "rgrad": _finite_list(h.rgrad[idx]),
        "data": _finite_list(h.data[idx]),
        "reg": _finite_list(h.reg[idx]),
        "params": params,
        "a": next(iter(params.values())) if params else _finite_list(np.zeros(len(idx))),
    }


def over_both(problem: Any, name: str) -> bool:
    """Whether unknown function ``name`` depends on both coordinates of a two-coordinate problem
    (drawn as a heatmap over the solution's grid; otherwise a line over its one coordinate)."""
    return len(problem.coords) == 2 and tuple(problem.function_inputs[name]) == tuple(problem.coords)


def function_points(problem: Any, name: str, n: int = 101) -> Tuple[np.ndarray, np.ndarray]:
    """(x, points): n values of an unknown function's one coordinate over its interval, and the
    coordinate points (n, n_coords) there (other coordinates at their lower ends)."""
    c = problem.function_inputs[name][0]
    lo, hi = problem.domain[c]
    x = np.linspace(lo, hi, n)
    points = np.array([[problem.domain[k][0] for k in problem.coords]] * n, dtype=np.float64)
    points[:, problem.coords.index(c)] = x
    return x, points


def solution(model: Model, points: np.ndarray) -> np.ndarray:
    """The model's solution at points: (n,) for one field, (n, n_fields) for a system (columns in
    the problem's field order, as :meth:`Problem.exact` gives them)."""
    u = model.predict(points)
    if isinstance(u, dict):  # a system: {field: (n,)}
        return np.stack([np.asarray(u[f], dtype=np.float64) for f in model.problem.fields], axis=1)
    return np.asarray(u, dtype=np.float64)


def predict_at(model: Model, points: np.ndarray, values: Mapping[str, float]) -> Optional[np.ndarray]:
    """A BiLO model's u at ``points`` with its parameter inputs set to ``values`` (its local
    solution operator away from the current parameters), or None where ``values`` lie outside
    the parameters' bounds. The model's parameters are restored exactly (their raw values), so
    training goes on as if nothing had been asked."""
    raw = model.state_vector("upper")
    try:
        model.set_params(values)
        return solution(model, points)
    except InputError:  # outside a bound: no such parameter value
        return None
    finally:
        model.set_state_vector("upper", raw)


def model_view(
    model: Model, points: np.ndarray, shape: Tuple[int, ...], exact: Optional[np.ndarray] = None
) -> Dict[str, Any]:
    """Everything the page shows of one model. ``points`` (n, n_coords) where the solution is
    drawn, ``shape`` their layout: (n,) a line, (rows, columns) a heatmap with rows over the
    second coordinate; ``exact`` (n,), or (n, n_fields) for a system: the exact solution there at
    the true parameters, for the pointwise error (prediction minus exact); a system's prediction
    and error are one list per field. Unknown functions of one coordinate are drawn as lines
    (``values``); those of both coordinates on the heatmap's grid (``heat`` and ``error_heat``,
    learned minus true)."""
    h = model.history
    last = {}
    if len(h):
        last = {k: float(getattr(h, k)[-1]) for k in ("total", "res", "rgrad", "data", "reg")}
    u = solution(model, points)
    params = {k: float(v) for k, v in model.params.items()}
    functions = {}
    if model.problem.functions:
        errors = model.function_errors()
        for f in model.problem.function_names:
            if len(shape) == 2 and over_both(model.problem, f):
                # On the solution's grid: the learned values and their error against the truth.
                v = np.asarray(model.function(f, points), dtype=np.float64)
                gap = v - model.problem.true_function(f, points)
                functions[f] = {
                    "heat": [_finite_list(row, 6) for row in v.reshape(shape)],
                    "error_heat": [_finite_list(row, 6) for row in gap.reshape(shape)],
                    "error": errors[f],
                }
                continue
            _, fp = function_points(model.problem, f)
            functions[f] = {"values": _finite_list(np.asarray(model.function(f, fp))), "error": errors[f]}
    view: Dict[str, Any] = {
        "method": model.method,
        "name": model.display_name,
        "step": model.step,
        "a": next(iter(params.values())) if params else None,
        "params": params,
        "functions": functions,
        "hidden": list(model.hidden),
        "activation": model.activation,
        "losses": {k: (v if math.isfinite(v) else None) for k, v in last.items()},
        "history": history_view(model),
        "network": network_view(model),
    }
    err = None if exact is None else u - exact
    if len(shape) == 1:
        view["prediction"] = _line(u)
        view["error"] = None if err is None else _line(err, 6)
    else:
        view["heat"] = [_finite_list(row, 6) for row in u.reshape(shape)]
        view["error_heat"] = None if err is None else [_finite_list(row, 6) for row in err.reshape(shape)]
    return view
