#include "natgrad/search.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <Eigen/LU>
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "natgrad/checks.hpp"

namespace natgrad {

namespace {

// Number K >= 1 of rank-one terms of a low-rank factor update, with U^T and (AU)^T of shape
// (K, n).
Eigen::Index require_low_rank(const char* coef_name, const VecRef& coef, const MatRef& yt,
                              const MatRef& zt, Eigen::Index n) {
    const Eigen::Index k = coef.size();
    if (k < 1) invalid(std::string(coef_name) + " must have at least one entry, got length 0");
    require_finite(coef_name, coef);
    checks::matrix("zt", zt, k, n);
    checks::matrix("yt", yt, k, n);
    return k;
}

// R (K x K) with R^T R = P for a positive semi-definite Gram matrix P, by pivoted LDL^T:
// P = T^T L D L^T T  ->  R = D_+^{1/2} L^T T. Works for singular P (K > n, or p_c in span(z)).
MatrixXd gram_root(const MatrixXd& gram) {
    Eigen::LDLT<MatrixXd> ldlt(gram);
    const VectorXd d = ldlt.vectorD().cwiseMax(0.0).cwiseSqrt();
    MatrixXd r = d.asDiagonal() * MatrixXd(ldlt.matrixU());
    return r * ldlt.transpositionsP().transpose();
}

// W of the GEMM-form factor update (see gemm_factor_update): W = B phi(P B) with phi(t) =
// 1/(sqrt(a) + sqrt(a + t)), i.e. W = B (sqrt(a) I + (aI + P B)^{1/2})^{-1}. With P = R^T R, (P
// B)^k = R^T (R B R^T)^{k-1} R B gives phi(P B) = phi(0) I + R^T psi(S) R B, S = R B R^T symmetric,
// psi(s) = (phi(s) - phi(0))/s = -1 / (2 sqrt(a) (sqrt(a) + sqrt(a + s))^2): one symmetric K x K
// eigenproblem, no Schur form. Negative entries of beta are halved until aI + S (equivalently aI +
// P B) has a positive spectrum (each negative term has spectral norm c_mu |w_i| n, and the
// alpha_posdef cap of Hansen 2016 eq. 52 keeps their sum below a, so exact arithmetic never needs
// this; cf. the positive-definiteness safeguards of Akimoto & Hansen 2020).
MatrixXd root_weights(const MatrixXd& gram, VectorXd& beta, double a, int* shrinks) {
    const MatrixXd r = gram_root(gram);
    const double sqrt_a = std::sqrt(a);
    for (int attempt = 0; attempt <= 60; ++attempt) {
        const MatrixXd rb = r * beta.asDiagonal();
        const MatrixXd s = rb * r.transpose();
        Eigen::SelfAdjointEigenSolver<MatrixXd> eig(s);
        if (eig.info() != Eigen::Success) invalid("eigendecomposition of R B R^T failed");
        if (eig.eigenvalues().minCoeff() + a > 1e-8 * a) {
            const VectorXd psi = eig.eigenvalues().unaryExpr([sqrt_a, a](double x) {
                const double q = sqrt_a + std::sqrt(a + x);
                return -1.0 / (2.0 * sqrt_a * q * q);
            });
            const MatrixXd vr = eig.eigenvectors().transpose() * rb;  // V^T R B
            MatrixXd w = vr.transpose() * psi.asDiagonal() * vr;
            w.diagonal() += beta / (2.0 * sqrt_a);
            return w;
        }
        for (Eigen::Index i = 0; i < beta.size(); ++i) {
            if (beta(i) < 0.0) beta(i) *= 0.5;
        }
        if (shrinks != nullptr) ++*shrinks;
    }
    invalid("aI + P B has no positive spectrum even after shrinking the negative weights");
}

// phi_2(x) = (e^x - 1 - x)/x^2, by its series near 0 (where the closed form cancels).
double phi2(double x) {
    if (std::abs(x) < 0.5) {
        double term = 0.5, sum = 0.5;
        for (int k = 1; k < 25; ++k) {
            term *= x / static_cast<double>(k + 2);
            sum += term;
        }
        return sum;
    }
    return (std::expm1(x) - x) / (x * x);
}

// out = alpha A + yt^T wz (+ (A v) extra^T when v is given), in blocks of rows so that each block
// of A is read once and each block of out written once while cache-resident: with a rank-K term
// this update is bound by memory traffic over the n x n factor, not by flops.
// out = alpha A + yt' wz (+ (A v) extra'), by blocks of rows written straight into `out`; false if
// an entry of out is not finite (each block checked while it is in cache).
bool scaled_plus_lowrank_into(const MatRef& factor, double alpha, const MatRef& yt,
                              const RowMatrixXd& wz, const VectorXd* v, const VectorXd* extra,
                              MatOut out) {
    const Eigen::Index n = factor.rows();
    constexpr Eigen::Index block = 64;
    RowMatrixXd src;
    double zero = 0.0;  // sum of x * 0: 0 unless an entry is inf or NaN
    for (Eigen::Index r0 = 0; r0 < n; r0 += block) {
        const Eigen::Index b = std::min(block, n - r0);
        auto dst = out.middleRows(r0, b);
        // An owned copy of this block of rows (cache-resident anyway): the GEMV below then runs
        // over memory whose alignment does not depend on where the caller's buffer lives, so
        // its summation order, and the result's last bits, are the same in every process.
        src = factor.middleRows(r0, b);
        dst = alpha * src;
        dst.noalias() += yt.middleCols(r0, b).transpose() * wz;  // n x K x n GEMM, by row blocks
        if (v != nullptr) {
            const VectorXd av = src * *v;  // this block's rows of A v
            dst.noalias() += av * extra->transpose();
        }
        zero += (dst.array() * 0.0).sum();
    }
    return zero == 0.0;
}

RowMatrixXd scaled_plus_lowrank(const MatRef& factor, double alpha, const MatRef& yt,
                                const RowMatrixXd& wz, const VectorXd* v, const VectorXd* extra) {
    RowMatrixXd out = large_matrix(factor.rows(), factor.cols());
    scaled_plus_lowrank_into(factor, alpha, yt, wz, v, extra, out);  // the callers check `out`
    return out;
}

// Where a factor update writes A': the caller's buffer, or else `owned`, sized n x n here.
MatOut factor_destination(MatOut* factor_out, RowMatrixXd& owned, Eigen::Index n) {
    if (factor_out != nullptr) return *factor_out;
    owned = large_matrix(n, n);
    return MatOut(owned);
}

// A new factor that is not finite: A is named when it holds the NaN or Inf (its finiteness is
// read off the result, which every entry of A reaches), else the kernel.
[[noreturn]] void non_finite_factor(const MatRef& factor, const char* what) {
    require_finite("A", factor);
    checks::not_representable(what);
}

RowMatrixXd apply_root(const MatRef& factor, const MatRef& yt, const MatRef& zt, const MatrixXd& w,
                       double a) {
    const RowMatrixXd wz = w * zt;  // K x n
    return scaled_plus_lowrank(factor, std::sqrt(a), yt, wz, nullptr, nullptr);
}

// A step whose every output is finite (from finite input), or a ValueError naming the kernel.
void require_finite_step(const char* what, double sigma, const VectorXd& mean) {
    checks::finite_result(what, sigma);
    if (!mean.allFinite()) checks::finite_result(what, VectorXd(mean));
}

IGOCMAStep finite_step(IGOCMAStep s) {
    require_finite_step("igo_cma_update", s.sigma, s.mean);
    // s.factor: checked as it was written (factor_destination, non_finite_factor)
    s.p_sigma = checks::finite_result("igo_cma_update", std::move(s.p_sigma));
    s.p_c_z = checks::finite_result("igo_cma_update", std::move(s.p_c_z));
    return s;
}

XNESStep finite_step(XNESStep s) {
    require_finite_step("xnes_update", s.sigma, s.mean);
    // s.factor: checked as it was written (factor_destination, non_finite_factor)
    s.p_sigma = checks::finite_result("xnes_update", std::move(s.p_sigma));
    return s;
}

bool is_finite_step(const SNESStep& s) {
    return std::isfinite(s.sigma) && all_finite(s.mean) && all_finite(s.scales);
}

SNESStep finite_step(SNESStep s) {
    require_finite_step("snes_update", s.sigma, s.mean);
    s.scales = checks::finite_result("snes_update", std::move(s.scales));
    return s;
}

}  // namespace

RowMatrixXd sample_full(const VecRef& mean, double sigma, const MatRef& factor,
                        const MatRef& noise) {
    const Eigen::Index n = checks::mean_vector(mean);
    // A's finiteness is read off the result: every entry of A reaches a row of X (a NaN or Inf
    // stays non-finite through the GEMM), which spares a pass over the n x n factor.
    require_shape("A", factor.rows(), factor.cols(), n, n);
    checks::step_size(sigma);
    checks::matrix("noise", noise, noise.rows(), n);
    if (noise.rows() == 0) require_finite("A", factor);
    RowMatrixXd x(noise.rows(), n);
    x.noalias() = (sigma * noise) * factor.transpose();  // sigma folds into the GEMM's alpha
    x.rowwise() += mean.transpose();
    if (!all_finite(x)) require_finite("A", factor);
    return checks::finite_result("sample_full", std::move(x));
}

RowMatrixXd sample_diagonal(const VecRef& mean, double sigma, const VecRef& scales,
                            const MatRef& noise) {
    const Eigen::Index n = checks::mean_vector(mean);
    checks::vector("scales", scales, n);
    checks::step_size(sigma);
    require_shape("noise", noise.rows(), noise.cols(), noise.rows(), n);
    const VectorXd d = sigma * scales;
    RowMatrixXd x(noise.rows(), n);
    // row by row, each row checked while it is in cache; the draws' finiteness only on failure
    // (every draw reaches x: scales > 0)
    bool finite = true;
    for (Eigen::Index k = 0; k < noise.rows(); ++k) {
        x.row(k) = noise.row(k).cwiseProduct(d.transpose()) + mean.transpose();
        finite = finite && all_finite(x.row(k));
    }
    if (!finite) {
        require_finite("noise", noise);
        checks::not_representable("sample_diagonal");
    }
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
    const Eigen::Index n = checks::square("A", factor);
    require_low_rank("beta", beta, yt, zt, n);
    if (!(a > 0.0) || !std::isfinite(a))
        invalid("a must be finite and > 0, got " + std::to_string(a));
    VectorXd b = beta;
    const MatrixXd gram = zt * zt.transpose();
    MatrixXd w = checks::finite_result("gemm_factor_update", root_weights(gram, b, a, nullptr));
    RowMatrixXd out = checks::finite_result("gemm_factor_update", apply_root(factor, yt, zt, w, a));
    if (w_out != nullptr) *w_out = std::move(w);
    return out;
}

namespace {

// cz of lowrank_expm_factor: the K x n weights of its one GEMM over A.
RowMatrixXd lowrank_expm_weights(const MatRef& zt, const VecRef& s, double scale) {
    // (U D U^T)^j = U (D P)^{j-1} D U^T = U D R^T S^{j-2} R D U^T (j >= 2) with P = R^T R and
    // S = R D R^T symmetric, so expm(U D U^T) = I + U (D + D R^T phi_2(S) R D) U^T.
    const MatrixXd r = gram_root(zt * zt.transpose());
    const MatrixXd rd = r * s.asDiagonal();
    Eigen::SelfAdjointEigenSolver<MatrixXd> eig(rd * r.transpose());
    if (eig.info() != Eigen::Success) invalid("eigendecomposition of R D R^T failed");
    const VectorXd f = eig.eigenvalues().unaryExpr([](double x) { return phi2(x); });
    const MatrixXd vr = eig.eigenvectors().transpose() * rd;  // V^T R D
    MatrixXd core = vr.transpose() * f.asDiagonal() * vr;
    core.diagonal() += s;
    return scale * (core * zt);  // K x n
}

}  // namespace

RowMatrixXd lowrank_expm_factor(const MatRef& factor, const MatRef& yt, const MatRef& zt,
                                const VecRef& s, double scale) {
    const Eigen::Index n = checks::square("A", factor);
    require_low_rank("s", s, yt, zt, n);
    const RowMatrixXd cz = lowrank_expm_weights(zt, s, scale);
    // scale (A + A U (D + D R^T phi_2(S) R D) U^T): one n x K x n GEMM over A.
    return checks::finite_result("lowrank_expm_factor",
                                 scaled_plus_lowrank(factor, scale, yt, cz, nullptr, nullptr));
}

CSAStep csa_step(const VecRef& p_sigma, const VectorXd& z_w, double sigma, long generation,
                 const IGOCMAParams& params) {
    const double c_sigma = params.c_sigma, chi_n = params.chi_n;
    const double n = static_cast<double>(p_sigma.size());
    CSAStep out;
    out.p_sigma =
        (1.0 - c_sigma) * p_sigma + std::sqrt(c_sigma * (2.0 - c_sigma) * params.mueff) * z_w;
    const double ps_norm = out.p_sigma.norm();
    out.sigma = sigma * std::exp((c_sigma / params.d_sigma) * (ps_norm / chi_n - 1.0));
    // Stall of the rank-one path while p_sigma is long (Hansen 2016, h_sigma below eq. 45).
    const double ps_corr =
        std::sqrt(1.0 - std::pow(1.0 - c_sigma, 2.0 * static_cast<double>(generation + 1)));
    out.h_sigma = ps_norm / ps_corr < (1.4 + 2.0 / (n + 1.0)) * chi_n;
    return out;
}

void check_cma_params(const IGOCMAParams& params, Eigen::Index lam, long generation) {
    require_size("params.weights", params.weights.size(), lam);
    require_finite("params.weights", params.weights);
    if (generation < 0) invalid("generation must be >= 0, got " + std::to_string(generation));
    checks::constant("mueff", params.mueff, true);
    checks::constant("c_sigma", params.c_sigma, true);
    checks::constant("d_sigma", params.d_sigma, true);
    checks::constant("c_c", params.c_c, true);
    checks::constant("c1", params.c1, false);
    checks::constant("cmu", params.cmu, false);
    checks::constant("chi_n", params.chi_n, true);
}

IGOCMAStep igo_cma_update(const VecRef& mean, double sigma, const MatRef& factor,
                          const VecRef& p_sigma, const VecRef& p_c_z, const MatRef& noise,
                          const MatRef& samples, const VecRef& values, long generation,
                          const IGOCMAParams& params, MatOut* factor_out) {
    const Eigen::Index n = checks::mean_vector(mean);
    // A's finiteness is read off the new factor, which every entry of A reaches (times sqrt(a),
    // or through A L's first column; a NaN or Inf stays non-finite): one pass less over A.
    require_shape("A", factor.rows(), factor.cols(), n, n);
    checks::vector("p_sigma", p_sigma, n);
    checks::vector("p_c_z", p_c_z, n);
    checks::population(noise, &samples, n, values);
    if (factor_out != nullptr) {
        checks::output_matrix("factor_out", *factor_out, n, n, mean, factor, p_sigma, p_c_z, noise,
                              samples, values);
    }
    const Eigen::Index lam = noise.rows();
    checks::step_size(sigma);
    check_cma_params(params, lam, generation);
    const VectorXd& weights = params.weights;
    const double c_c = params.c_c, c1 = params.c1, cmu = params.cmu, mueff = params.mueff;

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
    // CSA with A^{-1} in place of C^{-1/2} (Krause et al. 2016) (eqs. 43-44, h_sigma).
    CSAStep csa = csa_step(p_sigma, z_w, sigma, generation, params);
    out.p_sigma = std::move(csa.p_sigma);
    out.sigma = csa.sigma;
    out.h_sigma = csa.h_sigma;
    const double h = out.h_sigma ? 1.0 : 0.0;
    // Evolution path in z-coordinates, p_c = A p_c_z (eq. 45).
    VectorXd pcz = (1.0 - c_c) * p_c_z + h * std::sqrt(c_c * (2.0 - c_c) * mueff) * z_w;
    zt.row(k_count) = pcz.transpose();
    beta(k_count) = c1;
    // C' = a C + c1 p_c p_c^T + cmu sum w°_i y_i y_i^T (eq. 47) = A (aI + U B U^T) A^T.
    double a = 1.0 + c1 * (1.0 - h) * c_c * (2.0 - c_c) - c1 - cmu * weight_sum;
    // Once c_mu reaches its cap 1 - c1 (large lambda in low dimension, Hansen 2016 eq. 58) the
    // negative weights vanish (eq. 52) and a = 0 in exact arithmetic: the old covariance is
    // forgotten. Clear the rounding residue; a = 0 is handled by the n <= K branch below.
    if (std::abs(a) < 1e-12) a = 0.0;
    if (!(a >= 0.0)) invalid("covariance decay a must be >= 0, got " + std::to_string(a));
    if (a == 0.0 && n > zt.rows()) {
        invalid("covariance decay a = 0 needs popsize >= dimension (c_mu at its cap)");
    }

    out.negative_shrinks = 0;
    const Eigen::Index k = zt.rows();
    if (n <= k) {
        // Small n (n <= K): any G with G G^T = M gives A' = A G; the Cholesky factor of
        // the n x n matrix M costs n^3/3 <= K n^2/3 flops, far less than a K x K eigenproblem.
        MatrixXd m_full(n, n);
        for (int attempt = 0;; ++attempt) {
            m_full.noalias() = zt.transpose() * beta.asDiagonal() * zt;
            m_full.diagonal().array() += a;
            Eigen::LLT<MatrixXd> llt(m_full);
            if (llt.info() == Eigen::Success &&
                llt.matrixLLT().diagonal().array().square().minCoeff() >
                    1e-8 * std::max(a, m_full.diagonal().maxCoeff() * 1e-8)) {
                const MatrixXd l = llt.matrixL();
                MatOut dst = factor_destination(factor_out, out.factor, n);
                dst.noalias() = factor * l.triangularView<Eigen::Lower>();
                if (!all_finite(dst)) non_finite_factor(factor, "igo_cma_update");
                out.p_c_z = l.triangularView<Eigen::Lower>().solve(pcz);  // G^{-1} p_c_z
                return finite_step(std::move(out));
            }
            if (attempt >= 60) invalid("aI + U B U^T is not positive definite after shrinking");
            for (Eigen::Index i = 0; i < k; ++i) {
                if (beta(i) < 0.0) beta(i) *= 0.5;
            }
            ++out.negative_shrinks;
        }
    }
    const MatrixXd gram = zt * zt.transpose();
    const MatrixXd w = root_weights(gram, beta, a, &out.negative_shrinks);
    // A' = sqrt(a) A + (A U) W U^T with A U = [y_k ..., A p_c_z]: the last column (p_c in
    // x-space) is formed block by block inside the same pass over A.
    {
        const RowMatrixXd wz = w * zt;
        const VectorXd pc_weights = wz.row(k_count).transpose();
        if (!scaled_plus_lowrank_into(factor, std::sqrt(a), yt.topRows(k_count),
                                      wz.topRows(k_count), &pcz, &pc_weights,
                                      factor_destination(factor_out, out.factor, n))) {
            non_finite_factor(factor, "igo_cma_update");
        }
    }
    // p_c_z <- G^{-1} p_c_z with G = sqrt(a) I + U W U^T (Woodbury), so that A' p_c_z' = p_c.
    const double sqrt_a = std::sqrt(a);
    MatrixXd inner = gram * w;
    inner.diagonal().array() += sqrt_a;
    const VectorXd utv = zt * pcz;
    const VectorXd coef = w * inner.partialPivLu().solve(utv);
    out.p_c_z = (pcz - zt.transpose() * coef) / sqrt_a;
    return finite_step(std::move(out));
}

XNESStep xnes_update(const VecRef& mean, double sigma, const MatRef& factor, const VecRef& p_sigma,
                     const MatRef& noise, const MatRef& samples, const VecRef& values,
                     const XNESParams& params, MatOut* factor_out) {
    const Eigen::Index n = checks::mean_vector(mean);
    // A's finiteness is read off the new factor, scale (A + A U M U^T) with scale > 0 or an
    // underflow to 0 (0 times Inf or NaN is NaN): one pass less over A.
    require_shape("A", factor.rows(), factor.cols(), n, n);
    checks::vector("p_sigma", p_sigma, n);
    checks::population(noise, &samples, n, values);
    if (factor_out != nullptr) {
        checks::output_matrix("factor_out", *factor_out, n, n, mean, factor, p_sigma, noise,
                              samples, values);
    }
    const Eigen::Index lam = noise.rows();
    require_size("params.utilities", params.utilities.size(), lam);
    require_size("params.recombination", params.recombination.size(), lam);
    require_finite("params.utilities", params.utilities);
    require_finite("params.recombination", params.recombination);
    checks::step_size(sigma);
    checks::constant("mueff", params.mueff, true);
    checks::constant("eta_mu", params.eta_mu, true);
    checks::constant("eta_sigma", params.eta_sigma, true);
    checks::constant("eta_b", params.eta_b, true);
    checks::constant("c_sigma", params.c_sigma, true);
    checks::constant("d_sigma", params.d_sigma, true);
    checks::constant("chi_n", params.chi_n, true);
    // Owned copies (the record's vectors are), so reductions over them do not depend on the
    // alignment of a caller's buffer.
    const VectorXd& utilities = params.utilities;
    const VectorXd& recombination = params.recombination;
    const double eta_mu = params.eta_mu, eta_sigma = params.eta_sigma, eta_b = params.eta_b;
    const double c_sigma = params.c_sigma, d_sigma = params.d_sigma, chi_n = params.chi_n;
    const double mueff_pos = params.mueff;
    const bool csa = params.csa;

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
        out.sigma =
            sigma * std::exp(0.5 * eta_sigma * g_sigma);  // sigma <- sigma exp(eta/2 G_sigma)
    }
    // A <- A expm(eta_B/2 G_B) = exp(-eta_B c/2) A expm(U diag(eta_B u/2) U^T), U = Z^T.
    const VectorXd s = 0.5 * eta_b * u;
    const double scale = std::exp(-0.5 * eta_b * c);
    const RowMatrixXd cz = lowrank_expm_weights(zt, s, scale);
    if (!scaled_plus_lowrank_into(factor, scale, yt, cz, nullptr, nullptr,
                                  factor_destination(factor_out, out.factor, n))) {
        non_finite_factor(factor, "xnes_update");
    }
    return finite_step(std::move(out));
}

SNESStep snes_update(const VecRef& mean, double sigma, const VecRef& scales, const MatRef& noise,
                     const VecRef& values, const SNESParams& params) {
    const Eigen::Index n = checks::mean_vector(mean);
    checks::vector("scales", scales, n);
    checks::population_shapes(noise, nullptr, n, values);  // every draw reaches grad_mu
    const Eigen::Index lam = noise.rows();
    require_size("params.utilities", params.utilities.size(), lam);
    require_finite("params.utilities", params.utilities);
    checks::step_size(sigma);
    checks::constant("eta_mu", params.eta_mu, true);
    checks::constant("eta_sigma", params.eta_sigma, true);
    if (!(scales.array() > 0.0).all() || !scales.allFinite()) {
        invalid("scales must be finite and > 0");
    }
    const double eta_mu = params.eta_mu, eta_sigma = params.eta_sigma;

    const std::vector<Eigen::Index> order = rank_order(values);
    // grad_mu = sum u_k z_k, grad_s = sum u_k (z_k^2 - 1) (Schaul et al. 2011, Alg. 1), as one
    // pass of row updates in rank order: element-wise into owned vectors, so the summation order
    // does not depend on the alignment of the caller's noise buffer (a GEMV over it would).
    VectorXd grad_mu = VectorXd::Zero(n), grad_s = VectorXd::Zero(n);
    double u_sum = 0.0;
    for (Eigen::Index r = 0; r < lam; ++r) {
        const double u = params.utilities(r);
        const auto z = noise.row(order[static_cast<std::size_t>(r)]).transpose();
        grad_mu.noalias() += u * z;
        grad_s.array() += u * z.array().square();
        u_sum += u;
    }
    grad_s.array() -= u_sum;
    SNESStep out;
    out.mean =
        mean + (eta_mu * sigma) * scales.cwiseProduct(grad_mu);  // mu <- mu + eta_mu sigma.*grad_mu
    VectorXd log_scales =
        scales.array().log().matrix() + (0.5 * eta_sigma) * grad_s;  // sigma.*exp(eta/2 grad)
    const double log_gm = log_scales.mean();
    out.scales = (log_scales.array() - log_gm).exp().matrix();
    out.sigma = sigma * std::exp(log_gm);
    if (!is_finite_step(out)) checks::population_culprit(noise, nullptr);
    return finite_step(std::move(out));
}

}  // namespace natgrad
