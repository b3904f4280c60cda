"""Systems of equations, conditions as loss terms and general observations: losses against an
independent numpy reference (hyper-dual network derivatives), gradients against central finite
differences, and the errors a user meets."""

from __future__ import annotations

import numpy as np
import pytest

import pinnbilo as pb

import reference as ref

PARAMS = ("a", "b", "c", "d")
TRUE = {"a": 1.0, "b": 0.5, "c": 0.5, "d": 1.0}


def lotka_volterra(conditions=()) -> pb.Problem:
    params = [pb.Parameter(n, 0.8, (0, None), true=TRUE[n]) for n in PARAMS]
    return pb.Problem(
        ("t",),
        {"t": (0, 6)},
        params,
        {"prey": "x.t - (a*x - b*x*y)", "predator": "y.t - (c*x*y - d*y)"},
        transform={"x": "1 + t*N", "y": "0.5 + t*N"},
        fields=("x", "y"),
        conditions=conditions,
        name="lv",
    )


def observations() -> list:
    rng = np.random.default_rng(3)
    t1, t2, t4 = np.linspace(0.3, 6, 7), np.linspace(0.1, 5.5, 5), np.linspace(0.5, 5, 4)
    p = lotka_volterra()
    return [
        pb.Data(t1, 1 + 0.1 * rng.standard_normal(7), of="x", sigma=0.05 + 0.02 * rng.random(7)),
        pb.Data(t2, 0.5 + 0.1 * rng.standard_normal(5), of="y", sigma=0.1),
        p.integral_data("x", value=6.3, n=6, sigma=0.2),
        pb.Data(t4, rng.standard_normal(4), of="x.t + y", sigma=0.3),
    ]


CONDITION = pb.Condition("y.t - c*x*y + d*y", on="t=6", weight=2.0)


def reference_losses(model: pb.Model, collocation: np.ndarray, obs: list) -> dict:
    """res, rgrad, data of the Lotka-Volterra model from the numpy reference network."""
    sizes, w = model.sizes, model._trainer.get_weights()
    prm = model.params
    bilo = model.method == "bilo"

    # By default t in [0, 6] enters the network mapped to [-1, 1]: N(s) with s = (t - 3) / 3 and
    # d/dt = d/ds / 3; with normalize_inputs=False, s = t.
    scaling = model._input_scaling()
    shift, ds = (3.0, 1 / 3) if scaling else (0.0, 1.0)
    assert scaling in ({}, {"input_shift": [3.0], "input_scale": [1 / 3]})

    def fields_at(t):
        t = np.asarray(t, dtype=np.float64).reshape(-1)
        s = (t - shift) * ds
        inputs = np.column_stack([s] + ([np.full(t.size, prm[k]) for k in PARAMS] if bilo else []))
        n_in = inputs.shape[1]
        unit = lambda i: [1 if j == i else 0 for j in range(n_in)]  # noqa: E731
        two = lambda i, j: [int(k == i) + int(k == j) for k in range(n_in)]  # noqa: E731
        N = ref.derivative(sizes, "tanh", w, inputs, [0] * n_in)
        Nt = ds * ref.derivative(sizes, "tanh", w, inputs, unit(0))
        out = {"x": 1 + t * N[0], "y": 0.5 + t * N[1], "x_t": N[0] + t * Nt[0], "y_t": N[1] + t * Nt[1]}
        for k, p in enumerate(PARAMS if bilo else ()):
            Np = ref.derivative(sizes, "tanh", w, inputs, unit(1 + k))
            Ntp = ds * ref.derivative(sizes, "tanh", w, inputs, two(0, 1 + k))
            out[f"x_{p}"], out[f"y_{p}"] = t * Np[0], t * Np[1]
            out[f"x_t{p}"], out[f"y_t{p}"] = Np[0] + t * Ntp[0], Np[1] + t * Ntp[1]
        return out

    def residuals(f, which):
        a, b, c, d = (prm[k] for k in PARAMS)
        x, y = f["x"], f["y"]
        r = {"prey": f["x_t"] - a * x + b * x * y, "predator": f["y_t"] - c * x * y + d * y}[which]
        grads = []
        for p in PARAMS if bilo else ():
            xp, yp = f[f"x_{p}"], f[f"y_{p}"]
            if which == "prey":
                g = f[f"x_t{p}"] - a * xp + b * (xp * y + x * yp) - (x if p == "a" else 0) + (x * y if p == "b" else 0)
            else:
                g = f[f"y_t{p}"] - c * (xp * y + x * yp) + d * yp - (x * y if p == "c" else 0) + (y if p == "d" else 0)
            grads.append(g)
        return r, grads

    f = fields_at(collocation[:, 0])
    res = rgrad = 0.0
    for which in ("prey", "predator"):
        r, g = residuals(f, which)
        res += np.mean(r**2)
        rgrad += sum(np.mean(gi**2) for gi in g)
    if model.problem.conditions:
        r, g = residuals(fields_at([6.0]), "predator")
        res += 2.0 * np.mean(r**2)
        rgrad += 2.0 * sum(np.mean(gi**2) for gi in g)
    rows, weights = [], []
    for o in obs:
        fo = fields_at(o.points[:, 0])
        pred = {"x": fo["x"], "y": fo["y"], "x.t + y": fo["x_t"] + fo["y"]}[o.of]
        if o.integral:
            pred = np.array([np.dot(o.quadrature, pred)])
        rows.append(pred - o.values)
        weights.append(1.0 / np.asarray(o.sigma) ** 2)
    w_all = np.concatenate(weights)
    w_all = w_all / w_all.mean()
    data = float(np.sum(w_all * np.concatenate(rows) ** 2) / w_all.size)
    return {"res": res, "rgrad": rgrad, "data": data}


@pytest.mark.parametrize("cls", [pb.PINN, pb.BiLO])
@pytest.mark.parametrize("with_condition", [False, True])
@pytest.mark.parametrize("normalize", [None, False])
def test_system_losses_match_numpy_reference(cls, with_condition, normalize):
    problem = lotka_volterra([CONDITION] if with_condition else [])
    obs = observations()
    col = np.linspace(0, 6, 13)[:, None]
    model = cls(problem, obs, hidden=(8, 8), collocation=col, seed=4, normalize_inputs=normalize)
    model.set_params({"a": 1.1, "b": 0.4, "c": 0.6, "d": 0.9})
    got = model.losses()
    want = reference_losses(model, col, obs)
    assert got["res"] == pytest.approx(want["res"], rel=1e-12)
    assert got["data"] == pytest.approx(want["data"], rel=1e-12)
    if cls is pb.BiLO:
        assert got["rgrad"] == pytest.approx(want["rgrad"], rel=1e-12)


def pde_system() -> pb.Problem:
    """Two species on (t, x) with Neumann, Robin (unknown k) and periodic terms."""
    return pb.Problem(
        ("t", "x"),
        {"t": (0, 1), "x": (0, 1)},
        [pb.Parameter("D", 0.3, (0, None)), pb.Parameter("k", 1.5), pb.Parameter("kf", 0.2)],
        ["A.t - D*A.xx + kf*A*B**2", "B.t - 0.5*B.xx + kf*A*B**2 - sin(pi*x)"],
        transform={"A": "exp(-x)*(1 + t*N)"},
        fields=("A", "B"),
        conditions=[
            pb.initial("sin(pi*x)", field="B", n=5),
            pb.neumann("x=0", "0.3", field="A", n=4),
            pb.robin("x=1", "k", "1", "0.2", field="B", weight=0.5, n=4),
            pb.periodic("x", "A.x", n=3),
        ],
    )


@pytest.mark.parametrize("cls", [pb.PINN, pb.BiLO])
@pytest.mark.parametrize("networks", ["shared", "per_field"])
@pytest.mark.parametrize("which", ["ode", "pde"])
def test_system_gradients_match_finite_differences(cls, networks, which):
    if which == "ode":
        problem, obs = lotka_volterra([CONDITION]), observations()
        col = np.linspace(0, 6, 11)[:, None]
    else:
        problem = pde_system()
        rng = np.random.default_rng(1)
        pts = rng.random((6, 2))
        obs = [
            pb.Data(pts, rng.random(6), of="A"),
            pb.Data(pts[:4], rng.random(4), of="B.x"),
            problem.integral_data("A + B", value=1.0, over="t=1", n=4),
        ]
        col = problem.grid(4, interior=True)
    model = cls(problem, obs, hidden=(6, 6), collocation=col, networks=networks, w_rgrad=0.7, w_data=1.3, seed=2)
    assert_gradients_match_finite_differences(model, entries=10)


def assert_gradients_match_finite_differences(model: pb.Model, entries: int) -> None:
    """Every objective of the model's method at a perturbed state, on `entries` random entries."""
    rng = np.random.default_rng(0)
    for name in ("pinn", "lower", "upper") if model.method == "bilo" else ("pinn",):
        x = model.state_vector(name) + 0.1 * rng.standard_normal(model.state_vector(name).shape)
        f0, g, _ = model.objective(name, x)
        for i in rng.choice(x.size, min(entries, x.size), replace=False):
            e = np.zeros_like(x)
            e[i] = 1e-6
            fd = (model.objective(name, x + e)[0] - model.objective(name, x - e)[0]) / 2e-6
            # Central differences carry roundoff ~ eps |f| / h.
            assert fd == pytest.approx(g[i], rel=1e-5, abs=1e-7 * (1 + abs(f0))), (name, i)


def test_per_field_networks_are_independent():
    problem, obs = lotka_volterra(), observations()
    model = pb.PINN(problem, obs, hidden=(5,), networks="per_field")
    layers = model.get_weights()
    assert [w.shape for w, _ in layers] == [(5, 1), (1, 5), (5, 1), (1, 5)]
    t = np.linspace(0, 6, 9)
    before = model.predict(t)
    layers[3] = (layers[3][0] * 0, layers[3][1] * 0)  # the y network's output layer
    model.set_weights(layers)
    after = model.predict(t)
    np.testing.assert_array_equal(after["x"], before["x"])
    np.testing.assert_allclose(after["y"], 0.5)


def test_predict_names_fields_and_derivatives():
    model = pb.BiLO(lotka_volterra(), observations(), hidden=(6,))
    t = np.linspace(0, 6, 5)
    both = model.predict(t)
    assert set(both) == {"x", "y"}
    d = model.predict(t, ["x", "x_t", "y_a"])
    np.testing.assert_allclose(d["x"], both["x"])
    np.testing.assert_allclose(model.predict(t, field="y"), both["y"])
    h = 1e-6
    num = (model.predict(t + h, field="x") - model.predict(t - h, field="x")) / (2 * h)
    np.testing.assert_allclose(d["x_t"], num, rtol=1e-6, atol=1e-8)
    with pytest.raises(pb.InputError, match="fields: x, y"):
        model.predict(t, ["u_t"])
    assert model.residual(t).shape == (2, 5)


def test_system_checkpoint_round_trip(tmp_path):
    problem = lotka_volterra([CONDITION])
    model = pb.BiLO(problem, observations(), hidden=(6,), networks="per_field", collocation=np.linspace(0, 6, 9))
    model.fit(20, lr=1e-3)
    path = str(tmp_path / "lv.npz")
    model.save(path)
    back = pb.load(path)
    assert back.networks == "per_field"
    assert back.problem.fields == ("x", "y")
    assert [d.of for d in back.observations] == ["x", "y", "x", "x.t + y"]
    assert back.observations[2].integral
    assert back.losses() == model.losses()
    model.fit(10, lr=1e-3)
    back.fit(10, lr=1e-3)
    assert back.params == model.params


def test_describe_prints_the_system():
    text = pde_system().describe()
    for piece in ("fields A, B", "sin((pi * x))", "k", "equal on x=low and x=high", "A = "):
        assert piece in text


def test_observations_from_arrays_and_tables(tmp_path):
    t = np.linspace(0.5, 3, 6)
    vals = {"x": np.arange(6.0), "y": np.array([1, np.nan, 3, np.nan, 5, 6.0])}
    obs = pb.Data.from_arrays(t, vals, sigma={"x": 0.1, "y": 0.2})
    assert [o.of for o in obs] == ["x", "y"] and len(obs[1]) == 4
    csv = tmp_path / "obs.csv"
    csv.write_text(
        "t,x,y,y_sigma\n"
        + "\n".join(f"{a},{b},{'' if np.isnan(c) else c},0.1" for a, b, c in zip(t, vals["x"], vals["y"]))
    )
    table = pb.Data.from_table(str(csv), coords=("t",))
    assert [o.of for o in table] == ["x", "y"] and len(table[1]) == 4
    np.testing.assert_allclose(table[1].sigma, 0.1)
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"t": t, **vals})
    assert [len(o) for o in pb.Data.from_table(frame, coords=("t",))] == [6, 4]


def test_system_errors():
    p = lotka_volterra()
    with pytest.raises(pb.InputError, match="unknown name 'v'"):
        pb.Problem(("t",), {"t": (0, 1)}, [pb.Parameter("a", 1.0)], "u.t - a*u + u*v")
    with pytest.raises(pb.InputError, match="data observe 'z', which is not a field"):
        pb.PINN(p, [pb.Data([1.0], [1.0], of="z")])
    with pytest.raises(pb.InputError, match="say what they observe"):
        pb.PINN(p, [pb.Data([1.0], [1.0])])
    with pytest.raises(pb.InputError, match="no face 'x=2'"):
        pb.Problem(("x",), {"x": (0, 1)}, [], "u.xx + 1", conditions=[pb.dirichlet("x=2", "0")])
    with pytest.raises(pb.InputError, match="'z' is not a coordinate"):
        pb.Problem(("x",), {"x": (0, 1)}, [], "u.xx + 1", conditions=[pb.dirichlet("z=0", "0")])
    with pytest.raises(pb.InputError, match="sigma must be positive"):
        pb.Data([1.0, 2.0], [1.0, 2.0], sigma=[0.1, 0.0])
    with pytest.raises(pb.InputError, match="sigma is given for some"):
        pb.PINN(p, [pb.Data([1.0], [1.0], of="x", sigma=0.1), pb.Data([1.0], [1.0], of="y")])
    with pytest.raises(pb.InputError, match="domain of 'x' must be an interval"):
        pb.Problem(("x",), {"x": 5}, [], "u.xx")  # type: ignore[dict-item]
    with pytest.raises(pb.InputError, match="dict by field"):
        pb.Problem(("t",), {"t": (0, 1)}, [], ["x.t", "y.t"], transform="1 + t*N", fields=("x", "y"))
    with pytest.raises(pb.InputError, match="must use the network output N"):
        pb.Problem(("t",), {"t": (0, 1)}, [], ["x.t", "y.t"], transform={"y": "1"}, fields=("x", "y"))
    with pytest.raises(pb.InputError, match="duplicate field names"):
        pb.Problem(("t",), {"t": (0, 1)}, [], ["x.t"], fields=("x", "x"))
    with pytest.raises(pb.InputError, match="exactly one of"):
        pb.Condition("u", on="x=0", periodic="x")
    with pytest.raises(pb.InputError, match="weight must be"):
        pb.Condition("u", on="x=0", weight=-1.0)
    with pytest.warns(UserWarning, match="no residual reads the field"):
        pb.Problem(("t",), {"t": (0, 1)}, [], ["x.t"], fields=("x", "y"))


def test_abs_and_pi_in_expressions():
    p = pb.Problem(("x",), {"x": (0, 1)}, [pb.Parameter("a", 1.0)], "abs(u.x) - a*pi")
    assert "pi" in p.describe() and "abs(" in p.describe()
    m = pb.PINN(p, pb.Data([0.5], [0.0]), hidden=(4,), collocation=[[0.3]])
    slope = m.predict([0.3], ["u_x"])["u_x"][0]
    assert m.residual([0.3])[0] == pytest.approx(abs(slope) - np.pi, rel=1e-12)


def test_soft_dirichlet_conditions_recover_poisson():
    """The built-in Poisson problem with its boundary values as loss terms instead of the hard
    transform: PINN still recovers D (true 2) from noiseless data, on each of two seeds."""
    base = pb.problems.poisson()
    soft = pb.Problem(
        base.coords, base.domain, base.params, str(base.residual), "N", solution=base.solution,
        conditions=[pb.dirichlet("x=0", "0", weight=10.0), pb.dirichlet("x=high", "0", weight=10.0)],
    )  # fmt: skip
    assert [c.points.tolist() for c in soft.compiled_conditions] == [[[0.0]], [[1.0]]]
    data = soft.synthetic_data(20)
    for seed in (0, 1):
        m = pb.PINN(soft, data, n_res=51, seed=seed)
        m.fit(3000, lr=1e-2, lr_params=3e-2, schedule="cosine", keep="best")
        assert m.parameter_errors()["D"] < 0.01
        assert abs(m.predict([0.0])[0]) < 1e-2 and abs(m.predict([1.0])[0]) < 1e-2


def test_condition_helpers_write_the_expected_residuals():
    p = pde_system()
    texts = [str(c.expr) for c in p.compiled_conditions]
    assert texts[0] == "(B - sin((pi * x)))"
    assert texts[1] == "(A.x - 0.3)"
    assert texts[2] == "(((k * B) + (1.0 * B.x)) - 0.2)"
    # The periodic term pairs the faces x = 0 and x = 1 at the same t.
    pts = p.compiled_conditions[3].points
    half = pts.shape[0] // 2
    assert np.all(pts[:half, 1] == 0.0) and np.all(pts[half:, 1] == 1.0)
    np.testing.assert_array_equal(pts[:half, 0], pts[half:, 0])
    assert p.compiled_conditions[3].paired


def test_lotka_volterra_with_known_rates():
    """``known`` holds rates at their given values (numbers in the equations, not parameters);
    ``<rate>_init`` starts a rate elsewhere than the shared ``init``; the reference follows."""
    p = pb.problems.get("lotka_volterra", known=["delta"], alpha_init=0.5, delta=1.2)
    assert p.param_names == ["alpha", "beta", "gamma"] and [q.init for q in p.params] == [0.5, 0.7, 0.7]
    assert p.spec["kwargs"]["known"] == ["delta"] and p.spec["kwargs"]["alpha_init"] == 0.5
    full = pb.problems.get("lotka_volterra", delta=1.2)
    t = np.linspace(0.0, 3.0, 7)
    at = {"alpha": 1.1, "beta": 0.4, "gamma": 0.6}
    np.testing.assert_allclose(p.exact(t, at), full.exact(t, {**at, "delta": 1.2}), rtol=1e-12)
    model = pb.PINN(p, p.synthetic_observations(8), hidden=(4,))
    assert set(model.params) == {"alpha", "beta", "gamma"}
    for bad, match in (({"known": ["eps"]}, "one of alpha"), ({"known": "delta"}, "must be a sequence"),
                       ({"known": ["alpha", "beta", "gamma", "delta"]}, "at least one")):  # fmt: skip
        with pytest.raises(pb.InputError, match=match):
            pb.problems.get("lotka_volterra", **bad)


def test_builtin_arguments_from_python_and_the_command_line():
    from pinnbilo.__main__ import _assignments

    assert _assignments(["D_true=0.02", "hidden=(8, 8)", "name='x'"]) == {"D_true": 0.02, "hidden": (8, 8), "name": "x"}
    with pytest.raises(SystemExit):
        _assignments(["D_true"])
    with pytest.raises(pb.InputError, match="has no argument"):
        pb.problems.get("sir", bogus=1)
    from pinnbilo import compare

    out = compare.run("exponential", steps=200, problem_args={"a_true": 1.5}, methods=("PINN",))
    assert [o.method for o in out] == ["PINN"]
    assert out[0].model.problem.true_params == {"a": 1.5}


@pytest.mark.parametrize("cls", [pb.PINN, pb.BiLO])
def test_hard_periodicity(cls):
    """periodic=("x",): every field takes equal values and derivatives at x = 0 and x = 2 by
    construction, and the gradients still match finite differences."""
    with pytest.warns(UserWarning, match="periodic coordinate"):  # sin(pi x) is 2-periodic: it is
        p = pb.Problem(
            ("x", "t"), {"x": (0, 2), "t": (0, 1)}, [pb.Parameter("c", 0.7)],
            ["u.t + c*u.x - 0.1*v.xx", "v.t - u*v.x"], transform={"u": "sin(pi*x) + t*N"},
            fields=("u", "v"), periodic=("x",),
        )  # fmt: skip
    rng = np.random.default_rng(0)
    obs = [
        pb.Data(rng.random((5, 2)) * [2, 1], rng.random(5), of="u"),
        pb.Data(rng.random((3, 2)), rng.random(3), of="v.x"),
    ]
    m = cls(p, obs, hidden=(6,), collocation=p.grid(4), seed=1)
    assert m.sizes[0] == 3 + (1 if cls is pb.BiLO else 0)  # cos, sin, t (, c)
    t = np.linspace(0, 1, 4)
    left, right = np.stack([0 * t, t], 1), np.stack([0 * t + 2, t], 1)
    for f in ("u", "v"):
        a, b = m.predict(left, [f, f"{f}_x", f"{f}_xx"]), m.predict(right, [f, f"{f}_x", f"{f}_xx"])
        for k in a:
            np.testing.assert_allclose(a[k], b[k], rtol=1e-10, atol=1e-12)
    assert_gradients_match_finite_differences(m, entries=8)
    # Spatial derivatives through the features match central differences of the prediction.
    z = np.array([[0.3, 0.4]])
    h = 1e-5
    num = (m.predict(z + [h, 0], field="v") - m.predict(z - [h, 0], field="v")) / (2 * h)
    assert m.predict(z, ["v_x"])["v_x"][0] == pytest.approx(num[0], rel=1e-6)
    assert pb.problem.problem_from_dict(p.to_dict()).periodic == ("x",)
    with pytest.raises(pb.InputError, match="periodic must name"):
        pb.Problem(("x",), {"x": (0, 1)}, [], "u.xx", periodic=("y",))


def test_more_bad_input_of_the_systems_api(tmp_path):
    p = lotka_volterra()
    t = [0.5, 1.0]
    cases = [
        (lambda: pb.Problem(("t",), {"t": (0, 1)}, [], {1: "x.t", "1": "y.t"}, fields=("x", "y")), "residual names"),
        (lambda: pb.Data.from_arrays(t, {"x": [1, 2]}, sigma={"X": 0.1}), "sigma by name"),
        (lambda: pb.Data.from_arrays(0.5, {"x": [1.0, 2.0]}), "one entry per point"),
        (lambda: pb.Data.from_arrays([0.5, 1, 1.5], {"x": [np.nan, 1, 2]}, sigma=[1, 2]), "one value per point"),
        (lambda: pb.Data.from_table(str(tmp_path / "none.csv"), coords=()), "coords must be"),
        (lambda: pb.Data.from_table(str(tmp_path / "none.csv"), coords="t"), "coords must be"),
        (lambda: p.integral_data(3), "of must name"),
        (lambda: p.integral_data(), "say which one"),
        (lambda: p.synthetic_observations(3, fields="xy"), "list of field names"),
        (lambda: p.synthetic_observations(3, points=[100.0]), "outside the domain"),
        (lambda: pb.Problem(("t",), {"t": (0, 1)}, [], ["x_t.t"], fields=("x_t",)), "no underscores"),
        (lambda: pb.Data([0.5], [1.0], integral="no"), "True or False"),  # type: ignore[arg-type]
        (lambda: pb.Parameter("a", 1.0, (0, None), true=-1.0), "outside its bounds"),
        (lambda: pb.dirichlet("x=0", None), "must be text"),  # type: ignore[arg-type]
        (lambda: pb.dirichlet("x=0", "0", field="u.x"), "field must be"),
        (lambda: pb.problems.get("sir", beta="fast"), "must be a finite number"),
    ]
    for make, match in cases:
        with pytest.raises(pb.InputError, match=match):
            make()
    bad_solution = pb.Problem(
        ("t",), {"t": (0, 1)}, [], ["x.t", "y.t"], fields=("x", "y"), solution=lambda z, q: np.zeros((2, z.shape[0]))
    )
    with pytest.raises(pb.InputError, match="one column per field"):
        bad_solution.exact([0.1, 0.2, 0.3])
    csv = tmp_path / "dupe.csv"
    csv.write_text("t,t,x\n0.5,0.6,1\n")
    with pytest.raises(pb.InputError, match="named twice"):
        pb.Data.from_table(str(csv), coords=("t",))
    csv.write_text("t,x,y\n0.5,1,\n1.0,2,\n")
    with pytest.raises(pb.InputError, match="empty"):
        pb.Data.from_table(str(csv), coords=("t",), fields=("x", "y"))
    m = pb.PINN(p, observations(), hidden=(4,))
    for bad in ([1, 2], None, [(np.zeros((4, 1)), np.zeros(4), np.zeros(4))] * 2):
        with pytest.raises(pb.InputError):
            m.set_weights(bad)  # type: ignore[arg-type]
    with pytest.raises(pb.InputError, match="derivatives must be a list"):
        m.predict([0.5], 3)  # type: ignore[arg-type]
    with pytest.raises(pb.InputError, match="not of field"):
        m.predict([0.5], ["x_t"], field="y")
    with pytest.raises(pb.InputError):
        m.predict([0.5], ["x_"])
    # A float32 model checks every program's constants, not only the first residual's.
    big = pb.Problem(("t",), {"t": (0, 1)}, [], ["x.t", "y.t"], transform={"y": "1e40 + t*N"}, fields=("x", "y"))
    with pytest.raises(pb.InputError, match="float32"):
        pb.PINN(big, [pb.Data([0.5], [1.0], of="x")], dtype="float32")
    # A field that is zero everywhere still gets a sigma, so the observations stay usable.
    zero = pb.Problem(
        ("t",), {"t": (0, 1)}, [], ["x.t", "y.t"], fields=("x", "y"),
        solution=lambda z, q: np.stack([1 + z[:, 0], 0 * z[:, 0]], 1),
    )  # fmt: skip
    obs = zero.synthetic_observations(5, noise=0.01)
    assert all(o.sigma is not None for o in obs)
    pb.PINN(zero, obs, hidden=(4,))


def test_periodic_transform_warning_and_tiny_sigma():
    with pytest.warns(UserWarning, match="reads the periodic coordinate"):
        pb.Problem(("x",), {"x": (0, 1)}, [], "u.xx", transform="x*N", periodic=("x",))
    with pytest.raises(pb.InputError, match="overflows"):
        pb.PINN(pb.problems.exponential_growth(), pb.Data([0.5], [1.0], sigma=1e-300))


def test_checkpoint_refuses_orphaned_observations_and_names_the_file(tmp_path):
    import json

    model = pb.PINN(lotka_volterra(), observations(), hidden=(4,))
    path = str(tmp_path / "m.npz")
    model.save(path)
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads(arrays["meta"].tobytes())
    meta["observations"] = meta["observations"][:2]  # the file still holds obs2_*, obs3_*
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(str(tmp_path / "orphans.npz"), **arrays)
    with pytest.raises(pb.InputError, match="does not list"):
        pb.load(str(tmp_path / "orphans.npz"))
    meta = json.loads(np.load(path)["meta"].tobytes())
    meta["problem"]["residuals"] = {"prey": "x.t - q*x"}  # an unknown name
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    bad = str(tmp_path / "bad_problem.npz")
    np.savez(bad, **arrays)
    with pytest.raises(pb.InputError, match="bad_problem.npz: the stored problem"):
        pb.load(bad)
