#include "natgrad/gmrf.hpp"
#include "pybind.hpp"

namespace natgrad::bindings {

namespace {

// A kernel returning a GMRFFactor, run without the GIL (pure Eigen work on borrowed buffers), as
// the tuple (b, d), or (d, b) when `diagonal_first`.
template <class Kernel>
py::tuple pair_without_gil(Kernel kernel, bool diagonal_first = false) {
    natgrad::GMRFFactor f;
    {
        py::gil_scoped_release release;
        f = kernel();
    }
    return diagonal_first ? py::make_tuple(std::move(f.d), std::move(f.b))
                          : py::make_tuple(std::move(f.b), std::move(f.d));
}

// Binds a function of the factor alone, (b, d, structure) -> vector, run without the GIL.
void def_of_factor(py::module_& m, const char* name,
                   Eigen::VectorXd (*kernel)(const natgrad::VecRef&, const natgrad::VecRef&,
                                             const natgrad::GMRFStructure&)) {
    m.def(
        name,
        [kernel](VecArg b, VecArg d, const natgrad::GMRFStructure& g) {
            py::gil_scoped_release release;  // pure Eigen work on borrowed buffers
            return kernel(b, d, g);
        },
        py::arg("b").noconvert(), py::arg("d").noconvert(), py::arg("structure"));
}

}  // namespace

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
            return pair_without_gil([&] { return natgrad::gmrf_complete(s_diag, s_off, g); });
        },
        py::arg("s_diag").noconvert(), py::arg("s_off").noconvert(), py::arg("structure"));
    m.def(
        "gmrf_factor",
        [](VecArg k_diag, VecArg k_off, const natgrad::GMRFStructure& g) {
            return pair_without_gil([&] { return natgrad::gmrf_factor(k_diag, k_off, g); });
        },
        py::arg("k_diag").noconvert(), py::arg("k_off").noconvert(), py::arg("structure"));
    def_of_factor(m, "gmrf_precision_off", &natgrad::gmrf_precision_off);
    m.def(
        "gmrf_pattern_covariance",
        [](VecArg b, VecArg d, const natgrad::GMRFStructure& g) {
            // (diagonal by position, off-diagonal by slot), the order of the moments elsewhere
            return pair_without_gil([&] { return natgrad::gmrf_pattern_covariance(b, d, g); },
                                    true);
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
    def_of_factor(m, "gmrf_precision_diagonal", &natgrad::gmrf_precision_diagonal);
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
