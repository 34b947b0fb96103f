#include "natgrad/wake_sleep.hpp"
#include "pybind.hpp"

namespace natgrad::bindings {

void bind_wake_sleep(py::module_& m) {
    m.def(
        "fisher_blocks_factor",
        [](MatArg inputs, MatArg weights, double damping) {
            py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
            return natgrad::fisher_blocks_factor(inputs, weights, damping);
        },
        py::arg("inputs").noconvert(), py::arg("weights").noconvert(), py::arg("damping"));
    m.def(
        "fisher_blocks_solve",
        [](MatArg factors, MatArg grads) {
            py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
            return natgrad::fisher_blocks_solve(factors, grads);
        },
        py::arg("factors").noconvert(), py::arg("grads").noconvert());
    m.def(
        "fisher_blocks_inverse",
        [](MatArg factors) {
            py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
            return natgrad::fisher_blocks_inverse(factors);
        },
        py::arg("factors").noconvert());
    m.def(
        "fisher_blocks_woodbury_factor",
        [](MatArg inputs, MatArg weights, double damping) {
            py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
            return natgrad::fisher_blocks_woodbury_factor(inputs, weights, damping);
        },
        py::arg("inputs").noconvert(), py::arg("weights").noconvert(), py::arg("damping"));
    m.def(
        "fisher_blocks_woodbury_solve",
        [](MatArg inputs, MatArg weights, MatArg factors, MatArg grads, double damping) {
            py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
            return natgrad::fisher_blocks_woodbury_solve(inputs, weights, factors, grads, damping);
        },
        py::arg("inputs").noconvert(), py::arg("weights").noconvert(),
        py::arg("factors").noconvert(), py::arg("grads").noconvert(), py::arg("damping"));
}

}  // namespace natgrad::bindings
