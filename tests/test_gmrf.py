"""Gaussian Markov random fields: graphs, the maximum-entropy completion, the compiled kernels
against their twins and independent routes (dense inverse, iterative proportional fitting,
Monte Carlo, the full Gaussian's Isserlis Fisher), and the "gmrf" strategy."""

from __future__ import annotations

import numpy as np
import pytest

import natgrad as ng
from natgrad import _core, graphs
from natgrad.optim import GMRF, IGOCMA
from natgrad.optim.gmrf import GMRFState
from natgrad.reference import gmrf as ref

GRAPHS = {
    "band1": graphs.band(7, 1),
    "band3": graphs.band(9, 3),
    "star": graphs.from_edges(6, [[0, 1], [0, 2], [0, 3], [0, 4], [0, 5]]),  # not natural PEO
    "tree": graphs.from_edges(7, [[3, 0], [3, 1], [1, 4], [4, 5], [2, 6], [6, 3]]),
    "grid": graphs.chordal_embedding(graphs.grid(3, 4)),
    "grid-natural": graphs.chordal_embedding(graphs.grid(3, 3), order="natural"),
    "empty": graphs.Graph(5),
}


def structure(graph):
    return graph.elimination(), graph.compiled()


def pattern_of(C, el):
    """(diag by position, off by slot) of a dense covariance C (vertex order)."""
    Cp = C[np.ix_(el.perm, el.perm)]
    cols = np.repeat(np.arange(len(el.perm)), np.diff(el.colptr))
    return np.diag(Cp).copy(), Cp[cols, el.rows].copy()


def random_cov(rng, n):
    A = rng.standard_normal((n, n))
    return A @ A.T / n + 0.5 * np.eye(n)


# ------------------------------------------------------------------ graphs
def test_band_grid_and_edge_counts():
    assert graphs.band(10, 2).num_edges == 9 + 8
    assert graphs.band(1, 0).num_edges == 0
    g = graphs.grid(3, 4)
    assert g.n == 12 and g.num_edges == 3 * 3 + 2 * 4
    assert graphs.band(10, 2).is_chordal and not g.is_chordal
    assert GRAPHS["star"].is_chordal and GRAPHS["tree"].is_chordal
    e = graphs.band(5, 2).edges
    assert e.tolist() == sorted(e.tolist())  # row-major upper triangle
    assert np.all(e[:, 0] < e[:, 1])


@pytest.mark.parametrize(
    ("edges", "match"),
    [
        ([[0, 0]], "self-loops"),
        ([[0, 5]], "vertices 0"),
        ([[-1, 2]], "vertices 0"),
        ([[0, 1], [1, 0]], "each pair once"),
        ([[0, 1, 2]], r"\(m, 2\)"),
        ([[0.5, 1]], "integer"),
        ([["a", "b"]], "integer"),
    ],
)
def test_graph_refuses_bad_edges(edges, match):
    with pytest.raises(ValueError, match=match):
        graphs.from_edges(5, edges)


def test_graph_refuses_bad_sizes():
    with pytest.raises(ValueError, match="n"):
        graphs.Graph(0)
    with pytest.raises(ValueError, match="w must be at most"):
        graphs.band(4, 4)
    with pytest.raises(ValueError, match="rows"):
        graphs.grid(0, 3)
    with pytest.raises(ValueError, match="order"):
        graphs.chordal_embedding(graphs.grid(2, 2), order="random")
    with pytest.raises(ValueError, match="chordal"):
        graphs.grid(3, 3).elimination()


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_elimination_is_perfect(name):
    """Independent check of the tables: every higher-neighbour set is a clique of the graph, and
    every pair slot names exactly that pair."""
    graph = GRAPHS[name]
    el = graph.elimination()
    mask = graph.mask()
    perm = el.perm
    assert sorted(perm.tolist()) == list(range(graph.n))
    slot_pair = {}
    for p in range(graph.n):
        c = el.rows[el.colptr[p] : el.colptr[p + 1]]
        assert np.all(c > p)
        verts = perm[c]
        assert mask[np.ix_(verts, verts)].all()
        assert mask[perm[p], verts].all()
        for s, q in zip(range(el.colptr[p], el.colptr[p + 1]), c, strict=True):
            slot_pair[s] = (p, int(q))
    # every edge appears once, with its slot
    for e, (i, j) in enumerate(graph.edges.tolist()):
        p, q = slot_pair[int(el.edge_slot[e])]
        assert {int(perm[p]), int(perm[q])} == {i, j}


def test_chordal_embedding_contains_the_graph_and_is_chordal():
    g = graphs.grid(4, 5)
    for order in ("min-degree", "natural"):
        h = graphs.chordal_embedding(g, order=order)
        assert h.is_chordal
        assert (h.mask() | ~g.mask()).all()  # every edge of g is an edge of h
    # min-degree fills less than the natural order (band-like fill) on a grid
    assert (
        graphs.chordal_embedding(g).num_edges
        <= graphs.chordal_embedding(g, order="natural").num_edges
    )
    band = graphs.band(8, 2)
    assert graphs.chordal_embedding(band) is band


def test_graph_pickles_and_round_trips_as_dict():
    import pickle

    g = GRAPHS["tree"]
    assert pickle.loads(pickle.dumps(g)) == g
    assert graphs.Graph(**g.as_dict()) == g
    assert repr(graphs.band(6, 2)) == "graphs.band(6, 2)"


def test_structure_refuses_inconsistent_tables():
    el = graphs.band(5, 2).elimination()
    good = dict(perm=el.perm, colptr=el.colptr, rows=el.rows, pair_ptr=el.pair_ptr, pairs=el.pairs)
    _core.GMRFStructure(**good)
    bad_perm = el.perm.copy()
    bad_perm[0] = 1
    bad_rows = el.rows.copy()
    bad_rows[0] = 0
    bad_pairs = el.pairs.copy()
    bad_pairs[0] = 0
    for key, value, match in [
        ("perm", bad_perm, "permutation"),
        ("rows", bad_rows, "rows"),
        ("pairs", bad_pairs, "pairs"),
        ("colptr", el.colptr[:-1], "colptr"),
    ]:
        with pytest.raises(ValueError, match=match):
            _core.GMRFStructure(**{**good, key: value})


# ------------------------------------------------------------------ completion
@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_completion_zeros_off_the_graph_and_matches_moments(rng, name):
    graph = GRAPHS[name]
    el, st = structure(graph)
    C = random_cov(rng, graph.n)
    sd, so = pattern_of(C, el)
    b, d = _core.gmrf_complete(sd, so, st)
    b_ref, d_ref = ref.complete(sd, so, el)
    np.testing.assert_allclose(b, b_ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(d, d_ref, rtol=1e-12)
    K = ref.precision(b, d, el)
    assert np.all(K[~graph.mask()] == 0.0)  # exact zeros off E
    Sigma = np.linalg.inv(K)
    m = graph.mask()
    np.testing.assert_allclose(Sigma[m], C[m], rtol=1e-12, atol=1e-13 * np.abs(C).max())


def ipf_completion(C, graph, sweeps=3000):
    """Dense iterative proportional fitting over the edges and vertices (Speed & Kiiveri 1986):
    converges to the maximum-entropy completion for any pattern, chordal or not."""
    n = graph.n
    K = np.diag(1 / np.diag(C))
    cliques = [[i] for i in range(n)] + [list(e) for e in graph.edges.tolist()]
    for _ in range(sweeps):
        for c in cliques:
            S = np.linalg.inv(K)
            K[np.ix_(c, c)] += np.linalg.inv(C[np.ix_(c, c)]) - np.linalg.inv(S[np.ix_(c, c)])
        if np.abs(np.linalg.inv(K)[graph.mask()] - C[graph.mask()]).max() < 1e-14:
            break
    return K


@pytest.mark.parametrize("name", ["grid", "tree", "band3"])
def test_completion_equals_dense_iterative_completion(rng, name):
    """Non-chordal graphs go through their chordal embedding; the closed form then equals the
    maximum-entropy completion found by iterative proportional fitting on the same pattern."""
    graph = GRAPHS[name]
    el, st = structure(graph)
    C = random_cov(rng, graph.n)
    b, d = _core.gmrf_complete(*pattern_of(C, el), st)
    K_ipf = ipf_completion(C, graph)
    np.testing.assert_allclose(ref.precision(b, d, el), K_ipf, rtol=1e-9, atol=1e-10)


def test_completion_refuses_moments_that_are_not_positive_definite():
    graph = graphs.band(4, 1)
    el, st = structure(graph)
    sd = np.ones(4)
    so = np.array([0.5, 1.5, 0.5])  # |corr| > 1 on the edge (1, 2)
    with pytest.raises(ValueError, match="not positive definite on the clique of vertex 1"):
        _core.gmrf_complete(sd, so, st)
    with pytest.raises(ValueError, match="s_off"):
        _core.gmrf_complete(sd, so[:2], st)
    with pytest.raises(ValueError, match="s_diag"):
        _core.gmrf_complete(np.array([1.0, np.nan, 1.0, 1.0]), so, st)


# ------------------------------------------------------------------ sampling
@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_sample_equals_twin_and_whiten_inverts_it(rng, name):
    graph = GRAPHS[name]
    el, st = structure(graph)
    b, d = _core.gmrf_complete(*pattern_of(random_cov(rng, graph.n), el), st)
    mean = rng.standard_normal(graph.n)
    Z = rng.standard_normal((19, graph.n))  # 19: two full blocks of 8 and a partial one
    X = _core.gmrf_sample(mean, 0.7, b, d, Z, st)
    np.testing.assert_allclose(X, ref.sample(mean, 0.7, b, d, Z, el), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(_core.gmrf_whiten(mean, 0.7, b, d, X, st), Z, atol=1e-12)


def test_sample_covariance_within_five_standard_errors(rng):
    graph = GRAPHS["tree"]
    el, st = structure(graph)
    C = random_cov(rng, graph.n)
    b, d = _core.gmrf_complete(*pattern_of(C, el), st)
    Sigma = np.linalg.inv(ref.precision(b, d, el))
    N = 200_000
    X = _core.gmrf_sample(np.zeros(graph.n), 1.0, b, d, rng.standard_normal((N, graph.n)), st)
    emp = X.T @ X / N
    se = np.sqrt((Sigma**2 + np.outer(np.diag(Sigma), np.diag(Sigma))) / N)
    assert np.all(np.abs(emp - Sigma) < 5 * se)


def test_precision_diagonal_equals_dense(rng):
    graph = GRAPHS["grid"]
    el, st = structure(graph)
    b, d = _core.gmrf_complete(*pattern_of(random_cov(rng, graph.n), el), st)
    K = ref.precision(b, d, el)
    np.testing.assert_allclose(
        _core.gmrf_precision_diagonal(b, d, st), np.diag(K)[el.perm], rtol=1e-13
    )


# ------------------------------------------------------------------ the η-step is the natural gradient
def test_moment_step_is_the_natural_gradient_of_the_sub_model(rng):
    """θ(η + εg) − θ(η) = ε I_SS⁻¹ g + O(ε²), with I_SS the principal sub-matrix of the full
    Gaussian's Fisher in θ (Isserlis), on the sub-model's free packed coordinates."""
    n = 6
    graph = graphs.band(n, 1)
    el, st = structure(graph)
    mean = rng.standard_normal(n)
    C = random_cov(rng, n)
    iu, ju = np.triu_indices(n, 1)
    pair_index = {(int(i), int(j)): k for k, (i, j) in enumerate(zip(iu, ju, strict=True))}
    free = list(range(2 * n)) + [2 * n + pair_index[tuple(e)] for e in graph.edges.tolist()]

    def theta_of_eta(eta):
        m = eta[:n]
        sd = eta[n : 2 * n] - m**2
        so_edges = eta[2 * n :] / 2 - m[graph.edges[:, 0]] * m[graph.edges[:, 1]]
        so = np.empty(graph.num_edges)
        so[el.edge_slot] = so_edges
        b, d = _core.gmrf_complete(sd, so, st)
        K = ref.precision(b, d, el)
        theta_full = ng.packing.pack(K @ m, -0.5 * K)
        return theta_full[free]

    S = np.linalg.inv(ref.precision(*_core.gmrf_complete(*pattern_of(C, el), st), el))
    eta_full = ng.Gaussian(mean, S).expectation()
    eta = eta_full[free]
    g = rng.standard_normal(eta.size)
    eps = 1e-6
    fd = (theta_of_eta(eta + eps * g) - theta_of_eta(eta - eps * g)) / (2 * eps)
    I_ss = ng.Gaussian(mean, S).fisher("natural", free=free)
    np.testing.assert_allclose(fd, np.linalg.solve(I_ss, g), rtol=1e-6, atol=1e-8)
    # and it is not the full model's shortcut: the SS block of I_η differs from I_SS⁻¹
    I_eta_ss = ng.Gaussian(mean, S).fisher("expectation")[np.ix_(free, free)]
    assert not np.allclose(I_eta_ss, np.linalg.inv(I_ss), rtol=1e-3)


# ------------------------------------------------------------------ the strategy
def advance(strategy, state, rng, generations, f):
    lam = strategy.default_popsize(state.mean.size)
    for _ in range(generations):
        Z = rng.standard_normal((lam, state.mean.size))
        X = strategy.sample(state, Z)
        state = strategy.update(state, Z, X, f(X))
    return state


@pytest.mark.parametrize("name", ["band1", "star", "grid"])
def test_update_equals_twin(rng, name):
    graph = GRAPHS[name]
    strategy = GMRF(graph=graph)
    n = graph.n

    def f(X):
        return np.sum((X - 1.0) ** 2 * np.arange(1, n + 1), axis=1)

    state = advance(strategy, strategy.initial_state(rng.standard_normal(n), 0.8), rng, 7, f)
    lam = strategy.default_popsize(n)
    el = strategy.model_graph(n).elimination()
    params = strategy.parameters(n, lam)
    for _ in range(5):
        Z = rng.standard_normal((lam, n))
        X = strategy.sample(state, Z)
        v = f(X)
        new = strategy.update(state, Z, X, v)
        want = ref.gmrf_update(
            state.mean,
            state.sigma,
            state.s_diag,
            state.s_off,
            state.p_sigma,
            state.p_c,
            Z,
            X,
            v,
            state.generation,
            params,
            el,
        )
        for got, expect in zip(new[:8], want[:8], strict=True):
            np.testing.assert_allclose(got, expect, rtol=1e-12, atol=1e-15)
        state = new


def test_strategy_with_an_int_graph_is_a_band_and_checks_the_dimension():
    s = GMRF(graph=2)
    assert s.model_graph(6) == graphs.band(6, 2)
    assert s.model_graph(2) == graphs.band(2, 1)  # clipped to n - 1
    with pytest.raises(ValueError, match="graph has n = 5 vertices but x0 has 4"):
        GMRF(graph=graphs.band(5, 1)).initial_state(np.zeros(4), 1.0)
    with pytest.raises(ValueError, match="graph must be"):
        GMRF(graph="band")
    with pytest.raises(ValueError, match="rate_scale"):
        GMRF(rate_scale=0.0)
    grid = graphs.grid(3, 3)
    assert GMRF(graph=grid).model_graph(9) == graphs.chordal_embedding(grid)


def test_state_with_a_wrong_pattern_length_is_refused():
    s = GMRF(graph=1)
    st = s.initial_state(np.zeros(5), 1.0)
    bad = st._replace(s_off=np.zeros(3))
    with pytest.raises(ValueError, match="state.s_off"):
        s.sample(bad, np.zeros((6, 5)))


def test_checkpoint_round_trip_with_a_graph_option(tmp_path):
    graph = graphs.grid(2, 3)

    def f(x):
        return float(np.sum(x**2))

    opt = ng.Optimizer(GMRF(graph=graph), np.ones(6), 0.5, seed=3)
    for _ in range(4):
        X = opt.ask()
        opt.tell(X, [f(x) for x in X])
    path = tmp_path / "gmrf.npz"
    opt.save(path)
    again = ng.Optimizer.load(path)
    assert again.strategy.graph == graph
    Xa, Xb = opt.ask(), again.ask()
    np.testing.assert_array_equal(Xa, Xb)


def banded_quadratic(n):
    """f = ½ xᵀ A x, A = S T S, T tridiagonal (1, −0.49), S = diag(10^(2i/(n−1)))."""
    T = np.eye(n) - 0.49 * (np.eye(n, k=1) + np.eye(n, k=-1))
    s = 10 ** (2 * np.arange(n) / (n - 1))
    A = s[:, None] * T * s[None, :]
    return lambda X: 0.5 * np.einsum("ki,ij,kj->k", X, A, X)


def test_band_model_solves_the_banded_quadratic():
    """The theorem of seed 003 as a test: f in the span of the band-1 sub-model's statistics, so
    the band-1 GMRF reaches 1e-8 (diag(A) spans 1 … 10⁴)."""
    n = 30
    f = banded_quadratic(n)
    for seed in range(3):
        res = ng.minimize(
            f,
            np.full(n, 3.0),
            1.0,
            method=GMRF(graph=graphs.band(n, 1)),
            seed=seed,
            vectorized=True,
            ftarget=1e-8,
            max_evals=40_000,
        )
        assert res.fun < 1e-8, res


def test_negative_control_dense_rotated_ellipsoid():
    """A dense rotated ellipsoid (cond 10⁴) is outside the band model: it either stops with an
    explicit reason or needs ≥ 10× igo-cma's evaluations — never a crash or a silent NaN."""
    n = 10
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    A = Q @ np.diag(10 ** (4 * np.arange(n) / (n - 1))) @ Q.T

    def f(X):
        return 0.5 * np.einsum("ki,ij,kj->k", X, A, X)

    kw = dict(vectorized=True, ftarget=1e-8, seed=1)
    full = ng.minimize(f, np.full(n, 3.0), 1.0, method=IGOCMA(), max_evals=50_000, **kw)
    assert full.fun < 1e-8
    band = ng.minimize(f, np.full(n, 3.0), 1.0, method=GMRF(graph=1), max_evals=60_000, **kw)
    assert np.isfinite(band.fun) and np.all(np.isfinite(band.x))
    if band.fun < 1e-8:
        assert band.nfev >= 10 * full.nfev
    else:
        assert band.stop_reason in {
            "max_evals",
            "invalid_state",
            "condition",
            "tolx",
            "tolfun",
            "stagnation",
        }


def test_initial_state_type():
    st = GMRF().initial_state(np.zeros(3), 1.0)
    assert isinstance(st, GMRFState)
    np.testing.assert_array_equal(st.s_diag, np.ones(3))
    np.testing.assert_array_equal(st.d, np.ones(3))


# ------------------------------------------------------------------ the family
def mrf_member(rng, graph, coupling=0.3):
    n = graph.n
    K = np.diag(1.0 + rng.random(n) + coupling * graph.degrees)
    for i, j in graph.edges.tolist():
        K[i, j] = K[j, i] = coupling * rng.uniform(-1, 1)
    return ng.GaussianMRF(rng.standard_normal(n), K, graph), K


@pytest.mark.parametrize("name", ["band3", "star", "tree", "grid"])
def test_family_coordinates_are_the_full_gaussians_restricted(rng, name):
    graph = GRAPHS[name]
    p, K = mrf_member(rng, graph)
    full = ng.Gaussian(p.mean, np.linalg.inv(K))
    free = p.free_indices()
    np.testing.assert_allclose(p.natural(), full.natural()[free], rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(p.expectation(), full.expectation()[free], rtol=1e-11, atol=1e-12)
    assert p.log_partition() == pytest.approx(full.log_partition(), rel=1e-12)
    assert p.neg_entropy() == pytest.approx(full.neg_entropy(), rel=1e-12)
    X = rng.standard_normal((5, graph.n))
    np.testing.assert_allclose(p.log_prob(X), full.log_prob(X), rtol=1e-12)
    np.testing.assert_allclose(p.precision().toarray(), K, rtol=1e-12, atol=1e-13)
    # round trips through both coordinate systems
    q = ng.GaussianMRF.from_natural(p.natural(), graph)
    np.testing.assert_allclose(q.mean, p.mean, rtol=1e-11, atol=1e-12)
    r = p.with_expectation(p.expectation())
    np.testing.assert_allclose(r.natural(), p.natural(), rtol=1e-10, atol=1e-11)


def test_family_sampling_moments_within_five_standard_errors(rng):
    p, K = mrf_member(rng, GRAPHS["grid"])
    N = 100_000
    T = p.sufficient_stats(p.sample(N, rng))
    se = T.std(axis=0) / np.sqrt(N)
    assert np.all(np.abs(T.mean(axis=0) - p.expectation()) < 5 * se)


def test_family_kl_hessian_is_the_fisher(rng):
    """∂²/∂θ² KL(p_θ0 ‖ p_θ) at θ0 equals I_SS, by central differences of kl()."""
    graph = GRAPHS["band1"]
    p, _ = mrf_member(rng, graph)
    theta = p.natural()
    F = p.fisher("natural")
    h = 1e-4
    m = theta.size
    for i, j in [(0, 0), (1, 8), (7, 9), (13, 13), (9, 15)]:
        ei, ej = np.eye(m)[i] * h, np.eye(m)[j] * h

        def kl(t):
            return p.kl(p.with_natural(t))

        hess = (
            kl(theta + ei + ej) - kl(theta + ei - ej) - kl(theta - ei + ej) + kl(theta - ei - ej)
        ) / (4 * h * h)
        assert hess == pytest.approx(F[i, j], rel=1e-4, abs=1e-6)
    np.testing.assert_allclose(F @ p.fisher("expectation"), np.eye(m), atol=1e-10)
    v = rng.standard_normal(m)
    np.testing.assert_allclose(p.fisher_product(v), F @ v, rtol=1e-11)


def test_family_accepts_sparse_and_refuses_bad_precisions(rng):
    from scipy import sparse

    graph = graphs.band(6, 1)
    p, K = mrf_member(rng, graph)
    q = ng.GaussianMRF(p.mean, sparse.csr_matrix(K), graph)
    np.testing.assert_allclose(q.natural(), p.natural(), rtol=1e-13)
    bad = K.copy()
    bad[0, 3] = bad[3, 0] = 0.1
    with pytest.raises(ValueError, match=r"precision\[0, 3\] = 0.1 where \(0, 3\) is not an edge"):
        ng.GaussianMRF(p.mean, bad, graph)
    with pytest.raises(ValueError, match="not an edge"):
        ng.GaussianMRF(p.mean, sparse.csr_matrix(bad), graph)
    asym = K.copy()
    asym[0, 1] += 0.5
    with pytest.raises(ValueError, match="symmetric"):
        ng.GaussianMRF(p.mean, asym, graph)
    with pytest.raises(ValueError, match="not positive definite"):
        ng.GaussianMRF(p.mean, -K, graph)
    with pytest.raises(ValueError, match="chordal"):
        ng.GaussianMRF(np.zeros(9), np.eye(9), graphs.grid(3, 3))
    with pytest.raises(ValueError, match="mean"):
        ng.GaussianMRF(np.zeros(5), K, graph)
    with pytest.raises(ValueError, match="graph must be"):
        ng.GaussianMRF(p.mean, K, "band")
    with pytest.raises(ValueError, match="eta"):
        ng.GaussianMRF.from_expectation(np.zeros(6 + 6 + 5), graph)  # zero second moments
    with pytest.raises(ValueError, match="other must be a GaussianMRF on the same graph"):
        p.kl(ng.GaussianMRF(p.mean, np.eye(6), graphs.band(6, 2)))


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_factor_and_solve_of_a_given_precision(rng, name):
    """The compiled no-fill LDLᵀ of K equals its twin and rebuilds K; the solve is K⁻¹h."""
    graph = GRAPHS[name]
    el, st = structure(graph)
    p, K = mrf_member(rng, graph)
    kd, ko = pattern_of(K, el)
    b, d = _core.gmrf_factor(kd, ko, st)
    want_b, want_d = ref.factor(kd, ko, el)
    np.testing.assert_allclose(b, want_b, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(d, want_d, rtol=1e-12)
    np.testing.assert_allclose(ref.precision(b, d, el), K, rtol=1e-12, atol=1e-14)  # dense route
    h = rng.standard_normal(graph.n)
    y = _core.gmrf_solve(b, d, h[el.perm].copy(), st)
    np.testing.assert_allclose(y, ref.solve(b, d, h[el.perm], el), rtol=1e-12, atol=1e-14)
    got = np.empty(graph.n)
    got[el.perm] = y
    np.testing.assert_allclose(got, np.linalg.solve(K, h), rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_precision_and_covariance_on_the_pattern(rng, name):
    """K and Σ = K⁻¹ on the pattern from the factor: compiled, twin and dense inverse agree."""
    graph = GRAPHS[name]
    el, st = structure(graph)
    _, K = mrf_member(rng, graph)
    b, d = _core.gmrf_factor(*pattern_of(K, el), st)
    kd, ko = pattern_of(K, el)
    np.testing.assert_allclose(_core.gmrf_precision_off(b, d, st), ko, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(
        _core.gmrf_precision_off(b, d, st), ref.precision_off(b, d, el), rtol=1e-12, atol=1e-15
    )
    sd, so = _core.gmrf_pattern_covariance(b, d, st)
    want_d, want_o = pattern_of(np.linalg.inv(K), el)
    np.testing.assert_allclose(sd, want_d, rtol=1e-12)
    np.testing.assert_allclose(so, want_o, rtol=1e-11, atol=1e-14)
    twin_d, twin_o = ref.pattern_covariance(b, d, el)
    np.testing.assert_allclose(sd, twin_d, rtol=1e-12)
    np.testing.assert_allclose(so, twin_o, rtol=1e-12, atol=1e-15)
    # the completion of Σ's pattern gives the factor back (the two are inverses)
    b2, d2 = _core.gmrf_complete(sd, so, st)
    np.testing.assert_allclose(b2, b, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(d2, d, rtol=1e-10)


def test_factor_names_the_vertex_of_a_non_positive_pivot_and_checks_shapes():
    graph = graphs.band(5, 1)
    el, st = structure(graph)
    K = np.diag([2.0, 2.0, 2.0, 2.0, 2.0])
    for i in range(4):
        K[i, i + 1] = K[i + 1, i] = 1.0
    K[2, 2] = 0.4  # the pivot of vertex 2 is 0.4 - 1/1.5 < 0
    kd, ko = pattern_of(K, el)
    with pytest.raises(ValueError, match=r"not positive definite \(pivot -0\.26.* at vertex 2\)"):
        _core.gmrf_factor(kd, ko, st)
    with pytest.raises(ValueError, match="not positive definite"):
        ref.factor(kd, ko, el)
    with pytest.raises(ValueError, match="k_off"):
        _core.gmrf_factor(kd, ko[:-1], st)
    with pytest.raises(ValueError, match="k_diag"):
        _core.gmrf_factor(np.full(5, np.nan), ko, st)
    # a pivot near the smallest double: 1/pivot overflows (found by the fuzz test)
    single = graphs.Graph(1).compiled()
    with pytest.raises(ValueError, match="gmrf_factor: the result is not representable"):
        _core.gmrf_factor(np.array([5e-324]), np.zeros(0), single)
    b, d = _core.gmrf_factor(np.full(5, 3.0), ko, st)
    with pytest.raises(ValueError, match="h"):
        _core.gmrf_solve(b, d, np.zeros(4), st)


def test_from_natural_at_n_1e5_recovers_the_mean(rng):
    """n = 10⁵, band 2: the compiled factor and solve (a Python loop over the vertices, as
    before, took seconds here); K μ = h checked with scipy.sparse."""
    from scipy import sparse

    n = 100_000
    graph = graphs.band(n, 2)
    K = sparse.diags([np.full(n, 3.0), np.full(n - 1, -0.8), np.full(n - 2, 0.3)], [0, 1, 2])
    K = (K + sparse.triu(K, 1).T).tocsr()
    mean = rng.standard_normal(n)
    p = ng.GaussianMRF.from_natural(ng.GaussianMRF(mean, K, graph).natural(), graph)
    np.testing.assert_allclose(K @ p.mean, K @ mean, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(p.mean, mean, rtol=1e-10, atol=1e-10)
    q = ng.GaussianMRF.from_expectation(p.expectation(), graph)  # Σ's pattern and back
    np.testing.assert_allclose(q.natural(), p.natural(), rtol=1e-9, atol=1e-12)


def test_family_in_ten_thousand_dimensions(rng):
    """O(n + |E|) routes at n = 10⁴: construction, sampling, log_prob, kl and both coordinates."""
    n = 10_000
    graph = graphs.band(n, 2)
    from scipy import sparse

    K = sparse.diags([np.full(n, 3.0), np.full(n - 1, -0.8), np.full(n - 2, 0.3)], [0, 1, 2])
    K = K + sparse.triu(K, 1).T
    p = ng.GaussianMRF(np.zeros(n), K, graph)
    X = p.sample(3, rng)
    assert X.shape == (3, n) and np.isfinite(p.log_prob(X)).all()
    q = p.with_expectation(p.expectation())
    assert p.kl(q) == pytest.approx(0.0, abs=1e-8)


def test_sample_names_a_non_finite_draw_and_an_overflow():
    el, st = structure(graphs.band(5, 1))
    b, d = np.zeros(4), np.ones(5)
    Z = np.zeros((9, 5))
    Z[7, 2] = np.nan
    with pytest.raises(ValueError, match="noise contains NaN or Inf"):
        _core.gmrf_sample(np.zeros(5), 1.0, b, d, Z, st)
    with pytest.raises(ValueError, match="not representable"):
        _core.gmrf_sample(np.zeros(5), 1e300, b, d, np.full((9, 5), 1e10), st)
