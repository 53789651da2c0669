#include "lamina/ops/creation.h"

#include <cmath>
#include <cstring>

#include "lamina/ops/common.h"
#include "lamina/ops/copy.h"
#include "lamina/runtime/generator.h"
#include "lamina/runtime/profiler.h"

namespace lamina {

Tensor empty(const Shape& shape, TensorOptions options) {
  check_device_available(options.device, "empty");
  return Tensor::empty(shape, options.dtype, options.device);
}

Tensor zeros(const Shape& shape, TensorOptions options) { return full(shape, Scalar(0), options); }
Tensor ones(const Shape& shape, TensorOptions options) { return full(shape, Scalar(1), options); }

Tensor full(const Shape& shape, const Scalar& value, TensorOptions options) {
  LAMINA_PROFILE_OP("full");
  Tensor t = empty(shape, options);
  fill_(t, value);
  return t;
}

Tensor arange(const Scalar& start, const Scalar& end, const Scalar& step, TensorOptions options) {
  LAMINA_PROFILE_OP("arange");
  const double s = start.to_double(), e = end.to_double(), st = step.to_double();
  LAMINA_CHECK(st != 0.0, ValueError, "arange", "step must be nonzero");
  LAMINA_CHECK(std::isfinite(s) && std::isfinite(e), ValueError, "arange", "start and end must be finite, got ", s,
               " and ", e);
  LAMINA_CHECK((st > 0 && e >= s) || (st < 0 && e <= s), ValueError, "arange",
               "upper bound and step sign are inconsistent (start ", s, ", end ", e, ", step ", st, ")");
  const double count = std::ceil((e - s) / st);
  LAMINA_CHECK(count < 9.0e15, OutOfMemoryError, "arange", "the range from ", s, " to ", e, " by ", st, " has ", count,
               " elements, more than lamina can allocate");
  const int64_t n = static_cast<int64_t>(count);
  Tensor out = empty({n}, {Dtype::Float64, kCPU});
  double* p = out.data<double>();
  if (is_integral(options.dtype) && !start.is_floating() && !step.is_floating()) {
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<double>(start.to_int() + i * step.to_int());
    if (options.dtype == Dtype::Int64) {  // exact for large integers
      Tensor exact = empty({n}, {Dtype::Int64, kCPU});
      for (int64_t i = 0; i < n; ++i) exact.data<int64_t>()[i] = start.to_int() + i * step.to_int();
      return exact;
    }
  } else {
    for (int64_t i = 0; i < n; ++i) p[i] = s + static_cast<double>(i) * st;
  }
  return out.to(options.dtype);
}

Tensor arange(const Scalar& start, const Scalar& end, const Scalar& step) {
  bool all_int = !start.is_floating() && !end.is_floating() && !step.is_floating();
  return arange(start, end, step, {all_int ? Dtype::Int64 : kDefaultFloat, kCPU});
}

Tensor arange(const Scalar& end) { return arange(Scalar(int64_t{0}), end, Scalar(int64_t{1})); }

Tensor linspace(double start, double end, int64_t steps, TensorOptions options) {
  LAMINA_PROFILE_OP("linspace");
  LAMINA_CHECK(steps >= 0, ValueError, "linspace", "number of steps must be non-negative, got ", steps);
  Tensor out = empty({steps}, {Dtype::Float64, kCPU});
  double* p = out.data<double>();
  const double step = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0.0;
  // Fill from both ends like PyTorch so the endpoints are exact.
  const int64_t half = steps / 2;
  for (int64_t i = 0; i < steps; ++i)
    p[i] = i < half ? start + step * static_cast<double>(i) : end - step * static_cast<double>(steps - 1 - i);
  return out.to(options.dtype);
}

Tensor eye(int64_t n, std::optional<int64_t> m, TensorOptions options) {
  LAMINA_PROFILE_OP("eye");
  const int64_t cols = m.value_or(n);
  LAMINA_CHECK(n >= 0 && cols >= 0, ValueError, "eye", "sizes must be non-negative, got n=", n, ", m=", cols);
  Tensor out = zeros({n, cols}, options);
  if (n > 0 && cols > 0) fill_(out.diagonal(), Scalar(1));
  return out;
}

template <class T>
Tensor tensor(const std::vector<T>& values, const Shape& shape, std::optional<Dtype> dtype) {
  LAMINA_CHECK(shape_numel(shape) == static_cast<int64_t>(values.size()), ShapeError, "tensor", "shape ", shape,
               " needs ", shape_numel(shape), " values, got ", values.size());
  using Stored = std::conditional_t<std::is_same_v<T, bool>, bool, T>;
  Tensor host = Tensor::empty(shape, DtypeOf<Stored>::value, kCPU);
  Stored* p = host.data<Stored>();
  for (size_t i = 0; i < values.size(); ++i) p[i] = values[i];
  return dtype ? host.to(*dtype) : host;
}

template <class T>
Tensor tensor(const std::vector<T>& values, std::optional<Dtype> dtype) {
  return tensor(values, Shape{static_cast<int64_t>(values.size())}, dtype);
}

#define LAMINA_INSTANTIATE_TENSOR(T)                                      \
  template Tensor tensor<T>(const std::vector<T>&, std::optional<Dtype>); \
  template Tensor tensor<T>(const std::vector<T>&, const Shape&, std::optional<Dtype>);
LAMINA_INSTANTIATE_TENSOR(bool)
LAMINA_INSTANTIATE_TENSOR(uint8_t)
LAMINA_INSTANTIATE_TENSOR(int8_t)
LAMINA_INSTANTIATE_TENSOR(int32_t)
LAMINA_INSTANTIATE_TENSOR(int64_t)
LAMINA_INSTANTIATE_TENSOR(float)
LAMINA_INSTANTIATE_TENSOR(double)
#undef LAMINA_INSTANTIATE_TENSOR

Tensor scalar_tensor(const Scalar& value, std::optional<Dtype> dtype) {
  Dtype dt = dtype ? *dtype : value.is_floating() ? kDefaultFloat : value.natural_dtype();
  return ops::scalar_tensor(value, dt);
}

Tensor empty_like(const Tensor& t) {
  ops::check_defined(t, "empty_like");
  return Tensor::empty(t.shape(), t.dtype(), t.device());
}
Tensor zeros_like(const Tensor& t) { return full_like(t, Scalar(0)); }
Tensor ones_like(const Tensor& t) { return full_like(t, Scalar(1)); }
Tensor full_like(const Tensor& t, const Scalar& value) {
  Tensor out = empty_like(t);
  fill_(out, value);
  return out;
}

void manual_seed(uint64_t seed) { runtime::default_generator().seed(seed); }
uint64_t initial_seed() { return runtime::default_generator().current_seed(); }

namespace {

void run_random(const char* name, const Tensor& out, double a, double b, int64_t lo = 0, int64_t hi = 0) {
  static const runtime::OpId uniform = runtime::op_id(kernels::Op::uniform),
                             normal = runtime::op_id(kernels::Op::normal),
                             randint_id = runtime::op_id(kernels::Op::randint);
  std::string_view n(name);
  runtime::OpId id = n == "uniform" ? uniform : n == "normal" ? normal : randint_id;
  LAMINA_CHECK(runtime::has_kernel(id, out.device(), out.dtype()), DTypeError, name, "does not support ",
               describe(out));
  kernels::KernelParams params;
  params.a = a;
  params.b = b;
  params.lo = lo;
  params.hi = hi;
  auto& gen = runtime::default_generator();
  params.j = static_cast<int64_t>(gen.current_seed());
  params.i = static_cast<int64_t>(gen.reserve(static_cast<uint64_t>(out.numel())));
  runtime::launch_elementwise(id, out.dtype(), {&out}, params, runtime::Split::CounterParam);
}

void check_float_options(const char* op, TensorOptions options) {
  LAMINA_CHECK(is_floating(options.dtype), DTypeError, op, "needs a floating dtype, got ", dtype_name(options.dtype));
}

}  // namespace

Tensor rand(const Shape& shape, TensorOptions options) {
  LAMINA_PROFILE_OP("rand");
  check_float_options("rand", options);
  Tensor t = empty(shape, options);
  run_random("uniform", t, 0.0, 1.0);
  return t;
}

Tensor randn(const Shape& shape, TensorOptions options) {
  LAMINA_PROFILE_OP("randn");
  check_float_options("randn", options);
  Tensor t = empty(shape, options);
  run_random("normal", t, 0.0, 1.0);
  return t;
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, std::optional<Dtype> dtype, Device device) {
  LAMINA_PROFILE_OP("randint");
  LAMINA_CHECK(low < high, ValueError, "randint", "low (", low, ") must be less than high (", high, ")");
  int64_t span;
  LAMINA_CHECK(!__builtin_sub_overflow(high, low, &span), ValueError, "randint", "the range [", low, ", ", high,
               ") is wider than int64 can count");
  const Dtype dt = dtype.value_or(Dtype::Int64);
  LAMINA_CHECK(dt != Dtype::Bool || (low >= 0 && high <= 2), ValueError, "randint", "range [", low, ", ", high,
               ") does not fit bool");
  Tensor t = empty(shape, {dt, device});
  run_random("randint", t, 0.0, 0.0, low, high);
  return t;
}

Tensor rand_like(const Tensor& t) {
  ops::check_defined(t, "rand_like");
  return rand(t.shape(), {t.dtype(), t.device()});
}

Tensor randn_like(const Tensor& t) {
  ops::check_defined(t, "randn_like");
  return randn(t.shape(), {t.dtype(), t.device()});
}

Tensor randperm(int64_t n, Device device) {
  LAMINA_PROFILE_OP("randperm");
  LAMINA_CHECK(n >= 0, ValueError, "randperm", "n must be non-negative, got ", n);
  check_device_available(device, "randperm");
  Tensor out = arange(Scalar(n));
  int64_t* p = out.data<int64_t>();
  auto& gen = runtime::default_generator();
  const uint64_t seed = gen.current_seed(), first = gen.reserve(static_cast<uint64_t>(n));
  for (int64_t i = n - 1; i > 0; --i) {  // Fisher-Yates driven by the counter-based stream
    uint32_t r[4];
    runtime::Philox::block(seed, first + static_cast<uint64_t>(i), 1, r);
    uint64_t bits = (static_cast<uint64_t>(r[0]) << 32) | r[1];
    std::swap(p[i], p[static_cast<int64_t>(bits % static_cast<uint64_t>(i + 1))]);
  }
  return device.is_cpu() ? out : out.to(device);
}

const Tensor& uniform_(const Tensor& t, double low, double high) {
  LAMINA_PROFILE_OP("uniform_", t);
  ops::check_defined(t, "uniform_");
  LAMINA_CHECK(low <= high, ValueError, "uniform_", "low (", low, ") must be <= high (", high, ")");
  check_float_options("uniform_", {t.dtype(), t.device()});
  ops::check_writable(t, "uniform_");
  run_random("uniform", t, low, high);
  t.bump_version();
  return t;
}

const Tensor& normal_(const Tensor& t, double mean, double std) {
  LAMINA_PROFILE_OP("normal_", t);
  ops::check_defined(t, "normal_");
  LAMINA_CHECK(std >= 0, ValueError, "normal_", "std must be >= 0, got ", std);
  check_float_options("normal_", {t.dtype(), t.device()});
  ops::check_writable(t, "normal_");
  run_random("normal", t, mean, std);
  t.bump_version();
  return t;
}

}  // namespace lamina
