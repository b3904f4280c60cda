"""pinnbilo against PyTorch (eager) and JAX (jit) on the same training steps.

Needs the optional extras: ``pip install .[peers]`` (CPU builds). Run from the repository root:

    taskset -c 1 python bench/compare_frameworks.py --threads 1 --out bench/results/run.json
    taskset -c 0,1 python bench/compare_frameworks.py --threads 2 --cases throughput

For every case the three implementations start from identical weights and parameters; before any
timing their losses and gradients are checked against pinnbilo's (Model.objective) in float64 to
1e-10 relative (float32 cases are checked through their float64 twin). Steps are then timed
alternately (pinnbilo, PyTorch, JAX, pinnbilo, ...) in this one process; the table gives median
milliseconds per step, the ratios, and GFLOP/s on the matrix-product FLOP count of pinnbilo's step
(cases.step_flops), next to a large DGEMM measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from typing import Callable, Dict, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def _set_thread_env(threads: int) -> None:
    # Must happen before numpy / torch / jax start their thread pools.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    os.environ["PINNBILO_NUM_THREADS"] = str(threads)
    flags = os.environ.get("XLA_FLAGS", "")
    if threads == 1 and "xla_cpu_multi_thread_eigen" not in flags:
        os.environ["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1").strip()


if __name__ == "__main__":
    _pre = argparse.ArgumentParser(add_help=False)
    _pre.add_argument("--threads", type=int, default=1)
    _set_thread_env(_pre.parse_known_args()[0].threads)

import numpy as np  # noqa: E402
from cases import Case, PeerUnavailable, make_model, step_flops, step_inputs  # noqa: E402

import pinnbilo as pb  # noqa: E402

CASE_SETS: Dict[str, List[Case]] = {
    "latency": [Case("ode", "bilo", 32, 2, 128), Case("ode", "pinn", 32, 2, 128)],
    "throughput": [
        Case("ode", "bilo", 64, 4, 1024),
        Case("ode", "pinn", 64, 4, 1024),
        Case("ode", "bilo", 128, 4, 1024),
        Case("fkpp", "bilo", 64, 4, 1024),
        Case("fkpp", "pinn", 64, 4, 1024),
        Case("fkpp", "bilo", 64, 4, 4096),
    ],
    "float32": [
        Case("ode", "bilo", 64, 4, 1024, "float32"),
        Case("fkpp", "bilo", 64, 4, 4096, "float32"),
    ],
}
CASE_SETS["scaling"] = [
    Case("ode", "bilo", 64, 4, 4096),
    Case("fkpp", "pinn", 64, 4, 4096),
    Case("fkpp", "bilo", 64, 4, 4096),
]
CASE_SETS["systems"] = [Case("lorenz", "pinn", 40, 3, 400), Case("lorenz", "bilo", 40, 3, 400)]
CASE_SETS["all"] = CASE_SETS["latency"] + CASE_SETS["throughput"] + CASE_SETS["float32"] + CASE_SETS["systems"]


# -- agreement -----------------------------------------------------------------------------------
def pinnbilo_objectives(model: pb.Model) -> Dict[str, tuple]:
    out = {}
    names = ["lower", "upper"] if model.method == "bilo" else ["pinn"]
    for name in names:
        val, grad, _ = model.objective(name, model.state_vector(name))
        out[name] = (float(val), np.asarray(grad, dtype=np.float64))
    return out


def rel_err(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.atleast_1d(np.asarray(a, float)), np.atleast_1d(np.asarray(b, float))
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def check_agreement(
    case: Case, peers: Dict[str, Callable], unavailable: Dict[str, str], tol: float = 1e-10
) -> Dict[str, float]:
    """Float64 twin of the case: every peer's losses and gradients against pinnbilo's; a peer form
    that cannot run the case goes into ``unavailable`` (name -> reason) instead."""
    c64 = Case(case.problem, case.method, case.width, case.depth, case.n_points, "float64")
    model = make_model(c64)
    ref = pinnbilo_objectives(model)
    worst: Dict[str, float] = {}
    for name, make in list(peers.items()):
        try:
            got = make(c64, model).objectives()
        except PeerUnavailable as exc:  # reported in the row, not timed
            print(f"{case.label}: {name} left out: {exc}", flush=True)
            unavailable[name] = str(exc)
            continue
        err = 0.0
        for key, (val, grad) in ref.items():
            gval, ggrad = got[key]
            err = max(err, rel_err(gval, val), rel_err(ggrad, grad))
        worst[name] = err
        if not err <= tol:
            raise SystemExit(f"{case.label}: {name} disagrees with pinnbilo (relative error {err:.2e} > {tol:g})")
    return worst


# -- peers ---------------------------------------------------------------------------------------
def make_peers(which: List[str]) -> Dict[str, Callable]:
    peers: Dict[str, Callable] = {}
    if "torch" in which:
        from peers_torch import TorchStep

        for form in ("autograd", "func", "compile"):
            peers[f"torch_{form}"] = lambda case, model, form=form: TorchStep(case, step_inputs(model), variant=form)
    if "jax" in which:
        from peers_jax import JaxStep

        for form in ("rev", "fwdrev", "fwd"):
            peers[f"jax_{form}"] = lambda case, model, form=form: JaxStep(case, step_inputs(model), variant=form)
    return peers


# -- timing --------------------------------------------------------------------------------------
def _per_step(fn: Callable[[], None], steps: int) -> float:
    t0 = time.perf_counter()
    for _ in range(steps):
        fn()
    return (time.perf_counter() - t0) / steps


def dgemm_rate(n: int = 1536, repeats: int = 5) -> float:
    """GFLOP/s of numpy's (OpenBLAS) float64 matrix product of two n x n matrices, best of repeats."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    a @ b
    best = min(_per_step(lambda: a @ b, 1) for _ in range(repeats))
    return 2.0 * n**3 / best * 1e-9


def time_case(
    case: Case, peers: Dict[str, Callable], budget_s: float, min_repeats: int, skip: Dict[str, str]
) -> Dict[str, object]:
    model = make_model(case)
    trainer = model._trainer
    runners: Dict[str, Callable[[], None]] = {}

    def pinnbilo_step() -> None:
        trainer.run({"steps": 1, "train_params": True, "callback_every": 1 << 30}, None)

    runners["pinnbilo"] = pinnbilo_step
    for name, make in peers.items():
        if name not in skip:
            runners[name] = make(case, model).step
    # Warm up (JIT compilation, caches) and size the inner loop to ~20 ms per sample.
    inner: Dict[str, int] = {}
    for name, fn in runners.items():
        fn()
        fn()
        t = _per_step(fn, 2)
        inner[name] = max(1, int(0.02 / max(t, 1e-9)))
    samples: Dict[str, List[float]] = {k: [] for k in runners}
    t_start = time.perf_counter()
    while True:
        for name, fn in runners.items():  # alternate so drifts in machine load hit all alike
            samples[name].append(_per_step(fn, inner[name]))
        trainer.clear_history()
        done = min(len(v) for v in samples.values())
        if done >= min_repeats and time.perf_counter() - t_start > budget_s:
            break
        if done >= 200:
            break
    flops = step_flops(case)["total"]
    med = {k: float(np.median(v)) for k, v in samples.items()}
    row: Dict[str, object] = {
        "case": case.__dict__,
        "label": case.label,
        "flops": flops,
        "median_ms": {k: 1e3 * v for k, v in med.items()},
        "iqr_ms": {
            k: [1e3 * float(np.percentile(v, 25)), 1e3 * float(np.percentile(v, 75))] for k, v in samples.items()
        },
        "repeats": {k: len(v) * inner[k] for k, v in samples.items()},
        "gflops": {k: flops / v * 1e-9 for k, v in med.items()},
    }
    return row


def machine_description(threads: int) -> Dict[str, object]:
    info: Dict[str, object] = {"python": platform.python_version(), "threads": threads}
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in lscpu.splitlines():
            key, _, val = line.partition(":")
            if key.strip() in ("Model name", "CPU(s)", "Core(s) per socket", "L1d cache", "L2 cache", "L3 cache"):
                info[key.strip()] = val.strip()
    except OSError:
        pass
    info["pinnbilo"] = pb.__version__
    info["numpy"] = np.__version__
    for mod in ("torch", "jax", "jaxlib"):
        try:
            info[mod] = __import__(mod).__version__
        except ImportError:
            pass
    try:
        info["loadavg_start"] = os.getloadavg()
    except OSError:
        pass
    return info


def best_of(ms: Dict[str, float], framework: str) -> Tuple[float, str]:
    """(milliseconds, variant) of the fastest variant of a framework ("torch" or "jax") in a row."""
    forms = [(v, k) for k, v in ms.items() if k.startswith(framework + "_")]
    return min(forms) if forms else (float("nan"), "")


def print_table(rows: List[Dict[str, object]], dgemm: float) -> str:
    names = list(dict.fromkeys(k for r in rows for k in r["median_ms"]))
    head = f"{'case':<34}" + "".join(f"{n:>15}" for n in names)
    head += f"{'best torch':>12}{'/pb':>6}{'best jax':>11}{'/pb':>6}{'pb GF/s':>9}{'%dgemm':>8}"
    lines = ["median ms per step", head, "-" * len(head)]
    for r in rows:
        ms = r["median_ms"]
        line = f"{r['label']:<34}" + "".join(f"{ms[n]:>15.3f}" if n in ms else f"{'n/a':>15}" for n in names)
        t_ms, t_form = best_of(ms, "torch")
        j_ms, j_form = best_of(ms, "jax")
        gf = r["gflops"]["pinnbilo"]
        line += f"{t_form.replace('torch_', ''):>12}{t_ms / ms['pinnbilo']:>6.2f}"
        line += f"{j_form.replace('jax_', ''):>11}{j_ms / ms['pinnbilo']:>6.2f}"
        line += f"{gf:>9.1f}{100 * gf / dgemm:>7.0f}%"
        lines.append(line)
    lines.append(f"DGEMM (numpy/OpenBLAS, 1536^3, float64) in this run: {dgemm:.1f} GFLOP/s")
    lines.append("/pb: the best variant's time over pinnbilo's (above 1: pinnbilo is faster)")
    for r in rows:
        for name, why in r.get("unavailable", {}).items():
            lines.append(f"n/a: {r['label']}: {name}: {why}")
    text = "\n".join(lines)
    print(text, flush=True)
    return text


def main(argv: Optional[List[str]] = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1, help="threads for every framework (pin with taskset)")
    ap.add_argument("--cases", default="all", help=f"one of {sorted(CASE_SETS)} or comma-separated names")
    ap.add_argument("--peers", default="torch,jax", help="comma-separated: torch, jax (empty: pinnbilo only)")
    ap.add_argument("--budget", type=float, default=10.0, help="seconds of timing per case (at least)")
    ap.add_argument("--min-repeats", type=int, default=15, help="samples per framework and case (at least)")
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    ap.add_argument("--note", default="", help="what else was running, for the record")
    args = ap.parse_args(argv)

    pb.set_num_threads(args.threads)
    which = [p for p in args.peers.split(",") if p]
    if "torch" in which:
        import torch

        torch.set_num_threads(args.threads)
    peers = make_peers(which)
    cases = [c for s in args.cases.split(",") for c in CASE_SETS[s]]

    dgemm_before = dgemm_rate()
    rows = []
    for case in cases:
        unavailable: Dict[str, str] = {}
        agreement = check_agreement(case, peers, unavailable) if peers else {}
        row = time_case(case, peers, args.budget, args.min_repeats, unavailable)
        row["agreement_rel_err"] = agreement
        row["unavailable"] = unavailable
        rows.append(row)
        print(
            f"{case.label}: "
            + ", ".join(f"{k} {v:.3f} ms" for k, v in row["median_ms"].items())
            + f"  (agreement {', '.join(f'{k} {v:.1e}' for k, v in agreement.items())})",
            flush=True,
        )
    dgemm = max(dgemm_before, dgemm_rate())
    text = print_table(rows, dgemm)
    if args.out:
        machine = machine_description(args.threads)
        machine["note"] = args.note
        with open(args.out, "w") as f:
            json.dump({"machine": machine, "dgemm_gflops": dgemm, "rows": rows, "table": text}, f, indent=1)


if __name__ == "__main__":
    main()
