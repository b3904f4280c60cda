"""Unknown functions of aggregation-diffusion as Fourier series, fitted by Levenberg-Marquardt.

A :class:`Spectral` unknown is linear in its coefficients (cosines for the even kernel W, cosines
and sines for the potential V; no constant: the zero-mean gauge), so the fixed-point residual
r_s = sqrt(m_s) (T(u_s) - u_s) / ||u_s||_m is a smooth function of few parameters with an analytic
Jacobian. scipy's least_squares then reaches the loss floor of clean data in a few iterations, where
first-order training of a network stalls orders of magnitude above it. Capacity does not hurt: a
mode no state shows is fixed by the smoothness penalty or, without one, left where the
minimum-norm start put it (truncated Gauss-Newton steps never move along it).

With noisy data the smoothness strength is chosen from the data (``smoothness="auto"``): the noise
level of each state is estimated from the observed values (and reported), and lambda is taken at
the corner of the L-curve of fixed-point loss against roughness.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .. import _validation as check
from ..errors import InputError
from .data import PeriodicStates
from .grids import PeriodicGrid

MAX_SPECTRAL_MODES = 4096


@dataclass(frozen=True)
class Spectral:
    """An unknown V or W of :class:`~pinnbilo.steady.AggregationDiffusion` as a Fourier series.

    modes: the number K of frequencies k = 1..K (W: K cosines; V: K cosines and K sines); None
    takes every frequency the grid resolves below Nyquist (n/2 - 1). Fitted by Levenberg-Marquardt
    on the exact fixed-point residual (see :mod:`pinnbilo.steady.spectral`).
    """

    modes: Optional[int] = None

    def __post_init__(self) -> None:
        if self.modes is not None:
            k = check.integer(self.modes, "Spectral.modes", minimum=1, maximum=MAX_SPECTRAL_MODES)
            object.__setattr__(self, "modes", k)

    def resolved(self, grid: PeriodicGrid) -> int:
        """The number of frequencies on ``grid``: ``modes``, or n/2 - 1 when None."""
        top = grid.n // 2 - 1
        if self.modes is None:
            return top
        if self.modes > top:
            raise InputError(
                f"Spectral(modes={self.modes}) asks for more frequencies than a {grid.n}-point grid resolves "
                f"below Nyquist ({top}); use modes <= {top} or a finer grid"
            )
        return self.modes

    def basis(self, grid: PeriodicGrid, name: str, at: np.ndarray) -> np.ndarray:
        """Basis functions at points ``at`` (m,): shape (m, p); p = K for W (cosines), 2K for V."""
        K = self.resolved(grid)
        theta = 2 * np.pi * np.outer(at, np.arange(1, K + 1)) / grid.length
        if name == "W":
            return np.cos(theta)
        return np.concatenate([np.cos(theta), np.sin(theta)], axis=1)


class SpectralResidual:
    """The fixed-point residual vector of aggregation-diffusion and its Jacobian in the coefficients.

    The loss is ``||residual(theta)||^2``: the same number as the C++ core's fixed-point loss plus
    its smoothness penalty lambda h sum ((f_{i+1} - f_i)/h)^2 on each learned function.
    """

    def __init__(
        self,
        grid: PeriodicGrid,
        kappa: float,
        data: PeriodicStates,
        bases: Dict[str, np.ndarray],
        known: Dict[str, np.ndarray],
        smoothness: Tuple[float, float] = (0.0, 0.0),
        exponent: float = 1.0,
    ) -> None:
        self.grid, self.kappa, self.data = grid, float(kappa), data
        self.exponent = float(exponent)  # 1: linear diffusion; > 1: porous medium (pinnbilo.steady.porous)
        self.names = [k for k in ("V", "W") if k in bases]
        self.bases, self.known = bases, known
        sizes = [bases[k].shape[1] for k in self.names]
        self.slices = dict(zip(self.names, (slice(a, a + b) for a, b in zip(np.cumsum([0] + sizes), sizes))))
        self.n_params = int(sum(sizes))
        m = data.weights
        self.row_scale = np.sqrt(m) / np.sqrt(np.sum(m * data.u**2, axis=1, keepdims=True))  # (S, n)
        # dPhi/dtheta for each state: B_V for V, kappa (B_W columns convolved with u_s) for W.
        self.dphi: List[np.ndarray] = []
        for s in range(len(data)):
            cols = [bases["V"]] if "V" in bases else []
            if "W" in bases:
                cols.append(self.kappa * grid._convolve(bases["W"].T, data.u[s]).T)
            self.dphi.append(np.concatenate(cols, axis=1))
        self.set_smoothness(smoothness)

    def _gradient_weight(self) -> float:
        """c with c sum (f_{i+1} - f_i)^2 the discrete int |grad f|^2: (cell measure) / spacing^2,
        1/h on the circle, 1 on the torus (square cells of area h = spacing^2)."""
        h = self.grid.h
        spacing = float(getattr(self.grid, "spacing", h))
        return h / spacing**2

    def set_smoothness(self, smoothness: Tuple[float, float]) -> None:
        """Penalty rows sqrt(lambda c) (f_{i+1} - f_i) for each learned function (c: see
        _gradient_weight), so the penalty is lambda int |grad f|^2 on the circle and the torus."""
        c = self._gradient_weight()
        rows = []
        for name, lam in zip(("V", "W"), smoothness):
            if name in self.bases and lam > 0:
                diffs = self._differences(self.bases[name])
                block = np.zeros((diffs.shape[0], self.n_params))
                block[:, self.slices[name]] = math.sqrt(lam * c) * diffs
                rows.append(block)
        self.penalty_rows = np.concatenate(rows) if rows else np.zeros((0, self.n_params))

    def _differences(self, B: np.ndarray) -> np.ndarray:
        """Periodic forward differences of the columns of B: along the circle, or along each axis
        of a grid that defines forward_differences (the torus)."""
        if hasattr(self.grid, "forward_differences"):
            return np.asarray(self.grid.forward_differences(B))
        return np.roll(B, -1, axis=0) - B

    def roughness(self, theta: np.ndarray, names: Sequence[str]) -> float:
        """c sum_i (f_{i+1} - f_i)^2 over the learned functions ``names`` (~ int |grad f|^2; c: see
        _gradient_weight)."""
        V, W = self.functions(theta)
        out = 0.0
        c = self._gradient_weight()
        for name, f in (("V", V), ("W", W)):
            if name in names and name in self.bases:
                out += c * float(np.sum(self._differences(f[:, None]) ** 2))
        return out

    def functions(self, theta: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """(V on grid.x, W at grid.lags) for coefficients theta."""
        out = []
        for name in ("V", "W"):
            out.append(self.bases[name] @ theta[self.slices[name]] if name in self.bases else self.known[name])
        return out[0], out[1]

    def _maps(self, theta: np.ndarray) -> np.ndarray:
        """T(u_s) for every state: (S, n)."""
        V, W = self.functions(theta)
        d = self.data
        if self.exponent != 1:
            from .porous import porous_map

            return np.stack(
                [
                    porous_map(self.grid, d.u[s], V, W, self.kappa, d.sigma[s], d.mass[s], self.exponent)
                    for s in range(len(d))
                ]
            )
        a = -(self.kappa * self.grid._convolve(W, d.u) + V) / d.sigma[:, None]
        a -= a.max(axis=1, keepdims=True)
        e = np.exp(a)
        return d.mass[:, None] * e / self.grid._integrate(e)[:, None]

    def residual(self, theta: np.ndarray) -> np.ndarray:
        """(S n + penalty rows,): the weighted fixed-point residuals, then the penalty rows."""
        r = (self.row_scale * (self._maps(theta) - self.data.u)).ravel()
        return np.concatenate([r, self.penalty_rows @ theta])

    def fixed_point_loss(self, theta: np.ndarray) -> float:
        """The fixed-point part of the loss (no penalty)."""
        r = self.row_scale * (self._maps(theta) - self.data.u)
        return float(np.sum(r * r))

    def jacobian(self, theta: np.ndarray) -> np.ndarray:
        """d residual / d theta: (S n + penalty rows, n_params).

        dT/dPhi = -(diag(T) - (h/M) T T^T) / sigma (the softmax's Jacobian), times dPhi/dtheta.
        """
        d, h = self.data, self.grid.h
        blocks = []
        if self.exponent != 1:
            from .porous import map_and_slopes

            V, W = self.functions(theta)
            phi = self.kappa * self.grid._convolve(W, d.u) + V
            for s, G in enumerate(self.dphi):
                _, dT_dphi = map_and_slopes(self.grid, phi[s], d.sigma[s], d.mass[s], self.exponent)
                blocks.append(self.row_scale[s][:, None] * (dT_dphi @ G))
            return np.concatenate(blocks + [self.penalty_rows])
        T = self._maps(theta)
        for s, G in enumerate(self.dphi):
            t = T[s][:, None]
            dT = -(t * G - (h / d.mass[s]) * t * (T[s] @ G)[None, :]) / d.sigma[s]
            blocks.append(self.row_scale[s][:, None] * dT)
        return np.concatenate(blocks + [self.penalty_rows])

    def linear_start(self) -> np.ndarray:
        """Coefficients from the linearised problem: u_s (sigma_s log u_s + Phi(theta) - c_s) = 0 at
        the observed points, weighted as the fixed-point residual is (its first-order form near the
        answer); points with u <= 0 (noise) are left out. For the porous medium the relation is
        sigma m/(m-1) u^(m-1) + Phi = c_s on the support, weighted by u^(2-m). Minimum-norm least
        squares."""
        d = self.data
        S, n = d.u.shape
        rows, rhs = [], []
        V0, W0 = self.functions(np.zeros(self.n_params))
        m = self.exponent
        for s in range(S):
            u = d.u[s]
            if m == 1:
                ok = (d.weights[s] > 0) & (u > 0)
                w = (self.row_scale[s] * np.where(ok, u, 0.0))[ok][:, None]
                enthalpy = d.sigma[s] * np.log(np.where(ok, u, 1.0))[ok]
            else:  # H'(u) + Phi = C on the support only: points with u ~ 0 are left out
                ok = (d.weights[s] > 0) & (u > 1e-6 * np.max(np.abs(u)))
                w = (self.row_scale[s] * np.where(ok, np.abs(u) ** (2 - m), 0.0))[ok][:, None]
                enthalpy = d.sigma[s] * m / (m - 1) * u[ok] ** (m - 1)
            known_phi = self.kappa * self.grid._convolve(W0, u) + V0
            c = np.zeros((int(ok.sum()), S))
            c[:, s] = -1.0
            rows.append(w * np.concatenate([self.dphi[s][ok], c], axis=1))
            rhs.append(-(w[:, 0] * (enthalpy + known_phi[ok])))
        A = np.concatenate(rows)
        P = np.concatenate([self.penalty_rows, np.zeros((self.penalty_rows.shape[0], S))], axis=1)
        A = np.concatenate([A, P])
        b = np.concatenate(rhs + [np.zeros(P.shape[0])])
        sol = np.linalg.lstsq(A, b, rcond=None)[0]
        return np.asarray(sol[: self.n_params])


def noise_level(data: PeriodicStates) -> np.ndarray:
    """The standard deviation of the measurement noise of each state, estimated from its observed
    values: (S,).

    White noise has a flat spectrum and a smooth steady state a fast-decaying one, so the median
    magnitude of the upper half of the spectrum of the observed values (evenly spaced, as
    observe_periodic takes them) measures the noise: for white noise of std delta on m points the
    rfft magnitudes are Rayleigh with median delta sqrt(m ln 2). Clean states give ~0 (round-off
    and the state's own tail). States that carry a recorded ``noise`` (denoise_periodic's) return it.
    """
    if not isinstance(data, PeriodicStates):
        raise InputError(f"noise_level takes PeriodicStates, got {type(data).__name__}")
    return _noise(data)


def _noise(data: Any) -> np.ndarray:
    """noise_level for any states with u, weights and noise: (S,). On the 2-D torus (flattened
    TorusStates, every point observed) the spectrum is the 2-D one of each (N, N) state and the
    median is taken over the wave vectors with |kx| and |ky| both >= N/4, where a smooth state
    has nothing in either direction (the flattened values' 1-D spectrum would also hold the jumps
    from one row to the next); the same Rayleigh median delta sqrt(N^2 ln 2) then applies."""
    if data.noise is not None:
        return np.array(data.noise, dtype=float)
    N = getattr(data.grid, "N", None)
    out = np.empty(len(data))
    for s in range(len(data)):
        seen = data.weights[s] > 0
        obs = data.u[s][seen]
        m = obs.size
        if m < 8:
            out[s] = 0.0
            continue
        if N is not None and m == N * N:
            mag2 = np.abs(np.fft.rfft2(np.reshape(data.u[s], (N, N))))
            kx, ky = np.abs(np.fft.fftfreq(N, 1.0 / N)), np.fft.rfftfreq(N, 1.0 / N)
            high = mag2[(kx[:, None] >= N / 4) & (ky[None, :] >= N / 4)]
            out[s] = float(np.median(high) / math.sqrt(m * math.log(2)))
            continue
        mag = np.abs(np.fft.rfft(obs))
        out[s] = float(np.median(mag[mag.size // 2 :]) / math.sqrt(m * math.log(2)))
    return out


@dataclass
class SpectralSolve:
    """What :func:`solve` returns: the coefficients, the loss parts, the smoothness used and the
    rule that chose it, the noise estimate (S,), the Gauss-Newton record and, for ``"auto"``, the
    L-curve (lambda, fixed-point loss, roughness) it chose from."""

    theta: np.ndarray
    loss: float
    fixed_point_loss: float
    smoothness: float
    noise: np.ndarray
    iterations: int
    message: str
    history: List[Tuple[int, float]]
    lcurve: List[Tuple[float, float, float]]
    status: str = "completed"
    rule: str = "given"  # how smoothness was set: "given", "clean" (auto, no noise), "lcurve" or "risk"


# Singular values below RCOND x the largest are directions no state shows: Gauss-Newton steps are
# the minimum-norm least-squares steps, so those directions stay where they started (scipy's
# least_squares has no such truncation, and its scaled steps let them drift to huge values).
RCOND = 1e-10


def gauss_newton(problem: Any, start: np.ndarray, max_iter: int) -> Tuple[np.ndarray, int, str, list]:
    """Truncated Gauss-Newton with a halving line search on ||residual||^2 for any ``problem``
    with residual(theta) and jacobian(theta). Returns (theta, iterations, why it stopped,
    [(iteration, loss), ...])."""
    theta = np.array(start, dtype=float)
    r = problem.residual(theta)
    f = float(r @ r)
    history = [(0, f)]
    for it in range(1, max_iter + 1):
        step = np.linalg.lstsq(problem.jacobian(theta), -r, rcond=RCOND)[0]
        t = 1.0
        while True:
            trial = theta + t * step
            r_trial = problem.residual(trial)
            f_trial = float(r_trial @ r_trial)
            if f_trial < f or t < 2.0**-30:
                break
            t /= 2
        if not f_trial < f:
            return theta, it - 1, "no step decreases the loss (converged to round-off)", history
        theta, r, f_old, f = trial, r_trial, f, f_trial
        history.append((it, f))
        if np.linalg.norm(t * step) <= 1e-12 * (1.0 + np.linalg.norm(theta)) or f_old - f <= 1e-15 * f_old:
            return theta, it, "converged (step and decrease below round-off)", history
    return theta, max_iter, f"stopped at max_iter = {max_iter}", history


LCURVE_LAMBDAS = tuple(10.0 ** (1.0 - 0.25 * i) for i in range(37))  # 10 down to 1e-8


def solve(
    problem: SpectralResidual,
    smoothness: Any,
    learned: Sequence[str],
    max_iter: int = 50,
) -> SpectralSolve:
    """Gauss-Newton from the linearised start, for a fixed smoothness (lambda_V, lambda_W) or
    ``"auto"``.

    "auto": when the data carry noise (:func:`noise_level` above 1e-9 of the states' scale) the
    fit is repeated for lambda from 10 down to 1e-8 (quarter decades, each from the previous
    answer) and the lambda at the corner of the L-curve (log fixed-point loss against log
    roughness sum_i (f_{i+1} - f_i)^2 / h, the point of largest curvature) is kept; clean data are
    fitted with lambda = 0. The discrepancy principle and cross-validation both choose badly here:
    a point's own noise enters its prediction through the kernel's value at lag 0, so the
    residual understates the error. An L-curve without an under-regularised branch (the
    roughness grows less than LCURVE_SATURATION-fold below its corner: :func:`lcurve_saturated`,
    e.g. a few dozen modes of a torus V) has no corner to find; there the lambda of least
    predictive risk (:func:`predictive_risk`, Mallows' C_p with the estimated noise) is taken
    among the same fits. The same lambda is used for every learned function; ``rule`` says which
    choice was made.
    """
    delta = _noise(problem.data)
    scale = np.max(np.abs(problem.data.u), axis=1)
    rule = "given"
    if smoothness == "auto" and np.all(delta <= 1e-9 * scale):
        smoothness, rule = (0.0, 0.0), "clean"
    if smoothness != "auto":
        problem.set_smoothness(smoothness)
        theta, its, why, hist = gauss_newton(problem, problem.linear_start(), max_iter)
        return _done(problem, theta, max(smoothness), delta, its, why, hist, [], rule)
    runs, curve = [], []
    theta = problem.linear_start()
    for lam in LCURVE_LAMBDAS:
        problem.set_smoothness(tuple(lam if k in learned else 0.0 for k in ("V", "W")))  # type: ignore[arg-type]
        theta, its, why, hist = gauss_newton(problem, theta, max_iter)  # from the previous lambda's answer
        runs.append((theta, its, why, hist))
        curve.append((lam, problem.fixed_point_loss(theta), problem.roughness(theta, learned)))
    pick, rule = lcurve_corner(curve), "lcurve"
    if lcurve_saturated(curve, pick):
        risks = []
        for (lam, _, _), run in zip(curve, runs):
            problem.set_smoothness(tuple(lam if k in learned else 0.0 for k in ("V", "W")))  # type: ignore[arg-type]
            risks.append(predictive_risk(problem, run[0], delta))
        pick, rule = int(np.argmin(risks)), "risk"
    lam = curve[pick][0]
    problem.set_smoothness(tuple(lam if k in learned else 0.0 for k in ("V", "W")))  # type: ignore[arg-type]
    theta, its, why, hist = runs[pick]
    return _done(problem, theta, lam, delta, its, why, hist, curve, rule)


# An L-curve whose roughness grows less than this factor from its corner to the smallest lambda has
# no under-regularised branch (see lcurve_saturated).
LCURVE_SATURATION = 10.0


def lcurve_corner(curve: Sequence[Tuple[float, float, float]]) -> int:
    """Index of the largest curvature of (log loss, log roughness) against log lambda, away from
    the two ends of the scan (curve: (lambda, fixed-point loss, roughness) rows, lambda falling)."""
    c = np.asarray(curve, dtype=float)
    t = np.log(c[:, 0])
    x, y = np.log(np.maximum(c[:, 1], 1e-300)), np.log(np.maximum(c[:, 2], 1e-300))
    dx, dy = np.gradient(x, t), np.gradient(y, t)
    ddx, ddy = np.gradient(dx, t), np.gradient(dy, t)
    with np.errstate(all="ignore"):
        k = (dx * ddy - ddx * dy) / (dx**2 + dy**2) ** 1.5
    k = np.where(np.isfinite(k), k, -np.inf)
    return int(np.argmax(k[2:-2]) + 2)


def lcurve_saturated(curve: Sequence[Tuple[float, float, float]], corner: int) -> bool:
    """True when the roughness at the smallest lambda is below LCURVE_SATURATION x the roughness at
    ``corner``: the curve has no under-regularised branch, the noise does not blow the unpenalised
    answer up (the data fix every coefficient, as when a few dozen Fourier modes of V are learned
    from thousands of torus points), and the "corner" only marks where the penalty starts to bias
    the answer. (On the circle with W learned the roughness grows ~1e4-fold below the corner.)"""
    c = np.asarray(curve, dtype=float)
    return bool(c[-1, 2] < LCURVE_SATURATION * c[corner, 2])


def predictive_risk(problem: SpectralResidual, theta: np.ndarray, delta: np.ndarray) -> float:
    """Mallows' C_p (the unbiased predictive-risk estimate) of the fit ``theta`` at the problem's
    current smoothness: fixed-point loss + 2 sum_i var_i H_ii, with H = J (J^T J + P^T P)^+ J^T the
    influence of the residual rows on their own fit (J: the fixed-point rows of the Jacobian, (S n,
    p); P: the penalty rows) and var_i = (delta_s row_scale_si)^2 the noise variance of row i
    (delta: (S,), the noise std of each state, from :func:`noise_level`)."""
    J = problem.jacobian(theta)
    rows = problem.data.u.size
    Jf, P = J[:rows], J[rows:]
    var = ((np.asarray(delta, dtype=float)[:, None] * problem.row_scale) ** 2).ravel()
    G = np.linalg.pinv(Jf.T @ Jf + P.T @ P, rcond=RCOND**2, hermitian=True)
    leverage = np.sum((Jf @ G) * Jf, axis=1)
    return problem.fixed_point_loss(theta) + 2.0 * float(leverage @ var)


def _done(
    problem: SpectralResidual,
    theta: np.ndarray,
    lam: float,
    delta: np.ndarray,
    its: int,
    why: str,
    hist: list,
    curve: list,
    rule: str,
) -> SpectralSolve:
    r = problem.residual(theta)
    return SpectralSolve(
        theta=np.asarray(theta, dtype=float),
        loss=float(r @ r),
        fixed_point_loss=problem.fixed_point_loss(theta),
        smoothness=float(lam),
        noise=delta,
        iterations=its,
        message=why,
        history=hist,
        lcurve=curve,
        rule=rule,
    )
