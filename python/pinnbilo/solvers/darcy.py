"""2-D Darcy (variable-coefficient Poisson) problem by a 5-point finite-volume scheme."""

from __future__ import annotations

import warnings
from typing import Tuple

import numpy as np
import scipy.sparse as sp  # type: ignore[import-untyped]  # no scipy stubs
from scipy.sparse.linalg import MatrixRankWarning, spsolve  # type: ignore[import-untyped]  # no scipy stubs

from ..errors import InputError
from ._validate import (
    Coefficient,
    check_choice,
    check_interval,
    check_pair,
    check_size,
    evaluate,
    grid,
    power_of_two_scale,
)
from .grid import GridSolution

# Nodes per direction: the sparse direct solve of the (n-2)^2 unknowns takes about 2.5 GB and 20 s at
# n = 1025, and time and memory grow faster than n^2; past this it is an allocation failure or a long wait.
MAX_N = 1025


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
        n: nodes per direction, including the boundary (at least 4, at most 1025).
        domain: ``((x_lo, x_hi), (y_lo, y_hi))``.
        face: how the coefficient on a cell face is formed from the two nodes it joins:
            "harmonic" (the default; keeps fluxes right across jumps in f), "arithmetic", or
            "midpoint" (f evaluated at the face centre).

    Returns:
        GridSolution with axes ``(x, y)`` and values of shape (n, n), ``values[i, j] = u(x_i, y_j)``.

    Second-order accurate for smooth f; the sparse system is solved by ``scipy.sparse.linalg.spsolve``.
    """
    n = check_size(n, "n", 4, MAX_N)
    xd, yd = check_pair(domain, "domain", "((x_lo, x_hi), (y_lo, y_hi))")
    (x_lo, x_hi), (y_lo, y_hi) = check_interval(xd, "domain[0]"), check_interval(yd, "domain[1]")
    face = check_choice(face, "face", ("harmonic", "arithmetic", "midpoint"))

    x, hx = grid(x_lo, x_hi, n, "domain[0]", "n")
    y, hy = grid(y_lo, y_hi, n, "domain[1]", "n")
    X, Y = np.meshgrid(x, y, indexing="ij")
    s = evaluate(source, (X, Y), "source")

    # The face coefficients are formed from f divided by a power of two near its maximum (exact), so
    # the harmonic mean cannot overflow and the matrix entries stay in range whatever the scale of f.
    if face == "midpoint":
        xm, ym = 0.5 * (x[:-1] + x[1:]), 0.5 * (y[:-1] + y[1:])
        fx = evaluate(f, tuple(np.meshgrid(xm, y, indexing="ij")), "f", positive=True)  # (n-1, n)
        fy = evaluate(f, tuple(np.meshgrid(x, ym, indexing="ij")), "f", positive=True)  # (n, n-1)
        scale = max(power_of_two_scale(fx), power_of_two_scale(fy))
        fx, fy = fx / scale, fy / scale
    else:
        k = evaluate(f, (X, Y), "f", positive=True)
        scale = power_of_two_scale(k)
        k = k / scale
        with np.errstate(under="ignore"):
            if face == "harmonic":
                fx = 2.0 * k[:-1, :] * k[1:, :] / (k[:-1, :] + k[1:, :])
                fy = 2.0 * k[:, :-1] * k[:, 1:] / (k[:, :-1] + k[:, 1:])
            else:
                fx = 0.5 * (k[:-1, :] + k[1:, :])
                fy = 0.5 * (k[:, :-1] + k[:, 1:])

    # The system times hx hy / scale: -div(f grad u) hx hy / scale = source hx hy / scale.
    with np.errstate(all="ignore"):  # overflow is checked below, with a message
        rx, ry = hy / hx, hx / hy
        rhs = s[1:-1, 1:-1].ravel() * hx * hy / scale
    if not (np.isfinite(rx) and np.isfinite(ry) and rx > 0.0 and ry > 0.0):
        raise InputError(
            f"the grid spacings hx = {hx:.3g} and hy = {hy:.3g} differ too much for float64; rescale domain"
        )
    if not np.all(np.isfinite(rhs)):
        raise InputError(
            "the scales of f, source and the domain do not fit float64 (source * hx * hy / f overflows); "
            "rescale the problem"
        )

    # Interior unknowns (i, j), 1 <= i, j <= n-2, numbered row-major; boundary neighbours are zero.
    m = n - 2
    idx = np.arange(m * m).reshape(m, m)
    with np.errstate(all="ignore"):
        w = fx[:-1, 1:-1] * rx  # west face of interior node (i, j): between i-1 and i
        e = fx[1:, 1:-1] * rx  # east face: between i and i+1
        so = fy[1:-1, :-1] * ry  # south face: between j-1 and j
        no = fy[1:-1, 1:] * ry  # north face: between j and j+1
        diag = (w + e + so + no).ravel()
    if not (np.all(np.isfinite(diag)) and np.all(diag > 0.0)):
        raise InputError(
            "f spans too many orders of magnitude (or the grid is too stretched) for float64; rescale the problem"
        )
    rows = [idx.ravel()]
    cols = [idx.ravel()]
    vals = [diag]
    for coef, di, dj in ((w, -1, 0), (e, 1, 0), (so, 0, -1), (no, 0, 1)):
        ii, jj = np.meshgrid(np.arange(m), np.arange(m), indexing="ij")
        ni, nj = ii + di, jj + dj
        inside = (ni >= 0) & (ni < m) & (nj >= 0) & (nj < m)
        rows.append(idx[inside])
        cols.append(idx[ni[inside], nj[inside]])
        vals.append(-coef[inside])
    A = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(m * m, m * m))
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("error", MatrixRankWarning)
            u_in = spsolve(A, rhs)
    except (MatrixRankWarning, RuntimeError, ValueError) as exc:
        raise InputError(f"the Darcy system could not be solved ({exc}); check the scales of f and source") from None
    if not np.all(np.isfinite(u_in)):
        raise InputError("the solution overflows float64; the scales of f, source and the domain are too far apart")
    u = np.zeros((n, n))
    u[1:-1, 1:-1] = u_in.reshape(m, m)
    return GridSolution((x, y), u)
