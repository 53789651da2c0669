// Placeholder until the index bindings land.
#include "bind.h"

namespace lamina::python {

void init_index(nb::module_&, TensorClass&) {}

}  // namespace lamina::python
