import numpy as np
import pytest

import pinnbilo as pb


@pytest.fixture(scope="session")
def exp_problem() -> pb.Problem:
    return pb.problems.exponential_growth(a_true=2.0, a_init=1.0)


@pytest.fixture(scope="session")
def exp_data(exp_problem: pb.Problem) -> pb.Data:
    return exp_problem.synthetic_data(20, noise=0.0, seed=0)


def central_difference(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central finite-difference gradient of a scalar function f at x."""
    g = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


# The longest tests (recovery runs of systems and built-in problems, 10-170 s each) are collected
# first: with one worker per core (pytest-xdist) they start at once instead of forming the tail
# of the run. The sort is stable, so each module's tests stay together and in order.
SLOW_FIRST = ("test_systems_recovery.py", "test_builtin_problems.py")


def pytest_collection_modifyitems(session, config, items):
    items.sort(key=lambda item: 0 if item.nodeid.split("::")[0].endswith(SLOW_FIRST) else 1)
