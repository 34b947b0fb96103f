"""The Gaussian Markov random field on a chordal graph G: an exponential sub-family of the Gaussian.

With precision K = Σ⁻¹ zero off G, the density is exp(⟨θ, T(x)⟩ − ψ(θ)) with the statistics
T(x) = (x_i; x_i²; 2 x_i x_j for edges (i, j) of G, in the graph's edge order) — the full
Gaussian's packing restricted to the free coordinates — so

    θ = (K μ, −½ K_ii, −½ K_ij),     η = (μ, Σ_ii + μ_i², 2 Σ_ij + 2 μ_i μ_j),

and only Σ's entries on the diagonal and on G enter η. Going from η to θ is the
maximum-entropy (covariance-selection) completion: the unique K zero off G whose inverse matches
those entries, closed-form for a chordal G (natgrad.reference.gmrf). Its Fisher information in θ
is the principal sub-matrix I_SS of the full Gaussian's, and in η its inverse — a Schur
complement, *not* the SS block of the full model's I_η.

Everything is O(n + |E|) per point and O(Σ |C_p|³) per conversion for the cliques C_p of a
perfect elimination order, except the assembled Fisher matrices (dense, small n only).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from . import _core, graphs
from ._validation import FloatArray, as_float_array, as_generator, as_int
from .family import ExponentialFamily
from .gaussian import Gaussian

__all__ = ["GaussianMRF"]

#: largest n for which the dense routes (``fisher``, ``to_gaussian``) are allowed
MAX_DENSE_DIM = 4000


def _structure(graph: graphs.Graph) -> tuple[graphs.Elimination, Any]:
    return graph.elimination(), graph.compiled()  # ValueError for a non-chordal graph


def _check_graph(graph: Any) -> graphs.Graph:
    if not isinstance(graph, graphs.Graph):
        raise ValueError(
            f"graph must be a natgrad.graphs.Graph (graphs.band, grid, from_edges), got "
            f"{type(graph).__name__}"
        )
    return graph


class GaussianMRF(ExponentialFamily):
    """N(mean, K⁻¹) with K zero off the edges of a chordal ``graph``.

    Parameters
    ----------
    mean : array_like (n,)
    precision : array_like (n, n) or scipy.sparse matrix
        Symmetric positive definite, with zeros at every off-diagonal entry that is not an edge.
    graph : natgrad.graphs.Graph
        Chordal graph on n vertices (see ``graphs.chordal_embedding``).

    Raises
    ------
    ValueError
        On a shape mismatch, a non-finite entry, a non-zero off the graph, an asymmetric or not
        positive definite precision, or a non-chordal graph.
    """

    def __init__(self, mean: ArrayLike, precision: Any, graph: graphs.Graph) -> None:
        graph = _check_graph(graph)
        n = graph.n
        m = as_float_array("mean", mean, shape=(n,))
        el, st = _structure(graph)
        kd, ko = _precision_pattern(precision, graph, el)
        self._init(m, graph, el, st, *_core.gmrf_factor(kd, ko, st))

    def _init(
        self,
        mean: FloatArray,
        graph: graphs.Graph,
        el: graphs.Elimination,
        st: Any,
        b: FloatArray,
        d: FloatArray,
    ) -> None:
        self._mean, self._graph, self._el, self._st = mean, graph, el, st
        self._b, self._d = b, d
        self._moments: tuple[FloatArray, FloatArray] | None = None
        self._k: tuple[FloatArray, FloatArray] | None = None

    @classmethod
    def _from_factor(
        cls, mean: FloatArray, graph: graphs.Graph, b: FloatArray, d: FloatArray
    ) -> GaussianMRF:
        out = cls.__new__(cls)
        el, st = _structure(graph)
        out._init(mean, graph, el, st, b, d)
        return out

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_natural(cls, theta: ArrayLike, graph: graphs.Graph | None = None) -> GaussianMRF:
        """The member with θ = (Kμ, −½K_ii, −½K_ij on the edges) on ``graph``."""
        graph = _check_graph(graph)
        n, m = graph.n, graph.num_edges
        t = as_float_array("theta", theta, shape=(2 * n + m,))
        el, st = _structure(graph)
        kd = -2.0 * t[n : 2 * n][el.perm]
        ko = np.empty(m)
        ko[el.edge_slot] = -2.0 * t[2 * n :]
        try:
            b, d = _core.gmrf_factor(kd, ko, st)
        except ValueError as exc:
            raise ValueError(
                f"theta's precision −2Θ is not positive definite: {exc}; got theta = "
                f"{np.array2string(t, threshold=6)}"
            ) from exc
        mean = _solve(b, d, el, st, t[:n])
        return cls._from_factor(mean, graph, b, d)

    @classmethod
    def from_expectation(cls, eta: ArrayLike, graph: graphs.Graph | None = None) -> GaussianMRF:
        """The member with η = (μ, Σ_ii + μ_i², 2Σ_ij + 2μ_iμ_j on the edges): the maximum-entropy
        completion of those moments."""
        graph = _check_graph(graph)
        n, m = graph.n, graph.num_edges
        e = as_float_array("eta", eta, shape=(2 * n + m,))
        el, st = _structure(graph)
        mean = e[:n].copy()
        sd = (e[n : 2 * n] - mean**2)[el.perm]
        so = np.empty(m)
        edges = graph.edges
        so[el.edge_slot] = e[2 * n :] / 2 - mean[edges[:, 0]] * mean[edges[:, 1]]
        try:
            b, d = _core.gmrf_complete(sd, so, st)
        except ValueError as exc:
            raise ValueError(
                f"eta is not the moment vector of a Gaussian on this graph ({exc}); got eta = "
                f"{np.array2string(e, threshold=6)}"
            ) from exc
        out = cls._from_factor(mean, graph, b, d)
        out._moments = (sd, so)
        return out

    def with_natural(self, theta: ArrayLike) -> GaussianMRF:
        return type(self).from_natural(theta, self._graph)

    def with_expectation(self, eta: ArrayLike) -> GaussianMRF:
        return type(self).from_expectation(eta, self._graph)

    # ------------------------------------------------------------------ basic facts
    @property
    def dim(self) -> int:
        return int(self._mean.size)

    @property
    def graph(self) -> graphs.Graph:
        return self._graph

    @property
    def num_params(self) -> int:
        """2n + |E|."""
        return 2 * self.dim + self._graph.num_edges

    @property
    def mean(self) -> FloatArray:
        return self._mean.copy()

    def free_indices(self) -> list[int]:
        """Indices of this sub-model's coordinates in the full Gaussian's packing."""
        n = self.dim
        e = self._graph.edges
        pair = (e[:, 0] * (2 * n - e[:, 0] - 1)) // 2 + (e[:, 1] - e[:, 0] - 1)
        return list(range(2 * n)) + [int(2 * n + k) for k in pair]

    def _pattern_k(self) -> tuple[FloatArray, FloatArray]:
        """K on the pattern: (diagonal by position, off-diagonal by slot)."""
        if self._k is None:
            b, d = self._b, self._d
            self._k = (
                _core.gmrf_precision_diagonal(b, d, self._st),
                _core.gmrf_precision_off(b, d, self._st),
            )
        return self._k

    def _pattern_moments(self) -> tuple[FloatArray, FloatArray]:
        """Σ on the pattern by Takahashi's recursion: (diagonal by position, off by slot)."""
        if self._moments is None:
            self._moments = _core.gmrf_pattern_covariance(self._b, self._d, self._st)
        return self._moments

    def precision(self) -> Any:
        """K as a ``scipy.sparse`` CSR matrix (vertex order)."""
        from scipy import sparse

        kd, ko = self._pattern_k()
        el, n = self._el, self.dim
        perm = el.perm
        cols = np.repeat(np.arange(n), np.diff(el.colptr))
        i, j = perm[cols], perm[el.rows]
        rows = np.concatenate([perm, i, j])
        colsv = np.concatenate([perm, j, i])
        data = np.concatenate([kd, ko, ko])
        return sparse.csr_matrix((data, (rows, colsv)), shape=(n, n))

    @property
    def cov(self) -> FloatArray:
        """Dense Σ = K⁻¹ (n ≤ MAX_DENSE_DIM; the pattern's entries are ``cov_on_graph``)."""
        self._dense_ok("cov")
        return np.asarray(np.linalg.inv(self.precision().toarray()))

    def cov_on_graph(self) -> tuple[FloatArray, FloatArray]:
        """(Σ_ii for every vertex, Σ_ij for every edge in the graph's order)."""
        sd, so = self._pattern_moments()
        diag = np.empty(self.dim)
        diag[self._el.perm] = sd
        return diag, so[self._el.edge_slot]

    def to_gaussian(self) -> Gaussian:
        """The same distribution as a dense :class:`natgrad.Gaussian` (n ≤ MAX_DENSE_DIM)."""
        self._dense_ok("to_gaussian")
        return Gaussian(self._mean, self.cov)

    def _dense_ok(self, what: str) -> None:
        if self.dim > MAX_DENSE_DIM:
            raise ValueError(
                f"{what} forms dense n x n matrices; n = {self.dim} > MAX_DENSE_DIM = "
                f"{MAX_DENSE_DIM} (use sample, log_prob, kl, natural, expectation)"
            )

    def __repr__(self) -> str:
        return f"GaussianMRF(n={self.dim}, graph={self._graph!r})"

    # ------------------------------------------------------------------ coordinates, potentials
    def natural(self) -> FloatArray:
        """θ = (Kμ, −½K_ii, −½K_ij on the edges)."""
        kd, ko = self._pattern_k()
        el = self._el
        diag = np.empty(self.dim)
        diag[el.perm] = kd
        h = self.precision() @ self._mean
        return np.concatenate([h, -0.5 * diag, -0.5 * ko[el.edge_slot]])

    def expectation(self) -> FloatArray:
        """η = (μ, Σ_ii + μ_i², 2Σ_ij + 2μ_iμ_j on the edges)."""
        diag, off = self.cov_on_graph()
        m, e = self._mean, self._graph.edges
        return np.concatenate([m, diag + m**2, 2 * off + 2 * m[e[:, 0]] * m[e[:, 1]]])

    def log_det_cov(self) -> float:
        """log |Σ| = Σ_p log d_p."""
        return float(np.sum(np.log(self._d)))

    def log_partition(self) -> float:
        """ψ(θ) = n/2 log 2π + ½ μᵀKμ + ½ log|Σ|."""
        quad = float(self._mean @ (self.precision() @ self._mean))
        return 0.5 * self.dim * math.log(2 * math.pi) + 0.5 * quad + 0.5 * self.log_det_cov()

    def legendre_dual(self) -> float:
        """φ(η) = −n/2 (log 2π + 1) − ½ log|Σ|, the negative entropy."""
        return -0.5 * self.dim * (math.log(2 * math.pi) + 1) - 0.5 * self.log_det_cov()

    # ------------------------------------------------------------------ geometry
    def fisher(self, coords: str = "natural") -> FloatArray:
        """I_SS in θ (the full Gaussian's Fisher on the free coordinates), or I_SS⁻¹ in η."""
        c = self._check_coords(coords)
        self._dense_ok("fisher")
        i_ss = self.to_gaussian().fisher("natural", free=self.free_indices())
        return i_ss if c == "natural" else np.asarray(np.linalg.inv(i_ss), dtype=np.float64)

    def fisher_product(self, v: ArrayLike, coords: str = "natural") -> FloatArray:
        """I·v in ``coords``: in θ the full Gaussian's product restricted to the free coordinates."""
        c = self._check_coords(coords)
        vec = as_float_array("v", v, shape=(self.num_params,))
        if c == "expectation":
            return super().fisher_product(vec, coords)
        self._dense_ok("fisher_product")
        g = self.to_gaussian()
        full = np.zeros(g.num_params)
        free = self.free_indices()
        full[free] = vec
        return np.asarray(g.fisher_product(full, "natural"))[free]

    def kl(self, other: ExponentialFamily) -> float:
        """KL(self ‖ other) for a GaussianMRF on the same graph, in O(n + |E|):
        ½[tr(K₁Σ₀) + (μ₁ − μ₀)ᵀK₁(μ₁ − μ₀) − n + log|Σ₁| − log|Σ₀|]."""
        if not isinstance(other, GaussianMRF) or other.graph != self._graph:
            raise ValueError(
                f"other must be a GaussianMRF on the same graph {self._graph!r}, got {other!r:.80}"
            )
        sd, so = self._pattern_moments()
        kd, ko = other._pattern_k()
        trace = float(kd @ sd + 2 * ko @ so)
        dm = other._mean - self._mean
        quad = float(dm @ (other.precision() @ dm))
        value = 0.5 * (trace + quad - self.dim + other.log_det_cov() - self.log_det_cov())
        return max(value, 0.0)

    # ------------------------------------------------------------------ data
    def sample(self, size: int, rng: Any = None) -> FloatArray:
        """``size`` draws by back substitution with the sparse factor, O(size · (n + |E|))."""
        size = as_int("size", size, minimum=1)
        gen = as_generator(rng)
        Z = gen.standard_normal((size, self.dim))
        return np.asarray(_core.gmrf_sample(self._mean, 1.0, self._b, self._d, Z, self._st))

    def _points(self, x: ArrayLike) -> FloatArray:
        X = as_float_array("x", x)
        if X.ndim == 1:
            X = X[None, :]
        if X.ndim != 2 or X.shape[1] != self.dim:
            raise ValueError(f"x must have shape (N, {self.dim}) or ({self.dim},), got {X.shape}")
        return np.ascontiguousarray(X)

    def log_prob(self, x: ArrayLike) -> FloatArray:
        """log p(x) = −½‖D^{-1/2}LᵀPᵀ(x − μ)‖² − ½ log|Σ| − n/2 log 2π."""
        X = self._points(x)
        Z = _core.gmrf_whiten(self._mean, 1.0, self._b, self._d, X, self._st)
        const = -0.5 * self.dim * math.log(2 * math.pi) - 0.5 * self.log_det_cov()
        return np.asarray(-0.5 * np.einsum("ij,ij->i", Z, Z) + const)

    def sufficient_stats(self, x: ArrayLike) -> FloatArray:
        """T(x) = (x_i; x_i²; 2 x_i x_j on the edges), shape (N, 2n + |E|)."""
        X = self._points(x)
        e = self._graph.edges
        return np.concatenate([X, X**2, 2 * X[:, e[:, 0]] * X[:, e[:, 1]]], axis=1)


# ---------------------------------------------------------------------- helpers
def _precision_pattern(
    precision: Any, graph: graphs.Graph, el: graphs.Elimination
) -> tuple[FloatArray, FloatArray]:
    """K on the pattern (diag by position, off by slot) from a dense or scipy.sparse matrix."""
    n = graph.n
    from scipy import sparse

    if sparse.issparse(precision):
        K = sparse.coo_matrix(precision)
        if K.shape != (n, n):
            raise ValueError(f"precision must have shape ({n}, {n}), got {K.shape}")
        data = np.asarray(K.data, dtype=np.float64)
        if not np.all(np.isfinite(data)):
            raise ValueError("precision must be finite, got NaN or Inf entries")
        rows, cols = K.row.astype(np.int64), K.col.astype(np.int64)
        keep = data != 0
        rows, cols, data = rows[keep], cols[keep], data[keep]
        dense_get = None
    else:
        Kd = as_float_array("precision", precision, shape=(n, n))
        off = Kd[~graph.mask()]
        if np.any(off != 0):
            i, j = np.argwhere((Kd != 0) & ~graph.mask())[0]
            raise ValueError(
                f"precision must be zero off the graph's edges, got precision[{i}, {j}] = "
                f"{float(Kd[i, j])!r} where ({i}, {j}) is not an edge"
            )
        dense_get = Kd
    e = graph.edges
    if dense_get is None:
        key = np.minimum(rows, cols) * n + np.maximum(rows, cols)
        edge_key = e[:, 0] * n + e[:, 1]
        offd = rows != cols
        pos = np.searchsorted(edge_key, key[offd])
        ok = (pos < len(edge_key)) & (edge_key[np.minimum(pos, len(edge_key) - 1)] == key[offd])
        if not np.all(ok):
            k = int(np.flatnonzero(~ok)[0])
            r, c = int(rows[offd][k]), int(cols[offd][k])
            raise ValueError(
                f"precision must be zero off the graph's edges, got precision[{r}, {c}] = "
                f"{float(data[offd][k])!r} where ({r}, {c}) is not an edge"
            )
        diag = np.zeros(n)
        np.add.at(diag, rows[~offd], data[~offd])
        upper = np.zeros(len(e))
        lower = np.zeros(len(e))
        is_upper = rows[offd] < cols[offd]
        np.add.at(upper, pos[is_upper], data[offd][is_upper])
        np.add.at(lower, pos[~is_upper], data[offd][~is_upper])
    else:
        diag = np.diag(dense_get).copy()
        upper = dense_get[e[:, 0], e[:, 1]]
        lower = dense_get[e[:, 1], e[:, 0]]
    scale = max(float(np.abs(diag).max()), float(np.abs(upper).max(initial=0.0)), 1e-300)
    if np.any(np.abs(upper - lower) > 1e-10 * scale):
        k = int(np.argmax(np.abs(upper - lower)))
        i, j = e[k]
        raise ValueError(
            f"precision must be symmetric, got precision[{i}, {j}] = {float(upper[k])!r} but "
            f"precision[{j}, {i}] = {float(lower[k])!r}"
        )
    ko = np.empty(len(e))
    ko[el.edge_slot] = 0.5 * (upper + lower)
    return diag[el.perm], ko


def _solve(
    b: FloatArray, d: FloatArray, el: graphs.Elimination, st: Any, h: FloatArray
) -> FloatArray:
    """μ = K⁻¹h = P L⁻ᵀ D L⁻¹ Pᵀ h (vertex order), compiled (``_core.gmrf_solve``)."""
    y = _core.gmrf_solve(b, d, np.ascontiguousarray(h[el.perm], dtype=np.float64), st)
    out = np.empty(d.size)
    out[el.perm] = y
    return out
