"""Large dimensions: natgrad's restricted-covariance NES against crfmnes and pypop7, in one run.

Three tables, every library measured in the same process on the same machine:

(a) evaluations to f <= 1e-8 at n = 1000 (``--dim``) on sphere, ellipsoid (condition 1e6), cigar,
    discus and Rosenbrock, x0 = U(-2, 2)^n (one x0 per seed, shared by every library), sigma0 = 1,
    each library's default population size (crfmnes has none: natgrad's even default
    4 + floor(3 ln n) rounded up is passed), no restarts, at most ``--budget`` evaluations
    (Rosenbrock at most ``--rosenbrock-budget``). Success counts and the median evaluations of
    successful runs; a run that hits the budget is reported as not solved.
(b) evaluations on the sphere against n (``--scaling-dims``), for the figure.
(c) seconds per generation, ask + tell with f excluded, at n = 1e4 and 1e5 (``--time-dims``),
    default population size: natgrad through its Optimizer (ask/tell, values computed outside
    the timing); crfmnes through ``one_iteration`` and pypop7 through ``iterate`` +
    ``_update_distribution`` with an f that returns a constant after reading one coordinate,
    so that their per-sample Python calls of f (part of their design) stay in but f's cost
    does not. Plus the peak memory of a natgrad "lowrank" run at n = 1e6 (``--memory-dim``),
    measured in a fresh process (``ru_maxrss``).

Peers: crfmnes 1.0.0 (``crfmnes.CRFMNES``, constraint handling off) and pypop7's LM-MA-ES
(``pypop7.optimizers.es.lmmaes.LMMAES``); a peer that is not importable is skipped and the script
says so. Run ``python bench/large_scale.py`` (about 15 minutes on 2 cores with the defaults) or
``--smoke`` (seconds). Writes ``bench/results/large_scale.json`` (``--out``) and a figure
(``--figure``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import adapters  # noqa: E402
from natgrad import functions as F  # noqa: E402
from natgrad.optim import LowRankNES, Optimizer, get_strategy  # noqa: E402

TARGET = 1e-8
FUNCTIONS = ("sphere", "ellipsoid", "cigar", "discus", "rosenbrock")

#: natgrad configurations: label -> (method, options)
NATGRAD = {
    "natgrad lowrank": ("lowrank", {}),
    "natgrad lowrank-0": ("lowrank", {"rank": 0}),
    "natgrad snes": ("snes", {}),
}
PEERS = ("crfmnes", "pypop7 LM-MA-ES")


def available(label: str) -> str | None:
    """None when ``label`` can run here, else the reason."""
    module = {"crfmnes": "crfmnes", "pypop7 LM-MA-ES": "pypop7.optimizers.es.lmmaes"}.get(label)
    if module is None:
        return None
    try:
        importlib.import_module(module)
    except ImportError as exc:
        return f"not installed ({exc})"
    return None


def even_popsize(n: int) -> int:
    return LowRankNES().default_popsize(n)


# ----------------------------------------------------------------------------------------------
# (a), (b) evaluations
# ----------------------------------------------------------------------------------------------


def run_natgrad(label: str, name: str, x0: np.ndarray, seed: int, budget: int) -> dict[str, Any]:
    method, options = NATGRAD[label]
    f = F.CONTINUOUS[name]
    opt = Optimizer(get_strategy(method, **options), x0, 1.0, seed=seed, ftarget=TARGET)
    evals, best = 0, math.inf
    while evals < budget and not opt.should_stop():
        X = opt.ask()
        v = f(X)
        opt.tell(X, v)
        evals += len(v)
        best = min(best, float(v.min()))
        if best <= TARGET:
            break
    return {"evals": evals, "best": best, "stop": opt.stop_reason or "budget"}


def run_crfmnes(name: str, x0: np.ndarray, seed: int, budget: int) -> dict[str, Any]:
    from crfmnes import CRFMNES

    n = x0.size
    f = F.CONTINUOUS[name]
    lam = even_popsize(n)
    es = CRFMNES(
        n, lambda x: float(f(x.ravel())), x0[:, None].copy(), 1.0, lam, seed=seed,
        use_constraint_violation=False,
    )  # fmt: skip
    while es.no_of_evals < budget and es.f_best > TARGET:
        es.one_iteration()
        if not math.isfinite(es.sigma) or es.sigma < 1e-30:
            return {"evals": es.no_of_evals, "best": float(es.f_best), "stop": "sigma"}
    return {"evals": int(es.no_of_evals), "best": float(es.f_best), "stop": "done"}


def _pypop7_problem(n: int, f: Callable[[np.ndarray], float]) -> dict[str, Any]:
    return {
        "fitness_function": f,
        "ndim_problem": n,
        "lower_boundary": np.full(n, -np.inf),
        "upper_boundary": np.full(n, np.inf),
    }


def run_lmmaes(name: str, x0: np.ndarray, seed: int, budget: int) -> dict[str, Any]:
    from pypop7.optimizers.es.lmmaes import LMMAES

    n = x0.size
    f = F.CONTINUOUS[name]
    options = {
        "mean": x0.copy(),
        "sigma": 1.0,
        "seed_rng": seed,
        "max_function_evaluations": budget,
        "fitness_threshold": TARGET,
        "verbose": 0,
        "saving_fitness": 0,
        "is_restart": False,
    }
    res = LMMAES(_pypop7_problem(n, lambda x: float(f(x))), options).optimize()
    return {
        "evals": int(res["n_function_evaluations"]),
        "best": float(res["best_so_far_y"]),
        "stop": str(res.get("termination_signal", "")),
    }


def run_one(label: str, name: str, n: int, seed: int, budget: int) -> dict[str, Any]:
    x0 = np.random.default_rng(1000 + seed).uniform(-2.0, 2.0, n)
    start = time.perf_counter()
    if label in NATGRAD:
        out = run_natgrad(label, name, x0, seed, budget)
    elif label == "crfmnes":
        out = run_crfmnes(name, x0, seed, budget)
    else:
        out = run_lmmaes(name, x0, seed, budget)
    out["seconds"] = time.perf_counter() - start
    out["solved"] = bool(out["best"] <= TARGET)
    return out


def evaluations_table(
    labels: list[str], names: list[str], n: int, seeds: int, budget: int, rosen_budget: int
) -> list[dict[str, Any]]:
    rows = []
    for name in names:
        for label in labels:
            if label == "natgrad snes" and name != "sphere":
                continue  # the published SNES for reference, where it is known to converge
            cap = rosen_budget if name == "rosenbrock" else budget
            runs = [run_one(label, name, n, seed, cap) for seed in range(seeds)]
            ok = [r["evals"] for r in runs if r["solved"]]
            row = {
                "function": name, "dim": n, "library": label, "budget": cap, "runs": runs,
                "successes": len(ok), "median_evals": statistics.median(ok) if ok else None,
            }  # fmt: skip
            rows.append(row)
            med = f"{row['median_evals']:>9.0f}" if ok else "        -"
            secs = sum(r["seconds"] for r in runs)
            best = statistics.median(r["best"] for r in runs)
            print(
                f"  {name:<10} n={n:<5} {label:<18} {len(ok)}/{seeds}  median evals {med}  "
                f"median best f {best:9.3g}  ({secs:.1f} s)",
                flush=True,
            )
    return rows


# ----------------------------------------------------------------------------------------------
# (c) time per generation and memory
# ----------------------------------------------------------------------------------------------


def _constant(x: np.ndarray) -> float:
    return 0.0 * float(x.flat[0])


def time_natgrad(label: str, n: int, gens: int) -> float:
    method, options = NATGRAD[label]
    opt = Optimizer(get_strategy(method, **options), np.zeros(n), 1.0, seed=0)
    values = np.random.default_rng(1).standard_normal((gens + 1, opt.popsize))
    X = opt.ask()
    opt.tell(X, values[0])  # warm-up (parameter caches)
    start = time.perf_counter()
    for g in range(gens):
        X = opt.ask()
        opt.tell(X, values[g + 1])
    return (time.perf_counter() - start) / gens


def time_crfmnes(n: int, gens: int) -> float:
    from crfmnes import CRFMNES

    es = CRFMNES(
        n, _constant, np.zeros((n, 1)), 1.0, even_popsize(n), seed=0,
        use_constraint_violation=False,
    )  # fmt: skip
    es.one_iteration()
    start = time.perf_counter()
    for _ in range(gens):
        es.one_iteration()
    return (time.perf_counter() - start) / gens


def time_lmmaes(n: int, gens: int) -> float:
    from pypop7.optimizers.es.lmmaes import LMMAES

    options = {"mean": np.zeros(n), "sigma": 1.0, "seed_rng": 0, "verbose": 0}
    opt = LMMAES(_pypop7_problem(n, _constant), options)
    opt.start_time = time.time()
    z, d, mean, s, tm, y = opt.initialize()
    start = time.perf_counter()
    for _ in range(gens):
        z, d, y = opt.iterate(z, d, mean, tm, y, None)
        mean, s, tm = opt._update_distribution(z, d, mean, s, tm, y)
    return (time.perf_counter() - start) / gens


def timing_table(labels: list[str], dims: list[int], budget: float) -> list[dict[str, Any]]:
    rows = []
    for n in dims:
        for label in labels:

            def timer(g: int, _label: str = label, n: int = n) -> float:
                if _label in NATGRAD:
                    return time_natgrad(_label, n, g)
                return time_crfmnes(n, g) if _label == "crfmnes" else time_lmmaes(n, g)

            first = timer(1)
            gens = max(2, min(50, int(budget / max(first, 1e-6))))
            sec = timer(gens)
            rows.append({"dim": n, "library": label, "seconds": sec, "generations": gens})
            print(f"  n={n:<7} {label:<18} {1e3 * sec:9.2f} ms / generation", flush=True)
    return rows


MEMORY_SCRIPT = textwrap.dedent(
    """
    import resource, sys, time
    import numpy as np
    from natgrad.optim import LowRankNES, Optimizer
    n = int(sys.argv[1])
    opt = Optimizer(LowRankNES(), np.zeros(n), 1.0, seed=0)
    start = time.perf_counter()
    for _ in range(3):
        X = opt.ask()
        opt.tell(X, (X * X).sum(axis=1))
    per_gen = (time.perf_counter() - start) / 3
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, opt.popsize, per_gen)
    """
)


def memory_run(n: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, str(n)], capture_output=True, text=True, check=True
    ).stdout.split()
    peak_mib, lam, per_gen = float(out[0]), int(out[1]), float(out[2])
    print(
        f"  n={n}: natgrad lowrank, popsize {lam}: peak RSS {peak_mib:.0f} MiB, "
        f"{per_gen:.2f} s / generation (f included)",
        flush=True,
    )
    return {"dim": n, "popsize": lam, "peak_rss_mib": peak_mib, "seconds_per_generation": per_gen}


# ----------------------------------------------------------------------------------------------
# figure and main
# ----------------------------------------------------------------------------------------------


def figure(result: dict[str, Any], path: Path) -> None:
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        print("  (matplotlib not installed: no figure)")
        return
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for label in result["labels"]:
        pts = [
            (r["dim"], r["median_evals"])
            for r in result["scaling"]
            if r["library"] == label and r["median_evals"] is not None
        ]
        if pts:
            ax1.loglog(*zip(*pts, strict=True), "o-", label=label)
        pts = [(r["dim"], r["seconds"]) for r in result["timing"] if r["library"] == label]
        if pts:
            ax2.loglog(*zip(*pts, strict=True), "o-", label=label)
    ax1.set(xlabel="n", ylabel="evaluations to 1e-8 (median)", title="sphere")
    ax2.set(xlabel="n", ylabel="seconds per generation (f excluded)", title="ask + tell")
    for ax in (ax1, ax2):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    print(f"  figure: {path}")


def main(argv: list[str] | None = None) -> int:
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--smoke", action="store_true", help="seconds-long run (CI)")
    ap.add_argument("--dim", type=int, default=1000)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--functions", default=",".join(FUNCTIONS))
    ap.add_argument("--budget", type=int, default=1_000_000)
    ap.add_argument("--rosenbrock-budget", type=int, default=300_000)
    ap.add_argument("--scaling-dims", default="100,300,1000")
    ap.add_argument("--time-dims", default="10000,100000")
    ap.add_argument("--time-budget", type=float, default=3.0, help="seconds per timing cell")
    ap.add_argument("--memory-dim", type=int, default=1_000_000, help="0: skip")
    ap.add_argument(
        "--libraries", default=None, help="comma-separated labels to run (default: all)"
    )
    ap.add_argument("--out", type=Path, default=here / "results" / "large_scale.json")
    ap.add_argument(
        "--figure",
        type=Path,
        default=here.parent / "docs" / "figures" / "bench" / "large_scale.png",
    )
    args = ap.parse_args(argv)
    if args.smoke:
        args.dim, args.seeds, args.functions = 30, 1, "sphere,ellipsoid"
        args.budget = args.rosenbrock_budget = 20_000
        args.scaling_dims, args.time_dims, args.time_budget = "10,30", "1000", 0.05
        args.memory_dim = 0

    env = adapters.environment()
    adapters.print_environment(env)
    labels, skipped = [], {}
    wanted = None if args.libraries is None else set(args.libraries.split(","))
    for label in (*NATGRAD, *PEERS):
        if wanted is not None and label not in wanted:
            continue
        reason = available(label)
        if reason is None:
            labels.append(label)
        else:
            skipped[label] = reason
            print(f"  skipped {label}: {reason}")
    names = [s for s in args.functions.split(",") if s]

    print(f"== (a) evaluations to {TARGET:g}, n = {args.dim}, {args.seeds} seeds")
    evals = evaluations_table(
        labels, names, args.dim, args.seeds, args.budget, args.rosenbrock_budget
    )
    print("== (b) sphere: evaluations against n")
    scaling = []
    for n in (int(s) for s in args.scaling_dims.split(",") if s):
        if n == args.dim and "sphere" in names:
            scaling += [r for r in evals if r["function"] == "sphere"]
            continue
        scaling += evaluations_table(labels, ["sphere"], n, args.seeds, args.budget, 0)
    print("== (c) seconds per generation (ask + tell, f excluded), default popsize")
    timing = timing_table(
        labels, [int(s) for s in args.time_dims.split(",") if s], args.time_budget
    )
    memory = memory_run(args.memory_dim) if args.memory_dim > 0 else None

    result = {
        "environment": env, "labels": labels, "skipped": skipped, "target": TARGET,
        "evaluations": evals, "scaling": scaling, "timing": timing, "memory": memory,
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, default=float))
    print(f"  results: {args.out}")
    figure(result, args.figure)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
