"""Step-size rules of igo-cma in large dimensions: CSA against TPA, and both against pycma.

Evaluations to f <= 1e-8 (or, with a budget, the f reached) for natgrad igo-cma with
``sigma_rule="csa"`` and ``"tpa"`` and pycma 4.5 with its default (CSA below n = 300, TPA from
n = 300 on: ``cma.evolution_strategy.TPA_dimension``), same x0 = U(-2, 2)^n, sigma0 = 1, default
population sizes, no restarts. The crossover of CSA and TPA is where the ratio tpa/csa of
evaluations drops below 1. ``--functions`` takes names from ``natgrad.functions.CONTINUOUS``.

Run ``python bench/tpa.py`` (minutes: sphere at n = 40..1000, 2 seeds) or ``--quick``; writes
``bench/results/tpa.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import adapters  # noqa: E402
from natgrad import functions as F  # noqa: E402
from natgrad.optim import IGOCMA, Optimizer  # noqa: E402

TARGET = 1e-8


def run(label: str, name: str, n: int, seed: int, budget: int) -> dict[str, Any]:
    f = F.CONTINUOUS[name]
    x0 = np.random.default_rng(2000 + seed).uniform(-2.0, 2.0, n)
    start = time.perf_counter()
    if label.startswith("natgrad"):
        rule = label.split()[-1]
        opt: Any = Optimizer(IGOCMA(sigma_rule=rule), x0, 1.0, seed=seed, ftarget=TARGET)
    else:
        opt = adapters.PycmaAdapter(x0, 1.0, seed + 1)
    evals, best = 0, math.inf
    while evals < budget and not opt.should_stop():
        X = np.asarray(opt.ask())
        v = f(X)
        opt.tell(X, v)
        evals += len(v)
        best = min(best, float(np.min(v)))
        if best <= TARGET:
            break
    return {
        "evals": evals, "best": best, "solved": best <= TARGET,
        "seconds": time.perf_counter() - start,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="seconds-long run (CI)")
    ap.add_argument("--dims", default="40,100,200,400,1000")
    ap.add_argument("--functions", default="sphere")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--budget", type=int, default=400_000)
    ap.add_argument("--out", type=Path, default=here / "results" / "tpa.json")
    args = ap.parse_args(argv)
    if args.quick:
        args.dims, args.seeds, args.budget = "10,20", 1, 20_000
    adapters.print_environment(env := adapters.environment())
    labels = ["natgrad igo-cma csa", "natgrad igo-cma tpa"]
    try:
        import cma  # noqa: F401

        labels.append("pycma")
    except ImportError:
        print("  skipped pycma: not installed")
    rows = []
    for name in args.functions.split(","):
        for n in (int(s) for s in args.dims.split(",")):
            med: dict[str, float] = {}
            for label in labels:
                runs = [run(label, name, n, seed, args.budget) for seed in range(args.seeds)]
                ok = [r["evals"] for r in runs if r["solved"]]
                med[label] = statistics.median(ok) if len(ok) == len(runs) else math.nan
                best = statistics.median(r["best"] for r in runs)
                rows.append({"function": name, "dim": n, "library": label, "runs": runs})
                print(
                    f"  {name:<10} n={n:<5} {label:<20} {len(ok)}/{len(runs)} solved, median "
                    f"evals {med[label]:>9.0f}, median best f {best:9.3g} "
                    f"({sum(r['seconds'] for r in runs):.1f} s)",
                    flush=True,
                )
            csa, tpa = med["natgrad igo-cma csa"], med["natgrad igo-cma tpa"]
            line = f"  {name} n={n}: tpa/csa {tpa / csa:.2f}"
            if "pycma" in med:
                line += f", csa/pycma {csa / med['pycma']:.2f}, tpa/pycma {tpa / med['pycma']:.2f}"
            print(line, flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"environment": env, "rows": rows}, indent=1, default=float))
    print(f"  results: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
