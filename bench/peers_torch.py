"""The benchmark steps written plainly in PyTorch (eager), as the BiLO reference code does:
derivatives in the inputs by nested ``torch.autograd.grad(..., create_graph=True)``.

Losses match pinnbilo's Trainer:
  PINN        w_res mean r^2 + w_data mean (u - d)^2          -> weights and parameters
  BiLO lower  w_res mean r^2 + w_rgrad mean |dr/da|^2          -> weights
  BiLO upper  w_data mean (u(z, a) - d)^2                      -> parameters (network input)
dr/da is the total derivative (explicit and through the network input); it is taken per point
through a per-point copy of each parameter, which the residual and the network input share.
"""

from __future__ import annotations

import math
from typing import Callable, Dict, List, Tuple

import numpy as np
import torch
from cases import Case


def _mlp(layers: List[Tuple[torch.Tensor, torch.Tensor]], h: torch.Tensor) -> torch.Tensor:
    for i, (w, b) in enumerate(layers):
        h = h @ w.T + b
        if i + 1 < len(layers):
            h = torch.tanh(h)
    return h[:, 0]


def _d(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return torch.autograd.grad(y.sum(), x, create_graph=True)[0]


class TorchStep:
    """Loss, gradients and Adam update of one case; weights from pinnbilo's [(W, b), ...]."""

    def __init__(
        self,
        case: Case,
        layers: List[Tuple[np.ndarray, np.ndarray]],
        params: List[float],
        colloc: np.ndarray,
        data_pts: np.ndarray,
        data_vals: np.ndarray,
        weights: Dict[str, float],
        lr: float = 1e-3,
    ) -> None:
        dt = torch.float64 if case.dtype == "float64" else torch.float32
        self.case = case
        self.w = weights
        self.layers = [
            (torch.tensor(w, dtype=dt, requires_grad=True), torch.tensor(b, dtype=dt, requires_grad=True))
            for w, b in layers
        ]
        self.params = [torch.tensor(p, dtype=dt, requires_grad=True) for p in params]
        self.colloc = torch.tensor(colloc, dtype=dt)
        self.data_pts = torch.tensor(data_pts, dtype=dt)
        self.data_vals = torch.tensor(data_vals, dtype=dt)
        flat = [t for wb in self.layers for t in wb]
        self.opt_w = torch.optim.Adam(flat, lr=lr)
        self.opt_p = torch.optim.Adam(self.params, lr=lr)
        self.bilo = case.method == "bilo"
        self.transform, self.residual = _problem(case.problem)

    # -- losses ---------------------------------------------------------------------------------
    def _u(self, coords: List[torch.Tensor], pvals: List[torch.Tensor]) -> torch.Tensor:
        n = coords[0].shape[0]
        inputs = [c[:, None] for c in coords]
        if self.bilo:
            inputs += [p.reshape(-1, 1).expand(n, 1) if p.dim() == 0 else p[:, None] for p in pvals]
        net = _mlp(self.layers, torch.cat(inputs, dim=1))
        return self.transform(coords, net)

    def residual_losses(self) -> Tuple[torch.Tensor, torch.Tensor]:
        """(L_res, L_rgrad) at the collocation points; L_rgrad is 0 for PINN."""
        coords = [self.colloc[:, j].clone().requires_grad_(True) for j in range(self.colloc.shape[1])]
        n = coords[0].shape[0]
        if self.bilo:  # per-point copies: dr_i/da depends on copy i only
            pv = [p.detach().expand(n).clone().requires_grad_(True) for p in self.params]
        else:
            pv = self.params
        u = self._u(coords, pv)
        r = self.residual(coords, pv, u)
        l_res = (r * r).mean()
        if not self.bilo:
            return l_res, torch.zeros((), dtype=r.dtype)
        grads = torch.autograd.grad(r.sum(), pv, create_graph=True)
        l_rgrad = sum((g * g).sum() for g in grads) / n
        return l_res, l_rgrad

    def data_loss(self) -> torch.Tensor:
        coords = [self.data_pts[:, j] for j in range(self.data_pts.shape[1])]
        u = self._u(coords, self.params)
        e = u - self.data_vals
        return (e * e).mean()

    def objectives(self) -> Dict[str, object]:
        """Float64 check values: losses and flat gradients in pinnbilo's order."""
        flat = [t for wb in self.layers for t in wb]
        out: Dict[str, object] = {}
        l_res, l_rgrad = self.residual_losses()
        l_data = self.data_loss()
        if self.bilo:
            lower = self.w["w_res"] * l_res + self.w["w_rgrad"] * l_rgrad
            g = torch.autograd.grad(lower, flat)
            out["lower"] = (float(lower.detach()), _flatten(g))
            upper = self.w["w_data"] * l_data
            gp = torch.autograd.grad(upper, self.params)
            out["upper"] = (float(upper.detach()), np.array([float(x.detach()) for x in gp]))
        else:
            total = self.w["w_res"] * l_res + self.w["w_data"] * l_data
            g = torch.autograd.grad(total, flat + self.params)
            out["pinn"] = (
                float(total.detach()),
                np.concatenate([_flatten(g[: len(flat)]), [float(x.detach()) for x in g[len(flat) :]]]),
            )
        return out

    # -- one training step -------------------------------------------------------------------------
    def step(self) -> None:
        self.opt_w.zero_grad(set_to_none=True)
        self.opt_p.zero_grad(set_to_none=True)
        l_res, l_rgrad = self.residual_losses()
        if self.bilo:
            flat = [t for wb in self.layers for t in wb]
            lower = self.w["w_res"] * l_res + self.w["w_rgrad"] * l_rgrad
            gw = torch.autograd.grad(lower, flat)
            upper = self.w["w_data"] * self.data_loss()
            gp = torch.autograd.grad(upper, self.params)
            for t, g in zip(flat, gw):
                t.grad = g
            for t, g in zip(self.params, gp):
                t.grad = g
        else:
            total = self.w["w_res"] * l_res + self.w["w_data"] * self.data_loss()
            total.backward()
        self.opt_w.step()
        self.opt_p.step()


def _flatten(gs) -> np.ndarray:
    return np.concatenate([g.detach().cpu().numpy().ravel() for g in gs])


def _problem(name: str) -> Tuple[Callable, Callable]:
    """(transform(coords, N), residual(coords, params, u)) with derivatives by nested autograd."""
    if name == "ode":

        def transform(c, net):
            return 1.0 + c[0] * net

        def residual(c, p, u):
            return _d(u, c[0]) - p[0] * u

        return transform, residual

    def transform_f(c, net):
        x, t = c
        return 0.5 * torch.sin(math.pi * x) ** 2 + t * x * (1.0 - x) * net

    def residual_f(c, p, u):
        x, t = c
        u_x = _d(u, x)
        u_xx = _d(u_x, x)
        u_t = _d(u, t)
        return u_t - p[0] * u_xx - p[1] * u * (1.0 - u)

    return transform_f, residual_f
