"""Property-based tests (hypothesis) of checkpoint metadata and of the steady-state helpers:
whatever a file or an argument holds, the answer is a model or a clear pinnbilo.InputError,
never another exception, never a crash."""

from __future__ import annotations

import json
import os
import tempfile

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pinnbilo as pb
from pinnbilo import steady

FILES = settings(
    max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**12), 10**12) | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
META_KEYS = [
    "format", "version", "method", "problem", "hidden", "activation", "dtype", "seed",
    "weights_config", "global_step", "data_noise", "param_gains",
]  # fmt: skip

_tmp = tempfile.mkdtemp(prefix="pinnbilo-properties-")
_saved = os.path.join(_tmp, "ok.npz")
_p = pb.problems.exponential_growth()
_m = pb.BiLO(_p, _p.synthetic_data(10, noise=0.01), hidden=(6,), n_res=11)
_m.fit(steps=5)
_m.save(_saved)
with np.load(_saved) as _f:
    ARRAYS = {k: _f[k] for k in _f.files}
META = json.loads(ARRAYS["meta"].tobytes().decode())


@FILES
@given(key=st.sampled_from(META_KEYS), value=JSON)
def test_any_metadata_value_loads_or_gives_input_error(key, value):
    meta = {**META, key: value}
    try:
        raw = json.dumps(meta).encode()
    except ValueError:
        return
    path = os.path.join(_tmp, "edited.npz")
    np.savez(path, **{**ARRAYS, "meta": np.frombuffer(raw, dtype=np.uint8)})
    try:
        m = pb.load(path)
    except pb.InputError:
        return
    assert m.step == META["global_step"] or key == "global_step"


@FILES
@given(data=st.binary(max_size=400), cut=st.integers(0, 5000))
def test_any_bytes_give_input_error(data, cut):
    with open(_saved, "rb") as fh:
        blob = fh.read()
    path = os.path.join(_tmp, "bytes.npz")
    with open(path, "wb") as fh:
        fh.write(blob[:cut] + data)
    try:
        pb.load(path)
    except pb.InputError:
        pass


NUMBERISH = st.none() | st.booleans() | st.text(max_size=4) | st.floats() | st.integers(-(10**9), 10**9)


@FILES
@given(modes=NUMBERISH, threshold=NUMBERISH, max_iter=NUMBERISH)
def test_distill_arguments(modes, threshold, max_iter):
    x = np.linspace(0, 1, 16, endpoint=False)
    try:
        terms = steady.fourier(modes)
        steady.distill(x, np.cos(2 * np.pi * x), terms, threshold=threshold, max_iter=max_iter)
    except pb.InputError:
        pass
