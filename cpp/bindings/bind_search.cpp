#include "natgrad/search.hpp"
#include "pybind.hpp"

namespace natgrad::bindings {

void bind_search(py::module_& m) {
    m.def(
        "sample_full",
        [](VecArg mean, double sigma, MatArg factor, MatArg noise) {
            py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
            return natgrad::sample_full(mean, sigma, factor, noise);
        },
        py::arg("mean").noconvert(), py::arg("sigma"), py::arg("factor").noconvert(),
        py::arg("noise").noconvert());
    m.def(
        "sample_diagonal",
        [](VecArg mean, double sigma, VecArg scales, MatArg noise) {
            py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
            return natgrad::sample_diagonal(mean, sigma, scales, noise);
        },
        py::arg("mean").noconvert(), py::arg("sigma"), py::arg("scales").noconvert(),
        py::arg("noise").noconvert());
    m.def(
        "gemm_factor_update",
        [](MatArg factor, MatArg yt, MatArg zt, VecArg beta, double a) {
            py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
            Eigen::MatrixXd w;
            RowMatrixXd out = natgrad::gemm_factor_update(factor, yt, zt, beta, a, &w);
            return std::make_pair(std::move(out), std::move(w));
        },
        py::arg("factor").noconvert(), py::arg("yt").noconvert(), py::arg("zt").noconvert(),
        py::arg("beta").noconvert(), py::arg("a"));
    m.def(
        "lowrank_expm_factor",
        [](MatArg factor, MatArg yt, MatArg zt, VecArg s) {
            py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
            return natgrad::lowrank_expm_factor(factor, yt, zt, s);
        },
        py::arg("factor").noconvert(), py::arg("yt").noconvert(), py::arg("zt").noconvert(),
        py::arg("s").noconvert());
    m.def(
        "igo_cma_update",
        [](VecArg mean, double sigma, MatArg factor, VecArg p_sigma, VecArg p_c_z, MatArg noise,
           MatArg samples, VecArg values, long generation, const py::object& params) {
            natgrad::IGOCMAParams p;
            p.weights = record_field<Eigen::VectorXd>(params, "weights");
            p.mueff = record_field<double>(params, "mueff");
            p.c_sigma = record_field<double>(params, "c_sigma");
            p.d_sigma = record_field<double>(params, "d_sigma");
            p.c_c = record_field<double>(params, "c_c");
            p.c1 = record_field<double>(params, "c1");
            p.cmu = record_field<double>(params, "cmu");
            p.chi_n = record_field<double>(params, "chi_n");
            natgrad::IGOCMAStep s;
            {
                py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
                s = natgrad::igo_cma_update(mean, sigma, factor, p_sigma, p_c_z, noise, samples,
                                            values, generation, p);
            }
            return py::make_tuple(std::move(s.mean), s.sigma, std::move(s.factor),
                                  std::move(s.p_sigma), std::move(s.p_c_z), s.h_sigma,
                                  s.negative_shrinks);
        },
        py::arg("mean").noconvert(), py::arg("sigma"), py::arg("factor").noconvert(),
        py::arg("p_sigma").noconvert(), py::arg("p_c_z").noconvert(), py::arg("noise").noconvert(),
        py::arg("samples").noconvert(), py::arg("values").noconvert(), py::arg("generation"),
        py::arg("params"));
    m.def(
        "xnes_update",
        [](VecArg mean, double sigma, MatArg factor, VecArg p_sigma, MatArg noise, MatArg samples,
           VecArg values, const py::object& params) {
            natgrad::XNESParams p;
            p.utilities = record_field<Eigen::VectorXd>(params, "utilities");
            p.recombination = record_field<Eigen::VectorXd>(params, "recombination");
            p.mueff = record_field<double>(params, "mueff");
            p.eta_mu = record_field<double>(params, "eta_mu");
            p.eta_sigma = record_field<double>(params, "eta_sigma");
            p.eta_b = record_field<double>(params, "eta_b");
            p.csa = record_field<bool>(params, "csa");
            p.c_sigma = record_field<double>(params, "c_sigma");
            p.d_sigma = record_field<double>(params, "d_sigma");
            p.chi_n = record_field<double>(params, "chi_n");
            natgrad::XNESStep s;
            {
                py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
                s = natgrad::xnes_update(mean, sigma, factor, p_sigma, noise, samples, values, p);
            }
            return py::make_tuple(std::move(s.mean), s.sigma, std::move(s.factor),
                                  std::move(s.p_sigma));
        },
        py::arg("mean").noconvert(), py::arg("sigma"), py::arg("factor").noconvert(),
        py::arg("p_sigma").noconvert(), py::arg("noise").noconvert(),
        py::arg("samples").noconvert(), py::arg("values").noconvert(), py::arg("params"));
    m.def(
        "snes_update",
        [](VecArg mean, double sigma, VecArg scales, MatArg noise, VecArg values,
           const py::object& params) {
            natgrad::SNESParams p;
            p.utilities = record_field<Eigen::VectorXd>(params, "utilities");
            p.eta_mu = record_field<double>(params, "eta_mu");
            p.eta_sigma = record_field<double>(params, "eta_sigma");
            natgrad::SNESStep s;
            {
                py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
                s = natgrad::snes_update(mean, sigma, scales, noise, values, p);
            }
            return py::make_tuple(std::move(s.mean), s.sigma, std::move(s.scales));
        },
        py::arg("mean").noconvert(), py::arg("sigma"), py::arg("scales").noconvert(),
        py::arg("noise").noconvert(), py::arg("values").noconvert(), py::arg("params"));
}

}  // namespace natgrad::bindings
