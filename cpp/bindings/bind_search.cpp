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
           MatArg samples, VecArg values, VecArg weights, long generation, double c_sigma,
           double d_sigma, double c_c, double c1, double cmu, double mueff, double chi_n) {
            natgrad::IGOCMAStep s;
            {
                py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
                s = natgrad::igo_cma_update(mean, sigma, factor, p_sigma, p_c_z, noise, samples,
                                            values, weights, generation, c_sigma, d_sigma, c_c, c1,
                                            cmu, mueff, chi_n);
            }
            return py::make_tuple(std::move(s.mean), s.sigma, std::move(s.factor),
                                  std::move(s.p_sigma), std::move(s.p_c_z), s.h_sigma,
                                  s.negative_shrinks);
        },
        py::arg("mean").noconvert(), py::arg("sigma"), py::arg("factor").noconvert(),
        py::arg("p_sigma").noconvert(), py::arg("p_c_z").noconvert(), py::arg("noise").noconvert(),
        py::arg("samples").noconvert(), py::arg("values").noconvert(),
        py::arg("weights").noconvert(), py::arg("generation"), py::arg("c_sigma"),
        py::arg("d_sigma"), py::arg("c_c"), py::arg("c1"), py::arg("cmu"), py::arg("mueff"),
        py::arg("chi_n"));
    m.def(
        "xnes_update",
        [](VecArg mean, double sigma, MatArg factor, VecArg p_sigma, MatArg noise, MatArg samples,
           VecArg values, VecArg utilities, VecArg recombination, double eta_mu, double eta_sigma,
           double eta_b, bool csa, double c_sigma, double d_sigma, double mueff_pos, double chi_n) {
            natgrad::XNESStep s;
            {
                py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
                s = natgrad::xnes_update(mean, sigma, factor, p_sigma, noise, samples, values,
                                         utilities, recombination, eta_mu, eta_sigma, eta_b, csa,
                                         c_sigma, d_sigma, mueff_pos, chi_n);
            }
            return py::make_tuple(std::move(s.mean), s.sigma, std::move(s.factor),
                                  std::move(s.p_sigma));
        },
        py::arg("mean").noconvert(), py::arg("sigma"), py::arg("factor").noconvert(),
        py::arg("p_sigma").noconvert(), py::arg("noise").noconvert(),
        py::arg("samples").noconvert(), py::arg("values").noconvert(),
        py::arg("utilities").noconvert(), py::arg("recombination").noconvert(), py::arg("eta_mu"),
        py::arg("eta_sigma"), py::arg("eta_b"), py::arg("csa"), py::arg("c_sigma"),
        py::arg("d_sigma"), py::arg("mueff_pos"), py::arg("chi_n"));
    m.def(
        "snes_update",
        [](VecArg mean, double sigma, VecArg scales, MatArg noise, VecArg values, VecArg utilities,
           double eta_mu, double eta_sigma) {
            natgrad::SNESStep s;
            {
                py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
                s = natgrad::snes_update(mean, sigma, scales, noise, values, utilities, eta_mu,
                                         eta_sigma);
            }
            return py::make_tuple(std::move(s.mean), s.sigma, std::move(s.scales));
        },
        py::arg("mean").noconvert(), py::arg("sigma"), py::arg("scales").noconvert(),
        py::arg("noise").noconvert(), py::arg("values").noconvert(),
        py::arg("utilities").noconvert(), py::arg("eta_mu"), py::arg("eta_sigma"));
}

}  // namespace natgrad::bindings
