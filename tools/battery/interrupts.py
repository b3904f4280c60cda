"""Area 5: Ctrl-C (a real SIGINT sent to a child process) during Adam and during L-BFGS.

fit must return ``status == "interrupted"`` with a usable, finite model; the process must not
die of the signal or print a traceback.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from typing import Any, List

from .core import Case, Finding, Silent, case

AREA = "interrupts"
MOD = __name__

SCRIPT = r"""
import json, sys, numpy as np
import pinnbilo as pb
from pinnbilo import steady
kind, phase, extra = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
if kind == "steady":
    grid = steady.PeriodicGrid(64)
    states = steady.aggregation_diffusion_states(grid, V=lambda x: np.cos(2*np.pi*x), kappa=0.0, sigma=[0.5, 1.0])
    model = steady.AggregationDiffusion(grid, kappa=0.0, V=steady.Unknown(hidden=(64, 64)))
    print("ready", flush=True)
    steps = dict(adam=(10**7, 0), lbfgs=(1, 10**7))[phase]
    r = model.fit(states, adam_steps=steps[0], lbfgs_steps=steps[1], check=False)
    print(json.dumps({"status": r.status, "finite": bool(np.all(np.isfinite(r.params))), "loss": float(r.loss)}),
          flush=True)
    sys.exit(0)
p = pb.problems.exponential_growth()
cls = {"BiLO": pb.BiLO, "PINN": pb.PINN}[kind]
m = cls(p, p.synthetic_data(20, noise=0.01), hidden=(32, 32), n_res=101)
print("ready", flush=True)
if phase == "adam":
    r = m.fit(steps=10**7, **extra)
else:
    r = m.fit(steps=10, lbfgs_steps=10**6, **extra)
w = m._trainer.get_weights()
ok = bool(np.all(np.isfinite(w))) and all(np.isfinite(v) for v in m.params.values())
m.fit(steps=5)  # still usable
print(json.dumps({"status": r.status, "finite": ok, "steps": r.steps, "message": r.message}), flush=True)
"""


def t_sigint(kind: str, phase: str, delay: float, extra: str = "{}", twice: bool = False) -> Any:
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, kind, phase, extra], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "ready" not in line:
        proc.kill()
        raise Finding(
            "unclear_error", f"child did not start: {line!r} {proc.stderr.read()[-500:] if proc.stderr else ''}"
        )
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    if twice:
        time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise Finding("hang", f"fit did not return within 60 s of SIGINT ({phase}); stderr: {err[-300:]}") from None
    first = out.strip().splitlines()[-1] if out.strip() else ""
    if proc.returncode == -signal.SIGINT and twice and first.startswith("{"):
        pass  # fit returned; the second Ctrl-C, still pending, ended the script afterwards (Python's own way)
    elif proc.returncode != 0:
        tail = err.strip().splitlines()[-3:]
        if proc.returncode < 0:
            raise Finding("crash", f"child died of signal {-proc.returncode} after SIGINT during {phase}: {tail}")
        raise Finding("unclear_error", f"child exited {proc.returncode} after SIGINT during {phase}: {tail}")
    try:
        rec = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise Finding("unclear_error", f"no result after SIGINT: stdout {out[-200:]!r} stderr {err[-300:]!r}") from None
    if rec["status"] != "interrupted":
        raise Silent(f"SIGINT during {phase}: status {rec['status']!r}, not 'interrupted' ({rec})")
    if not rec["finite"]:
        raise Silent(f"SIGINT during {phase}: the model's state is not finite afterwards")
    if "Traceback" in err:
        raise Silent(f"SIGINT during {phase}: status interrupted but a traceback was printed: {err[-300:]}")
    return f"status interrupted ({rec.get('message', '')[:80]})"


def cases() -> List[Case]:
    out: List[Case] = []
    runs = [
        ("BiLO", "adam", 1.5, "{}", False),
        ("PINN", "adam", 1.5, "{}", False),
        ("BiLO", "lbfgs", 2.5, "{}", False),
        ("PINN", "lbfgs", 2.5, "{}", False),
        ("BiLO", "adam", 1.5, '{"keep": "best", "callback_every": 5000}', False),
        ("BiLO", "adam", 1.5, '{"schedule": "plateau", "spike_factor": 10.0}', False),
        ("BiLO", "adam", 1.5, '{"pretrain_steps": 10000000}', False),
        ("BiLO", "adam", 1.5, '{"max_iter_lower": 100}', False),
        ("BiLO", "adam", 1.5, '{"progress": true}', False),
        ("BiLO", "adam", 1.5, "{}", True),
        ("BiLO", "lbfgs", 2.5, "{}", True),
        ("steady", "adam", 2.0, "{}", False),
        ("steady", "lbfgs", 3.0, "{}", False),
    ]
    for kind, phase, delay, extra, twice in runs:
        tag = f"{kind}.{phase}" + (".twice" if twice else "") + ("" if extra == "{}" else "." + extra.strip("{}")[:30])
        if delay == 0.0:
            tag += ".immediately"
        call = (
            f"SIGINT{' x2' if twice else ''} {delay}s into {kind}(...).fit("
            + ("steps=10**7" if phase == "adam" else "steps=10, lbfgs_steps=10**6")
            + f", {extra})"
        )
        out.append(case(AREA, tag.replace(" ", "").replace('"', ""), MOD, "t_sigint", "check", kind=kind,
                        phase=phase, delay=delay, extra=extra, twice=twice, call=call, timeout=120))  # fmt: skip
    return out
