"""The Laplace (Gauss-Newton) posterior of a problem's scalar parameters.

The posterior is the Gaussian N(theta*, H^-1) in the parameters' physical units, where theta*
is the MAP (or the fit's estimate, ``refine=False``) and H = J^T S^-1 J - diag(d^2 log p) is the
Gauss-Newton Hessian of the negative log-posterior, J = du/dtheta at the data.
"""

from __future__ import annotations

import math
from typing import Any, List, Mapping, Optional

import numpy as np

from .._validation import _show, flag, integer, real
from ..errors import InputError
from ..problem import Problem
from . import gauss_newton, noise
from . import priors as priors_mod
from ._observations import SolutionFn, as_list, values
from .forwards import BiLOForward, PINNForward, SolutionForward, current, exact_solution
from .posterior import Posterior


def laplace(
    model: Any,
    priors: Optional[Mapping[str, object]] = None,
    sigma: object = None,
    refine: bool = True,
    *,
    max_steps: int = 10,
    lower_steps: int = 500,
    lower_lr: float = 1e-3,
    fd_step: float = 1e-2,
    pinn_maxiter: int = 200,
) -> Posterior:
    """The Laplace posterior of a fitted model's scalar parameters (the model is not changed).

    model : a fitted :class:`~pinnbilo.BiLO` or :class:`~pinnbilo.PINN`.
    priors : {name: prior} (:class:`Normal`, :class:`LogNormal`, :class:`Gamma`,
        :class:`Uniform`); a parameter without one gets Uniform on its bounds when both are
        finite, else the improper flat prior (said in ``notes``).
    sigma : the noise standard deviation: None (the data's ``sigma`` when set, else estimated),
        ``"estimate"`` (one sigma^2 = RSS / (m - p) at the fit's estimate), a number, or one per
        data row (m,).
    refine : move from the fit's estimate (which minimised the data misfit without the prior) to
        the MAP by damped Gauss-Newton steps (at most ``max_steps``); False: centre at the estimate.
    lower_steps, lower_lr : BiLO: Adam steps (at most) and rate that retrain the lower level at
        each new theta. fd_step, pinn_maxiter : PINN: the relative difference step in theta and the
        L-BFGS iterations of each weight re-optimisation.

    BiLO's Jacobian is its local operator's derivative in theta (exact in the network); PINN's
    comes from central differences of re-optimised networks (2p + 1 optimisations per Jacobian).
    Returns a :class:`Posterior` (mean, cov (p, p), std, intervals, in physical units).
    """
    from ..model import Model

    if not isinstance(model, Model):
        raise InputError(f"model must be a pinnbilo BiLO or PINN model, got {_show(model)}")
    problem: Problem = model.problem
    if not problem.params:
        raise InputError("the problem has no scalar parameters: there is no parameter posterior to compute")
    if model.step == 0:
        raise InputError("the model has not been fitted (step 0): call model.fit(...) before asking for its posterior")
    refine = flag(refine, "refine")
    max_steps = integer(max_steps, "max_steps", minimum=0, maximum=1000)
    lower_steps = integer(lower_steps, "lower_steps", minimum=0, maximum=10_000_000)
    lower_lr = real(lower_lr, "lower_lr", positive=True)
    fd_step = real(fd_step, "fd_step", positive=True, high=0.5)
    pinn_maxiter = integer(pinn_maxiter, "pinn_maxiter", minimum=1, maximum=1_000_000)
    theta0 = current(model)
    prior_map = priors_mod.resolve(
        problem.params, priors, [("initial guess", problem.initial_params), ("current value", theta0)]
    )
    noise_model = noise.resolve(model.observations, sigma)
    forward: Any
    if model.method == "bilo":
        forward = BiLOForward(model, lower_steps, lower_lr)
    else:
        forward = PINNForward(model, fd_step, pinn_maxiter)
    notes = []
    if problem.functions:
        notes.append(
            "unknown functions are held at their fitted networks: the posterior is of the scalar parameters given them"
        )
    return _posterior(
        problem, forward, model.observations, theta0, prior_map, priors, noise_model, refine, max_steps, notes
    )


def laplace_solution(
    problem: Problem,
    data: object,
    priors: Optional[Mapping[str, object]] = None,
    sigma: object = None,
    start: Optional[Mapping[str, float]] = None,
    solution: Optional[SolutionFn] = None,
    refine: bool = True,
    max_steps: int = 50,
) -> Posterior:
    """The Laplace posterior with the forward model u(z; theta) = ``solution`` (default the
    problem's exact or reference solution) instead of a network: what a perfectly trained model
    would give, for checks and coverage studies.

    data : one Data or a list (observations of a field or of its integral). start : where the
    least-squares search starts (default the initial guesses). The least-squares point plays the
    fit's estimate: ``refine`` moves from it to the MAP; False centres the Gaussian there. Other
    arguments as in :func:`laplace`.
    """
    if not isinstance(problem, Problem):
        raise InputError(f"problem must be a pinnbilo Problem, got {_show(problem)}")
    if not problem.params:
        raise InputError("the problem has no scalar parameters: there is no parameter posterior to compute")
    observations = as_list(data)
    refine = flag(refine, "refine")
    max_steps = integer(max_steps, "max_steps", minimum=0, maximum=10_000)
    theta0 = dict(problem.initial_params)
    if start is not None:
        if not isinstance(start, Mapping):
            raise InputError(f"start must be a mapping {{name: value}}, got {_show(start)}")
        unknown = [k for k in start if k not in theta0]
        if unknown:
            raise InputError(f"start names unknown parameter(s) {unknown}; parameters: {', '.join(theta0)}")
        theta0.update({k: real(v, f"start value of '{k}'") for k, v in start.items()})
    prior_map = priors_mod.resolve(problem.params, priors, [("starting point", theta0)])
    noise_model = noise.resolve(observations, sigma)
    forward = SolutionForward(problem, observations, exact_solution(problem, solution))
    return _posterior(
        problem, forward, observations, theta0, prior_map, priors, noise_model, refine, max_steps, [],
        least_squares_first=True,
    )  # fmt: skip


def _posterior(
    problem: Problem,
    forward: Any,
    observations: List[Any],
    theta0: Mapping[str, float],
    prior_map: Mapping[str, priors_mod.Prior],
    given: Optional[Mapping[str, object]],
    noise_model: noise.Noise,
    refine: bool,
    max_steps: int,
    notes: List[str],
    least_squares_first: bool = False,
) -> Posterior:
    """The Laplace posterior from a forward model, starting at theta0 (a fit's estimate, or any
    start with ``least_squares_first``, which moves to the least-squares point before sigma is
    estimated there)."""
    names = list(problem.param_names)
    start = np.array([theta0[n] for n in names], dtype=np.float64)
    y = values(observations)
    plist = [prior_map[n] for n in names]
    if least_squares_first:
        # The (weighted) least-squares point plays the fit's estimate; an estimated sigma belongs there.
        flat = [priors_mod.Flat(*prior_map[n].support) for n in names]
        weights = np.ones_like(y) if noise_model.sigma is None else noise_model.sigma
        start = gauss_newton.find_mode(forward, start, y, weights, flat, True, max_steps=max_steps).theta
    if noise_model.sigma is None:
        pred0, _ = forward.at(start)
        noise_model = noise_model.with_estimate(pred0 - y, len(names))
    sigma = noise_model.sigma
    assert sigma is not None
    mode = gauss_newton.find_mode(forward, start, y, sigma, plist, refine, max_steps=max_steps)
    cov = gauss_newton.covariance(mode.hessian, names)
    for n in names:
        if given is None or n not in given:
            kind = "improper flat prior" if not prior_map[n].proper else "Uniform prior"
            notes.append(f"no prior given for '{n}': {kind} on {prior_map[n].support}")
    notes.append(f"sigma {noise_model.source}" + (f": {float(sigma[0]):.4g}" if noise_model.estimated else ""))
    if refine and not mode.converged:
        notes.append(f"the MAP search stopped after {mode.steps} steps before its tolerance")
    post = Posterior(
        names=names,
        mean={n: float(t) for n, t in zip(names, mode.theta)},
        cov=cov,
        sigma=np.asarray(sigma),
        sigma_estimated=noise_model.estimated,
        method=forward.method + (", centred at the MAP" if refine else ", centred at the fit's estimate"),
        estimate={n: float(t) for n, t in zip(names, start)},
        map_steps=mode.steps,
        converged=mode.converged,
        bounds={n: prior_map[n].support for n in names},
        dof=y.shape[0] - len(names) if noise_model.estimated else None,
        notes=notes,
        priors=priors_mod.describe(prior_map),
    )
    raw = {n: (post.mean[n] - 1.96 * post.std[n], post.mean[n] + 1.96 * post.std[n]) for n in names}
    for n, (lo, hi) in raw.items():
        s_lo, s_hi = post.bounds[n]
        if lo <= s_lo or hi >= s_hi:
            notes.append(
                f"the Gaussian of '{n}' reaches beyond its support {post.bounds[n]}: intervals are clipped there and "
                "the Laplace approximation is poor; compare grid_posterior or sampling"
            )
    if not all(math.isfinite(v) for v in post.std.values()):
        raise InputError("the posterior covariance is not finite; the Jacobian at the data is not finite")
    return post
