"""Bridges from natgrad to other libraries (each needs its library, an optional extra).

* :class:`NatgradSampler` (alias ``OptunaSampler``): an Optuna sampler running natgrad's
  continuous methods (IGO-CMA by default); ``pip install "natgrad[optuna]"``. See docs/optuna.md.

Importing ``natgrad.integrations`` imports no other library: each bridge is loaded on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = ["NatgradSampler", "OptunaSampler"]


def __getattr__(name: str) -> Any:
    if name in ("NatgradSampler", "OptunaSampler"):
        try:
            from ._optuna import NatgradSampler
        except ImportError as exc:
            if getattr(exc, "name", None) not in (None, "optuna") and "optuna" not in str(exc):
                raise
            raise ImportError(
                f'natgrad.integrations.{name} needs Optuna: pip install "natgrad[optuna]" '
                f"(or pip install optuna); the import failed with: {exc}"
            ) from exc
        return NatgradSampler
    raise AttributeError(f"module 'natgrad.integrations' has no attribute {name!r}")
