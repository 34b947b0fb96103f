// Argument and result checks shared by every kernel of the numerical core. Each public function
// runs the checks of all its arguments first, before it touches any of their data (a kernel that
// sized a workspace from one argument and read another past its end corrupted the heap), and
// passes its result through finite_result before returning it. Every failure is a
// std::invalid_argument (ValueError in Python) whose message names the argument.
//
// Reproducibility rule for borrowed inputs (MatRef / VecRef map NumPy's buffers, at any address):
// never call sum(), mean(), prod() or a colwise()/rowwise() sum directly on them. Eigen's
// vectorised reductions over directly addressable data start their packets at the first aligned
// element, so the summation order -- and the last bit -- would depend on where NumPy put the array.
// Copy into an owned (aligned) matrix first. Products (GEMM packs its operands; GEMV in Eigen 3.4
// blocks by index with unaligned loads), dot(), norm() and squaredNorm() (reductions of an
// expression, peeled from index 0) do not depend on the address; tests/test_buffer_alignment.py
// checks every kernel at every 8-byte offset from a 64-byte boundary.
#pragma once

#include <cmath>
#include <string>
#include <type_traits>

#include "natgrad/packing.hpp"
#include "natgrad/types.hpp"

namespace natgrad::checks {

// Dimension n >= 1 of a finite square matrix argument.
inline Eigen::Index square(const char* name, const MatRef& a) {
    const Eigen::Index n = a.rows();
    if (n < 1) {
        invalid(std::string(name) + " must be a square matrix at least 1 x 1, got (" +
                std::to_string(a.rows()) + ", " + std::to_string(a.cols()) + ")");
    }
    require_shape(name, a.rows(), a.cols(), n, n);
    require_finite(name, a);
    return n;
}

// A finite matrix of the given shape.
inline void matrix(const char* name, const MatRef& a, Eigen::Index rows, Eigen::Index cols) {
    require_shape(name, a.rows(), a.cols(), rows, cols);
    require_finite(name, a);
}

// An output buffer of shape rows x cols whose memory overlaps none of `inputs` (a kernel that
// wrote its result over an argument it still reads would return garbage).
template <typename... Inputs>
inline void output_matrix(const char* name, const MatOut& out, Eigen::Index rows, Eigen::Index cols,
                          const Inputs&... inputs) {
    require_shape(name, out.rows(), out.cols(), rows, cols);
    const auto* begin = reinterpret_cast<const char*>(out.data());
    const auto* end = reinterpret_cast<const char*>(out.data() + out.size());
    const auto overlaps = [&](const auto& in) {
        const auto* b = reinterpret_cast<const char*>(in.data());
        const auto* e = reinterpret_cast<const char*>(in.data() + in.size());
        return in.size() > 0 && b < end && begin < e;
    };
    if ((overlaps(inputs) || ...))
        invalid(std::string(name) + " must not share memory with an argument");
}

// A finite vector of length n.
inline void vector(const char* name, const VecRef& v, Eigen::Index n) {
    require_size(name, v.size(), n);
    require_finite(name, v);
}

// Dimension n >= 1 of a finite packed vector, whose length must be m = n + n(n+1)/2.
inline Eigen::Index packed(const char* name, const VecRef& v) {
    const Eigen::Index n = dim_from_packed_size(v.size());
    if (n < 1) {
        invalid(std::string(name) +
                " must have length n + n(n+1)/2 for some n >= 1 (2, 5, 9, 14, ...), got " +
                std::to_string(v.size()));
    }
    require_finite(name, v);
    return n;
}

// Dimension n >= 1 of a Gaussian given by a finite mean (n) and covariance-like matrix (n x n).
// The mean sets n; the matrix must then be n x n.
inline Eigen::Index mean_and_square(const char* mean_name, const VecRef& mean,
                                    const char* matrix_name, const MatRef& a) {
    const Eigen::Index n = mean.size();
    if (n < 1) invalid(std::string(mean_name) + " must have at least one entry");
    require_finite(mean_name, mean);
    matrix(matrix_name, a, n, n);
    return n;
}

// A damping factor: finite and >= 0 (> 0 when `positive`).
inline void damping(double d, bool positive = false) {
    if (!std::isfinite(d) || d < 0.0 || (positive && d == 0.0)) {
        invalid("damping must be finite and " + std::string(positive ? "> 0" : ">= 0") + ", got " +
                std::to_string(d));
    }
}

// One generation's draws (popsize x n), candidates X (same shape; skipped when null) and values
// (popsize), all finite.
inline void population(const MatRef& noise, const MatRef* samples, Eigen::Index n,
                       const VecRef& values) {
    if (noise.rows() < 1 || noise.cols() != n) {
        invalid("noise must have shape (popsize, " + std::to_string(n) + "), got (" +
                std::to_string(noise.rows()) + ", " + std::to_string(noise.cols()) + ")");
    }
    require_finite("noise", noise);
    if (samples != nullptr) matrix("X", *samples, noise.rows(), n);
    require_size("values", values.size(), noise.rows());
    // A NaN would break the strict weak order std::stable_sort needs (and mis-rank the rest).
    require_finite("values", values);
}

// The shapes of population(), and finite values; the draws' and candidates' finiteness is left to
// the result. For the kernels that every entry of noise (and X) reaches -- a NaN or Inf there
// makes the result non-finite -- which then call population_culprit before reporting a
// non-finite result, so the message still names the argument. Saves one or two passes over the
// (popsize x n) arrays, the largest cost of a large-n generation after the arithmetic.
inline void population_shapes(const MatRef& noise, const MatRef* samples, Eigen::Index n,
                              const VecRef& values) {
    if (noise.rows() < 1 || noise.cols() != n) {
        invalid("noise must have shape (popsize, " + std::to_string(n) + "), got (" +
                std::to_string(noise.rows()) + ", " + std::to_string(noise.cols()) + ")");
    }
    if (samples != nullptr) require_shape("X", samples->rows(), samples->cols(), noise.rows(), n);
    require_size("values", values.size(), noise.rows());
    require_finite("values", values);
}

// Names the draws or candidates when they hold a NaN or Inf (see population_shapes).
inline void population_culprit(const MatRef& noise, const MatRef* samples) {
    require_finite("noise", noise);
    if (samples != nullptr) require_finite("X", *samples);
}

// Dimension n >= 1 of the search space, from the mean (finite).
inline Eigen::Index mean_vector(const VecRef& mean) {
    if (mean.size() < 1) invalid("mean must have at least one coordinate, got length 0");
    require_finite("mean", mean);
    return mean.size();
}

// A step size sigma: finite and > 0.
inline void step_size(double sigma) {
    if (!(sigma > 0.0) || !std::isfinite(sigma)) {
        invalid("sigma must be finite and > 0, got " + std::to_string(sigma));
    }
}

// Constants of a parameter record: finite, and the ones that divide or take roots positive.
inline void constant(const char* name, double value, bool positive) {
    if (!std::isfinite(value) || (positive && !(value > 0.0)) || value < 0.0) {
        invalid(std::string("params.") + name + " must be finite and " +
                (positive ? "> 0" : ">= 0") + ", got " + std::to_string(value));
    }
}

// A Monte Carlo batch: X (N x n) with N >= 2 samples and n >= 1, values f of length N, all
// finite. Returns n.
inline Eigen::Index batch(const MatRef& X, const VecRef& f) {
    if (X.rows() < 2) {
        invalid("X must hold at least 2 samples (rows) to estimate a covariance, got " +
                std::to_string(X.rows()));
    }
    if (X.cols() < 1) invalid("X must have at least one column");
    require_size("f", f.size(), X.rows());
    require_finite("X", X);
    require_finite("f", f);
    return X.cols();
}

// The result unchanged when every entry is finite; otherwise the float64 range was exceeded
// inside the kernel (finite input, e.g. 1e300 squared, or a division by a subnormal).
[[noreturn]] inline void not_representable(const char* what) {
    invalid(std::string(what) +
            ": the result is not representable in float64 (an intermediate overflowed); "
            "rescale the problem");
}

// Takes an owned matrix or vector (moved in and out), not an expression template.
template <typename Matrix>
inline Matrix finite_result(const char* what, Matrix x) {
    static_assert(std::is_same_v<Matrix, typename Matrix::PlainObject>,
                  "finite_result needs an evaluated matrix or vector");
    if (!all_finite(x)) not_representable(what);
    return x;
}

inline double finite_result(const char* what, double x) {
    if (!std::isfinite(x)) not_representable(what);
    return x;
}

}  // namespace natgrad::checks
