"""Threads on a quiet machine and with the other core busy: one thread and two threads for the
scaling cases (N = 4096), each variant in a fresh process of bench/compare_frameworks.py (pinnbilo only),
the variants alternated over rounds. "busy": a pure-Python busy loop pinned to the first CPU for
the whole run; "both busy": one on each of the first two CPUs; the bench's processes free to use
every CPU.

    python bench/threads_busy.py [--rounds 2] [--budget 2] [--states quiet busy "both busy"]
        [--out bench/results/threads_busy.json]

Prints per case the median step time of each variant (median over rounds) and the ratios to one
thread on the same machine state.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
VARIANTS = [("1 thread", 1), ("2 threads", 2)]


def busy_loop(cpu: int) -> subprocess.Popen:
    code = f"import os\nos.sched_setaffinity(0, {{{cpu}}})\nwhile True:\n    pass\n"
    return subprocess.Popen([sys.executable, "-c", code])


# machine state: the CPUs that a busy loop holds
STATES = {"quiet": [], "busy": [0], "both busy": [0, 1]}


def run_variant(threads: int, budget: float) -> Dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "r.json")
        cmd = [sys.executable, os.path.join(HERE, "compare_frameworks.py"), "--threads", str(threads), "--cases",
               "scaling", "--peers", "", "--budget", str(budget), "--min-repeats", "10", "--out", out]  # fmt: skip
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        with open(out) as fh:
            rows = json.load(fh)["rows"]
    return {r["label"]: float(r["median_ms"]["pinnbilo"]) for r in rows}


def median(v: List[float]) -> float:
    s = sorted(v)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def main(argv: Optional[List[str]] = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--budget", type=float, default=2.0)
    ap.add_argument("--out", default=None)
    ap.add_argument("--states", nargs="+", default=["quiet", "busy"], choices=list(STATES))
    args = ap.parse_args(argv)
    results: Dict[str, Dict[str, Dict[str, List[float]]]] = {}
    for state in args.states:
        procs = [busy_loop(c) for c in STATES[state]]
        try:
            time.sleep(0.5)
            for _ in range(args.rounds):
                for name, threads in VARIANTS:
                    for label, ms in run_variant(threads, args.budget).items():
                        results.setdefault(state, {}).setdefault(label, {}).setdefault(name, []).append(ms)
        finally:
            for proc in procs:
                proc.kill()
                proc.wait()
    print("| case | machine | " + " | ".join(n for n, _ in VARIANTS) + " |")
    print("|---|---|" + "---|" * len(VARIANTS))
    for state, by_case in results.items():
        for label, by_variant in by_case.items():
            one = median(by_variant["1 thread"])
            cells = []
            for n, _ in VARIANTS:
                ms = median(by_variant[n])
                cells.append(f"{ms:.1f} ms" + ("" if n == "1 thread" else f" ({one / ms:.2f}x)"))
            print(f"| {label} | {state} | " + " | ".join(cells) + " |")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump({"rounds": args.rounds, "budget_s": args.budget, "ms": results}, fh, indent=1)


if __name__ == "__main__":
    main()
