"""Accuracy of every built-in recipe over seeds: the numbers of the README's results table.

For each problem and seed s (data seed s and network seed s: a different data set and a different
initialisation each), PINN and BiLO train with the problem's recipe (``pinnbilo.compare.RECIPES``);
the table gives, per method and unknown, the median relative error, its interquartile range and
the worst seed, with the median wall time.

    python bench/recipe_accuracy.py [--seeds 5] [--problems poisson,darcy] [--methods PINN,BiLO] [--noise 0.0]
        [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Dict, List

import numpy as np

from pinnbilo import compare, problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--problems", default=",".join(problems.BUILTINS))
    ap.add_argument("--noise", type=float, default=0.0)
    ap.add_argument("--json", help="write the per-seed results here")
    ap.add_argument("--methods", default="PINN,BiLO", help="comma-separated: PINN, BiLO")
    args = ap.parse_args()
    rows: List[Dict[str, object]] = []
    for name in args.problems.split(","):
        for seed in range(args.seeds):
            t0 = time.perf_counter()
            for o in compare.run(name, noise=args.noise, seed=seed, data_seed=seed, methods=args.methods.split(",")):
                rows.append(
                    {"problem": name, "seed": seed, "method": o.method, "errors": o.errors, "wall": o.wall_time}
                )
            print(f"# {name} seed {seed}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"seeds": args.seeds, "noise": args.noise, "runs": rows}, fh, indent=1)
    print(f"| problem | method | unknown | median error | IQR | worst of {args.seeds} | median wall |")
    print("|---|---|---|---|---|---|---|")
    for name in args.problems.split(","):
        for method in args.methods.split(","):
            mine = [r for r in rows if r["problem"] == name and r["method"] == method]
            for unknown in mine[0]["errors"]:  # type: ignore[union-attr]
                e = 100 * np.array([r["errors"][unknown] for r in mine])  # type: ignore[index]
                q25, med, q75 = np.percentile(e, [25, 50, 75])
                wall = float(np.median([r["wall"] for r in mine]))  # type: ignore[misc]
                print(
                    f"| `{name}` | {method} | {unknown} | {med:.3g}% | {q25:.3g}–{q75:.3g}% | {e.max():.3g}% "
                    f"| {wall:.1f} s |"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
