"""Fisher-KPP (D, rho) with 1% noise: Laplace and BiLO-HMC against the grid posterior.

u_t = D u_xx + rho u (1 - u), D = 0.1, rho = 2; 60 random points in [0,1]^2, noise std 1% of
max|u|; flat priors on the bounds. Prints the posteriors (mean +- std of D and rho, and their
correlation) and the wall times: Laplace, the exact posterior on a grid along Laplace's principal
axes (aligned_grid_posterior), optionally on an axis-aligned grid (--axis-grid), and BiLO-HMC.

    python bench/uncertainty_fisher_kpp.py [--aligned 41 21] [--width 6] [--axis-grid 25]
        [--axis-width 5] [--draws 200] [--seed 0] [--engines core python]

The docs' table: the defaults; then --aligned 41 41 --width 8 --axis-grid 41 --axis-width 6.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import pinnbilo as pb
from pinnbilo.uncertainty import aligned_grid_posterior, bilo_hmc, grid_posterior, laplace


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--aligned", type=int, nargs=2, default=[41, 21], help="aligned grid: points on the long, short axis"
    )
    ap.add_argument("--width", type=float, default=6.0, help="aligned grid: +- this many sd per axis")
    ap.add_argument("--axis-width", type=float, default=5.0, help="axis grid: +- this many Laplace sd")
    ap.add_argument("--axis-grid", type=int, default=0, help="also an axis-aligned grid of this many points per axis")
    ap.add_argument("--draws", type=int, default=200, help="HMC draws per chain")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--engines", nargs="+", default=["core"], choices=["core", "python"], help="BiLO-HMC engines, one after another"
    )
    args = ap.parse_args()
    problem = pb.pde_problems.fisher_kpp()
    data = problem.synthetic_data(n=60, noise=0.01, seed=args.seed)
    sigma = (
        float(data.sigma)
        if data.sigma is not None and np.ndim(data.sigma) == 0
        else 0.01 * float(np.max(np.abs(data.values)))
    )
    data = pb.Data(data.points, data.values, sigma=sigma)
    t = time.perf_counter()
    model = pb.BiLO(problem, data, n_res=21, hidden=(32, 32), w_data=100.0, seed=args.seed)
    model.fit(steps=8000, pretrain_steps=1600, lr=5e-3, lr_params=1e-2, schedule="cosine", keep="best")
    t_fit = time.perf_counter() - t
    print(f"fit {t_fit:.1f} s: {model.params}", flush=True)
    t = time.perf_counter()
    lap = laplace(model)
    t_lap = time.perf_counter() - t
    print(f"Laplace {t_lap:.1f} s: mean {lap.mean} std {lap.std} corr {lap.corr[0, 1]:.4f}", flush=True)
    t = time.perf_counter()
    ali = aligned_grid_posterior(problem, data, lap, sigma=sigma, n=tuple(args.aligned), width=args.width)
    t_ali = time.perf_counter() - t
    print(
        f"aligned grid {t_ali:.1f} s ({args.aligned[0]}x{args.aligned[1]} reference solves): mean {ali.mean} "
        f"std {ali.std} corr {ali.corr[0, 1]:.4f} notes {ali.notes}",
        flush=True,
    )
    if args.axis_grid:  # +- axis_width Laplace standard deviations around the Laplace mean
        w = args.axis_width
        axes = {
            k: np.linspace(lap.mean[k] - w * lap.std[k], lap.mean[k] + w * lap.std[k], args.axis_grid)
            for k in ("D", "rho")
        }
        t = time.perf_counter()
        grid = grid_posterior(problem, data, None, sigma, axes)
        print(f"axis grid {time.perf_counter() - t:.1f} s ({args.axis_grid}^2 solves): mean {grid.mean} std {grid.std}")
    for engine in args.engines:
        t = time.perf_counter()
        ch = bilo_hmc(model, args.draws, n_warmup=150, chains=2, seed=0, lower_steps=50, engine=engine)
        t_hmc = time.perf_counter() - t
        m, s = ch.mean(), ch.std()
        print(
            f"BiLO-HMC ({engine}) {t_hmc:.1f} s: D {m[0]:.5f} +- {s[0]:.5f}, rho {m[1]:.4f} +- {s[1]:.4f}, "
            f"R-hat {ch.rhat()}",
            flush=True,
        )


if __name__ == "__main__":
    main()
