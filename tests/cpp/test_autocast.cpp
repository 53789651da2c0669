// Autocast (lamina/ops/autocast.h): the guard's state and nesting, the cast rules of each
// policy through LAMINA_AUTOCAST on probe ops defined here, the cast cache, and the hooked
// nn::functional ops (dtypes, gradients reaching float32 leaves in float32).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "lamina/lamina.h"
#include "lamina/nn/nn.h"
#include "lamina/ops/autocast.h"

using namespace lamina;
namespace F = lamina::nn::functional;
namespace ag = lamina::autograd;
using autocast::AutocastGuard;
using autocast::CastPolicy;

namespace {

// The dtypes the probe ops saw, in argument order.
std::vector<Dtype> g_seen;

void see(const Tensor& t) { g_seen.push_back(t.defined() ? t.dtype() : Dtype::Bool); }

Tensor lower_probe(const Tensor& a, const Tensor& b) {
  LAMINA_AUTOCAST(CastPolicy::LowerPrecision, lower_probe, a, b);
  see(a);
  see(b);
  return a;
}

Tensor fp32_probe(const Tensor& a, double scale) {
  LAMINA_AUTOCAST(CastPolicy::Fp32, fp32_probe, a, scale);
  see(a);
  return mul(a, Scalar(scale));
}

Tensor promote_probe(const std::vector<Tensor>& ts, const std::optional<Tensor>& extra) {
  LAMINA_AUTOCAST(CastPolicy::Promote, promote_probe, ts, extra);
  for (const Tensor& t : ts) see(t);
  if (extra) see(*extra);
  return ts[0];
}

// A lower-precision op whose body calls an fp32 op: the inner op runs as called (no recast).
Tensor nested_probe(const Tensor& a) {
  LAMINA_AUTOCAST(CastPolicy::LowerPrecision, nested_probe, a);
  see(a);
  return fp32_probe(a, 1.0);
}

std::vector<Dtype> seen(auto&& call) {
  g_seen.clear();
  call();
  return g_seen;
}

Tensor f32(const Shape& shape, double offset = 0.0, bool grad = false) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<float> v;
  for (int64_t i = 0; i < n; ++i) v.push_back(static_cast<float>(std::sin(0.7 * static_cast<double>(i) + offset)));
  Tensor t = tensor<float>(v, shape);
  if (grad) ag::set_requires_grad(t, true);
  return t;
}

using D = std::vector<Dtype>;

}  // namespace

TEST(Autocast, StateDefaultsAndGuardRestores) {
  EXPECT_FALSE(autocast::is_enabled(DeviceType::CPU));
  EXPECT_FALSE(autocast::is_enabled(DeviceType::CUDA));
  EXPECT_EQ(autocast::get_dtype(DeviceType::CPU), Dtype::BFloat16);
  EXPECT_EQ(autocast::get_dtype(DeviceType::CUDA), Dtype::Float16);
  EXPECT_TRUE(autocast::is_cache_enabled());
  {
    AutocastGuard g(DeviceType::CPU, Dtype::Float16, true, false);
    EXPECT_TRUE(autocast::is_enabled(DeviceType::CPU));
    EXPECT_FALSE(autocast::is_enabled(DeviceType::CUDA));
    EXPECT_EQ(autocast::get_dtype(DeviceType::CPU), Dtype::Float16);
    EXPECT_FALSE(autocast::is_cache_enabled());
    {
      AutocastGuard off(DeviceType::CPU, std::nullopt, false);
      EXPECT_FALSE(autocast::is_enabled(DeviceType::CPU));
      EXPECT_EQ(autocast::get_dtype(DeviceType::CPU), Dtype::Float16);
    }
    EXPECT_TRUE(autocast::is_enabled(DeviceType::CPU));
  }
  EXPECT_FALSE(autocast::is_enabled(DeviceType::CPU));
  EXPECT_EQ(autocast::get_dtype(DeviceType::CPU), Dtype::BFloat16);
  EXPECT_TRUE(autocast::is_cache_enabled());
}

TEST(Autocast, UnsupportedDtypeIsDTypeError) {
  EXPECT_THROW(AutocastGuard(DeviceType::CPU, Dtype::Float32), DTypeError);
  EXPECT_THROW(AutocastGuard(DeviceType::CUDA, Dtype::Int32), DTypeError);
  EXPECT_THROW(autocast::set_dtype(DeviceType::CPU, Dtype::Float64), DTypeError);
  EXPECT_FALSE(autocast::is_enabled(DeviceType::CPU));  // a failed guard changed nothing
  EXPECT_EQ(autocast::get_dtype(DeviceType::CPU), Dtype::BFloat16);
  {
    AutocastGuard disabled(DeviceType::CPU, Dtype::Float32, false);  // torch accepts it when disabled
    EXPECT_EQ(autocast::get_dtype(DeviceType::CPU), Dtype::BFloat16);
  }
}

TEST(Autocast, LowerPrecisionPolicy) {
  const Tensor a = f32({2, 2}), b = f32({2, 2}, 1.0);
  EXPECT_EQ(seen([&] { lower_probe(a, b); }), (D{Dtype::Float32, Dtype::Float32}));
  AutocastGuard g(DeviceType::CPU);
  EXPECT_EQ(seen([&] { lower_probe(a, b); }), (D{Dtype::BFloat16, Dtype::BFloat16}));
  // float16 goes to the autocast dtype too; float64 and integers are left alone.
  EXPECT_EQ(seen([&] { lower_probe(a.to(Dtype::Float16), b.to(Dtype::Float64)); }),
            (D{Dtype::BFloat16, Dtype::Float64}));
  EXPECT_EQ(seen([&] { lower_probe(a.to(Dtype::Int32), Tensor()); }), (D{Dtype::Int32, Dtype::Bool}));
  {
    AutocastGuard half(DeviceType::CPU, Dtype::Float16);
    EXPECT_EQ(seen([&] { lower_probe(a, b.to(Dtype::BFloat16)); }), (D{Dtype::Float16, Dtype::Float16}));
  }
}

TEST(Autocast, Fp32PolicyAndPromotePolicy) {
  const Tensor a = f32({3});
  AutocastGuard g(DeviceType::CPU);
  EXPECT_EQ(seen([&] { fp32_probe(a.to(Dtype::BFloat16), 2.0); }), (D{Dtype::Float32}));
  EXPECT_EQ(seen([&] { fp32_probe(a.to(Dtype::Float16), 2.0); }), (D{Dtype::Float32}));
  EXPECT_EQ(seen([&] { fp32_probe(a.to(Dtype::Float64), 2.0); }), (D{Dtype::Float64}));
  EXPECT_EQ(fp32_probe(a.to(Dtype::BFloat16), 2.0).dtype(), Dtype::Float32);
  EXPECT_EQ(seen([&] {
              promote_probe({a.to(Dtype::BFloat16), a}, std::nullopt);
            }),
            (D{Dtype::Float32, Dtype::Float32}));
  EXPECT_EQ(seen([&] {
              promote_probe({a.to(Dtype::BFloat16), a.to(Dtype::Float16)}, a.to(Dtype::Int64));
            }),
            (D{Dtype::Float32, Dtype::Float32, Dtype::Int64}));
  EXPECT_EQ(seen([&] {
              promote_probe({a, a.to(Dtype::BFloat16)}, a.to(Dtype::Float64));
            }),
            (D{Dtype::Float64, Dtype::Float64, Dtype::Float64}));
  EXPECT_EQ(seen([&] { promote_probe({a.to(Dtype::BFloat16)}, a.to(Dtype::BFloat16)); }),
            (D{Dtype::BFloat16, Dtype::BFloat16}));
}

TEST(Autocast, InnerOpsRunAsCalledAndOtherDeviceTypesAreUntouched) {
  const Tensor a = f32({2});
  {
    AutocastGuard g(DeviceType::CPU);
    // nested_probe saw bfloat16; the fp32 op it calls is not cast up again inside it.
    EXPECT_EQ(seen([&] { nested_probe(a); }), (D{Dtype::BFloat16, Dtype::BFloat16}));
    EXPECT_TRUE(autocast::is_enabled(DeviceType::CPU));
  }
  AutocastGuard cuda_only(DeviceType::CUDA);
  EXPECT_EQ(seen([&] { lower_probe(a, a); }), (D{Dtype::Float32, Dtype::Float32}));
  EXPECT_EQ(seen([&] { fp32_probe(a.to(Dtype::BFloat16), 1.0); }), (D{Dtype::BFloat16}));
}

TEST(Autocast, ExcludeGuardSuspendsWithoutChangingState) {
  AutocastGuard g(DeviceType::CPU);
  const Tensor a = f32({2});
  {
    autocast::ExcludeGuard ex(DeviceType::CPU);
    EXPECT_TRUE(autocast::is_enabled(DeviceType::CPU));
    EXPECT_EQ(seen([&] { lower_probe(a, a); }), (D{Dtype::Float32, Dtype::Float32}));
  }
  EXPECT_EQ(seen([&] { lower_probe(a, a); }), (D{Dtype::BFloat16, Dtype::BFloat16}));
}

TEST(Autocast, LinearGradientsReachFloat32Leaves) {
  Tensor w = f32({3, 4}, 0.5, true), b = f32({3}, 1.5, true);
  const Tensor x = f32({5, 4});
  Tensor y;
  {
    AutocastGuard g(DeviceType::CPU);
    y = F::linear(x, w, b);
    EXPECT_EQ(y.dtype(), Dtype::BFloat16);
  }
  ag::backward({sum(y.to(Dtype::Float32))});
  const Tensor gw = ag::grad(w), gb = ag::grad(b);
  ASSERT_TRUE(gw.defined() && gb.defined());
  EXPECT_EQ(gw.dtype(), Dtype::Float32);
  EXPECT_EQ(gb.dtype(), Dtype::Float32);
  // d sum(x w^T + b) / dw = column sums of x, per output row (x is exact in bfloat16 within 2^-8).
  const Tensor expect = sum(x.to(Dtype::BFloat16).to(Dtype::Float32), std::vector<int64_t>{0});
  for (int64_t o = 0; o < 3; ++o)
    for (int64_t i = 0; i < 4; ++i)
      EXPECT_NEAR(gw.select(0, o).select(0, i).item<float>(), expect.select(0, i).item<float>(), 2e-2);
  EXPECT_NEAR(gb.select(0, 0).item<float>(), 5.0f, 1e-6);
}

TEST(Autocast, CastCacheWithinARegion) {
  Tensor w = f32({3, 4}, 0.5, true);
  const Tensor x = f32({2, 4});
  {
    AutocastGuard g(DeviceType::CPU);
    const Tensor y1 = F::linear(x, w), y2 = F::linear(x, w);
    EXPECT_EQ(autocast::cache_size(), 1u);  // w only: x is not a leaf that requires grad
    ag::backward({add(sum(y1), sum(y2)).to(Dtype::Float32)});
    {
      AutocastGuard inner(DeviceType::CPU);
      F::linear(x, w);
      EXPECT_EQ(autocast::cache_size(), 1u);
    }
    EXPECT_EQ(autocast::cache_size(), 1u);  // only the outermost exit clears it
  }
  EXPECT_EQ(autocast::cache_size(), 0u);
  ASSERT_TRUE(ag::grad(w).defined());
  EXPECT_EQ(ag::grad(w).dtype(), Dtype::Float32);
  {
    AutocastGuard g(DeviceType::CPU, std::nullopt, true, /*cache_enabled=*/false);
    F::linear(x, w);
    EXPECT_EQ(autocast::cache_size(), 0u);
  }
}

TEST(Autocast, CacheSeesInPlaceUpdatesAndGradMode) {
  Tensor w = f32({2, 2}, 0.0, true);
  const Tensor x = eye(2, 2, {Dtype::Float32});
  AutocastGuard g(DeviceType::CPU);
  {
    ag::NoGradGuard no_grad;
    EXPECT_FALSE(ag::requires_grad(F::linear(x, w)));
  }
  // A cast made under no_grad is not reused when recording: the result still has a graph.
  EXPECT_TRUE(ag::requires_grad(F::linear(x, w)));
  const float before = F::linear(x, w).select(0, 0).select(0, 0).item<float>();
  {
    ag::NoGradGuard no_grad;
    add_(w, Scalar(1.0));  // an optimizer step inside the region
  }
  const float after = F::linear(x, w).select(0, 0).select(0, 0).item<float>();
  EXPECT_NEAR(after - before, 1.0f, 1e-2);
}

TEST(Autocast, FunctionalFp32OpsAndModules) {
  AutocastGuard g(DeviceType::CPU);
  const Tensor xb = f32({4, 6}).to(Dtype::BFloat16);
  EXPECT_EQ(F::layer_norm(xb, {6}, f32({6}), f32({6}, 1.0)).dtype(), Dtype::Float32);
  EXPECT_EQ(F::rms_norm(xb, {6}, f32({6})).dtype(), Dtype::Float32);
  EXPECT_EQ(F::group_norm(xb.reshape({2, 4, 3}), 2, f32({4}), f32({4})).dtype(), Dtype::Float32);
  const Tensor target = tensor<int64_t>({0, 5, 2, 1}, {4});
  EXPECT_EQ(F::cross_entropy(xb, target).dtype(), Dtype::Float32);
  EXPECT_EQ(F::nll_loss(xb, target).dtype(), Dtype::Float32);
  EXPECT_EQ(F::mse_loss(xb, f32({4, 6})).dtype(), Dtype::Float32);
  EXPECT_EQ(F::l1_loss(xb, xb).dtype(), Dtype::Float32);
  EXPECT_EQ(F::smooth_l1_loss(xb, xb).dtype(), Dtype::Float32);
  EXPECT_EQ(F::kl_div(xb, xb).dtype(), Dtype::Float32);
  EXPECT_EQ(F::binary_cross_entropy_with_logits(xb, xb).dtype(), Dtype::Float32);
  EXPECT_EQ(F::binary_cross_entropy(sigmoid(xb), sigmoid(xb)).dtype(), Dtype::Float32);
  EXPECT_EQ(nn::Softmax(1).forward(xb).dtype(), Dtype::Float32);
  EXPECT_EQ(nn::LogSoftmax(1).forward(xb).dtype(), Dtype::Float32);
  nn::Linear lin(6, 3);
  EXPECT_EQ(lin.forward(f32({4, 6})).dtype(), Dtype::BFloat16);
  EXPECT_EQ(F::linear(f32({4, 6}).to(Dtype::Float64), lin.weight().to(Dtype::Float64)).dtype(), Dtype::Float64);
  // Ops outside the lists keep their input dtype.
  EXPECT_EQ(relu(xb).dtype(), Dtype::BFloat16);
}

TEST(Autocast, CachedCastSurvivesABackwardInsideTheRegion) {
  Tensor w = f32({3, 4}, 0.5, true);
  const Tensor x = f32({2, 4});
  AutocastGuard g(DeviceType::CPU);
  ag::backward({sum(F::linear(x, w)).to(Dtype::Float32)});
  const std::vector<float> first = [&] {
    Tensor c = ag::grad(w).contiguous();
    return std::vector<float>(c.data<float>(), c.data<float>() + c.numel());
  }();
  // A second micro-batch in the same region: the released cast node is not reused.
  ag::backward({sum(F::linear(x, w)).to(Dtype::Float32)});
  Tensor c = ag::grad(w).contiguous();
  for (int64_t i = 0; i < c.numel(); ++i) EXPECT_FLOAT_EQ(c.data<float>()[i], 2 * first[static_cast<size_t>(i)]);
}

TEST(Autocast, Fp32ElementwiseListIsAConstant) {
  static_assert(autocast::is_fp32_op("exp") && autocast::is_fp32_op("pow") && autocast::is_fp32_op("log1p"));
  static_assert(!autocast::is_fp32_op("relu") && !autocast::is_fp32_op("add") && !autocast::is_fp32_op("ex"));
  SUCCEED();
}
