"""Standard normal draws: natgrad's compiled ziggurat against ``Generator.standard_normal``.

Both fill a (rows, cols) batch, interleaved call by call in one process; the table prints the
median nanoseconds per normal of each and their ratio, for the batch shapes the strategies ask
for (λ × n, from n = 10 to 10⁵) plus the cost of a fresh array (natgrad's public path returns a
new array, as NumPy's does without ``out=``). Medians, because the machine is shared.

Usage: ``python bench/normals.py [--quick] [--out normals.json]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import adapters  # noqa: E402
from natgrad import _core, _random  # noqa: E402

SHAPES = [(10, 10), (24, 1000), (38, 10_000), (38, 100_000)]


def measure(rows: int, cols: int, seconds: float) -> dict[str, Any]:
    """Interleaved timings of the three ways of drawing one (rows, cols) batch."""
    rng_numpy = np.random.default_rng(1)
    rng_ours = np.random.default_rng(1)
    count = rows * cols
    times: dict[str, list[float]] = {"numpy": [], "numpy_out": [], "natgrad": []}
    out = np.empty((rows, cols))
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(times["natgrad"]) < 5:
        t0 = time.perf_counter()
        rng_numpy.standard_normal((rows, cols))
        t1 = time.perf_counter()
        rng_numpy.standard_normal(out=out)
        t2 = time.perf_counter()
        _random.standard_normal(rng_ours, (rows, cols))
        t3 = time.perf_counter()
        times["numpy"].append(t1 - t0)
        times["numpy_out"].append(t2 - t1)
        times["natgrad"].append(t3 - t2)
    ns = {k: statistics.median(v) / count * 1e9 for k, v in times.items()}
    return {
        "rows": rows,
        "cols": cols,
        "repeats": len(times["natgrad"]),
        "ns_per_normal": ns,
        "speedup_vs_numpy": ns["numpy"] / ns["natgrad"],
        "speedup_vs_numpy_out": ns["numpy_out"] / ns["natgrad"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds (CI smoke run)")
    parser.add_argument("--seconds", type=float, default=3.0, help="time per shape")
    parser.add_argument("--out", type=Path, default=Path("bench/results/normals.json"))
    args = parser.parse_args(argv)
    env = adapters.environment()
    adapters.print_environment(env)
    print(f"# natgrad core ISA level {_core.isa_level}; one thread (no BLAS in either)")
    seconds = 0.2 if args.quick else args.seconds
    shapes = SHAPES[:2] if args.quick else SHAPES
    rows = []
    print(f"{'shape':>14} {'numpy':>8} {'numpy out=':>11} {'natgrad':>8}  speed-up (vs out=)")
    for r, c in shapes:
        row = measure(r, c, seconds)
        ns = row["ns_per_normal"]
        print(
            f"{f'{r} x {c}':>14} {ns['numpy']:8.2f} {ns['numpy_out']:11.2f} {ns['natgrad']:8.2f}"
            f"  {row['speedup_vs_numpy']:.2f}x ({row['speedup_vs_numpy_out']:.2f}x)  ns/normal"
        )
        rows.append(row)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"environment": env, "rows": rows}, indent=1))
    print(f"# wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
