"""Checkpoints: complete, atomic, and resuming bit-identically."""

import os

import numpy as np
import pytest

import pinnbilo as pb


@pytest.mark.parametrize("cls", [pb.PINN, pb.BiLO])
def test_resume_is_bit_identical(cls, exp_problem, tmp_path):
    data = exp_problem.synthetic_data(15, noise=0.01, seed=3)
    straight = cls(exp_problem, data, hidden=(12, 12), seed=5)
    straight.fit(steps=400, lr=2e-3, lr_params=5e-3, amsgrad=True)

    first = cls(exp_problem, data, hidden=(12, 12), seed=5)
    first.fit(steps=150, lr=2e-3, lr_params=5e-3, amsgrad=True)
    path = str(tmp_path / "model.npz")
    first.save(path)
    resumed = pb.load(path)
    assert type(resumed) is cls and resumed.step == 150
    resumed.fit(steps=250, lr=2e-3, lr_params=5e-3, amsgrad=True)

    np.testing.assert_array_equal(resumed._trainer.get_weights(), straight._trainer.get_weights())
    assert resumed.params == straight.params
    h1, h2 = resumed.history, straight.history
    np.testing.assert_array_equal(h1.total, h2.total)
    np.testing.assert_array_equal(h1.params["a"], h2.params["a"])
    np.testing.assert_array_equal(h1.step, h2.step)


def test_load_restores_everything(exp_problem, tmp_path):
    data = exp_problem.synthetic_data(10, noise=0.0)
    m = pb.BiLO(exp_problem, data, hidden=(6,), activation="sin", seed=1, dtype="float32", w_rgrad=0.3)
    m.fit(steps=30)
    path = str(tmp_path / "m.npz")
    m.save(path)
    back = pb.load(path)
    assert back.activation == "sin" and back.dtype == "float32" and back.hidden == (6,)
    assert back.weights_config == m.weights_config
    assert back.problem.to_dict() == m.problem.to_dict()
    np.testing.assert_array_equal(back.data.values, m.data.values)
    np.testing.assert_array_equal(back.collocation, m.collocation)
    for (w1, b1), (w2, b2) in zip(back.get_weights(), m.get_weights()):
        np.testing.assert_array_equal(w1, w2)
        np.testing.assert_array_equal(b1, b2)
    # The exact solution of a built-in problem survives the round trip.
    np.testing.assert_allclose(back.problem.exact([0.5]), np.exp(1.0))


def test_custom_problem_round_trip(tmp_path):
    problem = pb.ode_problem("u.t - a*u + b*sin(t)", 0.5, [pb.Parameter("a", 1.0, (0.0, 4.0)), pb.Parameter("b", 0.2)])
    data = pb.Data(np.linspace(0.1, 1, 5), np.linspace(0.6, 1.2, 5))
    m = pb.PINN(problem, data, hidden=(4,))
    m.fit(steps=5)
    path = str(tmp_path / "c.npz")
    m.save(path)
    back = pb.load(path)
    t = np.linspace(0, 1, 7)
    np.testing.assert_array_equal(back.residual(t), m.residual(t))


def test_truncated_or_garbage_checkpoint_gives_clear_error(exp_problem, exp_data, tmp_path):
    m = pb.PINN(exp_problem, exp_data, hidden=(4,))
    path = tmp_path / "m.npz"
    m.save(str(path))
    raw = path.read_bytes()
    bad = tmp_path / "truncated.npz"
    bad.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(pb.InputError, match="corrupted or truncated"):
        pb.load(str(bad))
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a checkpoint at all")
    with pytest.raises(pb.InputError):
        pb.load(str(junk))
    other = tmp_path / "other.npz"
    np.savez(other, x=np.zeros(3))
    with pytest.raises(pb.InputError, match="not a pinnbilo checkpoint"):
        pb.load(str(other))


def test_save_is_atomic_when_writing_fails(exp_problem, exp_data, tmp_path, monkeypatch):
    """A failure mid-write leaves the previous checkpoint untouched and no temp files behind."""
    m = pb.PINN(exp_problem, exp_data, hidden=(4,))
    path = str(tmp_path / "m.npz")
    m.save(path)
    before = open(path, "rb").read()
    m.fit(steps=5)

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError, match="disk full"):
        m.save(path)
    assert open(path, "rb").read() == before
    assert os.listdir(tmp_path) == ["m.npz"]


def test_non_finite_optimizer_state_in_checkpoint_is_rejected(exp_problem, exp_data, tmp_path):
    m = pb.PINN(exp_problem, exp_data, hidden=(4,))
    m.fit(steps=3)
    path = tmp_path / "m.npz"
    m.save(str(path))
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["adam_weights_v"] = np.full_like(arrays["adam_weights_v"], np.nan)
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    with pytest.raises(pb.InputError, match="NaN or inf"):
        pb.load(str(bad))
