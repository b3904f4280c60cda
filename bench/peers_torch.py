"""The benchmark steps in PyTorch, in three forms (all timed; the fastest reported as "best PyTorch"):

  "autograd": eager, as the BiLO reference code writes it: derivatives in the inputs by nested
              ``torch.autograd.grad(..., create_graph=True)``;
  "func":     eager ``torch.func``: input derivatives by nested forward mode (``torch.func.jvp``)
              over the whole batch, dr/da by the parameter tangents vmapped, the gradients by
              ``torch.func.grad`` (reverse over forward), as in peers_jax's "fwd" form;
  "compile":  the "func" gradients compiled whole with ``torch.compile`` (inductor, C++ backend).

Every form updates all weights and raw parameters with one fused Adam (``fused=True``: one kernel
for every tensor), PyTorch's fastest documented optimiser on CPU.

Losses match pinnbilo's Trainer (sums over the residuals r_m of a system and over the parameters):
  PINN        w_res mean sum_m r_m^2 + w_data mean (u_f - d)^2          -> weights and raw parameters
  BiLO lower  w_res mean sum_m r_m^2 + w_rgrad mean sum_m |dr_m/da|^2   -> weights
  BiLO upper  w_data mean (u_f(z, a) - d)^2                             -> raw parameters (network input)
The mean of the data term runs over the rows of every observation (field f of row). dr/da is the
total derivative (explicit and through the network input); it is taken per point through a
per-point copy of each parameter, which the residual and the network input share. Parameters
a = bound(g r) are trained in their raw values r, as in pinnbilo.
"""

from __future__ import annotations

import math
from typing import Callable, Dict, List, Tuple

import numpy as np
import torch
from cases import Case, PeerUnavailable, StepInputs


def _mlp(layers: List[Tuple[torch.Tensor, torch.Tensor]], h: torch.Tensor) -> torch.Tensor:
    for i, (w, b) in enumerate(layers):
        h = h @ w.T + b
        if i + 1 < len(layers):
            h = torch.tanh(h)
    return h


def _physical(r: torch.Tensor, bound: Tuple[float, float, float]) -> torch.Tensor:
    """pinnbilo's bound transform of the raw value r (bounds open; gain g)."""
    lo, hi, gain = bound
    s = gain * r
    if math.isfinite(lo) and math.isfinite(hi):
        return lo + (hi - lo) * torch.sigmoid(s)
    if math.isfinite(lo):
        return lo + torch.nn.functional.softplus(s)
    if math.isfinite(hi):
        return hi - torch.nn.functional.softplus(-s)
    return s


def _d(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return torch.autograd.grad(y.sum(), x, create_graph=True)[0]


class TorchStep:
    """Loss, gradients and Adam update of one case; weights from pinnbilo's [(W, b), ...]."""

    def __init__(self, case: Case, inputs: StepInputs, lr: float = 1e-3, variant: str = "autograd") -> None:
        dt = torch.float64 if case.dtype == "float64" else torch.float32
        self.case = case
        self.w = inputs.weights
        self.layers = [
            (torch.tensor(w, dtype=dt, requires_grad=True), torch.tensor(b, dtype=dt, requires_grad=True))
            for w, b in inputs.layers
        ]
        self.params = [torch.tensor(r, dtype=dt, requires_grad=True) for r in inputs.raw]  # raw values
        self.bounds = inputs.bounds
        self.colloc = torch.tensor(inputs.colloc, dtype=dt)
        self.data_pts = torch.tensor(inputs.obs_points, dtype=dt)
        self.data_vals = torch.tensor(inputs.obs_values, dtype=dt)
        self.data_field = torch.tensor(inputs.obs_field, dtype=torch.long)
        self.data_rows = torch.arange(len(inputs.obs_values))
        shift, scale = inputs.input_shift, inputs.input_scale
        self.input_map = None if shift is None or scale is None else list(zip(shift, scale))
        flat = [t for wb in self.layers for t in wb]
        self.opt = torch.optim.Adam(flat + self.params, lr=lr, fused=True)
        self.bilo = case.method == "bilo"
        self.transform, self.residual = _problem(case.problem)
        if variant not in ("autograd", "func", "compile"):
            raise ValueError(f"unknown PyTorch variant {variant!r}")
        self.variant = variant
        if variant != "autograd":
            from peers_torch_func import FuncGradients

            self._func = FuncGradients(case, inputs, dt)
            self._func_grads = self._func
            if variant == "compile":
                self._func_grads = torch.compile(self._func, dynamic=False)
                try:  # compile now, so that the timing starts warm and a failure is reported plainly
                    flat_now = tuple(t.detach() for wb in self.layers for t in wb)
                    self._func_grads(flat_now, torch.stack([p.detach() for p in self.params]))
                except Exception as exc:  # inductor's errors have no common base class
                    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    raise PeerUnavailable(f"torch.compile failed: {first[:160]}") from exc

    # -- losses ---------------------------------------------------------------------------------
    def _physical(self) -> List[torch.Tensor]:
        return [_physical(r, b) for r, b in zip(self.params, self.bounds)]

    def _u(self, coords: List[torch.Tensor], pvals: List[torch.Tensor]) -> List[torch.Tensor]:
        n = coords[0].shape[0]
        if self.input_map is None:
            inputs = [c[:, None] for c in coords]
        else:
            inputs = [((c - shift) * scale)[:, None] for c, (shift, scale) in zip(coords, self.input_map)]
        if self.bilo:
            inputs += [p.reshape(-1, 1).expand(n, 1) if p.dim() == 0 else p[:, None] for p in pvals]
        net = _mlp(self.layers, torch.cat(inputs, dim=1))
        return self.transform(coords, net)

    def residual_losses(self) -> Tuple[torch.Tensor, torch.Tensor]:
        """(L_res, L_rgrad) at the collocation points; L_rgrad is 0 for PINN."""
        coords = [self.colloc[:, j].clone().requires_grad_(True) for j in range(self.colloc.shape[1])]
        n = coords[0].shape[0]
        if self.bilo:  # per-point copies: dr_i/da depends on copy i only
            pv = [p.detach().expand(n).clone().requires_grad_(True) for p in self._physical()]
        else:
            pv = self._physical()
        u = self._u(coords, pv)
        rs = self.residual(coords, pv, u)
        l_res = sum((r * r).sum() for r in rs) / n
        if not self.bilo:
            return l_res, torch.zeros((), dtype=rs[0].dtype)
        l_rgrad = torch.zeros((), dtype=rs[0].dtype)
        for r in rs:
            grads = torch.autograd.grad(r.sum(), pv, create_graph=True)
            l_rgrad = l_rgrad + sum((g * g).sum() for g in grads)
        return l_res, l_rgrad / n

    def data_loss(self) -> torch.Tensor:
        coords = [self.data_pts[:, j] for j in range(self.data_pts.shape[1])]
        u = torch.stack(self._u(coords, self._physical()), dim=1)
        e = u[self.data_rows, self.data_field] - self.data_vals
        return (e * e).mean()

    def objectives(self) -> Dict[str, object]:
        """Float64 check values: losses and flat gradients in pinnbilo's order."""
        flat = [t for wb in self.layers for t in wb]
        if self.variant != "autograd":  # the form's own gradients (compiled: the same graph, eager)
            raw = torch.stack([p.detach() for p in self.params])
            weights = tuple(t.detach() for t in flat)
            if self.variant == "compile":  # the compiled graph must give the eager gradients
                eager, compiled = self._func(weights, raw), self._func_grads(weights, raw)
                worst = max(
                    float((c - e).abs().max() / e.abs().max().clamp_min(1e-300)) for c, e in zip(compiled, eager)
                )
                if not worst <= 1e-10:
                    raise RuntimeError(f"torch.compile changed the gradients (relative {worst:.1e})")
            return self._func.objectives(weights, raw)  # type: ignore[return-value]
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
        if self.variant != "autograd":
            flat = [t for wb in self.layers for t in wb]
            with torch.no_grad():
                gs = self._func_grads(tuple(t.detach() for t in flat), torch.stack([p.detach() for p in self.params]))
            for t, g in zip(flat + self.params, gs):
                t.grad = g
            self.opt.step()
            return
        self.opt.zero_grad(set_to_none=True)
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
        self.opt.step()


def _flatten(gs) -> np.ndarray:
    return np.concatenate([g.detach().cpu().numpy().ravel() for g in gs])


def _problem(name: str) -> Tuple[Callable, Callable]:
    """(transform(coords, N) -> fields, residual(coords, params, fields) -> residuals), derivatives
    by nested autograd; N is the network's output (n, n_fields)."""
    if name == "ode":

        def transform(c, net):
            return [1.0 + c[0] * net[:, 0]]

        def residual(c, p, f):
            (u,) = f
            return [_d(u, c[0]) - p[0] * u]

        return transform, residual

    if name == "lorenz":

        def transform_l(c, net):
            (t,) = c
            return [v + t * net[:, k] for k, v in enumerate((-8.0, 7.0, 27.0))]

        def residual_l(c, p, f):
            (t,) = c
            x, y, z = f
            sigma, rho, beta = p
            return [_d(x, t) - sigma * (y - x), _d(y, t) - x * (rho - z) + y, _d(z, t) - x * y + beta * z]

        return transform_l, residual_l

    def transform_f(c, net):
        x, t = c
        return [0.5 * torch.sin(math.pi * x) ** 2 + t * x * (1.0 - x) * net[:, 0]]

    def residual_f(c, p, f):
        x, t = c
        (u,) = f
        u_x = _d(u, x)
        u_xx = _d(u_x, x)
        u_t = _d(u, t)
        return [u_t - p[0] * u_xx - p[1] * u * (1.0 - u)]

    return transform_f, residual_f
