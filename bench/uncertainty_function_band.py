"""Pointwise bands of a recovered function against its true error: the numbers of
docs/uncertainty.md ("Bands of unknown functions").

The README's D(x) example, (D u_x)_x = -pi^2 sin(pi x) with D(0) = D(1) = 1 built in and true
D = 1 + 0.5 sin(2 pi x): 20 data points with 1% noise (sigma = 0.01 max|u|, known), data and
network seed s for s < --seeds, the README's BiLO fit. For each fit and each band variant
(the retrained or the local response; every weight or the output layer; the prior the fit's
w_reg implies, or none), on 99
interior points: the median band std, the median |error| of the fitted D, their ratio, the
fraction of points whose true D lies in the 95% band, and the band's wall time.

    python bench/uncertainty_function_band.py [--seeds 5] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from typing import Any, Dict, List, Optional

import numpy as np

import pinnbilo as pb
from pinnbilo.uncertainty import function_band

FIT: Dict[str, Any] = dict(steps=4000, pretrain_steps=800, lr=5e-3, schedule="cosine", keep="best")
NOISE = 0.01
# (response, layers, smoothness_scale): the default first
VARIANTS = [
    ("retrained", "all", "fit"),
    ("retrained", "all", None),
    ("retrained", "last", "fit"),
    ("local", "all", "fit"),
    ("local", "all", None),
]


def true_d(z: np.ndarray) -> np.ndarray:
    """The true D at points (n, 1): 1 + 0.5 sin(2 pi x)."""
    return 1 + 0.5 * np.sin(2 * np.pi * z[:, 0])


def problem() -> pb.Problem:
    """The README's D(x) example, (D u_x)_x = -pi^2 sin(pi x) with D(0) = D(1) = 1 built in."""
    return pb.problems.variable_poisson()


def run(seeds: int) -> List[Dict[str, Any]]:
    rows: List[Dict[str, Any]] = []
    x = np.linspace(0.0, 1.0, 101)[1:-1]
    truth = true_d(x[:, None])
    for s in range(seeds):
        prob = problem()
        data = prob.synthetic_data(20, noise=NOISE, seed=s)
        sigma = NOISE * float(np.max(np.abs(prob.synthetic_data(20, seed=s).values)))  # as synthetic_data's
        model = pb.BiLO(prob, data, n_res=51, w_reg=1e-3, w_data=100.0, seed=s)
        t0 = time.perf_counter()
        model.fit(**FIT)
        fit_s = time.perf_counter() - t0
        err = np.abs(np.asarray(model.function("D", x)) - truth)
        for response, layers, tau in VARIANTS:
            t0 = time.perf_counter()
            try:
                band = function_band(model, "D", x, sigma=sigma, smoothness_scale=tau, layers=layers, response=response)
            except pb.InputError as e:  # without a prior the data may leave a direction of D free
                rows.append(dict(seed=s, response=response, layers=layers, tau=tau, fit_s=fit_s, singular=str(e)))
                print(f"seed {s} {response:9s} layers={layers:4s} tau={tau!s:4s}: singular ({e})", flush=True)
                continue
            band_s = time.perf_counter() - t0
            rows.append(
                dict(
                    seed=s, response=response, layers=layers, tau=tau, fit_s=fit_s, band_s=band_s,
                    median_std=float(np.median(band.std)), median_err=float(np.median(err)),
                    ratio=float(np.median(band.std) / np.median(err)),
                    inside=float(np.mean(band.contains(truth))), rel_l2=model.function_errors()["D"],
                )
            )  # fmt: skip
            r = rows[-1]
            print(
                f"seed {s} {response:9s} layers={layers:4s} tau={tau!s:4s}: std {r['median_std']:.4f}"
                f"  |err| {r['median_err']:.4f}"
                f"  ratio {r['ratio']:.2f}  inside 95% band {100 * r['inside']:.0f}%  ({band_s:.2f} s)",
                flush=True,
            )
    return rows


def summary(rows: List[Dict[str, Any]]) -> None:
    print("\nvariant                      median std/|err| (range)  inside the 95% band: median (range)  band s")
    for response, layers, tau in VARIANTS:
        every = [r for r in rows if (r["response"], r["layers"], r["tau"]) == (response, layers, tau)]
        sel = [r for r in every if "singular" not in r]
        if not sel:
            print(f"{response:9s} {layers:4s} tau={tau!s:4s}   singular on every seed")
            continue
        ratio = np.array([r["ratio"] for r in sel])
        inside = 100 * np.array([r["inside"] for r in sel])
        print(
            f"{response:9s} {layers:4s} tau={tau!s:4s}   {np.median(ratio):.2f} ({ratio.min():.2f}-{ratio.max():.2f})"
            f"              {np.median(inside):.0f}% ({inside.min():.0f}-{inside.max():.0f}%)"
            f"                    {np.median([r['band_s'] for r in sel]):.2f}"
            + (f"   (singular on {len(every) - len(sel)} of {len(every)} seeds)" if len(sel) < len(every) else "")
        )


def main(argv: Optional[List[str]] = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--json", default=None, help="write the rows here")
    args = ap.parse_args(argv)
    rows = run(args.seeds)
    summary(rows)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(dict(machine=platform.processor() or platform.machine(), rows=rows), fh, indent=1)


if __name__ == "__main__":
    main()
