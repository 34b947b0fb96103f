#include "natgrad/linalg.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>

#include "natgrad/checks.hpp"
#include "natgrad/gaussian.hpp"

namespace natgrad {

namespace {

// Copy of a row-major symmetric matrix into a column-major one. For a symmetric input the
// row-major buffer read column-major is the same matrix, so a plain copy (no transpose) suffices;
// only the lower triangle is used afterwards.
MatrixXd symmetric_copy(const MatRef& a) {
    const Eigen::Index m = a.rows();
    if (a.outerStride() == m) return Eigen::Map<const MatrixXd>(a.data(), m, m);
    return a.transpose();
}

// Refuses a fisher that is not symmetric up to rounding: only one triangle is read by the
// factorisation, so an asymmetric input would silently be replaced by a different matrix.
// Tolerance: |F_ij - F_ji| <= kSymmetryRtol * max|F| (accumulated rounding of an assembled matrix).
// Blocked so that the transposed reads stay in cache.
constexpr double kSymmetryRtol = 1e-10;

void require_symmetric(const MatRef& a) {
    const Eigen::Index m = a.rows();
    constexpr Eigen::Index kBlock = 64;
    double asym = 0.0, amax = 0.0;
    for (Eigen::Index i0 = 0; i0 < m; i0 += kBlock) {
        const Eigen::Index i1 = std::min(i0 + kBlock, m);
        for (Eigen::Index j0 = i0; j0 < m; j0 += kBlock) {
            const Eigen::Index j1 = std::min(j0 + kBlock, m);
            for (Eigen::Index i = i0; i < i1; ++i) {
                for (Eigen::Index j = std::max(j0, i); j < j1; ++j) {
                    const double upper = a(i, j), lower = a(j, i);
                    asym = std::max(asym, std::abs(upper - lower));
                    amax = std::max(amax, std::max(std::abs(upper), std::abs(lower)));
                }
            }
        }
    }
    if (asym > kSymmetryRtol * amax) {
        std::ostringstream msg;
        msg.precision(3);
        msg << "fisher must be symmetric: max|F - F'| = " << asym << " exceeds " << kSymmetryRtol
            << " * max|F| = " << kSymmetryRtol * amax;
        invalid(msg.str());
    }
}

}  // namespace

MatrixXd damped_cholesky_solve(const MatRef& fisher, const MatRef& rhs, double damping) {
    const Eigen::Index m = fisher.rows();
    if (m < 1) invalid("fisher must be at least 1 x 1, got 0 x " + std::to_string(fisher.cols()));
    require_shape("fisher", fisher.rows(), fisher.cols(), m, m);
    if (rhs.rows() != m) {
        invalid("grad must have " + std::to_string(m) + " rows to match fisher, got " +
                std::to_string(rhs.rows()));
    }
    checks::damping(damping);
    require_finite("fisher", fisher);
    require_finite("grad", rhs);
    require_symmetric(fisher);

    MatrixXd a = symmetric_copy(fisher);
    a.diagonal().array() += damping;
    // Blocked in-place LLT on the lower triangle; it reports the first failing pivot.
    const Eigen::Index failed = Eigen::internal::llt_inplace<double, Eigen::Lower>::blocked(a);
    if (failed >= 0) {
        invalid("fisher + damping*I is not positive definite (Cholesky failed at pivot " +
                std::to_string(failed) + "); increase damping");
    }
    MatrixXd x = rhs;
    a.triangularView<Eigen::Lower>().solveInPlace(x);
    a.triangularView<Eigen::Lower>().transpose().solveInPlace(x);
    return checks::finite_result("natural_gradient", std::move(x));
}

MatrixXd woodbury_solve(const MatRef& u, const MatRef& rhs, double damping) {
    const Eigen::Index m = u.rows(), samples = u.cols();
    if (m < 1 || samples < 1) invalid("u must be a non-empty m x N matrix");
    if (rhs.rows() != m) {
        invalid("grad must have " + std::to_string(m) + " rows to match u, got " +
                std::to_string(rhs.rows()));
    }
    checks::damping(damping, /*positive=*/true);
    require_finite("u", u);
    require_finite("grad", rhs);
    // K = d I_N + U'U (N x N), only its lower triangle.
    MatrixXd k = MatrixXd::Zero(samples, samples);
    k.selfadjointView<Eigen::Lower>().rankUpdate(u.transpose());
    k.diagonal().array() += damping;
    const MatrixXd lk = cholesky_lower(k, "damping*I + U'U is not positive definite");
    MatrixXd y = u.transpose() * rhs;  // N x k
    lk.triangularView<Eigen::Lower>().solveInPlace(y);
    lk.transpose().triangularView<Eigen::Upper>().solveInPlace(y);
    MatrixXd x = rhs;
    x.noalias() -= u * y;
    return checks::finite_result("woodbury_solve", MatrixXd(x / damping));
}

}  // namespace natgrad
