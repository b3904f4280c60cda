"""Fisher-KPP (D, rho) with 1% noise: Laplace and BiLO-HMC against the grid posterior.

u_t = D u_xx + rho u (1 - u), D = 0.1, rho = 2; 60 random points in [0,1]^2, noise std 1% of
max|u|; flat priors on the bounds. Prints the three posteriors (mean +- std of D and rho, and
their correlation) and the wall times.

    python bench/uncertainty_fisher_kpp.py [--grid 25] [--draws 200]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import pinnbilo as pb
from pinnbilo.uncertainty import bilo_hmc, grid_posterior, laplace


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", type=int, default=25, help="grid points per parameter")
    ap.add_argument("--draws", type=int, default=200, help="HMC draws per chain")
    ap.add_argument("--seed", type=int, default=0)
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
    print(f"fit {t_fit:.1f} s: {model.params}")
    t = time.perf_counter()
    lap = laplace(model)
    t_lap = time.perf_counter() - t
    print(f"Laplace {t_lap:.1f} s: mean {lap.mean} std {lap.std} corr {lap.corr[0, 1]:.3f}")
    # the grid: +-5 Laplace standard deviations around the Laplace mean
    axes = {k: np.linspace(lap.mean[k] - 5 * lap.std[k], lap.mean[k] + 5 * lap.std[k], args.grid) for k in ("D", "rho")}
    t = time.perf_counter()
    grid = grid_posterior(problem, data, None, sigma, axes)
    t_grid = time.perf_counter() - t
    print(f"grid {t_grid:.1f} s ({args.grid}^2 reference solves): mean {grid.mean} std {grid.std}")
    t = time.perf_counter()
    ch = bilo_hmc(model, args.draws, n_warmup=150, chains=2, seed=0, lower_steps=50)
    t_hmc = time.perf_counter() - t
    m, s = ch.mean(), ch.std()
    print(f"BiLO-HMC {t_hmc:.1f} s: D {m[0]:.5f} +- {s[0]:.5f}, rho {m[1]:.4f} +- {s[1]:.4f}, R-hat {ch.rhat()}")


if __name__ == "__main__":
    main()
