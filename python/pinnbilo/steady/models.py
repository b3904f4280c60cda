"""Models with unknown functions learned from steady states by the fixed-point residual.

AggregationDiffusion: u_t = (sigma u_x + kappa u (W*u)_x + u V_x)_x on the periodic interval,
unknown potential V and/or even kernel W. Semilinear: -D u'' = g(x, u) with Dirichlet data,
unknown source g(x), reaction g(u) or g(x, u). The loss and its exact gradient come from the C++
core (pinnbilo/steady_state.hpp).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy as np

from .. import _core
from .. import _validation as check
from .. import _validation as check_module  # for methods whose argument 'check' shadows the module
from .._warnings import user_stacklevel
from ..errors import InputError
from ._checks import values
from .data import DirichletStates, PeriodicStates
from .generate import grid_function, semilinear_state, steady_state
from .grids import IntervalGrid, PeriodicGrid, require_grid
from .levenberg import MAX_LM_STEPS
from .series import Chebyshev, fit_series
from .spectral import Spectral, SpectralResidual, solve
from .train import SteadyFit, check_budget, optimise

_ACTIVATIONS = ("tanh", "sin", "cos", "sigmoid", "softplus", "exp")
MAX_WIDTH, MAX_LAYERS, MAX_MODES = 4096, 64, 1000  # networks of unknown functions: refused above, not allocated
OPTIMIZERS = ("adam+lbfgs", "lm")  # of network unknowns: Adam then L-BFGS (then lm_steps), or Levenberg-Marquardt


@dataclass(frozen=True)
class Unknown:
    """An unknown function represented by an MLP.

    hidden: widths of the hidden layers; activation: one of tanh, sin, cos, sigmoid, softplus, exp;
    modes: number of Fourier features cos(2 pi k x/L) (and sin for V) on periodic grids; seed:
    initial weights.
    """

    hidden: Tuple[int, ...] = (32, 32)
    activation: str = "tanh"
    modes: int = 3
    seed: int = 0

    def __post_init__(self) -> None:
        hidden: object = self.hidden
        if isinstance(hidden, (str, bytes)) or not isinstance(hidden, (tuple, list)):
            raise InputError(
                f"Unknown.hidden must be a tuple of layer widths such as (32, 32), got {check._show(hidden)}"
            )
        if not 1 <= len(hidden) <= MAX_LAYERS:
            raise InputError(f"Unknown.hidden: give 1 to {MAX_LAYERS} hidden layers, got {len(hidden)}")
        widths = tuple(check.integer(h, "Unknown.hidden width", minimum=1, maximum=MAX_WIDTH) for h in hidden)
        object.__setattr__(self, "hidden", widths)
        check.choice(self.activation, "Unknown.activation", _ACTIVATIONS)
        object.__setattr__(self, "modes", check.integer(self.modes, "Unknown.modes", minimum=1, maximum=MAX_MODES))
        object.__setattr__(self, "seed", check.seed(self.seed, "Unknown.seed"))

    def sizes(self, n_inputs: int) -> list:
        return [int(n_inputs), *(int(h) for h in self.hidden), 1]

    def init(self, n_inputs: int, seed_offset: int = 0) -> np.ndarray:
        return _core.mlp_init(self.sizes(n_inputs), self.activation, int(self.seed) + seed_offset)

    def evaluate(self, params: np.ndarray, features: np.ndarray) -> np.ndarray:
        """Network values at features (n_inputs, n): shape (n,)."""
        sizes = self.sizes(features.shape[0])
        out = _core.mlp_derivatives(sizes, self.activation, params, np.ascontiguousarray(features.T), [[0] * sizes[0]])
        return out[0, 0]


FunctionArg = Union[None, Unknown, Spectral, np.ndarray, Callable[[np.ndarray], np.ndarray]]
Smoothness = Union[float, Dict[str, float], str]


def relative_error(learned: np.ndarray, truth: np.ndarray, gauge: bool = True) -> float:
    """||f - f_true|| / ||f_true|| over the grid, after removing the mean of both when gauge is True."""
    a, b = values(learned, "learned"), values(truth, "truth")
    gauge = check.flag(gauge, "gauge")
    if a.shape != b.shape:
        raise InputError(f"relative_error: shapes differ, {a.shape} vs {b.shape}")
    if gauge:
        a, b = a - a.mean(), b - b.mean()
    nb = np.linalg.norm(b)
    if nb == 0:
        raise InputError("relative_error: the true function is zero (after the gauge); the error is undefined")
    return float(np.linalg.norm(a - b) / nb)


class AggregationDiffusion:
    """u_t = (sigma u_x + kappa u (W*u)_x + u V_x)_x on a PeriodicGrid with unknown V and/or W.

    exponent m > 1: porous-medium diffusion u_t = (u (sigma m/(m-1) u^(m-1) + kappa W*u + V)_x)_x
    instead (Spectral unknowns only; see pinnbilo.steady.porous).

    V, W: an Unknown (a network, learned), a Spectral (a Fourier series, learned by Gauss-Newton
    to the loss floor), grid values (known; V on grid.x, W on grid.lags), a callable (known; of
    x, resp. of the signed lag), or None (zero). The learned ones are both networks or both
    Spectral. A learned W is even and periodic by construction (cos(2 pi k x / L) features or
    terms). Gauge: learned functions have zero mean over the grid (constants in V and W change no
    steady state).
    """

    def __init__(
        self,
        grid: PeriodicGrid,
        kappa: float = 1.0,
        V: FunctionArg = None,
        W: FunctionArg = None,
        exponent: float = 1.0,
    ) -> None:
        require_grid(grid, PeriodicGrid)
        self.grid, self.kappa = grid, check.real(kappa, "kappa")
        self.exponent = check.real(exponent, "exponent", high=20.0)
        if self.exponent < 1:
            raise InputError(f"exponent must be 1 (linear diffusion) or above (porous medium), got {self.exponent:g}")
        self._spec: Dict[str, Optional[Unknown]] = {}
        self._spectral: Dict[str, Spectral] = {}
        self._known: Dict[str, np.ndarray] = {}
        for name, f, at in (("V", V, grid.x), ("W", W, grid.lags)):
            if isinstance(f, Spectral):
                f.resolved(grid)  # refuses more modes than the grid has
                self._spectral[name] = f
                self._spec[name] = Unknown(modes=min(f.resolved(grid), 3))  # placeholder, never built
            elif isinstance(f, Unknown):
                self._spec[name] = f
            else:
                self._spec[name] = None
                self._known[name] = grid_function(grid, f, f"{name} (known values)", at)
        if not self.unknowns:
            raise InputError("AggregationDiffusion: nothing to learn; pass V=Unknown() and/or W=Unknown()")
        if self._spec["W"] is not None and self.kappa == 0:
            raise InputError("W is unknown but kappa = 0, so W never enters the equation; set kappa != 0")
        if self.exponent != 1 and not self._spectral:
            raise InputError(
                f"exponent {self.exponent:g} (porous-medium diffusion) needs Spectral() unknowns: the network loss "
                "of the C++ core is for linear diffusion"
            )
        if self._spectral and len(self._spectral) != len(self.unknowns):
            raise InputError(
                "V and W: give both learned functions as Spectral() or both as Unknown(); a network and a "
                "Fourier series are fitted by different optimisers"
            )
        self.params = np.concatenate([self._init_params(n) for n in self.unknowns])
        self._core: Optional[object] = None
        self.result: Optional[SteadyFit] = None

    @property
    def unknowns(self) -> Tuple[str, ...]:
        return tuple(n for n in ("V", "W") if self._spec[n] is not None)

    def _features(self, name: str, at: np.ndarray) -> np.ndarray:
        spec = self._spec[name]
        assert spec is not None
        return self.grid.fourier_features(at, spec.modes, even=(name == "W"))

    @property
    def spectral(self) -> bool:
        """Whether the learned functions are Fourier series (Spectral) rather than networks."""
        return bool(self._spectral)

    def _basis(self, name: str, at: np.ndarray) -> np.ndarray:
        return self._spectral[name].basis(self.grid, name, at)

    def _init_params(self, name: str) -> np.ndarray:
        if name in self._spectral:
            return np.zeros(self._basis(name, self.grid.x[:1]).shape[1])
        spec = self._spec[name]
        assert spec is not None
        return spec.init(self._features(name, self.grid.x).shape[0], seed_offset=0 if name == "V" else 1)

    def _slices(self) -> Dict[str, slice]:
        out, start = {}, 0
        for name in self.unknowns:
            spec = self._spec[name]
            assert spec is not None
            if name in self._spectral:
                k = self._basis(name, self.grid.x[:1]).shape[1]
                out[name] = slice(start, start + k)
                start += k
                continue
            k = _core.mlp_n_params(spec.sizes(self._features(name, self.grid.x[:1]).shape[0]))
            out[name] = slice(start, start + k)
            start += k
        return out

    def _smoothness(self, smoothness: Smoothness) -> Tuple[float, float]:
        if isinstance(smoothness, str):
            raise InputError(
                f"smoothness must be a number >= 0 or a dict {{'V': ..., 'W': ...}} here, got "
                f"{check._show(smoothness)} ('auto' is an option of fit)"
            )
        if isinstance(smoothness, dict):
            bad = set(smoothness) - {"V", "W"}
            if bad:
                raise InputError(f"smoothness: keys must be 'V' and/or 'W', got {sorted(map(str, bad))}")
            lv = check.real(smoothness.get("V", 0.0), "smoothness['V']", nonnegative=True)
            lw = check.real(smoothness.get("W", 0.0), "smoothness['W']", nonnegative=True)
            known = [k for k, lam in (("V", lv), ("W", lw)) if lam > 0 and self._spec[k] is None]
            if known:
                raise InputError(
                    f"smoothness for {', '.join(known)}, which is known (not learned): the penalty would be "
                    f"ignored; give smoothness only for {', '.join(self.unknowns)}"
                )
        else:
            lv = lw = check.real(smoothness, "smoothness", nonnegative=True)
        return lv, lw

    def build(
        self, data: PeriodicStates, smoothness: Union[float, Dict[str, float]] = 0.0
    ) -> _core.AggregationDiffusionFit:
        """The C++ loss object for these data (exposes loss_and_grad(params) and loss_from_values(V, W)).

        smoothness: lambda of the penalty lambda int f'^2 on the learned functions (a float for
        both, or {"V": ..., "W": ...}).
        """
        self._check_data(data)
        if self.spectral:
            raise InputError(
                "build() makes the network loss; this model's functions are Spectral: use loss_and_grad or "
                "spectral_residual"
            )
        lv, lw = self._smoothness(smoothness)
        core = _core.AggregationDiffusionFit(
            self.grid.n, self.grid.length, self.kappa, data.u, data.weights, data.sigma, data.mass
        )
        for name, setter, set_vals, lag in (
            ("V", core.set_v_network, core.set_v_values, self.grid.x),
            ("W", core.set_w_network, core.set_w_values, self.grid.lags),
        ):
            spec = self._spec[name]
            if spec is None:
                set_vals(self._known[name])
            else:
                setter(
                    (spec.sizes(self._features(name, lag).shape[0]), spec.activation, self._features(name, lag)), True
                )
        core.set_smoothness(lv, lw)
        return core

    def _check_data(self, data: object) -> None:
        if not isinstance(data, PeriodicStates):
            raise InputError("data must be PeriodicStates (see pinnbilo.steady.aggregation_diffusion_states)")
        if data.grid != self.grid:
            raise InputError(
                f"data grid {data.grid} differs from the model grid {self.grid}; use the same PeriodicGrid"
            )

    def spectral_residual(self, data: PeriodicStates, smoothness: Smoothness = 0.0) -> SpectralResidual:
        """The residual vector and its Jacobian in the Fourier coefficients (Spectral models only)."""
        self._check_data(data)
        if not self.spectral:
            raise InputError("spectral_residual needs Spectral() unknowns; this model learns networks")
        bases = {name: self._basis(name, self.grid.x if name == "V" else self.grid.lags) for name in self._spectral}
        return SpectralResidual(
            self.grid, self.kappa, data, bases, self._known, self._smoothness(smoothness), self.exponent
        )

    def loss_and_grad(
        self,
        data: PeriodicStates,
        params: Optional[np.ndarray] = None,
        smoothness: Union[float, Dict[str, float]] = 0.0,
    ) -> Tuple[float, np.ndarray]:
        """The fixed-point loss (plus smoothness penalties) and its gradient w.r.t. the flat network
        weights (or the Fourier coefficients of Spectral unknowns)."""
        theta = _flat_params(params, self.params)
        if not self.spectral:
            return self.build(data, smoothness).loss_and_grad(theta)
        # The C++ core's loss and value gradients, chained through the (linear) Fourier basis.
        problem = self.spectral_residual(data, smoothness)
        if self.exponent != 1:  # the porous medium: the residual vector and its Jacobian (numpy)
            r = problem.residual(theta)
            return float(r @ r), 2 * problem.jacobian(theta).T @ r
        V, W = problem.functions(theta)
        core = _core.AggregationDiffusionFit(
            self.grid.n, self.grid.length, self.kappa, data.u, data.weights, data.sigma, data.mass
        )
        loss, v_bar, w_bar = core.loss_from_values(V, W)
        grad = np.zeros_like(theta)
        for name, bar in (("V", v_bar), ("W", w_bar)):
            if name in problem.bases:
                grad[problem.slices[name]] = problem.bases[name].T @ bar
        P = problem.penalty_rows
        penalty = P @ theta
        return float(loss + penalty @ penalty), grad + 2 * P.T @ penalty

    def fit(
        self,
        data: PeriodicStates,
        adam_steps: Optional[int] = None,
        lr: Optional[float] = None,
        lbfgs_steps: Optional[int] = None,
        progress: bool = False,
        check: bool = True,
        smoothness: Smoothness = 0.0,
        max_iter: int = 50,
        optimizer: str = "adam+lbfgs",
        lm_steps: Optional[int] = None,
    ) -> SteadyFit:
        """Minimise sum_s ||T(u_s) - u_s||^2 / ||u_s||^2 (observed points only) over the weights.

        Networks (Unknown), optimizer="adam+lbfgs": Adam (adam_steps, default 2000, at lr,
        default 3e-3), then L-BFGS (lbfgs_steps, default 1000), then lm_steps (default 0)
        Levenberg-Marquardt steps on the residual vector. optimizer="lm": Levenberg-Marquardt
        alone (lm_steps, default 400; the Adam and L-BFGS options are refused), from the output
        layer of a fresh network set to zero (the learned functions start at zero), or from the
        current weights of a model fitted before. Levenberg-Marquardt reaches the loss floor of
        clean data where L-BFGS stalls (see pinnbilo.steady.levenberg); its record is in
        fit.extra ("lm_iterations", "lm_trials", "lm_loss", "lm_message", "lm_wall_time",
        "jacobian"). Spectral unknowns: truncated Gauss-Newton on the residual vector (at most
        max_iter iterations; the Adam, L-BFGS and Levenberg-Marquardt options do not apply and
        are refused).

        check=True runs the identifiability diagnostics first and warns when the data cannot
        determine the unknowns (see pinnbilo.steady.identifiability). smoothness=lambda adds
        lambda int f'^2 for each learned f (or {"V": ..., "W": ...}): with noisy data it keeps
        the directions the data cannot see (high modes of W) small; leave 0 for clean data.
        smoothness="auto" chooses lambda from the data (the L-curve corner of a Spectral fit of
        the same unknowns; 0 for clean data) and reports it, with the estimated noise of each
        state, in fit.extra["smoothness"] and fit.extra["noise"]; a Spectral fit also says how it
        was chosen in fit.extra["smoothness_rule"] ("given", "clean", "lcurve" or "risk").
        """
        self._check_data(data)
        auto = isinstance(smoothness, str)
        if auto and smoothness != "auto":
            raise InputError(
                f"smoothness must be a number >= 0, a dict or 'auto', got {check_module._show(smoothness)}"
            )
        max_iter = check_module.integer(max_iter, "max_iter", minimum=1, maximum=100_000)
        optimizer = check_module.choice(optimizer, "optimizer", OPTIMIZERS)
        if lm_steps is not None:
            lm_steps = check_module.integer(lm_steps, "lm_steps", minimum=0, maximum=MAX_LM_STEPS)
        if self.spectral:
            _refuse_optimiser_options(
                adam_steps, lr, lbfgs_steps,
                "Spectral unknowns are fitted by Gauss-Newton (max_iter caps its iterations)",
            )  # fmt: skip
            if optimizer != "adam+lbfgs" or lm_steps is not None:
                raise InputError(
                    "optimizer and lm_steps are options of network unknowns; Spectral unknowns are fitted by "
                    "Gauss-Newton (max_iter caps its iterations): drop these options"
                )
        if optimizer == "lm":
            _refuse_optimiser_options(
                adam_steps, lr, lbfgs_steps,
                "optimizer='lm' fits by Levenberg-Marquardt alone (lm_steps caps its steps)",
            )  # fmt: skip
            adam_steps, lbfgs_steps = 0, 0
            lm_steps = 400 if lm_steps is None else lm_steps
        lm_steps = 0 if lm_steps is None else lm_steps
        adam_steps = 2000 if adam_steps is None else adam_steps
        lr = 3e-3 if lr is None else lr
        lbfgs_steps = 1000 if lbfgs_steps is None else lbfgs_steps
        check_budget(adam_steps, lr, lbfgs_steps)
        if not auto:
            self._smoothness(smoothness)
        report = None
        if _validate_flags(progress, check) and self.exponent == 1:  # the diagnostics are for linear diffusion
            from .diagnostics import MAX_DIAGNOSTIC_WORK, diagnostic_work, identifiability

            if diagnostic_work(self.grid.n, len(data), len(self.unknowns)) <= MAX_DIAGNOSTIC_WORK:
                report = identifiability(self, data)
                report.warn()
            else:  # the check would take longer than the fit is worth; say so instead of hanging
                warnings.warn(
                    f"identifiability check skipped: {len(data)} states on a {self.grid.n}-point grid are too "
                    "large for its SVD; run pinnbilo.steady.identifiability on a coarser grid, or pass check=False",
                    UserWarning,
                    stacklevel=user_stacklevel(),
                )
        if self.spectral:
            fit = self._fit_spectral(data, smoothness, max_iter)
        else:
            chosen: Dict[str, Any] = {}
            fixed: Union[float, Dict[str, float]] = 0.0
            if auto:
                chosen = self._auto_smoothness(data, max_iter)
                fixed = {k: chosen["smoothness"] for k in self.unknowns}
            else:
                fixed = smoothness  # type: ignore[assignment]  # not a str: checked above
            core = self.build(data, fixed)
            start = self.params if optimizer != "lm" or self.result is not None else self._zero_output()
            fit = optimise(core, start, adam_steps, lr, lbfgs_steps, progress)
            lm: Dict[str, Any] = {}
            if lm_steps > 0 and fit.status == "completed":
                lm = self._levenberg_marquardt(core, data, fixed, fit, lm_steps, progress)
            self.params, self._core = fit.params, core
            core.loss_and_grad(fit.params)  # sets last_penalty at the answer
            fit.extra = {"optimizer": optimizer, "penalty": float(core.last_penalty), **lm, **chosen}
        fit.functions = self.functions()
        if self.exponent != 1 and "W" in self.unknowns:
            reach = _support_reach(data)
            fit.extra["determined_lags"] = reach
            if reach < self.grid.length / 2:
                warnings.warn(
                    f"the observed states are compactly supported: W*u on their supports sees W only at |lag| <= "
                    f"{reach:.3g} (of {self.grid.length / 2:.3g}); the learned W is not determined beyond that",
                    UserWarning,
                    stacklevel=user_stacklevel(),
                )
        if report is not None and "W" in self.unknowns:
            share = report.unseen_energy(fit.functions["W"])
            fit.extra["unseen_energy"] = share
            if share > UNSEEN_ENERGY_WARNING:
                warnings.warn(
                    f"{100 * share:.0f}% of the energy of the learned W lies in Fourier modes no observed state shows "
                    f"above the noise (modes {_ranges(report.hidden_modes)}): that part of W is not determined by the "
                    "data; add smoothness, or observe other states",
                    UserWarning,
                    stacklevel=user_stacklevel(),
                )
            from .diagnostics import mode_support

            misfit = math.sqrt(max(float(fit.loss) - float(fit.extra.get("penalty", 0.0)), 0.0))
            support = mode_support(self, data, misfit)
            fit.extra.update(support.record())
            support.warn()
        self.result = fit
        return fit

    def _zero_output(self) -> np.ndarray:
        """The weights with the output layer of every learned network at zero (the functions at zero)."""
        out = self.params.copy()
        for name, sl in self._slices().items():
            spec = self._spec[name]
            assert spec is not None
            out[sl.stop - spec.hidden[-1] - 1 : sl.stop] = 0.0  # the last layer: weights, then the bias
        return out

    def network_residual(self, data: PeriodicStates, smoothness: Union[float, Dict[str, float]] = 0.0) -> Any:
        """The residual vector of the network loss and its Jacobian in the weights (network unknowns
        only): a pinnbilo.steady.levenberg.NetworkResidual, residual(theta) @ residual(theta) being
        loss_and_grad's loss."""
        self._check_data(data)
        if self.spectral:
            raise InputError("network_residual needs network (Unknown) unknowns; use spectral_residual")
        return self._network_residual(self.build(data, smoothness), data, smoothness)

    def _network_residual(self, core: Any, data: PeriodicStates, smoothness: Union[float, Dict[str, float]]) -> Any:
        from .levenberg import NetworkResidual

        nets = {}
        sl = self._slices()
        for name, at in (("V", self.grid.x), ("W", self.grid.lags)):
            spec = self._spec[name]
            if spec is not None:
                feats = self._features(name, at)
                nets[name] = (spec.sizes(feats.shape[0]), spec.activation, feats, sl[name])
        return NetworkResidual(core, self.grid, self.kappa, data, nets, self._smoothness(smoothness))

    def _levenberg_marquardt(
        self,
        core: Any,
        data: PeriodicStates,
        smoothness: Union[float, Dict[str, float]],
        fit: SteadyFit,
        lm_steps: int,
        progress: bool,
    ) -> Dict[str, Any]:
        """Levenberg-Marquardt from fit.params; updates fit (params, loss, history, wall time, status)
        and returns the record for fit.extra."""
        from .levenberg import levenberg_marquardt

        check_module.size_request(
            len(data) * self.grid.n**2 * (len(self.unknowns) + 1), "Levenberg-Marquardt (the residual's Jacobian)"
        )
        problem = self._network_residual(core, data, smoothness)
        step0 = fit.history[-1][0] if len(fit.history) else 0
        bar = None
        if progress:
            from tqdm.auto import tqdm  # type: ignore[import-untyped]  # no tqdm stubs

            bar = tqdm(total=lm_steps, desc="Levenberg-Marquardt", leave=False)

        def on_step(trial: int, loss: float) -> None:
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.3e}")

        try:
            out = levenberg_marquardt(problem, fit.params, lm_steps, on_step)
        finally:
            if bar is not None:
                bar.close()
        if out["message"].startswith("interrupted"):
            fit.status = "interrupted"
        hist = np.asarray(out["history"], dtype=float).reshape(-1, 2)[1:]
        hist[:, 0] += step0
        fit.history = np.concatenate([fit.history.reshape(-1, 2), hist])
        fit.params = out["x"]
        fit.loss = float(core.loss_and_grad(fit.params)[0])
        fit.wall_time += out["wall_time"]
        return {
            "lm_iterations": int(out["iterations"]),
            "lm_trials": int(out["trials"]),
            "lm_loss": float(out["loss"]),
            "lm_message": str(out["message"]),
            "lm_wall_time": float(out["wall_time"]),
            "jacobian": problem.jacobian_source,
        }

    def _fit_spectral(self, data: PeriodicStates, smoothness: Smoothness, max_iter: int) -> SteadyFit:
        import time

        start = time.perf_counter()
        problem = self.spectral_residual(data, 0.0)
        how = "auto" if smoothness == "auto" else self._smoothness(smoothness)
        status = "completed"
        try:
            out = solve(problem, how, self.unknowns, max_iter)
        except KeyboardInterrupt:  # nothing half-done to keep: the model is left as it was
            raise KeyboardInterrupt("Spectral fit interrupted; the model is unchanged") from None
        self.params = out.theta
        penalty = out.loss - out.fixed_point_loss
        return SteadyFit(
            params=out.theta.copy(),
            loss=out.loss,
            functions={},
            history=np.asarray(out.history, dtype=float).reshape(-1, 2),
            status=status,
            lbfgs_message="not run",
            wall_time=time.perf_counter() - start,
            extra={
                "method": "gauss-newton",
                "iterations": out.iterations,
                "message": out.message,
                "penalty": float(penalty),
                "fixed_point_loss": out.fixed_point_loss,
                "smoothness": out.smoothness,
                "smoothness_rule": out.rule,
                "noise": out.noise,
                "lcurve": np.asarray(out.lcurve, dtype=float).reshape(-1, 3),
            },
        )

    def _auto_smoothness(self, data: PeriodicStates, max_iter: int) -> Dict[str, Any]:
        """The smoothness a Spectral fit of the same unknowns chooses on these data (L-curve)."""
        stand_in = AggregationDiffusion(
            self.grid,
            self.kappa,
            V=Spectral() if "V" in self.unknowns else self._known["V"],
            W=Spectral() if "W" in self.unknowns else self._known["W"],
        )
        out = stand_in._fit_spectral(data, "auto", max_iter)
        return {k: out.extra[k] for k in ("smoothness", "noise", "lcurve")}

    def save(self, path: str) -> None:
        """Write the model (set-up, parameters, last fit) to ``path`` (.npz); steady.load reads it."""
        from .store import save

        save(self, path)

    def functions(self) -> Dict[str, np.ndarray]:
        """{"V": values on grid.x, "W": values on grid.lags}, learned ones in the zero-mean gauge."""
        out = {}
        sl = self._slices()
        for name, at in (("V", self.grid.x), ("W", self.grid.lags)):
            spec = self._spec[name]
            if spec is None:
                out[name] = self._known[name].copy()
            elif name in self._spectral:
                out[name] = self._basis(name, at) @ self.params[sl[name]]  # zero mean on the grid already
            else:
                v = spec.evaluate(self.params[sl[name]], self._features(name, at))
                out[name] = v - v.mean()
        return out

    @property
    def V(self) -> np.ndarray:
        return self.functions()["V"]

    @property
    def W(self) -> np.ndarray:
        return self.functions()["W"]

    def evaluate(self, name: str, at: np.ndarray) -> np.ndarray:
        """The learned (or known, when `at` are the grid points) function `name` ("V" or "W") at points `at`."""
        check.choice(name, "name", ("V", "W"))
        spec = self._spec[name]
        at = values(at, "at", ndim=1, shape_hint="points x")
        if spec is None:
            raise InputError(f"{name} is known (given as grid values); it is not a learned function")
        p = self.params[self._slices()[name]]
        if name in self._spectral:
            return self._basis(name, at) @ p
        grid_at = self.grid.x if name == "V" else self.grid.lags
        mean = spec.evaluate(p, self._features(name, grid_at)).mean()
        return spec.evaluate(p, self._features(name, at)) - mean

    def predict(
        self,
        sigma: float,
        mass: float,
        u0: Optional[np.ndarray] = None,
        method: str = "picard",
        **solver: Any,
    ) -> np.ndarray:
        """A steady state of the completed PDE (learned V, W) for a new sigma, mass, u0: shape (n,)."""
        f = self.functions()
        if self.exponent != 1:
            solver["exponent"] = self.exponent
        return steady_state(self.grid, f["V"], f["W"], self.kappa, sigma, mass, u0=u0, method=method, **solver)


class Semilinear:
    """-D u'' = g(., .) on an IntervalGrid with Dirichlet data and an unknown right-hand side.

    depends_on: "u" (reaction g(u)), "x" (source g(x)) or "xu" (g(x, u)). Inputs are scaled to
    [-1, 1]: x by the interval, u by the range of the data it was fitted on. g: an Unknown
    (a network; Adam then L-BFGS) or a Chebyshev series (of u or of x; linear least squares, with
    a roughness penalty chosen from the data by ``fit(smoothness="auto")``).
    """

    def __init__(
        self,
        grid: IntervalGrid,
        diffusion: float = 1.0,
        g: Union[None, Unknown, Chebyshev] = None,
        depends_on: str = "u",
    ):
        require_grid(grid, IntervalGrid)
        diffusion = check.real(diffusion, "diffusion D", positive=True)
        depends_on = check.choice(depends_on, "depends_on", ("u", "x", "xu"))
        self.grid, self.diffusion, self.depends_on = grid, diffusion, depends_on
        self.series: Optional[Chebyshev] = g if isinstance(g, Chebyshev) else None
        if self.series is not None:
            if depends_on == "xu":
                raise InputError(
                    "a Chebyshev g depends on one input: depends_on='u' or 'x' (use Unknown() for g(x, u))"
                )
            self.spec = Unknown(hidden=(1,))  # unused: the series is g
            self.params = np.zeros(self.series.degree + 1)
        else:
            self.spec = Unknown(hidden=(32, 32)) if g is None else g  # type: ignore[assignment]
            if not isinstance(self.spec, Unknown):
                raise InputError("g must be a pinnbilo.steady.Unknown or a pinnbilo.steady.Chebyshev")
            self.params = self.spec.init(len(depends_on))
        self.u_range = (-1.0, 1.0)
        self.result: Optional[SteadyFit] = None

    def save(self, path: str) -> None:
        """Write the model (set-up, parameters, u range, last fit) to ``path`` (.npz); steady.load reads it."""
        from .store import save

        save(self, path)

    def features(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Network inputs for points (x, u) of equal shape: (len(depends_on), size)."""
        x, u = _broadcast_points(x, u)
        lo, hi = self.u_range
        cols = {
            "x": 2 * (x.ravel() - self.grid.a) / (self.grid.b - self.grid.a) - 1,
            "u": 2 * (u.ravel() - lo) / (hi - lo) - 1,
        }
        return np.stack([cols[c] for c in self.depends_on])

    def build(self, data: DirichletStates) -> _core.SemilinearFit:
        """The C++ loss object of a network g for these data (sets the u range from them)."""
        core = self._core_for(data)
        if self.series is not None:
            raise InputError("build() makes the network loss; this model's g is a Chebyshev series: use loss_and_grad")
        feats = self.features(np.broadcast_to(self.grid.x, data.u.shape), data.u)
        core.set_g_network((self.spec.sizes(feats.shape[0]), self.spec.activation, feats))
        return core

    def _core_for(self, data: DirichletStates) -> _core.SemilinearFit:
        if not isinstance(data, DirichletStates):
            raise InputError("data must be DirichletStates (see pinnbilo.steady.semilinear_states)")
        if data.grid != self.grid:
            raise InputError(
                f"data grid {data.grid} differs from the model grid {self.grid}; use the same IntervalGrid"
            )
        lo, hi = float(data.u.min()), float(data.u.max())
        self.u_range = (lo, hi) if hi > lo else (lo - 1.0, lo + 1.0)
        return _core.SemilinearFit(
            self.grid.n, self.grid.h, self.diffusion, data.u, data.weights, data.left, data.right
        )

    def _series_inputs(self, data: DirichletStates) -> np.ndarray:
        """The scaled input of the series at the data: (S, n)."""
        return self.features(np.broadcast_to(self.grid.x, data.u.shape), data.u)[0].reshape(data.u.shape)

    def loss_and_grad(self, data: DirichletStates, params: Optional[np.ndarray] = None) -> Tuple[float, np.ndarray]:
        """The fixed-point loss and its gradient w.r.t. the flat weights of g, or the Chebyshev
        coefficients (default: the current ones); without the smoothness penalty."""
        theta = _flat_params(params, self.params)
        if self.series is None:
            return self.build(data).loss_and_grad(theta)
        core = self._core_for(data)  # the C++ loss of g's values, chained through the (linear) series
        Phi = self.series.basis(self._series_inputs(data).ravel())
        loss, g_bar = core.loss_from_values(Phi @ theta)  # flat, state by state
        return float(loss), Phi.T @ np.asarray(g_bar).ravel()

    def fit(
        self,
        data: DirichletStates,
        adam_steps: Optional[int] = None,
        lr: Optional[float] = None,
        lbfgs_steps: Optional[int] = None,
        progress: bool = False,
        smoothness: Union[float, str] = 0.0,
    ) -> SteadyFit:
        """Minimise sum_s ||T(u_s) - u_s||^2 / ||u_s||^2 over the weights of g.

        A network g: Adam (adam_steps, default 2000, at lr, default 3e-3), then L-BFGS
        (lbfgs_steps, default 1000). A Chebyshev g: one least-squares solve (the Adam and L-BFGS
        options do not apply and are refused), with smoothness=lambda adding lambda int g''(z)^2 dz
        over the scaled input, or smoothness="auto" choosing lambda from the data (0 for clean
        data, else the L-curve corner); the choice and the noise estimate of each state are in
        fit.extra["smoothness"] and fit.extra["noise"].
        """
        if self.series is not None:
            return self._fit_series(data, adam_steps, lr, lbfgs_steps, progress, smoothness)
        if not (isinstance(smoothness, (int, float)) and not isinstance(smoothness, bool) and smoothness == 0):
            raise InputError(
                f"smoothness={check._show(smoothness)}: a roughness penalty on g needs a Chebyshev g "
                "(Semilinear(grid, D, g=steady.Chebyshev(12))); a network g is fitted without one"
            )
        adam_steps = 2000 if adam_steps is None else adam_steps
        lr = 3e-3 if lr is None else lr
        lbfgs_steps = 1000 if lbfgs_steps is None else lbfgs_steps
        check_budget(adam_steps, lr, lbfgs_steps)
        _validate_flags(progress, False)
        core = self.build(data)
        fit = optimise(core, self.params, adam_steps, lr, lbfgs_steps, progress)
        self.params = fit.params
        fit.functions = {"g": core.function_values(fit.params).reshape(data.u.shape)}
        fit.extra = {"u_range": self.u_range}
        self.result = fit
        return fit

    def _fit_series(
        self,
        data: DirichletStates,
        adam_steps: object,
        lr: object,
        lbfgs_steps: object,
        progress: object,
        smoothness: object,
    ) -> SteadyFit:
        import time

        _refuse_optimiser_options(adam_steps, lr, lbfgs_steps, "a Chebyshev g is fitted by one least-squares solve")
        check.flag(progress, "progress")
        if isinstance(smoothness, str):
            check.choice(smoothness, "smoothness", ("auto",))
        else:
            smoothness = check.real(smoothness, "smoothness", nonnegative=True)
        start = time.perf_counter()
        self._core_for(data)  # checks the data, sets the u range
        assert self.series is not None
        out = fit_series(self.grid, self.diffusion, data, self.series, self._series_inputs(data), smoothness)
        self.params = out.theta
        g_values = (self.series.basis(self._series_inputs(data).ravel()) @ out.theta).reshape(data.u.shape)
        fit = SteadyFit(
            params=out.theta.copy(),
            loss=out.fixed_point_loss + out.penalty,
            functions={"g": g_values},
            history=np.array([[0.0, out.fixed_point_loss + out.penalty]]),
            lbfgs_message="not run",
            wall_time=time.perf_counter() - start,
            extra={
                "method": "least-squares",
                "u_range": self.u_range,
                "fixed_point_loss": out.fixed_point_loss,
                "penalty": out.penalty,
                "smoothness": out.smoothness,
                "noise": out.noise,
                "lcurve": np.asarray(out.lcurve, dtype=float).reshape(-1, 3),
            },
        )
        self.result = fit
        return fit

    def g(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        """The learned g at points (x, u) (broadcast together); same shape as the broadcast."""
        xb, ub = _broadcast_points(x, u)
        lo, hi = self.u_range
        if "u" in self.depends_on and (np.min(ub) < lo - 0.05 * (hi - lo) or np.max(ub) > hi + 0.05 * (hi - lo)):
            warnings.warn(
                f"g(u) evaluated outside the range of u seen in the data [{lo:.3g}, {hi:.3g}]: extrapolation",
                RuntimeWarning,
                stacklevel=user_stacklevel(),
            )
        if self.series is not None:
            return (self.series.basis(self.features(xb, ub)[0]) @ self.params).reshape(xb.shape)
        return self.spec.evaluate(self.params, self.features(xb, ub)).reshape(xb.shape)

    def predict(self, left: float, right: float, u0: Optional[np.ndarray] = None) -> np.ndarray:
        """Solve -D u'' = g_learned(x, u) with new boundary values: interior values, shape (n,)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return semilinear_state(self.grid, self.g, self.diffusion, left, right, u0)


def _support_reach(data: PeriodicStates) -> float:
    """The largest lag at which W enters the steady-state relation of some state: the extent of
    its support on the circle (the length minus the longest run of points where u is ~0)."""
    reach = 0.0
    for u in data.u:
        empty = u <= 1e-8 * np.max(np.abs(u))
        if not empty.any():
            return data.grid.length
        # the longest circular run of empty points
        doubled = np.concatenate([empty, empty])
        longest = run = 0
        for e in doubled:
            run = run + 1 if e else 0
            longest = max(longest, run)
        reach = max(reach, (data.grid.n - min(longest, data.grid.n)) * data.grid.h)
    return reach


UNSEEN_ENERGY_WARNING = 0.05  # a learned W with more than this share of its energy in unseen modes is warned of


def _ranges(modes: Any) -> str:
    """[1, 2, 3, 7, 9, 10] -> '1-3, 7, 9-10'."""
    out: List[str] = []
    run: List[int] = []
    for m in list(modes) + [None]:
        if run and (m is None or m != run[-1] + 1):
            out.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else f"{run[0]}")
            run = []
        if m is not None:
            run.append(m)
    return ", ".join(out)


def _refuse_optimiser_options(adam_steps: object, lr: object, lbfgs_steps: object, how: str) -> None:
    """Adam/L-BFGS options given to a fit that does not use them: refused, naming them."""
    options = (("adam_steps", adam_steps), ("lr", lr), ("lbfgs_steps", lbfgs_steps))
    given = [k for k, v in options if v is not None]
    if given:
        raise InputError(f"{', '.join(given)}: {how}, not Adam/L-BFGS; drop these options")


def _flat_params(params: object, current: np.ndarray) -> np.ndarray:
    """Flat network weights of the model's size (default: the current ones)."""
    if params is None:
        return current
    return values(params, "params", shape=current.shape, shape_hint="the flat network weights, like model.params")


def _validate_flags(progress: object, diagnostics: object) -> bool:
    check.flag(progress, "progress")
    return check.flag(diagnostics, "check")


def _broadcast_points(x: object, u: object) -> Tuple[np.ndarray, np.ndarray]:
    xa, ua = values(x, "x"), values(u, "u")
    try:
        xb, ub = np.broadcast_arrays(xa, ua)
    except ValueError:
        raise InputError(f"x and u must broadcast together, got shapes {xa.shape} and {ua.shape}") from None
    if xb.size == 0:
        raise InputError("x and u are empty; give at least one point")
    return xb, ub
