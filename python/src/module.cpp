// The _lamina extension module: one init_* per area, in dependency order.
#include "bind.h"

NB_MODULE(_lamina, m) {
  using namespace lamina::python;
  m.doc() = "lamina: a C++ deep-learning core with PyTorch's names";
  init_errors(m);
  init_runtime(m);
  init_cuda(m);
  TensorClass cls = init_tensor_class(m);
  init_tensor(m, cls);
  init_creation(m, cls);
  init_elementwise(m, cls);
  init_interop(m, cls);
  init_reduce(m, cls);
  init_index(m, cls);
  init_join(m, cls);
  init_linalg(m, cls);
  init_autograd(m, cls);
  init_conv(m);
  init_data(m);
  init_readers(m);
  init_optim(m);
  init_nn(m);
  init_train(m);
  init_io(m);
  init_checkpoint(m);
  init_distributed(m);
  init_log(m);
  init_profiler(m);
  init_amp(m);
  init_backends(m);
}
