"""SIR epidemic with only the infected observed: S' = -beta S I, I' = beta S I - gamma I,
R' = gamma I on [0, 8]; recover beta (true 3) and gamma (true 1) from 30 observations of I and
one integral datum, the total population integrated over time (S + I + R = 1 at every t).

Run: python examples/sir.py [--noise 0.01]
"""

import argparse

import pinnbilo as pb
from pinnbilo.compare import RECIPES

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--noise", type=float, default=0.0, help="noise std relative to max I")
args = parser.parse_args()

problem = pb.problems.sir()
infected = problem.synthetic_observations(n=30, noise=args.noise, seed=0, fields=["I"])
# Gauss-Legendre over [0, 8]; with noisy I (which then carries its sigma) the total gets one too.
total = problem.integral_data("S + I + R", value=8.0, sigma=0.08 if args.noise > 0 else None)
recipe = RECIPES["sir"]
model = pb.PINN(problem, [*infected, total], **recipe.model_options("PINN"))
result = model.fit(progress=True, **recipe.fit_options("PINN"))
errors = ", ".join(f"{k} {100 * v:.2f}%" for k, v in model.parameter_errors().items())
print(f"PINN: {result.params} (errors {errors}), {result.wall_time:.1f} s")
