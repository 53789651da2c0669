#pragma once
// What every CUDA kernel file shares: host/device annotations, the storage and compute types of
// each dtype, conversions with defined results, the launch stream and kernel registration.
// Headers here also compile with the host compiler (LAMINA_HD is empty there), so tests can run
// the per-element code of a kernel on the CPU.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "lamina/core/dtype.h"
#include "lamina/cuda/stream.h"
#include "lamina/kernels/host_device.h"
#include "lamina/kernels/loops.h"
#include "lamina/runtime/dispatch.h"

namespace lamina::kernels::cuda {

using kernels::KernelParams;
using kernels::StridedLoop;

/// Signature of every elementwise CUDA kernel (the CPU kernels' signature: same loop, device pointers).
using ElementwiseKernel = void (*)(const StridedLoop&, const KernelParams&);

/// The type a 16-bit float is computed in (float); every other type computes in itself.
template <class T>
struct Compute {
  using type = T;
};
template <>
struct Compute<__half> {
  using type = float;
};
template <>
struct Compute<__nv_bfloat16> {
  using type = float;
};
/// Shorthand for Compute<T>::type.
template <class T>
using compute_t = typename Compute<T>::type;

/// A stored value widened to its compute type.
template <class T>
LAMINA_HD inline compute_t<T> to_compute(T v) {
  if constexpr (std::is_same_v<T, __half>)
    return __half2float(v);
  else if constexpr (std::is_same_v<T, __nv_bfloat16>)
    return __bfloat162float(v);
  else
    return v;
}

/// A compute value rounded to its storage type (round to nearest even for 16-bit floats).
template <class T, class C>
LAMINA_HD inline T from_compute(C v) {
  if constexpr (std::is_same_v<T, __half>)
    return __float2half_rn(static_cast<float>(v));
  else if constexpr (std::is_same_v<T, __nv_bfloat16>)
    return __float2bfloat16_rn(static_cast<float>(v));
  else
    return static_cast<T>(v);
}

/// One element converted between storage types; NaN and out-of-range floats saturate for integer
/// targets (the CPU kernels' rule), so no input is undefined behaviour.
template <class To, class From>
LAMINA_HD inline To convert(From v) {
  using CF = compute_t<From>;
  const CF x = to_compute(v);
  if constexpr (std::is_same_v<To, bool>) {
    return x != CF(0);
  } else if constexpr (std::is_integral_v<To> && std::is_floating_point_v<CF>) {
    if (x != x) return To(0);
    const double lo = static_cast<double>(std::numeric_limits<To>::min());
    const double hi = static_cast<double>(std::numeric_limits<To>::max());
    const double d = static_cast<double>(x);
    if (d <= lo) return std::numeric_limits<To>::min();
    if (d >= hi) return std::numeric_limits<To>::max();
    return static_cast<To>(d);
  } else {
    return from_compute<To>(static_cast<compute_t<To>>(x));
  }
}

/// The dtype whose elements are stored as T on the device.
template <class T>
struct DtypeOfStorage {
  static constexpr Dtype value = DtypeOf<T>::value;
};
template <>
struct DtypeOfStorage<__half> {
  static constexpr Dtype value = Dtype::Float16;
};
template <>
struct DtypeOfStorage<__nv_bfloat16> {
  static constexpr Dtype value = Dtype::BFloat16;
};

/// Calls f(T{}) with T the device storage type of `dt`.
template <class F>
decltype(auto) visit_storage(Dtype dt, F&& f) {
  switch (dt) {
    case Dtype::Bool:
      return f(bool{});
    case Dtype::UInt8:
      return f(uint8_t{});
    case Dtype::Int8:
      return f(int8_t{});
    case Dtype::Int32:
      return f(int32_t{});
    case Dtype::Int64:
      return f(int64_t{});
    case Dtype::Float16:
      return f(__half{});
    case Dtype::BFloat16:
      return f(__nv_bfloat16{});
    case Dtype::Float32:
      return f(float{});
    default:
      return f(double{});
  }
}

/// The stream of the calling thread's current device.
inline cudaStream_t launch_stream() {
  return static_cast<cudaStream_t>(lamina::cuda::current_stream(lamina::cuda::current_device()));
}

/// Threads per block of the memory-bound kernels.
inline constexpr int kBlockThreads = 256;

/// Blocks covering `work` items at kBlockThreads per block (at least 1, capped: kernels
/// stride over what the grid does not cover).
inline unsigned int grid_blocks(int64_t work) {
  const int64_t blocks = (work + kBlockThreads - 1) / kBlockThreads;
  return static_cast<unsigned int>(blocks < 1 ? 1 : blocks > (int64_t{1} << 20) ? (int64_t{1} << 20) : blocks);
}

/// Registers Kernel<T>::run under `op` on the CUDA backend for each storage type in Ts.
template <template <class> class Kernel, class... Ts>
void register_cuda(Op op) {
  const runtime::OpId id = runtime::op_id(op);
  (runtime::register_kernel(id, runtime::Backend::Cuda, DtypeOfStorage<Ts>::value,
                            reinterpret_cast<void*>(&Kernel<Ts>::run)),
   ...);
}

}  // namespace lamina::kernels::cuda

/// Device storage types by family (the CPU lists with __half / __nv_bfloat16 for the 16-bit floats).
#define LAMINA_CUDA_FLOAT_TYPES __half, __nv_bfloat16, float, double
#define LAMINA_CUDA_INT_TYPES uint8_t, int8_t, int32_t, int64_t
#define LAMINA_CUDA_NUMERIC_TYPES LAMINA_CUDA_INT_TYPES, LAMINA_CUDA_FLOAT_TYPES
#define LAMINA_CUDA_ALL_TYPES bool, LAMINA_CUDA_NUMERIC_TYPES
