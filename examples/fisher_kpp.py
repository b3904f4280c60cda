"""Fisher-KPP u_t = D u_xx + rho u (1 - u) on [0, 1]^2: recover D (true 0.1) and rho (true 2)
from 100 observations of u, with PINN and BiLO.

Run: python examples/fisher_kpp.py [--noise 0.01] [--plot DIR]
"""

import argparse

import pinnbilo as pb

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--noise", type=float, default=0.0, help="noise std relative to max|u|")
parser.add_argument("--plot", metavar="DIR", help="save figures into DIR")
args = parser.parse_args()

problem = pb.problems.fisher_kpp()  # u(x, 0) = 0.5 sin^2(pi x), u = 0 at x = 0, 1; guesses D = 0.2, rho = 1
data = problem.synthetic_data(n=100, noise=args.noise, seed=0)
options = dict(n_res=21, hidden=(32, 32), w_data=100.0)

for model in (pb.PINN(problem, data, **options), pb.BiLO(problem, data, w_rgrad=0.01, **options)):
    extra = {"pretrain_steps": 1600} if model.method == "bilo" else {}
    result = model.fit(steps=8000, lr=5e-3, lr_params=1e-2, progress=True, **extra)
    errors = ", ".join(f"{k} {100 * v:.2f}%" for k, v in model.parameter_errors().items())
    print(f"{model.display_name}: {result.params} (errors: {errors}), {result.wall_time:.1f} s")
    if args.plot:
        pb.plotting.save_figures(model, args.plot)
