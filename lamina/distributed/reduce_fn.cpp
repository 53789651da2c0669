#include "lamina/distributed/reduce_fn.h"

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "lamina/core/half.h"

namespace lamina::distributed {

namespace {

// T: the stored type; W: the type the arithmetic runs in (float for the 16-bit floats).
template <class T, class W, class Combine>
void combine(void* c, const void* a, const void* b, size_t n) {
  auto* out = static_cast<T*>(c);
  const auto* x = static_cast<const T*>(a);
  const auto* y = static_cast<const T*>(b);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<T>(Combine()(static_cast<W>(x[i]), static_cast<W>(y[i])));
}

// Integers wrap as the tensors' own arithmetic does (in unsigned arithmetic: no overflow UB).
template <class W, bool = std::is_integral_v<W>>
struct WrappingOf {
  using type = W;
};
template <class W>
struct WrappingOf<W, true> {
  using type = std::make_unsigned_t<W>;
};
template <class W>
using Wrapping = typename WrappingOf<W>::type;
struct Sum {
  template <class W>
  W operator()(W a, W b) const {
    return static_cast<W>(static_cast<Wrapping<W>>(a) + static_cast<Wrapping<W>>(b));
  }
};
struct Product {
  template <class W>
  W operator()(W a, W b) const {
    return static_cast<W>(static_cast<Wrapping<W>>(a) * static_cast<Wrapping<W>>(b));
  }
};
struct Min {
  template <class W>
  W operator()(W a, W b) const {
    return (a != a || b != b) ? a + b : std::min(a, b);
  }  // NaN propagates
};
struct Max {
  template <class W>
  W operator()(W a, W b) const {
    return (a != a || b != b) ? a + b : std::max(a, b);
  }
};

template <class T, class W>
ReduceFn for_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::SUM:
    case ReduceOp::AVG:
      return &combine<T, W, Sum>;
    case ReduceOp::PRODUCT:
      return &combine<T, W, Product>;
    case ReduceOp::MIN:
      return &combine<T, W, Min>;
    case ReduceOp::MAX:
      return &combine<T, W, Max>;
  }
  return nullptr;
}

}  // namespace

ReduceFn reduce_function(Dtype dtype, ReduceOp op) {
  switch (dtype) {
    case Dtype::Bool:
    case Dtype::UInt8:
      return for_op<uint8_t, uint8_t>(op);
    case Dtype::Int8:
      return for_op<int8_t, int8_t>(op);
    case Dtype::Int32:
      return for_op<int32_t, int32_t>(op);
    case Dtype::Int64:
      return for_op<int64_t, int64_t>(op);
    case Dtype::Float16:
      return for_op<Half, float>(op);
    case Dtype::BFloat16:
      return for_op<BFloat16, float>(op);
    case Dtype::Float32:
      return for_op<float, float>(op);
    case Dtype::Float64:
      return for_op<double, double>(op);
  }
  return nullptr;
}

}  // namespace lamina::distributed
