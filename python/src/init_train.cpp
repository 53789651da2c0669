// Training helpers: metrics, seeding, progress (lamina.train / lamina.metrics).
#include "bind.h"

namespace lamina::python {

void init_train(nb::module_& m) {
  nb::module_ sub = m.def_submodule("_train", "Training helpers (re-exported as lamina.train).");
  (void)sub;
}

}  // namespace lamina::python
