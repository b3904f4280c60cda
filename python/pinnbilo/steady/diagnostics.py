"""Identifiability of unknown functions from steady states: which directions the data cannot fix.

The Jacobian of the fixed-point residual r_s = T(u_s) - u_s with respect to the unknown function's
values on the grid tells what the data determine. Constants are removed first (the zero-mean
gauge: constants in V and W change no steady state). On the torus the kernel is diagonal in
Fourier space, (W*u)^_k = L W^_k u^_k, so mode k of W is seen only through u^_k; with V unknown as
well, only through differences u^_{s,k} - u^_{t,k} between states (V absorbs anything common).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

import numpy as np

from .. import _validation as check
from .._warnings import user_stacklevel
from ..errors import InputError
from . import _checks
from .data import PeriodicStates
from .grids import PeriodicGrid, require_grid

if TYPE_CHECKING:
    from .models import AggregationDiffusion


@dataclass
class Identifiability:
    """singular_values: of the gauge-reduced Jacobian, descending; n_null: how many fall below
    rtol * max (directions the data cannot determine); null_directions: {"V": (n_null, n), "W": ...}
    the corresponding function perturbations on the grid; mode_visibility: for W, per Fourier mode
    k = 0..n/2 the largest relative size with which any state (or difference of states, when V is
    unknown too) shows that mode; unseen_modes: modes 1..checked_modes below the threshold
    (mode_tol, or 3 x noise_floor when that is larger); noise_floor: the visibility the
    measurement noise alone gives (0 for clean data); hidden_modes: every mode 1..n/2 below the
    threshold (energy a fit puts there is not determined by the data); messages: one line per
    problem found (empty when the data suffice)."""

    singular_values: np.ndarray
    n_null: int
    null_directions: Dict[str, np.ndarray]
    mode_visibility: Optional[np.ndarray] = None
    unseen_modes: List[int] = field(default_factory=list)
    messages: List[str] = field(default_factory=list)
    noise_floor: float = 0.0
    hidden_modes: List[int] = field(default_factory=list)
    covered_range: Optional[Tuple[float, float]] = None

    def unseen_energy(self, W: np.ndarray) -> float:
        """The fraction of the energy of a kernel W (values at grid.lags, gauge removed) in the
        hidden modes: what of W the data do not determine."""
        wh = np.abs(np.fft.rfft(np.asarray(W, dtype=float) - np.mean(W))) ** 2
        total = float(wh[1:].sum())
        return float(wh[self.hidden_modes].sum() / total) if total > 0 and self.hidden_modes else 0.0

    @property
    def ok(self) -> bool:
        return not self.messages

    def warn(self, stacklevel: int = 2) -> None:
        """One UserWarning per message, attributed to the first line outside pinnbilo (the
        ``stacklevel`` argument is kept for compatibility and no longer needed)."""
        for m in self.messages:
            warnings.warn(m, UserWarning, stacklevel=user_stacklevel())

    def __str__(self) -> str:
        sv = self.singular_values
        head = (
            f"identifiability: {sv.size} directions, singular values {sv[0]:.3e} .. {sv[-1]:.3e}, "
            f"{self.n_null} near-null"
            if sv.size
            else "identifiability: nothing to determine"
        )
        return "\n".join([head, *(f"  - {m}" for m in self.messages)] or [head])


def fixed_point_jacobian(
    grid: PeriodicGrid,
    data: PeriodicStates,
    V: np.ndarray,
    W: np.ndarray,
    kappa: float,
    unknowns: tuple = ("V", "W"),
    observed_only: bool = False,
) -> np.ndarray:
    """d r / d (unknown grid values), rows scaled as in the loss: (S n, n * len(unknowns)).

    observed_only=False uses every grid point (what the states themselves determine);
    True weights rows by the observation mask (what the sparse data determine).
    """
    require_grid(grid, PeriodicGrid)
    if not isinstance(data, PeriodicStates) or data.grid != grid:
        raise InputError("data must be PeriodicStates on the same grid")
    V, W = grid.check_values(V, "V"), grid.check_values(W, "W")
    kappa = check.real(kappa, "kappa")
    observed_only = check.flag(observed_only, "observed_only")
    if (
        not isinstance(unknowns, (tuple, list))
        or not unknowns
        or not all(isinstance(k, str) and k in ("V", "W") for k in unknowns)
        or len(set(unknowns)) != len(unknowns)
    ):
        raise InputError(f"unknowns must be a tuple of 'V' and/or 'W', got {check._show(unknowns)}")
    n, h = grid.n, grid.h
    check.size_request(len(data) * n * n * len(unknowns), "fixed_point_jacobian (S n x n per unknown)")
    blocks = []
    idx = (np.arange(n)[:, None] - np.arange(n)[None, :]) % n
    for s in range(len(data)):
        u = data.u[s]
        w = data.weights[s] if observed_only else np.ones(n)
        scale = 1.0 / max(np.sum(w * u * u), 1e-300)
        a = -(kappa * grid._convolve(W, u) + V) / data.sigma[s]
        e = np.exp(a - a.max())
        p = e / e.sum()
        t = data.mass[s] / h * p
        sig = data.sigma[s]

        cols = []
        if "V" in unknowns:
            cols.append(-(np.diag(t) - np.outer(t, p)) / sig)
        if "W" in unknowns:
            # d T / d phi = -(diag(t) - t p^T) / sigma, applied without forming it: O(n^2), not O(n^3)
            m = kappa * h * u[idx]
            cols.append(-(t[:, None] * m - np.outer(t, p @ m)) / sig)
        blocks.append(np.sqrt(w * scale)[:, None] * np.hstack(cols))
    J = np.vstack(blocks)
    return _checks.finite_result(J, "fixed_point_jacobian", "(kappa W*u + V) / sigma overflows float64 on the data")


# identifiability: the SVD of an (S n) x (k (n - 1)) matrix, with all right singular vectors. Its
# work (a count of floating-point operations) is capped, at about 20 s on two idle cores, instead of hanging.
MAX_DIAGNOSTIC_WORK = 5e10


def diagnostic_work(n: int, S: int, k: int) -> float:
    """Floating-point operations identifiability() needs for S states on an n-point grid, k unknowns."""
    rows, cols = S * n, k * (n - 1)
    return float(min(rows, cols)) ** 2 * max(rows, cols) + float(cols) ** 3


# The zero-mean gauge uses the Helmert basis of {v : sum v = 0}: column k - 1 (k = 1..n-1) is
# (1, ..., 1, -k, 0, ..., 0) / sqrt(k (k + 1)) with k ones. It is orthonormal and applied by
# cumulative sums in O(rows n) instead of forming and multiplying an n x (n - 1) matrix.
def _to_zero_mean(J: np.ndarray) -> np.ndarray:
    """J Q for J (m, n): coordinates in the Helmert basis, shape (m, n - 1)."""
    n = J.shape[1]
    k = np.arange(1, n)
    return (np.cumsum(J, axis=1)[:, :-1] - k * J[:, 1:]) / np.sqrt(k * (k + 1.0))


def _from_zero_mean(X: np.ndarray) -> np.ndarray:
    """X Q^T for X (m, n - 1): zero-mean grid functions, shape (m, n)."""
    m, n = X.shape[0], X.shape[1] + 1
    k = np.arange(1, n)
    c = X / np.sqrt(k * (k + 1.0))  # c[:, k - 1] = c_k
    out = np.zeros((m, n))
    # out_j = sum_{k > j} c_k - j c_j
    tail = np.cumsum(c[:, ::-1], axis=1)[:, ::-1]  # tail[:, i] = sum_{k >= i + 1} c_k
    out[:, :-1] = tail
    out[:, 1:] -= k * c
    return out


def identifiability(
    model: "AggregationDiffusion",
    data: PeriodicStates,
    rtol: float = 1e-8,
    mode_tol: float = 1e-3,
    observed_only: bool = False,
    checked_modes: Optional[int] = None,
    noise: Optional[np.ndarray] = None,
) -> Identifiability:
    """Which directions of the unknown functions the steady states cannot determine.

    The Jacobian is taken at the model's current functions (a fit's answer, or the initial
    network); its structure at the data hardly depends on them. Modes 1..checked_modes of W
    (default: the Fourier features of the W network, at least 3) seen by no state above the
    threshold are flagged, as are a single state with both V and W unknown and states too uniform
    to show W. The threshold is mode_tol or, with noisy data, three times the noise floor: the
    relative amplitude delta sqrt(N) / sum(u) that noise of std delta on N observed points gives a
    mode by itself. noise: (S,) the noise std of each state; None takes data.noise, else the
    estimate of pinnbilo.steady.noise_level.
    """
    from .models import AggregationDiffusion, Semilinear

    if isinstance(model, Semilinear):
        return _semilinear_identifiability(model, data, rtol)
    if not isinstance(model, AggregationDiffusion) or not isinstance(data, PeriodicStates):
        raise InputError(
            "identifiability() takes an AggregationDiffusion model with PeriodicStates, or a Semilinear model "
            "with DirichletStates"
        )
    grid = model.grid
    if data.grid != grid:
        raise InputError("data and model use different grids")
    rtol = check.real(rtol, "rtol", nonnegative=True, high=1.0)
    mode_tol = check.real(mode_tol, "mode_tol", nonnegative=True)
    observed_only = check.flag(observed_only, "observed_only")
    if checked_modes is not None:
        checked_modes = check.integer(checked_modes, "checked_modes", minimum=1, maximum=grid.n // 2)
    unknowns = model.unknowns
    work = diagnostic_work(grid.n, len(data), len(unknowns))
    if work > MAX_DIAGNOSTIC_WORK:
        raise InputError(
            f"identifiability: {len(data)} states on a {grid.n}-point grid with {len(unknowns)} unknown(s) need "
            f"an SVD of about {work:.2g} operations, over the limit of {MAX_DIAGNOSTIC_WORK:.2g}; check a coarser "
            "grid (the diagnosis hardly depends on the resolution) or fewer states"
        )
    f = model.functions()
    J = fixed_point_jacobian(grid, data, f["V"], f["W"], model.kappa, unknowns, observed_only)
    n, k = grid.n, len(unknowns)
    Jq = np.hstack([_to_zero_mean(J[:, i * n : (i + 1) * n]) for i in range(k)])
    # All right singular vectors are needed (also when there are fewer rows than directions), but
    # never the left ones beyond min(rows, cols): a full U would be (S n) x (S n).
    _, sv, vt = np.linalg.svd(Jq, full_matrices=Jq.shape[0] < Jq.shape[1])
    n_dir = Jq.shape[1]
    sv_full = np.zeros(n_dir)
    sv_full[: sv.size] = sv
    top = sv_full[0] if sv_full.size else 0.0
    null = np.flatnonzero(sv_full <= rtol * top) if top > 0 else np.arange(n_dir)
    dirs = vt[null]
    null_dirs = {name: _from_zero_mean(dirs[:, i * (n - 1) : (i + 1) * (n - 1)]) for i, name in enumerate(unknowns)}
    messages: List[str] = []
    S = len(data)
    if S == 1 and k == 2:
        messages.append(
            "a single steady state with both V and W unknown can never separate them: any change of W is "
            "absorbed by V (V -> V - kappa dW*u). Observe at least two states that differ (other mass or sigma)."
        )
    visibility, unseen, hidden, floor = None, [], [], 0.0
    if noise is None:
        from .spectral import noise_level

        delta = noise_level(data)
    else:
        delta = _checks.values(noise, "noise", shape=(S,), shape_hint="one noise std per state")
    counts = np.sum(data.weights > 0, axis=1)
    if "W" in unknowns:
        uh = np.abs(np.fft.rfft(data.u, axis=1))
        base = uh[:, :1]
        if "V" in unknowns and S >= 2:
            rel = np.fft.rfft(data.u / data.mass[:, None], axis=1)
            diffs = np.abs(rel[:, None, :] - rel[None, :, :]).max(axis=(0, 1))
            visibility = diffs / np.abs(rel[:, 0]).max()
            floor = float(np.sqrt(2) * np.max(delta * np.sqrt(counts) / data.mass) * grid.h)
        else:
            visibility = (uh / base).max(axis=0)
            floor = float(np.max(delta * np.sqrt(counts) / base[:, 0]))
        threshold = max(mode_tol, 3 * floor)
        hidden = [int(m) for m in range(1, visibility.size) if visibility[m] < threshold]
        spec = model._spec["W"]
        kmax = checked_modes if checked_modes is not None else max(3, spec.modes if spec is not None else 3)
        kmax = min(kmax, visibility.size - 1)
        unseen = [int(m) for m in range(1, kmax + 1) if visibility[m] < threshold]
        below = f"< {mode_tol:g}" if threshold == mode_tol else f"< 3 x the noise floor {floor:.1e}"
        if len(unseen) == kmax and not (S == 1 and k == 2):
            messages.append(
                "the observed states are (nearly) uniform"
                + (" or identical up to a common shape" if "V" in unknowns else "")
                + f": no Fourier mode 1..{kmax} is visible (largest relative amplitude "
                f"{visibility[1 : kmax + 1].max():.1e} {below}), and a uniform state says nothing about W. "
                "Observe non-uniform states."
            )
        elif unseen and not (S == 1 and k == 2):
            messages.append(
                f"Fourier modes {unseen} of W are not seen by any observed state (relative amplitude {below}); "
                "W is not determined there. Observe states with other shapes (other mass, sigma, initial data)"
                + (", or with less noise." if threshold > mode_tol else ".")
            )
    if "V" in unknowns and "W" not in unknowns and null.size:
        messages.append(
            f"{null.size} directions of V are not determined by the data (singular values <= {rtol:g} x largest)."
        )
    return Identifiability(sv_full, int(null.size), null_dirs, visibility, unseen, messages, floor, hidden)


# A learned W whose energy in modes the data cannot tell from zero exceeds this share of its energy
# is warned of: sqrt(1e-5), about 0.3% of W's size.
UNDETERMINED_ENERGY_WARNING = 1e-5
# floor / sensitivity is an order-of-magnitude bound; a mode counts as undetermined when the learned
# amplitude lies this far inside it (near the bound the data still pin part of the mode). On the
# clean Morse case the margin separates the round-off-level tail of a fit with 8 Fourier features
# (3e-6 of W's energy, the true kernel itself 2e-6) from the 12- and 16-feature fits (2e-5..8e-5).
UNDETERMINED_MARGIN = 10.0
RANK_RTOL = 1e-10  # singular values of the Jacobian in V above this x the largest span what V absorbs
MODE_BLOCK = 256  # Fourier modes per block of the matrix-free sensitivities (memory S n x block)


@dataclass
class ModeSupport:
    """What the data support of each Fourier mode k = 0..n/2 of a learned W (after a fit).

    sensitivity: the change of the fixed-point residual vector per unit amplitude of mode k (RMS
    over its phase; with V unknown as well, the part V cannot absorb), relative to the largest;
    floor: the residual the data leave undetermined (the fit's misfit, the noise's share of the
    residual, round-off: the largest); bound: floor / sensitivity, the amplitude of mode k the
    data cannot tell from zero; amplitude: the learned W's amplitude per mode; undetermined_modes:
    modes 1..n/2 with amplitude <= bound (the data would fit as well without them);
    undetermined_energy: their share of W's energy (gauge removed); messages: the warning, if any."""

    sensitivity: np.ndarray
    bound: np.ndarray
    amplitude: np.ndarray
    floor: float
    undetermined_modes: List[int] = field(default_factory=list)
    undetermined_energy: float = 0.0
    messages: List[str] = field(default_factory=list)

    def warn(self) -> None:
        for m in self.messages:
            warnings.warn(m, UserWarning, stacklevel=user_stacklevel())

    def record(self) -> Dict[str, Any]:
        """The entries for fit.extra."""
        return {
            "undetermined_energy": self.undetermined_energy,
            "undetermined_modes": list(self.undetermined_modes),
            "residual_floor": self.floor,
        }


def _w_mode_columns(grid: PeriodicGrid, data: PeriodicStates, V: np.ndarray, W: np.ndarray, kappa: float,
                    modes: np.ndarray, s: int) -> np.ndarray:  # fmt: skip
    """d r_s / d (complex Fourier mode k of W: W_j = exp(2 pi i k j / n)), rows scaled as in the
    loss, for the given modes: (n, len(modes)) complex; its real and imaginary parts are the
    columns of the cosine and sine modes. (W*u)_i = h sum_j W_{i-j} u_j turns mode k into
    h u^_k exp(2 pi i k i / n), no matrix of the kernel is formed."""
    n, h = grid.n, grid.h
    u = data.u[s]
    w = data.weights[s]
    scale = np.sqrt(w / max(float(np.sum(w * u * u)), 1e-300))
    a = -(kappa * grid._convolve(W, u) + V) / data.sigma[s]
    e = np.exp(a - a.max())
    p = e / e.sum()
    t = data.mass[s] / h * p
    uh = np.fft.fft(u)[modes]
    E = np.exp(2j * np.pi * np.outer(np.arange(n), modes) / n)  # (n, m)
    dphi = kappa * h * uh[None, :] * E
    dT = -(t[:, None] * dphi - t[:, None] * (p @ dphi)[None, :]) / data.sigma[s]
    return np.asarray(scale[:, None] * dT)


def mode_support(
    model: "AggregationDiffusion",
    data: PeriodicStates,
    misfit: float,
    noise: Optional[np.ndarray] = None,
    threshold: float = UNDETERMINED_ENERGY_WARNING,
) -> ModeSupport:
    """Per Fourier mode of the model's (learned) W, how well the data determine it, compared with
    what the fit put there; cheap enough to run after every fit (O(S n^2), matrix-free; with V
    unknown as well, one QR of the S n x n Jacobian in V).

    A mode of sensitivity s (residual change per unit amplitude) is fixed by the data only to
    within floor / s, floor being the residual the data cannot resolve: the fit's misfit
    sqrt(fixed-point loss) (``misfit``), the noise's share delta / ||u|| of the residual along one
    direction (noise: (S,) std per state; None takes data.noise or pinnbilo.steady.noise_level),
    or round-off, whichever is largest. Energy the learned W has in modes whose amplitude lies well
    inside that bound (UNDETERMINED_MARGIN) is not asked for by the data: it comes from the
    parametrisation (extra Fourier features of a network, too many Spectral modes). Above
    ``threshold`` of W's energy, and above the square of the noise's relative size (with noisy
    data the fit's error is of that size anyway), a message names the modes and what to do.
    """
    from .models import AggregationDiffusion

    if not isinstance(model, AggregationDiffusion) or not isinstance(data, PeriodicStates):
        raise InputError("mode_support() takes an AggregationDiffusion model with PeriodicStates")
    grid = model.grid
    if data.grid != grid:
        raise InputError("data and model use different grids")
    if "W" not in model.unknowns:
        raise InputError("mode_support() is about a learned W; this model does not learn W")
    misfit = check.real(misfit, "misfit", nonnegative=True)
    threshold = check.real(threshold, "threshold", nonnegative=True)
    S, n = len(data), grid.n
    if noise is None:
        from .spectral import noise_level

        delta = noise_level(data)
    else:
        delta = _checks.values(noise, "noise", shape=(S,), shape_hint="one noise std per state")
    # noise of std delta puts delta / ||u_s|| into each residual row of state s, and about as much
    # along any one direction of the residual (the one a mode moves it in)
    norms = np.sqrt(np.maximum(np.sum(data.weights * data.u**2, axis=1), 1e-300))
    noise_floor = float(np.max(delta / norms, initial=0.0))
    # the misfit beyond what the noise explains (noise leaves delta^2 N_s / ||u_s||^2 in state s's loss)
    counts = np.sum(data.weights > 0, axis=1)
    excess = math.sqrt(max(float(misfit) ** 2 - float(np.sum(counts * (delta / norms) ** 2)), 0.0))
    rounding = 10 * np.finfo(float).eps * float(np.sqrt(S * n))
    floor = max(excess, noise_floor, rounding)
    f = model.functions()
    V, W = f["V"], f["W"]
    modes = np.arange(n // 2 + 1)
    energy = np.zeros(modes.size)
    project = None
    if "V" in model.unknowns:
        # the directions V can absorb: the range of the residual's Jacobian in V (gauge: constants
        # change nothing, so the columns span at most n - 1 directions)
        work = diagnostic_work(n, S, 1)
        if work > MAX_DIAGNOSTIC_WORK:
            raise InputError(
                f"mode_support with V unknown: {S} states on a {n}-point grid need an SVD of about {work:.2g} "
                f"operations, over the limit of {MAX_DIAGNOSTIC_WORK:.2g}; check a coarser grid"
            )
        JV = fixed_point_jacobian(grid, data, V, W, model.kappa, ("V",), observed_only=True)
        Q, sv, _ = np.linalg.svd(JV, full_matrices=False)
        project = Q[:, sv > RANK_RTOL * float(sv.max(initial=0.0))]
    for lo in range(0, modes.size, MODE_BLOCK):
        block = modes[lo : lo + MODE_BLOCK]
        cols = np.vstack([_w_mode_columns(grid, data, V, W, model.kappa, block, s) for s in range(S)])
        if project is not None:
            cols = cols - project @ (project.T @ cols)
        c2 = np.sum(np.real(cols) ** 2, axis=0)
        s2 = np.sum(np.imag(cols) ** 2, axis=0)
        both = (block > 0) & (2 * block < n)  # the Nyquist mode has no sine on the grid
        energy[lo : lo + block.size] = np.where(both, (c2 + s2) / 2, c2)
    sens = np.sqrt(energy)
    sens[0] = 0.0  # the gauge: constants in W change nothing
    top = float(sens.max(initial=0.0))
    with np.errstate(divide="ignore"):
        bound = np.where(sens > 0, floor / np.where(sens > 0, sens, 1.0), np.inf)
    wh = np.fft.rfft(np.asarray(W, dtype=float) - np.mean(W))
    amp = 2 * np.abs(wh) / n
    amp[0] = 0.0
    if n % 2 == 0:
        amp[-1] /= 2
    power = amp**2 * np.where((modes > 0) & (2 * modes < n), 0.5, 1.0)  # mean square per mode
    total = float(power[1:].sum())
    under = [int(k) for k in modes[1:] if 0 < amp[k] <= bound[k] / UNDETERMINED_MARGIN]
    share = float(power[under].sum() / total) if total > 0 and under else 0.0
    messages: List[str] = []
    # With noisy data a fit's error is of the noise's relative size anyway: content in undetermined
    # modes is flagged only when its share of W's energy exceeds that size squared as well.
    if share > max(threshold, noise_floor**2):
        from .models import _ranges

        worst = sorted(under, key=lambda k: -power[k])[:5]
        kind = "noise" if noise_floor >= max(excess, rounding) else "misfit"
        messages.append(
            f"{100 * share:.2g}% of the energy of the learned W (about {100 * np.sqrt(share):.2g}% of its size) lies "
            f"in Fourier modes the data cannot tell from zero (modes {_ranges(under)}; largest in {sorted(worst)}): "
            f"there the states change the residual by less than its {kind} floor {floor:.1e}, so that content comes "
            "from the parametrisation, not the data, and may be wrong. Use fewer Fourier features "
            "(Unknown(modes=...)), a smoothness penalty (fit(smoothness=...) or 'auto'), or Spectral(modes) with "
            "fewer modes"
        )
    rel = sens / top if top > 0 else sens
    return ModeSupport(rel, bound, amp, floor, under, share, messages)


def direct_potential(
    grid: PeriodicGrid,
    u: np.ndarray,
    sigma: float,
    W: Optional[np.ndarray] = None,
    kappa: float = 0.0,
) -> np.ndarray:
    """V = -sigma log u - kappa W*u from one positive steady state, zero-mean gauge: shape (n,).

    The pointwise inversion of the steady-state relation: a reference for the learned V (it
    needs u > 0 and amplifies noise where u is small, which the fixed-point loss avoids).
    """
    require_grid(grid, PeriodicGrid)
    u = grid.check_values(u, "u")
    sigma = check.real(sigma, "sigma", positive=True)
    kappa = check.real(kappa, "kappa")
    if np.any(u <= 0):
        bad = int(np.argmin(u))
        raise InputError(
            f"u must be strictly positive for the logarithm; u[{bad}] = {u[bad]:.3g}. Densities of "
            "aggregation-diffusion steady states are positive; smooth or clip noisy data first."
        )
    v = -sigma * np.log(u)
    if W is not None:
        W = grid.check_values(W, "W")
        if kappa != 0:
            v = v - kappa * grid._convolve(W, u)
    with np.errstate(all="ignore"):
        out = v - v.mean()
    return _checks.finite_result(out, "direct_potential", "sigma log u - kappa W*u overflows float64")


def _semilinear_identifiability(model: Any, data: Any, rtol: float) -> Identifiability:
    """For -D u'' = g: the range of the input g is seen on (u, or x), and which directions of g (a
    Chebyshev series of the model's degree, or of degree 12 for a network g) the data determine
    above their noise. The residual is linear in g through A^{-1} (a smoothing operator), so the
    directions of g with small singular values of the scaled design are hidden by noise of the
    size of the noise floor delta sqrt(N) / ||u|| (in the residual's units)."""
    from .data import DirichletStates
    from .series import Chebyshev, dirichlet_noise_level, series_design

    if not isinstance(data, DirichletStates) or data.grid != model.grid:
        raise InputError("identifiability of a Semilinear model takes DirichletStates on the model's grid")
    rtol = check.real(rtol, "rtol", nonnegative=True, high=1.0)
    model._core_for(data)  # sets the input range from the data
    spec = model.series if model.series is not None else Chebyshev(12)
    if model.depends_on == "xu":
        raise InputError("identifiability of g(x, u) is not available; use depends_on='u' or 'x'")
    J, _ = series_design(model.grid, model.diffusion, data, spec, model._series_inputs(data))
    sv = np.linalg.svd(J, compute_uv=False)
    _, _, vt = np.linalg.svd(J, full_matrices=False)
    delta = dirichlet_noise_level(data)
    counts = np.sum(data.weights > 0, axis=1)
    floor = float(np.max(delta * np.sqrt(counts) / np.sqrt(np.sum(data.weights * data.u**2, axis=1))))
    cut = max(rtol * sv[0], 3 * floor) if sv.size else 0.0
    hidden = np.flatnonzero(sv <= cut)
    observed = (
        data.u[data.weights > 0]
        if model.depends_on == "u"
        else np.broadcast_to(model.grid.x, data.u.shape)[data.weights > 0]
    )
    covered = (float(np.min(observed)), float(np.max(observed)))
    what = "u" if model.depends_on == "u" else "x"
    messages = []
    if hidden.size:
        messages.append(
            f"{hidden.size} of {sv.size} directions of g (as a degree-{spec.degree} Chebyshev series in {what}) have "
            f"singular values below {'3 x the noise floor' if cut > rtol * sv[0] else f'{rtol:g} x the largest'} "
            f"({cut:.1e}): the data do not determine them; use fit(smoothness='auto') or a lower degree"
        )
    zgrid = np.linspace(-1, 1, 200)
    null = spec.basis(zgrid) @ vt[hidden].T if hidden.size else np.zeros((200, 0))
    return Identifiability(sv, int(hidden.size), {"g": null.T}, None, [], messages, floor, [], covered)
