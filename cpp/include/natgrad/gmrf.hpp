// Gaussian Markov random fields: Gaussians whose precision K = Sigma^{-1} is zero off a chordal
// pattern (natgrad.GaussianMRF, the "gmrf" strategy). Indices are positions of a perfect
// elimination order (natgrad.graphs.Elimination): position p holds vertex perm[p]; its higher
// neighbours C_p = rows[colptr[p] .. colptr[p+1]) form a clique; the pattern slot of (p, q in C_p)
// is its index in rows. Moments S on the pattern are s_diag (n, by position) and s_off (by slot).
//
// The maximum-entropy completion of S is K = L D^{-1} L^T, L unit lower triangular with column p
// equal to -b_p on C_p, b_p = S_{C_p C_p}^{-1} S_{C_p p}, d_p = S_pp - S_{p C_p} b_p
// (Vandenberghe & Andersen, Found. Trends Optim. 1 (2015), section 10.2): O(sum |C_p|^3), and
// samples of N(0, K^{-1}) by back substitution y_p = b_p^T y_{C_p} + sqrt(d_p) z_p, O(|E|) each.
#pragma once

#include <cstdint>

#include "natgrad/search.hpp"
#include "natgrad/types.hpp"

namespace natgrad {

using IndexVector = Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1>;

// A perfect elimination order and its index tables, checked once at construction (so every
// kernel below can index with them without further checks).
class GMRFStructure {
  public:
    GMRFStructure(IndexVector perm, IndexVector colptr, IndexVector rows, IndexVector pair_ptr,
                  IndexVector pairs);
    Eigen::Index n() const { return perm_.size(); }
    Eigen::Index nnz() const { return rows_.size(); }
    Eigen::Index max_clique() const { return max_clique_; }
    // Positions p hold values needed again only up to max(rows - p) positions later: a buffer of
    // ring_size() = the power of two above that reach, indexed by p & (ring_size() - 1), holds
    // everything a pass over the positions from n-1 down to 0 still needs (cache-resident for a
    // band).
    Eigen::Index ring_size() const { return ring_size_; }
    const IndexVector& perm() const { return perm_; }
    const IndexVector& colptr() const { return colptr_; }
    const IndexVector& rows() const { return rows_; }
    const IndexVector& pair_ptr() const { return pair_ptr_; }
    const IndexVector& pairs() const { return pairs_; }

  private:
    IndexVector perm_, colptr_, rows_, pair_ptr_, pairs_;
    Eigen::Index max_clique_ = 0;
    Eigen::Index ring_size_ = 1;
};

struct GMRFFactor {
    VectorXd b;  // by slot
    VectorXd d;  // by position, > 0
};

// The maximum-entropy completion of the pattern moments (s_diag, s_off); std::invalid_argument
// when S is not positive definite on some clique (no completion exists).
GMRFFactor gmrf_complete(const VecRef& s_diag, const VecRef& s_off, const GMRFStructure& g);

// The no-fill sparse LDL^T of a given precision K (k_diag by position, k_off by slot: K on the
// pattern, zero off it): K = L D^{-1} L^T with L and D as above, by right-looking elimination in
// the perfect order (each pivot's clique is complete, so there is no fill). O(sum |C_p|^2).
// std::invalid_argument naming the vertex when a pivot is not positive (K not positive definite).
GMRFFactor gmrf_factor(const VecRef& k_diag, const VecRef& k_off, const GMRFStructure& g);

// K^{-1} h for K = L D^{-1} L^T (h and the result by position): L u = h, v = D u, L^T y = v.
VectorXd gmrf_solve(const VecRef& b, const VecRef& d, const VecRef& h, const GMRFStructure& g);

// x_k = mean + sigma P L^{-T} D^{1/2} z_k for the rows z_k of noise (column p drives position p).
RowMatrixXd gmrf_sample(const VecRef& mean, double sigma, const VecRef& b, const VecRef& d,
                        const MatRef& noise, const GMRFStructure& g);

// z_k = D^{-1/2} L^T P^T (x_k - mean) / sigma: the inverse of gmrf_sample (columns by position).
RowMatrixXd gmrf_whiten(const VecRef& mean, double sigma, const VecRef& b, const VecRef& d,
                        const MatRef& samples, const GMRFStructure& g);

// Diagonal K_pp (by position) of K = L D^{-1} L^T.
VectorXd gmrf_precision_diagonal(const VecRef& b, const VecRef& d, const GMRFStructure& g);

// Off-diagonal K_qp (by slot) of K = L D^{-1} L^T: -b_{p,q} / d_p plus the sum over the pivots r
// whose clique holds p and q of b_{r,p} b_{r,q} / d_r. O(sum |C_p|^2).
VectorXd gmrf_precision_off(const VecRef& b, const VecRef& d, const GMRFStructure& g);

// Sigma = K^{-1} on the pattern, (diagonal by position, off-diagonal by slot), by Takahashi's
// recursion from the last position down: S_{C_p p} = S_{C_p C_p} b_p, S_pp = d_p + b_p^T S_{C_p p}
// (the inverse of gmrf_complete). O(sum |C_p|^2).
GMRFFactor gmrf_pattern_covariance(const VecRef& b, const VecRef& d, const GMRFStructure& g);

struct GMRFStep {
    VectorXd mean;
    double sigma;
    VectorXd s_diag;
    VectorXd s_off;
    VectorXd p_sigma;
    VectorXd p_c;
    VectorXd b;
    VectorXd d;
    bool h_sigma;
};

// One generation of the GMRF strategy (natgrad.optim.gmrf): CMA mean step, CSA on the draws,
// rank-one and rank-mu moment update on the pattern (an eta-coordinate natural-gradient step of
// the sub-model), then the completion. params are CMA constants with weights >= 0.
GMRFStep gmrf_update(const VecRef& mean, double sigma, const VecRef& s_diag, const VecRef& s_off,
                     const VecRef& p_sigma, const VecRef& p_c, const MatRef& noise,
                     const MatRef& samples, const VecRef& values, long generation,
                     const IGOCMAParams& params, const GMRFStructure& g);

}  // namespace natgrad
