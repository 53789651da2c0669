// Indexing kernels on the device: take / put through an index operand (gather, scatter,
// index_select, advanced indexing and index_put), index-to-offset conversion, mask walks
// (count, offsets, nonzero) and the device-side index range check.
//
// Repeated put targets: the CPU visits elements in row-major order, so the last assignment
// wins and accumulations combine in a fixed order. Here elements run concurrently. Assignment
// writes directly: with repeated indices one of the values is kept (which one is unspecified,
// as in PyTorch). Integer and bool add / multiply combine atomically (exact, so any order gives
// the CPU's result). Float add / multiply (scatter_add, index_put_ with accumulate, hence the
// backward of indexing, gather and embedding) take a deterministic path instead of float
// atomics, whose order and so whose rounding would change from run to run: the elements are
// radix-sorted by target address (stable, so each target's elements stay in row-major order)
// and one thread combines each run of equal targets in that order, giving the CPU's bits. It
// costs a sort of 16 bytes per element; a target hit by many elements is summed serially.
//
// Mask walks: the k-th true element's output slot is its rank, an exclusive prefix sum over the
// mask (cub::DeviceScan), so offsets and nonzero coordinates come out in the CPU's row-major
// order. The op layer sizes the output with one small device-to-host copy of the count.
#include <cstring>
#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_scan.cuh>
#include <type_traits>

#include "lamina/core/error.h"
#include "lamina/kernels/cuda/common.cuh"
#include "lamina/kernels/cuda/index_loop.cuh"
#include "lamina/kernels/cuda/index_math.cuh"
#include "lamina/kernels/cuda/register.h"

namespace lamina::kernels::cuda {
namespace {

namespace im = index_math;
using kernels::MaskLoop;

#define LAMINA_GRID_STRIDE(e, n)                                                         \
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < (n); \
       e += static_cast<int64_t>(gridDim.x) * blockDim.x)

template <class To, class From>
__device__ inline To bit_cast_to(From v) {
  static_assert(sizeof(To) == sizeof(From));
  To out;
  memcpy(&out, &v, sizeof(To));
  return out;
}

// *dst = combine(*dst, v, mode) atomically, for the integer and bool puts (float puts that
// combine take ordered_put): native atomicAdd for int32 / int64 sums, else a compare-and-swap
// loop on the element (8 and 4 bytes) or on the aligned 4-byte word holding it (1 and 2 bytes;
// allocations are 512-byte aligned, so the word lies inside the allocation).
struct AtomicCombine {
  template <class T>
  __device__ void operator()(T* dst, T v, int64_t mode) const {
    if (mode == im::kAdd) {
      if constexpr (std::is_same_v<T, int32_t>) {
        atomicAdd(dst, v);
        return;
      } else if constexpr (std::is_same_v<T, int64_t>) {
        atomicAdd(reinterpret_cast<unsigned long long*>(dst), static_cast<unsigned long long>(v));
        return;
      }
    }
    if constexpr (sizeof(T) == 8) {
      auto* word = reinterpret_cast<unsigned long long*>(dst);
      unsigned long long old = *word, assumed;
      do {
        assumed = old;
        const T next = im::combine(bit_cast_to<T>(assumed), v, mode);
        old = atomicCAS(word, assumed, bit_cast_to<unsigned long long>(next));
      } while (old != assumed);
    } else if constexpr (sizeof(T) == 4) {
      auto* word = reinterpret_cast<unsigned int*>(dst);
      unsigned int old = *word, assumed;
      do {
        assumed = old;
        const T next = im::combine(bit_cast_to<T>(assumed), v, mode);
        old = atomicCAS(word, assumed, bit_cast_to<unsigned int>(next));
      } while (old != assumed);
    } else {
      using Bits = std::conditional_t<sizeof(T) == 1, uint8_t, uint16_t>;
      const uintptr_t addr = reinterpret_cast<uintptr_t>(dst);
      auto* word = reinterpret_cast<unsigned int*>(addr & ~uintptr_t{3});
      const unsigned int shift = static_cast<unsigned int>(addr & 3) * 8;
      const unsigned int mask = static_cast<unsigned int>(static_cast<Bits>(~Bits{0})) << shift;
      unsigned int old = *word, assumed;
      do {
        assumed = old;
        const T cur = bit_cast_to<T>(static_cast<Bits>((assumed & mask) >> shift));
        const T next = im::combine(cur, v, mode);
        const unsigned int bits = static_cast<unsigned int>(bit_cast_to<Bits>(next)) << shift;
        old = atomicCAS(word, assumed, (assumed & ~mask) | bits);
      } while (old != assumed);
    }
  }
};

template <class T>
__global__ void take_kernel(StridedLoop loop, int64_t scale) {
  LAMINA_GRID_STRIDE(e, loop.numel) im::take_element<T>(loop, e, scale);
}

template <class T>
__global__ void put_kernel(StridedLoop loop, int64_t scale, int64_t mode) {
  LAMINA_GRID_STRIDE(e, loop.numel) im::put_element<T>(loop, e, scale, mode, AtomicCombine{});
}

template <class I>
__global__ void index_offsets_kernel(StridedLoop loop, int64_t size, int64_t stride, bool accumulate) {
  LAMINA_GRID_STRIDE(e, loop.numel) im::index_offset_element<I>(loop, e, size, stride, accumulate);
}

// Operands: out, int64 index, base. params.i: bytes per unit of index.
template <class T>
struct TakeKernel {
  static void run(const StridedLoop& loop, const KernelParams& params) {
    if (loop.numel == 0) return;
    take_kernel<T><<<grid_blocks(loop.numel), kBlockThreads, 0, launch_stream()>>>(loop, params.i);
    lamina::cuda::check_kernel_launch("gather");
  }
};

void check_cuda(cudaError_t err, const char* op) {
  LAMINA_CHECK(err == cudaSuccess, KernelError, op, "CUDA error: ", cudaGetErrorString(err));
}

template <class T>
__global__ void put_keys_kernel(StridedLoop loop, int64_t scale, uint64_t* keys, int64_t* order) {
  LAMINA_GRID_STRIDE(e, loop.numel) {
    keys[e] = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(im::put_target<T>(loop, e, scale)));
    order[e] = e;
  }
}

// The first sorted position of each run of equal targets combines the whole run.
template <class T>
__global__ void put_runs_kernel(StridedLoop loop, int64_t scale, int64_t mode, const uint64_t* keys,
                                const int64_t* order) {
  const int64_t n = loop.numel;
  LAMINA_GRID_STRIDE(i, n) {
    if (i > 0 && keys[i] == keys[i - 1]) continue;
    int64_t end = i + 1;
    while (end < n && keys[end] == keys[i]) ++end;
    im::put_run<T>(loop, order, i, end, scale, mode);
  }
}

// Rounds up to a multiple of 256 bytes (alignment of each scratch region).
int64_t aligned(int64_t bytes) { return (bytes + 255) / 256 * 256; }

template <class T>
void ordered_put(const StridedLoop& loop, int64_t scale, int64_t mode) {
  const char* op = "scatter";
  const cudaStream_t stream = launch_stream();
  const int64_t n = loop.numel;
  size_t temp_bytes = 0;
  check_cuda(cub::DeviceRadixSort::SortPairs(nullptr, temp_bytes, static_cast<const uint64_t*>(nullptr),
                                             static_cast<uint64_t*>(nullptr), static_cast<const int64_t*>(nullptr),
                                             static_cast<int64_t*>(nullptr), n, 0, 64, stream),
             op);
  const int64_t region = aligned(n * 8);
  Tensor scratch = device_scratch(4 * region + static_cast<int64_t>(temp_bytes));
  char* base = static_cast<char*>(scratch.data_ptr());
  auto* keys_in = reinterpret_cast<uint64_t*>(base);
  auto* keys_out = reinterpret_cast<uint64_t*>(base + region);
  auto* order_in = reinterpret_cast<int64_t*>(base + 2 * region);
  auto* order_out = reinterpret_cast<int64_t*>(base + 3 * region);
  put_keys_kernel<T><<<grid_blocks(n), kBlockThreads, 0, stream>>>(loop, scale, keys_in, order_in);
  lamina::cuda::check_kernel_launch(op);
  check_cuda(cub::DeviceRadixSort::SortPairs(base + 4 * region, temp_bytes, keys_in, keys_out, order_in, order_out, n,
                                             0, 64, stream),
             op);
  put_runs_kernel<T><<<grid_blocks(n), kBlockThreads, 0, stream>>>(loop, scale, mode, keys_out, order_out);
  lamina::cuda::check_kernel_launch(op);
}

// Operands: base, int64 index, values. params.i: bytes per unit of index; params.j: the mode.
template <class T>
struct PutKernel {
  static void run(const StridedLoop& loop, const KernelParams& params) {
    if (loop.numel == 0) return;
    if constexpr (!std::is_integral_v<T>) {
      if (params.j != im::kAssign) {
        ordered_put<T>(loop, params.i, params.j);
        return;
      }
    }
    put_kernel<T><<<grid_blocks(loop.numel), kBlockThreads, 0, launch_stream()>>>(loop, params.i, params.j);
    lamina::cuda::check_kernel_launch("scatter");
  }
};

// Operands: int64 out, index. params.i: the size negative indices wrap by (0: none); params.j:
// bytes per unit; params.lo == 1 accumulates.
template <class I>
struct IndexOffsetsKernel {
  static void run(const StridedLoop& loop, const KernelParams& params) {
    if (loop.numel == 0) return;
    index_offsets_kernel<I>
        <<<grid_blocks(loop.numel), kBlockThreads, 0, launch_stream()>>>(loop, params.i, params.j, params.lo == 1);
    lamina::cuda::check_kernel_launch("index_offsets");
  }
};

// ---------------------------------------------------------------------------------------------
// Index range check: one pass reduces the index to its min and max, which the op layer copies
// back (16 bytes, one stream synchronization) to raise the CPU's IndexError before any write.

__device__ inline int64_t warp_min(int64_t v) {
  for (int o = 16; o > 0; o /= 2) v = min(v, static_cast<int64_t>(__shfl_down_sync(0xffffffffu, v, o)));
  return v;
}
__device__ inline int64_t warp_max(int64_t v) {
  for (int o = 16; o > 0; o /= 2) v = max(v, static_cast<int64_t>(__shfl_down_sync(0xffffffffu, v, o)));
  return v;
}

__global__ void range_init_kernel(int64_t* min_max) {
  min_max[0] = INT64_MAX;
  min_max[1] = INT64_MIN;
}

template <class I>
__global__ void range_kernel(StridedLoop loop, int64_t* min_max) {
  int64_t lo = INT64_MAX, hi = INT64_MIN;
  LAMINA_GRID_STRIDE(e, loop.numel) {
    int64_t off[1];
    strided_offsets<1>(loop, e, off);
    const int64_t v = static_cast<int64_t>(*reinterpret_cast<const I*>(loop.data[0] + off[0]));
    lo = min(lo, v);
    hi = max(hi, v);
  }
  lo = warp_min(lo);
  hi = warp_max(hi);
  if ((threadIdx.x & 31) == 0) {
    atomicMin(reinterpret_cast<long long*>(min_max), static_cast<long long>(lo));
    atomicMax(reinterpret_cast<long long*>(min_max) + 1, static_cast<long long>(hi));
  }
}

template <class I>
struct IndexRangeKernel {
  static void run(const StridedLoop& loop, int64_t* min_max) {
    const cudaStream_t stream = launch_stream();
    range_init_kernel<<<1, 1, 0, stream>>>(min_max);
    range_kernel<I><<<grid_blocks(loop.numel), kBlockThreads, 0, stream>>>(loop, min_max);
    lamina::cuda::check_kernel_launch("index_range");
  }
};

// ---------------------------------------------------------------------------------------------
// Mask walks

__global__ void mask_count_kernel(MaskLoop loop) {
  unsigned long long count = 0;
  LAMINA_GRID_STRIDE(e, loop.numel) count += im::mask_at(loop, e) ? 1 : 0;
  for (int o = 16; o > 0; o /= 2) count += __shfl_down_sync(0xffffffffu, count, o);
  if ((threadIdx.x & 31) == 0 && count > 0) atomicAdd(reinterpret_cast<unsigned long long*>(loop.out), count);
}

__global__ void mask_flags_kernel(MaskLoop loop, int64_t* flags) {
  LAMINA_GRID_STRIDE(e, loop.numel) flags[e] = im::mask_at(loop, e) ? 1 : 0;
}

template <bool kNonzero>
__global__ void mask_write_kernel(MaskLoop loop, const int64_t* rank) {
  LAMINA_GRID_STRIDE(e, loop.numel) {
    if (!im::mask_at(loop, e)) continue;
    if constexpr (kNonzero)
      im::write_nonzero(loop, e, rank[e]);
    else
      im::write_mask_offset(loop, e, rank[e]);
  }
}

// Writes every true element's rank to its output slot: flags, their exclusive prefix sum, then
// the writes.
template <bool kNonzero>
void mask_ranks_and_write(const MaskLoop& loop, const char* op) {
  if (loop.numel == 0) return;
  const cudaStream_t stream = launch_stream();
  size_t temp_bytes = 0;
  check_cuda(cub::DeviceScan::ExclusiveSum(nullptr, temp_bytes, static_cast<const int64_t*>(nullptr),
                                           static_cast<int64_t*>(nullptr), loop.numel, stream),
             op);
  const int64_t flag_bytes = loop.numel * static_cast<int64_t>(sizeof(int64_t));
  Tensor scratch = device_scratch(2 * flag_bytes + static_cast<int64_t>(temp_bytes));
  char* base = static_cast<char*>(scratch.data_ptr());
  auto* flags = reinterpret_cast<int64_t*>(base);
  auto* rank = reinterpret_cast<int64_t*>(base + flag_bytes);
  void* temp = base + 2 * flag_bytes;
  mask_flags_kernel<<<grid_blocks(loop.numel), kBlockThreads, 0, stream>>>(loop, flags);
  lamina::cuda::check_kernel_launch(op);
  check_cuda(cub::DeviceScan::ExclusiveSum(temp, temp_bytes, flags, rank, loop.numel, stream), op);
  mask_write_kernel<kNonzero><<<grid_blocks(loop.numel), kBlockThreads, 0, stream>>>(loop, rank);
  lamina::cuda::check_kernel_launch(op);
}

template <class T>
struct MaskCountKernel {
  static void run(const MaskLoop& loop, const KernelParams&) {
    const cudaStream_t stream = launch_stream();
    check_cuda(cudaMemsetAsync(loop.out, 0, sizeof(int64_t), stream), "mask_count");
    if (loop.numel == 0) return;
    mask_count_kernel<<<grid_blocks(loop.numel), kBlockThreads, 0, stream>>>(loop);
    lamina::cuda::check_kernel_launch("mask_count");
  }
};

template <class T>
struct MaskOffsetsKernel {
  static void run(const MaskLoop& loop, const KernelParams&) { mask_ranks_and_write<false>(loop, "mask_offsets"); }
};

template <class T>
struct NonzeroKernel {
  static void run(const MaskLoop& loop, const KernelParams&) { mask_ranks_and_write<true>(loop, "nonzero"); }
};

}  // namespace

void register_index_kernels() {
  register_cuda<TakeKernel, LAMINA_CUDA_ALL_TYPES>(Op::gather);
  register_cuda<PutKernel, LAMINA_CUDA_ALL_TYPES>(Op::scatter);
  register_cuda<IndexOffsetsKernel, uint8_t, int8_t, int32_t, int64_t>(Op::index_offsets);
  register_cuda<IndexRangeKernel, uint8_t, int8_t, int32_t, int64_t>(Op::index_range);
  register_cuda<MaskOffsetsKernel, bool>(Op::mask_offsets);
  register_cuda<NonzeroKernel, bool>(Op::nonzero);
  register_cuda<MaskCountKernel, bool>(Op::mask_count);
}

}  // namespace lamina::kernels::cuda
