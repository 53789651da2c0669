// The elementwise ops of kernels/elementwise_table.h on the CPU: each row's functor
// (kernels/elementwise_math.h) on stored values, registered for the row's dtypes.
#include <type_traits>

#include "lamina/kernels/cpu/loops.h"
#include "lamina/kernels/cpu/register.h"
#include "lamina/kernels/elementwise_math.h"
#include "lamina/kernels/elementwise_table.h"

namespace lamina::kernels::cpu {
namespace {

// A table functor maps compute values; the CPU kernels hold stored ones (Half, BFloat16, ...).
template <class F>
struct OnStored {
  F f;
  explicit OnStored(const KernelParams& p) : f(p) {}
  template <class T>
  T operator()(T a) const {
    return T(f(static_cast<compute_t<T>>(a)));
  }
  template <class T>
  T operator()(T a, T b) const {
    return T(f(static_cast<compute_t<T>>(a), static_cast<compute_t<T>>(b)));
  }
};

template <class F>
struct OnStoredToBool {
  F f;
  explicit OnStoredToBool(const KernelParams& p) : f(p) {}
  template <class T>
  bool operator()(T a) const {
    return f(static_cast<compute_t<T>>(a));
  }
  template <class T>
  bool operator()(T a, T b) const {
    return f(static_cast<compute_t<T>>(a), static_cast<compute_t<T>>(b));
  }
};

// The bool variant of a row (BoolFn), when it has one.
template <template <class> class Wrapper, class BoolFn>
void register_bool_variant(Op op) {
  if constexpr (!std::is_same_v<BoolFn, NoFn>) register_each<Wrapper<OnStored<BoolFn>>::template K, bool>(op);
}

#define LAMINA_CPU_TYPES_FLOAT LAMINA_FLOAT_TYPES
#define LAMINA_CPU_TYPES_INT LAMINA_INT_TYPES
#define LAMINA_CPU_TYPES_NUMERIC LAMINA_NUMERIC_TYPES
#define LAMINA_CPU_TYPES_ALL LAMINA_ALL_TYPES
#define LAMINA_CPU_TYPES_BOOL bool

#define LAMINA_CPU_REGISTER_UNARY(name, kind, types, Fn, BoolFn, ...)                                 \
  register_each<LAMINA_IF_BOOL_RESULT(kind, UnaryToBool<OnStoredToBool<Fn>>, Unary<OnStored<Fn>>)::K, \
                LAMINA_CPU_TYPES_##types>(Op::name);                                                  \
  register_bool_variant<Unary, BoolFn>(Op::name);

#define LAMINA_CPU_REGISTER_BINARY(name, kind, types, Fn, BoolFn, ...)                                  \
  register_each<LAMINA_IF_BOOL_RESULT(kind, BinaryToBool<OnStoredToBool<Fn>>, Binary<OnStored<Fn>>)::K, \
                LAMINA_CPU_TYPES_##types>(Op::name);                                                    \
  register_bool_variant<Binary, BoolFn>(Op::name);

}  // namespace

void register_elementwise_kernels() {
  LAMINA_UNARY_TABLE(LAMINA_CPU_REGISTER_UNARY)
  LAMINA_BINARY_TABLE(LAMINA_CPU_REGISTER_BINARY)
}

}  // namespace lamina::kernels::cpu
