// Search-distribution kernels of the stochastic-relaxation optimisers (IGO-CMA, xNES, SNES).
//
// Pure functions: every state array comes in, every new array goes out; no randomness (the
// standard normal draws Z are an argument) and no hidden state. Rows of Z and X are samples
// (lambda x n, row-major like NumPy); the full-covariance factor A is n x n with C = A A^T.
#pragma once

#include <vector>

#include "natgrad/types.hpp"

namespace natgrad {

// X = m + sigma * Z A^T (one GEMM): row k is x_k = m + sigma * A z_k.
RowMatrixXd sample_full(const VecRef& mean, double sigma, const MatRef& factor,
                        const MatRef& noise);

// X = m + sigma * Z diag(scales): row k is x_k = m + sigma * (scales .* z_k).
RowMatrixXd sample_diagonal(const VecRef& mean, double sigma, const VecRef& scales,
                            const MatRef& noise);

// Sample indices sorted by value, best (smallest) first; ties keep their order (stable).
std::vector<Eigen::Index> rank_order(const VecRef& values);

// GEMM-form factor update: C' = A M A^T with M = aI + U B U^T (the CMA covariance update, Hansen
// 2016 eq. 47, written on the factor) becomes A' = A G with G = M^{1/2}. With U = zt^T (n x K) and
// AU = yt^T = A U, returns A' = sqrt(a) A + (AU W) U^T with W = B (sqrt(a) I + (aI + P
// B)^{1/2})^{-1}, P = U^T U, B = diag(beta), so that A' A'^T = A (aI + U B U^T) A^T and A' = A G
// with G = (aI + U B U^T)^{1/2} (symmetric root): G^2 = M because g(y) = 1/(sqrt(a + y) + sqrt(a))
// satisfies 2 sqrt(a) g + y g^2 = 1. One n x K x n GEMM plus K x K work; no n x n eigh or expm.
// `w_out` receives W (K x K).
RowMatrixXd gemm_factor_update(const MatRef& factor, const MatRef& yt, const MatRef& zt,
                               const VecRef& beta, double a, MatrixXd* w_out = nullptr);

// scale * A expm(U diag(s) U^T) with U = zt^T (n x K) and AU = yt^T, in O(n^2 K): with
// P = U^T U = R^T R and S = R diag(s) R^T (symmetric K x K),
// expm(U D U^T) = I + U (D + D R^T phi_2(S) R D) U^T, phi_2(x) = (e^x - 1 - x)/x^2.
RowMatrixXd lowrank_expm_factor(const MatRef& factor, const MatRef& yt, const MatRef& zt,
                                const VecRef& s, double scale = 1.0);

// Result of one IGO-CMA generation.
struct IGOCMAStep {
    VectorXd mean;
    double sigma;
    RowMatrixXd factor;
    VectorXd p_sigma;
    VectorXd p_c_z;
    bool h_sigma;
    int negative_shrinks;  // times the negative weights were halved to keep aI + PB positive
};

// Constants of IGO-CMA for one (n, lambda) pair (Hansen 2016, Table 1 and eqs. 49-58), named so
// that no two of them can be swapped: the Python record natgrad.optim.igo_cma.IGOCMAParameters
// has the same fields and the binding copies them by name.
struct IGOCMAParams {
    VectorXd weights;  // recombination weights by rank, best first (active negatives included)
    double mueff = 0.0;
    double c_sigma = 0.0;
    double d_sigma = 0.0;
    double c_c = 0.0;
    double c1 = 0.0;
    double cmu = 0.0;
    double chi_n = 0.0;
};

// One generation of IGO-CMA (Hansen 2016 tutorial eqs. 41-47) on the GEMM-form factor update
// above (Cholesky root of the n x n M instead when n <= K, where that is cheaper).
// `generation` counts completed generations before this one (for h_sigma).
// Cumulative step-size adaptation (Hansen 2016, eqs. 43-44) with the stall h_sigma of the rank-one
// path (below eq. 45), from the weighted mean z_w of a generation's draws: shared by every
// strategy with CMA constants (igo-cma, gmrf).
struct CSAStep {
    VectorXd p_sigma;
    double sigma;
    bool h_sigma;
};
CSAStep csa_step(const VecRef& p_sigma, const VectorXd& z_w, double sigma, long generation,
                 const IGOCMAParams& params);

// The record's weights (one per sample of a population of lam) and constants are usable: finite,
// and the ones that divide or take roots positive; generation >= 0.
void check_cma_params(const IGOCMAParams& params, Eigen::Index lam, long generation);

// With `factor_out` (n x n, sharing no memory with the arguments) the new factor is written there,
// in the same bits, and IGOCMAStep::factor is left empty: the caller recycles an n x n buffer
// instead of the kernel mapping fresh pages every generation (200 MB at n = 5000).
IGOCMAStep igo_cma_update(const VecRef& mean, double sigma, const MatRef& factor,
                          const VecRef& p_sigma, const VecRef& p_c_z, const MatRef& noise,
                          const MatRef& samples, const VecRef& values, long generation,
                          const IGOCMAParams& params, MatOut* factor_out = nullptr);

// Result of one xNES generation.
struct XNESStep {
    VectorXd mean;
    double sigma;
    RowMatrixXd factor;
    VectorXd p_sigma;
};

// Constants of xNES for one (n, lambda) pair (Python record natgrad.optim.xnes.XNESParameters).
struct XNESParams {
    VectorXd utilities;      // zero-sum NES utilities by rank, best first
    VectorXd recombination;  // positive part of the utilities, summing to 1 (CSA weights)
    double mueff = 0.0;      // 1 / sum recombination^2
    double eta_mu = 0.0;
    double eta_sigma = 0.0;
    double eta_b = 0.0;
    bool csa = false;  // sigma by CSA (true) or by the NES rule (false)
    double c_sigma = 0.0;
    double d_sigma = 0.0;
    double chi_n = 0.0;
};

// One generation of xNES (Glasmachers et al. 2010, Algorithm 1) with the low-rank expm.
// csa = false: sigma by the NES rule sigma <- sigma exp(eta_sigma/2 G_sigma); csa = true: sigma by
// cumulative step-size adaptation with path p_sigma (Hansen 2016 eqs. 43-44) using the positive
// part of the utilities as weights.
// `factor_out` as in igo_cma_update.
XNESStep xnes_update(const VecRef& mean, double sigma, const MatRef& factor, const VecRef& p_sigma,
                     const MatRef& noise, const MatRef& samples, const VecRef& values,
                     const XNESParams& params, MatOut* factor_out = nullptr);

// Result of one SNES generation.
struct SNESStep {
    VectorXd mean;
    double sigma;
    VectorXd scales;
};

// Constants of SNES for one (n, lambda) pair (Python record natgrad.optim.snes.SNESParameters).
struct SNESParams {
    VectorXd utilities;  // zero-sum NES utilities by rank, best first
    double eta_mu = 0.0;
    double eta_sigma = 0.0;
};

// One generation of SNES (Schaul, Glasmachers, Schmidhuber 2011, Algorithm 1), O(lambda n).
// The per-coordinate standard deviations are sigma * scales; on return the geometric mean of
// `scales` is 1 and sigma carries the overall size.
SNESStep snes_update(const VecRef& mean, double sigma, const VecRef& scales, const MatRef& noise,
                     const VecRef& values, const SNESParams& params);

}  // namespace natgrad
