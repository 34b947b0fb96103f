"""natgrad's Optuna sampler against Optuna's CmaEsSampler (cmaes), same studies, same run.

    python bench/optuna_sampler.py [--seeds 10] [--trials 400] [--dim 10]

For each seed: a 10-D sphere over [-1, 1]^n (optimum 0 at 0.3), and a mixed problem (two
floats, two ints of which one has a step, one log-scale float; optimum 0), each run by
``NatgradSampler(seed=s)`` (IGO-CMA), ``NatgradSampler(seed=s, with_margin=True)``,
``CmaEsSampler(seed=s)`` and ``CmaEsSampler(seed=s, with_margin=True)`` for the same number of
trials. Prints the median and
range of the best values and the time per trial, and writes ``bench/results/optuna_sampler.json``.
"""

from __future__ import annotations

import argparse
import math
import pathlib
import sys
import time

import numpy as np
import optuna

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import adapters  # noqa: E402
import natgrad as ng  # noqa: E402
from natgrad.integrations import NatgradSampler  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.ERROR)


def sphere(dim: int):
    def objective(trial):
        x = np.array([trial.suggest_float(f"x{i}", -1.0, 1.0) for i in range(dim)])
        return float(((x - 0.3) ** 2).sum())

    return objective


def mixed(trial):
    x = trial.suggest_float("x", -2.0, 2.0)
    y = trial.suggest_float("y", -2.0, 2.0)
    k = trial.suggest_int("k", -10, 10)
    m = trial.suggest_int("m", 0, 20, step=2)
    lr = trial.suggest_float("lr", 1e-6, 1.0, log=True)
    return (
        (x - 0.25) ** 2 + (y + 0.5) ** 2 + (k - 3) ** 2 + (m - 8) ** 2 / 4
        + math.log10(lr / 1e-3) ** 2
    )  # fmt: skip


SAMPLERS = {
    "natgrad igo-cma": lambda seed: NatgradSampler(seed=seed),
    "natgrad margin": lambda seed: NatgradSampler(seed=seed, with_margin=True),
    "CmaEsSampler": lambda seed: optuna.samplers.CmaEsSampler(seed=seed),
    "CmaEsSampler margin": lambda seed: optuna.samplers.CmaEsSampler(seed=seed, with_margin=True),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--trials", type=int, default=400)
    parser.add_argument("--dim", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="seconds (CI smoke run)")
    parser.add_argument("--out", default="bench/results/optuna_sampler.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.trials = 1, 40
    env = adapters.environment()
    adapters.print_environment(env)
    import warnings

    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
    print(
        f"natgrad {ng.__version__} ({ng.build_info()['isa_level']}), optuna {optuna.__version__}; "
        f"{args.trials} trials, {args.seeds} seeds"
    )
    results = []
    for problem, objective in ((f"sphere-{args.dim}d", sphere(args.dim)), ("mixed", mixed)):
        for name, make in SAMPLERS.items():
            best, seconds = [], 0.0
            for seed in range(args.seeds):
                study = optuna.create_study(sampler=make(seed))
                start = time.perf_counter()
                study.optimize(objective, n_trials=args.trials)
                seconds += time.perf_counter() - start
                best.append(study.best_value)
            line = {
                "problem": problem,
                "sampler": name,
                "median_best": float(np.median(best)),
                "min_best": float(np.min(best)),
                "max_best": float(np.max(best)),
                "ms_per_trial": 1000 * seconds / (args.seeds * args.trials),
            }
            results.append(line)
            print(
                f"{problem:10s} {name:22s} best: median {line['median_best']:.3e} "
                f"[{line['min_best']:.3e}, {line['max_best']:.3e}]  "
                f"{line['ms_per_trial']:.2f} ms/trial"
            )
    adapters.write_results(args.out, args, results, env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
