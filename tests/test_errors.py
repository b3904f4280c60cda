"""Bad input raises clear pinnbilo errors, never a crash or a silent wrong answer."""

import numpy as np
import pytest

import pinnbilo as pb
from pinnbilo import _core


def test_error_hierarchy():
    assert issubclass(pb.InputError, pb.PinnbiloError) and issubclass(pb.InputError, ValueError)
    assert issubclass(pb.TrainingDiverged, pb.PinnbiloError) and issubclass(pb.TrainingDiverged, RuntimeError)


@pytest.mark.parametrize(
    "points,values,match",
    [
        ([0.1, 0.2, 0.3], [1.0, 2.0], "to match the points"),
        ([], [], "empty"),
        ([0.1, np.nan], [1.0, 2.0], "NaN or inf"),
        ([0.1, 0.2], [1.0, np.inf], r"NaN or inf at indices \[1\]"),
        (np.zeros((2, 2, 2)), [1.0, 2.0], "shape"),
    ],
)
def test_bad_data(points, values, match):
    with pytest.raises(pb.InputError, match=match):
        pb.Data(points, values)


def test_data_with_wrong_number_of_coordinates(exp_problem):
    data = pb.Data(np.zeros((3, 2)), np.zeros(3))
    with pytest.raises(pb.InputError, match="columns"):
        pb.PINN(exp_problem, data)


@pytest.mark.parametrize(
    "residual,match",
    [
        ("u.t - b*u", "unknown name 'b'.*known names: a"),
        ("u.x - a*u", "'x' is not a coordinate"),
        ("u.t - a*gamma(u)", "unknown function 'gamma'"),
        ("u.t - a*", "cannot parse"),
        ("u.t - a*u if a else u", "unsupported syntax"),
        ("a*t", "must use u"),
        ("u.t - a*u[0]", "unsupported syntax"),
    ],
)
def test_bad_residuals(residual, match):
    with pytest.raises(pb.InputError, match=match):
        pb.ode_problem(residual, 1.0, {"a": 1.0})


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"hidden": (0, 4)}, "positive layer widths"),
        ({"hidden": ()}, "positive layer widths"),
        ({"activation": "relu"}, "unknown activation"),
        ({"dtype": "float16"}, "dtype"),
        ({"seed": -1}, "seed"),
        ({"n_res": 0}, "positive integer"),
        ({"w_data": -1.0}, "w_data"),
        ({"collocation": [[0.1, 0.2]]}, "shape"),
        ({"collocation": [0.1, np.nan]}, "NaN or inf"),
    ],
)
def test_bad_model_arguments(kwargs, match, exp_problem, exp_data):
    with pytest.raises(pb.InputError, match=match):
        pb.BiLO(exp_problem, exp_data, **kwargs)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"steps": -5}, "steps"),
        ({"lr": 0.0}, "lr must be a positive"),
        ({"lr_params": float("nan")}, "lr_params"),
        ({"tol": -1.0}, "tol"),
        ({"callback_every": 0}, "callback_every"),
        ({"on_diverge": "ignore"}, "on_diverge"),
    ],
)
def test_bad_fit_arguments(kwargs, match, exp_problem, exp_data):
    m = pb.BiLO(exp_problem, exp_data, hidden=(4,))
    with pytest.raises(pb.InputError, match=match):
        m.fit(**kwargs)


def test_pretraining_is_bilo_only(exp_problem, exp_data):
    with pytest.raises(pb.InputError, match="BiLO phase"):
        pb.PINN(exp_problem, exp_data, hidden=(4,)).fit(pretrain_steps=10)


def test_bad_parameters_and_bounds():
    with pytest.raises(pb.InputError, match="outside its bounds"):
        pb.Parameter("a", 5.0, bounds=(0.0, 1.0))
    with pytest.raises(pb.InputError, match="below upper"):
        pb.Parameter("a", 0.5, bounds=(1.0, 0.0))
    with pytest.raises(pb.InputError, match="reserved"):
        pb.Parameter("u", 1.0)
    with pytest.raises(pb.InputError, match="finite"):
        pb.Parameter("a", float("inf"))
    with pytest.raises(pb.InputError, match="duplicate"):
        pb.ode_problem("u.t - a*u", 1.0, [pb.Parameter("a", 1.0), pb.Parameter("a", 2.0)])


def test_set_params_outside_bounds_and_unknown_name():
    problem = pb.problems.exponential_growth(bounds=(0.0, 3.0))
    m = pb.PINN(problem, problem.synthetic_data(5), hidden=(4,))
    with pytest.raises(pb.InputError, match="outside its bounds"):
        m.set_params({"a": 3.5})
    with pytest.raises(pb.InputError, match="unknown parameter 'b'"):
        m.set_params({"b": 1.0})


def test_bad_domains():
    with pytest.raises(pb.InputError, match="low .* must be below high"):
        pb.ode_problem("u.t - a*u", 1.0, {"a": 1.0}, t_span=(1.0, 0.0))
    with pytest.raises(pb.InputError, match="no interval for coordinate 'x'"):
        pb.Problem(("t", "x"), {"t": (0, 1)}, [], "u.t - u.xx")
    with pytest.raises(pb.InputError, match="finite"):
        pb.ode_problem("u.t - a*u", 1.0, {"a": 1.0}, t_span=(0.0, float("inf")))


def test_bad_weights(exp_problem, exp_data):
    m = pb.PINN(exp_problem, exp_data, hidden=(4, 3))
    layers = m.get_weights()
    assert [w.shape for w, _ in layers] == [(4, 1), (3, 4), (1, 3)]
    with pytest.raises(pb.InputError, match="layer 1: expected W"):
        m.set_weights([layers[0], (layers[1][0].T, layers[1][1]), layers[2]])
    with pytest.raises(pb.InputError, match="expected 3 layers"):
        m.set_weights(layers[:2])
    bad = [(w.copy(), b.copy()) for w, b in layers]
    bad[0][0][0, 0] = np.nan
    with pytest.raises(pb.InputError, match="NaN or inf"):
        m.set_weights(bad)
    m.set_weights(layers)  # the round trip itself works


def test_predict_bad_points_and_names(exp_problem, exp_data):
    m = pb.BiLO(exp_problem, exp_data, hidden=(4,))
    with pytest.raises(pb.InputError, match="shape"):
        m.predict(np.zeros((3, 2)))
    with pytest.raises(pb.InputError, match="NaN"):
        m.predict([np.nan])
    with pytest.raises(pb.InputError, match="empty"):
        m.predict(np.zeros((0, 1)))
    with pytest.raises(pb.InputError, match="cannot read derivative"):
        m.predict([0.5], ["u_q"])
    with pytest.raises(pb.InputError, match="look like"):
        m.predict([0.5], ["v_t"])


def test_unknown_objective(exp_problem, exp_data):
    m = pb.PINN(exp_problem, exp_data, hidden=(4,))
    with pytest.raises(pb.InputError, match="unknown objective"):
        m.objective("middle", np.zeros(3))
    with pytest.raises(pb.InputError, match="shape"):
        m.objective("pinn", np.zeros(3))


def test_core_validates_directly():
    """The C++ side checks what it is given too (for embedders and for the bindings)."""
    with pytest.raises(pb.InputError, match="positive"):
        _core.mlp_init([1, 0, 1], "tanh", 0)
    with pytest.raises(pb.InputError, match="unknown function"):
        _core.mlp_init([1, 4, 1], "relu", 0)
    with pytest.raises(pb.InputError, match="expected shape"):
        _core.mlp_derivatives([2, 3, 1], "tanh", _core.mlp_init([2, 3, 1], "tanh", 0), np.zeros((4, 3)), [[0, 0]])
    with pytest.raises(pb.InputError, match="length"):
        _core.mlp_derivatives([2, 3, 1], "tanh", np.zeros(5), np.zeros((4, 2)), [[0, 0]])
    with pytest.raises(pb.InputError, match="NaN or inf"):
        _core.mlp_derivatives(
            [2, 3, 1], "tanh", _core.mlp_init([2, 3, 1], "tanh", 0), np.full((4, 2), np.nan), [[0, 0]]
        )
    with pytest.raises(pb.InputError, match="one entry per network input"):
        _core.mlp_derivatives([2, 3, 1], "tanh", _core.mlp_init([2, 3, 1], "tanh", 0), np.zeros((4, 2)), [[0]])
    with pytest.raises(pb.InputError, match="earlier op"):
        _core.Trainer64(
            [1, 3, 1],
            "tanh",
            0,
            1,
            0,
            [(2, 1, 0, 0.0, 0, -1)],
            [],
            [(0, -1, -1, 0.0, 0, 0)],
            [(3, 0, [0])],
            [],
            np.zeros((3, 1)),
            np.zeros((2, 1)),
            np.zeros(2),
            {},
            0,
        )
    with pytest.raises(pb.InputError, match="at least one data point"):
        _core.Trainer64(
            [1, 3, 1],
            "tanh",
            0,
            1,
            0,
            [(0, -1, -1, 0.0, 0, 0)],
            [(2, 0, [])],
            [(0, -1, -1, 0.0, 0, 0)],
            [(3, 0, [1])],
            [],
            np.zeros((3, 1)),
            np.zeros((0, 1)),
            np.zeros(0),
            {},
            0,
        )


def test_points_outside_the_domain(exp_problem):
    with pytest.raises(pb.InputError, match="1 of the data points lie outside the domain"):
        pb.PINN(exp_problem, pb.Data([0.5, 1.5], [1.0, 2.0]))
    with pytest.raises(pb.InputError, match="collocation points lie outside"):
        pb.BiLO(exp_problem, exp_problem.synthetic_data(5), collocation=[-0.1, 0.5])


def test_non_numeric_input():
    with pytest.raises(pb.InputError, match="numeric"):
        pb.Data(["a", "b"], [1.0, 2.0])
    with pytest.raises(pb.InputError, match="numeric"):
        pb.Data([[0.1], [0.2, 0.3]], [1.0, 2.0])
