"""Unknown functions inside equations and known sources: exact gradients, BiLO shift directions,
function values, sources, input errors, checkpoints, training sanity and collocation resampling."""

import numpy as np
import pytest

import pinnbilo as pb

PI = np.pi


# ---------------------------------------------------------------------------------------------
# Problems


def d_true(p: np.ndarray) -> np.ndarray:
    return 1.0 + 0.5 * np.sin(PI * p[:, 0])


def poisson_source(p: np.ndarray) -> np.ndarray:
    """f = -(D u')' for D = 1 + 0.5 sin(pi x), u = sin(pi x)."""
    x = p[:, 0]
    return PI**2 * np.sin(PI * x) * (1.0 + 0.5 * np.sin(PI * x)) - 0.5 * PI**2 * np.cos(PI * x) ** 2


def poisson_problem(d_transform: str = "1 + x*(1 - x)*N", hidden=(8,), extra: str = "", functions=()) -> pb.Problem:
    """Variable-coefficient Poisson with unknown D(x), parameter k and a known source f."""
    d = pb.Function("D", transform=d_transform, hidden=hidden, true=d_true)
    return pb.Problem(
        ("x",),
        {"x": (0.0, 1.0)},
        [pb.Parameter("k", 1.5, bounds=(0.0, 5.0))],
        "D*u.xx + D.x*u.x + k*f" + extra,
        transform="x*(1 - x)*N",
        functions=[d, *functions],
        sources={"f": poisson_source},
    )


def heat_problem(u0_transform: str = "x*(1 - x)*N") -> pb.Problem:
    """Heat equation whose unknown initial condition u0(x) enters the solution transform."""
    u0 = pb.Function("u0", inputs=("x",), transform=u0_transform, hidden=(6,))
    return pb.Problem(
        ("x", "t"),
        {"x": (0.0, 1.0), "t": (0.0, 1.0)},
        [pb.Parameter("D", 0.5)],
        "u.t - D*u.xx",
        transform="u0 + t*x*(1 - x)*N",
        functions=[u0],
    )


def darcy_problem(f_transform: str = "1 + N") -> pb.Problem:
    """2-D Darcy-like equation with an unknown permeability f(x, y) read with f.x and f.y."""
    f = pb.Function("f", transform=f_transform, hidden=(6,))
    return pb.Problem(
        ("x", "y"),
        {"x": (0.0, 1.0), "y": (0.0, 1.0)},
        [pb.Parameter("c", 0.8)],
        "f*(u.xx + u.yy) + f.x*u.x + f.y*u.y + c",
        transform="x*(1 - x)*y*(1 - y)*N",
        functions=[f],
    )


def two_function_problem() -> pb.Problem:
    """Two functions of different coordinates, one inside a nonlinearity of the solution transform."""
    a = pb.Function("a", inputs=("x",), transform="exp(N)", hidden=(4,))
    b = pb.Function("b", inputs=("t",), transform="0.5 + 2*sigmoid(N)", hidden=(4,), activation="sin")
    return pb.Problem(
        ("x", "t"),
        {"x": (0.0, 1.0), "t": (0.0, 1.0)},
        [pb.Parameter("k", 0.3, bounds=(0.0, 1.0))],
        "u.t - a*u.xx - a.x*u.x + k*b*u**2 - b.t",
        transform="sin(a) + t*b*N",
        functions=[a, b],
    )


def reversed_inputs_problem() -> pb.Problem:
    """A function whose inputs are listed out of coordinate order, on a non-unit domain."""
    f = pb.Function("f", inputs=("y", "x"), transform="1 + x*y*exp(N)", hidden=(5, 5), activation="sin")
    return pb.Problem(
        ("x", "y"),
        {"x": (0.0, 1.0), "y": (0.0, 2.0)},
        [pb.Parameter("c", 0.8)],
        "f*(u.xx + u.yy) + f.x*u.x + f.y*u.y + c",
        transform="x*(1 - x)*y*(2 - y)*N",
        functions=[f],
    )


def data_for(problem: pb.Problem, n: int = 9, seed: int = 0) -> pb.Data:
    rng = np.random.default_rng(seed)
    pts = problem.random_points(n, seed=seed)
    return pb.Data(pts, 0.2 + 0.1 * rng.standard_normal(n))


def make_model(cls, problem, dtype="float64", w_reg=0.3, seed=2, n_res=None, **kw):
    if n_res is None:
        n_res = 9 if len(problem.coords) == 1 else 4
    return cls(
        problem,
        data_for(problem),
        hidden=(6, 5),
        n_res=n_res,
        dtype=dtype,
        seed=seed,
        w_res=0.7,
        w_data=1.3,
        w_reg=w_reg,
        **kw,
    )


def fd_gradient(model: pb.Model, name: str, x: np.ndarray, idx: np.ndarray, h: float = 1e-6) -> np.ndarray:
    out = np.empty(idx.size)
    for j, i in enumerate(idx):
        e = np.zeros_like(x)
        e[i] = h
        out[j] = (model.objective(name, x + e)[0] - model.objective(name, x - e)[0]) / (2 * h)
    return out


def segments(model: pb.Model, name: str) -> dict:
    """Index ranges of an objective's x: network weights, raw parameters, function weights."""
    nw, n_raw, n_par = model._trainer.n_weights, model._trainer.n_raw, len(model.problem.params)
    off = {"pinn": nw, "lower": None, "upper": 0}[name]
    segs = {}
    if name in ("pinn", "lower"):
        segs["weights"] = np.arange(nw)
    if off is not None:
        segs["params"] = off + np.arange(n_par)
        segs["functions"] = off + np.arange(n_par, n_raw)
    return segs


PROBLEMS = {
    "poisson": poisson_problem,
    "heat": heat_problem,
    "darcy": darcy_problem,
    "two_functions": two_function_problem,
    "reversed_inputs": reversed_inputs_problem,
}
CASES = [(p, cls, obj) for p in PROBLEMS for cls, obj in ((pb.PINN, "pinn"), (pb.BiLO, "lower"), (pb.BiLO, "upper"))]


# ---------------------------------------------------------------------------------------------
# 1. Gradients against central differences


@pytest.mark.parametrize("w_reg", [0.0, 0.3])
@pytest.mark.parametrize("problem_name,cls,objective", CASES)
def test_objective_gradient_matches_finite_differences(problem_name, cls, objective, w_reg):
    model = make_model(cls, PROBLEMS[problem_name](), w_reg=w_reg)
    model.fit(steps=15, lr=1e-2, lr_params=1e-2)  # move every group away from its initial state
    x = model.state_vector(objective)
    f, g, losses = model.objective(objective, x)
    assert np.isfinite(f)
    if w_reg > 0 and objective != "lower":
        assert losses["reg"] > 0  # the smoothness term is part of this objective
    segs = segments(model, objective)
    for seg in segs.values():
        assert seg.size > 0
    idx = np.concatenate(list(segs.values()))  # every entry: the networks are small
    g_fd = fd_gradient(model, objective, x, idx)
    scale = max(1.0, np.max(np.abs(g_fd)))
    for seg_name, seg in segs.items():
        sel = np.isin(idx, seg)
        err = np.max(np.abs(g[idx[sel]] - g_fd[sel]))
        assert err < 1e-6 * scale, (problem_name, objective, seg_name, err)
    # the function weights really move the objective (a zero gradient would pass trivially)
    if "functions" in segs:
        assert np.max(np.abs(g_fd[np.isin(idx, segs["functions"])])) > 1e-6


@pytest.mark.parametrize("problem_name,cls,objective", [c for c in CASES if c[2] != "lower"])
def test_regulariser_gradient_is_its_own_term(problem_name, cls, objective):
    """The gradient change from w_reg equals w_reg times the gradient of mean |grad f|^2."""
    a = make_model(cls, PROBLEMS[problem_name](), w_reg=0.0)
    b = make_model(cls, PROBLEMS[problem_name](), w_reg=0.5)
    x = a.state_vector(objective)
    fa, ga, la = a.objective(objective, x)
    fb, gb, lb = b.objective(objective, x)
    assert la["reg"] == pytest.approx(lb["reg"], rel=1e-12)
    assert fb - fa == pytest.approx(0.5 * lb["reg"], rel=1e-10, abs=1e-14)
    # L_reg alone: difference of the two objectives, by central differences
    segs = segments(a, objective)
    idx = segs["functions"]
    h = 1e-6
    fd = np.empty(idx.size)
    for j, i in enumerate(idx):
        e = np.zeros_like(x)
        e[i] = h
        fp = b.objective(objective, x + e)[0] - a.objective(objective, x + e)[0]
        fm = b.objective(objective, x - e)[0] - a.objective(objective, x - e)[0]
        fd[j] = (fp - fm) / (2 * h)
    assert np.max(np.abs((gb - ga)[idx] - fd)) < 1e-6 * max(1.0, np.max(np.abs(fd)))
    assert np.max(np.abs(fd)) > 0
    # the smoothness term touches no network weight and no parameter
    others = np.setdiff1d(np.arange(x.size), idx)
    assert np.max(np.abs((gb - ga)[others]), initial=0.0) < 1e-12 * max(1.0, np.max(np.abs(ga)))


@pytest.mark.parametrize("problem_name,cls,objective", CASES)
def test_float32_objectives_agree_with_float64(problem_name, cls, objective):
    problem = PROBLEMS[problem_name]()
    m64 = make_model(cls, problem)
    m64.fit(steps=15, lr=1e-2, lr_params=1e-2)
    m32 = make_model(cls, problem, dtype="float32")
    # the float64 model at the float32-rounded state, so both evaluate the same point
    for m in (m64, m32):
        m._trainer.set_weights(m64._trainer.get_weights().astype(np.float32))
        m._trainer.set_raw_params(m64._trainer.get_raw_params().astype(np.float32))
    x = m64.state_vector(objective)
    f64, g64, l64 = m64.objective(objective, x)
    f32, g32, l32 = m32.objective(objective, x)
    assert g32.dtype == np.float64 and g32.shape == g64.shape
    assert f32 == pytest.approx(f64, rel=1e-5)
    for key in ("res", "data", "reg"):
        assert l32[key] == pytest.approx(l64[key], rel=1e-5, abs=1e-9), key
    assert np.linalg.norm(g32 - g64) < 1e-5 * np.linalg.norm(g64)


# ---------------------------------------------------------------------------------------------
# 2. BiLO shift directions


def function_bias_index(model: pb.Model, name: str) -> int:
    """Index in the raw upper vector of the last bias of function ``name``'s network."""
    pos = len(model.problem.params)
    for f in model.problem.functions:
        n_in = len(model.problem.function_inputs[f.name])
        pos += pb._core.mlp_n_params([n_in, *f.hidden, 1])
        if f.name == name:
            return pos - 1
    raise KeyError(name)


def shift_cases():
    g = pb.Function("g", transform="N", hidden=(5,))
    two = poisson_problem(d_transform="N", extra=" + g*u + g.x", functions=[g])
    return {"poisson": poisson_problem(d_transform="N"), "two_functions": two, "heat": heat_problem("N")}


@pytest.mark.parametrize("case", ["poisson", "two_functions", "heat"])
def test_bilo_residual_rows_are_shift_and_parameter_derivatives(case):
    problem = shift_cases()[case]
    model = make_model(pb.BiLO, problem)
    model.fit(steps=15, lr=1e-2, lr_params=1e-2)
    pts = problem.random_points(7, seed=5)
    known = problem.known_values(pts)
    rows = model._trainer.residual(pts, known)
    n_par, n_fn = len(problem.params), len(problem.functions)
    assert rows.shape == (1 + n_par + n_fn, 7)
    np.testing.assert_array_equal(rows[0], model.residual(pts))
    h = 1e-6
    # parameter rows: d r / d a at fixed weights (u reads a as an input)
    for j, p in enumerate(problem.params):
        a = model.params[p.name]
        model.set_params({p.name: a + h})
        rp = model.residual(pts)
        model.set_params({p.name: a - h})
        rm = model.residual(pts)
        model.set_params({p.name: a})
        fd = (rp - rm) / (2 * h)
        assert np.max(np.abs(rows[1 + j] - fd)) < 1e-6 * max(1.0, np.max(np.abs(fd))), p.name
    # function rows: shifting the last bias by eps shifts f by exactly eps (transform "N")
    raw0 = model._trainer.get_raw_params()
    for k, f in enumerate(problem.functions):
        i = function_bias_index(model, f.name)
        probe = problem.grid(5) if len(problem.coords) == 1 else problem.random_points(5, seed=1)
        v0 = model.function(f.name, probe)
        shifted = raw0.copy()
        shifted[i] += 0.25
        model._trainer.set_raw_params(shifted)
        np.testing.assert_allclose(model.function(f.name, probe) - v0, 0.25, rtol=0, atol=1e-12)
        out = []
        for s in (h, -h):
            shifted = raw0.copy()
            shifted[i] += s
            model._trainer.set_raw_params(shifted)
            out.append(model.residual(pts))
        model._trainer.set_raw_params(raw0)
        fd = (out[0] - out[1]) / (2 * h)
        assert np.max(np.abs(fd)) > 1e-3  # the residual does depend on f
        assert np.max(np.abs(rows[1 + n_par + k] - fd)) < 1e-6 * max(1.0, np.max(np.abs(fd))), f.name


@pytest.mark.parametrize("d_transform", ["N", "1 + x*(1 - x)*N"])
def test_bilo_rows_by_the_chain_rule_through_the_network_inputs(d_transform):
    """For any function transform, the shift row is d r / d eps at f -> f + eps with f.x fixed:
    r = D u.xx + D.x u.x + k f gives u.xx + D u.xx_D + D.x u.x_D (u_D: derivative in u's D input)."""
    problem = poisson_problem(d_transform=d_transform)
    model = make_model(pb.BiLO, problem)
    model.fit(steps=15, lr=1e-2, lr_params=1e-2)
    x = np.linspace(0.05, 0.95, 9)
    rows = model._trainer.residual(x[:, None], problem.known_values(x[:, None]))
    u = model.predict(x, ["u_x", "u_xx", "u_k", "u_xk", "u_xxk", "u_xD", "u_xxD"])
    d, dx = model.function("D", x, [{}, {"x": 1}])
    f, k = poisson_source(x[:, None]), model.params["k"]
    tol = 1e-12 * max(1.0, np.max(np.abs(rows)))
    np.testing.assert_allclose(rows[0], d * u["u_xx"] + dx * u["u_x"] + k * f, rtol=0, atol=tol)
    np.testing.assert_allclose(rows[1], f + d * u["u_xxk"] + dx * u["u_xk"], rtol=0, atol=tol)
    np.testing.assert_allclose(rows[2], u["u_xx"] + d * u["u_xxD"] + dx * u["u_xD"], rtol=0, atol=tol)


def test_bilo_heat_rows_through_the_transform():
    """u = u0 + t x (1-x) N(x, t, D, u0): at t = 0, du/du0 = 1; the rows follow the chain rule."""
    problem = heat_problem()
    model = make_model(pb.BiLO, problem)
    model.fit(steps=15, lr=1e-2, lr_params=1e-2)
    p = problem.random_points(6, seed=8)
    at0 = p.copy()
    at0[:, 1] = 0.0
    np.testing.assert_allclose(model.predict(at0, ["u_u0"])["u_u0"], 1.0, rtol=0, atol=1e-14)
    rows = model._trainer.residual(p, None)
    u = model.predict(p, ["u_t", "u_xx", "u_tD", "u_xxD", "u_tu0", "u_xxu0"])
    dd = model.params["D"]
    assert np.max(np.abs(u["u_tu0"])) > 1e-4
    tol = 1e-12 * max(1.0, np.max(np.abs(rows)))
    np.testing.assert_allclose(rows[0], u["u_t"] - dd * u["u_xx"], rtol=0, atol=tol)
    np.testing.assert_allclose(rows[1], u["u_tD"] - u["u_xx"] - dd * u["u_xxD"], rtol=0, atol=tol)
    np.testing.assert_allclose(rows[2], u["u_tu0"] - dd * u["u_xxu0"], rtol=0, atol=tol)


def test_pinn_residual_has_one_row():
    problem = poisson_problem()
    model = make_model(pb.PINN, problem)
    pts = problem.grid(4)
    rows = model._trainer.residual(pts, problem.known_values(pts))
    assert rows.shape == (1, 4)


# ---------------------------------------------------------------------------------------------
# 3. Function values and derivatives


@pytest.mark.parametrize("cls", [pb.PINN, pb.BiLO])
def test_function_transform_and_derivatives_1d(cls):
    problem = poisson_problem(hidden=(8, 8))
    model = make_model(cls, problem)
    model.fit(steps=30, lr=2e-2, lr_params=1e-2)
    ends = model.function("D", [0.0, 1.0])
    np.testing.assert_array_equal(ends, [1.0, 1.0])  # x*(1-x) vanishes exactly there
    x = np.linspace(0.05, 0.95, 11)
    v = model.function("D", x)
    assert v.shape == (11,)
    assert np.max(np.abs(v - 1.0)) > 1e-4  # the network part is not zero
    d0, d1, d2, d3 = model.function("D", x, derivatives=[{}, {"x": 1}, {"x": 2}, {"x": 3}])
    np.testing.assert_array_equal(d0, v)
    h1, h2 = 1e-5, 1e-3
    fd1 = (model.function("D", x + h1) - model.function("D", x - h1)) / (2 * h1)
    fd2 = (model.function("D", x + h2) - 2 * v + model.function("D", x - h2)) / h2**2
    fd3 = (model.function("D", x + h2, [{"x": 2}])[0] - model.function("D", x - h2, [{"x": 2}])[0]) / (2 * h2)
    np.testing.assert_allclose(d1, fd1, rtol=0, atol=1e-8 * max(1.0, np.max(np.abs(fd1))))
    np.testing.assert_allclose(d2, fd2, rtol=0, atol=1e-5 * max(1.0, np.max(np.abs(fd2))))
    np.testing.assert_allclose(d3, fd3, rtol=0, atol=1e-5 * max(1.0, np.max(np.abs(fd3))))


def test_function_derivatives_2d_and_missing_inputs():
    problem = darcy_problem(f_transform="1 + x*y*N")
    model = make_model(pb.BiLO, problem)
    model.fit(steps=30, lr=2e-2, lr_params=1e-2)
    edge = np.array([[0.0, 0.3], [0.7, 0.0], [0.0, 0.0]])
    np.testing.assert_array_equal(model.function("f", edge), 1.0)
    p = problem.random_points(6, seed=3)
    fx, fy, fxy = model.function("f", p, [{"x": 1}, {"y": 1}, {"x": 1, "y": 1}])
    h = 1e-5
    ex, ey = np.array([h, 0.0]), np.array([0.0, h])
    fdx = (model.function("f", p + ex) - model.function("f", p - ex)) / (2 * h)
    fdy = (model.function("f", p + ey) - model.function("f", p - ey)) / (2 * h)
    fdxy = (model.function("f", p + ey, [{"x": 1}])[0] - model.function("f", p - ey, [{"x": 1}])[0]) / (2 * h)
    np.testing.assert_allclose(fx, fdx, rtol=0, atol=1e-8)
    np.testing.assert_allclose(fy, fdy, rtol=0, atol=1e-8)
    np.testing.assert_allclose(fxy, fdxy, rtol=0, atol=1e-7)
    assert np.max(np.abs(fx)) > 1e-4 and np.max(np.abs(fy)) > 1e-4
    # a function of x alone has no t-derivative and does not change with t
    heat = heat_problem()
    mh = make_model(pb.BiLO, heat)
    q = heat.random_points(5, seed=2)
    (dt,) = mh.function("u0", q, [{"t": 1}])
    np.testing.assert_array_equal(dt, 0.0)
    q2 = q.copy()
    q2[:, 1] = 0.9
    np.testing.assert_array_equal(mh.function("u0", q), mh.function("u0", q2))


def test_function_derivatives_with_inputs_out_of_coordinate_order():
    problem = reversed_inputs_problem()
    model = make_model(pb.PINN, problem)
    model.fit(steps=20, lr=2e-2, lr_params=1e-2)
    np.testing.assert_array_equal(model.function("f", [[0.0, 1.3], [0.4, 0.0]]), 1.0)
    p = problem.random_points(6, seed=3)
    fx, fy, fyy = model.function("f", p, [{"x": 1}, {"y": 1}, {"y": 2}])
    h = 1e-5
    ex, ey = np.array([h, 0.0]), np.array([0.0, h])
    np.testing.assert_allclose(fx, (model.function("f", p + ex) - model.function("f", p - ex)) / (2 * h), atol=1e-8)
    np.testing.assert_allclose(fy, (model.function("f", p + ey) - model.function("f", p - ey)) / (2 * h), atol=1e-8)
    fd_yy = (model.function("f", p + ey, [{"y": 1}])[0] - model.function("f", p - ey, [{"y": 1}])[0]) / (2 * h)
    np.testing.assert_allclose(fyy, fd_yy, atol=1e-7)
    assert not np.allclose(fx, fy)
    fcx, fcy = model.function("f", model.collocation, [{"x": 1}, {"y": 1}])
    assert model.losses()["reg"] == pytest.approx(np.mean(fcx**2 + fcy**2), rel=1e-10)


@pytest.mark.parametrize("cls", [pb.PINN, pb.BiLO])
def test_residual_reads_the_same_function_values(cls):
    """r = u - 2 D.x + D.xx: the residual's D agrees with model.function and model.predict."""
    d = pb.Function("D", transform="1 + x*(1 - x)*N", hidden=(8,))
    problem = pb.Problem(
        ("x",), {"x": (0.0, 1.0)}, [pb.Parameter("k", 1.0)], "k*u - 2*D.x + D.xx", "x*(1 - x)*N", functions=[d]
    )
    model = make_model(cls, problem)
    model.fit(steps=20, lr=2e-2, lr_params=1e-2)
    x = np.linspace(0.0, 1.0, 13)
    dx, dxx = model.function("D", x, [{"x": 1}, {"x": 2}])
    expected = model.params["k"] * model.predict(x) - 2 * dx + dxx
    np.testing.assert_allclose(model.residual(x), expected, rtol=1e-12, atol=1e-12)


def test_transform_reads_the_function_value():
    """Heat with u = u0(x) + t x (1-x) N: at t = 0 the solution is the learned u0."""
    problem = heat_problem()
    for cls in (pb.PINN, pb.BiLO):
        model = make_model(cls, problem)
        model.fit(steps=20, lr=2e-2, lr_params=1e-2)
        p = problem.random_points(8, seed=4)
        p[:, 1] = 0.0
        v = model.function("u0", p)
        assert np.max(np.abs(v)) > 1e-5
        np.testing.assert_allclose(model.predict(p), v, rtol=0, atol=1e-14)


# ---------------------------------------------------------------------------------------------
# 4. Sources


@pytest.mark.parametrize("cls", [pb.PINN, pb.BiLO])
def test_source_matches_the_same_expression(cls):
    with_source = poisson_problem()
    text = "D*u.xx + D.x*u.x + k*(pi**2*sin(pi*x)*(1 + 0.5*sin(pi*x)) - 0.5*pi**2*cos(pi*x)**2)"
    inline = pb.Problem(
        ("x",),
        {"x": (0.0, 1.0)},
        [pb.Parameter("k", 1.5, bounds=(0.0, 5.0))],
        text,
        transform="x*(1 - x)*N",
        functions=[with_source.functions[0]],
    )
    a, b = make_model(cls, with_source), make_model(cls, inline)
    a.fit(steps=10, lr=1e-2, lr_params=1e-2)
    b.fit(steps=10, lr=1e-2, lr_params=1e-2)
    np.testing.assert_allclose(a._trainer.get_weights(), b._trainer.get_weights(), rtol=0, atol=1e-10)
    x = np.linspace(0.0, 1.0, 17)
    ra = a._trainer.residual(x[:, None], with_source.known_values(x[:, None]))
    rb = b._trainer.residual(x[:, None], None)
    np.testing.assert_allclose(ra, rb, rtol=0, atol=1e-12 * max(1.0, np.max(np.abs(rb))))
    np.testing.assert_allclose(a.residual(x), b.residual(x), rtol=0, atol=1e-12 * max(1.0, np.max(np.abs(rb))))
    assert np.max(np.abs(ra[0])) > 1e-3
    # losses on new collocation points: the source is re-evaluated there
    new = np.random.default_rng(0).uniform(0, 1, (12, 1))
    a.set_collocation(new)
    b.set_collocation(new)
    la, lb = a.losses(), b.losses()
    for key in la:
        assert la[key] == pytest.approx(lb[key], rel=1e-10, abs=1e-14), key


def test_source_with_column_shape_is_accepted():
    problem = poisson_problem()
    col = pb.Problem(
        ("x",),
        {"x": (0.0, 1.0)},
        [pb.Parameter("k", 1.5, bounds=(0.0, 5.0))],
        "D*u.xx + D.x*u.x + k*f",
        "x*(1 - x)*N",
        functions=problem.functions,
        sources={"f": lambda p: poisson_source(p)[:, None]},
    )
    a, b = make_model(pb.PINN, problem), make_model(pb.PINN, col)
    x = np.linspace(0.1, 0.9, 5)
    np.testing.assert_array_equal(a.residual(x), b.residual(x))


@pytest.mark.parametrize(
    "source,fragment",
    [
        (lambda p: np.ones(p.shape[0] + 1), "source 'f' returned shape"),
        (lambda p: np.ones((p.shape[0], 2)), "source 'f' returned shape"),
        (lambda p: np.where(p[:, 0] > 0.5, np.nan, 1.0), "source 'f' returned NaN"),
        (lambda p: np.full(p.shape[0], np.inf), "source 'f' returned NaN or inf"),
    ],
)
def test_bad_source_raises(source, fragment):
    d = pb.Function("D", transform="1 + x*(1 - x)*N", hidden=(4,))
    problem = pb.Problem(
        ("x",), {"x": (0.0, 1.0)}, [], "D*u.xx + f", "x*(1 - x)*N", functions=[d], sources={"f": source}
    )
    with pytest.raises(pb.InputError, match=fragment.replace("(", r"\(")):
        pb.PINN(problem, pb.Data([0.5], [1.0]), hidden=(4,), n_res=5)
    # also when only the evaluation points trip it
    good_on_grid = pb.Problem(
        ("x",),
        {"x": (0.0, 1.0)},
        [],
        "D*u.xx + f",
        "x*(1 - x)*N",
        functions=[d],
        sources={"f": lambda p: source(p) if p.shape[0] == 3 else np.ones(p.shape[0])},
    )
    model = pb.PINN(good_on_grid, pb.Data([0.5], [1.0]), hidden=(4,), n_res=5)
    with pytest.raises(pb.InputError, match="source 'f'"):
        model.residual([0.6, 0.7, 0.8])
    with pytest.raises(pb.InputError, match="source 'f'"):
        model.set_collocation([0.6, 0.7, 0.8])


def test_source_that_is_not_callable_or_badly_named():
    with pytest.raises(pb.InputError, match="must be a callable"):
        pb.Problem(("x",), {"x": (0, 1)}, [], "u.xx + f", sources={"f": 3.0})
    with pytest.raises(pb.InputError, match="source name"):
        pb.Problem(("x",), {"x": (0, 1)}, [], "u.xx + f", sources={"u": np.sin})


# ---------------------------------------------------------------------------------------------
# 5. Input errors


def test_unknown_function_name():
    d = pb.Function("D", hidden=(4,))
    with pytest.raises(pb.InputError, match="unknown name 'G'"):
        pb.Problem(("x",), {"x": (0, 1)}, [], "D*u.xx + G.x", functions=[d])
    with pytest.raises(pb.InputError, match="unknown function 'G'"):
        pb.Problem(("x",), {"x": (0, 1)}, [], "G(x)*u.xx", functions=[d])


def test_derivative_in_a_coordinate_the_function_does_not_read():
    g = pb.Function("g", inputs=("x",), hidden=(4,))
    with pytest.raises(pb.InputError, match=r"g depends on \(x\) only"):
        pb.Problem(("x", "t"), {"x": (0, 1), "t": (0, 1)}, [], "u.t - u.xx + g.t", functions=[g])
    with pytest.raises(pb.InputError, match=r"g depends on \(x\) only"):
        pb.Problem(("x", "t"), {"x": (0, 1), "t": (0, 1)}, [], "u.t - u.xx + g.d(x=1, t=2)", functions=[g])


def test_solution_transform_may_not_use_function_derivatives():
    u0 = pb.Function("u0", inputs=("x",), hidden=(4,))
    with pytest.raises(pb.InputError, match="may use the value of 'u0', not its derivatives"):
        pb.Problem(("x", "t"), {"x": (0, 1), "t": (0, 1)}, [], "u.t - u.xx", transform="u0.x + t*N", functions=[u0])


def test_function_transform_must_use_n():
    d = pb.Function("D", transform="1 + x", hidden=(4,))
    with pytest.raises(pb.InputError, match="transform of function 'D' must use its network output N"):
        pb.Problem(("x",), {"x": (0, 1)}, [], "D*u.xx", functions=[d])


def test_function_transform_reads_only_its_inputs():
    g = pb.Function("g", inputs=("x",), transform="1 + t*N", hidden=(4,))
    with pytest.raises(pb.InputError, match="unknown name 't'"):
        pb.Problem(("x", "t"), {"x": (0, 1), "t": (0, 1)}, [], "u.t - g*u.xx", functions=[g])


def test_function_inputs_must_be_coordinates():
    g = pb.Function("g", inputs=("z",), hidden=(4,))
    with pytest.raises(pb.InputError, match="inputs of function 'g' must be distinct coordinates"):
        pb.Problem(("x", "t"), {"x": (0, 1), "t": (0, 1)}, [], "u.t - g*u.xx", functions=[g])


@pytest.mark.parametrize(
    "params,functions,sources",
    [
        (["D"], ["D"], []),
        ([], ["D"], ["D"]),
        (["k"], ["D"], ["k"]),
        ([], ["x"], []),
    ],
)
def test_names_used_twice(params, functions, sources):
    with pytest.raises(pb.InputError, match="names used twice"):
        pb.Problem(
            ("x",),
            {"x": (0, 1)},
            [pb.Parameter(p, 1.0) for p in params],
            "u.xx",
            functions=[pb.Function(f, hidden=(4,)) for f in functions],
            sources={s: np.sin for s in sources},
        )


def test_reserved_and_bad_function_names():
    with pytest.raises(pb.InputError, match="reserved"):
        pb.Function("u")
    with pytest.raises(pb.InputError, match="reserved"):
        pb.Function("N")
    with pytest.raises(pb.InputError, match="identifier"):
        pb.Function("1D")
    with pytest.raises(pb.InputError, match="hidden of function 'D'"):
        pb.Function("D", hidden=(0,))


@pytest.mark.parametrize("text", ["D(t)*u.xx + u.t", "D(x, t)*u.xx + u.t", "D(2*x)*u.xx + u.t", "D(x=1)*u.t"])
def test_function_call_with_wrong_arguments(text):
    d = pb.Function("D", inputs=("x",), hidden=(4,))
    with pytest.raises(pb.InputError, match=r"write D\(x\) or just D"):
        pb.Problem(("x", "t"), {"x": (0, 1), "t": (0, 1)}, [], text, functions=[d])


def test_function_call_with_its_own_arguments_is_the_function():
    d = pb.Function("D", inputs=("x",), hidden=(4,))
    a = pb.Problem(("x", "t"), {"x": (0, 1), "t": (0, 1)}, [], "u.t - D(x)*u.xx", functions=[d])
    b = pb.Problem(("x", "t"), {"x": (0, 1), "t": (0, 1)}, [], "u.t - D*u.xx", functions=[d])
    assert a.compiled_residual.ops == b.compiled_residual.ops
    assert a.compiled_residual.leaves == b.compiled_residual.leaves


def test_unknown_function_in_model_calls():
    problem = poisson_problem()
    model = make_model(pb.PINN, problem)
    with pytest.raises(pb.InputError, match="unknown function 'E'"):
        model.function("E", [0.5])
    with pytest.raises(pb.InputError, match="derivatives are mappings over the coordinates"):
        model.function("D", [0.5], [{"t": 1}])
    with pytest.raises(pb.InputError, match="true 'u0' is unknown"):
        make_model(pb.PINN, heat_problem()).function_errors()


def test_load_with_sources_needs_the_problem(tmp_path):
    problem = poisson_problem()
    model = make_model(pb.BiLO, problem)
    model.fit(steps=30, lr=1e-2, lr_params=1e-2)
    path = str(tmp_path / "src.npz")
    model.save(path)
    with pytest.raises(pb.InputError, match=r"pass the problem itself: pinnbilo.load\(path, problem=...\)"):
        pb.load(path)
    loaded = pb.load(path, problem=problem)
    for m in (model, loaded):
        m.fit(steps=40, lr=1e-2, lr_params=1e-2, lr_functions=5e-3)
    assert_same_state(model, loaded)


def test_load_with_a_mismatched_problem_raises(tmp_path):
    model = make_model(pb.BiLO, poisson_problem())
    path = str(tmp_path / "m.npz")
    model.save(path)
    for other in (poisson_problem(hidden=(9,)), heat_problem()):
        with pytest.raises(pb.InputError):
            pb.load(path, problem=other)


# ---------------------------------------------------------------------------------------------
# 6. Checkpoints


def assert_same_state(a: pb.Model, b: pb.Model) -> None:
    np.testing.assert_array_equal(a._trainer.get_weights(), b._trainer.get_weights())
    np.testing.assert_array_equal(a._trainer.get_raw_params(), b._trainer.get_raw_params())
    ha, hb = a.history, b.history
    assert ha.step.size == hb.step.size > 0
    for key in ("step", "total", "res", "rgrad", "data", "reg"):
        np.testing.assert_array_equal(getattr(ha, key), getattr(hb, key), err_msg=key)
    for name in ha.params:
        np.testing.assert_array_equal(ha.params[name], hb.params[name])
    assert a.step == b.step


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_checkpoint_round_trip_with_a_function(tmp_path, dtype):
    problem = heat_problem()
    model = make_model(pb.BiLO, problem, dtype=dtype, w_reg=0.2)
    model.fit(steps=40, lr=1e-2, lr_params=1e-2, lr_functions=3e-3)
    path = str(tmp_path / "ck.npz")
    model.save(path)
    loaded = pb.load(path)
    assert loaded.problem.function_names == ["u0"]
    assert loaded.problem.function_inputs == {"u0": ("x",)}
    assert loaded.weights_config == model.weights_config
    assert loaded._trainer.n_raw == model._trainer.n_raw
    p = problem.random_points(6, seed=9)
    np.testing.assert_array_equal(loaded.function("u0", p), model.function("u0", p))
    np.testing.assert_array_equal(loaded.residual(p), model.residual(p))
    assert loaded.history.reg[-1] > 0
    for m in (model, loaded):
        m.fit(steps=50, lr=1e-2, lr_params=1e-2, lr_functions=3e-3)
    assert_same_state(model, loaded)
    assert model.history.reg.size == model.history.step.size


def test_history_and_losses_record_the_regulariser():
    problem = poisson_problem()
    model = make_model(pb.PINN, problem, w_reg=0.4)
    model.fit(steps=20, lr=1e-2, lr_params=1e-2, callback_every=5)
    h = model.history
    assert h.reg.shape == h.step.shape and np.all(h.reg > 0)
    lo = model.losses()
    np.testing.assert_allclose(lo["total"], 0.7 * lo["res"] + 1.3 * lo["data"] + 0.4 * lo["reg"], rtol=1e-12)
    # mean |D'|^2 over the collocation points
    (dx,) = model.function("D", model.collocation, [{"x": 1}])
    assert lo["reg"] == pytest.approx(np.mean(dx**2), rel=1e-10)


def test_regulariser_of_a_2d_function_sums_its_inputs():
    problem = darcy_problem(f_transform="1 + x*y*N")
    model = make_model(pb.BiLO, problem, w_reg=0.4)
    model.fit(steps=10, lr=1e-2, lr_params=1e-2)
    fx, fy = model.function("f", model.collocation, [{"x": 1}, {"y": 1}])
    assert model.losses()["reg"] == pytest.approx(np.mean(fx**2 + fy**2), rel=1e-10)


# ---------------------------------------------------------------------------------------------
# 7. Training sanity


def recovery_problem() -> pb.Problem:
    d = pb.Function("D", transform="1 + x*(1 - x)*N", hidden=(16,), true=d_true)
    return pb.Problem(
        ("x",),
        {"x": (0.0, 1.0)},
        [],
        "D*u.xx + D.x*u.x + f",
        transform="x*(1 - x)*N",
        solution=lambda p, _: np.sin(PI * p[:, 0]),
        functions=[d],
        sources={"f": poisson_source},
    )


def test_manufactured_source_is_exact():
    """With the true D and u, the residual of the recovery problem vanishes (checks poisson_source)."""
    x = np.linspace(0, 1, 50)
    h = 1e-4
    flux = lambda z: d_true(z[:, None]) * PI * np.cos(PI * z)  # noqa: E731
    div = (flux(x + h) - flux(x - h)) / (2 * h)
    np.testing.assert_allclose(div + poisson_source(x[:, None]), 0.0, atol=1e-6)


@pytest.mark.parametrize("cls,steps,threshold", [(pb.PINN, 1500, 0.3), (pb.BiLO, 1500, 0.3)])
def test_training_recovers_the_coefficient(cls, steps, threshold):
    problem = recovery_problem()
    data = problem.synthetic_data(20)
    model = cls(problem, data, hidden=(16, 16), n_res=41, seed=0)
    e0 = model.function_errors()["D"]
    assert e0 > 0.05
    model.fit(steps=steps, lr=5e-3, lr_params=5e-3)
    e1 = model.function_errors()["D"]
    assert e1 < threshold * e0, (e0, e1)


# ---------------------------------------------------------------------------------------------
# 8. Collocation resampling


@pytest.mark.parametrize("cls", [pb.PINN, pb.BiLO])
def test_resampling_is_deterministic(cls):
    problem = poisson_problem()
    runs = []
    for _ in range(2):
        model = make_model(cls, problem, n_res=15)
        before = model.collocation.copy()
        model.fit(steps=120, lr=1e-2, lr_params=1e-2, resample_every=50, callback_every=40)
        assert model.collocation.shape == before.shape
        assert not np.array_equal(model.collocation, before)
        assert not np.any(problem.outside(model.collocation))
        runs.append(model)
    a, b = runs
    np.testing.assert_array_equal(a.collocation, b.collocation)
    assert_same_state(a, b)
    # the losses are those of the current collocation points
    ref = make_model(cls, problem, n_res=15, collocation=a.collocation)
    ref._trainer.set_weights(a._trainer.get_weights())
    ref._trainer.set_raw_params(a._trainer.get_raw_params())
    assert ref.losses() == pytest.approx(a.losses(), rel=1e-12, abs=1e-15)


def test_resampling_changes_the_result_and_zero_keeps_the_points():
    problem = poisson_problem()
    fixed, resampled = make_model(pb.PINN, problem, n_res=15), make_model(pb.PINN, problem, n_res=15)
    grid = fixed.collocation.copy()
    fixed.fit(steps=120, lr=1e-2, lr_params=1e-2, resample_every=0)
    resampled.fit(steps=120, lr=1e-2, lr_params=1e-2, resample_every=50)
    np.testing.assert_array_equal(fixed.collocation, grid)
    assert not np.array_equal(fixed._trainer.get_weights(), resampled._trainer.get_weights())
    with pytest.raises(pb.InputError, match="resample_every"):
        fixed.fit(steps=1, resample_every=-1)


def test_set_collocation_replaces_points_and_checks_them():
    problem = poisson_problem()
    model = make_model(pb.BiLO, problem)
    new = np.linspace(0.05, 0.95, 23)[:, None]
    model.set_collocation(new)
    np.testing.assert_array_equal(model.collocation, new)
    ref = make_model(pb.BiLO, problem, collocation=new)
    assert model.losses() == pytest.approx(ref.losses(), rel=1e-12)
    with pytest.raises(pb.InputError, match="outside the domain"):
        model.set_collocation([[0.5], [1.5]])
    with pytest.raises(pb.InputError, match="collocation points"):
        model.set_collocation(np.zeros((3, 2)))
    np.testing.assert_array_equal(model.collocation, new)  # a refused replacement changes nothing


@pytest.mark.parametrize("cls", [pb.PINN, pb.BiLO])
def test_lr_functions_drives_only_the_function_networks(cls):
    problem = poisson_problem()
    n_par = len(problem.params)
    frozen = make_model(cls, problem)
    raw0 = frozen._trainer.get_raw_params()
    frozen.fit(steps=20, lr=1e-2, lr_params=1e-2, lr_functions=1e-12)
    raw1 = frozen._trainer.get_raw_params()
    assert np.max(np.abs(raw1[n_par:] - raw0[n_par:])) < 1e-9  # Adam moves each weight by <= lr per step
    assert np.max(np.abs(raw1[:n_par] - raw0[:n_par])) > 1e-3
    # the default is the weights' learning rate
    a, b = make_model(cls, problem), make_model(cls, problem)
    a.fit(steps=20, lr=2e-2, lr_params=1e-2)
    b.fit(steps=20, lr=2e-2, lr_params=1e-2, lr_functions=2e-2)
    assert_same_state(a, b)
    c = make_model(cls, problem)
    c.fit(steps=20, lr=2e-2, lr_params=1e-2, lr_functions=1e-2)
    assert not np.array_equal(c._trainer.get_raw_params(), a._trainer.get_raw_params())
    with pytest.raises(pb.InputError, match="lr_functions"):
        c.fit(steps=1, lr_functions=0.0)


def test_load_with_a_mismatched_problem_names_the_problem(tmp_path) -> None:
    p = pb.problems.poisson()
    model = pb.BiLO(p, p.synthetic_data(10), hidden=(8,), n_res=11)
    path = str(tmp_path / "m.npz")
    model.save(path)
    with pytest.raises(pb.InputError, match="given problem does not match"):
        pb.load(path, problem=pb.problems.fisher_kpp())
