"""Benchmark problems and models shared by the pytest-benchmark suite and the peer comparison.

Two problems exactly as a user would write them with :class:`pinnbilo.Problem`, and a built-in system:

* ``ode``: exponential growth ``u_t = a u`` on t in [0, 1], ``u = 1 + t N`` (hard initial value).
* ``fkpp``: Fisher-KPP ``u_t = D u_xx + rho u (1 - u)`` on x, t in [0, 1] with
  ``u = 0.5 sin^2(pi x) + t x (1 - x) N`` (initial value and zero boundary built in); unknown D, rho.
* ``lorenz``: ``pinnbilo.problems.lorenz()``, three fields x, y, z of t in [0, 3] from one network
  with three outputs (``x = -8 + t N_x``, ...), three residuals, sigma, rho, beta in (0, inf); the
  30 noise-free observations of each field of ``synthetic_observations(n=30, seed=0)`` and the
  Lorenz recipe's loss weights; t is mapped to [-1, 1] at the network input.

Parameters are trained in units of their scale (raw r, physical a = g r, or a = softplus(g r) with
a lower bound of 0); the peers get the raw values and the bounds and apply the same transform.
Data of ``ode`` and ``fkpp`` are synthetic values at fixed random points: only the cost of a step
matters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np

import pinnbilo as pb
from pinnbilo.compare import RECIPES

N_DATA = 64


@dataclass(frozen=True)
class Case:
    """One benchmark configuration."""

    problem: str  # "ode", "fkpp" or "lorenz"
    method: str  # "pinn" or "bilo"
    width: int
    depth: int
    n_points: int
    dtype: str = "float64"

    @property
    def label(self) -> str:
        return f"{self.problem} {self.method} w{self.width} d{self.depth} n{self.n_points} {self.dtype}"


def make_problem(name: str) -> pb.Problem:
    """The benchmark problem ``name`` ("ode", "fkpp" or "lorenz")."""
    if name == "ode":
        return pb.Problem(("t",), {"t": (0.0, 1.0)}, [pb.Parameter("a", 1.0)], "u.t - a*u", "1 + t*N", name="bench_ode")
    if name == "fkpp":
        return pb.Problem(
            ("x", "t"),
            {"x": (0.0, 1.0), "t": (0.0, 1.0)},
            [pb.Parameter("D", 0.02), pb.Parameter("rho", 1.0)],
            "u.t - D*u.xx - rho*u*(1 - u)",
            "0.5*sin(pi*x)**2 + t*x*(1 - x)*N",
            name="bench_fkpp",
        )
    if name == "lorenz":
        return pb.problems.lorenz()
    raise ValueError(f"unknown benchmark problem {name!r}")


def collocation(problem: str, n: int, seed: int = 0) -> np.ndarray:
    """n collocation points: a uniform grid in t for the ODEs, uniform random in the square else."""
    if problem == "ode":
        return np.linspace(0.0, 1.0, n)[:, None]
    if problem == "lorenz":
        return np.linspace(0.0, 3.0, n)[:, None]
    return np.random.default_rng(seed).random((n, 2))


def data(problem: str, seed: int = 1) -> List[pb.Data]:
    """N_DATA synthetic observations (smooth values; their fit is irrelevant to timing); Lorenz:
    each field at t = 0.1, ..., 3.0."""
    if problem == "lorenz":
        return make_problem(problem).synthetic_observations(n=30, seed=0)
    rng = np.random.default_rng(seed)
    if problem == "ode":
        t = np.linspace(0.0, 1.0, N_DATA + 1)[1:, None]
        return [pb.Data(t, np.exp(2.0 * t[:, 0]))]
    pts = rng.random((N_DATA, 2))
    return [pb.Data(pts, 0.5 * np.sin(np.pi * pts[:, 0]) ** 2 * np.exp(pts[:, 1]))]


def loss_weights(case: Case) -> Dict[str, float]:
    """Default loss weights (w_res = w_data = 1, BiLO w_rgrad = 0.1); Lorenz: its recipe's."""
    if case.problem != "lorenz":
        return {}
    options = RECIPES["lorenz"].model_options("BiLO" if case.method == "bilo" else "PINN")
    return {k: float(v) for k, v in options.items() if k.startswith("w_")}  # type: ignore[arg-type]


def make_model(case: Case, seed: int = 0) -> pb.Model:
    """A PINN or BiLO model of a case."""
    cls = pb.BiLO if case.method == "bilo" else pb.PINN
    return cls(
        make_problem(case.problem),
        data(case.problem),
        hidden=(case.width,) * case.depth,
        collocation=collocation(case.problem, case.n_points),
        dtype=case.dtype,
        seed=seed,
        **loss_weights(case),
    )


class PeerUnavailable(RuntimeError):
    """A peer's form of the step that cannot run a case (the reason is the message)."""


@dataclass
class StepInputs:
    """What a peer needs to build a model's training step, read from the pinnbilo model."""

    layers: List[Tuple[np.ndarray, np.ndarray]]  # [(W (out x in), b), ...]
    raw: List[float]  # raw parameters, as the optimiser sees them
    bounds: List[Tuple[float, float, float]]  # per parameter (lower, upper, gain); +-inf: none
    colloc: np.ndarray  # (n, n_coords)
    obs_field: np.ndarray  # (n_rows,) observed field per data row
    obs_points: np.ndarray  # (n_rows, n_coords), every observation's rows one after another
    obs_values: np.ndarray  # (n_rows,)
    weights: Dict[str, float]  # w_res, w_rgrad, w_data, w_reg
    input_shift: Optional[List[float]] = None  # network input (z - shift) * scale per coordinate
    input_scale: Optional[List[float]] = None


def step_inputs(model: pb.Model) -> StepInputs:
    """The weights, raw parameters, bounds, points, observations and loss weights of a model."""
    p = model.problem
    fields = [p.field_index(d.of) for d in model.observations]
    scaling = model._input_scaling()
    return StepInputs(
        layers=[(w.astype(np.float64), b.astype(np.float64)) for w, b in model.get_weights()],
        raw=[float(r) for r in model.state_vector("upper")],
        bounds=[
            (-np.inf if q.bounds[0] is None else q.bounds[0], np.inf if q.bounds[1] is None else q.bounds[1], g)
            for q, g in zip(p.params, model.param_gains)
        ],
        colloc=model.collocation,
        obs_field=np.concatenate([np.full(len(d.values), k) for k, d in zip(fields, model.observations)]),
        obs_points=np.concatenate([d.points for d in model.observations]),
        obs_values=np.concatenate([d.values for d in model.observations]),
        weights=dict(model.weights_config),
        input_shift=scaling.get("input_shift"),
        input_scale=scaling.get("input_scale"),
    )


def layer_sizes(case: Case) -> List[int]:
    n_coords, n_params, n_fields = {"ode": (1, 1, 1), "fkpp": (2, 2, 1), "lorenz": (1, 3, 3)}[case.problem]
    n_in = n_coords + (n_params if case.method == "bilo" else 0)
    return [n_in, *([case.width] * case.depth), n_fields]


def n_data_rows(case: Case) -> int:
    return 3 * 30 if case.problem == "lorenz" else N_DATA  # Lorenz: 30 times, three fields


# Jet sizes (kept Taylor coefficients per point) of the residual term, as the core builds them:
# the downward closure of the residual's derivatives (and, for BiLO, their first derivatives in
# each parameter).
def residual_jet_size(case: Case) -> int:
    if case.problem == "ode":
        return 4 if case.method == "bilo" else 2  # {1, t} (x {1, a})
    if case.problem == "lorenz":
        return 8 if case.method == "bilo" else 2  # {1, t} (x {1, sigma, rho, beta})
    # {1, x, xx, t}; BiLO adds those times D and times rho
    return 12 if case.method == "bilo" else 4


def step_flops(case: Case) -> Dict[str, float]:
    """Floating-point operations of the matrix products in one training step of pinnbilo's
    Taylor-mode algorithm (2 per multiply-add), and the step's elementwise work left out.

    Residual term over K jet columns per point: forward Z = W X per layer; reverse: weight
    gradients per layer and the input adjoints W^T Z_bar for layers 1.. (BiLO's upper level
    also goes through layer 0 to reach the parameter inputs). Data term: K = 1 over the data rows.
    """
    sizes = layer_sizes(case)
    pairs = list(zip(sizes[:-1], sizes[1:]))
    all_mn = sum(i * o for i, o in pairs)
    inner_mn = sum(i * o for i, o in pairs[1:])
    kn = residual_jet_size(case) * case.n_points
    residual = 2.0 * kn * (all_mn + all_mn + inner_mn)
    rows = n_data_rows(case)
    if case.method == "pinn":
        data_term = 2.0 * rows * (all_mn + all_mn + inner_mn)
    else:  # upper level: forward, input adjoints through every layer, no weight gradients
        data_term = 2.0 * rows * (all_mn + all_mn)
    return {"residual": residual, "data": data_term, "total": residual + data_term}


def flat_to_layers(flat: np.ndarray, sizes: List[int]) -> List[Tuple[np.ndarray, np.ndarray]]:
    """pinnbilo's flat layout (per layer W (out x in) row-major, then b) as [(W, b), ...]."""
    out, pos = [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        w = flat[pos : pos + n_in * n_out].reshape(n_out, n_in)
        pos += n_in * n_out
        out.append((w, flat[pos : pos + n_out]))
        pos += n_out
    return out
