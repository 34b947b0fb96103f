#include "natgrad/checks.hpp"
#include "natgrad/fisher.hpp"
#include "natgrad/gaussian.hpp"
#include "pybind.hpp"

namespace natgrad::bindings {

namespace {

RowMatrixXd rows(const Eigen::MatrixXd& a) { return a; }

py::tuple moments(const GaussianMoments& g) {
    py::object precision = py::none();
    if (g.precision.size() > 0) precision = py::cast(rows(g.precision));
    return py::make_tuple(py::cast(g.mean), py::cast(rows(g.cov)), precision);
}

}  // namespace

void bind_gaussian(py::module_& m) {
    // Every lambda releases the GIL: the work is pure Eigen on borrowed, read-only buffers.
    m.def(
        "gaussian_cholesky",
        [](MatArg cov) {
            py::gil_scoped_release release;  // pure Eigen work
            checks::square("cov", cov);
            return rows(cholesky_lower(MatrixXd(cov), "cov must be symmetric positive definite"));
        },
        py::arg("cov").noconvert());
    m.def(
        "gaussian_precision_from_cov",
        [](MatArg cov) {
            py::gil_scoped_release release;  // pure Eigen work
            return rows(precision_from_cov(cov));
        },
        py::arg("cov").noconvert());
    m.def(
        "gaussian_natural_from_mean_cov",
        [](VecArg mean, MatArg cov) {
            py::gil_scoped_release release;  // pure Eigen work
            return natural_from_mean_cov(mean, cov);
        },
        py::arg("mean").noconvert(), py::arg("cov").noconvert());
    m.def(
        "gaussian_expectation_from_mean_cov",
        [](VecArg mean, MatArg cov) {
            py::gil_scoped_release release;  // pure Eigen work
            return expectation_from_mean_cov(mean, cov);
        },
        py::arg("mean").noconvert(), py::arg("cov").noconvert());
    m.def(
        "gaussian_pack_mean_cov",
        [](VecArg mean, MatArg cov) {
            py::gil_scoped_release release;  // pure Eigen work
            return pack_mean_cov(mean, cov);
        },
        py::arg("mean").noconvert(), py::arg("cov").noconvert());
    m.def(
        "gaussian_mean_cov_from_natural",
        [](VecArg theta) {
            GaussianMoments g;
            {
                py::gil_scoped_release release;  // pure Eigen work
                g = mean_cov_from_natural(theta);
            }
            return moments(g);
        },
        py::arg("theta").noconvert());
    m.def(
        "gaussian_mean_cov_from_expectation",
        [](VecArg eta) {
            GaussianMoments g;
            {
                py::gil_scoped_release release;  // pure Eigen work
                g = mean_cov_from_expectation(eta);
            }
            return moments(g);
        },
        py::arg("eta").noconvert());
    m.def(
        "gaussian_mean_cov_from_packed",
        [](VecArg xi) {
            GaussianMoments g;
            {
                py::gil_scoped_release release;  // pure Eigen work
                g = mean_cov_from_packed(xi);
            }
            return moments(g);
        },
        py::arg("xi").noconvert());
    m.def(
        "gaussian_expectation_from_natural",
        [](VecArg theta) {
            py::gil_scoped_release release;  // pure Eigen work
            return expectation_from_natural(theta);
        },
        py::arg("theta").noconvert());
    m.def(
        "gaussian_natural_from_expectation",
        [](VecArg eta) {
            py::gil_scoped_release release;  // pure Eigen work
            return natural_from_expectation(eta);
        },
        py::arg("eta").noconvert());
    m.def(
        "gaussian_log_partition_natural",
        [](VecArg theta) {
            py::gil_scoped_release release;  // pure Eigen work
            return log_partition_natural(theta);
        },
        py::arg("theta").noconvert());
    m.def(
        "gaussian_log_partition_mean_cov",
        [](VecArg mean, MatArg cov) {
            py::gil_scoped_release release;  // pure Eigen work
            return log_partition_mean_cov(mean, cov);
        },
        py::arg("mean").noconvert(), py::arg("cov").noconvert());
    m.def(
        "gaussian_neg_entropy_natural",
        [](VecArg theta) {
            py::gil_scoped_release release;  // pure Eigen work
            return neg_entropy_natural(theta);
        },
        py::arg("theta").noconvert());
    m.def(
        "gaussian_neg_entropy_expectation",
        [](VecArg eta) {
            py::gil_scoped_release release;  // pure Eigen work
            return neg_entropy_expectation(eta);
        },
        py::arg("eta").noconvert());
    m.def(
        "gaussian_neg_entropy_mean_cov",
        [](MatArg cov) {
            py::gil_scoped_release release;  // pure Eigen work
            return neg_entropy_mean_cov(cov);
        },
        py::arg("cov").noconvert());
    m.def(
        "gaussian_kl",
        [](VecArg mean_p, MatArg cov_p, VecArg mean_q, MatArg cov_q) {
            py::gil_scoped_release release;  // pure Eigen work
            return kl_mean_cov(mean_p, cov_p, mean_q, cov_q);
        },
        py::arg("mean_p").noconvert(), py::arg("cov_p").noconvert(), py::arg("mean_q").noconvert(),
        py::arg("cov_q").noconvert());
    m.def(
        "gaussian_log_prob",
        [](VecArg mean, MatArg cov, MatArg x) {
            py::gil_scoped_release release;  // pure Eigen work
            return log_prob_mean_cov(mean, cov, x);
        },
        py::arg("mean").noconvert(), py::arg("cov").noconvert(), py::arg("x").noconvert());
    m.def(
        "gaussian_sufficient_stats",
        [](MatArg x) {
            py::gil_scoped_release release;  // pure Eigen work
            return sufficient_stats(x);
        },
        py::arg("x").noconvert());
    m.def(
        "gaussian_sample",
        [](VecArg mean, MatArg cov, MatArg normals) {
            py::gil_scoped_release release;  // pure Eigen work
            return sample_mean_cov(mean, cov, normals);
        },
        py::arg("mean").noconvert(), py::arg("cov").noconvert(), py::arg("normals").noconvert());

    // --- Fisher information -----------------------------------------------------------------
    m.def(
        "gaussian_fisher_natural",
        [](VecArg mean, MatArg cov, std::optional<IndexList> free) {
            py::gil_scoped_release release;  // pure Eigen work
            return fisher_natural(mean, cov, free);
        },
        py::arg("mean").noconvert(), py::arg("cov").noconvert(), py::arg("free") = py::none());
    m.def(
        "gaussian_fisher_expectation",
        [](VecArg mean, MatArg precision, std::optional<IndexList> free) {
            py::gil_scoped_release release;  // pure Eigen work
            return fisher_expectation(mean, precision, free);
        },
        py::arg("mean").noconvert(), py::arg("precision").noconvert(),
        py::arg("free") = py::none());
    m.def(
        "gaussian_fisher_mean_cov",
        [](MatArg precision, std::optional<IndexList> free) {
            py::gil_scoped_release release;  // pure Eigen work
            return fisher_mean_cov(precision, free);
        },
        py::arg("precision").noconvert(), py::arg("free") = py::none());
    m.def(
        "gaussian_fisher_product_natural",
        [](VecArg mean, MatArg cov, VecArg v) {
            py::gil_scoped_release release;  // pure Eigen work
            return fisher_product_natural(mean, cov, v);
        },
        py::arg("mean").noconvert(), py::arg("cov").noconvert(), py::arg("v").noconvert());
    m.def(
        "gaussian_fisher_product_expectation",
        [](VecArg mean, MatArg precision, VecArg v) {
            py::gil_scoped_release release;  // pure Eigen work
            return fisher_product_expectation(mean, precision, v);
        },
        py::arg("mean").noconvert(), py::arg("precision").noconvert(), py::arg("v").noconvert());
    m.def(
        "gaussian_fisher_product_mean_cov",
        [](MatArg precision, VecArg v) {
            py::gil_scoped_release release;  // pure Eigen work
            return fisher_product_mean_cov(precision, v);
        },
        py::arg("precision").noconvert(), py::arg("v").noconvert());
    m.def(
        "gaussian_natural_gradient_natural",
        [](VecArg mean, MatArg cov, MatArg precision, VecArg grad, double damping) {
            py::gil_scoped_release release;  // pure Eigen work
            return natural_gradient_natural(mean, cov, precision, grad, damping);
        },
        py::arg("mean").noconvert(), py::arg("cov").noconvert(), py::arg("precision").noconvert(),
        py::arg("grad").noconvert(), py::arg("damping"));
    m.def(
        "gaussian_natural_gradient_expectation",
        [](VecArg mean, MatArg cov, MatArg precision, VecArg grad, double damping) {
            py::gil_scoped_release release;  // pure Eigen work
            return natural_gradient_expectation(mean, cov, precision, grad, damping);
        },
        py::arg("mean").noconvert(), py::arg("cov").noconvert(), py::arg("precision").noconvert(),
        py::arg("grad").noconvert(), py::arg("damping"));
    m.def(
        "gaussian_natural_gradient_mean_cov",
        [](MatArg cov, VecArg grad, double damping) {
            py::gil_scoped_release release;  // pure Eigen work
            return natural_gradient_mean_cov(cov, grad, damping);
        },
        py::arg("cov").noconvert(), py::arg("grad").noconvert(), py::arg("damping"));
}

}  // namespace natgrad::bindings
