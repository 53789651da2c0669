#include "lamina/runtime/launch.h"

#include <algorithm>

#include "lamina/runtime/blas.h"
#include "lamina/runtime/config.h"
#include "lamina/runtime/loops.h"

namespace lamina::runtime {

void launch_elementwise(OpId op, Dtype kernel_dtype, std::initializer_list<const Tensor*> operands,
                        const kernels::KernelParams& params, Split split) {
  const Tensor& out = **operands.begin();
  auto kernel = find_kernel<kernels::ElementwiseKernel>(op, out.device(), kernel_dtype);
  if (out.numel() == 0) return;
  for_each_part(make_strided_loop(operands), out.device(), [&](const kernels::StridedLoop& part, int64_t first) {
    kernels::KernelParams part_params = params;
    if (split == Split::CounterParam) part_params.i += first;
    kernel(part, part_params);
  });
}

namespace {

// A reduce or line kernel over `loop`: one launch on a device (made current); on the CPU the
// outputs split along the outermost output dim across the pool, `per_output` elements read each.
template <class Loop>
void launch_outer(void (*kernel)(const Loop&, const kernels::KernelParams&), const Loop& loop, Device device,
                  const kernels::KernelParams& params, int64_t per_output) {
  if (!device.is_cpu()) {
    DeviceGuard guard(device);
    kernel(loop, params);
    return;
  }
  if (loop.outer_ndim == 0) {
    kernel(loop, params);
    return;
  }
  const int64_t unit = loop.outer_numel / loop.outer_shape[0] * std::max<int64_t>(per_output, 1);
  parallel_for(loop.outer_shape[0], unit,
               [&](int64_t begin, int64_t end) { kernel(kernels::slice_outer(loop, begin, end), params); });
}

}  // namespace

void launch_reduce(OpId op, Dtype dtype, const kernels::ReduceLoop& loop, Device device,
                   const kernels::KernelParams& params) {
  launch_outer(find_kernel<kernels::ReduceKernel>(op, device, dtype), loop, device, params, loop.reduce_numel);
}

void launch_lines(OpId op, Dtype dtype, const kernels::LineLoop& loop, Device device,
                  const kernels::KernelParams& params) {
  launch_outer(find_kernel<kernels::LineKernel>(op, device, dtype), loop, device, params, loop.n);
}

namespace {
// Products of at most this many multiply-adds count as small (see launch_gemm).
constexpr int64_t kSmallGemm = int64_t{256} * 256 * 256;

// BLAS single-threaded for a scope (when `active`), its thread count restored however it ends.
class SingleThreadedBlas {
 public:
  explicit SingleThreadedBlas(bool active) : active_(active) {
    if (active_) blas_set_num_threads(1);
  }
  ~SingleThreadedBlas() {
    if (active_) blas_set_num_threads(num_threads());
  }
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;

 private:
  bool active_;
};
}  // namespace

void launch_gemm(OpId op, Dtype dtype, const kernels::GemmLoop& loop, Device device, bool uses_blas) {
  auto kernel = find_kernel<kernels::GemmKernel>(op, device, dtype);
  if (!device.is_cpu()) {
    DeviceGuard guard(device);
    kernel(loop, {});
    return;
  }
  const int64_t product = loop.m * loop.n * loop.k;
  const int parts = loop.batch > 1 && product <= kSmallGemm ? parallel_parts(loop.batch, product) : 1;
  if (parts <= 1) {
    kernel(loop, {});
    return;
  }
  const int64_t c_bytes = loop.m * loop.n * itemsize(dtype);
  const SingleThreadedBlas single_threaded(uses_blas);
  auto run_part = [&](int64_t begin, int64_t end) {
    kernels::GemmLoop part = loop;
    part.batch = end - begin;
    part.a_offsets += begin;
    part.b_offsets += begin;
    part.c += begin * c_bytes;
    kernel(part, {});
  };
  parallel_run(loop.batch, parts, RangeFn(run_part));
}

}  // namespace lamina::runtime
