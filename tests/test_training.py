"""Training recovers known parameters; runs are deterministic; stops are clean."""

import os
import signal
import threading

import numpy as np
import pytest

import pinnbilo as pb

BILO_FIT = dict(steps=4000, pretrain_steps=1000, lr=1e-3, lr_params=1e-3)
PINN_FIT = dict(steps=4000, lr=1e-3, lr_params=1e-2)


@pytest.mark.parametrize("cls,fit", [(pb.PINN, PINN_FIT), (pb.BiLO, BILO_FIT)])
def test_recovers_growth_rate_from_noiseless_data(cls, fit, exp_problem, exp_data):
    model = cls(exp_problem, exp_data, hidden=(32, 32), seed=0)
    result = model.fit(**fit)
    assert result.status == "completed"
    assert abs(result.params["a"] - 2.0) / 2.0 < 0.01
    assert result.losses["data"] < 1e-4


@pytest.mark.parametrize("cls,fit", [(pb.PINN, PINN_FIT), (pb.BiLO, BILO_FIT)])
def test_recovers_growth_rate_from_noisy_data(cls, fit, exp_problem):
    """1% noise (std = 0.01 max|u|, 20 points): the least-squares fit of the exact model to these
    data is a_ls; the networks must land within 0.5% of it and within 2% of the truth."""
    data = exp_problem.synthetic_data(20, noise=0.01, seed=0)
    from scipy.optimize import minimize_scalar

    a_ls = minimize_scalar(
        lambda a: np.mean((exp_problem.exact(data.points, {"a": a}) - data.values) ** 2),
        bounds=(1, 3),
        method="bounded",
    ).x
    model = cls(exp_problem, data, hidden=(32, 32), seed=0)
    a = model.fit(**fit).params["a"]
    assert abs(a - a_ls) / a_ls < 0.005
    assert abs(a - 2.0) / 2.0 < 0.02


def test_bilo_recovers_logistic_rate():
    problem = pb.problems.logistic_growth(a_true=2.0, a_init=1.0)
    data = problem.synthetic_data(20, noise=0.0, seed=0)
    model = pb.BiLO(problem, data, hidden=(32, 32), seed=0)
    result = model.fit(steps=6000, pretrain_steps=1000, lr=1e-3, lr_params=1e-3)
    assert abs(result.params["a"] - 2.0) / 2.0 < 0.01


def test_pinn_recovers_with_bounds_and_lbfgs():
    problem = pb.problems.logistic_growth(a_true=2.0, a_init=1.0, bounds=(0.1, 5.0))
    data = problem.synthetic_data(20, noise=0.0, seed=0)
    model = pb.PINN(problem, data, hidden=(16, 16), seed=0)
    before_steps = 1500
    result = model.fit(steps=before_steps, lr=2e-3, lr_params=2e-2, lbfgs_steps=300)
    (report,) = result.lbfgs
    assert report.iterations > 10, str(report)
    assert report.loss_after < report.loss_before
    assert report.message
    assert abs(result.params["a"] - 2.0) / 2.0 < 0.01
    assert 0.1 < result.params["a"] < 5.0
    hist = model.history
    assert len(hist) == before_steps + report.iterations  # L-BFGS iterations are recorded too
    assert np.all(np.diff(hist.step) == 1)


def test_bilo_lbfgs_refinement_keeps_or_improves(exp_problem, exp_data):
    model = pb.BiLO(exp_problem, exp_data, hidden=(16, 16), seed=0)
    model.fit(steps=1500, pretrain_steps=500, lr=1e-3, lr_params=1e-3)
    err_before = abs(model.params["a"] - 2.0)
    result = model.fit(steps=0, lbfgs_steps=150)
    assert [r.objective for r in result.lbfgs] == ["lower", "upper"] * 3
    assert abs(result.params["a"] - 2.0) <= max(err_before, 1e-3)


def test_deterministic_given_seed(exp_problem, exp_data):
    runs = []
    for _ in range(2):
        m = pb.BiLO(exp_problem, exp_data, hidden=(16, 16), seed=42)
        m.fit(steps=300, pretrain_steps=100)
        runs.append((m._trainer.get_weights(), m.history.total))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    other = pb.BiLO(exp_problem, exp_data, hidden=(16, 16), seed=43)
    assert not np.array_equal(
        other._trainer.get_weights(),
        pb.BiLO(exp_problem, exp_data, hidden=(16, 16), seed=42)._trainer.get_weights(),
    )


def test_history_logs_parameter_trajectory(exp_problem, exp_data):
    m = pb.PINN(exp_problem, exp_data, hidden=(8,), seed=0)
    m.fit(steps=50, lr_params=1e-2)
    h = m.history
    assert len(h) == 50 and h.params["a"].shape == (50,)
    assert h.params["a"][0] == 1.0 and h.params["a"][-1] != 1.0
    assert np.all(h.total > 0)


def test_early_stopping_on_tolerance(exp_problem, exp_data):
    m = pb.PINN(exp_problem, exp_data, hidden=(16,), seed=0)
    r = m.fit(steps=20000, tol=1e-2, lr_params=1e-2)
    assert r.status == "converged"
    assert r.steps < 20000
    assert m.history.total[-1] < 1e-2


def test_callback_can_stop(exp_problem, exp_data):
    seen = []

    def cb(model, step):
        seen.append(step)
        return step < 30

    m = pb.PINN(exp_problem, exp_data, hidden=(8,))
    r = m.fit(steps=1000, callback=cb, callback_every=10)
    assert r.status == "stopped" and r.steps == 30 and seen == [10, 20, 30]


def test_keyboard_interrupt_stops_cleanly(exp_problem, exp_data):
    def cb(model, step):
        if step >= 40:
            raise KeyboardInterrupt

    m = pb.BiLO(exp_problem, exp_data, hidden=(8,))
    r = m.fit(steps=1000, callback=cb, callback_every=20)
    assert r.status == "interrupted"
    assert m.step == 40 and len(m.history) == 40
    assert np.isfinite(m.losses()["total"])
    assert m.fit(steps=10).status == "completed"  # the model is usable afterwards


def test_sigint_during_the_cpp_loop_stops_cleanly(exp_problem, exp_data):
    """A real SIGINT while the loop runs in C++ (GIL released) is seen at the next callback."""
    m = pb.PINN(exp_problem, exp_data, hidden=(16, 16))
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        r = m.fit(steps=10_000_000, callback_every=50)
    finally:
        timer.cancel()
    assert r.status == "interrupted"
    assert 0 < m.step < 10_000_000 and m.step % 50 == 0 and len(m.history) == m.step
    assert np.isfinite(m.losses()["total"])


def test_divergence_restores_last_finite_state():
    # Data below zero pull u negative, where sqrt(u) in the residual is NaN.
    problem = pb.ode_problem("u.t - a*sqrt(u)", 0.01, {"a": 1.0})
    data = pb.Data([0.5, 1.0], [-1.0, -2.0])
    m = pb.PINN(problem, data, hidden=(8,), seed=0)
    with pytest.raises(pb.TrainingDiverged, match="non-finite") as info:
        m.fit(steps=500, lr=1e-2)
    assert info.value.step >= 1
    # The state kept is the last one with finite losses: the one recorded last in the history.
    assert m.step == info.value.step == len(m.history)
    last = m.losses()
    assert np.isfinite(last["total"]) and last["total"] == m.history.total[-1]
    assert np.all(np.isfinite(m._trainer.get_weights()))
    m2 = pb.PINN(problem, data, hidden=(8,), seed=0)
    r = m2.fit(steps=500, lr=1e-2, on_diverge="return")
    assert r.status == "diverged" and r.diverged_step == info.value.step and "non-finite" in r.message


def test_threads_give_same_results_as_sequential(exp_problem, exp_data):
    def train(seed):
        m = pb.BiLO(exp_problem, exp_data, hidden=(16, 16), seed=seed)
        m.fit(steps=400, pretrain_steps=100)
        return m._trainer.get_weights()

    sequential = [train(s) for s in (1, 2, 3)]
    results = [None] * 3

    def worker(i):
        results[i] = train(i + 1)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for a, b in zip(sequential, results):
        np.testing.assert_array_equal(a, b)


def test_progress_bar_runs(exp_problem, exp_data, capsys):
    m = pb.PINN(exp_problem, exp_data, hidden=(8,))
    r = m.fit(steps=200, progress=True, callback_every=50)
    assert r.status == "completed"
