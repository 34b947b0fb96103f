// Per-unit Fisher blocks of a sigmoid belief network layer (natural reweighted wake-sleep).
//
// A layer of J units reads an input h of width d; unit j has parameters (W_j, b_j) and, with
// h~ = (h, 1), its Fisher block is F_j = E[w_j(h) h~ h~'] where w_j = sigma'(W_j h + b_j) for
// {0,1} units and 1 - tanh^2(W_j h + b_j) for {-1,+1} units. The Fisher of the whole network is
// block diagonal with these (d+1) x (d+1) blocks (docs/wake_sleep.md). From N samples
// (the rows of `inputs`, N x d) and the per-sample, per-unit weights w (N x J, >= 0) the blocks
// are estimated as F_j = (1/N) sum_n w_nj h~_n h~_n'. The natural step of a unit is
// (F_j + damping I)^{-1} g_j.
//
// Two paths, each split into "factor" (once per Fisher refresh) and "solve" (every step):
// * dense: the Cholesky factor L_j of F_j + damping I, (d+1) x (d+1) per unit;
// * Woodbury (for N < d + 1): F_j = U_j U_j' with U_j = H~' diag(sqrt(w_j / N)) of rank <= N, so
//   (damping I + U_j U_j')^{-1} g = (g - U_j K_j^{-1} U_j' g) / damping with the N x N matrix
//   K_j = damping I_N + U_j' U_j = damping I_N + D_j (H~ H~') D_j, D_j = diag(sqrt(w_j / N)):
//   one shared N x N Gram matrix H~ H~' and one N x N Cholesky factor per unit.
// Factors are returned as a J x q^2 row-major matrix: row j is the q x q lower factor of unit j
// in row-major order (q = d + 1 for the dense path, q = N for the Woodbury path).
#pragma once

#include "natgrad/types.hpp"

namespace natgrad {

// Lower Cholesky factors of the J damped blocks (1/N) sum_n w_nj h~_n h~_n' + damping I.
// inputs: N x d (N >= 1, d >= 0), weights: N x J (J >= 1, entries >= 0), damping > 0.
RowMatrixXd fisher_blocks_factor(const MatRef& inputs, const MatRef& weights, double damping);

// Row j of the result is (F_j + damping I)^{-1} g_j, from the factors of fisher_blocks_factor.
// factors: J x (d+1)^2, grads: J x (d+1).
RowMatrixXd fisher_blocks_solve(const MatRef& factors, const MatRef& grads);

// Row j of the result is (F_j + damping I)^{-1} = (L_j L_j')^{-1} as a q x q row-major matrix
// (symmetric), from the factors of fisher_blocks_factor (J x q^2).
RowMatrixXd fisher_blocks_inverse(const MatRef& factors);

// Lower Cholesky factors of K_j = damping I_N + D_j (H~ H~') D_j, D_j = diag(sqrt(w_j / N)).
RowMatrixXd fisher_blocks_woodbury_factor(const MatRef& inputs, const MatRef& weights,
                                          double damping);

// Row j of the result is (F_j + damping I)^{-1} g_j by the Woodbury identity, from the samples
// and weights the factors were computed with. factors: J x N^2, grads: J x (d+1).
RowMatrixXd fisher_blocks_woodbury_solve(const MatRef& inputs, const MatRef& weights,
                                         const MatRef& factors, const MatRef& grads,
                                         double damping);

}  // namespace natgrad
