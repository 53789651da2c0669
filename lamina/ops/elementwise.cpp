#include "lamina/ops/elementwise.h"

#include <cctype>
#include <limits>
#include <string>

#include "lamina/autograd/autograd.h"
#include "lamina/ops/autocast.h"
#include "lamina/ops/common.h"
#include "lamina/ops/copy.h"
#include "lamina/ops/creation.h"
#include "lamina/ops/reduce.h"
#include "lamina/runtime/config.h"
#include "lamina/runtime/profiler.h"

namespace lamina {
namespace {

using kernels::Op;
using runtime::op_id;
using runtime::OpId;

// A binary row's kind (kernels/elementwise_table.h): result of the promoted dtype, a floating
// result, a bool comparison of the promoted dtype, or a logical op on bool-converted inputs.
enum class Kind { Same, Float, Compare, Logical };
// A unary row's kind: the dtype kept, integers to float32, integers unchanged, a bool predicate.
enum class UnaryKind { Same, Float, Round, Predicate };

// Whether a row has a gradient rule (the `grad` column), by op id.
#define LAMINA_GRAD_FLAG(name, kind_, types_, fn_, bool_fn_, grad_, ...) LAMINA_HAS_GRAD_##grad_,
#define LAMINA_HAS_GRAD_Grad true
#define LAMINA_HAS_GRAD_NoGrad false
#define LAMINA_KERNEL_GRAD_FLAG(name) false,  // the other families record their own gradients
constexpr bool kHasGrad[] = {LAMINA_UNARY_TABLE(LAMINA_GRAD_FLAG) LAMINA_BINARY_TABLE(LAMINA_GRAD_FLAG)
                                 LAMINA_KERNEL_TABLE(LAMINA_KERNEL_GRAD_FLAG)};
#undef LAMINA_GRAD_FLAG
#undef LAMINA_KERNEL_GRAD_FLAG
static_assert(sizeof(kHasGrad) / sizeof(kHasGrad[0]) == kernels::kNumTypedOps);
constexpr bool has_grad(Op op) { return kHasGrad[static_cast<int>(op)]; }

const char* name_of(Op op) { return kernels::op_name(op).data(); }

// `case Op::name:` for every row, or only for the rows without a gradient rule (the gradient
// switches list every Op and have no default, so a new rule-bearing row needs its case).
#define LAMINA_CASE_OF_ROW(name, ...) case Op::name:
#define LAMINA_CASE_IF_NOGRAD(name, kind_, types_, fn_, bool_fn_, grad_, ...) LAMINA_CASE_IF_NOGRAD_##grad_(name)
#define LAMINA_CASE_IF_NOGRAD_Grad(name)
#define LAMINA_CASE_IF_NOGRAD_NoGrad(name) case Op::name:

int category(Dtype dt) { return dt == Dtype::Bool ? 0 : is_floating(dt) ? 2 : 1; }

void check_can_cast(Dtype from, const Tensor& into, const char* op) {
  LAMINA_CHECK(category(from) <= category(into.dtype()), DTypeError, op, "result type ", dtype_name(from),
               " can't be cast to the in-place output ", describe(into), "; use the out-of-place op");
}

// ---- backward rules (gradients in the output's dtype, converted to each input's) ----

Tensor grad_as(const Tensor& g, const Tensor& input) {
  Tensor r = sum_to(g, input.shape());
  return r.dtype() == input.dtype() ? r : r.to(input.dtype());
}

Tensor fused_backward(Op op, const Tensor& g, const Tensor& x);

// d out / d x for the unary op `op`, times g; y is the op's output. A switch with no default, so
// a row of the table without a case here is a compile error (-Werror=switch on this file).
Tensor unary_grad(Op op, const Tensor& g, const Tensor& x, const Tensor& y) {
  constexpr double kLn2 = 0.6931471805599453, kLn10 = 2.302585092994046, kSqrt2OverPi = 0.7978845608028654;
  constexpr double kSeluScale = 1.0507009873554804934, kSeluAlpha = 1.6732632423543772848;
  // relu and gelu: one fused pass unless the backward itself is differentiated (create_graph).
  const bool fuse = !autograd::grad_mode_enabled() && g.dtype() == x.dtype() && g.shape() == x.shape();
  switch (op) {
    case Op::neg:
      return neg(g);
    case Op::abs:
      return mul(g, sign(x));
    case Op::sign:
    case Op::floor:
    case Op::ceil:
    case Op::trunc:
    case Op::round:
      return zeros_like(g);
    case Op::square:
      return mul(g, mul(x, Scalar(2.0)));
    case Op::exp:
      return mul(g, y);
    case Op::exp2:
      return mul(g, mul(y, Scalar(kLn2)));
    case Op::expm1:
      return mul(g, add(y, Scalar(1.0)));
    case Op::log:
      return div(g, x);
    case Op::log2:
      return div(g, mul(x, Scalar(kLn2)));
    case Op::log10:
      return div(g, mul(x, Scalar(kLn10)));
    case Op::log1p:
      return div(g, add(x, Scalar(1.0)));
    case Op::sqrt:
      return div(g, mul(y, Scalar(2.0)));
    case Op::rsqrt:
      return mul(g, mul(pow(y, Scalar(3.0)), Scalar(-0.5)));
    case Op::reciprocal:
      return neg(mul(g, square(y)));
    case Op::sin:
      return mul(g, cos(x));
    case Op::cos:
      return neg(mul(g, sin(x)));
    case Op::tan:
      return mul(g, add(square(y), Scalar(1.0)));
    case Op::asin:
      return div(g, sqrt(rsub(square(x), Scalar(1.0))));
    case Op::acos:
      return neg(div(g, sqrt(rsub(square(x), Scalar(1.0)))));
    case Op::atan:
      return div(g, add(square(x), Scalar(1.0)));
    case Op::sinh:
      return mul(g, cosh(x));
    case Op::cosh:
      return mul(g, sinh(x));
    case Op::tanh:
      return mul(g, rsub(square(y), Scalar(1.0)));
    case Op::erf:
      return mul(g, mul(exp(neg(square(x))), Scalar(1.1283791670955126)));
    case Op::sigmoid:
      return mul(g, mul(y, rsub(y, Scalar(1.0))));
    case Op::relu:
      return ops::relu_grad(g, x);
    case Op::silu: {
      Tensor s = sigmoid(x);
      return mul(g, mul(s, add(mul(x, rsub(s, Scalar(1.0))), Scalar(1.0))));
    }
    case Op::softplus:
      return mul(g, sigmoid(x));
    case Op::selu:
      return mul(g, where(gt(x, Scalar(0)), Scalar(kSeluScale), mul(exp(x), Scalar(kSeluScale * kSeluAlpha))));
    case Op::mish: {
      Tensor t = tanh(softplus(x));
      return mul(g, add(t, mul(mul(x, sigmoid(x)), rsub(square(t), Scalar(1.0)))));
    }
    case Op::hardswish:  // PyTorch's one-sided choice at the kinks: 0 at -3, 1.5 at 3
      return mul(g, where(lt(x, Scalar(-3.0)), Scalar(0.0),
                          where(le(x, Scalar(3.0)), add(div(x, Scalar(3.0)), Scalar(0.5)), Scalar(1.0))));
    case Op::hardsigmoid:
      return mul(g, mul(logical_and(gt(x, Scalar(-3.0)), lt(x, Scalar(3.0))).to(g.dtype()), Scalar(1.0 / 6.0)));
    case Op::gelu: {
      if (fuse) return fused_backward(Op::gelu_backward, g, x);
      Tensor cdf = mul(add(erf(mul(x, Scalar(0.7071067811865476))), Scalar(1.0)), Scalar(0.5));
      Tensor pdf = mul(exp(mul(square(x), Scalar(-0.5))), Scalar(0.3989422804014327));
      return mul(g, add(cdf, mul(x, pdf)));
    }
    case Op::gelu_tanh: {
      if (fuse) return fused_backward(Op::gelu_tanh_backward, g, x);
      Tensor u = mul(add(x, mul(pow(x, Scalar(3.0)), Scalar(0.044715))), Scalar(kSqrt2OverPi));
      Tensor t = tanh(u);
      Tensor du = mul(add(mul(square(x), Scalar(3 * 0.044715)), Scalar(1.0)), Scalar(kSqrt2OverPi));
      Tensor d =
          add(mul(add(t, Scalar(1.0)), Scalar(0.5)), mul(mul(mul(x, rsub(square(t), Scalar(1.0))), du), Scalar(0.5)));
      return mul(g, d);
    }
      // Rows without a rule, and the ops of other families: not differentiable here.
      LAMINA_UNARY_TABLE(LAMINA_CASE_IF_NOGRAD)
      LAMINA_BINARY_TABLE(LAMINA_CASE_OF_ROW)
      LAMINA_KERNEL_TABLE(LAMINA_CASE_OF_ROW)
      break;
  }
  LAMINA_THROW(ValueError, name_of(op), "is not differentiable");
}

std::string backward_name(std::string_view op) {
  std::string n;
  bool upper = true;
  for (char c : op) {
    if (c == '_') {
      upper = true;
      continue;
    }
    n += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  return n + "Backward0";
}

// The autograd node's name of each op ("AddBackward0"), built once.
const char* backward_label(Op op) {
  static const std::vector<std::string> labels = [] {
    std::vector<std::string> v;
    for (std::string_view name : kernels::kOpNames) v.push_back(backward_name(name));
    return v;
  }();
  return labels[static_cast<size_t>(op)].c_str();
}

void record_unary(Op op, const Tensor& x, const Tensor& out) {
  if (!has_grad(op) || !is_floating(out.dtype()) || !autograd::needs_grad({&x})) return;
  const char* label = backward_label(op);
  autograd::SavedTensor sx(x), sy(out, true);
  autograd::record(label, out, {&x}, [op, label, sx, sy, x_dtype = x.dtype()](const Tensor& g) {
    Tensor r = unary_grad(op, g, sx.get(label), sy.get(label));
    return std::vector<Tensor>{r.dtype() == x_dtype ? r : r.to(x_dtype)};
  });
}

// The gradients of a binary op's inputs (undefined where the op has none); only those flagged
// needed are computed for the arithmetic ops (x * 0.5 must not reduce g * x to the scalar's
// gradient). y is the op's output. As unary_grad: every Op listed, no default.
std::vector<Tensor> binary_grads(Op op, const Tensor& g, const Tensor& a, const Tensor& b, const Tensor& y, bool need_a,
                                 bool need_b) {
  switch (op) {
    case Op::add:
      return {g, g};
    case Op::sub:
      return {g, need_b ? neg(g) : Tensor()};
    case Op::mul:
      return {need_a ? mul(g, b) : Tensor(), need_b ? mul(g, a) : Tensor()};
    case Op::div:
      return {need_a ? div(g, b) : Tensor(), need_b ? neg(div(mul(g, y), b)) : Tensor()};
    case Op::pow: {
      Tensor ga = mul(g, mul(b, pow(a, sub(b, Scalar(1.0)))));
      Tensor gb = where(logical_and(eq(a, Scalar(0)), ge(b, Scalar(0))), zeros_like(g), mul(g, mul(y, log(a))));
      return {ga, gb};
    }
    case Op::maximum:
    case Op::minimum: {
      Tensor a_wins = (op == Op::maximum ? gt(a, b) : lt(a, b)).to(g.dtype());
      Tensor tie = mul(eq(a, b).to(g.dtype()), Scalar(0.5));
      Tensor b_wins = rsub(add(a_wins, mul(tie, Scalar(2.0))), Scalar(1.0));
      return {mul(g, add(a_wins, tie)), mul(g, add(b_wins, tie))};
    }
    case Op::atan2: {
      Tensor denom = add(square(a), square(b));
      return {mul(g, div(b, denom)), neg(mul(g, div(a, denom)))};
    }
    case Op::hypot:
      return {need_a ? mul(g, div(a, y)) : Tensor(), need_b ? mul(g, div(b, y)) : Tensor()};
    case Op::logaddexp:
      return {need_a ? mul(g, exp(sub(a, y))) : Tensor(), need_b ? mul(g, exp(sub(b, y))) : Tensor()};
    case Op::copysign: {
      // d/da copysign(a, b) = copysign(a, b) / a (+1 or -1), 0 at a == 0 (as PyTorch); none for b.
      Tensor ga = where(eq(a, Scalar(0)), zeros_like(g), mul(g, div(y, a)));
      return {ga, need_b ? zeros_like(g) : Tensor()};
    }
    case Op::remainder:
      return {g, neg(mul(g, floor_divide(a, b)))};
    case Op::fmod:
      return {g, neg(mul(g, trunc(div(a, b))))};
    case Op::floor_divide:
      return {zeros_like(g), zeros_like(g)};
      LAMINA_BINARY_TABLE(LAMINA_CASE_IF_NOGRAD)
      LAMINA_UNARY_TABLE(LAMINA_CASE_OF_ROW)
      LAMINA_KERNEL_TABLE(LAMINA_CASE_OF_ROW)
      break;
  }
  LAMINA_THROW(ValueError, name_of(op), "is not differentiable");
}

void record_binary(Op op, const Tensor& a, const Tensor& b, const Tensor& out) {
  if (!has_grad(op) || !is_floating(out.dtype()) || !autograd::needs_grad({&a, &b})) return;
  const char* label = backward_label(op);
  const bool need_a = autograd::requires_grad(a), need_b = autograd::requires_grad(b);
  // Save only what the needed gradients read: mul's gradient for a reads b and vice versa;
  // div's reads b (and its output for b's); add and sub read nothing.
  const bool arithmetic = op == Op::add || op == Op::sub || op == Op::mul || op == Op::div;
  const bool save_a = arithmetic ? op == Op::mul && need_b : true;
  const bool save_b = arithmetic ? (op == Op::mul && need_a) || op == Op::div : true;
  const bool save_y =
      op == Op::div ? need_b : op == Op::pow || op == Op::hypot || op == Op::logaddexp || op == Op::copysign;
  autograd::SavedTensor sa(save_a ? a : Tensor()), sb(save_b ? b : Tensor());
  autograd::SavedTensor sy(save_y ? out : Tensor(), true);
  const Dtype compute = out.dtype();
  autograd::record(label, out, {&a, &b},
                   [op, label, sa, sb, sy, compute, need_a, need_b, a_shape = a.shape(), b_shape = b.shape(),
                    a_dtype = a.dtype(), b_dtype = b.dtype()](const Tensor& g) {
                     Tensor ta = sa.get(label), tb = sb.get(label);
                     if (ta.defined() && ta.dtype() != compute) ta = ta.to(compute);
                     if (tb.defined() && tb.dtype() != compute) tb = tb.to(compute);
                     std::vector<Tensor> r = binary_grads(op, g, ta, tb, sy.get(label), need_a, need_b);
                     auto shape_to = [](Tensor t, const Shape& shape, Dtype dt) {
                       if (!t.defined()) return t;
                       t = sum_to(t, shape);
                       return t.dtype() == dt ? t : t.to(dt);
                     };
                     return std::vector<Tensor>{shape_to(r[0], a_shape, a_dtype), shape_to(r[1], b_shape, b_dtype)};
                   });
}

// An in-place op on a tensor in the graph is computed out of place (from a copy of the
// input where it must stay saved); this writes the result into x and makes x its output.
const Tensor& write_back(const Tensor& x, const Tensor& result) {
  {
    autograd::NoGradGuard no_grad;
    copy_(x, result);
  }
  autograd::rebase_history(x, result);
  return x;
}

struct BinaryPlan {
  Dtype compute;
  Dtype out;
  Shape shape;
  bool reports_status;  // the kernel checks its inputs (integer division, integer pow)
};

// float16 / bfloat16 transcendental ops on the CPU run through the float32 SIMD kernels (one
// conversion each way): their own kernels are scalar loops, ten times slower for gelu, and a
// bfloat16 model under CPU autocast spends its elementwise time in exactly these.
bool widen_half_on_cpu(Op op, Device device, Dtype dt) {
  if ((dt != Dtype::Float16 && dt != Dtype::BFloat16) || !device.is_cpu()) return false;
  switch (op) {
    case Op::exp:
    case Op::expm1:
    case Op::log:
    case Op::log1p:
    case Op::tanh:
    case Op::sigmoid:
    case Op::silu:
    case Op::gelu:
    case Op::gelu_backward:
      return runtime::backend_name() == "cpu_simd";
    default:
      return false;
  }
}

// Raises what the kernel of a status-reporting launch found wrong with b.
void raise_reported(int32_t status, const char* name, const Tensor& b) {
  LAMINA_CHECK(status != kernels::kStatusIntegerDivisionByZero, ValueError, name, "integer division by zero (divisor ",
               describe(b), ")");
  LAMINA_CHECK(status != kernels::kStatusNegativeIntegerPower, ValueError, name,
               "integers to negative integer powers are not allowed (exponent ", describe(b), "); use a floating base");
}

BinaryPlan plan_binary(const char* name, Kind kind, Op op, const Tensor& a, const Tensor& b) {
  ops::check_defined(a, name, "first operand");
  ops::check_defined(b, name, "second operand");
  ops::check_same_device(name, {&a, &b});
  BinaryPlan plan;
  Dtype common = ops::result_type({&a, &b});
  plan.compute = kind == Kind::Float ? to_floating(common) : kind == Kind::Logical ? Dtype::Bool : common;
  plan.out = (kind == Kind::Compare || kind == Kind::Logical) ? Dtype::Bool : plan.compute;
  LAMINA_CHECK(runtime::has_kernel(op_id(op), a.device(), plan.compute), DTypeError, name, "does not support ",
               dtype_name(plan.compute), " operands (got ", describe(a), " and ", describe(b), ")");
  plan.shape = broadcast_shapes(a.shape(), b.shape(), name);
  plan.reports_status =
      is_integral(plan.compute) && (op == Op::floor_divide || op == Op::remainder || op == Op::fmod || op == Op::pow);
  return plan;
}

// `error_name` names the op in a kernel-reported error (the in-place form's "floor_divide_").
Tensor binary(Op op, Kind kind, const Tensor& a, const Tensor& b, const char* error_name = nullptr) {
  const char* name = name_of(op);
  LAMINA_PROFILE_OP(name, a, b);
  BinaryPlan plan = plan_binary(name, kind, op, a, b);
  Tensor out = Tensor::empty(plan.shape, plan.out, a.device());
  // Operands already of the compute dtype and shape are used as they are (no handle copies).
  Tensor converted_a, converted_b;
  const Tensor* pa = &a;
  const Tensor* pb = &b;
  if (a.dtype() != plan.compute || a.shape() != plan.shape) pa = &(converted_a = a.to(plan.compute).expand(plan.shape));
  if (b.dtype() != plan.compute || b.shape() != plan.shape) pb = &(converted_b = b.to(plan.compute).expand(plan.shape));
  if (plan.reports_status && out.numel() > 0) {  // an empty result divides nothing (as PyTorch)
    ops::StatusWord status(a.device());
    kernels::KernelParams params;
    params.status = status.slot();
    runtime::launch_elementwise(op_id(op), plan.compute, {&out, pa, pb}, params);
    raise_reported(status.read(), error_name ? error_name : name, b);
  } else {
    runtime::launch_elementwise(op_id(op), plan.compute, {&out, pa, pb});
  }
  if (autograd::any_autograd() && autograd::grad_mode_enabled() && is_floating(plan.out)) record_binary(op, a, b, out);
  return out;
}

// g times the derivative of an activation at x in one pass (relu_backward, gelu_backward,
// gelu_tanh_backward; not differentiable, see unary_grad).
Tensor fused_backward(Op op, const Tensor& g, const Tensor& x) {
  if (widen_half_on_cpu(op, x.device(), ops::result_type({&g, &x}))) {
    Tensor g32, x32;
    {
      autograd::NoGradGuard no_grad;
      g32 = g.to(Dtype::Float32);
      x32 = x.to(Dtype::Float32);
    }
    return binary(op, Kind::Same, g32, x32).to(ops::result_type({&g, &x}));
  }
  return binary(op, Kind::Same, g, x);
}

// `name` is the in-place op's name ("add_") for messages.
const Tensor& binary_inplace(const char* name, Op op, Kind kind, const Tensor& a, const Tensor& b) {
  LAMINA_PROFILE_OP(name, a, b);
  BinaryPlan plan = plan_binary(name, kind, op, a, b);
  if (autograd::needs_grad({&a, &b}) && is_floating(plan.out)) {
    // In the graph: compute out of place from a copy of a (saved tensors stay valid), write
    // the values into a, and make a the op's output.
    check_can_cast(plan.out, a, name);
    LAMINA_CHECK(plan.shape == a.shape(), ShapeError, name, "output with shape ", a.shape(),
                 " doesn't match the broadcast shape ", plan.shape, " of ", describe(a), " and ", describe(b));
    const bool a_in_graph = autograd::check_inplace(a, name);
    Tensor result = binary(op, kind, a_in_graph ? a.clone() : a, b);
    return write_back(a, result);
  }
  check_can_cast(plan.out, a, name);
  LAMINA_CHECK(plan.shape == a.shape(), ShapeError, name, "output with shape ", a.shape(),
               " doesn't match the broadcast shape ", plan.shape, " of ", describe(a), " and ", describe(b));
  ops::check_writable(a, name);
  // A status-reporting kernel may find a bad input half way: it writes a temporary, not a.
  if (plan.compute == a.dtype() && plan.out == a.dtype() && !plan.reports_status) {
    Tensor cb = ops::unaliased_input(b.to(plan.compute), a).expand(plan.shape);
    runtime::launch_elementwise(op_id(op), plan.compute, {&a, &a, &cb});
    a.bump_version();
  } else {
    copy_(a, binary(op, kind, a, b, name));
  }
  return a;
}

// Float-valued unary ops map integer inputs to float32; the others keep the dtype.
Tensor unary(Op op, bool float_valued, const Tensor& x) {
  const char* name = name_of(op);
  LAMINA_PROFILE_OP(name, x);
  ops::check_defined(x, name);
  Dtype dt = float_valued ? to_floating(x.dtype()) : x.dtype();
  LAMINA_CHECK(runtime::has_kernel(op_id(op), x.device(), dt), DTypeError, name, "does not support ", describe(x));
  Tensor out;
  if (widen_half_on_cpu(op, x.device(), dt)) {
    autograd::NoGradGuard no_grad;
    Tensor in = x.to(Dtype::Float32);
    Tensor wide = Tensor::empty(x.shape(), Dtype::Float32, x.device());
    runtime::launch_elementwise(op_id(op), Dtype::Float32, {&wide, &in});
    out = wide.to(dt);
  } else {
    Tensor in = x.to(dt);
    out = Tensor::empty(x.shape(), dt, x.device());
    runtime::launch_elementwise(op_id(op), dt, {&out, &in});
  }
  record_unary(op, x, out);
  return out;
}

// `name` is the in-place op's name ("exp_") for messages.
const Tensor& unary_inplace(const char* name, Op op, bool float_valued, const Tensor& x) {
  LAMINA_PROFILE_OP(name, x);
  ops::check_defined(x, name);
  Dtype dt = float_valued ? to_floating(x.dtype()) : x.dtype();
  check_can_cast(dt, x, name);
  LAMINA_CHECK(runtime::has_kernel(op_id(op), x.device(), dt), DTypeError, name, "does not support ", describe(x));
  ops::check_writable(x, name);
  if (autograd::needs_grad({&x})) {  // as binary_inplace: out of place from a copy, then rebased
    autograd::check_inplace(x, name);
    Tensor result = unary(op, float_valued, x.clone());
    return write_back(x, result);
  }
  runtime::launch_elementwise(op_id(op), dt, {&x, &x});
  x.bump_version();
  return x;
}

}  // namespace

namespace ops {
Tensor relu_grad(const Tensor& g, const Tensor& x) {
  const bool fuse = !autograd::grad_mode_enabled() && g.dtype() == x.dtype() && g.shape() == x.shape();
  return fuse ? fused_backward(Op::relu_backward, g, x) : mul(g, gt(x, Scalar(0)).to(g.dtype()));
}
}  // namespace ops

// The autocast hook of a row with autocast Fp32 (nothing for Keep).
#define LAMINA_AUTOCAST_HOOK_Fp32(fn, ...) LAMINA_AUTOCAST(autocast::CastPolicy::Fp32, fn, __VA_ARGS__);
#define LAMINA_AUTOCAST_HOOK_Keep(fn, ...)

// The public functions of each Plain / Extra row of kernels/elementwise_table.h.
#define LAMINA_DEFINE_UNARY(name, kind_, types_, fn_, bool_fn_, grad_, autocast_, api_, ...)                 \
  LAMINA_IF_PUBLIC(                                                                                          \
      api_,                                                                                                  \
      Tensor name(const Tensor& x) {                                                                         \
        LAMINA_AUTOCAST_HOOK_##autocast_(name, x) if (UnaryKind::kind_ == UnaryKind::Round && x.defined() && \
                                                      !is_floating(x.dtype())) return x.clone();             \
        return unary(Op::name, UnaryKind::kind_ != UnaryKind::Same, x);                                      \
      } const Tensor& name##_(const Tensor& x) {                                                             \
        if (UnaryKind::kind_ == UnaryKind::Round && x.defined() && !is_floating(x.dtype())) return x;        \
        return unary_inplace(#name "_", Op::name, UnaryKind::kind_ != UnaryKind::Same, x);                   \
      })
LAMINA_UNARY_TABLE(LAMINA_DEFINE_UNARY)
#undef LAMINA_DEFINE_UNARY

namespace ops {
Tensor gelu_grad(const Tensor& g, const Tensor& x, const std::string& approximate) {
  return unary_grad(approximate == "tanh" ? Op::gelu_tanh : Op::gelu, g, x, Tensor());
}
}  // namespace ops

Tensor gelu(const Tensor& x, const std::string& approximate) {
  LAMINA_CHECK(approximate == "none" || approximate == "tanh", ValueError, "gelu",
               "approximate must be 'none' or 'tanh', got '", approximate, "'");
  return unary(approximate == "none" ? Op::gelu : Op::gelu_tanh, true, x);
}

Tensor logical_not(const Tensor& x) {
  ops::check_defined(x, "logical_not");
  return unary(Op::logical_not, false, x.to(Dtype::Bool));
}

#define LAMINA_DEFINE_FLOAT_PREDICATE(name, int_value)                   \
  Tensor name(const Tensor& x) {                                         \
    ops::check_defined(x, #name);                                        \
    if (!is_floating(x.dtype())) {                                       \
      Tensor out = Tensor::empty(x.shape(), Dtype::Bool, x.device());    \
      fill_(out, Scalar(int_value));                                     \
      return out;                                                        \
    }                                                                    \
    Tensor out = Tensor::empty(x.shape(), Dtype::Bool, x.device());      \
    runtime::launch_elementwise(op_id(Op::name), x.dtype(), {&out, &x}); \
    return out;                                                          \
  }
LAMINA_DEFINE_FLOAT_PREDICATE(isnan, false)
LAMINA_DEFINE_FLOAT_PREDICATE(isinf, false)
LAMINA_DEFINE_FLOAT_PREDICATE(isfinite, true)
#undef LAMINA_DEFINE_FLOAT_PREDICATE

#define LAMINA_DEFINE_BINARY(name, kind_, types_, fn_, bool_fn_, grad_, autocast_, api_, ...)    \
  LAMINA_IF_PUBLIC(                                                                              \
      api_,                                                                                      \
      Tensor name(const Tensor& a, const Tensor& b) {                                            \
        LAMINA_AUTOCAST_HOOK_##autocast_(name, a, b) return binary(Op::name, Kind::kind_, a, b); \
      } Tensor name(const Tensor& a, const Scalar& b) {                                          \
        ops::check_defined(a, #name);                                                            \
        return name(a, ops::wrapped_scalar(b, a.device()));                                      \
      } const Tensor& name##_(const Tensor& a, const Tensor& b) {                                \
        return binary_inplace(#name "_", Op::name, Kind::kind_, a, b);                           \
      } const Tensor& name##_(const Tensor& a, const Scalar& b) {                                \
        ops::check_defined(a, #name "_");                                                        \
        return name##_(a, ops::wrapped_scalar(b, a.device()));                                   \
      })
LAMINA_BINARY_TABLE(LAMINA_DEFINE_BINARY)
#undef LAMINA_DEFINE_BINARY

Tensor add(const Tensor& a, const Tensor& b, const Scalar& alpha) {
  if (!alpha.is_floating() && alpha.to_int() == 1) return add(a, b);
  ops::check_defined(b, "add", "second operand");
  return add(a, mul(b, alpha));
}

Tensor sub(const Tensor& a, const Tensor& b, const Scalar& alpha) {
  if (!alpha.is_floating() && alpha.to_int() == 1) return sub(a, b);
  ops::check_defined(b, "sub", "second operand");
  return sub(a, mul(b, alpha));
}

Tensor rsub(const Tensor& a, const Scalar& s) {
  ops::check_defined(a, "rsub");
  return sub(ops::wrapped_scalar(s, a.device()), a);
}

Tensor rdiv(const Tensor& a, const Scalar& s) {
  ops::check_defined(a, "rdiv");
  return div(ops::wrapped_scalar(s, a.device()), a);
}

Tensor rpow(const Tensor& a, const Scalar& s) {
  ops::check_defined(a, "rpow");
  return pow(ops::wrapped_scalar(s, a.device()), a);
}

Tensor div(const Tensor& a, const Tensor& b, const std::string& rounding_mode) {
  if (rounding_mode.empty()) return div(a, b);
  if (rounding_mode == "floor") return floor_divide(a, b);
  LAMINA_CHECK(rounding_mode == "trunc", ValueError, "div", "rounding_mode must be None, 'trunc' or 'floor', got '",
               rounding_mode, "'");
  ops::check_defined(a, "div", "first operand");
  ops::check_defined(b, "div", "second operand");
  Dtype common = ops::result_type({&a, &b});
  if (is_floating(common)) return trunc(div(a, b));
  // Integer truncation: floor division corrected toward zero where the signs differ.
  Tensor q = floor_divide(a, b);
  Tensor r = remainder(a, b);
  Tensor fix = logical_and(ne(r, Scalar(0)), ne(lt(a, Scalar(0)), lt(b, Scalar(0))));
  return add(q, fix.to(q.dtype()));
}

namespace {

Tensor where_impl(const Tensor& cond, const Tensor& a, const Tensor& b) {
  constexpr OpId id = op_id(Op::where);
  LAMINA_PROFILE_OP("where", cond, a, b);
  ops::check_defined(cond, "where", "condition");
  ops::check_defined(a, "where", "input");
  ops::check_defined(b, "where", "other");
  ops::check_same_device("where", {&cond, &a, &b});
  LAMINA_CHECK(cond.dtype() == Dtype::Bool, DTypeError, "where", "condition must be a bool tensor, got ",
               describe(cond));
  Dtype dt = ops::result_type({&a, &b});
  Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor c = cond.expand(shape), ca = a.to(dt).expand(shape), cb = b.to(dt).expand(shape);
  Tensor out = Tensor::empty(shape, dt, a.device());
  runtime::launch_elementwise(id, dt, {&out, &c, &ca, &cb});
  if (is_floating(dt) && autograd::needs_grad({&a, &b})) {
    autograd::SavedTensor sc(cond);
    // Only the operands that need it get a gradient (masked_fill's filled value is a constant).
    autograd::record("WhereBackward0", out, {&a, &b},
                     [sc, a, b, ra = autograd::requires_grad(a), rb = autograd::requires_grad(b)](const Tensor& g) {
                       const Tensor m = sc.get("WhereBackward0");
                       std::vector<Tensor> r(2);
                       if (ra) r[0] = grad_as(where(m, g, Scalar(0.0)), a);
                       if (rb) r[1] = grad_as(where(m, Scalar(0.0), g), b);
                       return r;
                     });
  }
  return out;
}

}  // namespace

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) { return where_impl(cond, a, b); }
Tensor where(const Tensor& cond, const Scalar& a, const Tensor& b) {
  ops::check_defined(cond, "where", "condition");
  return where_impl(cond, ops::wrapped_scalar(a, cond.device()), b);
}
Tensor where(const Tensor& cond, const Tensor& a, const Scalar& b) {
  ops::check_defined(cond, "where", "condition");
  return where_impl(cond, a, ops::wrapped_scalar(b, cond.device()));
}
Tensor where(const Tensor& cond, const Scalar& a, const Scalar& b) {
  ops::check_defined(cond, "where", "condition");
  return where_impl(cond, ops::wrapped_scalar(a, cond.device()), ops::wrapped_scalar(b, cond.device()));
}

namespace {

// The lowest / highest value of dtype dt, as a bound that never clips.
Tensor open_bound(Dtype dt, bool low, Device device) {
  return visit_dtype(dt, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<compute_t<T>>) {
      double inf = std::numeric_limits<double>::infinity();
      return ops::scalar_tensor(Scalar(low ? -inf : inf), dt, device);
    } else {
      return ops::scalar_tensor(
          Scalar(static_cast<int64_t>(low ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max())), dt,
          device);
    }
  });
}

Tensor clamp_impl(const char* name, const Tensor& x, const Tensor& lo, const Tensor& hi, const Tensor* inplace) {
  constexpr OpId id = op_id(Op::clamp);
  LAMINA_PROFILE_OP(name, x);
  ops::check_defined(x, name);
  LAMINA_CHECK(lo.defined() || hi.defined(), ValueError, name, "at least one of 'min' or 'max' must be given");
  if (lo.defined()) ops::check_same_device(name, {&x, &lo});
  if (hi.defined()) ops::check_same_device(name, {&x, &hi});
  const Dtype dt = lo.defined() && hi.defined() ? ops::result_type({&x, &lo, &hi})
                   : lo.defined()               ? ops::result_type({&x, &lo})
                                                : ops::result_type({&x, &hi});
  LAMINA_CHECK(dt != Dtype::Bool, DTypeError, name, "does not support bool tensors (got ", describe(x), ")");
  Shape shape = x.shape();
  if (lo.defined()) shape = broadcast_shapes(shape, lo.shape(), name);
  if (hi.defined()) shape = broadcast_shapes(shape, hi.shape(), name);
  if (inplace) {
    check_can_cast(dt, x, name);
    LAMINA_CHECK(shape == x.shape(), ShapeError, name, "bounds of shapes ", lo.defined() ? lo.shape() : Shape{}, " / ",
                 hi.defined() ? hi.shape() : Shape{}, " do not broadcast to the input shape ", x.shape());
    ops::check_writable(x, name);
  }
  Tensor cl = (lo.defined() ? lo.to(dt) : open_bound(dt, true, x.device())).expand(shape);
  Tensor ch = (hi.defined() ? hi.to(dt) : open_bound(dt, false, x.device())).expand(shape);
  Tensor cx = x.to(dt).expand(shape);
  Tensor out = Tensor::empty(shape, dt, x.device());
  runtime::launch_elementwise(id, dt, {&out, &cx, &cl, &ch});
  if (!inplace && is_floating(dt) && autograd::needs_grad({&x, &lo, &hi})) {
    autograd::SavedTensor sx(cx), sl(cl), sh(ch);
    autograd::record("ClampBackward1", out, {&x, &lo, &hi}, [sx, sl, sh, x, lo, hi](const Tensor& g) {
      const Tensor vx = sx.get("ClampBackward1"), vl = sl.get("ClampBackward1"), vh = sh.get("ClampBackward1");
      const Tensor z = zeros_like(g);
      const Tensor inside = logical_and(ge(vx, vl), le(vx, vh));
      std::vector<Tensor> r{grad_as(where(inside, g, z), x), Tensor(), Tensor()};
      if (lo.defined()) r[1] = grad_as(where(lt(vx, vl), g, z), lo);
      if (hi.defined()) r[2] = grad_as(where(logical_and(gt(vx, vh), ge(vx, vl)), g, z), hi);
      return r;
    });
  }
  return out;
}

}  // namespace

Tensor clamp(const Tensor& x, std::optional<Scalar> min, std::optional<Scalar> max) {
  ops::check_defined(x, "clamp");
  Tensor lo = min ? ops::wrapped_scalar(*min, x.device()) : Tensor();
  Tensor hi = max ? ops::wrapped_scalar(*max, x.device()) : Tensor();
  return clamp_impl("clamp", x, lo, hi, nullptr);
}

Tensor clamp(const Tensor& x, const Tensor& min, const Tensor& max) {
  return clamp_impl("clamp", x, min, max, nullptr);
}

const Tensor& clamp_(const Tensor& x, std::optional<Scalar> min, std::optional<Scalar> max) {
  ops::check_defined(x, "clamp_");
  Tensor lo = min ? ops::wrapped_scalar(*min, x.device()) : Tensor();
  Tensor hi = max ? ops::wrapped_scalar(*max, x.device()) : Tensor();
  if (autograd::needs_grad({&x})) {
    autograd::check_inplace(x, "clamp_");
    Tensor result = clamp(x.clone(), min, max);
    return write_back(x, result);
  }
  copy_(x, clamp_impl("clamp_", x, lo, hi, &x));
  return x;
}

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator+(const Tensor& a, const Scalar& b) { return add(a, b); }
Tensor operator+(const Scalar& a, const Tensor& b) { return add(b, a); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator-(const Tensor& a, const Scalar& b) { return sub(a, b); }
Tensor operator-(const Scalar& a, const Tensor& b) { return rsub(b, a); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator*(const Tensor& a, const Scalar& b) { return mul(a, b); }
Tensor operator*(const Scalar& a, const Tensor& b) { return mul(b, a); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator/(const Tensor& a, const Scalar& b) { return div(a, b); }
Tensor operator/(const Scalar& a, const Tensor& b) { return rdiv(b, a); }
Tensor operator-(const Tensor& a) { return neg(a); }

}  // namespace lamina
