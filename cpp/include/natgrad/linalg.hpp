// Dense solves for assembled Fisher matrices.
#pragma once

#include "natgrad/types.hpp"

namespace natgrad {

// (F + damping * I)^{-1} G by a Cholesky factorisation of the symmetric positive-definite matrix
// F + damping * I. G holds one right-hand side per column. Throws std::invalid_argument naming the
// pivot where the factorisation failed, and refuses an F that is empty or not symmetric up to
// 1e-10 * max|F| (only one triangle is read, so an asymmetric F would be silently replaced).
MatrixXd damped_cholesky_solve(const MatRef& fisher, const MatRef& rhs, double damping);

// (damping * I + U U^T)^{-1} G for U of shape m x N (an empirical Fisher from N score vectors,
// typically N < m), by the Woodbury identity
//   (d I + U U')^{-1} = (I - U (d I_N + U'U)^{-1} U') / d
// in O(N^2 m + N^3): only the N x N matrix d I_N + U'U is factorised. Requires damping > 0.
MatrixXd woodbury_solve(const MatRef& u, const MatRef& rhs, double damping);

}  // namespace natgrad
