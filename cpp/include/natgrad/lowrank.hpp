// Restricted-covariance natural evolution strategy (CR-FM-NES; Nomura & Ono, CEC 2022,
// arXiv:2201.11422): search distribution N(m, sigma^2 D (I + v v^T) D) with D diagonal > 0 and one
// vector v (rank 1), or the diagonal model N(m, sigma^2 D^2) (rank 0). O(lambda n) work and O(n)
// memory per generation.
#pragma once

#include "natgrad/types.hpp"

namespace natgrad {

// Constants of one (n, lambda) pair (Python record natgrad.optim.lowrank.LowRankNESParameters).
struct LowRankNESParams {
    VectorXd w_rank_hat;  // raw rank weights max(0, ln(lambda/2 + 1) - ln i), best first
    VectorXd w_rank;      // w_rank_hat / sum - 1/lambda (zero-sum), best first
    double mueff = 0.0;
    double c_s = 0.0;
    double c_c = 0.0;
    double c1 = 0.0;          // rank-one rate of the (v, D) update (>= 0)
    double chi_n = 0.0;       // E||N(0, I_n)||
    double alpha_dist = 0.0;  // exponent scale of the distance weights
    double eta_m = 1.0;
    double eta_move_sigma = 1.0;
    double eta_stag_sigma = 0.0;
    double eta_conv_sigma = 0.0;
    double eta_b = 0.0;  // rate of the (v, D) update
    int rank = 1;        // 1: D(I + v v^T)D; 0: diagonal D^2 (v unused)
};

// Result of one generation.
struct LowRankNESStep {
    VectorXd mean;
    double sigma = 0.0;
    VectorXd scales;  // D, normalised so that det(D (I + v v^T)^{1/2}) = 1
    VectorXd v;
    VectorXd p_sigma;
    VectorXd p_c;
};

// Candidates x_k = m + sigma D (z_k + (sqrt(1 + |v|^2) - 1) vbar vbar^T z_k) with mirrored draws:
// z_k = noise_k and z_{h+k} = -noise_k for k < h = floor(lambda/2) (rows h..2h-1 of noise are not
// read); for odd lambda the last row is noise_{lambda-1}. rank 0 (or v = 0) gives y = z.
RowMatrixXd lowrank_nes_sample(const VecRef& mean, double sigma, const VecRef& scales,
                               const VecRef& v, const MatRef& noise, int rank);

// One generation of CR-FM-NES (rank 1) or its diagonal case (rank 0) from the same noise and the
// values of the candidates (finite, lower is better).
LowRankNESStep lowrank_nes_update(const VecRef& mean, double sigma, const VecRef& scales,
                                  const VecRef& v, const VecRef& p_sigma, const VecRef& p_c,
                                  const MatRef& noise, const VecRef& values,
                                  const LowRankNESParams& params);

}  // namespace natgrad
