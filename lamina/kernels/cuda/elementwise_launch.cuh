#pragma once
// The elementwise driver's kernels and launch (device code: include from .cu files only).
#include "lamina/kernels/cuda/elementwise.cuh"

namespace lamina::kernels::cuda {

/// Grid-stride kernel over the vector path's work items.
template <class Op>
__global__ void flat_kernel(Op op, FlatArgs args, int64_t items) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < items; i += stride)
    flat_work_item(op, args, i);
}

/// Grid-stride kernel over the strided path's elements.
template <class Op>
__global__ void strided_kernel(Op op, StridedArgs args) {
  const uint32_t stride = gridDim.x * blockDim.x;
  for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < args.numel; i += stride) strided_work_item(op, args, i);
}

/// Queues `op` over `loop` (device pointers) on the current stream; `name` labels launch errors.
template <class Op>
void launch_elementwise(const StridedLoop& loop, const Op& op, const char* name) {
  if (loop.numel == 0) return;
  const cudaStream_t stream = launch_stream();
  if (takes_vector_path<Op>(loop)) {
    const FlatArgs args = make_flat_args<Op>(loop);
    const int64_t items = flat_work_items(args, vec_width_v<Op>);
    flat_kernel<Op><<<grid_blocks(items), kBlockThreads, 0, stream>>>(op, args, items);
  } else {
    for_each_piece(loop, kStridedLimit, [&](const StridedLoop& part) {
      strided_kernel<Op><<<grid_blocks(part.numel), kBlockThreads, 0, stream>>>(op, make_strided_args(part));
    });
  }
  lamina::cuda::check_kernel_launch(name);
}

}  // namespace lamina::kernels::cuda
