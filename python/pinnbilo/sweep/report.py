"""Summaries of a sweep's table: median and spread of every error per group, and their plots."""

from __future__ import annotations

from typing import Any, List, Optional, Sequence

from ..errors import InputError

# Columns that tell runs of one group apart without making it another group.
REPEATS = ("run_id", "seed", "data_seed", "worker_pid")


def summarize(table: Any, by: Optional[Sequence[str]] = None) -> Any:
    """Group the runs and aggregate: per group and error column, the median, the 25% and 75%
    quantiles, the worst value and the number of runs; the median wall time; and how many runs
    did not complete. Returns a DataFrame in long form (one row per group and unknown).

    by : the grouping columns (default: every configuration column except the seeds).
    """
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]  # stubs are optional

    if not isinstance(table, pd.DataFrame) or table.empty:
        raise InputError("summarize: give the non-empty DataFrame that run_sweep returned")
    errors = [c for c in table.columns if str(c).startswith("err_")]
    if by is None:
        skip = set(REPEATS) | set(errors)
        by = [c for c in table.columns if c not in skip and not str(c).startswith("loss_")
              and c not in ("steps", "wall_time", "status", "message", "budget_steps")]  # fmt: skip
    missing = [c for c in by if c not in table.columns]
    if missing:
        raise InputError(f"summarize: no columns {missing} in the table; it has {list(table.columns)}")
    by = list(by)
    frame = table.copy()
    for c in by:  # lists (hidden sizes) cannot be group keys
        frame[c] = frame[c].map(lambda v: tuple(v) if isinstance(v, list) else v)
    out: List[dict] = []
    for key, group in frame.groupby(by, dropna=False, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        base = dict(zip(by, key))
        base["runs"] = len(group)
        base["not_completed"] = int((~group["status"].isin(["completed", "converged", "early_stopped"])).sum())
        base["wall_time_median"] = float(group["wall_time"].median())
        for col in errors:
            vals = group[col].dropna().astype(float)
            if vals.empty:
                continue
            out.append({**base, "unknown": col[4:], "median": float(vals.median()), "q25": float(vals.quantile(0.25)),
                        "q75": float(vals.quantile(0.75)), "worst": float(vals.max()), "n": len(vals)})  # fmt: skip
    return pd.DataFrame(out)


def plot_errors(summary: Any, x: str = "noise", panel: str = "problem") -> Any:
    """Median error against ``x`` with interquartile bars, one panel per ``panel`` value, one line
    per method and unknown (log scale): a matplotlib Figure."""
    import matplotlib.pyplot as plt

    for c in (x, panel, "method", "unknown", "median", "q25", "q75"):
        if c not in summary.columns:
            raise InputError(f"plot_errors: the summary has no column {c!r}; make it with summarize(table)")
    panels = list(dict.fromkeys(summary[panel]))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6), squeeze=False)
    for ax, name in zip(axes[0], panels):
        part = summary[summary[panel] == name]
        for (method, unknown), line in part.groupby(["method", "unknown"], sort=False):
            line = line.sort_values(x)
            lo = (line["median"] - line["q25"]).clip(lower=0)
            hi = line["q75"] - line["median"]
            ax.errorbar(line[x], line["median"], yerr=[lo, hi], marker="o", capsize=3, label=f"{method} {unknown}")
        ax.set_yscale("log")
        ax.set_title(str(name))
        ax.set_xlabel(x)
        ax.set_ylabel("relative error (median, IQR)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def markdown_table(summary: Any, x: str = "noise") -> str:
    """The summary as a Markdown table: one row per problem and unknown, one column per method
    and ``x`` value, each cell the median error with its interquartile range, in percent."""
    for c in ("problem", "method", "unknown", x, "median", "q25", "q75"):
        if c not in summary.columns:
            raise InputError(f"markdown_table: the summary has no column {c!r}; make it with summarize(table)")
    columns = [(m, v) for m in dict.fromkeys(summary["method"]) for v in sorted(dict.fromkeys(summary[x]))]
    head = "| problem | unknown | " + " | ".join(f"{m} {x} {v:g}" for m, v in columns) + " |"
    lines = [head, "|" + " --- |" * (2 + len(columns))]
    for (problem, unknown), part in summary.groupby(["problem", "unknown"], sort=False):
        cells = []
        for m, v in columns:
            hit = part[(part["method"] == m) & (part[x] == v)]
            if hit.empty:
                cells.append("")
                continue
            r = hit.iloc[0]
            cells.append(f"{100 * r['median']:.3g}% ({100 * r['q25']:.3g}-{100 * r['q75']:.3g})")
        lines.append(f"| {problem} | {unknown} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
