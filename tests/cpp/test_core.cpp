#include <gtest/gtest.h>

#include "lamina/lamina.h"

using namespace lamina;

TEST(Core, AddBroadcastAndPromote) {
  Tensor a = tensor<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = tensor<int64_t>({10, 20, 30});
  Tensor c = a + b;
  EXPECT_EQ(c.dtype(), Dtype::Float32);
  EXPECT_EQ(c.shape(), (Shape{2, 3}));
  EXPECT_FLOAT_EQ(c.data<float>()[5], 36.0f);
}
