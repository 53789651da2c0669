// Mixed precision (lamina._lamina._amp): the autocast state lamina.autocast sets.
#include "bind.h"

namespace lamina::python {

void init_amp(nb::module_& m) {
  nb::module_ amp = m.def_submodule("_amp", "autocast state");
  (void)amp;
}

}  // namespace lamina::python
