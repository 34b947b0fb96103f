// Common types and argument checks of the natgrad numerical core (no Python in here).
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <stdexcept>
#include <string>

namespace natgrad {

// Explicit row-major alias: NumPy arrays are C-ordered, so they map onto these without copies.
using RowMatrixXd = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Eigen::MatrixXd;
using Eigen::VectorXd;
using MatRef = Eigen::Ref<const RowMatrixXd>;
using VecRef = Eigen::Ref<const VectorXd>;

// Number of Gaussian coordinates in dimension n: m = n + n(n+1)/2.
inline Eigen::Index packed_size(Eigen::Index n) { return n + n * (n + 1) / 2; }

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
