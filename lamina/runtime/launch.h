#pragma once
// Kernel launches: the runtime, not the ops, looks a kernel up, makes the operands' device
// current and splits the work over the thread pool. One entry per geometry: elementwise
// (strided loops), reductions, lines, ranges of independent items, and one call for kernels
// that take their own argument structs. Ops, nn and optim never call find_kernel, DeviceGuard or
// parallel_for themselves (tools/check_layers.py checks).
#include <algorithm>
#include <initializer_list>
#include <vector>

#include "lamina/core/tensor.h"
#include "lamina/kernels/loops.h"
#include "lamina/runtime/device_backend.h"
#include "lamina/runtime/dispatch.h"
#include "lamina/runtime/parallel.h"

namespace lamina::runtime {

/// How a kernel's params depend on where a part of the loop starts when the pool splits it.
enum class Split {
  Free,          // elementwise: any part is computed alone
  CounterParam,  // params.i is the counter of element 0 (random draws): each part gets its own
};

/// Runs the elementwise kernel (op, dtype) over operands (output first), already broadcast:
/// one launch on a device's current stream, or on the CPU large loops split along their
/// outermost dim across the thread pool.
void launch_elementwise(OpId op, Dtype kernel_dtype, std::initializer_list<const Tensor*> operands,
                        const kernels::KernelParams& params = {}, Split split = Split::Free);

/// Runs the reduce kernel (op, dtype) over `loop` on `device`: one launch on a device (made
/// current), or on the CPU the outputs split along the outermost output dim across the pool.
/// Each output is combined by one kernel call in one fixed order, so the split changes no bits.
void launch_reduce(OpId op, Dtype dtype, const kernels::ReduceLoop& loop, Device device,
                   const kernels::KernelParams& params);

/// Runs the line kernel (op, dtype) over the lines of `loop` on `device`: one launch on a device
/// (made current), or on the CPU independent lines split across the pool.
void launch_lines(OpId op, Dtype dtype, const kernels::LineLoop& loop, Device device,
                  const kernels::KernelParams& params);

/// A matrix-product kernel over `loop`: one launch on a device; on the CPU the pool splits it
/// (batch entries, or one product's rows / columns of C) and each part calls the kernel, with
/// BLAS itself single-threaded (runtime/blas.cpp), so only one set of threads holds the cores.
void launch_gemm(OpId op, Dtype dtype, const kernels::GemmLoop& loop, Device device);

/// launch_gemm with loop.epilogue set to the elementwise kernel (epilogue, dtype): each band of
/// C, once computed, also goes through it into loop.c_epilogue (CPU, with c_init_row).
void launch_gemm_epilogue(OpId op, OpId epilogue, Dtype dtype, const kernels::GemmLoop& loop, Device device);

/// Looks up the kernel (op, device, dtype) of signature Kernel and runs call(kernel, begin, end)
/// over the `count` independent items [0, count) (planes, rows, chunks): once with the device
/// current on a device (the GPU splits the work), in ranges across the pool on the CPU, `cost`
/// the work of one item.
template <class Kernel, class Call>
void launch_ranges(OpId op, Device device, Dtype dtype, int64_t count, int64_t cost, Call&& call) {
  const Kernel kernel = find_kernel<Kernel>(op, device, dtype);
  if (!device.is_cpu()) {
    DeviceGuard guard(device);
    call(kernel, int64_t{0}, count);
    return;
  }
  parallel_for(count, cost, [&](int64_t begin, int64_t end) { call(kernel, begin, end); });
}

/// Looks up the kernel (op, device, dtype) of signature Kernel and returns call(kernel) with the
/// device current: one launch of a kernel that splits its own work (cuDNN, cuBLAS, attention).
template <class Kernel, class Call>
decltype(auto) launch_once(OpId op, Device device, Dtype dtype, Call&& call) {
  const Kernel kernel = find_kernel<Kernel>(op, device, dtype);
  DeviceGuard guard(device);
  return call(kernel);
}

/// Calls run(part, first) for the parts of `loop` a launch on `device` makes: the whole loop once
/// on a device (made current; the GPU does the splitting), or on the CPU parts of the outermost
/// dim across the thread pool when the loop is large; `first` is the part's first element.
template <class Run>
void for_each_part(const kernels::StridedLoop& loop, Device device, Run&& run) {
  if (loop.numel == 0) return;
  if (!device.is_cpu()) {
    DeviceGuard guard(device);
    run(loop, int64_t{0});
    return;
  }
  if (loop.numel < 2 * kParallelGrain || loop.ndim == 0) {
    run(loop, int64_t{0});
    return;
  }
  const int64_t inner = loop.numel / loop.shape[0];
  parallel_for(loop.shape[0], inner,
               [&](int64_t begin, int64_t end) { run(kernels::slice_outer(loop, begin, end), begin * inner); });
}

/// Runs the strided kernel (op, dtype) of signature Kernel, which takes its own argument struct
/// (the fused optimizer steps), over `loop` on `device`, split as for_each_part does.
template <class Kernel, class Args>
void launch_strided(OpId op, Dtype dtype, const kernels::StridedLoop& loop, const Args& args, Device device) {
  const Kernel kernel = find_kernel<Kernel>(op, device, dtype);
  for_each_part(loop, device, [&](const kernels::StridedLoop& part, int64_t) { kernel(part, args); });
}

/// One loop of a batch of launches (launch_strided_batch): the kernel (op, dtype), its loop
/// and its argument struct.
template <class Args>
struct StridedWork {
  OpId op;
  Dtype dtype;
  kernels::StridedLoop loop;
  Args args;
};

/// Runs many small strided kernels as one launch (the multi-tensor optimizer step): on a device
/// each in turn with the device current; on the CPU the loops are cut into pieces of about
/// kParallelGrain elements (small loops grouped, large ones split along their outermost dim)
/// and the pieces shared across the pool at once, so a model's many biases and norms do not
/// each pay a hand-off or run alone on one core.
template <class Kernel, class Args>
void launch_strided_batch(const std::vector<StridedWork<Args>>& work, Device device) {
  std::vector<Kernel> kernels;
  kernels.reserve(work.size());
  for (const StridedWork<Args>& w : work) kernels.push_back(find_kernel<Kernel>(w.op, device, w.dtype));
  if (!device.is_cpu()) {
    DeviceGuard guard(device);
    for (size_t i = 0; i < work.size(); ++i)
      if (work[i].loop.numel > 0) kernels[i](work[i].loop, work[i].args);
    return;
  }
  struct Segment {
    size_t item;
    int64_t begin, end;  // rows of the loop's outermost dim (0, 1 for a 0-d loop)
  };
  std::vector<Segment> segments;
  std::vector<size_t> piece_starts;  // first segment of each piece
  int64_t piece_elements = 0;
  for (size_t i = 0; i < work.size(); ++i) {
    const kernels::StridedLoop& loop = work[i].loop;
    if (loop.numel == 0) continue;
    const int64_t rows = loop.ndim == 0 ? 1 : loop.shape[0], row = loop.numel / rows;
    const int64_t step = std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(row, 1));
    for (int64_t b = 0; b < rows; b += step) {
      const int64_t e = std::min(rows, b + step);
      if (piece_starts.empty() || piece_elements >= kParallelGrain) {
        piece_starts.push_back(segments.size());
        piece_elements = 0;
      }
      segments.push_back({i, b, e});
      piece_elements += (e - b) * row;
    }
  }
  piece_starts.push_back(segments.size());
  const int64_t pieces = static_cast<int64_t>(piece_starts.size()) - 1;
  parallel_for(pieces, kParallelGrain, [&](int64_t begin, int64_t end) {
    for (size_t s = piece_starts[begin]; s < piece_starts[end]; ++s) {
      const Segment& seg = segments[s];
      const kernels::StridedLoop& loop = work[seg.item].loop;
      kernels[seg.item](loop.ndim == 0 ? loop : kernels::slice_outer(loop, seg.begin, seg.end), work[seg.item].args);
    }
  });
}

}  // namespace lamina::runtime
