// Assembled Fisher matrices of the Gaussian (declared in fisher.hpp).
//
// All three are one closed form in augmented indices {0..n}, the packed coordinate a read as the
// pair (i, j) (the vector coordinate k is (k, n)) and the coordinate b as (k, l):
//   F_ab = scale c_a c_b E_ab,
//   E_ab = A_ik A_jl + A_il A_jk + m_i m_k A_jl + m_i m_l A_jk + m_j m_k A_il + m_j m_l A_ik,
// Isserlis' six terms of fisher.hpp, with A = [[Sigma, 0], [0, 0]] and m = (mu, 1) for
// I_theta, and m = 0 (E = A_ik A_jl + A_il A_jk) for the Gram forms of I_eta and I_xi. A row of the
// full matrix is a few contiguous runs over l -- the vector block (its coordinate (l, n) read as
// (n, l)), the diagonal block, and one run per k of the pair block -- each a handful of products
// and sums per entry that the compiler vectorises, with no per-entry index arithmetic. Each entry
// is evaluated in an order whose bits do not change under i <-> j, k <-> l or (i, j) <-> (k, l)
// (fixed_run), so F_ab = F_ba exactly although every row is assembled in full: the rows are written
// once, contiguously, with no transposed copy of one half into the other.
//
// This file is compiled with -ffp-contract=off: a fused multiply-add would break that symmetry, and
// the vectorised runs of the full assembly and the entry-by-entry restricted assembly must evaluate
// the same operations in the same order, so that a matrix restricted to `free` coordinates equals
// the full matrix's sub-matrix bit for bit, at every instruction-set level.
#include <algorithm>
#include <string>
#include <vector>

#include "natgrad/checks.hpp"
#include "natgrad/fisher.hpp"
#include "natgrad/packing.hpp"

namespace natgrad {

namespace {

using Index = Eigen::Index;

// The coordinate system's closed form: the augmented matrix and mean, and c per coordinate kind.
struct Form {
    RowMatrixXd a;  // (n+1) x (n+1), symmetric
    VectorXd m;     // (n+1); zero for the Gram forms
    double scale, c_vector, c_diag, c_pair;
};

// Packed coordinate b as its augmented pair (i, j) and its coefficient.
struct Coord {
    Index i, j;
    double c;
};

Coord coord(Index n, Index b, const Form& f) {
    if (b < n) return {b, n, f.c_vector};
    if (b < 2 * n) return {b - n, b - n, f.c_diag};
    Index rest = b - 2 * n, i = 0;
    while (rest >= n - 1 - i) rest -= n - 1 - i, ++i;
    return {i, i + 1 + rest, f.c_pair};
}

// The row pair's data: rows i and j of A and, with a mean, m_i m and m_j m (augmented, n + 1).
struct RowTerms {
    const double* ai;
    const double* aj;
    const double* mim;
    const double* mjm;
};

// Fills the products m_i m and m_j m into `scratch` (2 (n + 1) doubles) for a row pair (i, j).
template <bool WithMean>
RowTerms row_terms(const Form& f, Index i, Index j, double* scratch) {
    RowTerms t{f.a.row(i).data(), f.a.row(j).data(), scratch, scratch + f.m.size()};
    if constexpr (WithMean) {
        const Index size = f.m.size();
        const double mi = f.m[i], mj = f.m[j];
        for (Index l = 0; l < size; ++l) scratch[l] = mi * f.m[l], scratch[size + l] = mj * f.m[l];
    }
    return t;
}

// dst[l - l0] = cab E(i, j; k, l) for l in [l0, l1): one row's run with the column's first index k
// fixed (a pair (k, l) of the pair block; the vector coordinate (l, n) as (n, l)). With ak_i =
// A_ik, ak_j = A_jk and the products m_i m_k, m_j m_k hoisted, each entry is
//   (A_ik A_jl + A_il A_jk) + ((m_i m_k A_jl + m_j m_l A_ik) + (m_i m_l A_jk + m_j m_k A_il)),
// an expression whose bits do not change under i <-> j, k <-> l or (i, j) <-> (k, l): F_ab and F_ba
// come out equal however the two are reached, so each row is assembled in full, contiguously.
template <bool WithMean>
inline void fixed_run(const RowTerms& t, Index k, Index l0, Index l1, double cab, double* dst) {
    const double* ai = t.ai;
    const double* aj = t.aj;
    const double aik = ai[k], ajk = aj[k];
    if constexpr (WithMean) {
        const double* mim = t.mim;
        const double* mjm = t.mjm;
        const double mimk = mim[k], mjmk = mjm[k];
        for (Index l = l0; l < l1; ++l) {
            const double cross = aik * aj[l] + ai[l] * ajk;
            const double means = (mimk * aj[l] + mjm[l] * aik) + (mim[l] * ajk + mjmk * ai[l]);
            dst[l - l0] = cab * (cross + means);
        }
    } else {
        for (Index l = l0; l < l1; ++l) dst[l - l0] = cab * (aik * aj[l] + ai[l] * ajk);
    }
}

// dst[l - l0] = cab E(i, j; l, l) for l in [l0, l1): the diagonal block, the same expression with k
// = l.
template <bool WithMean>
inline void diagonal_run(const RowTerms& t, Index l0, Index l1, double cab, double* dst) {
    const double* ai = t.ai;
    const double* aj = t.aj;
    if constexpr (WithMean) {
        const double* mim = t.mim;
        const double* mjm = t.mjm;
        for (Index l = l0; l < l1; ++l) {
            const double cross = ai[l] * aj[l] + ai[l] * aj[l];
            const double means =
                (mim[l] * aj[l] + mjm[l] * ai[l]) + (mim[l] * aj[l] + mjm[l] * ai[l]);
            dst[l - l0] = cab * (cross + means);
        }
    } else {
        for (Index l = l0; l < l1; ++l) dst[l - l0] = cab * (ai[l] * aj[l] + ai[l] * aj[l]);
    }
}

// out[c] = F_rc for every column c: the vector block, the diagonal block, then one run per k.
template <bool WithMean>
void full_row(const Form& f, Index n, const Coord& row, double* scratch, double* out) {
    const RowTerms t = row_terms<WithMean>(f, row.i, row.j, scratch);
    const double rc = f.scale * row.c;
    fixed_run<WithMean>(t, n, 0, n, rc * f.c_vector, out);
    diagonal_run<WithMean>(t, 0, n, rc * f.c_diag, out + n);
    const double cab = rc * f.c_pair;
    double* pairs = out + 2 * n;
    for (Index k = 0; k + 1 < n; pairs += n - 1 - k, ++k) {
        fixed_run<WithMean>(t, k, k + 1, n, cab, pairs);
    }
}

// F_ab for single coordinates: the run functions on a run of length one.
template <bool WithMean>
inline double single_entry(const Form& f, Index n, const RowTerms& t, double rc, Index b,
                           double c_b) {
    const double cab = rc * c_b;
    double out[1];
    if (b < n) {
        fixed_run<WithMean>(t, n, b, b + 1, cab, out);
    } else if (b < 2 * n) {
        diagonal_run<WithMean>(t, b - n, b - n + 1, cab, out);
    } else {
        const Coord col = coord(n, b, f);
        fixed_run<WithMean>(t, col.i, col.j, col.j + 1, cab, out);
    }
    return out[0];
}

template <bool WithMean>
RowMatrixXd assemble_full(const Form& f, Index n) {
    const Index m = packed_size(n);
    RowMatrixXd out = large_matrix(m, m);
    std::vector<double> scratch(2 * size_t(n + 1));
    double zero = 0.0;  // sum of x * 0 over the rows: 0 unless an entry is inf or NaN
    for (Index r = 0; r < m; ++r) {
        double* row = out.row(r).data();
        full_row<WithMean>(f, n, coord(n, r, f), scratch.data(), row);
        zero += (Eigen::Map<const Eigen::ArrayXd>(row, m) * 0.0).sum();
    }
    if (!(zero == 0.0)) checks::not_representable("fisher");
    return out;
}

template <bool WithMean>
RowMatrixXd assemble_free(const Form& f, Index n, const IndexList& free) {
    const Index m = packed_size(n), mf = Index(free.size());
    for (size_t r = 0; r < free.size(); ++r) {
        if (free[r] < 0 || free[r] >= m) {
            invalid("free indices must lie in [0, " + std::to_string(m) + "), got " +
                    std::to_string(free[r]));
        }
        if (r > 0 && free[r] <= free[r - 1]) invalid("free indices must be strictly increasing");
    }
    std::vector<Coord> coords(free.size());
    for (size_t r = 0; r < free.size(); ++r) coords[r] = coord(n, free[r], f);
    RowMatrixXd out = large_matrix(mf, mf);
    std::vector<double> scratch(2 * size_t(n + 1));
    for (Index r = 0; r < mf; ++r) {
        const Coord& a = coords[size_t(r)];
        const RowTerms t = row_terms<WithMean>(f, a.i, a.j, scratch.data());
        const double rc = f.scale * a.c;
        for (Index c = 0; c < mf; ++c) {
            out(r, c) = single_entry<WithMean>(f, n, t, rc, free[size_t(c)], coords[size_t(c)].c);
        }
    }
    return checks::finite_result("fisher", std::move(out));
}

template <bool WithMean>
RowMatrixXd assemble(const Form& f, Index n, const std::optional<IndexList>& free) {
    return free ? assemble_free<WithMean>(f, n, *free) : assemble_full<WithMean>(f, n);
}

MatrixXd symmetric_part(const MatRef& x) { return 0.5 * (MatrixXd(x) + MatrixXd(x).transpose()); }

}  // namespace

RowMatrixXd fisher_natural(const VecRef& mean, const MatRef& cov,
                           const std::optional<IndexList>& free) {
    const Index n = checks::mean_and_square("mean", mean, "cov", cov);
    Form f{RowMatrixXd::Zero(n + 1, n + 1), VectorXd(n + 1), 1.0, 1.0, 1.0, 2.0};
    f.a.topLeftCorner(n, n) = symmetric_part(cov);
    f.m.head(n) = mean;
    f.m[n] = 1.0;  // the vector statistic x_k = x_k * 1
    return assemble<true>(f, n, free);
}

RowMatrixXd fisher_expectation(const VecRef& mean, const MatRef& precision,
                               const std::optional<IndexList>& free) {
    const Index n = checks::mean_and_square("mean", mean, "precision", precision);
    const MatrixXd b = symmetric_part(precision);
    const VectorXd u = b * mean;
    // Bt = inverse of E[(x, 1)(x, 1)'] = [[B, -B mu], [-mu' B, 1 + mu' B mu]].
    Form f{RowMatrixXd(n + 1, n + 1), VectorXd::Zero(n + 1), 0.25, 2.0, 1.0, 1.0};
    f.a.topLeftCorner(n, n) = b;
    f.a.topRightCorner(n, 1) = -u;
    f.a.bottomLeftCorner(1, n) = -u.transpose();
    f.a(n, n) = 1.0 + mean.dot(u);
    return assemble<false>(f, n, free);
}

RowMatrixXd fisher_mean_cov(const MatRef& precision, const std::optional<IndexList>& free) {
    const Index n = checks::square("precision", precision);
    // blockdiag(B, 1): the vector block is B, the cross block 0
    Form f{RowMatrixXd::Zero(n + 1, n + 1), VectorXd::Zero(n + 1), 0.25, 2.0, 1.0, 2.0};
    f.a.topLeftCorner(n, n) = symmetric_part(precision);
    f.a(n, n) = 1.0;
    return assemble<false>(f, n, free);
}

}  // namespace natgrad
