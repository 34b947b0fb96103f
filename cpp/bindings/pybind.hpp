// The one place the bindings include pybind11: every bind_<area>.cpp includes this header.
#pragma once

#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>

#include "natgrad/types.hpp"

namespace py = pybind11;

namespace natgrad::bindings {

using natgrad::RowMatrixXd;
// Inputs arrive as C-contiguous float64 (the Python layer guarantees it); `noconvert` refuses
// anything else instead of copying silently.
using MatArg = Eigen::Ref<const RowMatrixXd>;
using VecArg = Eigen::Ref<const Eigen::VectorXd>;
// An output buffer: a writeable C-contiguous 2-D float64 array, refused (ValueError) otherwise.
using OutArray = py::array_t<double, py::array::c_style>;
// The kernel's view of an optional output buffer (none: the kernel allocates its result).
inline std::optional<natgrad::MatOut> out_matrix(std::optional<OutArray>& a) {
    if (!a) return std::nullopt;
    if (a->ndim() != 2 || !a->writeable()) {
        throw py::value_error("an output buffer must be a writeable 2-D float64 array");
    }
    return natgrad::MatOut(Eigen::Map<RowMatrixXd>(a->mutable_data(), a->shape(0), a->shape(1)));
}

// The result for Python: the caller's buffer itself when there was one, else the kernel's matrix.
inline py::object buffer_or(std::optional<OutArray>& a, RowMatrixXd&& result) {
    return a ? py::object(*a) : py::cast(std::move(result));
}

void bind_linalg(py::module_& m);
void bind_gaussian(py::module_& m);
void bind_search(py::module_& m);
void bind_estimation(py::module_& m);
void bind_gmrf(py::module_& m);
void bind_lowrank(py::module_& m);
void bind_wake_sleep(py::module_& m);
void bind_random(py::module_& m);

}  // namespace natgrad::bindings
