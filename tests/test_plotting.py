"""Figures of pinnbilo.plotting: the right artists, log scales, labels, saving, clear errors."""

from __future__ import annotations

import sys

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

import pinnbilo as pb
from pinnbilo import plotting

matplotlib.use("Agg")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def problem() -> pb.Problem:
    return pb.problems.exponential_growth(a_true=2.0, a_init=1.0)


@pytest.fixture(scope="module")
def bilo(problem: pb.Problem) -> pb.BiLO:
    data = problem.synthetic_data(10, noise=0.01, seed=0)
    m = pb.BiLO(problem, data, hidden=(8, 8), n_res=21)
    m.fit(steps=150, lr=1e-2, lr_params=1e-2, pretrain_steps=50)
    return m


@pytest.fixture(scope="module")
def pinn(problem: pb.Problem) -> pb.PINN:
    data = problem.synthetic_data(10, noise=0.01, seed=0)
    m = pb.PINN(problem, data, hidden=(8, 8), n_res=21)
    m.fit(steps=200, lr=1e-2, lr_params=1e-2)
    return m


@pytest.fixture(scope="module")
def heat() -> pb.PINN:
    """A two-coordinate problem u_t = a u_xx."""

    def solution(p: np.ndarray, q: dict) -> np.ndarray:
        return np.exp(-q["a"] * np.pi**2 * p[:, 0]) * np.sin(np.pi * p[:, 1])

    prob = pb.Problem(
        ("t", "x"),
        {"t": (0.0, 1.0), "x": (0.0, 1.0)},
        [pb.Parameter("a", 1.0, true=0.5)],
        "u.t - a*u.x.x",
        solution=solution,
        name="heat",
    )
    m = pb.PINN(prob, prob.synthetic_data(15, seed=1), hidden=(8, 8), n_res=5)
    m.fit(steps=20)
    return m


@pytest.fixture(scope="module")
def two_params() -> pb.PINN:
    """u_t = a u + b with only a's true value known, and no exact solution."""
    prob = pb.ode_problem("u.t - a*u - b", 1.0, [pb.Parameter("a", 1.0, true=2.0), pb.Parameter("b", 0.5)])
    t = np.linspace(0.1, 1.0, 8)
    m = pb.PINN(prob, pb.Data(t, np.exp(2 * t)), hidden=(8, 8), n_res=11)
    m.fit(steps=30)
    return m


def only_axes(fig: Figure):
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 1
    return fig.axes[0]


def labels(ax) -> list:
    return [line.get_label() for line in ax.get_lines()]


def saves_png(fig: Figure, path) -> None:
    fig.savefig(path)
    with open(path, "rb") as fh:
        assert fh.read(8) == PNG_MAGIC


# -- plot_fit ------------------------------------------------------------------------------------
def test_plot_fit_draws_data_fit_and_exact(bilo, problem, tmp_path):
    fig = plotting.plot_fit(bilo, n=50)
    ax = only_axes(fig)
    data_line, fit_line, exact_line = ax.get_lines()
    np.testing.assert_array_equal(data_line.get_xdata(), bilo.data.points[:, 0])
    np.testing.assert_array_equal(data_line.get_ydata(), bilo.data.values)
    assert data_line.get_linestyle() == "None" and data_line.get_marker() == "o"
    t = np.asarray(fit_line.get_xdata())
    assert t.shape == (50,) and t[0] == problem.domain["t"][0] and t[-1] == problem.domain["t"][1]
    np.testing.assert_allclose(fit_line.get_ydata(), bilo.predict(t))
    np.testing.assert_allclose(exact_line.get_ydata(), problem.exact(t))
    assert exact_line.get_linestyle() == "--"
    assert ax.get_xlabel() == "t" and ax.get_ylabel() == "u"
    assert "a = " in ax.get_title()
    assert ax.get_legend() is not None
    assert [t.get_text() for t in ax.get_legend().get_texts()] == labels(ax)
    saves_png(fig, tmp_path / "fit.png")


def test_plot_fit_without_exact_solution(two_params):
    ax = only_axes(plotting.plot_fit(two_params))
    assert len(ax.get_lines()) == 2  # data and fit only: no solution, b's true value unknown


def test_plot_fit_into_given_axes(pinn, bilo):
    fig = Figure()
    ax_left, ax_right = fig.subplots(1, 2)
    out = plotting.plot_fit(pinn, ax=ax_right)
    assert out is fig
    assert len(ax_left.get_lines()) == 0 and len(ax_right.get_lines()) == 3
    assert "PINN fit" in labels(ax_right)
    assert "BiLO fit" in labels(only_axes(plotting.plot_fit(bilo)))


def test_plot_fit_into_subfigure_returns_root_figure(pinn):
    fig = Figure()
    sub = fig.subfigures(1, 2)[1]
    assert plotting.plot_fit(pinn, ax=sub.add_subplot(1, 1, 1)) is fig


def test_plot_fit_rejects_two_coordinates(heat):
    with pytest.raises(pb.InputError, match=r"one coordinate.*\('t', 'x'\).*plot_parity"):
        plotting.plot_fit(heat)


@pytest.mark.parametrize("n", [1, 0, -3, 2.5, True])
def test_plot_fit_rejects_bad_n(bilo, n):
    with pytest.raises(pb.InputError, match="n must be an integer >= 2"):
        plotting.plot_fit(bilo, n=n)


@pytest.mark.parametrize("fn", [plotting.plot_fit, plotting.plot_params, plotting.plot_summary, plotting.plot_losses])
def test_non_model_is_rejected(fn):
    with pytest.raises(pb.InputError, match="PINN or BiLO model"):
        fn("not a model")


def test_plot_parity_two_coordinates(heat, tmp_path):
    ax = only_axes(plotting.plot_parity(heat))
    points, diagonal = ax.get_lines()
    np.testing.assert_array_equal(points.get_xdata(), heat.data.values)
    np.testing.assert_allclose(points.get_ydata(), heat.predict(heat.data.points))
    assert diagonal.get_label() == "y = x"
    assert ax.get_xlabel() == "observed u"
    saves_png(ax.figure, tmp_path / "parity.png")


# -- plot_losses ---------------------------------------------------------------------------------
def test_plot_losses_bilo_has_all_four_on_log_scale(bilo, tmp_path):
    ax = only_axes(plotting.plot_losses(bilo))
    assert ax.get_yscale() == "log"
    assert labels(ax) == ["total", "residual", "residual gradient", "data"]
    h = bilo.history
    for line, key in zip(ax.get_lines(), ["total", "res", "rgrad", "data"]):
        np.testing.assert_array_equal(line.get_xdata(), h.step)
        np.testing.assert_array_equal(line.get_ydata(), getattr(h, key))
    assert ax.get_xlabel() == "step" and ax.get_ylabel() == "loss"
    saves_png(ax.figure, tmp_path / "losses.png")


def test_plot_losses_skips_all_zero_series(pinn):
    assert np.all(pinn.history.rgrad == 0)
    ax = only_axes(plotting.plot_losses(pinn))
    assert labels(ax) == ["total", "residual", "data"]
    assert ax.get_yscale() == "log"


def test_plot_losses_accepts_history(bilo):
    ax = only_axes(plotting.plot_losses(bilo.history))
    assert len(ax.get_lines()) == 4


def test_plot_losses_empty_history(problem):
    m = pb.PINN(problem, problem.synthetic_data(5), hidden=(4,), n_res=5)
    ax = only_axes(plotting.plot_losses(m))
    assert len(ax.get_lines()) == 0
    assert any("no training history" in t.get_text() for t in ax.texts)


# -- plot_params ---------------------------------------------------------------------------------
def test_plot_params_trajectory_and_true_value(bilo, tmp_path):
    ax = only_axes(plotting.plot_params(bilo))
    traj, true = ax.get_lines()
    h = bilo.history
    np.testing.assert_array_equal(traj.get_xdata(), h.step)
    np.testing.assert_array_equal(traj.get_ydata(), h.params["a"])
    assert traj.get_label() == "a" and traj.get_linestyle() == "-"
    assert true.get_linestyle() == "--"
    np.testing.assert_array_equal(true.get_ydata(), [2.0, 2.0])
    assert true.get_color() == traj.get_color()
    assert ax.get_xlabel() == "step"
    saves_png(ax.figure, tmp_path / "params.png")


def test_plot_params_true_value_only_when_known(two_params):
    ax = only_axes(plotting.plot_params(two_params))
    assert labels(ax) == ["a", "a true", "b"]
    dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert len(dashed) == 1


# -- plot_summary --------------------------------------------------------------------------------
def test_plot_summary_three_panels(bilo, tmp_path):
    fig = plotting.plot_summary(bilo)
    assert isinstance(fig, Figure)
    ax_fit, ax_loss, ax_par = fig.axes
    assert len(ax_fit.get_lines()) == 3 and ax_fit.get_xlabel() == "t"
    assert ax_loss.get_yscale() == "log" and len(ax_loss.get_lines()) == 4
    assert len(ax_par.get_lines()) == 2
    assert "BiLO" in fig.get_suptitle()
    saves_png(fig, tmp_path / "summary.png")


def test_plot_summary_two_coordinates_uses_parity(heat, tmp_path):
    fig = plotting.plot_summary(heat)
    assert len(fig.axes) == 3
    assert fig.axes[0].get_xlabel() == "observed u"
    assert labels(fig.axes[1]) == ["total", "residual", "data"]
    saves_png(fig, tmp_path / "summary2.png")


# -- missing matplotlib --------------------------------------------------------------------------
def test_missing_matplotlib_gives_install_hint(bilo, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"pip install pinnbilo\[plot\]"):
        plotting.plot_fit(bilo)
