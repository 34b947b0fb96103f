"""Mixed-integer ellipsoid: natgrad's Gaussian methods with ``integers=`` (CMA-ES with margin)
against cmaes's ``CMAwM`` and against plain rounding inside f, in the same run, over several seeds.

    python bench/mixed_integer.py [--seeds 20] [--dim 10] [--budget 20000] [--methods igo-cma,...]

Prints, per solver, the success rate (f <= 1e-10 within the budget) and the median and range of
the evaluations of the successful runs, and writes ``bench/results/mixed_integer.json``.
The problem: f(x) = Σ (1000^{i/(n−1)} x_i)², the first n/2 coordinates (the lightest) integers
in [−10, 10], the others continuous and unbounded; x0 = 2, σ0 = 1 (optimum 0 at x = 0). The heavy
continuous coordinates make σ shrink long before the light integer ones are solved: the case
that freezes integer coordinates when f merely rounds.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time
from collections.abc import Callable

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import adapters  # noqa: E402
import natgrad as ng  # noqa: E402

TARGET = 1e-10


def problem(dim: int):
    weights = 1000.0 ** (np.arange(dim) / (dim - 1))
    integer = np.arange(dim) < dim // 2

    def f(X):
        X = np.atleast_2d(X)
        return ((weights * X) ** 2).sum(axis=1)

    return f, integer


def bounds_for(dim: int, integer: np.ndarray):
    lower = np.where(integer, -10.0, -np.inf)
    upper = np.where(integer, 10.0, np.inf)
    return lower, upper


def run_natgrad(
    dim: int, seed: int, budget: int, margin: bool, method: str = "igo-cma"
) -> tuple[bool, int]:
    f, integer = problem(dim)
    lower, upper = bounds_for(dim, integer)
    if margin:
        res = ng.minimize(
            f, np.full(dim, 2.0), 1.0, method=method, bounds=(lower, upper), seed=seed,
            max_evals=budget, ftarget=TARGET, vectorized=True, integers=integer,
        )  # fmt: skip
    else:  # rounding inside f: the distribution never learns the coordinates are integers

        def rounded(X):
            X = np.where(integer, np.clip(np.round(X), -10, 10), X)
            return f(X)

        res = ng.minimize(
            rounded, np.full(dim, 2.0), 1.0, method="igo-cma", seed=seed, max_evals=budget,
            ftarget=TARGET, vectorized=True,
        )  # fmt: skip
    return bool(res.fun <= TARGET), int(res.nfev)


def run_cmawm(dim: int, seed: int, budget: int) -> tuple[bool, int]:
    from cmaes import CMAwM

    f, integer = problem(dim)
    lower, upper = bounds_for(dim, integer)
    opt = CMAwM(
        mean=np.full(dim, 2.0), sigma=1.0, bounds=np.stack([lower, upper], axis=1),
        steps=integer.astype(float), seed=seed + 1,
    )  # fmt: skip
    evals, best = 0, np.inf
    while evals < budget:
        solutions = []
        for _ in range(opt.population_size):
            x_eval, x_tell = opt.ask()
            value = float(f(x_eval)[0])
            best = min(best, value)
            evals += 1
            solutions.append((x_tell, value))
        opt.tell(solutions)
        if best <= TARGET or opt.should_stop():
            break
    return bool(best <= TARGET), evals


def summarise(name: str, results: list[tuple[bool, int]], seconds: float) -> dict:
    ok = [e for s, e in results if s]
    line = {
        "solver": name,
        "success": f"{len(ok)}/{len(results)}",
        "median_evals_successful": float(np.median(ok)) if ok else None,
        "min_evals": int(min(ok)) if ok else None,
        "max_evals": int(max(ok)) if ok else None,
        "seconds": round(seconds, 2),
    }
    print(
        f"{name:28s} success {line['success']:>6s}  median evals {line['median_evals_successful']}"
        f"  range [{line['min_evals']}, {line['max_evals']}]  {seconds:.1f} s"
    )
    return line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--dim", type=int, default=10)
    parser.add_argument("--budget", type=int, default=20000)
    parser.add_argument(
        "--methods",
        default="igo-cma,xnes,snes,sngd,lowrank,gmrf",
        help="natgrad methods run with integers= (comma-separated)",
    )
    parser.add_argument("--quick", action="store_true", help="seconds (CI smoke run)")
    parser.add_argument("--out", default="bench/results/mixed_integer.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.budget = 2, 3000
    env = adapters.environment()
    adapters.print_environment(env)
    print(f"natgrad {ng.__version__} ({ng.build_info()['isa_level']}); n = {args.dim}, "
          f"{args.dim // 2} integer coordinates, budget {args.budget}, {args.seeds} seeds")  # fmt: skip
    lines = []
    solvers: list[tuple[str, Callable[[int], tuple[bool, int]]]] = [
        (
            f"natgrad {method} integers=",
            lambda s, m=method: run_natgrad(args.dim, s, args.budget, True, m),
        )
        for method in args.methods.split(",")
    ]
    solvers += [
        ("natgrad igo-cma rounding", lambda s: run_natgrad(args.dim, s, args.budget, False)),
        ("cmaes CMAwM", lambda s: run_cmawm(args.dim, s, args.budget)),
    ]
    for name, solve in solvers:
        start = time.perf_counter()
        results = [solve(seed) for seed in range(args.seeds)]
        lines.append(summarise(name, results, time.perf_counter() - start))
    adapters.write_results(args.out, args, lines, env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
