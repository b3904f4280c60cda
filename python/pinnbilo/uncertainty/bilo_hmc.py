"""BiLO-HMC: Hamiltonian Monte Carlo (or MALA) over a fitted BiLO model's scalar parameters,
with the network as the forward model.

BiLO's network u(z, theta; W) is a local solution operator around the current theta: within a
trajectory the data prediction and its gradient in theta come from the network with the weights
held (one forward jet per leapfrog step, no PDE solve); after each accepted move the lower level
is retrained at the new theta, so the operator is centred where the chain is. This is the BiLO
reference's BiLO-HMC: an approximation whose bias is set by how well the lower level is trained
(``lower_steps``), checked against the grid posterior in the tests and docs/uncertainty.md.
"""

from __future__ import annotations

import math
import os
from typing import Any, Callable, Mapping, Optional, Tuple, Union

import numpy as np

from .._validation import _show, choice, integer, real
from .._validation import seed as check_seed
from .._warnings import warn_user
from ..errors import InputError
from . import noise as noise_mod
from . import priors as priors_mod
from .chains import Chains
from .forwards import BiLOForward, current


def native_prior(prior: priors_mod.Prior) -> Optional[Tuple[int, float, float, float, float]]:
    """The core's (kind, a, b, low, high) of a prior, or None for a prior the core does not know
    (a user's subclass: the Python path then evaluates it)."""
    form = prior.core_form()
    if form is None:
        return None
    kind, a, b = form
    return int(kind), float(a), float(b), float(prior.support[0]), float(prior.support[1])


class BiLOTarget:
    """The log posterior ``log p(d | theta) + log p(theta)`` of a BiLO model's parameters (p,),
    Gaussian noise with a known standard deviation per data row; ``logp_and_grad`` holds the
    weights, ``retrain`` moves the lower level to theta first (the sampler's after-accept hook).

    With ``engine="core"`` (and priors the core knows) the density, its gradient and whole
    leapfrog trajectories run in the core (``native_leapfrog``); ``"python"`` evaluates them
    from the model's predictions in Python, as a reference."""

    def __init__(self, forward: BiLOForward, prior_list: list, sigma: np.ndarray, engine: str = "core") -> None:
        self.forward = forward
        self.priors = prior_list
        self.values = np.concatenate([np.asarray(d.values, dtype=np.float64) for d in forward.observations])
        self.inv_var = 1.0 / sigma**2
        self.evaluations = 0
        self.native: Any = None
        maybe = [native_prior(pr) for pr in prior_list]
        defs = [d for d in maybe if d is not None]
        if engine == "core" and len(defs) == len(maybe):
            from .. import _core

            trainer = forward.model._trainer
            cls = _core.ParameterPosterior32 if type(trainer).__name__.endswith("32") else _core.ParameterPosterior64
            self.native = cls(trainer, np.asarray(sigma, dtype=np.float64), defs)
        self.engine = "core" if self.native is not None else "python"
        # samplers.leapfrog runs the trajectories in the core when this is set
        self.native_leapfrog: Optional[Callable[..., tuple]] = self._core_leapfrog if self.native is not None else None

    def _density(self, theta: np.ndarray, pred: np.ndarray, jac: np.ndarray) -> Tuple[float, np.ndarray]:
        r = pred - self.values
        logp = -0.5 * float(np.sum(r * r * self.inv_var))
        grad = -(jac.T @ (r * self.inv_var))
        for j, (pr, t) in enumerate(zip(self.priors, theta)):
            logp += float(pr.logpdf(float(t)))
            grad[j] += float(pr.grad(float(t)))
        return logp, grad

    def _outside(self, theta: np.ndarray) -> bool:
        return any(not pr.contains(float(t)) for pr, t in zip(self.priors, theta))

    def logp_and_grad(self, theta: np.ndarray) -> Tuple[float, np.ndarray]:
        self.evaluations += 1
        if self._outside(theta):  # a divergence for the sampler: the move is rejected
            return -math.inf, np.zeros_like(theta)
        if self.native is not None:
            logp, grad = self.native.evaluate(theta)
            return float(logp), grad
        f = self.forward
        pred = f.value(theta)
        return self._density(theta, pred, f._jacobian(theta))

    __call__ = logp_and_grad

    def _core_leapfrog(self, x: np.ndarray, grad: np.ndarray, p: np.ndarray, eps: float, inv_mass: np.ndarray,
                        n_steps: int) -> tuple:  # fmt: skip
        """A whole trajectory in the core (see samplers.leapfrog)."""
        out = self.native.leapfrog(x, grad, p, float(eps), inv_mass, int(n_steps))
        self.evaluations += int(out[4])
        return out

    def retrain(self, theta: np.ndarray) -> Tuple[float, np.ndarray]:
        theta = np.asarray(theta, dtype=np.float64)
        if self.native is not None:  # the same density as inside the trajectories
            self.forward.move_to(theta)
            logp, grad = self.native.evaluate(theta)
            return float(logp), grad
        pred, jac = self.forward.at(theta)
        return self._density(theta, pred, jac)


# Above this median ratio of the residual after a retraining to the residual at the fit, the
# network is typically a clearly worse solution where the chain is than where it was fitted.
WARN_MEDIAN_RATIO = 2.0


def _retraining_report(forward: BiLOForward) -> Tuple[str, bool]:
    """A note on how well the lower retrainings restored the PDE residual, and whether to warn."""
    ratios = np.asarray(forward.retrain_ratios, dtype=np.float64)
    if ratios.size == 0:
        return "", False
    median = float(np.median(ratios))
    note = (
        f"after the lower retrainings the PDE residual was {median:.3g}x (median; worst {float(np.max(ratios)):.3g}x) "
        "its value at the fit"
    )
    if median <= WARN_MEDIAN_RATIO:
        return note, False
    return (
        note + ": the network is a worse solution of the PDE at the sampled theta than at the fit, and the draws "
        "follow its error. Raise lower_steps, or check against laplace()/aligned_grid_posterior()",
        True,
    )


def bilo_hmc(
    model: Any,
    n_samples: int = 500,
    priors: Optional[Mapping[str, object]] = None,
    sigma: object = None,
    *,
    n_warmup: int = 300,
    chains: int = 2,
    seed: int = 0,
    sampler: str = "hmc",
    lower_steps: int = 200,
    lower_lr: float = 1e-3,
    spread: float = 0.02,
    checkpoint: Optional[Union[str, "os.PathLike[str]"]] = None,
    progress: bool = False,
    engine: str = "core",
) -> Chains:
    """Sample the posterior of a fitted BiLO model's scalar parameters (the model is not changed).

    model : a fitted :class:`~pinnbilo.BiLO`.
    n_samples, n_warmup : draws kept per chain, and warm-up iterations (step size, mass and
        path length adapt there; see :func:`~pinnbilo.uncertainty.hmc`).
    priors : {name: prior}, as for :func:`~pinnbilo.uncertainty.laplace` (default: Uniform on
        finite bounds, else flat).
    sigma : the noise standard deviation: None (the data's ``sigma``; when the data carry none,
        one sigma^2 = RSS / (m - p) estimated at the fit's estimate and held: a plug-in, said in
        the result's ``notes``), a number, or one per data row (m,).
    chains, seed : chains run one after another on one copy of the model; starts are the fit's
        estimate times (1 + spread * N(0, 1)), drawn from ``seed``; equal seeds give identical draws.
    sampler : 'hmc' or 'mala'.
    lower_steps, lower_lr : the lower level's retraining after each accepted move (and at each
        chain's start): at most ``lower_steps`` Adam steps at ``lower_lr``, until the PDE residual
        is back at its level at the fit, keeping the state of lowest residual (so a retraining
        never leaves a worse solution than none; 0: the network's local operator alone). The
        result's notes say how far the residual came back; a median above 2x its level at the
        fit warns.
    checkpoint : an .npz file to save to and resume from (see :func:`~pinnbilo.uncertainty.hmc`);
        Ctrl-C returns the draws so far with status 'interrupted'.
    engine : 'core' (default): the density, its gradient and HMC's whole leapfrog trajectories
        run in the C++ core, the tuning and the Metropolis test in Python; 'python': every
        gradient from the model's predictions in Python (a reference; the same draws up to
        rounding). Priors the core does not know (a subclass of Prior) use the Python path.

    Returns :class:`~pinnbilo.uncertainty.Chains` over the parameters (physical units), with
    ``notes`` saying how the noise was set and how many lower retrainings ran.
    """
    from ..model import Model
    from .hmc import hmc
    from .mala import mala

    if not isinstance(model, Model) or model.method != "bilo":
        raise InputError(f"bilo_hmc needs a fitted pinnbilo BiLO model, got {_show(model)}")
    problem = model.problem
    if not problem.params:
        raise InputError("the problem has no scalar parameters: there is no parameter posterior to sample")
    if model.step == 0:
        raise InputError("the model has not been fitted (step 0): call model.fit(...) before sampling its posterior")
    sampler = choice(sampler, "sampler", ("hmc", "mala"))
    engine = choice(engine, "engine", ("core", "python"))
    lower_steps = integer(lower_steps, "lower_steps", minimum=0, maximum=10_000_000)
    lower_lr = real(lower_lr, "lower_lr", positive=True)
    spread = real(spread, "spread", nonnegative=True, high=0.5)
    chains = integer(chains, "chains", minimum=1, maximum=64)
    seed = check_seed(seed)
    theta0 = current(model)
    prior_map = priors_mod.resolve(
        problem.params, priors, [("initial guess", problem.initial_params), ("current value", theta0)]
    )
    names = list(problem.param_names)
    noise_model = noise_mod.resolve(model.observations, sigma)
    forward = BiLOForward(model, lower_steps, lower_lr)
    centre = np.array([theta0[n] for n in names], dtype=np.float64)
    notes = [f"noise sigma {noise_model.source}"]
    if noise_model.sigma is None:
        values = np.concatenate([np.asarray(d.values, dtype=np.float64) for d in model.observations])
        noise_model = noise_model.with_estimate(forward.value(centre) - values, len(names))
        notes = [f"noise sigma {noise_model.source}, held fixed while sampling (a plug-in estimate)"]
    assert noise_model.sigma is not None
    target = BiLOTarget(forward, [prior_map[n] for n in names], noise_model.sigma, engine)

    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
    starts = np.empty((chains, centre.size))
    for k in range(chains):
        for _ in range(100):  # a start inside every prior's support
            x = centre * (1.0 + spread * rng.standard_normal(centre.size)) if k else centre.copy()
            if not target._outside(x):
                break
        else:
            x = centre.copy()
        starts[k] = x
    run = hmc if sampler == "hmc" else mala
    result = run(
        target,
        starts,
        n_samples,
        n_warmup=n_warmup,
        chains=chains,
        seed=seed,
        after_accept=target.retrain,
        checkpoint=checkpoint,
        progress=progress,
        names=names,
    )
    notes.append(
        f"BiLO-{sampler.upper()}: the network as local operator within trajectories, the lower level retrained "
        f"after each accepted move ({forward.retrained} retrainings, {target.evaluations} gradient evaluations, "
        f"{'in the core' if target.engine == 'core' else 'in Python'})"
    )
    report, warn = _retraining_report(forward)
    if report:
        notes.append(report)
    if warn:
        warn_user(report)
    try:
        result.notes = list(getattr(result, "notes", []) or []) + notes
    except (AttributeError, TypeError):  # a frozen Chains: the draws are what matters
        pass
    return result
