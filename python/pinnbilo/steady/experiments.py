"""Sweeps behind ``python -m pinnbilo steady``: function error against the number of observed
steady states, the sampling density and the noise level, as a table (and optional figures)."""

from __future__ import annotations

import argparse
import csv
import itertools
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

from .. import _validation
from .._validation import _show
from ..errors import InputError
from .data import PeriodicStates, denoise_periodic, observe_periodic
from .generate import aggregation_diffusion_states
from .grids import PeriodicGrid
from .models import AggregationDiffusion, FunctionArg, Unknown, relative_error


def double_well(x: np.ndarray) -> np.ndarray:
    """The potential of the V experiments: cos(4 pi x) + 0.5 cos(2 pi x) on [0, 1)."""
    return np.cos(4 * np.pi * x) + 0.5 * np.cos(2 * np.pi * x)


def gaussian_kernel(r: np.ndarray) -> np.ndarray:
    """The kernel of the W experiments: -exp(-r^2 / (2 * 0.1^2)) (attractive)."""
    return -np.exp(-(r**2) / (2 * 0.1**2))


def background(x: np.ndarray) -> np.ndarray:
    """The potential of the W experiments (known there, learned in "both"): 0.5 cos(2 pi x)."""
    return 0.5 * np.cos(2 * np.pi * x)


@dataclass
class Setting:
    """One experiment: which functions are unknown and how the observed states differ."""

    target: str
    kappa: float
    V: Callable[[np.ndarray], np.ndarray]
    W: Optional[Callable[[np.ndarray], np.ndarray]]

    def states(self, grid: PeriodicGrid, S: int) -> PeriodicStates:
        if self.target == "V":  # states differ by sigma
            return aggregation_diffusion_states(grid, V=self.V, kappa=0.0, sigma=np.linspace(0.4, 1.2, S))
        masses = np.geomspace(0.5, 2.0, S) if S > 1 else np.array([1.0])
        return aggregation_diffusion_states(
            grid, V=self.V, W=self.W, kappa=self.kappa, sigma=0.3, mass=masses, method="newton"
        )


SETTINGS: Dict[str, Setting] = {
    "V": Setting("V", 0.0, double_well, None),
    "W": Setting("W", 1.0, background, gaussian_kernel),
    "both": Setting("both", 1.0, background, gaussian_kernel),
}


@dataclass
class Row:
    target: str
    states: int
    m: int
    noise: float
    error_V: float
    error_W: float
    loss: float
    seconds: float


def run_one(
    setting: Setting,
    grid: PeriodicGrid,
    S: int,
    m: int,
    noise: float,
    hidden: Sequence[int],
    adam_steps: int,
    lbfgs_steps: int,
    seed: int,
    progress: bool = False,
    smoothness_w: float = 1e-3,
) -> Row:
    """Generate S states, observe m points each with relative noise, fit, and measure the function errors.

    Noisy data (noise > 0) are low-pass filtered first (denoise_periodic) and a learned W gets the
    smoothness penalty smoothness_w int W'^2; clean data are used as they are, unpenalised.
    """
    data = observe_periodic(setting.states(grid, S), m=m, noise=noise, seed=seed)
    smoothness = {"V": 0.0, "W": 0.0}
    if noise > 0:
        data = denoise_periodic(data)
        if setting.target in ("W", "both"):
            smoothness["W"] = smoothness_w
    net = Unknown(hidden=tuple(hidden), seed=seed)
    unknowns: Dict[str, Dict[str, FunctionArg]] = {
        "V": {"V": net, "W": None},
        "W": {"V": setting.V, "W": net},
        "both": {"V": net, "W": Unknown(hidden=tuple(hidden), seed=seed + 1)},
    }
    kw = unknowns[setting.target]
    model = AggregationDiffusion(grid, kappa=setting.kappa, V=kw["V"], W=kw["W"])
    start = time.perf_counter()
    fit = model.fit(
        data, adam_steps=adam_steps, lbfgs_steps=lbfgs_steps, progress=progress, check=False, smoothness=smoothness
    )
    wall = time.perf_counter() - start
    f = fit.functions
    ev = relative_error(f["V"], setting.V(grid.x)) if setting.target in ("V", "both") else float("nan")
    ew = (
        relative_error(f["W"], setting.W(grid.lags))
        if setting.W is not None and setting.target != "V"
        else float("nan")
    )
    return Row(setting.target, S, m, noise, ev, ew, fit.loss, wall)


def sweep(
    targets: Sequence[str],
    states: Sequence[int],
    samples: Sequence[int],
    noises: Sequence[float],
    n: int = 128,
    hidden: Sequence[int] = (32, 32),
    adam_steps: int = 2000,
    lbfgs_steps: int = 1000,
    seed: int = 0,
    progress: bool = False,
    smoothness_w: float = 1e-3,
    workers: Optional[int] = None,
    client: Any = None,
) -> List[Row]:
    """Every combination of target x number of states x observations per state x noise level.

    workers / client : run the combinations as Dask tasks (pinnbilo.sweep's engine) on a
    LocalCluster of ``workers`` processes or on ``client``; None for both: one after the other here.
    """
    for t in targets:
        if not isinstance(t, str) or t not in SETTINGS:
            raise InputError(f"target must be one of {sorted(SETTINGS)}, got {_show(t)}")
    grid = PeriodicGrid(n, 1.0)
    for m in samples:
        # Observations per state are grid points: more than n cannot be had, and silently using n
        # would report a row for an experiment that was not run.
        _validation.integer(m, "each entry of samples (observations per state)", minimum=1, maximum=grid.n)
    rows = []
    combos = list(itertools.product(targets, states, samples, noises))
    calls = [(SETTINGS[t], grid, S, m, noise, tuple(hidden), adam_steps, lbfgs_steps, seed, False, smoothness_w)
             for t, S, m, noise in combos]  # fmt: skip
    if workers is not None or client is not None:
        return _on_dask(calls, workers, client, progress)
    bar = None
    if progress:
        from tqdm.auto import tqdm  # type: ignore[import-untyped]  # no tqdm stubs

        bar = tqdm(total=len(combos), desc="steady sweep")
    try:
        for call in calls:
            rows.append(run_one(*call))
            if bar is not None:
                bar.update(1)
    except KeyboardInterrupt:
        print("interrupted: the table holds the runs finished so far")
    finally:
        if bar is not None:
            bar.close()
    return rows


def _call(args: tuple) -> Row:
    return run_one(*args)


def _on_dask(calls: List[tuple], workers: Optional[int], client: Any, progress: bool) -> List[Row]:
    """The runs as Dask tasks, in order; Ctrl-C keeps the runs finished so far."""
    from ..sweep.engine import local_client

    own = client is None
    if own:
        client = local_client(workers)
    try:
        import dask.distributed as distributed

        futures = client.map(_call, calls, pure=False)
        done = {}
        try:
            seq = distributed.as_completed(futures)
            if progress:
                from tqdm.auto import tqdm  # type: ignore[import-untyped]  # no tqdm stubs

                seq = tqdm(seq, total=len(futures), desc="steady sweep")
            for f in seq:
                done[f.key] = f.result()
        except KeyboardInterrupt:
            client.cancel(futures)
            print("interrupted: the table holds the runs finished so far")
        return [done[f.key] for f in futures if f.key in done]
    finally:
        if own:
            cluster = client.cluster
            client.close()
            cluster.close()


def format_table(rows: Sequence[Row]) -> str:
    """A Markdown table of the rows (errors in percent)."""

    def pct(v: float) -> str:
        return "-" if np.isnan(v) else f"{100 * v:.3g}%"

    lines = [
        "| unknown | states | m | noise | error V | error W | loss | time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.target} | {r.states} | {r.m} | {100 * r.noise:g}% | {pct(r.error_V)} | {pct(r.error_W)} | "
            f"{r.loss:.2e} | {r.seconds:.2f}s |"
        )
    return "\n".join(lines)


def plot(rows: Sequence[Row], path: str) -> None:
    """Error against noise, one line per (unknown, states, m): saved to path (PNG/PDF by suffix)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    keys = sorted({(r.target, r.states, r.m) for r in rows})
    for t, S, m in keys:
        sel = sorted((r for r in rows if (r.target, r.states, r.m) == (t, S, m)), key=lambda r: r.noise)
        for fname in ("V", "W"):
            err = [getattr(r, f"error_{fname}") for r in sel]
            if np.all(np.isnan(err)):
                continue
            ax.plot(
                [100 * r.noise for r in sel], [100 * e for e in err], marker="o", label=f"{fname} ({t}, S={S}, m={m})"
            )
    ax.set_xlabel("noise (% of max u)")
    ax.set_ylabel("relative L2 error (%)")
    ax.set_yscale("log")
    ax.legend(fontsize=7)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(args: argparse.Namespace) -> int:
    """Run the sweep described by the parsed arguments and print the table."""
    rows = sweep(
        [t.strip() for t in args.unknown.split(",") if t.strip()],
        args.states,
        args.m,
        args.noise,
        n=args.n,
        hidden=(args.width,) * args.depth,
        adam_steps=args.adam_steps,
        lbfgs_steps=args.lbfgs_steps,
        seed=args.seed,
        progress=args.progress,
        smoothness_w=args.smoothness_w,
        workers=args.workers,
    )
    print(format_table(rows))
    if args.csv:
        with open(args.csv, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(asdict(rows[0]).keys()) if rows else ["target"])
            w.writeheader()
            for r in rows:
                w.writerow(asdict(r))
    if args.plot and rows:
        plot(rows, args.plot)
        print(f"figure: {args.plot}")
    return 0
