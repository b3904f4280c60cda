"""Levenberg-Marquardt for a network kernel on growing grids: the clean Morse case of
``steady_spectral_morse.py`` (same kernel, potential, kappa, sigma and masses) with
``Unknown(hidden=(64,), modes=8, seed=0)`` and ``optimizer="lm"`` (400 steps), on each grid size.
Prints the wall time, the relative L2 error of W, the final loss and the accepted / tried steps
(the README's LM timings; run with one BLAS thread).

    OPENBLAS_NUM_THREADS=1 python bench/steady_lm_grids.py [128 512 2048]
"""

from __future__ import annotations

import sys
import time

from steady_spectral_morse import morse, potential

from pinnbilo import steady


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [128, 512, 2048]
    print(f"{'points':>6} {'seconds':>8} {'W error':>9} {'loss':>9} {'steps':>9}")
    for n in sizes:
        grid = steady.PeriodicGrid(n, 1.0)
        states = steady.aggregation_diffusion_states(
            grid, V=potential, W=morse, kappa=1.0, sigma=0.2, mass=[0.5, 1.0, 2.0]
        )
        model = steady.AggregationDiffusion(
            grid, kappa=1.0, V=potential, W=steady.Unknown(hidden=(64,), modes=8, seed=0)
        )
        t0 = time.perf_counter()
        fit = model.fit(states, optimizer="lm", check=False)
        wall = time.perf_counter() - t0
        err = steady.relative_error(fit.functions["W"], morse(grid.lags))
        steps = f"{fit.extra['lm_iterations']}/{fit.extra['lm_trials']}"
        print(f"{n:>6} {wall:>8.1f} {err:>9.3%} {fit.loss:>9.1e} {steps:>9}", flush=True)


if __name__ == "__main__":
    main()
