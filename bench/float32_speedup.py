"""float32 against float64: the same training step of the same case in both precisions, alternated.

Each case is built twice (``dtype="float64"`` and ``"float32"``, same seed, weights and points);
every round times a block of steps of each in turn (float64, float32, float64, ...) in this one
process, one core thread. A block is as many steps as take about ``--block`` seconds; the table
gives the median milliseconds per step over the rounds and the median of the per-round ratios
float64 / float32 (above 1: float32 is faster), with their spread (lowest and highest ratio).

    taskset -c 1 python bench/float32_speedup.py [--rounds 8] [--block 0.3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from typing import Any, Callable, Dict, List

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from cases import Case, make_model  # noqa: E402

import pinnbilo as pb  # noqa: E402

CASES = (
    Case("ode", "bilo", 64, 4, 1024),
    Case("ode", "pinn", 64, 4, 1024),
    Case("fkpp", "bilo", 64, 4, 1024),
    Case("fkpp", "pinn", 64, 4, 1024),
    Case("fkpp", "bilo", 64, 4, 4096),
    Case("ode", "bilo", 32, 2, 128),
)


def stepper(case: Case, dtype: str) -> Callable[[int], None]:
    """A function running k Adam steps of the case's model in ``dtype`` (one core call)."""
    trainer = make_model(Case(case.problem, case.method, case.width, case.depth, case.n_points, dtype))._trainer

    def run(k: int) -> None:
        trainer.run({"steps": k, "train_params": True, "callback_every": 1 << 30}, None)
        trainer.clear_history()

    return run


def time_block(run: Callable[[int], None], k: int) -> float:
    t0 = time.perf_counter()
    run(k)
    return (time.perf_counter() - t0) / k


def measure(case: Case, rounds: int, block: float) -> Dict[str, Any]:
    """Median ms per step of each precision and the per-round ratios float64 / float32."""
    runs = {d: stepper(case, d) for d in ("float64", "float32")}
    steps = {}
    for d, run in runs.items():
        run(3)  # warm-up: buffers sized, caches filled
        steps[d] = max(1, int(block / time_block(run, 3)))
    per_round: Dict[str, List[float]] = {d: [] for d in runs}
    for _ in range(rounds):
        for d, run in runs.items():
            per_round[d].append(1e3 * time_block(run, steps[d]))
    ratios = [a / b for a, b in zip(per_round["float64"], per_round["float32"])]
    return {
        "case": case.label.rsplit(" ", 1)[0],
        "float64_ms": statistics.median(per_round["float64"]),
        "float32_ms": statistics.median(per_round["float32"]),
        "ratio": statistics.median(ratios),
        "ratio_low": min(ratios),
        "ratio_high": max(ratios),
        "all_ms": per_round,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--block", type=float, default=0.3, help="seconds per timed block")
    ap.add_argument("--json", help="write the rows and the machine here")
    args = ap.parse_args()
    pb.set_num_threads(1)
    rows = []
    print(f"{'case':<26} {'float64 ms':>10} {'float32 ms':>10} {'64/32':>6} {'low':>6} {'high':>6}")
    for case in CASES:
        r = measure(case, args.rounds, args.block)
        rows.append(r)
        print(
            f"{r['case']:<26} {r['float64_ms']:>10.3f} {r['float32_ms']:>10.3f} {r['ratio']:>6.2f} "
            f"{r['ratio_low']:>6.2f} {r['ratio_high']:>6.2f}",
            flush=True,
        )
    if args.json:
        machine = {
            "python": platform.python_version(),
            "pinnbilo": pb.__version__,
            "isa_level": pb._core.isa_level,
            "cpu": platform.processor() or platform.machine(),
            "loadavg": os.getloadavg(),
        }
        with open(args.json, "w") as fh:
            json.dump({"rounds": args.rounds, "block_s": args.block, "machine": machine, "rows": rows}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
