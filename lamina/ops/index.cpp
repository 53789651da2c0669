#include "lamina/ops/index.h"

#include <algorithm>

#include "lamina/kernels/cpu/loops.h"
#include "lamina/ops/common.h"
#include "lamina/ops/copy.h"
#include "lamina/ops/creation.h"
#include "lamina/ops/elementwise.h"
#include "lamina/ops/reduce.h"
#include "lamina/runtime/index_loops.h"

namespace lamina {
namespace {

using runtime::OpId;
using runtime::op_id;
using IndexKernel = void (*)(const runtime::IndexLoop&, const runtime::KernelParams&);

// The result of applying the basic part of an index: a view plus the advanced indices, each
// attached to one dim of that view.
struct Resolved {
  Tensor view;
  std::vector<int64_t> adv_dims;
  std::vector<Tensor> adv_index;  // int64, not yet broadcast
};

int64_t consumed_dims(const TensorIndex& idx) {
  if (std::holds_alternative<int64_t>(idx) || std::holds_alternative<Slice>(idx)) return 1;
  if (const Tensor* t = std::get_if<Tensor>(&idx)) return t->dtype() == Dtype::Bool ? std::max<int64_t>(t->dim(), 0) : 1;
  return 0;
}

// Throws IndexError unless every value of the int64 tensor lies in [-size, size).
void check_index_range(const Tensor& idx, int64_t size, int64_t dim, const char* op) {
  if (idx.numel() == 0) return;
  const int64_t lo = amin(idx).item<int64_t>(), hi = amax(idx).item<int64_t>();
  LAMINA_CHECK(lo >= -size && hi < size, IndexError, op, "index ", lo < -size ? lo : hi,
               " is out of bounds for dimension ", dim, " with size ", size);
}

Tensor as_index_tensor(const Tensor& t, const char* op) {
  LAMINA_CHECK(is_integral(t.dtype()), IndexError, op,
               "tensors used as indices must be integer (int64, int32, uint8, int8) or bool tensors, got ",
               describe(t));
  return t.to(Dtype::Int64);
}

Resolved resolve(const Tensor& x, const std::vector<TensorIndex>& indices, const char* op) {
  ops::check_defined(x, op);
  int64_t consumed = 0, ellipses = 0;
  for (const auto& i : indices) {
    consumed += consumed_dims(i);
    ellipses += std::holds_alternative<Ellipsis>(i);
  }
  LAMINA_CHECK(ellipses <= 1, IndexError, op, "an index can only have a single ellipsis ('...')");
  LAMINA_CHECK(consumed <= x.dim(), IndexError, op, "too many indices for tensor of dimension ", x.dim(), " (got ",
               consumed, ")");
  Resolved r{x, {}, {}};
  int64_t d = 0;
  for (const auto& entry : indices) {
    if (const int64_t* i = std::get_if<int64_t>(&entry)) {
      const int64_t n = r.view.shape()[d];
      LAMINA_CHECK(*i >= -n && *i < n, IndexError, op, "index ", *i, " is out of bounds for dimension ", d,
                   " with size ", n);
      r.view = r.view.select(d, *i);
      for (auto& ad : r.adv_dims)
        if (ad > d) --ad;
    } else if (const Slice* s = std::get_if<Slice>(&entry)) {
      r.view = r.view.slice(d, s->start, s->stop, s->step);
      ++d;
    } else if (std::holds_alternative<NewAxis>(entry)) {
      r.view = r.view.unsqueeze(d);
      ++d;
    } else if (std::holds_alternative<Ellipsis>(entry)) {
      d += x.dim() - consumed;
    } else if (const bool* b = std::get_if<bool>(&entry)) {
      r.view = r.view.unsqueeze(d);
      r.adv_dims.push_back(d);
      r.adv_index.push_back(*b ? zeros({1}, {Dtype::Int64, x.device()}) : zeros({0}, {Dtype::Int64, x.device()}));
      ++d;
    } else {
      const Tensor& t = std::get<Tensor>(entry);
      ops::check_defined(t, op, "index");
      ops::check_same_device(op, {&x, &t});
      if (t.dtype() == Dtype::Bool) {
        for (int64_t k = 0; k < t.dim(); ++k) {
          LAMINA_CHECK(t.shape()[k] == r.view.shape()[d + k], IndexError, op, "the shape of the mask ", t.shape(),
                       " at index ", k, " does not match the shape of the indexed tensor ", r.view.shape(),
                       " at dimension ", d + k);
        }
        if (t.dim() == 0) {  // a 0-d mask acts like a bool scalar
          r.view = r.view.unsqueeze(d);
          r.adv_dims.push_back(d);
          r.adv_index.push_back(t.item<bool>() ? zeros({1}, {Dtype::Int64, x.device()})
                                               : zeros({0}, {Dtype::Int64, x.device()}));
          ++d;
          continue;
        }
        Tensor coords = nonzero(t);
        for (int64_t k = 0; k < t.dim(); ++k) {
          r.adv_dims.push_back(d + k);
          r.adv_index.push_back(coords.select(1, k));
        }
        d += t.dim();
      } else {
        Tensor it = as_index_tensor(t, op);
        check_index_range(it, r.view.shape()[d], d, op);
        r.adv_dims.push_back(d);
        r.adv_index.push_back(it);
        ++d;
      }
    }
  }
  return r;
}

// Geometry of an advanced index: the broadcast index shape, the byte offsets of each index
// position, the remaining (non-indexed) dims, and where the index dims land in the result.
struct Advanced {
  Shape index_shape;
  Tensor offsets;  // int64, contiguous, numel == prod(index_shape)
  Shape rest_shape;
  Strides rest_strides;  // bytes
  int64_t insert_at = 0;
  Shape result_shape;
};

Advanced plan_advanced(const Resolved& r, const char* op) {
  Advanced a;
  for (const Tensor& t : r.adv_index) a.index_shape = broadcast_shapes(a.index_shape, t.shape(), op);
  const Tensor& v = r.view;
  const int64_t isz = v.element_size();
  a.offsets = zeros(a.index_shape, {Dtype::Int64, v.device()});
  for (size_t k = 0; k < r.adv_index.size(); ++k) {
    const int64_t dim = r.adv_dims[k];
    const int64_t size = v.shape()[dim];
    Tensor wrapped = where(lt(r.adv_index[k], Scalar(0)), add(r.adv_index[k], Scalar(size)), r.adv_index[k]);
    add_(a.offsets, mul(wrapped, Scalar(v.strides()[dim] * isz)));
  }
  a.offsets = a.offsets.contiguous();
  std::vector<int64_t> dims = r.adv_dims;
  std::sort(dims.begin(), dims.end());
  bool adjacent = true;
  for (size_t k = 1; k < dims.size(); ++k) adjacent = adjacent && dims[k] == dims[k - 1] + 1;
  a.insert_at = adjacent ? dims.front() : 0;
  int64_t placed = 0;
  for (int64_t d = 0; d < v.dim(); ++d) {
    if (std::find(dims.begin(), dims.end(), d) != dims.end()) continue;
    a.rest_shape.push_back(v.shape()[d]);
    a.rest_strides.push_back(v.strides()[d] * isz);
    if (d < a.insert_at) ++placed;
  }
  a.insert_at = adjacent ? placed : 0;
  for (int64_t d = 0; d < a.insert_at; ++d) a.result_shape.push_back(a.rest_shape[d]);
  for (int64_t s : a.index_shape) a.result_shape.push_back(s);
  for (int64_t d = a.insert_at; d < a.rest_shape.size(); ++d) a.result_shape.push_back(a.rest_shape[d]);
  return a;
}

runtime::IndexLoop make_index_loop(const Tensor& view, const Advanced& a, const Tensor& dense) {
  runtime::IndexLoop loop;
  loop.base = static_cast<char*>(view.data_ptr());
  loop.dense = static_cast<char*>(dense.data_ptr());
  loop.offsets = a.offsets.data<int64_t>();
  loop.count = a.offsets.numel();
  loop.rest_ndim = static_cast<int>(a.rest_shape.size());
  loop.rest_numel = shape_numel(a.rest_shape);
  for (int64_t d = 0; d < a.rest_shape.size(); ++d) {
    loop.rest_shape[d] = a.rest_shape[d];
    loop.rest_strides[d] = a.rest_strides[d];
  }
  return loop;
}

// The dense buffer is laid out [index dims..., rest dims...]; this permutation moves the index
// dims to `insert_at` (the result layout).
std::vector<int64_t> dense_to_result(const Advanced& a) {
  const int64_t ni = a.index_shape.size(), nr = a.rest_shape.size();
  std::vector<int64_t> perm;
  for (int64_t d = 0; d < a.insert_at; ++d) perm.push_back(ni + d);
  for (int64_t d = 0; d < ni; ++d) perm.push_back(d);
  for (int64_t d = a.insert_at; d < nr; ++d) perm.push_back(ni + d);
  return perm;
}

}  // namespace

Tensor index(const Tensor& x, const std::vector<TensorIndex>& indices) {
  static const OpId id = op_id("index_gather");
  Resolved r = resolve(x, indices, "index");
  if (r.adv_index.empty()) return r.view;
  Advanced a = plan_advanced(r, "index");
  auto kernel = runtime::find_kernel<IndexKernel>(id, x.device(), x.dtype());
  Shape dense_shape = a.index_shape;
  for (int64_t s : a.rest_shape) dense_shape.push_back(s);
  Tensor dense = Tensor::empty(dense_shape, x.dtype(), x.device());
  if (dense.numel() > 0) kernel(make_index_loop(r.view, a, dense), {});
  return dense.permute(dense_to_result(a)).contiguous();
}

const Tensor& index_put_(const Tensor& x, const std::vector<TensorIndex>& indices, const Tensor& values,
                         bool accumulate) {
  static const OpId id = op_id("index_put");
  ops::check_defined(values, "index_put_", "values");
  ops::check_same_device("index_put_", {&x, &values});
  Resolved r = resolve(x, indices, "index_put_");
  ops::check_writable(x, "index_put_");
  if (r.adv_index.empty()) {
    if (accumulate) {
      Shape shape = broadcast_shapes(r.view.shape(), values.shape(), "index_put_");
      LAMINA_CHECK(shape == r.view.shape(), ShapeError, "index_put_", "values of shape ", values.shape(),
                   " cannot be broadcast to the indexed shape ", r.view.shape());
      copy_(r.view, add(r.view, values).to(x.dtype()));
    } else {
      copy_(r.view, values);
    }
    return x;
  }
  Advanced a = plan_advanced(r, "index_put_");
  Shape shape = broadcast_shapes(a.result_shape, values.shape(), "index_put_");
  LAMINA_CHECK(shape == a.result_shape, ShapeError, "index_put_", "shape mismatch: values of shape ", values.shape(),
               " cannot be broadcast to the indexing result of shape ", a.result_shape);
  auto kernel = runtime::find_kernel<IndexKernel>(id, x.device(), x.dtype());
  // Lay the values out like the dense buffer: [index dims..., rest dims...].
  std::vector<int64_t> to_result = dense_to_result(a), to_dense(to_result.size());
  for (size_t k = 0; k < to_result.size(); ++k) to_dense[static_cast<size_t>(to_result[k])] = static_cast<int64_t>(k);
  Tensor dense = values.to(x.dtype()).expand(a.result_shape).permute(to_dense).contiguous();
  runtime::KernelParams params;
  params.i = accumulate ? 1 : 0;
  if (dense.numel() > 0) kernel(make_index_loop(r.view, a, dense), params);
  x.bump_version();
  return x;
}

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index_tensor) {
  ops::check_defined(x, "index_select");
  ops::check_defined(index_tensor, "index_select", "index");
  LAMINA_CHECK(index_tensor.dim() <= 1, IndexError, "index_select", "index must be 0-d or 1-d, got ",
               describe(index_tensor));
  LAMINA_CHECK(index_tensor.dtype() == Dtype::Int64 || index_tensor.dtype() == Dtype::Int32, IndexError,
               "index_select", "index must be an int64 or int32 tensor, got ", describe(index_tensor));
  int64_t d = wrap_dim(dim, x.dim(), "index_select");
  if (x.dim() == 0) return index(x.unsqueeze(0), {index_tensor.reshape({-1})}).reshape({});
  std::vector<TensorIndex> idx(static_cast<size_t>(d), Slice{});
  idx.emplace_back(index_tensor.reshape({-1}));
  return index(x, idx);
}

namespace {

void check_gather_args(const char* op, const Tensor& x, int64_t d, const Tensor& idx, const Tensor* src) {
  ops::check_defined(idx, op, "index");
  ops::check_same_device(op, {&x, &idx});
  LAMINA_CHECK(idx.dtype() == Dtype::Int64, IndexError, op, "index must be an int64 tensor, got ", describe(idx));
  LAMINA_CHECK(idx.dim() == x.dim() || (x.dim() == 0 && idx.dim() <= 1), ShapeError, op,
               "index ", describe(idx), " must have the same number of dimensions as input ", describe(x));
  for (int64_t k = 0; k < idx.dim() && x.dim() > 0; ++k) {
    LAMINA_CHECK(k == d || idx.shape()[k] <= x.shape()[k], ShapeError, op, "index ", describe(idx),
                 " is larger than input ", describe(x), " at dimension ", k);
    if (src) {
      LAMINA_CHECK(idx.shape()[k] <= src->shape()[k], ShapeError, op, "index ", describe(idx),
                   " is larger than src ", describe(*src), " at dimension ", k);
    }
  }
  const int64_t size = x.dim() == 0 ? 1 : x.shape()[d];
  if (idx.numel() > 0) {
    const int64_t lo = amin(idx).item<int64_t>(), hi = amax(idx).item<int64_t>();
    LAMINA_CHECK(lo >= 0 && hi < size, IndexError, op, "index ", lo < 0 ? lo : hi, " is out of bounds for dimension ",
                 d, " with size ", size);
  }
}

// A view of `t` with `idx`'s shape and stride 0 along d (the kernel adds index * stride).
Tensor along_dim_view(const Tensor& t, int64_t d, const Tensor& idx) {
  Strides strides = t.strides();
  strides[d] = 0;
  return Tensor::make_view(t.storage(), idx.shape(), strides, t.storage_offset(), t.dtype());
}

const Tensor& scatter_impl(const char* op, const Tensor& x, int64_t dim, const Tensor& idx, const Tensor& src,
                           bool add) {
  static const OpId id = op_id("scatter");
  ops::check_defined(x, op);
  ops::check_defined(src, op, "src");
  ops::check_same_device(op, {&x, &src});
  Tensor sx = x.dim() == 0 ? x.unsqueeze(0) : x;
  Tensor sidx = idx.defined() && idx.dim() == 0 ? idx.unsqueeze(0) : idx;
  int64_t d = wrap_dim(dim, sx.dim(), op);
  Tensor s = src.impl()->is_wrapped_number ? src.to(x.dtype()).expand(sidx.defined() ? sidx.shape() : Shape{})
                                           : (src.dim() == 0 ? src.unsqueeze(0) : src);
  check_gather_args(op, sx, d, sidx, src.impl()->is_wrapped_number ? nullptr : &s);
  LAMINA_CHECK(src.impl()->is_wrapped_number || src.dtype() == x.dtype(), DTypeError, op, "expected src ",
               describe(src), " to have the same dtype as self ", describe(x));
  ops::check_writable(x, op);
  auto kernel = runtime::find_kernel<kernels::cpu::ElementwiseKernel>(id, x.device(), x.dtype());
  if (sidx.numel() > 0) {
    Tensor dst = along_dim_view(sx, d, sidx);
    Tensor src_view = Tensor::make_view(s.storage(), sidx.shape(), s.strides(), s.storage_offset(), s.dtype());
    runtime::StridedLoop loop = runtime::make_strided_loop({&dst, &sidx, &src_view});
    runtime::KernelParams params;
    params.i = sx.strides()[d] * sx.element_size();
    params.j = add ? 1 : 0;
    kernel(loop, params);
  }
  x.bump_version();
  return x;
}

}  // namespace

Tensor gather(const Tensor& x, int64_t dim, const Tensor& idx) {
  static const OpId id = op_id("gather");
  ops::check_defined(x, "gather");
  Tensor sx = x.dim() == 0 ? x.unsqueeze(0) : x;
  Tensor sidx = idx.defined() && idx.dim() == 0 ? idx.unsqueeze(0) : idx;
  int64_t d = wrap_dim(dim, sx.dim(), "gather");
  check_gather_args("gather", sx, d, sidx, nullptr);
  auto kernel = runtime::find_kernel<kernels::cpu::ElementwiseKernel>(id, x.device(), x.dtype());
  Tensor out = Tensor::empty(sidx.shape(), x.dtype(), x.device());
  if (out.numel() > 0) {
    Tensor src = along_dim_view(sx, d, sidx);
    runtime::StridedLoop loop = runtime::make_strided_loop({&out, &sidx, &src});
    runtime::KernelParams params;
    params.i = sx.strides()[d] * sx.element_size();
    kernel(loop, params);
  }
  return idx.dim() == 0 ? out.reshape({}) : out;
}

const Tensor& scatter_(const Tensor& x, int64_t dim, const Tensor& idx, const Tensor& src) {
  return scatter_impl("scatter_", x, dim, idx, src, false);
}
const Tensor& scatter_(const Tensor& x, int64_t dim, const Tensor& idx, const Scalar& value) {
  ops::check_defined(x, "scatter_");
  return scatter_impl("scatter_", x, dim, idx, ops::wrapped_scalar(value, x.device()), false);
}
Tensor scatter(const Tensor& x, int64_t dim, const Tensor& idx, const Tensor& src) {
  ops::check_defined(x, "scatter");
  Tensor out = x.clone();
  scatter_impl("scatter", out, dim, idx, src, false);
  return out;
}
Tensor scatter(const Tensor& x, int64_t dim, const Tensor& idx, const Scalar& value) {
  ops::check_defined(x, "scatter");
  Tensor out = x.clone();
  scatter_impl("scatter", out, dim, idx, ops::wrapped_scalar(value, x.device()), false);
  return out;
}
const Tensor& scatter_add_(const Tensor& x, int64_t dim, const Tensor& idx, const Tensor& src) {
  return scatter_impl("scatter_add_", x, dim, idx, src, true);
}
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& idx, const Tensor& src) {
  ops::check_defined(x, "scatter_add");
  Tensor out = x.clone();
  scatter_impl("scatter_add", out, dim, idx, src, true);
  return out;
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, const Scalar& value) {
  ops::check_defined(x, "masked_fill");
  ops::check_defined(mask, "masked_fill", "mask");
  LAMINA_CHECK(mask.dtype() == Dtype::Bool, DTypeError, "masked_fill", "mask must be a bool tensor, got ",
               describe(mask));
  Shape shape = broadcast_shapes(x.shape(), mask.shape(), "masked_fill");
  LAMINA_CHECK(shape == x.shape(), ShapeError, "masked_fill", "mask ", describe(mask),
               " must broadcast to the input shape ", x.shape());
  return where(mask, ops::scalar_tensor(value, x.dtype(), x.device()), x).to(x.dtype());
}

const Tensor& masked_fill_(const Tensor& x, const Tensor& mask, const Scalar& value) {
  Tensor filled = masked_fill(x, mask, value);
  ops::check_writable(x, "masked_fill_");
  copy_(x, filled);
  return x;
}

Tensor masked_select(const Tensor& x, const Tensor& mask) {
  ops::check_defined(x, "masked_select");
  ops::check_defined(mask, "masked_select", "mask");
  LAMINA_CHECK(mask.dtype() == Dtype::Bool, DTypeError, "masked_select", "mask must be a bool tensor, got ",
               describe(mask));
  Shape shape = broadcast_shapes(x.shape(), mask.shape(), "masked_select");
  return index(x.expand(shape), {mask.expand(shape)});
}

Tensor nonzero(const Tensor& x) {
  static const OpId id = op_id("nonzero");
  ops::check_defined(x, "nonzero");
  Tensor b = x.to(Dtype::Bool).contiguous();
  const int64_t count = x.numel() == 0 ? 0 : sum(b).item<int64_t>();
  Tensor out = Tensor::empty({count, x.dim()}, Dtype::Int64, x.device());
  if (count > 0 && x.dim() > 0) {
    auto kernel = runtime::find_kernel<kernels::cpu::RowKernel>(id, x.device(), Dtype::Bool);
    runtime::RowLoop loop;
    loop.rows = b.numel();
    loop.n = 1;
    loop.k = x.dim();
    loop.in = static_cast<const char*>(b.data_ptr());
    loop.out = static_cast<char*>(out.data_ptr());
    loop.out2 = reinterpret_cast<char*>(const_cast<int64_t*>(x.shape().data()));
    kernel(loop, {});
  }
  return out;
}

}  // namespace lamina
