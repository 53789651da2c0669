// Backend flags (lamina._lamina._backends; python/lamina/backends gives torch.backends' names).
#include "bind.h"

namespace lamina::python {

void init_backends(nb::module_& m) {
  nb::module_ backends = m.def_submodule("_backends", "backend flags");
  (void)backends;
}

}  // namespace lamina::python
