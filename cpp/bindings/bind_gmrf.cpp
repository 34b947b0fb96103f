#include "natgrad/gmrf.hpp"
#include "pybind.hpp"

namespace natgrad::bindings {

void bind_gmrf(py::module_& m) {
    // The index tables of a perfect elimination order (natgrad.graphs.Elimination), checked once
    // here; the kernels then index with them without further checks.
    py::class_<natgrad::GMRFStructure>(m, "GMRFStructure")
        .def(py::init<natgrad::IndexVector, natgrad::IndexVector, natgrad::IndexVector,
                      natgrad::IndexVector, natgrad::IndexVector>(),
             py::kw_only(), py::arg("perm"), py::arg("colptr"), py::arg("rows"),
             py::arg("pair_ptr"), py::arg("pairs"))
        .def_property_readonly("n", &natgrad::GMRFStructure::n)
        .def_property_readonly("nnz", &natgrad::GMRFStructure::nnz)
        .def_property_readonly("max_clique", &natgrad::GMRFStructure::max_clique)
        .def_property_readonly("ring_size", &natgrad::GMRFStructure::ring_size);

    m.def(
        "gmrf_complete",
        [](VecArg s_diag, VecArg s_off, const natgrad::GMRFStructure& g) {
            natgrad::GMRFFactor f;
            {
                py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
                f = natgrad::gmrf_complete(s_diag, s_off, g);
            }
            return py::make_tuple(std::move(f.b), std::move(f.d));
        },
        py::arg("s_diag").noconvert(), py::arg("s_off").noconvert(), py::arg("structure"));
    m.def(
        "gmrf_factor",
        [](VecArg k_diag, VecArg k_off, const natgrad::GMRFStructure& g) {
            natgrad::GMRFFactor f;
            {
                py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
                f = natgrad::gmrf_factor(k_diag, k_off, g);
            }
            return py::make_tuple(std::move(f.b), std::move(f.d));
        },
        py::arg("k_diag").noconvert(), py::arg("k_off").noconvert(), py::arg("structure"));
    m.def(
        "gmrf_precision_off",
        [](VecArg b, VecArg d, const natgrad::GMRFStructure& g) {
            py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
            return natgrad::gmrf_precision_off(b, d, g);
        },
        py::arg("b").noconvert(), py::arg("d").noconvert(), py::arg("structure"));
    m.def(
        "gmrf_pattern_covariance",
        [](VecArg b, VecArg d, const natgrad::GMRFStructure& g) {
            natgrad::GMRFFactor s;
            {
                py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
                s = natgrad::gmrf_pattern_covariance(b, d, g);
            }
            return py::make_tuple(std::move(s.d), std::move(s.b));
        },
        py::arg("b").noconvert(), py::arg("d").noconvert(), py::arg("structure"));
    m.def(
        "gmrf_solve",
        [](VecArg b, VecArg d, VecArg h, const natgrad::GMRFStructure& g) {
            py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
            return natgrad::gmrf_solve(b, d, h, g);
        },
        py::arg("b").noconvert(), py::arg("d").noconvert(), py::arg("h").noconvert(),
        py::arg("structure"));
    m.def(
        "gmrf_sample",
        [](VecArg mean, double sigma, VecArg b, VecArg d, MatArg noise,
           const natgrad::GMRFStructure& g) {
            py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
            return natgrad::gmrf_sample(mean, sigma, b, d, noise, g);
        },
        py::arg("mean").noconvert(), py::arg("sigma"), py::arg("b").noconvert(),
        py::arg("d").noconvert(), py::arg("noise").noconvert(), py::arg("structure"));
    m.def(
        "gmrf_whiten",
        [](VecArg mean, double sigma, VecArg b, VecArg d, MatArg samples,
           const natgrad::GMRFStructure& g) {
            py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
            return natgrad::gmrf_whiten(mean, sigma, b, d, samples, g);
        },
        py::arg("mean").noconvert(), py::arg("sigma"), py::arg("b").noconvert(),
        py::arg("d").noconvert(), py::arg("samples").noconvert(), py::arg("structure"));
    m.def(
        "gmrf_precision_diagonal",
        [](VecArg b, VecArg d, const natgrad::GMRFStructure& g) {
            py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
            return natgrad::gmrf_precision_diagonal(b, d, g);
        },
        py::arg("b").noconvert(), py::arg("d").noconvert(), py::arg("structure"));
    m.def(
        "gmrf_update",
        [](VecArg mean, double sigma, VecArg s_diag, VecArg s_off, VecArg p_sigma, VecArg p_c,
           MatArg noise, MatArg samples, VecArg values, long generation,
           const natgrad::IGOCMAParams& p, const natgrad::GMRFStructure& g) {
            natgrad::GMRFStep s;
            {
                py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
                s = natgrad::gmrf_update(mean, sigma, s_diag, s_off, p_sigma, p_c, noise, samples,
                                         values, generation, p, g);
            }
            return py::make_tuple(std::move(s.mean), s.sigma, std::move(s.s_diag),
                                  std::move(s.s_off), std::move(s.p_sigma), std::move(s.p_c),
                                  std::move(s.b), std::move(s.d), s.h_sigma);
        },
        py::arg("mean").noconvert(), py::arg("sigma"), py::arg("s_diag").noconvert(),
        py::arg("s_off").noconvert(), py::arg("p_sigma").noconvert(), py::arg("p_c").noconvert(),
        py::arg("noise").noconvert(), py::arg("samples").noconvert(), py::arg("values").noconvert(),
        py::arg("generation"), py::arg("params"), py::arg("structure"));
}

}  // namespace natgrad::bindings
