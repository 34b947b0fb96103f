"""Cost of recording ``res.history``: microseconds per generation, against ask + tell.

For each (method, n), one optimiser runs generations on the sphere; each generation's ask+tell
(f excluded) and the recorder's ``record`` call are timed separately over the same generations,
so the ratio record / (ask + tell) is the share that ``natgrad.minimize`` adds by keeping the
history. Minimum over repeats of the per-generation median (the machine is shared).

Usage: ``python bench/history_overhead.py [--quick] [--out history_overhead.json]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import adapters  # noqa: E402
import natgrad  # noqa: E402
from natgrad.functions import sphere  # noqa: E402
from natgrad.optim import Optimizer  # noqa: E402
from natgrad.optim.history import Recorder  # noqa: E402

CASES = [
    ("igo-cma", 10),
    ("igo-cma", 100),
    ("igo-cma", 1000),
    ("snes", 10_000),
    ("lowrank", 10_000),
]


def measure(method: str, n: int, generations: int, repeats: int) -> dict[str, float]:
    step_times, record_times = [], []
    for repeat in range(repeats):
        opt = Optimizer(method, np.ones(n), 0.5, seed=repeat)
        recorder = Recorder(n)
        steps, records = [], []
        for _ in range(generations):
            t_ask, t_tell, values = adapters.timed_generation(opt, sphere)
            t3 = time.perf_counter()
            recorder.record(opt, values, 0, opt.evaluations)
            steps.append(t_ask + t_tell)
            records.append(time.perf_counter() - t3)
        step_times.append(float(np.median(steps)))
        record_times.append(float(np.median(records)))
        # the mean over generations too: the scales every 10 generations beyond n = 100
        record_times.append(float(np.mean(records)))
    step, record = min(step_times), min(record_times[0::2])
    record_mean = min(record_times[1::2])
    return {
        "step_us": step * 1e6,
        "record_median_us": record * 1e6,
        "record_mean_us": record_mean * 1e6,
        "ratio_mean": record_mean / step,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds (CI smoke run)")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args()
    generations, repeats = (20, 1) if args.quick else (100, 3)
    cases = CASES[:2] if args.quick else CASES
    print(f"natgrad {natgrad.__version__}, ISA level {natgrad.build_info()['isa_level']}")
    print(f"{'method':>8s} {'n':>6s} {'ask+tell µs':>12s} {'record µs (median/mean)':>24s} ratio")
    results = []
    for method, n in cases:
        r = measure(method, n, generations, repeats)
        results.append({"method": method, "n": n, **r})
        print(
            f"{method:>8s} {n:>6d} {r['step_us']:>12.1f} "
            f"{r['record_median_us']:>11.1f} / {r['record_mean_us']:<10.1f} {r['ratio_mean']:.4f}"
        )
    if args.out:
        with open(args.out, "w", encoding="utf-8") as out:
            json.dump({"isa_level": natgrad.build_info()["isa_level"], "results": results}, out)


if __name__ == "__main__":
    main()
