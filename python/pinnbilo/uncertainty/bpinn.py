"""B-PINN (Yang, Meng, Karniadakis, J. Comput. Phys. 425 (2021) 109913): HMC over every weight
of a PINN and its raw parameters, the baseline that BiLO-HMC and the Laplace posterior are
compared with.

The log posterior of the state x = (network weights W, raw parameters r) is

    log p(x) = -(m / (2 sigma_data^2)) L_data - (n / (2 sigma_res^2)) L_res
               - |W|^2 / (2 prior_std^2) - |r_params|^2 / (2 param_prior_std^2) - w_reg L_reg

(m data rows, n collocation points; L_data and L_res the model's mean squared losses, so
m L_data / (2 sigma_data^2) is the Gaussian negative log-likelihood of the data and the
residual is treated as an observation of zero with standard deviation sigma_res at every
collocation point). The state has hundreds to thousands of dimensions and a strongly curved,
correlated posterior: the chains mix slowly, and long warm-ups, several chains and a look at
R-hat and ESS are needed before the draws are trusted.
"""

from __future__ import annotations

import math
import os
from typing import Dict, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from .. import _validation as V
from ..errors import InputError
from .chains import Chains
from .hmc import HMCKernel
from .samplers import check_settings, sample

__all__ = ["bpinn_hmc", "bpinn_log_posterior"]


def _noise_of_data(model: object) -> float:
    """The data's standard deviation the model's loss weights stand for: 1 / sqrt(mean 1/sigma^2)
    (the row weights are 1/sigma^2 scaled to mean 1)."""
    obs = model.observations  # type: ignore[attr-defined]
    if any(d.sigma is None for d in obs):
        raise InputError(
            "sigma_data: the data carry no standard deviations (Data(..., sigma=...)); give sigma_data, "
            "the noise standard deviation of the observations"
        )
    weights = np.concatenate([np.asarray(d.weights, dtype=np.float64) for d in obs])
    return 1.0 / math.sqrt(float(np.mean(weights)))


class BPINNPosterior:
    """The B-PINN log posterior of a private copy of a PINN (the caller's model is not touched):
    ``logp_and_grad(x)`` over x = state_vector('pinn'), ``params(x)`` the physical parameters."""

    def __init__(
        self,
        model: object,
        sigma_data: Optional[float],
        sigma_res: float,
        prior_std: float,
        param_prior_std: Optional[float],
    ) -> None:
        from ..checkpoint import from_bytes, to_bytes
        from ..model import PINN

        if not isinstance(model, PINN):
            raise InputError(
                f"model must be a pinnbilo PINN (B-PINN samples its weights and parameters), got {type(model).__name__}"
            )
        sd = _noise_of_data(model) if sigma_data is None else V.real(sigma_data, "sigma_data", positive=True)
        sr = V.real(sigma_res, "sigma_res", positive=True)
        ps = V.real(prior_std, "prior_std", positive=True)
        pps = None if param_prior_std is None else V.real(param_prior_std, "param_prior_std", positive=True)
        self.copy = from_bytes(to_bytes(model), model.problem)
        trainer = self.copy._trainer
        m = sum(len(d) for d in self.copy.observations)
        n = int(self.copy.collocation.shape[0])
        self.w_data, self.w_res = m / (2 * sd**2), n / (2 * sr**2)
        # The objective's total is then exactly the negative log-likelihood (plus w_reg L_reg).
        trainer.set_options(
            {
                "w_res": self.w_res,
                "w_data": self.w_data,
                "w_rgrad": 0.0,
                "w_reg": self.copy.weights_config["w_reg"],
            }
        )
        self.n_weights, self.n_raw = int(trainer.n_weights), int(trainer.n_raw)
        n_params = len(self.copy.problem.params)
        precision = np.full(self.n_weights + self.n_raw, 1.0 / ps**2)
        rows = slice(self.n_weights, self.n_weights + n_params)
        precision[rows] = 0.0 if pps is None else 1.0 / pps**2  # None: flat in the raw parameters
        self.precision = precision
        self.settings = {
            "sigma_data": sd,
            "sigma_res": sr,
            "prior_std": ps,
            "param_prior_std": pps,
            "m": m,
            "n": n,
        }

    def x0(self) -> np.ndarray:
        """The model's state: (n_weights + n_raw,)."""
        return self.copy.state_vector("pinn")

    def logp_and_grad(self, x: np.ndarray) -> Tuple[float, np.ndarray]:
        total, grad, _ = self.copy.objective("pinn", x)
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging trajectory: inf, rejected
            prior = self.precision * x
            return -float(total) - 0.5 * float(np.dot(prior, x)), -grad - prior

    def params(self, x: np.ndarray) -> np.ndarray:
        """The physical parameters of state x (bounds applied), (n_params,)."""
        trainer = self.copy._trainer
        trainer.set_raw_params(x[self.n_weights : self.n_weights + self.n_raw])
        return np.asarray(trainer.get_params(), dtype=np.float64)

    def functions(self, x: np.ndarray, where: Mapping[str, np.ndarray]) -> np.ndarray:
        """The unknown functions of state x at their points ({name: (k, n_coords)}), one block
        after another: (sum of k,)."""
        self.copy._trainer.set_raw_params(x[self.n_weights : self.n_weights + self.n_raw])
        return np.concatenate([np.asarray(self.copy.function(n, p), dtype=np.float64) for n, p in where.items()])


def _function_points(model: object, function_points: object) -> Dict[str, np.ndarray]:
    """{name: (k, n_coords) points} checked: known functions, points inside the domain."""
    if function_points is None:
        return {}
    problem = model.problem  # type: ignore[attr-defined]
    if not isinstance(function_points, Mapping) or not function_points:
        raise InputError(f"function_points must be a mapping {{function name: points}}, got {V._show(function_points)}")
    out: Dict[str, np.ndarray] = {}
    for name, pts in function_points.items():
        if name not in problem.function_names:
            raise InputError(
                f"function_points: unknown function {V._show(name)}; the problem's functions: "
                f"{', '.join(problem.function_names) or 'none'}"
            )
        p = np.asarray(problem.as_points(pts), dtype=np.float64)
        if p.shape[0] == 0:
            raise InputError(f"function_points['{name}']: need at least one point")
        problem.require_inside(p, f"function_points['{name}']")
        out[name] = p
    return out


def _point_label(name: str, coords: Sequence[str], p: np.ndarray) -> str:
    return f"{name}(" + ", ".join(f"{c}={float(v):.4g}" for c, v in zip(coords, p)) + ")"


def bpinn_log_posterior(
    model: object,
    sigma_data: Optional[float],
    sigma_res: float,
    prior_std: float = 1.0,
    param_prior_std: Optional[float] = None,
) -> BPINNPosterior:
    """The B-PINN log posterior of a PINN as an object with ``logp_and_grad(x)``, ``x0()`` and
    ``params(x)``, for samplers of one's own (see :func:`bpinn_hmc` for the arguments)."""
    return BPINNPosterior(model, sigma_data, sigma_res, prior_std, param_prior_std)


def bpinn_hmc(
    model: object,
    n_samples: int,
    sigma_data: Optional[float],
    sigma_res: float,
    prior_std: float = 1.0,
    param_prior_std: Optional[float] = None,
    n_warmup: int = 1000,
    chains: Optional[int] = None,
    seed: int = 0,
    step_size: Optional[float] = None,
    target_accept: float = 0.8,
    path_length: Optional[float] = None,
    mass: Union[str, np.ndarray] = "diag",
    checkpoint: Optional[Union[str, "os.PathLike[str]"]] = None,
    checkpoint_every: int = 100,
    progress: bool = False,
    max_leapfrog: int = 1024,
    function_points: Optional[Mapping[str, object]] = None,
) -> Chains:
    """Bayesian PINN by HMC over all network weights and the raw parameters.

    Parameters
    ----------
    model : a :class:`pinnbilo.PINN`, best already fitted: every chain starts at its current
        weights and parameters (a MAP-like start shortens the warm-up a lot). The model itself is
        not changed (the sampler works on a copy).
    n_samples : draws per chain after warm-up.
    sigma_data : noise standard deviation of the observations, in the units of u; None: from
        the data's own ``sigma`` (1 / sqrt(mean 1/sigma^2) over the rows).
    sigma_res : standard deviation of the residual at each collocation point (how far the
        network may be from solving the equation), in the residual's units.
    prior_std : standard deviation of the independent N(0, prior_std^2) prior of every network
        weight (and of the unknown functions' weights).
    param_prior_std : standard deviation of a N(0, .) prior of each raw parameter (the
        optimiser's variable: parameter / scale, through the bound transform); default None:
        flat in the raw parameters.
    n_warmup, chains, seed, step_size, target_accept, path_length, mass, checkpoint,
    checkpoint_every, progress, max_leapfrog : as in :func:`~pinnbilo.uncertainty.hmc`.
    function_points : {function name: points (k, n_coords)}: also record each unknown function
        at its points per draw (its network's weights are sampled with the rest), named like
        ``"D(x=0.25)"`` after the parameters: draws of the function, whose quantiles are its
        posterior band.

    Returns
    -------
    :class:`~pinnbilo.uncertainty.Chains` of the physical parameters (``names`` the problem's
    parameter names, bounds applied; then the recorded function values), ``method='bpinn_hmc'``;
    ``logp`` is the log posterior of the whole state and ``mass`` its adapted inverse-mass diagonal
    (n_weights + n_raw values).

    The state has as many dimensions as the network has weights (hundreds to thousands): the
    chains mix slowly, and R-hat and ESS (``chains.summary()``) say whether the run is long
    enough. It is a baseline, not a fast method.
    """
    post = BPINNPosterior(model, sigma_data, sigma_res, prior_std, param_prior_std)
    problem = post.copy.problem
    where = _function_points(post.copy, function_points)
    names = list(problem.param_names) + [
        _point_label(n, problem.coords, q) for n, pts in where.items() for q in pts
    ]  # fmt: skip
    if not names:
        raise InputError(
            "model: the problem has no unknown parameters to sample; give function_points={name: points} to "
            "record its unknown functions"
        )

    def record(x: np.ndarray) -> np.ndarray:
        values = post.params(x)
        return np.concatenate([values, post.functions(x, where)]) if where else values

    s = check_settings(
        "bpinn_hmc",
        post.logp_and_grad,
        post.x0(),
        n_samples,
        n_warmup=n_warmup,
        chains=chains,
        seed=seed,
        step_size=step_size,
        target_accept=target_accept,
        path_length=path_length,
        mass=mass,
        after_accept=None,
        checkpoint=checkpoint,
        checkpoint_every=checkpoint_every,
        progress=progress,
        record=record,
        names=names,
        max_leapfrog=max_leapfrog,
    )
    s.extra = dict(post.settings)
    return sample(HMCKernel(), s)
