"""Unknown functions inside a PDE learned from observed steady states by a fixed-point residual.

Typical use::

    import numpy as np
    from pinnbilo import steady

    grid = steady.PeriodicGrid(128, length=1.0)
    V_true = lambda x: np.cos(4 * np.pi * x) + 0.5 * np.cos(2 * np.pi * x)
    states = steady.aggregation_diffusion_states(grid, V=V_true, kappa=0.0, sigma=[0.5, 1.0])
    model = steady.AggregationDiffusion(grid, kappa=0.0, V=steady.Unknown())
    fit = model.fit(states)
    print(steady.relative_error(fit.functions["V"], V_true(grid.x)))
"""

from __future__ import annotations

from .branch import Branch, branch
from .data import (
    DirichletStates,
    PeriodicStates,
    denoise_periodic,
    observe_dirichlet,
    observe_periodic,
    sample_indices,
)
from .diagnostics import (
    Identifiability,
    ModeSupport,
    direct_potential,
    fixed_point_jacobian,
    identifiability,
    mode_support,
)
from .distill import Distilled, Term, constant, distill, fourier, gaussians, polynomials
from .generate import (
    SolverFailed,
    aggregation_diffusion_states,
    aggregation_map,
    evolve,
    is_stable,
    semilinear_map,
    semilinear_state,
    semilinear_states,
    steady_state,
)
from .grids import IntervalGrid, PeriodicGrid
from .models import AggregationDiffusion, Semilinear, Unknown, relative_error
from .series import Chebyshev, dirichlet_noise_level
from .species import TwoSpecies, TwoSpeciesStates, two_species_states
from .spectral import Spectral, noise_level
from .store import load, save
from .torus import (
    RadialSpectral,
    TorusAggregationDiffusion,
    TorusGrid,
    TorusSpectral,
    TorusStates,
    radial_error,
    torus_states,
    torus_steady_state,
)
from .train import SteadyFit

__all__ = [
    "PeriodicGrid",
    "IntervalGrid",
    "PeriodicStates",
    "DirichletStates",
    "observe_periodic",
    "denoise_periodic",
    "observe_dirichlet",
    "sample_indices",
    "aggregation_map",
    "steady_state",
    "aggregation_diffusion_states",
    "evolve",
    "is_stable",
    "semilinear_map",
    "semilinear_state",
    "semilinear_states",
    "SolverFailed",
    "Unknown",
    "Branch",
    "branch",
    "Spectral",
    "TwoSpecies",
    "TwoSpeciesStates",
    "two_species_states",
    "TorusGrid",
    "TorusStates",
    "RadialSpectral",
    "TorusSpectral",
    "TorusAggregationDiffusion",
    "torus_states",
    "torus_steady_state",
    "radial_error",
    "save",
    "load",
    "Chebyshev",
    "dirichlet_noise_level",
    "noise_level",
    "AggregationDiffusion",
    "Semilinear",
    "SteadyFit",
    "relative_error",
    "Identifiability",
    "identifiability",
    "ModeSupport",
    "mode_support",
    "fixed_point_jacobian",
    "direct_potential",
    "Term",
    "Distilled",
    "distill",
    "constant",
    "polynomials",
    "fourier",
    "gaussians",
]
