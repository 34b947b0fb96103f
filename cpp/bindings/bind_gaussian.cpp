#include "pybind.hpp"

namespace natgrad::bindings {

void bind_gaussian(py::module_& m) {}

}  // namespace natgrad::bindings
