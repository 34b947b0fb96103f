# Type stub of the compiled core (natgrad._core_<isa>, re-exported by natgrad._core).
# Private: the public API lives in the natgrad package. Keep in step with cpp/bindings/.
import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]

isa_level: str
build_flags: str
compiler: str
eigen_version: str
eigen_simd: str

def supported_levels() -> list[str]: ...

# linalg
def damped_cholesky_solve(fisher: F64, rhs: F64, damping: float) -> F64: ...

# search (IGO-CMA, xNES, SNES kernels)
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
    weights: F64,
    generation: int,
    c_sigma: float,
    d_sigma: float,
    c_c: float,
    c1: float,
    cmu: float,
    mueff: float,
    chi_n: float,
) -> tuple[F64, float, F64, F64, F64, bool, int]: ...
def xnes_update(
    mean: F64,
    sigma: float,
    factor: F64,
    p_sigma: F64,
    noise: F64,
    samples: F64,
    values: F64,
    utilities: F64,
    recombination: F64,
    eta_mu: float,
    eta_sigma: float,
    eta_b: float,
    csa: bool,
    c_sigma: float,
    d_sigma: float,
    mueff_pos: float,
    chi_n: float,
) -> tuple[F64, float, F64, F64]: ...
def snes_update(
    mean: F64,
    sigma: float,
    scales: F64,
    noise: F64,
    values: F64,
    utilities: F64,
    eta_mu: float,
    eta_sigma: float,
) -> tuple[F64, float, F64]: ...
