// Placeholder until the linalg bindings land.
#include "bind.h"

namespace lamina::python {

void init_linalg(nb::module_&, TensorClass&) {}

}  // namespace lamina::python
