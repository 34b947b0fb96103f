// The multivariate Gaussian as an exponential family (MATH.md conventions, packed layout of
// packing.hpp): conversions between (mu, Sigma), natural theta and expectation eta, the potentials
// psi and phi, KL divergence, log-density, sufficient statistics and sampling from given normals.
//
// Numerical routes (SEED_ERRATA.md section 7): from theta the precision is -2 Theta exactly, so
// theta-based quantities never invert twice; every factorisation is a Cholesky factorisation and
// solves replace explicit inverses except where the inverse is the result. Every function checks
// shapes and finiteness and throws std::invalid_argument naming the argument.
#pragma once

#include "natgrad/types.hpp"

namespace natgrad {

// Mean, covariance and (when the route computes it exactly) the precision Sigma^{-1}; precision is
// 0 x 0 when it was not computed.
struct GaussianMoments {
    VectorXd mean;
    MatrixXd cov;
    MatrixXd precision;
};

// Lower Cholesky factor L (L L^T = a) of a symmetric positive-definite matrix (its lower triangle
// is read). On failure throws "<what> (Cholesky failed at pivot k)".
MatrixXd cholesky_lower(const MatrixXd& a, const std::string& what);

// Sigma^{-1} from the lower Cholesky factor of Sigma (symmetric to the last bit).
MatrixXd spd_inverse_from_cholesky(const MatrixXd& chol);

// Sigma^{-1} of a symmetric positive-definite covariance, by Cholesky (error names "cov").
MatrixXd precision_from_cov(const MatRef& cov);

// --- conversions ---------------------------------------------------------------------------
VectorXd natural_from_mean_cov(const VecRef& mean, const MatRef& cov);
VectorXd expectation_from_mean_cov(const VecRef& mean, const MatRef& cov);
VectorXd pack_mean_cov(const VecRef& mean, const MatRef& cov);  // xi = (mu_i, s_ii, s_ij)
GaussianMoments mean_cov_from_natural(const VecRef& theta);     // also returns -2 Theta
GaussianMoments mean_cov_from_expectation(const VecRef& eta);
GaussianMoments mean_cov_from_packed(const VecRef& xi);
VectorXd expectation_from_natural(const VecRef& theta);
VectorXd natural_from_expectation(const VecRef& eta);

// --- potentials and divergences ----------------------------------------------------------------
// psi(theta) = n/2 log 2pi + 1/2 mu' Sigma^{-1} mu + 1/2 log|Sigma|.
double log_partition_natural(const VecRef& theta);
double log_partition_mean_cov(const VecRef& mean, const MatRef& cov);
// phi(eta) = -n/2 (log 2pi + 1) - 1/2 log|Sigma| (negative entropy).
double neg_entropy_natural(const VecRef& theta);
double neg_entropy_expectation(const VecRef& eta);
double neg_entropy_mean_cov(const MatRef& cov);
// KL(p || q) = 1/2 [tr(Sq^{-1} Sp) + (mq - mp)' Sq^{-1} (mq - mp) - n + log|Sq|/|Sp|], computed
// without cancellation as 1/2 [sum (u_i - log1p(u_i)) + |Lq^{-1}(mq - mp)|^2] with u_i the
// eigenvalues of Lq^{-1} (Sp - Sq) Lq^{-T} (Lq Lq^T = Sq), accurate for close members too.
double kl_mean_cov(const VecRef& mean_p, const MatRef& cov_p, const VecRef& mean_q,
                   const MatRef& cov_q);

// --- data ----------------------------------------------------------------------------------------
// log N(x; mean, cov) for each row of x (N x n).
VectorXd log_prob_mean_cov(const VecRef& mean, const MatRef& cov, const MatRef& x);
// T(x) for each row of x: N x m rows (x_i, x_i^2, 2 x_i x_j).
RowMatrixXd sufficient_stats(const MatRef& x);
// mean + L z for each row z of normals (N x n), L the lower Cholesky factor of cov.
RowMatrixXd sample_mean_cov(const VecRef& mean, const MatRef& cov, const MatRef& normals);

}  // namespace natgrad
