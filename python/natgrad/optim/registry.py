"""Method names used by ``natgrad.minimize(method=...)`` and the command line.

``METHODS`` maps each name to a factory ``(**options) -> Strategy``. Factories import their module
on first use, so importing natgrad stays cheap.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from .strategy import Strategy

__all__ = ["DEFAULT_METHOD", "METHODS", "get_strategy", "strategy_class"]

#: the method ``natgrad.minimize`` uses when none is given
DEFAULT_METHOD = "igo-cma"


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
    "sngd": _lazy(".sngd", "SNGD"),
    "binary-sngd": _lazy(".binary", "BinarySNGD"),
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
    try:
        return METHODS[_check_method(method)](**options)
    except TypeError as exc:
        raise ValueError(
            f"options {sorted(options)} are not valid for method {method!r}: {exc}"
        ) from exc
