"""Search-distribution strategies (IGO-CMA, xNES, SNES): one step equals the NumPy twin, the
low-rank factor updates equal their dense forms, invariances, convergence and argument checks."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
import scipy.linalg
from scipy.stats import special_ortho_group

from natgrad import _core

# the test functions: natgrad.functions (vectorised over rows)
from natgrad.functions import ellipsoid, rosenbrock, sphere
from natgrad.optim import (
    GMRF,
    IGOCMA,
    SNES,
    XNES,
    IGOCMAState,
    SNESState,
    Strategy,
    XNESState,
    xnes,
)
from natgrad.reference import search as ref


def run(strategy, f, state, seed, max_evals, ftarget=1e-8):
    """Minimal ask/tell loop: evaluations to reach ``ftarget`` (None on failure) and final state."""
    rng = np.random.default_rng(seed)
    lam = strategy.default_popsize(state.mean.size)
    evals = 0
    while evals < max_evals:
        Z = rng.standard_normal(strategy.noise_shape(state, lam))
        X = strategy.sample(state, Z)
        v = f(X)
        evals += lam
        if v.min() < ftarget:
            return evals, state
        state = strategy.update(state, Z, X, v)
    return None, state


def random_factor(rng, n, cond=30.0):
    """A random well-conditioned non-triangular factor."""
    Q = special_ortho_group.rvs(n, random_state=rng)
    return Q * np.geomspace(1.0, np.sqrt(cond), n) @ special_ortho_group.rvs(n, random_state=rng)


def population(rng, state, strategy, lam):
    Z = rng.standard_normal((lam, state.mean.size))
    X = strategy.sample(state, Z)
    values = rng.standard_normal(lam)
    return Z, X, values


STRATEGIES = [IGOCMA(), XNES(), XNES(sigma_rule="csa"), SNES(), GMRF()]
IDS = ["igo-cma", "xnes", "xnes-csa", "snes", "gmrf"]


# --- sampling ------------------------------------------------------------------------------------


def test_sample_full_equals_twin(rng):
    n, lam = 9, 13
    state = (
        IGOCMA().initial_state(rng.standard_normal(n), 0.3)._replace(factor=random_factor(rng, n))
    )
    Z = rng.standard_normal((lam, n))
    np.testing.assert_allclose(
        IGOCMA().sample(state, Z),
        ref.sample_full(state.mean, state.sigma, state.factor, Z),
        rtol=1e-13,
        atol=1e-14,
    )


def test_sample_diagonal_equals_twin(rng):
    n, lam = 11, 7
    state = (
        SNES()
        .initial_state(rng.standard_normal(n), 0.7)
        ._replace(scales=np.exp(rng.standard_normal(n)))
    )
    Z = rng.standard_normal((lam, n))
    np.testing.assert_allclose(
        SNES().sample(state, Z),
        ref.sample_diagonal(state.mean, state.sigma, state.scales, Z),
        rtol=1e-14,
        atol=1e-15,
    )


def test_sample_full_covariance_monte_carlo(rng):
    """Sample covariance of X matches σ² A Aᵀ within 5 standard errors per entry."""
    n, N = 4, 40000
    A = random_factor(rng, n, cond=10)
    state = IGOCMA().initial_state(np.arange(n, dtype=float), 0.5)._replace(factor=A)
    X = IGOCMA().sample(state, rng.standard_normal((N, n)))
    C = 0.25 * A @ A.T
    D = X - state.mean
    emp = D.T @ D / N
    se = np.sqrt((C**2 + np.outer(np.diag(C), np.diag(C))) / N)
    assert np.all(np.abs(emp - C) < 5 * se)
    assert np.all(np.abs(X.mean(axis=0) - state.mean) < 5 * np.sqrt(np.diag(C) / N))


# --- factor updates against their dense forms -----------------------------------------------------


@pytest.mark.parametrize(("n", "k"), [(8, 5), (4, 7), (30, 12)])
def test_gemm_factor_update_is_symmetric_root(rng, n, k):
    """A' = A (aI + U B Uᵀ)^{1/2} (symmetric root), so A'A'ᵀ = A M Aᵀ; W is symmetric.
    Also for K > n, where the Gram matrix P = UᵀU is singular."""
    A = random_factor(rng, n)
    U = rng.standard_normal((n, k))
    beta = rng.uniform(0.001, 0.05, k)
    beta[: k // 3] *= -0.5 / n  # small negative (active) terms
    a = 0.9
    new, W = _core.gemm_factor_update(A, np.ascontiguousarray((A @ U).T), U.T.copy(), beta, a)
    M = a * np.eye(n) + (U * beta) @ U.T
    # Conditioning of M is ~1 here; the K x K Schur square root costs a few ulps per entry.
    np.testing.assert_allclose(new @ new.T, A @ M @ A.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(new, A @ np.real(scipy.linalg.sqrtm(M)), rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(W, W.T, rtol=1e-12, atol=1e-14)


def test_gemm_factor_update_shrinks_negative_weights(rng):
    """A negative term larger than a makes M indefinite: the negative β are halved until the K×K
    spectrum is positive, and the result is the root of that shrunk M (still positive definite)."""
    n, k = 6, 4
    A = random_factor(rng, n)
    U = rng.standard_normal((n, k))
    U /= np.linalg.norm(U, axis=0)
    beta = np.array([0.1, 0.05, -3.0, -2.5])
    a = 0.8
    new, _ = _core.gemm_factor_update(A, np.ascontiguousarray((A @ U).T), U.T.copy(), beta, a)
    target = new @ new.T
    assert np.linalg.eigvalsh(target).min() > 0
    matches = []
    for j in range(1, 61):
        b = np.where(beta < 0, beta * 0.5**j, beta)
        M = a * np.eye(n) + (U * b) @ U.T
        if np.allclose(A @ M @ A.T, target, rtol=1e-10, atol=1e-12):
            matches.append(j)
    assert len(matches) == 1
    j = matches[0]
    b_prev = np.where(beta < 0, beta * 0.5 ** (j - 1), beta)
    assert np.linalg.eigvalsh(a * np.eye(n) + (U * b_prev) @ U.T).min() <= 1e-8 * a


@pytest.mark.parametrize(("n", "k"), [(7, 4), (3, 6), (25, 10)])
def test_lowrank_expm_equals_dense_expm(rng, n, k):
    """A expm(U diag(s) Uᵀ) through φ₁ of a K×K matrix equals scipy's dense n×n expm."""
    A = random_factor(rng, n)
    U = rng.standard_normal((n, k))
    s = 0.1 * rng.standard_normal(k)
    out = _core.lowrank_expm_factor(A, np.ascontiguousarray((A @ U).T), U.T.copy(), s)
    dense = A @ scipy.linalg.expm((U * s) @ U.T)
    np.testing.assert_allclose(out, dense, rtol=1e-12, atol=1e-13)


# --- one update step equals the NumPy twin --------------------------------------------------------


def _igo_state(rng, n, generation=5, p_sigma_scale=1.0):
    return IGOCMAState(
        mean=rng.standard_normal(n),
        sigma=0.4,
        factor=random_factor(rng, n),
        p_sigma=p_sigma_scale * rng.standard_normal(n),
        p_c_z=0.5 * rng.standard_normal(n),
        generation=generation,
        shift_z=np.zeros(n),
        tpa_s=0.0,
        margin_scale=np.ones(n),
    )


@pytest.mark.parametrize(
    ("n", "lam", "p_sigma_scale"),
    [(7, 9, 1.0), (7, 9, 30.0), (3, 11, 1.0), (20, 12, 1.0), (10, 10, 0.0), (2, 200, 1.0)],
    ids=["odd-lambda", "h_sigma-0", "K>n", "n20", "even", "decay-a-0"],
)
def test_igo_cma_update_equals_twin(rng, n, lam, p_sigma_scale):
    state = _igo_state(rng, n, p_sigma_scale=p_sigma_scale)
    Z, X, values = population(rng, state, IGOCMA(), lam)
    p = IGOCMA().parameters(n, lam)
    new = IGOCMA().update(state, Z, X, values)
    want = ref.igo_cma_update(
        state.mean, state.sigma, state.factor, state.p_sigma, state.p_c_z, Z, X, values,
        state.generation, p,
    )  # fmt: skip
    if p_sigma_scale == 30.0:
        assert want[5] is False  # the case exercises the h_sigma stall
    np.testing.assert_allclose(new.mean, want[0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(new.sigma, want[1], rtol=1e-12)
    np.testing.assert_allclose(new.factor, want[2], rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(new.p_sigma, want[3], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(new.p_c_z, want[4], rtol=1e-11, atol=1e-12)
    assert new.generation == state.generation + 1


def test_igo_cma_covariance_is_hansen_update(rng):
    """σ-free covariance after one step: A'A'ᵀ = a C + c1 p_c p_cᵀ + c_μ Σ w°_i y_i y_iᵀ
    (Hansen 2016 eq. 47) computed directly in x-space, and A' p_c_z' = p_c (eq. 45)."""
    n, lam = 6, 10
    state = _igo_state(rng, n)
    Z, X, values = population(rng, state, IGOCMA(), lam)
    p = IGOCMA().parameters(n, lam)
    new = IGOCMA().update(state, Z, X, values)
    order = np.argsort(values, kind="stable")
    y = (X[order] - state.mean) / state.sigma
    z = Z[order]
    pos = p.weights > 0
    h = ref.igo_cma_update(
        state.mean, state.sigma, state.factor, state.p_sigma, state.p_c_z, Z, X, values,
        state.generation, p,
    )[5]  # fmt: skip
    p_c = (1 - p.c_c) * state.factor @ state.p_c_z + h * np.sqrt(p.c_c * (2 - p.c_c) * p.mueff) * (
        p.weights[pos] @ y[pos]
    )
    C = state.factor @ state.factor.T
    want = ref.cma_covariance_update(C, y, z, p.weights, p_c, h, p.c_c, p.c1, p.cmu)
    np.testing.assert_allclose(new.factor @ new.factor.T, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(new.factor @ new.p_c_z, p_c, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("sigma_rule", ["nes", "csa"])
@pytest.mark.parametrize(("n", "lam"), [(6, 9), (3, 8), (15, 12)])
def test_xnes_update_equals_twin(rng, sigma_rule, n, lam):
    state = XNESState(
        rng.standard_normal(n), 0.6, random_factor(rng, n), rng.standard_normal(n), 3, np.ones(n)
    )
    Z, X, values = population(rng, state, XNES(), lam)
    strategy = XNES(sigma_rule=sigma_rule, eta_b=0.3)
    p = strategy.parameters(n, lam)
    new = strategy.update(state, Z, X, values)
    want = ref.xnes_update(state.mean, state.sigma, state.factor, state.p_sigma, Z, X, values, p)
    np.testing.assert_allclose(new.mean, want[0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(new.sigma, want[1], rtol=1e-12)
    np.testing.assert_allclose(new.factor, want[2], rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(new.p_sigma, want[3], rtol=1e-12, atol=1e-14)
    # G_B is traceless: the update keeps det A.
    np.testing.assert_allclose(
        np.linalg.slogdet(new.factor)[1], np.linalg.slogdet(state.factor)[1], atol=1e-11
    )


@pytest.mark.parametrize(("n", "lam"), [(5, 8), (100_000, 38)])
def test_snes_update_equals_twin(rng, n, lam):
    state = SNESState(
        rng.standard_normal(n), 0.8, np.exp(0.3 * rng.standard_normal(n)), 2, np.ones(n)
    )
    Z, X, values = population(rng, state, SNES(), lam)
    p = SNES().parameters(n, lam)
    new = SNES().update(state, Z, X, values)
    want = ref.snes_update(state.mean, state.sigma, state.scales, Z, values, p)
    np.testing.assert_allclose(new.mean, want[0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(new.sigma, want[1], rtol=1e-12)
    np.testing.assert_allclose(new.scales, want[2], rtol=1e-12)


def test_igo_cma_trajectory_equals_twin(rng):
    """Thirty chained generations on the ellipsoid follow the twin to accumulated rounding."""
    n = 5
    lam = IGOCMA().default_popsize(n)
    p = IGOCMA().parameters(n, lam)
    state = IGOCMA().initial_state(np.full(n, 0.5), 0.3)
    twin = (state.mean, state.sigma, state.factor, state.p_sigma, state.p_c_z)
    for g in range(30):
        Z = rng.standard_normal((lam, n))
        X = IGOCMA().sample(state, Z)
        v = ellipsoid(X)
        state = IGOCMA().update(state, Z, X, v)
        twin = ref.igo_cma_update(*twin, Z, X, v, g, p)[:5]
    np.testing.assert_allclose(state.factor, twin[2], rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(state.sigma, twin[1], rtol=1e-10)


# --- invariances ---------------------------------------------------------------------------------


def rotated_ellipsoid_pair(rng, n):
    Q = special_ortho_group.rvs(n, random_state=rng)
    return Q, (lambda X: ellipsoid(X @ Q.T))  # g(x) = f(Q x)


@pytest.mark.parametrize("strategy", [IGOCMA(), XNES(), XNES(sigma_rule="csa")], ids=IDS[:3])
def test_rotation_invariance(rng, strategy):
    """Rotated problem g(x) = f(Qx), rotated start (Qᵀm, QᵀA), same draws -> same f-sequence."""
    n, gens = 8, 50
    Q, g = rotated_ellipsoid_pair(rng, n)
    lam = strategy.default_popsize(n)
    x0 = rng.uniform(-1, 1, n)
    st = strategy.initial_state(x0, 0.5)
    rt = st._replace(mean=Q.T @ x0, factor=np.ascontiguousarray(Q.T))
    fs, gs = [], []
    for _ in range(gens):
        Z = rng.standard_normal((lam, n))
        X, Y = strategy.sample(st, Z), strategy.sample(rt, Z)
        fv, gv = ellipsoid(X), g(Y)
        fs.append(fv)
        gs.append(gv)
        st, rt = strategy.update(st, Z, X, fv), strategy.update(rt, Z, Y, gv)
    fs, gs = np.array(fs), np.array(gs)
    assert fs[-1].min() < 0.1 * fs[0].min()  # the runs do progress
    # Rounding in Qx and in x - m grows slowly over 50 generations; 1e-8 relative is far below
    # any change of ranking.
    np.testing.assert_allclose(gs, fs, rtol=1e-8)
    np.testing.assert_allclose(rt.factor, Q.T @ st.factor, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("strategy", STRATEGIES, ids=IDS)
def test_monotone_transformation_invariance(rng, strategy):
    """Values enter only through their ranks: f and h∘f (h strictly increasing) give identical
    states, bit for bit."""
    n, gens = 6, 40
    lam = strategy.default_popsize(n)
    a = strategy.initial_state(rng.uniform(-1, 1, n), 0.5)
    b = a
    for _ in range(gens):
        Z = rng.standard_normal((lam, n))
        X = strategy.sample(a, Z)
        v = rosenbrock(X)
        a = strategy.update(a, Z, X, v)
        b = strategy.update(b, Z, X, v**3 + 2 * v - 7.0)
    for fa, fb in zip(a, b, strict=True):
        np.testing.assert_array_equal(fa, fb)


# --- convergence ---------------------------------------------------------------------------------

FULL = [(IGOCMA(), 30_000), (XNES(), 60_000), (XNES(sigma_rule="csa"), 60_000)]


@pytest.mark.parametrize(("strategy", "budget"), FULL, ids=IDS[:3])
@pytest.mark.parametrize("f", [sphere, ellipsoid, rosenbrock])
def test_full_covariance_convergence_10d(strategy, budget, f):
    """f < 1e-8 in 10-D in at least 4 of 5 seeds; Rosenbrock's local minimum (f ≈ 3.99) and
    budget exhaustion count as failures."""
    n = 10
    successes = 0
    for seed in range(5):
        x0 = np.zeros(n) if f is rosenbrock else np.random.default_rng(seed).uniform(-1, 1, n)
        evals, _ = run(strategy, f, strategy.initial_state(x0, 0.5), seed + 100, budget)
        successes += evals is not None
    assert successes >= 4


@pytest.mark.parametrize("f", [sphere, ellipsoid])
def test_snes_convergence_10d(f):
    """SNES (diagonal) on the separable sphere and axis-aligned ellipsoid: 5 of 5 within 3e4."""
    n = 10
    for seed in range(5):
        x0 = np.random.default_rng(seed).uniform(-1, 1, n)
        evals, _ = run(SNES(), f, SNES().initial_state(x0, 0.5), seed + 200, 30_000)
        assert evals is not None


def test_igo_cma_rotated_ellipsoid_10d(rng):
    """A = I start on a rotated cond-1e6 ellipsoid: the full covariance learns the rotation."""
    n = 10
    _, g = rotated_ellipsoid_pair(rng, n)
    successes = sum(
        run(IGOCMA(), g, IGOCMA().initial_state(np.ones(n), 0.5), seed, 30_000)[0] is not None
        for seed in range(5)
    )
    assert successes >= 4


def test_igo_cma_learns_inverse_hessian():
    """On a fixed quadratic the learned covariance shape approaches H⁻¹ up to scale."""
    n = 5
    H = np.diag(np.geomspace(1, 1e3, n))
    f = lambda X: np.einsum("ij,jk,ik->i", X, H, X)  # noqa: E731
    _, st = run(IGOCMA(), f, IGOCMA().initial_state(np.ones(n), 1.0), 7, 3_000, ftarget=-1)
    C = st.factor @ st.factor.T
    ratio = np.diag(C) * np.diag(H)
    assert ratio.max() / ratio.min() < 3  # against a condition of 1e3 at the start


# --- contract, state records, argument checks ------------------------------------------------------


@pytest.mark.parametrize("strategy", STRATEGIES, ids=IDS)
def test_contract_and_pickle(rng, strategy):
    assert isinstance(strategy, Strategy)
    n = 4
    st = strategy.initial_state(np.arange(n, dtype=float), 0.5)
    assert st.generation == 0 and st.sigma == 0.5
    Z, X, values = population(rng, st, strategy, strategy.default_popsize(n))
    copies = [a.copy() for a in (Z, X, values)]
    new = strategy.update(st, Z, X, values)
    for arr, c in zip((Z, X, values), copies, strict=True):
        np.testing.assert_array_equal(arr, c)  # inputs are not mutated
    again = pickle.loads(pickle.dumps(new))
    for fa, fb in zip(new, again, strict=True):
        np.testing.assert_array_equal(fa, fb)
    assert np.isfinite(strategy.condition_number(new)) and strategy.condition_number(new) >= 1
    assert strategy.axis_scales(new).shape == (n,)


def test_initial_state_copies_x0():
    x0 = np.ones(3)
    st = IGOCMA().initial_state(x0, 1.0)
    x0[0] = 5.0
    assert st.mean[0] == 1.0


def test_axis_scales_and_condition(rng):
    n = 5
    A = random_factor(rng, n, cond=100)
    st = IGOCMA().initial_state(np.zeros(n), 0.3)._replace(factor=A)
    np.testing.assert_allclose(IGOCMA().axis_scales(st), 0.3 * np.sqrt(np.diag(A @ A.T)))
    np.testing.assert_allclose(IGOCMA().condition_number(st), np.linalg.cond(A @ A.T), rtol=1e-8)
    d = SNESState(np.zeros(3), 2.0, np.array([0.5, 1.0, 2.0]), 0, np.ones(3))
    np.testing.assert_allclose(SNES().axis_scales(d), [1.0, 2.0, 4.0])
    assert SNES().condition_number(d) == pytest.approx(16.0)


def hansen_constants(n, lam):
    """Hansen 2016 (arXiv:1604.00772), Table 1, written out here with math.fsum from the
    formulas as printed, independently of natgrad.optim.igo_cma."""
    mu = lam // 2
    raw = [math.log((lam + 1) / 2) - math.log(i) for i in range(1, lam + 1)]  # (eq. 49)
    pos = raw[:mu]
    mueff = math.fsum(pos) ** 2 / math.fsum(w * w for w in pos)
    c_sigma = (mueff + 2) / (n + mueff + 5)  # (eq. 55)
    d_sigma = 1 + 2 * max(0.0, math.sqrt((mueff - 1) / (n + 1)) - 1) + c_sigma
    c_c = (4 + mueff / n) / (n + 4 + 2 * mueff / n)  # (eq. 56)
    alpha_cov = 2.0
    c1 = alpha_cov / ((n + 1.3) ** 2 + mueff)  # (eq. 57)
    cmu = min(1 - c1, alpha_cov * (mueff - 2 + 1 / mueff) / ((n + 2) ** 2 + alpha_cov * mueff / 2))
    chi_n = math.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n))
    return {
        "mueff": mueff, "c_sigma": c_sigma, "d_sigma": d_sigma, "c_c": c_c, "c1": c1,
        "cmu": cmu, "chi_n": chi_n,
    }  # fmt: skip


@pytest.mark.parametrize("n", [1, 2, 10, 40, 1000])
def test_default_constants(n):
    """λ and the CMA constants equal Hansen's formulas to rounding (rtol 1e-12), and the
    rounded values of the tutorial's table for n = 10 (a check on the formulas above)."""
    lam = IGOCMA().default_popsize(n)
    assert lam == 4 + math.floor(3 * math.log(n))
    p = IGOCMA().parameters(n, lam)
    for name, want in hansen_constants(n, lam).items():
        np.testing.assert_allclose(getattr(p, name), want, rtol=1e-12, err_msg=name)
    assert math.fsum(p.weights[p.weights > 0]) == pytest.approx(1.0, rel=1e-15)
    if n == 10:  # Hansen 2016 reports mueff ≈ 3.17 for λ = 10 (Table 1 discussion)
        assert lam == 10 and round(p.mueff, 2) == 3.17
    assert xnes.default_rates(n)[1] == 3 * (3 + math.log(n)) / (5 * n * math.sqrt(n))


@pytest.mark.parametrize(
    "make",
    [
        lambda: XNES(sigma_rule="cma"),
        lambda: XNES(eta_b=-1.0),
        lambda: XNES(eta_sigma=float("nan")),
        lambda: XNES(eta_mu="fast"),
        lambda: SNES(eta_sigma=0.0),
        lambda: IGOCMA(active="yes"),
        lambda: IGOCMA().parameters(0, 5),
        lambda: IGOCMA().parameters(5, 1),
        lambda: XNES().parameters(5, 1),
        lambda: SNES().parameters(True, 6),
        lambda: IGOCMA().default_popsize(-3),
        lambda: IGOCMA().initial_state([], 1.0),
        lambda: IGOCMA().initial_state([1.0, np.nan], 1.0),
        lambda: XNES().initial_state([1.0, 2.0], 0.0),
        lambda: SNES().initial_state([[1.0, 2.0]], 1.0),
    ],
)
def test_bad_options_raise_value_error(make):
    with pytest.raises(ValueError):
        make()


@pytest.mark.parametrize("strategy", STRATEGIES, ids=IDS)
def test_bad_population_raises_value_error(rng, strategy):
    n = 4
    st = strategy.initial_state(np.zeros(n), 1.0)
    lam = strategy.default_popsize(n)
    Z, X, values = population(rng, st, strategy, lam)
    with pytest.raises(ValueError, match="noise"):
        strategy.sample(st, Z[:, :3])
    with pytest.raises(ValueError, match="noise"):
        strategy.update(st, Z[0], X, values)
    with pytest.raises(ValueError, match="X"):
        strategy.update(st, Z, X[:-1], values)
    with pytest.raises(ValueError, match="values"):
        strategy.update(st, Z, X, values[:-1])


def test_core_rejects_bad_shapes(rng):
    """The compiled kernels check shapes themselves (ValueError naming the argument)."""
    n, lam = 4, 6
    st = _igo_state(rng, n)
    Z = rng.standard_normal((lam, n))
    X = IGOCMA().sample(st, Z)
    p = IGOCMA().parameters(n, lam)
    args = (st.mean, st.sigma, st.factor, st.p_sigma, st.p_c_z, Z, X, np.zeros(lam), 0)
    with pytest.raises(ValueError, match="weights"):
        _core.igo_cma_update(
            *args, _core.IGOCMAParams(**p._replace(weights=p.weights[:-1])._asdict())
        )
    with pytest.raises(ValueError, match="A"):
        _core.sample_full(st.mean, 1.0, np.eye(n + 1), Z)
    with pytest.raises(ValueError, match="a must"):
        _core.gemm_factor_update(np.eye(n), Z[:2], Z[:2], np.ones(2), -1.0)
    with pytest.raises(ValueError, match="zt"):
        _core.lowrank_expm_factor(np.eye(n), Z[:2], Z[:3], np.ones(2))


@pytest.mark.parametrize("f", [sphere, ellipsoid, rosenbrock])
def test_igo_cma_convergence_20d(f):
    """n = 20 > K = 13 runs the K×K symmetric-root branch of the factor update (the 10-D runs
    use the n×n Cholesky branch): f < 1e-8 in at least 4 of 5 seeds."""
    n = 20
    successes = 0
    for seed in range(5):
        x0 = np.zeros(n) if f is rosenbrock else np.random.default_rng(seed).uniform(-1, 1, n)
        evals, _ = run(IGOCMA(), f, IGOCMA().initial_state(x0, 0.5), seed + 300, 60_000)
        successes += evals is not None
    assert successes >= 4


@pytest.mark.parametrize("lam", [2, 3])
def test_cma_weights_with_a_single_parent(lam):
    # μ = 1: μ_eff = 1 and c_μ = 0, so eqs. 50 and 52 do not apply (they divided by c_μ = 0 and
    # raised under -W error); the negative weights follow eq. 51 alone:
    # Σ|w⁻| = 1 + 2 μ_eff⁻/(μ_eff + 2) = 1 + 2·1/3 with one or two negative raw weights
    from natgrad.optim import cma_weights, minimize

    w, mueff = cma_weights(lam, 5)
    assert mueff == 1.0 and w[0] == 1.0
    assert abs(np.abs(w[1:]).sum() - 5 / 3) < 1e-15
    res = minimize(sphere, np.ones(3), 0.5, popsize=lam, seed=0, max_evals=3000, vectorized=True)
    assert res.fun < 1e-6, (res.fun, res.stop_reason)


@pytest.mark.parametrize("popsize", [100, 400])
def test_igo_cma_large_population_in_low_dimension(popsize):
    """λ ≫ n² puts c_mu at its cap 1 − c1, so the covariance decay a is 0 (the old C is
    forgotten); the update must still work and converge (IPOP reaches such λ). Twin equality
    for this case is the "decay-a-0" case of test_igo_cma_update_equals_twin."""
    from natgrad.optim import Optimizer, get_strategy

    opt = Optimizer(get_strategy("igo-cma"), np.full(2, 3.0), 2.0, popsize=popsize, seed=1)
    while not opt.should_stop() and opt.generation < 200:
        X = opt.ask()
        opt.tell(X, sphere(X))
    assert opt.best_f < 1e-8, (opt.stop_reason, opt.best_f)
