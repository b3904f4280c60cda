"""Throughput of many small fits: ``pinnbilo.fit_many`` against one ``fit`` after another.

    python bench/batch_throughput.py --models 16 --steps 1000 --rounds 3 --out bench/results/batch_throughput.json

Each round builds fresh models (ODE BiLO w32 d2 n128 by default, one seed each; building is not
timed) and trains them with every contender in turn, alternating so that drifts in machine load
hit all alike:
  separate_1t : model.fit(steps) for each model, 1 core thread (pinnbilo's default);
  separate_2t : the same with pinnbilo.set_num_threads(2) (each model's products split in two);
  batch_1t    : pinnbilo.fit_many(models, steps) on 1 thread;
  batch_2t    : the same on 2 threads (one model per thread at a time).
Before timing, every contender's final parameters and loss histories are checked to be identical
bit for bit. Reported: median seconds per contender and model-steps per second, and each
contender's throughput relative to separate_1t.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from typing import Callable, Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from cases import Case, make_model  # noqa: E402

import pinnbilo as pb  # noqa: E402


def build(case: Case, n: int) -> List[pb.Model]:
    return [make_model(case, seed=s) for s in range(n)]


def contenders(steps: int) -> Dict[str, Callable[[List[pb.Model]], None]]:
    def separate(threads: int) -> Callable[[List[pb.Model]], None]:
        def run(models: List[pb.Model]) -> None:
            pb.set_num_threads(threads)
            for m in models:
                m.fit(steps=steps)

        return run

    def batch(threads: int) -> Callable[[List[pb.Model]], None]:
        def run(models: List[pb.Model]) -> None:
            pb.set_num_threads(threads)
            pb.fit_many(models, steps=steps)

        return run

    return {"separate_1t": separate(1), "separate_2t": separate(2), "batch_1t": batch(1), "batch_2t": batch(2)}


def fingerprint(models: List[pb.Model]) -> List[tuple]:
    return [(tuple(m.params.values()), m.history.total.tobytes()) for m in models]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=int, default=16)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--depth", type=int, default=2)
    ap.add_argument("--points", type=int, default=128)
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    case = Case("ode", "bilo", args.width, args.depth, args.points)
    runs = contenders(args.steps)

    # Identical results first (a short run of every contender on fresh models).
    check = {}
    for name, run in contenders(50).items():
        ms = build(case, args.models)
        run(ms)
        check[name] = fingerprint(ms)
    first = next(iter(check.values()))
    for name, fp in check.items():
        if fp != first:
            raise SystemExit(f"{name} does not reproduce separate_1t bit for bit")
    print(f"identical results: {', '.join(check)}")

    times: Dict[str, List[float]] = {k: [] for k in runs}
    for r in range(args.rounds):
        for name, run in runs.items():
            ms = build(case, args.models)
            t = time.perf_counter()
            run(ms)
            times[name].append(time.perf_counter() - t)
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()))
    pb.set_num_threads(1)
    med = {k: statistics.median(v) for k, v in times.items()}
    model_steps = args.models * args.steps
    rows = []
    print(f"\n{args.models} x {case.label}, {args.steps} steps each, median of {args.rounds} rounds")
    print("| contender | s | model-steps/s | throughput vs separate_1t |")
    print("|---|---|---|---|")
    for k, v in med.items():
        ratio = med["separate_1t"] / v
        rows.append(
            {"contender": k, "median_s": v, "all_s": times[k], "steps_per_s": model_steps / v, "vs_separate_1t": ratio}
        )
        print(f"| {k} | {v:.2f} | {model_steps / v:.0f} | {ratio:.2f}x |")
    if args.out:
        machine = {
            "python": platform.python_version(),
            "pinnbilo": pb.__version__,
            "isa_level": pb._core.isa_level,
            "cpus": os.cpu_count(),
            "loadavg_start": list(os.getloadavg()),
        }
        out = {"case": case.label, "models": args.models, "steps": args.steps, "machine": machine, "rows": rows}
        with open(args.out, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
