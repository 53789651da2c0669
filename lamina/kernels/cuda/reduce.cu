// Reductions (sum/mean/prod, max/min with indices, all/any, p-norms, var/std, logsumexp) and
// scans (cumsum/cumprod) on CUDA, with the CPU kernels' signatures and results.
//
// One driver runs every reduction: each output's reduced elements are split among a fixed number
// of threads by index (thread k takes elements k, k + L, k + 2L, ...) and the per-thread results
// are joined in a fixed tree, so the same shape always gives the same bits (no atomics). The
// driver picks one of three layouts from the loop alone:
//  - block per output (L = 256) for long reductions,
//  - warp per output (L = 32, eight outputs per block) for medium ones,
//  - "columns": 32 neighbouring outputs per block with 8 threads each, the outputs' threads
//    adjacent, for reductions whose neighbouring outputs are adjacent in memory (x.sum(0)) and for
//    very short reductions, so that a warp's loads are coalesced (few outputs over many elements
//    take a block each instead).
// 16-bit floats accumulate in float, float32 in float, float64 in double; var accumulates a
// Welford triple in double; integer sums and products wrap in 64 bits like the CPU kernels.
#include "lamina/kernels/cuda/reduce_block.cuh"
#include "lamina/kernels/cuda/register.h"
#include "lamina/kernels/reduce_table.h"

namespace lamina::kernels::cuda {
namespace {

using kernels::LineLoop;
using kernels::ReduceLoop;

template <class T>
__device__ inline compute_t<T> load_as_compute(const char* p) {
  return to_compute(*reinterpret_cast<const T*>(p));
}

template <class T>
constexpr bool is_float_storage_v = std::is_floating_point_v<compute_t<T>>;

enum class Layout { Block, Warp, Columns };

constexpr int kColumnSlots = 32;                            // outputs per block in the column layout
constexpr int kColumnLanes = kBlockThreads / kColumnSlots;  // threads per output there

Layout choose_layout(const ReduceLoop& loop, int64_t itemsize) {
  const int last = loop.outer_ndim - 1;
  const bool neighbours_adjacent = last >= 0 && loop.in_outer_strides[last] == itemsize;
  const bool inner_contiguous = loop.reduce_ndim == 0 || loop.in_reduce_strides[loop.reduce_ndim - 1] == itemsize;
  // Few outputs over many elements want every thread of a block on one output, coalesced or not.
  const bool few_long = loop.outer_numel < 256 && loop.reduce_numel >= 4096;
  if (loop.reduce_numel <= 16 || (neighbours_adjacent && !inner_contiguous && !few_long)) return Layout::Columns;
  if (loop.reduce_numel >= 4096 || loop.outer_numel < 64) return Layout::Block;
  return Layout::Warp;
}

// Element k of the output whose reduced elements start at `in`.
template <class T>
__device__ inline compute_t<T> reduced_element(const ReduceLoop& loop, const char* in, int64_t k) {
  return load_as_compute<T>(
      in + (loop.reduce_ndim == 0 ? 0 : walk_offset(k, loop.reduce_ndim, loop.reduce_shape, loop.in_reduce_strides)));
}

// The partial result of the elements k = first, first + step, ... of one output.
template <class T, class Op>
__device__ inline typename Op::Acc partial(const Op& op, const ReduceLoop& loop, const char* in, int64_t first,
                                           int64_t step) {
  typename Op::Acc acc = op.identity();
  for (int64_t k = first; k < loop.reduce_numel; k += step)
    acc = op.combine(acc, op.map(reduced_element<T>(loop, in, k), k));
  return acc;
}

template <class Op>
__device__ inline void write_output(const Op& op, const ReduceLoop& loop, int64_t o, const typename Op::Acc& acc) {
  char* out =
      loop.out + (loop.outer_ndim == 0 ? 0 : walk_offset(o, loop.outer_ndim, loop.outer_shape, loop.out_strides));
  char* out2 =
      loop.out2 ? loop.out2 +
                      (loop.outer_ndim == 0 ? 0 : walk_offset(o, loop.outer_ndim, loop.outer_shape, loop.out2_strides))
                : nullptr;
  op.write(out, out2, acc);
}

template <class Op>
__device__ inline const char* input_of(const ReduceLoop& loop, int64_t o) {
  return loop.in +
         (loop.outer_ndim == 0 ? 0 : walk_offset(o, loop.outer_ndim, loop.outer_shape, loop.in_outer_strides));
}

template <class T, class Op>
__global__ void __launch_bounds__(kBlockThreads) reduce_block_kernel(Op op, ReduceLoop loop) {
  using Acc = typename Op::Acc;
  __shared__ BlockScratch<Acc> scratch;
  auto comb = [&op](const Acc& a, const Acc& b) { return op.combine(a, b); };
  for (int64_t o = blockIdx.x; o < loop.outer_numel; o += gridDim.x) {
    const Acc acc = block_reduce(partial<T>(op, loop, input_of<Op>(loop, o), threadIdx.x, kBlockThreads), op.identity(),
                                 comb, scratch);
    if (threadIdx.x == 0) write_output(op, loop, o, acc);
  }
}

template <class T, class Op>
__global__ void __launch_bounds__(kBlockThreads) reduce_warp_kernel(Op op, ReduceLoop loop) {
  using Acc = typename Op::Acc;
  constexpr int kWarps = kBlockThreads / kWarp;
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
  auto comb = [&op](const Acc& a, const Acc& b) { return op.combine(a, b); };
  for (int64_t base = static_cast<int64_t>(blockIdx.x) * kWarps; base < loop.outer_numel;
       base += static_cast<int64_t>(gridDim.x) * kWarps) {
    const int64_t o = base + warp;
    if (o >= loop.outer_numel) continue;  // the whole warp skips together
    const Acc acc = warp_reduce(partial<T>(op, loop, input_of<Op>(loop, o), lane, kWarp), comb);
    if (lane == 0) write_output(op, loop, o, acc);
  }
}

template <class T, class Op>
__global__ void __launch_bounds__(kBlockThreads) reduce_columns_kernel(Op op, ReduceLoop loop) {
  using Acc = typename Op::Acc;
  __shared__ Acc lanes[kColumnLanes][kColumnSlots];
  const int slot = threadIdx.x % kColumnSlots, lane = threadIdx.x / kColumnSlots;
  for (int64_t base = static_cast<int64_t>(blockIdx.x) * kColumnSlots; base < loop.outer_numel;
       base += static_cast<int64_t>(gridDim.x) * kColumnSlots) {
    const int64_t o = base + slot;
    lanes[lane][slot] =
        o < loop.outer_numel ? partial<T>(op, loop, input_of<Op>(loop, o), lane, kColumnLanes) : op.identity();
    __syncthreads();
    for (int s = kColumnLanes / 2; s > 0; s /= 2) {
      if (lane < s) lanes[lane][slot] = op.combine(lanes[lane][slot], lanes[lane + s][slot]);
      __syncthreads();
    }
    if (lane == 0 && o < loop.outer_numel) write_output(op, loop, o, lanes[0][slot]);
    __syncthreads();
  }
}

unsigned int capped_blocks(int64_t blocks) {
  return static_cast<unsigned int>(blocks < 1 ? 1 : blocks > (int64_t{1} << 20) ? (int64_t{1} << 20) : blocks);
}

// Queues the reduction `op` of T over `loop` on the current stream.
template <class T, class Op>
void launch_reduce(const Op& op, const ReduceLoop& loop, const char* name) {
  if (loop.outer_numel == 0) return;
  const cudaStream_t stream = launch_stream();
  switch (choose_layout(loop, static_cast<int64_t>(sizeof(T)))) {
    case Layout::Block:
      reduce_block_kernel<T><<<capped_blocks(loop.outer_numel), kBlockThreads, 0, stream>>>(op, loop);
      break;
    case Layout::Warp:
      reduce_warp_kernel<T><<<capped_blocks((loop.outer_numel + 7) / 8), kBlockThreads, 0, stream>>>(op, loop);
      break;
    case Layout::Columns:
      reduce_columns_kernel<T>
          <<<capped_blocks((loop.outer_numel + kColumnSlots - 1) / kColumnSlots), kBlockThreads, 0, stream>>>(op, loop);
      break;
  }
  lamina::cuda::check_kernel_launch(name);
}

// ---- the ops: Acc, identity, map(value, index), combine, write(out, out2, acc) ----

// sum (mode 0), mean (1), prod (2) of floating T in compute_t<T>, written as T.
template <class T>
struct FloatSumOp {
  using A = compute_t<T>;
  using Acc = A;
  int mode;
  A count;
  __device__ Acc identity() const { return mode == 2 ? A(1) : A(0); }
  __device__ Acc map(A v, int64_t) const { return v; }
  __device__ Acc combine(Acc a, Acc b) const { return mode == 2 ? a * b : a + b; }
  __device__ void write(char* out, char*, Acc a) const {
    *reinterpret_cast<T*>(out) = from_compute<T>(mode == 1 ? a / count : a);
  }
};

// sum (mode 0) or prod (2) of bool/integer T, wrapping in 64 bits, written as int64.
template <class T>
struct IntSumOp {
  using Acc = uint64_t;
  bool product;
  __device__ Acc identity() const { return product ? 1u : 0u; }
  __device__ Acc map(compute_t<T> v, int64_t) const { return static_cast<uint64_t>(static_cast<int64_t>(v)); }
  __device__ Acc combine(Acc a, Acc b) const { return product ? a * b : a + b; }
  __device__ void write(char* out, char*, Acc a) const { *reinterpret_cast<int64_t*>(out) = static_cast<int64_t>(a); }
};

template <class T>
struct SumKernel {
  static void run(const ReduceLoop& loop, const KernelParams& params) {
    if constexpr (is_float_storage_v<T>) {
      launch_reduce<T>(FloatSumOp<T>{static_cast<int>(params.i), static_cast<compute_t<T>>(loop.reduce_numel)}, loop,
                       "sum");
    } else {
      launch_reduce<T>(IntSumOp<T>{params.i == 2}, loop, "sum");
    }
  }
};

// max / min with the index of the first extreme element (written when out2 is set).
template <class T, bool kMax>
struct ExtremeOp {
  using C = compute_t<T>;
  using Acc = ArgExtreme<C>;
  __device__ Acc identity() const { return extreme_identity<C, kMax>(); }
  __device__ Acc map(C v, int64_t k) const { return {v, k}; }
  __device__ Acc combine(Acc a, Acc b) const { return extreme_combine<C, kMax>(a, b); }
  __device__ void write(char* out, char* out2, Acc a) const {
    *reinterpret_cast<T*>(out) = from_compute<T>(a.value);
    if (out2) *reinterpret_cast<int64_t*>(out2) = a.index;
  }
};

template <class T>
struct ExtremeKernel {
  static void run(const ReduceLoop& loop, const KernelParams& params) {
    if (params.i == 0)
      launch_reduce<T>(ExtremeOp<T, true>{}, loop, "extreme");
    else
      launch_reduce<T>(ExtremeOp<T, false>{}, loop, "extreme");
  }
};

// all (any = false) / any: true where every / some element is nonzero.
template <class T>
struct AllAnyOp {
  using Acc = bool;  // an element that decides the result was seen
  bool any;
  __device__ Acc identity() const { return false; }
  __device__ Acc map(compute_t<T> v, int64_t) const { return (v != compute_t<T>(0)) == any; }
  __device__ Acc combine(Acc a, Acc b) const { return a || b; }
  __device__ void write(char* out, char*, Acc a) const { *reinterpret_cast<bool*>(out) = any ? a : !a; }
};

template <class T>
struct AllAnyKernel {
  static void run(const ReduceLoop& loop, const KernelParams& params) {
    launch_reduce<T>(AllAnyOp<T>{params.i == 1}, loop, "all_any");
  }
};

// max (p = inf) or min (p = -inf) of |x|; a NaN wins.
template <class T>
struct InfNormOp {
  using A = compute_t<T>;
  using Acc = A;
  bool max;
  __device__ Acc identity() const { return max ? A(0) : inf_value<A>(); }
  __device__ Acc map(A v, int64_t) const { return math_abs(v); }
  __device__ Acc combine(Acc a, Acc b) const {
    if (is_nan_value(a)) return a;
    if (is_nan_value(b)) return b;
    return max ? (b > a ? b : a) : (b < a ? b : a);
  }
  __device__ void write(char* out, char*, Acc a) const { *reinterpret_cast<T*>(out) = from_compute<T>(a); }
};

// finite p: norm_finish(sum of norm_term).
template <class T>
struct PNormOp {
  using A = compute_t<T>;
  using Acc = A;
  double p;
  __device__ Acc identity() const { return A(0); }
  __device__ Acc map(A v, int64_t) const { return norm_term(v, p); }
  __device__ Acc combine(Acc a, Acc b) const { return a + b; }
  __device__ void write(char* out, char*, Acc a) const {
    *reinterpret_cast<T*>(out) = from_compute<T>(norm_finish(a, p));
  }
};

template <class T>
struct NormKernel {
  static void run(const ReduceLoop& loop, const KernelParams& params) {
    if (params.a == inf_value<double>() || params.a == -inf_value<double>())
      launch_reduce<T>(InfNormOp<T>{params.a > 0}, loop, "norm");
    else
      launch_reduce<T>(PNormOp<T>{params.a}, loop, "norm");
  }
};

// var (take_sqrt false) / std with the given correction, from a Welford triple in double.
template <class T>
struct VarOp {
  using Acc = Welford<double>;
  double correction;
  bool take_sqrt;
  __device__ Acc identity() const { return {0, 0.0, 0.0}; }
  __device__ Acc map(compute_t<T> v, int64_t) const { return welford_of(static_cast<double>(v)); }
  __device__ Acc combine(Acc a, Acc b) const { return welford_combine(a, b); }
  __device__ void write(char* out, char*, Acc a) const {
    *reinterpret_cast<T*>(out) = from_compute<T>(static_cast<compute_t<T>>(welford_finish(a, correction, take_sqrt)));
  }
};

template <class T>
struct VarKernel {
  static void run(const ReduceLoop& loop, const KernelParams& params) {
    launch_reduce<T>(VarOp<T>{params.a, params.i == 1}, loop, "var");
  }
};

// log(sum(exp(x))) from an online (max, sum of exp) pair.
template <class T>
struct LogSumExpOp {
  using A = compute_t<T>;
  using Acc = MaxSum<A>;
  __device__ Acc identity() const { return maxsum_identity<A>(); }
  __device__ Acc map(A v, int64_t) const { return maxsum_of(v); }
  __device__ Acc combine(Acc a, Acc b) const { return maxsum_combine(a, b); }
  __device__ void write(char* out, char*, Acc a) const {
    *reinterpret_cast<T*>(out) = from_compute<T>(maxsum_logsumexp(a));
  }
};

template <class T>
struct LogSumExpKernel {
  static void run(const ReduceLoop& loop, const KernelParams&) {
    launch_reduce<T>(LogSumExpOp<T>{}, loop, "logsumexp");
  }
};

// ---- scans along lines ----

// Floating T scans in double and writes T; bool/integer T wraps in 64 bits and writes int64.
template <class T>
struct ScanOp {
  using Acc = std::conditional_t<is_float_storage_v<T>, double, uint64_t>;
  using Out = std::conditional_t<is_float_storage_v<T>, T, int64_t>;
  bool product;
  __device__ Acc identity() const { return product ? Acc(1) : Acc(0); }
  __device__ Acc map(const char* p) const {
    if constexpr (is_float_storage_v<T>)
      return static_cast<double>(to_compute(*reinterpret_cast<const T*>(p)));
    else
      return static_cast<uint64_t>(static_cast<int64_t>(*reinterpret_cast<const T*>(p)));
  }
  __device__ Acc combine(Acc a, Acc b) const { return product ? a * b : a + b; }
  __device__ void write(char* p, Acc a) const {
    if constexpr (is_float_storage_v<T>)
      *reinterpret_cast<T*>(p) = from_compute<T>(static_cast<compute_t<T>>(a));
    else
      *reinterpret_cast<int64_t*>(p) = static_cast<int64_t>(a);
  }
};

__device__ inline const char* line_in(const LineLoop& loop, int64_t o) {
  return loop.in + (loop.outer_ndim == 0 ? 0 : walk_offset(o, loop.outer_ndim, loop.outer_shape, loop.in_outer));
}
__device__ inline char* line_out(const LineLoop& loop, int64_t o) {
  return loop.out + (loop.outer_ndim == 0 ? 0 : walk_offset(o, loop.outer_ndim, loop.outer_shape, loop.out_outer));
}

// Short lines: one thread per line, in the CPU kernel's order.
template <class T>
__global__ void scan_thread_kernel(ScanOp<T> op, LineLoop loop) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t o = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; o < loop.outer_numel; o += step) {
    const char* in = line_in(loop, o);
    char* out = line_out(loop, o);
    typename ScanOp<T>::Acc acc = op.identity();
    for (int64_t j = 0; j < loop.n; ++j) {
      acc = op.combine(acc, op.map(in + j * loop.in_stride));
      op.write(out + j * loop.out_stride, acc);
    }
  }
}

// Long lines: one block per line, kBlockThreads elements at a time (an inclusive scan in shared
// memory plus the carry of the elements before).
template <class T>
__global__ void __launch_bounds__(kBlockThreads) scan_block_kernel(ScanOp<T> op, LineLoop loop) {
  using Acc = typename ScanOp<T>::Acc;
  __shared__ Acc s[kBlockThreads];
  const int t = threadIdx.x;
  for (int64_t o = blockIdx.x; o < loop.outer_numel; o += gridDim.x) {
    const char* in = line_in(loop, o);
    char* out = line_out(loop, o);
    Acc carry = op.identity();
    for (int64_t base = 0; base < loop.n; base += kBlockThreads) {
      const int64_t j = base + t;
      s[t] = j < loop.n ? op.map(in + j * loop.in_stride) : op.identity();
      __syncthreads();
      for (int off = 1; off < kBlockThreads; off *= 2) {
        const Acc before = t >= off ? s[t - off] : op.identity();
        __syncthreads();
        s[t] = op.combine(before, s[t]);
        __syncthreads();
      }
      if (j < loop.n) op.write(out + j * loop.out_stride, op.combine(carry, s[t]));
      carry = op.combine(carry, s[kBlockThreads - 1]);
      __syncthreads();
    }
  }
}

template <class T>
struct CumulativeKernel {
  static void run(const LineLoop& loop, const KernelParams& params) {
    if (loop.outer_numel == 0 || loop.n == 0) return;
    const ScanOp<T> op{params.i == 1};
    const cudaStream_t stream = launch_stream();
    if (loop.n <= 64)
      scan_thread_kernel<T><<<grid_blocks(loop.outer_numel), kBlockThreads, 0, stream>>>(op, loop);
    else
      scan_block_kernel<T><<<capped_blocks(loop.outer_numel), kBlockThreads, 0, stream>>>(op, loop);
    lamina::cuda::check_kernel_launch("cumulative");
  }
};

}  // namespace

void register_reduce_kernels() {
#define LAMINA_CUDA_REGISTER_REDUCE(op, Kernel, types) register_cuda<Kernel, LAMINA_CUDA_##types##_TYPES>(Op::op);
  LAMINA_REDUCE_TABLE(LAMINA_CUDA_REGISTER_REDUCE)
#undef LAMINA_CUDA_REGISTER_REDUCE
}

}  // namespace lamina::kernels::cuda
