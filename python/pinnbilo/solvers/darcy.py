"""2-D Darcy (variable-coefficient Poisson) problem by a 5-point finite-volume scheme."""

from __future__ import annotations

from typing import Tuple

import numpy as np
import scipy.sparse as sp  # type: ignore[import-untyped]  # no scipy stubs
from scipy.sparse.linalg import spsolve  # type: ignore[import-untyped]  # no scipy stubs

from ..errors import InputError
from ._validate import Coefficient, check_interval, check_size, evaluate
from .grid import GridSolution


def solve_darcy_2d(
    f: Coefficient,
    source: Coefficient = 1.0,
    n: int = 129,
    domain: Tuple[Tuple[float, float], Tuple[float, float]] = ((0.0, 1.0), (0.0, 1.0)),
    face: str = "harmonic",
) -> GridSolution:
    """Solve ``-div(f(x, y) grad u) = source`` on a box with ``u = 0`` on its boundary.

    Args:
        f: positive permeability, a float or a callable ``f(x, y)`` taking two arrays of shape
            (n, n) (``indexing="ij"``) and returning shape (n, n); positive and finite at every node
            (and at the face midpoints when ``face="midpoint"``).
        source: a float or a callable ``source(x, y)`` of the same form.
        n: nodes per direction, including the boundary (at least 4).
        domain: ``((x_lo, x_hi), (y_lo, y_hi))``.
        face: how the coefficient on a cell face is formed from the two nodes it joins:
            "harmonic" (the default; keeps fluxes right across jumps in f), "arithmetic", or
            "midpoint" (f evaluated at the face centre).

    Returns:
        GridSolution with axes ``(x, y)`` and values of shape (n, n), ``values[i, j] = u(x_i, y_j)``.

    Second-order accurate for smooth f; the sparse system is solved by ``scipy.sparse.linalg.spsolve``.
    """
    n = check_size(n, "n", 4)
    try:
        xd, yd = domain
    except (TypeError, ValueError):
        raise InputError(f"domain must be ((x_lo, x_hi), (y_lo, y_hi)), got {domain!r}") from None
    (x_lo, x_hi), (y_lo, y_hi) = check_interval(xd, "domain[0]"), check_interval(yd, "domain[1]")
    if face not in ("harmonic", "arithmetic", "midpoint"):
        raise InputError(f"face must be 'harmonic', 'arithmetic' or 'midpoint', got {face!r}")

    x = np.linspace(x_lo, x_hi, n)
    y = np.linspace(y_lo, y_hi, n)
    hx, hy = x[1] - x[0], y[1] - y[0]
    X, Y = np.meshgrid(x, y, indexing="ij")
    s = evaluate(source, (X, Y), "source")

    if face == "midpoint":
        xm, ym = 0.5 * (x[:-1] + x[1:]), 0.5 * (y[:-1] + y[1:])
        fx = evaluate(f, tuple(np.meshgrid(xm, y, indexing="ij")), "f", positive=True)  # (n-1, n)
        fy = evaluate(f, tuple(np.meshgrid(x, ym, indexing="ij")), "f", positive=True)  # (n, n-1)
    else:
        k = evaluate(f, (X, Y), "f", positive=True)
        if face == "harmonic":
            fx = 2.0 * k[:-1, :] * k[1:, :] / (k[:-1, :] + k[1:, :])
            fy = 2.0 * k[:, :-1] * k[:, 1:] / (k[:, :-1] + k[:, 1:])
        else:
            fx = 0.5 * (k[:-1, :] + k[1:, :])
            fy = 0.5 * (k[:, :-1] + k[:, 1:])

    # Interior unknowns (i, j), 1 <= i, j <= n-2, numbered row-major; boundary neighbours are zero.
    m = n - 2
    idx = np.arange(m * m).reshape(m, m)
    w = fx[:-1, 1:-1] / hx**2  # west face of interior node (i, j): between i-1 and i
    e = fx[1:, 1:-1] / hx**2  # east face: between i and i+1
    so = fy[1:-1, :-1] / hy**2  # south face: between j-1 and j
    no = fy[1:-1, 1:] / hy**2  # north face: between j and j+1
    rows = [idx.ravel()]
    cols = [idx.ravel()]
    vals = [(w + e + so + no).ravel()]
    for coef, di, dj in ((w, -1, 0), (e, 1, 0), (so, 0, -1), (no, 0, 1)):
        ii, jj = np.meshgrid(np.arange(m), np.arange(m), indexing="ij")
        ni, nj = ii + di, jj + dj
        inside = (ni >= 0) & (ni < m) & (nj >= 0) & (nj < m)
        rows.append(idx[inside])
        cols.append(idx[ni[inside], nj[inside]])
        vals.append(-coef[inside])
    A = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(m * m, m * m))
    u_in = spsolve(A, s[1:-1, 1:-1].ravel())
    if not np.all(np.isfinite(u_in)):  # pragma: no cover - A is an M-matrix for positive f
        raise InputError("the Darcy system could not be solved; check f and source")
    u = np.zeros((n, n))
    u[1:-1, 1:-1] = u_in.reshape(m, m)
    return GridSolution((x, y), u)
