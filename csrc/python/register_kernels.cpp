// argus_edge._core: the kernels area (filled in by the work on issue #5).
#include "python/registers.h"

namespace argus::python {

void register_kernels(pybind11::module_& /*m*/) {}

}  // namespace argus::python
