"""Pickling, as Dask tasks need it: models pickle as their checkpoint and train on bit-identically;
problems pickle by name (built-in) or by description and callables; data and conditions round
trip exactly; lambdas need cloudpickle and standard pickle says so."""

from __future__ import annotations

import copy
import dataclasses
import io
import pickle
import threading
import time
import warnings

import numpy as np
import pytest

import pinnbilo as pb
from pinnbilo import checkpoint
from pinnbilo import expr as ex
from pinnbilo.problem import NotPicklableError, problem_from_dict

cloudpickle = pytest.importorskip("cloudpickle")

PI = np.pi


# -- module-level callables: standard pickle takes them by reference ---------------------------------
def d_true(z: np.ndarray) -> np.ndarray:
    return 1.0 + 0.5 * np.sin(PI * z[:, 0])


def source_f(p: np.ndarray) -> np.ndarray:
    """f = -(D u')' for D = d_true, u = sin(pi x)."""
    x = p[:, 0]
    return PI**2 * np.sin(PI * x) * (1.0 + 0.5 * np.sin(PI * x)) - 0.5 * PI**2 * np.cos(PI * x) ** 2


def solution_u(points: np.ndarray, p) -> np.ndarray:
    return p["k"] * np.sin(PI * points[:, 0])


def custom_problem(solution=solution_u, source=source_f, true=d_true) -> pb.Problem:
    """Variable-coefficient Poisson: unknown function D(x), parameter k, known source f."""
    d = pb.Function("D", transform="1 + x*(1 - x)*N", hidden=(4,), true=true)
    return pb.Problem(
        ("x",),
        {"x": (0.0, 1.0)},
        [pb.Parameter("k", 1.5, bounds=(0.0, 5.0), true=1.0)],
        "D*u.xx + D.x*u.x + k*f",
        transform="x*(1 - x)*N",
        functions=[d],
        sources={"f": source},
        solution=solution,
        name="custom_poisson",
    )


def lambda_problem() -> pb.Problem:
    return custom_problem(
        solution=lambda points, p: p["k"] * np.sin(PI * points[:, 0]),
        source=lambda p: source_f(p),
        true=lambda z: 1.0 + 0.5 * np.sin(PI * z[:, 0]),
    )


def system_problem() -> pb.Problem:
    """Lotka-Volterra with a condition as a loss term (as in test_systems)."""
    params = [pb.Parameter(n, 0.8, (0, None), true=v) for n, v in zip("abcd", (1.0, 0.5, 0.5, 1.0))]
    return pb.Problem(
        ("t",),
        {"t": (0, 6)},
        params,
        {"prey": "x.t - (a*x - b*x*y)", "predator": "y.t - (c*x*y - d*y)"},
        transform={"x": "1 + t*N", "y": "0.5 + t*N"},
        fields=("x", "y"),
        conditions=[pb.Condition("y.t - c*x*y + d*y", on="t=6", weight=2.0)],
        name="lv",
    )


def system_observations(problem: pb.Problem) -> list:
    """Observations of a field with per-point sigma, another field, an integral, an expression."""
    rng = np.random.default_rng(3)
    t1, t2, t4 = np.linspace(0.3, 6, 7), np.linspace(0.1, 5.5, 5), np.linspace(0.5, 5, 4)
    return [
        pb.Data(t1, 1 + 0.1 * rng.standard_normal(7), of="x", sigma=0.05 + 0.02 * rng.random(7)),
        pb.Data(t2, 0.5 + 0.1 * rng.standard_normal(5), of="y", sigma=0.1),
        problem.integral_data("x", value=6.3, n=6, sigma=0.2),
        pb.Data(t4, rng.standard_normal(4), of="x.t + y", sigma=0.3),
    ]


def make_model(kind: str, cls, dtype: str) -> pb.Model:
    if kind == "builtin":
        problem = pb.problems.get("exponential", a_true=2.0, a_init=1.0)
        return cls(
            problem, problem.synthetic_data(12, noise=0.01, seed=1), hidden=(8, 8), n_res=31, dtype=dtype, seed=2
        )
    if kind == "custom":
        problem = custom_problem()
        data = problem.synthetic_data(10, noise=0.01, seed=1)
        return cls(problem, data, hidden=(6,), n_res=21, dtype=dtype, seed=3, w_reg=1e-3)
    problem = system_problem()
    return cls(problem, system_observations(problem), hidden=(8,), n_res=25, dtype=dtype, seed=4)


def train(model: pb.Model, steps: int, first: bool = False) -> None:
    pretrain = 10 if first and model.method == "bilo" else 0
    model.fit(steps=steps, pretrain_steps=pretrain, lr=3e-3, lr_params=1e-2, amsgrad=True, schedule="cosine")


def assert_same_state(a: pb.Model, b: pb.Model) -> None:
    """Everything training reads and writes, bit for bit."""
    assert type(a) is type(b) and a.step == b.step
    ta, tb = a._trainer, b._trainer
    np.testing.assert_array_equal(ta.get_weights(), tb.get_weights())
    np.testing.assert_array_equal(ta.get_raw_params(), tb.get_raw_params())
    sa, sb = ta.get_adam_state(), tb.get_adam_state()
    for group in ("weights", "params"):
        for key in ("m", "v", "v_max"):
            np.testing.assert_array_equal(np.asarray(sa[group][key]), np.asarray(sb[group][key]))
        assert sa[group]["t"] == sb[group]["t"]
    assert a.params == b.params
    ha, hb = a.history, b.history
    for key in ("step", "total", "res", "rgrad", "data", "reg"):
        np.testing.assert_array_equal(getattr(ha, key), getattr(hb, key))
    assert ha.params.keys() == hb.params.keys()
    for name in ha.params:
        np.testing.assert_array_equal(ha.params[name], hb.params[name])
    assert a.losses() == b.losses()
    points = a.problem.grid(7)
    pa, pb_ = a.predict(points), b.predict(points)
    if isinstance(pa, dict):
        assert pa.keys() == pb_.keys()
        for f in pa:
            np.testing.assert_array_equal(pa[f], pb_[f])
    else:
        np.testing.assert_array_equal(pa, pb_)
    for name in a.problem.function_names:
        np.testing.assert_array_equal(a.function(name, points), b.function(name, points))


def programs(p: pb.Problem) -> list:
    """What the core is given: every compiled program, condition weights and points."""
    out = [(c.ops, c.leaves) for c in [*p.compiled_residuals, *p.compiled_transforms, *p.compiled_functions]]
    out += [(c.program.ops, c.program.leaves, c.weight, c.paired, c.points.tolist()) for c in p.compiled_conditions]
    return out


def assert_same_problem(p: pb.Problem, q: pb.Problem) -> None:
    assert q.to_dict() == p.to_dict()
    assert programs(q) == programs(p)
    assert (q.name, q.spec, q.fields, q.coords, q.params) == (p.name, p.spec, p.fields, p.coords, p.params)
    assert list(q.sources) == list(p.sources)
    assert q.residuals == p.residuals and q.transforms == p.transforms


# -- models ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["builtin", "custom", "system"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("cls", [pb.PINN, pb.BiLO])
def test_unpickled_model_trains_on_bit_identically(kind, dtype, cls):
    model = make_model(kind, cls, dtype)
    train(model, 25, first=True)
    back = pickle.loads(pickle.dumps(model))
    assert back is not model and back._lock is not model._lock
    assert back.dtype == dtype and back.problem.to_dict() == model.problem.to_dict()
    assert_same_state(back, model)
    train(model, 20)
    train(back, 20)
    assert_same_state(back, model)
    assert back.step == model.step == 20 + 25 + (10 if cls is pb.BiLO else 0)


def test_model_pickles_as_its_checkpoint():
    model = make_model("builtin", pb.BiLO, "float64")
    train(model, 15, first=True)
    blob = pickle.dumps(model)
    ckpt = checkpoint.to_bytes(model)
    # The pickle is the checkpoint plus the problem's name and arguments and the reconstructor.
    assert ckpt in blob and len(blob) - len(ckpt) < 1000
    assert pickle.dumps(model) == blob  # deterministic: equal models, equal pickles (Dask's tokens)
    assert_same_state(checkpoint.from_bytes(ckpt), model)
    # The file save writes holds the same bytes.
    buf = io.BytesIO()
    checkpoint._write_npz(buf, checkpoint._arrays(model))
    assert buf.getvalue() == ckpt


def test_system_model_keeps_its_observations_and_layout():
    problem = system_problem()
    model = pb.BiLO(problem, system_observations(problem), hidden=(6,), networks="per_field", n_res=9)
    train(model, 10)
    back = pickle.loads(pickle.dumps(model))
    assert back.networks == "per_field" and back.normalize_inputs is None
    assert [d.of for d in back.observations] == ["x", "y", "x", "x.t + y"]
    for a, b in zip(model.observations, back.observations):
        assert_data_equal(a, b)
    np.testing.assert_array_equal(back.collocation, model.collocation)
    assert back.weights_config == model.weights_config and back.param_gains == model.param_gains
    train(model, 10)
    train(back, 10)
    assert_same_state(back, model)


def test_deepcopy_and_cloudpickle_of_a_model():
    model = make_model("custom", pb.PINN, "float64")
    train(model, 10)
    for back in (copy.deepcopy(model), cloudpickle.loads(cloudpickle.dumps(model))):
        assert_same_state(back, model)
        back.fit(steps=5, lr=1e-3)
        assert back.step == model.step + 5


def test_model_of_a_lambda_problem_needs_cloudpickle():
    problem = lambda_problem()
    model = pb.BiLO(problem, problem.synthetic_data(8, noise=0.01, seed=0), hidden=(6,), n_res=21)
    train(model, 10, first=True)
    with pytest.raises(NotPicklableError, match="cloudpickle"):
        pickle.dumps(model)
    back = pickle.loads(cloudpickle.dumps(model))
    x = np.linspace(0, 1, 9)
    np.testing.assert_array_equal(back.problem.known_values(x[:, None]), problem.known_values(x[:, None]))
    np.testing.assert_array_equal(back.problem.true_function("D", x), problem.true_function("D", x))
    train(model, 10)
    train(back, 10)
    assert_same_state(back, model)
    assert back.function_errors(x) == model.function_errors(x)


def test_pickling_during_fit_waits_for_the_model_lock():
    """A pickle from another thread while fit runs waits for the whole fit: never a half run."""
    model = make_model("builtin", pb.PINN, "float64")
    running = threading.Event()

    def slow(m, step):
        running.set()
        time.sleep(0.002)

    thread = threading.Thread(target=lambda: model.fit(steps=300, callback=slow, callback_every=10, lr=1e-3))
    thread.start()
    assert running.wait(30)
    blob = pickle.dumps(model)  # taken under the lock: after the fit
    thread.join()
    back = pickle.loads(blob)
    assert back.step == model.step == 300
    assert_same_state(back, model)


def test_from_bytes_runs_loads_checks():
    model = make_model("builtin", pb.PINN, "float64")
    train(model, 5)
    ckpt = checkpoint.to_bytes(model)
    with pytest.raises(pb.InputError, match="not a readable pinnbilo checkpoint"):
        checkpoint.from_bytes(ckpt[: len(ckpt) // 2])
    with pytest.raises(pb.InputError, match="checkpoint in memory is bytes"):
        checkpoint.from_bytes("text")  # type: ignore[arg-type]
    with pytest.raises(pb.InputError, match="does not match the checkpoint"):
        checkpoint.from_bytes(ckpt, problem=pb.problems.logistic_growth())
    with np.load(io.BytesIO(ckpt)) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["adam_weights_v"] = np.full_like(arrays["adam_weights_v"], np.nan)
    bad = io.BytesIO()
    np.savez(bad, **arrays)
    with pytest.raises(pb.InputError, match="the checkpoint in memory.*NaN or inf"):
        checkpoint.from_bytes(bad.getvalue())


# -- problems --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(pb.problems.BUILTINS))
def test_builtin_problems_pickle_by_name(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = pb.problems.get(name)
        blob = pickle.dumps(p)
        q = pickle.loads(blob)
    assert len(blob) < 1000, len(blob)  # the name and arguments, not the problem's arrays or code
    assert_same_problem(p, q)
    if name != "fisher_kpp":  # its reference solve takes seconds; its exact solution is by name as well
        points = p.grid(4)
        np.testing.assert_array_equal(q.exact(points), p.exact(points))
    for f in p.function_names:
        points = p.grid(5)
        np.testing.assert_array_equal(q.true_function(f, points), p.true_function(f, points))


def test_builtin_problem_keeps_its_arguments():
    p = pb.problems.get("exponential", a_true=3.0, a_init=0.5, t_span=[0.5, 2.0], bounds=[0.0, 10.0])
    q = pickle.loads(pickle.dumps(p))
    assert q.spec == p.spec and q.params == p.params and q.domain == {"t": (0.5, 2.0)}
    np.testing.assert_array_equal(q.exact([0.7, 1.9]), p.exact([0.7, 1.9]))
    assert_same_problem(p, q)
    lv = pb.problems.lotka_volterra(alpha=1.2, t_end=2.0)
    back = pickle.loads(pickle.dumps(lv))
    np.testing.assert_array_equal(back.exact([0.3, 1.5]), lv.exact([0.3, 1.5]))
    assert back.true_params == lv.true_params and back.domain == lv.domain


def test_custom_problem_with_module_level_callables_pickles_by_reference():
    p = custom_problem()
    blob = pickle.dumps(p)
    assert b"source_f" in blob and b"d_true" in blob  # by reference
    q = pickle.loads(blob)
    assert_same_problem(p, q)
    assert q.solution is solution_u and q.sources["f"] is source_f and q.get_function("D").true is d_true
    x = np.linspace(0, 1, 11)
    np.testing.assert_array_equal(q.exact(x, {"k": 2.0}), p.exact(x, {"k": 2.0}))
    assert len(blob) < 10_000, len(blob)


@pytest.mark.parametrize("what", ["solution", "source", "true"])
def test_standard_pickle_of_a_lambda_names_it_and_suggests_cloudpickle(what):
    p = custom_problem(**{what: lambda *args: 0.0})
    words = {"solution": "exact solution", "source": "source 'f'", "true": "true function 'D'"}[what]
    with pytest.raises(NotPicklableError, match=f"its {words} <function .*lambda.*cloudpickle") as info:
        pickle.dumps(p)
    assert isinstance(info.value, pb.InputError) and isinstance(info.value, pickle.PicklingError)
    assert "module-level function" in str(info.value) and "custom_poisson" in str(info.value)


def test_cloudpickle_round_trips_lambdas_by_value():
    p = lambda_problem()
    q = pickle.loads(cloudpickle.dumps(p))
    assert_same_problem(p, q)
    x = np.linspace(0, 1, 13)[:, None]
    np.testing.assert_array_equal(q.exact(x, {"k": 0.7}), p.exact(x, {"k": 0.7}))
    np.testing.assert_array_equal(q.known_values(x), p.known_values(x))
    np.testing.assert_array_equal(q.true_function("D", x), p.true_function("D", x))
    # copy.deepcopy keeps the callables as they are.
    r = copy.deepcopy(p)
    assert r.solution is p.solution and r.sources["f"] is p.sources["f"]


def test_functions_pickle_alone():
    f = pb.Function("D", inputs=("x",), transform="exp(N)", hidden=(3, 2), activation="sin", true=d_true)
    assert pickle.loads(pickle.dumps(f)) == f
    g = dataclasses.replace(f, true=lambda z: z[:, 0])
    with pytest.raises(NotPicklableError, match="function 'D'.*true function"):
        pickle.dumps(g)
    h = cloudpickle.loads(cloudpickle.dumps(g))
    np.testing.assert_array_equal(h.true(np.ones((2, 1))), np.ones(2))


def test_problem_from_expressions_and_conditions_round_trips_exactly():
    u, t, a = ex.u, ex.coord("t"), ex.param("a")
    p = pb.Problem(
        ("t", "x"),
        {"t": (0.0, 1.0), "x": (-1.0, 2.0)},
        [pb.Parameter("a", 0.5, bounds=(0.0, None), true=1.25, scale=0.1)],
        u.t - (-2.5) * a * u.xx + ex.sin(t) * -0.0,
        transform=ex.N * t + ex.as_expr(-1.5),
        conditions=[
            pb.dirichlet("x=-1", "sin(pi*t)", weight=0.5, n=7),
            pb.neumann("x=2", "a", n=5),
            pb.robin("x=high", "a", 2.0, g=ex.coord("t")),
            pb.periodic("x", "u.x", n=4),
            pb.Condition(u - 1.0, points=np.array([[0.5, 0.25], [0.125, -0.5]]), weight=3.0, name="pinned"),
        ],
        name="exprs",
        spec={"note": "not built in"},
    )
    q = pickle.loads(pickle.dumps(p))
    assert_same_problem(p, q)
    assert q.spec == {"note": "not built in"}
    # From the stored description alone, as a checkpoint does: the same problem too.
    assert_same_problem(p, problem_from_dict(p.to_dict()))


# -- data and conditions ---------------------------------------------------------------------------
def assert_data_equal(a: pb.Data, b: pb.Data) -> None:
    for field in dataclasses.fields(pb.Data):
        x, y = getattr(a, field.name), getattr(b, field.name)
        if isinstance(x, np.ndarray):
            assert isinstance(y, np.ndarray) and x.dtype == y.dtype
            np.testing.assert_array_equal(x, y)
        else:
            assert x == y, field.name


def test_data_round_trips_exactly():
    problem = system_problem()
    data = [
        *system_observations(problem),
        *pb.problems.sir().synthetic_observations(6, noise=0.02, seed=5),
        pb.problems.exponential_growth().synthetic_data(9, noise=0.03, seed=2),
        pb.Data([[0.1], [0.2]], [1.0, 2.0], noise=0.5, of="x.t", sigma=np.array([0.1, 0.2])),
    ]
    for d in data:
        for dumps in (pickle.dumps, cloudpickle.dumps):
            back = pickle.loads(dumps(d))
            assert_data_equal(d, back)
            assert back.weights is None if d.weights is None else np.array_equal(back.weights, d.weights)
    assert any(d.integral for d in data) and any(d.sigma is not None for d in data)


def test_conditions_round_trip_exactly():
    conditions = [
        pb.dirichlet("x=0", "1 + t", field="v", weight=0.25, n=9),
        pb.neumann("x=1", ex.param("q")),
        pb.robin("x=high", "k", 1.0, g="2"),
        pb.initial("sin(pi*x)", derivative=1),
        pb.periodic("x", "u.x", weight=2.0),
        pb.Condition(ex.u - 2.0, points=np.array([[0.5, 0.5]]), name="pinned"),
    ]
    for c in conditions:
        back = pickle.loads(pickle.dumps(c))
        for field in dataclasses.fields(pb.Condition):
            x, y = getattr(c, field.name), getattr(back, field.name)
            if isinstance(x, np.ndarray):
                np.testing.assert_array_equal(x, y)
            else:
                assert x == y, field.name
        assert back.label == c.label
