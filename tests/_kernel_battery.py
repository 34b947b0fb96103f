"""A fixed battery of valid calls of every non-search ``natgrad._core`` kernel.

Shared by the buffer-alignment, threading and cross-ISA-level tests: each entry is a kernel name
and the arguments of one call, drawn from a seeded generator so that two processes build the same
battery bit for bit. The sizes (n = 6, so m = 27 packed coordinates, N = 40 samples) are large
enough for every SIMD width to run full packets, a peeled head and a scalar tail.
"""

from __future__ import annotations

from typing import Any

import numpy as np

N_DIM, N_SAMPLES = 6, 40

# The kernels of the search area (sampling and the strategy updates), tested with the strategies.
SEARCH_KERNELS = frozenset(
    {
        "sample_full",
        "sample_diagonal",
        "gemm_factor_update",
        "lowrank_expm_factor",
        "igo_cma_update",
        "xnes_update",
        "snes_update",
        "lowrank_nes_sample",
        "lowrank_nes_update",
    }
)


def core_kernels() -> list[str]:
    """Names of every compiled function of ``natgrad._core`` (the extension's, not the loader's)."""
    from natgrad import _core

    module = _core._module
    return sorted(
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and type(value).__name__ == "builtin_function_or_method"
    )


def _spd(rng: np.random.Generator, n: int, cond: float) -> np.ndarray:
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (q * np.geomspace(1.0, 1.0 / cond, n)) @ q.T


def _packed(vec: np.ndarray, mat: np.ndarray, offdiag_scale: float) -> np.ndarray:
    n = vec.size
    iu = np.triu_indices(n, 1)
    return np.concatenate([vec, np.diag(mat), offdiag_scale * mat[iu]])


def battery(seed: int = 20261201) -> list[tuple[str, tuple[Any, ...]]]:
    """(kernel name, arguments) for one valid call of each kernel; arrays are C-contiguous."""
    rng = np.random.default_rng(seed)
    n, big_n = N_DIM, N_SAMPLES
    m = n + n * (n + 1) // 2
    mean, cov = rng.standard_normal(n), _spd(rng, n, 20.0)
    mean_q, cov_q = rng.standard_normal(n), _spd(rng, n, 5.0)
    prec = np.linalg.inv(cov)
    prec = 0.5 * (prec + prec.T)
    theta = _packed(prec @ mean, -0.5 * prec, 1.0)
    eta = _packed(mean, cov + np.outer(mean, mean), 2.0)
    xi = _packed(mean, cov, 1.0)
    grad = rng.standard_normal(m)
    X = mean + rng.standard_normal((big_n, n)) @ np.linalg.cholesky(cov).T
    f = (X**2).sum(axis=1) + X @ rng.standard_normal(n)
    normals = rng.standard_normal((big_n, n))
    B = rng.standard_normal((m, m))
    fisher = B @ B.T / m + np.eye(m)
    rhs = rng.standard_normal((m, 3))
    u = rng.standard_normal((m, 9))
    Xb = np.where(rng.random((big_n, n)) < 0.5, -1.0, 1.0)
    fb = Xb @ rng.standard_normal(n) + Xb[:, 0] * Xb[:, 1]
    theta_b = 0.3 * rng.standard_normal(n)
    free = [0, 2, 3, n, n + 2, 2 * n + 1, m - 1]
    # GMRF kernels on a chordal graph whose perfect elimination order is not the natural one
    from natgrad import _core, graphs
    from natgrad.optim import GMRF

    tree = graphs.from_edges(
        n, [[3, 0], [3, 1], [1, 4], [4, 5], [2, 3], [1, 3]][: n - 1] + [[0, 1]]
    )
    el, st = tree.elimination(), tree.compiled()
    cols = np.repeat(np.arange(n), np.diff(el.colptr))
    cov_p = cov[np.ix_(el.perm, el.perm)]
    s_diag, s_off = np.diag(cov_p).copy(), cov_p[cols, el.rows].copy()
    b, d = _core.gmrf_complete(s_diag, s_off, st)
    gmrf_params = _core.IGOCMAParams(**GMRF(graph=tree).parameters(n, big_n)._asdict())
    gmrf_args = (mean, 0.7, s_diag, s_off, grad[:n], grad[n : 2 * n], normals, X, f, 4)
    # a sigmoid belief network layer: N samples of n binary inputs, 5 units with weights sigma'
    H01 = (rng.random((big_n, n)) < 0.5).astype(np.float64)
    S = np.ascontiguousarray(0.25 / np.cosh(0.5 * (H01 @ rng.standard_normal((n, 5))) - 0.2) ** 2)
    F_blocks = np.tile(np.linalg.cholesky(np.eye(n + 1) * 1.5 + 0.1).ravel(), (5, 1))
    F_wood = np.tile(np.linalg.cholesky(np.eye(5) * 1.5 + 0.1).ravel(), (5, 1))
    G_rows = rng.standard_normal((5, n + 1))
    return [
        ("gmrf_complete", (s_diag, s_off, st)),
        ("gmrf_sample", (mean, 0.7, b, d, normals, st)),
        ("gmrf_whiten", (mean, 0.7, b, d, X, st)),
        ("gmrf_precision_diagonal", (b, d, st)),
        ("gmrf_precision_off", (b, d, st)),
        ("gmrf_pattern_covariance", (b, d, st)),
        (
            "gmrf_factor",
            (_core.gmrf_precision_diagonal(b, d, st), _core.gmrf_precision_off(b, d, st), st),
        ),
        ("gmrf_solve", (b, d, mean, st)),
        ("gmrf_update", (*gmrf_args, gmrf_params, st)),
        ("damped_cholesky_solve", (fisher, rhs, 0.1)),
        ("woodbury_solve", (u, rhs, 0.5)),
        ("gaussian_cholesky", (cov,)),
        ("gaussian_precision_from_cov", (cov,)),
        ("gaussian_natural_from_mean_cov", (mean, cov)),
        ("gaussian_expectation_from_mean_cov", (mean, cov)),
        ("gaussian_pack_mean_cov", (mean, cov)),
        ("gaussian_mean_cov_from_natural", (theta,)),
        ("gaussian_mean_cov_from_expectation", (eta,)),
        ("gaussian_mean_cov_from_packed", (xi,)),
        ("gaussian_expectation_from_natural", (theta,)),
        ("gaussian_natural_from_expectation", (eta,)),
        ("gaussian_log_partition_natural", (theta,)),
        ("gaussian_log_partition_mean_cov", (mean, cov)),
        ("gaussian_neg_entropy_natural", (theta,)),
        ("gaussian_neg_entropy_expectation", (eta,)),
        ("gaussian_neg_entropy_mean_cov", (cov,)),
        ("gaussian_kl", (mean, cov, mean_q, cov_q)),
        ("gaussian_log_prob", (mean, cov, X)),
        ("gaussian_sufficient_stats", (X,)),
        ("gaussian_sample", (mean, cov, normals)),
        ("gaussian_fisher_natural", (mean, cov, None)),
        ("gaussian_fisher_natural", (mean, cov, free)),
        ("gaussian_fisher_expectation", (mean, prec, None)),
        ("gaussian_fisher_mean_cov", (prec, free)),
        ("gaussian_fisher_product_natural", (mean, cov, grad)),
        ("gaussian_fisher_product_expectation", (mean, prec, grad)),
        ("gaussian_fisher_product_mean_cov", (prec, grad)),
        ("gaussian_natural_gradient_natural", (mean, cov, prec, grad, 0.0)),
        ("gaussian_natural_gradient_natural", (mean, cov, prec, grad, 0.3)),
        ("gaussian_natural_gradient_expectation", (mean, cov, prec, grad, 0.0)),
        ("gaussian_natural_gradient_expectation", (mean, cov, prec, grad, 0.3)),
        ("gaussian_natural_gradient_mean_cov", (cov, grad, 0.0)),
        ("gaussian_natural_gradient_mean_cov", (cov, grad, 0.3)),
        ("cov_f_stats", (X, f)),
        ("empirical_fisher", (X,)),
        ("natural_gradient_theta_empirical", (X, f, 0.0)),
        ("natural_gradient_theta_empirical", (X, f, 0.1)),
        ("natural_gradient_theta_exact", (X, f, mean, cov)),
        ("natural_gradient_mean_cov", (X, f, mean)),
        ("tangent_mean_cov_to_theta", (mean, cov, grad)),
        ("tangent_theta_to_mean_cov", (mean, cov, grad)),
        ("binary_cov_f_x", (Xb, fb)),
        ("binary_fisher_theta", (theta_b,)),
        ("binary_natural_gradient", (Xb, fb, theta_b)),
        ("fisher_blocks_factor", (H01, S, 0.1)),
        ("fisher_blocks_solve", (F_blocks, G_rows)),
        ("fisher_blocks_inverse", (F_blocks,)),
        ("fisher_blocks_woodbury_factor", (H01[:5], S[:5], 0.1)),
        ("fisher_blocks_woodbury_solve", (H01[:5], S[:5], F_wood, G_rows, 0.1)),
        ("standard_normal", (0x243F6A8885A308D3, 7, 301)),
        ("splitmix64", (0x13198A2E03707344, 12345)),
    ]


def flatten(result: Any) -> np.ndarray:
    """A kernel's result (array, float or tuple of them, None parts dropped) as one 1-D array."""
    parts = result if isinstance(result, tuple) else (result,)
    return np.concatenate(
        [np.ravel(np.asarray(p, dtype=np.float64)) for p in parts if p is not None]
    )


def run(core: Any, calls: list[tuple[str, tuple[Any, ...]]]) -> list[np.ndarray]:
    """Every call of the battery on ``core``, results flattened."""
    return [flatten(getattr(core, name)(*args)) for name, args in calls]
