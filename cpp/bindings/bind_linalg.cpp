#include "natgrad/linalg.hpp"
#include "pybind.hpp"

namespace natgrad::bindings {

void bind_linalg(py::module_& m) {
    m.def(
        "damped_cholesky_solve",
        [](MatArg fisher, MatArg rhs, double damping) {
            py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
            return natgrad::damped_cholesky_solve(fisher, rhs, damping);
        },
        py::arg("fisher").noconvert(), py::arg("rhs").noconvert(), py::arg("damping"));
    m.def(
        "woodbury_solve",
        [](MatArg u, MatArg rhs, double damping) {
            py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
            return natgrad::woodbury_solve(u, rhs, damping);
        },
        py::arg("u").noconvert(), py::arg("rhs").noconvert(), py::arg("damping"));
}

}  // namespace natgrad::bindings
