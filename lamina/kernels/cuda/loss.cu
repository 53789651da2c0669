// Fused cross-entropy on CUDA (signatures in loss_args.cuh). Forward: one pass per row for an
// online (max, sum of exp) pair and sum_c w_c x_c, joined in a fixed tree (a warp per row up to
// kWarpRowMax classes, a block per row beyond), then the row's loss from reduce_math.cuh; the
// log-probabilities are never stored. Backward: one thread per logit, softmax minus the
// (smoothed, weighted) one-hot from the saved logsumexp.
#include "lamina/kernels/cross_entropy.h"
#include "lamina/kernels/cuda/reduce_block.cuh"
#include "lamina/kernels/cuda/register.h"

namespace lamina::kernels::cuda {
namespace {

constexpr int64_t kWarpRowMax = 1024;

template <class A>
struct RowStats {
  MaxSum<A> ms;
  A sum_wx;
};

template <class A>
struct RowStatsCombine {
  __device__ RowStats<A> operator()(const RowStats<A>& a, const RowStats<A>& b) const {
    return {maxsum_combine(a.ms, b.ms), a.sum_wx + b.sum_wx};
  }
};

// The row's target, its weight (0 when ignored) and the weights' sum.
template <class T>
__device__ inline CrossEntropyRow<compute_t<T>> row_setup(const CrossEntropyArgs& a, const int64_t* target,
                                                          const T* weight, const compute_t<T>* sum_w, int64_t r) {
  using A = compute_t<T>;
  CrossEntropyRow<A> row{};
  row.target = target[r];
  // The op has checked the range; an index outside it is ignored rather than read.
  row.ignored = row.target == a.ignore_index || row.target < 0 || row.target >= a.classes;
  row.w_target = row.ignored ? A(0) : a.has_weight ? to_compute(weight[row.target]) : A(1);
  row.sum_w = a.has_weight ? *sum_w : static_cast<A>(a.classes);
  return row;
}

template <class T>
__global__ void __launch_bounds__(kBlockThreads)
    cross_entropy_kernel(CrossEntropyArgs a, const T* logits, const int64_t* target, const T* weight,
                         const compute_t<T>* sum_w, compute_t<T>* loss, compute_t<T>* lse, compute_t<T>* w_target,
                         int width) {
  using A = compute_t<T>;
  using S = RowStats<A>;
  __shared__ BlockScratch<S> scratch_storage;
  BlockScratch<S>* scratch = &scratch_storage;
  const int64_t C = a.classes;
  auto row_body = [&](int64_t r, int t) {
    const T* x = logits + r * C;
    S acc{maxsum_identity<A>(), A(0)};
    for (int64_t c = t; c < C; c += width) {
      const A v = to_compute(x[c]);
      acc = RowStatsCombine<A>{}(acc, S{maxsum_of(v), a.has_weight ? to_compute(weight[c]) * v : v});
    }
    const S s = width == kWarp ? warp_reduce(acc, RowStatsCombine<A>{})
                               : block_reduce(acc, S{maxsum_identity<A>(), A(0)}, RowStatsCombine<A>{}, *scratch);
    if (t != 0) return;
    CrossEntropyRow<A> row = row_setup(a, target, weight, sum_w, r);
    row.lse = maxsum_logsumexp(s.ms);
    row.sum_wx = s.sum_wx;
    const A xt = row.ignored ? A(0) : to_compute(x[row.target]);
    loss[r] = cross_entropy_loss(row, xt, a.label_smoothing, C);
    lse[r] = row.lse;
    w_target[r] = row.w_target;
  };
  if (width == kWarp) {
    constexpr int kWarps = kBlockThreads / kWarp;
    const int warp = threadIdx.x / kWarp;
    for (int64_t base = static_cast<int64_t>(blockIdx.x) * kWarps; base < a.rows;
         base += static_cast<int64_t>(gridDim.x) * kWarps)
      if (base + warp < a.rows) row_body(base + warp, static_cast<int>(threadIdx.x % kWarp));
  } else {
    for (int64_t r = blockIdx.x; r < a.rows; r += gridDim.x) row_body(r, static_cast<int>(threadIdx.x));
  }
}

template <class T>
__global__ void cross_entropy_backward_kernel(CrossEntropyArgs a, const T* logits, const int64_t* target,
                                              const T* weight, const compute_t<T>* sum_w, const compute_t<T>* lse,
                                              const compute_t<T>* w_target, const compute_t<T>* gscale, int64_t gstride,
                                              T* dlogits) {
  using A = compute_t<T>;
  const int64_t C = a.classes, total = a.rows * C;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < total; k += step) {
    const int64_t r = k / C, c = k - r * C;
    CrossEntropyRow<A> row{};
    row.target = target[r];
    row.ignored = row.target == a.ignore_index || row.target < 0 || row.target >= C;
    row.w_target = w_target[r];
    row.lse = lse[r];
    row.sum_w = a.has_weight ? *sum_w : static_cast<A>(C);
    const A wc = a.has_weight ? to_compute(weight[c]) : A(1);
    const A g = cross_entropy_grad(row, to_compute(logits[k]), wc, c, a.label_smoothing, C);
    dlogits[k] = from_compute<T>(gscale[r * gstride] * g);
  }
}

unsigned int capped_blocks(int64_t blocks) {
  return static_cast<unsigned int>(blocks < 1 ? 1 : blocks > (int64_t{1} << 20) ? (int64_t{1} << 20) : blocks);
}

template <class T>
struct CrossEntropyForward {
  static void run(const CrossEntropyArgs& a, const void* logits, const int64_t* target, const void* weight,
                  const void* sum_w, void* loss, void* lse, void* w_target) {
    using A = compute_t<T>;
    if (a.rows == 0) return;
    const int width = a.classes <= kWarpRowMax ? kWarp : kBlockThreads;
    const int64_t blocks = width == kWarp ? (a.rows + 7) / 8 : a.rows;
    cross_entropy_kernel<T><<<capped_blocks(blocks), kBlockThreads, 0, launch_stream()>>>(
        a, static_cast<const T*>(logits), target, static_cast<const T*>(weight), static_cast<const A*>(sum_w),
        static_cast<A*>(loss), static_cast<A*>(lse), static_cast<A*>(w_target), width);
    lamina::cuda::check_kernel_launch("cross_entropy");
  }
};

template <class T>
struct CrossEntropyBackward {
  static void run(const CrossEntropyArgs& a, const void* logits, const int64_t* target, const void* weight,
                  const void* sum_w, const void* lse, const void* w_target, const void* gscale, int64_t gstride,
                  void* dlogits) {
    using A = compute_t<T>;
    if (a.rows == 0 || a.classes == 0) return;
    cross_entropy_backward_kernel<T><<<grid_blocks(a.rows * a.classes), kBlockThreads, 0, launch_stream()>>>(
        a, static_cast<const T*>(logits), target, static_cast<const T*>(weight), static_cast<const A*>(sum_w),
        static_cast<const A*>(lse), static_cast<const A*>(w_target), static_cast<const A*>(gscale), gstride,
        static_cast<T*>(dlogits));
    lamina::cuda::check_kernel_launch("cross_entropy_backward");
  }
};

}  // namespace

void register_loss_kernels() {
  register_cuda<CrossEntropyForward, LAMINA_CUDA_FLOAT_TYPES>(Op::cross_entropy);
  register_cuda<CrossEntropyBackward, LAMINA_CUDA_FLOAT_TYPES>(Op::cross_entropy_backward);
}

}  // namespace lamina::kernels::cuda
