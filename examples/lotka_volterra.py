"""Lotka-Volterra prey x and predator y, x' = alpha x - beta x y, y' = gamma x y - delta y on
[0, 3]: recover the four rates (true 1, 0.5, 0.5, 1; guesses 0.7) from 30 noisy observations of
both species, with PINN and BiLO (the recipe of `python -m pinnbilo compare lotka_volterra`).

Run: python examples/lotka_volterra.py [--noise 0.01]
"""

import argparse

import pinnbilo as pb
from pinnbilo.compare import RECIPES

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--noise", type=float, default=0.01, help="noise std relative to each species' max")
args = parser.parse_args()

# The definition, as a user writes it (pb.problems.lotka_volterra() is the same plus a SciPy reference):
#   pb.Problem(("t",), {"t": (0, 3)}, [pb.Parameter("alpha", 0.7, (0, None)), ...],
#              {"prey": "x.t - (alpha*x - beta*x*y)", "predator": "y.t - (gamma*x*y - delta*y)"},
#              transform={"x": "1.0 + t*N", "y": "0.5 + t*N"}, fields=("x", "y"))
problem = pb.problems.lotka_volterra()
print(problem.describe())
data = problem.synthetic_observations(n=30, noise=args.noise, seed=0)  # one Data per species, sigma each
recipe = RECIPES["lotka_volterra"]
for cls in (pb.PINN, pb.BiLO):
    model = cls(problem, data, **recipe.model_options(cls.display_name))
    result = model.fit(progress=True, **recipe.fit_options(cls.display_name))
    errors = ", ".join(f"{k} {100 * v:.2f}%" for k, v in model.parameter_errors().items())
    print(f"{cls.display_name}: errors {errors}; {result.wall_time:.1f} s")
