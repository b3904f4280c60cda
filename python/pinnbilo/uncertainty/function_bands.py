"""Pointwise bands of a recovered unknown function: the linearised (Laplace) posterior of the
weights of its network.

BiLO's network reads the function's values as inputs, u = u(z, theta, f(z); W). A change dw of
the function network's weights w (all of them, or its output layer) moves the data predictions
in two ways: through the local operator (u at z reads f at z), and through the lower level,
which retrains the solution network W to the PDE residual of the new f. The second is the
linearised retraining: the minimum-norm dW with R_W dW = -R_w dw (R the residual at the
collocation points), so that the predictions' Jacobian is J = U_w - U_W R_W^+ R_w, the
linearised response of the solution of the PDE to the function. With Gaussian noise and the
smoothness prior p(w) ~ exp(-mean |grad f|^2 / (2 tau^2)) over the collocation points (the fit's
regulariser read as a Gaussian prior), the posterior of w is Gaussian with precision
H = J^T S^-1 J + G / tau^2 (G the Gauss-Newton Hessian of the regulariser in w), and the
linearised f(x) = f*(x) + g(x)^T (w - w*) gets the pointwise standard deviation
sqrt(g(x)^T H^-1 g(x)), g(x) = df(x)/dw. The scalar parameters are held at the fit's values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Union, cast

import numpy as np

from .._validation import _show, choice, real
from ..errors import InputError
from . import noise as noise_mod
from ._observations import values as data_values

# Relative step of the central differences in the function's weights (f and the predictions are
# smooth in them: accurate to about step^2).
STEP = 1e-5
# Weight directions whose effect on f at the band points is below this fraction of the
# largest are left out (see function_band).
FEATURE_RTOL = 1e-7
# A precision's square root whose smallest singular value is below SINGULAR_RTOL of its largest
# is singular (the precision's condition number would pass 1e15, its rounding limit).
SINGULAR_RTOL = 3e-8
# Singular values of the residual's Jacobian in the solution weights below this fraction of the
# largest are left out of the linearised retraining (its pseudo-inverse).
RETRAIN_RCOND = 1e-10
# The linearised retraining and the smoothness prior use at most this many of the collocation
# points (every k-th): each costs two residual evaluations per weight there.
MAX_COLLOCATION = 1024


@dataclass
class FunctionBand:
    """Pointwise posterior band of an unknown function.

    name : the function. points : (n, n_coords) where the band is given. mean : (n,) the fitted
    function there (the posterior mean of the linearised model). std : (n,) its posterior standard
    deviation. lower, upper : (n,) the ``level`` band, mean -+ z std. sigma : (m,) the noise
    standard deviation per data row used. notes : what the band assumes.
    """

    name: str
    points: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    level: float
    sigma: np.ndarray
    sigma_estimated: bool
    notes: List[str] = field(default_factory=list)

    def contains(self, values: object) -> np.ndarray:
        """Whether each value (n,) lies inside the band: (n,) bool."""
        v = np.asarray(values, dtype=np.float64).reshape(-1)
        if v.shape != self.mean.shape:
            raise InputError(f"values: expected {self.mean.shape[0]} values, one per band point, got {v.shape[0]}")
        return (v >= self.lower) & (v <= self.upper)


def function_band(
    model: Any,
    name: str,
    points: object = None,
    sigma: object = None,
    smoothness_scale: Union[str, float, None] = "fit",
    level: float = 0.95,
    layers: str = "all",
    response: str = "retrained",
) -> FunctionBand:
    """The pointwise posterior band of unknown function ``name`` of a fitted BiLO model.

    points : (n, n_coords) (or (n,) for one coordinate) where to give the band; default 101
        points across the domain (one coordinate), a 41 x 41 grid (two), 13 per axis (more).
    sigma : the noise standard deviation, as for :func:`~pinnbilo.uncertainty.laplace`: None (the
        data's ``sigma``, else estimated from the residuals at the fit), ``"estimate"``, a number,
        or one per data row.
    smoothness_scale : tau, the prior scale of mean |grad f|^2 over the collocation points (the
        smoothness regulariser as a Gaussian prior). ``"fit"`` (default): the scale the fit's
        objective ``w_data L_data + w_reg L_reg`` implies with this sigma,
        tau^2 = w_data / (w_reg sum_i 1/sigma_i^2) (no prior when ``w_reg`` is 0). None: no
        prior; the data alone must then determine the function at the band points, else
        InputError says what to set. A number: that tau (units of f per unit of the coordinate).
    level : the band's probability (0.95: +- 1.96 std).
    layers : 'all' (every weight of the function's network) or 'last' (its output layer only).
    response : how the predictions follow the function: 'retrained' (default: the local operator
        and the linearised retraining of the solution network to the PDE residual, the response
        of the PDE's solution; costs two residual evaluations per weight of the solution network,
        at up to 1024 of the collocation points)
        or 'local' (the local operator alone: u at z reads f at z, the solution network held,
        which leaves out how a change of f elsewhere moves u at z, so the band is too narrow;
        docs/uncertainty.md measures both).

    Returns a :class:`FunctionBand`. PINN models have no local operator in the function (their
    network does not read f) and are refused: use :func:`~pinnbilo.uncertainty.ensemble` for them.
    """
    from ..model import Model

    if not isinstance(model, Model) or model.method != "bilo":
        raise InputError(
            f"function_band needs a fitted pinnbilo BiLO model (a PINN's network does not read the function), "
            f"got {_show(model)}"
        )
    problem = model.problem
    if not isinstance(name, str) or name not in problem.function_names:
        raise InputError(f"unknown function {_show(name)}; the problem's functions: {problem.function_names or 'none'}")
    if model.step == 0:
        raise InputError("the model has not been fitted (step 0): call model.fit(...) before asking for a band")
    level = real(level, "level", positive=True, high=1.0)
    if not level < 1:
        raise InputError(f"level must lie in (0, 1), got {level}")
    layers = choice(layers, "layers", ("all", "last"))
    response = choice(response, "response", ("retrained", "local"))
    if not (smoothness_scale is None or smoothness_scale == "fit"):
        smoothness_scale = real(smoothness_scale, "smoothness_scale", positive=True)
    where = _band_points(model, points)

    sens = _sensitivities(model, name, where, layers, response)
    jac, g_at, d_grad, q, notes = sens.jac, sens.g_at, sens.d_grad, sens.q, sens.notes
    observations = list(model.observations)
    y = data_values(observations)
    noise_model = noise_mod.resolve(observations, sigma)
    colloc = sens.colloc
    pred0, f0 = sens.pred0, sens.f0
    # A small network's weight directions are strongly collinear (tanh units): many change
    # f nowhere in the domain. Only the directions that move f at the band points matter for the
    # band; they are kept (singular values of df/dw above FEATURE_RTOL of the largest), and the
    # posterior is taken in them. The others barely move f at the data or collocation points either
    # (the same domain), so they are nearly uncoupled from the kept ones.
    keep = _moving_directions(g_at)
    jac_r = jac @ keep
    if noise_model.sigma is None:
        # the residuals' degrees of freedom: the directions the data see (the Jacobian's rank)
        sj = np.linalg.svd(jac_r, compute_uv=False)
        rank = int(np.sum(sj > SINGULAR_RTOL * sj[0])) if sj.size and sj[0] > 0 else 0
        noise_model = noise_model.with_estimate(pred0 - y, rank)
    s = noise_model.sigma
    assert s is not None
    notes.append(f"sigma {noise_model.source}" + (f": {float(s[0]):.4g}" if noise_model.estimated else ""))
    tau: Optional[float]
    if smoothness_scale == "fit":
        w_reg, w_data = model.weights_config["w_reg"], model.weights_config["w_data"]
        tau = math.sqrt(w_data / (w_reg * float(np.sum(1.0 / s**2)))) if w_reg > 0 and w_data > 0 else None
        how = "the fit's w_data / w_reg"
    else:
        tau = None if smoothness_scale is None else float(cast(float, smoothness_scale))
        how = "given"
    # The precision H = J^T S^-1 J + G / tau^2 as R^T R with R stacked from its two square roots;
    # the SVD of R gives H^-1 without squaring R's condition number (the precision of a
    # network's weights is ill-conditioned).
    root = [jac_r / s[:, None]]
    if tau is not None:
        flat = d_grad.reshape(-1, q) @ keep  # (n_inputs * n_res, kept): grad f at the collocation points
        root.append(flat / (math.sqrt(colloc.shape[0]) * tau))  # G = flat^T flat / n: mean |grad f|^2 / 2
        notes.append(f"smoothness prior: mean |grad {name}|^2 with scale tau = {tau:.4g} ({how})")
    else:
        notes.append("no prior on the weights: the data alone determine them")
    _, sr, vr = np.linalg.svd(np.vstack(root), full_matrices=False)
    if not (sr.size == keep.shape[1] and sr.size and sr[-1] > SINGULAR_RTOL * sr[0] > 0):
        raise InputError(
            f"the data do not determine '{name}' at the band points (its posterior precision is singular in a "
            "direction that moves the function there): set smoothness_scale=... (a prior on mean |grad f|^2), "
            "or add data that see the function"
        )
    std = np.linalg.norm((g_at @ keep @ vr.T) / sr, axis=1)  # sqrt(g^T H^-1 g) per point
    notes.append(f"{keep.shape[1]} of the {q} weight directions move the function at the band points")
    z = _normal_quantile(0.5 + level / 2)
    return FunctionBand(
        name=name,
        points=where,
        mean=f0,
        std=std,
        lower=f0 - z * std,
        upper=f0 + z * std,
        level=level,
        sigma=np.asarray(s),
        sigma_estimated=noise_model.estimated,
        notes=notes,
    )


@dataclass
class _Sensitivities:
    """What a band is computed from, at the fit (see _sensitivities)."""

    jac: np.ndarray  # (m, q): the data predictions in the function's weights
    g_at: np.ndarray  # (n, q): the function at the band points
    d_grad: np.ndarray  # (n_inputs, n_res, q): its gradient at the collocation points
    pred0: np.ndarray  # (m,): the predictions
    f0: np.ndarray  # (n,): the function at the band points
    colloc: np.ndarray  # (n_res, n_coords): the collocation points used (see MAX_COLLOCATION)
    q: int
    notes: List[str]


def _sensitivities(model: Any, name: str, where: np.ndarray, layers: str, response: str) -> _Sensitivities:
    """Central differences of the predictions and of f in the function's weights, the predictions
    following through the local operator alone or with the linearised retraining as well."""
    from .. import _core

    problem = model.problem
    # Function k's weights: its block of the upper vector (the output layer: the block's last
    # hidden + 1 entries).
    k = problem.function_names.index(name)
    defs = model._function_defs()
    sizes = [list(d[1]) for d in defs]
    offset = len(problem.param_names) + sum(int(_core.mlp_n_params(s)) for s in sizes[:k])
    block = int(_core.mlp_n_params(sizes[k]))
    q = block if layers == "all" else sizes[k][-2] + 1
    idx = np.arange(offset + block - q, offset + block)

    colloc = _working_collocation(model)
    grads = [{c: 1} for c in problem.function_inputs[name]]
    retrained = response == "retrained"

    def residual_rows() -> np.ndarray:
        return np.asarray(model.residual(colloc), dtype=np.float64).reshape(-1) if retrained else np.zeros(0)

    def upper_outputs() -> List[np.ndarray]:
        f_at = np.asarray(model.function(name, where), dtype=np.float64)
        grad_f = np.stack(list(model.function(name, colloc, grads))) if grads else np.zeros((0, colloc.shape[0]))
        return [np.concatenate(model.observation_predictions()), f_at, grad_f, residual_rows()]

    def lower_outputs() -> List[np.ndarray]:
        return [np.concatenate(model.observation_predictions()), residual_rows()]

    pred0 = np.concatenate(model.observation_predictions())
    f0 = np.asarray(model.function(name, where), dtype=np.float64)
    jac, g_at, d_grad, res_w = _central_columns(model, "upper", idx, upper_outputs)
    # jac (m, q): predictions; g_at (n, q): f at the band points; d_grad (n_inputs, n_res, q): grad f
    # at the collocation points; res_w (n_res_rows, q): the residual.
    notes = [
        f"{'every weight' if layers == 'all' else 'the last layer'} of '{name}' ({q} weights); the scalar "
        "parameters held at the fit"
    ]
    if retrained:
        pred_W, res_W = _central_columns(model, "lower", np.arange(model.state_vector("lower").size), lower_outputs)
        # the minimum-norm retraining dW = -R_W^+ R_w dw (gradient descent from the fit's W in the
        # linear regime converges to it), and its effect on the predictions
        d_weights = -np.linalg.lstsq(res_W, res_w, rcond=RETRAIN_RCOND)[0]
        jac = jac + pred_W @ d_weights
        notes.append(
            "the predictions follow the function through the local operator and the linearised retraining of "
            f"the solution network to the PDE residual at {colloc.shape[0]} collocation points"
        )
        if problem.compiled_conditions:
            notes.append("the soft conditions are not held in the linearised retraining (the PDE residual only)")
    else:
        notes.append(
            "the predictions follow the function through the local operator alone (the solution network held): "
            "too narrow, see docs/uncertainty.md"
        )
    total = int(np.asarray(model.collocation).shape[0])
    if colloc.shape[0] < total:
        notes.append(f"the retraining and the prior use {colloc.shape[0]} of the {total} collocation points (strided)")
    return _Sensitivities(jac=jac, g_at=g_at, d_grad=d_grad, pred0=pred0, f0=f0, colloc=colloc, q=q, notes=notes)


def _moving_directions(g_at: np.ndarray) -> np.ndarray:
    """An orthonormal basis (q, k) of the weight directions whose effect on f at the band points
    (g_at: (n, q)) is above FEATURE_RTOL of the largest (right singular vectors)."""
    _, sv, vt = np.linalg.svd(g_at, full_matrices=False)
    return vt[sv > FEATURE_RTOL * sv[0]].T if sv.size and sv[0] > 0 else np.zeros((g_at.shape[1], 0))


def _working_collocation(model: Any) -> np.ndarray:
    """The model's collocation points, every k-th of them beyond MAX_COLLOCATION."""
    colloc = np.asarray(model.collocation, dtype=np.float64)
    stride = -(-colloc.shape[0] // MAX_COLLOCATION)
    return colloc[::stride]


def _central_columns(
    model: Any, objective: str, idx: np.ndarray, outputs: Callable[[], List[np.ndarray]]
) -> List[np.ndarray]:
    """Central differences of ``outputs()`` in entries ``idx`` of the objective's state vector:
    one array (*shape, len(idx)) per output; the state is restored whatever happens."""
    x0 = model.state_vector(objective)
    cols: List[List[np.ndarray]] = []
    try:
        for i in idx:
            h = STEP * max(1.0, abs(float(x0[i])))
            shifted = x0.copy()
            shifted[i] = x0[i] + h
            model.set_state_vector(objective, shifted)
            plus = outputs()
            shifted[i] = x0[i] - h
            model.set_state_vector(objective, shifted)
            cols.append([(a - b) / (2 * h) for a, b in zip(plus, outputs())])
    finally:
        model.set_state_vector(objective, x0)
    return [np.stack([c[j] for c in cols], axis=-1) for j in range(len(cols[0]))]


def _band_points(model: Any, points: object) -> np.ndarray:
    problem = model.problem
    if points is None:
        if len(problem.coords) == 1:
            lo, hi = problem.domain[problem.coords[0]]
            return np.linspace(lo, hi, 101)[:, None]
        return np.asarray(problem.grid(41 if len(problem.coords) == 2 else 13), dtype=np.float64)
    p = np.asarray(problem.as_points(points), dtype=np.float64)
    if p.shape[0] == 0:
        raise InputError("points: need at least one point")
    problem.require_inside(p, "band points")
    return p


def _normal_quantile(p: float) -> float:
    from statistics import NormalDist

    return float(NormalDist().inv_cdf(p)) if 0 < p < 1 else math.inf
