"""Matplotlib figures of a fitted model: the solution against data, the losses and the parameter
trajectories.

Every function returns a :class:`matplotlib.figure.Figure`. Figures are built without pyplot, so
they never open a window and need no GUI backend; save them with ``fig.savefig("fit.png")`` or
show them in a notebook by leaving the returned figure as the last expression of a cell. Pass
``ax=`` to draw into an axes of your own figure instead (its figure is returned).

Matplotlib is an optional dependency: ``pip install pinnbilo[plot]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping, Protocol, Sequence, Tuple

import numpy as np

from .errors import InputError
from .results import History

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .model import Model

__all__ = [
    "plot_fit",
    "plot_function",
    "plot_losses",
    "plot_params",
    "plot_parity",
    "plot_solution",
    "plot_summary",
    "save_figures",
]

LOSS_SERIES: tuple[tuple[str, str], ...] = (
    ("total", "total"),
    ("res", "residual"),
    ("rgrad", "residual gradient"),
    ("data", "data"),
    ("reg", "smoothness"),
)


def _figure_module():
    try:
        import matplotlib.figure as mfigure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "pinnbilo.plotting needs matplotlib; install it with `pip install pinnbilo[plot]` "
            "(or `pip install matplotlib`)"
        ) from exc
    return mfigure


def _axes(ax: Axes | None, figsize: tuple[float, float] = (6.0, 4.0)) -> tuple[Figure, Axes]:
    """The given axes and its figure, or a new single-axes figure (no pyplot, no window)."""
    mfigure = _figure_module()
    if ax is not None:
        return _root_figure(ax), ax
    fig = mfigure.Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot(1, 1, 1)


def _root_figure(ax: Axes) -> Figure:
    """The top-level Figure holding ax (also when ax lives in a SubFigure)."""
    mfigure = _figure_module()
    fig = ax.figure
    while not isinstance(fig, mfigure.Figure):
        fig = fig.figure  # a SubFigure's .figure is its parent's root figure
    return fig


def _check_model(model: object, what: str) -> Model:
    from .model import Model

    if not isinstance(model, Model):
        raise InputError(f"{what} needs a fitted pinnbilo PINN or BiLO model, got {type(model).__name__}")
    return model


def _true_values(model: Model) -> dict:
    """{name: true value} for the parameters whose true value is known."""
    return {p.name: float(p.true) for p in model.problem.params if p.true is not None}


def _params_text(model: Model) -> str:
    return ", ".join(f"{k} = {v:.4g}" for k, v in model.params.items())


# -- solution --------------------------------------------------------------------------------------
def plot_fit(model: Model, n: int = 200, ax: Axes | None = None) -> Figure:
    """The fitted solution of a one-coordinate problem with the data and the exact solution.

    Draws, against the coordinate (e.g. ``t``) over ``problem.domain``: the observations
    ``model.data`` as markers, the network solution ``model.predict`` on ``n`` evenly spaced
    points as a solid line, and — when the problem has an exact solution and all true parameter
    values are known — the exact solution at the true parameters as a dashed line. Units are those
    of the problem's coordinate and of u.

    Parameters
    ----------
    model : a PINN or BiLO model (trained or not).
    n : number of evaluation points (>= 2).
    ax : axes to draw into; default a new figure.

    Raises
    ------
    InputError : the problem has more than one coordinate (use :func:`plot_parity`), or n < 2.
    """
    model = _check_model(model, "plot_fit")
    problem = model.problem
    if len(problem.coords) != 1:
        raise InputError(
            f"plot_fit draws u against one coordinate, but problem '{problem.name}' has coordinates "
            f"{problem.coords}; use plot_parity(model) to compare predictions with the data"
        )
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise InputError(f"n must be an integer >= 2, got {n!r}")
    fig, ax = _axes(ax)
    coord = problem.coords[0]
    lo, hi = problem.domain[coord]
    t = np.linspace(lo, hi, int(n))
    if len(problem.fields) > 1:
        _plot_fields(model, t, ax)
        return fig
    ax.plot(
        model.data.points[:, 0],
        model.data.values,
        "o",
        color="0.3",
        markersize=4,
        label=f"data ({len(model.data)})",
        zorder=3,
    )
    ax.plot(t, model.predict(t), "-", color="C0", linewidth=2, label=f"{type(model).__name__} fit")
    exact = _exact_or_none(model, t)
    if exact is not None:
        ax.plot(t, exact, "--", color="C1", linewidth=1.5, label="exact (true parameters)")
    ax.set_xlabel(coord)
    ax.set_ylabel("u")
    title = f"{problem.name}: {_params_text(model)}" if problem.params else problem.name
    ax.set_title(title)
    ax.legend()
    return fig


def _plot_fields(model: Model, t: np.ndarray, ax: Axes) -> None:
    """A system against its one coordinate: per field (one colour each) the observations of that
    field as markers, the fit as a solid line and the exact solution as a dashed one."""
    problem = model.problem
    exact = _exact_or_none(model, t)
    for j, f in enumerate(problem.fields):
        color = f"C{j}"
        for d in model.observations:
            if d.of == f and not d.integral:
                ax.plot(
                    d.points[:, 0], d.values, "o", color=color, markersize=4, label=f"{f} data ({len(d)})", zorder=3
                )
        ax.plot(t, model.predict(t, field=f), "-", color=color, linewidth=2, label=f"{f} ({type(model).__name__})")
        if exact is not None:
            ax.plot(t, exact[:, j], "--", color=color, linewidth=1.2, label=f"{f} exact")
    ax.set_xlabel(problem.coords[0])
    ax.set_ylabel(", ".join(problem.fields))
    ax.set_title(f"{problem.name}: {_params_text(model)}" if problem.params else problem.name)
    ax.legend(fontsize="small", ncol=2)


def _exact_or_none(model: Model, t: np.ndarray) -> np.ndarray | None:
    problem = model.problem
    if problem.solution is None or len(_true_values(model)) != len(problem.params):
        return None
    return problem.exact(t)


def plot_parity(model: Model, ax: Axes | None = None) -> Figure:
    """Predicted against observed u at the data points, with the line y = x.

    Works for problems with any number of coordinates. Axes are in the units of u.
    """
    model = _check_model(model, "plot_parity")
    fig, ax = _axes(ax)
    preds = model.observation_predictions()
    for k, (d, pred) in enumerate(zip(model.observations, preds)):
        name = d.of or "data"
        ax.plot(d.values, pred, "o", color=f"C{k}", markersize=4, label=f"{name} ({len(d)})")
    obs = np.concatenate([d.values for d in model.observations])
    pred = np.concatenate(preds)
    lo = float(min(obs.min(), pred.min()))
    hi = float(max(obs.max(), pred.max()))
    ax.plot([lo, hi], [lo, hi], "--", color="0.4", linewidth=1, label="y = x")
    ax.set_xlabel("observed u")
    ax.set_ylabel(f"{type(model).__name__} prediction")
    ax.set_title(f"{model.problem.name}: fit at the data points")
    ax.legend()
    return fig


# -- training history ------------------------------------------------------------------------------
def plot_losses(model_or_history: Model | History, ax: Axes | None = None) -> Figure:
    """Loss terms against the step on a log scale.

    One line per series of :class:`~pinnbilo.History` among ``total`` (the objective of the
    phase), ``res`` (mean squared residual), ``rgrad`` (BiLO: mean squared residual gradient)
    and ``data`` (mean squared data misfit); a series with no positive finite value (e.g.
    ``rgrad`` of a PINN) is left out. The x axis is the global step number (Adam steps, then
    L-BFGS iterations).

    Parameters
    ----------
    model_or_history : a model, or its ``history``.
    ax : axes to draw into; default a new figure.
    """
    if isinstance(model_or_history, History):
        history = model_or_history
    else:
        history = _check_model(model_or_history, "plot_losses").history
    fig, ax = _axes(ax)
    drawn = 0
    for key, label in LOSS_SERIES:
        y = np.asarray(getattr(history, key), dtype=np.float64)
        if y.size == 0 or not np.any(np.isfinite(y) & (y > 0)):
            continue
        ax.plot(history.step, y, label=label, linewidth=1.2)
        drawn += 1
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title("losses")
    if drawn:
        ax.legend()
    else:
        ax.text(0.5, 0.5, "no training history yet", ha="center", va="center", transform=ax.transAxes)
    return fig


def plot_params(model: Model, ax: Axes | None = None) -> Figure:
    """Trajectory of every unknown parameter against the step.

    One solid line per parameter (its value at each recorded step, in the parameter's own units)
    and, when the true value is known, a dashed horizontal line of the same colour at that value.

    Parameters
    ----------
    model : a PINN or BiLO model.
    ax : axes to draw into; default a new figure.
    """
    model = _check_model(model, "plot_params")
    fig, ax = _axes(ax)
    history = model.history
    true = _true_values(model)
    for i, name in enumerate(model.problem.param_names):
        color = f"C{i % 10}"
        ax.plot(history.step, history.params[name], "-", color=color, linewidth=1.5, label=name)
        if name in true:
            ax.axhline(true[name], linestyle="--", color=color, linewidth=1, label=f"{name} true")
    ax.set_xlabel("step")
    ax.set_ylabel("value")
    ax.set_title("parameters")
    if model.problem.params:
        ax.legend()
    else:
        ax.text(0.5, 0.5, "no unknown parameters", ha="center", va="center", transform=ax.transAxes)
    return fig


# -- two coordinates and unknown functions ----------------------------------------------------------
def plot_solution(model: Model, n: int = 101) -> Figure:
    """The fitted solution of a two-coordinate problem as a heatmap over its domain, next to the
    exact solution and the pointwise error when the exact solution is known; data points are
    marked on the first panel."""
    model = _check_model(model, "plot_solution")
    problem = model.problem
    if len(problem.coords) != 2:
        raise InputError(f"plot_solution draws problems with two coordinates; '{problem.name}' has {problem.coords}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise InputError(f"n must be an integer >= 2, got {n!r}")
    grid = problem.grid(int(n))
    u = model.predict(grid).reshape(int(n), int(n))
    exact = None
    if problem.solution is not None and len(_true_values(model)) == len(problem.params):
        exact = problem.exact(grid).reshape(int(n), int(n))
    panels = [("fit", u)] + ([("exact", exact), ("error", u - exact)] if exact is not None else [])
    return _heatmaps(problem, panels, f"{problem.name}: u", data=model.data.points)


def plot_function(model: Model, name: str | None = None, n: int = 201) -> Figure:
    """A learned unknown function against its truth (when known): a line plot for a function of
    one coordinate, heatmaps (learned, truth, error) for a function of two."""
    model = _check_model(model, "plot_function")
    problem = model.problem
    if not problem.functions:
        raise InputError(f"problem '{problem.name}' has no unknown functions")
    name = problem.functions[0].name if name is None else name
    f = problem.get_function(name)
    inputs = problem.function_inputs[f.name]
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise InputError(f"n must be an integer >= 2, got {n!r}")
    # Evaluate on the domain of the function's inputs; other coordinates at their lower end.
    if len(inputs) > 2:
        raise InputError(f"plot_function draws functions of one or two coordinates; '{name}' has {inputs}")
    m = int(n) if len(inputs) == 1 else min(int(n), 101)
    axes = [np.linspace(*problem.domain[c], m) for c in inputs]
    mesh = np.meshgrid(*axes, indexing="ij")
    points = np.zeros((mesh[0].size, len(problem.coords)))
    for c in problem.coords:
        points[:, problem.coords.index(c)] = problem.domain[c][0]
    for c, grid in zip(inputs, mesh):
        points[:, problem.coords.index(c)] = grid.ravel()
    learned = np.asarray(model.function(name, points))
    truth = problem.true_function(name, points) if f.true is not None else None
    if len(inputs) == 1:
        fig, ax = _axes(None)
        ax.plot(axes[0], learned, "-", color="C0", linewidth=2, label=f"{type(model).__name__} {name}")
        if truth is not None:
            err = np.linalg.norm(learned - truth) / max(float(np.linalg.norm(truth)), 1e-300)
            ax.plot(axes[0], truth, "--", color="C1", linewidth=1.5, label=f"true {name}")
            ax.set_title(f"{name}({inputs[0]}): relative L2 error {err:.2%}")
        else:
            ax.set_title(f"{name}({inputs[0]})")
        ax.set_xlabel(inputs[0])
        ax.set_ylabel(name)
        ax.legend()
        return fig
    shape = (m, m)
    panels = [("learned", learned.reshape(shape))]
    if truth is not None:
        panels += [("truth", truth.reshape(shape)), ("error", (learned - truth).reshape(shape))]
    sub = _AxesView(problem, inputs)
    return _heatmaps(sub, panels, f"{name}({', '.join(inputs)})")


class _Box(Protocol):
    """What the heatmaps need of a problem: its coordinates and their intervals."""

    @property
    def coords(self) -> Sequence[str]: ...

    @property
    def domain(self) -> Mapping[str, Tuple[float, float]]: ...


class _AxesView:
    """The coordinates and domain of a subset of a problem's coordinates (for heatmap axes)."""

    def __init__(self, problem: _Box, coords: tuple) -> None:
        self.coords = tuple(coords)
        self.domain = {c: problem.domain[c] for c in coords}


def _heatmaps(problem: _Box, panels: list, title: str, data: np.ndarray | None = None) -> Figure:
    mfigure = _figure_module()
    fig = mfigure.Figure(figsize=(5.0 * len(panels), 4.2), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    cx, cy = problem.coords
    extent = (*problem.domain[cx], *problem.domain[cy])
    for ax, (label, values) in zip(axes, panels):
        # values[i, j] is at (x_i, y_j): transpose so x runs along the horizontal axis.
        im = ax.imshow(values.T, origin="lower", extent=extent, aspect="auto", cmap="viridis")
        fig.colorbar(im, ax=ax)
        ax.set_title(label)
        ax.set_xlabel(cx)
        ax.set_ylabel(cy)
    if data is not None:
        axes[0].plot(data[:, 0], data[:, 1], "w.", markersize=3)
    fig.suptitle(title)
    return fig


# -- all together ----------------------------------------------------------------------------------
def plot_summary(model: Model) -> Figure:
    """Three panels side by side: the fit (:func:`plot_fit` for one coordinate,
    :func:`plot_parity` otherwise), :func:`plot_losses` and :func:`plot_params`."""
    model = _check_model(model, "plot_summary")
    mfigure = _figure_module()
    fig = mfigure.Figure(figsize=(16.0, 4.5), layout="constrained")
    ax_fit, ax_loss, ax_par = fig.subplots(1, 3)
    if len(model.problem.coords) == 1:
        plot_fit(model, ax=ax_fit)
    else:
        plot_parity(model, ax=ax_fit)
    plot_losses(model, ax=ax_loss)
    plot_params(model, ax=ax_par)
    fig.suptitle(repr(model))
    return fig


def save_figures(model: Model, folder: str, stem: str | None = None) -> list[str]:
    """Write the solution (line or heatmaps), each unknown function against its truth and the
    losses as PNG files ``folder/<stem>_<what>.png``; returns their paths. ``stem`` defaults to
    ``<problem>_<method>``."""
    import os

    model = _check_model(model, "save_figures")
    os.makedirs(folder, exist_ok=True)
    stem = stem or f"{model.problem.name}_{model.method}"
    figs = {"losses": plot_losses(model)}
    if len(model.problem.coords) == 1:
        figs["solution"] = plot_fit(model)
    elif len(model.problem.coords) == 2:
        figs["solution"] = plot_solution(model)
    if model.problem.params:
        figs["params"] = plot_params(model)
    for name in model.problem.function_names:
        figs[f"function_{name}"] = plot_function(model, name)
    written = []
    for label, fig in figs.items():
        path = os.path.join(folder, f"{stem}_{label}.png")
        fig.savefig(path, dpi=110)
        written.append(path)
    return written
