"""Models shared between threads, Ctrl-C in every phase, exact resume with resampling, and
hostile or damaged checkpoint files: never a crash, never a silently changed result."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import pinnbilo as pb
from pinnbilo import checkpoint


def _model(exp_problem, cls=pb.BiLO):
    data = exp_problem.synthetic_data(20, noise=0.01, seed=0)
    return cls(exp_problem, data, hidden=(16, 16), n_res=51, seed=0)


def _hammer(model, stop, calls):
    """Call every public reader and writer of the model from another thread until `stop`."""
    errors = []
    while not stop.is_set():
        for call in calls:
            try:
                call(model)
            except pb.InputError as exc:  # the only error a concurrent call may give
                errors.append(str(exc))
    return errors


READERS = [
    lambda m: m.history,
    lambda m: m.params,
    lambda m: m.step,
    lambda m: m.losses(),
    lambda m: m.predict(np.linspace(0, 1, 7)),
    lambda m: m.predict([0.5], ["u_t", "u_a"]),
    lambda m: m.residual(np.linspace(0, 1, 5)),
    lambda m: m.get_weights(),
    lambda m: m.parameter_errors(),
    lambda m: m.function_errors(),
    lambda m: m.observation_predictions(),
    lambda m: m.state_vector("lower"),
    lambda m: m.objective("upper", m.state_vector("upper")),
    lambda m: m.objective("pinn", m.state_vector("pinn")),
    lambda m: m.save(os.path.join(_SCRATCH, f"reader-{threading.get_ident()}.npz")),
    lambda m: repr(m),
]
_SCRATCH = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"pinnbilo-threads-{os.getpid()}")
os.makedirs(_SCRATCH, exist_ok=True)

# Writers from another thread wait for a running fit, then apply: the fit's result is untouched.
WRITERS = [
    lambda m: m.set_params({"a": 1.5}),
    lambda m: m.set_weights(m.get_weights()),
    lambda m: m.set_state_vector("upper", m.state_vector("upper")),
    lambda m: m.set_collocation(np.linspace(0, 1, 51)),
]


def test_reads_during_fit_never_crash_nor_change_the_run(exp_problem):
    pb.set_num_threads(2)
    try:
        alone = _model(exp_problem)
        alone.fit(steps=600, lr=1e-2, lr_params=1e-2, callback_every=7)
        shared = _model(exp_problem)
        stop = threading.Event()
        out: list = []
        t = threading.Thread(target=lambda: out.append(_hammer(shared, stop, READERS)))
        t.start()
        try:
            shared.fit(steps=600, lr=1e-2, lr_params=1e-2, callback_every=7)
        finally:
            stop.set()
            t.join(30)
    finally:
        pb.set_num_threads(1)
    assert out == [[]]
    np.testing.assert_array_equal(shared._trainer.get_weights(), alone._trainer.get_weights())
    assert shared.params == alone.params and len(shared.history) == 600


def test_writes_during_fit_wait_for_it(exp_problem):
    alone = _model(exp_problem)
    expected = alone.fit(steps=400, lr=1e-2, lr_params=1e-2)
    shared = _model(exp_problem)
    started, results = threading.Event(), []

    def train():
        results.append(
            shared.fit(steps=400, lr=1e-2, lr_params=1e-2, callback=lambda m, s: started.set(), callback_every=5)
        )

    t = threading.Thread(target=train)
    t.start()
    assert started.wait(20)
    for write in WRITERS:
        write(shared)  # each blocks until the fit has returned
    t.join(60)
    assert results[0].params == expected.params and results[0].losses == expected.losses
    assert shared.params["a"] == pytest.approx(1.5) and shared.step == 400


def test_a_second_concurrent_fit_is_refused(exp_problem):
    m = _model(exp_problem)
    started = threading.Event()
    errors: list = []

    def first():
        m.fit(steps=3000, callback=lambda model, step: started.set(), callback_every=10)

    t = threading.Thread(target=first)
    t.start()
    assert started.wait(20)
    with pytest.raises(pb.InputError, match="already training in another thread"):
        m.fit(steps=10)
    t.join(60)
    assert not errors and m.step == 3000 and len(m.history) == 3000
    assert m.fit(steps=5).status == "completed" and m.step == 3005


def test_checkpoint_from_another_thread_during_fit(exp_problem, tmp_path):
    m = _model(exp_problem)
    path = str(tmp_path / "m.npz")
    t = threading.Thread(target=lambda: m.fit(steps=1500))
    t.start()
    time.sleep(0.05)
    m.save(path)  # waits for the fit: a consistent state
    t.join(60)
    back = pb.load(path)
    assert back.step == len(back.history)


def test_ctrl_c_during_lbfgs_returns_interrupted(exp_problem):
    m = _model(exp_problem, pb.PINN)
    calls = [0]
    original = m.objective

    def objective(name, x):
        calls[0] += 1
        if calls[0] == 30:
            raise KeyboardInterrupt
        return original(name, x)

    m.objective = objective  # type: ignore[method-assign]
    r = m.fit(steps=10, lbfgs_steps=10**6)
    assert r.status == "interrupted" and "L-BFGS" in r.message
    assert np.isfinite(m.losses()["total"]) and m.step == len(m.history)


def test_resample_counts_global_steps_so_resume_is_exact(exp_problem, tmp_path):
    data = exp_problem.synthetic_data(15, noise=0.01, seed=3)
    straight = pb.PINN(exp_problem, data, hidden=(8,), seed=2, n_res=31)
    straight.fit(steps=140, resample_every=7)
    first = pb.PINN(exp_problem, data, hidden=(8,), seed=2, n_res=31)
    first.fit(steps=80, resample_every=7)
    path = str(tmp_path / "r.npz")
    first.save(path)
    resumed = pb.load(path)
    resumed.fit(steps=60, resample_every=7)
    np.testing.assert_array_equal(resumed.collocation, straight.collocation)
    np.testing.assert_array_equal(resumed._trainer.get_weights(), straight._trainer.get_weights())


# -- hostile and damaged checkpoint files ------------------------------------------------------------


@pytest.fixture()
def saved(exp_problem, tmp_path):
    m = _model(exp_problem)
    m.fit(steps=20)
    path = str(tmp_path / "ok.npz")
    m.save(path)
    return path


def _rewrite(path, out, meta_edit=None, array_edit=None):
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads(arrays["meta"].tobytes().decode())
    if meta_edit is not None:
        meta = meta_edit(meta)
    if array_edit is not None:
        array_edit(arrays)
    raw = meta if isinstance(meta, (bytes, bytearray)) else json.dumps(meta).encode()
    arrays["meta"] = np.frombuffer(raw, dtype=np.uint8)
    np.savez(out, **arrays)
    return out


def _set(key, value):
    def edit(meta):
        meta[key] = value
        return meta

    return edit


@pytest.mark.parametrize(
    "edit, words",
    [
        (_set("hidden", [30000, 30000]), "layer width"),
        (_set("hidden", [10**7]), "layer width"),
        (_set("hidden", [64] * 100), "layer widths"),
        (_set("hidden", 8), "list of"),
        (_set("hidden", [20, 20]), "has shape"),
        (_set("global_step", -5), "non-negative"),
        (_set("global_step", 1.5), "must be a int"),
        (_set("global_step", "7"), "must be a int"),
        (_set("global_step", 3), "history has 20 records"),
        (_set("method", "sgd"), "unknown method"),
        (_set("activation", "relu"), "unknown activation"),
        (_set("dtype", "float16"), "unknown dtype"),
        (_set("seed", None), "must be a int"),
        (_set("weights_config", {"w_res": -1}), "loss weight"),
        (_set("weights_config", {"evil": 1}), "loss weight"),
        (_set("data_noise", float("nan")), "data_noise"),
        (_set("param_gains", [0.0]), "param_gains"),
        (_set("version", 99), "version"),
        (lambda m: [1, 2, 3], "not a pinnbilo checkpoint"),
        (lambda m: "text", "not a pinnbilo checkpoint"),
        (lambda m: None, "not a pinnbilo checkpoint"),
        (lambda m: b"[" * 100_000 + b"]" * 100_000, "unreadable metadata"),
        (
            lambda m: {
                **m,
                "problem": {**m["problem"], "spec": {"builtin": "variable_poisson", "kwargs": {"hidden": [10**6]}}},
            },
            "layer width",
        ),  # noqa: E501
    ],
)
def test_damaged_metadata_is_refused_before_allocating(saved, tmp_path, edit, words):
    bad = _rewrite(saved, str(tmp_path / "bad.npz"), meta_edit=edit)
    with pytest.raises(pb.InputError, match=words):
        pb.load(bad)


@pytest.mark.parametrize(
    "edit, words",
    [
        (lambda a: a.__setitem__("adam_weights_v", -np.abs(a["adam_weights_v"]) - 1), "second moments"),
        (lambda a: a.__setitem__("weights", a["weights"][:-1]), "has shape"),
        (lambda a: a.__setitem__("history_total", a["history_total"][:-1]), "history"),
        (lambda a: a.__setitem__("adam_params_t", np.array(-1)), "non-negative integer"),
        (lambda a: a.pop("raw_params"), "missing 'raw_params'"),
    ],
)
def test_damaged_arrays_are_refused(saved, tmp_path, edit, words):
    bad = _rewrite(saved, str(tmp_path / "bad.npz"), array_edit=edit)
    with pytest.raises(pb.InputError, match=words):
        pb.load(bad)


def test_other_files_are_refused(tmp_path, saved):
    npy = str(tmp_path / "a.npy")
    np.save(npy, np.arange(3))
    with pytest.raises(pb.InputError, match="single array"):
        pb.load(npy)
    with open(saved, "rb") as fh:
        blob = bytearray(fh.read())
    blob[-30:] = b"\xff" * 30  # damage the zip directory
    damaged = str(tmp_path / "d.npz")
    with open(damaged, "wb") as fh:
        fh.write(blob)
    with pytest.raises(pb.InputError, match="not a readable pinnbilo checkpoint"):
        pb.load(damaged)
    with pytest.raises(pb.InputError, match="folder"):
        pb.load(str(tmp_path))


def test_a_different_problem_is_refused_unless_not_strict(saved):
    with pytest.raises(pb.InputError, match="does not match the checkpoint"):
        pb.load(saved, problem=pb.problems.logistic_growth())
    m = pb.load(saved, problem=pb.problems.exponential_growth(a_init=1.5), strict=False)
    assert m.step == 20
    same = pb.load(saved, problem=pb.problems.exponential_growth())
    assert same.params == pb.load(saved).params


def test_stale_temp_files_of_killed_saves_are_removed(exp_problem, tmp_path):
    """kill -9 during save leaves a temp file; the next save to the folder removes it."""
    script = f"""
import os, sys, numpy as np, pinnbilo as pb
p = pb.problems.exponential_growth()
m = pb.BiLO(p, p.synthetic_data(20), hidden=(64, 64, 64))
real = np.savez
def slow(fh, **arrays):
    real(fh, **arrays)
    print("written", flush=True)
    import time; time.sleep(60)
np.savez = slow
m.save({str(tmp_path / "m.npz")!r})
"""
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "written"
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    # Each killed save had removed the file of the one before it.
    stale = [f for f in os.listdir(tmp_path) if f.startswith(".pinnbilo-")]
    assert len(stale) == 1
    time.sleep(1.1)  # older than the grace period of a file being created
    m = _model(exp_problem)
    m.save(str(tmp_path / "next.npz"))
    assert [f for f in os.listdir(tmp_path) if f.startswith(".pinnbilo-")] == []
    assert pb.load(str(tmp_path / "next.npz")).step == 0


def test_a_live_save_keeps_its_temp_file(tmp_path):
    # A temp file whose writer holds its lock is not stale.
    import fcntl

    path = tmp_path / ".pinnbilo-live.tmp"
    with open(path, "wb") as fh:
        fh.write(b"partial")
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        assert checkpoint.remove_stale_temp_files(str(tmp_path), min_age_s=0.0) == []
        assert path.exists()
    assert checkpoint.remove_stale_temp_files(str(tmp_path), min_age_s=0.0) == [str(path)]


# -- arguments that used to give bare Python errors -------------------------------------------------


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda p, d: pb.BiLO(p, d, hidden=8), "sequence of layer widths"),
        (lambda p, d: pb.BiLO(p, d, hidden=(2**40,)), "above 4096"),
        (lambda p, d: pb.BiLO(p, d, n_res=2**63), "over the limit"),
        (lambda p, d: pb.Parameter("a", 1.0, None), "pair"),
        (lambda p, d: pb.Parameter("a", 1.0, (None, float("nan"))), "upper bound"),
        (lambda p, d: pb.Problem(("t",), {"t": (0, 1)}, ["a"], "u.t - a*u", "1 + t*N"), "pinnbilo.Parameter"),
        (lambda p, d: pb.BiLO(p, d, hidden=(4,)).set_params([1.0]), "mapping"),
        (lambda p, d: pb.BiLO(p, d, hidden=(4,)).set_params({"a": "x"}), "finite number"),
        (lambda p, d: p.synthetic_data(5, params={"zz": 1.0}), "unknown parameter"),
        (lambda p, d: p.synthetic_data(5, params={"a": 1.0 + 0j}), "finite number|complex"),
        (lambda p, d: p.grid(10**8), "over"),
    ],
)
def test_bad_arguments_name_themselves(exp_problem, make, words):
    data = exp_problem.synthetic_data(10)
    with pytest.raises(pb.InputError, match=words):
        make(exp_problem, data)


def test_function_derivative_orders_are_checked():
    p = pb.problems.variable_poisson()
    m = pb.BiLO(p, p.synthetic_data(10), n_res=11, hidden=(4,))
    with pytest.raises(pb.InputError, match="derivative order"):
        m.function("D", np.linspace(0, 1, 5), [{"x": 1.5}])
    assert len(m.function("D", np.linspace(0, 1, 5), [{"x": 2}])) == 1


@pytest.mark.parametrize(
    "text, words",
    [
        ("+".join(["u"] * 5000) + " + u.t", "nested"),
        ("-" * 100_000 + "u.t", "over the limit"),
        ("u.t" + "*u" * 3000, "nested"),
        ("u.t - a*u\ud800", "not valid text"),
    ],
)
def test_hostile_expressions_are_refused(text, words):
    with pytest.raises(pb.InputError, match=words):
        pb.ode_problem(text, 1.0, {"a": 1.0})


def test_deep_expression_objects_are_refused():
    e = pb.expr.u.t
    for _ in range(5000):
        e = e + pb.expr.u
    with pytest.raises(pb.InputError, match="nested"):
        pb.ode_problem(e, 1.0, {"a": 1.0})
    # An ordinary polynomial of degree 60 is fine.
    poly = " + ".join(f"{k}*t**{k}" for k in range(60))
    assert pb.ode_problem(f"u.t - a*u - ({poly})", 1.0, {"a": 1.0}).residual is not None


def test_complex_sources_are_refused():
    problem = pb.Problem(
        ("x",), {"x": (0.0, 1.0)}, [pb.Parameter("k", 1.0)], "u.xx + k*f", "x*(1 - x)*N",
        sources={"f": lambda z: np.exp(1j * z[:, 0])},
    )  # fmt: skip
    data = pb.Data(np.linspace(0.1, 0.9, 5)[:, None], np.zeros(5))
    with pytest.raises(pb.InputError, match="complex"):
        pb.PINN(problem, data, hidden=(4,), n_res=11)


def test_float32_range_is_checked_at_construction():
    p = pb.problems.exponential_growth(u0=1e39)
    data = pb.Data(np.linspace(0.1, 1, 5), np.ones(5))
    with pytest.raises(pb.InputError, match="float32"):
        pb.PINN(p, data, hidden=(4,), dtype="float32")
    with pytest.raises(pb.InputError, match="float32"):
        pb.BiLO(pb.problems.exponential_growth(), pb.Data(np.linspace(0.1, 1, 5), np.full(5, 1e40)), dtype="float32")
    assert pb.PINN(p, data, hidden=(4,)).dtype == "float64"  # float64 holds 1e39: no error
