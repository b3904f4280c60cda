"""1-D variable-coefficient Poisson problem by conservative finite differences."""

from __future__ import annotations

from typing import Tuple

import numpy as np
from scipy.linalg import solve_banded  # type: ignore[import-untyped]  # no scipy stubs

from ..errors import InputError
from ._validate import Coefficient, check_interval, check_scalar, check_size, evaluate, grid, power_of_two_scale
from .grid import GridSolution


def solve_poisson_1d(
    D: Coefficient,
    source: Coefficient,
    n: int = 2001,
    left: float = 0.0,
    right: float = 0.0,
    domain: Tuple[float, float] = (0.0, 1.0),
) -> GridSolution:
    """Solve ``(D(x) u_x)_x = source(x)`` on ``domain`` with ``u = left`` / ``right`` at the ends.

    Args:
        D: positive diffusivity, a float or a callable ``D(x)`` mapping an array of shape (m,)
            to shape (m,); it must be positive and finite at every node and cell midpoint.
        source: right-hand side, a float or a callable ``source(x)`` (m,) -> (m,).
        n: number of equispaced nodes, including both ends (at least 4, at most 10 000 000).
        left, right: Dirichlet values at ``domain[0]`` and ``domain[1]``.
        domain: interval (lo, hi) with lo < hi.

    Returns:
        GridSolution with axes ``(x,)`` and values of shape (n,).

    The scheme evaluates D at the cell midpoints (flux form), so it is conservative and
    second-order accurate for smooth D; the tridiagonal system is solved by
    ``scipy.linalg.solve_banded``.
    """
    n = check_size(n, "n", 4)
    lo, hi = check_interval(domain, "domain")
    left = check_scalar(left, "left")
    right = check_scalar(right, "right")

    _, h = grid(lo, hi, n, "domain", "n")  # the nodes resolve in float64 and h^2 is a normal number

    # Nodes and midpoints in one array so D is evaluated (and validated) at both with one call.
    fine = np.linspace(lo, hi, 2 * n - 1)
    d_mid = evaluate(D, (fine,), "D", positive=True)[1::2]  # D_{i+1/2}, shape (n-1,)
    x = fine[::2]
    f = evaluate(source, (x,), "source")

    # Interior row i: (D_{i+1/2}(u_{i+1} - u_i) - D_{i-1/2}(u_i - u_{i-1})) / h^2 = f_i, divided by a power
    # of two near max D (exact), so the matrix entries lie in (0, 4) whatever the scale of D.
    scale = power_of_two_scale(d_mid)
    m = n - 2
    with np.errstate(all="ignore"):  # overflow is checked below, with a message
        dm = d_mid / scale
        ab = np.zeros((3, m))
        ab[0, 1:] = dm[1:-1]  # superdiagonal: D_{i+1/2}
        ab[1, :] = -(dm[:-1] + dm[1:])
        ab[2, :-1] = dm[1:-1]  # subdiagonal: D_{i-1/2}
        rhs = h * h * f[1:-1] / scale
        rhs[0] -= dm[0] * left
        rhs[-1] -= dm[-1] * right
    if not (np.all(np.isfinite(rhs)) and np.all(ab[1, :] < 0.0)):
        raise InputError(
            "the scales of D, source, left/right and the domain do not fit float64 (source * h^2 / D overflows, "
            "or D spans too many orders of magnitude); rescale the problem"
        )

    u = np.empty(n)
    u[0], u[-1] = left, right
    try:
        with np.errstate(all="ignore"):
            u[1:-1] = solve_banded((1, 1), ab, rhs)
    except (ValueError, np.linalg.LinAlgError) as exc:
        raise InputError(f"the Poisson system could not be solved ({exc}); check the scales of D and source") from None
    if not np.all(np.isfinite(u)):
        raise InputError(
            "the solution overflows float64; the scales of D, source, left/right and the domain are too far apart"
        )
    return GridSolution((x,), u)
