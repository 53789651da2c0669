#include "lamina/ops/index.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <utility>

#include "lamina/autograd/autograd.h"
#include "lamina/kernels/loops.h"
#include "lamina/ops/common.h"
#include "lamina/ops/copy.h"
#include "lamina/ops/creation.h"
#include "lamina/ops/elementwise.h"
#include "lamina/ops/reduce.h"
#include "lamina/runtime/loops.h"
#include "lamina/runtime/profiler.h"

namespace lamina {
namespace {

using kernels::ElementwiseKernel;
using kernels::KernelParams;
using kernels::MaskKernel;
using runtime::op_id;
using runtime::OpId;

// Modes of the put kernel (params.j).
constexpr int64_t kAssign = 0, kAdd = 1, kMultiply = 2;

// ---------------------------------------------------------------------------------------------
// Shared checks and helpers

bool is_index_dtype(Dtype dt) {
  return dt == Dtype::Int64 || dt == Dtype::Int32 || dt == Dtype::Int8 || dt == Dtype::UInt8 || dt == Dtype::Bool;
}

// The smallest and largest value of an integer index tensor. On a CUDA device one kernel
// reduces the index and the two values come back in one 16-byte copy (a stream
// synchronization per indexing op with tensor indices: the price of raising IndexError before
// anything is written, as on the CPU).
std::pair<int64_t, int64_t> index_min_max(const Tensor& idx) {
  constexpr OpId id = op_id(kernels::Op::index_range);
  if (!idx.device().is_cuda()) return {amin(idx).item().to_int(), amax(idx).item().to_int()};
  Tensor min_max = Tensor::empty({2}, Dtype::Int64, idx.device());
  runtime::launch_once<kernels::IndexRangeKernel>(id, idx.device(), idx.dtype(), [&](kernels::IndexRangeKernel k) {
    k(runtime::make_strided_loop({&idx}), static_cast<int64_t*>(min_max.data_ptr()));
  });
  const Tensor host = min_max.to(kCPU);
  return {host.data<int64_t>()[0], host.data<int64_t>()[1]};
}

// Throws IndexError unless every value of the integer tensor `idx` lies in [-size, size)
// (or [0, size) when negative indices are not allowed).
// Returns whether any index is negative.
bool check_index_range(const Tensor& idx, int64_t size, int64_t dim, bool allow_negative, const char* op) {
  if (idx.numel() == 0) return false;
  const auto [lo, hi] = index_min_max(idx);
  const int64_t min_ok = allow_negative ? -size : 0;
  LAMINA_CHECK(lo >= min_ok && hi < size, IndexError, op, "index ", lo < min_ok ? lo : hi,
               " is out of bounds for dimension ", dim, " with size ", size);
  return lo < 0;
}

// A new handle on x's data (so that x[...] is a distinct tensor, like a view).
Tensor alias_of(const Tensor& x) {
  return Tensor::make_view(x.storage(), x.shape(), x.strides(), x.storage_offset(), x.dtype());
}

// The walk over a bool mask writing into `out` (weights left zero).
kernels::MaskLoop make_mask_loop(const Tensor& mask, const Tensor& out) {
  kernels::MaskLoop loop;
  loop.ndim = static_cast<int>(mask.dim());
  loop.numel = mask.numel();
  loop.mask = static_cast<const char*>(mask.data_ptr());
  loop.out = static_cast<int64_t*>(out.data_ptr());
  loop.count = out.numel();
  for (int64_t d = 0; d < mask.dim(); ++d) {
    loop.shape[d] = mask.shape()[d];
    loop.strides[d] = mask.strides()[d] * mask.element_size();
    loop.weights[d] = 0;
  }
  return loop;
}

int64_t count_true(const Tensor& mask) {
  constexpr OpId id = op_id(kernels::Op::mask_count);
  if (mask.numel() == 0) return 0;
  Tensor out = Tensor::empty({1}, Dtype::Int64, mask.device());
  runtime::launch_once<MaskKernel>(id, mask.device(), Dtype::Bool,
                                   [&](MaskKernel k) { k(make_mask_loop(mask, out), {}); });
  return out.item().to_int();  // on a CUDA device: one 8-byte copy to size the output
}

// Byte offsets into `view` of the true elements of a bool mask covering view dims
// first .. first + mask.dim() - 1, in row-major order.
Tensor mask_offsets(const Tensor& mask, const Tensor& view, int64_t first) {
  constexpr OpId id = op_id(kernels::Op::mask_offsets);
  runtime::require_kernel(id, mask.device(), Dtype::Bool);
  Tensor out = Tensor::empty({count_true(mask)}, Dtype::Int64, mask.device());
  if (out.numel() == 0) return out;
  kernels::MaskLoop loop = make_mask_loop(mask, out);
  for (int64_t d = 0; d < mask.dim(); ++d) loop.weights[d] = view.strides()[first + d] * view.element_size();
  runtime::launch_once<MaskKernel>(id, mask.device(), Dtype::Bool, [&](MaskKernel k) { k(loop, {}); });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Resolving an index: the basic part becomes a view; each advanced part (index array, mask,
// bool) is recorded against the dims of that view it replaces.

struct AdvancedIndex {
  int64_t first = 0;  // first dim of the view it indexes
  int64_t ndim = 1;   // dims it consumes (a mask's rank, else 1)
  Tensor index;       // integer indices along `first`, or byte offsets for a mask
  int64_t wrap = 0;   // added to negative indices (0: none)
  int64_t scale = 0;  // bytes per unit of index
  bool has_negative = false;
};

struct Resolved {
  Tensor view;
  std::vector<AdvancedIndex> adv;
};

// PyTorch's reading of tensor entries: a 0-d integer tensor is an integer, a 0-d bool tensor a
// bool, a uint8 tensor a mask; float tensors are not indices.
std::vector<TensorIndex> normalize(const Tensor& x, const std::vector<TensorIndex>& indices, const char* op) {
  std::vector<TensorIndex> out;
  out.reserve(indices.size());
  for (const TensorIndex& entry : indices) {
    const Tensor* t = std::get_if<Tensor>(&entry);
    if (!t) {
      out.push_back(entry);
      continue;
    }
    ops::check_defined(*t, op, "index");
    ops::check_same_device(op, {&x, t});
    LAMINA_CHECK(is_index_dtype(t->dtype()), IndexError, op,
                 "tensors used as indices must be long, int, byte or bool tensors, got ", describe(*t));
    if (t->dim() == 0) {
      if (t->dtype() == Dtype::Bool)
        out.emplace_back(t->item().to<bool>());
      else
        out.emplace_back(t->item().to_int());
    } else if (t->dtype() == Dtype::UInt8) {
      out.emplace_back(t->to(Dtype::Bool));
    } else {
      out.push_back(entry);
    }
  }
  return out;
}

int64_t consumed_dims(const TensorIndex& idx) {
  if (std::holds_alternative<int64_t>(idx) || std::holds_alternative<Slice>(idx)) return 1;
  if (const Tensor* t = std::get_if<Tensor>(&idx)) return t->dtype() == Dtype::Bool ? t->dim() : 1;
  return 0;
}

Tensor apply_slice(const Tensor& view, int64_t d, const Slice& s, const char* op) {
  int64_t step = s.step.value_or(1);
  LAMINA_CHECK(step != 0, ValueError, op, "slice step cannot be zero");
  // Any step beyond the dim's size picks the same single element; clamping keeps the
  // length and stride arithmetic far from overflow.
  const int64_t n = std::max<int64_t>(view.shape()[d], 1);
  step = std::clamp(step, -n, n);
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min(), kMax = std::numeric_limits<int64_t>::max();
  const int64_t start = s.start.value_or(step > 0 ? 0 : kMax);
  const int64_t stop = s.stop.value_or(step > 0 ? kMax : kMin);
  return view.slice(d, start, stop, step);
}

Resolved resolve(const Tensor& x, const std::vector<TensorIndex>& raw, const char* op, bool allow_negative = true) {
  ops::check_defined(x, op);
  const std::vector<TensorIndex> indices = normalize(x, raw, op);
  int64_t consumed = 0, ellipses = 0;
  for (const TensorIndex& i : indices) {
    consumed += consumed_dims(i);
    ellipses += std::holds_alternative<Ellipsis>(i) ? 1 : 0;
  }
  LAMINA_CHECK(ellipses <= 1, IndexError, op, "an index can only have a single ellipsis ('...')");
  LAMINA_CHECK(consumed <= x.dim(), IndexError, op, "too many indices for tensor of dimension ", x.dim(), " (got ",
               consumed, ")");
  Resolved r{x, {}};
  int64_t d = 0;
  for (const TensorIndex& entry : indices) {
    if (const int64_t* i = std::get_if<int64_t>(&entry)) {
      const int64_t n = r.view.shape()[d];
      LAMINA_CHECK(*i >= -n && *i < n, IndexError, op, "index ", *i, " is out of bounds for dimension ", d,
                   " with size ", n);
      r.view = r.view.select(d, *i);
    } else if (const Slice* s = std::get_if<Slice>(&entry)) {
      r.view = apply_slice(r.view, d++, *s, op);
    } else if (std::holds_alternative<NewAxis>(entry)) {
      r.view = r.view.unsqueeze(d++);
    } else if (std::holds_alternative<Ellipsis>(entry)) {
      d += x.dim() - consumed;
    } else if (const bool* b = std::get_if<bool>(&entry)) {
      // PyTorch: a new axis indexed by [0] (True) or by nothing (False).
      r.view = r.view.unsqueeze(d);
      r.adv.push_back({d++, 1, zeros({*b ? 1 : 0}, {Dtype::Int64, x.device()}), 0, 0});
    } else {
      const Tensor& t = std::get<Tensor>(entry);
      if (t.dtype() == Dtype::Bool) {
        for (int64_t k = 0; k < t.dim(); ++k) {
          LAMINA_CHECK(t.shape()[k] == r.view.shape()[d + k], IndexError, op, "the shape of the mask ", t.shape(),
                       " at index ", k, " does not match the shape of the indexed tensor ", r.view.shape(),
                       " at index ", d + k);
        }
        r.adv.push_back({d, t.dim(), mask_offsets(t, r.view, d), 0, 1});
        d += t.dim();
      } else {
        const int64_t n = r.view.shape()[d];
        const bool negative = check_index_range(t, n, d, allow_negative, op);
        r.adv.push_back({d, 1, t, n, r.view.strides()[d] * r.view.element_size(), negative});
        ++d;
      }
    }
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// Planning an advanced index: the result shape and two result-shaped operands for the
// take / put kernels: the byte offsets (stride 0 over the non-indexed dims) and the indexed
// tensor's base (stride 0 over the index dims).

struct Plan {
  Shape result_shape;
  Tensor offsets;  // int64; the kernels address base + offsets * scale
  int64_t scale = 1;
  Tensor base;
};

// The combined byte offsets of all advanced indices, shaped `index_shape`. A lone int64
// index needing no wrapping serves as is, scaled by its stride.
Tensor combined_offsets(const std::vector<AdvancedIndex>& adv, const Shape& index_shape, Device device,
                        int64_t& scale) {
  constexpr OpId id = op_id(kernels::Op::index_offsets);
  if (adv.size() == 1 && adv[0].index.dtype() == Dtype::Int64 && !adv[0].has_negative) {
    scale = adv[0].scale;
    return adv[0].index;
  }
  scale = 1;
  Tensor offsets = Tensor::empty(index_shape, Dtype::Int64, device);
  if (offsets.numel() == 0) return offsets;
  for (size_t k = 0; k < adv.size(); ++k) {
    Tensor idx = adv[k].index.expand(index_shape);
    KernelParams params;
    params.i = adv[k].has_negative ? adv[k].wrap : 0;
    params.j = adv[k].scale;
    params.lo = k > 0 ? 1 : 0;
    runtime::launch_elementwise(id, adv[k].index.dtype(), {&offsets, &idx}, params);
  }
  return offsets;
}

std::string shapes_text(const std::vector<AdvancedIndex>& adv) {
  std::ostringstream os;
  for (size_t k = 0; k < adv.size(); ++k) os << (k ? ", " : "") << adv[k].index.shape();
  return os.str();
}

Plan plan_advanced(const Resolved& r, const char* op) {
  const Tensor& v = r.view;
  Shape index_shape;
  try {
    for (const AdvancedIndex& a : r.adv) index_shape = broadcast_shapes(index_shape, a.index.shape(), op);
  } catch (const ShapeError&) {
    LAMINA_THROW(IndexError, op, "shape mismatch: indexing tensors could not be broadcast together with shapes ",
                 shapes_text(r.adv));
  }
  std::vector<bool> indexed(static_cast<size_t>(v.dim()), false);
  for (const AdvancedIndex& a : r.adv)
    for (int64_t k = a.first; k < a.first + a.ndim; ++k) indexed[static_cast<size_t>(k)] = true;
  const auto first = std::find(indexed.begin(), indexed.end(), true);
  const auto last = std::find(indexed.rbegin(), indexed.rend(), true).base();
  // Adjacent advanced dims are replaced in place; separated ones move to the front.
  const bool adjacent = std::all_of(first, last, [](bool b) { return b; });
  const int64_t rest_before = adjacent ? std::distance(indexed.begin(), first) : 0;

  Plan p;
  const Tensor offsets = combined_offsets(r.adv, index_shape, v.device(), p.scale);
  const Strides index_strides = offsets.strides();
  Strides base_strides, offset_strides;
  auto push = [&](int64_t size, int64_t base_stride, int64_t offset_stride) {
    p.result_shape.push_back(size);
    base_strides.push_back(base_stride);
    offset_strides.push_back(offset_stride);
  };
  int64_t rest = 0;
  for (int64_t dim = 0; dim <= v.dim(); ++dim) {
    if (rest == rest_before) {
      for (int64_t k = 0; k < index_shape.size(); ++k) push(index_shape[k], 0, index_strides[k]);
      rest = -1;  // placed
    }
    if (dim == v.dim() || indexed[static_cast<size_t>(dim)]) continue;
    push(v.shape()[dim], v.strides()[dim], 0);
    if (rest >= 0) ++rest;
  }

  p.offsets =
      Tensor::make_view(offsets.storage(), p.result_shape, offset_strides, offsets.storage_offset(), Dtype::Int64);
  p.base = Tensor::make_view(v.storage(), p.result_shape, base_strides, v.storage_offset(), v.dtype());
  return p;
}

Tensor index_impl(const Tensor& x, const std::vector<TensorIndex>& indices, const char* op,
                  bool allow_negative = true) {
  constexpr OpId id = op_id(kernels::Op::gather);
  const bool record = is_floating(x.dtype()) && autograd::needs_grad({&x});
  Resolved r;
  {
    // Views made while resolving stay out of the graph: the whole op is recorded once below.
    std::optional<autograd::NoGradGuard> no_grad;
    if (record) no_grad.emplace();
    r = resolve(x, indices, op, allow_negative);
  }
  Tensor out;
  if (r.adv.empty()) {
    out = r.view.is_same(x) ? alias_of(x) : r.view;
  } else {
    Plan p = plan_advanced(r, op);
    out = Tensor::empty(p.result_shape, x.dtype(), x.device());
    KernelParams params;
    params.i = p.scale;
    runtime::launch_elementwise(id, x.dtype(), {&out, &p.offsets, &p.base}, params);
  }
  if (record) {
    // The gradient goes back to the indexed places (summed where indices repeat).
    const bool is_view = r.adv.empty();
    auto backward = [indices, shape = x.shape()](const Tensor& g) {
      Tensor gx = zeros(shape, {g.dtype(), g.device()});
      autograd::NoGradGuard no_grad;
      index_put_(gx, indices, g, true);
      return std::vector<Tensor>{gx};
    };
    if (is_view)
      autograd::record_view("IndexBackward0", out, x, backward);
    else
      autograd::record("IndexBackward0", out, {&x}, backward);
  }
  return out;
}

// `values` with leading size-1 dims beyond the target rank dropped (as NumPy and PyTorch
// allow); throws ShapeError unless the rest broadcasts to `target`.
Tensor fit_values(const Tensor& values, const Shape& target, const char* op) {
  Tensor v = values;
  while (v.dim() > target.size() && v.shape()[0] == 1) v = v.squeeze(0);
  bool ok = v.dim() <= target.size();
  for (int64_t k = 1; ok && k <= v.dim(); ++k) {
    const int64_t s = v.shape()[v.dim() - k];
    ok = s == 1 || s == target[target.size() - k];
  }
  LAMINA_CHECK(ok, ShapeError, op, "shape mismatch: value tensor of shape ", values.shape(),
               " cannot be broadcast to indexing result of shape ", target);
  return v;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Indexing and assignment

Tensor index(const Tensor& x, const std::vector<TensorIndex>& indices) {
  LAMINA_PROFILE_OP("index", x);
  return index_impl(x, indices, "index");
}

namespace {

const Tensor& index_put_values(const Tensor& x, const std::vector<TensorIndex>& indices, const Tensor& values,
                               bool accumulate) {
  constexpr OpId id = op_id(kernels::Op::scatter);
  const char* op = "index_put_";
  ops::check_defined(x, op);
  ops::check_defined(values, op, "values");
  ops::check_same_device(op, {&x, &values});
  Resolved r = resolve(x, indices, op);
  ops::check_writable(x, op);
  if (r.adv.empty()) {
    Tensor v = fit_values(values, r.view.shape(), op);
    copy_(r.view, accumulate ? add(r.view, v) : v);  // converts dtype, bumps the version
    return x;
  }
  Plan p = plan_advanced(r, op);
  Tensor v = fit_values(values, p.result_shape, op).to(x.dtype());
  // Never read what this op writes: values or an index sharing x's memory get private copies
  // (an index rewritten mid-loop could even point out of bounds).
  if (v.storage() == x.storage()) v = v.clone();
  if (p.offsets.storage() == x.storage()) p.offsets = p.offsets.clone();
  v = v.expand(p.result_shape);
  runtime::require_kernel(id, x.device(), x.dtype());
  if (v.numel() > 0) {
    kernels::StridedLoop loop = runtime::make_strided_loop({&p.base, &p.offsets, &v});
    KernelParams params;
    params.i = p.scale;
    params.j = accumulate ? kAdd : kAssign;
    // One serial call on the CPU: repeated indices resolve in order (CUDA: index.cu).
    runtime::launch_once<ElementwiseKernel>(id, x.device(), x.dtype(), [&](ElementwiseKernel k) { k(loop, params); });
  }
  x.bump_version();
  return x;
}

}  // namespace

const Tensor& index_put_(const Tensor& x, const std::vector<TensorIndex>& indices, const Tensor& values,
                         bool accumulate) {
  LAMINA_PROFILE_OP("index_put_", x, values);
  ops::check_defined(x, "index_put_");
  ops::check_defined(values, "index_put_", "values");
  const bool record = is_floating(x.dtype()) && autograd::needs_grad({&x, &values});
  if (!record) return index_put_values(x, indices, values, accumulate);
  autograd::check_inplace(x, "index_put_");
  {
    autograd::NoGradGuard no_grad;
    index_put_values(x, indices, values, accumulate);
  }
  // The written places' gradient goes to values (summed over its broadcast), the rest to x.
  autograd::record(accumulate ? "IndexPutBackward0" : "IndexPutBackward0", x, {&x, &values},
                   [indices, accumulate, v_shape = values.shape(), v_dtype = values.dtype()](const Tensor& g) {
                     std::vector<Tensor> r(2);
                     r[0] = accumulate ? g : index_put(g, indices, zeros({}, {g.dtype(), g.device()}), false);
                     Tensor picked = index(g, indices);
                     while (picked.dim() < static_cast<int64_t>(v_shape.size())) picked = picked.unsqueeze(0);
                     picked = sum_to(picked, v_shape);
                     r[1] = picked.dtype() == v_dtype ? picked : picked.to(v_dtype);
                     return r;
                   });
  return x;
}

const Tensor& index_put_(const Tensor& x, const std::vector<TensorIndex>& indices, const Scalar& value,
                         bool accumulate) {
  LAMINA_PROFILE_OP("index_put_", x);
  ops::check_defined(x, "index_put_");
  return index_put_(x, indices, ops::scalar_tensor(value, x.dtype(), x.device()), accumulate);
}

Tensor index_put(const Tensor& x, const std::vector<TensorIndex>& indices, const Tensor& values, bool accumulate) {
  LAMINA_PROFILE_OP("index_put", x, values);
  ops::check_defined(x, "index_put");
  Tensor out = x.clone();
  index_put_(out, indices, values, accumulate);
  return out;
}

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& idx) {
  LAMINA_PROFILE_OP("index_select", x, idx);
  const char* op = "index_select";
  ops::check_defined(x, op);
  ops::check_defined(idx, op, "index");
  LAMINA_CHECK(idx.dim() <= 1, IndexError, op, "index must be 0-d or 1-d, got ", describe(idx));
  LAMINA_CHECK(idx.dtype() == Dtype::Int64 || idx.dtype() == Dtype::Int32, IndexError, op,
               "index must be an int64 or int32 tensor, got ", describe(idx));
  if (x.dim() == 0) {
    wrap_dim(dim, 1, op);
    LAMINA_CHECK(idx.numel() == 1, IndexError, op, "index to a 0-d tensor must hold 1 value, got ", idx.numel());
    return index_impl(x.unsqueeze(0), {idx.reshape({1})}, op, false).reshape({});
  }
  const int64_t d = wrap_dim(dim, x.dim(), op);
  std::vector<TensorIndex> indices(static_cast<size_t>(d), Slice{});
  indices.emplace_back(idx.reshape({-1}));
  return index_impl(x, indices, op, false);
}

Tensor take(const Tensor& x, const Tensor& idx) {
  LAMINA_PROFILE_OP("take", x, idx);
  const char* op = "take";
  ops::check_defined(x, op);
  ops::check_defined(idx, op, "index");
  LAMINA_CHECK(idx.dtype() == Dtype::Int64 || idx.dtype() == Dtype::Int32, DTypeError, op,
               "index must be an int64 or int32 tensor, got ", describe(idx));
  return index_impl(x.reshape({-1}), {idx.reshape({-1})}, op).reshape(idx.shape());
}

// ---------------------------------------------------------------------------------------------
// gather / scatter along a dim

namespace {

void check_gather_args(const char* op, const Tensor& x, int64_t d, const Tensor& idx, const Tensor* src) {
  ops::check_defined(idx, op, "index");
  ops::check_same_device(op, {&x, &idx});
  LAMINA_CHECK(idx.dtype() == Dtype::Int64, DTypeError, op, "index must be an int64 tensor, got ", describe(idx));
  LAMINA_CHECK(idx.dim() == x.dim(), ShapeError, op, "index ", describe(idx),
               " must have the same number of dimensions as input ", describe(x));
  for (int64_t k = 0; k < idx.dim(); ++k) {
    LAMINA_CHECK(k == d || idx.shape()[k] <= x.shape()[k], ShapeError, op, "index ", describe(idx),
                 " is larger than input ", describe(x), " at dimension ", k);
    if (src) {
      LAMINA_CHECK(idx.shape()[k] <= src->shape()[k], ShapeError, op, "index ", describe(idx), " is larger than src ",
                   describe(*src), " at dimension ", k);
    }
  }
  check_index_range(idx, x.shape()[d], d, false, op);
}

// A view of `t` with `shape` and stride 0 along d (the kernels add index * stride).
Tensor along_dim_view(const Tensor& t, int64_t d, const Shape& shape) {
  Strides strides = t.strides();
  strides[d] = 0;
  return Tensor::make_view(t.storage(), shape, strides, t.storage_offset(), t.dtype());
}

// 0-d operands of gather / scatter act as 1-d tensors of one element.
Tensor at_least_1d(const Tensor& t) { return t.dim() == 0 ? t.unsqueeze(0) : t; }

Tensor gather_impl(const Tensor& x, int64_t dim, const Tensor& idx, const char* op) {
  constexpr OpId id = op_id(kernels::Op::gather);
  ops::check_defined(x, op);
  ops::check_defined(idx, op, "index");
  const Tensor sx = at_least_1d(x), sidx = x.dim() == 0 ? at_least_1d(idx) : idx;
  const int64_t d = wrap_dim(dim, sx.dim(), op);
  check_gather_args(op, sx, d, sidx, nullptr);
  Tensor out = Tensor::empty(sidx.shape(), x.dtype(), x.device());
  Tensor src = along_dim_view(sx, d, sidx.shape());
  KernelParams params;
  params.i = sx.strides()[d] * sx.element_size();
  {
    autograd::NoGradGuard no_grad;
    runtime::launch_elementwise(id, x.dtype(), {&out, &sidx, &src}, params);
  }
  if (is_floating(x.dtype()) && autograd::needs_grad({&x})) {
    autograd::SavedTensor si(sidx);
    autograd::record("GatherBackward0", out, {&sx}, [si, d, shape = sx.shape()](const Tensor& g) {
      Tensor gx = zeros(shape, {g.dtype(), g.device()});
      autograd::NoGradGuard no_grad;
      scatter_add_(gx, d, si.get("GatherBackward0"), g);
      return std::vector<Tensor>{gx};
    });
  }
  return idx.dim() == 0 ? out.reshape({}) : out;
}

int64_t scatter_mode(std::string_view reduce, const char* op) {
  if (reduce.empty()) return kAssign;
  if (reduce == "add" || reduce == "sum") return kAdd;
  if (reduce == "multiply" || reduce == "prod") return kMultiply;
  LAMINA_THROW(ValueError, op, "reduce must be 'add' or 'multiply', got '", std::string(reduce), "'");
}

const Tensor& scatter_values(const char* op, const Tensor& x, int64_t dim, const Tensor& idx, const Tensor& src,
                             int64_t mode) {
  constexpr OpId id = op_id(kernels::Op::scatter);
  ops::check_defined(x, op);
  ops::check_defined(src, op, "src");
  ops::check_defined(idx, op, "index");
  ops::check_same_device(op, {&x, &src});
  const bool scalar = src.impl()->is_wrapped_number;
  LAMINA_CHECK(scalar || src.dtype() == x.dtype(), DTypeError, op, "expected src ", describe(src),
               " to have the same dtype as self ", describe(x));
  const Tensor sx = at_least_1d(x), sidx = x.dim() == 0 ? at_least_1d(idx) : idx;
  const int64_t d = wrap_dim(dim, sx.dim(), op);
  Tensor s = scalar ? src.to(x.dtype()) : (x.dim() == 0 ? at_least_1d(src) : src);
  check_gather_args(op, sx, d, sidx, scalar ? nullptr : &s);
  ops::check_writable(x, op);
  runtime::require_kernel(id, x.device(), x.dtype());
  if (sidx.numel() > 0) {
    // Private copies of inputs sharing x's memory: the kernel must not read what it wrote
    // (an index rewritten mid-loop could even point out of bounds).
    Tensor i = sidx.storage() == x.storage() ? sidx.clone() : sidx;
    if (s.storage() == x.storage()) s = s.clone();
    Tensor values = scalar ? s.expand(sidx.shape())
                           : Tensor::make_view(s.storage(), sidx.shape(), s.strides(), s.storage_offset(), s.dtype());
    Tensor dst = along_dim_view(sx, d, sidx.shape());
    kernels::StridedLoop loop = runtime::make_strided_loop({&dst, &i, &values});
    KernelParams params;
    params.i = sx.strides()[d] * sx.element_size();
    params.j = mode;
    // One serial call on the CPU: repeated indices resolve in order (CUDA: index.cu).
    runtime::launch_once<ElementwiseKernel>(id, x.device(), x.dtype(), [&](ElementwiseKernel k) { k(loop, params); });
  }
  x.bump_version();
  return x;
}

// scatter_values with autograd: x is rebased onto a node whose rule sends the gradient of the
// written places to src (gathered back) and the rest to x's previous history.
const Tensor& scatter_impl(const char* op, const Tensor& x, int64_t dim, const Tensor& idx, const Tensor& src,
                           int64_t mode) {
  ops::check_defined(x, op);
  ops::check_defined(src, op, "src");
  const bool record = is_floating(x.dtype()) && autograd::needs_grad({&x, &src});
  if (!record) return scatter_values(op, x, dim, idx, src, mode);
  autograd::check_inplace(x, op);
  LAMINA_CHECK(mode == kAssign || mode == kAdd, ValueError, op,
               "reduce='multiply' is not differentiable; use it under no_grad()");
  {
    autograd::NoGradGuard no_grad;
    scatter_values(op, x, dim, idx, src, mode);
  }
  const bool scalar = src.impl()->is_wrapped_number;
  const int64_t d = wrap_dim(dim, std::max<int64_t>(x.dim(), 1), op);
  autograd::SavedTensor si(idx);
  autograd::record(mode == kAdd ? "ScatterAddBackward0" : "ScatterBackward0", x, {&x, &src},
                   [si, d, mode, scalar, x_shape = x.shape(), src_shape = src.shape()](const Tensor& g) {
                     const Tensor index = si.get("ScatterBackward0");
                     const Tensor g1 = at_least_1d(g), i1 = x_shape.size() == 0 ? at_least_1d(index) : index;
                     std::vector<Tensor> r(2);
                     r[0] = mode == kAdd ? g : scatter(g1, d, i1, Scalar(0.0)).reshape(x_shape);
                     if (!scalar) {
                       const Tensor picked = gather(g1, d, i1);
                       Tensor gs = zeros(src_shape.size() == 0 ? Shape{1} : src_shape, {g.dtype(), g.device()});
                       Tensor region = gs;
                       for (int64_t k = 0; k < picked.dim(); ++k) region = region.narrow(k, 0, picked.shape()[k]);
                       copy_(region, picked);
                       r[1] = gs.reshape(src_shape);
                     }
                     return r;
                   });
  return x;
}

}  // namespace

Tensor gather(const Tensor& x, int64_t dim, const Tensor& idx) {
  LAMINA_PROFILE_OP("gather", x, idx);
  return gather_impl(x, dim, idx, "gather");
}

Tensor take_along_dim(const Tensor& x, const Tensor& indices, std::optional<int64_t> dim) {
  LAMINA_PROFILE_OP("take_along_dim", x, indices);
  const char* op = "take_along_dim";
  ops::check_defined(x, op);
  ops::check_defined(indices, op, "indices");
  LAMINA_CHECK(indices.dtype() == Dtype::Int64, DTypeError, op, "indices must be an int64 tensor, got ",
               describe(indices));
  if (!dim) return gather_impl(x.reshape({-1}), 0, indices.reshape({-1}), op);
  LAMINA_CHECK(x.dim() == indices.dim(), ShapeError, op, "input ", describe(x), " and indices ", describe(indices),
               " must have the same number of dimensions");
  if (x.dim() == 0) return gather_impl(x, *dim, indices, op);
  const int64_t d = wrap_dim(*dim, x.dim(), op);
  Shape xs = x.shape(), is = indices.shape();
  xs[d] = 1;
  is[d] = 1;
  Shape xb = broadcast_shapes(xs, is, op), ib = xb;
  xb[d] = x.shape()[d];
  ib[d] = indices.shape()[d];
  return gather_impl(x.expand(xb), d, indices.expand(ib), op);
}

const Tensor& scatter_(const Tensor& x, int64_t dim, const Tensor& idx, const Tensor& src, std::string_view reduce) {
  LAMINA_PROFILE_OP("scatter_", x, idx, src);
  return scatter_impl("scatter_", x, dim, idx, src, scatter_mode(reduce, "scatter_"));
}
const Tensor& scatter_(const Tensor& x, int64_t dim, const Tensor& idx, const Scalar& value, std::string_view reduce) {
  LAMINA_PROFILE_OP("scatter_", x, idx);
  ops::check_defined(x, "scatter_");
  return scatter_impl("scatter_", x, dim, idx, ops::wrapped_scalar(value, x.device()),
                      scatter_mode(reduce, "scatter_"));
}
Tensor scatter(const Tensor& x, int64_t dim, const Tensor& idx, const Tensor& src, std::string_view reduce) {
  LAMINA_PROFILE_OP("scatter", x, idx, src);
  ops::check_defined(x, "scatter");
  Tensor out = x.clone();
  scatter_impl("scatter", out, dim, idx, src, scatter_mode(reduce, "scatter"));
  return out;
}
Tensor scatter(const Tensor& x, int64_t dim, const Tensor& idx, const Scalar& value, std::string_view reduce) {
  LAMINA_PROFILE_OP("scatter", x, idx);
  ops::check_defined(x, "scatter");
  Tensor out = x.clone();
  scatter_impl("scatter", out, dim, idx, ops::wrapped_scalar(value, x.device()), scatter_mode(reduce, "scatter"));
  return out;
}
const Tensor& scatter_add_(const Tensor& x, int64_t dim, const Tensor& idx, const Tensor& src) {
  LAMINA_PROFILE_OP("scatter_add_", x, idx, src);
  return scatter_impl("scatter_add_", x, dim, idx, src, kAdd);
}
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& idx, const Tensor& src) {
  LAMINA_PROFILE_OP("scatter_add", x, idx, src);
  ops::check_defined(x, "scatter_add");
  Tensor out = x.clone();
  scatter_impl("scatter_add", out, dim, idx, src, kAdd);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Masks

namespace {

void check_mask(const Tensor& x, const Tensor& mask, const char* op) {
  ops::check_defined(x, op);
  ops::check_defined(mask, op, "mask");
  ops::check_same_device(op, {&x, &mask});
  LAMINA_CHECK(mask.dtype() == Dtype::Bool, DTypeError, op, "mask must be a bool tensor, got ", describe(mask));
}

Scalar fill_value(const Tensor& value, const char* op) {
  ops::check_defined(value, op, "value");
  LAMINA_CHECK(value.dim() == 0, ShapeError, op, "only a 0-d value tensor can fill, got ", describe(value));
  return value.item();
}

}  // namespace

Tensor masked_fill(const Tensor& x, const Tensor& mask, const Scalar& value) {
  LAMINA_PROFILE_OP("masked_fill", x, mask);
  const char* op = "masked_fill";
  check_mask(x, mask, op);
  Shape shape = broadcast_shapes(x.shape(), mask.shape(), op);
  LAMINA_CHECK(shape == x.shape(), ShapeError, op, "mask ", describe(mask), " must broadcast to the input shape ",
               x.shape());
  return where(mask, ops::scalar_tensor(value, x.dtype(), x.device()), x).to(x.dtype());
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, const Tensor& value) {
  LAMINA_PROFILE_OP("masked_fill", x, mask, value);
  return masked_fill(x, mask, fill_value(value, "masked_fill"));
}

const Tensor& masked_fill_(const Tensor& x, const Tensor& mask, const Scalar& value) {
  LAMINA_PROFILE_OP("masked_fill_", x, mask);
  Tensor filled = masked_fill(x, mask, value);
  ops::check_writable(x, "masked_fill_");
  copy_(x, filled);
  return x;
}

const Tensor& masked_fill_(const Tensor& x, const Tensor& mask, const Tensor& value) {
  LAMINA_PROFILE_OP("masked_fill_", x, mask, value);
  return masked_fill_(x, mask, fill_value(value, "masked_fill_"));
}

Tensor masked_select(const Tensor& x, const Tensor& mask) {
  LAMINA_PROFILE_OP("masked_select", x, mask);
  const char* op = "masked_select";
  check_mask(x, mask, op);
  Shape shape = broadcast_shapes(x.shape(), mask.shape(), op);
  if (shape.empty()) return index_impl(x, {mask.item().to<bool>()}, op);  // 0-d: (1,) or (0,)
  return index_impl(x.expand(shape), {mask.expand(shape)}, op);
}

Tensor nonzero(const Tensor& x) {
  LAMINA_PROFILE_OP("nonzero", x);
  constexpr OpId id = op_id(kernels::Op::nonzero);
  ops::check_defined(x, "nonzero");
  Tensor b = x.to(Dtype::Bool);
  runtime::require_kernel(id, x.device(), Dtype::Bool);
  Tensor out = Tensor::empty({count_true(b), x.dim()}, Dtype::Int64, x.device());
  if (out.numel() > 0)
    runtime::launch_once<MaskKernel>(id, x.device(), Dtype::Bool, [&](MaskKernel k) { k(make_mask_loop(b, out), {}); });
  return out;
}

std::vector<Tensor> nonzero_as_tuple(const Tensor& x) {
  Tensor coords = nonzero(x);
  if (x.dim() == 0) return {zeros({coords.shape()[0]}, {Dtype::Int64, x.device()})};
  std::vector<Tensor> out;
  for (int64_t d = 0; d < x.dim(); ++d) out.push_back(coords.select(1, d).contiguous());
  return out;
}

}  // namespace lamina
