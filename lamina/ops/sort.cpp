#include "lamina/ops/sort.h"

#include <vector>

#include "lamina/autograd/autograd.h"
#include "lamina/ops/common.h"
#include "lamina/ops/creation.h"
#include "lamina/ops/index.h"
#include "lamina/runtime/loops.h"
#include "lamina/runtime/profiler.h"

namespace lamina {
namespace {

using kernels::KernelParams;
using runtime::op_id;
using runtime::OpId;

// Values (x's dtype) and int64 indices with size k along dim d. Their memory has d last, so every
// line a kernel writes is contiguous (the index line is the kernel's working permutation);
// they are returned as views in x's dim order.
ValuesIndices alloc_lines(const Tensor& x, int64_t d, int64_t k) {
  if (x.dim() == 0) return {Tensor::empty({}, x.dtype(), x.device()), Tensor::empty({}, Dtype::Int64, x.device())};
  Shape shape;
  std::vector<int64_t> perm;
  for (int64_t j = 0; j < x.dim(); ++j) {
    if (j != d) shape.push_back(x.shape()[j]);
    perm.push_back(j < d ? j : j == d ? x.dim() - 1 : j - 1);
  }
  shape.push_back(k);
  return {Tensor::empty(shape, x.dtype(), x.device()).permute(perm),
          Tensor::empty(shape, Dtype::Int64, x.device()).permute(perm)};
}

ValuesIndices run_sort_kernel(OpId id, const Tensor& x, int64_t d, int64_t k, int64_t mode) {
  runtime::require_kernel(id, x.device(), x.dtype());
  ValuesIndices r = alloc_lines(x, d, k);
  if (r.values.numel() > 0) {
    KernelParams params;
    params.i = mode;
    runtime::launch_lines(id, x.dtype(), runtime::make_line_loop(x, d, r.values, &r.indices), x.device(), params);
  }
  ValuesIndices out{r.values.contiguous(), r.indices.contiguous()};
  if (is_floating(x.dtype()) && autograd::needs_grad({&x})) {
    // Each value's gradient goes back to the position its index names.
    autograd::SavedTensor si(out.indices);
    autograd::record(id == op_id(kernels::Op::sort) ? "SortBackward0" : "TopkBackward0", out.values, {&x},
                     [si, d, shape = x.shape()](const Tensor& g) {
                       const Tensor idx = si.get("SortBackward0");
                       if (shape.size() == 0) return std::vector<Tensor>{g.reshape({})};
                       Tensor gx = zeros(shape, {g.dtype(), g.device()});
                       return std::vector<Tensor>{scatter(gx, d, idx, g)};
                     });
  }
  return out;
}

}  // namespace

ValuesIndices sort(const Tensor& x, int64_t dim, bool descending) {
  LAMINA_PROFILE_OP("sort", x);
  constexpr OpId id = op_id(kernels::Op::sort);
  ops::check_defined(x, "sort");
  const int64_t d = wrap_dim(dim, x.dim(), "sort");
  return run_sort_kernel(id, x, d, x.dim() == 0 ? 1 : x.shape()[d], descending ? 1 : 0);
}

Tensor argsort(const Tensor& x, int64_t dim, bool descending) {
  LAMINA_PROFILE_OP("argsort", x);
  ops::check_defined(x, "argsort");
  wrap_dim(dim, x.dim(), "argsort");
  return sort(x, dim, descending).indices;
}

ValuesIndices topk(const Tensor& x, int64_t k, int64_t dim, bool largest, bool sorted) {
  LAMINA_PROFILE_OP("topk", x);
  constexpr OpId id = op_id(kernels::Op::topk);
  (void)sorted;  // the result is always sorted
  ops::check_defined(x, "topk");
  const int64_t d = wrap_dim(dim, x.dim(), "topk");
  const int64_t n = x.dim() == 0 ? 1 : x.shape()[d];
  LAMINA_CHECK(k >= 0 && k <= n, IndexError, "topk", "k = ", k, " is out of range: dim ", d, " of input ", describe(x),
               " has ", n, " element(s)");
  LAMINA_CHECK(x.dim() > 0 || k == 1, IndexError, "topk", "k must be 1 for a 0-d input, got k = ", k);
  return run_sort_kernel(id, x, d, k, largest ? 1 : 0);
}

}  // namespace lamina
