"""The built-in PDE problems: each definition agrees with its reference solution, and each
unknown is recovered from noiseless synthetic data with a CI-sized budget.

Tolerances of the recovery tests (noiseless data, budgets of a few thousand Adam steps):
scalars within 2% (BiLO) as the problems' statement asks; PINN, whose data/residual balance is
slower to settle at these budgets, within the stated looser bounds. Functions: relative L2 errors
stated per test; they are limited by what the data determine (see each test's comment).
"""

from __future__ import annotations

import numpy as np
import pytest

import pinnbilo as pb
from pinnbilo import problems
from pinnbilo.compare import RECIPES, SETTLE, run, table


def _grid_values(problem: pb.Problem, n: int) -> tuple:
    axes = [np.linspace(*problem.domain[c], n) for c in problem.coords]
    mesh = np.meshgrid(*axes, indexing="ij")
    pts = np.stack([m.ravel() for m in mesh], axis=1)
    return axes, problem.exact(pts).reshape(mesh[0].shape)


def test_poisson_exact_solution_satisfies_equation() -> None:
    p = problems.poisson()
    (x,), u = _grid_values(p, 2001)
    u_xx = np.gradient(np.gradient(u, x), x)
    r = 2.0 * u_xx + np.pi**2 * np.sin(np.pi * x)
    assert np.max(np.abs(r[3:-3])) < 1e-3 * np.pi**2


def test_fisher_kpp_reference_satisfies_equation() -> None:
    p = problems.fisher_kpp()
    (x, t), u = _grid_values(p, 201)
    u_t = np.gradient(u, t, axis=1)
    u_xx = np.gradient(np.gradient(u, x, axis=0), x, axis=0)
    r = u_t - 0.1 * u_xx - 2.0 * u * (1 - u)
    inner = r[3:-3, 3:-3]
    assert np.max(np.abs(inner)) < 2e-2 * np.max(np.abs(u_t))
    assert np.allclose(u[:, 0], 0.5 * np.sin(np.pi * x) ** 2, atol=1e-6)
    assert np.allclose(u[[0, -1], :], 0.0, atol=1e-8)


def test_variable_poisson_reference_satisfies_equation() -> None:
    p = problems.variable_poisson()
    (x,), u = _grid_values(p, 4001)
    D = p.true_function("D", x[:, None])
    flux = D * np.gradient(u, x)
    r = np.gradient(flux, x) + np.pi**2 * np.sin(np.pi * x)
    assert np.max(np.abs(r[3:-3])) < 1e-3 * np.pi**2


def test_heat_initial_exact_solution() -> None:
    p = problems.heat_initial()
    (x, t), u = _grid_values(p, 401)
    u_t = np.gradient(u, t, axis=1)
    u_xx = np.gradient(np.gradient(u, x, axis=0), x, axis=0)
    assert np.max(np.abs((u_t - 0.02 * u_xx)[3:-3, 3:-3])) < 1e-3
    assert np.allclose(u[:, 0], p.true_function("u0", np.stack([x, 0 * x], 1)), atol=1e-12)
    data = problems.final_time_data(p, 30)
    assert np.all(data.points[:, 1] == 1.0) and len(data) == 30


def test_darcy_reference_satisfies_equation() -> None:
    p = problems.darcy()
    (x, y), u = _grid_values(p, 201)
    X, Y = np.meshgrid(x, y, indexing="ij")
    f = p.true_function("f", np.stack([X.ravel(), Y.ravel()], 1)).reshape(X.shape)
    ux, uy = np.gradient(u, x, axis=0), np.gradient(u, y, axis=1)
    div = np.gradient(f * ux, x, axis=0) + np.gradient(f * uy, y, axis=1)
    assert np.max(np.abs((div + 1.0)[4:-4, 4:-4])) < 2e-2


def test_every_builtin_has_a_recipe_and_round_trips() -> None:
    assert set(RECIPES) == set(problems.BUILTINS)
    for name in problems.BUILTINS:
        p = problems.get(name)
        q = pb.problem.problem_from_dict(p.to_dict())
        assert q.describe() == p.describe()


# -- recovery with CI-sized budgets ----------------------------------------------------------------
# Every bound holds for each of three seeds (a different data set and network initialisation
# each), with the recipes' training control (compare.SETTLE: cosine schedule, best state kept),
# so no test hinges on the step a run happens to stop at, nor on the machine's rounding.

SEEDS = (0, 1, 2)


def _fit(cls: type, problem: pb.Problem, data: pb.Data, seed: int, fit: dict, **model: object) -> pb.Model:
    m = cls(problem, data, seed=seed, **model)
    m.fit(**{**SETTLE, **fit})
    return m


def test_poisson_recovers_D() -> None:
    p = problems.poisson()
    for seed in SEEDS:
        data = p.synthetic_data(20, seed=seed)
        pinn = _fit(pb.PINN, p, data, seed, {"steps": 3000, "lr": 1e-2, "lr_params": 3e-2}, n_res=51)
        bilo = _fit(pb.BiLO, p, data, seed, {"steps": 3000, "pretrain_steps": 600, "lr_params": 1e-2}, n_res=51)
        assert bilo.parameter_errors()["D"] < 0.01, seed
        assert pinn.parameter_errors()["D"] < 0.02, seed


def test_fisher_kpp_recovers_D_and_rho() -> None:
    p = problems.fisher_kpp()
    for seed in SEEDS:
        data = p.synthetic_data(100, seed=seed)
        fit = {"steps": 4000, "pretrain_steps": 800, "lr": 5e-3, "lr_params": 5e-3}
        bilo = _fit(pb.BiLO, p, data, seed, fit, n_res=16, hidden=(20, 20), w_data=100.0, w_rgrad=0.01)
        err = bilo.parameter_errors()
        assert err["D"] < 0.05 and err["rho"] < 0.05, (seed, err)


def test_variable_poisson_recovers_D_of_x() -> None:
    # D is determined through D u_x; near x = 1/2, where u_x = 0, only smoothness ties it down.
    p = problems.variable_poisson()
    for seed in SEEDS:
        data = p.synthetic_data(20, seed=seed)
        kw = {"n_res": 51, "w_reg": 1e-3, "w_data": 100.0}
        bilo = _fit(pb.BiLO, p, data, seed, {"steps": 4000, "pretrain_steps": 800, "lr": 5e-3}, **kw)
        pinn = _fit(pb.PINN, p, data, seed, {"steps": 4000, "lr": 5e-3}, **kw)
        assert bilo.function_errors()["D"] < 0.03, seed
        assert pinn.function_errors()["D"] < 0.10, seed


def test_variable_poisson_recipe_settles() -> None:
    # The recipe's D(x) error varies by less than a factor 1.5 over the last 30% of its steps
    # (at a constant learning rate it swung between 1% and 8% there).
    recipe = RECIPES["variable_poisson"]
    p = problems.variable_poisson()
    fit = recipe.fit_options("BiLO")
    total = int(fit["steps"]) + int(fit["pretrain_steps"])  # type: ignore[call-overload]
    errors = []

    def watch(model: pb.Model, step: int) -> None:
        if step >= 0.7 * total:
            errors.append(model.function_errors()["D"])

    m = pb.BiLO(p, recipe.data(p, 0.0, 0), seed=0, **recipe.model_options("BiLO"))  # type: ignore[arg-type]
    m.fit(callback=watch, callback_every=200, **fit)  # type: ignore[arg-type]
    assert len(errors) >= 10 and max(errors) < 1.5 * min(errors), errors
    assert m.function_errors()["D"] < 0.02


def test_compare_runs_both_methods(tmp_path) -> None:
    out = run("poisson", steps=300)
    assert [o.method for o in out] == ["PINN", "BiLO"]
    text = table(out)
    assert "err D" in text and "BiLO" in text
    from pinnbilo.__main__ import main

    assert main(["compare", "poisson", "--steps", "200", "--plot", str(tmp_path)]) == 0
    assert (tmp_path / "poisson_bilo_solution.png").stat().st_size > 0


def test_compare_unknown_problem() -> None:
    with pytest.raises(pb.InputError, match="unknown problem"):
        run("nope")


def test_heat_initial_recovers_u0_of_x() -> None:
    # Data at t = 1 only: the 3 pi mode has decayed to 17% of its start, so a CI-sized budget
    # (3600 steps of a 20x20 network) gets the shape of u0 but not all its detail; the recipe's
    # budget (examples/heat_initial.py) reaches a few percent. The bound checks real progress
    # from the initial error of ~98%.
    p = problems.heat_initial(hidden=(16, 16))
    data = problems.final_time_data(p, 30)
    for seed in SEEDS:
        bilo = pb.BiLO(p, data, seed=seed, n_res=16, hidden=(20, 20), w_reg=1e-3, w_data=100.0)
        before = bilo.function_errors()["u0"]
        bilo.fit(steps=3000, pretrain_steps=600, lr=3e-3, **SETTLE)
        after = bilo.function_errors()["u0"]
        assert before > 0.9 and after < 0.5, (seed, before, after)


def test_darcy_recovers_f_pattern() -> None:
    # f is seen only through div(f grad u): its mean level is learned fast, its oscillating part
    # slowly (a constant f already has 25% error). CI budget: the mean within 5% and the learned
    # pattern positively correlated with the truth's; the recipe's budget reaches ~13% error.
    p = problems.darcy(hidden=(20, 20))
    g = p.grid(31)
    truth = p.true_function("f", g)
    for seed in SEEDS:
        data = p.synthetic_data(100, seed=seed)
        bilo = pb.BiLO(p, data, seed=seed, collocation=p.grid(14, interior=True), hidden=(20, 20), w_data=100.0)
        bilo.fit(steps=2000, pretrain_steps=500, lr=5e-3, lr_functions=5e-3, **SETTLE)
        f = bilo.function("f", g)
        corr = np.corrcoef(f - f.mean(), truth - truth.mean())[0, 1]
        assert abs(f.mean() - truth.mean()) < 0.05 and corr > 0.3, (seed, f.mean(), corr)


def test_demo_recovers_a_within_one_percent(capsys) -> None:
    from pinnbilo.__main__ import main

    assert main(["demo"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if line.startswith(("PINN", "BiLO"))]
    assert [r[0] for r in rows] == ["PINN", "BiLO"]
    for r in rows:
        a, err = float(r[1]), float(r[2].rstrip("%"))
        assert abs(a - 2.0) / 2.0 < 0.01 and abs(100 * abs(a - 2.0) / 2.0 - err) < 1e-3, r


def test_demo_refuses_problems_without_a_rate() -> None:
    from pinnbilo.__main__ import main

    with pytest.raises(SystemExit):
        main(["demo", "--problem", "poisson"])
