"""Peak memory of one training step: pinnbilo against the PyTorch and JAX forms of compare_frameworks.

Every (case, contender) pair runs in a fresh Python process that imports only what the contender
needs (numpy and pinnbilo for pinnbilo; also torch and peers_torch for a PyTorch form, jax and
peers_jax for a JAX form), records its resident set size, builds the step, takes the warm-up steps
(JAX compiles its jitted step on the first one; the torch ``compile`` form compiles while it is
built), then the measured steps. Run from the repository root, with the peers installed:

    python bench/peak_memory.py --cases all --out bench/results/peak_memory.json

Reported per process, in KiB (MiB in the tables):
  baseline_kib     VmRSS right after the imports (and the runtimes' start: torch.zeros(1),
                   jax.devices()), before anything of the case is built;
  peak_kib         the process's peak RSS over its whole life (VmHWM, the high-water mark that
                   getrusage's ru_maxrss reports, of this process's own address space): imports,
                   build, compilation, warm-up and the measured steps;
  own_kib          the peak from the baseline on (imports' own transient excluded) minus the
                   baseline: the case's and step's own memory (the tables' "+" columns);
  step_kib         peak RSS over the measured steps only, after compilation and warm-up.
The phases are separated by resetting the high-water mark through /proc/self/clear_refs
(Linux 4.0+; without it own_kib is peak_kib - baseline_kib and step_kib is None). ru_maxrss
itself is recorded too (ru_maxrss_kib) but not used: in a process started by fork + exec it also
holds the parent's peak.
A peer gets the case's weights, points and data as compare_frameworks builds them (step_inputs of
the pinnbilo model), computed by this parent process: the peer's process builds no pinnbilo model.
Every framework runs at one thread (compare_frameworks._set_thread_env).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import pickle
import platform
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

CONTENDERS = ["pinnbilo", "torch_autograd", "torch_func", "torch_compile", "jax_rev", "jax_fwdrev", "jax_fwd"]
FRAMEWORKS = ("pinnbilo", "torch", "jax")


def _framework(contender: str) -> str:
    return contender.split("_", 1)[0]


# -- the child: one contender, one case, one fresh process -----------------------------------------
def _status_kib(key: str) -> Optional[int]:
    """A field of /proc/self/status in KiB (VmRSS, VmHWM), None where there is none."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _maxrss_kib() -> int:
    """getrusage's ru_maxrss (KiB on Linux). In a process started by fork/vfork + exec it is at
    least the parent's peak (the kernel folds the address space left at exec into it), so the peaks
    below are read from VmHWM, the high-water mark of this process's own address space."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _hwm_kib() -> int:
    hwm = _status_kib("VmHWM")
    return _maxrss_kib() if hwm is None else hwm


def _reset_peak() -> bool:
    """Reset the process's RSS high-water mark (ru_maxrss and VmHWM with it); Linux 4.0+."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def child(contender: str, case_spec: str, inputs_path: Optional[str], steps: int, warmup: int) -> Dict[str, object]:
    """Measure one contender on one case in this (fresh) process; the caller prints the result."""
    t0 = time.perf_counter()
    fw = _framework(contender)
    import numpy as np  # noqa: F401  (every contender needs it; part of the baseline)
    from cases import Case, PeerUnavailable, make_model

    import pinnbilo as pb

    pb.set_num_threads(1)
    if fw == "torch":
        import peers_torch
        import peers_torch_func  # noqa: F401  (the func and compile forms)
        import torch

        torch.set_num_threads(1)
        torch.zeros(1).sum()
        if contender == "torch_compile":
            import torch._dynamo  # noqa: F401
    elif fw == "jax":
        import jax
        import peers_jax

        jax.devices()
    out: Dict[str, object] = {
        "contender": contender,
        "baseline_kib": _status_kib("VmRSS") or _hwm_kib(),
        "import_peak_kib": _hwm_kib(),
        "ru_maxrss_start_kib": _maxrss_kib(),
    }
    # From here on the high-water mark is reset at each phase, so that a transient of the imports
    # does not count as the step's; peak_kib is the maximum of the phases: VmHWM as it is without resets.
    reset = _reset_peak()
    out["peak_reset"] = reset
    case = Case(*_parse_case(case_spec))
    inputs = None
    if fw != "pinnbilo":
        with open(inputs_path, "rb") as f:  # type: ignore[arg-type]
            inputs = pickle.load(f)
    try:
        if fw == "pinnbilo":
            trainer = make_model(case)._trainer
            config = {"steps": 1, "train_params": True, "callback_every": 1 << 30}

            def step() -> None:
                trainer.run(config, None)

        elif fw == "torch":
            step = peers_torch.TorchStep(case, inputs, variant=contender.split("_", 1)[1]).step
        else:
            step = peers_jax.JaxStep(case, inputs, variant=contender.split("_", 1)[1]).step
    except PeerUnavailable as exc:
        out.update(unavailable=str(exc), peak_kib=max(out["import_peak_kib"], _hwm_kib()))
        out["wall_s"] = time.perf_counter() - t0
        return out
    out["built_rss_kib"] = _status_kib("VmRSS")
    for _ in range(warmup):
        step()
    out["warm_rss_kib"] = _status_kib("VmRSS")
    out["build_peak_kib"] = _hwm_kib()  # build, compilation and warm-up (whole life if not reset)
    reset = reset and _reset_peak()
    t_steps = time.perf_counter()
    for _ in range(steps):
        step()
    t_steps = time.perf_counter() - t_steps
    after = _hwm_kib()
    peaks = [out["import_peak_kib"], out["build_peak_kib"], after]
    own = max(out["build_peak_kib"], after) if reset else max(peaks)
    out.update(
        peak_kib=max(peaks),  # type: ignore[type-var]
        own_kib=own - out["baseline_kib"],  # type: ignore[operator]
        step_kib=after if reset else None,
        final_rss_kib=_status_kib("VmRSS"),
        ru_maxrss_kib=_maxrss_kib(),
        children_maxrss_kib=int(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss),
        steps=steps,
        warmup=warmup,
        ms_per_step=1e3 * t_steps / max(steps, 1),
        wall_s=time.perf_counter() - t0,
    )
    return out


def _case_spec(case) -> str:
    return ",".join(str(v) for v in (case.problem, case.method, case.width, case.depth, case.n_points, case.dtype))


def _parse_case(spec: str) -> Tuple[str, str, int, int, int, str]:
    problem, method, width, depth, n, dtype = spec.split(",")
    return problem, method, int(width), int(depth), int(n), dtype


# -- the parent: cases x contenders, one child each -----------------------------------------------
def run_child(contender: str, case, inputs_path: Optional[str], steps: int, warmup: int, timeout: float) -> Dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--child", contender, "--case", _case_spec(case)]
    cmd += ["--steps", str(steps), "--warmup", str(warmup)]
    if inputs_path:
        cmd += ["--inputs", inputs_path]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"contender": contender, "error": f"timed out after {timeout:.0f} s"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {"contender": contender, "error": f"exit {proc.returncode}: {tail[:300]}"}
    return json.loads(lines[-1])


def machine_description() -> Dict[str, object]:
    import numpy as np

    import pinnbilo as pb

    info: Dict[str, object] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "threads": 1,
        "cpus": os.cpu_count(),
    }
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as f:
            info["mem_total_kib"] = int(f.readline().split()[1])
    except OSError:
        pass
    info["pinnbilo"] = pb.__version__
    info["numpy"] = np.__version__
    for mod in ("torch", "jax", "jaxlib"):  # from the installed metadata: no import needed
        try:
            info[mod] = importlib.metadata.version(mod)
        except importlib.metadata.PackageNotFoundError:
            info[mod] = None
    try:
        info["commit"] = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=ROOT, check=False
        ).stdout.strip()
    except OSError:
        pass
    return info


def _mib(kib: Optional[float]) -> float:
    return float("nan") if kib is None else kib / 1024.0


def _measured(r: Dict) -> bool:
    return "peak_kib" in r and "unavailable" not in r and "error" not in r


def fastest_forms(path: str) -> Dict[str, Dict[str, str]]:
    """label -> {framework: fastest form} from a compare_frameworks JSON ({} if there is none)."""
    try:
        with open(path) as f:
            rows = json.load(f)["rows"]
    except (OSError, KeyError, ValueError):
        return {}
    out: Dict[str, Dict[str, str]] = {}
    for row in rows:
        ms = row["median_ms"]
        for fw in ("torch", "jax"):
            forms = [(v, k) for k, v in ms.items() if k.startswith(fw + "_")]
            if forms:
                out.setdefault(row["label"], {})[fw] = min(forms)[1]
    return out


def lowest(results: Dict[str, Dict], fw: str) -> Optional[Dict]:
    forms = [r for name, r in results.items() if _framework(name) == fw and _measured(r)]
    return min(forms, key=lambda r: r["peak_kib"]) if forms else None


def tables(rows: List[Dict], fastest: Dict[str, Dict[str, str]]) -> str:
    """Markdown: each framework's lowest-peak form; then every form's peak above its baseline."""
    head = "| case | pinnbilo MiB | + | torch form | torch MiB | + | jax form | jax MiB | + |"
    lines = [
        "Peak RSS of a fresh process (MiB) and, in the + columns, the peak above the RSS right after the",
        "imports; for PyTorch and JAX the form with the lowest peak.",
        "",
        head,
        "| --- | ---: | ---: | --- | ---: | ---: | --- | ---: | ---: |",
    ]
    for row in rows:
        cells = [row["label"]]
        for fw in FRAMEWORKS:
            best = lowest(row["results"], fw)
            if fw != "pinnbilo":
                cells.append(best["contender"].split("_", 1)[1] if best else "n/a")
            if best:
                cells += [f"{_mib(best['peak_kib']):.1f}", f"{_mib(best['own_kib']):.1f}"]
            else:
                cells += ["n/a", "n/a"]
        lines.append("| " + " | ".join(cells) + " |")
    names = [c for c in CONTENDERS if any(c in r["results"] for r in rows)]
    lines += [
        "",
        "Every form: peak RSS above the import baseline, MiB (in parentheses: the peak over the measured",
        "steps only, after compilation and warm-up, above the same baseline); * the framework's fastest",
        "form in bench/results/compare_1thread.json.",
        "",
        "| case | " + " | ".join(names) + " |",
        "| --- |" + " ---: |" * len(names),
    ]
    notes = []
    for row in rows:
        cells = [row["label"]]
        fast = fastest.get(row["label"], {})
        for name in names:
            r = row["results"].get(name)
            if r is None:
                cells.append("")
            elif not _measured(r):
                cells.append("n/a")
                notes.append(f"- {row['label']}, {name}: {r.get('unavailable') or r.get('error')}")
            else:
                cell = f"{_mib(r['own_kib']):.1f}"
                if r.get("step_kib") is not None:
                    cell += f" ({_mib(r['step_kib'] - r['baseline_kib']):.1f})"
                if fast.get(_framework(name)) == name:
                    cell += " *"
                cells.append(cell)
        lines.append("| " + " | ".join(cells) + " |")
    base = {}
    for row in rows:
        for name, r in row["results"].items():
            if "baseline_kib" in r:
                base.setdefault(_framework(name), []).append(r["baseline_kib"])
    lines += [
        "",
        "Import baselines (RSS after the imports, MiB): "
        + ", ".join(f"{fw} {_mib(min(v)):.0f}-{_mib(max(v)):.0f}" for fw, v in base.items()),
    ]
    if notes:
        lines += ["", "n/a:"] + notes
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", default="all", help="case sets of compare_frameworks, comma-separated")
    ap.add_argument("--contenders", default=",".join(CONTENDERS), help="comma-separated, of " + ", ".join(CONTENDERS))
    ap.add_argument("--steps", type=int, default=20, help="measured training steps per process")
    ap.add_argument("--warmup", type=int, default=2, help="steps before the measured ones (JIT compilation)")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per process")
    ap.add_argument("--jobs", type=int, default=1, help="processes at a time (memory is per process)")
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    ap.add_argument("--fastest-from", default=os.path.join(HERE, "results", "compare_1thread.json"))
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--case", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--inputs", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:  # the thread environment comes from the parent
        print(json.dumps(child(args.child, args.case, args.inputs, args.steps, args.warmup)), flush=True)
        return

    from compare_frameworks import CASE_SETS, _set_thread_env

    _set_thread_env(1)  # for the children: set before they import numpy, torch or jax
    from cases import make_model, step_inputs

    contenders = [c for c in args.contenders.split(",") if c]
    unknown = sorted(set(contenders) - set(CONTENDERS))
    if unknown:
        raise SystemExit(f"unknown contenders {unknown}; choose from {CONTENDERS}")
    cases = [c for s in args.cases.split(",") for c in CASE_SETS[s]]
    t_start = time.perf_counter()
    rows: List[Dict] = [{"case": c.__dict__, "label": c.label, "results": {}} for c in cases]
    with tempfile.TemporaryDirectory() as tmp:
        jobs = []
        for k, case in enumerate(cases):
            path = None
            if any(_framework(c) != "pinnbilo" for c in contenders):
                path = os.path.join(tmp, f"inputs{k}.pkl")
                with open(path, "wb") as f:
                    pickle.dump(step_inputs(make_model(case)), f)
            jobs += [(k, name, path) for name in contenders]

        def one(job: Tuple[int, str, Optional[str]]) -> Tuple[int, str, Dict]:
            k, name, path = job
            r = run_child(name, cases[k], path, args.steps, args.warmup, args.timeout)
            if _measured(r):
                what = f"peak {_mib(r['peak_kib']):.1f} MiB, +{_mib(r['own_kib']):.1f}"
            else:
                what = f"n/a: {r.get('unavailable') or r.get('error')}"
            print(f"{cases[k].label}: {name}: {what} ({r.get('wall_s', 0.0):.1f} s)", flush=True)
            return k, name, r

        # Concurrent processes do not change each other's RSS; --jobs only shortens the run.
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            for k, name, r in pool.map(one, jobs):
                rows[k]["results"][name] = r
    text = tables(rows, fastest_forms(args.fastest_from))
    print(text, flush=True)
    print(f"total {time.perf_counter() - t_start:.0f} s", flush=True)
    if args.out:
        doc = {
            "machine": machine_description(),
            "command": "python " + " ".join([os.path.relpath(os.path.abspath(__file__), ROOT)] + sys.argv[1:]),
            "steps": args.steps,
            "jobs": args.jobs,
            "warmup": args.warmup,
            "units": "KiB",
            "rows": rows,
            "table": text,
        }
        with open(args.out, "w") as f:
            json.dump(doc, f, indent=1)


if __name__ == "__main__":
    main()
