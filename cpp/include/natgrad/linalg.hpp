// Dense solves for assembled Fisher matrices.
#pragma once

#include "natgrad/types.hpp"

namespace natgrad {

// (F + damping * I)^{-1} G by a Cholesky factorisation of the symmetric positive-definite matrix
// F + damping * I. G holds one right-hand side per column. Throws std::invalid_argument naming the
// pivot where the factorisation failed.
MatrixXd damped_cholesky_solve(const MatRef& fisher, const MatRef& rhs, double damping);

}  // namespace natgrad
