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
