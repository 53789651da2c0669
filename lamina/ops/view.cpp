// View ops: new geometry over the same storage (Tensor's view members).
#include <algorithm>
#include <numeric>

#include "lamina/autograd/autograd.h"
#include "lamina/ops/common.h"
#include "lamina/ops/copy.h"
#include "lamina/ops/creation.h"
#include "lamina/ops/elementwise.h"
#include "lamina/ops/reduce.h"

namespace lamina {
namespace {

Tensor with_geometry(const Tensor& t, const Shape& shape, const Strides& strides, int64_t offset) {
  Tensor v = Tensor::make_view(t.storage(), shape, strides, offset, t.dtype());
  v.impl()->autograd = nullptr;
  return v;
}

// Records view op `name` on `out` when `base` is in the graph; `backward` maps the view's
// gradient to base's.
Tensor with_grad(const char* name, const Tensor& base, const Tensor& out, autograd::BackwardFn backward,
                 autograd::AddIntoFn add_into = {}) {
  if (autograd::needs_grad({&base})) autograd::record_view(name, out, base, std::move(backward), std::move(add_into));
  return out;
}

// The gradient of a view that picks part of base: zeros with g written into the same part.
// Under create_graph it records its own backward, the same part of the gradient arriving.
template <class Pick>
Tensor scatter_into_zeros(const Shape& shape, const Tensor& g, Pick pick) {
  Tensor gx = zeros(shape, {g.dtype(), g.device()});
  {
    autograd::NoGradGuard no_grad;
    copy_(pick(gx), g);
  }
  if (autograd::needs_grad({&g}))
    autograd::record("ScatterIntoZerosBackward0", gx, {&g},
                     [pick](const Tensor& gg) { return std::vector<Tensor>{pick(gg).contiguous()}; });
  return gx;
}

// Node::add_into for such a view: g added into the same part of `into` when `into` is a
// gradient of base's shape, dtype and device.
template <class Pick>
bool add_into_part(const Shape& shape, const Tensor& g, Tensor& into, Pick pick) {
  if (into.shape() != shape || into.dtype() != g.dtype() || into.device() != g.device()) return false;
  autograd::NoGradGuard no_grad;
  add_(pick(into), g);
  return true;
}

// Resolves a single -1 in `shape` against numel; throws ShapeError naming `op`.
Shape infer_shape(const Shape& shape, int64_t numel, const char* op) {
  Shape out = shape;
  int64_t known = 1, infer = -1;
  for (int64_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      LAMINA_CHECK(infer < 0, ShapeError, op, "only one dimension can be inferred (-1) in shape ", shape);
      infer = i;
    } else {
      LAMINA_CHECK(out[i] >= 0, ShapeError, op, "invalid size ", out[i], " in shape ", shape);
      known *= out[i];
    }
  }
  if (infer >= 0) {
    LAMINA_CHECK(known != 0 && numel % known == 0, ShapeError, op, "shape ", shape,
                 " is invalid for an input of ", numel, " elements");
    out[infer] = numel / known;
  } else {
    LAMINA_CHECK(known == numel, ShapeError, op, "shape ", shape, " is invalid for an input of ", numel,
                 " elements");
  }
  return out;
}

// Strides that let `old` geometry be seen as `shape` without copying, if any (PyTorch's
// computeStride): walks chunks of old dims that are contiguous among themselves.
bool view_strides(const Shape& old_shape, const Strides& old_strides, const Shape& shape, Strides& out) {
  out = Strides(shape.size(), 0);
  if (shape_numel(old_shape) == 0 || old_shape.empty()) {  // no data or one element: any strides work
    out = contiguous_strides(shape);
    return true;
  }
  int64_t view_d = shape.size() - 1;
  int64_t chunk_base_stride = old_strides.empty() ? 1 : old_strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = old_shape.size() - 1; d >= 0; --d) {
    tensor_numel *= old_shape[d];
    if (d == 0 || (old_shape[d - 1] != 1 && old_strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
        out[view_d] = view_numel * chunk_base_stride;
        view_numel *= shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return false;
      if (d > 0) {
        chunk_base_stride = old_strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  return view_d == -1;
}

}  // namespace

Tensor Tensor::view(const Shape& shape) const {
  ops::check_defined(*this, "view");
  Shape target = infer_shape(shape, numel(), "view");
  Strides strides;
  LAMINA_CHECK(view_strides(this->shape(), this->strides(), target, strides), ShapeError, "view",
               "cannot view ", describe(*this), " with strides ", this->strides(), " as shape ", target,
               ": the memory layout is incompatible; use .reshape(...) instead");
  return with_grad("ViewBackward0", *this, with_geometry(*this, target, strides, storage_offset()),
                   [from = this->shape()](const Tensor& g) { return std::vector<Tensor>{g.reshape(from)}; });
}

Tensor Tensor::reshape(const Shape& shape) const {
  ops::check_defined(*this, "reshape");
  Shape target = infer_shape(shape, numel(), "reshape");
  Strides strides;
  if (view_strides(this->shape(), this->strides(), target, strides))
    return with_grad("ViewBackward0", *this, with_geometry(*this, target, strides, storage_offset()),
                     [from = this->shape()](const Tensor& g) { return std::vector<Tensor>{g.reshape(from)}; });
  return clone().view(target);
}

Tensor Tensor::transpose(int64_t dim0, int64_t dim1) const {
  ops::check_defined(*this, "transpose");
  int64_t a = wrap_dim(dim0, dim(), "transpose"), b = wrap_dim(dim1, dim(), "transpose");
  if (dim() == 0) return *this;
  Shape shape = this->shape();
  Strides strides = this->strides();
  std::swap(shape[a], shape[b]);
  std::swap(strides[a], strides[b]);
  return with_grad("TransposeBackward0", *this, with_geometry(*this, shape, strides, storage_offset()),
                   [a, b](const Tensor& g) { return std::vector<Tensor>{g.transpose(a, b)}; });
}

Tensor Tensor::permute(const std::vector<int64_t>& dims) const {
  ops::check_defined(*this, "permute");
  LAMINA_CHECK(static_cast<int64_t>(dims.size()) == dim(), ShapeError, "permute", "got ", dims.size(),
               " dims for a tensor of shape ", shape(), "; give one entry per dimension");
  Shape shape(dim(), 0);
  Strides strides(dim(), 0);
  std::vector<bool> seen(static_cast<size_t>(dim()), false);
  for (int64_t i = 0; i < dim(); ++i) {
    int64_t d = wrap_dim(dims[static_cast<size_t>(i)], dim(), "permute");
    LAMINA_CHECK(!seen[static_cast<size_t>(d)], ShapeError, "permute", "dimension ", d, " repeats in the permutation");
    seen[static_cast<size_t>(d)] = true;
    shape[i] = this->shape()[d];
    strides[i] = this->strides()[d];
  }
  std::vector<int64_t> inverse(static_cast<size_t>(dim()));
  for (int64_t i = 0; i < dim(); ++i) inverse[static_cast<size_t>(wrap_dim(dims[static_cast<size_t>(i)], dim(), "permute"))] = i;
  return with_grad("PermuteBackward0", *this, with_geometry(*this, shape, strides, storage_offset()),
                   [inverse](const Tensor& g) { return std::vector<Tensor>{g.permute(inverse)}; });
}

Tensor Tensor::t() const {
  ops::check_defined(*this, "t");
  LAMINA_CHECK(dim() <= 2, ShapeError, "t", "expects a tensor with <= 2 dimensions, got ", describe(*this),
               "; use transpose(dim0, dim1) or permute");
  return dim() < 2 ? *this : transpose(0, 1);
}

Tensor Tensor::slice(int64_t dim, int64_t start, int64_t stop, int64_t step) const {
  ops::check_defined(*this, "slice");
  LAMINA_CHECK(this->dim() > 0, IndexError, "slice", "cannot slice a 0-d tensor");
  int64_t d = wrap_dim(dim, this->dim(), "slice");
  LAMINA_CHECK(step != 0, ValueError, "slice", "slice step cannot be zero");
  const int64_t n = shape()[d];
  // Python's slice.indices semantics (start/stop already clamped by the caller or here).
  auto clamp_index = [&](int64_t i, int64_t lo, int64_t hi) {
    if (i < 0) i += n;
    return i < lo ? lo : i > hi ? hi : i;
  };
  int64_t len;
  if (step > 0) {
    start = clamp_index(start, 0, n);
    stop = clamp_index(stop, 0, n);
    len = stop > start ? (stop - start + step - 1) / step : 0;
  } else {
    start = clamp_index(start, -1, n - 1);
    stop = clamp_index(stop, -1, n - 1);
    len = start > stop ? (start - stop + (-step) - 1) / (-step) : 0;
  }
  Shape shape = this->shape();
  Strides strides = this->strides();
  int64_t offset = storage_offset() + (len > 0 ? start * strides[d] : 0);
  shape[d] = len;
  strides[d] *= step;
  // The same element positions in a gradient of the base's shape (start is already
  // normalized, so the slice is rebuilt from its geometry, not its arguments).
  auto pick = [d, start, len, step](const Tensor& gx) {
    Shape shape = gx.shape();
    Strides strides = gx.strides();
    const int64_t offset = gx.storage_offset() + (len > 0 ? start * strides[d] : 0);
    shape[d] = len;
    strides[d] *= step;
    return Tensor::make_view(gx.storage(), shape, strides, offset, gx.dtype());
  };
  return with_grad(
      "SliceBackward0", *this, with_geometry(*this, shape, strides, offset),
      [from = this->shape(), pick](const Tensor& g) { return std::vector<Tensor>{scatter_into_zeros(from, g, pick)}; },
      [from = this->shape(), pick](const Tensor& g, Tensor& into) { return add_into_part(from, g, into, pick); });
}

Tensor Tensor::select(int64_t dim, int64_t index) const {
  ops::check_defined(*this, "select");
  LAMINA_CHECK(this->dim() > 0, IndexError, "select", "invalid index of a 0-d tensor");
  int64_t d = wrap_dim(dim, this->dim(), "select");
  const int64_t n = shape()[d];
  LAMINA_CHECK(index >= -n && index < n, IndexError, "select", "index ", index, " is out of bounds for dimension ",
               d, " with size ", n);
  if (index < 0) index += n;
  Shape shape = this->shape();
  Strides strides = this->strides();
  int64_t offset = storage_offset() + index * strides[d];
  shape.erase(d);
  strides.erase(d);
  auto pick = [d, index](const Tensor& gx) { return gx.select(d, index); };
  return with_grad(
      "SelectBackward0", *this, with_geometry(*this, shape, strides, offset),
      [from = this->shape(), pick](const Tensor& g) { return std::vector<Tensor>{scatter_into_zeros(from, g, pick)}; },
      [from = this->shape(), pick](const Tensor& g, Tensor& into) { return add_into_part(from, g, into, pick); });
}

Tensor Tensor::narrow(int64_t dim, int64_t start, int64_t length) const {
  ops::check_defined(*this, "narrow");
  LAMINA_CHECK(this->dim() > 0, IndexError, "narrow", "cannot narrow a 0-d tensor");
  int64_t d = wrap_dim(dim, this->dim(), "narrow");
  const int64_t n = shape()[d];
  if (start < 0) start += n;
  LAMINA_CHECK(start >= 0 && length >= 0 && start + length <= n, IndexError, "narrow", "start ", start,
               " + length ", length, " exceeds dimension ", d, " of size ", n);
  return slice(d, start, start + length, 1);
}

Tensor Tensor::expand(const Shape& shape) const {
  ops::check_defined(*this, "expand");
  LAMINA_CHECK(shape.size() >= dim(), ShapeError, "expand", "the target shape ", shape, " has fewer dims than ",
               describe(*this));
  const int64_t lead = shape.size() - dim();
  Shape out_shape(shape.size(), 0);
  Strides out_strides(shape.size(), 0);
  for (int64_t i = 0; i < shape.size(); ++i) {
    if (i < lead) {
      LAMINA_CHECK(shape[i] >= 0, ShapeError, "expand", "target size -1 is not allowed for new leading dim ", i,
                   " of shape ", shape);
      out_shape[i] = shape[i];
      out_strides[i] = 0;
      continue;
    }
    int64_t have = this->shape()[i - lead];
    int64_t want = shape[i] == -1 ? have : shape[i];
    LAMINA_CHECK(have == want || have == 1, ShapeError, "expand", "cannot expand ", describe(*this), " to ",
                 shape, ": dimension ", i, " has size ", have, " (only size-1 dims expand)");
    out_shape[i] = want;
    out_strides[i] = have == want ? this->strides()[i - lead] : 0;
  }
  if (out_shape == this->shape() && out_strides == this->strides()) return *this;
  return with_grad("ExpandBackward0", *this, with_geometry(*this, out_shape, out_strides, storage_offset()),
                   [from = this->shape()](const Tensor& g) { return std::vector<Tensor>{sum_to(g, from)}; });
}

Tensor Tensor::squeeze() const {
  ops::check_defined(*this, "squeeze");
  Shape shape;
  Strides strides;
  for (int64_t i = 0; i < dim(); ++i) {
    if (this->shape()[i] == 1) continue;
    shape.push_back(this->shape()[i]);
    strides.push_back(this->strides()[i]);
  }
  return with_grad("SqueezeBackward0", *this, with_geometry(*this, shape, strides, storage_offset()),
                   [from = this->shape()](const Tensor& g) { return std::vector<Tensor>{g.reshape(from)}; });
}

Tensor Tensor::squeeze(int64_t dim) const {
  ops::check_defined(*this, "squeeze");
  int64_t d = wrap_dim(dim, this->dim(), "squeeze");
  if (this->dim() == 0 || shape()[d] != 1) return *this;
  Shape shape = this->shape();
  Strides strides = this->strides();
  shape.erase(d);
  strides.erase(d);
  return with_grad("SqueezeBackward1", *this, with_geometry(*this, shape, strides, storage_offset()),
                   [from = this->shape()](const Tensor& g) { return std::vector<Tensor>{g.reshape(from)}; });
}

Tensor Tensor::unsqueeze(int64_t dim) const {
  ops::check_defined(*this, "unsqueeze");
  int64_t d = wrap_dim(dim, this->dim() + 1, "unsqueeze");
  Shape shape = this->shape();
  Strides strides = this->strides();
  int64_t stride = d < this->dim() ? strides[d] * shape[d] : 1;
  shape.insert(d, 1);
  strides.insert(d, stride);
  return with_grad("UnsqueezeBackward0", *this, with_geometry(*this, shape, strides, storage_offset()),
                   [from = this->shape()](const Tensor& g) { return std::vector<Tensor>{g.reshape(from)}; });
}

Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim) const {
  ops::check_defined(*this, "flatten");
  if (dim() == 0) return reshape({1});
  int64_t s = wrap_dim(start_dim, dim(), "flatten"), e = wrap_dim(end_dim, dim(), "flatten");
  LAMINA_CHECK(s <= e, ValueError, "flatten", "start_dim ", start_dim, " comes after end_dim ", end_dim);
  Shape shape;
  for (int64_t i = 0; i < s; ++i) shape.push_back(this->shape()[i]);
  int64_t merged = 1;
  for (int64_t i = s; i <= e; ++i) merged *= this->shape()[i];
  shape.push_back(merged);
  for (int64_t i = e + 1; i < dim(); ++i) shape.push_back(this->shape()[i]);
  return reshape(shape);
}

Tensor Tensor::diagonal(int64_t offset, int64_t dim1, int64_t dim2) const {
  ops::check_defined(*this, "diagonal");
  LAMINA_CHECK(dim() >= 2, ShapeError, "diagonal", "expects at least 2 dimensions, got ", describe(*this));
  int64_t a = wrap_dim(dim1, dim(), "diagonal"), b = wrap_dim(dim2, dim(), "diagonal");
  LAMINA_CHECK(a != b, ValueError, "diagonal", "dim1 and dim2 cannot be the same dimension (", a, ")");
  int64_t off = storage_offset();
  int64_t len;
  if (offset >= 0) {
    len = std::max<int64_t>(std::min(shape()[a], shape()[b] - offset), 0);
    if (len > 0) off += offset * strides()[b];
  } else {
    len = std::max<int64_t>(std::min(shape()[a] + offset, shape()[b]), 0);
    if (len > 0) off -= offset * strides()[a];
  }
  Shape shape;
  Strides strides;
  for (int64_t i = 0; i < dim(); ++i) {
    if (i == a || i == b) continue;
    shape.push_back(this->shape()[i]);
    strides.push_back(this->strides()[i]);
  }
  shape.push_back(len);
  strides.push_back(this->strides()[a] + this->strides()[b]);
  return with_grad("DiagonalBackward0", *this, with_geometry(*this, shape, strides, off),
                   [from = this->shape(), offset, a, b](const Tensor& g) {
                     return std::vector<Tensor>{
                         scatter_into_zeros(from, g, [&](const Tensor& gx) { return gx.diagonal(offset, a, b); })};
                   });
}

Scalar Tensor::item() const {
  ops::check_defined(*this, "item");
  LAMINA_CHECK(numel() == 1, ShapeError, "item", "a tensor with ", numel(),
               " elements cannot be converted to a scalar (shape ", shape(), ")");
  if (!device().is_cpu()) return to(kCPU).item();  // one element through the device copy path
  return visit_dtype(dtype(), [&](auto tag) -> Scalar {
    using T = decltype(tag);
    const T v = *data<T>();
    if constexpr (std::is_same_v<T, bool>) return Scalar(v);
    else if constexpr (std::is_integral_v<T>) return Scalar(static_cast<int64_t>(v));
    else return Scalar(static_cast<double>(static_cast<compute_t<T>>(v)));
  });
}

}  // namespace lamina
