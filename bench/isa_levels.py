"""Speed of the core copies for each CPU level against a -march=native build, in one run.

The package loads the best copy its CPU supports (``pinnbilo._core``); this script times a
training step of the bench cases with every copy this machine can run, and with a native build
when one is given, alternating the contenders round by round, and prints the ratios to native.

    cmake -S . -B /tmp/native -DPINNBILO_BUILD_PYTHON=ON -DPINNBILO_NATIVE=ON \\
        -Dpybind11_DIR=$(python -m pybind11 --cmakedir) && cmake --build /tmp/native
    python bench/isa_levels.py --native /tmp/native [--rounds 5]

Each measurement runs in a fresh process (``PINNBILO_ISA`` picks the copy); one thread.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
from typing import Dict, List

import numpy as np

CASES = [("ode", "bilo", 64, 4, 1024), ("ode", "pinn", 64, 4, 1024), ("fkpp", "bilo", 64, 4, 1024)]

CHILD = r"""
import json, sys, time
sys.path.insert(0, {bench!r})
import pinnbilo as pb
from pinnbilo import _core
from cases import Case, make_model
pb.set_num_threads(1)
out = {{"level": _core.isa_level}}
for problem, method, width, depth, n in {cases!r}:
    m = make_model(Case(problem, method, width, depth, n))
    m.fit(steps=3)  # warm-up
    steps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < 1.0:
        m.fit(steps=25)  # each fit ends with one evaluation of the losses: keep it small
        steps += 25
    out[f"{{problem}} {{method}} w{{width}} d{{depth}} n{{n}}"] = (time.perf_counter() - t0) / steps * 1e3
print(json.dumps(out))
"""


def measure(env: Dict[str, str]) -> Dict[str, float]:
    code = CHILD.format(bench=os.path.dirname(os.path.abspath(__file__)), cases=CASES)
    r = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True, text=True, check=True
    )
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--native", help="build folder holding a _core_native module (PINNBILO_NATIVE=ON)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    from pinnbilo import _core

    contenders: Dict[str, Dict[str, str]] = {lv: {"PINNBILO_ISA": lv} for lv in _core.supported_levels()[:-1]}
    tmp = None
    if args.native:
        found = glob.glob(os.path.join(args.native, "_core_native*.so"))
        if not found:
            raise SystemExit(f"no _core_native module in {args.native}")
        import pinnbilo

        tmp = tempfile.mkdtemp()
        pkg = os.path.join(tmp, "pinnbilo")
        shutil.copytree(os.path.dirname(pinnbilo.__file__), pkg)
        shutil.copy(found[0], pkg)
        contenders["native"] = {"PINNBILO_ISA": "native", "PYTHONPATH": tmp}
    times: Dict[str, Dict[str, List[float]]] = {c: {} for c in contenders}
    try:
        for _ in range(args.rounds):  # alternate: every contender once per round
            for name, env in contenders.items():
                for case, ms in measure(env).items():
                    if case != "level":
                        times[name].setdefault(case, []).append(ms)
    finally:
        if tmp:
            shutil.rmtree(tmp)
    ref = "native" if "native" in times else next(iter(times))
    print(f"median ms per step over {args.rounds} rounds (1 thread); ratio = time / time of {ref}")
    print(f"{'case':<24}" + "".join(f"{c:>22}" for c in times))
    summary: Dict[str, Dict[str, float]] = {}
    for case in times[ref]:
        base = float(np.median(times[ref][case]))
        row = f"{case:<24}"
        for c in times:
            med = float(np.median(times[c][case]))
            summary.setdefault(c, {})[case] = med
            row += f"{med:>12.3f} ({med / base:>5.3f}x)"
        print(row)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"rounds": args.rounds, "median_ms": summary, "reference": ref}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
