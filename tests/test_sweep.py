"""Sweeps on Dask: specs checked before anything runs, every run a row, nothing lost when a run
fails, a worker dies or the sweep is restarted; summaries, figures and the command line."""

from __future__ import annotations

import json
import os
import pickle
import signal
import threading

import numpy as np
import pytest

import pinnbilo as pb

distributed = pytest.importorskip("dask.distributed")
pd = pytest.importorskip("pandas")
from pinnbilo import sweep  # noqa: E402  (after the skips: the extra may be missing)
from pinnbilo.__main__ import main  # noqa: E402


@pytest.fixture(scope="module")
def client():
    c = sweep.local_client(2)
    yield c
    cluster = c.cluster
    c.close()
    cluster.close()


def _spec(**fixed):
    grid = {"problem": ["exponential"], "method": ["PINN", "BiLO"], "noise": [0.0, 0.01], "seed": [1, 2]}
    return sweep.Sweep(grid=grid, fixed=fixed, name="test")


@pytest.mark.parametrize(
    "grid, fixed, words",
    [
        ({"problem": ["exponential"], "method": ["PINN"], "colour": [1]}, {}, "unknown setting 'colour'"),
        ({"problem": ["nope"], "method": ["PINN"]}, {}, "unknown problem 'nope'"),
        ({"problem": ["exponential"], "method": ["SGD"]}, {}, "method must be 'PINN' or 'BiLO'"),
        ({"problem": ["exponential"], "method": ["PINN"], "noise": [-0.1]}, {}, "noise must be"),
        ({"problem": ["exponential"], "method": ["PINN"], "seed": [1.5]}, {}, "seed must be"),
        ({"problem": ["exponential"], "method": []}, {}, "non-empty list"),
        ({"problem": ["exponential"], "method": "PINN"}, {}, "non-empty list"),
        ({"problem": ["exponential"], "method": ["PINN"]}, {"method": "BiLO"}, "both in grid and in fixed"),
        ({"problem": ["exponential"]}, {}, "say which method"),
        ({"problem": ["exponential"], "method": ["PINN"]}, {"fit.lr": object()}, "must be a number, string"),
        ({"problem": ["exponential"], "method": ["PINN"]}, {"fit.lr": float("nan")}, "must be a number, string"),
        ({"problem": ["exponential"], "method": ["PINN"], "seed": list(range(2000))},
         {"noise": 0.0, "data_seed": 0, "n_data": 10, "fit.x": 1}, None),  # fine: 2000 runs
        ({"problem": ["exponential"], "method": ["PINN"], "seed": list(range(1001)), "data_seed": list(range(1001))},
         {}, "over the limit"),
    ],
)  # fmt: skip
def test_bad_specs_are_refused_before_anything_runs(grid, fixed, words):
    if words is None:
        assert len(sweep.Sweep(grid=grid, fixed=fixed)) == 2000
        return
    with pytest.raises(pb.InputError, match=words):
        sweep.Sweep(grid=grid, fixed=fixed)


def test_configurations_cross_the_grid_with_stable_ids():
    spec = _spec(steps=300)
    configs = spec.configurations()
    assert len(configs) == len(spec) == 8
    assert {(c["method"], c["noise"], c["seed"]) for c in configs} == {
        (m, n, s) for m in ("PINN", "BiLO") for n in (0.0, 0.01) for s in (1, 2)
    }
    assert all(c["data_seed"] == c["seed"] and c["steps"] == 300 for c in configs)
    assert len({c["run_id"] for c in configs}) == 8
    assert [c["run_id"] for c in _spec(steps=300).configurations()] == [c["run_id"] for c in configs]
    assert all(c["run_id"] not in {d["run_id"] for d in _spec(steps=301).configurations()} for c in configs)


def test_toml_specs_and_shipped_suites(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('name = "t"\n[grid]\nproblem = ["exponential"]\nmethod = ["PINN"]\nseed = [1, 2]\n'
                    '[fixed]\nsteps = 100\nfit.lr = 1e-2\nmodel.hidden = [8, 8]\n')  # fmt: skip
    spec = sweep.Sweep.from_toml(str(path))
    assert spec.name == "t" and len(spec) == 2
    assert spec.configurations()[0]["fit.lr"] == 1e-2 and spec.configurations()[0]["model.hidden"] == [8, 8]
    assert "bilo-paper" in sweep.suites() and len(sweep.suite("bilo-paper")) == 150
    bad = tmp_path / "bad.toml"
    bad.write_text("[grid\n")
    with pytest.raises(pb.InputError, match="not valid TOML"):
        sweep.Sweep.from_toml(str(bad))
    with pytest.raises(pb.InputError, match="cannot read"):
        sweep.Sweep.from_toml(str(tmp_path / "missing.toml"))
    with pytest.raises(pb.InputError, match="unknown suite"):
        sweep.suite("nope")


def test_a_sweep_gives_one_row_per_run_and_resumes(client, tmp_path):
    out = str(tmp_path / "res")
    table = sweep.run_sweep(_spec(steps=400), client=client, out=out, progress=False)
    assert len(table) == 8 and set(table["status"]) == {"completed"}
    assert (table["err_a"] < 0.1).all()  # exponential growth at 400 steps: a within a few percent
    row = table.iloc[0]
    assert row["budget_steps"] == 400 and row["steps"] == 400 and row["wall_time"] > 0
    # each run is on disk as it finishes, and the table is written at the end
    assert len(os.listdir(os.path.join(out, "runs"))) == 8 and os.path.exists(os.path.join(out, "results.csv"))
    # the same run alone gives the same numbers (the seed decides, not the worker)
    alone = sweep.run_one(_spec(steps=400).configurations()[0])
    assert alone["err_a"] == pytest.approx(table.iloc[0]["err_a"], rel=1e-12)
    # restarted: nothing runs again; a grown sweep runs only the new configurations
    stamps = {f: os.path.getmtime(os.path.join(out, "runs", f)) for f in os.listdir(os.path.join(out, "runs"))}
    again = sweep.run_sweep(_spec(steps=400), client=client, out=out, progress=False)
    assert again["run_id"].tolist() == table["run_id"].tolist()
    assert {f: os.path.getmtime(os.path.join(out, "runs", f)) for f in stamps} == stamps
    grown = sweep.Sweep(grid={**_spec(steps=400).grid, "seed": [1, 2, 3]}, fixed={"steps": 400})
    more = sweep.run_sweep(grown, client=client, out=out, progress=False)
    assert len(more) == 12 and len(os.listdir(os.path.join(out, "runs"))) == 12
    assert {f: os.path.getmtime(os.path.join(out, "runs", f)) for f in stamps} == stamps


def test_a_failing_run_is_a_row_not_the_end(client):
    spec = sweep.Sweep(grid={"problem": ["exponential"], "method": ["PINN"], "problem.a_true": [2.0, "two"]},
                       fixed={"steps": 50})  # fmt: skip
    table = sweep.run_sweep(spec, client=client, progress=False)
    ok, bad = table.iloc[0], table.iloc[1]
    assert ok["status"] == "completed"
    assert bad["status"] == "failed" and "InputError" in bad["message"] and "two" in bad["message"]


def test_a_killed_worker_only_reruns_its_tasks(tmp_path):
    c = sweep.local_client(2)
    try:
        spec = sweep.Sweep(grid={"problem": ["exponential"], "method": ["BiLO"], "seed": list(range(8))},
                           fixed={"steps": 3000})  # fmt: skip
        out = str(tmp_path / "res")
        killed = []

        def kill_one():
            pids = c.run(os.getpid)
            pid = sorted(pids.values())[0]
            killed.append((pid, len(os.listdir(os.path.join(out, "runs")))))
            os.kill(pid, signal.SIGKILL)

        timer = threading.Timer(1.5, kill_one)
        timer.start()
        table = sweep.run_sweep(spec, client=c, out=out, progress=False)
        timer.join()
    finally:
        cluster = c.cluster
        c.close()
        cluster.close()
    assert killed and killed[0][1] < 8  # the kill came while runs were still to do
    assert len(table) == 8 and set(table["status"]) == {"completed"}
    assert len(os.listdir(os.path.join(out, "runs"))) == 8


def test_summaries_and_figures(client):
    table = sweep.run_sweep(_spec(steps=200), client=client, progress=False)
    summary = sweep.summarize(table)
    assert set(summary.columns) >= {"problem", "method", "noise", "unknown", "median", "q25", "q75", "worst", "n"}
    assert len(summary) == 4 and (summary["n"] == 2).all()
    part = table[(table["method"] == "BiLO") & (table["noise"] == 0.01)]["err_a"]
    got = summary[(summary["method"] == "BiLO") & (summary["noise"] == 0.01)].iloc[0]
    assert got["median"] == pytest.approx(float(np.median(part))) and got["worst"] == pytest.approx(part.max())
    fig = sweep.plot_errors(summary)
    assert len(fig.axes) == 1
    with pytest.raises(pb.InputError, match="no columns"):
        sweep.summarize(table, by=["colour"])
    with pytest.raises(pb.InputError, match="non-empty DataFrame"):
        sweep.summarize(table.iloc[:0])


def test_command_line(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text('name = "cli"\n[grid]\nproblem = ["exponential"]\nmethod = ["PINN", "BiLO"]\n'
                    "seed = [1, 2]\n[fixed]\nsteps = 100\n")  # fmt: skip
    out = tmp_path / "out"
    assert main(["sweep", str(spec), "--workers", "1", "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "4 runs" in printed and "median" in printed
    assert {"results.csv", "summary.csv"} <= set(os.listdir(out))
    assert json.load(open(next((out / "runs").iterdir())))["problem"] == "exponential"
    assert main(["sweep", str(tmp_path / "missing.toml"), "--no-progress"]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["sweep", "--no-progress"]) == 2


def test_compare_seeds_on_dask_workers(capsys):
    assert main(["compare", "exponential", "--seeds", "2", "--jobs", "2", "--steps", "300"]) == 0
    printed = capsys.readouterr().out
    assert "PINN" in printed and "BiLO" in printed and "median" in printed


def test_steady_sweeps_run_on_the_same_engine(client):
    from pinnbilo.steady import experiments

    args = dict(targets=["V"], states=[2], samples=[32], noises=[0.0, 0.01], n=64, hidden=(8,), adam_steps=50,
                lbfgs_steps=20)  # fmt: skip
    here = experiments.sweep(**args)
    there = experiments.sweep(**args, client=client)
    assert [(r.noise, r.error_V) for r in there] == [(r.noise, r.error_V) for r in here]


def test_markdown_table_of_a_summary(client):
    table = sweep.run_sweep(_spec(steps=100), client=client, progress=False)
    text = sweep.markdown_table(sweep.summarize(table))
    lines = text.splitlines()
    assert lines[0].startswith("| problem | unknown | PINN noise 0 | PINN noise 0.01 | BiLO noise 0")
    assert len(lines) == 3 and lines[2].startswith("| exponential | a | ")


def _train(model, steps):
    model.fit(steps=steps)
    return model


def test_models_travel_to_dask_workers_and_back(client):
    problem = pb.problems.exponential_growth()
    model = pb.BiLO(problem, problem.synthetic_data(10, noise=0.01), hidden=(8,), n_res=11, seed=2)
    model.fit(steps=5)
    here = pickle.loads(pickle.dumps(model))
    back = client.submit(_train, model, 30, pure=False).result()  # pickled out, trained, pickled back
    _train(here, 30)
    np.testing.assert_array_equal(back.get_weights()[0][0], here.get_weights()[0][0])
    assert back.params == here.params and back.step == here.step == 35
