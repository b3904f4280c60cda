"""Boundary conditions as loss terms with unknown parameters: -u'' = 4 sin(2x) on [0, 1], u(0) = 0
(hard), and the Robin condition u'(1) + k u(1) = g with k unknown (true 2); then a Neumann flux
u'(1) = q (true -0.5) recovered from interior data. Both from 20 interior observations of u.

Run: python examples/robin.py
"""

import pinnbilo as pb

# As a user writes the first one:
#   pb.Problem(("x",), {"x": (0, 1)}, [pb.Parameter("k", 0.5, (0, None))], "u.xx + 4*sin(2*x)",
#              transform="x*N", conditions=[pb.robin("x=1", "k", "1", g)])
for problem in (pb.problems.robin_poisson(), pb.problems.neumann_flux()):
    print(problem.describe())
    data = problem.synthetic_data(n=20, seed=0)
    for cls in (pb.PINN, pb.BiLO):
        model = cls(problem, data)
        extra = {"pretrain_steps": 1000} if cls is pb.BiLO else {}
        result = model.fit(5000, lr=3e-3, lr_params=1e-2, schedule="cosine", keep="best", **extra)
        errors = ", ".join(f"{k} {100 * v:.3f}%" for k, v in model.parameter_errors().items())
        print(f"  {cls.display_name}: {result.params} (errors {errors}), {result.wall_time:.1f} s")
