"""HMC, MALA, their diagnostics, chain files and resume, and the B-PINN baseline, on targets whose
answer is known."""

import math

import numpy as np
import pytest

import pinnbilo as pb
from pinnbilo.uncertainty import diagnostics as D
from pinnbilo.uncertainty.bpinn import bpinn_hmc
from pinnbilo.uncertainty.chains import Chains
from pinnbilo.uncertainty.hmc import HMCKernel, hmc
from pinnbilo.uncertainty.mala import MALAKernel, mala
from pinnbilo.uncertainty.samplers import Target, slow_windows

# A correlated 2-D Gaussian with scales 1 and 0.1 (correlation 0.9): the mass has to adapt.
MU = np.array([1.0, -2.0])
COV = np.array([[1.0, 0.9 * 0.1], [0.9 * 0.1, 0.01]])
PREC = np.linalg.inv(COV)


def gauss(x):
    r = x - MU
    g = -PREC @ r
    return 0.5 * float(r @ g), g


def ar1(phi, n, chains, rng):
    """Stationary AR(1) chains with unit variance."""
    out = np.empty((chains, n))
    out[:, 0] = rng.standard_normal(chains)
    noise = rng.standard_normal((chains, n)) * math.sqrt(1 - phi**2)
    for t in range(1, n):
        out[:, t] = phi * out[:, t - 1] + noise[:, t]
    return out


class StopAfter:
    """The Gaussian target that raises KeyboardInterrupt at its k-th call (a Ctrl-C)."""

    def __init__(self, k):
        self.k, self.calls = k, 0

    def __call__(self, x):
        self.calls += 1
        if self.calls == self.k:
            raise KeyboardInterrupt
        return gauss(x)


SAME = ("samples", "logp", "accepted", "divergent", "step_size", "mass", "n_leapfrog")


def assert_same_chains(a, b):
    for key in SAME:
        assert np.array_equal(getattr(a, key), getattr(b, key)), key


# -- diagnostics ------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_iid_normal_draws_have_rhat_one_and_ess_near_their_number(seed):
    x = np.random.default_rng(seed).standard_normal((4, 1000, 2))
    assert np.all(np.abs(D.rhat(x) - 1) < 0.01)
    for ess in (D.ess_bulk(x), D.ess_basic(x)):
        assert np.all((ess > 0.8 * 4000) & (ess < 1.25 * 4000))
    assert np.all(D.ess_tail(x) > 0.6 * 4000)


@pytest.mark.parametrize("phi", [0.5, 0.9])
def test_ar1_ess_matches_its_integrated_autocorrelation_time(phi):
    rng = np.random.default_rng(3)
    n = 4 * 4000
    expected = n * (1 - phi) / (1 + phi)
    for _ in range(3):
        x = ar1(phi, 4000, 4, rng)
        assert abs(D.ess_bulk(x) / expected - 1) < 0.3
        assert abs(D.ess_basic(x) / expected - 1) < 0.3
    assert abs(D.autocorrelation(x[0])[1] - phi) < 0.05


def test_chains_with_different_means_have_large_rhat():
    x = np.random.default_rng(4).standard_normal((4, 500))
    x[0] += 1.0
    assert D.rhat(x) > 1.1 and D.split_rhat(x) > 1.1
    # One chain drifting (a trend) is caught by splitting it.
    trend = np.random.default_rng(5).standard_normal((1, 1000)) + np.linspace(0, 3, 1000)
    assert D.rhat(trend) > 1.1


def test_diagnostics_of_constant_or_short_chains_are_nan_and_bad_input_is_refused():
    assert math.isnan(D.rhat(np.ones((2, 100)))) and math.isnan(D.ess_bulk(np.ones((2, 100))))
    assert math.isnan(D.ess_bulk(np.random.default_rng(0).standard_normal((2, 4))))
    with pytest.raises(pb.InputError, match="draws"):
        D.rhat(np.full((2, 10), np.nan))
    with pytest.raises(pb.InputError, match="draws"):
        D.ess_bulk(np.zeros((2, 3, 4, 5)))


def test_warmup_windows_follow_stan():
    assert slow_windows(1000) == [(75, 100), (100, 150), (150, 250), (250, 450), (450, 950)]
    assert slow_windows(100) == [(15, 90)]
    assert slow_windows(10) == []


# -- HMC and MALA on known targets -----------------------------------------------------------------
@pytest.fixture(scope="module")
def gauss_chains():
    return hmc(gauss, np.zeros(2), 1000, n_warmup=500, chains=4, seed=1, names=["x", "y"])


def test_hmc_recovers_a_correlated_gaussian(gauss_chains):
    ch = gauss_chains
    assert ch.status == "completed" and ch.samples.shape == (4, 1000, 2)
    mcse = ch.std() / np.sqrt(ch.ess("basic"))
    assert np.all(np.abs(ch.mean() - MU) < 4.5 * mcse)
    cov = np.cov(ch.draws.T)
    assert np.all(np.abs(np.diag(cov) / np.diag(COV) - 1) < 0.15)
    assert abs(cov[0, 1] / math.sqrt(cov[0, 0] * cov[1, 1]) - 0.9) < 0.03
    assert np.all(ch.rhat() < 1.02) and np.all(ch.ess() > 1000)
    assert ch.divergences.sum() == 0 and np.all(ch.acceptance_rate > 0.6)
    # The adapted mass is the posterior variance; the step size is in its units.
    assert np.all(np.abs(ch.mass / np.diag(COV) - 1) < 0.5)
    assert np.all((ch.step_size > 0.05) & (ch.step_size < 0.63))  # 0.63: the leapfrog's stability limit
    lo, hi = ch.interval(0.9)
    assert np.all(np.abs(hi - lo - 2 * 1.645 * np.sqrt(np.diag(COV))) < 0.15 * (hi - lo))


def test_chains_summary_and_names(gauss_chains):
    table = gauss_chains.summary()
    assert list(table.index) == ["x", "y"]
    assert {"mean", "sd", "mcse", "5%", "95%", "ess_bulk", "ess_tail", "r_hat"} <= set(table.columns)
    assert np.allclose(table["mean"], gauss_chains.mean())
    assert gauss_chains["y"].shape == (4, 1000)
    with pytest.raises(pb.InputError, match="no value named"):
        gauss_chains["z"]
    with pytest.raises(pb.InputError, match="level"):
        gauss_chains.interval(1.5)


def test_mala_recovers_a_gaussian_and_adapts_towards_its_acceptance():
    cov = np.array([[1.0, 0.5 * 0.3], [0.5 * 0.3, 0.09]])
    prec = np.linalg.inv(cov)

    def f(x):
        g = -prec @ (x - MU)
        return 0.5 * float((x - MU) @ g), g

    ch = mala(f, np.zeros(2), 2000, n_warmup=500, chains=2, seed=2)
    assert ch.method == "mala" and np.all(ch.n_leapfrog == 1)
    mcse = ch.std() / np.sqrt(ch.ess("basic"))
    assert np.all(np.abs(ch.mean() - MU) < 4.5 * mcse)
    assert np.all(np.abs(ch.std() / np.sqrt(np.diag(cov)) - 1) < 0.2)
    assert np.all((ch.acceptance_rate > 0.35) & (ch.acceptance_rate < 0.85))
    assert np.all(ch.rhat() < 1.05)


def test_mala_is_hmc_with_one_leapfrog_step():
    target = Target(gauss, 2)
    start = target(np.array([0.3, -1.9]))
    inv_mass = np.array([1.0, 0.01])
    for seed in range(5):
        a = MALAKernel().transition(target, start, np.random.default_rng(seed), 0.4, inv_mass, 1)
        b = HMCKernel().transition(target, start, np.random.default_rng(seed), 0.4, inv_mass, 1)
        assert a.accepted == b.accepted
        assert a.accept_prob == pytest.approx(b.accept_prob, rel=1e-9, abs=1e-12)
        assert np.allclose(a.point.x, b.point.x, rtol=1e-12, atol=1e-14)


def banana(x):
    """A curved (Rosenbrock-like) density that is not finite beyond a wall at x0 = 2."""
    if x[0] > 2.0:
        return math.nan, np.full(2, math.nan)
    r = x[1] - x[0] ** 2
    logp = -0.5 * x[0] ** 2 - 0.5 * (r / 0.3) ** 2
    return logp, np.array([-x[0] + 2 * x[0] * r / 0.09, -r / 0.09])


def test_divergent_trajectories_are_rejected_and_counted_not_raised():
    # Far too large a fixed step: most trajectories blow up, none crashes the sampler.
    big = hmc(banana, np.zeros(2), 200, n_warmup=50, chains=1, seed=0, step_size=1.5, path_length=3.0)
    assert big.status == "completed" and big.divergences[0] > 50
    assert np.all(np.isfinite(big.samples)) and np.all(big.samples[..., 0] <= 2.0)
    assert not np.any(big.accepted & big.divergent)
    # With adaptation the wall is still respected; x0 is N(0, 1) cut at 2 (mean -0.055, sd 0.96),
    # roughly recovered (the curved neck diverges now and then: the counts say so).
    ch = hmc(banana, np.zeros(2), 500, n_warmup=300, chains=2, seed=0)
    assert np.all(ch.samples[..., 0] <= 2.0) and np.all(np.isfinite(ch.logp))
    assert abs(float(ch.mean()[0]) + 0.055) < 0.5 and 0.6 < float(ch.std()[0]) < 1.4


def test_equal_seeds_give_identical_chains_and_other_seeds_do_not():
    a = hmc(gauss, np.zeros(2), 100, n_warmup=100, chains=2, seed=7)
    b = hmc(gauss, np.zeros(2), 100, n_warmup=100, chains=2, seed=7)
    c = hmc(gauss, np.zeros(2), 100, n_warmup=100, chains=2, seed=8)
    assert_same_chains(a, b)
    assert not np.array_equal(a.samples, c.samples)
    # A chain's draws do not depend on how many chains run after it.
    one = hmc(gauss, np.zeros(2), 100, n_warmup=100, chains=1, seed=7)
    assert np.array_equal(one.samples[0], a.samples[0])


# -- checkpoints, resume, Ctrl-C ---------------------------------------------------------------
RUN = dict(n_samples=120, n_warmup=100, chains=3, seed=5, checkpoint_every=37)


@pytest.mark.parametrize("sampler", [hmc, mala])
@pytest.mark.parametrize("when", [0.001, 0.2, 0.5, 0.9])
def test_resume_after_ctrl_c_is_bit_identical_to_an_uninterrupted_run(tmp_path, sampler, when):
    counter = StopAfter(0)
    full = sampler(counter, np.zeros(2), **RUN)
    path = tmp_path / "run.npz"
    # Ctrl-C at a fraction of the run: in the first chain's start, its warm-up, later chains.
    part = sampler(StopAfter(max(2, int(when * counter.calls))), np.zeros(2), checkpoint=path, **RUN)
    assert part.status == "interrupted"
    assert part.n_chains < 3 or part.n_draws < 120
    saved = Chains.load(path)
    assert saved.status == "interrupted" and np.array_equal(saved.samples, part.samples)
    resumed = sampler(gauss, np.zeros(2), checkpoint=path, **RUN)
    assert resumed.status == "completed"
    assert_same_chains(full, resumed)
    # A finished checkpoint is read back as the whole result.
    again = sampler(gauss, np.zeros(2), checkpoint=path, **RUN)
    assert_same_chains(full, again)


def test_ctrl_c_without_checkpoint_returns_the_finished_chains():
    calls = StopAfter(10**9)
    hmc(calls, np.zeros(2), 120, n_warmup=100, chains=1, seed=5)
    per_chain = calls.calls
    out = hmc(StopAfter(int(1.5 * per_chain)), np.zeros(2), 120, n_warmup=100, chains=3, seed=5)
    assert out.status == "interrupted" and out.samples.shape == (1, 120, 2)
    ref = hmc(gauss, np.zeros(2), 120, n_warmup=100, chains=1, seed=5)
    assert np.array_equal(out.samples, ref.samples)


def test_checkpoint_of_other_settings_is_refused(tmp_path):
    path = tmp_path / "run.npz"
    hmc(gauss, np.zeros(2), 20, n_warmup=20, chains=1, seed=0, checkpoint=path)
    with pytest.raises(pb.InputError, match="other settings.*seed"):
        hmc(gauss, np.zeros(2), 20, n_warmup=20, chains=1, seed=1, checkpoint=path)
    done = tmp_path / "done.npz"
    Chains.load(path).save(done)
    with pytest.raises(pb.InputError, match="not a sampler checkpoint"):
        hmc(gauss, np.zeros(2), 20, n_warmup=20, chains=1, seed=0, checkpoint=done)


def test_chains_file_round_trip_and_damaged_files(tmp_path, gauss_chains):
    path = tmp_path / "chains.npz"
    gauss_chains.notes = ["a note"]
    try:
        gauss_chains.save(path)
    finally:
        gauss_chains.notes = []
    back = Chains.load(path)
    assert_same_chains(gauss_chains, back)
    assert back.names == ["x", "y"] and back.warmup == gauss_chains.warmup and back.notes == ["a note"]
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    with pytest.raises(pb.InputError, match="not a readable"):
        Chains.load(tmp_path / "junk.npz")
    np.savez(tmp_path / "pickled.npz", meta=np.array([{"a": 1}], dtype=object))
    with pytest.raises(pb.InputError):
        Chains.load(tmp_path / "pickled.npz")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(pb.InputError, match="metadata"):
        Chains.load(tmp_path / "other.npz")


# -- the hook and record -------------------------------------------------------------------------------
def test_a_hook_that_returns_none_leaves_the_chain_exact():
    seen = []
    plain = hmc(gauss, np.zeros(2), 100, n_warmup=100, chains=1, seed=3)
    hooked = hmc(gauss, np.zeros(2), 100, n_warmup=100, chains=1, seed=3, after_accept=lambda x: seen.append(x))
    assert_same_chains(plain, hooked)
    assert len(seen) > int(plain.accepted.sum())  # the start and every accepted move, warm-up too


def test_the_values_a_hook_returns_become_the_current_state():
    def shifted(x):
        lp, g = gauss(x)
        return lp - 5.0, g

    ch = hmc(
        gauss, np.zeros(2), 100, n_warmup=0, chains=1, seed=3, step_size=0.05, path_length=0.5, after_accept=shifted
    )
    # The hook runs at the start and after every accepted move: every state's logp is the hook's.
    expected = np.array([gauss(x)[0] - 5.0 for x in ch.samples[0]])
    assert np.allclose(ch.logp[0], expected, rtol=0, atol=1e-9)


def test_record_keeps_a_function_of_the_state():
    ch = hmc(gauss, np.zeros(2), 50, n_warmup=50, chains=2, seed=0, record=lambda x: x[:1] * 2, names=["2x"])
    assert ch.samples.shape == (2, 50, 1) and ch.mass.shape == (2, 2) and ch.labels == ["2x"]


# -- bad input ----------------------------------------------------------------------------------------
def wrong_shape(x):
    return 0.0, np.zeros(3)


BAD = [
    (dict(logp_and_grad=42), "logp_and_grad"),
    (dict(x0=np.zeros((3, 2)), chains=2), "x0"),
    (dict(x0=[0.0, math.nan]), "x0"),
    (dict(x0="start"), "x0"),
    (dict(x0=np.zeros((2, 2, 2))), "x0"),
    (dict(n_samples=0), "n_samples"),
    (dict(n_samples=2.5), "n_samples"),
    (dict(n_samples=True), "n_samples"),
    (dict(n_warmup=-1), "n_warmup"),
    (dict(target_accept=0.0), "target_accept"),
    (dict(target_accept=1.0), "target_accept"),
    (dict(target_accept="high"), "target_accept"),
    (dict(step_size=-0.1), "step_size"),
    (dict(path_length=0.0), "path_length"),
    (dict(mass="dense"), "mass"),
    (dict(mass=[1.0, -1.0]), "mass"),
    (dict(mass=[1.0, 1.0, 1.0]), "mass"),
    (dict(seed=-1), "seed"),
    (dict(chains=0), "chains"),
    (dict(names=["a"]), "names"),
    (dict(after_accept="hook"), "after_accept"),
    (dict(logp_and_grad=wrong_shape), "logp_and_grad.*shape"),
    (dict(logp_and_grad=lambda x: 1.0), "logp_and_grad.*pair"),
    (dict(logp_and_grad=lambda x: ("a", np.zeros(2))), "logp_and_grad.*real"),
    (dict(logp_and_grad=lambda x: (-math.inf, np.zeros(2))), "x0.*not finite"),
    (dict(after_accept=lambda x: (0.0, np.zeros(5))), "after_accept.*shape"),
]


CASES = [(hmc, c, m) for c, m in BAD] + [(mala, c, m) for c, m in BAD if "path_length" not in c]


@pytest.mark.parametrize("sampler, change, match", CASES)
def test_bad_input_raises_input_error_naming_the_argument(sampler, change, match):
    args = dict(logp_and_grad=gauss, x0=np.zeros(2), n_samples=5, n_warmup=5, chains=1)
    args.update(change)
    with pytest.raises(pb.InputError, match=match):
        sampler(**args)


# -- B-PINN --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_pinn():
    problem = pb.problems.exponential_growth(a_true=2.0, a_init=1.0)
    data = problem.synthetic_data(20, noise=0.01, seed=0)
    model = pb.PINN(problem, data, hidden=(6,), n_res=17, seed=0)
    model.fit(steps=1500, lr=1e-2, lr_params=1e-2, schedule="cosine", keep="best")
    return model


def test_bpinn_hmc_samples_the_growth_rate_of_a_tiny_pinn(tiny_pinn):
    before = tiny_pinn.state_vector("pinn")
    ch = bpinn_hmc(tiny_pinn, 60, sigma_data=0.074, sigma_res=0.1, n_warmup=120, chains=1, seed=0, max_leapfrog=48)
    assert ch.method == "bpinn_hmc" and ch.names == ["a"] and ch.samples.shape == (1, 60, 1)
    assert ch.mass.shape == (1, before.size)
    assert 1.7 < float(ch.mean()[0]) < 2.3 and float(ch.std()[0]) < 0.3
    assert np.all(np.isfinite(ch.logp)) and ch.acceptance_rate[0] > 0.2
    assert np.array_equal(tiny_pinn.state_vector("pinn"), before)  # the model is not touched


def test_bpinn_hmc_bad_input(tiny_pinn):
    with pytest.raises(pb.InputError, match="PINN"):
        bpinn_hmc(pb.BiLO(tiny_pinn.problem, tiny_pinn.data, hidden=(4,)), 5, 0.1, 0.1)
    with pytest.raises(pb.InputError, match="sigma_data"):
        bpinn_hmc(tiny_pinn, 5, None, 0.1)
    with pytest.raises(pb.InputError, match="sigma_res"):
        bpinn_hmc(tiny_pinn, 5, 0.1, 0.0)


def test_bpinn_hmc_records_draws_of_an_unknown_function():
    """D(x) of (D u_x)_x = -pi^2 sin(pi x): no scalar parameters, D's network sampled with the
    solution's; its values recorded at given points (pinned to 1 at x = 0 by the transform)."""
    d = pb.Function("D", transform="1 + x*(1 - x)*N", true=lambda z: 1 + 0.5 * np.sin(2 * np.pi * z[:, 0]))
    problem = pb.Problem(
        ("x",), {"x": (0, 1)}, params=[], residual="D*u.xx + D.x*u.x + pi**2*sin(pi*x)",
        transform="x*(1 - x)*N", functions=[d], solution=lambda p, _: pb.problems.variable_poisson().exact(p),
    )  # fmt: skip
    data = problem.synthetic_data(12, noise=0.01, seed=0)
    model = pb.PINN(problem, data, hidden=(6,), n_res=15, seed=0, w_reg=1e-3)
    model.fit(steps=800, lr=1e-2, schedule="cosine", keep="best")
    ch = bpinn_hmc(model, 20, sigma_data=0.01, sigma_res=0.1, n_warmup=40, chains=1, seed=0, max_leapfrog=16,
                   function_points={"D": [0.0, 0.25, 0.5]})  # fmt: skip
    assert ch.names == ["D(x=0)", "D(x=0.25)", "D(x=0.5)"] and ch.samples.shape == (1, 20, 3)
    np.testing.assert_allclose(ch.samples[0, :, 0], 1.0, atol=1e-12)
    assert np.all(np.isfinite(ch.samples)) and np.ptp(ch.samples[0, :, 2]) > 0
    with pytest.raises(pb.InputError, match="function_points"):
        bpinn_hmc(model, 5, 0.01, 0.1, n_warmup=5, function_points={"V": [0.5]})
    with pytest.raises(pb.InputError, match="function_points"):
        bpinn_hmc(model, 5, 0.01, 0.1, n_warmup=5, function_points={"D": [2.0]})
    with pytest.raises(pb.InputError, match="no unknown parameters"):
        bpinn_hmc(model, 5, 0.01, 0.1, n_warmup=5)


# -- plots ---------------------------------------------------------------------------------------------
def test_corner_and_trace_figures(gauss_chains):
    pytest.importorskip("matplotlib")
    from pinnbilo.uncertainty.plots import corner, trace

    fig = corner(gauss_chains, truths={"x": 1.0, "y": -2.0}, reference=np.random.default_rng(0).normal(size=(500, 2)))
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 3
    assert len(trace(gauss_chains).axes) == 4
    with pytest.raises(pb.InputError, match="truths"):
        corner(gauss_chains, truths={"q": 1.0})
    with pytest.raises(pb.InputError, match="reference"):
        corner(gauss_chains, reference=np.zeros((10, 3)))


def test_predictive_draws_of_a_bilo_model_restore_its_parameters(tiny_pinn):
    pytest.importorskip("matplotlib")
    from pinnbilo.uncertainty.plots import predictive_bands, predictive_draws

    model = pb.BiLO(tiny_pinn.problem, tiny_pinn.data, hidden=(4,), n_res=9, seed=0)
    draws = np.random.default_rng(0).normal(2.0, 0.1, size=(50, 1))
    u = predictive_draws(model, draws, [0.0, 0.5, 1.0], n_draws=20)
    assert u.shape == (20, 3) and model.params == {"a": 1.0}
    assert np.std(u[:, 2]) > 0  # the local operator moves with the parameter input
    assert predictive_bands(model, draws, n_draws=10).axes
    with pytest.raises(pb.InputError, match="BiLO"):
        predictive_draws(tiny_pinn, draws, [0.5])
