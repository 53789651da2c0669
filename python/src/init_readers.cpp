// File readers beyond IDX: .npy / .npz, CSV, memory-mapped token files (lamina.utils.data).
#include "bind.h"

namespace lamina::python {

void init_readers(nb::module_& m) {
  nb::module_ sub = m.def_submodule("_readers", "File readers (re-exported as lamina.utils.data).");
  (void)sub;
}

}  // namespace lamina::python
