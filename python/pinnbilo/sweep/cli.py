"""``python -m pinnbilo sweep SPEC.toml | --suite NAME [--scheduler ADDRESS] [--workers N] [--out DIR]``."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Optional


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The sweep subcommand's options."""
    p.add_argument("spec", nargs="?", default=None, help="a TOML sweep spec (see pinnbilo.sweep.Sweep.from_toml)")
    p.add_argument("--suite", default=None, help="a shipped suite instead of a spec: bilo-paper, smoke")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help="a running Dask scheduler (tcp://host:8786)")
    p.add_argument("--workers", type=int, default=None, help="local worker processes (default: the cores)")
    p.add_argument("--out", default=None, metavar="DIR", help="results folder (default: sweep-<name>)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def main(args: argparse.Namespace) -> int:
    """Run the sweep, print the summary, write results.csv, summary.csv and errors.png to --out."""
    from ..errors import InputError
    from . import markdown_table, plot_errors, run_sweep, suite, summarize
    from .spec import Sweep

    try:
        if (args.spec is None) == (args.suite is None):
            raise InputError("give a spec file or --suite NAME (one of them)")
        spec = suite(args.suite) if args.suite is not None else Sweep.from_toml(args.spec)
        out = args.out or f"sweep-{spec.name}"
        table = run_sweep(spec, scheduler=args.scheduler, workers=args.workers, out=out, progress=not args.no_progress)
    except InputError as exc:
        print(f"sweep: {exc}", file=sys.stderr)
        return 2
    summary = summarize(table)
    summary.to_csv(os.path.join(out, "summary.csv"), index=False)
    if {"problem", "noise"} <= set(summary.columns):
        with open(os.path.join(out, "summary.md"), "w") as fh:
            fh.write(markdown_table(summary) + "\n")
    _print_summary(summary)
    figure: Optional[str] = None
    if "noise" in summary.columns and "problem" in summary.columns:
        try:
            fig = plot_errors(summary)
            figure = os.path.join(out, "errors.png")
            fig.savefig(figure, dpi=120)
        except ImportError:
            figure = None  # matplotlib is optional
    done = int((table["status"] != "failed").sum())
    print(f"{len(table)} runs in {out}/results.csv ({done} finished, {len(table) - done} failed); "
          f"summary in {out}/summary.csv" + (f", figure {figure}" if figure else ""))  # fmt: skip
    if table.attrs.get("interrupted"):
        print("interrupted: run the same command again to finish the sweep", file=sys.stderr)
        return 130
    return 0


def _print_summary(summary) -> None:  # type: ignore[no-untyped-def]  # a pandas DataFrame
    shown = summary.copy()
    for c in ("median", "q25", "q75", "worst"):
        shown[c] = shown[c].map(lambda v: f"{100 * v:.3g}%")
    shown["wall_time_median"] = shown["wall_time_median"].map(lambda v: f"{v:.1f}s")
    print(shown.to_string(index=False))
