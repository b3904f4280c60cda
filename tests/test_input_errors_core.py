"""Bad input to problems, conditions, expressions and models raises a clear InputError naming the
argument: never a bare TypeError/OverflowError/RuntimeError, and never a silent acceptance."""

import numpy as np
import pytest

import pinnbilo as pb
from pinnbilo import expr as ex

HUGE = 10**5000  # repr() and float() of it raise; messages must still be made


class Hostile:
    """An object whose repr, iteration and float conversion raise."""

    def __repr__(self) -> str:
        raise RuntimeError("hostile __repr__")

    def __iter__(self):
        raise RuntimeError("hostile __iter__")

    def __float__(self) -> float:
        raise RuntimeError("hostile __float__")


@pytest.fixture(scope="module")
def problem():
    return pb.problems.exponential_growth()


@pytest.fixture(scope="module")
def data(problem):
    return problem.synthetic_data(6, noise=0.01)


@pytest.fixture
def model(problem, data):
    return pb.PINN(problem, data, hidden=(4,), n_res=7)


def _base_problem(**kw):
    args = dict(coords=("t",), domain={"t": (0.0, 1.0)}, params=[pb.Parameter("a", 1.0)], residual="u.t - a*u")
    args.update(kw)
    return pb.Problem(**args)


# -- numbers too large for float64, and values whose repr fails -------------------------------------
@pytest.mark.parametrize(
    "build,words",
    [
        (lambda: pb.Parameter("a", HUGE), "initial guess of 'a'"),
        (lambda: pb.Parameter(HUGE, 1.0), "parameter name"),
        (lambda: pb.Parameter("a", 1.0, bounds=(None, HUGE)), "upper bound of 'a'"),
        (lambda: pb.ode_problem("u.t - a*u", HUGE, {"a": 1.0}), "u0"),
        (lambda: pb.ode_problem("u.t - a*u", 1.0, {"a": 1.0}, t_span=(HUGE, 1.0)), "t_span"),
        (lambda: pb.dirichlet("x=0", value=HUGE), "value"),
        (lambda: pb.Condition("u", on="x=0", weight=HUGE), "weight"),
        (lambda: ex.u.t - ex.const(HUGE) * ex.u, "expression constant"),
        (lambda: ex.u.d(t=HUGE), "derivative order"),
        (lambda: pb.ode_problem("u.t - " + "1" + "0" * 4000 + "*u", 1.0, {"a": 1.0}), "expression constant"),
        (lambda: pb.Data([[0.5]], [1.0], noise=HUGE), "noise"),
        (lambda: pb.Data([[0.5]], [HUGE]), "data values"),
        (lambda: pb.problems.get(HUGE), "unknown problem"),
        (lambda: pb.problems.get("sir", i0=HUGE), "i0"),
        (lambda: pb.Parameter("a", Hostile()), "initial guess of 'a'"),
        (lambda: pb.Data([[0.5]], Hostile()), "data values"),
    ],
)
def test_huge_and_hostile_numbers_are_refused_by_name(build, words):
    with pytest.raises(pb.InputError, match=words):
        build()


# -- a scalar where a sequence is wanted, a non-callable where a function is ---------------------
@pytest.mark.parametrize(
    "kwargs,words",
    [
        (dict(coords=1.5), "coords"),
        (dict(coords=Hostile()), "coords"),
        (dict(functions=None), "functions"),
        (dict(sources="abc"), "sources"),
        (dict(sources={"s": 3.0}), "source 's'"),
        (dict(solution="abc"), "solution"),
        (dict(name=None), "name"),
        (dict(spec="abc"), "spec"),
        (dict(spec={"x": float("nan")}), "spec"),
        (dict(periodic=[1]), "periodic"),
    ],
)
def test_problem_arguments_of_the_wrong_kind_are_refused(kwargs, words):
    with pytest.raises(pb.InputError, match=words):
        _base_problem(**kwargs)


def test_a_json_dict_is_a_valid_spec():
    assert _base_problem(spec={"note": "not built in"}).spec == {"note": "not built in"}


@pytest.mark.parametrize(
    "kwargs,words",
    [
        (dict(hidden=5), "hidden of function 'D'"),
        (dict(hidden=(10**9,)), "layer widths above"),
        (dict(hidden=(4096,) * 20), "weights between its layers"),
        (dict(inputs=7), "inputs of function 'D'"),
        (dict(activation=np.array(["tanh"])), "activation"),
        (dict(true=1 + 2j), "true of function 'D'"),
    ],
)
def test_function_arguments_are_checked_up_front(kwargs, words):
    with pytest.raises(pb.InputError, match=words):
        pb.Function("D", **kwargs)


def test_true_function_returning_complex_values_is_refused():
    f = pb.Function("D", transform="1 + x*(1 - x)*N", hidden=(4,), true=lambda z: np.ones(len(z)) * (1 + 1j))
    problem = pb.Problem(("x",), {"x": (0, 1)}, [], "D*u.xx + D.x*u.x + 1", "x*(1 - x)*N", functions=[f])
    with pytest.raises(pb.InputError, match="complex"):
        problem.true_function("D", np.linspace(0.1, 0.9, 5))


@pytest.mark.parametrize(
    "build,words",
    [
        (lambda p: p.synthetic_data(5, seed=None), "seed"),
        (lambda p: p.synthetic_data(5, noise=True), "noise"),
        (lambda p: p.grid(5, interior=1), "interior"),
        (lambda p: p.exact(True), "points"),
        (lambda p: p.field_index(np.array(["u"])), "unknown field"),
        (lambda p: p.get_function(HUGE), "unknown function"),
        (lambda p: pb.problems.final_time_data(p, n=5), "coordinates \\(x, t\\)"),
        (lambda p: pb.problems.get("lorenz", hard_initial=0), "hard_initial"),
        (lambda p: pb.problems.get("exponential", t_span=0.5), "t_span"),
        (lambda p: pb.neumann(on=3.0), "on"),
        (lambda p: pb.Condition("u - 1", on="x=0", name=5), "name"),
        (lambda p: pb.Data([[0.5]], [1.0], sigma=True), "sigma"),
    ],
)
def test_problem_methods_and_helpers_refuse_bad_values(problem, build, words):
    with pytest.raises(pb.InputError, match=words):
        build(problem)


def test_heat_final_time_data_caps_its_size():
    heat = pb.problems.heat_initial()
    with pytest.raises(pb.InputError, match="over the limit"):
        pb.problems.final_time_data(heat, n=10**9)
    assert len(pb.problems.final_time_data(heat, n=4)) == 4


def test_table_with_complex_column_is_refused(problem):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"t": [0.2, 0.5], "u": [1 + 1j, 2.0]})
    with pytest.raises(pb.InputError, match="column 'u'.*complex"):
        pb.Data.from_table(frame, ("t",))


# -- models ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs,words",
    [
        (dict(normalize_inputs=0), "normalize_inputs"),
        (dict(activation=np.array(["tanh"])), "activation"),
        (dict(dtype=["float64"]), "dtype"),
        (dict(networks={"a": 1}), "networks"),
        (dict(hidden=Hostile()), "hidden"),
        (dict(seed=Hostile()), "seed"),
        (dict(seed=2**64), "seed"),
        (dict(w_res=True), "w_res"),
        (dict(w_data=HUGE), "w_data"),
        (dict(collocation=True), "collocation"),
        (dict(n_res=HUGE), "grid size n"),
    ],
)
def test_model_constructor_refuses_bad_values(problem, data, kwargs, words):
    with pytest.raises(pb.InputError, match=words):
        pb.BiLO(problem, data, **{"hidden": (4,), "n_res": 5, **kwargs})


def test_collocation_too_large_for_memory_is_refused_before_allocation(problem, data, monkeypatch):
    from pinnbilo import model as model_module

    monkeypatch.setattr(model_module, "_available_bytes", lambda: 2.0**28)
    with pytest.raises(pb.InputError, match="GiB"):
        pb.PINN(problem, data, hidden=(8,), collocation=np.linspace(0, 1, 2_000_000))


@pytest.mark.parametrize(
    "kwargs,words",
    [
        (dict(amsgrad=1), "amsgrad"),
        (dict(progress="yes"), "progress"),
        (dict(callback=3), "callback"),
        (dict(steps=2**63), "steps"),
        (dict(callback_every=2**63), "callback_every"),
        (dict(patience=HUGE), "patience"),
        (dict(lr=True), "lr"),
        (dict(lr_params=HUGE), "lr_params"),
        (dict(keep={"a": 1}), "keep"),
        (dict(monitor=np.array(["total"])), "monitor"),
        (dict(on_diverge=np.array(["raise"])), "on_diverge"),
        (dict(max_iter_lower=np.array([1])), "max_iter_lower"),
        (dict(spike_factor=HUGE), "spike_factor"),
        (dict(schedule={"kind": "cosine", "patience": HUGE}), "schedule patience"),
    ],
)
def test_fit_refuses_bad_options_without_touching_the_model(model, kwargs, words):
    before = (model.step, model.state_vector("pinn").tobytes())
    with pytest.raises(pb.InputError, match=words):
        model.fit(**{"steps": 2, **kwargs})
    assert (model.step, model.state_vector("pinn").tobytes()) == before


def test_fit_from_inside_its_own_callback_is_refused(model):
    calls = []

    def callback(m, step):
        calls.append(step)
        m.fit(steps=2)

    with pytest.raises(pb.InputError, match="inside a callback"):
        model.fit(steps=10, callback=callback, callback_every=5)
    assert calls == [5]
    # The model is usable afterwards: a later fit runs its callbacks again.
    later = []
    model.fit(steps=10, callback=lambda m, s: later.append(s), callback_every=5)
    assert later == [model.step - 5, model.step]


@pytest.mark.parametrize(
    "call,words",
    [
        (lambda m: m.set_state_vector("pinn", 1.5), "x"),
        (lambda m: m.set_state_vector("pinn", np.zeros(3)), "shape"),
        (lambda m: m.set_state_vector(np.array(["pinn"]), np.zeros(3)), "unknown objective"),
        (lambda m: m.objective(HUGE, np.zeros(3)), "unknown objective"),
        (lambda m: m.state_vector({"a": 1}), "unknown objective"),
        (lambda m: m.set_params({"a": HUGE}), "parameter 'a'"),
        (lambda m: m.predict([0.5], field=np.array(["u"])), "unknown field"),
        (lambda m: m.predict(True), "points"),
        (lambda m: m.set_weights([(np.full(w.shape, HUGE, dtype=object), b) for w, b in m.get_weights()]), "W"),
        (lambda m: m.save("/tmp/\ud800.npz"), "path"),
    ],
)
def test_model_methods_refuse_bad_values_and_keep_the_state(model, call, words):
    before = model.state_vector("pinn").tobytes()
    with pytest.raises(pb.InputError, match=words):
        call(model)
    assert model.state_vector("pinn").tobytes() == before


def test_set_state_vector_with_nan_is_refused(model):
    x = model.state_vector("pinn")
    x[0] = np.nan
    with pytest.raises(pb.InputError, match="NaN or inf"):
        model.set_state_vector("pinn", x)
    assert np.all(np.isfinite(model.state_vector("pinn")))


def test_function_derivatives_must_be_a_list_of_mappings():
    problem = pb.problems.variable_poisson(hidden=(4,))
    m = pb.PINN(problem, problem.synthetic_data(5), hidden=(4,), n_res=7)
    with pytest.raises(pb.InputError, match="derivatives"):
        m.function("D", [0.5], derivatives=1.5)
    with pytest.raises(pb.InputError, match="unknown function"):
        m.function(np.array(["D"]), [0.5])
    # a single mapping is one derivative
    (dx,) = m.function("D", [0.25, 0.5], derivatives={"x": 1})
    assert dx.shape == (2,) and np.all(np.isfinite(dx))


class HostileArray:
    """An object whose __array__ and __len__ raise something other than TypeError."""

    def __array__(self, *args, **kwargs):
        raise RuntimeError("hostile __array__")

    def __len__(self) -> int:
        raise ZeroDivisionError("hostile __len__")


@pytest.mark.parametrize(
    "points, words",
    [
        (HostileArray(), "points"),
        (Hostile(), "points"),
        (np.array([True, False, True]), "True/False|booleans"),
        (True, "points"),
    ],
)
def test_arrays_from_hostile_or_boolean_objects_are_refused_by_name(problem, points, words):
    with pytest.raises(pb.InputError, match=words):
        pb.Data(points, [1.0, 2.0, 3.0])


@pytest.mark.parametrize("bounds", [Hostile(), HostileArray(), "ab"])
def test_bounds_from_hostile_objects_are_refused_by_name(bounds):
    with pytest.raises(pb.InputError, match="bounds"):
        pb.Parameter("a", init=1.0, bounds=bounds)
