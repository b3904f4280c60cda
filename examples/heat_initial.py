"""Heat equation u_t = 0.02 u_xx with an unknown initial condition u0(x), observed only at the
final time t = 1: recover u0 = sin(pi x) + 0.5 sin(3 pi x), with PINN and BiLO.

Run: python examples/heat_initial.py [--noise 0.01] [--plot DIR]
"""

import argparse

import pinnbilo as pb

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--noise", type=float, default=0.0, help="noise std relative to max|u|")
parser.add_argument("--plot", metavar="DIR", help="save figures into DIR")
args = parser.parse_args()

problem = pb.problems.heat_initial()  # u = u0(x) + t x (1 - x) N, u0 = x (1 - x) N0(x)
data = pb.problems.final_time_data(problem, n=30, noise=args.noise, seed=0)
options = dict(n_res=21, hidden=(32, 32), w_reg=1e-3, w_data=100.0)

for model in (pb.PINN(problem, data, **options), pb.BiLO(problem, data, **options)):
    extra = {"pretrain_steps": 2000} if model.method == "bilo" else {}
    result = model.fit(steps=8000, lr=2e-3, progress=True, **extra)
    print(
        f"{model.display_name}: relative L2 error of u0 {100 * model.function_errors()['u0']:.2f}%, "
        f"{result.wall_time:.1f} s"
    )
    if args.plot:
        pb.plotting.save_figures(model, args.plot)
