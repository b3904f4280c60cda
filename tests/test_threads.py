"""Thread count of the kernels: settable, validated, and without effect on results."""

import numpy as np
import pytest

import pinnbilo as pb


def _model(n_points: int) -> pb.BiLO:
    problem = pb.Problem(
        ("x", "t"),
        {"x": (0.0, 1.0), "t": (0.0, 1.0)},
        [pb.Parameter("D", 0.02), pb.Parameter("rho", 1.0)],
        "u.t - D*u.xx - rho*u*(1 - u)",
        "0.5*sin(pi*x)**2 + t*x*(1 - x)*N",
    )
    rng = np.random.default_rng(0)
    pts = rng.random((30, 2))
    data = pb.Data(pts, 0.5 * np.sin(np.pi * pts[:, 0]) ** 2)
    return pb.BiLO(problem, data, hidden=(24, 24), collocation=rng.random((n_points, 2)), seed=3)


@pytest.fixture
def restore_threads():
    before = pb.get_num_threads()
    yield
    pb.set_num_threads(before)


def test_results_do_not_depend_on_thread_count(restore_threads):
    # Large enough that the products are split between threads (the split threshold is 2^21 multiply-adds).
    runs = []
    for threads in (1, 2, 3):
        pb.set_num_threads(threads)
        assert pb.get_num_threads() == threads
        model = _model(1500)
        lower = model.objective("lower", model.state_vector("lower"))
        upper = model.objective("upper", model.state_vector("upper"))
        model.fit(steps=3)
        runs.append((lower[0], lower[1], upper[0], upper[1], model.state_vector("pinn"), model.history.total))
    for other in runs[1:]:
        for a, b in zip(runs[0], other):
            np.testing.assert_array_equal(a, b)  # bit for bit


@pytest.mark.parametrize("bad", [0, -1, 257, True, 2.0, "2", None, 2**80])
def test_bad_thread_count_is_rejected(bad, restore_threads):
    with pytest.raises(pb.InputError, match="number of threads"):
        pb.set_num_threads(bad)
