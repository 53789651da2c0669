// Sort and topk along lines on the device: each element becomes an order-preserving radix key
// (sort_math.cuh) paired with its position, every line is sorted as one segment by
// cub::DeviceSegmentedSort::StableSortPairs (stable, so ties keep their positions, as on the
// CPU), and the first k positions of each line pick the output values. topk sorts the whole line
// and keeps k.
#include <cub/device/device_segmented_sort.cuh>

#include "lamina/core/error.h"
#include "lamina/kernels/cuda/common.cuh"
#include "lamina/kernels/cuda/index_loop.cuh"
#include "lamina/kernels/cuda/register.h"
#include "lamina/kernels/cuda/sort_math.cuh"
#include "lamina/kernels/loops.h"

namespace lamina::kernels::cuda {
namespace {

namespace sm = sort_math;
using kernels::LineLoop;

// keys[g] and positions[g] for element g = o * n + j (line o, position j); segment bounds o * n.
template <class T>
__global__ void keys_kernel(LineLoop loop, bool descending, sm::key_t<T>* keys, int64_t* positions, int64_t* bounds) {
  const int64_t total = loop.outer_numel * loop.n;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t g = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; g < total; g += stride) {
    const int64_t o = g / loop.n, j = g % loop.n;
    int64_t in, out, out2;
    sm::line_offsets(loop, o, in, out, out2);
    keys[g] = sm::sort_key<T>(*reinterpret_cast<const T*>(loop.in + in + j * loop.in_stride), descending);
    positions[g] = j;
    if (j == 0) bounds[o] = g;
    if (g == total - 1) bounds[loop.outer_numel] = total;
  }
}

// out[o][j] = in[o][p], out2[o][j] = p for the first k sorted positions p of each line.
template <class T>
__global__ void write_kernel(LineLoop loop, const int64_t* sorted) {
  const int64_t total = loop.outer_numel * loop.k;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t g = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; g < total; g += stride) {
    const int64_t o = g / loop.k, j = g % loop.k;
    int64_t in, out, out2;
    sm::line_offsets(loop, o, in, out, out2);
    const int64_t p = sorted[o * loop.n + j];
    *reinterpret_cast<T*>(loop.out + out + j * loop.out_stride) =
        *reinterpret_cast<const T*>(loop.in + in + p * loop.in_stride);
    *reinterpret_cast<int64_t*>(loop.out2 + out2 + j * loop.out2_stride) = p;
  }
}

void check_cuda(cudaError_t err, const char* op) {
  LAMINA_CHECK(err == cudaSuccess, KernelError, op, "CUDA error: ", cudaGetErrorString(err));
}

// Bytes rounded up to a multiple of 256 (alignment of each scratch region).
int64_t aligned(int64_t bytes) { return (bytes + 255) / 256 * 256; }

template <class T>
void sort_lines(const LineLoop& loop, bool descending, const char* op) {
  using K = sm::key_t<T>;
  const int64_t lines = loop.outer_numel, total = lines * loop.n;
  if (total == 0 || loop.k == 0) return;
  const cudaStream_t stream = launch_stream();
  size_t temp_bytes = 0;
  check_cuda(cub::DeviceSegmentedSort::StableSortPairs(
                 nullptr, temp_bytes, static_cast<const K*>(nullptr), static_cast<K*>(nullptr),
                 static_cast<const int64_t*>(nullptr), static_cast<int64_t*>(nullptr), total, lines,
                 static_cast<const int64_t*>(nullptr), static_cast<const int64_t*>(nullptr), stream),
             op);
  const int64_t key_bytes = aligned(total * static_cast<int64_t>(sizeof(K)));
  const int64_t pos_bytes = aligned(total * static_cast<int64_t>(sizeof(int64_t)));
  const int64_t bound_bytes = aligned((lines + 1) * static_cast<int64_t>(sizeof(int64_t)));
  Tensor scratch = device_scratch(2 * key_bytes + 2 * pos_bytes + bound_bytes + static_cast<int64_t>(temp_bytes));
  char* base = static_cast<char*>(scratch.data_ptr());
  auto* keys_in = reinterpret_cast<K*>(base);
  auto* keys_out = reinterpret_cast<K*>(base + key_bytes);
  auto* pos_in = reinterpret_cast<int64_t*>(base + 2 * key_bytes);
  auto* pos_out = reinterpret_cast<int64_t*>(base + 2 * key_bytes + pos_bytes);
  auto* bounds = reinterpret_cast<int64_t*>(base + 2 * key_bytes + 2 * pos_bytes);
  void* temp = base + 2 * key_bytes + 2 * pos_bytes + bound_bytes;
  keys_kernel<T><<<grid_blocks(total), kBlockThreads, 0, stream>>>(loop, descending, keys_in, pos_in, bounds);
  lamina::cuda::check_kernel_launch(op);
  check_cuda(cub::DeviceSegmentedSort::StableSortPairs(temp, temp_bytes, keys_in, keys_out, pos_in, pos_out, total,
                                                       lines, bounds, bounds + 1, stream),
             op);
  write_kernel<T><<<grid_blocks(lines * loop.k), kBlockThreads, 0, stream>>>(loop, pos_out);
  lamina::cuda::check_kernel_launch(op);
}

// params.i == 1 sorts descending; out gets the sorted values, out2 their int64 positions.
template <class T>
struct SortKernel {
  static void run(const LineLoop& loop, const KernelParams& params) { sort_lines<T>(loop, params.i == 1, "sort"); }
};

// The first loop.k elements of the sort's order (params.i == 1: largest first).
template <class T>
struct TopkKernel {
  static void run(const LineLoop& loop, const KernelParams& params) { sort_lines<T>(loop, params.i == 1, "topk"); }
};

}  // namespace

void register_sort_kernels() {
  register_cuda<SortKernel, LAMINA_CUDA_ALL_TYPES>(Op::sort);
  register_cuda<TopkKernel, LAMINA_CUDA_ALL_TYPES>(Op::topk);
}

}  // namespace lamina::kernels::cuda
