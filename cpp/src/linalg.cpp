#include "natgrad/linalg.hpp"

#include <Eigen/Cholesky>

#include <string>

namespace natgrad {

MatrixXd damped_cholesky_solve(const MatRef& fisher, const MatRef& rhs, double damping) {
    const Eigen::Index m = fisher.rows();
    require_shape("fisher", fisher.rows(), fisher.cols(), m, m);
    if (rhs.rows() != m) {
        invalid("grad must have " + std::to_string(m) + " rows to match fisher, got " +
                std::to_string(rhs.rows()));
    }
    if (!std::isfinite(damping) || damping < 0.0) {
        invalid("damping must be finite and >= 0, got " + std::to_string(damping));
    }
    require_finite("fisher", fisher);
    require_finite("grad", rhs);

    MatrixXd a = fisher;
    a.diagonal().array() += damping;
    Eigen::LLT<MatrixXd, Eigen::Lower> llt(a);
    if (llt.info() != Eigen::Success) {
        // Find the failing pivot for the message: the first leading block that is not PD.
        Eigen::Index pivot = 0;
        for (; pivot < m; ++pivot) {
            Eigen::LLT<MatrixXd> lead(a.topLeftCorner(pivot + 1, pivot + 1));
            if (lead.info() != Eigen::Success) break;
        }
        invalid("fisher + damping*I is not positive definite (Cholesky failed at pivot " +
                std::to_string(pivot) + "); increase damping");
    }
    return llt.solve(MatrixXd(rhs));
}

}  // namespace natgrad
