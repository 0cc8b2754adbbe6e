// argus_edge._core: the bundle area (filled in by the work on issue #5).
#include "python/registers.h"

namespace argus::python {

void register_bundle(pybind11::module_& /*m*/) {}

}  // namespace argus::python
