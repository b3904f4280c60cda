"""The Morse-type kernel from steady states: Spectral unknowns (Gauss-Newton) against the network
(Adam + L-BFGS, and Levenberg-Marquardt), on clean data and on noisy partial data with the
smoothness chosen automatically;
the noisy-Kuramoto transition from steady.branch (128 and 4096 points, matrix-free); and the
Chebyshev semilinear fit under noise, the radial kernel and the potential on the 2-D torus and the
two-species kernels (the README's numbers).

    python bench/steady_spectral_morse.py            # about 1 minute on 2 cores
    python bench/steady_spectral_morse.py --quick    # skips the network fits

The network rows: the default Unknown() by Adam + L-BFGS, and a one-layer network of 64 tanh units
on 8 Fourier features by Levenberg-Marquardt on the residual vector (optimizer="lm").

Set-up: W(r) = -exp(-s/0.15) + 0.6 exp(-s/0.05), s = sqrt(r^2 + 0.02^2), periodised on the unit
torus; known V = 0.15 cos 2 pi x + 0.1 sin(4 pi x + 0.7); kappa = 1, sigma = 0.2, masses 0.5, 1, 2;
128 grid points. Prints the relative L2 error of W (zero-mean gauge), the depth of the repulsive
core W(0) - min W against the truth, the final loss and the wall time.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.optimize import brentq  # type: ignore[import-untyped]
from scipy.special import i0e, i1e  # type: ignore[import-untyped]

from pinnbilo import steady

GRID = steady.PeriodicGrid(128, 1.0)


def morse(lag: np.ndarray) -> np.ndarray:
    total = np.zeros_like(lag)
    for k in range(-3, 4):
        s = np.sqrt((lag + k) ** 2 + 0.02**2)
        total += -np.exp(-s / 0.15) + 0.6 * np.exp(-s / 0.05)
    return total


def potential(x: np.ndarray) -> np.ndarray:
    return 0.15 * np.cos(2 * np.pi * x) + 0.1 * np.sin(4 * np.pi * x + 0.7)


def row(label: str, fit: steady.SteadyFit, wall: float) -> str:
    truth = morse(GRID.lags)
    w, t = fit.functions["W"], truth - truth.mean()
    err = steady.relative_error(w, truth)
    depth = (w[0] - w.min()) / (t[0] - t.min())
    lam = fit.extra.get("smoothness", "")
    lam_s = f"{lam:.2g}" if isinstance(lam, float) else "-"
    return f"| {label} | {100 * err:.2f}% | {100 * depth:.0f}% | {fit.loss:.1e} | {lam_s} | {wall:.1f} s |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="skip the network fits")
    args = ap.parse_args()
    states = steady.aggregation_diffusion_states(GRID, V=potential, W=morse, kappa=1.0, sigma=0.2, mass=[0.5, 1.0, 2.0])
    print("| fit | W error | core depth | loss | smoothness | wall |")
    print("|---|---|---|---|---|---|")
    for modes in (None, 20, 40):
        model = steady.AggregationDiffusion(GRID, kappa=1.0, V=potential, W=steady.Spectral(modes))
        t0 = time.perf_counter()
        fit = model.fit(states, check=False)
        print(row(f"clean, Spectral(modes={modes})", fit, time.perf_counter() - t0))
    if not args.quick:
        for seed in (0, 1, 2):
            model = steady.AggregationDiffusion(GRID, kappa=1.0, V=potential, W=steady.Unknown(seed=seed))
            t0 = time.perf_counter()
            fit = model.fit(states, check=False)
            print(row(f"clean, Unknown() network seed {seed}", fit, time.perf_counter() - t0))
        for seed in (0, 1, 2):
            net = steady.Unknown(hidden=(64,), modes=8, seed=seed)
            model = steady.AggregationDiffusion(GRID, kappa=1.0, V=potential, W=net)
            t0 = time.perf_counter()
            fit = model.fit(states, optimizer="lm", check=False)
            steps = fit.extra["lm_iterations"]
            label = f"clean, Unknown(hidden=(64,), modes=8) seed {seed}, optimizer='lm' ({steps} steps)"
            print(row(label, fit, time.perf_counter() - t0))
    errors = []
    for noise_seed in range(5):
        data = steady.observe_periodic(states, m=64, noise=0.02, seed=noise_seed)
        model = steady.AggregationDiffusion(GRID, kappa=1.0, V=potential, W=steady.Spectral())
        t0 = time.perf_counter()
        fit = model.fit(data, smoothness="auto", check=False)
        errors.append(steady.relative_error(fit.functions["W"], morse(GRID.lags)))
        print(
            row(
                f"64 of 128 points, 2% noise, seed {noise_seed}, Spectral, smoothness='auto'",
                fit,
                time.perf_counter() - t0,
            )
        )
    e = 100 * np.array(errors)
    print(f"\nnoisy: W error median {np.median(e):.2f}%, range {e.min():.2f}-{e.max():.2f}% over 5 noise seeds")

    sigma, mass = 0.5, 1.0
    t0 = time.perf_counter()
    b = steady.branch(GRID, W=lambda r: -np.cos(2 * np.pi * r), kappa=0.5, sigma=sigma, mass=mass, stop=2.0, ds=0.05)
    wall = time.perf_counter() - t0
    kc = b.bifurcations[0]
    on = b.segment == 1
    worst = 0.0
    for kappa, r in zip(b.values[on][1:], b.order[on][1:]):
        beta = kappa * mass / sigma
        exact = brentq(lambda q, b=beta: q - i1e(b * q) / i0e(b * q), 1e-9, 1 - 1e-12)
        worst = max(worst, abs(r - exact))
    print(
        f"Kuramoto (W = -cos 2 pi x, sigma {sigma}, M {mass}): critical kappa {kc:.10f} (2 sigma / M = "
        f"{2 * sigma / mass:g}), {len(b)} states, order parameter within {worst:.1e} of the Bessel ratio, {wall:.1f} s"
    )
    big = steady.PeriodicGrid(4096)
    t0 = time.perf_counter()
    b = steady.branch(big, W=lambda r: -np.cos(2 * np.pi * r), kappa=0.5, sigma=sigma, mass=mass, stop=2.0, ds=0.05)
    wall = time.perf_counter() - t0
    print(
        f"Kuramoto on 4096 points (matrix-free: GMRES, ARPACK): critical kappa {b.bifurcations[0]:.10f}, "
        f"{len(b)} states, {wall:.1f} s"
    )
    semilinear_torus_species()


def semilinear_torus_species() -> None:
    """The Chebyshev semilinear fit under noise, the torus's radial kernel and the two species."""
    ig = steady.IntervalGrid(63, 0.0, 1.0)
    react = lambda x, u: 2.0 * np.exp(-u)  # noqa: E731
    dstates = steady.semilinear_states(ig, react, diffusion=0.5, left=[0.0, 1.0, 0.0, 2.0], right=[0.0, 0.0, 2.0, 1.0])
    uu = np.linspace(dstates.u.min(), dstates.u.max(), 100)
    errs = []
    for seed in range(3):
        model = steady.Semilinear(ig, 0.5, g=steady.Chebyshev(12))
        model.fit(steady.observe_dirichlet(dstates, noise=0.01, seed=seed), smoothness="auto")
        errs.append(np.linalg.norm(model.g(0.0, uu) - react(0, uu)) / np.linalg.norm(react(0, uu)))
    e = 100 * np.array(errs)
    print(
        f"semilinear g(u) = 2 exp(-u), 1% noise, Chebyshev(12), smoothness='auto': {e.min():.1f}-{e.max():.1f}% "
        "over 3 noise seeds"
    )
    W2 = lambda dx, dy: -np.exp(-(dx**2 + dy**2) / (2 * 0.1**2))  # noqa: E731
    V2 = lambda x, y: 0.3 * np.cos(2 * np.pi * x) + 0.2 * np.sin(2 * np.pi * (x + 2 * y)) + 0.15 * np.cos(2 * np.pi * y)  # noqa: E731
    for N in (64, 128):
        g2 = steady.TorusGrid(N)
        st = steady.torus_states(g2, V2, W2, kappa=1.0, sigma=0.3, mass=[0.5, 1.0, 2.0])
        model = steady.TorusAggregationDiffusion(g2, 1.0, V=V2, W=steady.RadialSpectral(16))
        t0 = time.perf_counter()
        model.fit(st)
        wall = time.perf_counter() - t0
        problem = model.residual(st)
        t0 = time.perf_counter()
        problem.residual(model.params)
        t_res = time.perf_counter() - t0
        t0 = time.perf_counter()
        problem.jacobian(model.params)
        t_jac = time.perf_counter() - t0
        DX, DY = g2.lags()
        print(
            f"torus {N}x{N}: radial Gaussian error {steady.radial_error(model.W, W2(DX, DY)):.1e}, fit {wall:.1f} s, "
            f"residual {1e3 * t_res:.1f} ms, Jacobian {1e3 * t_jac:.0f} ms ({problem.n_params} shells)"
        )
        X, Y = g2.coordinates()
        for label, W_arg in (("W known", W2), ("jointly with W", steady.RadialSpectral(16))):
            model = steady.TorusAggregationDiffusion(g2, 1.0, V=steady.TorusSpectral(4), W=W_arg)
            t0 = time.perf_counter()
            model.fit(st)
            wall = time.perf_counter() - t0
            w_err = f", W error {steady.radial_error(model.W, W2(DX, DY)):.1e}" if "W" in model.unknowns else ""
            print(
                f"torus {N}x{N}: V = TorusSpectral(4) ({model.bases['V'].shape[1]} coefficients) {label}: "
                f"V error {steady.radial_error(model.V, V2(X, Y)):.1e}{w_err}, fit {wall:.2f} s"
            )
    gauss = lambda w, a: lambda r: a * np.exp(-(r**2) / (2 * w**2))  # noqa: E731
    kernels = {"11": gauss(0.1, -1.0), "12": gauss(0.15, 0.5), "21": gauss(0.08, -0.7), "22": gauss(0.12, -0.8)}
    Vs = (lambda x: 0.3 * np.cos(2 * np.pi * x), lambda x: 0.2 * np.sin(2 * np.pi * x) + 0.1 * np.cos(4 * np.pi * x))
    sst = steady.two_species_states(GRID, Vs, kernels, kappa=1.0, sigma=[[0.5, 0.4]],
                                    mass=[[0.5, 1.0], [1.0, 0.5], [1.5, 1.5], [2.0, 1.0]], damping=0.3)  # fmt: skip
    model = steady.TwoSpecies(GRID, 1.0, V=Vs, W={k: steady.Spectral() for k in kernels})
    fit = model.fit(sst)
    worst = max(steady.relative_error(fit.functions[f"W{k}"], f(GRID.lags)) for k, f in kernels.items())
    print(f"two species, all four kernels from 4 clean states: worst error {100 * worst:.3f}%")


if __name__ == "__main__":
    main()
