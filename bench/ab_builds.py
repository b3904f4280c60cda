"""Two builds of pinnbilo against each other on the bench cases, alternating fresh processes.

Each build is a folder holding a ``pinnbilo`` package (e.g. a copy of ``python/pinnbilo`` with
the core modules of one build). Every round runs each build once in its own process, pinned to
one CPU; each case reports the best of 5 timed loops of about 0.3 s per process. The table shows
the median over rounds, and a / b above 1 means b is faster.

    python bench/ab_builds.py /tmp/old /tmp/new [--rounds 3] [--cpu 0] [--isa x86-64-v4]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = "ode,bilo,64,4,1024;ode,pinn,64,4,1024;fkpp,bilo,64,4,1024;fkpp,pinn,64,4,1024;ode,bilo,32,2,128;" + (
    "ode,bilo,64,4,1024,float32"
)

TIMER = r"""
import json, sys, time
sys.path.insert(1, sys.argv[2])
import pinnbilo as pb
from cases import Case, make_model
pb.set_num_threads(1)
out = {}
for spec in sys.argv[1].split(";"):
    p, m, w, d, n, *dt = spec.split(",")
    trainer = make_model(Case(p, m, int(w), int(d), int(n), dt[0] if dt else "float64"))._trainer
    def step():
        trainer.run({"steps": 1, "train_params": True, "callback_every": 1 << 30}, None)
    step(); step()
    t0 = time.perf_counter(); step(); k = max(1, int(0.3 / (time.perf_counter() - t0)))
    best = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(k):
            step()
        best.append((time.perf_counter() - t0) / k)
        trainer.clear_history()
    out[spec] = 1e3 * min(best)
print(json.dumps({"times": out, "core": pb.__file__, "isa": pb._core.isa_level}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a", help="folder holding build a's pinnbilo package")
    ap.add_argument("b", help="folder holding build b's pinnbilo package")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cpu", default="0", help="CPU to pin every process to (taskset -c)")
    ap.add_argument("--isa", default="", help="PINNBILO_ISA for both (default: the best copy)")
    ap.add_argument("--cases", default=CASES, help="problem,method,width,depth,points[,dtype] separated by ;")
    args = ap.parse_args()
    builds = {"a": os.path.abspath(args.a), "b": os.path.abspath(args.b)}
    times: dict = {k: [] for k in builds}
    for _ in range(args.rounds):
        for name, path in builds.items():
            env = dict(os.environ, PYTHONPATH=path, OMP_NUM_THREADS="1")
            if args.isa:
                env["PINNBILO_ISA"] = args.isa
            cmd = ["taskset", "-c", args.cpu, sys.executable, "-c", TIMER, args.cases, HERE]
            run = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
            if run.returncode:
                raise SystemExit(f"build {name} failed:\n{run.stderr[-2000:]}")
            res = json.loads(run.stdout)
            if not res["core"].startswith(path):
                raise SystemExit(f"build {name} imported pinnbilo from {res['core']}, not from {path}")
            times[name].append(res["times"])
    for spec in times["a"][0]:
        a = statistics.median(r[spec] for r in times["a"])
        b = statistics.median(r[spec] for r in times["b"])
        print(f"{spec:<30} a {a:9.3f} ms   b {b:9.3f} ms   a/b {a / b:5.2f}")


if __name__ == "__main__":
    main()
