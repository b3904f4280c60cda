"""Uncertainty of recovered parameters: priors, the noise model, the Laplace (Gauss-Newton)
posterior from a fitted BiLO or PINN, an exact grid posterior for reference, and ensembles of
independently trained models.

Typical use::

    import pinnbilo as pb
    from pinnbilo.uncertainty import Gamma, laplace

    post = laplace(model, priors={"D": Gamma(2.0, 1.0)})
    post.mean, post.std, post.intervals95
"""

from __future__ import annotations

from .ensemble import EnsembleResult, ensemble
from .laplace import laplace, laplace_solution
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
    "ensemble",
    "EnsembleResult",
]
