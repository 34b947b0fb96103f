"""Method names used by ``natgrad.minimize(method=...)`` and the command line.

``METHODS`` maps each name to a factory ``(**options) -> Strategy``. Factories import their module
on first use, so importing natgrad stays cheap.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from .strategy import Strategy

__all__ = [
    "DEFAULT_METHOD",
    "FULL_COVARIANCE_MAX_DIM",
    "METHODS",
    "build_strategy",
    "default_method",
    "get_strategy",
    "strategy_class",
]

#: the method ``natgrad.minimize`` uses when none is given, up to FULL_COVARIANCE_MAX_DIM
DEFAULT_METHOD = "igo-cma"

#: largest n for which ``minimize`` picks the full covariance by default. Up to n = 2000 a
#: generation of igo-cma costs at most ~32 ms and its state ~100 MB (BENCHMARKS.md, time per
#: generation); both grow as n² beyond, while "lowrank" is O(n) in memory and already needs
#: fewer evaluations at n = 1000 on sphere, ellipsoid, cigar and discus (BENCHMARKS.md, large
#: dimensions). Below the switch the rotation-invariant full model is kept.
FULL_COVARIANCE_MAX_DIM = 2000


def default_method(dim: int) -> str:
    """The method ``minimize`` uses for an n-dimensional x0 when none is given.

    ``"igo-cma"`` (full covariance, rotation invariant) for n <= FULL_COVARIANCE_MAX_DIM,
    ``"lowrank"`` (σ²D(I + vvᵀ)D, O(n) memory) beyond.
    """
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise ValueError(f"dim must be an integer >= 1, got {dim!r}")
    return DEFAULT_METHOD if dim <= FULL_COVARIANCE_MAX_DIM else "lowrank"


def _lazy(module: str, cls: str) -> Callable[..., Strategy]:
    def load() -> type[Strategy]:
        loaded: type[Strategy] = getattr(importlib.import_module(module, __package__), cls)
        return loaded

    def factory(**options: Any) -> Strategy:
        return load()(**options)

    factory.strategy_class = load  # type: ignore[attr-defined]
    factory.__name__ = factory.__qualname__ = cls
    factory.__doc__ = f"Build ``{module.lstrip('.')}.{cls}(**options)``."
    return factory


#: method name -> strategy factory (keyword options are passed to the strategy's constructor)
METHODS: dict[str, Callable[..., Strategy]] = {
    "igo-cma": _lazy(".igo_cma", "IGOCMA"),
    "xnes": _lazy(".xnes", "XNES"),
    "snes": _lazy(".snes", "SNES"),
    "lowrank": _lazy(".lowrank", "LowRankNES"),
    "sngd": _lazy(".sngd", "SNGD"),
    "binary-sngd": _lazy(".binary", "BinarySNGD"),
    "gmrf": _lazy(".gmrf", "GMRF"),
}


def _check_method(method: Any) -> str:
    if not isinstance(method, str) or method not in METHODS:
        valid = ", ".join(repr(name) for name in sorted(METHODS)) or "(none installed)"
        raise ValueError(f"method must be one of {valid}, got {method!r}")
    return method


def strategy_class(method: str) -> type[Strategy]:
    """The Strategy subclass registered as ``method`` (imports its module on first use)."""
    factory = METHODS[_check_method(method)]
    cls: type[Strategy] = getattr(factory, "strategy_class", lambda: type(factory()))()
    return cls


def get_strategy(method: str = DEFAULT_METHOD, **options: Any) -> Strategy:
    """The strategy named ``method``, built with ``options``.

    Raises
    ------
    ValueError
        If ``method`` is not a key of :data:`METHODS` (the message lists the valid names), or the
        strategy refuses ``options``.
    """
    factory = METHODS[_check_method(method)]
    try:
        return factory(**options)
    except TypeError as exc:
        valid = getattr(strategy_class(method), "option_names", ())
        raise ValueError(
            f"options {sorted(options)} are not valid for method {method!r} (its options: "
            f"{', '.join(valid) or 'none'}): {exc}"
        ) from exc


#: the optimiser's own settings: keywords of Optimizer and minimize, never strategy options
SHELL_SETTINGS = ("popsize", "tolx", "tolfun", "stagnation", "max_condition")


def build_strategy(method: Strategy | str, options: dict[str, Any] | None = None) -> Strategy:
    """The strategy for ``method`` (a name, built with ``options``, or an instance, as is).

    The one place that turns (method, options) into a strategy, for ``Optimizer`` and
    ``minimize`` alike: ``options`` are the strategy's constructor keywords; the optimiser's own
    settings (``SHELL_SETTINGS``) are refused there with a hint, and options given with an
    instance are refused (configure the instance instead).
    """
    opts = dict(options or {})
    misplaced = sorted(set(opts) & set(SHELL_SETTINGS))
    if misplaced:
        raise ValueError(
            f"{', '.join(misplaced)} {'is a setting' if len(misplaced) == 1 else 'are settings'} "
            f"of the optimiser, not a strategy option: pass {misplaced[0]}=... as a keyword "
            f"(e.g. minimize(..., {misplaced[0]}=...)), got options={opts!r:.80}"
        )
    if isinstance(method, str):
        return get_strategy(method, **opts)
    if opts:
        raise ValueError(
            f"options {sorted(opts)} need a method name; {type(method).__name__} is already "
            f"built: pass them to its constructor ({', '.join(method.option_names) or 'none'})"
        )
    return method
