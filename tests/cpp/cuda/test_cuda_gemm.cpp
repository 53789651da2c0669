// The row-major -> cuBLASLt column-major mapping (lamina/kernels/cuda/gemm_layout.h), checked by running
// the column-major GEMM it describes naively on host data against a row-major reference.
#include <gtest/gtest.h>

#include <vector>

#include "lamina/kernels/cuda/gemm_layout.h"

namespace {

using lamina::cuda::lt_layout;
using lamina::cuda::LtGemm;

// op(X)(i, j) of a column-major stored operand.
double lt_at(const std::vector<double>& data, const lamina::cuda::LtOperand& o, int64_t i, int64_t j) {
  return o.trans ? data[static_cast<size_t>(j + i * o.ld)] : data[static_cast<size_t>(i + j * o.ld)];
}

// A strided row-major matrix: rows x cols in a buffer with strides (rs, cs) in elements.
struct Strided {
  int64_t rows, cols, rs, cs;
  std::vector<double> data;
  Strided(int64_t r, int64_t c, int64_t rs_, int64_t cs_, double seed) : rows(r), cols(c), rs(rs_), cs(cs_) {
    const int64_t span = (r - 1) * rs + (c - 1) * cs + 1;
    data.assign(static_cast<size_t>(span), -999.0);
    for (int64_t i = 0; i < r; ++i)
      for (int64_t j = 0; j < c; ++j)
        data[static_cast<size_t>(i * rs + j * cs)] = seed + 0.5 * i - 0.25 * j + 0.1 * i * j;
  }
  double at(int64_t i, int64_t j) const { return data[static_cast<size_t>(i * rs + j * cs)]; }
};

void check_product(int64_t m, int64_t n, int64_t k, int64_t a_rs, int64_t a_cs, int64_t b_rs, int64_t b_cs) {
  SCOPED_TRACE(testing::Message() << "m=" << m << " n=" << n << " k=" << k << " A(" << a_rs << "," << a_cs << ") B("
                                  << b_rs << "," << b_cs << ")");
  Strided A(m, k, a_rs, a_cs, 1.0), B(k, n, b_rs, b_cs, -2.0);
  const auto layout = lt_layout(m, n, k, a_rs, a_cs, b_rs, b_cs);
  ASSERT_TRUE(layout.has_value());
  const LtGemm& L = *layout;
  EXPECT_EQ(L.m, n);
  EXPECT_EQ(L.n, m);
  EXPECT_EQ(L.k, k);
  // The stored shapes and leading dimensions cuBLASLt validates.
  for (const auto* o : {&L.a, &L.b}) {
    EXPECT_GE(o->ld, std::max<int64_t>(1, o->rows));
  }
  EXPECT_EQ(L.a.trans ? L.a.cols : L.a.rows, L.m);
  EXPECT_EQ(L.a.trans ? L.a.rows : L.a.cols, L.k);
  EXPECT_EQ(L.b.trans ? L.b.cols : L.b.rows, L.k);
  EXPECT_EQ(L.b.trans ? L.b.rows : L.b.cols, L.n);
  // D (column-major, ldc) = op(a) @ op(b) with a = B's buffer and b = A's buffer.
  std::vector<double> d(static_cast<size_t>(L.ldc * L.n), 0.0);
  for (int64_t i = 0; i < L.m; ++i)
    for (int64_t j = 0; j < L.n; ++j) {
      double s = 0;
      for (int64_t p = 0; p < L.k; ++p) s += lt_at(B.data, L.a, i, p) * lt_at(A.data, L.b, p, j);
      d[static_cast<size_t>(i + j * L.ldc)] = s;
    }
  // Read back as the row-major m x n C.
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double ref = 0;
      for (int64_t p = 0; p < k; ++p) ref += A.at(i, p) * B.at(p, j);
      EXPECT_DOUBLE_EQ(d[static_cast<size_t>(i * n + j)], ref) << "C[" << i << "][" << j << "]";
    }
}

TEST(CudaGemmLayout, EveryStrideCase) {
  const int64_t m = 5, n = 3, k = 4;
  // A row-major, column-major, with padded leading dims; the same for B.
  const std::vector<std::pair<int64_t, int64_t>> a_cases{{k, 1}, {1, m}, {k + 3, 1}, {1, m + 2}};
  const std::vector<std::pair<int64_t, int64_t>> b_cases{{n, 1}, {1, k}, {n + 2, 1}, {1, k + 5}};
  for (auto [ars, acs] : a_cases)
    for (auto [brs, bcs] : b_cases) check_product(m, n, k, ars, acs, brs, bcs);
}

TEST(CudaGemmLayout, VectorsAndSizeOneDims) {
  // Size-1 dims carry arbitrary strides (sliced or broadcast views); leading dims stay valid.
  check_product(1, 4, 3, 0, 1, 4, 1);  // row vector @ matrix, A row stride unused
  check_product(1, 4, 3, 7, 1, 1, 3);  // row vector @ column-major matrix
  check_product(4, 1, 3, 3, 1, 5, 9);  // matrix @ column vector with odd strides
  check_product(4, 1, 3, 1, 4, 1, 0);  // column-major matrix @ vector with unit row stride
  check_product(1, 1, 6, 2, 1, 1, 2);  // dot product
  check_product(3, 2, 1, 1, 1, 2, 1);  // outer product (k = 1)
  check_product(3, 2, 1, 1, 3, 1, 3);  // outer product, column-major operands
}

TEST(CudaGemmLayout, NeedsCopyWithoutUnitStride) {
  EXPECT_FALSE(lt_layout(3, 3, 3, 6, 2, 3, 1).has_value());  // A: strides (6, 2)
  EXPECT_FALSE(lt_layout(3, 3, 3, 3, 1, 2, 2).has_value());  // B: strides (2, 2)
  EXPECT_FALSE(lt_layout(3, 4, 3, 3, 1, 1, 2).has_value());  // B column-major with ld < rows
}

TEST(CudaGemmLayout, UniformBatchOffsets) {
  int64_t stride = -1;
  const int64_t even[] = {0, 48, 96, 144};
  EXPECT_TRUE(lamina::cuda::uniform_offsets(even, 4, stride));
  EXPECT_EQ(stride, 48);
  const int64_t broadcast[] = {16, 16, 16};
  EXPECT_TRUE(lamina::cuda::uniform_offsets(broadcast, 3, stride));
  EXPECT_EQ(stride, 0);
  const int64_t uneven[] = {0, 48, 64};
  EXPECT_FALSE(lamina::cuda::uniform_offsets(uneven, 3, stride));
  const int64_t one[] = {32};
  EXPECT_TRUE(lamina::cuda::uniform_offsets(one, 1, stride));
  EXPECT_EQ(stride, 0);
}

}  // namespace
