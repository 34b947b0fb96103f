// Fisher information of the Gaussian family in the three packed coordinate systems of MATH.md:
// natural theta, expectation eta and xi = (mu, Sigma). Assembly (optionally restricted to a list of
// free packed coordinates, for sparse-precision sub-models), products I v and natural-gradient
// solves (I + damping Id)^{-1} g that never form the m x m matrix.
//
// All three assemblies use one closed form per entry, with each packed coordinate a read as a pair
// (i_a, j_a) of an augmented index set {0..n}: the vector coordinate k is the pair (k, n).
//   I_theta = Cov(T, T) by Isserlis:   c_a c_b [S_ik S_jl + S_il S_jk + m_i m_k S_jl + m_i m_l S_jk
//                                                + m_j m_k S_il + m_j m_l S_ik]
//             with S = [[Sigma, 0], [0, 0]], m = (mu, 1), c = 2 for pairs i<j<n, else 1.
//   I_eta     = c_a c_b / 4 [Bt_ik Bt_jl + Bt_il Bt_jk], Bt = [[B, -B mu], [-mu'B, 1 + mu'B mu]]
//             (the inverse of E[(x,1)(x,1)']), c = 2 for vector coordinates, else 1
//             (seed 003's Gamma / K / kappa blocks; SEED_ERRATA #18).
//   I_xi      = c_a c_b / 4 [Bt_ik Bt_jl + Bt_il Bt_jk], Bt = blockdiag(B, 1), c = 2 for vector
//             coordinates and for pairs i<j<n, else 1 (Miller's formula; SEED_ERRATA #4).
// Here B = Sigma^{-1}. Every entry costs O(1), so a restriction to m_f free coordinates costs
// O(m_f^2) after an O(n^2) set-up.
#pragma once

#include <optional>
#include <vector>

#include "natgrad/types.hpp"

namespace natgrad {

using IndexList = std::vector<Eigen::Index>;

// Assembled Fisher matrices; `free` (strictly increasing packed indices) selects rows and columns.
RowMatrixXd fisher_natural(const VecRef& mean, const MatRef& cov,
                           const std::optional<IndexList>& free = std::nullopt);
RowMatrixXd fisher_expectation(const VecRef& mean, const MatRef& precision,
                               const std::optional<IndexList>& free = std::nullopt);
RowMatrixXd fisher_mean_cov(const MatRef& precision,
                            const std::optional<IndexList>& free = std::nullopt);

// Products I v in O(n^3) through n x n matrix identities.
//   I_theta v = (w, M) with w = Sigma a + 2 Sigma V mu, M = 2 Sigma V Sigma + mu w' + w mu'
//   I_eta v   = (B dmu - G mu, G / 2) with dSigma = V_E - dmu mu' - mu dmu', G = B dSigma B
//   I_xi v    = (B a, B V B / 2)
// (the matrix parts packed with the factor-2 conventions of each coordinate system).
VectorXd fisher_product_natural(const VecRef& mean, const MatRef& cov, const VecRef& v);
VectorXd fisher_product_expectation(const VecRef& mean, const MatRef& precision, const VecRef& v);
VectorXd fisher_product_mean_cov(const MatRef& precision, const VecRef& v);

// (I + damping Id)^{-1} grad, grad the ordinary gradient in the same coordinates.
//   damping = 0: exact closed forms, I_theta^{-1} = I_eta and I_eta^{-1} = I_theta (products
//   above) and I_xi^{-1} g = (Sigma g_mu, 2 Sigma G Sigma).
//   damping > 0, xi: exact on the mean block through an eigendecomposition of Sigma; the Sigma
//   block is (1/2 B X B + damping/2 (X + Diag X)) = G, solved by conjugate gradients in the
//   eigenbasis, preconditioned by its Kronecker-diagonal part (preconditioned condition number
//   <= 2, so ~20 iterations reach rounding).
//   damping > 0, theta: conjugate gradients with the O(n^3) product, preconditioned through the
//   factorisation I_theta = L D L' (centring x = mu + y) with the damping carried exactly except
//   for one packed-identity block replaced by a spectral midpoint: preconditioned condition
//   number <= 2 for every mu, Sigma and damping (~20 iterations of O(n^3)).
//   damping > 0, eta: the analogous block-diagonal preconditioner (exact at damping 0, quality
//   set by |mu|) raced in lockstep against plain CG (condition number (l_max + d)/(l_min + d)).
//   Throws when neither converges in `max_iter` iterations.
VectorXd natural_gradient_natural(const VecRef& mean, const MatRef& cov, const MatRef& precision,
                                  const VecRef& grad, double damping, int max_iter = 1000);
VectorXd natural_gradient_expectation(const VecRef& mean, const MatRef& cov,
                                      const MatRef& precision, const VecRef& grad, double damping,
                                      int max_iter = 1000);
VectorXd natural_gradient_mean_cov(const MatRef& cov, const VecRef& grad, double damping,
                                   int max_iter = 200);

}  // namespace natgrad
