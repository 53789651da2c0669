// Python bindings: see bind.h.
#include "bind.h"

namespace lamina::python {

void init_log(nb::module_& m) { (void)m; }

}  // namespace lamina::python
