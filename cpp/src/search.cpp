#include "natgrad/search.hpp"

#include <Eigen/Eigenvalues>
#include <Eigen/LU>
#include <unsupported/Eigen/MatrixFunctions>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

namespace natgrad {

namespace {

void require_population(const MatRef& noise, const MatRef* samples, Eigen::Index n,
                        const VecRef& values) {
    if (noise.rows() < 1 || noise.cols() != n) {
        invalid("noise must have shape (popsize, " + std::to_string(n) + "), got (" +
                std::to_string(noise.rows()) + ", " + std::to_string(noise.cols()) + ")");
    }
    if (samples != nullptr) {
        require_shape("X", samples->rows(), samples->cols(), noise.rows(), n);
    }
    require_size("values", values.size(), noise.rows());
}

// Smallest real part among the eigenvalues of a real quasi-triangular Schur form.
double min_real_eigenvalue(const MatrixXd& t) {
    double lo = std::numeric_limits<double>::infinity();
    for (Eigen::Index i = 0; i < t.rows(); ++i) lo = std::min(lo, t(i, i));
    return lo;  // the two diagonal entries of a 2x2 block both equal the pair's real part
}

// W of §4.5 b for a K x K Gram matrix P: W = B (sqrt(a) I + (aI + P B)^{1/2})^{-1}. Negative
// entries of beta are halved until aI + P B has a positive spectrum (CMA_AS_NATURAL_GRADIENT §4.4;
// exact arithmetic never needs it under the alpha_posdef cap of Hansen 2016 eq. 52).
MatrixXd root_weights(const MatrixXd& gram, VectorXd& beta, double a, int* shrinks) {
    const Eigen::Index k = gram.rows();
    const double sqrt_a = std::sqrt(a);
    for (int attempt = 0;; ++attempt) {
        MatrixXd m = gram * beta.asDiagonal();
        m.diagonal().array() += a;
        Eigen::RealSchur<MatrixXd> schur(m);
        if (schur.info() != Eigen::Success) invalid("Schur decomposition of aI + PB failed");
        const MatrixXd& t = schur.matrixT();
        if (min_real_eigenvalue(t) > 1e-8 * a || attempt >= 60) {
            if (attempt >= 60) invalid("aI + PB has no positive spectrum after shrinking");
            MatrixXd sqrt_t = MatrixXd::Zero(k, k);
            Eigen::matrix_sqrt_quasi_triangular(t, sqrt_t);
            const MatrixXd& q = schur.matrixU();
            MatrixXd denom = q * sqrt_t * q.transpose();
            denom.diagonal().array() += sqrt_a;
            return beta.asDiagonal() * denom.partialPivLu().inverse();
        }
        for (Eigen::Index i = 0; i < k; ++i) {
            if (beta(i) < 0.0) beta(i) *= 0.5;
        }
        if (shrinks != nullptr) ++*shrinks;
    }
}

RowMatrixXd apply_root(const MatRef& factor, const MatRef& yt, const MatRef& zt,
                       const MatrixXd& w, double a) {
    RowMatrixXd out = std::sqrt(a) * factor;
    const RowMatrixXd wz = w * zt;            // K x n
    out.noalias() += yt.transpose() * wz;     // the one n x K x n GEMM of the update
    return out;
}

}  // namespace

RowMatrixXd sample_full(const VecRef& mean, double sigma, const MatRef& factor,
                        const MatRef& noise) {
    const Eigen::Index n = mean.size();
    require_shape("A", factor.rows(), factor.cols(), n, n);
    if (noise.cols() != n) {
        invalid("noise must have " + std::to_string(n) + " columns, got " +
                std::to_string(noise.cols()));
    }
    RowMatrixXd x(noise.rows(), n);
    x.noalias() = (sigma * noise) * factor.transpose();  // sigma folds into the GEMM's alpha
    x.rowwise() += mean.transpose();
    return x;
}

RowMatrixXd sample_diagonal(const VecRef& mean, double sigma, const VecRef& scales,
                            const MatRef& noise) {
    const Eigen::Index n = mean.size();
    require_size("scales", scales.size(), n);
    if (noise.cols() != n) {
        invalid("noise must have " + std::to_string(n) + " columns, got " +
                std::to_string(noise.cols()));
    }
    RowMatrixXd x = noise * (sigma * scales).asDiagonal();
    x.rowwise() += mean.transpose();
    return x;
}

std::vector<Eigen::Index> rank_order(const VecRef& values) {
    std::vector<Eigen::Index> order(static_cast<std::size_t>(values.size()));
    std::iota(order.begin(), order.end(), Eigen::Index{0});
    std::stable_sort(order.begin(), order.end(),
                     [&values](Eigen::Index i, Eigen::Index j) { return values(i) < values(j); });
    return order;
}

RowMatrixXd gemm_factor_update(const MatRef& factor, const MatRef& yt, const MatRef& zt,
                               const VecRef& beta, double a, MatrixXd* w_out) {
    const Eigen::Index n = factor.rows();
    require_shape("A", factor.rows(), factor.cols(), n, n);
    require_shape("zt", zt.rows(), zt.cols(), beta.size(), n);
    require_shape("yt", yt.rows(), yt.cols(), beta.size(), n);
    if (!(a > 0.0) || !std::isfinite(a)) invalid("a must be finite and > 0, got " + std::to_string(a));
    VectorXd b = beta;
    const MatrixXd gram = zt * zt.transpose();
    const MatrixXd w = root_weights(gram, b, a, nullptr);
    if (w_out != nullptr) *w_out = w;
    return apply_root(factor, yt, zt, w, a);
}

RowMatrixXd lowrank_expm_factor(const MatRef& factor, const MatRef& yt, const MatRef& zt,
                                const VecRef& s) {
    const Eigen::Index n = factor.rows();
    const Eigen::Index k = s.size();
    require_shape("A", factor.rows(), factor.cols(), n, n);
    require_shape("zt", zt.rows(), zt.cols(), k, n);
    require_shape("yt", yt.rows(), yt.cols(), k, n);
    // expm(U S U^T) = I + U phi_1(S P) S U^T with P = U^T U, since (U S U^T)^j = U (S P)^{j-1} S U^T;
    // phi_1(M) = sum_j M^j/(j+1)! is the upper-right block of expm([[M, I], [0, 0]]).
    MatrixXd aug = MatrixXd::Zero(2 * k, 2 * k);
    aug.topLeftCorner(k, k) = s.asDiagonal() * (zt * zt.transpose());
    aug.topRightCorner(k, k).setIdentity();
    const MatrixXd e = aug.exp();
    const MatrixXd core = e.topRightCorner(k, k) * s.asDiagonal();
    RowMatrixXd out = factor;
    const RowMatrixXd cz = core * zt;        // K x n
    out.noalias() += yt.transpose() * cz;    // A U (phi_1 S) U^T: one n x K x n GEMM
    return out;
}

IGOCMAStep igo_cma_update(const VecRef& mean, double sigma, const MatRef& factor,
                          const VecRef& p_sigma, const VecRef& p_c_z, const MatRef& noise,
                          const MatRef& samples, const VecRef& values, const VecRef& weights,
                          long generation, double c_sigma, double d_sigma, double c_c, double c1,
                          double cmu, double mueff, double chi_n) {
    const Eigen::Index n = mean.size();
    require_shape("A", factor.rows(), factor.cols(), n, n);
    require_size("p_sigma", p_sigma.size(), n);
    require_size("p_c_z", p_c_z.size(), n);
    require_population(noise, &samples, n, values);
    const Eigen::Index lam = noise.rows();
    require_size("weights", weights.size(), lam);
    if (!(sigma > 0.0)) invalid("sigma must be > 0, got " + std::to_string(sigma));

    const std::vector<Eigen::Index> order = rank_order(values);
    const double inv_sigma = 1.0 / sigma;

    // Columns of U (rows of zt) and of AU (rows of yt): every sample with a non-zero weight, then
    // the evolution path. y_k = (x_k - m)/sigma = A z_k (recomputed from x, as x is what f saw).
    Eigen::Index k_count = 0;
    for (Eigen::Index r = 0; r < lam; ++r) k_count += weights(r) != 0.0 ? 1 : 0;
    RowMatrixXd zt(k_count + 1, n), yt(k_count + 1, n);
    VectorXd beta(k_count + 1);
    VectorXd y_w = VectorXd::Zero(n), z_w = VectorXd::Zero(n);
    double weight_sum = 0.0;
    Eigen::Index col = 0;
    for (Eigen::Index r = 0; r < lam; ++r) {
        const double w = weights(r);
        weight_sum += w;
        if (w == 0.0) continue;
        const Eigen::Index idx = order[static_cast<std::size_t>(r)];
        zt.row(col) = noise.row(idx);
        yt.row(col) = (samples.row(idx) - mean.transpose()) * inv_sigma;
        if (w > 0.0) {
            y_w.noalias() += w * yt.row(col).transpose();  // (Hansen 2016 eq. 41)
            z_w.noalias() += w * zt.row(col).transpose();  // = A^{-1} y_w without a solve
            beta(col) = cmu * w;
        } else {
            beta(col) = cmu * w * static_cast<double>(n) / zt.row(col).squaredNorm();  // (eq. 46)
        }
        ++col;
    }

    IGOCMAStep out;
    // Natural-gradient mean step with c_m = 1: m + sigma y_w = m + sum w_i (x_i - m) (eq. 42).
    out.mean = mean + sigma * y_w;
    // CSA with A^{-1} in place of C^{-1/2} (Krause et al. 2016) (eq. 43), then (eq. 44).
    out.p_sigma = (1.0 - c_sigma) * p_sigma + std::sqrt(c_sigma * (2.0 - c_sigma) * mueff) * z_w;
    const double ps_norm = out.p_sigma.norm();
    out.sigma = sigma * std::exp((c_sigma / d_sigma) * (ps_norm / chi_n - 1.0));
    // Stall of the rank-one path while p_sigma is long (Hansen 2016, h_sigma below eq. 45).
    const double ps_corr =
        std::sqrt(1.0 - std::pow(1.0 - c_sigma, 2.0 * static_cast<double>(generation + 1)));
    out.h_sigma = ps_norm / ps_corr < (1.4 + 2.0 / (static_cast<double>(n) + 1.0)) * chi_n;
    const double h = out.h_sigma ? 1.0 : 0.0;
    // Evolution path in z-coordinates, p_c = A p_c_z (eq. 45).
    VectorXd pcz = (1.0 - c_c) * p_c_z + h * std::sqrt(c_c * (2.0 - c_c) * mueff) * z_w;
    zt.row(k_count) = pcz.transpose();
    yt.row(k_count).noalias() = (factor * pcz).transpose();
    beta(k_count) = c1;
    // C' = a C + c1 p_c p_c^T + cmu sum w°_i y_i y_i^T (eq. 47) = A (aI + U B U^T) A^T.
    const double a = 1.0 + c1 * (1.0 - h) * c_c * (2.0 - c_c) - c1 - cmu * weight_sum;
    if (!(a > 0.0)) invalid("covariance decay a must be > 0, got " + std::to_string(a));

    out.negative_shrinks = 0;
    const MatrixXd gram = zt * zt.transpose();
    const MatrixXd w = root_weights(gram, beta, a, &out.negative_shrinks);
    out.factor = apply_root(factor, yt, zt, w, a);
    // p_c_z <- G^{-1} p_c_z with G = sqrt(a) I + U W U^T (Woodbury), so that A' p_c_z' = p_c.
    const double sqrt_a = std::sqrt(a);
    MatrixXd inner = gram * w;
    inner.diagonal().array() += sqrt_a;
    const VectorXd utv = zt * pcz;
    const VectorXd coef = w * inner.partialPivLu().solve(utv);
    out.p_c_z = (pcz - zt.transpose() * coef) / sqrt_a;
    return out;
}

XNESStep xnes_update(const VecRef& mean, double sigma, const MatRef& factor, const VecRef& p_sigma,
                     const MatRef& noise, const MatRef& samples, const VecRef& values,
                     const VecRef& utilities, const VecRef& recombination, double eta_mu,
                     double eta_sigma, double eta_b, bool csa, double c_sigma, double d_sigma,
                     double mueff_pos, double chi_n) {
    const Eigen::Index n = mean.size();
    require_shape("A", factor.rows(), factor.cols(), n, n);
    require_size("p_sigma", p_sigma.size(), n);
    require_population(noise, &samples, n, values);
    const Eigen::Index lam = noise.rows();
    require_size("utilities", utilities.size(), lam);
    require_size("recombination", recombination.size(), lam);
    if (!(sigma > 0.0)) invalid("sigma must be > 0, got " + std::to_string(sigma));

    const std::vector<Eigen::Index> order = rank_order(values);
    const double inv_sigma = 1.0 / sigma;
    RowMatrixXd zt(lam, n), yt(lam, n);
    VectorXd u(lam);
    VectorXd step = VectorXd::Zero(n), z_w = VectorXd::Zero(n);
    double trace_term = 0.0;  // sum_k u_k |z_k|^2
    for (Eigen::Index r = 0; r < lam; ++r) {
        const Eigen::Index idx = order[static_cast<std::size_t>(r)];
        u(r) = utilities(r);
        zt.row(r) = noise.row(idx);
        yt.row(r) = (samples.row(idx) - mean.transpose()) * inv_sigma;
        step.noalias() += u(r) * (samples.row(idx) - mean.transpose()).transpose();
        trace_term += u(r) * zt.row(r).squaredNorm();
        if (recombination(r) != 0.0) z_w.noalias() += recombination(r) * zt.row(r).transpose();
    }
    XNESStep out;
    // m <- m + eta_mu sigma A sum u_k z_k (Glasmachers et al. 2010, Alg. 1; sum u_k (x_k - m)).
    out.mean = mean + eta_mu * step;
    // G_M = sum u_k (z_k z_k^T - I); G_sigma = tr(G_M)/n; G_B = G_M - G_sigma I
    //     = Z^T diag(u) Z - c I with c = sum u_k |z_k|^2 / n (Alg. 1).
    const double c = trace_term / static_cast<double>(n);
    const double g_sigma = c - utilities.sum();
    if (csa) {
        // Cumulative step-size adaptation (Hansen 2016 eqs. 43-44), weights = positive part.
        out.p_sigma =
            (1.0 - c_sigma) * p_sigma + std::sqrt(c_sigma * (2.0 - c_sigma) * mueff_pos) * z_w;
        out.sigma = sigma * std::exp((c_sigma / d_sigma) * (out.p_sigma.norm() / chi_n - 1.0));
    } else {
        out.p_sigma = p_sigma;
        out.sigma = sigma * std::exp(0.5 * eta_sigma * g_sigma);  // sigma <- sigma exp(eta/2 G_sigma)
    }
    // A <- A expm(eta_B/2 G_B) = exp(-eta_B c/2) A expm(U diag(eta_B u/2) U^T), U = Z^T.
    const VectorXd s = 0.5 * eta_b * u;
    out.factor = lowrank_expm_factor(factor, yt, zt, s);
    out.factor *= std::exp(-0.5 * eta_b * c);
    return out;
}

SNESStep snes_update(const VecRef& mean, double sigma, const VecRef& scales, const MatRef& noise,
                     const VecRef& values, const VecRef& utilities, double eta_mu,
                     double eta_sigma) {
    const Eigen::Index n = mean.size();
    require_size("scales", scales.size(), n);
    require_population(noise, nullptr, n, values);
    const Eigen::Index lam = noise.rows();
    require_size("utilities", utilities.size(), lam);
    if (!(sigma > 0.0)) invalid("sigma must be > 0, got " + std::to_string(sigma));

    const std::vector<Eigen::Index> order = rank_order(values);
    VectorXd u_by_sample(lam);
    for (Eigen::Index r = 0; r < lam; ++r) u_by_sample(order[static_cast<std::size_t>(r)]) = utilities(r);
    // grad_mu = sum u_k z_k, grad_s = sum u_k (z_k^2 - 1) (Schaul et al. 2011, Alg. 1).
    const VectorXd grad_mu = noise.transpose() * u_by_sample;
    const VectorXd grad_s =
        noise.array().square().matrix().transpose() * u_by_sample -
        VectorXd::Constant(n, u_by_sample.sum());
    SNESStep out;
    out.mean = mean + (eta_mu * sigma) * scales.cwiseProduct(grad_mu);  // mu <- mu + eta_mu sigma.*grad_mu
    VectorXd log_scales = scales.array().log().matrix() + (0.5 * eta_sigma) * grad_s;  // sigma.*exp(eta/2 grad)
    const double log_gm = log_scales.mean();
    out.scales = (log_scales.array() - log_gm).exp().matrix();
    out.sigma = sigma * std::exp(log_gm);
    return out;
}

}  // namespace natgrad
