// Placeholder until the reduce bindings land.
#include "bind.h"

namespace lamina::python {

void init_reduce(nb::module_&, TensorClass&) {}

}  // namespace lamina::python
