// Placeholder until the join bindings land.
#include "bind.h"

namespace lamina::python {

void init_join(nb::module_&, TensorClass&) {}

}  // namespace lamina::python
