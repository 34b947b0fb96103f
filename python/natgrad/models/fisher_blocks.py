"""Per-unit Fisher blocks of a sigmoid belief network layer, and their damped solves.

A layer of J units reads an input h of width d. With h̃ = (h, 1), unit j's Fisher block is
``F_j = E[w_j h̃ h̃ᵀ]``, where ``w_j = σ'(W_j h + b_j)`` for {0, 1} units and
``1 − tanh²(W_j h + b_j)`` for {−1, +1} units. From N samples (rows of ``inputs``) and the weights
``w`` (N × J) the blocks are estimated as ``F_j = (1/N) Σ_n w_nj h̃_n h̃_nᵀ``.

:class:`DampedFisherBlocks` factors all J damped blocks ``F_j + αI`` in one compiled call and
applies them to the J gradient rows; when N < d + 1 it uses the Woodbury form with one N × N
factor per unit (``natgrad.woodbury_solve`` is the same identity for one matrix).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .. import _core
from .._validation import FloatArray, as_damping, as_float_array

__all__ = ["DampedFisherBlocks", "fisher_blocks"]


def _check_samples(inputs: ArrayLike, weights: ArrayLike) -> tuple[FloatArray, FloatArray]:
    h = as_float_array("inputs", inputs, ndim=2)
    if h.shape[0] < 1:
        raise ValueError(f"inputs must hold at least one sample (row), got shape {h.shape}")
    w = as_float_array("weights", weights, ndim=2)
    if w.shape[0] != h.shape[0] or w.shape[1] < 1:
        raise ValueError(
            f"weights must have shape ({h.shape[0]}, J) with J >= 1 to match inputs, got {w.shape}"
        )
    if np.any(w < 0):
        raise ValueError(f"weights must be >= 0 (sigma' of the units), got min {w.min()!r}")
    return h, w


def fisher_blocks(inputs: ArrayLike, weights: ArrayLike) -> FloatArray:
    """The J estimated blocks ``(1/N) Σ_n w_nj h̃_n h̃_nᵀ`` as a (J, d+1, d+1) array (no damping).

    Parameters
    ----------
    inputs : (N, d) array_like
        Layer inputs, one sample per row.
    weights : (N, J) array_like
        Per-sample, per-unit weights ``σ'`` (>= 0). For an exact expectation over enumerated
        states with probabilities ``p_n``, pass ``N p_n σ'_nj``.
    """
    h, w = _check_samples(inputs, weights)
    ht = np.hstack([h, np.ones((h.shape[0], 1))])
    return np.asarray(np.einsum("nj,na,nb->jab", w, ht, ht) / h.shape[0])


class DampedFisherBlocks:
    """Factors of a layer's J damped Fisher blocks ``F_j + damping·I``, ready to apply.

    Parameters
    ----------
    inputs : (N, d) array_like
        Layer inputs the blocks are estimated from.
    weights : (N, J) array_like
        Per-sample, per-unit weights ``σ'`` (>= 0).
    damping : float
        Tikhonov damping α > 0.
    woodbury : bool or None, default None
        Use the Woodbury form (one N × N factor per unit); None picks it when N < d + 1.

    Examples
    --------
    >>> import numpy as np
    >>> from natgrad.models import DampedFisherBlocks
    >>> rng = np.random.default_rng(0)
    >>> h = rng.integers(0, 2, (40, 5)).astype(float)
    >>> blocks = DampedFisherBlocks(h, np.full((40, 3), 0.25), damping=0.1)
    >>> blocks.solve(np.ones((3, 6))).shape
    (3, 6)
    """

    def __init__(
        self, inputs: ArrayLike, weights: ArrayLike, damping: float, *, woodbury: bool | None = None
    ) -> None:
        h, w = _check_samples(inputs, weights)
        self.damping = as_damping(damping, positive=True)
        if woodbury is None:
            woodbury = h.shape[0] < h.shape[1] + 1
        self.woodbury = bool(woodbury)
        self.units, self.width = w.shape[1], h.shape[1] + 1
        self._inputs, self._weights = h, w
        if self.woodbury:
            self._factors = _core.fisher_blocks_woodbury_factor(h, w, self.damping)
        else:
            self._factors = _core.fisher_blocks_factor(h, w, self.damping)

    @classmethod
    def _unchecked(
        cls, inputs: FloatArray, weights: FloatArray, damping: float
    ) -> DampedFisherBlocks:
        """For the training loop: C-contiguous float64 arrays, already valid."""
        self = cls.__new__(cls)
        self.damping, self.units, self.width = damping, weights.shape[1], inputs.shape[1] + 1
        self.woodbury = inputs.shape[0] < self.width
        self._inputs, self._weights = inputs, weights
        factor = (
            _core.fisher_blocks_woodbury_factor if self.woodbury else _core.fisher_blocks_factor
        )
        self._factors = factor(inputs, weights, damping)
        return self

    def solve(self, grads: ArrayLike) -> FloatArray:
        """Row j of the result is ``(F_j + damping·I)⁻¹ g_j``; ``grads`` is (J, d+1)."""
        g = as_float_array("grads", grads, shape=(self.units, self.width))
        return self._solve(g)

    def _solve(self, g: FloatArray) -> FloatArray:
        if self.woodbury:
            return np.asarray(
                _core.fisher_blocks_woodbury_solve(
                    self._inputs, self._weights, self._factors, g, self.damping
                )
            )
        return np.asarray(_core.fisher_blocks_solve(self._factors, g))

    def inverse(self) -> FloatArray:
        """The J inverses ``(F_j + damping·I)⁻¹`` as a (J, d+1, d+1) array.

        Row j of ``solve(G)`` is ``inverse()[j] @ G[j]``: for many solves with the same blocks
        (the training loop reuses them for ``fisher_every`` steps), one batched product
        ``np.matmul(inverse, G[:, :, None])`` replaces the two triangular solves per unit.
        From the dense factor L_j: ``L_j⁻ᵀ L_j⁻¹``; from the Woodbury factor of
        ``K_j = αI_N + U_jᵀU_j``: ``(I − U_j K_j⁻¹ U_jᵀ) / α``.
        """
        if self.woodbury:
            n = self._inputs.shape[0]
            chol = self._factors.reshape(self.units, n, n)
            ht = np.hstack([self._inputs, np.ones((n, 1))])  # N × q
            root = np.sqrt(self._weights / n)  # N × J
            u = ht.T[None, :, :] * root.T[:, None, :]  # J × q × N: U_j
            v = np.linalg.solve(chol, np.swapaxes(u, 1, 2))  # L_j⁻¹ U_jᵀ, J × N × q
            out = -np.matmul(np.swapaxes(v, 1, 2), v)  # −U_j K_j⁻¹ U_jᵀ
            out[:, np.arange(self.width), np.arange(self.width)] += 1.0
            return np.asarray(out / self.damping)
        # (L Lᵀ)⁻¹ = L⁻ᵀ L⁻¹ for all units side by side in one compiled call
        inverse = _core.fisher_blocks_inverse(self._factors)
        return np.asarray(inverse).reshape(self.units, self.width, self.width)

    def __repr__(self) -> str:
        path = "woodbury" if self.woodbury else "dense"
        return (
            f"DampedFisherBlocks(units={self.units}, width={self.width}, "
            f"damping={self.damping!r}, path={path!r})"
        )
