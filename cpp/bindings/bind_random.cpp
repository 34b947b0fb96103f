#include "natgrad/normal.hpp"
#include "pybind.hpp"

namespace natgrad::bindings {

void bind_random(py::module_& m) {
    m.def("splitmix64", &natgrad::splitmix64, py::arg("key"), py::arg("index"));
    m.def(
        "standard_normal",
        [](std::uint64_t key, Eigen::Index rows, Eigen::Index cols, bool mirrored) {
            natgrad::check_standard_normal_shape(rows, cols);
            // a NumPy array filled in place: cheaper for a small batch than moving a matrix out
            py::array_t<double> out({rows, cols});
            double* data = out.mutable_data();
            py::gil_scoped_release release;  // pure arithmetic into the new buffer
            if (mirrored) {
                natgrad::fill_mirrored_standard_normal(key, data, static_cast<std::size_t>(rows),
                                                       static_cast<std::size_t>(cols));
            } else {
                natgrad::fill_standard_normal(key, data, static_cast<std::size_t>(rows * cols));
            }
            return out;
        },
        py::arg("key"), py::arg("rows"), py::arg("cols"), py::arg("mirrored") = false);
}

}  // namespace natgrad::bindings
