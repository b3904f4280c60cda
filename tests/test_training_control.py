"""Training control: schedules, keep-best, spike roll-back, early stopping, BiLO's inner lower
loop, parameter scales; each checked against what it promises, on small problems."""

from __future__ import annotations

import numpy as np
import pytest

import pinnbilo as pb


@pytest.fixture()
def noisy(exp_problem):
    return exp_problem.synthetic_data(20, noise=0.01, seed=0)


def test_keep_best_holds_the_lowest_recorded_objective(exp_problem, noisy):
    m = pb.PINN(exp_problem, noisy, hidden=(16,), seed=1)
    r = m.fit(steps=400, lr=3e-2, lr_params=3e-2, keep="best")
    h = m.history
    i = int(np.argmin(h.total))
    assert r.keep == "best" and r.best_step == int(h.step[i])
    assert m.losses()["total"] == pytest.approx(h.total[i], rel=1e-12)
    assert m.params["a"] == pytest.approx(h.params["a"][i], rel=1e-12)


def test_keep_best_with_other_monitors(exp_problem, noisy):
    m = pb.BiLO(exp_problem, noisy, hidden=(16,), seed=1)
    r = m.fit(steps=300, pretrain_steps=100, lr=1e-2, lr_params=1e-2, keep="best", monitor="data")
    h = m.history
    inverse = h.step >= 100
    i = int(np.argmin(np.where(inverse, h.data, np.inf)))
    assert r.best_step == int(h.step[i])
    assert m.losses()["data"] == pytest.approx(h.data[i], rel=1e-12)


def test_cosine_schedule_ends_at_its_final_factor(exp_problem, noisy):
    # With an lr of 1 and all steps at factor final_factor=1e-12, nothing moves after a few steps.
    m = pb.PINN(exp_problem, noisy, hidden=(8,), seed=0)
    m.fit(steps=200, lr=1e-2, lr_params=1e-2, schedule={"kind": "cosine", "final_factor": 0.0})
    a = m.history.params["a"]
    # The last steps of a cosine schedule to 0 barely move the parameter.
    assert abs(a[-1] - a[-2]) < 1e-3 * abs(a[1] - a[0])


def test_schedule_per_group(exp_problem, noisy):
    # A step schedule that drops the parameters' rate to ~0 after 10 steps freezes a.
    m = pb.PINN(exp_problem, noisy, hidden=(8,), seed=0)
    freeze = {"kind": "step", "gamma": 1e-12, "decay_steps": 10}
    m.fit(steps=100, lr=1e-2, lr_params=1e-2, schedule={"params": freeze})
    a = m.history.params["a"]
    assert abs(a[-1] - a[11]) < 1e-9 and abs(a[10] - a[0]) > 1e-3


@pytest.mark.parametrize(
    "schedule, words",
    [
        ("linear", "unknown schedule kind"),
        ({"kind": "cosine", "final": 0.1}, "unknown field"),
        ({"kind": "exponential", "gamma": 0}, "gamma"),
        ({"kind": "step", "decay_steps": 0}, "decay_steps"),
        ({"warmup": -1}, "warmup"),
        (3, "schedule must be"),
    ],
)
def test_bad_schedules_are_refused(exp_problem, noisy, schedule, words):
    m = pb.PINN(exp_problem, noisy, hidden=(4,))
    with pytest.raises(pb.InputError, match=words):
        m.fit(steps=5, schedule=schedule)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"keep": "first"}, "keep must be"),
        ({"monitor": "loss"}, "monitor must be"),
        ({"spike_factor": 1.0}, "spike_factor"),
        ({"spike_lr_factor": 1.5}, "spike_lr_factor"),
        ({"patience": -1}, "patience"),
        ({"min_delta": 1.0}, "min_delta"),
        ({"tol_lower": float("nan")}, "tol_lower"),
        ({"max_iter_lower": 3}, "PINN has no lower level"),
    ],
)
def test_bad_run_options_are_refused(exp_problem, noisy, kwargs, words):
    m = pb.PINN(exp_problem, noisy, hidden=(4,))
    with pytest.raises(pb.InputError, match=words):
        m.fit(steps=5, **kwargs)


def test_spike_control_rolls_back_and_reduces_the_rates(exp_problem, noisy):
    # At lr 0.3 Adam jumps about; each jump above 2x the best is undone and every rate halved.
    m = pb.BiLO(exp_problem, noisy, hidden=(16,), seed=0)
    r = m.fit(steps=300, lr=0.3, lr_params=0.3, spike_factor=2.0, keep="best", max_spikes=12)
    assert 0 < r.spikes <= 12 and r.status == "completed"
    h = m.history
    assert m.losses()["total"] == pytest.approx(h.total.min(), rel=1e-9)


def test_spike_control_turns_divergence_into_roll_backs():
    # sqrt(u) of a negative u is NaN: without spike control the fit diverges; with it, the
    # non-finite steps are rolled back with smaller rates.
    problem = pb.ode_problem("u.t - a*sqrt(u)", 0.01, {"a": 1.0})
    data = pb.Data(np.linspace(0.2, 1, 8), -np.linspace(0.2, 1, 8))
    with pytest.raises(pb.TrainingDiverged):
        pb.PINN(problem, data, hidden=(8,), seed=0).fit(steps=500, lr=0.05, lr_params=0.05)
    m = pb.PINN(problem, data, hidden=(8,), seed=0)
    r = m.fit(steps=500, lr=0.05, lr_params=0.05, spike_factor=10.0, max_spikes=30, on_diverge="return")
    assert r.spikes > 0 and np.isfinite(m.losses()["total"])


def test_early_stopping(exp_problem, noisy):
    m = pb.PINN(exp_problem, noisy, hidden=(8,), seed=0)
    r = m.fit(steps=100_000, lr=1e-2, lr_params=1e-2, patience=200, min_delta=1e-3)
    assert r.status == "early_stopped" and r.steps < 100_000
    h = m.history
    best = int(np.argmin(h.total))
    assert len(h) - 1 - best >= 200 or h.total[-200:].min() >= (1 - 1e-3) * h.total[: len(h) - 200].min()


def test_inner_lower_loop_counts_its_steps(exp_problem, noisy):
    m = pb.BiLO(exp_problem, noisy, hidden=(16,), seed=0)
    r = m.fit(steps=50, pretrain_steps=20, lr=1e-2, lr_params=1e-2, max_iter_lower=5, tol_lower=0.0)
    assert r.lower_steps == 250 and r.steps == 70 and m.step == 70 and len(m.history) == 70
    # With a reachable tolerance the inner loop runs only while the lower loss is above it.
    m2 = pb.BiLO(exp_problem, noisy, hidden=(16,), seed=0)
    r2 = m2.fit(steps=50, pretrain_steps=500, lr=1e-2, lr_params=1e-2, max_iter_lower=20, tol_lower=1e-2)
    assert 0 <= r2.lower_steps < 50 * 20


def test_bilo_with_inner_loop_recovers_a(exp_problem, noisy):
    m = pb.BiLO(exp_problem, noisy, hidden=(16, 16), seed=0)
    m.fit(steps=400, pretrain_steps=300, lr=1e-2, lr_params=1e-2, max_iter_lower=5, tol_lower=1e-4, keep="best")
    assert m.parameter_errors()["a"] < 0.01


def test_parameter_scale_is_the_default_initial_guess():
    p = pb.Parameter("D", 0.1, (0.0, None))
    assert p.resolved_scale == 0.1 and pb.Parameter("b", 0.0).resolved_scale == 1.0
    assert pb.Parameter("c", 3.0, scale=0.5).resolved_scale == 0.5
    with pytest.raises(pb.InputError, match="scale"):
        pb.Parameter("c", 3.0, scale=0.0)


@pytest.mark.parametrize("bounds", [(None, None), (0.0, None), (None, 10.0), (0.0, 10.0)])
def test_parameter_scale_sets_the_first_adam_step(bounds):
    # Adam's first step moves the raw variable by lr (sign of the gradient); the parameter then
    # moves by lr * scale, whatever its bounds.
    problem = pb.ode_problem("u.t - a*u", 1.0, [pb.Parameter("a", 2.0, bounds, scale=0.25)])
    data = pb.Data(np.linspace(0.1, 1, 10), np.exp(3.0 * np.linspace(0.1, 1, 10)))
    m = pb.PINN(problem, data, hidden=(8,), seed=0)
    m.fit(steps=1, lr=1e-12, lr_params=1e-3)
    assert abs(m.params["a"] - 2.0) == pytest.approx(1e-3 * 0.25, rel=1e-3)


def test_parameters_of_different_magnitude_move_at_comparable_rates():
    # D = 0.1 and rho = 2 (defaults: scales 0.1 and 2): one step moves each by the same fraction.
    problem = pb.ode_problem(
        "u.t - rho*u + D*u", 1.0, [pb.Parameter("D", 0.1, (0.0, None)), pb.Parameter("rho", 2.0, (0.0, None))]
    )
    t = np.linspace(0.1, 1, 10)
    data = pb.Data(t, np.exp(2.8 * t))
    m = pb.PINN(problem, data, hidden=(8,), seed=0)
    m.fit(steps=1, lr=1e-12, lr_params=1e-3)
    rel = {k: abs(v - problem.initial_params[k]) / problem.initial_params[k] for k, v in m.params.items()}
    assert rel["D"] == pytest.approx(rel["rho"], rel=1e-2) and rel["D"] == pytest.approx(1e-3, rel=1e-2)
