#include "natgrad/gaussian.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Dense>
#include <Eigen/Eigenvalues>
#include <cmath>
#include <string>

#include "natgrad/checks.hpp"
#include "natgrad/packing.hpp"

namespace natgrad {

namespace {

constexpr double kLog2Pi = 1.8378770664093454835606594728112353;

Eigen::Index check_mean_cov(const VecRef& mean, const MatRef& cov) {
    return checks::mean_and_square("mean", mean, "cov", cov);
}

MatrixXd chol_of_cov(const MatRef& cov) {
    return cholesky_lower(MatrixXd(cov), "cov must be symmetric positive definite");
}

// Sum of log L_ii = 1/2 log det(L L^T). std::log per entry, not Eigen's vectorised log: the same
// libm result at every ISA level and at every position of the diagonal.
double half_logdet(const MatrixXd& chol) {
    double sum = 0.0;
    for (Eigen::Index i = 0; i < chol.rows(); ++i) sum += std::log(chol(i, i));
    return sum;
}

// u - log(1 + u) for u > -1, without the cancellation of the two terms for small |u|: there
// log1p(u) = 2 atanh(t) with t = u / (2 + u) in [-1/3, 1/5], so that
//   u - log1p(u) = 2 t^2 / (1 - t) - 2 (t^3/3 + t^5/5 + ...),
// the series converging at least by a factor t^2 <= 1/9 per term. Relative error a few ulps.
double u_minus_log1p(double u) {
    if (!(std::abs(u) < 0.5)) return u - std::log1p(u);
    const double t = u / (2.0 + u), t2 = t * t;
    double power = t * t2, series = 0.0;
    for (int k = 3; k < 200; k += 2, power *= t2) {
        const double term = power / double(k);
        series += term;
        if (std::abs(term) <= 1e-17 * std::abs(series)) break;
    }
    return 2.0 * t2 / (1.0 - t) - 2.0 * series;
}

// Lower Cholesky factor of the precision -2 Theta of a packed theta, with the theta message.
MatrixXd chol_of_precision(const VecRef& theta, Eigen::Index n) {
    const MatrixXd precision = -2.0 * unpack_matrix_part(theta, n, 1.0);
    return cholesky_lower(precision,
                          "theta must have a negative-definite matrix part Theta, i.e. -2 Theta "
                          "positive definite");
}

// Mean, covariance and precision of a converted Gaussian must be finite (named after the input).
const GaussianMoments& finite_moments(const char* what, const GaussianMoments& g) {
    if (!g.mean.allFinite() || !g.cov.allFinite() || !g.precision.allFinite()) {
        checks::not_representable(what);
    }
    return g;
}

}  // namespace

MatrixXd cholesky_lower(const MatrixXd& a, const std::string& what) {
    MatrixXd l = a;
    // Eigen's blocked in-place LLT reports the first failing pivot (-1 on success).
    const Eigen::Index failed = Eigen::internal::llt_inplace<double, Eigen::Lower>::blocked(l);
    if (failed >= 0) invalid(what + " (Cholesky failed at pivot " + std::to_string(failed) + ")");
    l.triangularView<Eigen::StrictlyUpper>().setZero();
    // A pivot that overflowed becomes NaN, which the factorisation's "<= 0" test lets through.
    if (!l.allFinite()) invalid(what + " (Cholesky factor overflows float64)");
    return l;
}

MatrixXd spd_inverse_from_cholesky(const MatrixXd& chol) {
    const Eigen::Index n = chol.rows();
    MatrixXd linv = MatrixXd::Identity(n, n);
    chol.triangularView<Eigen::Lower>().solveInPlace(linv);
    MatrixXd inv = MatrixXd::Zero(n, n);
    inv.selfadjointView<Eigen::Lower>().rankUpdate(linv.transpose());
    return inv.selfadjointView<Eigen::Lower>();
}

MatrixXd precision_from_cov(const MatRef& cov) {
    checks::square("cov", cov);
    return checks::finite_result("precision", spd_inverse_from_cholesky(chol_of_cov(cov)));
}

VectorXd natural_from_mean_cov(const VecRef& mean, const MatRef& cov) {
    const Eigen::Index n = check_mean_cov(mean, cov);
    const MatrixXd l = chol_of_cov(cov);
    VectorXd theta(packed_size(n));
    // Sigma^{-1} mu by two triangular solves (backward stable), not through the inverse.
    theta.head(n) = l.triangularView<Eigen::Lower>().solve(mean);
    l.transpose().triangularView<Eigen::Upper>().solveInPlace(theta.head(n));
    pack_matrix_part(MatrixXd(-0.5 * spd_inverse_from_cholesky(l)), 1.0, theta);
    return checks::finite_result("natural", std::move(theta));
}

VectorXd expectation_from_mean_cov(const VecRef& mean, const MatRef& cov) {
    const Eigen::Index n = check_mean_cov(mean, cov);
    chol_of_cov(cov);  // refuse a covariance that is not positive definite
    VectorXd eta(packed_size(n));
    eta.head(n) = mean;
    const MatrixXd second_moment = MatrixXd(cov) + mean * mean.transpose();
    pack_matrix_part(second_moment, 2.0, eta);  // eta_ij = 2 E_ij
    return checks::finite_result("expectation", std::move(eta));
}

VectorXd pack_mean_cov(const VecRef& mean, const MatRef& cov) {
    const Eigen::Index n = check_mean_cov(mean, cov);
    VectorXd xi(packed_size(n));
    xi.head(n) = mean;
    pack_matrix_part(MatrixXd(cov), 1.0, xi);
    return xi;  // a copy of finite input
}

GaussianMoments mean_cov_from_natural(const VecRef& theta) {
    const Eigen::Index n = checks::packed("theta", theta);
    GaussianMoments out;
    out.precision = -2.0 * unpack_matrix_part(theta, n, 1.0);  // Sigma^{-1} = -2 Theta exactly
    const MatrixXd lp = cholesky_lower(out.precision,
                                       "theta must have a negative-definite matrix part Theta, "
                                       "i.e. -2 Theta positive definite");
    out.mean = lp.triangularView<Eigen::Lower>().solve(theta.head(n));
    lp.transpose().triangularView<Eigen::Upper>().solveInPlace(out.mean);
    out.cov = spd_inverse_from_cholesky(lp);
    return finite_moments("theta", out);
}

GaussianMoments mean_cov_from_expectation(const VecRef& eta) {
    const Eigen::Index n = checks::packed("eta", eta);
    GaussianMoments out;
    out.mean = eta.head(n);
    out.cov = unpack_matrix_part(eta, n, 2.0);
    out.cov.noalias() -= out.mean * out.mean.transpose();
    finite_moments("eta", out);
    cholesky_lower(out.cov,
                   "eta must have E - eta_mu eta_mu' positive definite (E the second-moment "
                   "matrix of its matrix part)");
    return out;
}

GaussianMoments mean_cov_from_packed(const VecRef& xi) {
    const Eigen::Index n = checks::packed("xi", xi);
    GaussianMoments out;
    out.mean = xi.head(n);
    out.cov = unpack_matrix_part(xi, n, 1.0);
    cholesky_lower(out.cov, "xi must have a positive-definite covariance part");
    return out;
}

VectorXd expectation_from_natural(const VecRef& theta) {
    const GaussianMoments g = mean_cov_from_natural(theta);
    const Eigen::Index n = g.mean.size();
    VectorXd eta(packed_size(n));
    eta.head(n) = g.mean;
    pack_matrix_part(MatrixXd(g.cov + g.mean * g.mean.transpose()), 2.0, eta);
    return checks::finite_result("expectation", std::move(eta));
}

VectorXd natural_from_expectation(const VecRef& eta) {
    const GaussianMoments g = mean_cov_from_expectation(eta);
    return natural_from_mean_cov(g.mean, g.cov);  // checks its result ("natural")
}

double log_partition_natural(const VecRef& theta) {
    const Eigen::Index n = checks::packed("theta", theta);
    const MatrixXd lp = chol_of_precision(theta, n);
    // 1/2 t' P^{-1} t = 1/2 |Lp^{-1} t|^2 and 1/2 log|Sigma| = -sum log (Lp)_ii.
    const VectorXd w = lp.triangularView<Eigen::Lower>().solve(theta.head(n));
    return checks::finite_result(
        "log_partition", 0.5 * double(n) * kLog2Pi + 0.5 * w.squaredNorm() - half_logdet(lp));
}

double log_partition_mean_cov(const VecRef& mean, const MatRef& cov) {
    const Eigen::Index n = check_mean_cov(mean, cov);
    const MatrixXd l = chol_of_cov(cov);
    const VectorXd w = l.triangularView<Eigen::Lower>().solve(mean);
    return checks::finite_result(
        "log_partition", 0.5 * double(n) * kLog2Pi + 0.5 * w.squaredNorm() + half_logdet(l));
}

double neg_entropy_natural(const VecRef& theta) {
    const Eigen::Index n = checks::packed("theta", theta);
    return checks::finite_result("neg_entropy", -0.5 * double(n) * (kLog2Pi + 1.0) +
                                                    half_logdet(chol_of_precision(theta, n)));
}

double neg_entropy_expectation(const VecRef& eta) {
    const GaussianMoments g = mean_cov_from_expectation(eta);
    const Eigen::Index n = g.mean.size();
    return checks::finite_result("neg_entropy", -0.5 * double(n) * (kLog2Pi + 1.0) -
                                                    half_logdet(cholesky_lower(g.cov, "eta")));
}

double neg_entropy_mean_cov(const MatRef& cov) {
    const Eigen::Index n = checks::square("cov", cov);
    return checks::finite_result(
        "neg_entropy", -0.5 * double(n) * (kLog2Pi + 1.0) - half_logdet(chol_of_cov(cov)));
}

double kl_mean_cov(const VecRef& mean_p, const MatRef& cov_p, const VecRef& mean_q,
                   const MatRef& cov_q) {
    const Eigen::Index n = checks::mean_and_square("mean_p", mean_p, "cov_p", cov_p);
    if (mean_q.size() != n) {
        invalid("other must have dimension " + std::to_string(n) + ", got " +
                std::to_string(mean_q.size()));
    }
    checks::mean_and_square("mean_q", mean_q, "cov_q", cov_q);
    const MatrixXd lp =
        cholesky_lower(MatrixXd(cov_p), "cov_p must be symmetric positive definite");
    const MatrixXd lq =
        cholesky_lower(MatrixXd(cov_q), "other cov must be symmetric positive definite");
    // With lambda_i the eigenvalues of Sq^{-1} Sp, KL = 1/2 [sum (lambda_i - 1 - log lambda_i)
    // + |Lq^{-1}(mq - mp)|^2]. The textbook tr(Sq^{-1} Sp) - n - log det(Sq^{-1} Sp) cancels to
    // O(|Sp - Sq|^2) and loses every digit for close members. Instead u_i = lambda_i - 1 are the
    // eigenvalues of M = Lq^{-1} (Sp - Sq) Lq^{-T}, formed from the difference itself (exact for
    // close members), and u - log1p(u) is summed without cancellation.
    const MatrixXd diff = 0.5 * (MatrixXd(cov_p) - MatrixXd(cov_q)) +
                          0.5 * (MatrixXd(cov_p) - MatrixXd(cov_q)).transpose();
    MatrixXd m = lq.triangularView<Eigen::Lower>().solve(diff);            // Lq^{-1} D
    m = lq.triangularView<Eigen::Lower>().solve(MatrixXd(m.transpose()));  // Lq^{-1} D Lq^{-T}
    m = (0.5 * (m + m.transpose())).eval();
    const Eigen::SelfAdjointEigenSolver<MatrixXd> eig(m, Eigen::EigenvaluesOnly);
    if (eig.info() != Eigen::Success) invalid("kl: eigenvalues of Sq^{-1} Sp did not converge");
    const VectorXd& u = eig.eigenvalues();
    double divergence = 0.0;
    if (u.minCoeff() > -0.5) {
        for (Eigen::Index i = 0; i < n; ++i) divergence += u_minus_log1p(u[i]);
    } else {
        // Some lambda < 1/2: 1 + u carries the absolute error eps |M|, too much for -log lambda,
        // while the two terms no longer cancel (the sum is >= 0.19). log det(Sq^{-1} Sp) from the
        // Cholesky factors, 2 sum log(Lp_ii / Lq_ii), is accurate to a few ulps per entry.
        double log_det = 0.0;
        for (Eigen::Index i = 0; i < n; ++i) log_det += 2.0 * std::log(lp(i, i) / lq(i, i));
        divergence = m.trace() - log_det;
    }
    const VectorXd d = lq.triangularView<Eigen::Lower>().solve(VectorXd(mean_q - mean_p));
    return checks::finite_result("kl", 0.5 * (divergence + d.squaredNorm()));
}

VectorXd log_prob_mean_cov(const VecRef& mean, const MatRef& cov, const MatRef& x) {
    const Eigen::Index n = check_mean_cov(mean, cov);
    checks::matrix("x", x, x.rows(), n);
    const MatrixXd l = chol_of_cov(cov);
    MatrixXd centred = (x.rowwise() - mean.transpose()).transpose();  // n x N
    l.triangularView<Eigen::Lower>().solveInPlace(centred);
    const double constant = -0.5 * double(n) * kLog2Pi - half_logdet(l);
    return checks::finite_result(
        "log_prob",
        VectorXd((constant - 0.5 * centred.colwise().squaredNorm().array()).matrix().transpose()));
}

RowMatrixXd sufficient_stats(const MatRef& x) {
    const Eigen::Index n = x.cols(), rows = x.rows();
    if (n < 1) invalid("x must have at least one column");
    checks::matrix("x", x, rows, n);
    RowMatrixXd t(rows, packed_size(n));
    for (Eigen::Index r = 0; r < rows; ++r) {
        const auto xr = x.row(r);
        double* out = t.row(r).data();
        for (Eigen::Index i = 0; i < n; ++i) out[i] = xr[i];
        for (Eigen::Index i = 0; i < n; ++i) out[n + i] = xr[i] * xr[i];
        Eigen::Index k = 2 * n;
        for (Eigen::Index i = 0; i < n; ++i) {
            const double twice = 2.0 * xr[i];
            for (Eigen::Index j = i + 1; j < n; ++j) out[k++] = twice * xr[j];
        }
    }
    return checks::finite_result("sufficient_stats", std::move(t));
}

RowMatrixXd sample_mean_cov(const VecRef& mean, const MatRef& cov, const MatRef& normals) {
    const Eigen::Index n = check_mean_cov(mean, cov);
    checks::matrix("normals", normals, normals.rows(), n);
    const MatrixXd l = chol_of_cov(cov);
    RowMatrixXd x = normals * l.transpose();
    x.rowwise() += mean.transpose();
    return checks::finite_result("sample", std::move(x));
}

}  // namespace natgrad
