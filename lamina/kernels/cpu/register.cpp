#include "lamina/kernels/cpu/register.h"

namespace lamina::kernels::cpu {

void register_all() {
  register_copy_kernels();
  register_elementwise_kernels();
  register_ternary_kernels();
  register_reduce_kernels();
  register_softmax_kernels();
  register_index_kernels();
  register_sort_kernels();
  register_random_kernels();
  register_linalg_kernels();
  register_optim_kernels();
  register_window_kernels();
  register_layer_norm_kernels();
  register_batch_norm_kernels();
  register_attention_kernels();
  register_simd_kernels();
#if defined(LAMINA_HAVE_ONEDNN)
  register_onednn_conv_kernels();
  register_onednn_matmul_kernels();
#endif
}

namespace {
// The CPU kernels join the runtime's table while the library loads, before any op can look them up.
const bool g_registered = (register_all(), true);
}  // namespace

}  // namespace lamina::kernels::cpu
