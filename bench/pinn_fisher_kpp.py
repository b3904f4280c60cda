"""Why PINN misses D and rho on Fisher-KPP with collocation points on the boundary.

Two checks, printed as a table (docs/pinn-fisher-kpp.md quotes them):
1. the residual at the corners (x = 0, 1; t = 0) is D pi^2 for every network: the hard
   constraint fixes u = 0 along x = 0, 1 and u = 0.5 sin^2(pi x) at t = 0, so u_t = 0 and
   u_xx = pi^2 there;
2. PINN trained with D, rho frozen at their true values, then released: on the boundary grid
   the parameters run away (the objective's minimum is not at the truth); on the interior grid
   they stay near it;
3. with --variants: the PINN variants of the document's last table, on seeds 0, 1, 2.

    python bench/pinn_fisher_kpp.py [--steps 8000] [--variants]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

import pinnbilo as pb
from pinnbilo import compare, problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=8000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--variants", action="store_true", help="also run the PINN variants over seeds 0-2")
    args = ap.parse_args()
    recipe = compare.RECIPES["fisher_kpp"]
    prob = problems.get("fisher_kpp", D_init=0.1, rho_init=2.0)  # start at the truth
    data = recipe.data(prob, 0.0, args.seed)
    corners = np.array([[0.0, 0.0], [1.0, 0.0]])
    print("grid      | corner residual / (D pi^2) | L_res at truth | L_res, L_data released | D, rho released")
    for label, collocation in (("boundary", prob.grid(21)), ("interior", prob.grid(21, interior=True))):
        model = {k: v for k, v in recipe.model.items() if k != "n_res"}
        m = pb.PINN(prob, data, seed=args.seed, collocation=collocation, **model)  # type: ignore[arg-type]
        m.fit(steps=args.steps, lr=5e-3, lr_params=1e-30)  # parameters frozen at the truth
        corner = np.abs(m.residual(corners)) / (m.params["D"] * np.pi**2)
        at_truth = m.losses()["res"]
        m.fit(steps=args.steps, lr=5e-3, lr_params=1e-2)  # released
        lo = m.losses()
        p = m.params
        print(
            f"{label:<9} | {corner[0]:.6f}, {corner[1]:.6f}         | {at_truth:.2e}       | "
            f"{lo['res']:.2e}, {lo['data']:.2e}       | {p['D']:.4f}, {p['rho']:.3f}"
        )
    if args.variants:
        variants = {
            "closed grid, 8000 Adam steps": (False, {}),
            "interior grid, 20,000 Adam steps": (True, {"steps": 20000}),
            "interior grid, 8000 Adam + 5000 L-BFGS": (True, {"lbfgs_steps": 5000}),
        }
        base = problems.get("fisher_kpp")
        model = {k: v for k, v in recipe.model.items() if k != "n_res"}
        print("variant | seed | D error | rho error")
        for label, (interior, fit) in variants.items():
            for seed in (0, 1, 2):
                m = pb.PINN(base, recipe.data(base, 0.0, seed), seed=seed, collocation=base.grid(21, interior=interior),
                            **model)  # type: ignore[arg-type]  # fmt: skip
                m.fit(**{**recipe.fit, **fit})  # type: ignore[arg-type]
                e = m.parameter_errors()
                print(f"{label} | {seed} | {100 * e['D']:.2f}% | {100 * e['rho']:.2f}%", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
