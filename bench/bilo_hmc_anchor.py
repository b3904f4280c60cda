"""BiLO-HMC on the Poisson anchor against the exact grid posterior (docs/uncertainty.md).

D u'' = -pi^2 sin(pi x), D = 1, 11 interior points, noise std 0.2, Gamma(2, 1) prior on D; a BiLO
fit from D = 2, then 2 chains x (300 warm-up + 500 draws). Prints one row per data seed and
engine ('core': the density and the leapfrog trajectories in the C++ core; 'python': every
gradient from the model's predictions in Python), the engines alternated per seed.

    python bench/bilo_hmc_anchor.py [--seeds 0 1 2] [--engines core python]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import pinnbilo as pb
from pinnbilo.uncertainty import Gamma, bilo_hmc, grid_posterior, laplace


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--engines", nargs="+", default=["core"], choices=["core", "python"])
    args = ap.parse_args()
    x = np.linspace(0, 1, 13)[1:-1]
    problem = pb.pde_problems.poisson(D_true=1.0, D_init=2.0)
    prior = {"D": Gamma(2.0, 1.0)}
    print("| data seed | grid D (mean +- std) | Laplace | engine | BiLO-HMC | R-hat | bulk ESS | HMC wall s |")
    print("|---|---|---|---|---|---|---|---|")
    for s in args.seeds:
        rng = np.random.default_rng(s)
        data = pb.Data(x[:, None], np.sin(np.pi * x) + 0.2 * rng.standard_normal(x.size), sigma=0.2)
        model = pb.BiLO(problem, data, hidden=(16, 16), seed=0)
        model.fit(steps=2000, pretrain_steps=500, lr=1e-2, lr_params=1e-2, schedule="cosine", keep="best")
        grid = grid_posterior(problem, data, prior, 0.2, {"D": np.linspace(0.3, 3.0, 2701)})
        lap = laplace(model, prior)
        for engine in args.engines:
            t = time.perf_counter()
            ch = bilo_hmc(model, 500, prior, n_warmup=300, chains=2, seed=0, engine=engine)
            wall = time.perf_counter() - t
            print(
                f"| {s} | {grid.mean['D']:.4f} +- {grid.std['D']:.4f} | {lap.mean['D']:.4f} +- {lap.std['D']:.4f} "
                f"| {engine} | {ch.mean()[0]:.4f} +- {ch.std()[0]:.4f} | {ch.rhat()[0]:.3f} | {ch.ess()[0]:.0f} "
                f"| {wall:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
