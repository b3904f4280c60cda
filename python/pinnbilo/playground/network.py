"""What the page draws of one model: neuron heatmaps, edge weights, prediction, histories.

The hidden-neuron activations are recomputed in numpy from :meth:`Model.get_weights`: the core
exposes the network output only, and the network is a plain MLP ``h <- act(W h + b)`` on the raw
inputs (t) for PINN or (t, a) for BiLO, with a linear last layer.
"""

from __future__ import annotations

import base64
import math
from typing import Any, Callable, Dict, List, Sequence, Tuple

import numpy as np

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


def network_view(model: Model) -> Dict[str, Any]:
    """Neurons (with heatmaps over t, and a for BiLO) and edge weights of the drawn subset."""
    layers = model.get_weights()
    coord = model.problem.coords[0]
    t_lo, t_hi = model.problem.domain[coord]
    t = np.linspace(t_lo, t_hi, GRID)
    bilo = model.method == "bilo"
    a = float(next(iter(model.params.values())))
    a_lo, a_hi = a_window(a)
    if bilo:
        av = np.linspace(a_lo, a_hi, GRID)
        aa, tt = np.meshgrid(av, t, indexing="ij")  # rows: a, columns: t
        x = np.stack([tt.ravel(), aa.ravel()], axis=1)
    else:
        x = t[:, None]
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
    names = [coord] + ([model.problem.param_names[0]] if bilo else [])
    return {
        "inputs": names,
        "layers": view_layers,
        "edges": edges,
        "grid": GRID,
        "rows": GRID if bilo else 1,
        "t_range": [t_lo, t_hi],
        "a_range": [a_lo, a_hi] if bilo else None,
        "max_abs_weight": float(max(np.max(np.abs(w)) for w, _ in layers)),
    }


def _finite_list(v: np.ndarray, digits: int = 8) -> List[Any]:
    return [float(f"{x:.{digits}g}") if math.isfinite(x) else None for x in v.tolist()]


def history_view(model: Model) -> Dict[str, Any]:
    """The loss curves and the parameter trajectory, thinned to at most MAX_HISTORY points."""
    h = model.history
    n = len(h)
    idx = np.unique(np.linspace(0, n - 1, MAX_HISTORY).round().astype(int)) if n > MAX_HISTORY else np.arange(n)
    a = next(iter(h.params.values())) if h.params else np.zeros(n)
    return {
        "step": [int(s) for s in h.step[idx]],
        "total": _finite_list(h.total[idx]),
        "res": _finite_list(h.res[idx]),
        "rgrad": _finite_list(h.rgrad[idx]),
        "data": _finite_list(h.data[idx]),
        "a": _finite_list(a[idx]),
    }


def model_view(model: Model, t: np.ndarray) -> Dict[str, Any]:
    """Everything the page shows of one model."""
    h = model.history
    last = {}
    if len(h):
        last = {k: float(getattr(h, k)[-1]) for k in ("total", "res", "rgrad", "data")}
    return {
        "method": model.method,
        "name": model.display_name,
        "step": model.step,
        "a": float(next(iter(model.params.values()))),
        "hidden": list(model.hidden),
        "activation": model.activation,
        "losses": {k: (v if math.isfinite(v) else None) for k, v in last.items()},
        "prediction": _finite_list(model.predict(t)),
        "history": history_view(model),
        "network": network_view(model),
    }
