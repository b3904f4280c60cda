"""Saving and loading steady-state models: every kind of unknown round-trips with its fit record,
and damaged, edited or foreign files are refused with a clear error."""

import io
import json
import zipfile

import numpy as np
import pytest

import pinnbilo as pb
from pinnbilo import steady

GRID = steady.PeriodicGrid(32)
IGRID = steady.IntervalGrid(31)
V0 = lambda x: np.cos(2 * np.pi * x)  # noqa: E731
W0 = lambda r: -np.exp(-(r**2) / 0.02)  # noqa: E731


@pytest.fixture(scope="module")
def periodic():
    return steady.aggregation_diffusion_states(GRID, V=V0, W=W0, sigma=0.5, mass=[0.5, 1.0])


@pytest.fixture(scope="module")
def dirichlet():
    return steady.semilinear_states(IGRID, lambda x, u: 2 * np.exp(-u), 0.5, left=[0.0, 1.0], right=[1.0, 0.0])


@pytest.mark.parametrize(
    "make",
    [
        lambda: steady.AggregationDiffusion(GRID, V=V0, W=steady.Spectral(8)),
        lambda: steady.AggregationDiffusion(GRID, V=steady.Spectral(), W=steady.Spectral(5)),
        lambda: steady.AggregationDiffusion(GRID, V=steady.Unknown(hidden=(4,), seed=3), W=W0),
    ],
)
def test_aggregation_models_round_trip(tmp_path, periodic, make):
    model = make()
    path = str(tmp_path / "m.npz")
    model.save(path)
    back = steady.load(path)
    assert back.result is None
    np.testing.assert_array_equal(back.params, model.params)
    if model.spectral:
        model.fit(periodic, check=False, smoothness="auto")
    else:
        model.fit(periodic, adam_steps=20, lbfgs_steps=3, check=False)
    model.save(path)
    back = steady.load(path)
    for k in ("V", "W"):
        np.testing.assert_array_equal(back.functions()[k], model.functions()[k])
        np.testing.assert_array_equal(back.result.functions[k], model.result.functions[k])
    assert back.result.loss == model.result.loss and back.result.status == model.result.status
    np.testing.assert_array_equal(back.result.history, model.result.history)
    u = back.predict(sigma=0.5, mass=0.8)
    np.testing.assert_allclose(u, model.predict(sigma=0.5, mass=0.8), rtol=1e-12)


@pytest.mark.parametrize("g", [steady.Chebyshev(6), steady.Unknown(hidden=(4,))])
def test_semilinear_models_round_trip(tmp_path, dirichlet, g):
    model = steady.Semilinear(IGRID, 0.5, g=g)
    model.fit(dirichlet) if isinstance(g, steady.Chebyshev) else model.fit(dirichlet, adam_steps=10, lbfgs_steps=2)
    path = tmp_path / "s.npz"
    model.save(str(path))
    back = steady.load(path)  # a PathLike too
    assert back.u_range == model.u_range and back.depends_on == model.depends_on
    uu = np.linspace(*model.u_range, 9)
    np.testing.assert_array_equal(back.g(0.2, uu), model.g(0.2, uu))
    np.testing.assert_array_equal(back.result.functions["g"], model.result.functions["g"])


def _rewrite(path, out, edit):
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    edit(arrays)
    np.savez(out, **arrays)
    return out


def _edit_meta(change):
    def edit(arrays):
        meta = json.loads(arrays["meta"].tobytes().decode())
        change(meta)
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)

    return edit


@pytest.mark.parametrize(
    "edit, words",
    [
        (lambda a: a.__setitem__("params", a["params"] + 0.1), "do not reproduce"),
        (lambda a: a.__setitem__("params", a["params"][:-1]), "params"),
        (lambda a: a.__setitem__("params", a["params"].astype(np.float32)), "float32"),
        (lambda a: a.pop("meta"), "not a pinnbilo steady-state model"),
        (_edit_meta(lambda m: m.__setitem__("kappa", "strong")), "kappa"),
        (_edit_meta(lambda m: m.__setitem__("grid", {"n": 10**9, "length": 1.0})), "PeriodicGrid n"),
        (_edit_meta(lambda m: m["W"].__setitem__("modes", -2)), "Spectral.modes"),
        (_edit_meta(lambda m: m.__setitem__("version", True)), "version"),
        (_edit_meta(lambda m: m["fit"].__setitem__("functions", 7)), "functions"),
        (_edit_meta(lambda m: m["fit"].__setitem__("status", "great")), "status"),
    ],
)
def test_edited_files_are_refused(tmp_path, periodic, edit, words):
    model = steady.AggregationDiffusion(GRID, V=V0, W=steady.Spectral(8))
    model.fit(periodic, check=False)
    path = str(tmp_path / "m.npz")
    model.save(path)
    bad = _rewrite(path, str(tmp_path / "bad.npz"), edit)
    with pytest.raises(pb.InputError, match=words):
        steady.load(bad)


def test_foreign_and_damaged_files_are_refused(tmp_path):
    checkpoint = pb.PINN(pb.problems.exponential_growth(), pb.problems.exponential_growth().synthetic_data(5),
                         hidden=(4,))  # fmt: skip
    checkpoint.save(str(tmp_path / "c.npz"))
    with pytest.raises(pb.InputError, match="pinnbilo.load"):
        steady.load(str(tmp_path / "c.npz"))
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(pb.InputError, match="not a readable|damaged|corrupted"):
        steady.load(str(tmp_path / "junk.npz"))
    with pytest.raises(pb.InputError, match="folder"):
        steady.load(str(tmp_path))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("huge.npy", bytes(2**21))
    (tmp_path / "extra.npz").write_bytes(buf.getvalue())
    with pytest.raises(pb.InputError, match="refused unread"):
        steady.load(str(tmp_path / "extra.npz"))
    with pytest.raises(pb.InputError, match="Semilinear or TorusAggregationDiffusion"):
        steady.save(checkpoint, str(tmp_path / "x.npz"))


TGRID = steady.TorusGrid(32)
TV = lambda x, y: 0.3 * np.cos(2 * np.pi * x) + 0.2 * np.sin(2 * np.pi * (x + y))  # noqa: E731
TW = lambda dx, dy: -np.exp(-(dx**2 + dy**2) / 0.02)  # noqa: E731


@pytest.fixture(scope="module")
def torus():
    clean = steady.torus_states(TGRID, TV, TW, kappa=1.0, sigma=0.5, mass=[0.5, 1.0, 2.0])
    noise = np.random.default_rng(0).standard_normal(clean.u.shape)
    u = clean.u + 0.01 * clean.u.max(axis=(1, 2))[:, None, None] * noise
    return clean, steady.TorusStates(TGRID, u, clean.sigma, clean.mass, clean.weights)


TORUS_MODELS = {
    "W learned": lambda: steady.TorusAggregationDiffusion(TGRID, 1.0, V=TV, W=steady.RadialSpectral(6)),
    "V learned": lambda: steady.TorusAggregationDiffusion(TGRID, 1.0, V=steady.TorusSpectral((2, 3)), W=TW),
    "both": lambda: steady.TorusAggregationDiffusion(TGRID, 0.8, V=steady.TorusSpectral(2), W=steady.RadialSpectral(8)),
}


def _same_torus_model(back, model):
    assert isinstance(back, steady.TorusAggregationDiffusion)
    assert back.grid == model.grid and back.kappa == model.kappa and back.unknowns == model.unknowns
    assert back.spec == model.spec and back.V_spec == model.V_spec
    np.testing.assert_array_equal(back.params, model.params)
    for f in ("V", "W"):
        np.testing.assert_allclose(getattr(back, f), getattr(model, f), rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", sorted(TORUS_MODELS))
@pytest.mark.parametrize("noisy", [False, True])
def test_torus_models_round_trip_with_their_fit(tmp_path, torus, kind, noisy):
    data = torus[noisy]
    model = TORUS_MODELS[kind]()
    path = tmp_path / "t.npz"
    model.save(str(path))
    back = steady.load(path)
    assert back.result is None
    _same_torus_model(back, model)
    fit = model.fit(data, smoothness="auto")
    steady.save(model, str(path))
    back = steady.load(str(path))
    _same_torus_model(back, model)
    rec = back.result
    assert rec.loss == fit.loss and rec.status == fit.status and rec.wall_time == fit.wall_time
    np.testing.assert_array_equal(rec.history, fit.history)
    assert set(rec.functions) == set(fit.functions) == set(model.unknowns)
    for f in model.unknowns:
        np.testing.assert_array_equal(rec.functions[f], fit.functions[f])
    assert set(rec.extra) == set(fit.extra)
    for k, v in fit.extra.items():
        np.testing.assert_array_equal(rec.extra[k], v)
    assert (rec.extra["smoothness"] > 0) == noisy
    assert rec.extra["smoothness_rule"] in (("lcurve", "risk") if noisy else ("clean",))
    assert rec.extra["noise"].shape == (3,) and rec.extra["lcurve"].shape == ((37, 3) if noisy else (0, 3))
    again = back.fit(data, smoothness=fit.extra["smoothness"])  # a loaded model fits on
    assert again.loss == pytest.approx(fit.loss, rel=1e-6)


@pytest.mark.parametrize(
    "edit, words",
    [
        (lambda a: a.__setitem__("params", a["params"] * 1.001), "do not reproduce"),
        (lambda a: a.__setitem__("params", a["params"][:-1]), "params"),
        (lambda a: a.__setitem__("functions_check", a["functions_check"][:-1]), "functions_check"),
        (lambda a: a.__setitem__("known_W", a["known_W"][:8]), "known_W"),
        (lambda a: a.__setitem__("known_W", a["known_W"] + 0.01), "do not reproduce"),
        (lambda a: a.pop("known_W"), "known_W"),
        (_edit_meta(lambda m: m.__setitem__("model", "KleinBottle")), "unknown model 'KleinBottle'"),
        (_edit_meta(lambda m: m.__setitem__("grid", {"N": 2, "length": 1.0})), "TorusGrid N"),
        (_edit_meta(lambda m: m["V"].__setitem__("modes", [40, 40])), "resolves"),
        (_edit_meta(lambda m: m["V"].__setitem__("kind", "Spectral")), "Spectral.modes"),
        (_edit_meta(lambda m: m.__setitem__("kappa", None)), "kappa"),
    ],
)
def test_edited_torus_files_are_refused(tmp_path, torus, edit, words):
    model = TORUS_MODELS["V learned"]()
    model.fit(torus[0])
    path = str(tmp_path / "t.npz")
    model.save(path)
    bad = _rewrite(path, str(tmp_path / "bad.npz"), edit)
    with pytest.raises(pb.InputError, match=words):
        steady.load(bad)
