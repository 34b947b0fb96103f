#include "natgrad/estimation.hpp"
#include "pybind.hpp"

namespace natgrad::bindings {

void bind_estimation(py::module_& m) {
    // Every kernel below is pure Eigen work on borrowed, read-only buffers: release the GIL.
    m.def(
        "cov_f_stats",
        [](MatArg X, VecArg f) {
            py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
            return natgrad::cov_f_stats(X, f);
        },
        py::arg("X").noconvert(), py::arg("f").noconvert());
    m.def(
        "empirical_fisher",
        [](MatArg X) {
            py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
            return natgrad::empirical_fisher(X);
        },
        py::arg("X").noconvert());
    m.def(
        "natural_gradient_theta_empirical",
        [](MatArg X, VecArg f, double damping) {
            py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
            return natgrad::natural_gradient_theta_empirical(X, f, damping);
        },
        py::arg("X").noconvert(), py::arg("f").noconvert(), py::arg("damping"));
    m.def(
        "natural_gradient_theta_exact",
        [](MatArg X, VecArg f, VecArg mean, MatArg cov) {
            py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
            return natgrad::natural_gradient_theta_exact(X, f, mean, cov);
        },
        py::arg("X").noconvert(), py::arg("f").noconvert(), py::arg("mean").noconvert(),
        py::arg("cov").noconvert());
    m.def(
        "natural_gradient_mean_cov",
        [](MatArg X, VecArg f, VecArg mean) {
            py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
            return natgrad::natural_gradient_mean_cov(X, f, mean);
        },
        py::arg("X").noconvert(), py::arg("f").noconvert(), py::arg("mean").noconvert());
    m.def(
        "tangent_mean_cov_to_theta",
        [](VecArg mean, MatArg cov, VecArg dxi) {
            py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
            return natgrad::tangent_mean_cov_to_theta(mean, cov, dxi);
        },
        py::arg("mean").noconvert(), py::arg("cov").noconvert(), py::arg("dxi").noconvert());
    m.def(
        "tangent_theta_to_mean_cov",
        [](VecArg mean, MatArg cov, VecArg dtheta) {
            py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
            return natgrad::tangent_theta_to_mean_cov(mean, cov, dtheta);
        },
        py::arg("mean").noconvert(), py::arg("cov").noconvert(), py::arg("dtheta").noconvert());
    m.def(
        "binary_cov_f_x",
        [](MatArg X, VecArg f) {
            py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
            return natgrad::binary_cov_f_x(X, f);
        },
        py::arg("X").noconvert(), py::arg("f").noconvert());
    m.def(
        "binary_fisher_theta",
        [](VecArg theta) {
            py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
            return natgrad::binary_fisher_theta(theta);
        },
        py::arg("theta").noconvert());
    m.def(
        "binary_natural_gradient",
        [](MatArg X, VecArg f, VecArg theta) {
            py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
            return natgrad::binary_natural_gradient(X, f, theta);
        },
        py::arg("X").noconvert(), py::arg("f").noconvert(), py::arg("theta").noconvert());
}

}  // namespace natgrad::bindings
