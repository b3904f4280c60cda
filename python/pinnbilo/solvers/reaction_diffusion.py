"""1-D reaction-diffusion equation by the method of lines with a stiff implicit integrator."""

from __future__ import annotations

from typing import Callable, Optional, Tuple

import numpy as np
import scipy.sparse as sp  # type: ignore[import-untyped]  # no scipy stubs
from scipy.integrate import solve_ivp  # type: ignore[import-untyped]  # no scipy stubs

from ..errors import InputError
from ._validate import as_real, check_choice, check_interval, check_scalar, check_size, check_total, evaluate, grid
from .grid import GridSolution

Reaction = Callable[[np.ndarray], np.ndarray]

# Evaluations of the right-hand side and the Jacobian one integration may make: a Fisher-KPP run on
# the unit interval needs a few hundred, a front crossing a domain of length 1000 at rtol 1e-10 about
# 30 000 (14 s at nx = 4001); an integration whose step size has collapsed would go on without end.
MAX_EVALUATIONS = 100_000


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
        nt: number of output times, equispaced in [0, t_end] (at least 4); nx * nt at most 10 000 000.
        domain: spatial interval (lo, hi).
        left, right: Dirichlet values at the two ends, held for all t.
        rtol, atol: tolerances of ``scipy.integrate.solve_ivp`` (0 < rtol < 1; 0 < atol below the size of
            the data, max(1, |u0|, |left|, |right|)).
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
    check_total(nx * nt, f"nx = {nx} nodes times nt = {nt} output times")
    lo, hi = check_interval(domain, "domain")
    left = check_scalar(left, "left")
    right = check_scalar(right, "right")
    rtol = check_scalar(rtol, "rtol", positive=True)
    if rtol >= 1.0:
        raise InputError(f"rtol must be below 1 (a relative tolerance), got {rtol}")
    atol = check_scalar(atol, "atol", positive=True)
    method = check_choice(method, "method", ("BDF", "Radau"))

    x, h = grid(lo, hi, nx, "domain", "nx")
    t = np.linspace(0.0, t_end, nt)
    if not np.all(t[1:] > t[:-1]):
        raise InputError(f"t_end = {t_end} is too small for nt = {nt} distinct output times; use a larger t_end")
    v0 = evaluate(u0, (x,), "u0")[1:-1]
    size = max(1.0, float(np.max(np.abs(v0))), abs(left), abs(right))
    if atol >= size:
        raise InputError(
            f"atol = {atol} is as large as the solution itself (max |u0|, |left|, |right| = {size:.3g} or 1); "
            "an absolute tolerance must be well below the size of u, e.g. 1e-10"
        )
    m = nx - 2
    c = D / (h * h)  # h * h is a normal float (grid checks it); D / (h * h) may overflow to inf
    if not 0.0 < c < np.inf:
        raise InputError(
            f"D / dx^2 = {c:.3g} is not a finite positive float64 (D = {D:.3g}, dx = {h:.3g}); rescale D or the domain"
        )

    # Interior unknowns v = u[1:-1]; the boundary values enter as a constant forcing.
    lap = sp.diags([np.ones(m - 1), -2.0 * np.ones(m), np.ones(m - 1)], [-1, 0, 1], format="csc") * c
    bc = np.zeros(m)
    with np.errstate(all="ignore"):
        bc[0] += c * left
        bc[-1] += c * right
    if not np.all(np.isfinite(bc)):
        raise InputError("D * left / dx^2 or D * right / dx^2 overflows float64; rescale the problem")

    # Every evaluation of the right-hand side and the Jacobian is counted: an integration that needs
    # more is stopped with a message instead of running on (a reaction_derivative that is wrong makes
    # the steps shrink without end).
    calls = [0]

    def tick(t_now: float) -> None:
        calls[0] += 1
        if calls[0] > MAX_EVALUATIONS:
            raise InputError(
                f"time integration failed: it took over {MAX_EVALUATIONS} evaluations of the right-hand side "
                f"without reaching t_end = {t_end} (stopped at t = {t_now:.6g}); the problem may be too stiff or "
                "reaction_derivative wrong: check them, loosen rtol/atol or reduce t_end"
            )

    def react(v: np.ndarray, name: str, fn: Reaction, t_now: Optional[float]) -> np.ndarray:
        at = "at the initial condition" if t_now is None else f"at t = {t_now:.6g}"
        try:
            raw = fn(v)
        except InputError:
            raise
        except Exception as exc:  # a user function failing on the solution is a bad argument
            raise InputError(f"{name} raised {type(exc).__name__} {at}: {exc}") from exc
        r = as_real(raw, f"{name} must return")
        if r.shape != v.shape:
            raise InputError(f"{name} must return an array of the shape of u {v.shape}, got {r.shape}")
        if t_now is not None and not np.all(np.isfinite(r)):
            raise InputError(
                f"time integration failed: {name} returned non-finite values {at} "
                f"(max |u| = {float(np.max(np.abs(v))):.3g}); the reaction term may blow up before t_end = {t_end}, "
                "or be undefined for the values u takes: check reaction and u0, or reduce t_end"
            )
        return r

    def finite(dv: np.ndarray, t_now: float) -> np.ndarray:
        if not np.all(np.isfinite(dv)):
            raise InputError(
                f"time integration failed: u_t overflows float64 at t = {t_now:.6g}; the solution may blow up "
                f"before t_end = {t_end}: check reaction, u0 and the boundary values, or reduce t_end"
            )
        return dv

    if reaction is None:

        def rhs(t_now: float, v: np.ndarray) -> np.ndarray:
            tick(t_now)
            with np.errstate(all="ignore"):
                return finite(lap @ v + bc, t_now)

        options: dict = {"jac": lap}  # linear problem: the Jacobian is the constant Laplacian
    else:
        r0 = react(v0, "reaction", reaction, None)
        if not np.all(np.isfinite(r0)):
            raise InputError("reaction must be finite at the initial condition")

        def rhs(t_now: float, v: np.ndarray) -> np.ndarray:
            tick(t_now)
            with np.errstate(all="ignore"):
                return finite(lap @ v + bc + react(v, "reaction", reaction, t_now), t_now)

        if reaction_derivative is not None:
            j0 = react(v0, "reaction_derivative", reaction_derivative, None)  # checked before integrating
            _check_derivative(reaction, v0, r0, j0)

            def jac(t_now: float, v: np.ndarray) -> sp.csc_matrix:
                tick(t_now)
                return lap + sp.diags(react(v, "reaction_derivative", reaction_derivative, t_now), format="csc")

            options = {"jac": jac}
        else:
            # Tridiagonal sparsity lets solve_ivp build the Jacobian from 3 differenced calls.
            options = {"jac_sparsity": sp.diags([np.ones(m - 1), np.ones(m), np.ones(m - 1)], [-1, 0, 1])}

    try:
        with np.errstate(all="ignore"):
            sol = solve_ivp(rhs, (0.0, t_end), v0, method=method, t_eval=t, rtol=rtol, atol=atol, **options)
    except InputError:
        raise
    except (ArithmeticError, RuntimeError, ValueError, np.linalg.LinAlgError) as exc:  # raised by the integrator
        raise InputError(
            f"time integration failed ({type(exc).__name__}: {exc}); the reaction term may blow up before "
            f"t_end = {t_end}: check reaction, reaction_derivative and u0, or reduce t_end"
        ) from None
    if sol.status != 0 or sol.y.shape != (m, nt) or not np.all(np.isfinite(sol.y)):
        raise InputError(
            f"time integration failed ({sol.message}); the reaction term may blow up before t_end = {t_end}: "
            "check reaction and u0, or reduce t_end"
        )
    u = np.empty((nx, nt))
    u[0, :], u[-1, :] = left, right
    u[1:-1, :] = sol.y
    return GridSolution((x, t), u)


def _check_derivative(reaction: Reaction, v: np.ndarray, r: np.ndarray, j: np.ndarray) -> None:
    """reaction_derivative ``j`` at ``v`` against a central difference of ``reaction``.

    A Jacobian that is wrong does not make the result wrong, but the integrator's Newton iterations
    stall and the step size shrinks until the evaluation limit; this catches the common mistakes
    (a sign, a factor, the derivative of another function) at once. Points where the difference is
    not finite are skipped; the tolerance is loose (a kink exactly at a node can still trip it).
    """
    if not np.all(np.isfinite(j)):
        raise InputError("reaction_derivative must be finite at the initial condition")
    step = 1e-6 * np.maximum(1.0, np.abs(v))
    try:
        with np.errstate(all="ignore"):
            up = as_real(reaction(v + step), "reaction must return")
            down = as_real(reaction(v - step), "reaction must return")
            fd = (up - down) / (2.0 * step)
    except Exception:  # reaction undefined next to u0: nothing to compare with
        return
    if fd.shape != v.shape:
        return
    ok = np.isfinite(fd)
    if not ok.any():
        return
    scale = max(float(np.max(np.abs(fd[ok]))), float(np.max(np.abs(j[ok]))), 1e-8 * max(1.0, float(np.max(np.abs(r)))))
    wrong = ok & (np.abs(j - fd) > 1e-2 * scale)
    if wrong.any():
        i = int(np.argmax(wrong))
        raise InputError(
            f"reaction_derivative does not match reaction: at u = {v[i]:.6g} it gives {j[i]:.6g}, but a central "
            f"difference of reaction gives {fd[i]:.6g}; pass the derivative of reaction with respect to u, or "
            "leave reaction_derivative out"
        )
