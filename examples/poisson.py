"""Poisson equation D u_xx = -pi^2 sin(pi x) on [0, 1], u(0) = u(1) = 0: recover D (true 2).

Run: python examples/poisson.py [--noise 0.01] [--plot DIR]
"""

import argparse

import numpy as np

import pinnbilo as pb

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--noise", type=float, default=0.0)
parser.add_argument("--plot", metavar="DIR")
args = parser.parse_args()

# The equation, written out (this is what pb.problems.poisson() builds).
problem = pb.Problem(
    coords=("x",),
    domain={"x": (0.0, 1.0)},
    params=[pb.Parameter("D", init=1.0, bounds=(0.0, None), true=2.0)],
    residual="D*u.xx + pi**2*sin(pi*x)",
    transform="x*(1 - x)*N",  # u(0) = u(1) = 0 exactly
    solution=lambda p, params: np.sin(np.pi * p[:, 0]) / params["D"],
)
data = problem.synthetic_data(n=20, noise=args.noise, seed=0)

for model, extra in (
    (pb.PINN(problem, data, n_res=51), {}),
    (pb.BiLO(problem, data, n_res=51), {"pretrain_steps": 600}),
):
    result = model.fit(steps=3000, lr_params=1e-2, **extra)
    print(
        f"{model.display_name}: D = {result.params['D']:.5f} (error {100 * model.parameter_errors()['D']:.3f}%), "
        f"{result.wall_time:.2f} s"
    )
    if args.plot:
        pb.plotting.save_figures(model, args.plot)
