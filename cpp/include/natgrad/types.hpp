// Common types and argument checks of the natgrad numerical core (no Python in here).
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace natgrad {

// Explicit row-major alias: NumPy arrays are C-ordered, so they map onto these without copies.
using RowMatrixXd = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Eigen::MatrixXd;
using Eigen::VectorXd;
using MatRef = Eigen::Ref<const RowMatrixXd>;
using VecRef = Eigen::Ref<const VectorXd>;
// A caller's C-contiguous buffer that a kernel writes its result into (checks::output_matrix).
using MatOut = Eigen::Ref<RowMatrixXd>;

// Number of Gaussian coordinates in dimension n: m = n + n(n+1)/2.
inline Eigen::Index packed_size(Eigen::Index n) { return n + n * (n + 1) / 2; }

// An uninitialised rows x cols matrix for a large result. On Linux its pages are advised for
// transparent huge pages above 4 MiB (madvise MADV_HUGEPAGE; a hint, ignored where unsupported),
// exactly as NumPy does for its own arrays: the first writes to a 200 MiB matrix then take about
// 100 page faults of 2 MiB instead of 51,000 of 4 KiB, which cost more than filling it.
inline RowMatrixXd large_matrix(Eigen::Index rows, Eigen::Index cols) {
    RowMatrixXd out(rows, cols);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const std::size_t bytes = std::size_t(out.size()) * sizeof(double);
    if (bytes >= (std::size_t(1) << 22)) {
        const auto begin =
            (reinterpret_cast<std::uintptr_t>(out.data()) + 4095) & ~std::uintptr_t(4095);
        const auto end =
            (reinterpret_cast<std::uintptr_t>(out.data()) + bytes) & ~std::uintptr_t(4095);
        if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
    }
#endif
    return out;
}

[[noreturn]] inline void invalid(const std::string& message) {
    throw std::invalid_argument(message);
}

inline void require_shape(const char* name, Eigen::Index rows, Eigen::Index cols,
                          Eigen::Index want_rows, Eigen::Index want_cols) {
    if (rows != want_rows || cols != want_cols) {
        invalid(std::string(name) + " must have shape (" + std::to_string(want_rows) + ", " +
                std::to_string(want_cols) + "), got (" + std::to_string(rows) + ", " +
                std::to_string(cols) + ")");
    }
}

inline void require_size(const char* name, Eigen::Index size, Eigen::Index want) {
    if (size != want) {
        invalid(std::string(name) + " must have length " + std::to_string(want) + ", got " +
                std::to_string(size));
    }
}

// True when every entry is finite: x * 0 is 0 for a finite x and NaN for an infinite or NaN
// one, and a sum of zeros is exactly 0 in any order, so Eigen's vectorised sum serves (Eigen's
// allFinite() is a scalar loop). No early exit: an error path need not be fast.
template <typename Derived>
inline bool all_finite(const Eigen::DenseBase<Derived>& x) {
    return (x.derived().array() * 0.0).sum() == 0.0;
}

template <typename Derived>
inline void require_finite(const char* name, const Eigen::DenseBase<Derived>& x) {
    if (!all_finite(x)) invalid(std::string(name) + " contains NaN or Inf");
}

}  // namespace natgrad
