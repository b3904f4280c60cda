"""Bad input to the steady-state API raises pinnbilo.InputError with a message naming the problem."""

import numpy as np
import pytest

import pinnbilo as pb
from pinnbilo import _core
from pinnbilo import steady as st

GRID = st.PeriodicGrid(32, 1.0)


def _states(n=32, S=2):
    x = np.arange(n) / n
    return np.stack([np.exp(np.cos(2 * np.pi * x) * (s + 1) / 2) for s in range(S)])


def test_inconsistent_grids():
    data = st.PeriodicStates(GRID, _states(), sigma=1.0)
    model = st.AggregationDiffusion(st.PeriodicGrid(32, 2.0), V=st.Unknown(hidden=(4,)))
    with pytest.raises(pb.InputError, match="differs from the model grid"):
        model.fit(data, adam_steps=1)
    with pytest.raises(pb.InputError, match=r"shape \(S, 32\)"):
        st.PeriodicStates(GRID, _states(n=30), sigma=1.0)
    with pytest.raises(pb.InputError, match="V \\(known values\\)"):
        st.AggregationDiffusion(GRID, V=np.zeros(31), W=st.Unknown())
    semi = st.Semilinear(st.IntervalGrid(10), g=st.Unknown(hidden=(4,)))
    with pytest.raises(pb.InputError, match="differs from the model grid"):
        semi.fit(st.DirichletStates(st.IntervalGrid(11), np.ones((1, 11)), 0.0, 0.0), adam_steps=1)


def test_nonpositive_densities_where_a_logarithm_is_needed():
    u = _states()[0]
    u[5] = 0.0
    with pytest.raises(pb.InputError, match="strictly positive"):
        st.direct_potential(GRID, u, 1.0)
    u[5] = -0.1
    with pytest.raises(pb.InputError, match="positive density"):
        st.steady_state(GRID, sigma=1.0, u0=u)
    with pytest.raises(pb.InputError, match="positive density"):
        st.evolve(GRID, u)
    with pytest.raises(pb.InputError, match="mass of every state must be positive"):
        st.PeriodicStates(GRID, -_states(), sigma=1.0)


def test_mismatched_shapes_and_values():
    u = _states()
    with pytest.raises(pb.InputError, match=r"sigma: expected a scalar or one value per state, shape \(2,\)"):
        st.PeriodicStates(GRID, u, sigma=[1.0, 2.0, 3.0])
    with pytest.raises(pb.InputError, match="sigma must be positive"):
        st.PeriodicStates(GRID, u, sigma=[1.0, 0.0])
    with pytest.raises(pb.InputError, match="weights: expected shape"):
        st.PeriodicStates(GRID, u, sigma=1.0, weights=np.ones((2, 31)))
    with pytest.raises(pb.InputError, match="NaN"):
        st.PeriodicStates(GRID, np.where(u > 1, np.nan, u), sigma=1.0)
    with pytest.raises(pb.InputError, match="left boundary values"):
        st.DirichletStates(st.IntervalGrid(10), np.ones((2, 10)), left=[0, 1, 2], right=0)
    # The core checks too (a direct user of pinnbilo._core gets the same error class).
    with pytest.raises(pb.InputError, match=r"observation weights: expected shape \(2, 32\), got \(2, 31\)"):
        _core.AggregationDiffusionFit(32, 1.0, 1.0, u, np.ones((2, 31)), [1, 1], [1, 1])
    with pytest.raises(pb.InputError, match="sigma must be positive"):
        _core.AggregationDiffusionFit(32, 1.0, 1.0, u, np.ones((2, 32)), [1, -1], [1, 1])
    with pytest.raises(pb.InputError, match="no observed non-zero value"):
        _core.AggregationDiffusionFit(32, 1.0, 1.0, u, np.zeros((2, 32)), [1, 1], [1, 1])
    core = _core.AggregationDiffusionFit(32, 1.0, 1.0, u, np.ones((2, 32)), [1, 1], [1, 1])
    with pytest.raises(pb.InputError, match=r"V network features: expected shape \(2, 32\)"):
        core.set_v_network(([2, 4, 1], "tanh", np.ones((3, 32))), True)
    with pytest.raises(pb.InputError, match=r"params: expected shape \(0,\)"):
        core.loss_and_grad(np.ones(3))
    with pytest.raises(pb.InputError, match="features contain NaN"):
        core.set_w_network(([1, 4, 1], "tanh", np.full((1, 32), np.nan)), True)


def test_bad_model_arguments():
    with pytest.raises(pb.InputError, match="nothing to learn"):
        st.AggregationDiffusion(GRID)
    with pytest.raises(pb.InputError, match="kappa = 0"):
        st.AggregationDiffusion(GRID, kappa=0.0, W=st.Unknown())
    with pytest.raises(pb.InputError, match="activation"):
        st.Unknown(activation="relu")
    with pytest.raises(pb.InputError, match="depends_on"):
        st.Semilinear(st.IntervalGrid(8), depends_on="t")
    with pytest.raises(pb.InputError, match="PeriodicGrid n"):
        st.PeriodicGrid(2)
    with pytest.raises(pb.InputError, match="adam_steps"):
        st.AggregationDiffusion(GRID, V=st.Unknown(hidden=(4,))).fit(
            st.PeriodicStates(GRID, _states(), sigma=1.0), adam_steps=-1
        )
    with pytest.raises(pb.InputError, match="m \\(observations per state\\)"):
        st.observe_periodic(st.PeriodicStates(GRID, _states(), sigma=1.0), m=1)
    with pytest.raises(pb.InputError, match="noise"):
        st.observe_periodic(st.PeriodicStates(GRID, _states(), sigma=1.0), noise=-0.1)
    with pytest.raises(pb.InputError, match="distill: x and y"):
        st.distill(np.zeros(3), np.zeros(4), st.constant())


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: st.evolve(GRID, np.ones(32), t_end=1e12, dt=1e-9), "over the limit"),
        (lambda: st.evolve(GRID, np.ones(32), t_end=-1.0), "t_end must be positive"),
        (lambda: st.evolve(GRID, np.ones(32), sigma="1"), "sigma must be a real number"),
        (lambda: st.evolve(GRID, np.ones(32), kappa=None), "kappa must be a real number"),
        (lambda: st.evolve(GRID, np.ones(32), tol=float("nan")), "tol must be"),
        (lambda: st.fourier(10**7), "modes must be an integer"),
        (lambda: st.fourier("3"), "modes must be an integer"),
        (lambda: st.distill(GRID.x, np.sin(GRID.x), st.fourier(2), max_iter=-1), "max_iter"),
        (lambda: st.distill(GRID.x, np.sin(GRID.x), st.fourier(2), threshold=float("nan")), "threshold"),
        (lambda: st.distill(GRID.x, np.sin(GRID.x), st.fourier(2), threshold="0.1"), "threshold"),
    ],
)
def test_steady_arguments_are_checked(call, words):
    with pytest.raises(pb.InputError, match=words):
        call()


def test_more_observations_than_grid_points_are_refused():
    data = st.PeriodicStates(GRID, _states(), sigma=1.0)
    with pytest.raises(pb.InputError, match="more than the grid"):
        st.observe_periodic(data, m=10**9)
    assert st.observe_periodic(data, m=32).u.shape == (2, 32)
