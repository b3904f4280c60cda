"""Run the adversarial battery: ``python tools/battery/run.py [--jobs N] [--only AREA] [--json OUT]``.

Every case runs in a child process with a memory cap and a timeout; the summary table counts
outcomes by area, every case that is not ``ok`` is listed with its call and what happened, and the
exit status is 1 when any case is not ok (0 otherwise).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from collections import Counter
from typing import Dict, List

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from battery.core import OUTCOMES, Case, run_all  # noqa: E402

AREAS = ("problems", "models", "checkpoints", "threads", "interrupts", "steady", "solvers", "playground", "cli")


def collect(areas: List[str]) -> List[Case]:
    out: List[Case] = []
    for a in areas:
        mod = importlib.import_module(f"battery.{a}")
        got = mod.cases()
        names = [c.name for c in got]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise SystemExit(f"battery bug: duplicate case names in {a}: {sorted(dupes)[:5]}")
        out += got
    return out


def summary(records: List[dict], areas: List[str]) -> str:
    counts: Dict[str, Counter] = {a: Counter() for a in areas}
    for r in records:
        counts.setdefault(r["area"], Counter())[r["outcome"]] += 1
    head = f"{'area':<12}" + "".join(f"{o:>15}" for o in OUTCOMES) + f"{'total':>8}"
    lines = [head, "-" * len(head)]
    total: Counter = Counter()
    for a, c in counts.items():
        total.update(c)
        lines.append(f"{a:<12}" + "".join(f"{c[o]:>15}" for o in OUTCOMES) + f"{sum(c.values()):>8}")
    lines.append("-" * len(head))
    lines.append(f"{'all':<12}" + "".join(f"{total[o]:>15}" for o in OUTCOMES) + f"{sum(total.values()):>8}")
    return "\n".join(lines)


def describe(r: dict) -> str:
    what = f"{r['exc_type']}: {r['message']}" if r["exc_type"] else r["message"]
    parts = [f"[{r['outcome']}] {r['id']}", f"    call: {r['call']}"]
    if what.strip():
        parts.append(f"    got:  {what}")
    if r.get("detail"):
        parts.append(f"    note: {r['detail']}")
    if r["outcome"] == "crash" and r.get("stderr_tail"):
        tail = [ln for ln in r["stderr_tail"].strip().splitlines() if ln.strip()][-8:]
        parts += ["    stderr: " + ln for ln in tail]
    return "\n".join(parts)


def main(argv: List[str] = None) -> int:  # type: ignore[assignment]
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", type=int, default=2, help="worker processes at once (default 2)")
    ap.add_argument("--only", default="", help=f"comma-separated areas: {', '.join(AREAS)}")
    ap.add_argument("--case", default="", help="only cases whose id contains this text")
    ap.add_argument("--json", default=None, metavar="OUT", help="write every case's record to this JSON file")
    ap.add_argument("--mem-gb", type=float, default=4.0, help="address-space cap per child (default 4 GB)")
    ap.add_argument("--timeout", type=float, default=None, help="override every case's timeout (seconds)")
    ap.add_argument("--batch", type=int, default=60, help="cases per child process (default 60)")
    ap.add_argument("--kills", type=int, default=50, help="kill -9 rounds of the checkpoint save test (default 50)")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("--quiet", action="store_true", help="no progress lines")
    args = ap.parse_args(argv)
    areas = [a.strip() for a in args.only.split(",") if a.strip()] or list(AREAS)
    unknown = [a for a in areas if a not in AREAS]
    if unknown:
        ap.error(f"unknown area(s) {unknown}; areas: {', '.join(AREAS)}")
    os.environ["BATTERY_KILLS"] = str(args.kills)
    cases = collect(areas)
    if args.case:
        cases = [c for c in cases if args.case in f"{c.area}/{c.name}"]
    if args.timeout is not None:
        for c in cases:
            c.timeout = args.timeout
    if args.list:
        for c in cases:
            print(f"{c.area}/{c.name}  [{c.mode}]  {c.display()}")
        print(f"{len(cases)} cases")
        return 0
    t0 = time.monotonic()
    records = run_all(cases, args.jobs, args.mem_gb, batch_size=args.batch, progress=not args.quiet)
    wall = time.monotonic() - t0
    order = {f"{c.area}/{c.name}": i for i, c in enumerate(cases)}
    records.sort(key=lambda r: order.get(r["id"], 1 << 30))
    missing = set(order) - {r["id"] for r in records}
    print()
    print(summary(records, areas))
    print(f"\n{len(records)} cases in {wall:.1f} s with {args.jobs} worker(s)")
    bad = [r for r in records if r["outcome"] != "ok"]
    if bad:
        print(f"\n{len(bad)} case(s) not ok:\n")
        for r in bad:
            print(describe(r))
    if missing:
        print(f"\nbattery bug: {len(missing)} case(s) without a record: {sorted(missing)[:10]}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"wall_s": wall, "jobs": args.jobs, "records": records}, fh, indent=1, default=str)
        print(f"\nwrote {args.json}")
    return 1 if bad or missing else 0


if __name__ == "__main__":
    sys.exit(main())
