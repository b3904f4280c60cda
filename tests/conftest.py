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


def assert_jacobian_matches_differences(
    problem, theta: np.ndarray, rtol: float = 1e-6, atol=None, h: float = 1e-6
) -> None:
    """Every column of problem.jacobian(theta) against central differences of problem.residual;
    atol defaults to 1e-9 of the Jacobian's largest entry."""
    J = problem.jacobian(theta)
    atol = 1e-9 * np.abs(J).max() if atol is None else atol
    for j in range(theta.size):
        e = np.zeros_like(theta)
        e[j] = h
        fd = (problem.residual(theta + e) - problem.residual(theta - e)) / (2 * h)
        np.testing.assert_allclose(J[:, j], fd, rtol=rtol, atol=atol, err_msg=f"column {j}")
