"""The benchmark gradients in functional PyTorch (``torch.func``), for peers_torch's "func" and
"compile" forms: the same losses as peers_torch, input derivatives by nested forward mode over the
whole batch (``torch.func.jvp``), dr/da by the parameter tangents vmapped (the primal once), and the
gradients in the weights and raw parameters by ``torch.func.grad`` (reverse over forward).
"""

from __future__ import annotations

import math
from typing import Callable, Dict, Tuple

import numpy as np
import torch
from cases import Case, StepInputs
from peers_torch import _physical as physical  # the bound transform, shared with the autograd form
from torch.func import grad, jvp, vmap

Layers = Tuple[torch.Tensor, ...]  # W0, b0, W1, b1, ...


def _mlp(flat: Layers, h: torch.Tensor) -> torch.Tensor:
    n_layers = len(flat) // 2
    for i in range(n_layers):
        h = h @ flat[2 * i].T + flat[2 * i + 1]
        if i + 1 < n_layers:
            h = torch.tanh(h)
    return h


def _transform(problem: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """(z (n, n_coords), N (n, n_fields)) -> fields (n, n_fields)."""
    if problem == "ode":
        return lambda z, net: 1.0 + z[:, :1] * net
    if problem == "lorenz":
        offset = torch.tensor([-8.0, 7.0, 27.0])
        return lambda z, net: offset.to(net.dtype) + z[:, :1] * net
    return lambda z, net: 0.5 * torch.sin(math.pi * z[:, :1]) ** 2 + z[:, 1:2] * z[:, :1] * (1.0 - z[:, :1]) * net


def _r_from(problem: str, p: torch.Tensor, u, u_t, u_xx) -> torch.Tensor:
    """Residuals (n,) or (n, 3) from fields (n, n_fields) and per-point parameters p (n, n_params)."""
    if problem == "ode":
        return u_t[:, 0] - p[:, 0] * u[:, 0]
    if problem == "lorenz":
        x, y, z = u[:, 0], u[:, 1], u[:, 2]
        return torch.stack(
            [u_t[:, 0] - p[:, 0] * (y - x), u_t[:, 1] - x * (p[:, 1] - z) + y, u_t[:, 2] - x * y + p[:, 2] * z], dim=1
        )
    v = u[:, 0]
    return u_t[:, 0] - p[:, 0] * u_xx[:, 0] - p[:, 1] * v * (1.0 - v)


class FuncGradients:
    """Callable (weights, raw parameters (n_params,)) -> gradients of the step's objectives, one
    per weight tensor and then one 0-d tensor per raw parameter; BiLO: the lower level's in the
    weights and the upper level's in the parameters, PINN: the one objective's in both."""

    def __init__(self, case: Case, inputs: StepInputs, dt: torch.dtype, vmap_params: bool = True) -> None:
        self.vmap_params = vmap_params
        self.problem = case.problem
        self.bilo = case.method == "bilo"
        self.w = inputs.weights
        self.bounds = inputs.bounds
        self.colloc = torch.tensor(inputs.colloc, dtype=dt)
        self.data_pts = torch.tensor(inputs.obs_points, dtype=dt)
        self.data_vals = torch.tensor(inputs.obs_values, dtype=dt)
        self.data_field = torch.tensor(inputs.obs_field, dtype=torch.long)
        n_coords = inputs.colloc.shape[1]
        # One-hot tangents along each coordinate, built once (constants for torch.compile).
        self.coord_dirs = [torch.zeros_like(self.colloc) for _ in range(n_coords)]
        for i, e in enumerate(self.coord_dirs):
            e[:, i] = 1.0
        self.param_dirs = torch.eye(len(inputs.raw), dtype=dt)
        if inputs.input_shift is None or inputs.input_scale is None:
            self.shift = torch.zeros(n_coords, dtype=dt)
            self.scale = torch.ones(n_coords, dtype=dt)
        else:
            self.shift = torch.tensor(inputs.input_shift, dtype=dt)
            self.scale = torch.tensor(inputs.input_scale, dtype=dt)
        self.transform = _transform(case.problem)

    # -- pieces ---------------------------------------------------------------------------------
    def _physical(self, raw: torch.Tensor) -> torch.Tensor:
        return torch.stack([physical(raw[j], bound) for j, bound in enumerate(self.bounds)])

    def _fields(self, flat: Layers, pb: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        zi = (z - self.shift) * self.scale
        inp = torch.cat([zi, pb], dim=1) if self.bilo else zi
        return self.transform(z, _mlp(flat, inp))

    def _residual(self, flat: Layers, pb: torch.Tensor) -> torch.Tensor:
        zs = self.colloc

        # pb rides along with an explicit zero tangent: a closed-over input gets an implicit
        # ZeroTensor tangent, which torch.compile (inductor) cannot lower in reverse mode.
        still = torch.zeros_like(pb)

        def along(i: int) -> Callable[[torch.Tensor], torch.Tensor]:
            return lambda z: jvp(lambda zz, qq: self._fields(flat, qq, zz), (z, pb), (self.coord_dirs[i], still))[1]

        u = self._fields(flat, pb, zs)
        if self.problem in ("ode", "lorenz"):
            return _r_from(self.problem, pb, u, along(0)(zs), None)
        u_t = along(1)(zs)
        u_xx = jvp(along(0), (zs,), (self.coord_dirs[0],))[1]
        return _r_from(self.problem, pb, u, u_t, u_xx)

    def _residual_losses(self, flat: Layers, p: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        n = self.colloc.shape[0]
        pb = p.expand(n, p.shape[0]).contiguous()  # per-point copies (forward mode writes into them)
        if not self.bilo:
            r = self._residual(flat, pb)
            return (r * r).sum() / n, torch.zeros((), dtype=r.dtype)

        def along_param(e: torch.Tensor) -> torch.Tensor:
            return jvp(lambda q: self._residual(flat, q), (pb,), (e.expand(n, e.shape[0]).contiguous(),))[1]

        r = self._residual(flat, pb)
        if self.vmap_params:
            dr = vmap(along_param)(self.param_dirs)
        else:  # one jvp per parameter (inductor cannot lower the vmapped form; it shares the primal itself)
            dr = torch.stack([along_param(e) for e in self.param_dirs.unbind()])
        return (r * r).sum() / n, (dr * dr).sum() / n

    def _data_loss(self, flat: Layers, p: torch.Tensor) -> torch.Tensor:
        pb = p.expand(self.data_pts.shape[0], p.shape[0])
        u = self._fields(flat, pb, self.data_pts)
        e = torch.gather(u, 1, self.data_field[:, None])[:, 0] - self.data_vals
        return (e * e).mean()

    def _lower(self, flat: Layers, raw: torch.Tensor) -> torch.Tensor:
        l_res, l_rgrad = self._residual_losses(flat, self._physical(raw))
        return self.w["w_res"] * l_res + self.w["w_rgrad"] * l_rgrad

    def _upper(self, raw: torch.Tensor, flat: Layers) -> torch.Tensor:
        return self.w["w_data"] * self._data_loss(flat, self._physical(raw))

    def _total(self, flat: Layers, raw: torch.Tensor) -> torch.Tensor:
        p = self._physical(raw)
        return self.w["w_res"] * self._residual_losses(flat, p)[0] + self.w["w_data"] * self._data_loss(flat, p)

    # -- the step's gradients -------------------------------------------------------------------
    def __call__(self, flat: Layers, raw: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        if self.bilo:
            g_w = grad(self._lower)(flat, raw)
            g_p = grad(self._upper)(raw, flat)
        else:
            g_w, g_p = grad(self._total, argnums=(0, 1))(flat, raw)
        return tuple(g_w) + tuple(g_p.unbind())

    def objectives(self, flat: Layers, raw: torch.Tensor) -> Dict[str, Tuple[float, np.ndarray]]:
        """Float64 check values: losses and flat gradients in pinnbilo's order."""

        def vec(gs) -> np.ndarray:
            return np.concatenate([g.detach().numpy().ravel() for g in gs])

        if self.bilo:
            g_w = grad(self._lower)(flat, raw)
            g_p = grad(self._upper)(raw, flat)
            return {
                "lower": (float(self._lower(flat, raw)), vec(g_w)),
                "upper": (float(self._upper(raw, flat)), vec([g_p])),
            }
        g_w, g_p = grad(self._total, argnums=(0, 1))(flat, raw)
        return {"pinn": (float(self._total(flat, raw)), np.concatenate([vec(g_w), vec([g_p])]))}
