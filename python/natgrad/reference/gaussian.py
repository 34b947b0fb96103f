"""Pure-NumPy twin of the compiled Gaussian kernels (cpp/src/gaussian.cpp and fisher.cpp).

Written for clarity: each function is the textbook formula (MATH.md), vectorised, with explicit
inverses where they make the formula plainer. The compiled core must agree with these functions
(tests) and is timed against them (bench/kernels.py). Packed layout: see :mod:`natgrad.packing`.
"""

from __future__ import annotations

import numpy as np

from ..packing import dim_from_packed_size, pack, packed_size, unpack

LOG_2PI = float(np.log(2.0 * np.pi))


def cholesky(cov: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor L, L Lᵀ = Σ."""
    return np.linalg.cholesky(cov)


# --- conversions -----------------------------------------------------------------------------
def natural_from_mean_cov(mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """θ = (Σ⁻¹μ, −½ (Σ⁻¹)_ii, −½ (Σ⁻¹)_ij)."""
    precision = np.linalg.inv(cov)
    return pack(precision @ mean, -0.5 * precision)


def expectation_from_mean_cov(mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """η = E[T] = (μ_i, E_ii, 2 E_ij) with E = Σ + μμᵀ."""
    return pack(mean, cov + np.outer(mean, mean), offdiag_scale=2.0)


def pack_mean_cov(mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """ξ = (μ_i, σ_ii, σ_ij)."""
    return pack(mean, cov)


def mean_cov_from_natural(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """μ = −½ Θ⁻¹ θ_vec, Σ = −½ Θ⁻¹."""
    t, big_theta = unpack(theta)
    cov = np.linalg.inv(-2.0 * big_theta)
    return cov @ t, cov


def mean_cov_from_expectation(eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """μ = η_vec, Σ = E − μμᵀ."""
    mean, second_moment = unpack(eta, offdiag_scale=2.0)
    return mean, second_moment - np.outer(mean, mean)


def mean_cov_from_packed(xi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return unpack(xi)


def expectation_from_natural(theta: np.ndarray) -> np.ndarray:
    return expectation_from_mean_cov(*mean_cov_from_natural(theta))


def natural_from_expectation(eta: np.ndarray) -> np.ndarray:
    return natural_from_mean_cov(*mean_cov_from_expectation(eta))


# --- potentials --------------------------------------------------------------------------------
def log_partition_natural(theta: np.ndarray) -> float:
    """ψ(θ) = n/2 log 2π − ¼ θᵀΘ⁻¹θ − ½ log|−2Θ| (seed 003)."""
    t, big_theta = unpack(theta)
    n = len(t)
    _, logdet = np.linalg.slogdet(-2.0 * big_theta)
    return float(0.5 * n * LOG_2PI - 0.25 * t @ np.linalg.solve(big_theta, t) - 0.5 * logdet)


def log_partition_mean_cov(mean: np.ndarray, cov: np.ndarray) -> float:
    """ψ = n/2 log 2π + ½ μᵀΣ⁻¹μ + ½ log|Σ|."""
    _, logdet = np.linalg.slogdet(cov)
    return float(0.5 * len(mean) * LOG_2PI + 0.5 * mean @ np.linalg.solve(cov, mean) + 0.5 * logdet)


def neg_entropy_mean_cov(cov: np.ndarray) -> float:
    """φ = −n/2 (log 2π + 1) − ½ log|Σ|."""
    _, logdet = np.linalg.slogdet(cov)
    return float(-0.5 * len(cov) * (LOG_2PI + 1.0) - 0.5 * logdet)


def neg_entropy_natural(theta: np.ndarray) -> float:
    return neg_entropy_mean_cov(mean_cov_from_natural(theta)[1])


def neg_entropy_expectation(eta: np.ndarray) -> float:
    """φ(η) = −n/2 (log 2π + 1) − ½ log|E − ηηᵀ|."""
    return neg_entropy_mean_cov(mean_cov_from_expectation(eta)[1])


def kl(mean_p: np.ndarray, cov_p: np.ndarray, mean_q: np.ndarray, cov_q: np.ndarray) -> float:
    """KL(p‖q) = ½ [tr(Σ_q⁻¹Σ_p) + (μ_q − μ_p)ᵀΣ_q⁻¹(μ_q − μ_p) − n + log |Σ_q|/|Σ_p|]."""
    d = mean_q - mean_p
    prec_q = np.linalg.inv(cov_q)
    _, logdet_p = np.linalg.slogdet(cov_p)
    _, logdet_q = np.linalg.slogdet(cov_q)
    return float(0.5 * (np.trace(prec_q @ cov_p) + d @ prec_q @ d - len(d) + logdet_q - logdet_p))


# --- data ---------------------------------------------------------------------------------------
def log_prob(mean: np.ndarray, cov: np.ndarray, x: np.ndarray) -> np.ndarray:
    """log N(x; μ, Σ) for each row of x."""
    d = x - mean
    _, logdet = np.linalg.slogdet(cov)
    maha = np.einsum("ni,ni->n", d, np.linalg.solve(cov, d.T).T)
    return -0.5 * (len(mean) * LOG_2PI + logdet + maha)


def sufficient_stats(x: np.ndarray) -> np.ndarray:
    """T(x) = (x_i, x_i², 2 x_i x_j) for each row of x."""
    n = x.shape[1]
    iu, ju = np.triu_indices(n, k=1)
    return np.concatenate([x, x**2, 2.0 * x[:, iu] * x[:, ju]], axis=1)


def sample(mean: np.ndarray, cov: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """μ + L z for each row z of ``normals``, L L ᵀ = Σ."""
    return mean + normals @ np.linalg.cholesky(cov).T


# --- Fisher information ---------------------------------------------------------------------
def _pairs(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each packed coordinate as a pair (i, j) of augmented indices; vector coordinate k = (k, n).

    Returns (i, j, kind) with kind 0 = vector, 1 = diagonal, 2 = off-diagonal pair.
    """
    iu, ju = np.triu_indices(n, k=1)
    ar = np.arange(n)
    i = np.concatenate([ar, ar, iu])
    j = np.concatenate([np.full(n, n), ar, ju])
    kind = np.concatenate([np.zeros(n, int), np.ones(n, int), np.full(len(iu), 2)])
    return i, j, kind


def _select(n: int, free: np.ndarray | None) -> np.ndarray:
    return np.arange(packed_size(n)) if free is None else np.asarray(free, dtype=int)


def fisher_natural(mean: np.ndarray, cov: np.ndarray, free: np.ndarray | None = None) -> np.ndarray:
    """I_θ = Cov(T, T) by Isserlis' theorem, with x_k read as x_k·1 (augmented index n).

    Cov(x_i x_j, x_k x_l) = S_ik S_jl + S_il S_jk + m_i m_k S_jl + m_i m_l S_jk + m_j m_k S_il
    + m_j m_l S_ik, S = [[Σ, 0], [0, 0]], m = (μ, 1); times 2 per off-diagonal statistic.
    """
    n = len(mean)
    idx = _select(n, free)
    i, j, kind = (a[idx] for a in _pairs(n))
    s = np.zeros((n + 1, n + 1))
    s[:n, :n] = cov
    m = np.append(mean, 1.0)
    c = np.where(kind == 2, 2.0, 1.0)
    ii, jj, kk, ll = i[:, None], j[:, None], i[None, :], j[None, :]
    cov_tt = (
        s[ii, kk] * s[jj, ll]
        + s[ii, ll] * s[jj, kk]
        + m[ii] * m[kk] * s[jj, ll]
        + m[ii] * m[ll] * s[jj, kk]
        + m[jj] * m[kk] * s[ii, ll]
        + m[jj] * m[ll] * s[ii, kk]
    )
    return np.outer(c, c) * cov_tt


def _pair_gram(aug: np.ndarray, i: np.ndarray, j: np.ndarray, c: np.ndarray) -> np.ndarray:
    """¼ c_a c_b (A_ik A_jl + A_il A_jk)."""
    ii, jj, kk, ll = i[:, None], j[:, None], i[None, :], j[None, :]
    return 0.25 * np.outer(c, c) * (aug[ii, kk] * aug[jj, ll] + aug[ii, ll] * aug[jj, kk])


def fisher_expectation(
    mean: np.ndarray, precision: np.ndarray, free: np.ndarray | None = None
) -> np.ndarray:
    """I_η in closed form (seed 003's Γ, K, κ blocks; SEED_ERRATA #18).

    With B = Σ⁻¹ and u = Bμ: Γ = (1 + μᵀBμ) B + u uᵀ; vector–pair (i, j) entries −(B_ki u_j +
    B_kj u_i)/2; pair–pair entries (B_ik B_jl + B_il B_jk)/4. Equivalently ¼ c_a c_b (Bt_ik Bt_jl +
    Bt_il Bt_jk) with Bt = E[(x,1)(x,1)ᵀ]⁻¹ and c = 2 on vector coordinates.
    """
    n = len(mean)
    idx = _select(n, free)
    i, j, kind = (a[idx] for a in _pairs(n))
    u = precision @ mean
    aug = np.block([[precision, -u[:, None]], [-u[None, :], np.array([[1.0 + mean @ u]])]])
    return _pair_gram(aug, i, j, np.where(kind == 0, 2.0, 1.0))


def fisher_mean_cov(precision: np.ndarray, free: np.ndarray | None = None) -> np.ndarray:
    """I_(μ,Σ) = blockdiag(B, α) by Miller's formula, α = ½ tr(B ∂Σ B ∂Σ) (SEED_ERRATA #4).

    α = ½ (B_ik)² (diagonal–diagonal), B_ik B_il (diagonal–pair), B_ik B_jl + B_il B_jk (pairs).
    """
    n = len(precision)
    idx = _select(n, free)
    i, j, kind = (a[idx] for a in _pairs(n))
    aug = np.zeros((n + 1, n + 1))
    aug[:n, :n] = precision
    aug[n, n] = 1.0
    return _pair_gram(aug, i, j, np.where(kind == 1, 1.0, 2.0))


# --- products and solves through n × n identities -------------------------------------------
def fisher_product_natural(mean: np.ndarray, cov: np.ndarray, v: np.ndarray) -> np.ndarray:
    """I_θ v = Cov(T, ⟨v, T⟩): (w, 2ΣVΣ + μwᵀ + wμᵀ) with w = Σa + 2ΣVμ."""
    a, big_v = unpack(v)
    w = cov @ a + 2.0 * cov @ big_v @ mean
    m = 2.0 * cov @ big_v @ cov + np.outer(mean, w) + np.outer(w, mean)
    return pack(w, m, offdiag_scale=2.0)


def fisher_product_expectation(
    mean: np.ndarray, precision: np.ndarray, v: np.ndarray
) -> np.ndarray:
    """I_η v by Miller's formula pulled back to η: (B dμ − Gμ, G/2), G = B dΣ B."""
    dmu, d_second = unpack(v, offdiag_scale=2.0)
    dsigma = d_second - np.outer(dmu, mean) - np.outer(mean, dmu)
    g = precision @ dsigma @ precision
    return pack(precision @ dmu - g @ mean, 0.5 * g)


def fisher_product_mean_cov(precision: np.ndarray, v: np.ndarray) -> np.ndarray:
    """I_ξ v = (B a, ½ B V B) (matrix part with the factor 2 on pairs)."""
    a, big_v = unpack(v)
    return pack(precision @ a, 0.5 * precision @ big_v @ precision, offdiag_scale=2.0)


def natural_gradient(
    mean: np.ndarray, cov: np.ndarray, grad: np.ndarray, coords: str, damping: float = 0.0
) -> np.ndarray:
    """(I + damping·Id)⁻¹ grad by the dense route: assemble I and solve (O(m³))."""
    precision = np.linalg.inv(cov)
    fisher = {
        "natural": lambda: fisher_natural(mean, cov),
        "expectation": lambda: fisher_expectation(mean, precision),
        "mean_cov": lambda: fisher_mean_cov(precision),
    }[coords]()
    return np.linalg.solve(fisher + damping * np.eye(len(fisher)), grad)


def natural_gradient_undamped(
    mean: np.ndarray, cov: np.ndarray, grad: np.ndarray, coords: str
) -> np.ndarray:
    """I⁻¹ grad through n × n identities: I_θ⁻¹ = I_η, I_η⁻¹ = I_θ, I_ξ⁻¹ g = (Σg_μ, 2ΣGΣ)."""
    if coords == "natural":
        return fisher_product_expectation(mean, np.linalg.inv(cov), grad)
    if coords == "expectation":
        return fisher_product_natural(mean, cov, grad)
    g_mu, g_mat = unpack(grad, offdiag_scale=2.0)
    return pack(cov @ g_mu, 2.0 * cov @ g_mat @ cov)


__all__ = [
    "LOG_2PI",
    "cholesky",
    "dim_from_packed_size",
    "expectation_from_mean_cov",
    "expectation_from_natural",
    "fisher_expectation",
    "fisher_mean_cov",
    "fisher_natural",
    "fisher_product_expectation",
    "fisher_product_mean_cov",
    "fisher_product_natural",
    "kl",
    "log_partition_mean_cov",
    "log_partition_natural",
    "log_prob",
    "mean_cov_from_expectation",
    "mean_cov_from_natural",
    "mean_cov_from_packed",
    "natural_from_expectation",
    "natural_from_mean_cov",
    "natural_gradient",
    "natural_gradient_undamped",
    "neg_entropy_expectation",
    "neg_entropy_mean_cov",
    "neg_entropy_natural",
    "pack_mean_cov",
    "sample",
    "sufficient_stats",
]
