// Creation functions with PyTorch's signatures: tensor, zeros, ones, full, empty, arange,
// linspace, eye, rand, randn, randint, randperm, *_like, manual_seed, the generator's state.
#include "bind.h"
#include "lamina/autograd/autograd.h"

namespace lamina::python {
namespace {

Shape size_args(const nb::args& args, const nb::object& size) {
  if (size.is_valid() && !size.is_none()) return to_shape(size);
  if (args.size() == 1 && !PyLong_Check(args[0].ptr())) return to_shape(args[0]);
  return to_shape(args);
}

TensorOptions options(const nb::object& dtype, const nb::object& device, Dtype fallback = kDefaultFloat) {
  return TensorOptions{to_optional_dtype(dtype).value_or(fallback), to_device(device)};
}

// Dtype of full()/arange() when none is given: from the fill value, like PyTorch.
Dtype natural(const Scalar& s) { return s.is_floating() ? kDefaultFloat : s.natural_dtype(); }

}  // namespace

namespace {
// The requires_grad= keyword of the factories.
Tensor with_requires_grad(Tensor t, bool requires_grad) {
  if (requires_grad) autograd::set_requires_grad(t, true);
  return t;
}
}  // namespace

void init_creation(nb::module_& m, TensorClass& cls) {
  (void)cls;
  m.def("tensor", [](nb::handle data, nb::object dtype, nb::object device, bool requires_grad) {
    return with_requires_grad(tensor_from_data(data, to_optional_dtype(dtype), to_device(device)), requires_grad);
  }, nb::arg("data"), nb::kw_only(), nb::arg("dtype") = nb::none(), nb::arg("device") = nb::none(),
     nb::arg("requires_grad") = false,
     "A new tensor copied from nested lists, numbers or arrays.");

#define LAMINA_BIND_FILLED(name, value)                                                                     \
  m.def(#name, [](nb::args args, nb::object size, nb::object dtype, nb::object device, bool requires_grad) { \
    return with_requires_grad(full(size_args(args, size), Scalar(value), options(dtype, device)), requires_grad); \
  }, nb::arg("args"), nb::kw_only(), nb::arg("size") = nb::none(), nb::arg("dtype") = nb::none(),          \
     nb::arg("device") = nb::none(), nb::arg("requires_grad") = false, "A tensor of " #name ".");
  LAMINA_BIND_FILLED(zeros, 0)
  LAMINA_BIND_FILLED(ones, 1)
#undef LAMINA_BIND_FILLED

  m.def("empty", [](nb::args args, nb::object size, nb::object dtype, nb::object device, bool requires_grad) {
    return with_requires_grad(empty(size_args(args, size), options(dtype, device)), requires_grad);
  }, nb::arg("args"), nb::kw_only(), nb::arg("size") = nb::none(), nb::arg("dtype") = nb::none(),
     nb::arg("device") = nb::none(), nb::arg("requires_grad") = false, "An uninitialized tensor.");
  m.def("full", [](nb::handle size, nb::handle value, nb::object dtype, nb::object device) {
    Scalar v = to_scalar(value);
    return full(to_shape(size), v, options(dtype, device, natural(v)));
  }, nb::arg("size"), nb::arg("fill_value"), nb::kw_only(), nb::arg("dtype") = nb::none(),
     nb::arg("device") = nb::none(), "A tensor filled with fill_value.");
  m.def("arange", [](nb::handle a, nb::object b, nb::object c, nb::object dtype, nb::object device) {
    Scalar start(int64_t{0}), end = to_scalar(a), step(int64_t{1});
    if (!b.is_none()) {
      start = to_scalar(a);
      end = to_scalar(b);
    }
    if (!c.is_none()) step = to_scalar(c);
    bool all_int = !start.is_floating() && !end.is_floating() && !step.is_floating();
    Device dev = to_device(device);
    return arange(start, end, step, {to_optional_dtype(dtype).value_or(all_int ? Dtype::Int64 : kDefaultFloat), dev});
  }, nb::arg("start"), nb::arg("end") = nb::none(), nb::arg("step") = nb::none(), nb::kw_only(),
     nb::arg("dtype") = nb::none(), nb::arg("device") = nb::none(),
     "Values from start to end (exclusive) by step.");
  m.def("linspace", [](double start, double end, int64_t steps, nb::object dtype, nb::object device) {
    return linspace(start, end, steps, options(dtype, device));
  }, nb::arg("start"), nb::arg("end"), nb::arg("steps"), nb::kw_only(), nb::arg("dtype") = nb::none(),
     nb::arg("device") = nb::none(), "steps evenly spaced values, ends included.");
  m.def("eye", [](int64_t n, std::optional<int64_t> mcols, nb::object dtype, nb::object device) {
    return eye(n, mcols, options(dtype, device));
  }, nb::arg("n"), nb::arg("m") = nb::none(), nb::kw_only(), nb::arg("dtype") = nb::none(),
     nb::arg("device") = nb::none(), "Identity matrix.");
  m.def("rand", [](nb::args args, nb::object size, nb::object dtype, nb::object device, bool requires_grad) {
    return with_requires_grad(rand(size_args(args, size), options(dtype, device)), requires_grad);
  }, nb::arg("args"), nb::kw_only(), nb::arg("size") = nb::none(), nb::arg("dtype") = nb::none(),
     nb::arg("device") = nb::none(), nb::arg("requires_grad") = false, "Uniform samples in [0, 1).");
  m.def("randn", [](nb::args args, nb::object size, nb::object dtype, nb::object device, bool requires_grad) {
    return with_requires_grad(randn(size_args(args, size), options(dtype, device)), requires_grad);
  }, nb::arg("args"), nb::kw_only(), nb::arg("size") = nb::none(), nb::arg("dtype") = nb::none(),
     nb::arg("device") = nb::none(), nb::arg("requires_grad") = false, "Standard normal samples.");
  m.def("randint", [](nb::args args, nb::object size, nb::object dtype, nb::object device) {
    // randint(high, size) or randint(low, high, size), like torch.
    int64_t low = 0, high;
    nb::object shape = size;
    size_t n = args.size();
    if (shape.is_none()) {
      LAMINA_CHECK(n >= 2, ValueError, "randint", "expected randint(high, size) or randint(low, high, size)");
      shape = nb::borrow(args[n - 1]);
      --n;
    }
    LAMINA_CHECK(n == 1 || n == 2, ValueError, "randint", "expected randint(high, size) or randint(low, high, size)");
    if (n == 1) high = nb::cast<int64_t>(args[0]);
    else {
      low = nb::cast<int64_t>(args[0]);
      high = nb::cast<int64_t>(args[1]);
    }
    return randint(low, high, to_shape(shape), to_optional_dtype(dtype), to_device(device));
  }, nb::arg("args"), nb::kw_only(), nb::arg("size") = nb::none(), nb::arg("dtype") = nb::none(),
     nb::arg("device") = nb::none(), "Uniform integers in [low, high).");
  m.def("randperm", [](int64_t n, nb::object dtype, nb::object device) {
    auto dt = to_optional_dtype(dtype);
    Tensor p = randperm(n, to_device(device));
    return dt ? p.to(*dt) : p;
  }, nb::arg("n"), nb::kw_only(), nb::arg("dtype") = nb::none(), nb::arg("device") = nb::none(),
     "A random permutation of 0..n-1.");
  m.def("manual_seed", [](uint64_t seed) { manual_seed(seed); }, nb::arg("seed"),
        "Seeds the global generator; results are reproducible across runs and thread counts.");
  m.def("initial_seed", &initial_seed, "The seed last set.");
  m.def("get_rng_state", &get_rng_state,
        "The global generator's state: 16 bytes (seed, draw offset) as a uint8 tensor (torch.get_rng_state).");
  m.def("set_rng_state", &set_rng_state, nb::arg("new_state"),
        "Restores a state get_rng_state() returned (torch.set_rng_state).");

  auto like = [](const Tensor& t, const nb::object& dtype, const nb::object& device) {
    return TensorOptions{to_optional_dtype(dtype).value_or(t.dtype()),
                         device.is_none() ? t.device() : to_device(device)};
  };
  m.def("empty_like", [like](const Tensor& t, nb::object dtype, nb::object device) {
    return empty(t.shape(), like(t, dtype, device));
  }, nb::arg("input"), nb::kw_only(), nb::arg("dtype") = nb::none(), nb::arg("device") = nb::none());
  m.def("zeros_like", [like](const Tensor& t, nb::object dtype, nb::object device) {
    return zeros(t.shape(), like(t, dtype, device));
  }, nb::arg("input"), nb::kw_only(), nb::arg("dtype") = nb::none(), nb::arg("device") = nb::none());
  m.def("ones_like", [like](const Tensor& t, nb::object dtype, nb::object device) {
    return ones(t.shape(), like(t, dtype, device));
  }, nb::arg("input"), nb::kw_only(), nb::arg("dtype") = nb::none(), nb::arg("device") = nb::none());
  m.def("full_like", [like](const Tensor& t, nb::handle v, nb::object dtype, nb::object device) {
    return full(t.shape(), to_scalar(v), like(t, dtype, device));
  }, nb::arg("input"), nb::arg("fill_value"), nb::kw_only(), nb::arg("dtype") = nb::none(),
     nb::arg("device") = nb::none());
  m.def("rand_like", [like](const Tensor& t, nb::object dtype, nb::object device) {
    return rand(t.shape(), like(t, dtype, device));
  }, nb::arg("input"), nb::kw_only(), nb::arg("dtype") = nb::none(), nb::arg("device") = nb::none());
  m.def("randn_like", [like](const Tensor& t, nb::object dtype, nb::object device) {
    return randn(t.shape(), like(t, dtype, device));
  }, nb::arg("input"), nb::kw_only(), nb::arg("dtype") = nb::none(), nb::arg("device") = nb::none());
  cls.def("uniform_", &uniform_, nb::arg("from") = 0.0, nb::arg("to") = 1.0, "Fills with U(from, to).")
      .def("normal_", &normal_, nb::arg("mean") = 0.0, nb::arg("std") = 1.0, "Fills with N(mean, std).");
  m.def("is_tensor", [](nb::handle h) { return nb::isinstance<Tensor>(h); });
}

}  // namespace lamina::python
