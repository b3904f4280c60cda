"""Coverage of the Laplace 95% intervals with real BiLO fits, and the wall times of the
uncertainty tools: the numbers of docs/uncertainty.md.

Coverage: u' = a u (a = 2) with 20 samples and 2% noise (synthetic_data's noise: 2% of max |u|),
data seed s and network seed s for s < --datasets. Each data set gets a BiLO fit and its Laplace
posterior with the noise level known and with it estimated, and the Laplace posterior of the exact
solution on the same data; the table counts how often each 95% interval contains a = 2.

Timings: the Poisson anchor (11 interior points, noise 0.2, Gamma(2, 1) prior on D): BiLO fit,
Laplace, grid reference; and an ensemble of 4 BiLO runs on 2 worker processes.

    python bench/uncertainty_coverage.py [--datasets 50] [--json FILE] [--doc docs/uncertainty.md]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import sys
import time
from typing import Any, Dict, List

import numpy as np
from scipy import stats  # type: ignore[import-untyped]  # no scipy stubs

import pinnbilo as pb
from pinnbilo.uncertainty import Gamma, ensemble, grid_posterior, laplace, laplace_solution

FIT: Dict[str, Any] = dict(steps=1000, pretrain_steps=300, lr=1e-2, lr_params=1e-2, schedule="cosine", keep="best")
POISSON_FIT: Dict[str, Any] = dict(
    steps=2000, pretrain_steps=500, lr=1e-2, lr_params=1e-2, schedule="cosine", keep="best"
)
BEGIN, END = "<!-- uncertainty-bench:begin -->", "<!-- uncertainty-bench:end -->"


def coverage(n: int) -> Dict[str, Any]:
    problem = pb.problems.exponential_growth(a_true=2.0, a_init=1.0)
    sd = 0.02 * math.exp(2.0)
    hits = {"bilo_known": 0, "bilo_estimated": 0, "exact_known": 0}
    ratio, fit_s, laplace_s = [], [], []
    for s in range(n):
        data = problem.synthetic_data(20, noise=0.02, seed=s)
        model = pb.BiLO(problem, data, hidden=(16, 16), seed=s)
        t0 = time.perf_counter()
        model.fit(**FIT)
        fit_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        known = laplace(model, sigma=sd)
        laplace_s.append(time.perf_counter() - t0)
        est = laplace(model)  # the data carry no sigma: estimated, Student-t intervals
        exact = laplace_solution(problem, data, sigma=sd)
        for key, post in (("bilo_known", known), ("bilo_estimated", est), ("exact_known", exact)):
            lo, hi = post.intervals95["a"]
            hits[key] += int(lo < 2.0 < hi)
        ratio.append(known.std["a"] / exact.std["a"])
        print(f"# data set {s}: a = {known.mean['a']:.5f} +- {known.std['a']:.5f}", file=sys.stderr, flush=True)
    out: Dict[str, Any] = {"datasets": n, "hits": hits}
    out["binomial_95"] = [int(stats.binom.ppf(0.025, n, 0.95)), int(stats.binom.ppf(0.975, n, 0.95))]
    out["std_ratio_median"] = float(np.median(ratio))
    out["std_ratio_range"] = [float(np.min(ratio)), float(np.max(ratio))]
    out["fit_s_median"] = float(np.median(fit_s))
    out["laplace_s_median"] = float(np.median(laplace_s))
    return out


def timings() -> Dict[str, Any]:
    problem = pb.pde_problems.poisson(D_true=1.0, D_init=2.0)
    x = np.linspace(0.0, 1.0, 13)[1:-1]
    rng = np.random.default_rng(0)
    data = pb.Data(x[:, None], np.sin(np.pi * x) + 0.2 * rng.standard_normal(x.size), sigma=0.2)
    prior = {"D": Gamma(2.0, 1.0)}
    model = pb.BiLO(problem, data, hidden=(16, 16), seed=0)
    t0 = time.perf_counter()
    model.fit(**POISSON_FIT)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    post = laplace(model, priors=prior)
    laplace_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = grid_posterior(problem, data, priors=prior, grid={"D": np.linspace(0.3, 3.0, 2701)})
    grid_s = time.perf_counter() - t0
    pinn = pb.PINN(problem, data, hidden=(16, 16), seed=0)
    pinn.fit(steps=3000, lr=1e-2, lr_params=1e-2, schedule="cosine", keep="best")
    t0 = time.perf_counter()
    post_pinn = laplace(pinn, priors=prior)
    pinn_laplace_s = time.perf_counter() - t0
    growth = pb.problems.exponential_growth(a_true=2.0, a_init=1.0)
    t0 = time.perf_counter()
    ens = ensemble(
        growth, growth.synthetic_data(20, noise=0.02, seed=0), seeds=range(4),
        model_kwargs={"hidden": (16, 16)}, fit_kwargs=FIT, workers=2,
    )  # fmt: skip
    ensemble_s = time.perf_counter() - t0
    return {
        "poisson": {
            "fit_s": fit_s, "laplace_s": laplace_s, "grid_s": grid_s, "pinn_laplace_s": pinn_laplace_s,
            "laplace": [post.mean["D"], post.std["D"]], "pinn_laplace": [post_pinn.mean["D"], post_pinn.std["D"]],
            "grid": [ref.mean["D"], ref.std["D"]], "map_steps": post.map_steps,
        },
        "ensemble4_s": ensemble_s,
        "ensemble4_median_a": ens.median["a"],
        "ensemble4_std_a": ens.std["a"],
    }  # fmt: skip


def table(res: Dict[str, Any], wall: float) -> str:
    c, t = res["coverage"], res["timings"]
    n, h = c["datasets"], c["hits"]
    lo, hi = c["binomial_95"]
    p = t["poisson"]
    lines: List[str] = [
        f"Measured by `python bench/uncertainty_coverage.py --datasets {n}` ({res['machine']}, {wall:.0f} s in all):",
        "",
        f"| 95% interval of a (u' = a u, 20 points, 2% noise) | contains a = 2 in {n} data sets |",
        "|---|---|",
        f"| BiLO fit + Laplace, sigma known | {h['bilo_known']}/{n} ({100 * h['bilo_known'] / n:.0f}%) |",
        f"| BiLO fit + Laplace, sigma estimated (Student-t) | {h['bilo_estimated']}/{n} "
        f"({100 * h['bilo_estimated'] / n:.0f}%) |",
        f"| exact solution + Laplace, sigma known | {h['exact_known']}/{n} ({100 * h['exact_known'] / n:.0f}%) |",
        "",
        f"A calibrated 95% interval lands in {lo}-{hi} of {n} with probability 95% (binomial). BiLO's "
        f"posterior std over the exact solution's: median {c['std_ratio_median']:.4f} (range "
        f"{c['std_ratio_range'][0]:.4f}-{c['std_ratio_range'][1]:.4f}); per data set a fit takes "
        f"{c['fit_s_median']:.2f} s and its Laplace posterior {1000 * c['laplace_s_median']:.0f} ms (medians).",
        "",
        "| Poisson anchor (11 points, noise 0.2, Gamma(2, 1) prior, data seed 0) | D | wall time |",
        "|---|---|---|",
        f"| BiLO fit ({POISSON_FIT['pretrain_steps']} + {POISSON_FIT['steps']} steps) | | {p['fit_s']:.2f} s |",
        f"| Laplace from the BiLO fit, MAP-refined ({p['map_steps']} steps) | {p['laplace'][0]:.4f} +- "
        f"{p['laplace'][1]:.4f} | {1000 * p['laplace_s']:.0f} ms |",
        f"| Laplace from a PINN fit (re-optimised differences) | {p['pinn_laplace'][0]:.4f} +- "
        f"{p['pinn_laplace'][1]:.4f} | {p['pinn_laplace_s']:.2f} s |",
        f"| grid reference, 2701 points (posterior mean +- std) | {p['grid'][0]:.4f} +- {p['grid'][1]:.4f} "
        f"| {1000 * p['grid_s']:.1f} ms |",
        f"| ensemble of 4 BiLO runs (u' = a u), 2 worker processes | a median {t['ensemble4_median_a']:.4f}, "
        f"std {t['ensemble4_std_a']:.2g} | {t['ensemble4_s']:.2f} s |",
    ]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", type=int, default=50)
    ap.add_argument("--json", help="write the numbers here")
    ap.add_argument("--doc", help="replace the measured block of this Markdown file (docs/uncertainty.md)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    res: Dict[str, Any] = {
        "machine": f"{os.cpu_count()}-core {platform.machine()}, Python {platform.python_version()}",
        "coverage": coverage(args.datasets),
        "timings": timings(),
    }
    wall = time.perf_counter() - t0
    res["wall_s"] = wall
    text = table(res, wall)
    print(text)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(res, fh, indent=1)
    if args.doc:
        with open(args.doc) as fh:
            doc = fh.read()
        if BEGIN not in doc or END not in doc:
            print(f"{args.doc} has no {BEGIN} ... {END} block", file=sys.stderr)
            return 1
        doc = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: f"{BEGIN}\n{text}\n{END}", doc, flags=re.S)
        with open(args.doc, "w") as fh:
            fh.write(doc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
