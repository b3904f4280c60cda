"""Variable-coefficient Poisson (D(x) u_x)_x = -pi^2 sin(pi x): recover the function
D(x) = 1 + 0.5 sin(2 pi x) from 20 observations of u, with PINN and BiLO.

Run: python examples/variable_poisson.py [--noise 0.01] [--plot DIR]
"""

import argparse

import pinnbilo as pb

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--noise", type=float, default=0.0, help="noise std relative to max|u|")
parser.add_argument("--plot", metavar="DIR", help="save figures into DIR")
args = parser.parse_args()

problem = pb.problems.variable_poisson()  # D = 1 + x (1 - x) N(x): D(0) = D(1) = 1
data = problem.synthetic_data(n=20, noise=args.noise, seed=0)
options = dict(n_res=51, w_reg=1e-3, w_data=100.0)  # w_reg: smoothness of D where u_x ~ 0

for model in (pb.PINN(problem, data, **options), pb.BiLO(problem, data, **options)):
    extra = {"pretrain_steps": 1200} if model.method == "bilo" else {}
    result = model.fit(steps=6000, lr=5e-3, progress=True, **extra)
    print(
        f"{model.display_name}: relative L2 error of D {100 * model.function_errors()['D']:.2f}%, "
        f"{result.wall_time:.1f} s"
    )
    if args.plot:
        pb.plotting.save_figures(model, args.plot)
