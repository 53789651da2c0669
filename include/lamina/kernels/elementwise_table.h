#pragma once
// The elementwise ops, each defined once. Every consumer expands these tables: the typed op ids
// (kernels/op.h), the scalar functors' registration on each backend (kernels/cpu/elementwise.cpp,
// kernels/cuda/unary.cu and binary.cu), the public declarations and definitions
// (ops/elementwise.h, .cpp) with their autocast policy, the gradient dispatch (a switch over the
// ids that -Werror=switch keeps complete), the Python bindings (python/src/init_elementwise.cpp)
// and the test sweep (lamina._lamina._elementwise_table()). Only macros: no includes, no code.
//
// Columns of X(name, kind, types, Fn, BoolFn, grad, autocast, api, simd):
//   kind     unary: Same (result keeps the dtype), Float (integers compute in float32), Round
//            (integers pass through unchanged), Predicate (bool result; integers give a constant);
//            binary: Same, Float, Compare (bool result), Logical (bool inputs and result)
//   types    the dtypes Fn has a kernel for: FLOAT, INT, NUMERIC (INT and FLOAT), ALL, BOOL
//   Fn       the functor in kernels/elementwise_math.h, computing in the compute type
//   BoolFn   the functor for bool operands, or NoFn
//   grad     Grad (a rule in ops/elementwise.cpp's gradient switch) or NoGrad
//   autocast Fp32 (computed in float32 inside an autocast region) or Keep
//   api      Plain (declared, defined and bound from this row), Extra (as Plain, plus hand-written
//            overloads and bindings: add's alpha, div's rounding mode), Custom (hand-written
//            public function), Internal (a kernel only, called by other ops)
//   simd     Simd(K): the CPU also has a vector kernel for float and double, simd::kK in
//            kernels/cpu/simd.cpp (preferred over Fn's scalar loop); NoSimd: Fn's loop only

#define LAMINA_UNARY_TABLE(X)                                                          \
  X(neg, Same, NUMERIC, NegFn, NoFn, Grad, Keep, Plain, Simd(Neg))                     \
  X(abs, Same, NUMERIC, AbsFn, NoFn, Grad, Keep, Plain, Simd(Abs))                     \
  X(sign, Same, NUMERIC, SignFn, NoFn, Grad, Keep, Plain, NoSimd)                      \
  X(square, Same, NUMERIC, SquareFn, NoFn, Grad, Keep, Plain, Simd(Square))            \
  X(exp, Float, FLOAT, ExpFn, NoFn, Grad, Fp32, Plain, Simd(Exp))                      \
  X(exp2, Float, FLOAT, Exp2Fn, NoFn, Grad, Keep, Plain, NoSimd)                       \
  X(expm1, Float, FLOAT, Expm1Fn, NoFn, Grad, Fp32, Plain, Simd(Expm1))                \
  X(log, Float, FLOAT, LogFn, NoFn, Grad, Fp32, Plain, Simd(Log))                      \
  X(log2, Float, FLOAT, Log2Fn, NoFn, Grad, Fp32, Plain, NoSimd)                       \
  X(log10, Float, FLOAT, Log10Fn, NoFn, Grad, Fp32, Plain, NoSimd)                     \
  X(log1p, Float, FLOAT, Log1pFn, NoFn, Grad, Fp32, Plain, Simd(Log1p))                \
  X(sqrt, Float, FLOAT, SqrtFn, NoFn, Grad, Keep, Plain, Simd(Sqrt))                   \
  X(rsqrt, Float, FLOAT, RsqrtFn, NoFn, Grad, Fp32, Plain, Simd(Rsqrt))                \
  X(reciprocal, Float, FLOAT, ReciprocalFn, NoFn, Grad, Fp32, Plain, Simd(Reciprocal)) \
  X(sin, Float, FLOAT, SinFn, NoFn, Grad, Keep, Plain, NoSimd)                         \
  X(cos, Float, FLOAT, CosFn, NoFn, Grad, Keep, Plain, NoSimd)                         \
  X(tan, Float, FLOAT, TanFn, NoFn, Grad, Fp32, Plain, NoSimd)                         \
  X(asin, Float, FLOAT, AsinFn, NoFn, Grad, Fp32, Plain, NoSimd)                       \
  X(acos, Float, FLOAT, AcosFn, NoFn, Grad, Fp32, Plain, NoSimd)                       \
  X(atan, Float, FLOAT, AtanFn, NoFn, Grad, Keep, Plain, NoSimd)                       \
  X(sinh, Float, FLOAT, SinhFn, NoFn, Grad, Fp32, Plain, NoSimd)                       \
  X(cosh, Float, FLOAT, CoshFn, NoFn, Grad, Fp32, Plain, NoSimd)                       \
  X(tanh, Float, FLOAT, TanhFn, NoFn, Grad, Keep, Plain, Simd(Tanh))                   \
  X(erf, Float, FLOAT, ErfFn, NoFn, Grad, Keep, Plain, NoSimd)                         \
  X(sigmoid, Float, FLOAT, SigmoidFn, NoFn, Grad, Keep, Plain, Simd(Sigmoid))          \
  X(relu, Same, NUMERIC, ReluFn, NoFn, Grad, Keep, Plain, Simd(Relu))                  \
  X(silu, Float, FLOAT, SiluFn, NoFn, Grad, Keep, Plain, Simd(Silu))                   \
  X(softplus, Float, FLOAT, SoftplusFn, NoFn, Grad, Fp32, Plain, NoSimd)               \
  X(selu, Float, FLOAT, SeluFn, NoFn, Grad, Keep, Plain, NoSimd)                       \
  X(mish, Float, FLOAT, MishFn, NoFn, Grad, Keep, Plain, NoSimd)                       \
  X(hardswish, Float, FLOAT, HardswishFn, NoFn, Grad, Keep, Plain, NoSimd)             \
  X(hardsigmoid, Float, FLOAT, HardsigmoidFn, NoFn, Grad, Keep, Plain, NoSimd)         \
  X(floor, Round, FLOAT, FloorFn, NoFn, Grad, Keep, Plain, NoSimd)                     \
  X(ceil, Round, FLOAT, CeilFn, NoFn, Grad, Keep, Plain, NoSimd)                       \
  X(trunc, Round, FLOAT, TruncFn, NoFn, Grad, Keep, Plain, NoSimd)                     \
  X(round, Round, FLOAT, RoundFn, NoFn, Grad, Keep, Plain, NoSimd)                     \
  X(bitwise_not, Same, INT, BitwiseNotFn, BoolNotFn, NoGrad, Keep, Plain, NoSimd)      \
  X(gelu, Float, FLOAT, GeluFn, NoFn, Grad, Keep, Custom, Simd(Gelu))                  \
  X(gelu_tanh, Float, FLOAT, GeluTanhFn, NoFn, Grad, Keep, Internal, NoSimd)           \
  X(logical_not, Same, BOOL, BoolNotFn, NoFn, NoGrad, Keep, Custom, NoSimd)            \
  X(isnan, Predicate, FLOAT, IsNanFn, NoFn, NoGrad, Keep, Custom, NoSimd)              \
  X(isinf, Predicate, FLOAT, IsInfFn, NoFn, NoGrad, Keep, Custom, NoSimd)              \
  X(isfinite, Predicate, FLOAT, IsFiniteFn, NoFn, NoGrad, Keep, Custom, NoSimd)

#define LAMINA_BINARY_TABLE(X)                                                                    \
  X(add, Same, NUMERIC, AddFn, BoolOrFn, Grad, Keep, Extra, Simd(Add))                            \
  X(sub, Same, NUMERIC, SubFn, NoFn, Grad, Keep, Extra, Simd(Sub))                                \
  X(mul, Same, NUMERIC, MulFn, BoolAndFn, Grad, Keep, Plain, Simd(Mul))                           \
  X(div, Float, FLOAT, DivFn, NoFn, Grad, Keep, Extra, Simd(Div))                                 \
  X(floor_divide, Same, NUMERIC, FloorDivFn, NoFn, Grad, Keep, Plain, NoSimd)                     \
  X(remainder, Same, NUMERIC, RemainderFn, NoFn, Grad, Keep, Plain, NoSimd)                       \
  X(fmod, Same, NUMERIC, FmodFn, NoFn, Grad, Keep, Plain, NoSimd)                                 \
  X(pow, Same, NUMERIC, PowFn, NoFn, Grad, Fp32, Plain, NoSimd)                                   \
  X(maximum, Same, NUMERIC, MaximumFn, BoolOrFn, Grad, Keep, Plain, Simd(Max))                    \
  X(minimum, Same, NUMERIC, MinimumFn, BoolAndFn, Grad, Keep, Plain, Simd(Min))                   \
  X(atan2, Float, FLOAT, Atan2Fn, NoFn, Grad, Keep, Plain, NoSimd)                                \
  X(hypot, Float, FLOAT, HypotFn, NoFn, Grad, Keep, Plain, NoSimd)                                \
  X(logaddexp, Float, FLOAT, LogAddExpFn, NoFn, Grad, Keep, Plain, NoSimd)                        \
  X(copysign, Float, FLOAT, CopySignFn, NoFn, Grad, Keep, Plain, NoSimd)                          \
  X(bitwise_and, Same, INT, BitAndFn, BoolAndFn, NoGrad, Keep, Plain, NoSimd)                     \
  X(bitwise_or, Same, INT, BitOrFn, BoolOrFn, NoGrad, Keep, Plain, NoSimd)                        \
  X(bitwise_xor, Same, INT, BitXorFn, BoolXorFn, NoGrad, Keep, Plain, NoSimd)                     \
  X(logical_and, Logical, BOOL, BoolAndFn, NoFn, NoGrad, Keep, Plain, NoSimd)                     \
  X(logical_or, Logical, BOOL, BoolOrFn, NoFn, NoGrad, Keep, Plain, NoSimd)                       \
  X(logical_xor, Logical, BOOL, BoolXorFn, NoFn, NoGrad, Keep, Plain, NoSimd)                     \
  X(eq, Compare, ALL, EqFn, NoFn, NoGrad, Keep, Plain, NoSimd)                                    \
  X(ne, Compare, ALL, NeFn, NoFn, NoGrad, Keep, Plain, NoSimd)                                    \
  X(lt, Compare, ALL, LtFn, NoFn, NoGrad, Keep, Plain, NoSimd)                                    \
  X(le, Compare, ALL, LeFn, NoFn, NoGrad, Keep, Plain, NoSimd)                                    \
  X(gt, Compare, ALL, GtFn, NoFn, NoGrad, Keep, Plain, NoSimd)                                    \
  X(ge, Compare, ALL, GeFn, NoFn, NoGrad, Keep, Plain, NoSimd)                                    \
  X(relu_backward, Same, FLOAT, ReluBackwardFn, NoFn, NoGrad, Keep, Internal, NoSimd)             \
  X(gelu_backward, Same, FLOAT, GeluBackwardFn, NoFn, NoGrad, Keep, Internal, Simd(GeluBackward)) \
  X(gelu_tanh_backward, Same, FLOAT, GeluTanhBackwardFn, NoFn, NoGrad, Keep, Internal, NoSimd)

/// Expands to `then` for a Predicate / Compare / Logical kind (a bool result), else to `other`.
#define LAMINA_IF_BOOL_RESULT(kind, then, other) LAMINA_IF_BOOL_RESULT_##kind(then, other)
#define LAMINA_IF_BOOL_RESULT_Same(then, other) other
#define LAMINA_IF_BOOL_RESULT_Float(then, other) other
#define LAMINA_IF_BOOL_RESULT_Round(then, other) other
#define LAMINA_IF_BOOL_RESULT_Predicate(then, other) then
#define LAMINA_IF_BOOL_RESULT_Compare(then, other) then
#define LAMINA_IF_BOOL_RESULT_Logical(then, other) then

/// Expands to its arguments for a row with a generated public function (api Plain or Extra).
#define LAMINA_IF_PUBLIC(api, ...) LAMINA_IF_PUBLIC_##api(__VA_ARGS__)
#define LAMINA_IF_PUBLIC_Plain(...) __VA_ARGS__
#define LAMINA_IF_PUBLIC_Extra(...) __VA_ARGS__
#define LAMINA_IF_PUBLIC_Custom(...)
#define LAMINA_IF_PUBLIC_Internal(...)
/// Expands to its arguments for a row whose Python binding is generated too (api Plain).
#define LAMINA_IF_PLAIN(api, ...) LAMINA_IF_PLAIN_##api(__VA_ARGS__)
#define LAMINA_IF_PLAIN_Plain(...) __VA_ARGS__
#define LAMINA_IF_PLAIN_Extra(...)
#define LAMINA_IF_PLAIN_Custom(...)
#define LAMINA_IF_PLAIN_Internal(...)
