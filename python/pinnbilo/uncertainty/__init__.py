"""Uncertainty of recovered parameters and functions: priors, the noise model, the Laplace
(Gauss-Newton) posterior from a fitted BiLO or PINN, an exact grid posterior for reference,
ensembles of independently trained models, pointwise bands of unknown functions; samplers (HMC,
MALA, BiLO-HMC, a B-PINN baseline) with R-hat, effective sample sizes and plots.

Typical use::

    import pinnbilo as pb
    from pinnbilo.uncertainty import Gamma, laplace

    post = laplace(model, priors={"D": Gamma(2.0, 1.0)})
    post.mean, post.std, post.intervals95
"""

from __future__ import annotations

from . import diagnostics, plots
from .aligned import AlignedGridPosterior, aligned_grid_posterior
from .bilo_hmc import bilo_hmc
from .bpinn import bpinn_hmc, bpinn_log_posterior
from .chains import Chains
from .diagnostics import ess_bulk, ess_tail, rhat
from .ensemble import EnsembleResult, ensemble
from .function_bands import FunctionBand, function_band
from .hmc import hmc
from .laplace import laplace, laplace_solution
from .mala import mala
from .posterior import Posterior
from .priors import Flat, Gamma, LogNormal, Normal, Prior, Uniform
from .reference import GridPosterior, grid_posterior

__all__ = [
    "Prior",
    "Normal",
    "LogNormal",
    "Gamma",
    "Uniform",
    "Flat",
    "laplace",
    "laplace_solution",
    "Posterior",
    "grid_posterior",
    "GridPosterior",
    "aligned_grid_posterior",
    "AlignedGridPosterior",
    "ensemble",
    "function_band",
    "FunctionBand",
    "EnsembleResult",
    "hmc",
    "mala",
    "bilo_hmc",
    "bpinn_hmc",
    "bpinn_log_posterior",
    "Chains",
    "rhat",
    "ess_bulk",
    "ess_tail",
    "diagnostics",
    "plots",
]
