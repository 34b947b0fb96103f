"""Load the compiled core built for the best instruction-set level this CPU supports.

natgrad builds one extension module per x86-64 level (``_core_v2``, ``_core_v3`` = AVX2+FMA,
``_core_v4`` = AVX-512) from the same sources, so a wheel runs on any x86-64 CPU and is fast on
a recent one. Other architectures build a single ``_core_generic``. The environment variable
``NATGRAD_ISA`` (``v2``, ``v3``, ``v4`` or ``generic``) forces a level, e.g. to compare them.
"""

from __future__ import annotations

import importlib
import os
import platform
from types import ModuleType

# CPU flags (as Linux names them in /proc/cpuinfo) required by each x86-64 micro-architecture level.
_X86_LEVEL_FLAGS = {
    "v2": {"cx16", "lahf_lm", "popcnt", "sse4_1", "sse4_2", "ssse3"},
    "v3": {"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"},
    "v4": {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"},
}
_LEVEL_ORDER = ("v4", "v3", "v2", "generic")


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


def _load() -> ModuleType:
    forced = os.environ.get("NATGRAD_ISA")
    candidates = [forced] if forced else supported_levels()
    errors = []
    for level in candidates:
        if level not in _LEVEL_ORDER:
            raise ImportError(f"NATGRAD_ISA must be one of {_LEVEL_ORDER}, got {level!r}")
        try:
            return importlib.import_module(f"natgrad._core_{level}")
        except ImportError as exc:
            errors.append(f"_core_{level}: {exc}")
    raise ImportError(
        "natgrad's compiled core is missing or was not built for this CPU "
        f"(tried {candidates}: {'; '.join(errors) or 'no candidate'}). "
        "Build it with `pip install .` (or `pip install -e . --no-build-isolation` for development)."
    )


_module = _load()
globals().update({k: v for k, v in vars(_module).items() if not k.startswith("__")})
