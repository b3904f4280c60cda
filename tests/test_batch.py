"""pinnbilo.fit_many: many models at once, each ending exactly where its own fit would."""

import os
import signal
import sys
import threading

import numpy as np
import pytest

import pinnbilo as pb


@pytest.fixture(scope="module")
def noisy(exp_problem):
    return exp_problem.synthetic_data(16, noise=0.02, seed=3)


def _models(problem, data, dtype="float64"):
    """BiLO and PINN models of two sizes and several seeds."""
    out = [pb.BiLO(problem, data, hidden=(12, 12), n_res=48, seed=s, dtype=dtype) for s in range(3)]
    out.append(pb.BiLO(problem, data, hidden=(20,), n_res=40, seed=7, dtype=dtype))
    out += [pb.PINN(problem, data, hidden=(12, 12), n_res=48, seed=s, dtype=dtype) for s in range(2)]
    return out


def _same(a, b):
    assert a.params == b.params
    assert (a.status, a.steps, a.best_step, a.spikes, a.lower_steps) == (
        b.status,
        b.steps,
        b.best_step,
        b.spikes,
        b.lower_steps,
    )
    ma, mb = a.model, b.model
    assert ma.step == mb.step
    for name in ("total", "res", "data"):
        assert np.array_equal(getattr(ma.history, name), getattr(mb.history, name))
    for (wa, ba), (wb, bb) in zip(ma.get_weights(), mb.get_weights()):
        assert np.array_equal(wa, wb) and np.array_equal(ba, bb)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_identical_to_fitting_each_model_alone(exp_problem, noisy, threads):
    kw = dict(steps=150, lr=3e-3, lr_params=3e-3, keep="best", schedule="cosine", lbfgs_steps=4)
    alone = _models(exp_problem, noisy)
    ref = [
        m.fit(pretrain_steps=40 if m.method == "bilo" else 0, max_iter_lower=2 * (m.method == "bilo"), **kw)
        for m in alone
    ]
    before = pb.get_num_threads()
    pb.set_num_threads(threads)
    try:
        together = _models(exp_problem, noisy)
        got = pb.fit_many(together[:4], pretrain_steps=40, max_iter_lower=2, **kw) + pb.fit_many(together[4:], **kw)
    finally:
        pb.set_num_threads(before)
    for a, b in zip(ref, got):
        _same(a, b)
    assert all(r.status == "completed" and r.lbfgs for r in got)


def test_mixed_phases_and_float32(exp_problem, noisy):
    # BiLO with pretraining and PINN without share a batch when pretrain_steps is 0; float32 too.
    alone = _models(exp_problem, noisy, "float32")
    ref = [m.fit(steps=60) for m in alone]
    got = pb.fit_many(_models(exp_problem, noisy, "float32"), steps=60)
    for a, b in zip(ref, got):
        _same(a, b)


def test_a_diverging_model_does_not_stop_the_others():
    problem = pb.ode_problem("u.t - a*sqrt(u)", 0.01, {"a": 1.0})
    bad = pb.Data([0.5, 1.0], [-1.0, -2.0])  # pulls u negative, where sqrt(u) is NaN
    good = pb.Data([0.5, 1.0], [0.3, 1.0])
    ms = [pb.PINN(problem, bad, hidden=(8,), seed=0), pb.PINN(problem, good, hidden=(8,), seed=0)]
    results = pb.fit_many(ms, steps=500, lr=1e-2)
    assert results[0].status == "diverged" and results[0].diverged_step is not None
    assert results[1].status == "completed" and results[1].steps == 500
    assert np.isfinite(ms[0].losses()["total"])  # restored to its last finite state
    ms = [pb.PINN(problem, bad, hidden=(8,), seed=0), pb.PINN(problem, good, hidden=(8,), seed=0)]
    with pytest.raises(pb.TrainingDiverged, match=r"models \[0\] diverged"):
        pb.fit_many(ms, steps=500, lr=1e-2, on_diverge="raise")
    assert ms[1].step == 500  # the other model finished


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to oneself is a POSIX signal")
def test_sigint_stops_every_model(exp_problem, exp_data):
    ms = [pb.PINN(exp_problem, exp_data, hidden=(16, 16), seed=s) for s in range(3)]
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        results = pb.fit_many(ms, steps=10_000_000, callback_every=50, lbfgs_steps=5)
    finally:
        timer.cancel()
    assert all(r.status == "interrupted" for r in results)
    assert all(not r.lbfgs for r in results)
    for m in ms:
        assert m.step < 10_000_000 and len(m.history) == m.step
        assert np.isfinite(m.losses()["total"])
    assert pb.fit_many(ms, steps=5)[0].status == "completed"  # usable afterwards


def test_bad_input(exp_problem, exp_data):
    ms = _models(exp_problem, exp_data)[:2]
    with pytest.raises(pb.InputError, match="list of pinnbilo models"):
        pb.fit_many(ms[0])
    with pytest.raises(pb.InputError, match=r"models\[1\] is not a pinnbilo model"):
        pb.fit_many([ms[0], "model"])
    with pytest.raises(pb.InputError, match="more than once"):
        pb.fit_many([ms[0], ms[1], ms[0]])
    with pytest.raises(pb.InputError, match="one dtype"):
        pb.fit_many([ms[0], pb.PINN(exp_problem, exp_data, hidden=(4,), dtype="float32")])
    with pytest.raises(pb.InputError, match="callback"):
        pb.fit_many(ms, callback=lambda m, s: None)
    with pytest.raises(pb.InputError, match="resample_every"):
        pb.fit_many(ms, resample_every=10)
    with pytest.raises(pb.InputError, match="unknown fit arguments"):
        pb.fit_many(ms, stepz=10)
    with pytest.raises(pb.InputError, match="on_diverge"):
        pb.fit_many(ms, on_diverge="ignore")
    with pytest.raises(pb.InputError, match="steps"):
        pb.fit_many(ms, steps=-1)
    with pytest.raises(pb.InputError, match="pretrain"):
        pb.fit_many(_models(exp_problem, exp_data)[3:], pretrain_steps=5)  # PINN models among them
    assert all(m.step == 0 for m in ms)  # nothing moved
    assert pb.fit_many([]) == []


def test_ensemble_in_a_batch_matches_one_fit_after_another(exp_problem):
    from pinnbilo.uncertainty import ensemble

    data = {s: exp_problem.synthetic_data(20, noise=0.02, seed=s) for s in (0, 1, 2)}
    data[3] = pb.Data(np.array([[0.5]]), np.array([1.0]), of="v")  # observes a field the problem lacks
    kw = dict(model_kwargs={"hidden": (8, 8)}, fit_kwargs={"steps": 300, "pretrain_steps": 50, "lr": 1e-2})
    one_by_one = ensemble(exp_problem, data, seeds=range(4), workers=0, **kw)
    batch = ensemble(exp_problem, data, seeds=range(4), workers="batch", **kw)
    assert batch.statuses == one_by_one.statuses == {0: "completed", 1: "completed", 2: "completed", 3: "failed"}
    for a, b in zip(one_by_one.runs, batch.runs):
        assert a["params"] == b["params"] and a["steps"] == b["steps"]
    assert "InputError" in batch.failed[0]["error"]
    with pytest.raises(pb.InputError, match="workers must be"):
        ensemble(exp_problem, data[0], workers="threads")
