"""Area 9: ``python -m pinnbilo ...`` with bad options: a clean one-line message and exit status 2
(or 1), never a Python traceback, never a run that silently goes ahead."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any, List

from .core import Case, Finding, Silent, case

AREA = "cli"
MOD = __name__

FAST_DEMO = ["--steps", "5", "--pretrain-steps", "5"]
FAST_COMPARE = ["--steps", "5"]
FAST_STEADY = ["--states", "1", "--m", "32", "--noise", "0", "--n", "32", "--adam-steps", "2", "--lbfgs-steps", "2",
               "--unknown", "V"]  # fmt: skip


def t_cli(args: List[str], fast: List[str], mode: str = "error") -> Any:
    # fast options go first: the hostile one, given later, wins (argparse keeps the last)
    argv = [sys.executable, "-m", "pinnbilo"] + (args[:1] + fast + args[1:] if fast else args)
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONIOENCODING": os.environ.get("PYTHONIOENCODING", "")}
    try:
        p = subprocess.run([os.fsencode(a) if isinstance(a, str) else a for a in argv], capture_output=True,
                           timeout=90, env=env)  # fmt: skip
    except subprocess.TimeoutExpired:
        raise Finding("hang", f"still running after 90 s: {' '.join(map(str, args))}") from None
    err = p.stderr.decode("utf-8", "replace")
    out = p.stdout.decode("utf-8", "replace")
    if p.returncode < 0:
        raise Finding("crash", f"killed by signal {-p.returncode}; stderr: {err[-300:]}")
    if "Traceback (most recent call last)" in err:
        last = [ln for ln in err.strip().splitlines() if ln.strip()][-1:]
        raise Finding("unclear_error", f"exit {p.returncode} with a Python traceback: {last[0] if last else ''}")
    if p.returncode == 0:
        if mode == "error":
            raise Silent(f"exit 0: the bad option was accepted; stdout: {out.strip()[-160:]!r}")
        return "exit 0"
    if p.returncode not in (1, 2):
        raise Finding("unclear_error", f"exit status {p.returncode}; stderr: {err.strip()[-200:]}")
    msg = err.strip().splitlines()[-1] if err.strip() else ""
    if not msg:
        raise Finding("unclear_error", f"exit {p.returncode} without any message on stderr")
    return f"exit {p.returncode}: {msg[:140]}"


BAD = "\udcff"  # a byte that is not UTF-8 (passed to the process as b'\xff')

RUNS = [
    # (label, args, fast options, mode)
    ("no_arguments", [], [], "error"),
    ("unknown_command", ["explode"], [], "error"),
    ("unknown_option", ["--bogus"], [], "error"),
    ("demo.steps_negative", ["demo", "--steps", "-1"], FAST_DEMO, "error"),
    ("demo.steps_text", ["demo", "--steps", "abc"], FAST_DEMO, "error"),
    ("demo.steps_float", ["demo", "--steps", "1.5"], FAST_DEMO, "error"),
    ("demo.steps_2**63", ["demo", "--steps", str(2**63)], FAST_DEMO, "error"),
    ("demo.steps_5000_digits", ["demo", "--steps", "1" + "0" * 5000], FAST_DEMO, "error"),
    ("demo.pretrain_negative", ["demo", "--pretrain-steps", "-5"], FAST_DEMO, "error"),
    ("demo.lr_zero", ["demo", "--lr", "0"], FAST_DEMO, "error"),
    ("demo.lr_negative", ["demo", "--lr", "-1e-3"], FAST_DEMO, "error"),
    ("demo.lr_nan", ["demo", "--lr", "nan"], FAST_DEMO, "error"),
    ("demo.lr_inf", ["demo", "--lr", "inf"], FAST_DEMO, "error"),
    ("demo.lr_params_nan", ["demo", "--lr-params", "nan"], FAST_DEMO, "error"),
    ("demo.width_zero", ["demo", "--width", "0"], FAST_DEMO, "error"),
    ("demo.width_negative", ["demo", "--width", "-3"], FAST_DEMO, "error"),
    ("demo.width_100000", ["demo", "--width", "100000"], FAST_DEMO, "error"),
    ("demo.depth_zero", ["demo", "--depth", "0"], FAST_DEMO, "error"),
    ("demo.n_data_zero", ["demo", "--n-data", "0"], FAST_DEMO, "error"),
    ("demo.n_data_10**9", ["demo", "--n-data", "1000000000"], FAST_DEMO, "error"),
    ("demo.noise_negative", ["demo", "--noise", "-0.1"], FAST_DEMO, "error"),
    ("demo.noise_nan", ["demo", "--noise", "nan"], FAST_DEMO, "error"),
    ("demo.a_init_nan", ["demo", "--a-init", "nan"], FAST_DEMO, "error"),
    ("demo.a_true_inf", ["demo", "--a-true", "inf"], FAST_DEMO, "error"),
    ("demo.a_true_1e400", ["demo", "--a-true", "1e400"], FAST_DEMO, "error"),
    ("demo.seed_negative", ["demo", "--seed", "-1"], FAST_DEMO, "error"),
    ("demo.seed_2**64", ["demo", "--seed", str(2**64)], FAST_DEMO, "error"),
    ("demo.problem_unknown", ["demo", "--problem", "poisson"], FAST_DEMO, "error"),
    ("demo.problem_not_utf8", ["demo", "--problem", BAD], FAST_DEMO, "error"),
    ("demo.logistic_a_init_huge", ["demo", "--problem", "logistic", "--a-init", "1e300"], FAST_DEMO, "error"),
    ("demo.valid_fast", ["demo"], FAST_DEMO, "accept"),
    ("compare.unknown_problem", ["compare", "nope"], [], "error"),
    ("compare.no_problem", ["compare"], [], "error"),
    ("compare.set_unknown_name", ["compare", "poisson", "--set", "x=1"], FAST_COMPARE, "error"),
    ("compare.set_not_literal", ["compare", "poisson", "--set", "D_true=abc"], FAST_COMPARE, "error"),
    ("compare.set_no_equals", ["compare", "poisson", "--set", "D_true"], FAST_COMPARE, "error"),
    ("compare.set_inf", ["compare", "poisson", "--set", "D_true=1e400"], FAST_COMPARE, "error"),
    ("compare.set_string_value", ["compare", "poisson", "--set", "D_true='a'"], FAST_COMPARE, "error"),
    ("compare.set_list_value", ["compare", "poisson", "--set", "D_true=[1, 2]"], FAST_COMPARE, "error"),
    ("compare.set_5000_digits", ["compare", "poisson", "--set", "D_true=1" + "0" * 5000], FAST_COMPARE, "error"),
    (
        "compare.set_deep_tuple",
        ["compare", "poisson", "--set", "D_true=" + "(" * 300 + "1" + ")" * 300],
        FAST_COMPARE,
        "error",
    ),
    (
        "compare.set_hidden_30000",
        ["compare", "variable_poisson", "--set", "hidden=(30000, 30000)"],
        FAST_COMPARE,
        "error",
    ),
    ("compare.set_not_utf8", ["compare", "poisson", "--set", "D_true=" + BAD], FAST_COMPARE, "error"),
    ("compare.seeds_zero", ["compare", "poisson", "--seeds", "0"], FAST_COMPARE, "error"),
    ("compare.seeds_negative", ["compare", "poisson", "--seeds", "-2"], FAST_COMPARE, "error"),
    ("compare.steps_negative", ["compare", "poisson", "--steps", "-5"], [], "error"),
    ("compare.steps_text", ["compare", "poisson", "--steps", "x"], [], "error"),
    ("compare.noise_negative", ["compare", "poisson", "--noise", "-1"], FAST_COMPARE, "error"),
    ("compare.noise_nan", ["compare", "poisson", "--noise", "nan"], FAST_COMPARE, "error"),
    ("compare.seed_negative", ["compare", "poisson", "--seed", "-1"], FAST_COMPARE, "error"),
    ("compare.plot_into_a_file", ["compare", "poisson", "--plot", "/etc/hostname"], FAST_COMPARE, "error"),
    ("compare.valid_fast", ["compare", "poisson"], FAST_COMPARE, "accept"),
    ("playground.port_negative", ["playground", "--port", "-1", "--no-browser"], [], "error"),
    ("playground.port_99999", ["playground", "--port", "99999", "--no-browser"], [], "error"),
    ("playground.port_text", ["playground", "--port", "abc", "--no-browser"], [], "error"),
    ("steady.n_text", ["steady", "--n", "abc"], FAST_STEADY, "error"),
    ("steady.n_2", ["steady", "--n", "2"], FAST_STEADY, "error"),
    ("steady.n_10**9", ["steady", "--n", "1000000000"], FAST_STEADY, "error"),
    ("steady.states_zero", ["steady", "--states", "0"], FAST_STEADY, "error"),
    ("steady.states_text", ["steady", "--states", "a,b"], FAST_STEADY, "error"),
    ("steady.states_empty", ["steady", "--states", ","], FAST_STEADY, "error"),
    ("steady.m_1", ["steady", "--m", "1"], FAST_STEADY, "error"),
    ("steady.m_over_n", ["steady", "--m", "64"], FAST_STEADY, "error"),
    ("steady.noise_negative", ["steady", "--noise", "-1"], FAST_STEADY, "error"),
    ("steady.noise_nan", ["steady", "--noise", "nan"], FAST_STEADY, "error"),
    ("steady.unknown_X", ["steady", "--unknown", "X"], FAST_STEADY, "error"),
    ("steady.unknown_empty", ["steady", "--unknown", ","], FAST_STEADY, "error"),
    ("steady.width_zero", ["steady", "--width", "0"], FAST_STEADY, "error"),
    ("steady.depth_100", ["steady", "--depth", "100"], FAST_STEADY, "error"),
    ("steady.adam_steps_negative", ["steady", "--adam-steps", "-1"], FAST_STEADY, "error"),
    ("steady.lbfgs_steps_negative", ["steady", "--lbfgs-steps", "-1"], FAST_STEADY, "error"),
    ("steady.seed_negative", ["steady", "--seed", "-1"], FAST_STEADY, "error"),
    ("steady.smoothness_nan", ["steady", "--smoothness-w", "nan", "--unknown", "W"], FAST_STEADY, "error"),
    ("steady.smoothness_negative", ["steady", "--smoothness-w", "-1", "--unknown", "W"], FAST_STEADY, "error"),
    ("steady.csv_in_missing_folder", ["steady", "--csv", "/nonexistent/dir/x.csv"], FAST_STEADY, "error"),
    ("steady.valid_fast", ["steady"], FAST_STEADY, "accept"),
]


def cases() -> List[Case]:
    out: List[Case] = []
    for label, args, fast, mode in RUNS:
        shown = " ".join(a if len(a) <= 40 else a[:20] + f"...({len(a)} chars)" for a in args)
        out.append(case(AREA, label, MOD, "t_cli", "check", args=args, fast=fast, mode=mode, timeout=120,
                        call=f"python -m pinnbilo {shown}".replace(BAD, "\\xff")))  # fmt: skip
    return out
