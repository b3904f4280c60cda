"""Reference solvers: exact and manufactured solutions, second-order convergence, interpolation, bad input."""

import pickle

import numpy as np
import pytest

from pinnbilo.errors import InputError
from pinnbilo.solvers import GridSolution, solve_darcy_2d, solve_poisson_1d, solve_reaction_diffusion_1d

PI = np.pi


def max_error(sol: GridSolution, exact) -> float:
    grids = np.meshgrid(*sol.axes, indexing="ij")
    return float(np.abs(sol.values - exact(*grids)).max())


def assert_second_order(errors) -> None:
    """Halving h divides the error by about 4."""
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all((ratios > 3.6) & (ratios < 4.4)), (errors, ratios)


# ---------------------------------------------------------------- Poisson 1-D


def test_poisson_constant_coefficient_exact_and_second_order():
    # D u_xx = -pi^2 sin(pi x), D = 2  =>  u = sin(pi x) / 2.
    exact = lambda x: np.sin(PI * x) / 2.0  # noqa: E731
    source = lambda x: -(PI**2) * np.sin(PI * x)  # noqa: E731
    errors = [max_error(solve_poisson_1d(2.0, source, n=n), exact) for n in (51, 101, 201)]
    assert_second_order(errors)
    fine = solve_poisson_1d(2.0, source)  # default n = 2001
    assert max_error(fine, exact) < 2e-7
    x = np.random.default_rng(0).uniform(0, 1, 50)
    np.testing.assert_allclose(fine(x), exact(x), atol=2e-7)


def test_poisson_variable_coefficient_manufactured():
    # u = sin(2x) + x^2 on [0.5, 2], D = 1 + x^2: source = D' u' + D u''.
    u = lambda x: np.sin(2 * x) + x**2  # noqa: E731
    D = lambda x: 1.0 + x**2  # noqa: E731
    source = lambda x: 2 * x * (2 * np.cos(2 * x) + 2 * x) + (1 + x**2) * (-4 * np.sin(2 * x) + 2)  # noqa: E731
    lo, hi = 0.5, 2.0
    sols = [solve_poisson_1d(D, source, n=n, left=u(lo), right=u(hi), domain=(lo, hi)) for n in (41, 81, 161)]
    assert_second_order([max_error(s, u) for s in sols])
    assert max_error(sols[-1], u) < 1e-4
    assert sols[-1].values[0] == u(lo) and sols[-1].values[-1] == u(hi)


def test_poisson_constant_source_matches_parabola():
    # u_xx = 2 with u(0) = u(1) = 0 is u = x^2 - x, which the scheme reproduces exactly.
    sol = solve_poisson_1d(1.0, 2.0, n=11)
    assert max_error(sol, lambda x: x * x - x) < 1e-13


# ---------------------------------------------------------------- reaction-diffusion 1-D


def test_heat_equation_single_mode():
    D = 0.1
    sol = solve_reaction_diffusion_1d(D, None, lambda x: np.sin(PI * x))
    assert sol.values.shape == (201, 101)
    assert max_error(sol, lambda x, t: np.exp(-D * PI**2 * t) * np.sin(PI * x)) < 2e-5


def test_heat_equation_two_modes_second_order():
    D = 0.1

    def exact(x, t):
        return np.exp(-D * PI**2 * t) * np.sin(PI * x) + 0.5 * np.exp(-9 * D * PI**2 * t) * np.sin(3 * PI * x)

    u0 = lambda x: exact(x, 0.0)  # noqa: E731
    errors = [max_error(solve_reaction_diffusion_1d(D, None, u0, nx=nx, nt=11), exact) for nx in (51, 101, 201)]
    assert_second_order(errors)


def test_heat_equation_dirichlet_values_and_domain():
    # On [0, 2] with u(0) = 1, u(2) = -1: u = 1 - x + exp(-D (pi/2)^2 t) sin(pi x / 2).
    D = 0.3

    def exact(x, t):
        return 1.0 - x + np.exp(-D * (PI / 2) ** 2 * t) * np.sin(PI * x / 2)

    sol = solve_reaction_diffusion_1d(
        D, None, lambda x: exact(x, 0.0), t_end=2.0, nx=201, nt=21, domain=(0.0, 2.0), left=1.0, right=-1.0
    )
    np.testing.assert_allclose(sol.axes[1], np.linspace(0, 2, 21))
    assert max_error(sol, exact) < 5e-5


def fisher(nx: int, **kw) -> GridSolution:
    return solve_reaction_diffusion_1d(
        0.01, lambda u: 2.0 * u * (1.0 - u), lambda x: 0.5 * np.sin(PI * x) ** 2, nx=nx, **kw
    )


def test_fisher_kpp_self_convergence_and_properties():
    ref = fisher(801, rtol=1e-10, atol=1e-12)
    x, t = np.meshgrid(np.linspace(0, 1, 11), np.linspace(0, 1, 11), indexing="ij")
    pts = np.column_stack([x.ravel(), t.ravel()])
    sols = [fisher(nx) for nx in (51, 101, 201)]
    errors = [float(np.abs(s(pts) - ref(pts)).max()) for s in sols]
    assert_second_order(errors)
    assert errors[-1] < 3e-5
    u = sols[-1].values
    assert np.all(u >= 0.0) and np.all(u <= 1.0)
    assert np.all(u[0, :] == 0.0) and np.all(u[-1, :] == 0.0)
    np.testing.assert_allclose(u[:, 0], 0.5 * np.sin(PI * sols[-1].axes[0]) ** 2, atol=1e-15)
    # Logistic growth outpaces the slow diffusion in the middle of the interval.
    assert u[100, -1] > u[100, 0] + 0.2


def test_fisher_kpp_exact_jacobian_and_radau_agree():
    base = fisher(101)
    exact_jac = fisher(101, reaction_derivative=lambda u: 2.0 - 4.0 * u)
    radau = fisher(101, method="Radau")
    np.testing.assert_allclose(exact_jac.values, base.values, atol=1e-7)
    np.testing.assert_allclose(radau.values, base.values, atol=1e-7)


# ---------------------------------------------------------------- Darcy 2-D


def darcy_case():
    f = lambda x, y: 1.0 + 0.5 * np.sin(2 * PI * x) * np.cos(PI * y)  # noqa: E731
    u = lambda x, y: np.sin(PI * x) * np.sin(PI * y)  # noqa: E731

    def source(x, y):  # -div(f grad u) = -(f_x u_x + f_y u_y + f lap u)
        fx = PI * np.cos(2 * PI * x) * np.cos(PI * y)
        fy = -0.5 * PI * np.sin(2 * PI * x) * np.sin(PI * y)
        ux = PI * np.cos(PI * x) * np.sin(PI * y)
        uy = PI * np.sin(PI * x) * np.cos(PI * y)
        return -(fx * ux + fy * uy - 2 * PI**2 * f(x, y) * u(x, y))

    return f, u, source


@pytest.mark.parametrize("face", ["harmonic", "arithmetic", "midpoint"])
def test_darcy_manufactured_second_order(face):
    f, u, source = darcy_case()
    errors = [max_error(solve_darcy_2d(f, source, n=n, face=face), u) for n in (17, 33, 65)]
    assert_second_order(errors)
    assert errors[-1] < 3e-4


def test_darcy_default_grid_and_interpolation():
    f, u, source = darcy_case()
    sol = solve_darcy_2d(f, source)
    assert sol.values.shape == (129, 129)
    assert max_error(sol, u) < 1e-4
    pts = np.random.default_rng(1).uniform(0, 1, (200, 2))
    np.testing.assert_allclose(sol(pts), u(pts[:, 0], pts[:, 1]), atol=1e-4)


def test_darcy_constant_coefficient_rectangle():
    # f = 2 on [0, 1] x [-1, 1]; u = sin(pi x) cos(pi y / 2) vanishes on the boundary.
    u = lambda x, y: np.sin(PI * x) * np.cos(PI * y / 2)  # noqa: E731
    source = lambda x, y: 2.0 * (PI**2 + PI**2 / 4) * u(x, y)  # noqa: E731
    sol = solve_darcy_2d(2.0, source, n=65, domain=((0.0, 1.0), (-1.0, 1.0)))
    np.testing.assert_allclose(sol.axes[1], np.linspace(-1, 1, 65))
    assert max_error(sol, u) < 5e-4
    assert np.all(sol.values[[0, -1], :] == 0.0) and np.all(sol.values[:, [0, -1]] == 0.0)


# ---------------------------------------------------------------- interpolation


def test_interpolation_1d_nodes_and_between():
    x = np.linspace(0.0, 2.0, 101)
    sol = GridSolution((x,), np.sin(3 * x))
    np.testing.assert_allclose(sol(x), np.sin(3 * x), atol=1e-13)
    q = np.random.default_rng(2).uniform(0, 2, 300)
    np.testing.assert_allclose(sol(q), np.sin(3 * q), atol=1e-7)
    np.testing.assert_allclose(sol(q[:, None]), sol(q), atol=0)
    # Linear interpolation would be off by ~ h^2 / 8 * 9 ~ 5e-4: the spline is far better.
    assert np.abs(sol(q) - np.sin(3 * q)).max() < 1e-3 * 9 * (x[1] - x[0]) ** 2 / 8


def test_interpolation_2d_and_3d():
    x, y = np.linspace(0, 1, 41), np.linspace(-1, 2, 61)
    g = lambda a, b: np.exp(a) * np.cos(2 * b)  # noqa: E731
    X, Y = np.meshgrid(x, y, indexing="ij")
    sol = GridSolution((x, y), g(X, Y))
    nodes = np.column_stack([X.ravel(), Y.ravel()])
    np.testing.assert_allclose(sol(nodes), g(X, Y).ravel(), atol=1e-12)
    q = np.random.default_rng(3).uniform([0, -1], [1, 2], (500, 2))
    np.testing.assert_allclose(sol(q), g(q[:, 0], q[:, 1]), atol=1e-5)  # linear: ~1e-3
    # Corners, exactly on the edge of the grid, are inside.
    np.testing.assert_allclose(sol(np.array([[0.0, -1.0], [1.0, 2.0]])), [g(0, -1), g(1, 2)], atol=1e-12)

    axes = (np.linspace(0, 1, 9), np.linspace(0, 1, 10), np.linspace(0, 1, 11))
    grids = np.meshgrid(*axes, indexing="ij")
    cubic = grids[0] ** 3 + grids[1] ** 2 * grids[2] - grids[2] ** 3
    sol3 = GridSolution(axes, cubic)
    q3 = np.random.default_rng(4).uniform(0, 1, (100, 3))
    np.testing.assert_allclose(sol3(q3), q3[:, 0] ** 3 + q3[:, 1] ** 2 * q3[:, 2] - q3[:, 2] ** 3, atol=1e-12)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(sol3))(q3), sol3(q3))


# ---------------------------------------------------------------- bad input


def heat(**kw):
    args = dict(D=0.1, reaction=None, u0=lambda x: np.sin(PI * x), nx=21, nt=5)
    args.update(kw)
    return solve_reaction_diffusion_1d(**args)


BAD = [
    # Poisson
    (lambda: solve_poisson_1d(0.0, 1.0), "D must be positive"),
    (lambda: solve_poisson_1d(-1.0, 1.0), "D must be positive"),
    (lambda: solve_poisson_1d(float("nan"), 1.0), "D must be finite"),
    (lambda: solve_poisson_1d(lambda x: x - 0.5, 1.0), "D must be positive and finite"),
    (lambda: solve_poisson_1d(lambda x: np.where(x > 0.7, np.inf, 1.0), 1.0), "D must be positive and finite"),
    (lambda: solve_poisson_1d(lambda x: np.ones(3), 1.0), "D must return an array of shape"),
    (lambda: solve_poisson_1d(1.0, lambda x: np.full_like(x, np.nan)), "source must be finite"),
    (lambda: solve_poisson_1d(1.0, lambda x: x[:, None]), "source must return an array of shape"),
    (lambda: solve_poisson_1d(1.0, "one"), "source must be a real number"),
    (lambda: solve_poisson_1d(1.0, 1.0, n=3), "n must be at least 4"),
    (lambda: solve_poisson_1d(1.0, 1.0, n=100.0), "n must be an integer"),
    (lambda: solve_poisson_1d(1.0, 1.0, domain=(1.0, 1.0)), "lo < hi"),
    (lambda: solve_poisson_1d(1.0, 1.0, domain=(2.0, 1.0)), "lo < hi"),
    (lambda: solve_poisson_1d(1.0, 1.0, domain=(0.0, np.inf)), "domain\\[1\\] must be finite"),
    (lambda: solve_poisson_1d(1.0, 1.0, domain=1.0), "domain must be a pair"),
    (lambda: solve_poisson_1d(1.0, 1.0, left=np.nan), "left must be finite"),
    # reaction-diffusion
    (lambda: heat(D=0.0), "D must be positive"),
    (lambda: heat(D=lambda x: x), "D must be a real number"),
    (lambda: heat(nx=3), "nx must be at least 4"),
    (lambda: heat(nt=2), "nt must be at least 4"),
    (lambda: heat(t_end=0.0), "t_end must be positive"),
    (lambda: heat(domain=(1.0, 0.0)), "lo < hi"),
    (lambda: heat(u0=0.5), "u0 must be a callable"),
    (lambda: heat(u0=lambda x: np.sin(PI * x)[:-1]), "u0 must return an array of shape"),
    (lambda: heat(u0=lambda x: np.where(x > 0.5, np.inf, x)), "u0 must be finite"),
    (lambda: heat(reaction=2.0), "reaction must be a callable"),
    (lambda: heat(reaction=lambda u: u[:-1]), "reaction must return an array of the shape"),
    (lambda: heat(reaction=lambda u: np.full_like(u, np.nan)), "reaction must be finite"),
    (lambda: heat(reaction=lambda u: u, reaction_derivative=lambda u: 1.0), "reaction_derivative must return"),
    (lambda: heat(reaction_derivative=lambda u: u), "only given together with reaction"),
    (lambda: heat(reaction=lambda u: 10 * u**2, t_end=10.0), "time integration failed"),
    (lambda: heat(method="RK45"), "method must be"),
    (lambda: heat(rtol=-1.0), "rtol must be positive"),
    # Darcy
    (lambda: solve_darcy_2d(0.0, n=9), "f must be positive"),
    (lambda: solve_darcy_2d(lambda x, y: x - 0.5, n=9), "f must be positive and finite"),
    (lambda: solve_darcy_2d(lambda x, y: np.where(x + y > 1.5, np.nan, 1.0), n=9), "f must be positive and finite"),
    (lambda: solve_darcy_2d(lambda x, y: x[0], n=9), "f must return an array of shape"),
    (lambda: solve_darcy_2d(lambda x, y: -1.0, n=9, face="midpoint"), "f must be positive"),
    (lambda: solve_darcy_2d(lambda x: x, n=9), "f raised TypeError"),
    (lambda: solve_darcy_2d(1.0, lambda x, y: np.full(x.shape, np.inf), n=9), "source must be finite"),
    (lambda: solve_darcy_2d(1.0, n=2), "n must be at least 4"),
    (lambda: solve_darcy_2d(1.0, n=9, domain=((0.0, 1.0), (1.0, 1.0))), "domain\\[1\\] must satisfy lo < hi"),
    (lambda: solve_darcy_2d(1.0, n=9, domain=(0.0, 1.0)), "domain\\[0\\] must be a pair"),
    (lambda: solve_darcy_2d(1.0, n=9, face="geometric"), "face must be"),
    # GridSolution
    (lambda: GridSolution((np.linspace(0, 1, 5),), np.zeros(4)), "values must have shape"),
    (lambda: GridSolution((np.linspace(0, 1, 3),), np.zeros(3)), "at least 4 points"),
    (lambda: GridSolution((np.array([0.0, 2.0, 1.0, 3.0]),), np.zeros(4)), "strictly increasing"),
    (lambda: GridSolution((np.linspace(0, 1, 5),), np.array([0, 1, np.nan, 0, 0])), "values must be finite"),
    (lambda: GridSolution((), np.zeros(())), "at least one coordinate"),
]


@pytest.mark.parametrize("call,match", BAD, ids=[m for _, m in BAD])
def test_bad_input_raises_input_error(call, match):
    with pytest.raises(InputError, match=match):
        call()


def test_points_outside_or_malformed_raise():
    sol1 = GridSolution((np.linspace(0, 1, 11),), np.linspace(0, 1, 11) ** 2)
    with pytest.raises(InputError, match="outside the grid"):
        sol1(np.array([0.5, 1.01]))
    with pytest.raises(InputError, match="outside the grid"):
        sol1(np.array([-1e-6]))
    with pytest.raises(InputError, match="finite"):
        sol1(np.array([np.nan]))
    with pytest.raises(InputError, match="shape"):
        sol1(np.zeros((3, 2)))
    x = np.linspace(0, 1, 6)
    sol2 = GridSolution((x, x), np.zeros((6, 6)))
    with pytest.raises(InputError, match=r"points\[:, 1\] = 2.0 lies outside"):
        sol2(np.array([[0.5, 0.5], [0.5, 2.0]]))
    with pytest.raises(InputError, match=r"shape \(n, 2\)"):
        sol2(np.array([0.5, 0.5]))
    # Rounding just past the end is accepted and clipped.
    assert np.isclose(sol1(np.array([1.0 + 1e-15]))[0], 1.0)
