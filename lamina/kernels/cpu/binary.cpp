// Binary elementwise functors: arithmetic, comparisons, bitwise and logical ops.
#include <cmath>
#include <limits>
#include <type_traits>

#include "lamina/kernels/cpu/loops.h"
#include "lamina/kernels/cpu/register.h"
#include "lamina/kernels/elementwise_math.h"

namespace lamina::kernels::cpu {
namespace {

#define LAMINA_BINARY_FUNCTOR(Name, expr)      \
  struct Name {                                \
    explicit Name(const KernelParams&) {}      \
    template <class T>                         \
    T operator()(T ain, T bin) const {         \
      using C = compute_t<T>;                  \
      const C a = static_cast<C>(ain);         \
      const C b = static_cast<C>(bin);         \
      return T(static_cast<C>(expr));          \
    }                                          \
  };

#define LAMINA_COMPARE_FUNCTOR(Name, expr)     \
  struct Name {                                \
    explicit Name(const KernelParams&) {}      \
    template <class T>                         \
    bool operator()(T ain, T bin) const {      \
      using C = compute_t<T>;                  \
      const C a = static_cast<C>(ain);         \
      const C b = static_cast<C>(bin);         \
      return expr;                             \
    }                                          \
  };

LAMINA_BINARY_FUNCTOR(AddOp, a + b)
LAMINA_BINARY_FUNCTOR(SubOp, a - b)
LAMINA_BINARY_FUNCTOR(MulOp, a* b)
LAMINA_BINARY_FUNCTOR(DivOp, a / b)
LAMINA_BINARY_FUNCTOR(FloorDivOp, floor_div(a, b))
LAMINA_BINARY_FUNCTOR(RemainderOp, py_mod(a, b))
LAMINA_BINARY_FUNCTOR(FmodOp, c_fmod(a, b))
LAMINA_BINARY_FUNCTOR(PowOp, power(a, b))
LAMINA_BINARY_FUNCTOR(MaximumOp, max_nan(a, b))
LAMINA_BINARY_FUNCTOR(MinimumOp, min_nan(a, b))
LAMINA_BINARY_FUNCTOR(Atan2Op, std::atan2(a, b))
LAMINA_BINARY_FUNCTOR(ReluBackwardOp, b > C(0) ? a : C(0))  // a: gradient, b: relu input
// a: gradient, b: gelu input; d gelu / dx = Phi(x) + x phi(x).
LAMINA_BINARY_FUNCTOR(GeluBackwardOp, a * (C(0.5) * (C(1) + std::erf(b * C(0.7071067811865476))) +
                                           b * C(0.3989422804014327) * std::exp(C(-0.5) * b * b)))
// a: gradient, b: input of the tanh-form gelu 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3).
LAMINA_BINARY_FUNCTOR(GeluTanhBackwardOp,
                      a * gelu_tanh_slope(b))
LAMINA_BINARY_FUNCTOR(BitAndOp, a& b)
LAMINA_BINARY_FUNCTOR(BitOrOp, a | b)
LAMINA_BINARY_FUNCTOR(BitXorOp, a ^ b)
LAMINA_COMPARE_FUNCTOR(EqOp, a == b)
LAMINA_COMPARE_FUNCTOR(NeOp, a != b)
LAMINA_COMPARE_FUNCTOR(LtOp, a < b)
LAMINA_COMPARE_FUNCTOR(LeOp, a <= b)
LAMINA_COMPARE_FUNCTOR(GtOp, a > b)
LAMINA_COMPARE_FUNCTOR(GeOp, a >= b)

// On bool, + is "or" and * is "and" (PyTorch semantics).
struct BoolOrOp {
  explicit BoolOrOp(const KernelParams&) {}
  bool operator()(bool a, bool b) const { return a || b; }
};
struct BoolAndOp {
  explicit BoolAndOp(const KernelParams&) {}
  bool operator()(bool a, bool b) const { return a && b; }
};
struct BoolXorOp {
  explicit BoolXorOp(const KernelParams&) {}
  bool operator()(bool a, bool b) const { return a != b; }
};

}  // namespace

void register_binary_kernels() {
  register_each<Binary<AddOp>::K, LAMINA_NUMERIC_TYPES>("add");
  register_each<Binary<BoolOrOp>::K, bool>("add");
  register_each<Binary<SubOp>::K, LAMINA_NUMERIC_TYPES>("sub");
  register_each<Binary<MulOp>::K, LAMINA_NUMERIC_TYPES>("mul");
  register_each<Binary<BoolAndOp>::K, bool>("mul");
  register_each<Binary<DivOp>::K, LAMINA_FLOAT_TYPES>("div");
  register_each<Binary<FloorDivOp>::K, LAMINA_NUMERIC_TYPES>("floor_divide");
  register_each<Binary<RemainderOp>::K, LAMINA_NUMERIC_TYPES>("remainder");
  register_each<Binary<FmodOp>::K, LAMINA_NUMERIC_TYPES>("fmod");
  register_each<Binary<PowOp>::K, LAMINA_NUMERIC_TYPES>("pow");
  register_each<Binary<MaximumOp>::K, LAMINA_NUMERIC_TYPES>("maximum");
  register_each<Binary<BoolOrOp>::K, bool>("maximum");
  register_each<Binary<MinimumOp>::K, LAMINA_NUMERIC_TYPES>("minimum");
  register_each<Binary<BoolAndOp>::K, bool>("minimum");
  register_each<Binary<Atan2Op>::K, LAMINA_FLOAT_TYPES>("atan2");
  register_each<Binary<ReluBackwardOp>::K, LAMINA_FLOAT_TYPES>("relu_backward");
  register_each<Binary<GeluBackwardOp>::K, LAMINA_FLOAT_TYPES>("gelu_backward");
  register_each<Binary<GeluTanhBackwardOp>::K, LAMINA_FLOAT_TYPES>("gelu_tanh_backward");
  register_each<Binary<BitAndOp>::K, LAMINA_INT_TYPES>("bitwise_and");
  register_each<Binary<BoolAndOp>::K, bool>("bitwise_and");
  register_each<Binary<BitOrOp>::K, LAMINA_INT_TYPES>("bitwise_or");
  register_each<Binary<BoolOrOp>::K, bool>("bitwise_or");
  register_each<Binary<BitXorOp>::K, LAMINA_INT_TYPES>("bitwise_xor");
  register_each<Binary<BoolXorOp>::K, bool>("bitwise_xor");
  register_each<Binary<BoolAndOp>::K, bool>("logical_and");
  register_each<Binary<BoolOrOp>::K, bool>("logical_or");
  register_each<Binary<BoolXorOp>::K, bool>("logical_xor");
  register_each<BinaryToBool<EqOp>::K, LAMINA_ALL_TYPES>("eq");
  register_each<BinaryToBool<NeOp>::K, LAMINA_ALL_TYPES>("ne");
  register_each<BinaryToBool<LtOp>::K, LAMINA_ALL_TYPES>("lt");
  register_each<BinaryToBool<LeOp>::K, LAMINA_ALL_TYPES>("le");
  register_each<BinaryToBool<GtOp>::K, LAMINA_ALL_TYPES>("gt");
  register_each<BinaryToBool<GeOp>::K, LAMINA_ALL_TYPES>("ge");
}

}  // namespace lamina::kernels::cpu
