"""Benchmark problems and models shared by the pytest-benchmark suite and the peer comparison.

Two problems, both exactly as a user would write them with :class:`pinnbilo.Problem`:

* ``ode``: exponential growth ``u_t = a u`` on t in [0, 1], ``u = 1 + t N`` (hard initial value).
* ``fkpp``: Fisher-KPP ``u_t = D u_xx + rho u (1 - u)`` on x, t in [0, 1] with
  ``u = 0.5 sin^2(pi x) + t x (1 - x) N`` (initial value and zero boundary built in); unknown D, rho.

Parameters have no bounds here, so raw and physical values coincide and the peers need no
bound transform. Data are synthetic values at fixed random points: only the cost of a step matters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Tuple

import numpy as np

import pinnbilo as pb

N_DATA = 64


@dataclass(frozen=True)
class Case:
    """One benchmark configuration."""

    problem: str  # "ode" or "fkpp"
    method: str  # "pinn" or "bilo"
    width: int
    depth: int
    n_points: int
    dtype: str = "float64"

    @property
    def label(self) -> str:
        return f"{self.problem} {self.method} w{self.width} d{self.depth} n{self.n_points} {self.dtype}"


def make_problem(name: str) -> pb.Problem:
    """The benchmark problem ``name`` ("ode" or "fkpp")."""
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
    raise ValueError(f"unknown benchmark problem {name!r}")


def collocation(problem: str, n: int, seed: int = 0) -> np.ndarray:
    """n collocation points: a uniform grid in t for the ODE, uniform random in the square else."""
    if problem == "ode":
        return np.linspace(0.0, 1.0, n)[:, None]
    return np.random.default_rng(seed).random((n, 2))


def data(problem: str, seed: int = 1) -> pb.Data:
    """N_DATA synthetic observations (smooth values; their fit is irrelevant to timing)."""
    rng = np.random.default_rng(seed)
    if problem == "ode":
        t = np.linspace(0.0, 1.0, N_DATA + 1)[1:, None]
        return pb.Data(t, np.exp(2.0 * t[:, 0]))
    pts = rng.random((N_DATA, 2))
    return pb.Data(pts, 0.5 * np.sin(np.pi * pts[:, 0]) ** 2 * np.exp(pts[:, 1]))


def make_model(case: Case, seed: int = 0) -> pb.Model:
    """A PINN or BiLO model of a case (default loss weights: w_res = w_data = 1, BiLO w_rgrad = 0.1)."""
    cls = pb.BiLO if case.method == "bilo" else pb.PINN
    return cls(
        make_problem(case.problem),
        data(case.problem),
        hidden=(case.width,) * case.depth,
        collocation=collocation(case.problem, case.n_points),
        dtype=case.dtype,
        seed=seed,
    )


def layer_sizes(case: Case) -> List[int]:
    n_coords = 1 if case.problem == "ode" else 2
    n_params = 1 if case.problem == "ode" else 2
    n_in = n_coords + (n_params if case.method == "bilo" else 0)
    return [n_in, *([case.width] * case.depth), 1]


# Jet sizes (kept Taylor coefficients per point) of the residual term, as the core builds them:
# the downward closure of the residual's derivatives (and, for BiLO, their first derivatives in
# each parameter).
def residual_jet_size(case: Case) -> int:
    if case.problem == "ode":
        return 4 if case.method == "bilo" else 2  # {1, t} (x {1, a})
    # {1, x, xx, t}; BiLO adds those times D and times rho
    return 12 if case.method == "bilo" else 4


def step_flops(case: Case) -> Dict[str, float]:
    """Floating-point operations of the matrix products in one training step of pinnbilo's
    Taylor-mode algorithm (2 per multiply-add), and the step's elementwise work left out.

    Residual term over K jet columns per point: forward Z = W X per layer; reverse: weight
    gradients per layer and the input adjoints W^T Z_bar for layers 1.. (BiLO's upper level
    also goes through layer 0 to reach the parameter inputs). Data term: K = 1 over N_DATA points.
    """
    sizes = layer_sizes(case)
    pairs = list(zip(sizes[:-1], sizes[1:]))
    all_mn = sum(i * o for i, o in pairs)
    inner_mn = sum(i * o for i, o in pairs[1:])
    kn = residual_jet_size(case) * case.n_points
    residual = 2.0 * kn * (all_mn + all_mn + inner_mn)
    if case.method == "pinn":
        data_term = 2.0 * N_DATA * (all_mn + all_mn + inner_mn)
    else:  # upper level: forward, input adjoints through every layer, no weight gradients
        data_term = 2.0 * N_DATA * (all_mn + all_mn)
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
