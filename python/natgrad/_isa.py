"""Which x86-64 instruction-set levels this CPU can execute.

One criterion for two moments: ``natgrad._core`` imports the best built level the CPU supports,
and the build (CMakeLists.txt, ``NATGRAD_ISA_LEVELS=auto``) runs this file as a script on the
building machine to build the baseline level plus exactly the levels that machine can execute,
so every module a default build ships is one its test suite can run. Standard library only: the
build runs it before natgrad is importable.
"""

from __future__ import annotations

import platform

# CPU flags (as Linux names them in /proc/cpuinfo) required by each x86-64 micro-architecture level.
_X86_LEVEL_FLAGS = {
    "v2": {"cx16", "lahf_lm", "popcnt", "sse4_1", "sse4_2", "ssse3"},
    "v3": {"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"},
    "v4": {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"},
}


def _cpu_flags() -> set[str] | None:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        return None
    return None


def supported_levels() -> list[str]:
    """ISA levels this CPU can run, best first."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return ["generic"]
    flags = _cpu_flags()
    if flags is None:  # no /proc/cpuinfo (e.g. macOS): only the baseline level is safe to assume
        return ["v2"]
    levels: list[str] = []
    required: set[str] = set()
    for level in ("v2", "v3", "v4"):
        required |= _X86_LEVEL_FLAGS[level]
        if required <= flags:
            levels.insert(0, level)
    return levels


if __name__ == "__main__":
    print(";".join(supported_levels()))
