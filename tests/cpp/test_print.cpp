// Tensor::str matches PyTorch's repr character for character (with "lamina." for "torch.").
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "lamina/lamina.h"

using namespace lamina;

namespace {

// Restores the default print options when a test ends, pass or fail.
struct PrintGuard {
  PrintGuard() { set_printoptions(PrintOptions{}); }
  ~PrintGuard() { set_printoptions(PrintOptions{}); }
};

Tensor ints(int64_t n, Dtype dt = Dtype::Int64) { return arange(Scalar(n)).to(dt); }

}  // namespace

TEST(Print, FloatIntegerValues) {
  PrintGuard g;
  EXPECT_EQ(tensor<float>({1, 2, 3}).str(), "tensor([1., 2., 3.])");
  EXPECT_EQ(tensor<float>({1, 10, 100}).str(), "tensor([  1.,  10., 100.])");
  EXPECT_EQ(tensor<float>({-0.0f}).str(), "tensor([-0.])");
  EXPECT_EQ(zeros({2}).str(), "tensor([0., 0.])");
}

TEST(Print, FixedPointWithCommonWidth) {
  PrintGuard g;
  EXPECT_EQ(tensor<float>({1.5f, -2.0f, 3.0f, 4.0f}, {2, 2}).str(),
            "tensor([[ 1.5000, -2.0000],\n        [ 3.0000,  4.0000]])");
  EXPECT_EQ(tensor<float>({100.0f, 0.5f}).str(), "tensor([100.0000,   0.5000])");
  EXPECT_EQ(tensor<float>({0.12345f}).str(), "tensor([0.1235])");
}

TEST(Print, Integers) {
  PrintGuard g;
  EXPECT_EQ(tensor<int64_t>({1, 2, 3}).str(), "tensor([1, 2, 3])");
  EXPECT_EQ(tensor<int64_t>({-1, 10}).str(), "tensor([-1, 10])");
  EXPECT_EQ(tensor<int64_t>({1, -2, 3, 4}, {2, 2}).str(), "tensor([[ 1, -2],\n        [ 3,  4]])");
  EXPECT_EQ(tensor<int64_t>({9007199254740993LL}).str(), "tensor([9007199254740993])");  // exact beyond 2^53
  EXPECT_EQ(tensor<uint8_t>({0, 255}).str(), "tensor([  0, 255], dtype=lamina.uint8)");
  EXPECT_EQ(tensor<int8_t>({-128, 5}).str(), "tensor([-128,    5], dtype=lamina.int8)");
}

TEST(Print, Bool) {
  PrintGuard g;
  EXPECT_EQ(tensor<bool>({true, false}).str(), "tensor([ True, False])");
  EXPECT_EQ(tensor<bool>({true, true}).str(), "tensor([True, True])");
}

TEST(Print, ZeroDim) {
  PrintGuard g;
  EXPECT_EQ(scalar_tensor(Scalar(3.5)).str(), "tensor(3.5000)");
  EXPECT_EQ(scalar_tensor(Scalar(2.0)).str(), "tensor(2.)");
  EXPECT_EQ(scalar_tensor(Scalar(int64_t{7})).str(), "tensor(7)");
  EXPECT_EQ(scalar_tensor(Scalar(int64_t{7}), Dtype::Int32).str(), "tensor(7, dtype=lamina.int32)");
  EXPECT_EQ(scalar_tensor(Scalar(true)).str(), "tensor(True)");
  EXPECT_EQ(scalar_tensor(Scalar(1e-5)).str(), "tensor(1.0000e-05)");
  EXPECT_EQ(scalar_tensor(Scalar(65504.0), Dtype::Float16).str(), "tensor(65504., dtype=lamina.float16)");
}

TEST(Print, ScientificNotation) {
  PrintGuard g;
  EXPECT_EQ(tensor<float>({1e-5f, 1e5f}).str(), "tensor([1.0000e-05, 1.0000e+05])");
  EXPECT_EQ(tensor<double>({1e9, 1.0}).str(), "tensor([1.0000e+09, 1.0000e+00], dtype=lamina.float64)");
  EXPECT_EQ(tensor<float>({5e-5f, 0.01f}).str(), "tensor([5.0000e-05, 1.0000e-02])");  // min below 1e-4
  EXPECT_EQ(tensor<float>({1.0f, 1001.0f}).str(), "tensor([1.0000e+00, 1.0010e+03])");  // ratio above 1000
  EXPECT_EQ(tensor<float>({1.0f, 1000.0f}).str(), "tensor([   1., 1000.])");            // ratio exactly 1000
}

TEST(Print, NanAndInfinity) {
  PrintGuard g;
  EXPECT_EQ(tensor<float>({NAN, INFINITY, -INFINITY, 1.0f}).str(), "tensor([nan, inf, -inf, 1.])");
  EXPECT_EQ(tensor<float>({NAN, 1.5f}).str(), "tensor([   nan, 1.5000])");
  EXPECT_EQ(tensor<float>({-NAN, -INFINITY}).str(), "tensor([nan, -inf])");
  EXPECT_EQ(tensor<float>({NAN, 1e-5f}).str(), "tensor([       nan, 1.0000e-05])");
}

TEST(Print, DtypeSuffix) {
  PrintGuard g;
  EXPECT_EQ(tensor<int32_t>({1, 2}).str(), "tensor([1, 2], dtype=lamina.int32)");
  EXPECT_EQ(tensor<double>({1.5, 2.0}).str(), "tensor([1.5000, 2.0000], dtype=lamina.float64)");
  EXPECT_EQ(tensor<float>({1.5f}, Dtype::Float16).str(), "tensor([1.5000], dtype=lamina.float16)");
  EXPECT_EQ(tensor<float>({0.1f}, Dtype::BFloat16).str(), "tensor([0.1001], dtype=lamina.bfloat16)");
  // Thirteen width-2 items end at column 59: the suffix no longer fits in 80 and wraps.
  EXPECT_EQ(tensor<int32_t>({-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}).str(),
            "tensor([-1,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11],\n       dtype=lamina.int32)");
  EXPECT_EQ(tensor<int32_t>({-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}).str(),
            "tensor([-1,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10], dtype=lamina.int32)");
  EXPECT_EQ(ints(20, Dtype::Int32).str(),
            "tensor([ 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15, 16, 17,\n"
            "        18, 19], dtype=lamina.int32)");
}

TEST(Print, Empty) {
  PrintGuard g;
  EXPECT_EQ(zeros({0}).str(), "tensor([])");
  EXPECT_EQ(zeros({0, 3}).str(), "tensor([], size=(0, 3))");
  EXPECT_EQ(zeros({2, 0, 3}).str(), "tensor([], size=(2, 0, 3))");
  // No element tells int64 from float, so every non-default dtype is named.
  EXPECT_EQ(zeros({0}, {Dtype::Int64}).str(), "tensor([], dtype=lamina.int64)");
  EXPECT_EQ(zeros({0, 2}, {Dtype::Bool}).str(), "tensor([], size=(0, 2), dtype=lamina.bool)");
}

TEST(Print, LineWrapping) {
  PrintGuard g;
  EXPECT_EQ(arange(Scalar(30.0)).str(),
            "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n"
            "        14., 15., 16., 17., 18., 19., 20., 21., 22., 23., 24., 25., 26., 27.,\n"
            "        28., 29.])");
}

TEST(Print, MultiDim) {
  PrintGuard g;
  EXPECT_EQ(arange(Scalar(8.0)).view({2, 2, 2}).str(),
            "tensor([[[0., 1.],\n"
            "         [2., 3.]],\n"
            "\n"
            "        [[4., 5.],\n"
            "         [6., 7.]]])");
  EXPECT_EQ(ones({1, 1, 1, 1}).str(), "tensor([[[[1.]]]])");
}

TEST(Print, Summarized1d) {
  PrintGuard g;
  EXPECT_EQ(ints(2000).str(), "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])");
  EXPECT_EQ(arange(Scalar(2000.0)).str(),
            "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n"
            "        1.9990e+03])");
  EXPECT_EQ(ints(1000).str().find("..."), std::string::npos);  // exactly threshold: not summarized
}

TEST(Print, Summarized2d) {
  PrintGuard g;
  EXPECT_EQ(ints(10000).view({100, 100}).str(),
            "tensor([[   0,    1,    2,  ...,   97,   98,   99],\n"
            "        [ 100,  101,  102,  ...,  197,  198,  199],\n"
            "        [ 200,  201,  202,  ...,  297,  298,  299],\n"
            "        ...,\n"
            "        [9700, 9701, 9702,  ..., 9797, 9798, 9799],\n"
            "        [9800, 9801, 9802,  ..., 9897, 9898, 9899],\n"
            "        [9900, 9901, 9902,  ..., 9997, 9998, 9999]])");
  // Only the shown elements set the width: the hidden 5-digit values do not widen it.
  EXPECT_EQ(ints(2 * 1000).view({2, 1000}).str(),
            "tensor([[   0,    1,    2,  ...,  997,  998,  999],\n"
            "        [1000, 1001, 1002,  ..., 1997, 1998, 1999]])");
}

TEST(Print, Summarized3d) {
  PrintGuard g;
  EXPECT_EQ(ints(8 * 2 * 100).view({8, 2, 100}).str(),
            "tensor([[[   0,    1,    2,  ...,   97,   98,   99],\n"
            "         [ 100,  101,  102,  ...,  197,  198,  199]],\n"
            "\n"
            "        [[ 200,  201,  202,  ...,  297,  298,  299],\n"
            "         [ 300,  301,  302,  ...,  397,  398,  399]],\n"
            "\n"
            "        [[ 400,  401,  402,  ...,  497,  498,  499],\n"
            "         [ 500,  501,  502,  ...,  597,  598,  599]],\n"
            "\n"
            "        ...,\n"
            "\n"
            "        [[1000, 1001, 1002,  ..., 1097, 1098, 1099],\n"
            "         [1100, 1101, 1102,  ..., 1197, 1198, 1199]],\n"
            "\n"
            "        [[1200, 1201, 1202,  ..., 1297, 1298, 1299],\n"
            "         [1300, 1301, 1302,  ..., 1397, 1398, 1399]],\n"
            "\n"
            "        [[1400, 1401, 1402,  ..., 1497, 1498, 1499],\n"
            "         [1500, 1501, 1502,  ..., 1597, 1598, 1599]]])");
}

TEST(Print, NonContiguous) {
  PrintGuard g;
  EXPECT_EQ(arange(Scalar(6.0)).view({2, 3}).t().str(), "tensor([[0., 3.],\n        [1., 4.],\n        [2., 5.]])");
  EXPECT_EQ(ints(10).slice(0, 1, 10, 3).str(), "tensor([1, 4, 7])");
  EXPECT_EQ(ints(10).slice(0, 8, -11, -3).str(), "tensor([8, 5, 2])");
  EXPECT_EQ(tensor<int64_t>({1, 2, 3}).expand({2, 3}).str(), "tensor([[1, 2, 3],\n        [1, 2, 3]])");
  Tensor big = arange(Scalar(3000.0)).view({3, 1000}).t();  // summarized and strided
  EXPECT_EQ(big.str(),
            "tensor([[0.0000e+00, 1.0000e+03, 2.0000e+03],\n"
            "        [1.0000e+00, 1.0010e+03, 2.0010e+03],\n"
            "        [2.0000e+00, 1.0020e+03, 2.0020e+03],\n"
            "        ...,\n"
            "        [9.9700e+02, 1.9970e+03, 2.9970e+03],\n"
            "        [9.9800e+02, 1.9980e+03, 2.9980e+03],\n"
            "        [9.9900e+02, 1.9990e+03, 2.9990e+03]])");
}

TEST(Print, PrintOptions) {
  PrintGuard g;
  set_printoptions({.precision = 2});
  EXPECT_EQ(tensor<float>({0.123f, 0.5f}).str(), "tensor([0.12, 0.50])");
  set_printoptions({.threshold = 5, .edgeitems = 1});
  EXPECT_EQ(ints(10).str(), "tensor([0,  ..., 9])");
  set_printoptions({.precision = 2, .sci_mode = true});
  EXPECT_EQ(tensor<float>({1.5f}).str(), "tensor([1.50e+00])");
  EXPECT_EQ(zeros({2}).str(), "tensor([0., 0.])");  // nothing nonzero: PyTorch ignores sci_mode
  set_printoptions({.sci_mode = false});
  EXPECT_EQ(tensor<float>({1e-5f, 1e5f}).str(), "tensor([    0.0000, 100000.0000])");
  // 1e300 is integer-valued: int style, all 301 digits (nothing cut off), then the dtype on its own line.
  const std::string huge = tensor<double>({1e300}).str();
  EXPECT_EQ(huge.substr(0, 9), "tensor([1");
  EXPECT_EQ(huge.substr(9 + 300), ".],\n       dtype=lamina.float64)");
  set_printoptions({.linewidth = 20});
  EXPECT_EQ(ints(10).str(), "tensor([0, 1, 2, 3,\n        4, 5, 6, 7,\n        8, 9])");
  set_printoptions(PrintOptions::profile("full"));
  EXPECT_EQ(ints(2000).str().find("..."), std::string::npos);
  set_printoptions(PrintOptions::profile("short"));
  EXPECT_EQ(get_printoptions().precision, 2);
  EXPECT_EQ(ints(2000).str(), "tensor([   0,    1,  ..., 1998, 1999])");
  set_printoptions(PrintOptions::profile("default"));
  EXPECT_EQ(get_printoptions().threshold, 1000);
  EXPECT_FALSE(get_printoptions().sci_mode.has_value());
}

TEST(Print, OptionErrors) {
  PrintGuard g;
  EXPECT_THROW(set_printoptions({.precision = -1}), ConfigError);
  EXPECT_THROW(set_printoptions({.linewidth = 0}), ConfigError);
  EXPECT_THROW(set_printoptions({.edgeitems = -2}), ConfigError);
  EXPECT_THROW(PrintOptions::profile("verbose"), ValueError);
  try {
    set_printoptions({.threshold = -1});
    FAIL() << "no throw";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("[set_printoptions]"), std::string::npos);
  }
  EXPECT_EQ(get_printoptions().threshold, 1000);  // a rejected call changes nothing
}

TEST(Print, StreamAndSuffixes) {
  PrintGuard g;
  std::ostringstream os;
  os << tensor<float>({1.0f, 2.0f});
  EXPECT_EQ(os.str(), "tensor([1., 2.])");
  EXPECT_EQ(tensor_repr(tensor<float>({1.0f, 2.0f}), {"requires_grad=True"}), "tensor([1., 2.], requires_grad=True)");
  EXPECT_EQ(tensor_repr(tensor<int32_t>({1}), {"grad_fn=<AddBackward0>"}),
            "tensor([1], dtype=lamina.int32, grad_fn=<AddBackward0>)");
  EXPECT_EQ(Tensor().str(), "tensor(undefined)");
}
