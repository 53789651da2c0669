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
// A GEMM part below this many multiply-adds is not worth a hand-off to the pool.
constexpr int64_t kGemmGrain = int64_t{128} * 128 * 64;
// Rows (or columns) of C per part at least: each part packs the whole other operand again.
constexpr int64_t kGemmMinSlice = 64;
}  // namespace

// BLAS runs single-threaded (see blas.cpp) and the pool runs its calls: the batch entries
// split across the threads, or a single product's rows of C (columns when C is wider than it
// is tall, so the operand every part packs again is the smaller one). One pool for every op
// means no second set of threads spinning on the cores after a GEMM.
void launch_gemm(OpId op, Dtype dtype, const kernels::GemmLoop& loop, Device device) {
  auto kernel = find_kernel<kernels::GemmKernel>(op, device, dtype);
  if (!device.is_cpu()) {
    DeviceGuard guard(device);
    kernel(loop, {});
    return;
  }
  const int64_t product = loop.m * loop.n * loop.k;
  const int64_t item = itemsize(dtype);
  if (loop.batch > 1) {
    const int parts = parallel_parts(loop.batch, std::max<int64_t>(product / 64, 1));
    if (parts <= 1) {
      kernel(loop, {});
      return;
    }
    const int64_t c_bytes = loop.m * loop.n * item;
    auto run_batches = [&](int64_t begin, int64_t end) {
      kernels::GemmLoop part = loop;
      part.batch = end - begin;
      part.a_offsets += begin;
      part.b_offsets += begin;
      part.c += begin * c_bytes;
      kernel(part, {});
    };
    parallel_run(loop.batch, parts, RangeFn(run_batches));
    return;
  }
  const bool by_rows = loop.m >= loop.n;
  const int64_t extent = by_rows ? loop.m : loop.n;
  const int threads = in_parallel_region() ? 1 : num_threads();
  const int parts = static_cast<int>(std::min<int64_t>({threads, extent / kGemmMinSlice, product / kGemmGrain}));
  if (parts <= 1) {
    kernel(loop, {});
    return;
  }
  auto run_slice = [&](int64_t begin, int64_t end) {
    kernels::GemmLoop part = loop;
    part.c_rs = loop.c_rs ? loop.c_rs : loop.n;
    if (by_rows) {
      part.m = end - begin;
      part.a += begin * loop.a_rs * item;
      part.c += begin * part.c_rs * item;
      if (part.c_epilogue) part.c_epilogue += begin * part.c_rs * item;
    } else {
      part.n = end - begin;
      part.b += begin * loop.b_cs * item;
      part.c += begin * item;
      if (part.c_init_row) part.c_init_row += begin * item;
      if (part.c_epilogue) part.c_epilogue += begin * item;
    }
    kernel(part, {});
  };
  parallel_run(extent, parts, RangeFn(run_slice));
}

void launch_gemm_epilogue(OpId op, OpId epilogue, Dtype dtype, const kernels::GemmLoop& loop, Device device) {
  kernels::GemmLoop with = loop;
  with.epilogue = find_kernel<kernels::ElementwiseKernel>(epilogue, device, dtype);
  launch_gemm(op, dtype, with, device);
}

}  // namespace lamina::runtime
