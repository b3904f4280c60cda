"""Hamiltonian Monte Carlo with Stan-style warm-up (step size by dual averaging, diagonal mass in
windows, integration time from the adapted scales), for any target given as a callable
``x -> (log density, gradient)``."""

from __future__ import annotations

import math
import os
from typing import List, Optional, Union

import numpy as np

from .chains import Chains
from .samplers import (
    MAX_ENERGY_ERROR,
    Hook,
    LogpAndGrad,
    Point,
    Record,
    Step,
    Target,
    check_settings,
    kinetic,
    leapfrog,
    sample,
)

__all__ = ["hmc", "HMCKernel"]


class HMCKernel:
    """One HMC transition: momentum p ~ N(0, M), ``n_steps`` leapfrog steps, Metropolis test on
    the energy error. A non-finite value on the way or an energy error above 1000 is a
    divergence: the move is rejected (acceptance probability 0)."""

    name = "hmc"
    uses_path_length = True

    def transition(
        self, target: Target, point: Point, rng: np.random.Generator, eps: float, inv_mass: np.ndarray, n_steps: int
    ) -> Step:
        p = rng.standard_normal(point.x.size) / np.sqrt(inv_mass)
        u = rng.random()
        h0 = -point.logp + kinetic(p, inv_mass)
        end, q = leapfrog(target, point, p, eps, inv_mass, n_steps)
        if end is None:
            return Step(point, 0.0, False, True)
        h1 = -end.logp + kinetic(q, inv_mass)
        error = h1 - h0
        if not math.isfinite(error) or error > MAX_ENERGY_ERROR:
            return Step(point, 0.0, False, True)
        accept_prob = 1.0 if error <= 0 else math.exp(-error)
        if u < accept_prob:
            return Step(end, accept_prob, True, False)
        return Step(point, accept_prob, False, False)


def hmc(
    logp_and_grad: LogpAndGrad,
    x0: object,
    n_samples: int,
    n_warmup: int = 1000,
    chains: Optional[int] = None,
    seed: int = 0,
    step_size: Optional[float] = None,
    target_accept: float = 0.8,
    path_length: Optional[float] = None,
    mass: Union[str, np.ndarray] = "diag",
    after_accept: Optional[Hook] = None,
    checkpoint: Optional[Union[str, "os.PathLike[str]"]] = None,
    checkpoint_every: int = 100,
    progress: bool = False,
    record: Optional[Record] = None,
    names: Optional[List[str]] = None,
    max_leapfrog: int = 1024,
) -> Chains:
    """Sample a density with Hamiltonian Monte Carlo (static integration time, jittered).

    Parameters
    ----------
    logp_and_grad : ``x -> (logp, grad)``: the log density (up to a constant) at x, shape
        (d,), and its gradient, shape (d,). A non-finite value (or FloatingPointError,
        OverflowError, ZeroDivisionError) inside a trajectory is a divergence: the move is
        rejected and counted, sampling goes on.
    x0 : (d,) start of every chain, or (chains, d) one start per chain (dispersed starts make
        R-hat meaningful). The density must be finite there.
    n_samples : draws per chain kept after warm-up.
    n_warmup : warm-up iterations per chain (discarded), in which the step size, the mass and
        the integration time adapt (see :mod:`pinnbilo.uncertainty.samplers`).
    chains : number of chains, run one after another in this thread (the target may hold a
        model that is not thread-safe); default 4, or the rows of x0.
    seed : chain k uses a generator spawned from ``SeedSequence(seed)``; equal seeds give
        bit-identical draws.
    step_size : a fixed leapfrog step (in units of the mass scales); default None: found by a
        heuristic and adapted by dual averaging towards ``target_accept``.
    target_accept : the mean acceptance probability the step size aims at, in (0, 1).
    path_length : a fixed integration time T; default None: (pi/2) sqrt(lambda) from the
        adapted scales (see :mod:`~pinnbilo.uncertainty.samplers`). Each trajectory takes
        round(u T / eps) steps, u uniform in [0.5, 1.5], at most ``max_leapfrog``.
    mass : 'diag' (the diagonal inverse mass, i.e. the variance of each coordinate, adapted in
        warm-up windows), 'unit', or an array (d,) of fixed variance scales.
    after_accept : ``x -> (logp, grad) or None``, called after every accepted move and at each
        chain's start (and at a resume): a hook that may change the target, e.g. BiLO-HMC,
        where the lower level is retrained at the accepted parameters so that the local
        operator, hence logp and grad at x, change. The returned values become the current
        state's. With such a hook the chain is an approximation (as BiLO-HMC is in the BiLO
        reference): the target moves under it. A hook that leaves logp unchanged (returns None
        or the same values) keeps the sampler exact.
    checkpoint : a .npz file: the run saves its whole state (draws, tuning, generator states)
        there every ``checkpoint_every`` iterations, at the end of each chain, and on Ctrl-C.
        When the file exists from a run with the same settings, sampling continues from it
        and the result is bit for bit that of an uninterrupted run; a file from other
        settings raises InputError. ``Chains.load(checkpoint)`` reads the chains so far.
    progress : show a tqdm bar.
    record : ``x -> (k,) array`` stored per draw instead of x (e.g. the few physical
        parameters of a large state); the tuning still reads x.
    names : names of the k recorded values (default x[0], x[1], ...).
    max_leapfrog : most leapfrog steps per trajectory.

    Returns
    -------
    :class:`~pinnbilo.uncertainty.Chains`, status 'completed'. Ctrl-C (KeyboardInterrupt)
    returns the chains finished so far (when none has finished, the draws of the first one)
    with status 'interrupted' instead of raising; with ``checkpoint`` the interrupted
    iteration is saved so that a rerun resumes exactly.

    Raises
    ------
    InputError : bad arguments (each named), a start where the density is not finite, or a
        ``logp_and_grad`` that returns anything but (number, array of shape (d,)).
    """
    s = check_settings(
        "hmc",
        logp_and_grad,
        x0,
        n_samples,
        n_warmup=n_warmup,
        chains=chains,
        seed=seed,
        step_size=step_size,
        target_accept=target_accept,
        path_length=path_length,
        mass=mass,
        after_accept=after_accept,
        checkpoint=checkpoint,
        checkpoint_every=checkpoint_every,
        progress=progress,
        record=record,
        names=names,
        max_leapfrog=max_leapfrog,
    )
    return sample(HMCKernel(), s)
