// The device indexing and sorting code (lamina/kernels/cuda/index_math.cuh, sort_math.cuh), run
// serially on the CPU, against the CPU kernels on random inputs: take / put in every mode and
// dtype (strided operands, repeated indices), index offsets with wrapping, the mask walks driven
// by an exclusive prefix sum, and the radix keys of the sort (NaN, -0, ties, both directions).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

#include "lamina/kernels/cpu/loops.h"
#include "lamina/kernels/cuda/index_math.cuh"
#include "lamina/kernels/cuda/sort_math.cuh"
#include "lamina/kernels/loops.h"
#include "lamina/lamina.h"
#include "lamina/runtime/loops.h"

using namespace lamina;
namespace im = lamina::kernels::cuda::index_math;
namespace sm = lamina::kernels::cuda::sort_math;
using kernels::ElementwiseKernel;

namespace {

const Dtype kAllDtypes[] = {Dtype::Float32, Dtype::Float64, Dtype::Float16, Dtype::BFloat16, Dtype::Int64,
                            Dtype::Int32,   Dtype::Int8,    Dtype::UInt8,   Dtype::Bool};

Tensor random_values(const Shape& shape, Dtype dt) {
  if (is_floating(dt)) return randn(shape, {dt});
  if (dt == Dtype::Bool) return randint(0, 2, shape, Dtype::Int64).to(Dtype::Bool);
  if (dt == Dtype::UInt8) return randint(0, 100, shape, dt);
  return randint(-50, 50, shape, dt);
}

bool same_bits(const Tensor& a, const Tensor& b) {
  const Tensor ca = a.contiguous(), cb = b.contiguous();
  return ca.shape() == cb.shape() &&
         std::memcmp(ca.data_ptr(), cb.data_ptr(), static_cast<size_t>(ca.numel() * ca.element_size())) == 0;
}

// A view of t with `shape` and stride 0 along d (the kernels add index * stride), as the op layer.
Tensor along_dim(const Tensor& t, int64_t d, const Shape& shape) {
  Strides s = t.strides();
  s[d] = 0;
  return Tensor::make_view(t.storage(), shape, s, t.storage_offset(), t.dtype());
}

ElementwiseKernel cpu_kernel(const char* op, Dtype dt) {
  return runtime::find_kernel<ElementwiseKernel>(runtime::op_id(op), kCPU, dt);
}

// Applies the combine of a put serially (the device uses an atomic version of the same combine).
struct SerialCombine {
  template <class T>
  void operator()(T* dst, T v, int64_t mode) const {
    *dst = im::combine(*dst, v, mode);
  }
};

}  // namespace

TEST(CudaIndexMath, TakeMatchesCpuGather) {
  manual_seed(11);
  for (Dtype dt : kAllDtypes) {
    // x is a transposed (non-contiguous) 6x9; gather along dim 1 with a 6x13 index.
    const Tensor x = random_values({9, 6}, dt).transpose(0, 1);
    const Tensor idx = randint(0, 9, {6, 13}, Dtype::Int64);
    const Tensor src = along_dim(x, 1, idx.shape());
    Tensor out_cpu = Tensor::empty(idx.shape(), dt), out_dev = Tensor::empty(idx.shape(), dt);
    kernels::KernelParams params;
    params.i = x.strides()[1] * x.element_size();
    cpu_kernel("gather", dt)(runtime::make_strided_loop({&out_cpu, &idx, &src}), params);
    const kernels::StridedLoop loop = runtime::make_strided_loop({&out_dev, &idx, &src});
    kernels::cuda::visit_storage(dt, [&](auto s) {
      for (int64_t e = 0; e < loop.numel; ++e) im::take_element<decltype(s)>(loop, e, params.i);
    });
    EXPECT_TRUE(same_bits(out_cpu, out_dev)) << dtype_name(dt);
  }
}

TEST(CudaIndexMath, PutMatchesCpuScatterInEveryMode) {
  manual_seed(12);
  for (Dtype dt : kAllDtypes) {
    for (int64_t mode : {im::kAssign, im::kAdd, im::kMultiply}) {
      // Repeated indices along dim 0 of a 4x10 target; values are a strided view.
      const Tensor x0 = random_values({4, 10}, dt);
      const Tensor idx = randint(0, 4, {7, 10}, Dtype::Int64);
      const Tensor values = random_values({10, 7}, dt).transpose(0, 1);
      Tensor x_cpu = x0.clone(), x_dev = x0.clone();
      kernels::KernelParams params;
      params.i = x0.strides()[0] * x0.element_size();
      params.j = mode;
      const Tensor dst_cpu = along_dim(x_cpu, 0, idx.shape()), dst_dev = along_dim(x_dev, 0, idx.shape());
      cpu_kernel("scatter", dt)(runtime::make_strided_loop({&dst_cpu, &idx, &values}), params);
      const kernels::StridedLoop loop = runtime::make_strided_loop({&dst_dev, &idx, &values});
      kernels::cuda::visit_storage(dt, [&](auto s) {
        for (int64_t e = 0; e < loop.numel; ++e) im::put_element<decltype(s)>(loop, e, params.i, mode, SerialCombine{});
      });
      EXPECT_TRUE(same_bits(x_cpu, x_dev))
          << dtype_name(dt) << " mode " << mode << "\ncpu " << x_cpu << "\ndevice " << x_dev;
      // The ordered path of float puts: elements stably sorted by target address, each run of
      // equal targets combined in element order.
      Tensor x_ord = x0.clone();
      const Tensor dst_ord = along_dim(x_ord, 0, idx.shape());
      const kernels::StridedLoop ord = runtime::make_strided_loop({&dst_ord, &idx, &values});
      kernels::cuda::visit_storage(dt, [&](auto s) {
        using T = decltype(s);
        std::vector<int64_t> order(static_cast<size_t>(ord.numel));
        std::iota(order.begin(), order.end(), 0);
        auto key = [&](int64_t e) { return reinterpret_cast<uintptr_t>(im::put_target<T>(ord, e, params.i)); };
        std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return key(a) < key(b); });
        for (int64_t i = 0; i < ord.numel;) {
          int64_t end = i + 1;
          while (end < ord.numel && key(order[end]) == key(order[i])) ++end;
          im::put_run<T>(ord, order.data(), i, end, params.i, mode);
          i = end;
        }
      });
      EXPECT_TRUE(same_bits(x_cpu, x_ord)) << "ordered " << dtype_name(dt) << " mode " << mode;
    }
  }
}

TEST(CudaIndexMath, IndexOffsetsMatchCpu) {
  manual_seed(13);
  for (Dtype dt : {Dtype::Int64, Dtype::Int32, Dtype::Int8, Dtype::UInt8}) {
    for (int64_t wrap : {int64_t{0}, int64_t{7}}) {
      for (int64_t accumulate : {0, 1}) {
        const Tensor idx = dt == Dtype::UInt8 ? randint(0, 7, {5, 6}, dt) : randint(-7, 7, {6, 5}, dt).transpose(0, 1);
        const Tensor start = randint(0, 1000, {5, 6}, Dtype::Int64);
        Tensor out_cpu = start.clone(), out_dev = start.clone();
        kernels::KernelParams params;
        params.i = wrap;
        params.j = 24;
        params.lo = accumulate;
        cpu_kernel("index_offsets", dt)(runtime::make_strided_loop({&out_cpu, &idx}), params);
        const kernels::StridedLoop loop = runtime::make_strided_loop({&out_dev, &idx});
        kernels::cuda::visit_storage(dt, [&](auto s) {
          using I = decltype(s);
          if constexpr (std::is_integral_v<I> && !std::is_same_v<I, bool>)
            for (int64_t e = 0; e < loop.numel; ++e) im::index_offset_element<I>(loop, e, wrap, 24, accumulate == 1);
        });
        EXPECT_TRUE(same_bits(out_cpu, out_dev)) << dtype_name(dt) << " wrap " << wrap << " acc " << accumulate;
      }
    }
  }
}

namespace {

kernels::MaskLoop mask_loop(const Tensor& mask, const Tensor& out) {
  kernels::MaskLoop loop;
  loop.ndim = static_cast<int>(mask.dim());
  loop.numel = mask.numel();
  loop.count = out.numel();
  loop.mask = static_cast<const char*>(mask.data_ptr());
  loop.out = static_cast<int64_t*>(out.data_ptr());
  for (int64_t d = 0; d < mask.dim(); ++d) {
    loop.shape[d] = mask.shape()[d];
    loop.strides[d] = mask.strides()[d] * mask.element_size();
    loop.weights[d] = (d + 1) * 100 + 8;
  }
  return loop;
}

kernels::MaskKernel cpu_mask_kernel(const char* op) {
  return runtime::find_kernel<kernels::MaskKernel>(runtime::op_id(op), kCPU, Dtype::Bool);
}

// The device's ranks: exclusive prefix sum of the mask flags in row-major order.
std::vector<int64_t> ranks(const kernels::MaskLoop& loop, int64_t& count) {
  std::vector<int64_t> flags(static_cast<size_t>(loop.numel)), rank(flags.size());
  for (int64_t e = 0; e < loop.numel; ++e) flags[static_cast<size_t>(e)] = im::mask_at(loop, e) ? 1 : 0;
  std::exclusive_scan(flags.begin(), flags.end(), rank.begin(), int64_t{0});
  count = std::accumulate(flags.begin(), flags.end(), int64_t{0});
  return rank;
}

}  // namespace

TEST(CudaIndexMath, MaskWalksMatchCpu) {
  manual_seed(14);
  const std::vector<Tensor> masks = {
      randint(0, 2, {5, 7, 3}, Dtype::Int64).to(Dtype::Bool),
      randint(0, 2, {6, 8}, Dtype::Int64).to(Dtype::Bool).transpose(0, 1).slice(0, 1, 8, 2),
      randint(0, 2, {1}, Dtype::Int64).to(Dtype::Bool).reshape({}),
      zeros({4, 4}, {Dtype::Bool}),
      ones({3, 1, 5}, {Dtype::Bool}),
      randint(0, 2, {0, 3}, Dtype::Int64).to(Dtype::Bool),
  };
  for (const Tensor& mask : masks) {
    SCOPED_TRACE(mask.str());
    Tensor cpu_count = Tensor::empty({1}, Dtype::Int64);
    cpu_count.data<int64_t>()[0] = -1;
    if (mask.numel() > 0)
      cpu_mask_kernel("mask_count")(mask_loop(mask, cpu_count), {});
    else
      cpu_count.data<int64_t>()[0] = 0;
    int64_t count = 0;
    const std::vector<int64_t> rank = ranks(mask_loop(mask, cpu_count), count);
    ASSERT_EQ(count, cpu_count.data<int64_t>()[0]);

    Tensor off_cpu = full({count}, Scalar(-1), {Dtype::Int64}), off_dev = off_cpu.clone();
    Tensor nz_cpu = full({count, mask.dim()}, Scalar(-1), {Dtype::Int64}), nz_dev = nz_cpu.clone();
    if (count > 0) {
      cpu_mask_kernel("mask_offsets")(mask_loop(mask, off_cpu), {});
      cpu_mask_kernel("nonzero")(mask_loop(mask, nz_cpu), {});
      const kernels::MaskLoop off_loop = mask_loop(mask, off_dev), nz_loop = mask_loop(mask, nz_dev);
      for (int64_t e = 0; e < mask.numel(); ++e) {
        if (!im::mask_at(off_loop, e)) continue;
        im::write_mask_offset(off_loop, e, rank[static_cast<size_t>(e)]);
        im::write_nonzero(nz_loop, e, rank[static_cast<size_t>(e)]);
      }
    }
    EXPECT_TRUE(same_bits(off_cpu, off_dev)) << off_cpu << "\n" << off_dev;
    EXPECT_TRUE(same_bits(nz_cpu, nz_dev)) << nz_cpu << "\n" << nz_dev;
  }
}

// A stable sort of positions by radix key gives the CPU sort's permutation, in both directions.
TEST(CudaSortMath, KeysOrderLikeCpuSort) {
  manual_seed(15);
  for (Dtype dt : kAllDtypes) {
    Tensor line = random_values({203}, dt);
    if (is_floating(dt)) {
      // Ties, signed zeros, infinities and NaNs (the largest value, all equal).
      Tensor f = line.to(Dtype::Float64).contiguous();
      double* v = f.data<double>();
      const double specials[] = {0.0, -0.0, NAN, -NAN, INFINITY, -INFINITY, 1.5, 1.5, -0.0, NAN};
      for (size_t i = 0; i < std::size(specials); ++i) v[i * 17] = specials[i];
      for (int64_t i = 1; i < 203; i += 23) v[i] = v[i - 1];
      line = f.to(dt);
    }
    for (bool descending : {false, true}) {
      Tensor values = Tensor::empty({203}, dt), order = Tensor::empty({203}, Dtype::Int64);
      kernels::KernelParams params;
      params.i = descending ? 1 : 0;
      auto kernel = runtime::find_kernel<kernels::LineKernel>(runtime::op_id("sort"), kCPU, dt);
      kernel(runtime::make_line_loop(line, 0, values, &order), params);
      std::vector<int64_t> pos(203);
      std::iota(pos.begin(), pos.end(), 0);
      kernels::cuda::visit_storage(dt, [&](auto s) {
        using T = decltype(s);
        const T* x = reinterpret_cast<const T*>(line.data_ptr());
        std::stable_sort(pos.begin(), pos.end(), [&](int64_t a, int64_t b) {
          return sm::sort_key<T>(x[a], descending) < sm::sort_key<T>(x[b], descending);
        });
      });
      const int64_t* want = order.data<int64_t>();
      for (int64_t j = 0; j < 203; ++j)
        ASSERT_EQ(pos[static_cast<size_t>(j)], want[j])
            << dtype_name(dt) << " descending " << descending << " at " << j;
    }
  }
}

TEST(CudaSortMath, LineOffsetsWalkOuterDims) {
  const Tensor x = zeros({3, 4, 5}).permute({2, 0, 1});  // (5, 3, 4), lines along dim 1
  Tensor out = zeros({5, 3, 4}), out2 = zeros({5, 3, 4}, {Dtype::Int64});
  const kernels::LineLoop loop = runtime::make_line_loop(x, 1, out, &out2);
  std::vector<int64_t> seen;
  kernels::for_each_line(loop, [&](const char* in, char* o, char* o2) {
    seen.push_back(in - loop.in);
    seen.push_back(o - loop.out);
    seen.push_back(o2 - loop.out2);
  });
  ASSERT_EQ(static_cast<int64_t>(seen.size()), 3 * loop.outer_numel);
  for (int64_t o = 0; o < loop.outer_numel; ++o) {
    int64_t in, ou, ou2;
    sm::line_offsets(loop, o, in, ou, ou2);
    EXPECT_EQ(in, seen[static_cast<size_t>(3 * o)]);
    EXPECT_EQ(ou, seen[static_cast<size_t>(3 * o + 1)]);
    EXPECT_EQ(ou2, seen[static_cast<size_t>(3 * o + 2)]);
  }
}
