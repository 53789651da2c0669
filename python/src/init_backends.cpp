// Backend flags (lamina._lamina._backends; python/lamina/backends gives torch.backends' names).
#include "bind.h"
#include "lamina/runtime/cuda_flags.h"

namespace lamina::python {

void init_backends(nb::module_& m) {
  nb::module_ backends = m.def_submodule("_backends", "backend flags");
  backends.def("allow_tf32", &runtime::allow_tf32, "Whether float32 CUDA matrix products may use TF32.");
  backends.def("set_allow_tf32", &runtime::set_allow_tf32, nb::arg("allow"),
               "Lets float32 CUDA matrix products use TF32 tensor cores (or not).");
}

}  // namespace lamina::python
