// Unary elementwise functors. Each computes in compute_t<T> (float for 16-bit floats).
#include <cmath>
#include <limits>
#include <type_traits>

#include "lamina/kernels/cpu/loops.h"
#include "lamina/kernels/cpu/register.h"
#include "lamina/kernels/elementwise_math.h"

namespace lamina::kernels::cpu {
namespace {

#define LAMINA_UNARY_FUNCTOR(Name, expr)                  \
  struct Name {                                           \
    explicit Name(const KernelParams&) {}                 \
    template <class T>                                    \
    T operator()(T in) const {                            \
      using C = compute_t<T>;                             \
      const C x = static_cast<C>(in);                     \
      return T(static_cast<C>(expr));                     \
    }                                                     \
  };

LAMINA_UNARY_FUNCTOR(NegOp, -x)
LAMINA_UNARY_FUNCTOR(AbsOp, abs_of(x))
LAMINA_UNARY_FUNCTOR(SignOp, (x > C(0)) - (x < C(0)))
LAMINA_UNARY_FUNCTOR(SquareOp, x* x)
LAMINA_UNARY_FUNCTOR(ExpOp, std::exp(x))
LAMINA_UNARY_FUNCTOR(Exp2Op, std::exp2(x))
LAMINA_UNARY_FUNCTOR(Expm1Op, std::expm1(x))
LAMINA_UNARY_FUNCTOR(LogOp, std::log(x))
LAMINA_UNARY_FUNCTOR(Log2Op, std::log2(x))
LAMINA_UNARY_FUNCTOR(Log10Op, std::log10(x))
LAMINA_UNARY_FUNCTOR(Log1pOp, std::log1p(x))
LAMINA_UNARY_FUNCTOR(SqrtOp, std::sqrt(x))
LAMINA_UNARY_FUNCTOR(RsqrtOp, C(1) / std::sqrt(x))
LAMINA_UNARY_FUNCTOR(ReciprocalOp, C(1) / x)
LAMINA_UNARY_FUNCTOR(SinOp, std::sin(x))
LAMINA_UNARY_FUNCTOR(CosOp, std::cos(x))
LAMINA_UNARY_FUNCTOR(TanOp, std::tan(x))
LAMINA_UNARY_FUNCTOR(AsinOp, std::asin(x))
LAMINA_UNARY_FUNCTOR(AcosOp, std::acos(x))
LAMINA_UNARY_FUNCTOR(AtanOp, std::atan(x))
LAMINA_UNARY_FUNCTOR(SinhOp, std::sinh(x))
LAMINA_UNARY_FUNCTOR(CoshOp, std::cosh(x))
LAMINA_UNARY_FUNCTOR(TanhOp, std::tanh(x))
LAMINA_UNARY_FUNCTOR(ErfOp, std::erf(x))
LAMINA_UNARY_FUNCTOR(SigmoidOp, sigmoid_of(x))
LAMINA_UNARY_FUNCTOR(ReluOp, x > C(0) ? x : C(0))
LAMINA_UNARY_FUNCTOR(SiluOp, x* sigmoid_of(x))
LAMINA_UNARY_FUNCTOR(GeluOp, C(0.5) * x * (C(1) + std::erf(x * C(0.70710678118654752440))))
LAMINA_UNARY_FUNCTOR(GeluTanhOp,
                     C(0.5) * x * (C(1) + std::tanh(C(0.79788456080286535588) * (x + C(0.044715) * x * x * x))))
LAMINA_UNARY_FUNCTOR(SoftplusOp, x > C(20) ? x : std::log1p(std::exp(x)))
LAMINA_UNARY_FUNCTOR(FloorOp, std::floor(x))
LAMINA_UNARY_FUNCTOR(CeilOp, std::ceil(x))
LAMINA_UNARY_FUNCTOR(TruncOp, std::trunc(x))
LAMINA_UNARY_FUNCTOR(RoundOp, std::nearbyint(x))  // half to even, like PyTorch and NumPy
LAMINA_UNARY_FUNCTOR(BitwiseNotOp, ~x)

#define LAMINA_PREDICATE_FUNCTOR(Name, fn)                                                          \
  struct Name {                                                                                   \
    explicit Name(const KernelParams&) {}                                                         \
    template <class T>                                                                            \
    bool operator()(T x) const { return fn(static_cast<compute_t<T>>(x)); }                       \
  };
LAMINA_PREDICATE_FUNCTOR(IsNanOp, std::isnan)
LAMINA_PREDICATE_FUNCTOR(IsInfOp, std::isinf)
LAMINA_PREDICATE_FUNCTOR(IsFiniteOp, std::isfinite)
#undef LAMINA_PREDICATE_FUNCTOR

// Bool needs its own functors: -x and ~x promote to int.
struct BoolNotOp {
  explicit BoolNotOp(const KernelParams&) {}
  bool operator()(bool x) const { return !x; }
};

}  // namespace

void register_unary_kernels() {
  register_each<Unary<NegOp>::K, LAMINA_NUMERIC_TYPES>("neg");
  register_each<Unary<AbsOp>::K, LAMINA_NUMERIC_TYPES>("abs");
  register_each<Unary<SignOp>::K, LAMINA_NUMERIC_TYPES>("sign");
  register_each<Unary<SquareOp>::K, LAMINA_NUMERIC_TYPES>("square");
  register_each<Unary<ExpOp>::K, LAMINA_FLOAT_TYPES>("exp");
  register_each<Unary<Exp2Op>::K, LAMINA_FLOAT_TYPES>("exp2");
  register_each<Unary<Expm1Op>::K, LAMINA_FLOAT_TYPES>("expm1");
  register_each<Unary<LogOp>::K, LAMINA_FLOAT_TYPES>("log");
  register_each<Unary<Log2Op>::K, LAMINA_FLOAT_TYPES>("log2");
  register_each<Unary<Log10Op>::K, LAMINA_FLOAT_TYPES>("log10");
  register_each<Unary<Log1pOp>::K, LAMINA_FLOAT_TYPES>("log1p");
  register_each<Unary<SqrtOp>::K, LAMINA_FLOAT_TYPES>("sqrt");
  register_each<Unary<RsqrtOp>::K, LAMINA_FLOAT_TYPES>("rsqrt");
  register_each<Unary<ReciprocalOp>::K, LAMINA_FLOAT_TYPES>("reciprocal");
  register_each<Unary<SinOp>::K, LAMINA_FLOAT_TYPES>("sin");
  register_each<Unary<CosOp>::K, LAMINA_FLOAT_TYPES>("cos");
  register_each<Unary<TanOp>::K, LAMINA_FLOAT_TYPES>("tan");
  register_each<Unary<AsinOp>::K, LAMINA_FLOAT_TYPES>("asin");
  register_each<Unary<AcosOp>::K, LAMINA_FLOAT_TYPES>("acos");
  register_each<Unary<AtanOp>::K, LAMINA_FLOAT_TYPES>("atan");
  register_each<Unary<SinhOp>::K, LAMINA_FLOAT_TYPES>("sinh");
  register_each<Unary<CoshOp>::K, LAMINA_FLOAT_TYPES>("cosh");
  register_each<Unary<TanhOp>::K, LAMINA_FLOAT_TYPES>("tanh");
  register_each<Unary<ErfOp>::K, LAMINA_FLOAT_TYPES>("erf");
  register_each<Unary<SigmoidOp>::K, LAMINA_FLOAT_TYPES>("sigmoid");
  register_each<Unary<ReluOp>::K, LAMINA_NUMERIC_TYPES>("relu");
  register_each<Unary<SiluOp>::K, LAMINA_FLOAT_TYPES>("silu");
  register_each<Unary<GeluOp>::K, LAMINA_FLOAT_TYPES>("gelu");
  register_each<Unary<GeluTanhOp>::K, LAMINA_FLOAT_TYPES>("gelu_tanh");
  register_each<Unary<SoftplusOp>::K, LAMINA_FLOAT_TYPES>("softplus");
  register_each<Unary<FloorOp>::K, LAMINA_FLOAT_TYPES>("floor");
  register_each<Unary<CeilOp>::K, LAMINA_FLOAT_TYPES>("ceil");
  register_each<Unary<TruncOp>::K, LAMINA_FLOAT_TYPES>("trunc");
  register_each<Unary<RoundOp>::K, LAMINA_FLOAT_TYPES>("round");
  register_each<Unary<BitwiseNotOp>::K, LAMINA_INT_TYPES>("bitwise_not");
  register_each<Unary<BoolNotOp>::K, bool>("bitwise_not");
  register_each<Unary<BoolNotOp>::K, bool>("logical_not");
  register_each<UnaryToBool<IsNanOp>::K, LAMINA_FLOAT_TYPES>("isnan");
  register_each<UnaryToBool<IsInfOp>::K, LAMINA_FLOAT_TYPES>("isinf");
  register_each<UnaryToBool<IsFiniteOp>::K, LAMINA_FLOAT_TYPES>("isfinite");
}

}  // namespace lamina::kernels::cpu
