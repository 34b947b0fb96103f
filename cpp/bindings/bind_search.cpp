#include "natgrad/search.hpp"
#include "pybind.hpp"

namespace natgrad::bindings {

void bind_search(py::module_& m) {
    // The constants of each kernel as one C++ struct, built once per (n, lambda) from the Python
    // record of the same fields (natgrad.optim.*Parameters) by keyword, so that no two constants
    // can be swapped by position; the kernels then take it without any per-call conversion.
    py::class_<natgrad::IGOCMAParams>(m, "IGOCMAParams")
        .def(py::init([](Eigen::VectorXd weights, double mueff, double c_sigma, double d_sigma,
                         double c_c, double c1, double cmu, double chi_n) {
                 return natgrad::IGOCMAParams{
                     std::move(weights), mueff, c_sigma, d_sigma, c_c, c1, cmu, chi_n};
             }),
             py::kw_only(), py::arg("weights"), py::arg("mueff"), py::arg("c_sigma"),
             py::arg("d_sigma"), py::arg("c_c"), py::arg("c1"), py::arg("cmu"), py::arg("chi_n"))
        .def_readonly("weights", &natgrad::IGOCMAParams::weights)
        .def_readonly("mueff", &natgrad::IGOCMAParams::mueff)
        .def_readonly("c_sigma", &natgrad::IGOCMAParams::c_sigma)
        .def_readonly("d_sigma", &natgrad::IGOCMAParams::d_sigma)
        .def_readonly("c_c", &natgrad::IGOCMAParams::c_c)
        .def_readonly("c1", &natgrad::IGOCMAParams::c1)
        .def_readonly("cmu", &natgrad::IGOCMAParams::cmu)
        .def_readonly("chi_n", &natgrad::IGOCMAParams::chi_n);
    py::class_<natgrad::XNESParams>(m, "XNESParams")
        .def(py::init([](Eigen::VectorXd utilities, Eigen::VectorXd recombination, double mueff,
                         double eta_mu, double eta_sigma, double eta_b, bool csa, double c_sigma,
                         double d_sigma, double chi_n) {
                 return natgrad::XNESParams{std::move(utilities),
                                            std::move(recombination),
                                            mueff,
                                            eta_mu,
                                            eta_sigma,
                                            eta_b,
                                            csa,
                                            c_sigma,
                                            d_sigma,
                                            chi_n};
             }),
             py::kw_only(), py::arg("utilities"), py::arg("recombination"), py::arg("mueff"),
             py::arg("eta_mu"), py::arg("eta_sigma"), py::arg("eta_b"), py::arg("csa"),
             py::arg("c_sigma"), py::arg("d_sigma"), py::arg("chi_n"))
        .def_readonly("utilities", &natgrad::XNESParams::utilities)
        .def_readonly("recombination", &natgrad::XNESParams::recombination)
        .def_readonly("eta_b", &natgrad::XNESParams::eta_b)
        .def_readonly("csa", &natgrad::XNESParams::csa);
    py::class_<natgrad::SNESParams>(m, "SNESParams")
        .def(py::init([](Eigen::VectorXd utilities, double eta_mu, double eta_sigma) {
                 return natgrad::SNESParams{std::move(utilities), eta_mu, eta_sigma};
             }),
             py::kw_only(), py::arg("utilities"), py::arg("eta_mu"), py::arg("eta_sigma"))
        .def_readonly("utilities", &natgrad::SNESParams::utilities)
        .def_readonly("eta_mu", &natgrad::SNESParams::eta_mu)
        .def_readonly("eta_sigma", &natgrad::SNESParams::eta_sigma);

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
           MatArg samples, VecArg values, long generation, const natgrad::IGOCMAParams& p,
           std::optional<OutArray> factor_out) {
            natgrad::IGOCMAStep s;
            std::optional<natgrad::MatOut> out = out_matrix(factor_out);
            {
                py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
                s = natgrad::igo_cma_update(mean, sigma, factor, p_sigma, p_c_z, noise, samples,
                                            values, generation, p, out ? &*out : nullptr);
            }
            py::object new_factor = buffer_or(factor_out, std::move(s.factor));
            return py::make_tuple(std::move(s.mean), s.sigma, new_factor, std::move(s.p_sigma),
                                  std::move(s.p_c_z), s.h_sigma, s.negative_shrinks);
        },
        py::arg("mean").noconvert(), py::arg("sigma"), py::arg("factor").noconvert(),
        py::arg("p_sigma").noconvert(), py::arg("p_c_z").noconvert(), py::arg("noise").noconvert(),
        py::arg("samples").noconvert(), py::arg("values").noconvert(), py::arg("generation"),
        py::arg("params"), py::arg("factor_out").noconvert() = py::none());
    m.def(
        "xnes_update",
        [](VecArg mean, double sigma, MatArg factor, VecArg p_sigma, MatArg noise, MatArg samples,
           VecArg values, const natgrad::XNESParams& p, std::optional<OutArray> factor_out) {
            natgrad::XNESStep s;
            std::optional<natgrad::MatOut> out = out_matrix(factor_out);
            {
                py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
                s = natgrad::xnes_update(mean, sigma, factor, p_sigma, noise, samples, values, p,
                                         out ? &*out : nullptr);
            }
            py::object new_factor = buffer_or(factor_out, std::move(s.factor));
            return py::make_tuple(std::move(s.mean), s.sigma, new_factor, std::move(s.p_sigma));
        },
        py::arg("mean").noconvert(), py::arg("sigma"), py::arg("factor").noconvert(),
        py::arg("p_sigma").noconvert(), py::arg("noise").noconvert(),
        py::arg("samples").noconvert(), py::arg("values").noconvert(), py::arg("params"),
        py::arg("factor_out").noconvert() = py::none());
    m.def(
        "snes_update",
        [](VecArg mean, double sigma, VecArg scales, MatArg noise, VecArg values,
           const natgrad::SNESParams& p) {
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
