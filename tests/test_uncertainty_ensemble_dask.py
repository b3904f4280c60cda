"""Ensembles on Dask: one task per run on a given client or on a LocalCluster of the ensemble's
own; every run ends exactly as in this process; failures and bad input."""

from __future__ import annotations

from typing import Any, Dict, Iterator

import numpy as np
import pytest

import pinnbilo as pb
from pinnbilo.uncertainty import ensemble

distributed = pytest.importorskip("dask.distributed")

FIT: Dict[str, Any] = dict(steps=400, pretrain_steps=100, lr=1e-2, lr_params=1e-2, schedule="cosine", keep="best")
MODEL: Dict[str, Any] = {"hidden": (8, 8)}


@pytest.fixture(scope="module")
def growth() -> pb.Problem:
    return pb.problems.exponential_growth(a_true=2.0, a_init=1.0)


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    from pinnbilo.sweep.engine import close_client, local_client

    c = local_client(2)
    yield c
    close_client(c)


def test_ensemble_on_a_client_matches_this_process(growth: pb.Problem, client: Any) -> None:
    data = {s: growth.synthetic_data(20, noise=0.02, seed=s) for s in (0, 1, 2)}
    data[3] = pb.Data(np.array([[0.5]]), np.array([1.0]), of="v")  # observes a field the problem lacks
    here = ensemble(growth, data, seeds=[0, 1, 2, 3], model_kwargs=MODEL, fit_kwargs=FIT, workers=0)
    there = ensemble(growth, data, seeds=[0, 1, 2, 3], model_kwargs=MODEL, fit_kwargs=FIT, client=client)
    assert there.statuses == {0: "completed", 1: "completed", 2: "completed", 3: "failed"}
    assert "InputError" in there.failed[0]["error"]
    for a, b in zip(here.runs, there.runs):
        assert a["seed"] == b["seed"] and a["status"] == b["status"]
        assert a["params"] == b["params"]  # bit for bit: one core thread each, the same seed
    assert np.all(np.abs(there.values("a") - 2.0) < 0.1)


def test_ensemble_on_its_own_local_cluster(growth: pb.Problem) -> None:
    data = growth.synthetic_data(20, noise=0.02, seed=0)
    lam = ensemble(growth, lambda s: growth.synthetic_data(20, noise=0.02, seed=s), seeds=[0, 1],
                   model_kwargs=MODEL, fit_kwargs=FIT, workers="dask")  # fmt: skip
    assert set(lam.statuses.values()) == {"completed"}
    single = ensemble(growth, data, seeds=[5], model_kwargs=MODEL, fit_kwargs=FIT, workers="dask")
    model = pb.BiLO(growth, data, hidden=(8, 8), seed=5)
    model.fit(**FIT)
    assert single.runs[0]["params"] == model.params


def test_ensemble_dask_bad_input(growth: pb.Problem, client: Any) -> None:
    data = growth.synthetic_data(20, noise=0.02, seed=0)
    with pytest.raises(pb.InputError, match="'batch' or 'dask'"):
        ensemble(growth, data, workers="gpu")
    with pytest.raises(pb.InputError, match="leave workers out"):
        ensemble(growth, data, workers=2, client=client)
    with pytest.raises(pb.InputError, match="dask.distributed.Client"):
        ensemble(growth, data, client="tcp://nowhere:8786")
