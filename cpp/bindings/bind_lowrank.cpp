#include "natgrad/lowrank.hpp"
#include "pybind.hpp"

namespace natgrad::bindings {

void bind_lowrank(py::module_& m) {
    // Constants by keyword from the Python record natgrad.optim.lowrank.LowRankNESParameters.
    py::class_<natgrad::LowRankNESParams>(m, "LowRankNESParams")
        .def(py::init([](Eigen::VectorXd w_rank_hat, Eigen::VectorXd w_rank, double mueff,
                         double c_s, double c_c, double c1, double chi_n, double alpha_dist,
                         double eta_m, double eta_move_sigma, double eta_stag_sigma,
                         double eta_conv_sigma, double eta_b, int rank) {
                 return natgrad::LowRankNESParams{std::move(w_rank_hat),
                                                  std::move(w_rank),
                                                  mueff,
                                                  c_s,
                                                  c_c,
                                                  c1,
                                                  chi_n,
                                                  alpha_dist,
                                                  eta_m,
                                                  eta_move_sigma,
                                                  eta_stag_sigma,
                                                  eta_conv_sigma,
                                                  eta_b,
                                                  rank};
             }),
             py::kw_only(), py::arg("w_rank_hat"), py::arg("w_rank"), py::arg("mueff"),
             py::arg("c_s"), py::arg("c_c"), py::arg("c1"), py::arg("chi_n"), py::arg("alpha_dist"),
             py::arg("eta_m"), py::arg("eta_move_sigma"), py::arg("eta_stag_sigma"),
             py::arg("eta_conv_sigma"), py::arg("eta_b"), py::arg("rank"))
        .def_readonly("w_rank", &natgrad::LowRankNESParams::w_rank)
        .def_readonly("eta_b", &natgrad::LowRankNESParams::eta_b)
        .def_readonly("rank", &natgrad::LowRankNESParams::rank);

    m.def(
        "lowrank_nes_sample",
        [](VecArg mean, double sigma, VecArg scales, VecArg v, MatArg noise, int rank) {
            py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
            return natgrad::lowrank_nes_sample(mean, sigma, scales, v, noise, rank);
        },
        py::arg("mean").noconvert(), py::arg("sigma"), py::arg("scales").noconvert(),
        py::arg("v").noconvert(), py::arg("noise").noconvert(), py::arg("rank"));
    m.def(
        "lowrank_nes_update",
        [](VecArg mean, double sigma, VecArg scales, VecArg v, VecArg p_sigma, VecArg p_c,
           MatArg noise, VecArg values, const natgrad::LowRankNESParams& p) {
            natgrad::LowRankNESStep s;
            {
                py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
                s = natgrad::lowrank_nes_update(mean, sigma, scales, v, p_sigma, p_c, noise, values,
                                                p);
            }
            return py::make_tuple(std::move(s.mean), s.sigma, std::move(s.scales), std::move(s.v),
                                  std::move(s.p_sigma), std::move(s.p_c));
        },
        py::arg("mean").noconvert(), py::arg("sigma"), py::arg("scales").noconvert(),
        py::arg("v").noconvert(), py::arg("p_sigma").noconvert(), py::arg("p_c").noconvert(),
        py::arg("noise").noconvert(), py::arg("values").noconvert(), py::arg("params"));
}

}  // namespace natgrad::bindings
