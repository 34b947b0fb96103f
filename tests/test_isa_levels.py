"""What natgrad promises about its per-ISA compiled modules (README, "Reproducibility").

* Same build level, same inputs: the same bits, in any process, whatever the alignment of the
  inputs (tests/test_buffer_alignment.py) and from any number of threads at once.
* Across levels (x86-64-v2, v3 = AVX2 + FMA, v4 = AVX-512): FMA contraction and the SIMD width
  change the rounding, so results agree to a stated relative tolerance, not bit for bit.

Each level is run in a fresh process with ``NATGRAD_ISA`` forcing it, on the fixed battery of
tests/_kernel_battery.py.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import natgrad
from _kernel_battery import battery, run
from natgrad import _core, _isa

# Agreement across ISA levels, normwise per kernel: max|a - b| <= CROSS_LEVEL_RTOL * max|a|.
# Most kernels differ by a few units of rounding (<= 3e-16 relative between v2 and v3); the
# largest differences come from the solves, which amplify rounding by a condition number: the
# undamped empirical natural gradient (a least-squares solve with the centred statistics, whose
# condition number is ~2e3 in the battery) differs by 1.7e-14, the exact-Fisher estimators and
# the damped conjugate-gradient solves by <= 5e-15. 1e-13 leaves a factor 6 for other levels.
CROSS_LEVEL_RTOL = 1e-13

_TESTS = Path(__file__).resolve().parent

_RUNNER = textwrap.dedent(
    """
    import sys
    import numpy as np
    junk = [np.empty(int(k)) for k in sys.argv[2:]]  # shift later allocations' addresses
    sys.path.insert(0, {tests!r})
    from _kernel_battery import battery, run
    from natgrad import _core
    results = run(_core, battery())
    np.savez(sys.argv[1], level=_core.isa_level, **{{f"r{{i}}": r for i, r in enumerate(results)}})
    """
).format(tests=str(_TESTS))


def importable_levels() -> list[str]:
    """Levels that were built and that this CPU can execute, best first."""
    return [
        level
        for level in _core.supported_levels()
        if importlib.util.find_spec(f"natgrad._core_{level}") is not None
    ]


def run_in_fresh_process(level: str, out: Path, junk: tuple[int, ...] = ()) -> list[np.ndarray]:
    env = dict(os.environ, NATGRAD_ISA=level)
    subprocess.run(
        [sys.executable, "-c", _RUNNER, str(out), *map(str, junk)],
        env=env,
        check=True,
        timeout=120,
    )
    with np.load(out) as data:
        assert str(data["level"]) == level
        return [data[f"r{i}"] for i in range(len(data.files) - 1)]


@pytest.fixture(scope="module")
def fresh_results(tmp_path_factory) -> dict[str, list[np.ndarray]]:
    """The battery's results at each importable level, each from a fresh process."""
    tmp = tmp_path_factory.mktemp("isa")
    return {
        level: run_in_fresh_process(level, tmp / f"{level}.npz") for level in importable_levels()
    }


def test_a_default_build_ships_the_baseline_and_only_levels_this_cpu_runs():
    """NATGRAD_ISA_LEVELS=auto (the default) builds v2 plus the levels the building CPU executes,
    judged by natgrad/_isa.py, so every module a local install ships is one its suite can run."""
    info = natgrad.build_info()
    built = info["built_levels"]
    assert info["isa_level"] in built
    for level in built:
        assert importlib.util.find_spec(f"natgrad._core_{level}") is not None, level
    if info["levels_requested"] != "auto":
        pytest.skip(f"built with NATGRAD_ISA_LEVELS={info['levels_requested']!r}")
    runnable = _core.supported_levels()
    if runnable == ["generic"]:
        assert built == ["generic"]
        return
    assert "v2" in built
    assert [level for level in ("v2", "v3", "v4") if level in runnable] == built


def test_the_build_probe_prints_the_levels_the_import_uses():
    """CMakeLists.txt runs natgrad/_isa.py as a script and reads its ';'-separated output."""
    out = subprocess.run(
        [sys.executable, _isa.__file__], check=True, capture_output=True, text=True
    ).stdout
    assert out.strip() == ";".join(_core.supported_levels())


def test_each_level_is_bit_reproducible_across_processes(fresh_results, tmp_path):
    names = [name for name, _ in battery()]
    for level, a in fresh_results.items():
        b = run_in_fresh_process(level, tmp_path / f"{level}-b.npz", junk=(3, 17, 1001))
        for name, x, y in zip(names, a, b, strict=True):
            assert np.array_equal(x, y), f"{level}: {name} changed bits in another process"


def test_levels_agree_within_the_stated_tolerance(fresh_results):
    levels = list(fresh_results)
    if len(levels) < 2:
        pytest.skip(f"only one importable ISA level on this machine/build: {levels}")
    names = [name for name, _ in battery()]
    results = fresh_results
    base = levels[-1]  # the lowest level as the reference
    for level in levels[:-1]:
        for name, x, y in zip(names, results[base], results[level], strict=True):
            scale = np.abs(x).max()
            err = np.abs(x - y).max()
            assert err <= CROSS_LEVEL_RTOL * scale, (
                f"{name}: {level} vs {base} differ by {err:.3g} (relative {err / scale:.3g})"
            )


def test_kernels_from_four_threads_equal_the_serial_results():
    calls = battery()
    serial = run(_core, calls)

    def worker(k: int) -> list[list[np.ndarray]]:
        # each thread walks the battery from a different start, so different kernels overlap
        order = calls[k:] + calls[:k]
        out = [run(_core, order) for _ in range(5)]
        return [r[-k:] + r[:-k] if k else r for r in out]

    with ThreadPoolExecutor(max_workers=4) as pool:
        per_thread = list(pool.map(worker, [0, 7, 19, 31]))
    for rounds in per_thread:
        for results in rounds:
            for (name, _), got, want in zip(calls, results, serial, strict=True):
                assert np.array_equal(got, want), f"{name} changed bits under threads"


def test_normals_are_the_same_bits_at_every_level(fresh_results):
    # the normal generator is promised bit for bit across levels (cpp/include/natgrad/normal.hpp):
    # integer words and IEEE-exact arithmetic without fused multiply-adds
    levels = list(fresh_results)
    if len(levels) < 2:
        pytest.skip(f"only one importable ISA level on this machine/build: {levels}")
    names = [name for name, _ in battery()]
    for name in ("standard_normal", "splitmix64"):
        i = names.index(name)
        for level in levels[1:]:
            assert np.array_equal(fresh_results[level][i], fresh_results[levels[0]][i]), (
                f"{name}: {level} and {levels[0]} differ"
            )
