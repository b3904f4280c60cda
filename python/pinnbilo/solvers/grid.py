"""Solutions on tensor grids, evaluated anywhere inside the grid by cubic spline interpolation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Tuple

import numpy as np
from scipy.interpolate import make_interp_spline  # type: ignore[import-untyped]  # no scipy stubs

from .._validation import _show
from ..errors import InputError
from ._validate import as_real

try:  # scipy >= 1.12
    from scipy.interpolate import NdBSpline  # type: ignore[import-untyped]  # no scipy stubs
except ImportError:  # pragma: no cover - older scipy
    NdBSpline = None


@dataclass(eq=False)
class GridSolution:
    """A solution on a tensor grid with interpolation.

    ``axes`` are the 1-D coordinate arrays (strictly increasing, at least 4 points each), in the
    order of the problem's coordinates; ``values`` has shape ``tuple(len(a) for a in axes)``, so
    ``values[i, j]`` is the solution at ``(axes[0][i], axes[1][j])``.

    Calling the solution interpolates with a not-a-knot cubic spline along every axis (the
    tensor product of ``scipy.interpolate.make_interp_spline``): exact at the nodes, fourth-order
    accurate between them for smooth data.
    """

    axes: Tuple[np.ndarray, ...]
    values: np.ndarray
    _spline: Any = field(init=False, repr=False, compare=False)  # a scipy spline object, so pickling works

    def __post_init__(self) -> None:
        raw_axes: Any = self.axes  # anything at all: the iteration below is the check
        if isinstance(raw_axes, (str, bytes)):
            raise InputError(f"axes must be a sequence of 1-D coordinate arrays, got {_show(raw_axes)}")
        try:
            listed = list(raw_axes)
        except Exception:  # not iterable, or an __iter__ that raises: a bad argument either way
            raise InputError(
                f"axes must be a sequence of 1-D coordinate arrays, got {type(raw_axes).__name__}"
            ) from None
        axes = tuple(as_real(a, f"axes[{k}] must be") for k, a in enumerate(listed))
        if not axes:
            raise InputError("axes must hold at least one coordinate array")
        for k, a in enumerate(axes):
            if a.ndim != 1 or a.size < 4:
                raise InputError(f"axes[{k}] must be a 1-D array of at least 4 points, got shape {a.shape}")
            if not np.all(np.isfinite(a)) or not np.all(a[1:] > a[:-1]):
                raise InputError(f"axes[{k}] must be finite and strictly increasing")
        values = as_real(self.values, "values must be")
        shape = tuple(a.size for a in axes)
        if values.shape != shape:
            raise InputError(f"values must have shape {shape} (one entry per grid node), got {values.shape}")
        if not np.all(np.isfinite(values)):
            raise InputError("values must be finite")
        try:
            with np.errstate(all="ignore"):
                spline = _tensor_spline(axes, values)
        except (ArithmeticError, ValueError, np.linalg.LinAlgError) as exc:
            raise InputError(f"the grid cannot be interpolated ({exc}); rescale axes and values") from None
        coef = getattr(spline, "c", None)
        if coef is not None and not np.all(np.isfinite(coef)):
            raise InputError(
                "the spline through values overflows float64 (axes spacings or values too extreme); "
                "rescale axes and values"
            )
        self.axes, self.values = axes, values
        self._spline = spline

    @property
    def ndim(self) -> int:
        """Number of coordinates d."""
        return len(self.axes)

    def __call__(self, points: np.ndarray) -> np.ndarray:
        """Interpolated values at ``points`` of shape (n, d), or (n,) when d = 1; returns shape (n,).

        Points must lie inside the grid (up to rounding); anything outside raises InputError.
        """
        d = self.ndim
        p = as_real(points, "points must be")
        if d == 1 and p.ndim == 1:
            p = p[:, None]
        if p.ndim != 2 or p.shape[1] != d:
            want = "(n,) or (n, 1)" if d == 1 else f"(n, {d})"
            raise InputError(f"points must have shape {want}, got {p.shape}")
        if not np.all(np.isfinite(p)):
            raise InputError("points must be finite")
        p = p.copy()
        for k, a in enumerate(self.axes):
            with np.errstate(over="ignore"):
                slack = 1e-12 * (a[-1] - a[0])
            out = (p[:, k] < a[0] - slack) | (p[:, k] > a[-1] + slack)
            if out.any():
                bad = float(p[np.argmax(out), k])
                raise InputError(f"points[:, {k}] = {bad} lies outside the grid [{a[0]}, {a[-1]}]; no extrapolation")
            np.clip(p[:, k], a[0], a[-1], out=p[:, k])
        with np.errstate(all="ignore"):
            result = np.asarray(self._spline(p[:, 0] if d == 1 else p), dtype=float)
        if not np.all(np.isfinite(result)):
            raise InputError("the interpolated values overflow float64; rescale values")
        return result


def _tensor_spline(axes: Tuple[np.ndarray, ...], values: np.ndarray) -> Any:
    """Interpolant of not-a-knot cubic splines along every axis: takes (n,) in 1-D, (n, d) otherwise."""
    if len(axes) == 1:
        return make_interp_spline(axes[0], values, k=3)
    if NdBSpline is None:  # pragma: no cover - older scipy
        from scipy.interpolate import RegularGridInterpolator  # type: ignore[import-untyped]  # no scipy stubs

        return RegularGridInterpolator(axes, values, method="cubic")
    # Tensor-product interpolation is separable: interpolating along each axis in turn gives the
    # coefficients of the d-dimensional spline that reproduces all nodes.
    coef, knots = values, []
    for k, a in enumerate(axes):
        b = make_interp_spline(a, coef, k=3, axis=k)
        knots.append(b.t)
        coef = np.moveaxis(b.c, 0, k)
    return NdBSpline(tuple(knots), coef, 3)
