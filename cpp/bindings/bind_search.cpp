#include "pybind.hpp"

namespace natgrad::bindings {

void bind_search(py::module_& m) {}

}  // namespace natgrad::bindings
