"""Time the compiled kernels of two builds of natgrad against each other, interleaved, in one run.

Usage: ``python bench/compare_builds.py --a PYTHON_A --b PYTHON_B [--level v3] [--rounds 15]
[--only NAME]``

PYTHON_A and PYTHON_B are interpreters of two environments, each with one build of natgrad
installed (e.g. before and after a change of compiler flags or of how the sources are grouped
into translation units). One worker process per build holds the kernel cases of bench/kernels.py
(the same seeded inputs in both); the workers take turns, A B A B ..., one timed call of one
kernel each, so a drift of the machine's speed hits both builds alike. Prints each kernel's
median time per build and the ratio B / A (> 1: B is slower). ``NATGRAD_ISA`` is set to
``--level`` in both workers, so the same ISA level is compared.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

_WORKER = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import natgrad as ng
import kernels
cases = kernels.cases(quick=False)
print(json.dumps({"build_info": ng.build_info(),
                  "cases": [[name, n] for name, n, _, _, _ in cases]}), flush=True)
for line in sys.stdin:
    k = int(line)
    core = cases[k][3]
    t0 = time.perf_counter()
    core()
    print(time.perf_counter() - t0, flush=True)
"""


def start(python: str, level: str) -> tuple[subprocess.Popen[str], dict]:
    env = dict(os.environ, NATGRAD_ISA=level)
    proc = subprocess.Popen(
        [python, "-c", _WORKER, str(Path(__file__).resolve().parent)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    return proc, json.loads(proc.stdout.readline())


def timed(proc: subprocess.Popen[str], k: int) -> float:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(f"{k}\n")
    proc.stdin.flush()
    return float(proc.stdout.readline())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--a", required=True, help="python of the environment with build A")
    parser.add_argument("--b", required=True, help="python of the environment with build B")
    parser.add_argument("--level", default="v3", help="NATGRAD_ISA for both (default v3)")
    parser.add_argument("--rounds", type=int, default=15, help="timed calls per kernel and build")
    parser.add_argument("--min-ms", type=float, default=0.05, help="skip kernels faster than this")
    parser.add_argument("--only", default="", help="time only kernels whose name contains this")
    args = parser.parse_args()
    a, info_a = start(args.a, args.level)
    b, info_b = start(args.b, args.level)
    print("A:", info_a["build_info"])
    print("B:", info_b["build_info"])
    assert info_a["cases"] == info_b["cases"], "the two builds offer different kernel cases"
    header = f"{'kernel':44s} {'n':>5s} {'A [ms]':>10s} {'B [ms]':>10s} {'B/A':>6s}"
    print(header)
    print("-" * len(header))
    ratios = []
    for k, (name, n) in enumerate(info_a["cases"]):
        if args.only not in name:
            continue
        timed(a, k), timed(b, k)  # warm-up
        ta, tb = [], []
        for _ in range(args.rounds):
            ta.append(timed(a, k))
            tb.append(timed(b, k))
        ma, mb = statistics.median(ta), statistics.median(tb)
        if 1e3 * ma < args.min_ms:
            continue
        ratios.append(mb / ma)
        print(f"{name:44s} {n:5d} {1e3 * ma:10.4f} {1e3 * mb:10.4f} {mb / ma:6.3f}")
    for proc in (a, b):
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait()
    print(
        f"B/A over {len(ratios)} kernels: median {statistics.median(ratios):.3f}, "
        f"min {min(ratios):.3f}, max {max(ratios):.3f}"
    )


if __name__ == "__main__":
    sys.exit(main())
