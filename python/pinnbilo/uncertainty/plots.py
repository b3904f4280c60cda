"""Figures of posterior draws: a corner plot, chain traces, and predictive bands of a BiLO model
at sampled parameters.

Every figure is a :class:`matplotlib.figure.Figure` built without pyplot (no window, no GUI
backend; ``fig.savefig(...)`` to save). Matplotlib is an optional dependency:
``pip install pinnbilo[plot]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from .. import _validation as V
from ..errors import InputError
from .chains import Chains

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["corner", "function_band", "predictive_bands", "predictive_draws", "trace"]

Draws = Union[Chains, np.ndarray, Sequence[Sequence[float]]]


def _figure(figsize: Tuple[float, float]) -> Figure:
    try:
        import matplotlib.figure as mfigure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "pinnbilo.uncertainty.plots needs matplotlib; install it with `pip install pinnbilo[plot]` "
            "(or `pip install matplotlib`)"
        ) from exc
    return mfigure.Figure(figsize=figsize, layout="constrained")


def _pooled(draws: object, name: str, names: Optional[Sequence[str]] = None) -> Tuple[np.ndarray, List[str]]:
    """Pooled draws (n, k) and their labels from Chains or an array (n,) / (n, k)."""
    if isinstance(draws, Chains):
        x, labels = draws.draws, draws.labels
    else:
        x = V.array(draws, name)
        if x.ndim == 1:
            x = x[:, None]
        if x.ndim == 3:  # (chains, draws, k)
            x = x.reshape(-1, x.shape[2])
        if x.ndim != 2:
            raise InputError(f"{name} must be Chains or draws shaped (n,), (n, k) or (chains, n, k), got {x.shape}")
        labels = [f"x[{j}]" for j in range(x.shape[1])]
    if x.shape[0] == 0:
        raise InputError(f"{name} holds no draws")
    if names is not None:
        if isinstance(names, str) or len(names) != x.shape[1]:
            raise InputError(f"names must be {x.shape[1]} strings, one per value, got {V._show(names)}")
        labels = [str(n) for n in names]
    return x, labels


def _truths(truths: object, labels: List[str]) -> List[Optional[float]]:
    if truths is None:
        return [None] * len(labels)
    if isinstance(truths, Mapping):
        unknown = [k for k in truths if k not in labels]
        if unknown:
            raise InputError(f"truths names {unknown} that are not among {labels}")
        return [None if truths.get(n) is None else V.real(truths[n], f"truths[{n!r}]") for n in labels]
    t = V.array(truths, "truths", shape=(len(labels),), shape_hint="one true value per sampled value")
    return [float(v) for v in t]


def corner(
    chains_or_samples: Draws,
    names: Optional[Sequence[str]] = None,
    truths: object = None,
    reference: Optional[Draws] = None,
    bins: int = 30,
) -> Figure:
    """Corner plot: histograms of each value on the diagonal, pairwise scatter below it.

    chains_or_samples : :class:`Chains`, or draws (n,) / (n, k) / (chains, n, k).
    names : labels of the k values (default the chains' names, or x[0], ...).
    truths : true values, (k,) or {name: value}: drawn as dashed lines.
    reference : draws of a reference posterior (e.g. from a grid or a long run), same k:
        drawn in a second colour under the first.
    bins : histogram bins (>= 2).
    """
    x, labels = _pooled(chains_or_samples, "chains_or_samples", names)
    nb = V.integer(bins, "bins", minimum=2, maximum=10_000)
    ref = None
    if reference is not None:
        ref, _ = _pooled(reference, "reference")
        if ref.shape[1] != x.shape[1]:
            raise InputError(f"reference has {ref.shape[1]} values per draw, the draws {x.shape[1]}")
    truth = _truths(truths, labels)
    k = x.shape[1]
    fig = _figure((2.2 * k + 1.0, 2.2 * k + 0.6))
    axes = fig.subplots(k, k, squeeze=False)
    thin = x[:: max(1, x.shape[0] // 4000)]  # a scatter of at most ~4000 points stays readable
    for i in range(k):
        for j in range(k):
            ax = axes[i, j]
            if j > i:
                ax.set_visible(False)
                continue
            if i == j:
                lo, hi = _range(x[:, i], None if ref is None else ref[:, i])
                if ref is not None:
                    ax.hist(ref[:, i], bins=nb, range=(lo, hi), density=True, color="C1", alpha=0.45, label="reference")
                ax.hist(x[:, i], bins=nb, range=(lo, hi), density=True, histtype="step", color="C0", linewidth=1.5)
                ax.set_yticks([])
                if truth[i] is not None:
                    ax.axvline(truth[i], color="k", linestyle="--", linewidth=1)
            else:
                if ref is not None:
                    ax.plot(ref[::max(1, ref.shape[0] // 4000), j], ref[::max(1, ref.shape[0] // 4000), i], ".",
                            color="C1", markersize=1.5, alpha=0.3)  # fmt: skip
                ax.plot(thin[:, j], thin[:, i], ".", color="C0", markersize=1.5, alpha=0.4)
                if truth[j] is not None:
                    ax.axvline(truth[j], color="k", linestyle="--", linewidth=1)
                if truth[i] is not None:
                    ax.axhline(truth[i], color="k", linestyle="--", linewidth=1)
                if truth[i] is not None and truth[j] is not None:
                    ax.plot([truth[j]], [truth[i]], "s", color="k", markersize=4)
            if i == k - 1:
                ax.set_xlabel(labels[j])
            else:
                ax.set_xticklabels([])
            if j == 0 and i > 0:
                ax.set_ylabel(labels[i])
    if ref is not None:
        axes[0, 0].legend(fontsize="small")
    return fig


def _range(a: np.ndarray, b: Optional[np.ndarray]) -> Tuple[float, float]:
    both = a if b is None else np.concatenate([a, b])
    lo, hi = float(np.min(both)), float(np.max(both))
    if not hi > lo:
        pad = max(abs(lo), 1.0) * 1e-6
        lo, hi = lo - pad, hi + pad
    return lo, hi


def trace(chains: Chains, names: Optional[Sequence[str]] = None) -> Figure:
    """Per value: the draws of every chain against the iteration (left) and each chain's
    histogram (right); divergent draws are marked in red. Chains that agree overlap."""
    if not isinstance(chains, Chains):
        raise InputError(f"trace needs a Chains result (from hmc, mala or bpinn_hmc), got {type(chains).__name__}")
    if chains.n_draws == 0:
        raise InputError("the chains hold no draws after warm-up")
    _, labels = _pooled(chains, "chains", names)
    k = chains.dim
    fig = _figure((9.0, 1.9 * k + 0.6))
    axes = fig.subplots(k, 2, squeeze=False, gridspec_kw={"width_ratios": [3, 1]})
    it = np.arange(chains.n_draws)
    rhat = chains.rhat()
    for j in range(k):
        left, right = axes[j, 0], axes[j, 1]
        lo, hi = _range(chains.samples[:, :, j].ravel(), None)
        for c in range(chains.n_chains):
            y = chains.samples[c, :, j]
            left.plot(it, y, "-", color=f"C{c % 10}", linewidth=0.6, alpha=0.8)
            bad = chains.divergent[c]
            if bad.any():
                left.plot(it[bad], y[bad], "|", color="red", markersize=6)
            right.hist(y, bins=30, range=(lo, hi), density=True, histtype="step", color=f"C{c % 10}",
                       orientation="horizontal")  # fmt: skip
        left.set_ylabel(labels[j])
        left.set_title(f"{labels[j]}: R-hat {rhat[j]:.3f}", fontsize="small", loc="left")
        right.set_xticks([])
    axes[-1, 0].set_xlabel("draw (after warm-up)")
    return fig


def predictive_draws(model: object, samples: Draws, points: object, n_draws: int = 200, seed: int = 0) -> np.ndarray:
    """u at ``points`` for parameter draws: (n_draws, n_points).

    A BiLO model's network takes the parameters as inputs: u(z, theta; W) is its local
    solution operator, evaluated here at each drawn theta (``set_params`` then ``predict``;
    the model's parameters are restored afterwards). ``samples``: Chains whose names are the
    problem's parameters, or draws (n, n_params) in ``problem.param_names`` order; at most
    ``n_draws`` of them are used, picked at random (seeded).
    """
    from ..model import BiLO

    if not isinstance(model, BiLO):
        raise InputError(
            f"predictive draws at sampled parameters need a BiLO model (its u depends on the parameters through "
            f"the network input); got {type(model).__name__}. A PINN's u does not change with set_params."
        )
    names = model.problem.param_names
    x, labels = _pooled(samples, "samples")
    if isinstance(samples, Chains) and samples.names is not None:
        missing = [n for n in names if n not in labels]
        if missing:
            raise InputError(f"samples have no draws of the parameters {missing} (they hold {labels})")
        x = x[:, [labels.index(n) for n in names]]
    elif x.shape[1] != len(names):
        raise InputError(f"samples must have {len(names)} columns, one per parameter {names}, got {x.shape[1]}")
    nd = V.integer(n_draws, "n_draws", minimum=1, maximum=100_000)
    rng = np.random.default_rng(V.seed(seed))
    pick = rng.choice(x.shape[0], size=min(nd, x.shape[0]), replace=False)
    out = []
    with model._lock:  # the parameters change for a moment: no other thread sees it
        before = model.params
        try:
            for row in x[np.sort(pick)]:
                model.set_params(dict(zip(names, row.tolist())))
                out.append(np.asarray(model.predict(points), dtype=np.float64))
        finally:
            model.set_params(before)
    return np.array(out)


def predictive_bands(
    model: object,
    samples: Draws,
    points: object = None,
    data: Any = None,
    level: float = 0.9,
    n_draws: int = 200,
    seed: int = 0,
) -> Figure:
    """Posterior predictive band of a one-coordinate BiLO model: the median of u over the
    parameter draws (line) and the equal-tailed ``level`` band (shaded), with data as markers.

    points : evaluation points (default 200 over the domain); data : a ``pb.Data`` to draw (default
    the model's first observation; False for none). See :func:`predictive_draws`.
    """
    from ..model import BiLO
    from ..problem import Data

    if not isinstance(model, BiLO):
        predictive_draws(model, samples, [0.0], n_draws, seed)  # raises the BiLO-only message
    assert isinstance(model, BiLO)
    problem = model.problem
    if len(problem.coords) != 1:
        raise InputError(f"predictive_bands draws problems with one coordinate; '{problem.name}' has {problem.coords}")
    lv = V.real(level, "level")
    if not 0 < lv < 1:
        raise InputError(f"level must be in (0, 1), got {lv}")
    if points is None:
        lo, hi = problem.domain[problem.coords[0]]
        t = np.linspace(lo, hi, 200)
    else:
        t = V.array(points, "points").reshape(-1)
    u = predictive_draws(model, samples, t, n_draws, seed)
    q_lo, med, q_hi = np.quantile(u, [(1 - lv) / 2, 0.5, (1 + lv) / 2], axis=0)
    fig = _figure((6.0, 4.0))
    ax = fig.add_subplot(1, 1, 1)
    ax.fill_between(t, q_lo, q_hi, color="C0", alpha=0.3, label=f"{100 * lv:g}% band ({u.shape[0]} draws)")
    ax.plot(t, med, "-", color="C0", linewidth=2, label="median")
    shown = model.data if data is None else data
    if shown is not False:
        if not isinstance(shown, Data):
            raise InputError(f"data must be a pinnbilo Data, None (the model's) or False, got {type(shown).__name__}")
        ax.plot(shown.points[:, 0], shown.values, "o", color="0.3", markersize=4, label=f"data ({len(shown)})")
    ax.set_xlabel(problem.coords[0])
    ax.set_ylabel(problem.fields[0])
    ax.set_title(f"{problem.name}: posterior predictive")
    ax.legend()
    return fig


def function_band(band: Any, truth: Any = None) -> Figure:
    """A :class:`~pinnbilo.uncertainty.FunctionBand` of a one-coordinate function: the fitted
    function (line), its band (shaded), and ``truth`` (a callable of the (n, 1) points, or n values)
    dashed when given."""
    from .function_bands import FunctionBand

    if not isinstance(band, FunctionBand):
        raise InputError(f"band must be a FunctionBand (from uncertainty.function_band), got {type(band).__name__}")
    if band.points.shape[1] != 1:
        raise InputError(f"function_band draws functions of one coordinate; this band has {band.points.shape[1]}")
    x = band.points[:, 0]
    order = np.argsort(x)
    fig = _figure((6.0, 4.0))
    ax = fig.add_subplot(1, 1, 1)
    ax.fill_between(x[order], band.lower[order], band.upper[order], color="C1", alpha=0.3,
                    label=f"{100 * band.level:g}% band")  # fmt: skip
    ax.plot(x[order], band.mean[order], "-", color="C1", linewidth=2, label=f"fitted {band.name}")
    if truth is not None:
        t = np.asarray(truth(band.points) if callable(truth) else truth, dtype=np.float64).reshape(-1)
        if t.shape != x.shape:
            raise InputError(f"truth: expected {x.shape[0]} values, one per band point, got {t.shape[0]}")
        ax.plot(x[order], t[order], "--", color="0.2", label=f"true {band.name}")
    ax.set_xlabel("coordinate")
    ax.set_ylabel(band.name)
    ax.set_title(f"{band.name}: pointwise posterior band")
    ax.legend()
    return fig
