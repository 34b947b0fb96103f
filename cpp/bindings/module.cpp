// natgrad._core_<isa>: dispatches to one bind_<area>() per area; nothing else lives here.
#include "pybind.hpp"

#ifndef NATGRAD_MODULE_NAME
#define NATGRAD_MODULE_NAME _core
#endif

PYBIND11_MODULE(NATGRAD_MODULE_NAME, m) {
    m.doc() = "natgrad compiled core (private: use the natgrad package)";
    m.attr("isa_level") = NATGRAD_ISA_LEVEL;
    m.attr("built_levels") = NATGRAD_BUILT_LEVELS;
    m.attr("levels_requested") = NATGRAD_LEVELS_REQUESTED;
    m.attr("build_flags") = NATGRAD_BUILD_FLAGS;
    m.attr("compiler") = NATGRAD_COMPILER;
    m.attr("eigen_version") = NATGRAD_EIGEN_VERSION;
    m.attr("eigen_simd") = Eigen::SimdInstructionSetsInUse();
    natgrad::bindings::bind_linalg(m);
    natgrad::bindings::bind_gaussian(m);
    natgrad::bindings::bind_search(m);
    natgrad::bindings::bind_estimation(m);
    natgrad::bindings::bind_gmrf(m);
    natgrad::bindings::bind_lowrank(m);
    natgrad::bindings::bind_wake_sleep(m);
    natgrad::bindings::bind_random(m);
}
