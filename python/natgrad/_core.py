"""Load the compiled core built for the best instruction-set level this CPU supports.

natgrad builds one extension module per x86-64 level (``_core_v2``, ``_core_v3`` = AVX2+FMA,
``_core_v4`` = AVX-512) from the same sources, so a wheel runs on any x86-64 CPU and is fast on
a recent one: a default build has the baseline v2 plus the levels the building CPU can execute
(natgrad/_isa.py), a wheel build all three. Other architectures build a single ``_core_generic``. The environment variable
``NATGRAD_ISA`` (``v2``, ``v3``, ``v4`` or ``generic``) forces a level, e.g. to compare them.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

from natgrad._isa import supported_levels

_LEVEL_ORDER = ("v4", "v3", "v2", "generic")


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
