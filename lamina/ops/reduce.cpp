#include "lamina/ops/reduce.h"

#include <cmath>
#include <limits>

#include "lamina/kernels/cpu/loops.h"
#include "lamina/ops/common.h"
#include "lamina/ops/copy.h"
#include "lamina/ops/creation.h"
#include "lamina/ops/elementwise.h"

namespace lamina {
namespace {

using runtime::OpId;
using runtime::op_id;

struct ReducePlan {
  bool mask[kMaxDims] = {};
  Shape out_shape;
};

ReducePlan plan_reduce(const Tensor& x, const DimList& dims, bool keepdim, const char* op) {
  ops::check_defined(x, op);
  ReducePlan plan;
  const int64_t nd = x.dim();
  if (!dims || dims->empty()) {
    for (int64_t d = 0; d < nd; ++d) plan.mask[d] = true;
  } else {
    for (int64_t d : *dims) {
      int64_t w = wrap_dim(d, nd, op);
      LAMINA_CHECK(!(nd > 0 && plan.mask[w]), ValueError, op, "dim ", w, " appears multiple times in the list of dims");
      if (nd > 0) plan.mask[w] = true;
    }
  }
  for (int64_t d = 0; d < nd; ++d) {
    if (!plan.mask[d]) plan.out_shape.push_back(x.shape()[d]);
    else if (keepdim) plan.out_shape.push_back(1);
  }
  return plan;
}

// Runs reduce kernel `id` on `in` (already of the kernel dtype) into a new `out_dtype` tensor.
Tensor run_reduce(OpId id, const Tensor& in, const ReducePlan& plan, Dtype out_dtype, const runtime::KernelParams& params,
                  Tensor* indices = nullptr) {
  auto kernel = runtime::find_kernel<kernels::cpu::ReduceKernel>(id, in.device(), in.dtype());
  Tensor out = Tensor::empty(plan.out_shape, out_dtype, in.device());
  if (indices) *indices = Tensor::empty(plan.out_shape, Dtype::Int64, in.device());
  if (out.numel() == 0) return out;
  runtime::ReduceLoop loop = runtime::make_reduce_loop(out, indices, in, plan.mask);
  kernel(loop, params);
  return out;
}

Dtype integer_to_int64(Dtype dt) { return is_floating(dt) ? dt : Dtype::Int64; }

Tensor sum_like(const char* name, int64_t mode, const Tensor& x, const DimList& dims, bool keepdim,
                std::optional<Dtype> dtype) {
  static const OpId id = op_id("sum");
  ReducePlan plan = plan_reduce(x, dims, keepdim, name);
  Dtype dt = dtype ? *dtype : integer_to_int64(x.dtype());
  if (mode == 1) {
    LAMINA_CHECK(is_floating(dt), DTypeError, name, "could not infer output dtype: input is ", describe(x),
                 "; mean needs a floating input or dtype=");
  }
  LAMINA_CHECK(runtime::has_kernel(id, x.device(), dt), DTypeError, name, "does not support dtype ", dtype_name(dt));
  runtime::KernelParams params;
  params.i = mode;
  return run_reduce(id, x.to(dt), plan, dt, params);
}

Tensor extreme_all(const char* name, const Tensor& x, int64_t mode) {
  static const OpId id = op_id("extreme");
  ReducePlan plan = plan_reduce(x, std::nullopt, false, name);
  LAMINA_CHECK(x.numel() > 0, ValueError, name, "operation on an empty tensor ", describe(x),
               " has no identity; specify a dim with nonzero size");
  runtime::KernelParams params;
  params.i = mode;
  return run_reduce(id, x, plan, x.dtype(), params);
}

ValuesIndices extreme_dim(const char* name, const Tensor& x, int64_t dim, bool keepdim, int64_t mode) {
  static const OpId id = op_id("extreme");
  ops::check_defined(x, name);
  int64_t d = wrap_dim(dim, x.dim(), name);
  ReducePlan plan = plan_reduce(x, std::vector<int64_t>{d}, keepdim, name);
  LAMINA_CHECK(x.dim() == 0 || x.shape()[d] > 0, IndexError, name, "expected reduction dim ", d,
               " to have non-zero size, got ", describe(x));
  runtime::KernelParams params;
  params.i = mode;
  ValuesIndices r;
  r.values = run_reduce(id, x, plan, x.dtype(), params, &r.indices);
  return r;
}

Tensor extreme_over(const char* name, const Tensor& x, const DimList& dims, bool keepdim, int64_t mode) {
  static const OpId id = op_id("extreme");
  ReducePlan plan = plan_reduce(x, dims, keepdim, name);
  for (int64_t d = 0; d < x.dim(); ++d)
    LAMINA_CHECK(!plan.mask[d] || x.shape()[d] > 0, IndexError, name, "expected reduction dim ", d,
                 " to have non-zero size, got ", describe(x));
  runtime::KernelParams params;
  params.i = mode;
  return run_reduce(id, x, plan, x.dtype(), params);
}

Tensor float_reduce(const char* name, const char* kernel, const Tensor& x, const DimList& dims, bool keepdim,
                    runtime::KernelParams params) {
  ReducePlan plan = plan_reduce(x, dims, keepdim, name);
  LAMINA_CHECK(is_floating(x.dtype()), DTypeError, name, "expected a floating-point input, got ", describe(x));
  return run_reduce(op_id(kernel), x, plan, x.dtype(), params);
}

// Moves `dim` last and makes the rows contiguous in dtype `dt` (for row kernels).
Tensor rows_last(const Tensor& x, int64_t dim, Dtype dt) {
  return x.to(dt).transpose(dim, -1).contiguous();
}

Tensor row_kernel_result(OpId id, const Tensor& x, int64_t dim, Dtype dt, int64_t mode) {
  auto kernel = runtime::find_kernel<kernels::cpu::RowKernel>(id, x.device(), dt);
  if (x.dim() == 0) {
    Tensor r = row_kernel_result(id, x.unsqueeze(0), 0, dt, mode);
    return r.squeeze(0);
  }
  Tensor in = rows_last(x, dim, dt);
  Tensor out = Tensor::empty(in.shape(), dt, x.device());
  if (in.numel() > 0) {
    runtime::RowLoop loop;
    loop.n = in.shape()[in.dim() - 1];
    loop.rows = in.numel() / loop.n;
    loop.in = static_cast<const char*>(in.data_ptr());
    loop.out = static_cast<char*>(out.data_ptr());
    runtime::KernelParams params;
    params.i = mode;
    kernel(loop, params);
  }
  return out.transpose(dim, -1).contiguous();
}

}  // namespace

Tensor sum(const Tensor& x, DimList dims, bool keepdim, std::optional<Dtype> dtype) {
  return sum_like("sum", 0, x, dims, keepdim, dtype);
}
Tensor mean(const Tensor& x, DimList dims, bool keepdim, std::optional<Dtype> dtype) {
  return sum_like("mean", 1, x, dims, keepdim, dtype);
}
Tensor prod(const Tensor& x, DimList dims, bool keepdim, std::optional<Dtype> dtype) {
  return sum_like("prod", 2, x, dims, keepdim, dtype);
}
Tensor amax(const Tensor& x, DimList dims, bool keepdim) { return extreme_over("amax", x, dims, keepdim, 0); }
Tensor amin(const Tensor& x, DimList dims, bool keepdim) { return extreme_over("amin", x, dims, keepdim, 1); }
Tensor max(const Tensor& x) { return extreme_all("max", x, 0); }
Tensor min(const Tensor& x) { return extreme_all("min", x, 1); }
ValuesIndices max(const Tensor& x, int64_t dim, bool keepdim) { return extreme_dim("max", x, dim, keepdim, 0); }
ValuesIndices min(const Tensor& x, int64_t dim, bool keepdim) { return extreme_dim("min", x, dim, keepdim, 1); }

Tensor argmax(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  ops::check_defined(x, "argmax");
  if (!dim) {
    LAMINA_CHECK(x.numel() > 0, ValueError, "argmax", "cannot take argmax of an empty tensor ", describe(x));
    Tensor idx = extreme_dim("argmax", x.reshape({-1}), 0, false, 0).indices;
    return keepdim ? idx.reshape(Shape(x.dim(), 1)) : idx;
  }
  return extreme_dim("argmax", x, *dim, keepdim, 0).indices;
}

Tensor argmin(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  ops::check_defined(x, "argmin");
  if (!dim) {
    LAMINA_CHECK(x.numel() > 0, ValueError, "argmin", "cannot take argmin of an empty tensor ", describe(x));
    Tensor idx = extreme_dim("argmin", x.reshape({-1}), 0, false, 1).indices;
    return keepdim ? idx.reshape(Shape(x.dim(), 1)) : idx;
  }
  return extreme_dim("argmin", x, *dim, keepdim, 1).indices;
}

Tensor var(const Tensor& x, DimList dims, double correction, bool keepdim) {
  runtime::KernelParams p;
  p.a = correction;
  return float_reduce("var", "var", x, dims, keepdim, p);
}

Tensor std(const Tensor& x, DimList dims, double correction, bool keepdim) {
  runtime::KernelParams p;
  p.a = correction;
  p.i = 1;
  return float_reduce("std", "var", x, dims, keepdim, p);
}

Tensor logsumexp(const Tensor& x, DimList dims, bool keepdim) {
  ops::check_defined(x, "logsumexp");
  return float_reduce("logsumexp", "logsumexp", x.to(to_floating(x.dtype())), dims, keepdim, {});
}

Tensor norm(const Tensor& x, double p, DimList dims, bool keepdim) {
  runtime::KernelParams params;
  params.a = p;
  return float_reduce("norm", "norm", x, dims, keepdim, params);
}

Tensor all(const Tensor& x, DimList dims, bool keepdim) {
  static const OpId id = op_id("all_any");
  ReducePlan plan = plan_reduce(x, dims, keepdim, "all");
  return run_reduce(id, x.to(Dtype::Bool), plan, Dtype::Bool, {});
}

Tensor any(const Tensor& x, DimList dims, bool keepdim) {
  static const OpId id = op_id("all_any");
  ReducePlan plan = plan_reduce(x, dims, keepdim, "any");
  runtime::KernelParams params;
  params.i = 1;
  return run_reduce(id, x.to(Dtype::Bool), plan, Dtype::Bool, params);
}

namespace {
Tensor cumulative(const char* name, int64_t mode, const Tensor& x, int64_t dim, std::optional<Dtype> dtype) {
  static const OpId id = op_id("cumulative");
  ops::check_defined(x, name);
  int64_t d = wrap_dim(dim, x.dim(), name);
  Dtype dt = dtype ? *dtype : integer_to_int64(x.dtype());
  LAMINA_CHECK(runtime::has_kernel(id, x.device(), dt), DTypeError, name, "does not support dtype ", dtype_name(dt));
  return row_kernel_result(id, x, x.dim() == 0 ? 0 : d, dt, mode);
}

Tensor softmax_like(const char* name, int64_t mode, const Tensor& x, int64_t dim, std::optional<Dtype> dtype) {
  static const OpId id = op_id("softmax");
  ops::check_defined(x, name);
  int64_t d = wrap_dim(dim, x.dim(), name);
  Dtype dt = dtype ? *dtype : x.dtype();
  LAMINA_CHECK(is_floating(dt), DTypeError, name, "expected a floating-point input or dtype=, got ", describe(x));
  return row_kernel_result(id, x, x.dim() == 0 ? 0 : d, dt, mode);
}
}  // namespace

Tensor cumsum(const Tensor& x, int64_t dim, std::optional<Dtype> dtype) { return cumulative("cumsum", 0, x, dim, dtype); }
Tensor cumprod(const Tensor& x, int64_t dim, std::optional<Dtype> dtype) { return cumulative("cumprod", 1, x, dim, dtype); }
Tensor softmax(const Tensor& x, int64_t dim, std::optional<Dtype> dtype) { return softmax_like("softmax", 0, x, dim, dtype); }
Tensor log_softmax(const Tensor& x, int64_t dim, std::optional<Dtype> dtype) {
  return softmax_like("log_softmax", 1, x, dim, dtype);
}

ValuesIndices sort(const Tensor& x, int64_t dim, bool descending) {
  static const OpId id = op_id("sort");
  ops::check_defined(x, "sort");
  int64_t d = x.dim() == 0 ? 0 : wrap_dim(dim, x.dim(), "sort");
  auto kernel = runtime::find_kernel<kernels::cpu::RowKernel>(id, x.device(), x.dtype());
  if (x.dim() == 0) return {x.clone(), zeros({}, {Dtype::Int64, x.device()})};
  Tensor in = rows_last(x, d, x.dtype());
  Tensor values = Tensor::empty(in.shape(), x.dtype(), x.device());
  Tensor indices = Tensor::empty(in.shape(), Dtype::Int64, x.device());
  if (in.numel() > 0) {
    runtime::RowLoop loop;
    loop.n = in.shape()[in.dim() - 1];
    loop.rows = in.numel() / loop.n;
    loop.in = static_cast<const char*>(in.data_ptr());
    loop.out = static_cast<char*>(values.data_ptr());
    loop.out2 = static_cast<char*>(indices.data_ptr());
    runtime::KernelParams params;
    params.i = descending ? 1 : 0;
    kernel(loop, params);
  }
  return {values.transpose(d, -1).contiguous(), indices.transpose(d, -1).contiguous()};
}

Tensor argsort(const Tensor& x, int64_t dim, bool descending) { return sort(x, dim, descending).indices; }

ValuesIndices topk(const Tensor& x, int64_t k, int64_t dim, bool largest, bool sorted) {
  (void)sorted;  // results are always sorted
  ops::check_defined(x, "topk");
  int64_t d = x.dim() == 0 ? 0 : wrap_dim(dim, x.dim(), "topk");
  int64_t n = x.dim() == 0 ? 1 : x.shape()[d];
  LAMINA_CHECK(k >= 0 && k <= n, IndexError, "topk", "k (", k, ") is out of range for dimension ", d, " of size ", n);
  ValuesIndices all_sorted = sort(x, d, largest);
  if (x.dim() == 0) return all_sorted;
  return {all_sorted.values.narrow(d, 0, k).contiguous(), all_sorted.indices.narrow(d, 0, k).contiguous()};
}

}  // namespace lamina
