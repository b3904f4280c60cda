"""Smoke test of bench/peak_memory.py: pinnbilo alone on the latency cases, 2 steps (a few seconds).

Not a benchmark (``--benchmark-only`` skips it); run with ``pytest bench/test_peak_memory.py``.
"""

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def test_peak_memory_pinnbilo_latency(tmp_path):
    out = tmp_path / "peak.json"
    cmd = [sys.executable, os.path.join(HERE, "peak_memory.py"), "--cases", "latency", "--contenders", "pinnbilo"]
    cmd += ["--steps", "2", "--warmup", "1", "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=os.path.dirname(HERE))
    assert proc.returncode == 0, proc.stderr
    assert "| case | pinnbilo MiB |" in proc.stdout
    doc = json.loads(out.read_text())
    for key in ("platform", "cpu", "numpy", "pinnbilo", "torch", "jax"):
        assert key in doc["machine"]
    assert [r["label"] for r in doc["rows"]] == ["ode bilo w32 d2 n128 float64", "ode pinn w32 d2 n128 float64"]
    for row in doc["rows"]:
        r = row["results"]["pinnbilo"]
        assert r["steps"] == 2 and r["warmup"] == 1
        assert 0 < r["baseline_kib"] <= r["peak_kib"]
        assert 0 <= r["own_kib"] <= r["peak_kib"]
        assert r["step_kib"] is None or r["step_kib"] <= r["peak_kib"]
