# Type stub of the compiled core (natgrad._core_<isa>, re-exported by natgrad._core).
# Private: the public API lives in the natgrad package. Keep in step with cpp/bindings/.
import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

isa_level: str
built_levels: str  # space-separated
levels_requested: str
build_flags: str
compiler: str
eigen_version: str
eigen_simd: str

def supported_levels() -> list[str]: ...

# linalg
def damped_cholesky_solve(fisher: F64, rhs: F64, damping: float) -> F64: ...
def woodbury_solve(u: F64, rhs: F64, damping: float) -> F64: ...

# gaussian (cpp/src/gaussian.cpp, fisher.cpp)
def gaussian_cholesky(cov: F64) -> F64: ...
def gaussian_precision_from_cov(cov: F64) -> F64: ...
def gaussian_natural_from_mean_cov(mean: F64, cov: F64) -> F64: ...
def gaussian_expectation_from_mean_cov(mean: F64, cov: F64) -> F64: ...
def gaussian_pack_mean_cov(mean: F64, cov: F64) -> F64: ...
def gaussian_mean_cov_from_natural(theta: F64) -> tuple[F64, F64, F64]: ...
def gaussian_mean_cov_from_expectation(eta: F64) -> tuple[F64, F64, None]: ...
def gaussian_mean_cov_from_packed(xi: F64) -> tuple[F64, F64, None]: ...
def gaussian_expectation_from_natural(theta: F64) -> F64: ...
def gaussian_natural_from_expectation(eta: F64) -> F64: ...
def gaussian_log_partition_natural(theta: F64) -> float: ...
def gaussian_log_partition_mean_cov(mean: F64, cov: F64) -> float: ...
def gaussian_neg_entropy_natural(theta: F64) -> float: ...
def gaussian_neg_entropy_expectation(eta: F64) -> float: ...
def gaussian_neg_entropy_mean_cov(cov: F64) -> float: ...
def gaussian_kl(mean_p: F64, cov_p: F64, mean_q: F64, cov_q: F64) -> float: ...
def gaussian_log_prob(mean: F64, cov: F64, x: F64) -> F64: ...
def gaussian_sufficient_stats(x: F64) -> F64: ...
def gaussian_sample(mean: F64, cov: F64, normals: F64) -> F64: ...
def gaussian_fisher_natural(mean: F64, cov: F64, free: list[int] | None = None) -> F64: ...
def gaussian_fisher_expectation(
    mean: F64, precision: F64, free: list[int] | None = None
) -> F64: ...
def gaussian_fisher_mean_cov(precision: F64, free: list[int] | None = None) -> F64: ...
def gaussian_fisher_product_natural(mean: F64, cov: F64, v: F64) -> F64: ...
def gaussian_fisher_product_expectation(mean: F64, precision: F64, v: F64) -> F64: ...
def gaussian_fisher_product_mean_cov(precision: F64, v: F64) -> F64: ...
def gaussian_natural_gradient_natural(
    mean: F64, cov: F64, precision: F64, grad: F64, damping: float
) -> F64: ...
def gaussian_natural_gradient_expectation(
    mean: F64, cov: F64, precision: F64, grad: F64, damping: float
) -> F64: ...
def gaussian_natural_gradient_mean_cov(cov: F64, grad: F64, damping: float) -> F64: ...

# estimation (Monte Carlo estimators for stochastic relaxation)
def cov_f_stats(X: F64, f: F64) -> F64: ...
def empirical_fisher(X: F64) -> F64: ...
def natural_gradient_theta_empirical(X: F64, f: F64, damping: float) -> F64: ...
def natural_gradient_theta_exact(X: F64, f: F64, mean: F64, cov: F64) -> F64: ...
def natural_gradient_mean_cov(X: F64, f: F64, mean: F64) -> F64: ...
def tangent_mean_cov_to_theta(mean: F64, cov: F64, dxi: F64) -> F64: ...
def tangent_theta_to_mean_cov(mean: F64, cov: F64, dtheta: F64) -> F64: ...
def binary_cov_f_x(X: F64, f: F64) -> F64: ...
def binary_fisher_theta(theta: F64) -> F64: ...
def binary_natural_gradient(X: F64, f: F64, theta: F64) -> F64: ...

# wake_sleep (per-unit Fisher blocks of a sigmoid belief network layer)
def fisher_blocks_factor(inputs: F64, weights: F64, damping: float) -> F64: ...
def fisher_blocks_solve(factors: F64, grads: F64) -> F64: ...
def fisher_blocks_woodbury_factor(inputs: F64, weights: F64, damping: float) -> F64: ...
def fisher_blocks_woodbury_solve(
    inputs: F64, weights: F64, factors: F64, grads: F64, damping: float
) -> F64: ...

# search (IGO-CMA, xNES, SNES kernels)
class IGOCMAParams:
    weights: F64
    mueff: float
    c_sigma: float
    d_sigma: float
    c_c: float
    c1: float
    cmu: float
    chi_n: float
    def __init__(
        self,
        *,
        weights: F64,
        mueff: float,
        c_sigma: float,
        d_sigma: float,
        c_c: float,
        c1: float,
        cmu: float,
        chi_n: float,
    ) -> None: ...

class XNESParams:
    utilities: F64
    recombination: F64
    eta_b: float
    csa: bool
    def __init__(
        self,
        *,
        utilities: F64,
        recombination: F64,
        mueff: float,
        eta_mu: float,
        eta_sigma: float,
        eta_b: float,
        csa: bool,
        c_sigma: float,
        d_sigma: float,
        chi_n: float,
    ) -> None: ...

class SNESParams:
    utilities: F64
    eta_mu: float
    eta_sigma: float
    def __init__(self, *, utilities: F64, eta_mu: float, eta_sigma: float) -> None: ...

def sample_full(mean: F64, sigma: float, factor: F64, noise: F64) -> F64: ...
def sample_diagonal(mean: F64, sigma: float, scales: F64, noise: F64) -> F64: ...
def gemm_factor_update(factor: F64, yt: F64, zt: F64, beta: F64, a: float) -> tuple[F64, F64]: ...
def lowrank_expm_factor(factor: F64, yt: F64, zt: F64, s: F64) -> F64: ...
def igo_cma_update(
    mean: F64,
    sigma: float,
    factor: F64,
    p_sigma: F64,
    p_c_z: F64,
    noise: F64,
    samples: F64,
    values: F64,
    generation: int,
    params: IGOCMAParams,
    factor_out: F64 | None = None,
) -> tuple[F64, float, F64, F64, F64, bool, int]: ...
def xnes_update(
    mean: F64,
    sigma: float,
    factor: F64,
    p_sigma: F64,
    noise: F64,
    samples: F64,
    values: F64,
    params: XNESParams,
    factor_out: F64 | None = None,
) -> tuple[F64, float, F64, F64]: ...
def snes_update(
    mean: F64, sigma: float, scales: F64, noise: F64, values: F64, params: SNESParams
) -> tuple[F64, float, F64]: ...

# restricted-covariance NES (LowRankNES kernels)
class LowRankNESParams:
    w_rank: F64
    eta_b: float
    rank: int
    def __init__(
        self,
        *,
        w_rank_hat: F64,
        w_rank: F64,
        mueff: float,
        c_s: float,
        c_c: float,
        c1: float,
        chi_n: float,
        alpha_dist: float,
        eta_m: float,
        eta_move_sigma: float,
        eta_stag_sigma: float,
        eta_conv_sigma: float,
        eta_b: float,
        rank: int,
    ) -> None: ...

def lowrank_nes_sample(
    mean: F64, sigma: float, scales: F64, v: F64, noise: F64, rank: int
) -> F64: ...
def lowrank_nes_update(
    mean: F64,
    sigma: float,
    scales: F64,
    v: F64,
    p_sigma: F64,
    p_c: F64,
    noise: F64,
    values: F64,
    params: LowRankNESParams,
) -> tuple[F64, float, F64, F64, F64, F64]: ...

# --- Gaussian Markov random fields (natgrad.graphs, natgrad.optim.gmrf)
class GMRFStructure:
    def __init__(self, *, perm: I64, colptr: I64, rows: I64, pair_ptr: I64, pairs: I64) -> None: ...
    @property
    def n(self) -> int: ...
    @property
    def nnz(self) -> int: ...
    @property
    def max_clique(self) -> int: ...
    @property
    def ring_size(self) -> int: ...

def gmrf_complete(s_diag: F64, s_off: F64, structure: GMRFStructure) -> tuple[F64, F64]: ...
def gmrf_sample(
    mean: F64, sigma: float, b: F64, d: F64, noise: F64, structure: GMRFStructure
) -> F64: ...
def gmrf_whiten(
    mean: F64, sigma: float, b: F64, d: F64, samples: F64, structure: GMRFStructure
) -> F64: ...
def gmrf_precision_diagonal(b: F64, d: F64, structure: GMRFStructure) -> F64: ...
def gmrf_update(
    mean: F64,
    sigma: float,
    s_diag: F64,
    s_off: F64,
    p_sigma: F64,
    p_c: F64,
    noise: F64,
    samples: F64,
    values: F64,
    generation: int,
    params: IGOCMAParams,
    structure: GMRFStructure,
) -> tuple[F64, float, F64, F64, F64, F64, F64, F64, bool]: ...
def splitmix64(key: int, index: int) -> int: ...
def standard_normal(key: int, rows: int, cols: int, mirrored: bool = False) -> F64: ...
