"""Metropolis-adjusted Langevin (MALA), preconditioned by a diagonal mass adapted in warm-up, for
any target given as a callable ``x -> (log density, gradient)``."""

from __future__ import annotations

import math
import os
from typing import List, Optional, Union

import numpy as np

from .chains import Chains
from .samplers import MAX_ENERGY_ERROR, Hook, LogpAndGrad, Point, Record, Step, Target, check_settings, sample

__all__ = ["mala", "MALAKernel"]


class MALAKernel:
    """One MALA transition with inverse mass diagonal m: the proposal
    x' = x + (eps^2 / 2) m grad(x) + eps sqrt(m) xi, xi ~ N(0, I), accepted with probability
    min(1, p(x') q(x | x') / (p(x) q(x' | x))). (It is HMC with one leapfrog step.) A
    non-finite density or gradient at x', or a log ratio below -1000, is a divergence."""

    name = "mala"
    uses_path_length = False

    def transition(
        self, target: Target, point: Point, rng: np.random.Generator, eps: float, inv_mass: np.ndarray, n_steps: int
    ) -> Step:
        noise = rng.standard_normal(point.x.size)
        u = rng.random()
        drift = 0.5 * eps**2 * inv_mass
        end = target(point.x + drift * point.grad + eps * np.sqrt(inv_mass) * noise)
        if end is None:
            return Step(point, 0.0, False, True)

        def log_q(to: np.ndarray, frm: Point) -> float:
            r = to - frm.x - drift * frm.grad
            return -0.5 * float(np.dot(r / inv_mass, r)) / eps**2

        log_ratio = end.logp - point.logp + log_q(point.x, end) - log_q(end.x, point)
        if not math.isfinite(log_ratio) or log_ratio < -MAX_ENERGY_ERROR:
            return Step(point, 0.0, False, True)
        accept_prob = 1.0 if log_ratio >= 0 else math.exp(log_ratio)
        if u < accept_prob:
            return Step(end, accept_prob, True, False)
        return Step(point, accept_prob, False, False)


def mala(
    logp_and_grad: LogpAndGrad,
    x0: object,
    n_samples: int,
    n_warmup: int = 1000,
    chains: Optional[int] = None,
    seed: int = 0,
    step_size: Optional[float] = None,
    target_accept: float = 0.574,
    mass: Union[str, np.ndarray] = "diag",
    after_accept: Optional[Hook] = None,
    checkpoint: Optional[Union[str, "os.PathLike[str]"]] = None,
    checkpoint_every: int = 100,
    progress: bool = False,
    record: Optional[Record] = None,
    names: Optional[List[str]] = None,
) -> Chains:
    """Sample a density with the Metropolis-adjusted Langevin algorithm.

    The step size adapts in warm-up by dual averaging towards ``target_accept`` (default
    0.574, the optimal MALA acceptance of Roberts & Rosenthal 1998) and the diagonal mass in
    Stan's windows, as for :func:`~pinnbilo.uncertainty.hmc`, whose arguments these are
    (MALA has no path length). Each iteration costs one gradient; mixing is slower than HMC's
    in more than a few dimensions (steps shrink like d^(-1/3)).

    Returns :class:`~pinnbilo.uncertainty.Chains` (``n_leapfrog`` is 1); Ctrl-C, checkpoints,
    resume and the ``after_accept`` hook behave as in ``hmc``.
    """
    s = check_settings(
        "mala",
        logp_and_grad,
        x0,
        n_samples,
        n_warmup=n_warmup,
        chains=chains,
        seed=seed,
        step_size=step_size,
        target_accept=target_accept,
        path_length=None,
        mass=mass,
        after_accept=after_accept,
        checkpoint=checkpoint,
        checkpoint_every=checkpoint_every,
        progress=progress,
        record=record,
        names=names,
        max_leapfrog=1,
    )
    return sample(MALAKernel(), s)
