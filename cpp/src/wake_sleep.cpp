#include "natgrad/wake_sleep.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "natgrad/checks.hpp"
#include "natgrad/gaussian.hpp"

namespace natgrad {

namespace {

// The samples of a layer: inputs N x d (N >= 1, d >= 0) and weights N x J (J >= 1), finite, with
// weights >= 0 (sigma' or 1 - tanh^2: a negative weight would make a block indefinite).
void check_samples(const MatRef& inputs, const MatRef& weights) {
    if (inputs.rows() < 1) invalid("inputs must hold at least one sample (row), got 0");
    if (weights.cols() < 1) invalid("weights must have at least one column (unit), got 0");
    require_shape("weights", weights.rows(), weights.cols(), inputs.rows(), weights.cols());
    require_finite("inputs", inputs);
    require_finite("weights", weights);
    if (weights.minCoeff() < 0.0) invalid("weights must be >= 0 (sigma' of the units)");
}

// A J x q^2 matrix of lower factors (row j: unit j's q x q factor, row-major), q >= 1.
Eigen::Index check_factors(const MatRef& factors, Eigen::Index q, const char* what) {
    if (factors.rows() < 1) invalid("factors must have at least one row (unit), got 0");
    require_shape("factors", factors.rows(), factors.cols(), factors.rows(), q * q);
    require_finite("factors", factors);
    for (Eigen::Index j = 0; j < factors.rows(); ++j) {
        for (Eigen::Index i = 0; i < q; ++i) {
            if (!(factors(j, i * q + i) > 0.0)) {
                invalid(std::string("factors must be lower Cholesky factors with a positive "
                                    "diagonal (from ") +
                        what + "), got " + std::to_string(factors(j, i * q + i)) +
                        " on the diagonal of unit " + std::to_string(j));
            }
        }
    }
    return factors.rows();
}

// H~ = [inputs, 1] as an owned column-major matrix (the reproducibility rule of checks.hpp).
MatrixXd augmented(const MatRef& inputs) {
    MatrixXd h(inputs.rows(), inputs.cols() + 1);
    h.leftCols(inputs.cols()) = inputs;
    h.col(inputs.cols()).setOnes();
    return h;
}

// sqrt(w / N) per sample and unit, owned and column-major (column j is unit j's D_j).
MatrixXd root_weights(const MatRef& weights) {
    const double n = static_cast<double>(weights.rows());
    MatrixXd r = weights;
    r = (r.array() / n).sqrt().matrix();
    return r;
}

// The lower triangles of all J blocks, packed: column t = (a, b), a >= b, row-major over the
// lower triangle, of the J x q(q+1)/2 result is (1/N) sum_n w_nj h~_na h~_nb.
// Row a of every block at once is one GEMM over the samples where h~_a != 0:
//   [F_j(a, 0..a)]_j = (W' D_a)(H~[:, 0..a]), D_a = diag(h~_a) restricted to those samples,
// so the {0, 1} inputs of a sigmoid belief network (mostly 0) cost only their nonzero share,
// and {-1, +1} inputs one dense GEMM per row. The summation order depends only on the values.
MatrixXd lower_pair_moments(const MatrixXd& h, const MatRef& weights) {
    const Eigen::Index n = h.rows(), q = h.cols(), units = weights.cols();
    const MatrixXd wt = weights.transpose() / static_cast<double>(n);  // J x N: column n contiguous
    const RowMatrixXd hr = h;                                          // rows contiguous
    MatrixXd packed(units, q * (q + 1) / 2);
    MatrixXd wa(units, n);
    RowMatrixXd ha(n, q);
    for (Eigen::Index a = 0; a < q; ++a) {
        Eigen::Index used = 0;
        for (Eigen::Index s = 0; s < n; ++s) {
            const double v = hr(s, a);
            if (v == 0.0) continue;
            wa.col(used) = v * wt.col(s);
            ha.row(used).head(a + 1) = hr.row(s).head(a + 1);
            ++used;
        }
        auto row = packed.middleCols(a * (a + 1) / 2, a + 1);
        if (used == 0) {
            row.setZero();
        } else {
            row.noalias() = wa.leftCols(used) * ha.topLeftCorner(used, a + 1);
        }
    }
    return packed;
}

// The positions of the set bits of every byte value, padded with zeros: a branch-free decoder of
// a mask's set bits into sample indices, eight bits at a time.
struct ByteBits {
    std::int32_t at[256][8];
};

const ByteBits& byte_bits() {
    static const ByteBits table = [] {
        ByteBits t{};
        for (int v = 0; v < 256; ++v) {
            int k = 0;
            for (int i = 0; i < 8; ++i) {
                if ((v >> i) & 1) t.at[v][k++] = i;
            }
        }
        return t;
    }();
    return table;
}

typedef std::int32_t EightIndices __attribute__((vector_size(8 * sizeof(std::int32_t))));

// The nonzero terms of every block entry: entry t = (a, b), a >= b (row-major over the lower
// triangle), of (1/N) sum_n w_nj h~_na h~_nb has a term for each sample n with h~_na h~_nb != 0,
// with the product h~_na h~_nb unless `ones` (every nonzero input is 1, as in a {0, 1} layer:
// the sums need no multiplication). From one bit mask of the nonzero samples per column of H~,
// a pair's samples being the set bits of the AND of two masks; listed by pair, in increasing
// sample order.
class PairTerms {
  public:
    explicit PairTerms(const MatRef& inputs)
        : samples_(inputs.rows()),
          q_(inputs.cols() + 1),
          words_((samples_ + 63) / 64),
          masks_(static_cast<std::size_t>(q_ * words_), 0) {
        const Eigen::Index d = inputs.cols();
        for (Eigen::Index s = 0; s < samples_; ++s) {
            std::uint64_t* word = masks_.data() + s / 64;
            const int shift = static_cast<int>(s % 64);
            bool ones = true;
            for (Eigen::Index a = 0; a < d; ++a) {
                const double v = inputs(s, a);
                word[a * words_] |= static_cast<std::uint64_t>(v != 0.0) << shift;
                ones &= (v == 0.0) | (v == 1.0);
            }
            word[d * words_] |= std::uint64_t{1} << shift;  // the bias column
            ones_ &= ones;
        }
        for (Eigen::Index a = 0; a < q_; ++a) {
            for (Eigen::Index b = 0; b <= a; ++b) {
                for (Eigen::Index w = 0; w < words_; ++w)
                    terms_ += __builtin_popcountll(both(a, b, w));
            }
        }
    }

    // The number of terms over all entries (N q (q + 1)/2 for inputs without zeros).
    Eigen::Index terms() const { return terms_; }
    bool ones() const { return ones_; }
    // Lists the terms: start (pairs + 1 offsets), sample, and product (unless ones()).
    void list(const MatRef& inputs, std::vector<Eigen::Index>& start,
              std::vector<std::int32_t>& sample, std::vector<double>& product) const {
        const ByteBits& bits = byte_bits();
        const Eigen::Index d = q_ - 1, pairs = q_ * (q_ + 1) / 2;
        start.resize(static_cast<std::size_t>(pairs + 1));
        sample.resize(static_cast<std::size_t>(terms_ + 8));  // the decoder writes eight at a time
        product.resize(ones_ ? 0 : static_cast<std::size_t>(terms_));
        std::int32_t* out = sample.data();
        Eigen::Index e = 0, t = 0;
        for (Eigen::Index a = 0; a < q_; ++a) {
            for (Eigen::Index b = 0; b <= a; ++b) {
                const Eigen::Index first = e;
                start[static_cast<std::size_t>(t++)] = e;
                for (Eigen::Index w = 0; w < words_; ++w) {
                    const std::uint64_t m = both(a, b, w);
                    for (int i = 0; i < 64; i += 8) {
                        const unsigned byte = static_cast<unsigned>(m >> i) & 255u;
                        EightIndices v;
                        std::memcpy(&v, bits.at[byte], sizeof v);
                        v += static_cast<std::int32_t>(w * 64 + i);
                        std::memcpy(out + e, &v, sizeof v);
                        e += __builtin_popcount(byte);
                    }
                }
                if (!ones_) {
                    for (Eigen::Index k = first; k < e; ++k) {
                        const Eigen::Index n = out[k];
                        product[static_cast<std::size_t>(k)] =
                            (a == d ? 1.0 : inputs(n, a)) * (b == d ? 1.0 : inputs(n, b));
                    }
                }
            }
        }
        start[static_cast<std::size_t>(t)] = e;
    }

  private:
    std::uint64_t both(Eigen::Index a, Eigen::Index b, Eigen::Index w) const {
        return masks_[static_cast<std::size_t>(a * words_ + w)] &
               masks_[static_cast<std::size_t>(b * words_ + w)];
    }

    Eigen::Index samples_, q_, words_;
    std::vector<std::uint64_t> masks_;  // column a's word w at a * words_ + w
    Eigen::Index terms_ = 0;
    bool ones_ = true;
};

// Stores the lower triangle of the q x q matrix l as row j of out, row-major, zeros above.
void store_lower(const MatrixXd& l, RowMatrixXd& out, Eigen::Index j) {
    const Eigen::Index q = l.rows();
    for (Eigen::Index r = 0; r < q; ++r) {
        for (Eigen::Index c = 0; c < q; ++c) out(j, r * q + c) = c <= r ? l(r, c) : 0.0;
    }
}

// Unit j's q x q factor as an owned row-major matrix: one contiguous copy of row j (rows of a
// MatRef are contiguous), so that the solves never run on a borrowed buffer (checks.hpp).
void load_lower(const MatRef& factors, Eigen::Index j, RowMatrixXd& l) {
    l = Eigen::Map<const RowMatrixXd>(factors.row(j).data(), l.rows(), l.cols());
}

std::string unit_message(const char* what, Eigen::Index j) {
    return std::string(what) + " of unit " + std::to_string(j) + " is not positive definite";
}

}  // namespace

RowMatrixXd fisher_blocks_factor(const MatRef& inputs, const MatRef& weights, double damping) {
    check_samples(inputs, weights);
    checks::damping(damping, /*positive=*/true);
    const Eigen::Index units = weights.cols(), q = inputs.cols() + 1, pairs = q * (q + 1) / 2;
    const Eigen::Index samples = inputs.rows();
    auto at = [](Eigen::Index a, Eigen::Index b) { return a * (a + 1) / 2 + b; };  // a >= b
    // Two ways to the moments. Sparse inputs (most of a {0, 1} layer's are 0): the nonzero terms
    // of each entry summed for kLanes units at once, about one vector load per term from the
    // group's weights (L1-resident). Dense inputs ({-1, +1}): the GEMM rows of
    // lower_pair_moments. The sums' order depends only on the values either way.
    const PairTerms terms(inputs);
    // (sparse when the terms are at most 40 % of N q (q + 1)/2, where the two measured alike,
    // and their lists take at most 64 MiB)
    const bool ones = terms.ones();
    const Eigen::Index list_bytes = terms.terms() * (ones ? 4 : 12);
    const bool sparse = 5 * terms.terms() <= 2 * samples * pairs &&
                        list_bytes <= (Eigen::Index{64} << 20) &&
                        samples <= std::numeric_limits<std::int32_t>::max();
    MatrixXd moments;  // J x pairs, dense path
    // sparse path: the terms by pair, and w / N as [group][sample][lane] (units past J zero)
    std::vector<Eigen::Index> start;
    std::vector<std::int32_t> sample;
    std::vector<double> product, grouped;
    // The J Cholesky factorisations side by side, kLanes units at a time (left-looking: column k
    // after columns < k). Every scalar operation of one factorisation is a kLanes-wide operation
    // across units, so the SIMD lanes run over units instead of over the short rows of one
    // 65 x 65 block. The lanes of a pair are contiguous (block[t * kLanes + u]), so the inner
    // loop over m streams rows of the block and keeps its accumulators in registers, four rows
    // i at a time: four independent chains of multiply-adds share each load of row k (one chain
    // alone waits on their latency). Lanes past the last unit factor the identity; never stored.
    constexpr Eigen::Index kLanes = 8;
    using Lanes = Eigen::Array<double, kLanes, 1>;
    using LanesMap = Eigen::Map<Lanes>;
    using ConstLanesMap = Eigen::Map<const Lanes>;
    const Eigen::Index groups = (units + kLanes - 1) / kLanes;
    if (sparse) {
        terms.list(inputs, start, sample, product);
        grouped.assign(static_cast<std::size_t>(groups * samples * kLanes), 0.0);
        const double inv_n = 1.0 / static_cast<double>(samples);
        for (Eigen::Index s = 0; s < samples; ++s) {
            for (Eigen::Index j = 0; j < units; ++j) {
                grouped[static_cast<std::size_t>(((j / kLanes) * samples + s) * kLanes +
                                                 j % kLanes)] = weights(s, j) * inv_n;
            }
        }
    } else {
        moments = lower_pair_moments(augmented(inputs), weights);
    }
    std::vector<double> block(static_cast<std::size_t>(pairs * kLanes));
    auto lanes = [&](Eigen::Index a, Eigen::Index b) {
        return block.data() + static_cast<std::size_t>(at(a, b) * kLanes);
    };
    RowMatrixXd out(units, q * q);
    for (Eigen::Index j0 = 0; j0 < units; j0 += kLanes) {
        const Eigen::Index width = std::min(kLanes, units - j0);
        if (sparse) {
            // four accumulators per entry: the adds of its terms overlap instead of waiting on
            // each other's latency
            const double* w = grouped.data() + static_cast<std::size_t>(j0 * samples);
            auto weight = [&](Eigen::Index e) {
                return ConstLanesMap(w + static_cast<std::size_t>(sample[e]) * kLanes);
            };
            for (Eigen::Index t = 0; t < pairs; ++t) {
                Lanes s0 = Lanes::Zero(), s1 = Lanes::Zero(), s2 = Lanes::Zero(),
                      s3 = Lanes::Zero();
                Eigen::Index e = start[t];
                const Eigen::Index end = start[t + 1];
                if (ones) {
                    for (; e + 4 <= end; e += 4) {
                        s0 += weight(e);
                        s1 += weight(e + 1);
                        s2 += weight(e + 2);
                        s3 += weight(e + 3);
                    }
                    for (; e < end; ++e) s0 += weight(e);
                } else {
                    for (; e + 4 <= end; e += 4) {
                        s0 += weight(e) * product[e];
                        s1 += weight(e + 1) * product[e + 1];
                        s2 += weight(e + 2) * product[e + 2];
                        s3 += weight(e + 3) * product[e + 3];
                    }
                    for (; e < end; ++e) s0 += weight(e) * product[e];
                }
                LanesMap(block.data() + static_cast<std::size_t>(t * kLanes)) =
                    (s0 + s1) + (s2 + s3);
            }
        } else {
            for (Eigen::Index t = 0; t < pairs; ++t) {
                double* x = block.data() + static_cast<std::size_t>(t * kLanes);
                for (Eigen::Index u = 0; u < width; ++u) x[u] = moments(j0 + u, t);
            }
        }
        for (Eigen::Index a = 0; a < q; ++a) {  // + damping I; the lanes past the last unit: I
            for (Eigen::Index b = 0; b <= a; ++b) {
                double* x = lanes(a, b);
                if (a == b) {
                    for (Eigen::Index u = 0; u < width; ++u) x[u] += damping;
                }
                for (Eigen::Index u = width; u < kLanes; ++u) x[u] = a == b ? 1.0 : 0.0;
            }
        }
        for (Eigen::Index k = 0; k < q; ++k) {
            const double* rk = lanes(k, 0);
            Lanes acc = ConstLanesMap(rk + k * kLanes);
            for (Eigen::Index m = 0; m < k; ++m) acc -= ConstLanesMap(rk + m * kLanes).square();
            for (Eigen::Index u = 0; u < width; ++u) {
                if (!(acc(u) > 0.0) || !std::isfinite(acc(u))) {
                    invalid(unit_message("fisher block + damping*I", j0 + u) +
                            " (Cholesky failed at pivot " + std::to_string(k) + ")");
                }
            }
            const Lanes pivot = acc.sqrt(), inverse = pivot.inverse();
            LanesMap(lanes(k, k)) = pivot;
            Eigen::Index i = k + 1;
            for (; i + 4 <= q; i += 4) {
                double *r0 = lanes(i, 0), *r1 = lanes(i + 1, 0), *r2 = lanes(i + 2, 0),
                       *r3 = lanes(i + 3, 0);
                Lanes a0 = ConstLanesMap(r0 + k * kLanes), a1 = ConstLanesMap(r1 + k * kLanes),
                      a2 = ConstLanesMap(r2 + k * kLanes), a3 = ConstLanesMap(r3 + k * kLanes);
                for (Eigen::Index m = 0; m < k; ++m) {
                    const Lanes pk = ConstLanesMap(rk + m * kLanes);
                    a0 -= ConstLanesMap(r0 + m * kLanes) * pk;
                    a1 -= ConstLanesMap(r1 + m * kLanes) * pk;
                    a2 -= ConstLanesMap(r2 + m * kLanes) * pk;
                    a3 -= ConstLanesMap(r3 + m * kLanes) * pk;
                }
                LanesMap(r0 + k * kLanes) = a0 * inverse;
                LanesMap(r1 + k * kLanes) = a1 * inverse;
                LanesMap(r2 + k * kLanes) = a2 * inverse;
                LanesMap(r3 + k * kLanes) = a3 * inverse;
            }
            for (; i < q; ++i) {
                double* ri = lanes(i, 0);
                acc = ConstLanesMap(ri + k * kLanes);
                for (Eigen::Index m = 0; m < k; ++m) {
                    acc -= ConstLanesMap(ri + m * kLanes) * ConstLanesMap(rk + m * kLanes);
                }
                LanesMap(ri + k * kLanes) = acc * inverse;
            }
        }
        // the factors' rows: each pair's lanes read once (contiguous), written to the units' rows
        double* rows[kLanes];
        for (Eigen::Index u = 0; u < width; ++u) rows[u] = &out(j0 + u, 0);
        const double* x = block.data();
        for (Eigen::Index r = 0; r < q; ++r) {
            for (Eigen::Index c = 0; c <= r; ++c, x += kLanes) {
                for (Eigen::Index u = 0; u < width; ++u) rows[u][r * q + c] = x[u];
            }
            for (Eigen::Index u = 0; u < width; ++u) {
                std::fill(rows[u] + r * q + r + 1, rows[u] + (r + 1) * q, 0.0);
            }
        }
    }
    return checks::finite_result("fisher_blocks_factor", std::move(out));
}

RowMatrixXd fisher_blocks_solve(const MatRef& factors, const MatRef& grads) {
    const Eigen::Index q = grads.cols();
    if (q < 1) invalid("grads must have at least one column (d + 1 >= 1), got 0");
    const Eigen::Index units = check_factors(factors, q, "fisher_blocks_factor");
    require_shape("grads", grads.rows(), grads.cols(), units, q);
    require_finite("grads", grads);
    RowMatrixXd out(units, q), l(q, q);
    VectorXd x(q);
    for (Eigen::Index j = 0; j < units; ++j) {
        load_lower(factors, j, l);
        x = grads.row(j).transpose();
        l.triangularView<Eigen::Lower>().solveInPlace(x);
        l.triangularView<Eigen::Lower>().transpose().solveInPlace(x);
        out.row(j) = x.transpose();
    }
    return checks::finite_result("fisher_blocks_solve", std::move(out));
}

RowMatrixXd fisher_blocks_inverse(const MatRef& factors) {
    const Eigen::Index cols = factors.cols();
    Eigen::Index q = static_cast<Eigen::Index>(std::llround(std::sqrt(static_cast<double>(cols))));
    if (q < 1 || q * q != cols) {
        invalid("factors must have q^2 columns (a q x q lower factor per unit), got " +
                std::to_string(cols));
    }
    const Eigen::Index units = check_factors(factors, q, "fisher_blocks_factor");
    // kLanes units side by side, as in fisher_blocks_factor: lane u of every vector is unit j0 + u.
    // L row-major (l[(i q + k) kLanes + u]), M = L^{-1} column-major (m[(j q + k) kLanes + u]),
    // so that both inner loops (over k) stream contiguous lanes. Lanes past the last unit
    // invert the identity; never stored.
    constexpr Eigen::Index kLanes = 8;
    using Lanes = Eigen::Array<double, kLanes, 1>;
    using LanesMap = Eigen::Map<Lanes>;
    using ConstLanesMap = Eigen::Map<const Lanes>;
    const std::size_t square = static_cast<std::size_t>(q * q * kLanes);
    std::vector<double> l(square), m(square);
    auto lane = [](std::vector<double>& v, Eigen::Index at) {
        return v.data() + static_cast<std::size_t>(at * kLanes);
    };
    RowMatrixXd out(units, q * q);
    for (Eigen::Index j0 = 0; j0 < units; j0 += kLanes) {
        const Eigen::Index width = std::min(kLanes, units - j0);
        for (Eigen::Index i = 0; i < q; ++i) {
            for (Eigen::Index k = 0; k <= i; ++k) {
                double* x = lane(l, i * q + k);
                for (Eigen::Index u = 0; u < kLanes; ++u) {
                    x[u] = u < width ? factors(j0 + u, i * q + k) : (i == k ? 1.0 : 0.0);
                }
            }
        }
        // M = L^{-1} column by column: M_jj = 1 / L_jj, M_ij = -(sum_{k=j}^{i-1} L_ik M_kj) / L_ii
        for (Eigen::Index j = 0; j < q; ++j) {
            double* mj = lane(m, j * q);
            LanesMap(mj + j * kLanes) = ConstLanesMap(lane(l, j * q + j)).inverse();
            for (Eigen::Index i = j + 1; i < q; ++i) {
                const double* li = lane(l, i * q);
                Lanes acc = Lanes::Zero();
                for (Eigen::Index k = j; k < i; ++k) {
                    acc += ConstLanesMap(li + k * kLanes) * ConstLanesMap(mj + k * kLanes);
                }
                LanesMap(mj + i * kLanes) = -acc / ConstLanesMap(li + i * kLanes);
            }
        }
        // (L L^T)^{-1} = M^T M: entry (a, b), a >= b, is sum_{k >= a} M_ka M_kb
        for (Eigen::Index a = 0; a < q; ++a) {
            const double* ma = lane(m, a * q);
            for (Eigen::Index b = 0; b <= a; ++b) {
                const double* mb = lane(m, b * q);
                Lanes acc = Lanes::Zero();
                for (Eigen::Index k = a; k < q; ++k) {
                    acc += ConstLanesMap(ma + k * kLanes) * ConstLanesMap(mb + k * kLanes);
                }
                for (Eigen::Index u = 0; u < width; ++u) {
                    out(j0 + u, a * q + b) = acc(u);
                    out(j0 + u, b * q + a) = acc(u);
                }
            }
        }
    }
    return checks::finite_result("fisher_blocks_inverse", std::move(out));
}

RowMatrixXd fisher_blocks_woodbury_factor(const MatRef& inputs, const MatRef& weights,
                                          double damping) {
    check_samples(inputs, weights);
    checks::damping(damping, /*positive=*/true);
    const Eigen::Index units = weights.cols(), n = inputs.rows();
    const MatrixXd h = augmented(inputs);
    const MatrixXd r = root_weights(weights);
    MatrixXd gram = MatrixXd::Zero(n, n);  // H~ H~', shared by every unit
    gram.selfadjointView<Eigen::Lower>().rankUpdate(h);
    RowMatrixXd out(units, n * n);
    MatrixXd k(n, n);
    for (Eigen::Index j = 0; j < units; ++j) {
        // K_j = damping I_N + D_j (H~ H~') D_j (lower triangle only)
        k.noalias() = (r.col(j) * r.col(j).transpose()).cwiseProduct(gram);
        k.diagonal().array() += damping;
        store_lower(cholesky_lower(k, unit_message("damping*I + U'U", j)), out, j);
    }
    return checks::finite_result("fisher_blocks_woodbury_factor", std::move(out));
}

RowMatrixXd fisher_blocks_woodbury_solve(const MatRef& inputs, const MatRef& weights,
                                         const MatRef& factors, const MatRef& grads,
                                         double damping) {
    check_samples(inputs, weights);
    checks::damping(damping, /*positive=*/true);
    const Eigen::Index units = weights.cols(), n = inputs.rows(), q = inputs.cols() + 1;
    if (factors.rows() != units) {
        invalid("factors must have one row per unit (" + std::to_string(units) + "), got " +
                std::to_string(factors.rows()));
    }
    check_factors(factors, n, "fisher_blocks_woodbury_factor");
    require_shape("grads", grads.rows(), grads.cols(), units, q);
    require_finite("grads", grads);
    const MatrixXd h = augmented(inputs);
    const MatrixXd r = root_weights(weights);
    // all U_j' g_j at once: (H~ G')_nj scaled by D_j
    const MatrixXd g = grads;               // owned column-major copy, J x q
    const MatrixXd hg = h * g.transpose();  // N x J
    // y_j = D_j K_j^{-1} D_j H~ g_j for every unit, then all x_j = (g_j - H~' y_j) / damping at
    // once: one GEMM (J x N) x (N x q)
    MatrixXd ys(n, units);
    RowMatrixXd l(n, n);
    VectorXd y(n);
    for (Eigen::Index j = 0; j < units; ++j) {
        load_lower(factors, j, l);
        y = r.col(j).cwiseProduct(hg.col(j));
        l.triangularView<Eigen::Lower>().solveInPlace(y);
        l.triangularView<Eigen::Lower>().transpose().solveInPlace(y);
        ys.col(j) = r.col(j).cwiseProduct(y);
    }
    MatrixXd x = g;
    x.noalias() -= ys.transpose() * h;
    return checks::finite_result("fisher_blocks_woodbury_solve", RowMatrixXd(x / damping));
}

}  // namespace natgrad
