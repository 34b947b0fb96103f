"""Undirected graphs on n variables: the sparsity patterns of Gaussian Markov random fields.

A :class:`Graph` on vertices 0 … n−1 names the pairs (i, j) whose entry of the precision
K = Σ⁻¹ may be non-zero; every other off-diagonal entry of K is zero, i.e. X_i and X_j are
conditionally independent given the rest. Edges are stored once, as pairs i < j in row-major
order of the upper triangle (sorted by i, then j): natgrad's packing order for the statistics
x_i x_j of :class:`natgrad.GaussianMRF`.

The models need a *chordal* graph (every cycle of length ≥ 4 has a chord), for which the
maximum-entropy completion and the sparse Cholesky factor of K are closed-form and have no fill.
:func:`chordal_embedding` adds the fill edges of an elimination order to any graph; a band and a
tree are chordal already, a grid is not.

Build graphs with :func:`band`, :func:`grid`, :func:`from_edges` or :class:`Graph` itself.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validation import as_int

__all__ = ["Elimination", "Graph", "band", "chordal_embedding", "from_edges", "grid"]

IntArray = NDArray[np.int64]


def _readonly(a: Any) -> IntArray:
    out = np.ascontiguousarray(a, dtype=np.int64)
    out.setflags(write=False)
    return out


class Elimination(NamedTuple):
    """A perfect elimination order of a chordal graph and the index tables the kernels use.

    Vertices are visited in *positions* p = 0 … n−1 (vertex ``perm[p]``). The higher neighbours
    C_p of position p (positions q > p joined to p) form a clique; they are
    ``rows[colptr[p]:colptr[p+1]]`` in increasing order, and the pattern slot of the pair (p, q)
    is its index in ``rows`` (the column-by-column storage of the lower triangle of K in
    position order). ``pairs[pair_ptr[p]:pair_ptr[p+1]]`` are the slots of the pairs a < b of
    C_p, row by row, so that S restricted to C_p × C_p can be gathered without a search.
    ``edge_slot[e]`` is the slot of the graph's edge e.
    """

    perm: IntArray
    colptr: IntArray
    rows: IntArray
    pair_ptr: IntArray
    pairs: IntArray
    edge_slot: IntArray

    def clique(self, p: int, s_diag: Any, s_off: Any) -> tuple[IntArray, Any]:
        """(C_p, S restricted to C_p × C_p) for pattern values (diagonal by position, by slot)."""
        lo, hi = self.colptr[p], self.colptr[p + 1]
        c = self.rows[lo:hi]
        block = np.diag(s_diag[c])
        iu = np.triu_indices(hi - lo, 1)
        vals = s_off[self.pairs[self.pair_ptr[p] : self.pair_ptr[p + 1]]]
        block[iu] = vals
        block[(iu[1], iu[0])] = vals
        return c, block


class Graph:
    """An undirected simple graph on vertices 0 … n−1 (immutable).

    Parameters
    ----------
    n : int
        Number of vertices (≥ 1).
    edges : array_like of shape (m, 2), optional
        Pairs of distinct vertices in range; each unordered pair may appear once, in either
        orientation. Stored as i < j in row-major order.

    Raises
    ------
    ValueError
        If ``n`` < 1, an edge is a self-loop, names a vertex outside 0 … n−1, or is repeated
        (as (i, j) twice or as (i, j) and (j, i)), or ``edges`` is not an (m, 2) integer array.
    """

    __slots__ = ("__dict__", "_edges", "_n")

    def __init__(self, n: int, edges: ArrayLike = ()) -> None:
        self._n = as_int("n", n, minimum=1)
        self._edges = _check_edges(self._n, edges)

    # ------------------------------------------------------------------ basic facts
    @property
    def n(self) -> int:
        """Number of vertices."""
        return self._n

    @property
    def edges(self) -> IntArray:
        """(m, 2) read-only int64 array of the edges i < j, sorted row-major."""
        return self._edges

    @property
    def num_edges(self) -> int:
        """Number of edges m."""
        return int(self._edges.shape[0])

    @cached_property
    def bandwidth(self) -> int:
        """max |i − j| over the edges (0 for a graph without edges)."""
        if self.num_edges == 0:
            return 0
        return int((self._edges[:, 1] - self._edges[:, 0]).max())

    @cached_property
    def degrees(self) -> IntArray:
        """Number of neighbours of every vertex."""
        return _readonly(np.bincount(self._edges.ravel(), minlength=self._n))

    def neighbours(self, i: int) -> IntArray:
        """The neighbours of vertex ``i`` in increasing order."""
        i = as_int("i", i, minimum=0)
        if i >= self._n:
            raise ValueError(f"i must be a vertex 0 … {self._n - 1}, got {i}")
        e = self._edges
        return _readonly(np.sort(np.concatenate([e[e[:, 0] == i, 1], e[e[:, 1] == i, 0]])))

    def adjacency(self) -> Any:
        """The symmetric 0/1 adjacency matrix as a ``scipy.sparse`` CSR matrix."""
        from scipy import sparse

        e = self._edges
        data = np.ones(2 * len(e))
        rows = np.concatenate([e[:, 0], e[:, 1]])
        cols = np.concatenate([e[:, 1], e[:, 0]])
        return sparse.csr_matrix((data, (rows, cols)), shape=(self._n, self._n))

    def mask(self) -> NDArray[np.bool_]:
        """Dense n × n boolean pattern: True on the diagonal and on the edges (small n only)."""
        m = np.eye(self._n, dtype=bool)
        m[self._edges[:, 0], self._edges[:, 1]] = True
        m[self._edges[:, 1], self._edges[:, 0]] = True
        return m

    @cached_property
    def is_chordal(self) -> bool:
        """True when every cycle of length ≥ 4 has a chord (a perfect elimination order exists)."""
        return _perfect_elimination(self) is not None

    def elimination(self) -> Elimination:
        """The perfect elimination order and index tables of a chordal graph (cached).

        The natural order 0 … n−1 is used when it is a perfect elimination order (bands, and
        graphs from :func:`chordal_embedding`); otherwise the reverse of a maximum cardinality
        search (Tarjan & Yannakakis, SIAM J. Comput. 13, 1984).

        Raises
        ------
        ValueError
            If the graph is not chordal (use :func:`chordal_embedding` first).
        """
        result = self.__dict__.get("_elimination")
        if result is None:
            perm = _perfect_elimination(self)
            if perm is None:
                raise ValueError(
                    f"graph must be chordal for this model, got a non-chordal {self!r}: pass "
                    "natgrad.graphs.chordal_embedding(graph) (it adds the fill edges)"
                )
            result = _tables(self, perm)
            self.__dict__["_elimination"] = result
        return result

    def compiled(self) -> Any:
        """The elimination tables as the compiled core's ``GMRFStructure`` (built once, cached)."""
        result = self.__dict__.get("_compiled")
        if result is None:
            from . import _core

            el = self.elimination()
            result = _core.GMRFStructure(
                perm=el.perm, colptr=el.colptr, rows=el.rows, pair_ptr=el.pair_ptr, pairs=el.pairs
            )
            self.__dict__["_compiled"] = result
        return result

    # ------------------------------------------------------------------ value semantics
    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Graph)
            and self._n == other._n
            and np.array_equal(self._edges, other._edges)
        )

    def __hash__(self) -> int:
        return hash((self._n, self._edges.tobytes()))

    def __repr__(self) -> str:
        if self.num_edges and self == band(self._n, self.bandwidth):
            return f"graphs.band({self._n}, {self.bandwidth})"
        return f"Graph(n={self._n}, num_edges={self.num_edges})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Graph, (self._n, self._edges.copy()))

    def as_dict(self) -> dict[str, Any]:
        """``{"n": n, "edges": [[i, j], ...]}`` (JSON-ready); ``Graph(**d)`` rebuilds it."""
        return {"n": self._n, "edges": self._edges.tolist()}


def _check_edges(n: int, edges: ArrayLike) -> IntArray:
    raw = np.asarray(edges)
    if raw.size == 0:
        return _readonly(np.zeros((0, 2), dtype=np.int64))
    if raw.ndim != 2 or raw.shape[1] != 2:
        raise ValueError(f"edges must be an (m, 2) array of vertex pairs, got shape {raw.shape}")
    if raw.dtype.kind not in "iu":
        if raw.dtype.kind == "f" and np.all(np.isfinite(raw)) and np.all(raw == np.round(raw)):
            raw = raw.astype(np.int64)
        else:
            raise ValueError(f"edges must hold integer vertex indices, got dtype {raw.dtype}")
    e = raw.astype(np.int64)
    bad = (e < 0) | (e >= n)
    if bad.any():
        k = int(np.argwhere(bad.any(axis=1))[0, 0])
        raise ValueError(f"edges must name vertices 0 … {n - 1}, got edge {k} = {e[k].tolist()}")
    loops = e[:, 0] == e[:, 1]
    if loops.any():
        k = int(np.argmax(loops))
        raise ValueError(f"edges must not contain self-loops, got edge {k} = {e[k].tolist()}")
    e = np.sort(e, axis=1)
    key = e[:, 0] * n + e[:, 1]
    order = np.argsort(key, kind="stable")
    key_sorted = key[order]
    dup = np.flatnonzero(key_sorted[1:] == key_sorted[:-1])
    if dup.size:
        k = int(order[dup[0] + 1])
        raise ValueError(
            f"edges must list each pair once, got {e[k].tolist()} twice (edge {k}; (i, j) and "
            "(j, i) are the same pair)"
        )
    return _readonly(e[order])


def band(n: int, w: int) -> Graph:
    """The band graph: i ~ j when 0 < |i − j| ≤ ``w`` (``w`` = 0: no edges, the diagonal model).

    A band is chordal with the natural order as perfect elimination order; its cliques are the
    windows {i, …, i + w}.
    """
    n = as_int("n", n, minimum=1)
    w = as_int("w", w, minimum=0)
    if n > 1 and w > n - 1:
        raise ValueError(f"w must be at most n - 1 = {n - 1} for n = {n}, got {w}")
    i, j = [], []
    for d in range(1, min(w, n - 1) + 1):
        i.append(np.arange(n - d))
        j.append(np.arange(d, n))
    if not i:
        return Graph(n)
    e = np.stack([np.concatenate(i), np.concatenate(j)], axis=1)
    return Graph(n, e)


def grid(rows: int, cols: int) -> Graph:
    """The 4-neighbour grid: vertex r·cols + c joined to its right and lower neighbours.

    Not chordal for rows, cols ≥ 2 (its 4-cycles have no chords): use :func:`chordal_embedding`.
    """
    rows = as_int("rows", rows, minimum=1)
    cols = as_int("cols", cols, minimum=1)
    idx = np.arange(rows * cols).reshape(rows, cols)
    right = np.stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()], axis=1)
    down = np.stack([idx[:-1, :].ravel(), idx[1:, :].ravel()], axis=1)
    return Graph(rows * cols, np.concatenate([right, down]))


def from_edges(n: int, edges: ArrayLike) -> Graph:
    """The graph on ``n`` vertices with the given (m, 2) ``edges`` (validated as in :class:`Graph`)."""
    return Graph(n, edges)


def chordal_embedding(graph: Graph, order: str = "min-degree") -> Graph:
    """A chordal graph containing ``graph``: its edges plus the fill of an elimination.

    Eliminating a vertex joins all its not-yet-eliminated neighbours; the edges added this way
    (the fill of the Cholesky factor in that order) make the graph chordal. ``order`` is
    ``"min-degree"`` (greedy: next the vertex of fewest remaining neighbours, ties by index; much
    less fill on grids) or ``"natural"`` (0, 1, …, n−1: a grid of c columns becomes a subgraph of
    the band of width c). A chordal ``graph`` comes back unchanged, as the same object.
    """
    if not isinstance(graph, Graph):
        raise ValueError(f"graph must be a natgrad.graphs.Graph, got {type(graph).__name__}")
    if order not in ("min-degree", "natural"):
        raise ValueError(f"order must be 'min-degree' or 'natural', got {order!r}")
    if graph.is_chordal:
        return graph
    n = graph.n
    adj: list[set[int]] = [set() for _ in range(n)]
    for i, j in graph.edges.tolist():
        adj[i].add(j)
        adj[j].add(i)
    eliminated = np.zeros(n, dtype=bool)
    fill: list[tuple[int, int]] = []
    if order == "natural":
        sequence: Any = range(n)
    else:
        sequence = None
    import heapq

    heap = [(len(adj[v]), v) for v in range(n)]
    heapq.heapify(heap)
    for step in range(n):
        if sequence is not None:
            v = step
        else:
            while True:
                deg, v = heapq.heappop(heap)
                if not eliminated[v] and deg == len(adj[v]):
                    break
        nbrs = sorted(adj[v])
        for a_i, a in enumerate(nbrs):
            for b in nbrs[a_i + 1 :]:
                if b not in adj[a]:
                    adj[a].add(b)
                    adj[b].add(a)
                    fill.append((a, b))
        for a in nbrs:
            adj[a].discard(v)
            if sequence is None:
                heapq.heappush(heap, (len(adj[a]), a))
        eliminated[v] = True
    if not fill:
        return graph
    return Graph(n, np.concatenate([graph.edges, np.asarray(fill, dtype=np.int64)]))


# ---------------------------------------------------------------------- elimination orders
def _is_peo(n: int, higher: list[list[int]], pos_adj: list[set[int]]) -> bool:
    for p in range(n):
        c = higher[p]
        if len(c) > 1:
            first = c[0]  # the remaining higher neighbours must all be adjacent to the lowest
            need = c[1:]
            if any(q not in pos_adj[first] for q in need):
                return False
    return True


def _perfect_elimination(graph: Graph) -> IntArray | None:
    """A perfect elimination order (position -> vertex), or None when the graph is not chordal."""
    n = graph.n
    e = graph.edges
    if graph.num_edges == 0:
        return _readonly(np.arange(n))
    # Natural order first: vectorised check for bands, general check otherwise.
    w = graph.bandwidth
    if w > 0 and graph.num_edges == n * w - w * (w + 1) // 2:
        return _readonly(np.arange(n))  # a full band: each window {i, …, i+w} is a clique
    adj: list[set[int]] = [set() for _ in range(n)]
    for i, j in e.tolist():
        adj[i].add(j)
        adj[j].add(i)
    higher = [sorted(q for q in adj[p] if q > p) for p in range(n)]
    if _is_peo(n, higher, adj):
        return _readonly(np.arange(n))
    # Maximum cardinality search; its reverse visit order is a perfect elimination order of a
    # chordal graph (Tarjan & Yannakakis 1984).
    weight = [0] * n
    visited = [False] * n
    buckets: list[set[int]] = [set(range(n))]
    best = 0
    visit: list[int] = []
    for _ in range(n):
        while best >= 0 and not buckets[best]:
            best -= 1
        v = min(buckets[best])
        buckets[best].discard(v)
        visited[v] = True
        visit.append(v)
        for u in adj[v]:
            if not visited[u]:
                buckets[weight[u]].discard(u)
                weight[u] += 1
                if weight[u] == len(buckets):
                    buckets.append(set())
                buckets[weight[u]].add(u)
                best = max(best, weight[u])
    perm = visit[::-1]
    pos = np.empty(n, dtype=np.int64)
    pos[perm] = np.arange(n)
    pos_adj = [set(int(pos[u]) for u in adj[perm[p]]) for p in range(n)]
    higher = [sorted(q for q in pos_adj[p] if q > p) for p in range(n)]
    if not _is_peo(n, higher, pos_adj):
        return None
    return _readonly(np.asarray(perm, dtype=np.int64))


def _tables(graph: Graph, perm: IntArray) -> Elimination:
    n = graph.n
    pos = np.empty(n, dtype=np.int64)
    pos[perm] = np.arange(n)
    e = graph.edges
    lo = np.minimum(pos[e[:, 0]], pos[e[:, 1]])
    hi = np.maximum(pos[e[:, 0]], pos[e[:, 1]])
    key = lo * n + hi
    order = np.argsort(key, kind="stable")
    rows = hi[order]
    colptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(lo, minlength=n), out=colptr[1:])
    edge_slot = np.empty(len(e), dtype=np.int64)
    edge_slot[order] = np.arange(len(e))
    key_sorted = key[order]
    sizes = np.diff(colptr)
    npairs = sizes * (sizes - 1) // 2
    pair_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(npairs, out=pair_ptr[1:])
    pairs = np.empty(int(pair_ptr[-1]), dtype=np.int64)
    for c in np.unique(sizes[sizes > 1]):
        cols = np.flatnonzero(sizes == c)
        a_idx, b_idx = np.triu_indices(int(c), 1)
        base = colptr[cols][:, None]
        qa = rows[base + a_idx[None, :]]
        qb = rows[base + b_idx[None, :]]
        slots = np.searchsorted(key_sorted, qa * n + qb)
        if np.any(slots >= len(key_sorted)) or np.any(
            key_sorted[np.minimum(slots, len(key_sorted) - 1)] != qa * n + qb
        ):
            raise AssertionError("not a perfect elimination order")  # pragma: no cover
        out = pair_ptr[cols][:, None] + np.arange(a_idx.size)[None, :]
        pairs[out] = slots
    return Elimination(
        perm=_readonly(perm),
        colptr=_readonly(colptr),
        rows=_readonly(rows),
        pair_ptr=_readonly(pair_ptr),
        pairs=_readonly(pairs),
        edge_slot=_readonly(edge_slot),
    )
