"""The benchmark steps in JAX: one jitted function per step (losses, gradients, Adam update).

Three ways to get the input derivatives, all timed, the fastest reported as "best JAX":
  "rev":    per-point functions, nested reverse mode (jax.grad; jax.jacrev for the fields of a
            system), vmapped over points (reverse over reverse);
  "fwdrev": per-point functions, first input derivatives by reverse mode and second ones by
            forward mode over them (jax.jvp of jax.grad, the Hessian-vector form), dr/da by
            forward mode (jax.jacfwd), vmapped over points;
  "fwd":    nested forward-mode jax.jvp over the whole batch (Taylor-like, forward over
            forward); for BiLO the parameter tangents are vmapped over, so the primal runs once.
Every variant jits the whole step (losses, gradients, Adam update) as one function.
Losses as in peers_torch / pinnbilo's Trainer; dr/da is the total derivative per point; parameters
are trained in their raw values r, a = bound(g r).
"""

from __future__ import annotations

import math
from typing import Callable, Dict, List, Tuple

import jax
import jax.numpy as jnp
import numpy as np
from cases import Case, StepInputs

jax.config.update("jax_enable_x64", True)


def _mlp(layers, h):
    for i, (w, b) in enumerate(layers):
        h = h @ w.T + b
        if i + 1 < len(layers):
            h = jnp.tanh(h)
    return h


def _physical(raw, bounds: List[Tuple[float, float, float]]):
    """pinnbilo's bound transform of each raw value (bounds open; gain g)."""
    out = []
    for j, (lo, hi, gain) in enumerate(bounds):
        s = gain * raw[j]
        if math.isfinite(lo) and math.isfinite(hi):
            out.append(lo + (hi - lo) * jax.nn.sigmoid(s))
        elif math.isfinite(lo):
            out.append(lo + jax.nn.softplus(s))
        elif math.isfinite(hi):
            out.append(hi - jax.nn.softplus(-s))
        else:
            out.append(s)
    return jnp.stack(out)


def _adam(x, g, m, v, t, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    m = jax.tree_util.tree_map(lambda m_, g_: b1 * m_ + (1 - b1) * g_, m, g)
    v = jax.tree_util.tree_map(lambda v_, g_: b2 * v_ + (1 - b2) * g_ * g_, v, g)
    c1, c2 = 1 - b1**t, 1 - b2**t
    x = jax.tree_util.tree_map(lambda x_, m_, v_: x_ - lr * (m_ / c1) / (jnp.sqrt(v_ / c2) + eps), x, m, v)
    return x, m, v


class JaxStep:
    """Loss, gradients and Adam update of one case, jitted; ``variant`` is 'rev', 'fwdrev' or 'fwd'."""

    def __init__(self, case: Case, inputs: StepInputs, variant: str = "fwd") -> None:
        dt = jnp.float64 if case.dtype == "float64" else jnp.float32
        self.case = case
        self.bilo = case.method == "bilo"
        self.layers = [(jnp.asarray(w, dtype=dt), jnp.asarray(b, dtype=dt)) for w, b in inputs.layers]
        self.params = jnp.asarray(inputs.raw, dtype=dt)  # raw values
        self.bounds = inputs.bounds
        self.colloc = jnp.asarray(inputs.colloc, dtype=dt)
        self.data_pts = jnp.asarray(inputs.obs_points, dtype=dt)
        self.data_vals = jnp.asarray(inputs.obs_values, dtype=dt)
        self.data_field = jnp.asarray(inputs.obs_field)
        self.w = inputs.weights
        self.n_coords = inputs.colloc.shape[1]
        scale_in = _input_map(inputs, dt)
        residual = {"rev": _residual_rev, "fwdrev": _residual_fwdrev, "fwd": _residual_fwd}[variant]
        self._res = residual(case.problem, self.bilo, scale_in)
        self._u_batch = _u_batch(case.problem, self.bilo, scale_in)
        self.state = (
            self.layers,
            self.params,
            jax.tree_util.tree_map(jnp.zeros_like, self.layers),
            jax.tree_util.tree_map(jnp.zeros_like, self.layers),
            jnp.zeros_like(self.params),
            jnp.zeros_like(self.params),
            jnp.asarray(0.0, dtype=dt),
        )
        self._step = jax.jit(self._make_step())
        self._objectives = jax.jit(self._make_objectives())

    # -- losses (at raw parameters) -------------------------------------------------------------
    def _lower(self, layers, raw):
        r, dr = self._res(layers, _physical(raw, self.bounds), self.colloc)
        n = self.colloc.shape[0]
        l_res = jnp.sum(r * r) / n  # r: (n,) or (n, n_residuals)
        l_rgrad = jnp.sum(dr * dr) / n if self.bilo else 0.0
        return self.w["w_res"] * l_res + (self.w["w_rgrad"] * l_rgrad if self.bilo else 0.0), l_res

    def _data(self, layers, raw):
        u = self._u_batch(layers, _physical(raw, self.bounds), self.data_pts)
        e = jnp.take_along_axis(u, self.data_field[:, None], axis=1)[:, 0] - self.data_vals
        return jnp.mean(e * e)

    def _make_objectives(self):
        def objectives(layers, params):
            if self.bilo:
                lower, g_lower = jax.value_and_grad(lambda L: self._lower(L, params)[0])(layers)
                upper, g_upper = jax.value_and_grad(lambda p: self.w["w_data"] * self._data(layers, p))(params)
                return {"lower": (lower, g_lower), "upper": (upper, g_upper)}

            def total(L, p):
                return self.w["w_res"] * self._lower(L, p)[1] + self.w["w_data"] * self._data(L, p)

            val, (gl, gp) = jax.value_and_grad(total, argnums=(0, 1))(layers, params)
            return {"pinn": (val, (gl, gp))}

        return objectives

    def _make_step(self):
        def step(state):
            layers, params, mw, vw, mp, vp, t = state
            t = t + 1
            if self.bilo:
                g_w = jax.grad(lambda L: self._lower(L, params)[0])(layers)
                g_p = jax.grad(lambda p: self.w["w_data"] * self._data(layers, p))(params)
            else:

                def total(L, p):
                    return self.w["w_res"] * self._lower(L, p)[1] + self.w["w_data"] * self._data(L, p)

                g_w, g_p = jax.grad(total, argnums=(0, 1))(layers, params)
            layers, mw, vw = _adam(layers, g_w, mw, vw, t)
            params, mp, vp = _adam(params, g_p, mp, vp, t)
            return (layers, params, mw, vw, mp, vp, t)

        return step

    def objectives(self) -> Dict[str, Tuple[float, np.ndarray]]:
        out = self._objectives(self.layers, self.params)
        flat = {}
        for k, (val, g) in out.items():
            if k == "pinn":
                gl, gp = g
                vec = np.concatenate([_flatten(gl), np.asarray(gp).ravel()])
            elif k == "lower":
                vec = _flatten(g)
            else:
                vec = np.asarray(g).ravel()
            flat[k] = (float(val), vec)
        return flat

    def step(self) -> None:
        self.state = self._step(self.state)
        jax.block_until_ready(self.state)


def _flatten(layers) -> np.ndarray:
    return np.concatenate([np.concatenate([np.asarray(w).ravel(), np.asarray(b).ravel()]) for w, b in layers])


def _input_map(inputs: StepInputs, dt) -> Callable:
    """z -> the network's coordinate inputs (z - shift) * scale (the identity without a map)."""
    if inputs.input_shift is None or inputs.input_scale is None:
        return lambda z: z
    shift, scale = jnp.asarray(inputs.input_shift, dtype=dt), jnp.asarray(inputs.input_scale, dtype=dt)
    return lambda z: (z - shift) * scale


def _transform(problem: str) -> Callable:
    """(z (..., n_coords), N (..., n_fields)) -> fields (..., n_fields)."""
    if problem == "ode":
        return lambda z, net: 1.0 + z[..., :1] * net
    if problem == "lorenz":
        return lambda z, net: jnp.asarray([-8.0, 7.0, 27.0], dtype=net.dtype) + z[..., :1] * net
    return lambda z, net: 0.5 * jnp.sin(math.pi * z[..., :1]) ** 2 + z[..., 1:2] * z[..., :1] * (1.0 - z[..., :1]) * net


def _u_batch(problem: str, bilo: bool, scale_in: Callable) -> Callable:
    """Fields (n, n_fields) at a batch of points z (n, n_coords) with parameters p (n_params,)."""
    tr = _transform(problem)

    def u(layers, p, z):
        zi = scale_in(z)
        inp = jnp.concatenate([zi, jnp.broadcast_to(p, (z.shape[0], p.shape[0]))], axis=1) if bilo else zi
        return tr(z, _mlp(layers, inp))

    return u


def _r_from(problem: str, p, u, u_t, u_xx):
    """Residuals from the fields and their derivatives (last axis: fields); Lorenz: (..., 3)."""
    if problem == "ode":
        return u_t[..., 0] - p[0] * u[..., 0]
    if problem == "lorenz":
        x, y, z = u[..., 0], u[..., 1], u[..., 2]
        return jnp.stack(
            [u_t[..., 0] - p[0] * (y - x), u_t[..., 1] - x * (p[1] - z) + y, u_t[..., 2] - x * y + p[2] * z], axis=-1
        )
    v = u[..., 0]
    return u_t[..., 0] - p[0] * u_xx[..., 0] - p[1] * v * (1.0 - v)


def _residual_rev(problem: str, bilo: bool, scale_in: Callable) -> Callable:
    """(r (n, ...), dr/da (n, ..., n_params)) by nested reverse mode of per-point functions, vmapped."""
    tr = _transform(problem)

    def u_point(layers, p, z):  # z (n_coords,), p (n_params,) -> fields (n_fields,)
        zi = scale_in(z)
        inp = jnp.concatenate([zi, p]) if bilo else zi
        return tr(z, _mlp(layers, inp[None, :])[0])

    def r_point(layers, p, z):
        u = u_point(layers, p, z)
        if problem == "lorenz":
            u_t = jax.jacrev(u_point, argnums=2)(layers, p, z)[:, 0]
            return _r_from(problem, p, u, u_t, None)
        g = jax.grad(lambda zz: u_point(layers, p, zz)[0])
        if problem == "ode":
            return _r_from(problem, p, u, g(z)[:1], None)
        u_t = g(z)[1:2]
        u_xx = jax.grad(lambda zz: g(zz)[0])(z)[:1]
        return _r_from(problem, p, u, u_t, u_xx)

    def res(layers, p, zs):
        r = jax.vmap(lambda z: r_point(layers, p, z))(zs)
        d_da = jax.jacrev if problem == "lorenz" else jax.grad  # several residuals, or one
        dr = jax.vmap(lambda z: d_da(r_point, argnums=1)(layers, p, z))(zs) if bilo else None
        return r, dr

    return res


def _residual_fwdrev(problem: str, bilo: bool, scale_in: Callable) -> Callable:
    """(r (n, ...), dr/da) per point: input derivatives by jvp over grad, dr/da by jacfwd; vmapped."""
    tr = _transform(problem)

    def u_point(layers, p, z):
        zi = scale_in(z)
        inp = jnp.concatenate([zi, p]) if bilo else zi
        return tr(z, _mlp(layers, inp[None, :])[0])

    def r_point(layers, p, z):
        u = u_point(layers, p, z)
        if problem == "lorenz":  # three fields of one input: forward mode in t
            u_t = jax.jvp(lambda zz: u_point(layers, p, zz), (z,), (jnp.ones_like(z),))[1]
            return _r_from(problem, p, u, u_t, None)
        g = jax.grad(lambda zz: u_point(layers, p, zz)[0])
        if problem == "ode":
            return _r_from(problem, p, u, g(z)[:1], None)
        ex = jnp.zeros_like(z).at[0].set(1.0)
        gz, hx = jax.jvp(g, (z,), (ex,))  # grad and its derivative along x: (u_x, u_t), (u_xx, u_tx)
        return _r_from(problem, p, u, gz[1:2], hx[:1])

    def res(layers, p, zs):
        r = jax.vmap(lambda z: r_point(layers, p, z))(zs)
        dr = jax.vmap(lambda z: jax.jacfwd(r_point, argnums=1)(layers, p, z))(zs) if bilo else None
        return r, dr

    return res


def _residual_fwd(problem: str, bilo: bool, scale_in: Callable) -> Callable:
    """(r, dr/da) by nested forward-mode jvp over the batch; the parameter tangents vmapped."""
    tr = _transform(problem)

    def r_batch(layers, pb, zs):  # pb: (n, n_params) per-point parameter copies
        def u_of(z, pp):
            zi = scale_in(z)
            inp = jnp.concatenate([zi, pp], axis=1) if bilo else zi
            return tr(z, _mlp(layers, inp))

        def along(i):
            e = jnp.zeros_like(zs).at[:, i].set(1.0)
            return lambda z: jax.jvp(lambda zz: u_of(zz, pb), (z,), (e,))[1]

        u = u_of(zs, pb)
        if problem in ("ode", "lorenz"):
            return _r_from(problem, pb.T, u, along(0)(zs), None)
        ex = jnp.zeros_like(zs).at[:, 0].set(1.0)
        u_t = along(1)(zs)
        u_xx = jax.jvp(along(0), (zs,), (ex,))[1]
        return _r_from(problem, pb.T, u, u_t, u_xx)

    def res(layers, p, zs):
        n = zs.shape[0]
        pb = jnp.broadcast_to(p, (n, p.shape[0]))
        if not bilo:
            return r_batch(layers, pb, zs), None

        def along_param(e):  # e (n_params,): one tangent direction, the same at every point
            return jax.jvp(lambda q: r_batch(layers, q, zs), (pb,), (jnp.broadcast_to(e, pb.shape),))

        # The primal does not depend on the vmapped tangent, so it is computed once.
        r, d = jax.vmap(along_param, out_axes=(None, -1))(jnp.eye(p.shape[0], dtype=pb.dtype))
        return r, d

    return res
