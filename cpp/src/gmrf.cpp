#include "natgrad/gmrf.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "natgrad/checks.hpp"

namespace natgrad {

namespace {

// Samples are processed in blocks of kBlock, one lane of a Lanes vector per sample, so the back
// substitution's inner loop runs over independent samples (vectorised) instead of along its
// dependency chain, and the values a position still needs stay in whole vectors (a ring of them,
// cache-resident for a band) instead of being stored and reloaded lane by lane.
constexpr Eigen::Index kBlock = 8;
// Four lanes: one AVX2 register (two SSE registers at x86-64-v2). A block is two of them.
typedef double Quad __attribute__((vector_size(4 * sizeof(double))));
struct Lanes {
    Quad lo, hi;
};
// Lanes pass between functions of this file only, all inlined: their calling convention at ISA
// levels below AVX (which GCC warns about) never reaches an interface.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

inline Lanes operator+(const Lanes& a, const Lanes& b) { return {a.lo + b.lo, a.hi + b.hi}; }
inline Lanes operator*(const Lanes& a, const Lanes& b) { return {a.lo * b.lo, a.hi * b.hi}; }
inline Lanes operator*(double a, const Lanes& b) { return {a * b.lo, a * b.hi}; }
inline Lanes operator*(const Lanes& a, double b) { return {a.lo * b, a.hi * b}; }
inline Lanes operator+(double a, const Lanes& b) { return {a + b.lo, a + b.hi}; }
inline Lanes operator-(const Lanes& a, double b) { return {a.lo - b, a.hi - b}; }

// Rows of a block of `count` <= kBlock samples, by lane; the lanes past count repeat the last row,
// so they compute (and store) that row's values a second time, bit for bit the same, and every
// block runs at full width without a branch.
struct BlockRows {
    const double* in[kBlock];
};

// The lanes of position (column) p of the block's rows.
inline Lanes gather(const BlockRows& r, Eigen::Index p) {
    return {Quad{r.in[0][p], r.in[1][p], r.in[2][p], r.in[3][p]},
            Quad{r.in[4][p], r.in[5][p], r.in[6][p], r.in[7][p]}};
}

inline double quad_sum(const Quad& q) { return (q[0] + q[2]) + (q[1] + q[3]); }

inline double lane_sum(const Lanes& v) { return quad_sum(v.lo + v.hi); }

std::string at(const char* name, Eigen::Index i) {
    return std::string(name) + "[" + std::to_string(i) + "]";
}

void check_factor(const VecRef& b, const VecRef& d, const GMRFStructure& g) {
    require_size("b", b.size(), g.nnz());
    require_finite("b", b);
    require_size("d", d.size(), g.n());
    require_finite("d", d);
    for (Eigen::Index p = 0; p < d.size(); ++p) {
        if (!(d(p) > 0.0))
            invalid("d must be > 0 everywhere, got d[" + std::to_string(p) +
                    "] = " + std::to_string(d(p)));
    }
}

// Dimension n of N(mean, sigma^2 (L D^{-1} L^T)^{-1}) on the structure g, all arguments checked.
Eigen::Index check_distribution(const VecRef& mean, double sigma, const VecRef& b, const VecRef& d,
                                const GMRFStructure& g) {
    const Eigen::Index n = checks::mean_vector(mean);
    require_size("mean", n, g.n());
    checks::step_size(sigma);
    check_factor(b, d, g);
    return n;
}

void check_moments(const VecRef& s_diag, const VecRef& s_off, const GMRFStructure& g) {
    require_size("s_diag", s_diag.size(), g.n());
    require_finite("s_diag", s_diag);
    require_size("s_off", s_off.size(), g.nnz());
    require_finite("s_off", s_off);
}

[[noreturn]] void not_positive_definite(const GMRFStructure& g, Eigen::Index p) {
    invalid("the moments are not positive definite on the clique of vertex " +
            std::to_string(g.perm()(p)) + " (elimination position " + std::to_string(p) +
            "): no maximum-entropy completion exists");
}

// Position p of the completion, with its clique C (k members): the Cholesky of S_CC, then
// b = S_CC^{-1} S_Cp by forward and back substitution and d_p = S_pp - S_pC b. K > 0 fixes k = K
// (the loops unroll and the factor stays in registers; the cliques of a band of width K); K = 0
// takes k at run time with the scratch m (k x k) and u (k). The arithmetic is the same either way.
// False if S_CC or the Schur complement is not positive definite.
template <int K>
bool complete_position(Eigen::Index p, Eigen::Index k, const VectorXd& s_diag,
                       const VectorXd& s_off, const GMRFStructure& g, double* m_scratch,
                       double* u_scratch, GMRFFactor& out) {
    double m_fixed[K > 0 ? K * K : 1], u_fixed[K > 0 ? K : 1];
    if constexpr (K > 0) k = K;
    double* m = K > 0 ? m_fixed : m_scratch;  // m[i * k + j]: the lower triangle, i >= j
    double* u = K > 0 ? u_fixed : u_scratch;
    const Eigen::Index lo = g.colptr()(p);
    const IndexVector &rows = g.rows(), &pairs = g.pairs();
    // S_CC: diagonal from s_diag, pairs a < c row by row from their slots.
    Eigen::Index next = g.pair_ptr()(p);
    for (Eigen::Index a = 0; a < k; ++a) {
        m[a * k + a] = s_diag(rows(lo + a));
        for (Eigen::Index c = a + 1; c < k; ++c) m[c * k + a] = s_off(pairs(next++));
    }
    for (Eigen::Index j = 0; j < k; ++j) {
        double t = m[j * k + j];
        for (Eigen::Index l = 0; l < j; ++l) t -= m[j * k + l] * m[j * k + l];
        if (!(t > 0.0) || !std::isfinite(t)) return false;
        const double root = std::sqrt(t);
        m[j * k + j] = root;
        for (Eigen::Index i = j + 1; i < k; ++i) {
            double r = m[i * k + j];
            for (Eigen::Index l = 0; l < j; ++l) r -= m[i * k + l] * m[j * k + l];
            m[i * k + j] = r / root;
        }
    }
    for (Eigen::Index a = 0; a < k; ++a) {
        double t = s_off(lo + a);
        for (Eigen::Index l = 0; l < a; ++l) t -= m[a * k + l] * u[l];
        u[a] = t / m[a * k + a];
    }
    for (Eigen::Index a = k - 1; a >= 0; --a) {
        double t = u[a];
        for (Eigen::Index l = a + 1; l < k; ++l) t -= m[l * k + a] * out.b(lo + l);
        out.b(lo + a) = t / m[a * k + a];
    }
    double dp = s_diag(p);
    for (Eigen::Index a = 0; a < k; ++a) dp -= s_off(lo + a) * out.b(lo + a);
    if (!(dp > 0.0) || !std::isfinite(dp)) return false;
    out.d(p) = dp;
    return true;
}

GMRFFactor complete_unchecked(const VectorXd& s_diag, const VectorXd& s_off,
                              const GMRFStructure& g) {
    const Eigen::Index n = g.n(), kmax = std::max<Eigen::Index>(g.max_clique(), 1);
    const IndexVector& colptr = g.colptr();
    GMRFFactor out{VectorXd(g.nnz()), VectorXd(n)};
    std::vector<double> m(static_cast<std::size_t>(kmax * kmax)), u(static_cast<std::size_t>(kmax));
    for (Eigen::Index p = 0; p < n; ++p) {
        const Eigen::Index k = colptr(p + 1) - colptr(p);
        bool ok;
        switch (k) {
            case 0:
                ok = complete_position<0>(p, 0, s_diag, s_off, g, m.data(), u.data(), out);
                break;
            case 1:
                ok = complete_position<1>(p, 1, s_diag, s_off, g, m.data(), u.data(), out);
                break;
            case 2:
                ok = complete_position<2>(p, 2, s_diag, s_off, g, m.data(), u.data(), out);
                break;
            case 3:
                ok = complete_position<3>(p, 3, s_diag, s_off, g, m.data(), u.data(), out);
                break;
            default:
                ok = complete_position<0>(p, k, s_diag, s_off, g, m.data(), u.data(), out);
        }
        if (!ok) not_positive_definite(g, p);
    }
    return out;
}

// The rows `out` of x = mean + sigma P L^{-T} D^{1/2} z for the draws `z` of one block, by back
// substitution over the block's samples at once; y (ring_size() lanes, indexed by p & (ring_size
// - 1)) holds the values of L^{-T} D^{1/2} z still needed. Each position's value is written to x
// as soon as it is known. Returns false if some written value is not finite.
bool color_block(const VecRef& mean, double sigma, const VecRef& b, const VectorXd& sqrt_d,
                 const BlockRows& z, double* const* out, const GMRFStructure& g,
                 std::vector<Lanes>& y) {
    const IndexVector &colptr = g.colptr(), &rows = g.rows(), &perm = g.perm();
    const Eigen::Index ring = g.ring_size() - 1;
    Lanes poison = {};  // sum of value * 0: NaN in a lane once one of its values is not finite
    for (Eigen::Index p = g.n() - 1; p >= 0; --p) {
        Lanes v = sqrt_d(p) * gather(z, p);
        for (Eigen::Index s = colptr(p); s < colptr(p + 1); ++s) {
            const Lanes& q = y[rows(s) & ring];
            v.lo += b(s) * q.lo;
            v.hi += b(s) * q.hi;
        }
        y[p & ring] = v;
        const Eigen::Index vertex = perm(p);
        const Lanes value = mean(vertex) + sigma * v;
        poison = poison + value * 0.0;
        for (int j = 0; j < 4; ++j) out[j][vertex] = value.lo[j];
        for (int j = 0; j < 4; ++j) out[j + 4][vertex] = value.hi[j];
    }
    return lane_sum(poison) == 0.0;
}

}  // namespace

GMRFStructure::GMRFStructure(IndexVector perm, IndexVector colptr, IndexVector rows,
                             IndexVector pair_ptr, IndexVector pairs)
    : perm_(std::move(perm)),
      colptr_(std::move(colptr)),
      rows_(std::move(rows)),
      pair_ptr_(std::move(pair_ptr)),
      pairs_(std::move(pairs)) {
    const Eigen::Index n = perm_.size(), nnz = rows_.size();
    if (n < 1) invalid("perm must have at least one entry, got length 0");
    std::vector<char> seen(static_cast<std::size_t>(n), 0);
    for (Eigen::Index p = 0; p < n; ++p) {
        const std::int64_t v = perm_(p);
        if (v < 0 || v >= n || seen[static_cast<std::size_t>(v)]) {
            invalid("perm must be a permutation of 0 .. n-1, got " + at("perm", p) + " = " +
                    std::to_string(v));
        }
        seen[static_cast<std::size_t>(v)] = 1;
    }
    require_size("colptr", colptr_.size(), n + 1);
    require_size("pair_ptr", pair_ptr_.size(), n + 1);
    if (colptr_(0) != 0 || colptr_(n) != nnz) {
        invalid("colptr must start at 0 and end at len(rows) = " + std::to_string(nnz));
    }
    if (pair_ptr_(0) != 0 || pair_ptr_(n) != pairs_.size()) {
        invalid("pair_ptr must start at 0 and end at len(pairs) = " +
                std::to_string(pairs_.size()));
    }
    std::vector<Eigen::Index> column_of(static_cast<std::size_t>(nnz));
    for (Eigen::Index p = 0; p < n; ++p) {
        const std::int64_t lo = colptr_(p), hi = colptr_(p + 1);
        if (hi < lo) invalid("colptr must be non-decreasing, got " + at("colptr", p + 1));
        const Eigen::Index k = hi - lo;
        max_clique_ = std::max(max_clique_, k);
        if (pair_ptr_(p + 1) - pair_ptr_(p) != k * (k - 1) / 2) {
            invalid("pair_ptr must give |C_p|(|C_p|-1)/2 pairs for every position, not at " +
                    std::to_string(p));
        }
        for (std::int64_t s = lo; s < hi; ++s) {
            const std::int64_t q = rows_(s);
            if (q <= p || q >= n || (s > lo && q <= rows_(s - 1))) {
                invalid("rows must list increasing positions > p in range for every column, got " +
                        at("rows", s) + " = " + std::to_string(q));
            }
            column_of[static_cast<std::size_t>(s)] = p;
        }
    }
    Eigen::Index reach = 0;
    for (Eigen::Index p = 0; p < n; ++p) {
        if (colptr_(p + 1) > colptr_(p))
            reach = std::max<Eigen::Index>(reach, rows_(colptr_(p + 1) - 1) - p);
    }
    while (ring_size_ <= reach) ring_size_ *= 2;
    // Every pair of a clique must be a pattern slot of exactly that pair: the perfect elimination
    // property the completion relies on.
    for (Eigen::Index p = 0; p < n; ++p) {
        const std::int64_t lo = colptr_(p), k = colptr_(p + 1) - lo;
        std::int64_t next = pair_ptr_(p);
        for (std::int64_t a = 0; a < k; ++a) {
            for (std::int64_t c = a + 1; c < k; ++c, ++next) {
                const std::int64_t s = pairs_(next);
                if (s < 0 || s >= nnz || column_of[static_cast<std::size_t>(s)] != rows_(lo + a) ||
                    rows_(s) != rows_(lo + c)) {
                    invalid(
                        "pairs must give the slot of every pair of each clique (not a perfect "
                        "elimination order), wrong at " +
                        at("pairs", next));
                }
            }
        }
    }
}

GMRFFactor gmrf_complete(const VecRef& s_diag, const VecRef& s_off, const GMRFStructure& g) {
    check_moments(s_diag, s_off, g);
    GMRFFactor out = complete_unchecked(s_diag, s_off, g);
    out.b = checks::finite_result("gmrf_complete", std::move(out.b));
    return out;
}

GMRFFactor gmrf_factor(const VecRef& k_diag, const VecRef& k_off, const GMRFStructure& g) {
    require_size("k_diag", k_diag.size(), g.n());
    require_finite("k_diag", k_diag);
    require_size("k_off", k_off.size(), g.nnz());
    require_finite("k_off", k_off);
    const IndexVector &colptr = g.colptr(), &rows = g.rows(), &pair_ptr = g.pair_ptr(),
                      &pairs = g.pairs();
    VectorXd kd = k_diag, ko = k_off;  // the Schur complements, updated pivot by pivot
    GMRFFactor out;
    out.b.resize(g.nnz());
    out.d.resize(g.n());
    std::vector<double> ell(static_cast<std::size_t>(g.max_clique()));
    for (Eigen::Index p = 0; p < g.n(); ++p) {
        const double delta = kd(p);
        // inputs are finite: a non-finite pivot is an overflow of the Schur updates
        if (!std::isfinite(delta)) checks::not_representable("gmrf_factor");
        if (!(delta > 0.0)) {
            std::ostringstream text;
            text.precision(17);
            text << "precision is not positive definite (pivot " << delta << " at vertex "
                 << g.perm()(p) << ")";
            invalid(text.str());
        }
        const Eigen::Index lo = colptr(p), k = colptr(p + 1) - lo;
        for (Eigen::Index a = 0; a < k; ++a) {
            const double e = ko(lo + a) / delta;
            ell[static_cast<std::size_t>(a)] = e;
            kd(rows(lo + a)) -= delta * (e * e);
            out.b(lo + a) = -e;
        }
        // the clique's pairs (a < c) in the order of the pair table (row-major upper triangle)
        Eigen::Index slot = pair_ptr(p);
        for (Eigen::Index a = 0; a < k; ++a) {
            const double da = delta * ell[static_cast<std::size_t>(a)];
            for (Eigen::Index c = a + 1; c < k; ++c)
                ko(pairs(slot++)) -= da * ell[static_cast<std::size_t>(c)];
        }
        out.d(p) = 1.0 / delta;
    }
    // a pivot near the smallest double (1/delta, K_pq/delta overflow): not representable
    out.b = checks::finite_result("gmrf_factor", std::move(out.b));
    out.d = checks::finite_result("gmrf_factor", std::move(out.d));
    return out;
}

VectorXd gmrf_solve(const VecRef& b, const VecRef& d, const VecRef& h, const GMRFStructure& g) {
    check_factor(b, d, g);
    require_size("h", h.size(), g.n());
    require_finite("h", h);
    const IndexVector &colptr = g.colptr(), &rows = g.rows();
    VectorXd u = h;
    for (Eigen::Index p = 0; p < g.n(); ++p) {  // L u = h: column p of L is -b_p on C_p
        for (Eigen::Index s = colptr(p); s < colptr(p + 1); ++s) u(rows(s)) += b(s) * u(p);
    }
    u.array() *= d.array();
    for (Eigen::Index p = g.n() - 1; p >= 0; --p) {  // L^T y = v
        double t = 0.0;
        for (Eigen::Index s = colptr(p); s < colptr(p + 1); ++s) t += b(s) * u(rows(s));
        u(p) += t;
    }
    return checks::finite_result("gmrf_solve", std::move(u));
}

RowMatrixXd gmrf_sample(const VecRef& mean, double sigma, const VecRef& b, const VecRef& d,
                        const MatRef& noise, const GMRFStructure& g) {
    const Eigen::Index n = check_distribution(mean, sigma, b, d, g);
    if (noise.rows() < 1 || noise.cols() != n) {
        invalid("noise must have shape (popsize, " + std::to_string(n) + "), got (" +
                std::to_string(noise.rows()) + ", " + std::to_string(noise.cols()) + ")");
    }
    const Eigen::Index lam = noise.rows();
    const VectorXd sqrt_d = d.cwiseSqrt();
    RowMatrixXd x(lam, n);
    std::vector<Lanes> y(static_cast<std::size_t>(g.ring_size()), Lanes{});
    bool finite = true;
    for (Eigen::Index k0 = 0; k0 < lam; k0 += kBlock) {
        BlockRows z;
        double* out[kBlock];
        for (Eigen::Index j = 0; j < kBlock; ++j) {
            const Eigen::Index row = std::min(k0 + j, lam - 1);
            z.in[j] = noise.row(row).data();
            out[j] = x.row(row).data();
        }
        finite = color_block(mean, sigma, b, sqrt_d, z, out, g, y) && finite;
    }
    // The finiteness of noise is checked only when the result is not finite (the shapes were
    // checked first): a NaN or Inf draw always reaches x (d > 0), so this names the right cause
    // and saves two passes over the (lambda x n) arrays.
    if (!finite) {
        require_finite("noise", noise);
        checks::not_representable("gmrf_sample");
    }
    return x;
}

RowMatrixXd gmrf_whiten(const VecRef& mean, double sigma, const VecRef& b, const VecRef& d,
                        const MatRef& samples, const GMRFStructure& g) {
    const Eigen::Index n = check_distribution(mean, sigma, b, d, g);
    if (samples.cols() != n) {
        invalid("X must have n = " + std::to_string(n) + " columns, got " +
                std::to_string(samples.cols()));
    }
    require_finite("X", samples);
    const IndexVector &perm = g.perm(), &colptr = g.colptr(), &rows = g.rows();
    const VectorXd inv_sqrt_d = d.cwiseSqrt().cwiseInverse();
    RowMatrixXd z(samples.rows(), n);
    VectorXd y(n);
    for (Eigen::Index k = 0; k < samples.rows(); ++k) {
        for (Eigen::Index p = 0; p < n; ++p) y(p) = (samples(k, perm(p)) - mean(perm(p))) / sigma;
        for (Eigen::Index p = 0; p < n; ++p) {
            double t = y(p);
            for (Eigen::Index s = colptr(p); s < colptr(p + 1); ++s) t -= b(s) * y(rows(s));
            z(k, p) = t * inv_sqrt_d(p);
        }
    }
    return checks::finite_result("gmrf_whiten", std::move(z));
}

VectorXd gmrf_precision_diagonal(const VecRef& b, const VecRef& d, const GMRFStructure& g) {
    check_factor(b, d, g);
    const IndexVector &colptr = g.colptr(), &rows = g.rows();
    VectorXd k = d.cwiseInverse();
    for (Eigen::Index p = 0; p < g.n(); ++p) {
        for (Eigen::Index s = colptr(p); s < colptr(p + 1); ++s) k(rows(s)) += b(s) * b(s) / d(p);
    }
    return checks::finite_result("gmrf_precision_diagonal", std::move(k));
}

VectorXd gmrf_precision_off(const VecRef& b, const VecRef& d, const GMRFStructure& g) {
    check_factor(b, d, g);
    const IndexVector &colptr = g.colptr(), &pair_ptr = g.pair_ptr(), &pairs = g.pairs();
    VectorXd k(g.nnz());
    for (Eigen::Index p = 0; p < g.n(); ++p) {
        for (Eigen::Index s = colptr(p); s < colptr(p + 1); ++s) k(s) = -b(s) / d(p);
    }
    for (Eigen::Index r = 0; r < g.n(); ++r) {  // the pairs (a < c) of clique r, in table order
        const Eigen::Index lo = colptr(r), size = colptr(r + 1) - lo;
        Eigen::Index slot = pair_ptr(r);
        for (Eigen::Index a = 0; a < size; ++a) {
            for (Eigen::Index c = a + 1; c < size; ++c) {
                k(pairs(slot++)) += b(lo + a) * b(lo + c) / d(r);
            }
        }
    }
    return checks::finite_result("gmrf_precision_off", std::move(k));
}

GMRFFactor gmrf_pattern_covariance(const VecRef& b, const VecRef& d, const GMRFStructure& g) {
    check_factor(b, d, g);
    const IndexVector &colptr = g.colptr(), &rows = g.rows(), &pair_ptr = g.pair_ptr(),
                      &pairs = g.pairs();
    GMRFFactor s;  // b: S on the slots, d: S_pp by position
    s.b = VectorXd::Zero(g.nnz());
    s.d = VectorXd::Zero(g.n());
    const Eigen::Index w = g.max_clique();
    MatrixXd block(w, w);
    for (Eigen::Index p = g.n() - 1; p >= 0; --p) {
        const Eigen::Index lo = colptr(p), size = colptr(p + 1) - lo;
        // S on C_p x C_p: its members come later in the order, so they are known
        Eigen::Index slot = pair_ptr(p);
        for (Eigen::Index a = 0; a < size; ++a) {
            block(a, a) = s.d(rows(lo + a));
            for (Eigen::Index c = a + 1; c < size; ++c)
                block(a, c) = block(c, a) = s.b(pairs(slot++));
        }
        double spp = d(p);
        for (Eigen::Index a = 0; a < size; ++a) {
            double t = 0.0;
            for (Eigen::Index c = 0; c < size; ++c) t += block(a, c) * b(lo + c);
            s.b(lo + a) = t;
        }
        for (Eigen::Index a = 0; a < size; ++a) spp += b(lo + a) * s.b(lo + a);
        s.d(p) = spp;
    }
    s.b = checks::finite_result("gmrf_pattern_covariance", std::move(s.b));
    s.d = checks::finite_result("gmrf_pattern_covariance", std::move(s.d));
    return s;
}

GMRFStep gmrf_update(const VecRef& mean, double sigma, const VecRef& s_diag, const VecRef& s_off,
                     const VecRef& p_sigma, const VecRef& p_c, const MatRef& noise,
                     const MatRef& samples, const VecRef& values, long generation,
                     const IGOCMAParams& params, const GMRFStructure& g) {
    const Eigen::Index n = checks::mean_vector(mean);
    require_size("mean", n, g.n());
    checks::step_size(sigma);
    check_moments(s_diag, s_off, g);
    checks::vector("p_sigma", p_sigma, n);
    checks::vector("p_c", p_c, n);
    checks::population_shapes(noise, &samples, n, values);  // every selected row reaches y_w
    const Eigen::Index lam = noise.rows();
    check_cma_params(params, lam, generation);
    if ((params.weights.array() < 0.0).any()) {
        invalid("params.weights must be >= 0 (the moment update has no active weights)");
    }
    const double c_c = params.c_c, c1 = params.c1, cmu = params.cmu, mueff = params.mueff;
    const double keep0 = 1.0 - c1 - cmu;
    if (keep0 < -1e-12) invalid("params.c1 + params.cmu must be <= 1");

    const std::vector<Eigen::Index> order = rank_order(values);
    const double inv_sigma = 1.0 / sigma;
    // Selected samples (non-zero weight) by rank.
    std::vector<Eigen::Index> chosen;
    std::vector<double> chosen_w;
    for (Eigen::Index r = 0; r < lam; ++r) {
        const double w = params.weights(r);
        if (w == 0.0) continue;
        chosen.push_back(order[static_cast<std::size_t>(r)]);
        chosen_w.push_back(w);
    }

    // One pass over the selected samples and their draws, in blocks of kBlock from the last
    // position down: y = (x - m) / sigma of position p, the weighted means y_w (vertex order) and
    // z_w (position order; Hansen 2016 eq. 41), and the rank-mu moments on the pattern,
    // sum_k w_k y_k y_k^T restricted to diag and E, from y_p and its (already computed) higher
    // neighbours in the ring.
    const IndexVector &perm = g.perm(), &colptr = g.colptr(), &rows = g.rows();
    VectorXd y_w = VectorXd::Zero(n), z_w = VectorXd::Zero(n);
    VectorXd mu_diag = VectorXd::Zero(n), mu_off = VectorXd::Zero(g.nnz());
    std::vector<Lanes> yb(static_cast<std::size_t>(g.ring_size()), Lanes{});
    const Eigen::Index ring = g.ring_size() - 1;
    const Eigen::Index mu = static_cast<Eigen::Index>(chosen.size());
    for (Eigen::Index k0 = 0; k0 < mu; k0 += kBlock) {
        BlockRows xs, zs;
        Lanes w = {};  // zero in the lanes that repeat the block's last sample
        for (Eigen::Index j = 0; j < kBlock; ++j) {
            const Eigen::Index c = std::min(k0 + j, mu - 1);
            const Eigen::Index idx = chosen[static_cast<std::size_t>(c)];
            xs.in[j] = samples.row(idx).data();
            zs.in[j] = noise.row(idx).data();
            if (k0 + j < mu)
                (j < 4 ? w.lo[j] : w.hi[j - 4]) = chosen_w[static_cast<std::size_t>(c)];
        }
        for (Eigen::Index p = n - 1; p >= 0; --p) {
            const Eigen::Index vertex = perm(p);
            const Lanes x = gather(xs, vertex), z = gather(zs, p);
            const double m = mean(vertex);
            Lanes& y = yb[p & ring];
            y.lo = (x.lo - m) * inv_sigma;
            y.hi = (x.hi - m) * inv_sigma;
            const Quad wy_lo = w.lo * y.lo, wy_hi = w.hi * y.hi;
            y_w(vertex) += quad_sum(wy_lo + wy_hi);
            z_w(p) += quad_sum(w.lo * z.lo + w.hi * z.hi);
            mu_diag(p) += quad_sum(wy_lo * y.lo + wy_hi * y.hi);
            for (Eigen::Index s = colptr(p); s < colptr(p + 1); ++s) {
                const Lanes& q = yb[rows(s) & ring];
                mu_off(s) += quad_sum(wy_lo * q.lo + wy_hi * q.hi);
            }
        }
    }

    GMRFStep out;
    out.mean = mean + sigma * y_w;  // c_m = 1 (eq. 42)
    // CSA on the draws: z = D^{-1/2} L^T P^T y is a square root's inverse (eqs. 43-44).
    CSAStep csa = csa_step(p_sigma, z_w, sigma, generation, params);
    out.p_sigma = std::move(csa.p_sigma);
    out.sigma = csa.sigma;
    out.h_sigma = csa.h_sigma;
    const double h = out.h_sigma ? 1.0 : 0.0;
    out.p_c = (1.0 - c_c) * p_c + h * std::sqrt(c_c * (2.0 - c_c) * mueff) * y_w;  // (eq. 45)
    const double keep = keep0 + c1 * (1.0 - h) * c_c * (2.0 - c_c);

    // S' = keep S + c1 (p_c p_c^T)|_P + cmu (sum w y y^T)|_P (eq. 47 on the pattern): with
    // weights >= 0 and keep >= 0 a convex combination, positive definite on every clique.
    out.s_diag.resize(n);
    out.s_off.resize(g.nnz());
    for (Eigen::Index p = 0; p < n; ++p) {
        const double pp = out.p_c(perm(p));
        out.s_diag(p) = keep * s_diag(p) + c1 * pp * pp + cmu * mu_diag(p);
        for (Eigen::Index s = colptr(p); s < colptr(p + 1); ++s) {
            out.s_off(s) = keep * s_off(s) + c1 * pp * out.p_c(perm(rows(s))) + cmu * mu_off(s);
        }
    }
    if (!(all_finite(out.s_diag) && all_finite(out.s_off) && all_finite(out.mean) &&
          all_finite(out.p_sigma) && all_finite(out.p_c) && std::isfinite(out.sigma))) {
        checks::population_culprit(noise, &samples);
    }
    out.s_diag = checks::finite_result("gmrf_update", std::move(out.s_diag));
    out.s_off = checks::finite_result("gmrf_update", std::move(out.s_off));
    GMRFFactor f = complete_unchecked(out.s_diag, out.s_off, g);
    out.b = checks::finite_result("gmrf_update", std::move(f.b));
    out.d = std::move(f.d);
    out.mean = checks::finite_result("gmrf_update", std::move(out.mean));
    out.p_sigma = checks::finite_result("gmrf_update", std::move(out.p_sigma));
    out.p_c = checks::finite_result("gmrf_update", std::move(out.p_c));
    out.sigma = checks::finite_result("gmrf_update", out.sigma);
    return out;
}

}  // namespace natgrad
