#include "pybind.hpp"

namespace natgrad::bindings {

void bind_estimation(py::module_& m) {}

}  // namespace natgrad::bindings
