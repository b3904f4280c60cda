"""Command line: ``python -m pinnbilo demo``, ``compare PROBLEM``, ``sweep SPEC``, ``playground`` and ``steady``."""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Callable, Dict, List, Optional

from . import _validation as check
from . import problems
from .errors import InputError, PinnbiloError
from .model import PINN, BiLO

DEMO_PROBLEMS = ("exponential", "logistic")  # ODEs with one scalar rate a
# Bounds of the command line's counts, checked while the options are parsed (before anything runs):
# step counts fit a C++ int, layer sizes are the library's network limits.
MAX_STEPS = 2**31 - 1
MAX_WIDTH, MAX_DEPTH = 4096, 64
MAX_COUNT = 2**31 - 1  # data points, states, observations, grid points: the library refuses sooner


def _integer(minimum: int, maximum: int) -> Callable[[str], int]:
    """An argparse type: an integer in [minimum, maximum] (a bad value: exit status 2, one line)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:  # not a number, or over Python's 4300-digit conversion limit
            raise argparse.ArgumentTypeError(f"expected an integer, got {check._show(text)}") from None
        try:
            return check.integer(value, "the value", minimum=minimum, maximum=maximum)
        except InputError:
            raise argparse.ArgumentTypeError(
                f"expected an integer in [{minimum}, {maximum}], got {check._show(text)}"
            ) from None

    parse.__name__ = "integer"
    return parse


def _real(nonnegative: bool = False, positive: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number, optionally >= 0 or > 0 (nan, inf and 1e400 are refused)."""
    need = "a positive finite number" if positive else "a finite number >= 0" if nonnegative else "a finite number"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {need}, got {check._show(text)}") from None
        try:
            return check.real(value, "the value", nonnegative=nonnegative, positive=positive)
        except InputError:
            raise argparse.ArgumentTypeError(f"expected {need}, got {check._show(text)}") from None

    parse.__name__ = "number"
    return parse


def _listed(item: Callable[[str], object], what: str) -> Callable[[str], List[object]]:
    """An argparse type: a non-empty comma-separated list, each entry read by ``item``."""

    def parse(text: str) -> List[object]:
        parts = [t.strip() for t in text.split(",") if t.strip()]
        if not parts:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list of {what}, got {check._show(text)}")
        out = []
        for t in parts:
            try:
                out.append(item(t))
            except argparse.ArgumentTypeError as exc:
                raise argparse.ArgumentTypeError(f"{exc} (in the list {check._show(text)})") from None
        return out

    parse.__name__ = "list"
    return parse


def _one_of(options: tuple) -> Callable[[str], str]:
    """An argparse type: one of the strings ``options``."""

    def parse(text: str) -> str:
        if text not in options:
            raise argparse.ArgumentTypeError(f"expected one of {', '.join(options)}, got {check._show(text)}")
        return text

    return parse


STEPS = _integer(0, MAX_STEPS)
SEED = _integer(0, 2**63 - 1)
WIDTH = _integer(1, MAX_WIDTH)
DEPTH = _integer(1, MAX_DEPTH)
COUNT = _integer(1, MAX_COUNT)


def _recipe_value(given: Optional[float], options: Dict[str, object], key: str, default: float) -> float:
    return given if given is not None else float(options.get(key, default))  # type: ignore[arg-type]


def demo(args: argparse.Namespace) -> int:
    """PINN and BiLO on exponential growth u_t = a u with noisy data; prints what each recovered.

    Step counts and learning rates not given on the command line come from the problem's recipe
    in :data:`pinnbilo.compare.RECIPES`.
    """
    from .compare import RECIPES

    recipe = RECIPES[args.problem]
    steps = int(_recipe_value(args.steps, recipe.fit, "steps", 4000))
    pretrain = int(_recipe_value(args.pretrain_steps, recipe.bilo_fit, "pretrain_steps", 1000))
    lr = _recipe_value(args.lr, recipe.fit, "lr", 1e-3)
    lr_params = _recipe_value(args.lr_params, recipe.fit, "lr_params", 1e-3)
    problem = problems.get(args.problem, a_true=args.a_true, a_init=args.a_init)
    data = problem.synthetic_data(args.n_data, noise=args.noise, seed=args.seed)
    a_true = problem.true_params["a"]
    print(f"problem: {problem.describe()}")
    print(
        f"data: {len(data)} points, noise {args.noise:g} (std relative to max|u|), seed {args.seed}; "
        f"true a = {a_true:g}"
    )
    print(f"{'method':<6} {'a recovered':>12} {'rel. error':>11} {'steps':>6} {'wall time':>10}")
    for cls in (PINN, BiLO):
        # The recipe's training control (schedule, keep), its budget, and the command line's values.
        fit_kwargs = {**recipe.fit_options(cls.display_name), "steps": steps, "lr": lr, "lr_params": lr_params}
        if cls is BiLO:
            fit_kwargs["pretrain_steps"] = pretrain
        model = cls(problem, data, hidden=(args.width,) * args.depth, seed=args.seed)
        start = time.perf_counter()
        result = model.fit(progress=args.progress, **fit_kwargs)  # type: ignore[arg-type]
        wall = time.perf_counter() - start
        a = result.params["a"]
        err = abs(a - a_true) / abs(a_true)
        print(f"{cls.display_name:<6} {a:>12.6f} {100 * err:>10.3f}% {result.steps:>6d} {wall:>9.3f}s")
    return 0


def _assignments(items: Optional[List[str]]) -> Dict[str, object]:
    """``["D_true=0.02", "hidden=(16,16)"]`` as keyword arguments (values read as Python literals)."""
    import ast

    out: Dict[str, object] = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        if not sep or not key.strip().isidentifier():
            raise SystemExit(f"compare: --set takes NAME=VALUE pairs, got {item!r}")
        try:
            out[key.strip()] = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError):
            raise SystemExit(f"compare: --set {key}: {text!r} is not a number, tuple or string literal") from None
    return out


def compare(args: argparse.Namespace) -> int:
    """PINN and BiLO on the same data for one built-in problem; prints a table of errors."""
    from . import compare as cmp

    recipe = cmp.RECIPES[args.problem]
    problem_args = _assignments(args.set)
    problem = problems.get(args.problem, **problem_args)
    print(f"problem: {problem.describe()}")
    if args.seeds is not None:
        if args.seed + args.seeds - 1 > 2**63 - 1:
            raise InputError(f"--seed {args.seed} with --seeds {args.seeds} runs past the largest seed, 2**63 - 1")
        seeds = list(range(args.seed, args.seed + args.seeds))
        print(f"data: {recipe.n_data} points, noise {args.noise:g}, seeds {seeds[0]}..{seeds[-1]} (data and network)")
        if args.jobs is not None and args.jobs > 1:
            return _compare_on_dask(args, seeds, problem_args)
        spreads = cmp.run_seeds(
            args.problem, seeds, noise=args.noise, steps=args.steps, progress=args.progress, problem_args=problem_args
        )
        print(cmp.spread_table(spreads))
        return 0
    print(f"data: {recipe.n_data} points, noise {args.noise:g}, seed {args.seed}")
    outcomes = cmp.run(
        args.problem, noise=args.noise, seed=args.seed, steps=args.steps, progress=args.progress,
        problem_args=problem_args,
    )  # fmt: skip
    print(cmp.table(outcomes))
    if args.plot:
        for path in cmp.save_figures(outcomes, args.plot):
            print(f"wrote {path}")
    return 0


def _compare_on_dask(args: argparse.Namespace, seeds: List[int], problem_args: Dict[str, object]) -> int:
    """compare --seeds N --jobs J: the seeds as a sweep on J local Dask workers, same table."""
    from . import compare as cmp
    from .sweep import Sweep, run_sweep, summarize

    fixed: Dict[str, object] = {"problem": args.problem, "noise": args.noise}
    if args.steps is not None:
        fixed["steps"] = args.steps
    fixed.update({f"problem.{k}": v for k, v in problem_args.items()})
    spec = Sweep(grid={"method": ["PINN", "BiLO"], "seed": seeds}, fixed=fixed, name=f"compare-{args.problem}")
    table = run_sweep(spec, workers=args.jobs, progress=args.progress)
    failed = table[table["status"] == "failed"]
    for _, row in failed.iterrows():
        print(f"seed {row['seed']} {row['method']}: {row['message']}", file=sys.stderr)
    summary = summarize(table, by=["method"])
    spreads = [
        cmp.Spread(r.method, r.unknown, r.median, r.q25, r.q75,
                   list(table.loc[table["method"] == r.method, f"err_{r.unknown}"].dropna()))
        for r in summary.itertuples()
    ]  # fmt: skip
    print(cmp.spread_table(spreads))
    return 1 if len(failed) else 0


STEADY_UNKNOWNS = ("V", "W", "both")


def _unknowns(listed: Callable[[str], List[object]]) -> Callable[[str], str]:
    """An argparse type: the checked list, given back as the comma-separated text the steady sweep reads."""

    def parse(text: str) -> str:
        return ",".join(str(t) for t in listed(text))

    parse.__name__ = "unknowns"
    return parse


def _writable_file(path: Optional[str], option: str) -> None:
    """InputError unless ``path`` (when given) names a file in an existing folder: checked before a
    long run, not after it."""
    if path is None:
        return
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise InputError(f"{option} {check._show(path)} is a folder; give a file name")
    if not os.path.isdir(folder):
        raise InputError(f"{option} {check._show(path)}: the folder {check._show(folder)} does not exist")


def check_steady_arguments(args: argparse.Namespace) -> None:
    """What the options of ``steady`` must satisfy together (each alone was checked while parsing)."""
    over = [m for m in args.m if m > args.n]
    if over:
        raise InputError(f"--m {over[0]} observations per state is more than the --n {args.n} grid points")
    _writable_file(args.csv, "--csv")
    _writable_file(args.plot, "--plot")


def add_steady_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``python -m pinnbilo steady``."""
    unknowns = _listed(_one_of(STEADY_UNKNOWNS), "V, W, both")
    p.add_argument(
        "--unknown", type=_unknowns(unknowns), default="V,W", help="comma-separated: V, W, both (default V,W)"
    )
    p.add_argument("--states", type=_listed(COUNT, "positive integers"), default=[1, 2, 4],
                   help="numbers of observed states (default 1,2,4)")  # fmt: skip
    p.add_argument("--m", type=_listed(COUNT, "positive integers"), default=[128, 32],
                   help="observations per state, at most --n (default 128,32)")  # fmt: skip
    p.add_argument("--noise", type=_listed(_real(nonnegative=True), "numbers >= 0"), default=[0.0, 0.01, 0.05],
                   help="noise levels (default 0,0.01,0.05)")  # fmt: skip
    p.add_argument("--n", type=COUNT, default=128, help="grid points (default 128)")
    p.add_argument("--width", type=WIDTH, default=32)
    p.add_argument("--depth", type=DEPTH, default=2)
    p.add_argument("--adam-steps", type=STEPS, default=2000)
    p.add_argument("--lbfgs-steps", type=STEPS, default=1000)
    p.add_argument("--seed", type=SEED, default=0)
    p.add_argument(
        "--smoothness-w",
        type=_real(nonnegative=True),
        default=1e-3,
        help="penalty lambda int W'^2 for noisy data (default 1e-3)",
    )
    p.add_argument("--workers", type=COUNT, default=None, help="run the combinations on N local Dask workers")
    p.add_argument("--csv", default=None, help="also write the table to this CSV file")
    p.add_argument("--plot", default=None, metavar="PATH", help="save a figure of error against noise (matplotlib)")
    p.add_argument("--progress", action="store_true", help="show a progress bar")


def main(argv: Optional[List[str]] = None) -> int:
    from ._version import __version__

    parser = argparse.ArgumentParser(prog="python -m pinnbilo", description=__doc__)
    parser.add_argument("--version", action="version", version=f"pinnbilo {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="recover the growth rate of u_t = a u with PINN and BiLO")
    d.add_argument("--problem", default="exponential", choices=DEMO_PROBLEMS)
    d.add_argument("--a-true", type=_real(), default=2.0)
    d.add_argument("--a-init", type=_real(), default=1.0)
    d.add_argument("--noise", type=_real(nonnegative=True), default=0.01)
    d.add_argument("--n-data", type=COUNT, default=20)
    d.add_argument("--steps", type=STEPS, default=None, help="Adam steps (default: the problem's recipe)")
    d.add_argument("--pretrain-steps", type=STEPS, default=None, help="BiLO pretraining steps (default: recipe)")
    d.add_argument(
        "--lr", type=_real(positive=True), default=None, help="Adam learning rate of the weights (default: recipe)"
    )
    d.add_argument(
        "--lr-params", type=_real(positive=True), default=None, help="Adam learning rate of a (default: recipe)"
    )
    d.add_argument("--width", type=WIDTH, default=32)
    d.add_argument("--depth", type=DEPTH, default=2)
    d.add_argument("--seed", type=SEED, default=0)
    d.add_argument("--progress", action="store_true", help="show a progress bar")
    c = sub.add_parser("compare", help="PINN against BiLO on the same data for a built-in problem")
    c.add_argument("problem", choices=sorted(problems.BUILTINS))
    c.add_argument("--noise", type=_real(nonnegative=True), default=0.0, help="noise std relative to max|u|")
    c.add_argument("--seed", type=SEED, default=0)
    c.add_argument("--steps", type=STEPS, default=None, help="Adam steps (default: the problem's recipe)")
    c.add_argument(
        "--seeds",
        type=_integer(1, 10_000),
        default=None,
        help="run N seeds (from --seed on) and print median and IQR of each error",
    )
    c.add_argument("--jobs", type=COUNT, default=None, help="with --seeds: run them on J local Dask workers")
    c.add_argument("--plot", metavar="DIR", default=None, help="save figures (PNG) into DIR")
    c.add_argument(
        "--set", nargs="+", metavar="NAME=VALUE", default=None,
        help="the built-in's own arguments, e.g. --set D_true=0.02 rho_true=1.3",
    )  # fmt: skip
    c.add_argument("--progress", action="store_true", help="show a progress bar")
    g = sub.add_parser("playground", help="watch PINN and BiLO train live in the browser (local server)")
    g.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    g.add_argument("--no-browser", action="store_true", help="only print the URL")
    add_steady_arguments(sub.add_parser("steady", help="learn V(x), W(x) from steady states: error sweep"))
    from .sweep.cli import add_arguments as add_sweep_arguments

    add_sweep_arguments(sub.add_parser("sweep", help="run a sweep of many fits on Dask (spec file or --suite)"))
    args = parser.parse_args(argv)
    if args.command == "sweep":
        from .sweep.cli import main as sweep_main

        return sweep_main(args)
    try:
        if args.command == "steady":  # imported here: the steady-state tools load much of SciPy
            from .steady import experiments as steady_experiments

            check_steady_arguments(args)
            return steady_experiments.main(args)
        if args.command == "demo":
            return demo(args)
        if args.command == "compare":
            return compare(args)
    except (PinnbiloError, OSError, MemoryError) as exc:  # bad options or paths: one line, not a traceback
        print(f"{args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    if args.command == "playground":
        from .playground import serve

        return serve(port=args.port, open_browser=not args.no_browser)
    return 2


if __name__ == "__main__":
    sys.exit(main())
