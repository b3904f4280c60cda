"""1-D reaction-diffusion equation by the method of lines with a stiff implicit integrator."""

from __future__ import annotations

from typing import Callable, Optional, Tuple

import numpy as np
import scipy.sparse as sp  # type: ignore[import-untyped]  # no scipy stubs
from scipy.integrate import solve_ivp  # type: ignore[import-untyped]  # no scipy stubs

from ..errors import InputError
from ._validate import check_interval, check_scalar, check_size, evaluate
from .grid import GridSolution

Reaction = Callable[[np.ndarray], np.ndarray]


def solve_reaction_diffusion_1d(
    D: float,
    reaction: Optional[Reaction],
    u0: Callable[[np.ndarray], np.ndarray],
    t_end: float = 1.0,
    nx: int = 201,
    nt: int = 101,
    domain: Tuple[float, float] = (0.0, 1.0),
    left: float = 0.0,
    right: float = 0.0,
    rtol: float = 1e-8,
    atol: float = 1e-10,
    reaction_derivative: Optional[Reaction] = None,
    method: str = "BDF",
) -> GridSolution:
    """Solve ``u_t = D u_xx + reaction(u)`` for t in [0, t_end] with ``u(x, 0) = u0(x)``.

    Args:
        D: positive constant diffusivity.
        reaction: callable mapping u of shape (m,) to shape (m,), or None for the heat equation.
            Fisher-KPP is ``lambda u: rho * u * (1 - u)``.
        u0: initial condition, callable (nx,) -> (nx,); its values at the two ends are replaced
            by the boundary values.
        t_end: final time (> 0).
        nx: number of equispaced nodes in x, including both ends (at least 4).
        nt: number of output times, equispaced in [0, t_end] (at least 4).
        domain: spatial interval (lo, hi).
        left, right: Dirichlet values at the two ends, held for all t.
        rtol, atol: tolerances of ``scipy.integrate.solve_ivp``.
        reaction_derivative: optional derivative of ``reaction`` with respect to u, (m,) -> (m,);
            given, the integrator uses the exact Jacobian, otherwise a sparse difference Jacobian.
        method: "BDF" or "Radau".

    Returns:
        GridSolution with axes ``(x, t)`` and values of shape (nx, nt).

    Space is discretised by second-order central differences, so the error is O(dx^2) plus the
    integrator's tolerance.
    """
    D = check_scalar(D, "D", positive=True)
    if reaction is not None and not callable(reaction):
        raise InputError(f"reaction must be a callable of u or None, got {type(reaction).__name__}")
    if reaction_derivative is not None and (reaction is None or not callable(reaction_derivative)):
        raise InputError("reaction_derivative must be a callable of u, and only given together with reaction")
    if not callable(u0):
        raise InputError(f"u0 must be a callable u0(x), got {type(u0).__name__}")
    t_end = check_scalar(t_end, "t_end", positive=True)
    nx = check_size(nx, "nx", 4)
    nt = check_size(nt, "nt", 4)
    lo, hi = check_interval(domain, "domain")
    left = check_scalar(left, "left")
    right = check_scalar(right, "right")
    rtol = check_scalar(rtol, "rtol", positive=True)
    atol = check_scalar(atol, "atol", positive=True)
    if method not in ("BDF", "Radau"):
        raise InputError(f"method must be 'BDF' or 'Radau', got {method!r}")

    x = np.linspace(lo, hi, nx)
    t = np.linspace(0.0, t_end, nt)
    h = (hi - lo) / (nx - 1)
    v0 = evaluate(u0, (x,), "u0")[1:-1]
    m = nx - 2

    # Interior unknowns v = u[1:-1]; the boundary values enter as a constant forcing.
    lap = sp.diags([np.ones(m - 1), -2.0 * np.ones(m), np.ones(m - 1)], [-1, 0, 1], format="csc") * (D / h**2)
    bc = np.zeros(m)
    bc[0] += D * left / h**2
    bc[-1] += D * right / h**2

    def react(v: np.ndarray, name: str, fn: Reaction) -> np.ndarray:
        r = np.asarray(fn(v), dtype=float)
        if r.shape != v.shape:
            raise InputError(f"{name} must return an array of the shape of u {v.shape}, got {r.shape}")
        return r

    if reaction is None:

        def rhs(_t: float, v: np.ndarray) -> np.ndarray:
            return lap @ v + bc

        options: dict = {"jac": lap}  # linear problem: the Jacobian is the constant Laplacian
    else:
        r0 = react(v0, "reaction", reaction)
        if not np.all(np.isfinite(r0)):
            raise InputError("reaction must be finite at the initial condition")

        def rhs(_t: float, v: np.ndarray) -> np.ndarray:
            return lap @ v + bc + react(v, "reaction", reaction)

        if reaction_derivative is not None:
            react(v0, "reaction_derivative", reaction_derivative)  # shape check before integrating

            def jac(_t: float, v: np.ndarray) -> sp.csc_matrix:
                return lap + sp.diags(react(v, "reaction_derivative", reaction_derivative), format="csc")

            options = {"jac": jac}
        else:
            # Tridiagonal sparsity lets solve_ivp build the Jacobian from 3 differenced calls.
            options = {"jac_sparsity": sp.diags([np.ones(m - 1), np.ones(m), np.ones(m - 1)], [-1, 0, 1])}

    sol = solve_ivp(rhs, (0.0, t_end), v0, method=method, t_eval=t, rtol=rtol, atol=atol, **options)
    if sol.status != 0 or sol.y.shape != (m, nt) or not np.all(np.isfinite(sol.y)):
        raise InputError(
            f"time integration failed ({sol.message}); the reaction term may blow up before t_end = {t_end}: "
            "check reaction and u0, or reduce t_end"
        )
    u = np.empty((nx, nt))
    u[0, :], u[-1, :] = left, right
    u[1:-1, :] = sol.y
    return GridSolution((x, t), u)
