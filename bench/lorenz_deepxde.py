"""Lorenz inverse problem: DeepXDE's documented set-up against pinnbilo's PINN, same budget.

    taskset -c 1 python bench/lorenz_deepxde.py [--iterations 20000] [--pinnbilo-initial hard,soft]
        [--deepxde-dtypes float32,float64] [--out bench/results/lorenz_deepxde.json]

Both contenders learn sigma, rho, beta (true 10, 15, 8/3, initial guess 1) of
``x' = sigma (y - x)``, ``y' = x (rho - z) - y``, ``z' = x y - beta z`` on t in [0, 3] from
x, y, z observed without noise at the 30 times of ``lorenz().synthetic_observations(n=30, seed=0)``
(t = 0.1, 0.2, ..., 3.0; values from pinnbilo's SciPy reference ``exact``). They run one after the
other in this process, each at one thread (OMP_NUM_THREADS=1, torch.set_num_threads(1),
pb.set_num_threads(1)), with the same number of Adam iterations at learning rate 1e-3.

* DeepXDE (PyTorch backend), as in its docs (demos/pinn_inverse/lorenz.inverse.rst): TimeDomain(0, 3);
  the three residuals with ``dde.grad.jacobian``; the initial values as ``dde.icbc.IC`` loss terms
  (num_boundary=2); the observations as PointSetBC on each component, also the anchors;
  num_domain=400 (Hammersley); ``FNN([1] + [40]*3 + [3], "tanh", "Glorot uniform")``; loss the sum of
  the nine mean squares, weights 1; Adam lr 1e-3 on the weights and the external trainable
  variables C1, C2, C3 (from 1.0) together; the docs' VariableValue callback (period 600); default
  float32 (``--deepxde-dtypes float32,float64`` adds a run in double); seed 0 (``dde.config.set_random_seed``).
* pinnbilo: ``PINN(lorenz(), data, hidden=(40, 40, 40), n_res=400, w_data=100.0, seed=0)`` (the
  Lorenz recipe's model: initial values as hard transforms ``x = -8 + t N_x``, 400 evenly spaced
  collocation points, t mapped to [-1, 1] at the network input, Glorot-normal weights, zero biases,
  loss L_res + 100 L_data), float64; ``fit(steps=N, lr=1e-3, lr_params=1e-3)``: constant rates, no
  schedule, the last state kept, no L-BFGS. Parameters are trained as softplus(g r) with g set so
  that one unit of r is one unit of the parameter at the initial guess. The second pinnbilo run,
  "soft IC", is the same with ``lorenz(hard_initial=False)``: the network gives x, y, z directly
  and the initial values are loss terms, as in DeepXDE. (With the hard transform the network's
  output N = (x + 8) / t must reach x'(0) = 15 sigma = 150 near t = 0, which Adam at a constant
  1e-3 approaches slowly; the recipe trains at 3e-3 with a cosine schedule and L-BFGS.)

Wall time is that of the training call alone (DeepXDE's ``train`` includes its loss print every
1000 iterations; pinnbilo's ``fit`` its callback every 100). The JSON also holds the final losses
and the relative L2 error of each fitted trajectory against the reference on 301 times.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from typing import Any, Callable, Dict, List

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "PINNBILO_NUM_THREADS")
for _var in THREAD_VARS:  # before numpy, torch and pinnbilo start their thread pools
    os.environ[_var] = "1"
os.environ["DDE_BACKEND"] = "pytorch"

import numpy as np  # noqa: E402
import torch  # noqa: E402

import pinnbilo as pb  # noqa: E402

TRUE = {"sigma": 10.0, "rho": 15.0, "beta": 8.0 / 3.0}
HERE = os.path.dirname(os.path.abspath(__file__))


def observations(problem: pb.Problem) -> List[pb.Data]:
    """Noise-free x, y, z at t = 0.1, ..., 3.0, one Data per field; values from ``problem.exact``."""
    data = problem.synthetic_observations(n=30, seed=0)
    exact = problem.exact(data[0].points)
    for k, d in enumerate(data):
        assert np.array_equal(d.points, data[0].points) and np.allclose(d.values, exact[:, k], rtol=0, atol=1e-12)
    return data


def summary(params: Dict[str, float], wall: float, iterations: int, traj_err: float) -> Dict[str, Any]:
    return {
        "wall_s": wall,
        "s_per_1000_it": 1000.0 * wall / iterations,
        "params": params,
        "rel_err": {k: abs(params[k] - v) / v for k, v in TRUE.items()},
        "trajectory_rel_l2": traj_err,
    }


def trajectory_error(predict: Callable[[np.ndarray], np.ndarray], problem: pb.Problem) -> float:
    t = np.linspace(0.0, 3.0, 301)[:, None]
    ref = problem.exact(t)
    return float(np.linalg.norm(predict(t) - ref) / np.linalg.norm(ref))


def run_pinnbilo(data: List[pb.Data], iterations: int, hard_initial: bool) -> Dict[str, Any]:
    problem = pb.problems.lorenz(hard_initial=hard_initial)
    model = pb.PINN(problem, data, hidden=(40, 40, 40), n_res=400, w_data=100.0, seed=0)
    t0 = time.perf_counter()
    result = model.fit(steps=iterations, lr=1e-3, lr_params=1e-3)
    wall = time.perf_counter() - t0
    out = summary(
        model.params,
        wall,
        iterations,
        trajectory_error(lambda t: np.stack([model.predict(t, field=f) for f in problem.fields], 1), problem),
    )
    out["final_losses"] = result.losses
    initial = (
        "hard initial values x = -8 + t*N_x etc."
        if hard_initial
        else "x = N_x etc. with the initial values as loss terms (x(0) + 8)^2 etc. added to L_res"
    )
    out["ran"] = (
        f"pinnbilo PINN, float64: PINN(lorenz(hard_initial={hard_initial}), data, hidden=(40, 40, 40), n_res=400, "
        f"w_data=100.0, seed=0); fit(steps={iterations}, lr=1e-3, lr_params=1e-3) (constant rates, last state, no "
        f"L-BFGS); {initial}; 400 evenly spaced collocation points; t mapped to [-1, 1] at the input; loss = "
        "L_res + 100 L_data (L_res: mean over points of the sum of the 3 squared residuals; L_data: mean over the "
        "90 observations); sigma, rho, beta = softplus(g r), Adam on r"
    )
    return out


def run_deepxde(problem: pb.Problem, data: List[pb.Data], iterations: int, dtype: str) -> Dict[str, Any]:
    import deepxde as dde

    dde.config.set_default_float(dtype)
    dde.config.set_random_seed(0)
    c1, c2, c3 = dde.Variable(1.0), dde.Variable(1.0), dde.Variable(1.0)

    def lorenz_system(x: torch.Tensor, y: torch.Tensor) -> List[torch.Tensor]:
        y1, y2, y3 = y[:, 0:1], y[:, 1:2], y[:, 2:]
        dy1_x = dde.grad.jacobian(y, x, i=0)
        dy2_x = dde.grad.jacobian(y, x, i=1)
        dy3_x = dde.grad.jacobian(y, x, i=2)
        return [dy1_x - c1 * (y2 - y1), dy2_x - y1 * (c2 - y3) + y2, dy3_x - y1 * y2 + c3 * y3]

    def boundary(_: np.ndarray, on_initial: bool) -> bool:
        return on_initial

    geom = dde.geometry.TimeDomain(0, 3)
    ic1 = dde.icbc.IC(geom, lambda X: -8, boundary, component=0)
    ic2 = dde.icbc.IC(geom, lambda X: 7, boundary, component=1)
    ic3 = dde.icbc.IC(geom, lambda X: 27, boundary, component=2)
    observe_t = data[0].points
    observe = [dde.icbc.PointSetBC(observe_t, d.values[:, None], component=k) for k, d in enumerate(data)]
    pde = dde.data.PDE(
        geom, lorenz_system, [ic1, ic2, ic3, *observe], num_domain=400, num_boundary=2, anchors=observe_t
    )
    net = dde.nn.FNN([1] + [40] * 3 + [3], "tanh", "Glorot uniform")
    model = dde.Model(pde, net)
    model.compile("adam", lr=0.001, external_trainable_variables=[c1, c2, c3])
    variable = dde.callbacks.VariableValue([c1, c2, c3], period=600)
    t0 = time.perf_counter()
    _, state = model.train(iterations=iterations, callbacks=[variable])
    wall = time.perf_counter() - t0
    params = {k: float(c.detach()) for k, c in zip(TRUE, (c1, c2, c3))}
    out = summary(params, wall, iterations, trajectory_error(lambda t: model.predict(t.astype(dtype)), problem))
    out["final_losses"] = [float(v) for v in np.ravel(state.loss_train)]
    out["train_rows"] = int(pde.train_x.shape[0])
    out["ran"] = (
        f"DeepXDE {dde.__version__}, PyTorch backend, {dtype}: the docs' Lorenz_inverse (TimeDomain(0, 3); the "
        "3 residuals via dde.grad.jacobian; 3 dde.icbc.IC terms (num_boundary=2); 3 PointSetBC on the 30 "
        "observation times, also anchors; num_domain=400; FNN([1] + [40]*3 + [3], 'tanh', 'Glorot uniform'); "
        f"loss the sum of the 9 mean squares; Adam lr 1e-3 on weights and C1, C2, C3 from 1.0; {iterations} "
        "iterations; VariableValue callback period 600; set_random_seed(0))"
    )
    return out


def table(results: Dict[str, Dict[str, Any]]) -> str:
    base = next(iter(results.values()))["wall_s"]
    lines = [
        "| contender | wall s | s / 1000 it | wall / first | sigma | rho | beta "
        "| err sigma | err rho | err beta | traj L2 |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        p, e = r["params"], r["rel_err"]
        lines.append(
            f"| {name} | {r['wall_s']:.1f} | {r['s_per_1000_it']:.2f} | {r['wall_s'] / base:.2f} | "
            + " | ".join(f"{p[k]:.4f}" for k in TRUE)
            + " | "
            + " | ".join(f"{100 * e[k]:.2f}%" for k in TRUE)
            + f" | {r['trajectory_rel_l2']:.2e} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--iterations", type=int, default=20000, help="Adam iterations of each contender")
    ap.add_argument("--pinnbilo-initial", default="hard,soft", help="comma-separated: hard (transform), soft")
    ap.add_argument("--deepxde-dtypes", default="float32", help="comma-separated: float32 (the docs), float64")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "lorenz_deepxde.json"))
    ap.add_argument("--note", default="", help="what else was running, for the record")
    args = ap.parse_args()

    torch.set_num_threads(1)
    pb.set_num_threads(1)
    problem = pb.problems.lorenz()
    data = observations(problem)
    results: Dict[str, Dict[str, Any]] = {}
    for initial in args.pinnbilo_initial.split(","):
        results[f"pinnbilo {initial} IC"] = run_pinnbilo(data, args.iterations, hard_initial=initial == "hard")
    for dtype in args.deepxde_dtypes.split(","):
        results[f"deepxde {dtype}"] = run_deepxde(problem, data, args.iterations, dtype)
    text = table(results)
    print(text, flush=True)
    machine = {
        "python": platform.python_version(),
        "pinnbilo": pb.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "threads": 1,
        "loadavg_end": os.getloadavg(),
        "note": args.note,
    }
    with open(args.out, "w") as f:
        json.dump(
            {
                "argv": sys.argv,
                "iterations": args.iterations,
                "true": TRUE,
                "machine": machine,
                "results": results,
                "table": text,
            },
            f,
            indent=1,
        )


if __name__ == "__main__":
    main()
