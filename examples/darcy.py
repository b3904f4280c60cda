"""Darcy flow -div(f grad u) = 1 on the unit square, u = 0 on the boundary: recover the
permeability f(x, y) = 1 + 0.5 sin(2 pi x) sin(2 pi y) from 100 observations of u.

Run: python examples/darcy.py [--noise 0.01] [--plot DIR]
"""

import argparse

import pinnbilo as pb

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--noise", type=float, default=0.0, help="noise std relative to max|u|")
parser.add_argument("--plot", metavar="DIR", help="save figures into DIR")
args = parser.parse_args()

problem = pb.problems.darcy()  # f = 0.1 + softplus(N(x, y)) > 0
data = problem.synthetic_data(n=100, noise=args.noise, seed=0)
# Collocation inside the square: at its corners u_xx = u_yy = 0, so no smooth u satisfies the equation.
options = dict(collocation=problem.grid(20, interior=True), hidden=(32, 32), w_data=100.0)

for model in (pb.PINN(problem, data, **options), pb.BiLO(problem, data, **options)):
    extra = {"pretrain_steps": 1000} if model.method == "bilo" else {}
    result = model.fit(steps=6000, lr=5e-3, lr_functions=5e-3, progress=True, **extra)
    print(
        f"{model.display_name}: relative L2 error of f {100 * model.function_errors()['f']:.2f}%, "
        f"{result.wall_time:.1f} s"
    )
    if args.plot:
        pb.plotting.save_figures(model, args.plot)
