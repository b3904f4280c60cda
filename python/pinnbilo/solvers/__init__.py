"""Reference solvers for the built-in PDE problems: synthetic data and error measurement.

Classical second-order finite-difference / finite-volume solvers (numpy + scipy). Each returns a
:class:`GridSolution`, which holds the grid values and interpolates them with cubic splines::

    from pinnbilo.solvers import solve_poisson_1d
    sol = solve_poisson_1d(2.0, lambda x: -np.pi**2 * np.sin(np.pi * x))
    sol(np.array([0.25, 0.5]))  # ~ sin(pi x) / 2
"""

from .darcy import solve_darcy_2d
from .grid import GridSolution
from .poisson import solve_poisson_1d
from .reaction_diffusion import solve_reaction_diffusion_1d

__all__ = ["GridSolution", "solve_darcy_2d", "solve_poisson_1d", "solve_reaction_diffusion_1d"]
