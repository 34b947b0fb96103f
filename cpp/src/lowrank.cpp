#include "natgrad/lowrank.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "natgrad/checks.hpp"
#include "natgrad/search.hpp"

namespace natgrad {

namespace {

void require_rank(int rank) {
    if (rank != 0 && rank != 1) invalid("params.rank must be 0 or 1, got " + std::to_string(rank));
}

// sigma > 0, D > 0, and v of length n (nonzero for rank 1), all finite; returns n.
Eigen::Index require_model(const VecRef& mean, double sigma, const VecRef& scales, const VecRef& v,
                           int rank) {
    const Eigen::Index n = mean.size();
    if (n < 1) invalid("mean must have at least one coordinate, got length 0");
    require_finite("mean", mean);
    if (!(sigma > 0.0) || !std::isfinite(sigma)) {
        invalid("sigma must be finite and > 0, got " + std::to_string(sigma));
    }
    checks::vector("scales", scales, n);
    if (!(scales.array() > 0.0).all()) invalid("scales must be > 0 everywhere");
    checks::vector("v", v, n);
    require_rank(rank);
    if (rank == 1 && !(v.squaredNorm() > 0.0)) invalid("v must be nonzero for rank 1");
    return n;
}

void require_noise(const MatRef& noise, Eigen::Index n) {
    if (noise.rows() < 2 || noise.cols() != n) {
        invalid("noise must have shape (popsize >= 2, " + std::to_string(n) + "), got (" +
                std::to_string(noise.rows()) + ", " + std::to_string(noise.cols()) + ")");
    }
    // finiteness only when a result is not finite (noise_culprit): every draw the kernels read
    // reaches their results, so this saves a pass over the (lambda x n) draws
}

// Names the draws when a result is not finite and they hold a NaN or Inf.
void noise_culprit(const MatRef& noise) { require_finite("noise", noise); }

// The mirrored draw z_k (Nomura & Ono 2022, Alg. 1: z_{lambda/2 + k} = -z_k) as sign * (a row
// of noise), read in place by the kernels.
struct MirroredRow {
    Eigen::Index row;
    double sign;
};

// Columns per block of the kernels' passes over the draws: a block of the rows read (about
// lambda/2 rows) stays in L1/L2 while all lambda draws use it.
constexpr Eigen::Index kColumnBlock = 256;

MirroredRow mirrored_row(const MatRef& noise, Eigen::Index k) {
    const Eigen::Index h = noise.rows() / 2;
    if (k >= h && k < 2 * h) return {k - h, -1.0};
    return {k, 1.0};
}

// The model's direction vbar = v/|v| and the coefficient of y = z + coef (vbar^T z) vbar, which
// maps N(0, I) onto N(0, I + v v^T) (Nomura & Ono 2022, sampling step of Alg. 1).
struct Direction {
    VectorXd vbar;
    double normv2 = 0.0;
    double coef = 0.0;
};

Direction direction(const VecRef& v, int rank) {
    Direction d;
    if (rank == 1) {
        d.normv2 = v.squaredNorm();
        d.vbar = v / std::sqrt(d.normv2);
        d.coef = std::sqrt(1.0 + d.normv2) - 1.0;
    } else {
        d.vbar = VectorXd::Zero(v.size());
    }
    return d;
}

}  // namespace

RowMatrixXd lowrank_nes_sample(const VecRef& mean, double sigma, const VecRef& scales,
                               const VecRef& v, const MatRef& noise, int rank) {
    const Eigen::Index n = require_model(mean, sigma, scales, v, rank);
    require_noise(noise, n);
    const Direction d = direction(v, rank);
    const VectorXd sd = sigma * scales;
    const Eigen::Index lam = noise.rows(), h = lam / 2;
    RowMatrixXd x(lam, n);
    bool finite = true;
    // x = m + sigma D y with y = z + (sqrt(1 + |v|^2) - 1) vbar vbar^T z, for the candidate k and
    // (when k < h) its mirror h + k from one read of noise row k, a block of columns at a time
    // (negation is exact, so the mirror's y is the same arithmetic with sign -1)
    auto candidate = [&](Eigen::Index k, const auto& z, double sign, double ip, Eigen::Index c,
                         Eigen::Index len) {
        auto out = x.row(k).segment(c, len);
        out = (mean.segment(c, len).array() +
               sd.segment(c, len).array() *
                   (sign * z.array() + (d.coef * ip) * d.vbar.segment(c, len).array()))
                  .matrix()
                  .transpose();
        finite = finite && all_finite(out);  // while the block is in cache
    };
    for (Eigen::Index j = 0; j < lam - h; ++j) {
        const Eigen::Index k = j < h ? j : 2 * h;  // row 2h: odd lambda's unmirrored last draw
        const auto row = noise.row(k).transpose();
        const double ip = d.vbar.dot(row);
        for (Eigen::Index c = 0; c < n; c += kColumnBlock) {
            const Eigen::Index len = std::min(kColumnBlock, n - c);
            const auto z = row.segment(c, len);
            candidate(k, z, 1.0, 1.0 * ip, c, len);
            if (k < h) candidate(h + k, z, -1.0, -1.0 * ip, c, len);
        }
    }
    if (!finite) {
        noise_culprit(noise);
        checks::not_representable("lowrank_nes_sample");
    }
    return x;
}

LowRankNESStep lowrank_nes_update(const VecRef& mean, double sigma, const VecRef& scales,
                                  const VecRef& v, const VecRef& p_sigma, const VecRef& p_c,
                                  const MatRef& noise, const VecRef& values,
                                  const LowRankNESParams& params) {
    const int rank = params.rank;
    require_rank(rank);
    const Eigen::Index n = require_model(mean, sigma, scales, v, rank);
    checks::vector("p_sigma", p_sigma, n);
    checks::vector("p_c", p_c, n);
    require_noise(noise, n);
    const Eigen::Index lam = noise.rows();
    require_size("values", values.size(), lam);
    require_finite("values", values);
    require_size("params.w_rank_hat", params.w_rank_hat.size(), lam);
    require_size("params.w_rank", params.w_rank.size(), lam);
    require_finite("params.w_rank_hat", params.w_rank_hat);
    require_finite("params.w_rank", params.w_rank);
    if (!(params.w_rank_hat(0) > 0.0) || (params.w_rank_hat.array() < 0.0).any()) {
        invalid("params.w_rank_hat must be >= 0 with a positive first entry");
    }
    const double constants[] = {params.mueff,
                                params.c_s,
                                params.c_c,
                                params.c1,
                                params.chi_n,
                                params.alpha_dist,
                                params.eta_m,
                                params.eta_move_sigma,
                                params.eta_stag_sigma,
                                params.eta_conv_sigma,
                                params.eta_b};
    for (double c : constants) {
        if (!std::isfinite(c) || c < 0.0) {
            invalid("params constants must be finite and >= 0, got " + std::to_string(c));
        }
    }
    if (!(params.c_s > 0.0 && params.c_s <= 1.0) || !(params.c_c > 0.0 && params.c_c <= 1.0)) {
        invalid("params.c_s and params.c_c must be in (0, 1]");
    }

    const Direction d = direction(v, rank);
    const std::vector<Eigen::Index> order = rank_order(values);
    const double nd = static_cast<double>(n);

    // |z| and vbar^T z of every row read (rows h..2h-1 are the mirrors of rows 0..h-1): one
    // reduction each per row of noise, shared by a draw and its mirror
    const Eigen::Index h = lam / 2;
    std::vector<double> row_norm(static_cast<std::size_t>(lam)), row_ip(row_norm.size());
    for (Eigen::Index k = 0; k < lam; ++k) {
        if (k >= h && k < 2 * h) continue;
        const auto row = noise.row(k).transpose();
        row_norm[static_cast<std::size_t>(k)] = row.norm();
        row_ip[static_cast<std::size_t>(k)] = d.vbar.dot(row);
    }
    std::vector<MirroredRow> draw(static_cast<std::size_t>(lam));
    std::vector<double> znorm(draw.size());
    double max_norm = 0.0;
    for (Eigen::Index r = 0; r < lam; ++r) {
        const auto ri = static_cast<std::size_t>(r);
        draw[ri] = mirrored_row(noise, order[ri]);
        znorm[ri] = row_norm[static_cast<std::size_t>(draw[ri].row)];
        max_norm = std::max(max_norm, znorm[ri]);
    }
    // First pass, in rank order: sum_i w_rank,i z_i (p_sigma), a block of columns at a time, so
    // that a block of the rows read stays in cache for all lambda draws, and four draws per sweep
    // of the block (the sum per coordinate is the same sequence of a += c z in any blocking)
    VectorXd zw = VectorXd::Zero(n);
    for (Eigen::Index c = 0; c < n; c += kColumnBlock) {
        const Eigen::Index len = std::min(kColumnBlock, n - c);
        double* __restrict acc = zw.data() + c;
        auto draw_block = [&](Eigen::Index r) {
            const MirroredRow z = draw[static_cast<std::size_t>(r)];
            return noise.row(z.row).data() + c;
        };
        auto coef = [&](Eigen::Index r) {
            return draw[static_cast<std::size_t>(r)].sign * params.w_rank(r);
        };
        Eigen::Index r = 0;
        for (; r + 4 <= lam; r += 4) {
            const double* __restrict z0 = draw_block(r);
            const double* __restrict z1 = draw_block(r + 1);
            const double* __restrict z2 = draw_block(r + 2);
            const double* __restrict z3 = draw_block(r + 3);
            const double c0 = coef(r), c1 = coef(r + 1), c2 = coef(r + 2), c3 = coef(r + 3);
            for (Eigen::Index i = 0; i < len; ++i) {
                double a = acc[i];
                a += c0 * z0[i];
                a += c1 * z1[i];
                a += c2 * z2[i];
                a += c3 * z3[i];
                acc[i] = a;
            }
        }
        for (; r < lam; ++r) {
            const double* __restrict z0 = draw_block(r);
            const double c0 = coef(r);
            for (Eigen::Index i = 0; i < len; ++i) acc[i] += c0 * z0[i];
        }
    }
    LowRankNESStep out;
    // evolution path p_sigma with the rank weights (Nomura & Ono 2022, Alg. 1)
    out.p_sigma = (1.0 - params.c_s) * p_sigma +
                  std::sqrt(params.c_s * (2.0 - params.c_s) * params.mueff) * zw;
    const double ps_norm = out.p_sigma.norm();

    // Weights: distance weights w_i ∝ w_rank_hat,i exp(alpha |z_i|) while moving (|p_sigma| >=
    // chi_n), rank weights otherwise; eta_sigma switches by the same test (move / stagnation /
    // convergence phases of Nomura & Ono 2022). The shift by max |z| cancels in the normalisation.
    VectorXd weights(lam);
    double eta_sigma;
    if (ps_norm >= params.chi_n) {
        double total = 0.0;
        for (Eigen::Index r = 0; r < lam; ++r) {
            weights(r) =
                params.w_rank_hat(r) *
                std::exp(params.alpha_dist * (znorm[static_cast<std::size_t>(r)] - max_norm));
            total += weights(r);
        }
        weights = (weights.array() / total - 1.0 / static_cast<double>(lam)).matrix();
        eta_sigma = params.eta_move_sigma;
    } else {
        weights = params.w_rank;
        eta_sigma = ps_norm >= 0.1 * params.chi_n ? params.eta_stag_sigma : params.eta_conv_sigma;
    }

    // Second pass: sum w y (mean), and for the natural gradient of (v, D) the weighted sums of
    // y^2, (vbar^T y) y, (vbar^T y)^2 and the weights with exw = eta_B w (VD-CMA's natural
    // gradient on this model, as CR-FM-NES uses it); G_sigma from |z|^2. The scalars first, in
    // rank order; then the sums per coordinate a block of columns at a time, as above.
    VectorXd yw = VectorXd::Zero(n), y2 = VectorXd::Zero(n), yip = VectorXd::Zero(n), y(n);
    double sum_w = 0.0, sum_ip2 = 0.0, g_sigma = 0.0;
    const double root_gamma = std::sqrt(1.0 + d.normv2);
    std::vector<double> ip_zs(draw.size()), ip_ys(draw.size());
    for (Eigen::Index r = 0; r < lam; ++r) {
        const auto ri = static_cast<std::size_t>(r);
        const double w = weights(r);
        ip_zs[ri] = draw[ri].sign * row_ip[static_cast<std::size_t>(draw[ri].row)];
        ip_ys[ri] = root_gamma * ip_zs[ri];  // vbar^T y
        const double wb = params.eta_b * w;
        sum_w += wb;
        sum_ip2 += wb * ip_ys[ri] * ip_ys[ri];
        const double zn = znorm[ri];
        g_sigma += w * (zn * zn - nd) / nd;
    }
    for (Eigen::Index c = 0; c < n; c += kColumnBlock) {
        const Eigen::Index len = std::min(kColumnBlock, n - c);
        double* __restrict ywb = yw.data() + c;
        double* __restrict y2b = y2.data() + c;
        double* __restrict yipb = yip.data() + c;
        const double* __restrict vbar = d.vbar.data() + c;
        for (Eigen::Index r = 0; r < lam; ++r) {
            const auto ri = static_cast<std::size_t>(r);
            const MirroredRow z = draw[ri];
            const double* __restrict zb = noise.row(z.row).data() + c;
            const double w = weights(r), wb = params.eta_b * w, sign = z.sign;
            const double along = d.coef * ip_zs[ri], wip = wb * ip_ys[ri];
            for (Eigen::Index i = 0; i < len; ++i) {  // y = z + coef (vbar^T z) vbar
                const double yi = along * vbar[i] + sign * zb[i];
                ywb[i] += w * yi;
                y2b[i] += wb * (yi * yi);
                yipb[i] += wip * yi;
            }
        }
    }
    // mean and rank-one path: m <- m + eta_m sigma D sum w y; p_c in x / sigma units
    const VectorXd dyw = scales.cwiseProduct(yw);
    out.mean = mean + (params.eta_m * sigma) * dyw;
    out.p_c =
        (1.0 - params.c_c) * p_c + std::sqrt(params.c_c * (2.0 - params.c_c) * params.mueff) * dyw;
    // the rank-one term: y = p_c / D with weight c1 (appended column of exY in the reference)
    {
        y = out.p_c.cwiseQuotient(scales);
        const double ip_y = d.vbar.dot(y);
        y2.array() += params.c1 * y.array().square();
        yip.noalias() += (params.c1 * ip_y) * y;
        sum_w += params.c1;
        sum_ip2 += params.c1 * ip_y * ip_y;
    }

    VectorXd s_sum;
    if (rank == 1) {
        const double normv2 = d.normv2, normv4 = normv2 * normv2, gamma = 1.0 + normv2;
        const VectorXd vbb = d.vbar.array().square().matrix();
        const double alpha =
            std::min(1.0, std::sqrt(normv4 + (2.0 * gamma - std::sqrt(gamma)) / vbb.maxCoeff()) /
                              (2.0 + normv2));
        const double b = -(1.0 - alpha * alpha) * normv4 / gamma + 2.0 * alpha * alpha;
        const VectorXd inv_h = (2.0 - (b + 2.0 * alpha * alpha) * vbb.array()).inverse().matrix();
        // t = y (vbar^T y) - vbar ((vbar^T y)^2 + gamma)/2, summed with the weights
        VectorXd t_sum = yip - (0.5 * (sum_ip2 + gamma * sum_w)) * d.vbar;
        const double vbar_t = d.vbar.dot(t_sum);
        // s = y^2 - |v|^2/gamma (vbar^T y) (y o vbar) - 1, then the corrections by t and H^{-1}
        VectorXd s2 = y2 - (normv2 / gamma) * d.vbar.cwiseProduct(yip);
        s2.array() -= sum_w;
        s2 -= (alpha / gamma) *
              ((2.0 + normv2) * t_sum.cwiseProduct(d.vbar) - (normv2 * vbar_t) * vbb);
        const VectorXd q = inv_h.cwiseProduct(vbb);
        s_sum = inv_h.cwiseProduct(s2) - (b / (1.0 + b * vbb.dot(q)) * q.dot(s2)) * q;
        t_sum -= alpha * ((2.0 + normv2) * s_sum.cwiseProduct(d.vbar) - vbb.dot(s_sum) * d.vbar);
        out.v = v + t_sum / std::sqrt(normv2);
    } else {
        // diagonal model: the natural gradient of D is D (z^2 - 1)/2 per sample
        s_sum = 0.5 * (y2.array() - sum_w).matrix();
        out.v = v;
    }
    VectorXd new_scales = scales + s_sum.cwiseProduct(scales);
    if (!(new_scales.array() > 0.0).all() || !all_finite(new_scales)) {
        invalid(
            "lowrank_nes_update: the update of D made a scale non-positive (the step of the "
            "(v, D) natural gradient is too long for this population)");
    }
    // det(D (I + v v^T)^{1/2})^{1/n} = 1: sigma alone carries the overall scale
    const double log_det = new_scales.array().log().sum() / nd +
                           (rank == 1 ? std::log1p(out.v.squaredNorm()) / (2.0 * nd) : 0.0);
    out.scales = new_scales * std::exp(-log_det);
    // sigma <- sigma exp(eta_sigma/2 G_sigma), G_sigma = sum w (|z|^2 - n)/n
    out.sigma = sigma * std::exp(0.5 * eta_sigma * g_sigma);

    if (!(std::isfinite(out.sigma) && all_finite(out.mean) && all_finite(out.scales) &&
          all_finite(out.v) && all_finite(out.p_sigma) && all_finite(out.p_c))) {
        noise_culprit(noise);
    }
    checks::finite_result("lowrank_nes_update", out.sigma);
    out.mean = checks::finite_result("lowrank_nes_update", std::move(out.mean));
    out.scales = checks::finite_result("lowrank_nes_update", std::move(out.scales));
    out.v = checks::finite_result("lowrank_nes_update", std::move(out.v));
    out.p_sigma = checks::finite_result("lowrank_nes_update", std::move(out.p_sigma));
    out.p_c = checks::finite_result("lowrank_nes_update", std::move(out.p_c));
    return out;
}

}  // namespace natgrad
