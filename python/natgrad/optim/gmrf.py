"""GMRF: natural-gradient search with a sparse-precision Gaussian (a Gaussian Markov random field).

The search distribution is N(m, σ² C) with C⁻¹ = K zero off a chordal graph G: X_i and X_j are
conditionally independent given the rest unless i ~ j. This sub-model is an exponential family
with statistics (x_i, x_i², x_i x_j for i ~ j), so its natural gradient in θ is the plain
gradient in its expectation coordinates η = (m, moments S of C on the diagonal and on E)
(docs/gmrf.md). One generation (Hansen, "The CMA Evolution Strategy: A Tutorial",
arXiv:1604.00772, eqs. 41–47, read on the sub-model):

    m ← m + σ Σ w_k y_k,                                       y_k = (x_k − m)/σ
    S ← (1 − c₁ − c_μ) S + c₁ (p_c p_cᵀ)|_G + c_μ Σ w_k (y_k y_kᵀ)|_G,

a convex combination (weights ≥ 0) that keeps every clique block of S positive definite; then
C = the maximum-entropy completion of S, K = L D⁻¹ Lᵀ with no fill for a perfect elimination
order (natgrad.reference.gmrf). Samples are x = m + σ P L⁻ᵀ D^{1/2} z; cumulative step-size
adaptation uses the draws z = D^{-1/2} Lᵀ Pᵀ y, like IGO-CMA's A⁻¹y = z. The learning rates c₁,
c_μ are CMA's (eqs. 57–58) with n replaced by the dimension n_G of a full model with as many
free covariance parameters, n_G (n_G + 1)/2 = n + |E|, times ``rate_scale``.

Work per generation O(λ(n + |E|) + Σ|C_p|³): O(λ n w) for a band of width w; memory O(n + |E|).
Invariant to monotone transforms of f and to translations; not rotation invariant (the model
fixes the pattern of K in the given coordinates).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np

from .. import _core, graphs
from .._validation import FloatArray, as_float
from . import _common
from .igo_cma import IGOCMAParameters, cma_parameters
from .strategy import Strategy


class GMRFState(NamedTuple):
    """State of the GMRF strategy after ``generation`` generations (immutable).

    Pattern quantities are stored in the positions of the model graph's perfect elimination
    order (``strategy.model_graph.elimination()``): position p holds vertex ``perm[p]``.

    Attributes
    ----------
    mean : ndarray (n,)
        Mean m (vertex order).
    sigma : float
        Step size σ.
    s_diag : ndarray (n,)
        Variances of the shape C, by position (> 0).
    s_off : ndarray (|E|,)
        Covariances of C on the edges of the model graph, by pattern slot.
    p_sigma : ndarray (n,)
        Conjugate evolution path of CSA (in z-coordinates).
    p_c : ndarray (n,)
        Evolution path of the rank-one update (vertex order).
    b, d : ndarray (|E|,), ndarray (n,)
        The completion K = L D⁻¹ Lᵀ of (s_diag, s_off): L's columns −b by slot, D = diag(d).
    generation : int
        Completed generations.
    margin_scale : ndarray (n,)
        Diagonal A of CMA-ES with margin's encoding of integer coordinates (vertex order; 1
        elsewhere, and everywhere in a run without ``integers``; see :mod:`natgrad.optim.integers`).
    """

    mean: FloatArray
    sigma: float
    s_diag: FloatArray
    s_off: FloatArray
    p_sigma: FloatArray
    p_c: FloatArray
    b: FloatArray
    d: FloatArray
    generation: int
    margin_scale: FloatArray


def free_dimension(dim: int, num_edges: int) -> float:
    """n_G with n_G (n_G + 1)/2 = n + |E|: a full model with as many covariance parameters."""
    return (math.sqrt(1 + 8 * (dim + num_edges)) - 1) / 2


@lru_cache(maxsize=64)
def _parameters(dim: int, popsize: int, num_edges: int, rate_scale: float) -> IGOCMAParameters:
    # positive weights only (eqs. 49–52); c₁, c_μ (eqs. 57–58) on n_G, times rate_scale
    return cma_parameters(
        dim,
        popsize,
        active=False,
        rate_dim=free_dimension(dim, num_edges),
        rate_scale=rate_scale,
    )


@lru_cache(maxsize=64)
def _compiled(dim: int, popsize: int, num_edges: int, rate_scale: float) -> Any:
    return _core.IGOCMAParams(**_parameters(dim, popsize, num_edges, rate_scale)._asdict())


def _check_graph(graph: Any) -> graphs.Graph | int:
    if isinstance(graph, graphs.Graph):
        return graph
    if isinstance(graph, dict):  # the JSON form of a checkpoint: Graph.as_dict()
        try:
            return graphs.Graph(**graph)
        except TypeError as exc:
            raise ValueError(
                f"graph as a mapping needs keys 'n' and 'edges', got {graph!r:.80}"
            ) from exc
    if isinstance(graph, (int, np.integer)) and not isinstance(graph, bool) and graph >= 0:
        return int(graph)
    raise ValueError(
        "graph must be a natgrad.graphs.Graph or a band width w >= 0 (graphs.band(n, w)), got "
        f"{graph!r:.80}"
    )


class GMRF(Strategy):
    """Sparse-precision Gaussian search distribution, a Gaussian Markov random field (``"gmrf"``).

    Parameters
    ----------
    graph : natgrad.graphs.Graph or int, default 1
        The conditional-independence graph of the search distribution: K = C⁻¹ is zero off its
        edges. An int w means ``graphs.band(n, w)`` in the dimension of x0. A graph that is not
        chordal (a grid) is replaced by ``graphs.chordal_embedding(graph)``, which contains its
        edges (``model_graph`` is the graph used).
    rate_scale : float, default 2
        Multiplier of the learning rates c₁ and c_μ (module docstring); the default was measured
        on banded quadratics (docs/gmrf.md).
    margin : float, optional
        With integer coordinates (``Optimizer(..., integers=...)``): the lower bound α on the
        probability that an integer coordinate leaves its current value (CMA-ES with margin,
        :mod:`natgrad.optim.integers`), in (0, 0.5); default 1/(nλ).
    """

    name = "gmrf"
    state_type = GMRFState
    state_fields = {
        "mean": "vector",
        "sigma": "step",
        "s_diag": "positive_vector",
        "s_off": "pattern",
        "p_sigma": "vector",
        "p_c": "vector",
        "b": "pattern",
        "d": "positive_vector",
        "generation": "count",
        "margin_scale": "positive_vector",
    }
    option_names = ("graph", "rate_scale", "margin")

    def __init__(
        self, *, graph: graphs.Graph | int = 1, rate_scale: float = 2.0, margin: float | None = None
    ) -> None:
        self.graph = _check_graph(graph)
        self.rate_scale = as_float("rate_scale", rate_scale, positive=True)
        self.margin = _common.check_margin(margin)
        self._models: dict[int, tuple[graphs.Graph, Any]] = {}

    def __getstate__(self) -> dict[str, Any]:
        # the compiled index tables are a cache, rebuilt on first use after unpickling
        return {"graph": self.graph, "rate_scale": self.rate_scale, "margin": self.margin}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def options(self) -> dict[str, Any]:
        graph = self.graph
        return {
            "graph": graph.as_dict() if isinstance(graph, graphs.Graph) else graph,
            "rate_scale": self.rate_scale,
            "margin": self.margin,
        }

    def __repr__(self) -> str:
        return f"GMRF(graph={self.graph!r}, rate_scale={self.rate_scale!r}, margin={self.margin!r})"

    # ------------------------------------------------------------------ the model graph
    def model_graph(self, dim: int) -> graphs.Graph:
        """The chordal graph the search distribution uses in dimension ``dim``."""
        return self._model(dim)[0]

    def _model(self, dim: int) -> tuple[graphs.Graph, Any]:
        model = self._models.get(dim)
        if model is None:
            graph = self.graph
            if isinstance(graph, int):
                graph = graphs.band(dim, min(graph, dim - 1))
            elif graph.n != dim:
                raise ValueError(
                    f"graph has n = {graph.n} vertices but x0 has {dim} coordinates: they must "
                    "agree"
                )
            graph = graphs.chordal_embedding(graph)
            model = (graph, graph.compiled())
            self._models[dim] = model
        return model

    def pattern_size(self, dim: int) -> int:
        """|E| of the model graph in dimension ``dim``."""
        return self._model(dim)[0].num_edges

    def parameters(self, dim: int, popsize: int) -> IGOCMAParameters:
        """CMA constants for (``dim``, ``popsize``) with rates on the model graph's n_G."""
        dim = _common.check_dim(dim)
        return _parameters(
            dim, _common.check_popsize(popsize), self.pattern_size(dim), self.rate_scale
        )

    # ------------------------------------------------------------------ strategy
    def _initial_state(self, x0: FloatArray, sigma0: float) -> GMRFState:
        """Generation 0: mean ``x0``, step ``sigma0``, C = I (S = I on the pattern)."""
        n = x0.size
        graph, structure = self._model(n)
        s_diag, s_off = np.ones(n), np.zeros(graph.num_edges)
        b, d = _core.gmrf_complete(s_diag, s_off, structure)
        return GMRFState(x0, sigma0, s_diag, s_off, np.zeros(n), np.zeros(n), b, d, 0, np.ones(n))

    def _sample(self, state: GMRFState, noise: FloatArray) -> FloatArray:
        """x_k = m + σ P L⁻ᵀ D^{1/2} z_k by back substitution, O(λ(n + |E|))."""
        structure = self._model(state.mean.size)[1]
        return _core.gmrf_sample(state.mean, state.sigma, state.b, state.d, noise, structure)

    def _update(
        self, state: GMRFState, noise: FloatArray, X: FloatArray, values: FloatArray
    ) -> GMRFState:
        """One generation in one compiled call (module docstring)."""
        n = state.mean.size
        graph, structure = self._model(n)
        p = _compiled(n, noise.shape[0], graph.num_edges, self.rate_scale)
        mean, sigma, s_diag, s_off, p_sigma, p_c, b, d, _h = _core.gmrf_update(
            state.mean,
            state.sigma,
            state.s_diag,
            state.s_off,
            state.p_sigma,
            state.p_c,
            noise,
            X,
            values,
            state.generation,
            p,
            structure,
        )
        return GMRFState(
            mean, sigma, s_diag, s_off, p_sigma, p_c, b, d, state.generation + 1, state.margin_scale
        )

    def scale_step(self, state: GMRFState, factor: float) -> GMRFState:
        return state._replace(sigma=state.sigma * factor)

    def condition_number(self, state: GMRFState) -> float:
        """cond(C): exact for n ≤ 100, else the lower bound max_p S_pp · max_p K_pp."""
        n = state.mean.size
        structure = self._model(n)[1]
        if n <= 100:
            from ..reference.gmrf import precision

            ev = np.linalg.eigvalsh(precision(state.b, state.d, self._model(n)[0].elimination()))
            return float(ev[-1] / ev[0]) if ev[0] > 0 else float("inf")
        k_diag = _core.gmrf_precision_diagonal(state.b, state.d, structure)
        return float(state.s_diag.max() * k_diag.max())

    def axis_scales(self, state: GMRFState) -> FloatArray:
        """σ √diag C (vertex order): the completion reproduces the pattern's variances."""
        perm = self._model(state.mean.size)[0].elimination().perm
        out = np.empty(state.mean.size)
        out[perm] = state.sigma * np.sqrt(state.s_diag)
        return out
