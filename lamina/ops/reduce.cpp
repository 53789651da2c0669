#include "lamina/ops/reduce.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "lamina/autograd/autograd.h"
#include "lamina/kernels/loops.h"
#include "lamina/kernels/softmax.h"
#include "lamina/ops/autocast.h"
#include "lamina/ops/common.h"
#include "lamina/ops/creation.h"
#include "lamina/ops/elementwise.h"
#include "lamina/ops/index.h"
#include "lamina/ops/join.h"
#include "lamina/runtime/loops.h"
#include "lamina/runtime/profiler.h"

namespace lamina {
namespace {

using kernels::KernelParams;
using runtime::op_id;
using runtime::OpId;

// Modes of the "sum" kernel.
constexpr int64_t kSum = 0, kMean = 1, kProd = 2;

// Which dims of x an op reduces, and its output shape.
struct ReducePlan {
  bool mask[kMaxDims] = {};
  bool all_dims = false;  // no dims were named: every dim is reduced
  Shape out_shape;
};

ReducePlan plan_reduce(const Tensor& x, const DimList& dims, bool keepdim, const char* op) {
  ops::check_defined(x, op);
  ReducePlan plan;
  const int64_t nd = x.dim();
  plan.all_dims = !dims || dims->empty();
  if (plan.all_dims) {
    for (int64_t d = 0; d < nd; ++d) plan.mask[d] = true;
  } else {
    bool seen[kMaxDims] = {};  // a 0-d tensor accepts dim 0 (or -1) once
    for (int64_t d : *dims) {
      const int64_t w = wrap_dim(d, nd, op);
      LAMINA_CHECK(!seen[w], ValueError, op, "dim ", w, " appears multiple times in the list of dims");
      seen[w] = true;
    }
    for (int64_t d = 0; d < nd; ++d) plan.mask[d] = seen[d];
  }
  for (int64_t d = 0; d < nd; ++d) {
    if (!plan.mask[d])
      plan.out_shape.push_back(x.shape()[d]);
    else if (keepdim)
      plan.out_shape.push_back(1);
  }
  return plan;
}

// Reductions without an identity (max, min, argmax, inf-norm) need elements in every reduced dim.
void check_nonempty(const Tensor& x, const ReducePlan& plan, const char* op) {
  if (plan.all_dims) {
    LAMINA_CHECK(x.numel() > 0, ValueError, op, "expected a reduction dim to be specified for an empty input ",
                 describe(x), ": the operation has no identity, so pass dim=");
    return;
  }
  for (int64_t d = 0; d < x.dim(); ++d)
    LAMINA_CHECK(!plan.mask[d] || x.shape()[d] > 0, IndexError, op, "expected reduction dim ", d,
                 " to have non-zero size, got input ", describe(x));
}

// Runs reduce kernel `id` for `dtype` over `view` (the dims flagged in `mask` reduced) into
// `out_view` (view's other dims, or those with the reduced dims kept as 1).
void launch_reduce(OpId id, Dtype dtype, const Tensor& view, const bool* mask, const Tensor& out_view,
                   const Tensor* index_view, const KernelParams& params) {
  runtime::launch_reduce(id, dtype, runtime::make_reduce_loop(out_view, index_view, view, mask), view.device(), params);
}

// A reduction to few outputs over many elements is cut into chunks of kReduceChunk elements
// whose partial results are reduced again. Whether and where to cut depends only on the
// shape, never on the thread count, so results are the same bits with 1, 2 or N threads.
constexpr int64_t kReduceChunk = int64_t{1} << 16;
constexpr int64_t kChunkMinElements = 4 * kReduceChunk;
constexpr int64_t kChunkMaxOutputs = 8;

// Reduces dim r of `view` (the only reduced dim) chunk by chunk into partials, then the
// partials into out_view, with the same kernel mode (sum, prod, max, min: associative).
void chunked_reduce(OpId id, const Tensor& view, int64_t r, Dtype out_dtype, const Tensor& out_view,
                    const KernelParams& params) {
  const int64_t size = view.shape()[r], stride = view.strides()[r];
  const int64_t chunks = size / kReduceChunk, tail = size % kReduceChunk;
  Shape partial_shape = view.shape();
  partial_shape[r] = chunks + (tail ? 1 : 0);
  const Tensor partials = Tensor::empty(partial_shape, out_dtype, view.device());

  Shape chunk_shape, chunk_strides;
  bool chunk_mask[kMaxDims] = {};
  for (int64_t d = 0; d < view.dim(); ++d) {
    if (d == r) {
      chunk_shape.push_back(chunks);
      chunk_strides.push_back(stride * kReduceChunk);
      chunk_mask[chunk_shape.size()] = true;
      chunk_shape.push_back(kReduceChunk);
      chunk_strides.push_back(stride);
    } else {
      chunk_shape.push_back(view.shape()[d]);
      chunk_strides.push_back(view.strides()[d]);
    }
  }
  const Tensor chunked =
      Tensor::make_view(view.storage(), chunk_shape, chunk_strides, view.storage_offset(), view.dtype());
  launch_reduce(id, view.dtype(), chunked, chunk_mask, partials.narrow(r, 0, chunks), nullptr, params);
  bool mask[kMaxDims] = {};
  mask[r] = true;
  if (tail)
    launch_reduce(id, view.dtype(), view.narrow(r, chunks * kReduceChunk, tail), mask, partials.narrow(r, chunks, 1),
                  nullptr, params);
  launch_reduce(id, out_dtype, partials, mask, out_view, nullptr, params);
}

// Runs reduce kernel `id` for in's dtype over `in` into a new out_dtype tensor (and int64
// indices). Reduced dims that are adjacent and contiguous with each other are merged first:
// the logical order of the reduced elements, and so the result, is unchanged; the walk is shorter.
// `chunkable`: the kernel's mode is associative (sum, prod, max/min without indices), so a
// large reduction to few outputs may go through chunked_reduce.
Tensor run_reduce(OpId id, const Tensor& in, const ReducePlan& plan, Dtype out_dtype, const KernelParams& params,
                  Tensor* indices = nullptr, bool chunkable = false) {
  runtime::require_kernel(id, in.device(), in.dtype());
  Tensor out = Tensor::empty(plan.out_shape, out_dtype, in.device());
  if (indices) *indices = Tensor::empty(plan.out_shape, Dtype::Int64, in.device());
  if (out.numel() == 0) return out;
  Shape shape, strides, outer;
  bool mask[kMaxDims] = {};
  for (int64_t d = 0; d < in.dim(); ++d) {
    const int64_t size = in.shape()[d], stride = in.strides()[d];
    if (size == 1) continue;
    const int64_t n = shape.size();
    if (plan.mask[d] && n > 0 && mask[n - 1] && strides[n - 1] == stride * size) {
      shape[n - 1] *= size;
      strides[n - 1] = stride;
      continue;
    }
    if (!plan.mask[d]) outer.push_back(size);
    mask[n] = plan.mask[d];
    shape.push_back(size);
    strides.push_back(stride);
  }
  const Tensor view = Tensor::make_view(in.storage(), shape, strides, in.storage_offset(), in.dtype());
  const Tensor out_view = out.view(outer);
  if (chunkable && !indices && out.numel() < kChunkMaxOutputs) {
    int64_t reduced = -1, count = 0;
    for (int64_t d = 0; d < view.dim(); ++d)
      if (mask[d]) reduced = d, ++count;
    if (count == 1 && view.shape()[reduced] >= kChunkMinElements) {
      chunked_reduce(id, view, reduced, out_dtype, out_view, params);
      return out;
    }
  }
  Tensor index_view;
  if (indices) index_view = indices->view(outer);
  launch_reduce(id, in.dtype(), view, mask, out_view, indices ? &index_view : nullptr, params);
  return out;
}

Tensor sum_like(const char* name, int64_t mode, const Tensor& x, const DimList& dims, bool keepdim,
                std::optional<Dtype> dtype) {
  constexpr OpId id = op_id(kernels::Op::sum);
  const ReducePlan plan = plan_reduce(x, dims, keepdim, name);
  const Dtype dt = dtype ? *dtype : is_floating(x.dtype()) ? x.dtype() : Dtype::Int64;
  if (mode == kMean) {
    LAMINA_CHECK(is_floating(dt), DTypeError, name, "could not infer the output dtype: ",
                 dtype ? "dtype=" + std::string(dtype_name(dt)) + " is not floating"
                       : "input " + describe(x) + " is not floating",
                 "; mean needs a floating input or a floating dtype=");
  }
  KernelParams params;
  params.i = mode;
  if (is_floating(dt)) {
    // Partials are stored in the output dtype: only float32/float64 keep enough precision.
    const bool wide = dt == Dtype::Float32 || dt == Dtype::Float64;
    if (mode == kMean && wide && x.numel() >= kChunkMinElements) {
      // A large mean is a (chunkable) sum divided by the count, in the output dtype.
      params.i = kSum;
      Tensor total = run_reduce(id, x.to(dt), plan, dt, params, nullptr, true);
      const int64_t total_numel = x.numel(), outputs = total.numel();
      return div_(total, Scalar(static_cast<double>(outputs == 0 ? 0 : total_numel / outputs)));
    }
    return run_reduce(id, x.to(dt), plan, dt, params, nullptr, wide && mode != kMean);
  }
  // Integer results accumulate in 64 bits with wrap-around, which narrows exactly to dt.
  const Tensor in = is_floating(x.dtype()) ? x.to(dt) : x;
  return run_reduce(id, in, plan, Dtype::Int64, params, nullptr, true).to(dt);
}

Tensor extreme(const char* name, int64_t mode, const Tensor& x, const DimList& dims, bool keepdim,
               Tensor* indices = nullptr) {
  constexpr OpId id = op_id(kernels::Op::extreme);
  const ReducePlan plan = plan_reduce(x, dims, keepdim, name);
  check_nonempty(x, plan, name);
  KernelParams params;
  params.i = mode;
  return run_reduce(id, x, plan, x.dtype(), params, indices, indices == nullptr);  // max/min: exact in any dtype
}

ValuesIndices extreme_along(const char* name, int64_t mode, const Tensor& x, int64_t dim, bool keepdim) {
  ValuesIndices r;
  r.values = extreme(name, mode, x, std::vector<int64_t>{dim}, keepdim, &r.indices);
  return r;
}

Tensor arg_extreme(const char* name, int64_t mode, const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  Tensor indices;
  extreme(name, mode, x, dim ? DimList(std::vector<int64_t>{*dim}) : std::nullopt, keepdim, &indices);
  return indices;
}

Tensor var_like(const char* name, bool take_sqrt, const Tensor& x, const DimList& dims, double correction,
                bool keepdim) {
  constexpr OpId id = op_id(kernels::Op::var);
  const ReducePlan plan = plan_reduce(x, dims, keepdim, name);
  LAMINA_CHECK(is_floating(x.dtype()), DTypeError, name, "expected a floating-point input, got ", describe(x),
               "; std and var only support floating dtypes");
  KernelParams params;
  params.a = correction;
  params.i = take_sqrt ? 1 : 0;
  return run_reduce(id, x, plan, x.dtype(), params);
}

bool any_reduced_dim_empty(const Tensor& x, const ReducePlan& plan) {
  for (int64_t d = 0; d < x.dim(); ++d)
    if (plan.mask[d] && x.shape()[d] == 0) return true;
  return false;
}

// Runs line kernel `id` for in's dtype along dim d into a new tensor of in's shape.
Tensor run_lines(OpId id, const Tensor& in, int64_t d, Dtype out_dtype, const KernelParams& params) {
  runtime::require_kernel(id, in.device(), in.dtype());
  Tensor out = Tensor::empty(in.shape(), out_dtype, in.device());
  if (out.numel() == 0) return out;
  runtime::launch_lines(id, in.dtype(), runtime::make_line_loop(in, d, out, nullptr), in.device(), params);
  return out;
}

Tensor cumulative(const char* name, int64_t mode, const Tensor& x, int64_t dim, std::optional<Dtype> dtype) {
  constexpr OpId id = op_id(kernels::Op::cumulative);
  ops::check_defined(x, name);
  const int64_t d = wrap_dim(dim, x.dim(), name);
  const Dtype dt = dtype ? *dtype : is_floating(x.dtype()) ? x.dtype() : Dtype::Int64;
  KernelParams params;
  params.i = mode;
  if (is_floating(dt)) return run_lines(id, x.to(dt), d, dt, params);
  const Tensor in = is_floating(x.dtype()) ? x.to(dt) : x;
  return run_lines(id, in, d, Dtype::Int64, params).to(dt);
}

Tensor softmax_like(const char* name, int64_t mode, const Tensor& x, int64_t dim, std::optional<Dtype> dtype) {
  constexpr OpId id = op_id(kernels::Op::softmax);
  ops::check_defined(x, name);
  const int64_t d = wrap_dim(dim, x.dim(), name);
  const Dtype dt = dtype ? *dtype : x.dtype();
  LAMINA_CHECK(is_floating(dt), DTypeError, name, "expected a floating-point input or a floating dtype=, got input ",
               describe(x), dtype ? " and dtype=" + std::string(dtype_name(dt)) : std::string());
  KernelParams params;
  params.i = mode;
  return run_lines(id, x.to(dt), d, dt, params);
}

// softmax / log_softmax's gradient in one kernel when the lines lie along the last dim; an
// undefined tensor when the composite formula must run instead (other dims, or create_graph,
// which needs differentiable ops).
Tensor softmax_backward_lines(const Tensor& g, const Tensor& y, int64_t dim, bool log_form) {
  if (autograd::grad_mode_enabled() || dim != y.dim() - 1 || g.dtype() != y.dtype() || g.shape() != y.shape() ||
      !y.is_contiguous())
    return Tensor();
  constexpr OpId id = op_id(kernels::Op::softmax_backward);
  const Tensor gc = g.contiguous();
  Tensor out = Tensor::empty(y.shape(), y.dtype(), y.device());
  const int64_t n = y.shape()[dim], lines = n == 0 ? 0 : y.numel() / n;
  if (lines == 0) return out;
  const void* pg = gc.data_ptr();
  const void* py = y.data_ptr();
  void* po = out.data_ptr();
  runtime::launch_ranges<kernels::SoftmaxBackwardKernel>(
      id, y.device(), y.dtype(), lines, 3 * n,
      [&](kernels::SoftmaxBackwardKernel kernel, int64_t b, int64_t e) { kernel(pg, py, po, n, log_form, b, e); });
  return out;
}

}  // namespace

namespace {

// ---- backward rules ----

// Which dims of x a reduction removed, to broadcast its gradient back.
struct Reduced {
  Shape x_shape;
  bool mask[kMaxDims] = {};
  bool keepdim = false;
  int64_t count = 1;  // elements per output
};

Reduced reduced_dims(const Tensor& x, const DimList& dims, bool keepdim, const char* op) {
  const ReducePlan plan = plan_reduce(x, dims, keepdim, op);
  Reduced r;
  r.x_shape = x.shape();
  r.keepdim = keepdim;
  for (int64_t d = 0; d < x.dim(); ++d) {
    r.mask[d] = plan.mask[d];
    if (plan.mask[d]) r.count *= x.shape()[d];
  }
  return r;
}

std::vector<int64_t> reduced_list(const Reduced& r) {
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < r.x_shape.size(); ++d)
    if (r.mask[d]) dims.push_back(d);
  return dims;
}

// An output-shaped tensor broadcast back over the reduced dims of x.
Tensor expand_back(const Tensor& t, const Reduced& r) {
  Tensor e = t;
  if (!r.keepdim)
    for (int64_t d = 0; d < r.x_shape.size(); ++d)
      if (r.mask[d]) e = e.unsqueeze(d);
  return e.expand(r.x_shape);
}

Tensor as_dtype(const Tensor& t, Dtype dt) { return t.dtype() == dt ? t : t.to(dt); }

// Records `fn(g, x, out)` as the backward of a reduction of x into out.
template <class F>
Tensor with_reduce_grad(const char* name, const Tensor& x, const Tensor& out, F fn) {
  if (!is_floating(out.dtype()) || !is_floating(x.dtype()) || !autograd::needs_grad({&x})) return out;
  autograd::SavedTensor sx(x), sy(out, true);
  autograd::record(name, out, {&x}, [name, sx, sy, fn, dt = x.dtype()](const Tensor& g) {
    return std::vector<Tensor>{as_dtype(fn(g, sx.get(name), sy.get(name)), dt)};
  });
  return out;
}

}  // namespace

Tensor sum(const Tensor& x, DimList dims, bool keepdim, std::optional<Dtype> dtype) {
  LAMINA_PROFILE_OP("sum", x);
  Tensor out = sum_like("sum", kSum, x, dims, keepdim, dtype);
  if (!autograd::needs_grad({&x})) return out;
  const Reduced r = reduced_dims(x, dims, keepdim, "sum");
  return with_reduce_grad("SumBackward1", x, out,
                          [r](const Tensor& g, const Tensor&, const Tensor&) { return expand_back(g, r); });
}
Tensor mean(const Tensor& x, DimList dims, bool keepdim, std::optional<Dtype> dtype) {
  LAMINA_PROFILE_OP("mean", x);
  Tensor out = sum_like("mean", kMean, x, dims, keepdim, dtype);
  if (!autograd::needs_grad({&x})) return out;
  const Reduced r = reduced_dims(x, dims, keepdim, "mean");
  return with_reduce_grad("MeanBackward1", x, out, [r](const Tensor& g, const Tensor&, const Tensor&) {
    return div(expand_back(g, r), Scalar(static_cast<double>(r.count)));
  });
}
Tensor prod(const Tensor& x, DimList dims, bool keepdim, std::optional<Dtype> dtype) {
  LAMINA_PROFILE_OP("prod", x);
  Tensor out = sum_like("prod", kProd, x, dims, keepdim, dtype);
  if (!autograd::needs_grad({&x})) return out;
  const Reduced r = reduced_dims(x, dims, keepdim, "prod");
  return with_reduce_grad("ProdBackward1", x, out, [r](const Tensor& g, const Tensor& xs, const Tensor& y) {
    // d prod / d x_i = product of the others: y / x_i, or (one zero in the slice) the product
    // of the nonzero elements at the zero, or 0 (two or more zeros).
    const Tensor xv = as_dtype(xs, y.dtype());
    const Tensor is_zero = eq(xv, Scalar(0));
    const std::vector<int64_t> dl = reduced_list(r);
    const Tensor zeros_in_slice = expand_back(sum(is_zero, dl, r.keepdim), r);
    const Tensor nonzero_prod = expand_back(prod(where(is_zero, ones_like(xv), xv), dl, r.keepdim), r);
    const Tensor others = where(is_zero, where(eq(zeros_in_slice, Scalar(1)), nonzero_prod, zeros_like(xv)),
                                div(expand_back(y, r), where(is_zero, ones_like(xv), xv)));
    return mul(expand_back(g, r), others);
  });
}

namespace {

// Gradient of a max/min over dims: shared evenly among the elements equal to the result.
Tensor extreme_grad(const Reduced& r, const Tensor& g, const Tensor& x, const Tensor& y) {
  const Tensor hit = eq(x, expand_back(y, r)).to(g.dtype());
  const Tensor ties = expand_back(sum(hit, reduced_list(r), r.keepdim), r);
  return div(mul(expand_back(g, r), hit), ties);
}

Tensor extreme_with_grad(const char* name, const char* node, int64_t mode, const Tensor& x, const DimList& dims,
                         bool keepdim) {
  Tensor out = extreme(name, mode, x, dims, keepdim);
  if (!autograd::needs_grad({&x})) return out;
  const Reduced r = reduced_dims(x, dims, keepdim, name);
  return with_reduce_grad(
      node, x, out, [r](const Tensor& g, const Tensor& xs, const Tensor& y) { return extreme_grad(r, g, xs, y); });
}

ValuesIndices extreme_along_with_grad(const char* name, int64_t mode, const Tensor& x, int64_t dim, bool keepdim) {
  ValuesIndices vi = extreme_along(name, mode, x, dim, keepdim);
  if (!is_floating(x.dtype()) || !autograd::needs_grad({&x})) return vi;
  const int64_t d = x.dim() == 0 ? 0 : wrap_dim(dim, x.dim(), name);
  autograd::SavedTensor si(vi.indices);
  autograd::record(mode == 0 ? "MaxBackward0" : "MinBackward0", vi.values, {&x},
                   [si, d, keepdim, shape = x.shape(), dt = x.dtype()](const Tensor& g) {
                     Tensor idx = si.get("MaxBackward0"), gk = g;
                     if (shape.size() == 0) return std::vector<Tensor>{as_dtype(g, dt)};
                     if (!keepdim) {
                       idx = idx.unsqueeze(d);
                       gk = gk.unsqueeze(d);
                     }
                     Tensor gx = zeros(shape, {g.dtype(), g.device()});
                     return std::vector<Tensor>{as_dtype(scatter(gx, d, idx, gk), dt)};
                   });
  return vi;
}

}  // namespace

Tensor amax(const Tensor& x, DimList dims, bool keepdim) {
  LAMINA_PROFILE_OP("amax", x);
  return extreme_with_grad("amax", "AmaxBackward0", 0, x, dims, keepdim);
}
Tensor amin(const Tensor& x, DimList dims, bool keepdim) {
  LAMINA_PROFILE_OP("amin", x);
  return extreme_with_grad("amin", "AminBackward0", 1, x, dims, keepdim);
}
Tensor max(const Tensor& x) {
  LAMINA_PROFILE_OP("max", x);
  return extreme_with_grad("max", "MaxBackward1", 0, x, std::nullopt, false);
}
Tensor min(const Tensor& x) {
  LAMINA_PROFILE_OP("min", x);
  return extreme_with_grad("min", "MinBackward1", 1, x, std::nullopt, false);
}
ValuesIndices max(const Tensor& x, int64_t dim, bool keepdim) {
  LAMINA_PROFILE_OP("max", x);
  return extreme_along_with_grad("max", 0, x, dim, keepdim);
}
ValuesIndices min(const Tensor& x, int64_t dim, bool keepdim) {
  LAMINA_PROFILE_OP("min", x);
  return extreme_along_with_grad("min", 1, x, dim, keepdim);
}
Tensor argmax(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  LAMINA_PROFILE_OP("argmax", x);
  return arg_extreme("argmax", 0, x, dim, keepdim);
}
Tensor argmin(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  LAMINA_PROFILE_OP("argmin", x);
  return arg_extreme("argmin", 1, x, dim, keepdim);
}

Tensor var(const Tensor& x, DimList dims, double correction, bool keepdim) {
  LAMINA_PROFILE_OP("var", x);
  Tensor out = var_like("var", false, x, dims, correction, keepdim);
  if (!autograd::needs_grad({&x})) return out;
  const Reduced r = reduced_dims(x, dims, keepdim, "var");
  return with_reduce_grad("VarBackward0", x, out, [r, correction](const Tensor& g, const Tensor& xs, const Tensor&) {
    const Tensor centered = sub(xs, mean(xs, reduced_list(r), true));
    return mul(expand_back(g, r), mul(centered, Scalar(2.0 / (static_cast<double>(r.count) - correction))));
  });
}
Tensor std(const Tensor& x, DimList dims, double correction, bool keepdim) {
  LAMINA_PROFILE_OP("std", x);
  Tensor out = var_like("std", true, x, dims, correction, keepdim);
  if (!autograd::needs_grad({&x})) return out;
  const Reduced r = reduced_dims(x, dims, keepdim, "std");
  return with_reduce_grad("StdBackward0", x, out, [r, correction](const Tensor& g, const Tensor& xs, const Tensor& y) {
    const Tensor centered = sub(xs, mean(xs, reduced_list(r), true));
    const Tensor scale = mul(expand_back(y, r), Scalar(static_cast<double>(r.count) - correction));
    return div(mul(expand_back(g, r), centered), scale);
  });
}

Tensor logsumexp(const Tensor& x, DimList dims, bool keepdim) {
  LAMINA_PROFILE_OP("logsumexp", x);
  constexpr OpId id = op_id(kernels::Op::logsumexp);
  const ReducePlan plan = plan_reduce(x, dims, keepdim, "logsumexp");
  const Dtype dt = to_floating(x.dtype());
  Tensor out = run_reduce(id, x.to(dt), plan, dt, {});
  if (!autograd::needs_grad({&x})) return out;
  const Reduced r = reduced_dims(x, dims, keepdim, "logsumexp");
  return with_reduce_grad("LogsumexpBackward0", x, out, [r](const Tensor& g, const Tensor& xs, const Tensor& y) {
    return mul(expand_back(g, r), exp(sub(as_dtype(xs, y.dtype()), expand_back(y, r))));
  });
}

Tensor norm(const Tensor& x, double p, DimList dims, bool keepdim) {
  LAMINA_PROFILE_OP("norm", x);
  constexpr OpId id = op_id(kernels::Op::norm);
  const ReducePlan plan = plan_reduce(x, dims, keepdim, "norm");
  LAMINA_CHECK(is_floating(x.dtype()), DTypeError, "norm", "expected a floating-point input, got ", describe(x),
               "; convert it or pass a floating dtype=");
  LAMINA_CHECK(!std::isnan(p), ValueError, "norm", "the order p must be a number, got nan");
  LAMINA_CHECK(!(any_reduced_dim_empty(x, plan) && (p < 0 || std::isinf(p))), ValueError, "norm", "cannot compute the ",
               p, " norm over an empty dim of ", describe(x), ": the operation has no identity");
  KernelParams params;
  params.a = p;
  Tensor out = run_reduce(id, x, plan, x.dtype(), params);
  if (!autograd::needs_grad({&x})) return out;
  const Reduced r = reduced_dims(x, dims, keepdim, "norm");
  return with_reduce_grad("NormBackward1", x, out, [r, p](const Tensor& g, const Tensor& xs, const Tensor& y) {
    const Tensor ge = expand_back(g, r), ye = expand_back(y, r);
    if (std::isinf(p)) return mul(sign(xs), extreme_grad(r, g, abs(xs), y));
    if (p == 0) return zeros_like(xs);
    if (p == 1) return mul(ge, sign(xs));
    // x |x|^(p-2) / ||x||^(p-1), 0 where the norm is 0.
    const Tensor safe = where(eq(ye, Scalar(0)), ones_like(ye), ye);
    const Tensor d = p == 2 ? div(xs, safe) : div(mul(xs, pow(abs(xs), Scalar(p - 2))), pow(safe, Scalar(p - 1)));
    return mul(ge, where(eq(ye, Scalar(0)), zeros_like(d), d));
  });
}

Tensor all(const Tensor& x, DimList dims, bool keepdim) {
  LAMINA_PROFILE_OP("all", x);
  constexpr OpId id = op_id(kernels::Op::all_any);
  const ReducePlan plan = plan_reduce(x, dims, keepdim, "all");
  return run_reduce(id, x, plan, Dtype::Bool, {});
}

Tensor any(const Tensor& x, DimList dims, bool keepdim) {
  LAMINA_PROFILE_OP("any", x);
  constexpr OpId id = op_id(kernels::Op::all_any);
  const ReducePlan plan = plan_reduce(x, dims, keepdim, "any");
  KernelParams params;
  params.i = 1;
  return run_reduce(id, x, plan, Dtype::Bool, params);
}

namespace {

// d cumprod / d x by definition, O(n^2) per line: for slices that contain zeros. Computed on
// the host; device tensors go there and back.
Tensor cumprod_grad_exact(const Tensor& g, const Tensor& x, int64_t d) {
  if (!x.device().is_cpu() || !g.device().is_cpu()) return cumprod_grad_exact(g.to(kCPU), x.to(kCPU), d).to(x.device());
  const Tensor gl = g.transpose(d, -1).to(Dtype::Float64).contiguous();
  const Tensor xl = x.transpose(d, -1).to(Dtype::Float64).contiguous();
  Tensor out = empty(gl.shape(), {Dtype::Float64, x.device()});
  const int64_t n = xl.dim() == 0 ? 1 : xl.shape()[xl.dim() - 1];
  const int64_t lines = n == 0 ? 0 : xl.numel() / n;
  const double* xp = xl.data<double>();
  const double* gp = gl.data<double>();
  double* op = out.data<double>();
  for (int64_t l = 0; l < lines; ++l) {
    for (int64_t i = 0; i < n; ++i) {
      double total = 0, partial = 1;  // partial: prod of x[0..j] without x[i]
      for (int64_t k = 0; k < i; ++k) partial *= xp[l * n + k];
      for (int64_t j = i; j < n; ++j) {
        if (j > i) partial *= xp[l * n + j];
        total += gp[l * n + j] * partial;
      }
      op[l * n + i] = total;
    }
  }
  return out.transpose(d, -1).to(x.dtype());
}

Tensor reverse_cumsum(const Tensor& t, int64_t d) { return flip(cumsum(flip(t, {d}), d), {d}); }

}  // namespace

Tensor cumsum(const Tensor& x, int64_t dim, std::optional<Dtype> dtype) {
  LAMINA_PROFILE_OP("cumsum", x);
  Tensor out = cumulative("cumsum", 0, x, dim, dtype);
  if (!is_floating(out.dtype()) || !is_floating(x.dtype()) || !autograd::needs_grad({&x})) return out;
  const int64_t d = x.dim() == 0 ? 0 : wrap_dim(dim, x.dim(), "cumsum");
  autograd::record("CumsumBackward0", out, {&x}, [d, scalar = x.dim() == 0, dt = x.dtype()](const Tensor& g) {
    return std::vector<Tensor>{as_dtype(scalar ? g : reverse_cumsum(g, d), dt)};
  });
  return out;
}
Tensor cumprod(const Tensor& x, int64_t dim, std::optional<Dtype> dtype) {
  LAMINA_PROFILE_OP("cumprod", x);
  Tensor out = cumulative("cumprod", 1, x, dim, dtype);
  if (!is_floating(out.dtype()) || !is_floating(x.dtype()) || !autograd::needs_grad({&x})) return out;
  const int64_t d = x.dim() == 0 ? 0 : wrap_dim(dim, x.dim(), "cumprod");
  autograd::SavedTensor sx(x), sy(out, true);
  autograd::record("CumprodBackward0", out, {&x}, [d, sx, sy, dt = x.dtype()](const Tensor& g) {
    const Tensor xs = sx.get("CumprodBackward0"), y = sy.get("CumprodBackward0");
    if (xs.dim() == 0) return std::vector<Tensor>{as_dtype(g, dt)};
    if (any(eq(xs, Scalar(0))).item<bool>()) return std::vector<Tensor>{cumprod_grad_exact(g, xs, d)};
    return std::vector<Tensor>{as_dtype(div(reverse_cumsum(mul(g, y), d), as_dtype(xs, y.dtype())), dt)};
  });
  return out;
}
Tensor softmax(const Tensor& x, int64_t dim, std::optional<Dtype> dtype) {
  if (!dtype) LAMINA_AUTOCAST(autocast::CastPolicy::Fp32, softmax, x, dim, dtype);
  LAMINA_PROFILE_OP("softmax", x);
  Tensor out = softmax_like("softmax", 0, x, dim, dtype);
  if (!autograd::needs_grad({&x})) return out;
  const int64_t d = x.dim() == 0 ? 0 : wrap_dim(dim, x.dim(), "softmax");
  return with_reduce_grad("SoftmaxBackward0", x, out, [d](const Tensor& g, const Tensor&, const Tensor& y) {
    if (y.dim() == 0) return zeros_like(g);
    if (Tensor fused = softmax_backward_lines(g, y, d, false); fused.defined()) return fused;
    return mul(y, sub(g, sum(mul(g, y), std::vector<int64_t>{d}, true)));
  });
}
Tensor log_softmax(const Tensor& x, int64_t dim, std::optional<Dtype> dtype) {
  if (!dtype) LAMINA_AUTOCAST(autocast::CastPolicy::Fp32, log_softmax, x, dim, dtype);
  LAMINA_PROFILE_OP("log_softmax", x);
  Tensor out = softmax_like("log_softmax", 1, x, dim, dtype);
  if (!autograd::needs_grad({&x})) return out;
  const int64_t d = x.dim() == 0 ? 0 : wrap_dim(dim, x.dim(), "log_softmax");
  return with_reduce_grad("LogSoftmaxBackward0", x, out, [d](const Tensor& g, const Tensor&, const Tensor& y) {
    if (y.dim() == 0) return zeros_like(g);
    if (Tensor fused = softmax_backward_lines(g, y, d, true); fused.defined()) return fused;
    return sub(g, mul(exp(y), sum(g, std::vector<int64_t>{d}, true)));
  });
}

Tensor sum_to(const Tensor& grad, const Shape& shape) {
  if (grad.shape() == shape) return grad;
  const int64_t lead = grad.dim() - static_cast<int64_t>(shape.size());
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < grad.dim(); ++d)
    if (d < lead || (shape[d - lead] == 1 && grad.shape()[d] != 1)) dims.push_back(d);
  Tensor r = dims.empty() ? grad : sum(grad, dims, true);
  return r.reshape(shape);
}

}  // namespace lamina
