// Core: dtypes and promotion, shapes, views, copies and casts, elementwise ops, errors.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "lamina/lamina.h"
#include "lamina/ops/common.h"
#include "lamina/runtime/generator.h"

using namespace lamina;

namespace {
std::vector<float> values(const Tensor& t) {
  Tensor c = t.to(Dtype::Float32).contiguous();
  return std::vector<float>(c.data<float>(), c.data<float>() + c.numel());
}
}  // namespace

TEST(Core, PromotionTable) {
  EXPECT_EQ(promote_types(Dtype::Int8, Dtype::Int32), Dtype::Int32);
  EXPECT_EQ(promote_types(Dtype::UInt8, Dtype::Int8), Dtype::Int32);
  EXPECT_EQ(promote_types(Dtype::Int64, Dtype::Float16), Dtype::Float16);
  EXPECT_EQ(promote_types(Dtype::Float16, Dtype::BFloat16), Dtype::Float32);
  EXPECT_EQ(promote_types(Dtype::Bool, Dtype::UInt8), Dtype::UInt8);
  EXPECT_EQ(promote_types(Dtype::Float32, Dtype::Float64), Dtype::Float64);
  Tensor i = tensor<int32_t>({1, 2});
  Tensor wrapped_float = ops::wrapped_scalar(Scalar(2.5));
  EXPECT_EQ(ops::result_type({&i, &wrapped_float}), Dtype::Float32);
  Tensor zero_d_double = scalar_tensor(Scalar(1.0), Dtype::Float64);
  Tensor f = tensor<float>({1, 2});
  EXPECT_EQ(ops::result_type({&f, &zero_d_double}), Dtype::Float32);
  EXPECT_EQ(ops::result_type({&i, &zero_d_double}), Dtype::Float64);
}

TEST(Core, HalfConversionsRoundTrip) {
  for (float v : {0.0f, -0.0f, 1.0f, 0.1f, 65504.0f, 6.1e-5f, 5.96e-8f, -1234.5f}) {
    Half h(v);
    EXPECT_NEAR(static_cast<float>(h), v, std::fabs(v) * 1e-3f + 6e-8f) << v;
  }
  EXPECT_TRUE(std::isinf(static_cast<float>(Half(1e6f))));
  EXPECT_TRUE(std::isnan(static_cast<float>(Half(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_EQ(static_cast<float>(BFloat16(1.0f)), 1.0f);
  EXPECT_TRUE(std::isnan(static_cast<float>(BFloat16(std::numeric_limits<float>::quiet_NaN()))));
}

TEST(Core, ShapesAndBroadcasting) {
  EXPECT_EQ(broadcast_shapes({3, 1, 5}, {4, 1}, "t"), (Shape{3, 4, 5}));
  EXPECT_THROW(broadcast_shapes({2, 3}, {4}, "t"), ShapeError);
  EXPECT_EQ(contiguous_strides({2, 3, 4}), (Strides{12, 4, 1}));
  EXPECT_EQ(wrap_dim(-1, 3, "t"), 2);
  EXPECT_THROW(wrap_dim(3, 3, "t"), IndexError);
  Shape too_many(16, 1);
  EXPECT_THROW(too_many.push_back(1), ShapeError);
}

TEST(Core, ViewsShareStorageAndKeepItAlive) {
  Tensor base = arange(Scalar(int64_t{12})).to(Dtype::Float32);
  Tensor v = base.view({3, 4}).transpose(0, 1);
  EXPECT_FALSE(v.is_contiguous());
  EXPECT_EQ(v.storage(), base.storage());
  base = Tensor();
  EXPECT_EQ(values(v), (std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
  Tensor s = v.slice(0, 3, INT64_MIN, -2);  // rows 3, 1
  EXPECT_EQ(values(s), (std::vector<float>{3, 7, 11, 1, 5, 9}));
  EXPECT_THROW(v.view({12}), ShapeError);
  EXPECT_EQ(values(v.reshape({12}))[1], 4.0f);
}

TEST(Core, ElementwiseBroadcastPromote) {
  Tensor a = tensor<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = tensor<int64_t>({10, 20, 30});
  Tensor c = a + b;
  EXPECT_EQ(c.dtype(), Dtype::Float32);
  EXPECT_EQ(c.shape(), (Shape{2, 3}));
  EXPECT_EQ(values(c), (std::vector<float>{11, 22, 33, 14, 25, 36}));
  EXPECT_EQ(values(2 - a.t())[1], -2.0f);
  EXPECT_EQ(eq(a, Scalar(2)).dtype(), Dtype::Bool);
  EXPECT_EQ(values(where(gt(a, Scalar(3)), a, Scalar(0.0))), (std::vector<float>{0, 0, 0, 4, 5, 6}));
  EXPECT_EQ(values(clamp(a, Scalar(2), Scalar(4))), (std::vector<float>{2, 2, 3, 4, 4, 4}));
}

TEST(Core, FailedInplaceLeavesTensorUntouched) {
  Tensor a = tensor<int64_t>({1, 2, 3});
  uint64_t version = a.version();
  EXPECT_THROW(add_(a, Scalar(0.5)), DTypeError);
  EXPECT_THROW(add_(a, ones({2, 3}, {Dtype::Int64})), ShapeError);
  EXPECT_EQ(values(a), (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(a.version(), version);
  add_(a, Scalar(1));
  EXPECT_EQ(a.version(), version + 1);
  EXPECT_EQ(values(a), (std::vector<float>{2, 3, 4}));
}

TEST(Core, ErrorMessagesNameOpAndOperands) {
  try {
    add(ones({2, 3}), ones({4}));
    FAIL();
  } catch (const ShapeError& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.rfind("[add]", 0), 0u) << msg;
    EXPECT_NE(msg.find("(2, 3)"), std::string::npos);
    EXPECT_NE(msg.find("(4,)"), std::string::npos);
    EXPECT_EQ(e.op(), "add");
  }
  EXPECT_THROW(zeros({2}, {Dtype::Float32, Device{DeviceType::CUDA, 0}}), DeviceNotAvailableError);
  EXPECT_THROW(runtime::set_backend("bogus"), ConfigError);
  EXPECT_THROW(sub(tensor<bool>({true}), tensor<bool>({false})), DTypeError);
}

TEST(Core, DispatchKeyedByBackend) {
  runtime::OpId add_id = runtime::op_id("add");
  EXPECT_TRUE(runtime::has_kernel(add_id, kCPU, Dtype::Float32));
  EXPECT_FALSE(runtime::has_kernel(runtime::op_id("bitwise_and"), kCPU, Dtype::Float32));
  runtime::set_backend("cpu_scalar");
  Tensor r = tensor<float>({1, 2}) + tensor<float>({3, 4});
  runtime::set_backend("cpu_simd");
  EXPECT_EQ(values(r), (std::vector<float>{4, 6}));
  EXPECT_EQ(runtime::backend_name(), "cpu_simd");
}

TEST(Core, CastsSaturateAndRoundTrip) {
  Tensor f = tensor<double>({std::nan(""), 1e300, -1e300, 2.9, -2.9});
  Tensor i = f.to(Dtype::Int32);
  std::vector<int32_t> expect{0, std::numeric_limits<int32_t>::max(), std::numeric_limits<int32_t>::min(), 2, -2};
  for (int k = 0; k < 5; ++k) EXPECT_EQ(i.data<int32_t>()[k], expect[static_cast<size_t>(k)]);
  Tensor h = tensor<float>({1.5f, -2.25f}).to(Dtype::Float16).to(Dtype::Float32);
  EXPECT_EQ(values(h), (std::vector<float>{1.5f, -2.25f}));
}

TEST(Core, RandomIsSeededAndCounterBased) {
  manual_seed(42);
  Tensor a = randn({257});
  manual_seed(42);
  Tensor b = randn({257});
  EXPECT_EQ(values(a), values(b));
  uint32_t r1[4], r2[4];
  runtime::Philox::block(1, 2, 0, r1);
  runtime::Philox::block(1, 2, 0, r2);
  EXPECT_EQ(r1[3], r2[3]);
  runtime::Philox::block(1, 3, 0, r2);
  EXPECT_NE(r1[0], r2[0]);
}

TEST(Core, AllocatorStatsAndAlignment) {  // (more in test_allocator.cpp)
  auto before = runtime::memory_stats(kCPU);
  {
    Tensor t = empty({1000});
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data_ptr()) % runtime::kCpuAlignment, 0u);
    EXPECT_GE(runtime::memory_stats(kCPU).allocated_bytes, before.allocated_bytes + 4000);
  }
  EXPECT_EQ(runtime::memory_stats(kCPU).allocated_bytes, before.allocated_bytes);
}

TEST(Core, EmptyAndZeroDim) {
  Tensor e = zeros({0, 3});
  EXPECT_EQ((e + Scalar(1)).shape(), (Shape{0, 3}));
  Tensor s = scalar_tensor(Scalar(2.5));
  EXPECT_EQ(s.dim(), 0);
  EXPECT_DOUBLE_EQ((s * Scalar(2)).item<double>(), 5.0);
  EXPECT_THROW(ones({2}).item(), ShapeError);
}
