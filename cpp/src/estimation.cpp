#include "natgrad/estimation.hpp"

#include <Eigen/Cholesky>
#include <Eigen/QR>
#include <cmath>
#include <limits>
#include <string>

#include "natgrad/checks.hpp"
#include "natgrad/gaussian.hpp"
#include "natgrad/linalg.hpp"
#include "natgrad/packing.hpp"

namespace natgrad {
namespace {

// Largest |theta| of the binary model whose Fisher information 4 e / (1 + e)^2, e = exp(-2|theta|),
// is a normal float64: at |theta| = 1/2 (log 4 - log DBL_MIN) = 354.891 it is DBL_MIN = 2.2e-308.
// Beyond, I_theta is subnormal (few significant bits, and 1 / I_theta overflows) and then 0.
double binary_max_abs_theta() {
    static const double limit =
        0.5 * (std::log(4.0) - std::log(std::numeric_limits<double>::min()));
    return limit;
}

// f - mean(f), the baseline every covariance estimator subtracts. The copy is deliberate: Eigen's
// vectorised reductions peel a different number of leading elements depending on the alignment
// of the buffer, so a sum over a borrowed NumPy buffer can differ in the last bit from call to
// call; on an owned (aligned) copy the result depends only on the values (bit-reproducible runs).
VectorXd centred(const VecRef& f) {
    const VectorXd owned = f;
    return owned.array() - owned.mean();
}

// The symmetric n x n matrix (1/(N-1)) Y^T diag(fc) Y for Y = X - 1 c^T, and g = (1/(N-1)) Y^T fc.
// Y^T diag(fc) Y = P^T P - Q^T Q with P (Q) the rows of Y where fc > 0 (fc < 0) scaled by
// sqrt(|fc|): two SYRKs over disjoint rows, N n^2 flops in all instead of a GEMM's 2 N n^2.
MatrixXd weighted_second_moment(const MatRef& X, const VectorXd& fc, const VectorXd& centre,
                                VectorXd& g) {
    const Eigen::Index N = X.rows(), n = X.cols();
    const double scale = 1.0 / double(N - 1);
    Eigen::Index n_pos = 0, n_neg = 0;
    for (Eigen::Index s = 0; s < N; ++s) {
        n_pos += fc[s] > 0.0;
        n_neg += fc[s] < 0.0;
    }
    RowMatrixXd Y = X.rowwise() - centre.transpose();
    g.noalias() = scale * (Y.transpose() * fc);
    RowMatrixXd P(n_pos, n), Q(n_neg, n);
    for (Eigen::Index s = 0, ip = 0, iq = 0; s < N; ++s) {
        if (fc[s] > 0.0)
            P.row(ip++) = std::sqrt(fc[s]) * Y.row(s);
        else if (fc[s] < 0.0)
            Q.row(iq++) = std::sqrt(-fc[s]) * Y.row(s);
    }
    MatrixXd M = MatrixXd::Zero(n, n);
    if (n_pos > 0) M.selfadjointView<Eigen::Lower>().rankUpdate(P.transpose(), scale);
    if (n_neg > 0) M.selfadjointView<Eigen::Lower>().rankUpdate(Q.transpose(), -scale);
    M.triangularView<Eigen::StrictlyUpper>() = M.transpose();
    return M;
}

// Sigma^{-1} of a covariance whose shape the caller checked, by Cholesky (message names cov).
MatrixXd precision_of(const MatRef& cov) {
    const MatrixXd l = cholesky_lower(MatrixXd(cov), "cov must be symmetric positive definite");
    const MatrixXd p = spd_inverse_from_cholesky(l);
    if (!p.allFinite()) checks::not_representable("cov^{-1}");
    return p;
}

// Centred statistics matrix S (N x m): columns T_k(x_s) - mean_s T_k (two-pass centring).
RowMatrixXd centred_statistics(const MatRef& X) {
    const Eigen::Index N = X.rows(), n = X.cols(), m = packed_size(n);
    RowMatrixXd S(N, m);  // owned: the column means below do not depend on X's alignment
    S.leftCols(n) = X;
    for (Eigen::Index i = 0; i < n; ++i) S.col(n + i) = X.col(i).array().square();
    Eigen::Index k = 2 * n;
    for (Eigen::Index i = 0; i < n; ++i)
        for (Eigen::Index j = i + 1; j < n; ++j) S.col(k++) = 2.0 * X.col(i).cwiseProduct(X.col(j));
    S.rowwise() -= S.colwise().mean();
    return S;
}

}  // namespace

VectorXd cov_f_stats(const MatRef& X, const VecRef& f) {
    const Eigen::Index n = checks::batch(X, f);
    const RowMatrixXd owned = X;  // aligned copy: reproducible reductions (see centred())
    const VectorXd centre = owned.colwise().mean().transpose();
    VectorXd g;
    const MatrixXd M = weighted_second_moment(owned, centred(f), centre, g);
    // Cov(f, x_i x_j) = M_ij + c_i g_j + c_j g_i exactly, because sum_s fc_s = 0.
    const MatrixXd C = M + centre * g.transpose() + g * centre.transpose();
    VectorXd out(packed_size(n));
    out.head(n) = g;
    pack_matrix_part(C, 2.0, out);  // T_ij = 2 x_i x_j
    return checks::finite_result("cov_f_stats", std::move(out));
}

MatrixXd empirical_fisher(const MatRef& X) {
    if (X.rows() < 2) {
        invalid("X must hold at least 2 samples (rows) to estimate a covariance, got " +
                std::to_string(X.rows()));
    }
    if (X.cols() < 1) invalid("X must have at least one column");
    checks::matrix("X", X, X.rows(), X.cols());
    const RowMatrixXd S = centred_statistics(X);
    const Eigen::Index m = S.cols();
    MatrixXd F = MatrixXd::Zero(m, m);
    F.selfadjointView<Eigen::Lower>().rankUpdate(S.transpose(), 1.0 / double(X.rows() - 1));
    F.triangularView<Eigen::StrictlyUpper>() = F.transpose();
    return checks::finite_result("empirical_fisher", std::move(F));
}

VectorXd natural_gradient_theta_empirical(const MatRef& X, const VecRef& f, double damping) {
    checks::batch(X, f);
    checks::damping(damping);
    const Eigen::Index N = X.rows(), m = packed_size(X.cols());
    const VectorXd fc = centred(f);
    if (damping == 0.0) {
        if (N <= m) {
            invalid("the empirical Fisher is singular with N = " + std::to_string(N) +
                    " samples and m = " + std::to_string(m) +
                    " statistics: X needs more than m rows, or use damping > 0");
        }
        const RowMatrixXd S = centred_statistics(X);
        Eigen::ColPivHouseholderQR<MatrixXd> qr{MatrixXd(S)};
        if (qr.rank() < m) {
            invalid("the empirical Fisher of X is singular (rank " + std::to_string(qr.rank()) +
                    " < m = " + std::to_string(m) + "); use damping > 0");
        }
        // argmin |S g - fc| = (S^T S)^{-1} S^T fc
        return checks::finite_result("natural_gradient", VectorXd(qr.solve(fc)));
    }
    const MatrixXd F = empirical_fisher(X);
    const VectorXd g = cov_f_stats(X, f);
    return checks::finite_result("natural_gradient",
                                 VectorXd(damped_cholesky_solve(F, g, damping)));
}

VectorXd natural_gradient_mean_cov(const MatRef& X, const VecRef& f, const VecRef& mean) {
    const Eigen::Index n = checks::batch(X, f);
    checks::vector("mean", mean, n);
    VectorXd g;
    const MatrixXd M = weighted_second_moment(X, centred(f), VectorXd(mean), g);
    VectorXd out(packed_size(n));
    out.head(n) = g;
    pack_matrix_part(M, 1.0, out);
    return checks::finite_result("natural_gradient", std::move(out));
}

VectorXd tangent_mean_cov_to_theta(const VecRef& mean, const MatRef& cov, const VecRef& dxi) {
    const Eigen::Index n = checks::mean_and_square("mean", mean, "cov", cov);
    checks::vector("dxi", dxi, packed_size(n));
    const MatrixXd P = precision_of(cov);
    const MatrixXd dS = unpack_matrix_part(dxi, n, 1.0);
    const VectorXd t = P * VectorXd(mean);  // owned copy: reproducible (see centred())
    const MatrixXd dTheta = 0.5 * P * dS * P;
    VectorXd out(packed_size(n));
    out.head(n) = P * (dxi.head(n) - dS * t);
    pack_matrix_part(0.5 * (dTheta + dTheta.transpose()), 1.0, out);
    return checks::finite_result("tangent_mean_cov_to_theta", std::move(out));
}

VectorXd tangent_theta_to_mean_cov(const VecRef& mean, const MatRef& cov, const VecRef& dtheta) {
    const Eigen::Index n = checks::mean_and_square("mean", mean, "cov", cov);
    checks::vector("dtheta", dtheta, packed_size(n));
    cholesky_lower(MatrixXd(cov), "cov must be symmetric positive definite");
    const MatrixXd S = cov;
    const MatrixXd dTheta = unpack_matrix_part(dtheta, n, 1.0);
    const MatrixXd dS = 2.0 * S * dTheta * S;
    VectorXd out(packed_size(n));
    out.head(n) = S * (dtheta.head(n) + 2.0 * dTheta * VectorXd(mean));
    pack_matrix_part(0.5 * (dS + dS.transpose()), 1.0, out);
    return checks::finite_result("tangent_theta_to_mean_cov", std::move(out));
}

VectorXd natural_gradient_theta_exact(const MatRef& X, const VecRef& f, const VecRef& mean,
                                      const MatRef& cov) {
    const Eigen::Index n = checks::batch(X, f);
    checks::vector("mean", mean, n);
    checks::matrix("cov", cov, n, n);
    const MatrixXd P = precision_of(cov);
    const VectorXd mu = mean;
    // W = (X - mu) P, then dTheta = 1/2 W^T diag(fc) W / (N-1) = 1/2 P dSigma P and
    // dt = W^T fc / (N-1) - 2 dTheta mu = P (dmu - dSigma P mu). Forming P dSigma P from the
    // product (X - mu) P keeps the digits that P (dSigma) P loses when dSigma has been rounded
    // first (cond(Sigma)^2 amplification; 4e-2 relative error at cond(Sigma) = 1e8).
    RowMatrixXd W(X.rows(), n);
    W.noalias() = (X.rowwise() - mu.transpose()) * P;
    VectorXd a;
    const MatrixXd G = weighted_second_moment(W, centred(f), VectorXd::Zero(n), a);
    const MatrixXd dTheta = 0.5 * G;
    VectorXd out(packed_size(n));
    out.head(n) = a - G * mu;
    pack_matrix_part(dTheta, 1.0, out);
    return checks::finite_result("natural_gradient", std::move(out));
}

VectorXd binary_cov_f_x(const MatRef& X, const VecRef& f) {
    checks::batch(X, f);
    const RowMatrixXd owned = X;  // aligned copy: reproducible reductions (see centred())
    return checks::finite_result("binary_cov_f_x",
                                 VectorXd((owned.transpose() * centred(f)) / double(X.rows() - 1)));
}

VectorXd binary_fisher_theta(const VecRef& theta) {
    require_finite("theta", theta);
    // expit(2a) expit(-2a) with a = |theta|: e = exp(-2a) in [0, 1], so 4 e / (1 + e)^2 has
    // no cancellation (1 - tanh^2 from a rounded tanh loses all digits for large |theta|).
    // std::exp per entry, not Eigen's vectorised exp: that one clamps its argument at -709.78 and
    // returns ~5.6e-309 instead of 0 (subnormal, then 0) below, in SIMD packets only.
    VectorXd out(theta.size());
    for (Eigen::Index i = 0; i < theta.size(); ++i) {
        const double e = std::exp(-2.0 * std::abs(theta[i]));
        out[i] = 4.0 * e / ((1.0 + e) * (1.0 + e));
    }
    return out;
}

VectorXd binary_natural_gradient(const MatRef& X, const VecRef& f, const VecRef& theta) {
    const Eigen::Index n = checks::batch(X, f);
    checks::vector("theta", theta, n);
    const double limit = binary_max_abs_theta();
    for (Eigen::Index i = 0; i < n; ++i) {
        if (std::abs(theta[i]) > limit) {
            invalid("theta[" + std::to_string(i) + "] = " + std::to_string(theta[i]) +
                    " is so large that the Fisher information 1 - tanh^2(theta) is below the "
                    "float64 normal range (|theta| must be <= 354.89)");
        }
    }
    const VectorXd fisher = binary_fisher_theta(theta);
    return checks::finite_result("binary_natural_gradient",
                                 VectorXd(binary_cov_f_x(X, f).array() / fisher.array()));
}

}  // namespace natgrad
