// Fused layer norm and RMS norm on CUDA, forward and backward, with the CPU layer norm kernels'
// signatures (lamina/kernels/cpu/layer_norm.h). A warp per row up to kWarpRowMax elements, a block
// per row beyond; the row statistics are sums joined in a fixed tree (two passes for layer norm:
// the mean, then the squared deviations from it, like the CPU). The weight and bias gradients are
// summed per chunk of kLayerNormChunk rows by one thread per column (no atomics); the op sums the
// chunks. 16-bit and 32-bit floats compute in float, float64 in double.
//
// RMS norm ("rms_norm", "rms_norm_backward") uses the same signatures: mean and bias are unused,
// rstd = 1 / sqrt(mean(x^2) + eps), y = x rstd w.
#include "lamina/kernels/cuda/reduce_block.cuh"
#include "lamina/kernels/cuda/register.h"
#include "lamina/kernels/layer_norm.h"

namespace lamina::kernels::cuda {
namespace {

using kernels::kLayerNormChunk;
using kernels::LayerNormArgs;

constexpr int64_t kWarpRowMax = 1024;

template <class A>
struct Pair {
  A a;
  A b;
};

template <class A>
struct AddCombine {
  __device__ A operator()(A x, A y) const { return x + y; }
};
template <class A>
struct PairCombine {
  __device__ Pair<A> operator()(const Pair<A>& x, const Pair<A>& y) const { return {x.a + y.a, x.b + y.b}; }
};

// Joins the values of the `width` threads sharing a row (a warp, or the block with `scratch`).
template <class V, class Combine>
__device__ inline V row_reduce(V v, V identity, const Combine& comb, int width, BlockScratch<V>* scratch) {
  return width == kWarp ? warp_reduce(v, comb) : block_reduce(v, identity, comb, *scratch);
}

// The rows handled by this thread's group: a warp per row (width kWarp) or a block per row.
template <class Body>
__device__ inline void for_each_row(int64_t rows, int width, Body&& body) {
  if (width == kWarp) {
    constexpr int kWarps = kBlockThreads / kWarp;
    const int warp = threadIdx.x / kWarp;
    for (int64_t base = static_cast<int64_t>(blockIdx.x) * kWarps; base < rows;
         base += static_cast<int64_t>(gridDim.x) * kWarps)
      if (base + warp < rows) body(base + warp, static_cast<int>(threadIdx.x % kWarp));
  } else {
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) body(r, static_cast<int>(threadIdx.x));
  }
}

template <class T>
__global__ void __launch_bounds__(kBlockThreads)
    layer_norm_kernel(LayerNormArgs a, const T* x_all, const T* w, const T* b, T* y_all, compute_t<T>* means,
                      compute_t<T>* rstds, int64_t rows, int width, bool rms) {
  using A = compute_t<T>;
  __shared__ BlockScratch<A> scratch_storage;
  BlockScratch<A>* scratch = &scratch_storage;
  const int64_t d = a.d;
  for_each_row(rows, width, [&](int64_t r, int t) {
    const T* x = x_all + r * d;
    T* y = y_all + r * d;
    A mean = A(0);
    if (!rms) {
      A s = A(0);
      for (int64_t i = t; i < d; i += width) s += to_compute(x[i]);
      mean = row_reduce(s, A(0), AddCombine<A>{}, width, scratch) / static_cast<A>(d);
    }
    A ss = A(0);
    for (int64_t i = t; i < d; i += width) {
      const A c = to_compute(x[i]) - mean;
      ss += c * c;
    }
    ss = row_reduce(ss, A(0), AddCombine<A>{}, width, scratch);
    const A rstd = rms ? rms_rstd(ss, d, a.eps) : A(1) / math_sqrt(ss / static_cast<A>(d) + static_cast<A>(a.eps));
    if (t == 0) {
      if (!rms) means[r] = mean;
      rstds[r] = rstd;
    }
    for (int64_t i = t; i < d; i += width) {
      A v = (to_compute(x[i]) - mean) * rstd;
      if (a.has_weight) v *= to_compute(w[i]);
      if (a.has_bias) v += to_compute(b[i]);
      y[i] = from_compute<T>(v);
    }
  });
}

// dx of each row. Layer norm: rstd (w dy - xhat c1 - c2), c1 = mean(w dy xhat), c2 = mean(w dy).
// RMS norm: rstd (w dy - x rstd^2 c), c = mean(w dy x).
template <class T>
__global__ void __launch_bounds__(kBlockThreads)
    layer_norm_dx_kernel(LayerNormArgs a, const T* dy_all, const T* x_all, const T* w, const compute_t<T>* means,
                         const compute_t<T>* rstds, T* dx_all, int64_t rows, int width, bool rms) {
  using A = compute_t<T>;
  __shared__ BlockScratch<Pair<A>> scratch_storage;
  BlockScratch<Pair<A>>* scratch = &scratch_storage;
  const int64_t d = a.d;
  const A inv_d = A(1) / static_cast<A>(d);
  for_each_row(rows, width, [&](int64_t r, int t) {
    const T* x = x_all + r * d;
    const T* dy = dy_all + r * d;
    T* dx = dx_all + r * d;
    const A mean = rms ? A(0) : means[r], rstd = rstds[r];
    auto wdy = [&](int64_t i) { return a.has_weight ? to_compute(dy[i]) * to_compute(w[i]) : to_compute(dy[i]); };
    Pair<A> s{A(0), A(0)};
    for (int64_t i = t; i < d; i += width) {
      const A g = wdy(i), xi = to_compute(x[i]);
      s.a += rms ? g * xi : g * ((xi - mean) * rstd);
      s.b += g;
    }
    s = row_reduce(s, Pair<A>{A(0), A(0)}, PairCombine<A>{}, width, scratch);
    const A c1 = s.a * inv_d, c2 = s.b * inv_d;
    for (int64_t i = t; i < d; i += width) {
      const A xi = to_compute(x[i]);
      dx[i] = from_compute<T>(rms ? rms_norm_dx(wdy(i), xi, rstd, c1)
                                  : layer_norm_dx(wdy(i), (xi - mean) * rstd, rstd, c1, c2));
    }
  });
}

// Per chunk of kLayerNormChunk rows and per column: sum of dy xhat (weight) and of dy (bias).
template <class T>
__global__ void layer_norm_param_kernel(int64_t d, const T* dy, const T* x, const compute_t<T>* means,
                                        const compute_t<T>* rstds, compute_t<T>* dw_parts, compute_t<T>* db_parts,
                                        int64_t rows, int64_t chunk_begin, int64_t chunk_end, bool rms) {
  using A = compute_t<T>;
  const int64_t columns = d;
  const int64_t work = (chunk_end - chunk_begin) * columns;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < work; k += step) {
    const int64_t chunk = chunk_begin + k / columns, i = k % columns;
    const int64_t r_end = rows < (chunk + 1) * kLayerNormChunk ? rows : (chunk + 1) * kLayerNormChunk;
    A gw = A(0), gb = A(0);
    for (int64_t r = chunk * kLayerNormChunk; r < r_end; ++r) {
      const A g = to_compute(dy[r * d + i]);
      const A xhat = (to_compute(x[r * d + i]) - (rms ? A(0) : means[r])) * rstds[r];
      gw += g * xhat;
      gb += g;
    }
    dw_parts[chunk * d + i] = gw;
    if (db_parts) db_parts[chunk * d + i] = gb;
  }
}

unsigned int capped_blocks(int64_t blocks) {
  return static_cast<unsigned int>(blocks < 1 ? 1 : blocks > (int64_t{1} << 20) ? (int64_t{1} << 20) : blocks);
}

template <class T>
void launch_forward(const LayerNormArgs& a, const void* x, const void* w, const void* b, void* y, void* mean,
                    void* rstd, int64_t begin, int64_t end, bool rms, const char* name) {
  using A = compute_t<T>;
  const int64_t rows = end - begin;
  if (rows <= 0) return;
  const int width = a.d <= kWarpRowMax ? kWarp : kBlockThreads;
  const int64_t blocks = width == kWarp ? (rows + 7) / 8 : rows;
  layer_norm_kernel<T><<<capped_blocks(blocks), kBlockThreads, 0, launch_stream()>>>(
      a, static_cast<const T*>(x) + begin * a.d, static_cast<const T*>(w), rms ? nullptr : static_cast<const T*>(b),
      static_cast<T*>(y) + begin * a.d, rms ? nullptr : static_cast<A*>(mean) + begin, static_cast<A*>(rstd) + begin,
      rows, width, rms);
  lamina::cuda::check_kernel_launch(name);
}

template <class T>
void launch_backward(const LayerNormArgs& a, int64_t rows, const void* dy, const void* x, const void* w,
                     const void* mean, const void* rstd, void* dx, void* dw_parts, void* db_parts, int64_t begin,
                     int64_t end, bool rms, const char* name) {
  using A = compute_t<T>;
  const int64_t r_begin = begin * kLayerNormChunk;
  const int64_t r_end = rows < end * kLayerNormChunk ? rows : end * kLayerNormChunk;
  if (r_end <= r_begin) return;
  const int64_t n = r_end - r_begin;
  const cudaStream_t stream = launch_stream();
  const int width = a.d <= kWarpRowMax ? kWarp : kBlockThreads;
  const int64_t blocks = width == kWarp ? (n + 7) / 8 : n;
  const A* means = rms ? nullptr : static_cast<const A*>(mean);
  layer_norm_dx_kernel<T><<<capped_blocks(blocks), kBlockThreads, 0, stream>>>(
      a, static_cast<const T*>(dy) + r_begin * a.d, static_cast<const T*>(x) + r_begin * a.d, static_cast<const T*>(w),
      means ? means + r_begin : nullptr, static_cast<const A*>(rstd) + r_begin, static_cast<T*>(dx) + r_begin * a.d, n,
      width, rms);
  lamina::cuda::check_kernel_launch(name);
  if (dw_parts == nullptr) return;
  layer_norm_param_kernel<T><<<grid_blocks((end - begin) * a.d), kBlockThreads, 0, stream>>>(
      a.d, static_cast<const T*>(dy), static_cast<const T*>(x), means, static_cast<const A*>(rstd),
      static_cast<A*>(dw_parts), static_cast<A*>(db_parts), rows, begin, end, rms);
  lamina::cuda::check_kernel_launch(name);
}

template <class T>
struct LayerNormForward {
  static void run(const LayerNormArgs& a, const void* x, const void* w, const void* b, void* y, void* mean, void* rstd,
                  int64_t begin, int64_t end) {
    launch_forward<T>(a, x, w, b, y, mean, rstd, begin, end, false, "layer_norm");
  }
};

template <class T>
struct LayerNormBackward {
  static void run(const LayerNormArgs& a, int64_t rows, const void* dy, const void* x, const void* w, const void* mean,
                  const void* rstd, void* dx, void* dw_parts, void* db_parts, int64_t begin, int64_t end) {
    launch_backward<T>(a, rows, dy, x, w, mean, rstd, dx, dw_parts, db_parts, begin, end, false, "layer_norm_backward");
  }
};

template <class T>
struct RmsNormForward {
  static void run(const LayerNormArgs& a, const void* x, const void* w, const void*, void* y, void*, void* rstd,
                  int64_t begin, int64_t end) {
    launch_forward<T>(a, x, w, nullptr, y, nullptr, rstd, begin, end, true, "rms_norm");
  }
};

template <class T>
struct RmsNormBackward {
  static void run(const LayerNormArgs& a, int64_t rows, const void* dy, const void* x, const void* w, const void*,
                  const void* rstd, void* dx, void* dw_parts, void*, int64_t begin, int64_t end) {
    launch_backward<T>(a, rows, dy, x, w, nullptr, rstd, dx, dw_parts, nullptr, begin, end, true, "rms_norm_backward");
  }
};

}  // namespace

void register_layer_norm_kernels() {
  register_cuda<LayerNormForward, LAMINA_CUDA_FLOAT_TYPES>(Op::layer_norm);
  register_cuda<LayerNormBackward, LAMINA_CUDA_FLOAT_TYPES>(Op::layer_norm_backward);
  register_cuda<RmsNormForward, LAMINA_CUDA_FLOAT_TYPES>(Op::rms_norm);
  register_cuda<RmsNormBackward, LAMINA_CUDA_FLOAT_TYPES>(Op::rms_norm_backward);
}

}  // namespace lamina::kernels::cuda
