"""Command line: ``python -m pinnbilo demo``, ``compare PROBLEM``, ``playground`` and ``steady``."""

from __future__ import annotations

import argparse
import sys
import time
from typing import List, Optional

from . import problems
from .model import PINN, BiLO


def demo(args: argparse.Namespace) -> int:
    """PINN and BiLO on exponential growth u_t = a u with noisy data; prints what each recovered."""
    problem = problems.get(args.problem, a_true=args.a_true, a_init=args.a_init)
    data = problem.synthetic_data(args.n_data, noise=args.noise, seed=args.seed)
    a_true = problem.true_params["a"]
    print(f"problem: {problem.describe()}")
    print(
        f"data: {len(data)} points, noise {args.noise:g} (std relative to max|u|), seed {args.seed}; "
        f"true a = {a_true:g}"
    )
    print(f"{'method':<6} {'a recovered':>12} {'rel. error':>11} {'steps':>6} {'wall time':>10}")
    worst = 0.0
    for cls, fit_kwargs in (
        (PINN, {}),
        (BiLO, {"pretrain_steps": args.pretrain_steps}),
    ):
        model = cls(problem, data, hidden=(args.width,) * args.depth, seed=args.seed)
        start = time.perf_counter()
        result = model.fit(steps=args.steps, lr=args.lr, lr_params=args.lr_params, progress=args.progress, **fit_kwargs)
        wall = time.perf_counter() - start
        a = result.params["a"]
        err = abs(a - a_true) / abs(a_true)
        worst = max(worst, err)
        print(f"{cls.display_name:<6} {a:>12.6f} {100 * err:>10.3f}% {result.steps:>6d} {wall:>9.3f}s")
    return 0


def compare(args: argparse.Namespace) -> int:
    """PINN and BiLO on the same data for one built-in problem; prints a table of errors."""
    from . import compare as cmp

    recipe = cmp.RECIPES[args.problem]
    problem = problems.get(args.problem)
    print(f"problem: {problem.describe()}")
    print(f"data: {recipe.n_data} points, noise {args.noise:g}, seed {args.seed}")
    outcomes = cmp.run(args.problem, noise=args.noise, seed=args.seed, steps=args.steps, progress=args.progress)
    print(cmp.table(outcomes))
    if args.plot:
        for path in cmp.save_figures(outcomes, args.plot):
            print(f"wrote {path}")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pinnbilo", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="recover the growth rate of u_t = a u with PINN and BiLO")
    d.add_argument("--problem", default="exponential", choices=sorted(problems.BUILTINS))
    d.add_argument("--a-true", type=float, default=2.0)
    d.add_argument("--a-init", type=float, default=1.0)
    d.add_argument("--noise", type=float, default=0.01)
    d.add_argument("--n-data", type=int, default=20)
    d.add_argument("--steps", type=int, default=4000)
    d.add_argument("--pretrain-steps", type=int, default=1000)
    d.add_argument("--lr", type=float, default=1e-3)
    d.add_argument("--lr-params", type=float, default=1e-3)
    d.add_argument("--width", type=int, default=32)
    d.add_argument("--depth", type=int, default=2)
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--progress", action="store_true", help="show a progress bar")
    c = sub.add_parser("compare", help="PINN against BiLO on the same data for a built-in problem")
    c.add_argument("problem", choices=sorted(problems.BUILTINS))
    c.add_argument("--noise", type=float, default=0.0, help="noise std relative to max|u|")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--steps", type=int, default=None, help="Adam steps (default: the problem's recipe)")
    c.add_argument("--plot", metavar="DIR", default=None, help="save figures (PNG) into DIR")
    c.add_argument("--progress", action="store_true", help="show a progress bar")
    g = sub.add_parser("playground", help="watch PINN and BiLO train live in the browser (local server)")
    g.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    g.add_argument("--no-browser", action="store_true", help="only print the URL")
    from .steady import experiments as steady_experiments

    steady_experiments.add_arguments(sub.add_parser("steady", help="learn V(x), W(x) from steady states: error sweep"))
    args = parser.parse_args(argv)
    if args.command == "steady":
        return steady_experiments.main(args)
    if args.command == "demo":
        return demo(args)
    if args.command == "compare":
        return compare(args)
    if args.command == "playground":
        from .playground import serve

        return serve(port=args.port, open_browser=not args.no_browser)
    return 2


if __name__ == "__main__":
    sys.exit(main())
