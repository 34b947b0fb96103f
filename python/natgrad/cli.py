"""Command line: ``python -m natgrad minimize ...`` and ``python -m natgrad demo``."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["build_parser", "main"]

_EPILOG = """\
example:
  python -m natgrad minimize --function rosenbrock --dim 100 --seed 1
"""


def _run_max_iter(text: str) -> float | str | None:
    """``--run-max-iter``: a count (minimize checks it), "default" or "none"."""
    if text in ("default", "none"):
        return None if text == "none" else text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a count, 'default' or 'none', got {text!r}"
        ) from None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m natgrad`` (methods as registered at call time)."""
    from . import functions
    from .optim.registry import FULL_COVARIANCE_MAX_DIM

    parser = argparse.ArgumentParser(
        prog="python -m natgrad",
        description="natgrad: natural-gradient optimisation over exponential families.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = commands.add_parser(
        "minimize",
        help="minimise a test function and print the progress and the result",
        description=(
            "Minimise a test function from natgrad.functions with natgrad.minimize, printing "
            "generation, evaluations, best f and step size every few generations."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "--function",
        default="rosenbrock",
        choices=sorted(functions.CONTINUOUS),
        help="test function to minimise (default: %(default)s)",
    )
    run.add_argument("--dim", type=int, default=10, help="dimension n (default: %(default)s)")
    run.add_argument(
        "--method",
        default=None,
        help=f"optimiser; one of: {', '.join(_continuous_methods()) or '(none installed)'} "
        f"(default: igo-cma for --dim <= {FULL_COVARIANCE_MAX_DIM}, lowrank beyond)",
    )
    run.add_argument(
        "--seed", type=int, default=None, help="random seed; same seed, same run (default: none)"
    )
    run.add_argument(
        "--x0",
        type=float,
        default=3.0,
        help="every coordinate of the initial mean (default: %(default)s)",
    )
    run.add_argument(
        "--sigma0", type=float, default=1.0, help="initial step size (default: %(default)s)"
    )
    run.add_argument(
        "--max-evals",
        type=float,
        default=None,
        help="budget of function evaluations, e.g. 1e6 (default: no limit)",
    )
    run.add_argument(
        "--max-iter",
        type=float,
        default=None,
        help="budget of generations over all restarts, e.g. 1e4 (default: no limit)",
    )
    run.add_argument(
        "--run-max-iter",
        type=_run_max_iter,
        default="default",
        metavar="N|default|none",
        help="generations of one run before the next restart (pycma's maxiter); default: "
        "100 + 150 (n + 3)^2 / sqrt(popsize); none: no cap",
    )
    run.add_argument(
        "--ftarget",
        type=float,
        default=1e-8,
        help="stop once f <= ftarget; every test function has minimum 0 (default: %(default)s)",
    )
    run.add_argument(
        "--popsize",
        type=int,
        default=None,
        help="samples per generation (default: the method's choice for --dim)",
    )
    run.add_argument(
        "--restarts",
        type=int,
        default=0,
        help="IPOP restarts with doubled population size (default: %(default)s)",
    )
    run.add_argument(
        "--bipop",
        action="store_true",
        help="BIPOP restarts (large and small populations) instead of IPOP",
    )
    run.add_argument(
        "--every",
        type=int,
        default=None,
        help="print a progress line every this many generations (default: 25 * sqrt(dim))",
    )
    run.add_argument(
        "--integers",
        default=None,
        metavar="SPEC",
        help="coordinates that take integer values, e.g. 0-4,7 (CMA-ES with margin)",
    )
    run.add_argument("--quiet", action="store_true", help="print only the result")
    run.add_argument(
        "--log",
        default=None,
        metavar="PATH",
        help="write the per-generation history to PATH (.csv or .npz)",
    )
    run.add_argument(
        "--plot",
        default=None,
        metavar="PATH",
        help='plot the history to PATH, e.g. run.png (needs pip install "natgrad[plot]")',
    )
    run.add_argument(
        "--checkpoint",
        default=None,
        metavar="PATH",
        help="write a checkpoint to PATH every --checkpoint-every generations (and at the end)",
    )
    run.add_argument(
        "--checkpoint-every",
        type=int,
        default=None,
        help="generations between checkpoints (default: a checkpoint every 60 s)",
    )
    run.add_argument(
        "--resume",
        default=None,
        metavar="PATH",
        help="continue the run saved in the checkpoint PATH (same options as that run)",
    )

    commands.add_parser(
        "demo",
        help="run the demonstration (natgrad.demo.run_demo)",
        description="Run natgrad's demonstration, natgrad.demo.run_demo().",
    )
    return parser


def _index_list(spec: str, dim: int, parser: argparse.ArgumentParser) -> list[int]:
    """Coordinates from "0-4,7" (ranges inclusive), each in [0, dim)."""
    indices: list[int] = []
    for part in spec.split(","):
        first, _, last = part.strip().partition("-")
        try:
            low = int(first)
            high = int(last) if last else low
        except ValueError:
            parser.error(f"--integers must be indices and ranges like 0-4,7, got {spec!r}")
        if not 0 <= low <= high < dim:
            parser.error(f"--integers: {part.strip()!r} is not a range of indices in [0, {dim})")
        indices.extend(range(low, high + 1))
    return sorted(set(indices))


def _continuous_methods() -> list[str]:
    """Methods that search R^n (the command line's test functions are continuous)."""
    from .optim.registry import METHODS, strategy_class

    return sorted(m for m in METHODS if strategy_class(m).domain == "real")


def _run_minimize(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from . import functions
    from .optim import minimize

    if args.dim < (2 if args.function == "rosenbrock" else 1):
        parser.error(
            f"--dim must be >= {2 if args.function == 'rosenbrock' else 1} for {args.function}"
        )
    if args.every is not None and args.every < 1:
        parser.error(f"--every must be >= 1, got {args.every}")
    if not args.sigma0 > 0:
        parser.error(f"--sigma0 must be > 0, got {args.sigma0}")
    from .optim.registry import FULL_COVARIANCE_MAX_DIM, METHODS, default_method

    chosen = ""
    if args.method is None:
        args.method = default_method(args.dim)
        side = "<=" if args.dim <= FULL_COVARIANCE_MAX_DIM else ">"
        chosen = f" (the default for n {side} {FULL_COVARIANCE_MAX_DIM})"
    if args.method in METHODS and args.method not in _continuous_methods():
        parser.error(
            f"--method {args.method} searches {{-1, +1}}^n and the test functions here are "
            f"continuous; choose one of: {', '.join(_continuous_methods())}"
        )
    if args.plot is not None:
        from .plotting import _pyplot

        try:
            _pyplot()
        except ImportError as exc:
            parser.error(f"--plot: {exc}")
    integers = None if args.integers is None else _index_list(args.integers, args.dim, parser)
    f = functions.CONTINUOUS[args.function]
    every = args.every
    if every is None:
        every = max(1, round(25 * args.dim**0.5))
    start = time.perf_counter()

    def report(info: Any) -> None:
        if info.nit % every == 0:
            print(
                f"{info.nit:>8d} {info.nfev:>11d} {info.fun:>14.6e} {info.sigma:>11.3e}",
                flush=True,
            )

    if not args.quiet:
        print(
            f"natgrad minimize: {args.function}, n={args.dim}, method={args.method}{chosen}, "
            f"seed={args.seed}, x0={args.x0}, sigma0={args.sigma0}"
        )
        print(f"{'gen':>8s} {'evals':>11s} {'best f':>14s} {'sigma':>11s}")
    try:
        result = minimize(
            f,
            np.full(args.dim, args.x0),
            args.sigma0,
            method=args.method,
            max_evals=args.max_evals,
            max_iter=args.max_iter,
            run_max_iter=args.run_max_iter,
            ftarget=args.ftarget,
            seed=args.seed,
            vectorized=True,
            callback=None if args.quiet else report,
            restarts=args.restarts,
            bipop=args.bipop,
            popsize=args.popsize,
            log=args.log,
            checkpoint=args.checkpoint,
            checkpoint_every=args.checkpoint_every,
            resume=args.resume,
            integers=integers,
        )
    except ValueError as exc:
        parser.error(str(exc))
    except MemoryError as exc:
        parser.error(f"not enough memory for --dim {args.dim} with --method {args.method} ({exc})")
    elapsed = time.perf_counter() - start
    x = np.array2string(result.x, threshold=8, precision=6)
    print(f"method:      {result.method}{chosen}")
    print(f"stop:        {result.stop_reason} ({result.message})")
    print(f"success:     {result.success}")
    print(f"best f:      {result.fun:.6e}")
    print(f"evaluations: {result.nfev}")
    print(f"generations: {result.nit}")
    print(f"restarts:    {result.restarts}")
    print(f"step size:   {result.sigma:.3e}")
    print(f"x:           {x}")
    print(f"time:        {elapsed:.2f} s")
    if args.log is not None:
        print(f"history:     {args.log}")
    if args.plot is not None:
        from .plotting import plot

        plot(result, args.plot, title=f"{args.function}, n={args.dim}, {result.method}")
        print(f"plot:        {args.plot}")
    return 0


def _run_demo() -> int:
    try:
        from .demo import run_demo
    except ImportError as exc:
        print(
            f"natgrad demo is not available in this installation ({exc}); "
            "try `python -m natgrad minimize --help`",
            file=sys.stderr,
        )
        return 1
    run_demo()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m natgrad``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        return _run_demo()
    return _run_minimize(args, parser)
