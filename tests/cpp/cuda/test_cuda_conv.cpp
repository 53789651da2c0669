// The per-element functions of the CUDA window kernels (lamina/kernels/cuda/window_math.cuh),
// run over every element on the CPU against the CPU kernels of the same ops: im2col, col2im,
// max pooling (values, first-maximum argmax, NaN) and its gradient, for strides, padding and
// dilation.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "lamina/kernels/cuda/window_math.cuh"
#include "lamina/kernels/window.h"
#include "lamina/lamina.h"

using namespace lamina;
namespace kc = lamina::kernels::cuda;

namespace {

kernels::WindowGeometry geometry(int64_t n, int64_t c, int64_t h, int64_t w, int64_t k, int64_t s, int64_t p,
                                 int64_t d) {
  kernels::WindowGeometry g{n, c, h, w, k, k, s, s, p, p, d, d, 0, 0};
  g.oh = (h + 2 * p - (d * (k - 1) + 1)) / s + 1;
  g.ow = (w + 2 * p - (d * (k - 1) + 1)) / s + 1;
  return g;
}

template <class Fn>
Fn cpu_kernel(const char* op) {
  return runtime::find_kernel<Fn>(runtime::op_id(op), Device{}, Dtype::Float32);
}

std::vector<float> random_values(size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> dist(-8, 8);  // small integers: ties and exact sums
  std::vector<float> v(n);
  for (float& x : v) x = static_cast<float>(dist(gen)) * 0.5f;
  return v;
}

struct Case {
  int64_t h, w, k, s, p, d;
};

class CudaWindowMath : public testing::TestWithParam<Case> {};

TEST_P(CudaWindowMath, MatchesCpuKernels) {
  const Case cs = GetParam();
  const kernels::WindowGeometry g = geometry(2, 3, cs.h, cs.w, cs.k, cs.s, cs.p, cs.d);
  const int64_t planes = g.n * g.c, hw = g.h * g.w, plane = g.oh * g.ow, win = g.kh * g.kw;
  std::vector<float> x = random_values(static_cast<size_t>(planes * hw), 1);
  x[5] = NAN;  // a NaN wins its windows

  std::vector<float> cols_ref(static_cast<size_t>(planes * win * plane)), cols(cols_ref.size());
  cpu_kernel<kernels::Im2colKernel>("im2col")(g, x.data(), cols_ref.data(), 0, planes);
  for (size_t e = 0; e < cols.size(); ++e) cols[e] = kc::im2col_element(g, x.data(), static_cast<int64_t>(e));
  for (size_t e = 0; e < cols.size(); ++e)
    ASSERT_TRUE(cols[e] == cols_ref[e] || (std::isnan(cols[e]) && std::isnan(cols_ref[e]))) << "im2col " << e;

  const std::vector<float> gcols = random_values(cols.size(), 2);
  std::vector<float> gx_ref(x.size()), gx(x.size());
  cpu_kernel<kernels::Col2imKernel>("col2im")(g, gcols.data(), gx_ref.data(), 0, planes);
  for (size_t e = 0; e < gx.size(); ++e) gx[e] = kc::col2im_element(g, gcols.data(), static_cast<int64_t>(e));
  for (size_t e = 0; e < gx.size(); ++e) ASSERT_FLOAT_EQ(gx[e], gx_ref[e]) << "col2im " << e;

  if (2 * cs.p <= cs.k) {
    std::vector<float> out_ref(static_cast<size_t>(planes * plane)), out(out_ref.size());
    std::vector<int64_t> arg_ref(out.size()), arg(out.size());
    cpu_kernel<kernels::MaxPoolKernel>("max_pool2d")(g, x.data(), out_ref.data(), arg_ref.data(), 0, planes);
    for (size_t e = 0; e < out.size(); ++e) out[e] = kc::max_pool_element(g, x.data(), static_cast<int64_t>(e), arg[e]);
    for (size_t e = 0; e < out.size(); ++e) {
      ASSERT_TRUE(out[e] == out_ref[e] || (std::isnan(out[e]) && std::isnan(out_ref[e]))) << "max_pool " << e;
      ASSERT_EQ(arg[e], arg_ref[e]) << "argmax " << e;
    }
    const std::vector<float> gout = random_values(out.size(), 3);
    cpu_kernel<kernels::MaxPoolBackwardKernel>("max_pool2d_backward")(g, gout.data(), arg_ref.data(), gx_ref.data(), 0,
                                                                      planes);
    for (size_t e = 0; e < gx.size(); ++e)
      gx[e] = kc::max_pool_backward_element(g, gout.data(), arg.data(), static_cast<int64_t>(e));
    for (size_t e = 0; e < gx.size(); ++e) ASSERT_FLOAT_EQ(gx[e], gx_ref[e]) << "max_pool backward " << e;
  }
}

INSTANTIATE_TEST_SUITE_P(Geometries, CudaWindowMath,
                         testing::Values(Case{6, 7, 3, 1, 0, 1}, Case{9, 8, 3, 2, 1, 1}, Case{8, 8, 2, 2, 0, 1},
                                         Case{11, 9, 3, 1, 2, 2}, Case{7, 10, 5, 3, 2, 1}, Case{5, 5, 1, 1, 0, 1},
                                         Case{10, 6, 3, 2, 4, 2}));

}  // namespace
