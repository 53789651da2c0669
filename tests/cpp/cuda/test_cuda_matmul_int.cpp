// The device integer matmul's per-element sum (lamina/kernels/cuda/matmul_int_math.cuh), run on
// the CPU over strided operands, against lamina::matmul on the CPU: the same bits in every integer
// dtype, wrapping sums included.
#include <gtest/gtest.h>

#include <cstdint>
#include <type_traits>

#include "lamina/kernels/cuda/matmul_int_math.cuh"
#include "lamina/lamina.h"

using namespace lamina;

namespace {

// Values spanning the dtype's range, so products and sums overflow and wrap.
Tensor wide_values(const Shape& shape, Dtype dt) {
  if (dt == Dtype::Int64) return randint(-(int64_t{1} << 61), int64_t{1} << 61, shape, dt);
  if (dt == Dtype::Int32) return randint(-(int64_t{1} << 31), int64_t{1} << 31, shape, dt);
  if (dt == Dtype::Int8) return randint(-128, 128, shape, dt);
  return randint(0, 256, shape, dt);
}

// c[z] = a[z] @ b[z] through int_dot on the operands' own strides (a: (Z, M, K), b: (Z, K, N)).
template <class T>
void expect_device_sum_matches(const Tensor& a, const Tensor& b) {
  const Tensor want = matmul(a, b).contiguous();
  const int64_t Z = a.shape()[0], M = a.shape()[1], K = a.shape()[2], N = b.shape()[2];
  const T* pa = reinterpret_cast<const T*>(a.data_ptr());
  const T* pb = reinterpret_cast<const T*>(b.data_ptr());
  const T* pw = reinterpret_cast<const T*>(want.data_ptr());
  for (int64_t z = 0; z < Z; ++z)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        const T got = kernels::cuda::int_dot(pa + z * a.strides()[0] + i * a.strides()[1], a.strides()[2],
                                             pb + z * b.strides()[0] + j * b.strides()[2], b.strides()[1], K);
        ASSERT_EQ(got, pw[(z * M + i) * N + j]) << dtype_name(a.dtype()) << " at " << z << "," << i << "," << j;
      }
}

}  // namespace

TEST(CudaMatmulIntMath, MatchesTheCpuKernelBitForBit) {
  manual_seed(31);
  for (Dtype dt : {Dtype::Int64, Dtype::Int32, Dtype::Int8, Dtype::UInt8}) {
    kernels::cuda::visit_storage(dt, [&](auto s) {
      using T = decltype(s);
      if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
        const Tensor a = wide_values({3, 7, 33}, dt), b = wide_values({3, 33, 5}, dt);
        expect_device_sum_matches<T>(a, b);
        // Transposed and sliced views: non-unit strides on both sides.
        const Tensor at = wide_values({3, 33, 7}, dt).transpose(1, 2);
        const Tensor bt = wide_values({3, 10, 33}, dt).transpose(1, 2).slice(2, 0, 10, 2);
        expect_device_sum_matches<T>(at, bt);
        // A broadcast batch (stride 0) and k = 0 (an empty sum is 0).
        const Tensor shared = wide_values({1, 33, 4}, dt).expand({3, 33, 4});
        expect_device_sum_matches<T>(a, shared);
        expect_device_sum_matches<T>(wide_values({2, 3, 0}, dt), wide_values({2, 0, 4}, dt));
      }
    });
  }
}
