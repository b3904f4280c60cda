"""Two species with four cross-interaction kernels: recovery from clean states, the Jacobian
against differences, identifiability of the pair, clear errors."""

import numpy as np
import pytest

from pinnbilo import InputError, steady

from conftest import assert_jacobian_matches_differences

GRID = steady.PeriodicGrid(128)


def gaussian(width, depth):
    return lambda r: depth * np.exp(-(r**2) / (2 * width**2))


KERNELS = {"11": gaussian(0.1, -1.0), "12": gaussian(0.15, 0.5), "21": gaussian(0.08, -0.7), "22": gaussian(0.12, -0.8)}
V = (lambda x: 0.3 * np.cos(2 * np.pi * x), lambda x: 0.2 * np.sin(2 * np.pi * x) + 0.1 * np.cos(4 * np.pi * x))
MASSES = [[0.5, 1.0], [1.0, 0.5], [1.5, 1.5], [2.0, 1.0]]


@pytest.fixture(scope="module")
def states():
    return steady.two_species_states(GRID, V, KERNELS, kappa=1.0, sigma=[[0.5, 0.4]], mass=MASSES, damping=0.3)


def test_all_four_kernels_from_clean_states(states):
    np.testing.assert_allclose(GRID.integrate(states.u), MASSES, rtol=1e-12)
    model = steady.TwoSpecies(GRID, kappa=1.0, V=V, W={k: steady.Spectral() for k in KERNELS})
    assert model.identifiability(states) == []
    fit = model.fit(states)
    for k, f in KERNELS.items():
        assert steady.relative_error(fit.functions[f"W{k}"], f(GRID.lags)) < 0.005, k


def test_one_kernel_learned_with_the_others_known(states):
    known = {k: f for k, f in KERNELS.items() if k != "12"}
    model = steady.TwoSpecies(GRID, kappa=1.0, V=V, W={**known, "12": steady.Spectral(20)})
    fit = model.fit(states)
    assert steady.relative_error(fit.functions["W12"], KERNELS["12"](GRID.lags)) < 0.005
    np.testing.assert_allclose(fit.functions["W11"], KERNELS["11"](GRID.lags))


def test_jacobian_matches_differences(states):
    model = steady.TwoSpecies(
        GRID, kappa=1.0, V=V, W={"11": steady.Spectral(4), "21": steady.Spectral(3), "22": KERNELS["22"]}
    )
    problem = model.residual_problem(states, smoothness=1e-3)
    theta = 0.05 * np.random.default_rng(0).standard_normal(problem.n_params)
    assert_jacobian_matches_differences(problem, theta)


def test_uniform_species_leave_their_kernels_undetermined():
    flat = steady.two_species_states(GRID, (None, None), {"11": gaussian(0.1, -0.2)}, kappa=1.0, sigma=[[1.0, 1.0]],
                                     mass=[[1.0, 1.0]])  # fmt: skip
    model = steady.TwoSpecies(GRID, kappa=1.0, W={"11": steady.Spectral(), "12": steady.Spectral()})
    lines = model.identifiability(flat)
    assert any("W11" in line for line in lines) and any("W12" in line for line in lines)


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: steady.TwoSpecies(GRID, W={"13": steady.Spectral()}), "unknown kernel names"),
        (lambda: steady.TwoSpecies(GRID, W={"11": np.ones(128)}), "nothing to learn"),
        (lambda: steady.TwoSpecies(GRID, kappa=0.0, W={"11": steady.Spectral()}), "kappa"),
        (lambda: steady.TwoSpecies(GRID, V=(None,), W={"11": steady.Spectral()}), "pair"),
        (lambda: steady.two_species_states(GRID, sigma=[1.0, 2.0, 3.0]), "two values"),
        (lambda: steady.two_species_states(GRID, mass=[1.0, -1.0]), "positive"),
    ],
)
def test_bad_two_species_input_is_refused(make, words):
    with pytest.raises(InputError, match=words):
        make()
