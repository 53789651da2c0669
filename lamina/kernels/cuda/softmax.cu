// softmax / log_softmax along lines and their fused gradient on CUDA. Forward: one pass over the
// line for an online (max, sum of exp(x - max)) pair per thread, joined in a fixed tree, then one
// pass to write; a warp per line for lines up to kWarpLineMax elements, a block per line beyond.
// 16-bit floats compute in float, float32 in float, float64 in double. A line whose maximum is
// not finite (a NaN, a +inf, or only -inf) is all NaN, as on the CPU.
#include "lamina/kernels/cuda/reduce_block.cuh"
#include "lamina/kernels/cuda/register.h"

namespace lamina::kernels::cuda {
namespace {

using kernels::LineLoop;

constexpr int64_t kWarpLineMax = 1024;

template <class A>
struct MaxSumCombine {
  __device__ MaxSum<A> operator()(const MaxSum<A>& a, const MaxSum<A>& b) const { return maxsum_combine(a, b); }
};
template <class A>
struct AddCombine {
  __device__ A operator()(A a, A b) const { return a + b; }
};

// Writes one line's softmax; `width` threads (a warp or the block) share the line, thread `t`
// taking elements t, t + width, ...; `reduce` joins the threads' pairs.
template <class T, class Reduce>
__device__ inline void softmax_line(const T* x, T* y, int64_t n, int64_t si, int64_t so, bool log_form, int t,
                                    int width, const Reduce& reduce) {
  using A = compute_t<T>;
  MaxSum<A> acc = maxsum_identity<A>();
  for (int64_t j = t; j < n; j += width) acc = maxsum_combine(acc, maxsum_of(to_compute(x[j * si])));
  const MaxSum<A> line = reduce(acc);
  const bool nan = maxsum_degenerate(line);
  for (int64_t j = t; j < n; j += width)
    y[j * so] = from_compute<T>(nan ? nan_value<A>() : softmax_value(to_compute(x[j * si]), line, log_form));
}

template <class T>
__global__ void __launch_bounds__(kBlockThreads) softmax_warp_kernel(LineLoop loop, bool log_form) {
  using A = compute_t<T>;
  constexpr int kWarps = kBlockThreads / kWarp;
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
  const int64_t si = loop.in_stride / static_cast<int64_t>(sizeof(T));
  const int64_t so = loop.out_stride / static_cast<int64_t>(sizeof(T));
  auto reduce = [](const MaxSum<A>& v) { return warp_reduce(v, MaxSumCombine<A>{}); };
  for (int64_t base = static_cast<int64_t>(blockIdx.x) * kWarps; base < loop.outer_numel;
       base += static_cast<int64_t>(gridDim.x) * kWarps) {
    const int64_t o = base + warp;
    if (o >= loop.outer_numel) continue;  // the whole warp skips together
    const T* x = reinterpret_cast<const T*>(
        loop.in + (loop.outer_ndim == 0 ? 0 : walk_offset(o, loop.outer_ndim, loop.outer_shape, loop.in_outer)));
    T* y = reinterpret_cast<T*>(
        loop.out + (loop.outer_ndim == 0 ? 0 : walk_offset(o, loop.outer_ndim, loop.outer_shape, loop.out_outer)));
    softmax_line(x, y, loop.n, si, so, log_form, lane, kWarp, reduce);
  }
}

template <class T>
__global__ void __launch_bounds__(kBlockThreads) softmax_block_kernel(LineLoop loop, bool log_form) {
  using A = compute_t<T>;
  __shared__ BlockScratch<MaxSum<A>> scratch;
  const int64_t si = loop.in_stride / static_cast<int64_t>(sizeof(T));
  const int64_t so = loop.out_stride / static_cast<int64_t>(sizeof(T));
  BlockScratch<MaxSum<A>>* sp = &scratch;
  auto reduce = [sp](const MaxSum<A>& v) { return block_reduce(v, maxsum_identity<A>(), MaxSumCombine<A>{}, *sp); };
  for (int64_t o = blockIdx.x; o < loop.outer_numel; o += gridDim.x) {
    const T* x = reinterpret_cast<const T*>(
        loop.in + (loop.outer_ndim == 0 ? 0 : walk_offset(o, loop.outer_ndim, loop.outer_shape, loop.in_outer)));
    T* y = reinterpret_cast<T*>(
        loop.out + (loop.outer_ndim == 0 ? 0 : walk_offset(o, loop.outer_ndim, loop.outer_shape, loop.out_outer)));
    softmax_line(x, y, loop.n, si, so, log_form, threadIdx.x, kBlockThreads, reduce);
  }
}

unsigned int capped_blocks(int64_t blocks) {
  return static_cast<unsigned int>(blocks < 1 ? 1 : blocks > (int64_t{1} << 20) ? (int64_t{1} << 20) : blocks);
}

// params.i == 1 selects log_softmax.
template <class T>
struct SoftmaxKernel {
  static void run(const LineLoop& loop, const KernelParams& params) {
    if (loop.outer_numel == 0 || loop.n == 0) return;
    const bool log_form = params.i == 1;
    const cudaStream_t stream = launch_stream();
    if (loop.n <= kWarpLineMax)
      softmax_warp_kernel<T><<<capped_blocks((loop.outer_numel + 7) / 8), kBlockThreads, 0, stream>>>(loop, log_form);
    else
      softmax_block_kernel<T><<<capped_blocks(loop.outer_numel), kBlockThreads, 0, stream>>>(loop, log_form);
    lamina::cuda::check_kernel_launch("softmax");
  }
};

// One contiguous row of the gradient: y (g - sum(g y)) or g - exp(y) sum(g).
template <class T, class Reduce>
__device__ inline void softmax_backward_row(const T* g, const T* y, T* out, int64_t n, bool log_form, int t, int width,
                                            const Reduce& reduce) {
  using A = compute_t<T>;
  A acc = A(0);
  for (int64_t j = t; j < n; j += width) acc += log_form ? to_compute(g[j]) : to_compute(g[j]) * to_compute(y[j]);
  const A s = reduce(acc);
  for (int64_t j = t; j < n; j += width) {
    const A gj = to_compute(g[j]), yj = to_compute(y[j]);
    out[j] = from_compute<T>(log_form ? gj - math_exp(yj) * s : yj * (gj - s));
  }
}

template <class T>
__global__ void __launch_bounds__(kBlockThreads)
    softmax_backward_warp_kernel(const T* g, const T* y, T* out, int64_t n, bool log_form, int64_t rows) {
  using A = compute_t<T>;
  constexpr int kWarps = kBlockThreads / kWarp;
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
  auto reduce = [](A v) { return warp_reduce(v, AddCombine<A>{}); };
  for (int64_t base = static_cast<int64_t>(blockIdx.x) * kWarps; base < rows;
       base += static_cast<int64_t>(gridDim.x) * kWarps) {
    const int64_t r = base + warp;
    if (r >= rows) continue;
    softmax_backward_row(g + r * n, y + r * n, out + r * n, n, log_form, lane, kWarp, reduce);
  }
}

template <class T>
__global__ void __launch_bounds__(kBlockThreads)
    softmax_backward_block_kernel(const T* g, const T* y, T* out, int64_t n, bool log_form, int64_t rows) {
  using A = compute_t<T>;
  __shared__ BlockScratch<A> scratch;
  BlockScratch<A>* sp = &scratch;
  auto reduce = [sp](A v) { return block_reduce(v, A(0), AddCombine<A>{}, *sp); };
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x)
    softmax_backward_row(g + r * n, y + r * n, out + r * n, n, log_form, threadIdx.x, kBlockThreads, reduce);
}

// Rows [begin, end) of n contiguous elements (the CPU kernel's signature).
template <class T>
struct SoftmaxBackwardKernel {
  static void run(const void* gv, const void* yv, void* outv, int64_t n, bool log_form, int64_t begin, int64_t end) {
    const int64_t rows = end - begin;
    if (rows <= 0 || n == 0) return;
    const T* g = static_cast<const T*>(gv) + begin * n;
    const T* y = static_cast<const T*>(yv) + begin * n;
    T* out = static_cast<T*>(outv) + begin * n;
    const cudaStream_t stream = launch_stream();
    if (n <= kWarpLineMax)
      softmax_backward_warp_kernel<T>
          <<<capped_blocks((rows + 7) / 8), kBlockThreads, 0, stream>>>(g, y, out, n, log_form, rows);
    else
      softmax_backward_block_kernel<T><<<capped_blocks(rows), kBlockThreads, 0, stream>>>(g, y, out, n, log_form, rows);
    lamina::cuda::check_kernel_launch("softmax_backward");
  }
};

}  // namespace

void register_softmax_kernels() {
  register_cuda<SoftmaxKernel, LAMINA_CUDA_FLOAT_TYPES>(Op::softmax);
  register_cuda<SoftmaxBackwardKernel, LAMINA_CUDA_FLOAT_TYPES>(Op::softmax_backward);
}

}  // namespace lamina::kernels::cuda
