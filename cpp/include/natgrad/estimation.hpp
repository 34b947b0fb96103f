// Batched Monte Carlo estimation for stochastic relaxation (seed 003, "Stochastic NGD"):
// from a batch X (N x n) drawn from the search distribution and values f (N), estimate
// grad_theta E[f] = Cov(f, T) and the natural gradient of E[f] in theta, eta and (mu, Sigma)
// coordinates. Packed layout of every length-m vector (m = n + n(n+1)/2) as in packing.hpp.
//
// All covariance estimators centre f on its sample mean and divide by N - 1, so
//   Cov^(f, T) = (1/(N-1)) sum_s (f_s - fbar) T(x_s)
// is unbiased. The statistics matrix (N x m) is never formed, except by empirical_fisher.
#pragma once

#include "natgrad/types.hpp"

namespace natgrad {

// Cov^(f, T) packed in theta coordinates: [Cov(f, x_i) | Cov(f, x_i^2) | Cov(f, 2 x_i x_j)].
// Work: one (n x N) x (N x n) GEMM on the data centred at its sample mean, O(N n^2).
VectorXd cov_f_stats(const MatRef& X, const VecRef& f);

// Empirical Fisher Cov^(T, T) (m x m, divisor N - 1). Forms the centred N x m statistics matrix
// and one SYRK: O(N m^2) = O(N n^4) work and O(N m) memory, so it is meant for small n only.
MatrixXd empirical_fisher(const MatRef& X);

// Shared-sample natural gradient in theta: (Cov^(T,T) + damping I)^{-1} Cov^(f,T), solved by a
// least-squares (damping = 0: column-pivoted QR of the centred statistics, which does not square
// their conditioning) or a damped Cholesky solve. Exact (to rounding) for f in span(T), N > m.
// Same O(N m^2) cost and memory as empirical_fisher.
VectorXd natural_gradient_theta_empirical(const MatRef& X, const VecRef& f, double damping);

// Exact-Fisher natural gradient of E[f] in (mu, Sigma) coordinates, packed with off-diagonal
// scale 1: (Cov^(f, x), Cov^(f, (x - mu)(x - mu)^T)). Derivation: for the Fisher of Miller's
// formula, I_xi v = grad_xi F gives d mu = Sigma grad_mu F and d Sigma = 2 Sigma G Sigma
// (G the symmetric matrix gradient); with grad_theta F = Cov(f, T) this is exactly the pair
// above (Stein / Isserlis). Equals I_xi^{-1} J^T Cov^(f, T), so it is unbiased. O(N n^2).
VectorXd natural_gradient_mean_cov(const MatRef& X, const VecRef& f, const VecRef& mean);

// Exact-Fisher natural gradient in theta: I_eta(eta(theta)) Cov^(f, T) (errata #17), computed
// without any m x m matrix as the push-forward of natural_gradient_mean_cov to theta, formed from
// W = (X - mu) Sigma^{-1} (well conditioned: no rounded dSigma is multiplied by P twice).
// O(N n^2 + n^3).
VectorXd natural_gradient_theta_exact(const MatRef& X, const VecRef& f, const VecRef& mean,
                                      const MatRef& cov);

// Push-forward of a tangent vector between the (mu, Sigma) and theta charts at (mean, cov):
// d Theta = 1/2 P dSigma P, d t = P (d mu - dSigma P mu) with P = Sigma^{-1}; and its inverse
// dSigma = 2 Sigma dTheta Sigma, d mu = Sigma (d t + 2 dTheta mu). Both charts pack their
// off-diagonal entries with scale 1. O(n^3). The (mu, Sigma) -> theta direction multiplies dSigma
// by P twice: a rounding error in dSigma is amplified by up to cond(Sigma)^2.
VectorXd tangent_mean_cov_to_theta(const VecRef& mean, const MatRef& cov, const VecRef& dxi);
VectorXd tangent_theta_to_mean_cov(const VecRef& mean, const MatRef& cov, const VecRef& dtheta);

// Binary independence model on {-1,+1}^n, p(x) = prod exp(theta_i x_i) / (2 cosh theta_i).
// Cov^(f, x) = grad_theta F estimate (divisor N - 1).
VectorXd binary_cov_f_x(const MatRef& X, const VecRef& f);

// Fisher information I_theta = 1 - tanh^2 theta = 4 mu (1 - mu), mu = expit(2 theta), computed
// as 4 expit(2|theta|) expit(-2|theta|) without cancellation for large |theta|; subnormal beyond
// |theta| = 354.89 and 0 beyond 372.5, at every position and ISA level.
VectorXd binary_fisher_theta(const VecRef& theta);

// Natural gradient in theta = grad_eta F = Cov^(f, x) / (1 - eta^2) (errata #16), unbiased.
// Refuses |theta_i| > 354.89, where 1 - eta^2 leaves the float64 normal range.
VectorXd binary_natural_gradient(const MatRef& X, const VecRef& f, const VecRef& theta);

}  // namespace natgrad
