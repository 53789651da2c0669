// The CUDA elementwise driver's per-thread code and every device functor, run on the CPU by the
// host emulation (same path choice, splitting and per-element code as the GPU launch) and compared
// with the CPU kernels on the same StridedLoop: contiguous (vector path with tail), broadcast
// scalars, misaligned, transposed, broadcast rows, 0-d, empty, and loops cut into 32-bit pieces.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "lamina/kernels/cpu/convert.h"
#include "lamina/kernels/cpu/loops.h"
#include "lamina/kernels/cuda/elementwise.cuh"
#include "lamina/kernels/cuda/functors.cuh"
#include "lamina/kernels/elementwise_table.h"
#include "lamina/lamina.h"
#include "lamina/runtime/loops.h"

namespace lamina {
namespace {

using kernels::KernelParams;
using kernels::StridedLoop;
using kernels::cuda::DtypeOfStorage;

// Random values suited to the dtype: floats in [-3, 3], integers small and signed where they can
// be, bool half true.
Tensor random_tensor(const Shape& shape, Dtype dt, std::mt19937& rng) {
  Tensor d = Tensor::empty(shape, Dtype::Float64);
  double* p = d.data<double>();
  std::uniform_real_distribution<double> uf(-3.0, 3.0);
  std::uniform_int_distribution<int> ui(dt == Dtype::UInt8 ? 0 : -20, 20);
  for (int64_t i = 0; i < d.numel(); ++i) {
    if (is_floating(dt))
      p[i] = uf(rng);
    else if (dt == Dtype::Bool)
      p[i] = ui(rng) > 0;
    else
      p[i] = ui(rng);
  }
  return d.to(dt);
}

// One operand layout: the shape every operand is broadcast to, and how each input is viewed.
enum class Layout { Contiguous, ScalarInput, Misaligned, Transposed, BroadcastRows, ZeroDim, Empty, Pieces };

struct Case {
  Tensor out_ref, out_emul;
  std::vector<Tensor> inputs;  // already broadcast to the output's shape
};

Case make_case(Layout layout, Dtype out_dt, const std::vector<Dtype>& in_dts, std::mt19937& rng) {
  Case c;
  auto make_out = [&](const Shape& s) {
    c.out_ref = Tensor::empty(s, out_dt);
    c.out_emul = Tensor::empty(s, out_dt);
  };
  for (size_t k = 0; k < in_dts.size(); ++k) {
    const Dtype dt = in_dts[k];
    switch (layout) {
      case Layout::Contiguous:
        make_out({1027});  // not a multiple of any vector width: a tail
        c.inputs.push_back(random_tensor({1027}, dt, rng));
        break;
      case Layout::ScalarInput:
        make_out({517});
        c.inputs.push_back(k == 0 ? random_tensor({517}, dt, rng) : random_tensor({}, dt, rng).expand({517}));
        break;
      case Layout::Misaligned:
        make_out({300});
        c.inputs.push_back(random_tensor({301}, dt, rng).slice(0, 1, 301));
        break;
      case Layout::Transposed:
        make_out({13, 17});
        c.inputs.push_back(random_tensor({17, 13}, dt, rng).transpose(0, 1));
        break;
      case Layout::BroadcastRows:
        make_out({9, 33});
        c.inputs.push_back(k == 0 ? random_tensor({9, 33}, dt, rng) : random_tensor({1, 33}, dt, rng).expand({9, 33}));
        break;
      case Layout::ZeroDim:
        make_out({});
        c.inputs.push_back(random_tensor({}, dt, rng));
        break;
      case Layout::Empty:
        make_out({0, 5});
        c.inputs.push_back(random_tensor({0, 5}, dt, rng));
        break;
      case Layout::Pieces:
        make_out({7, 11, 6});
        c.inputs.push_back(random_tensor({6, 11, 7}, dt, rng).permute({2, 1, 0}));
        break;
    }
  }
  if (in_dts.empty()) make_out(layout == Layout::Transposed ? Shape{13, 17} : Shape{1027});
  if (layout == Layout::Transposed && in_dts.empty())
    c.out_ref = c.out_ref.transpose(0, 1), c.out_emul = c.out_emul.transpose(0, 1);
  return c;
}

StridedLoop loop_of(const Tensor& out, const std::vector<Tensor>& inputs) {
  switch (inputs.size()) {
    case 0:
      return runtime::make_strided_loop({&out});
    case 1:
      return runtime::make_strided_loop({&out, &inputs[0]});
    case 2:
      return runtime::make_strided_loop({&out, &inputs[0], &inputs[1]});
    default:
      return runtime::make_strided_loop({&out, &inputs[0], &inputs[1], &inputs[2]});
  }
}

// Equal as values: NaN matches NaN, floats within a few units in the last place of their dtype.
void expect_close(const Tensor& ref, const Tensor& got, const std::string& what) {
  ASSERT_EQ(ref.shape(), got.shape()) << what;
  const Tensor r = ref.to(Dtype::Float64).contiguous(), g = got.to(Dtype::Float64).contiguous();
  const double* pr = r.data<double>();
  const double* pg = g.data<double>();
  const Dtype dt = ref.dtype();
  const double rel = dt == Dtype::Float64    ? 1e-12
                     : dt == Dtype::Float32  ? 4e-6
                     : dt == Dtype::BFloat16 ? 1e-2
                     : dt == Dtype::Float16  ? 2e-3
                                             : 0.0;
  for (int64_t i = 0; i < r.numel(); ++i) {
    if (std::isnan(pr[i]) && std::isnan(pg[i])) continue;
    if (pr[i] == pg[i]) continue;
    const double tol = rel * std::max(1.0, std::fabs(pr[i]));
    ASSERT_LE(std::fabs(pr[i] - pg[i]), tol) << what << " element " << i << ": cpu " << pr[i] << " emulated " << pg[i];
  }
}

template <class Op, size_t... K>
std::vector<Dtype> input_dtypes(std::index_sequence<K...>) {
  return {DtypeOfStorage<kernels::cuda::input_t<K, Op>>::value...};
}

// Runs the CPU kernel `name` (registered under kernel_dtype) and the emulated device op on the
// same operands in every layout, and compares.
template <class Op>
void check_op(const std::string& name, Dtype kernel_dtype, const KernelParams& params = {}) {
  std::mt19937 rng(std::hash<std::string>{}(name) ^ static_cast<unsigned>(kernel_dtype));
  const Dtype out_dt = DtypeOfStorage<typename Op::out_t>::value;
  const std::vector<Dtype> in_dts = input_dtypes<Op>(std::make_index_sequence<kernels::cuda::arity_v<Op>>{});
  auto cpu_kernel = runtime::find_kernel<kernels::ElementwiseKernel>(runtime::op_id(name), kCPU, kernel_dtype);
  const Op op(params);
  for (Layout layout : {Layout::Contiguous, Layout::ScalarInput, Layout::Misaligned, Layout::Transposed,
                        Layout::BroadcastRows, Layout::ZeroDim, Layout::Empty, Layout::Pieces}) {
    Case c = make_case(layout, out_dt, in_dts, rng);
    const std::string what = name + " (" + std::string(dtype_name(kernel_dtype)) + ", layout " +
                             std::to_string(static_cast<int>(layout)) + ")";
    fill_(c.out_ref, Scalar(0));
    fill_(c.out_emul, Scalar(1));  // poisoned: every element must be written
    const StridedLoop ref_loop = loop_of(c.out_ref, c.inputs);
    if (ref_loop.numel > 0) cpu_kernel(ref_loop, params);
    // Pieces: a tiny limit cuts the loop the way kStridedLimit cuts a huge one.
    const int64_t limit = layout == Layout::Pieces ? 40 : kernels::cuda::kStridedLimit;
    kernels::cuda::emulate_elementwise(loop_of(c.out_emul, c.inputs), op, limit);
    expect_close(c.out_ref, c.out_emul, what);
  }
}

template <template <class, class> class Wrapper, class Fn, class... Ts>
void check_table_entry(const char* name) {
  (check_op<Wrapper<Ts, Fn>>(name, DtypeOfStorage<Ts>::value), ...);
}

template <template <class, class> class Wrapper, class BoolFn>
void check_bool_variant(const char* name) {
  if constexpr (!std::is_same_v<BoolFn, kernels::NoFn>) check_op<Wrapper<bool, BoolFn>>(name, Dtype::Bool);
}

// Every row of kernels/elementwise_table.h, as the CUDA backend registers it (unary.cu, binary.cu).
#define LAMINA_CHECK_UNARY_ROW(name, kind, types, Fn, BoolFn, ...)                                                  \
  check_table_entry<LAMINA_IF_BOOL_RESULT(kind, kernels::cuda::UnaryToBoolOp, kernels::cuda::UnaryOp), kernels::Fn, \
                    LAMINA_CUDA_TYPES_##types>(#name);                                                              \
  check_bool_variant<kernels::cuda::UnaryOp, kernels::BoolFn>(#name);
#define LAMINA_CHECK_BINARY_ROW(name, kind, types, Fn, BoolFn, ...)                                                   \
  check_table_entry<LAMINA_IF_BOOL_RESULT(kind, kernels::cuda::BinaryToBoolOp, kernels::cuda::BinaryOp), kernels::Fn, \
                    LAMINA_CUDA_TYPES_##types>(#name);                                                                \
  check_bool_variant<kernels::cuda::BinaryOp, kernels::BoolFn>(#name);

TEST(CudaElementwiseHost, EveryUnaryOpMatchesTheCpuKernel){LAMINA_UNARY_TABLE(LAMINA_CHECK_UNARY_ROW)}

TEST(CudaElementwiseHost, EveryBinaryOpMatchesTheCpuKernel) {
  LAMINA_BINARY_TABLE(LAMINA_CHECK_BINARY_ROW)
}

template <class... Ts>
void check_where_clamp() {
  (check_op<kernels::cuda::WhereOp<Ts>>("where", DtypeOfStorage<Ts>::value), ...);
}

TEST(CudaElementwiseHost, WhereAndClampMatchTheCpuKernels) {
  check_where_clamp<LAMINA_CUDA_ALL_TYPES>();
  auto clamp = [](auto t) {
    using T = decltype(t);
    check_op<kernels::cuda::ClampOp<T>>("clamp", DtypeOfStorage<T>::value);
  };
  (clamp(uint8_t{}), clamp(int8_t{}), clamp(int32_t{}), clamp(int64_t{}), clamp(__half{}), clamp(__nv_bfloat16{}),
   clamp(float{}), clamp(double{}));
}

template <class To, class... Froms>
void check_copies_to() {
  auto one = [](auto from) {
    using From = decltype(from);
    KernelParams p;
    p.i = static_cast<int64_t>(DtypeOfStorage<From>::value);
    check_op<kernels::cuda::ConvertOp<To, From>>("copy", DtypeOfStorage<To>::value, p);
  };
  (one(Froms{}), ...);
}

TEST(CudaElementwiseHost, CopyBetweenEveryPairOfDtypesMatchesTheCpuKernel) {
  auto to = [](auto t) { check_copies_to<decltype(t), LAMINA_CUDA_ALL_TYPES>(); };
  (to(bool{}), to(uint8_t{}), to(int8_t{}), to(int32_t{}), to(int64_t{}), to(__half{}), to(__nv_bfloat16{}),
   to(float{}), to(double{}));
}

TEST(CudaElementwiseHost, SaturatingCastsOfSpecialFloats) {
  // NaN and out-of-range floats have defined integer results, the CPU kernel's.
  const float specials[] = {NAN, INFINITY, -INFINITY, 3e9f, -3e9f, 127.9f, -128.9f, 255.5f};
  for (float f : specials) {
    EXPECT_EQ(kernels::cuda::convert<int32_t>(f), kernels::cpu::convert<int32_t>(f)) << f;
    EXPECT_EQ(kernels::cuda::convert<int8_t>(f), kernels::cpu::convert<int8_t>(f)) << f;
    EXPECT_EQ(kernels::cuda::convert<uint8_t>(f), kernels::cpu::convert<uint8_t>(f)) << f;
    EXPECT_EQ(kernels::cuda::convert<int64_t>(f), kernels::cpu::convert<int64_t>(f)) << f;
    EXPECT_EQ(kernels::cuda::convert<bool>(f), kernels::cpu::convert<bool>(f)) << f;
  }
}

TEST(CudaElementwiseHost, FillWritesEveryElement) {
  auto one = [](auto t) {
    using T = decltype(t);
    KernelParams p;
    p.a = -2.5;
    p.i = 7;
    check_op<kernels::cuda::FillOp<T>>("fill", DtypeOfStorage<T>::value, p);
  };
  (one(bool{}), one(uint8_t{}), one(int8_t{}), one(int32_t{}), one(int64_t{}), one(__half{}), one(__nv_bfloat16{}),
   one(float{}), one(double{}));
}

TEST(CudaElementwiseHost, PathChoice) {
  using AddF = kernels::cuda::BinaryOp<float, kernels::AddFn>;
  static_assert(kernels::cuda::vec_width_v<AddF> == 4);
  static_assert(kernels::cuda::vec_width_v<kernels::cuda::BinaryOp<__half, kernels::AddFn>> == 8);
  static_assert(kernels::cuda::vec_width_v<kernels::cuda::ConvertOp<float, double>> == 2);
  Tensor a = Tensor::empty({64}), b = Tensor::empty({64}), out = Tensor::empty({64});
  EXPECT_TRUE(kernels::cuda::takes_vector_path<AddF>(runtime::make_strided_loop({&out, &a, &b})));
  Tensor b_misaligned = Tensor::empty({65}).slice(0, 1, 65);
  EXPECT_FALSE(kernels::cuda::takes_vector_path<AddF>(runtime::make_strided_loop({&out, &a, &b_misaligned})));
  Tensor scalar = Tensor::empty({}).expand({64});
  EXPECT_TRUE(kernels::cuda::takes_vector_path<AddF>(runtime::make_strided_loop({&out, &a, &scalar})));
}

TEST(CudaElementwiseHost, PiecesCoverEveryElementOnce) {
  // A loop whose single rows exceed the limit is cut row by row and then within rows.
  Tensor base = Tensor::empty({5, 40, 3});
  Tensor out = base.permute({2, 1, 0});  // strided: no dims merge
  const StridedLoop loop = runtime::make_strided_loop({&out});
  for (int64_t limit : {2, 7, 41, 150, 10000}) {
    std::vector<int> hits(600, 0);
    int64_t total = 0;
    kernels::cuda::for_each_piece(loop, limit, [&](const StridedLoop& part) {
      EXPECT_LT(part.numel, limit);
      auto args = kernels::cuda::make_strided_args(part);
      for (uint32_t i = 0; i < args.numel; ++i) {
        int64_t off[kernels::kMaxOperands];
        args.calc.offsets(i, off);
        const int64_t elem = (args.data[0] + off[0] - static_cast<char*>(base.data_ptr())) / 4;
        ASSERT_GE(elem, 0);
        ASSERT_LT(elem, 600);
        ++hits[elem];
      }
      total += part.numel;
    });
    EXPECT_EQ(total, 600);
    for (int h : hits) EXPECT_EQ(h, 1);
  }
}

}  // namespace
}  // namespace lamina
