"""Do the playground's presets stay converged? Each preset's default run, headless, through the
session's own frame code (pinnbilo.playground.headless), for 20,000 steps per model.

Printed per preset and method: the error of the inferred quantity (the largest relative error of
the scalar parameters, or the relative L2 error of an unknown function) at its best (the lowest
error the run held for --window steps), at the end, and the worst of the late part of the run
(from --late on), how far the late part climbs above the best held before it (``late rise``: 0
for a run that only improves), and the largest late loss spike (total loss over its running
minimum). A run is stable when its end is within a factor 1.5 of its best plus 0.5% and its late
rise within half its best plus 0.5% (``headless.stable``); the script exits 1 when one is not.

    python bench/playground_presets.py [--steps 20000] [--late 10000] [--window 1000]
        [--preset NAME ...] [--every 250] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, Dict, List

from pinnbilo.playground.headless import Trace, run_preset, stable
from pinnbilo.playground.presets import PRESETS


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=20000)
    ap.add_argument("--late", type=int, default=None, help="the late part starts here (default: half the steps)")
    ap.add_argument("--window", type=int, default=1000)
    ap.add_argument("--every", type=int, default=250, help="steps per frame (function errors are taken per frame)")
    ap.add_argument("--preset", action="append", help="only these presets (default: all)")
    ap.add_argument("--json", help="write the rows here")
    args = ap.parse_args()
    late = args.steps // 2 if args.late is None else args.late
    names = args.preset or [p.name for p in PRESETS]
    rows: List[Dict[str, Any]] = []
    print(
        f"{'preset':<18} {'method':<5} {'error of':<10} {'best':>9} {'at step':>8} {'end':>9} "
        f"{'late worst':>10} {'late rise':>9} {'late spike':>10} {'stable':>6} {'s':>5}"
    )
    ok = True
    for name in names:
        t0 = time.perf_counter()
        traces: List[Trace] = run_preset(name, args.steps, every=args.every)
        wall = time.perf_counter() - t0
        for tr in traces:
            row = {
                "preset": name,
                "method": tr.method,
                "what": tr.what,
                "best": tr.best(args.window),
                "best_step": tr.best_step(args.window),
                "end": tr.end,
                "late_worst": tr.late_worst(late),
                "late_rise": tr.late_rise(late, args.window),
                "late_spike": tr.late_spike(late),
                "stable": stable(tr, late, args.window),
                "seconds": wall,
            }
            ok = ok and bool(row["stable"])
            rows.append(row)
            print(
                f"{name:<18} {tr.method:<5} {tr.what:<10} {row['best']:>9.2e} {row['best_step']:>8} "
                f"{row['end']:>9.2e} {row['late_worst']:>10.2e} {row['late_rise']:>9.2e} {row['late_spike']:>10.3g} "
                f"{'yes' if row['stable'] else 'NO':>6} {wall:>5.0f}",
                flush=True,
            )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"steps": args.steps, "late": late, "window": args.window, "rows": rows}, fh, indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
