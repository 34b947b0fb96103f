"""Helmholtz machines and (natural) reweighted wake-sleep, each formula against another route.

The independent route is a naive model written here: unit by unit, with ln p(v | a) as a
log-sigmoid (ln σ(a) / ln σ(−a) for {0,1} units, ln σ(±2a) for {−1,+1}) instead of the library's
``v a − softplus(a)``, over a flat parameter vector laid out unit by unit as the Fisher blocks
are: for each layer, each unit's (incoming weights, bias), then the top prior. Derivatives come
from finite differences of that naive model; expectations from enumerating every state.
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

from natgrad import _core
from natgrad.models import (
    LINES_ENTROPY,
    DampedFisherBlocks,
    HelmholtzMachine,
    digits_binary,
    fisher_blocks,
    lines_dataset,
    lines_distribution,
)
from natgrad.models import helmholtz as hmod
from natgrad.reference import wake_sleep as ref

UNITS = ["binary", "spin"]
TINY = [4, 3, 2]


# --- the naive model ----------------------------------------------------------------------------


def unit_log_prob(v: np.ndarray, a: np.ndarray, spin: bool) -> np.ndarray:
    if spin:  # P(v) = σ(2 v a)
        return -np.logaddexp(0.0, -2.0 * v * a)
    return np.where(v == 1.0, -np.logaddexp(0.0, -a), -np.logaddexp(0.0, a))


def naive_log_joint(theta, layers, sizes, spin):
    """ln p(x, h) per row from the flat generative parameters."""
    total, offset = np.zeros(layers[0].shape[0]), 0
    for i in range(len(sizes) - 1):
        d = sizes[i + 1]
        for j in range(sizes[i]):
            a = layers[i + 1] @ theta[offset : offset + d] + theta[offset + d]
            total = total + unit_log_prob(layers[i][:, j], a, spin)
            offset += d + 1
    for j in range(sizes[-1]):
        total = total + unit_log_prob(layers[-1][:, j], np.full(len(total), theta[offset]), spin)
        offset += 1
    assert offset == len(theta)
    return total


def naive_log_q(phi, layers, sizes, spin):
    """ln q(h | x) per row from the flat recognition parameters."""
    total, offset = np.zeros(layers[0].shape[0]), 0
    for i in range(len(sizes) - 1):
        d = sizes[i]
        for j in range(sizes[i + 1]):
            a = layers[i] @ phi[offset : offset + d] + phi[offset + d]
            total = total + unit_log_prob(layers[i + 1][:, j], a, spin)
            offset += d + 1
    assert offset == len(phi)
    return total


def flat_generative(hm):
    rows = [
        np.hstack([W, b[:, None]]).ravel()
        for W, b in zip(hm.generative_weights, hm.generative_biases, strict=False)
    ]
    return np.concatenate([*rows, hm.generative_biases[-1]])


def flat_recognition(hm):
    return np.concatenate(
        [
            np.hstack([V, c[:, None]]).ravel()
            for V, c in zip(hm.recognition_weights, hm.recognition_biases, strict=True)
        ]
    )


def random_model(sizes, units, seed, scale=1.0):
    rng = np.random.default_rng(seed)
    L = len(sizes) - 1
    return HelmholtzMachine.from_parameters(
        [scale * rng.standard_normal((sizes[i], sizes[i + 1])) for i in range(L)],
        [0.5 * rng.standard_normal(sizes[i]) for i in range(L + 1)],
        [scale * rng.standard_normal((sizes[i + 1], sizes[i])) for i in range(L)],
        [0.5 * rng.standard_normal(sizes[i + 1]) for i in range(L)],
        units,
        seed=seed,
    )


def all_states(sizes, spin):
    """Every joint state, as layers [x, h^1, ...]."""
    n = sum(sizes)
    bits = (np.arange(2**n)[:, None] >> np.arange(n - 1, -1, -1)) & 1
    s = (2.0 * bits - 1.0) if spin else bits.astype(float)
    cuts = np.cumsum(sizes)[:-1]
    return np.split(s, cuts, axis=1)


def block_diagonal(blocks):
    sizes = [b.shape[0] for b in blocks]
    out = np.zeros((sum(sizes), sum(sizes)))
    k = 0
    for b in blocks:
        out[k : k + len(b), k : k + len(b)] = b
        k += len(b)
    return out


def fd_hessian(f, x, h):
    """Central second differences (f(+a+b) − f(+a−b) − f(−a+b) + f(−a−b)) / 4h²; for f with a
    bounded fourth derivative the error is O(h²) + O(ε |f| / h²)."""
    n = len(x)
    H = np.zeros((n, n))
    e = np.eye(n) * h
    for a in range(n):
        for b in range(a, n):
            H[a, b] = H[b, a] = (
                f(x + e[a] + e[b]) - f(x + e[a] - e[b]) - f(x - e[a] + e[b]) + f(x - e[a] - e[b])
            ) / (4 * h * h)
    return H


def fd_gradient(f, x, h=1e-6):
    e = np.eye(len(x)) * h
    return np.array([(f(x + e[a]) - f(x - e[a])) / (2 * h) for a in range(len(x))])


def fd_jacobian_rows(f, x, h=1e-6):
    """Rows of ∂f/∂x for a vector-valued f (one row per component of f)."""
    e = np.eye(len(x)) * h
    return np.array([(f(x + e[a]) - f(x - e[a])) / (2 * h) for a in range(len(x))]).T


# --- Fisher blocks against the exact Fisher ------------------------------------------------------

# FD Hessian with h = 2e-4 on functions of size ~5 with O(1) fourth derivatives: truncation
# ~h²/12·max|f''''| ≈ 1e-8, rounding ~ε·|f|/h² ≈ 3e-8; 1e-6 leaves a factor ~25.
FD_HESSIAN_ATOL = 1e-6
# FD scores (h = 1e-6): error ~1e-10 per score, products ≤ 1e-9; 1e-8 leaves a factor 10.
FD_SCORE_ATOL = 1e-8


@pytest.mark.parametrize("units", UNITS)
def test_generative_fisher_blocks_equal_the_exact_fisher(units):
    spin = units == "spin"
    hm = random_model(TINY, units, seed=1)
    theta0 = flat_generative(hm)
    states = all_states(TINY, spin)
    prob = np.exp(naive_log_joint(theta0, states, TINY, spin))
    np.testing.assert_allclose(prob.sum(), 1.0, rtol=1e-13)
    blocks = hm.fisher_blocks("generative", states, probabilities=prob)
    unit_blocks = [b for layer in blocks for b in layer]
    assert [len(b) for b in unit_blocks] == [4] * 4 + [3] * 3 + [1] * 2
    library = block_diagonal(unit_blocks)
    # route 1: −E[∇² ln p(x, h)] by finite differences of Σ_s p_s ln p(s; θ) (p_s fixed at θ0)
    hessian = fd_hessian(lambda t: prob @ naive_log_joint(t, states, TINY, spin), theta0, 2e-4)
    exact = -hessian
    mask = block_diagonal([np.ones_like(b) for b in unit_blocks]) == 0
    assert np.max(np.abs(exact[mask])) < FD_HESSIAN_ATOL  # off-block entries are zero
    np.testing.assert_allclose(library, exact, rtol=0, atol=FD_HESSIAN_ATOL)
    # route 2: E[s sᵀ] with FD scores s = ∇ ln p(x, h)
    scores = fd_jacobian_rows(lambda t: naive_log_joint(t, states, TINY, spin), theta0)
    outer = (scores * prob[:, None]).T @ scores
    assert np.max(np.abs(outer[mask])) < FD_SCORE_ATOL
    np.testing.assert_allclose(library, outer, rtol=0, atol=FD_SCORE_ATOL)


@pytest.mark.parametrize("units", UNITS)
def test_recognition_fisher_blocks_equal_the_exact_fisher(units):
    spin = units == "spin"
    hm = random_model(TINY, units, seed=2)
    phi0 = flat_recognition(hm)
    states = all_states(TINY, spin)
    # data distribution: uniform over the 16 visible states; h ~ q(h | x)
    prob = np.exp(naive_log_q(phi0, states, TINY, spin)) / 2 ** TINY[0]
    np.testing.assert_allclose(prob.sum(), 1.0, rtol=1e-13)
    blocks = hm.fisher_blocks("recognition", states, probabilities=prob)
    unit_blocks = [b for layer in blocks for b in layer]
    assert [len(b) for b in unit_blocks] == [5] * 3 + [4] * 2
    library = block_diagonal(unit_blocks)
    exact = -fd_hessian(lambda p: prob @ naive_log_q(p, states, TINY, spin), phi0, 2e-4)
    mask = block_diagonal([np.ones_like(b) for b in unit_blocks]) == 0
    assert np.max(np.abs(exact[mask])) < FD_HESSIAN_ATOL
    np.testing.assert_allclose(library, exact, rtol=0, atol=FD_HESSIAN_ATOL)
    scores = fd_jacobian_rows(lambda p: naive_log_q(p, states, TINY, spin), phi0)
    outer = (scores * prob[:, None]).T @ scores
    assert np.max(np.abs(outer[mask])) < FD_SCORE_ATOL
    np.testing.assert_allclose(library, outer, rtol=0, atol=FD_SCORE_ATOL)


# --- gradients of the importance-weighted bound ------------------------------------------------


def _wake_batch(hm, B, K, seed):
    rng = np.random.default_rng(seed)
    spin = hm.units == "spin"
    x = hm.sample(B, rng)
    params = hm._params
    hs, q_acts = hmod._sample_q(params, np.repeat(x, K, axis=0), rng, spin)
    lp, p_acts = hmod._log_p(params, hs, spin)
    lq, _ = hmod._log_q(params, hs, spin)
    return hs, q_acts, p_acts, (lp - lq).reshape(B, K)


def _flat_rows(rows):
    return np.concatenate([r.ravel() for r in rows])


# FD gradients with h = 1e-6 of O(1) functions: error ~1e-10 (truncation) + ~1e-10 (rounding).
FD_GRAD_ATOL = 1e-8


@pytest.mark.parametrize("units", UNITS)
def test_rws_gradients_equal_finite_differences_of_the_bound(units):
    spin = units == "spin"
    hm = random_model(TINY, units, seed=3, scale=0.7)
    B, K = 3, 5
    hs, q_acts, p_acts, log_w = _wake_batch(hm, B, K, seed=4)
    theta0, phi0 = flat_generative(hm), flat_recognition(hm)

    def bound(theta, phi):
        lw = (naive_log_joint(theta, hs, TINY, spin) - naive_log_q(phi, hs, TINY, spin)).reshape(
            B, K
        )
        m = lw.max(axis=1, keepdims=True)
        return np.mean(m[:, 0] + np.log(np.exp(lw - m).sum(axis=1))) - math.log(K)

    omega = hmod.wake_weights(log_w, reweighted=True)
    np.testing.assert_allclose(omega.sum(), 1.0, rtol=1e-14)
    g_p = _flat_rows(hmod.generative_gradients(hm._params, hs, p_acts, omega, spin))
    np.testing.assert_allclose(
        g_p, fd_gradient(lambda t: bound(t, phi0), theta0), atol=FD_GRAD_ATOL
    )
    # RWS's wake q update descends KL(p(h|x) ‖ q): with the samples fixed it is the negative
    # φ-gradient of the bound
    g_q = _flat_rows(hmod.recognition_gradients(hs, q_acts, omega, spin))
    np.testing.assert_allclose(
        g_q, -fd_gradient(lambda f: bound(theta0, f), phi0), atol=FD_GRAD_ATOL
    )


@pytest.mark.parametrize("units", UNITS)
def test_ws_and_sleep_gradients_equal_finite_differences(units):
    spin = units == "spin"
    hm = random_model(TINY, units, seed=5, scale=0.7)
    B, K = 3, 4
    hs, q_acts, p_acts, log_w = _wake_batch(hm, B, K, seed=6)
    theta0, phi0 = flat_generative(hm), flat_recognition(hm)
    omega = hmod.wake_weights(log_w, reweighted=False)
    g_p = _flat_rows(hmod.generative_gradients(hm._params, hs, p_acts, omega, spin))
    mean_log_p = lambda t: np.mean(naive_log_joint(t, hs, TINY, spin))  # noqa: E731
    np.testing.assert_allclose(g_p, fd_gradient(mean_log_p, theta0), atol=FD_GRAD_ATOL)
    # sleep phase: E_p[∇ ln q(h | x)] on samples (x, h) ~ p
    sleep = hm.sample(7, np.random.default_rng(7), return_hidden=True)
    _, q_acts_s = hmod._log_q(hm._params, sleep, spin)
    g_s = _flat_rows(hmod.recognition_gradients(sleep, q_acts_s, np.full(7, 1 / 7), spin))
    mean_log_q = lambda f: np.mean(naive_log_q(f, sleep, TINY, spin))  # noqa: E731
    np.testing.assert_allclose(g_s, fd_gradient(mean_log_q, phi0), atol=FD_GRAD_ATOL)


def _replayed_step(p, x, K, n_sleep, rng, spin):
    """Replay one RWS/NRWS step's draws from ``rng`` (wake samples, importance weights, sleep
    samples) and return (hs, q_acts, hs_sleep, p_acts_sleep, g_p, g_q): p's gradients from the
    wake samples, q's the mean of the sleep update and the importance-weighted wake update
    (errata #22)."""
    hs, q_acts = hmod._sample_q(p, np.repeat(x, K, axis=0), rng, spin)
    lp, p_acts = hmod._log_p(p, hs, spin)
    lq, _ = hmod._log_q(p, hs, spin)
    omega = hmod.wake_weights((lp - lq).reshape(len(x), K), True)
    hs_s, p_acts_s = hmod._sample_p(p, n_sleep, rng, spin)
    _, q_acts_s = hmod._log_q(p, hs_s, spin)
    g_p = hmod.generative_gradients(p, hs, p_acts, omega, spin)
    g_q = [
        0.5 * (a + b)
        for a, b in zip(
            hmod.recognition_gradients(hs_s, q_acts_s, np.full(n_sleep, 1 / n_sleep), spin),
            hmod.recognition_gradients(hs, q_acts, omega, spin),
            strict=True,
        )
    ]
    return hs, q_acts, hs_s, p_acts_s, g_p, g_q


@pytest.mark.parametrize("units", UNITS)
def test_one_nrws_step_is_the_damped_natural_step(units):
    """θ' = θ + lr (1 + α)(F_j + αI)⁻¹ g_j per unit, F from the same draws, through the
    foundation's single-matrix solves (reference.linalg) instead of the block kernels."""
    spin = units == "spin"
    hm = random_model(TINY, units, seed=8, scale=0.7)
    x = lines_dataset(units=units)[:5, :4]
    lr, alpha, K, n_sleep = 0.2, 0.3, 3, 6
    trainer = hmod._Trainer("nrws", K, lr, 0.0, alpha, 1, n_sleep, spin)
    new, _ = trainer.step(hm._params, x, np.random.default_rng(9))
    # replay the draws
    rng = np.random.default_rng(9)
    p = hm._params
    hs, q_acts, hs_s, p_acts_s, g_p, g_q = _replayed_step(p, x, K, n_sleep, rng, spin)
    scale = 1 + alpha
    for i in range(2):
        w = hmod._fisher_weight(p_acts_s[i], spin)
        want = (
            p.gen_weights[i] + lr * scale * ref.natural_rows(hs_s[i + 1], w, g_p[i], alpha)[:, :-1]
        )
        np.testing.assert_allclose(new.gen_weights[i], want, rtol=1e-12, atol=1e-14)
        w = hmod._fisher_weight(q_acts[i], spin)
        want = p.rec_biases[i] + lr * scale * ref.natural_rows(hs[i], w, g_q[i], alpha)[:, -1]
        np.testing.assert_allclose(new.rec_biases[i], want, rtol=1e-12, atol=1e-14)
    top = hmod._fisher_weight(p.gen_biases[2], spin)
    want = p.gen_biases[2] + lr * scale * g_p[2][:, 0] / (top + alpha)
    np.testing.assert_allclose(new.gen_biases[2], want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("units", UNITS)
def test_nrws_step_with_fisher_samples_uses_fresh_draws(units):
    """With fisher_samples = M the blocks of the refresh come from M training points (without
    replacement) with one h ~ q(h | x) each and M fresh (x, h) ~ p, drawn after the step's own
    samples; the step is then the damped natural step with those blocks."""
    spin = units == "spin"
    hm = random_model(TINY, units, seed=8, scale=0.7)
    data = lines_dataset(units=units)[:, :4]
    x = data[:5]
    lr, alpha, K, n_sleep, M = 0.2, 0.3, 3, 6, 11
    trainer = hmod._Trainer("nrws", K, lr, 0.0, alpha, 1, n_sleep, spin, M, data)
    new, _ = trainer.step(hm._params, x, np.random.default_rng(9))
    rng = np.random.default_rng(9)  # replay the draws
    p = hm._params
    hs, q_acts, hs_s, _, g_p, g_q = _replayed_step(p, x, K, n_sleep, rng, spin)
    rows = np.sort(rng.choice(len(data), size=M, replace=False))
    hs_f, q_acts_f = hmod._sample_q(p, data[rows], rng, spin)
    hs_pf, p_acts_pf = hmod._sample_p(p, M, rng, spin)
    assert hs_pf[0].shape == (M, 4) and hs_f[0].shape == (M, 4)
    scale = 1 + alpha
    for i in range(2):
        w = hmod._fisher_weight(p_acts_pf[i], spin)
        step = scale * ref.natural_rows(hs_pf[i + 1], w, g_p[i], alpha)
        np.testing.assert_allclose(
            new.gen_weights[i], p.gen_weights[i] + lr * step[:, :-1], rtol=1e-12, atol=1e-14
        )
        w = hmod._fisher_weight(q_acts_f[i], spin)
        step = scale * ref.natural_rows(hs_f[i], w, g_q[i], alpha)
        np.testing.assert_allclose(
            new.rec_weights[i], p.rec_weights[i] + lr * step[:, :-1], rtol=1e-12, atol=1e-14
        )
        np.testing.assert_allclose(
            new.rec_biases[i], p.rec_biases[i] + lr * step[:, -1], rtol=1e-12, atol=1e-14
        )
    # more points asked than there are: all of them, each once
    capped = hmod._Trainer("nrws", K, lr, 0.0, alpha, 1, n_sleep, spin, 40, data)
    hs_c, _, hs_pc, _ = capped._fisher_draws(p, np.random.default_rng(1))
    np.testing.assert_array_equal(hs_c[0], data)
    assert hs_pc[0].shape == (40, 4)


def test_batched_matvec_with_and_without_numpy_matvec(rng, monkeypatch):
    m, g = rng.standard_normal((5, 7, 7)), rng.standard_normal((5, 7))
    want = np.array([m[j] @ g[j] for j in range(5)])
    np.testing.assert_allclose(hmod._matvec(m, g), want, rtol=1e-14, atol=1e-14)
    monkeypatch.setattr(hmod, "_NP_MATVEC", None)  # NumPy < 2.2
    np.testing.assert_allclose(hmod._matvec(m, g), want, rtol=1e-14, atol=1e-14)


# --- kernels: Woodbury = dense, compiled = twin ----------------------------------------------------


def _layer(rng, N, d, J, spin=False):
    h = rng.integers(0, 2, (N, d)).astype(float)
    if spin:
        h = 2 * h - 1
    a = h @ rng.standard_normal((d, J)) + rng.standard_normal(J)
    w = hmod._fisher_weight(a, spin)
    return h, np.ascontiguousarray(w), rng.standard_normal((J, d + 1))


@pytest.mark.parametrize(("N", "d", "J"), [(5, 12, 4), (40, 6, 3), (13, 12, 2), (1, 3, 2)])
@pytest.mark.parametrize("spin", [False, True])
def test_woodbury_equals_the_dense_block_solve(rng, N, d, J, spin):
    h, w, g = _layer(rng, N, d, J, spin)
    alpha = 0.05
    dense = DampedFisherBlocks(h, w, alpha, woodbury=False).solve(g)
    wood = DampedFisherBlocks(h, w, alpha, woodbury=True).solve(g)
    # cond(F + αI) ≤ (max eig + α)/α ≈ 1e2 here: agreement to ~1e2·ε·|x|
    scale = np.max(np.abs(dense))
    np.testing.assert_allclose(wood, dense, rtol=0, atol=1e-13 * scale)
    direct = ref.natural_rows(h, w, g, alpha)  # one matrix at a time, reference.linalg
    np.testing.assert_allclose(dense, direct, rtol=0, atol=1e-13 * scale)
    assert DampedFisherBlocks(h, w, alpha).woodbury == (N < d + 1)


@pytest.mark.parametrize(("N", "d", "J"), [(5, 12, 4), (40, 6, 3), (1, 3, 2), (30, 0, 2)])
@pytest.mark.parametrize("woodbury", [False, True])
def test_inverse_is_the_inverse_of_the_damped_blocks(rng, N, d, J, woodbury):
    """inverse()[j] = (F_j + αI)⁻¹ with F_j from fisher_blocks (numpy.linalg.inv of the assembled
    matrix), and inverse()[j] @ g_j = solve(g)[j], on both paths."""
    h, w, g = _layer(rng, N, d, J)
    alpha = 0.05
    blocks = DampedFisherBlocks(h, w, alpha, woodbury=woodbury)
    inv = blocks.inverse()
    assert inv.shape == (J, d + 1, d + 1)
    want = np.linalg.inv(fisher_blocks(h, w) + alpha * np.eye(d + 1))
    # cond(F + αI) <= (max eig + α)/α ≈ 1e2 and |inverse| <= 1/α: agreement to ~1e2·ε/α
    np.testing.assert_allclose(inv, want, rtol=0, atol=1e-13 / alpha)
    x = blocks.solve(g)
    np.testing.assert_allclose(
        np.matmul(inv, g[:, :, None])[:, :, 0], x, rtol=0, atol=1e-13 * np.max(np.abs(x))
    )


# J = 8, 13 and 70 cover one full group of units in the compiled factorisation, a full group and a
# partial one, and several groups with a partial last one.
@pytest.mark.parametrize(
    ("N", "d", "J"), [(120, 64, 8), (7, 9, 3), (30, 0, 2), (50, 10, 13), (40, 21, 70)]
)
@pytest.mark.parametrize("spin", [False, True])
def test_kernels_equal_their_twins(rng, N, d, J, spin):
    h, w, g = _layer(rng, N, d, J, spin)
    alpha = 0.1
    f = _core.fisher_blocks_factor(h, w, alpha)
    np.testing.assert_allclose(f, ref.fisher_blocks_factor(h, w, alpha), rtol=1e-13, atol=1e-15)
    x = _core.fisher_blocks_solve(f, g)
    np.testing.assert_allclose(x, ref.fisher_blocks_solve(f, g), rtol=1e-12, atol=1e-13)
    inv = _core.fisher_blocks_inverse(f)
    np.testing.assert_allclose(inv, ref.fisher_blocks_inverse(f), rtol=1e-12, atol=1e-14 / alpha)
    np.testing.assert_array_equal(  # exactly symmetric
        inv.reshape(J, d + 1, d + 1), np.swapaxes(inv.reshape(J, d + 1, d + 1), 1, 2)
    )
    fw = _core.fisher_blocks_woodbury_factor(h, w, alpha)
    np.testing.assert_allclose(
        fw, ref.fisher_blocks_woodbury_factor(h, w, alpha), rtol=1e-13, atol=1e-15
    )
    xw = _core.fisher_blocks_woodbury_solve(h, w, fw, g, alpha)
    want = ref.fisher_blocks_woodbury_solve(h, w, fw, g, alpha)
    np.testing.assert_allclose(xw, want, rtol=1e-12, atol=1e-12 * np.max(np.abs(want)))


# The compiled assembly sums each entry's nonzero terms (listed from bit masks of the nonzero
# samples, 64 per word) when the inputs are sparse, and takes GEMM rows when they are dense: both
# routes, {0, 1} and real-valued inputs, and sample counts around a word's boundary.
@pytest.mark.parametrize("density", [0.05, 0.3, 0.6, 0.9, 1.0])
@pytest.mark.parametrize("values", ["binary", "real"])
@pytest.mark.parametrize("N", [1, 64, 65, 130])
def test_fisher_blocks_factor_equals_its_twin_at_every_density(rng, density, values, N):
    d, J = 23, 11
    h = (rng.random((N, d)) < density).astype(float)
    if values == "real":
        h *= rng.standard_normal((N, d))
    w = 0.25 * rng.random((N, J))
    f = _core.fisher_blocks_factor(h, w, 0.1)
    np.testing.assert_allclose(f, ref.fisher_blocks_factor(h, w, 0.1), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("bad_unit", [0, 7, 8, 12])
def test_a_block_that_overflows_is_refused_naming_its_unit(rng, bad_unit):
    h, w, _ = _layer(rng, 20, 5, 13)
    h *= 1e5
    w[:, bad_unit] = 1e300  # its moments (w h_a h_b / N) overflow to inf; no other block's do
    with pytest.raises(ValueError, match=f"of unit {bad_unit} is not positive definite"):
        _core.fisher_blocks_factor(h, w, 0.1)


def test_kernels_refuse_bad_arguments(rng):
    h, w, g = _layer(rng, 10, 3, 2)
    with pytest.raises(ValueError, match="weights must be >= 0"):
        _core.fisher_blocks_factor(h, -w, 0.1)
    with pytest.raises(ValueError, match="damping must be"):
        _core.fisher_blocks_factor(h, w, 0.0)
    with pytest.raises(ValueError, match="weights must have shape"):
        _core.fisher_blocks_factor(h, w[:5], 0.1)
    f = _core.fisher_blocks_factor(h, w, 0.1)
    with pytest.raises(ValueError, match="factors must have q\\^2 columns"):
        _core.fisher_blocks_inverse(np.ascontiguousarray(f[:, :-1]))
    with pytest.raises(ValueError, match="factors must be lower Cholesky"):
        _core.fisher_blocks_inverse(np.zeros_like(f))
    with pytest.raises(ValueError, match="grads must have shape"):
        _core.fisher_blocks_solve(f, g[:1])
    with pytest.raises(ValueError, match="factors must be lower Cholesky"):
        _core.fisher_blocks_solve(np.zeros_like(f), g)
    with pytest.raises(ValueError, match="inputs contains NaN"):
        _core.fisher_blocks_woodbury_factor(np.full_like(h, np.nan), w, 0.1)
    with pytest.raises(ValueError, match="damping must be"):
        DampedFisherBlocks(h, w, -1.0)
    with pytest.raises(ValueError, match="weights must be >= 0"):
        DampedFisherBlocks(h, -w, 0.1)


# --- likelihoods -------------------------------------------------------------------------------


@pytest.mark.parametrize("units", UNITS)
def test_exact_log_likelihood_is_the_sum_over_hidden_states(units):
    spin = units == "spin"
    sizes = [4, 3, 2, 2]
    hm = random_model(sizes, units, seed=10)
    states = all_states(sizes, spin)
    lj = naive_log_joint(flat_generative(hm), states, sizes, spin).reshape(16, -1)
    m = lj.max(axis=1, keepdims=True)
    want = m[:, 0] + np.log(np.exp(lj - m).sum(axis=1))  # x is the slowest index of the states
    got = hm.exact_log_likelihood(states[0][:: 2 ** sum(sizes[1:])])
    np.testing.assert_allclose(got, want, rtol=1e-13)
    np.testing.assert_allclose(np.exp(got).sum(), 1.0, rtol=1e-13)


@pytest.mark.parametrize("units", UNITS)
def test_log_likelihood_converges_to_the_exact_value(units):
    spin = units == "spin"
    hm = HelmholtzMachine([9, 6, 2], units, seed=11, init_scale=0.1)
    hm.fit(lines_dataset(units=units), epochs=30, batch_size=6)  # q: a proposal fitted to p
    X, _ = lines_distribution(units)
    exact = hm.exact_log_likelihood(X)
    K = 10**4
    est = hm.log_likelihood(X, samples=K, seed=12)
    # standard error of ln(mean w) by the delta method, from an independent set of weights
    lw = hmod._log_weights(hm._params, X, K, np.random.default_rng(13), spin)
    w = np.exp(lw - lw.max(axis=1, keepdims=True))
    se = w.std(axis=1) / (w.mean(axis=1) * math.sqrt(K))
    assert np.all(np.abs(est - exact) < 5 * se), (est - exact) / se
    # K = 1 is the ELBO, below ln p(x) by KL(q ‖ p(h | x)) on average: the gap closes with K
    elbo = np.mean(hm.log_likelihood(np.repeat(X, 200, axis=0), samples=1, seed=14))
    gap = np.mean(exact) - elbo
    assert gap > 0.1 and gap > 20 * np.mean(np.abs(est - exact))


def test_exact_log_likelihood_refuses_large_nets():
    with pytest.raises(ValueError, match="more than 20 hidden units"):
        HelmholtzMachine([4, 12, 9], seed=0).exact_log_likelihood(np.zeros((1, 4)))


# --- training ----------------------------------------------------------------------------------

# NRWS on the lines toy: a [9, 10, 5] net (15 hidden units: exact NLL by enumeration) on the
# 18-row exact data set repeated 4 times, batch 8, K = 10, damping 0.01, momentum 0.5; 120
# epochs at learning rate 0.1, then 30 at 0.02 (a two-step schedule: at a constant rate the
# final iterate's SGD noise alone is worth ~0.01-0.02 nats). Measured excess NLL over the
# entropy: seeds 0-9 all below 0.032; over seeds 0-19, 19 of 20 below 0.05 (one at 0.068).
TOY_SIZES = [9, 10, 5]


def _toy_fit(seed):
    X = np.tile(lines_dataset(), (4, 1))
    hm = HelmholtzMachine(TOY_SIZES, seed=seed, init_scale=0.1)
    common = {"method": "nrws", "batch_size": 8, "samples": 10, "damping": 0.01, "momentum": 0.5}
    hm.fit(X, epochs=120, learning_rate=0.1, **common)
    hm.fit(X, epochs=30, learning_rate=0.02, **common)
    Xp, p = lines_distribution()
    return float(-(p @ hm.exact_log_likelihood(Xp)))


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(10))
def test_nrws_learns_the_lines_toy(seed):
    nll = _toy_fit(seed)
    assert nll - LINES_ENTROPY < 0.05, nll - LINES_ENTROPY


def test_lines_entropy():
    X, p = lines_distribution()
    assert X.shape == (12, 9) and len({tuple(r) for r in X}) == 12
    np.testing.assert_allclose(p.sum(), 1.0, rtol=1e-15)
    np.testing.assert_allclose(
        LINES_ENTROPY, 2 / 3 * math.log(9) + 1 / 3 * math.log(18), rtol=1e-15
    )
    assert round(LINES_ENTROPY, 3) == 2.428
    data = lines_dataset()
    assert data.shape == (18, 9)


@pytest.mark.parametrize("method", ["rws", "nrws", "ws", "nws"])
def test_fit_is_bit_reproducible_and_records_history(method):
    X = lines_dataset()
    runs = []
    for _ in range(2):
        hm = HelmholtzMachine([9, 4, 2], seed=3)
        h = hm.fit(
            X,
            method=method,
            epochs=3,
            batch_size=5,
            validation=X,
            validation_samples=7,
            momentum=0.5,
            fisher_every=2,
        )
        runs.append((hm, h))
    (a, ha), (b, hb) = runs
    for x, y in zip(a._params, b._params, strict=True):
        for u, v in zip(x, y, strict=True):
            assert np.array_equal(u, v)
    assert ha.train_bound == hb.train_bound and ha.validation_nll == hb.validation_nll
    assert ha.epoch == [1, 2, 3] and len(ha.seconds) == 3 and ha.stopped == "epochs"
    assert all(v is not None and v > 0 for v in ha.validation_nll)
    assert ha.as_dict()["method"] == method


def test_callback_stops_and_an_interrupt_leaves_a_whole_model():
    X = lines_dataset()
    ref_model = HelmholtzMachine([9, 4, 2], seed=5)
    ref_model.fit(X, epochs=2, batch_size=6)

    hm = HelmholtzMachine([9, 4, 2], seed=5)
    h = hm.fit(X, epochs=10, batch_size=6, callback=lambda m, r: r.epoch == 2)
    assert h.stopped == "callback" and len(h.records) == 2

    def interrupt(model, record):
        if record.epoch == 2:
            raise KeyboardInterrupt

    hm2 = HelmholtzMachine([9, 4, 2], seed=5)
    h2 = hm2.fit(X, epochs=10, batch_size=6, callback=interrupt)
    assert h2.stopped == "interrupted" and len(h2.records) == 2
    for model in (hm, hm2):
        for x, y in zip(model._params, ref_model._params, strict=True):
            for u, v in zip(x, y, strict=True):
                assert np.array_equal(u, v)


def test_progress_bar_runs(capsys):
    HelmholtzMachine([9, 3], seed=0).fit(lines_dataset(), epochs=2, progress=True)


# --- persistence and sampling ------------------------------------------------------------------


@pytest.mark.parametrize("units", UNITS)
def test_save_load_and_pickle_round_trip(tmp_path, units):
    hm = random_model([5, 3, 2], units, seed=15)
    path = tmp_path / "hm.npz"
    hm.save(path)
    back = HelmholtzMachine.load(path)
    clone = pickle.loads(pickle.dumps(hm))
    for other in (back, clone):
        assert other.sizes == hm.sizes and other.units == hm.units
        for x, y in zip(other._params, hm._params, strict=True):
            for u, v in zip(x, y, strict=True):
                assert np.array_equal(u, v)
    np.testing.assert_array_equal(clone.sample(4), hm.sample(4))  # the generator travels too
    with np.load(path, allow_pickle=False) as data:
        assert "gw0" in data
    assert not hm.generative_weights[0].flags.writeable


def test_sample_marginals_match_the_exact_distribution():
    hm = random_model([3, 2], "binary", seed=16)
    x = hm.sample(20000, np.random.default_rng(17))
    states = all_states([3], False)[0]
    exact = np.exp(hm.exact_log_likelihood(states))
    counts = np.array([np.all(x == s, axis=1).sum() for s in states]) / len(x)
    se = np.sqrt(exact * (1 - exact) / len(x))
    assert np.all(np.abs(counts - exact) < 5 * se)


def test_the_shipped_digits_equal_scikit_learns():
    X, y = digits_binary(labels=True)
    assert X.shape == (1797, 64) and set(np.unique(X)) == {0.0, 1.0} and y.shape == (1797,)
    datasets = pytest.importorskip("sklearn.datasets")
    d = datasets.load_digits()
    np.testing.assert_array_equal(X, (d.data > 8).astype(float))
    np.testing.assert_array_equal(y, d.target)


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"sizes": [4]}, "sizes"),
        ({"sizes": [4, 0]}, "sizes"),
        ({"sizes": [4, -2, 3]}, "sizes"),
        ({"sizes": 4}, "sizes"),
        ({"sizes": [4, 2], "units": "ising"}, "units"),
        ({"sizes": [4, 2.5]}, "sizes"),
    ],
)
def test_bad_construction(kwargs, word):
    with pytest.raises(ValueError, match=word):
        HelmholtzMachine(**kwargs)


@pytest.mark.parametrize(
    ("X", "kwargs", "word"),
    [
        (np.zeros((3, 5)), {}, "X must have shape"),
        (np.zeros(4), {}, "X must be 2-dimensional"),
        (np.full((3, 4), 0.5), {}, "X must contain only 0 and 1"),
        (np.full((3, 4), np.nan), {}, "X must be finite"),
        (np.zeros((3, 4)), {"damping": 0.0}, "damping must be > 0"),
        (np.zeros((3, 4)), {"damping": -1.0}, "damping must be > 0"),
        (np.zeros((3, 4)), {"method": "adam"}, "method must be one of"),
        (np.zeros((3, 4)), {"samples": 0}, "samples must be >= 1"),
        (np.zeros((3, 4)), {"batch_size": 0}, "batch_size must be >= 1"),
        (np.zeros((3, 4)), {"learning_rate": -0.1}, "learning_rate must be > 0"),
        (np.zeros((3, 4)), {"momentum": 1.0}, "momentum must be in"),
        (np.zeros((3, 4)), {"fisher_every": 0}, "fisher_every must be >= 1"),
        (np.zeros((3, 4)), {"fisher_samples": 0}, "fisher_samples must be >= 1"),
        (np.zeros((3, 4)), {"validation": np.zeros((2, 3))}, "validation must have shape"),
        (np.zeros((3, 4)), {"callback": 3}, "callback must be callable"),
    ],
)
def test_bad_fit_input(X, kwargs, word):
    with pytest.raises(ValueError, match=word):
        HelmholtzMachine([4, 2], seed=0).fit(X, epochs=1, **kwargs)


def test_spin_data_must_be_plus_minus_one():
    hm = HelmholtzMachine([4, 2], "spin", seed=0)
    with pytest.raises(ValueError, match="X must contain only -1 and 1"):
        hm.log_likelihood(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="samples must be >= 1"):
        hm.log_likelihood(np.ones((2, 4)), samples=0)
    with pytest.raises(ValueError, match="network must be"):
        hm.fisher_blocks("joint", [np.ones((1, 4)), np.ones((1, 2))])
