"""Branches of steady states of aggregation-diffusion: pseudo-arclength continuation in kappa,
sigma or the mass, the stability of every state, bifurcation points and branch switching.

States are followed in log variables psi = log u (see :mod:`pinnbilo.steady.newton`): the
fixed-point equation F(psi, c) = 0 is extended by the arclength condition
t . ((psi, c) - (psi_k, c_k)) = ds along the secant t (psi measured by its root mean square), and
the (n + 1)-dimensional system is
solved by Newton with the exact Jacobian, so folds are passed. A state is stable when every
eigenvalue of dF/dpsi is negative, i.e. the linearised fixed-point map dT/du (which has the same
spectrum plus one) has no eigenvalue above 1; for a symmetric kernel this is the linear stability of
the PDE (both are the free energy's second variation). With V = 0 every translate of a state is a
state, and the eigenvalue along d psi/dx (0) is not counted. Where the leading eigenvalue
changes sign between two states, the crossing is located by bisection and, with ``switch=True``,
the new branch is followed from it along the critical eigenvector.

Two ways to do the linear algebra (``method``):

* ``"dense"``: the (n + 1) x (n + 1) bordered Jacobian is built and solved by least squares, and
  the whole spectrum of dF/dpsi is computed (O(n^3) per state).
* ``"krylov"`` (matrix-free, any grid size): Newton-Krylov. The Jacobian-vector product is exact,
  J dpsi = -da + (p . da) - dpsi with da = kappa/sigma W*(u dpsi) by FFT (O(n log n)), and the
  parameter column dF/dc is analytic too; the bordered system [[J, dF/dc], [t^T, 0]] is solved by
  GMRES. Stability comes from the EIGENVALUES eigenvalues of dF/dpsi of largest real part
  (ARPACK, ``scipy.sparse.linalg.eigs`` on the same product), which is all the sign test needs.

``"auto"`` (default) is dense up to DENSE_UP_TO points and matrix-free above.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Tuple, Union

import numpy as np

from .. import _validation as check
from .._warnings import warn_user
from ..errors import InputError
from .generate import SolverFailed, grid_function, steady_state
from .grids import PeriodicGrid, require_grid
from .newton import LogFixedPoint

PARAMETERS = ("kappa", "sigma", "mass")
METHODS = ("auto", "dense", "krylov")
NEUTRAL = 1e-9
MAX_POINTS = 100_000
DENSE_UP_TO = 96  # grid points: "auto" builds dense Jacobians up to here (faster there), matrix-free above
GMRES_RTOL = 1e-10  # relative residual of each bordered linear solve
GMRES_ACCEPT = 1e-6  # a solve that stopped above GMRES_RTOL is still used as a Newton step below this
GMRES_RESTART = 100
GMRES_CYCLES = 10  # restarts: at most GMRES_RESTART x GMRES_CYCLES products per solve
EIGENVALUES = 6  # eigenvalues of largest real part computed per state by the matrix-free method
ALIGNED = 0.5  # matrix-free: the translation mode is dropped only if some eigenvector is this aligned


@dataclass
class Branch:
    """A bifurcation diagram: every state found, in the order of continuation.

    parameter: "kappa", "sigma" or "mass"; values (k,): the parameter of each state; states
    (k, n): the densities; order (k,): the order parameter r = |int u exp(2 pi i x / L)| / M (0 for
    a uniform state, 1 for a point mass); stable (k,) bool; leading (k,): the largest non-neutral
    eigenvalue of dF/dpsi (negative: stable); segment (k,) int: 0 for the branch from the start,
    1, 2, ... for branches switched to; bifurcations: the parameter values where stability changes.
    """

    parameter: str
    values: np.ndarray
    states: np.ndarray
    order: np.ndarray
    stable: np.ndarray
    leading: np.ndarray
    segment: np.ndarray
    bifurcations: List[float] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.values.size)

    def to_frame(self) -> Any:
        """A pandas DataFrame with one row per state (parameter, order, stable, leading, segment)."""
        try:
            import pandas as pd  # type: ignore[import-untyped]  # no pandas stubs
        except ImportError:
            raise ImportError("Branch.to_frame needs pandas: pip install pandas") from None
        return pd.DataFrame(
            {
                self.parameter: self.values,
                "order": self.order,
                "stable": self.stable,
                "leading_eigenvalue": self.leading,
                "segment": self.segment,
            }
        )

    def plot(self, ax: Any = None) -> Any:
        """The bifurcation diagram: order parameter against the continued parameter, stable parts
        solid, unstable dashed, bifurcation points marked. Returns the matplotlib Figure."""
        from ..plotting import _axes

        fig, ax = _axes(ax)
        for seg in np.unique(self.segment):
            on = self.segment == seg
            x, y, st = self.values[on], self.order[on], self.stable[on]
            for i in range(len(x) - 1):
                ax.plot(x[i : i + 2], y[i : i + 2], "-" if st[i] and st[i + 1] else "--", color=f"C{int(seg)}")
        for b in self.bifurcations:
            ax.axvline(b, color="0.6", lw=0.8)
        ax.set_xlabel(self.parameter)
        ax.set_ylabel("order parameter r")
        ax.set_title("steady states (solid: stable, dashed: unstable)")
        return fig


class _Family:
    """F(psi; c) for the continued parameter c, with dF/dpsi and dF/dc; ``dense`` chooses the
    linear algebra (dense matrices, or GMRES and ARPACK on the matrix-free product)."""

    def __init__(
        self, grid: PeriodicGrid, V: np.ndarray, W: np.ndarray, fixed: dict, parameter: str, dense: bool = True
    ) -> None:
        self.grid, self.V, self.W, self.fixed, self.parameter = grid, V, W, fixed, parameter
        self.translation_invariant = bool(np.all(V == V[0]))
        self.dense = dense
        self.gmres_solves = 0
        self.gmres_misses: List[float] = []  # relative residuals of the solves that missed GMRES_RTOL

    def at(self, c: float) -> LogFixedPoint:
        kw = {**self.fixed, self.parameter: c}
        return LogFixedPoint(self.grid, self.V, self.W, kw["kappa"], kw["sigma"], kw["mass"], dense=self.dense)

    def dF_dc(self, problem: LogFixedPoint, psi: np.ndarray, p: np.ndarray) -> np.ndarray:
        if self.parameter == "mass":
            return np.full(psi.size, 1.0 / problem.mass)
        wu = self.grid._convolve(self.W, np.exp(psi))
        if self.parameter == "kappa":
            g = wu / problem.sigma  # da/dkappa
        else:
            g = -(problem.kappa * wu + self.V) / problem.sigma**2  # da/dsigma
        return -g + p @ g


def _bordered_operator(
    problem: LogFixedPoint, psi: np.ndarray, p: np.ndarray, dF_dc: np.ndarray, mt: np.ndarray
) -> Any:
    """The bordered Jacobian [[dF/dpsi, dF/dc], [mt^T, 0]] of the continuation system at (psi, c)
    as a scipy LinearOperator of size n + 1: each product is one FFT convolution (O(n log n))."""
    from scipy.sparse.linalg import LinearOperator  # type: ignore[import-untyped]  # no scipy stubs

    n = psi.size

    def matvec(v: np.ndarray) -> np.ndarray:
        v = np.ravel(v)
        return np.append(problem.jvp(psi, p, v[:-1]) + dF_dc * v[-1], mt @ v)

    return LinearOperator((n + 1, n + 1), matvec=matvec, dtype=float)


def _gmres(fam: "_Family", A: Any, rhs: np.ndarray) -> Optional[np.ndarray]:
    """A x = rhs by restarted GMRES to GMRES_RTOL; a solve that misses it is recorded on ``fam``
    (branch warns of it) and used only if its relative residual is below GMRES_ACCEPT."""
    from scipy.sparse.linalg import gmres

    fam.gmres_solves += 1
    scale = float(np.linalg.norm(rhs))
    if scale == 0.0:
        return np.zeros_like(rhs)
    x, info = gmres(A, rhs, rtol=GMRES_RTOL, atol=0.0, restart=GMRES_RESTART, maxiter=GMRES_CYCLES)
    x = np.asarray(x, dtype=float)
    if info != 0:
        rel = float(np.linalg.norm(A @ x - rhs)) / scale
        fam.gmres_misses.append(rel)
        if not rel <= GMRES_ACCEPT:
            return None
    return x


def _eigenpairs(problem: LogFixedPoint, psi: np.ndarray, p: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """The EIGENVALUES eigenvalues of dF/dpsi of largest real part (and eigenvectors) by ARPACK on
    the matrix-free product; SolverFailed if ARPACK does not converge (twice, the second time with
    a larger subspace)."""
    from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigs

    n = psi.size
    A = LinearOperator((n, n), matvec=lambda v: problem.jvp(psi, p, np.ravel(v)), dtype=float)
    k = min(EIGENVALUES, n - 2)
    v0 = np.random.default_rng(0).standard_normal(n)  # fixed start: the same answer every run
    for ncv, maxiter in ((min(n, 4 * k + 1), 50 * n), (min(n, 12 * k + 1), 200 * n)):
        try:
            w, v = eigs(A, k=k, which="LR", v0=v0, ncv=ncv, maxiter=maxiter)
            return np.asarray(w), np.asarray(v)
        except ArpackNoConvergence:
            continue
    raise SolverFailed(
        f"branch: ARPACK did not find the {k} leading eigenvalues of the {n}-point Jacobian; "
        'the stability of this state is unknown (try method="dense" on a grid up to a few thousand points)'
    )


def _spectrum(fam: "_Family", psi: np.ndarray, c: float) -> Tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (real parts) and eigenvectors of dF/dpsi at (psi, c), without the translation
    mode: with V = 0 every translate of a non-uniform state is a state too, so dF/dpsi has the
    eigenvalue 0 along d psi/dx; that eigenvalue (the one whose eigenvector is most parallel to
    d psi/dx) is dropped. Dense: every eigenvalue; matrix-free: the EIGENVALUES of largest real
    part (the translation mode dropped only if one of them is ALIGNED with it)."""
    problem = fam.at(c)
    _, p = problem.residual(psi)
    if fam.dense:
        w, v = np.linalg.eig(problem.jacobian(psi, p))
    else:
        w, v = _eigenpairs(problem, psi, p)
    w, v = w.real, np.real(v)
    if fam.translation_invariant:
        k = np.fft.rfftfreq(psi.size, d=1.0 / psi.size)
        dpsi = np.fft.irfft(2j * np.pi * k * np.fft.rfft(psi), n=psi.size)
        if float(np.linalg.norm(dpsi)) > NEUTRAL * max(1.0, float(np.linalg.norm(psi))):
            align = np.abs(dpsi @ v) / (np.linalg.norm(dpsi) * np.maximum(np.linalg.norm(v, axis=0), 1e-300))
            if fam.dense or float(np.max(align)) >= ALIGNED:
                keep = np.arange(w.size) != int(np.argmax(align))
                w, v = w[keep], v[:, keep]
    return w, v


def _leading(fam: "_Family", psi: np.ndarray, c: float) -> float:
    """The largest eigenvalue of dF/dpsi, translations excepted: negative for a stable state."""
    return float(np.max(_spectrum(fam, psi, c)[0]))


def _critical(fam: "_Family", psi: np.ndarray, c: float) -> np.ndarray:
    """The eigenvector of dF/dpsi whose eigenvalue is nearest 0 (at a bifurcation: the direction
    of the new branch), signed so that its largest entry is positive: both methods then leave a
    bifurcation on the same side first."""
    w, v = _spectrum(fam, psi, c)
    vec = v[:, int(np.argmin(np.abs(w)))]
    return vec if vec[int(np.argmax(np.abs(vec)))] >= 0 else -vec


def _order(grid: PeriodicGrid, u: np.ndarray) -> float:
    z = grid.h * np.sum(u * np.exp(2j * np.pi * grid.x / grid.length))
    return float(abs(z) / (grid.h * np.sum(u)))


def _metric(n: int) -> np.ndarray:
    """The arclength metric on (psi, c): psi by its root mean square (so ds does not depend on the
    grid size), c as it is."""
    return np.append(np.full(n, 1.0 / n), 1.0)


def _unit(t: np.ndarray) -> np.ndarray:
    return t / np.sqrt(t @ (_metric(t.size - 1) * t))


def _correct(
    fam: _Family, psi: np.ndarray, c: float, anchor: np.ndarray, tangent: np.ndarray, tol: float
) -> Optional[Tuple[np.ndarray, float]]:
    """Newton on [F(psi, c); tangent . ((psi, c) - anchor)] = 0 from (psi, c); None if it fails."""
    x = np.append(psi, c)
    mt = tangent * _metric(psi.size)
    for _ in range(30):
        problem = fam.at(float(x[-1]))
        with np.errstate(all="ignore"):
            F, p = problem.residual(x[:-1])
        if not np.all(np.isfinite(F)):
            return None
        g = mt @ (x - anchor)
        u = np.exp(x[:-1])
        if np.linalg.norm(np.exp(x[:-1] + F) - u) <= tol * np.linalg.norm(u) and abs(g) <= 1e-12:
            return x[:-1], float(x[-1])
        dF_dc = fam.dF_dc(problem, x[:-1], p)
        if not fam.dense:
            # on a branch of a translation-invariant problem (V = 0) the bordered Jacobian is
            # (nearly) singular along the translation; d psi/dx is not in its range (the left null
            # vector u d psi/dx is not orthogonal to it), so GMRES from 0 still converges
            step = _gmres(fam, _bordered_operator(problem, x[:-1], p, dF_dc, mt), np.append(F, g))
            if step is None:
                return None
            x = x - step
            continue
        A = np.zeros((x.size, x.size))
        A[:-1, :-1] = problem.jacobian(x[:-1], p)
        A[:-1, -1] = dF_dc
        A[-1] = mt
        # least squares: on a branch of a translation-invariant problem (V = 0) A is singular along
        # the translation; the minimum-norm step does not move the state along it
        x = x - np.linalg.lstsq(A, np.append(F, g), rcond=1e-12)[0]
    return None


def _valid_parameter(parameter: str, c: float) -> bool:
    return parameter == "kappa" or c > 0


def branch(
    grid: PeriodicGrid,
    V: Union[None, np.ndarray, Callable] = None,
    W: Union[None, np.ndarray, Callable] = None,
    kappa: float = 1.0,
    sigma: float = 1.0,
    mass: float = 1.0,
    parameter: str = "kappa",
    stop: float = 2.0,
    ds: float = 0.05,
    max_points: int = 400,
    u0: Optional[np.ndarray] = None,
    switch: bool = True,
    tol: float = 1e-10,
    method: str = "auto",
) -> Branch:
    """Follow steady states from (kappa, sigma, mass) while ``parameter`` goes towards ``stop``.

    The first state is steady_state(..., method="newton") from u0 (default: uniform). Each step
    is a pseudo-arclength step of length ``ds`` in (psi, parameter) (shortened to a quarter where
    Newton fails, lengthened again after successes); stability and the leading eigenvalue are
    computed at every state. Where stability changes, the bifurcation is located to 1e-10 by
    bisection and, with switch=True, the branch that crosses there is followed too (each switched
    branch once, towards ``stop``). At most ``max_points`` states in all.

    method: "dense" (bordered Jacobian solved by least squares, the full spectrum of dF/dpsi:
    O(n^3) per state), "krylov" (matrix-free Newton-Krylov: exact Jacobian-vector products with
    the convolution by FFT, the bordered system by GMRES to a relative residual of 1e-10, and the
    6 eigenvalues of largest real part by ARPACK for the stability: O(n log n) per product, any
    grid size) or "auto" (dense up to 96 points, matrix-free above: faster from about 100). A
    GMRES solve that misses its tolerance shortens the step, and branch warns of it.

    The last state of a branch is the first past ``stop``. Returns a :class:`Branch` (``.plot()``
    draws the diagram, ``.to_frame()`` tabulates it); ``leading`` is the largest eigenvalue of
    dF/dpsi (translations excepted) either way.
    """
    require_grid(grid, PeriodicGrid)
    method = check.choice(method, "method", METHODS)
    dense = grid.n <= DENSE_UP_TO if method == "auto" else method == "dense"
    parameter = check.choice(parameter, "parameter", PARAMETERS)
    fixed = {
        "kappa": check.real(kappa, "kappa"),
        "sigma": check.real(sigma, "sigma", positive=True),
        "mass": check.real(mass, "mass", positive=True),
    }
    stop = check.real(stop, "stop", positive=parameter != "kappa")
    ds = check.real(ds, "ds", positive=True)
    max_points = check.integer(max_points, "max_points", minimum=2, maximum=MAX_POINTS)
    switch = check.flag(switch, "switch")
    tol = check.real(tol, "tol", positive=True)
    start = fixed[parameter]
    if stop == start:
        raise InputError(f"stop = {stop:g} equals the starting {parameter}; give another end of the range")
    Vv, Wv = grid_function(grid, V, "V", grid.x), grid_function(grid, W, "W", grid.lags)
    fam = _Family(grid, Vv, Wv, fixed, parameter, dense=dense)
    u_first = steady_state(grid, Vv, Wv, fixed["kappa"], fixed["sigma"], fixed["mass"], u0=u0, method="newton", tol=tol)

    rows: List[Tuple[float, np.ndarray, float, bool, float, int]] = []
    bifurcations: List[float] = []
    pending: List[Tuple[np.ndarray, float, np.ndarray, int]] = []  # (psi, c, direction in psi, segment)
    direction = np.sign(stop - start)

    def record(psi: np.ndarray, c: float, seg: int) -> float:
        lam = _leading(fam, psi, c)
        u = np.exp(psi)
        rows.append((c, u, _order(grid, u), lam < 0, lam, seg))
        return lam

    def follow(psi: np.ndarray, c: float, tangent: np.ndarray, seg: int) -> None:
        lam = record(psi, c, seg)
        step = ds
        while len(rows) < max_points:
            if (stop - c) * direction <= 0:
                return
            anchor = np.append(psi, c)
            got = _correct(
                fam, psi + step * tangent[:-1], c + step * tangent[-1], anchor + step * tangent, tangent, tol
            )
            if got is None or not _valid_parameter(parameter, got[1]):
                step /= 4
                if step < ds * 1e-4:
                    return  # the branch ends here (or turns into an invalid parameter range)
                continue
            new_psi, new_c = got
            secant = np.append(new_psi - psi, new_c - c)
            tangent = _unit(secant)
            new_lam = record(new_psi, new_c, seg)
            if np.sign(new_lam) != np.sign(lam) and abs(new_c - c) > 0:
                found = _locate(fam, psi, c, new_psi, new_c, tol)
                if found is not None:
                    b_psi, b_c, b_vec = found
                    if all(abs(b_c - b) > 1e-6 * max(1.0, abs(b)) for b in bifurcations):
                        bifurcations.append(b_c)
                        if switch:
                            pending.append((b_psi, b_c, b_vec, len(bifurcations)))
            psi, c, lam = new_psi, new_c, new_lam
            step = min(step * 2, ds)

    psi0 = np.log(u_first)
    t0 = np.zeros(grid.n + 1)
    t0[-1] = direction
    follow(psi0, start, t0, 0)
    while pending and len(rows) < max_points:
        b_psi, b_c, vec, seg = pending.pop(0)
        t = _unit(np.append(vec, 0.0))
        # the side of the critical direction: either works for a pitchfork; take the one that moves
        # the parameter towards stop after the first step (else the other one)
        follow_from_bifurcation(fam, b_psi, b_c, t, seg, follow, direction, ds, tol)
    if not rows:
        raise SolverFailed("branch: no state could be continued")
    if fam.gmres_misses:
        warn_user(
            f"branch: GMRES missed its relative tolerance {GMRES_RTOL:g} in {len(fam.gmres_misses)} of "
            f"{fam.gmres_solves} linear solves (worst relative residual {max(fam.gmres_misses):.1e}); steps "
            f"whose solve stayed above {GMRES_ACCEPT:g} were shortened, so the branch may end early. "
            'method="dense" avoids GMRES on grids up to a few thousand points',
            RuntimeWarning,
        )
    c_arr = np.array([r[0] for r in rows])
    return Branch(
        parameter=parameter,
        values=c_arr,
        states=np.array([r[1] for r in rows]),
        order=np.array([r[2] for r in rows]),
        stable=np.array([r[3] for r in rows], dtype=bool),
        leading=np.array([r[4] for r in rows]),
        segment=np.array([r[5] for r in rows], dtype=int),
        bifurcations=sorted(bifurcations),
    )


def follow_from_bifurcation(
    fam: _Family,
    psi: np.ndarray,
    c: float,
    t: np.ndarray,
    seg: int,
    follow: Callable,
    direction: float,
    ds: float,
    tol: float,
) -> None:
    """Step off the bifurcation point along the critical eigenvector (both signs tried) and follow
    the new branch from the first state found off the old one."""
    for sign in (1.0, -1.0):
        tangent = sign * t
        anchor = np.append(psi, c)
        got = _correct(fam, psi + ds * tangent[:-1], c, anchor + ds * tangent, tangent, tol)
        if got is None:
            continue
        new_psi, new_c = got
        if np.linalg.norm(new_psi - psi) < 0.1 * ds:
            continue  # fell back onto the branch it left
        secant = np.append(new_psi - psi, new_c - c)
        if secant[-1] * direction < 0 and sign > 0:
            continue  # the other sign may head towards stop
        follow(new_psi, new_c, _unit(secant), seg)
        return


def _locate(
    fam: _Family, psi_a: np.ndarray, c_a: float, psi_b: np.ndarray, c_b: float, tol: float
) -> Optional[Tuple[np.ndarray, float, np.ndarray]]:
    """Bisection on the parameter between two states whose leading eigenvalues differ in sign,
    each midpoint solved by Newton from the nearer end. Returns (psi, c, critical eigenvector)."""
    from .newton import newton

    la = _leading(fam, psi_a, c_a)
    for _ in range(60):
        if abs(c_b - c_a) <= 1e-10 * max(1.0, abs(c_a)):
            break
        c_m = 0.5 * (c_a + c_b)
        u, rel, _, _ = newton(fam.at(c_m), np.exp(0.5 * (psi_a + psi_b)), tol, 50)
        if not rel <= tol:
            return None
        psi_m = np.log(u)
        lm = _leading(fam, psi_m, c_m)
        if np.sign(lm) == np.sign(la):
            psi_a, c_a, la = psi_m, c_m, lm
        else:
            psi_b, c_b = psi_m, c_m
    return psi_a, c_a, _critical(fam, psi_a, c_a)
