"""Levenberg-Marquardt on the fixed-point residual vector of network unknowns (aggregation-diffusion).

The fixed-point loss is the squared norm of a residual vector of a few hundred rows: every state's
weighted residual sqrt(m_si / sum_j m_sj u_sj^2) (T(u_s)_i - u_si), stacked, then the smoothness
penalty rows sqrt(lambda / h) (f_{i+1} - f_i). First-order training on the loss (Adam, L-BFGS)
stalls far above its floor on clean data (L-BFGS stops on "relative reduction of f" near 1e-11
where the true functions give 1e-20), and what it leaves is the weakly seen Fourier modes of W.
Levenberg-Marquardt works on the residual vector with the Gauss-Newton model of the loss.

The residual is the C++ core's (its fixed-point map and the network values it forms), so
``||residual||^2`` is the loss the core reports. The core exposes no Jacobian of the residual (only
the loss gradient 2 J^T r), so the Jacobian is assembled here, exactly, as a product: the
residual's Jacobian A in the functions' grid values (the softmax's Jacobian times the circulant of
each state, applied by FFT in the steps, plus the penalty's differences) times the networks'
Jacobians N in their weights on the grid (a reverse pass per layer in numpy, in the core's weight
layout; checked against the core's values at every Jacobian, and taken by central differences of
the core's values should they ever differ).

The steps are damped in the functions, not only in the weights: with N = U S V^T, a step is
delta = V z with z minimising ||A U S z + r||^2 + mu (||S z||^2 + c S_1^2 ||z||^2), c = 1e-4; the
grid values of the functions then change by about U S z, and the damping limits that change (the
weight term keeps the weights bounded where the networks barely move the functions). mu follows
Nielsen's rule (the gain ratio of actual to predicted decrease). A fresh network starts with its
output layer at zero, so the learned functions start at zero like a Spectral fit's minimum-norm
start and put no content of their own into modes the data barely see. scipy's least_squares was
tried and is not used: MINPACK's "lm" refuses more weights than rows, which a network always has
here, and "trf" with its trust region in the weights stalls near a loss of 1e-12 (1.7% error of
the Morse kernel below after 300 steps).
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from .._warnings import user_stacklevel
from .data import PeriodicStates
from .grids import PeriodicGrid

MAX_LM_STEPS = 100_000  # a cap on lm_steps (each step is an SVD of the Jacobian), not an accident
CONSISTENCY_TOL = 1e-9  # numpy's network values against the core's, relative to their size


def _activation(name: str, z: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """(f(z), f'(z)) for the activations of pinnbilo.steady.Unknown."""
    if name == "tanh":
        y = np.tanh(z)
        return y, 1.0 - y * y
    if name == "sin":
        return np.sin(z), np.cos(z)
    if name == "cos":
        return np.cos(z), -np.sin(z)
    if name == "sigmoid":
        y = 0.5 * (1.0 + np.tanh(0.5 * z))
        return y, y * (1.0 - y)
    if name == "softplus":
        return np.logaddexp(0.0, z), 0.5 * (1.0 + np.tanh(0.5 * z))
    if name == "exp":
        y = np.exp(z)
        return y, y
    raise ValueError(f"unknown activation {name!r}")  # Unknown refuses it before this


def mlp_jacobian(sizes: List[int], activation: str, params: np.ndarray, features: np.ndarray) -> Tuple[
    np.ndarray, np.ndarray
]:  # fmt: skip
    """Values (m,) and Jacobian (m, n_params) in the flat weights of a scalar MLP at ``features``
    (n_inputs, m), in the core's layout: per layer the (out, in) weight matrix row by row, then
    the biases; the activation after every hidden layer."""
    params = np.asarray(params, dtype=float)
    a = np.asarray(features, dtype=float).T  # (m, in)
    m = a.shape[0]
    layers = []  # (input a, weight matrix, bias offset, weight offset, slope f'(z) or None)
    off = 0
    for layer in range(len(sizes) - 1):
        fan_in, fan_out = sizes[layer], sizes[layer + 1]
        W = params[off : off + fan_in * fan_out].reshape(fan_out, fan_in)
        z = a @ W.T + params[off + fan_in * fan_out : off + fan_in * fan_out + fan_out]
        last = layer == len(sizes) - 2
        y, slope = (z, None) if last else _activation(activation, z)
        layers.append((a, W, off, slope))
        off += fan_in * fan_out + fan_out
        a = y
    J = np.empty((m, off))
    delta = np.ones((m, 1))  # d output / d z of the current layer, per point
    for a_in, W, start, slope in reversed(layers):
        if slope is not None:
            delta = delta * slope
        fan_out, fan_in = W.shape
        J[:, start : start + fan_in * fan_out] = (delta[:, :, None] * a_in[:, None, :]).reshape(m, -1)
        J[:, start + fan_in * fan_out : start + fan_in * fan_out + fan_out] = delta
        delta = delta @ W
    return a[:, 0], J


class NetworkResidual:
    """The residual vector of an aggregation-diffusion model with network unknowns, and its
    Jacobian in the flat weights: ``residual(theta) @ residual(theta)`` is the core's loss
    (fixed-point loss plus smoothness penalty) at theta.

    core: the model's C++ loss object (model.build(data, smoothness)); nets: {name: (sizes,
    activation, features (n_inputs, n), slice of the weights)} for each learned function.
    """

    def __init__(
        self,
        core: Any,
        grid: PeriodicGrid,
        kappa: float,
        data: PeriodicStates,
        nets: Dict[str, Tuple[List[int], str, np.ndarray, slice]],
        smoothness: Tuple[float, float],
    ) -> None:
        self.core, self.grid, self.kappa, self.data, self.nets = core, grid, float(kappa), data, nets
        self.names: List[str] = [k for k in ("V", "W") if k in nets]
        self.n_params = int(core.n_params)
        m = data.weights
        self.row_scale = np.sqrt(m) / np.sqrt(np.sum(m * data.u**2, axis=1, keepdims=True))  # (S, n)
        self.penalty = {k: math.sqrt(lam / grid.h) for k, lam in zip(("V", "W"), smoothness) if k in nets and lam > 0}
        self.n_rows = data.u.size + grid.n * len(self.penalty)
        self.jacobian_source = "analytic"
        self.evaluations = 0

    def _values(self, theta: np.ndarray) -> Dict[str, np.ndarray]:
        V, W = self.core.function_values(theta)
        return {"V": np.asarray(V), "W": np.asarray(W)}

    def residual(self, theta: np.ndarray) -> np.ndarray:
        """(S n + n per penalised function,): the core's weighted fixed-point residuals, then the
        penalty rows."""
        theta = np.ascontiguousarray(theta, dtype=float)
        self.evaluations += 1
        T = np.asarray(self.core.fixed_point_map(theta))
        rows = [(self.row_scale * (T - self.data.u)).ravel()]
        if self.penalty:
            values = self._values(theta)
            for name, c in self.penalty.items():
                f = values[name]
                rows.append(c * (np.roll(f, -1) - f))
        return np.concatenate(rows)

    def value_jacobians(self, theta: np.ndarray) -> Dict[str, np.ndarray]:
        """{name: (n, p) d (grid values, zero-mean gauge) / d theta} for each learned function."""
        theta = np.asarray(theta, dtype=float)
        out: Dict[str, np.ndarray] = {}
        core_values: Optional[Dict[str, np.ndarray]] = None
        for name in self.names:
            sizes, activation, features, sl = self.nets[name]
            J = np.zeros((self.grid.n, self.n_params))
            if self.jacobian_source == "analytic":
                v, Jn = mlp_jacobian(sizes, activation, theta[sl], features)
                core_values = core_values or self._values(theta)
                ref = core_values[name]
                if np.max(np.abs(v - v.mean() - ref)) > CONSISTENCY_TOL * (1.0 + np.max(np.abs(ref))):
                    self.jacobian_source = "central differences"
                    warnings.warn(
                        "the network values computed for the Jacobian differ from the core's; the Jacobian is "
                        "taken by central differences of the core's values instead (slower)",
                        RuntimeWarning,
                        stacklevel=user_stacklevel(),
                    )
                    return self.value_jacobians(theta)
                J[:, sl] = Jn - Jn.mean(axis=0)
            else:
                for j in range(sl.start, sl.stop):
                    step = 1e-6 * (1.0 + abs(theta[j]))
                    up, down = theta.copy(), theta.copy()
                    up[j] += step
                    down[j] -= step
                    J[:, j] = (self._values(up)[name] - self._values(down)[name]) / (2 * step)
            out[name] = J
        return out

    def values_jacobian(self, theta: np.ndarray) -> np.ndarray:
        """A = d residual / d (grid values of the learned functions, stacked in self.names order):
        (n_rows, n x len(names)). The softmax's Jacobian dT/dPhi = -(diag(T) - (h/M) T T^T) / sigma
        at the core's T, times dPhi/dV = I and dPhi/dW = kappa h circulant(u_s)."""
        theta = np.ascontiguousarray(theta, dtype=float)
        d, h, n = self.data, self.grid.h, self.grid.n
        T = np.asarray(self.core.fixed_point_map(theta))
        lag = (np.arange(n)[:, None] - np.arange(n)[None, :]) % n
        k = len(self.names)
        blocks = []
        for s in range(len(d)):
            G = np.empty((n, n * k))
            for j, name in enumerate(self.names):
                G[:, j * n : (j + 1) * n] = np.eye(n) if name == "V" else self.kappa * h * d.u[s][lag]
            t = T[s][:, None]
            dT = -(t * G - (h / d.mass[s]) * t * (T[s] @ G)[None, :]) / d.sigma[s]
            blocks.append(self.row_scale[s][:, None] * dT)
        for penalised, c in self.penalty.items():
            j = self.names.index(penalised)
            block = np.zeros((n, n * k))
            eye = np.eye(n)
            block[:, j * n : (j + 1) * n] = c * (np.roll(eye, -1, axis=0) - eye)
            blocks.append(block)
        return np.concatenate(blocks)

    def values_jacobian_times(self, theta: np.ndarray, X: np.ndarray) -> np.ndarray:
        """A @ X without forming A (values_jacobian): X (n x len(names), q) -> (n_rows, q). The
        circulants of the states are applied by FFT, so a step costs O(S n log n q) and no n x n
        block is held: large grids fit in memory."""
        theta = np.ascontiguousarray(theta, dtype=float)
        d, h, n = self.data, self.grid.h, self.grid.n
        T = np.asarray(self.core.fixed_point_map(theta))
        parts = {name: X[j * n : (j + 1) * n] for j, name in enumerate(self.names)}
        W_hat = np.fft.rfft(parts["W"], axis=0) if "W" in parts else None
        blocks = []
        for s in range(len(d)):
            GX = np.zeros((n, X.shape[1]))
            if "V" in parts:
                GX += parts["V"]
            if W_hat is not None:  # sum_j u_s[(i - j) mod n] X_W[j]: a circular convolution
                u_hat = np.fft.rfft(d.u[s])
                GX += self.kappa * h * np.fft.irfft(u_hat[:, None] * W_hat, n=n, axis=0)
            t = T[s][:, None]
            dT = -(t * GX - (h / d.mass[s]) * t * (T[s] @ GX)[None, :]) / d.sigma[s]
            blocks.append(self.row_scale[s][:, None] * dT)
        for penalised, c in self.penalty.items():
            Xj = parts[penalised]
            blocks.append(c * (np.roll(Xj, -1, axis=0) - Xj))
        return np.concatenate(blocks)

    def networks_jacobian(self, theta: np.ndarray) -> np.ndarray:
        """N = d (stacked grid values) / d theta: (n x len(names), n_params)."""
        J = self.value_jacobians(theta)
        return np.concatenate([J[name] for name in self.names])

    def jacobian(self, theta: np.ndarray) -> np.ndarray:
        """d residual / d theta = A N: (n_rows, n_params)."""
        return np.asarray(self.values_jacobian(theta) @ self.networks_jacobian(theta))


WEIGHT_DAMPING = 1e-4  # c: the weight term of the damping, relative to the largest singular value^2 of N
STALL_TRIALS = 40  # consecutive rejected trials (mu grown by 2^40 and more) that end the run


def levenberg_marquardt(
    problem: NetworkResidual, start: np.ndarray, max_steps: int, on_step: Optional[Any] = None
) -> Dict[str, Any]:
    """Levenberg-Marquardt with function-space damping (see the module docstring) from ``start``,
    at most ``max_steps`` trial steps. Returns {"x", "loss", "iterations" (accepted steps),
    "trials", "message", "history" [(trial, loss)], "wall_time"}. Ctrl-C keeps the last accepted
    iterate, with message "interrupted (Ctrl-C)". on_step(trial, loss) is called after each trial."""
    t0 = time.perf_counter()
    x = np.array(start, dtype=float)
    r = problem.residual(x)
    f = float(r @ r)
    history: List[Tuple[int, float]] = [(0, f)]
    accepted, trial, message = 0, 0, f"stopped at lm_steps = {max_steps}"

    def model_at(z: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        U, S, Vt = np.linalg.svd(problem.networks_jacobian(z), full_matrices=False)
        return problem.values_jacobian_times(z, U * S), S, Vt

    try:
        if not np.isfinite(f):
            raise FloatingPointError
        B, S, Vt = model_at(x)
        damping = S * S + WEIGHT_DAMPING * (S[0] ** 2 if S.size and S[0] > 0 else 1.0)
        BtB = B.T @ B
        mu, nu, rejected = 1e-3 * float(np.max(np.diag(BtB), initial=1.0)), 2.0, 0
        while trial < max_steps:
            if f == 0.0:
                message = "the loss is zero"
                break
            trial += 1
            g = B.T @ r
            try:
                z = -np.linalg.solve(BtB + mu * np.diag(damping), g)
            except np.linalg.LinAlgError:
                z = np.zeros_like(g)
            r_new = problem.residual(x + Vt.T @ z)
            f_new = float(r_new @ r_new)
            Bz = B @ z
            predicted = -(2.0 * float(z @ g) + float(Bz @ Bz))
            rho = (f - f_new) / predicted if predicted > 0 and np.isfinite(f_new) else -1.0
            if rho > 0:
                x, r, f = x + Vt.T @ z, r_new, f_new
                accepted += 1
                mu *= max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
                nu, rejected = 2.0, 0
                B, S, Vt = model_at(x)
                damping = S * S + WEIGHT_DAMPING * (S[0] ** 2 if S.size and S[0] > 0 else 1.0)
                BtB = B.T @ B
            else:
                mu *= nu
                nu *= 2.0
                rejected += 1
                if rejected >= STALL_TRIALS or not np.isfinite(mu):
                    message = "no step decreases the loss (converged to round-off)"
                    break
            history.append((trial, f))
            if on_step is not None:
                on_step(trial, f)
    except KeyboardInterrupt:
        message = "interrupted (Ctrl-C)"
    except FloatingPointError:
        message = "the loss is not finite at the start"
    return {
        "x": x,
        "loss": f,
        "iterations": accepted,
        "trials": trial,
        "message": message,
        "history": history,
        "wall_time": time.perf_counter() - t0,
    }
