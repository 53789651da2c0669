// Binary elementwise functors: arithmetic, comparisons, bitwise and logical ops.
#include <cmath>
#include <limits>
#include <type_traits>

#include "lamina/kernels/cpu/loops.h"
#include "lamina/kernels/cpu/register.h"

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

template <class C>
C gelu_tanh_slope(C x) {
  const C k = C(0.7978845608028654), t = std::tanh(k * (x + C(0.044715) * x * x * x));
  return C(0.5) * (C(1) + t) + C(0.5) * x * (C(1) - t * t) * k * (C(1) + C(3 * 0.044715) * x * x);
}

// Integer division helpers: a zero divisor yields 0 (the op layer rejects it first) and
// INT_MIN / -1 wraps instead of trapping.
template <class C>
C int_floor_div(C a, C b) {
  if (b == 0) return 0;
  if constexpr (std::is_signed_v<C>) {
    if (b == -1) return static_cast<C>(0 - static_cast<std::make_unsigned_t<C>>(a));
    C q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
  } else {
    return a / b;
  }
}
template <class C>
C int_mod(C a, C b) {  // Python-style: result has the divisor's sign
  if (b == 0 || (std::is_signed_v<C> && b == C(-1))) return 0;
  C r = a % b;
  if constexpr (std::is_signed_v<C>)
    if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}
template <class C>
C int_fmod(C a, C b) {  // C-style: result has the dividend's sign
  if (b == 0 || (std::is_signed_v<C> && b == C(-1))) return 0;
  return a % b;
}
template <class C>
C int_pow(C base, C exp) {
  if constexpr (std::is_signed_v<C>) {
    if (exp < 0) return base == 1 ? 1 : base == -1 ? (exp % 2 ? -1 : 1) : 0;
  }
  using U = std::make_unsigned_t<C>;
  U result = 1, b = static_cast<U>(base);  // unsigned arithmetic wraps like PyTorch's
  for (C e = exp; e > 0; e >>= 1) {
    if (e & 1) result *= b;
    b *= b;
  }
  return static_cast<C>(result);
}

template <class C>
C floor_div(C a, C b) {
  if constexpr (std::is_integral_v<C>) {
    return int_floor_div(a, b);
  } else {
    if (b == C(0)) return a / b;
    C mod = std::fmod(a, b);
    C div = (a - mod) / b;
    if (mod != C(0) && ((b < C(0)) != (mod < C(0)))) div -= C(1);
    C floordiv = std::floor(div);
    if (div - floordiv > C(0.5)) floordiv += C(1);
    return div == C(0) ? std::copysign(C(0), a / b) : floordiv;
  }
}
template <class C>
C py_mod(C a, C b) {
  if constexpr (std::is_integral_v<C>) {
    return int_mod(a, b);
  } else {
    C r = std::fmod(a, b);
    if (r != C(0) && ((r < C(0)) != (b < C(0)))) r += b;
    return r;
  }
}
template <class C>
C c_fmod(C a, C b) {
  if constexpr (std::is_integral_v<C>) return int_fmod(a, b);
  else return std::fmod(a, b);
}
template <class C>
C power(C a, C b) {
  if constexpr (std::is_integral_v<C>) return int_pow(a, b);
  else return std::pow(a, b);
}
template <class C>
C max_propagate_nan(C a, C b) {
  if constexpr (std::is_floating_point_v<C>)
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<C>::quiet_NaN();
  return a > b ? a : b;
}
template <class C>
C min_propagate_nan(C a, C b) {
  if constexpr (std::is_floating_point_v<C>)
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<C>::quiet_NaN();
  return a < b ? a : b;
}

LAMINA_BINARY_FUNCTOR(AddOp, a + b)
LAMINA_BINARY_FUNCTOR(SubOp, a - b)
LAMINA_BINARY_FUNCTOR(MulOp, a* b)
LAMINA_BINARY_FUNCTOR(DivOp, a / b)
LAMINA_BINARY_FUNCTOR(FloorDivOp, floor_div(a, b))
LAMINA_BINARY_FUNCTOR(RemainderOp, py_mod(a, b))
LAMINA_BINARY_FUNCTOR(FmodOp, c_fmod(a, b))
LAMINA_BINARY_FUNCTOR(PowOp, power(a, b))
LAMINA_BINARY_FUNCTOR(MaximumOp, max_propagate_nan(a, b))
LAMINA_BINARY_FUNCTOR(MinimumOp, min_propagate_nan(a, b))
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
