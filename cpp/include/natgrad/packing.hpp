// Packed coordinates of the Gaussian family (MATH.md): a vector of length m = n + n(n+1)/2 laid out
// as [vector part (n) | diagonal (0,0)..(n-1,n-1) | pairs (i,j), i<j, row-major
// (0,1),(0,2),..,(1,2),..].
#pragma once

#include "natgrad/types.hpp"

namespace natgrad {

// Position of the off-diagonal pair (i, j), i < j, inside the off-diagonal block (0-based).
inline Eigen::Index pair_index(Eigen::Index n, Eigen::Index i, Eigen::Index j) {
    return i * (2 * n - i - 1) / 2 + (j - i - 1);
}

// Dimension n from the packed length m = n + n(n+1)/2; -1 when m is not of that form.
inline Eigen::Index dim_from_packed_size(Eigen::Index m) {
    Eigen::Index n = static_cast<Eigen::Index>((std::sqrt(9.0 + 8.0 * double(m)) - 3.0) / 2.0);
    for (Eigen::Index c = (n > 1 ? n - 1 : 0); c <= n + 1; ++c) {
        if (packed_size(c) == m) return c;
    }
    return -1;
}

// Write the symmetric matrix S into the matrix part of a packed vector: out[n + i] = S_ii and
// out[2n + pair_index(i, j)] = S_ij * offdiag_scale (scale 1 for (mu, Sigma) and theta, where the
// coordinate is the entry itself; scale 2 for eta, where eta_ij = 2 E_ij).
template <typename Out>
inline void pack_matrix_part(const MatrixXd& S, double offdiag_scale, Out&& out) {
    const Eigen::Index n = S.rows();
    for (Eigen::Index i = 0; i < n; ++i) out[n + i] = S(i, i);
    Eigen::Index k = 2 * n;
    for (Eigen::Index i = 0; i < n; ++i)
        for (Eigen::Index j = i + 1; j < n; ++j) out[k++] = S(i, j) * offdiag_scale;
}

// Inverse of pack_matrix_part: the symmetric n x n matrix whose (i, j) entry is
// packed[2n + pair_index(i, j)] / offdiag_scale.
template <typename In>
inline MatrixXd unpack_matrix_part(const In& packed, Eigen::Index n, double offdiag_scale) {
    MatrixXd S(n, n);
    for (Eigen::Index i = 0; i < n; ++i) S(i, i) = packed[n + i];
    Eigen::Index k = 2 * n;
    for (Eigen::Index i = 0; i < n; ++i)
        for (Eigen::Index j = i + 1; j < n; ++j) S(i, j) = S(j, i) = packed[k++] / offdiag_scale;
    return S;
}

}  // namespace natgrad
