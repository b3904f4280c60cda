"""The Lorenz system as in DeepXDE's Lorenz_inverse demo: t in [0, 3] from (-8, 7, 27), sigma,
rho, beta = 10, 15, 8/3 recovered from 1, 1, 1 with a network of three hidden layers of 40 and
400 collocation points, from 30 noiseless observations of x, y, z (PINN: 30,000 Adam steps, then
L-BFGS).

Run: python examples/lorenz.py
"""

import pinnbilo as pb
from pinnbilo.compare import RECIPES

problem = pb.problems.lorenz()
data = problem.synthetic_observations(n=30, seed=0)
recipe = RECIPES["lorenz"]
model = pb.PINN(problem, data, **recipe.model_options("PINN"))
result = model.fit(progress=True, **recipe.fit_options("PINN"))
errors = ", ".join(f"{k} {100 * v:.3f}%" for k, v in model.parameter_errors().items())
print(f"PINN: {result.params} (errors {errors}), {result.wall_time:.1f} s")
