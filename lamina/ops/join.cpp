#include "lamina/ops/join.h"

#include <algorithm>

#include "lamina/ops/common.h"
#include "lamina/ops/copy.h"
#include "lamina/ops/creation.h"
#include "lamina/ops/elementwise.h"
#include "lamina/ops/index.h"
#include "lamina/ops/reduce.h"

namespace lamina {

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  LAMINA_CHECK(!tensors.empty(), ValueError, "cat", "expected a non-empty list of tensors");
  std::vector<const Tensor*> parts;
  for (const Tensor& t : tensors) {
    ops::check_defined(t, "cat", "a tensor in the list");
    ops::check_same_device("cat", {&tensors[0], &t});
    LAMINA_CHECK(t.dim() > 0, ShapeError, "cat", "zero-dimensional tensor ", describe(t), " cannot be concatenated");
    if (!(t.dim() == 1 && t.shape()[0] == 0)) parts.push_back(&t);
  }
  Dtype dt = tensors[0].dtype();
  for (const Tensor& t : tensors) dt = promote_types(dt, t.dtype());
  if (parts.empty()) return Tensor::empty({0}, dt, tensors[0].device());
  const Tensor& ref = *parts[0];
  const int64_t d = wrap_dim(dim, ref.dim(), "cat");
  Shape shape = ref.shape();
  shape[d] = 0;
  for (const Tensor* t : parts) {
    LAMINA_CHECK(t->dim() == ref.dim(), ShapeError, "cat", "tensors must have the same number of dimensions: got ",
                 describe(ref), " and ", describe(*t));
    for (int64_t k = 0; k < ref.dim(); ++k) {
      LAMINA_CHECK(k == d || t->shape()[k] == ref.shape()[k], ShapeError, "cat", "sizes of tensors must match except in dimension ",
                   d, ": got ", describe(ref), " and ", describe(*t), " (dimension ", k, ")");
    }
    shape[d] += t->shape()[d];
  }
  Tensor out = Tensor::empty(shape, dt, ref.device());
  int64_t offset = 0;
  for (const Tensor* t : parts) {
    copy_(out.narrow(d, offset, t->shape()[d]), *t);
    offset += t->shape()[d];
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  LAMINA_CHECK(!tensors.empty(), ValueError, "stack", "expected a non-empty list of tensors");
  for (const Tensor& t : tensors) {
    ops::check_defined(t, "stack", "a tensor in the list");
    LAMINA_CHECK(t.shape() == tensors[0].shape(), ShapeError, "stack", "expects each tensor to be equal size, got ",
                 describe(tensors[0]), " and ", describe(t));
  }
  const int64_t d = wrap_dim(dim, tensors[0].dim() + 1, "stack");
  std::vector<Tensor> expanded;
  for (const Tensor& t : tensors) expanded.push_back(t.unsqueeze(d));
  return cat(expanded, d);
}

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
  ops::check_defined(x, "split");
  LAMINA_CHECK(x.dim() > 0, ShapeError, "split", "expects at least a 1-dimensional tensor");
  const int64_t d = wrap_dim(dim, x.dim(), "split");
  const int64_t n = x.shape()[d];
  LAMINA_CHECK(split_size > 0 || (split_size == 0 && n == 0), ValueError, "split", "split_size must be positive, got ",
               split_size);
  std::vector<Tensor> out;
  if (n == 0) return {x};
  for (int64_t start = 0; start < n; start += split_size) out.push_back(x.narrow(d, start, std::min(split_size, n - start)));
  return out;
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim) {
  ops::check_defined(x, "split");
  LAMINA_CHECK(x.dim() > 0, ShapeError, "split", "expects at least a 1-dimensional tensor");
  const int64_t d = wrap_dim(dim, x.dim(), "split");
  int64_t total = 0;
  for (int64_t s : sizes) {
    LAMINA_CHECK(s >= 0, ValueError, "split", "split sizes must be non-negative, got ", s);
    total += s;
  }
  LAMINA_CHECK(total == x.shape()[d], ShapeError, "split", "split sizes sum to ", total, " but dimension ", d,
               " of ", describe(x), " has size ", x.shape()[d]);
  std::vector<Tensor> out;
  int64_t start = 0;
  for (int64_t s : sizes) {
    out.push_back(x.narrow(d, start, s));
    start += s;
  }
  return out;
}

std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {
  ops::check_defined(x, "chunk");
  LAMINA_CHECK(chunks > 0, ValueError, "chunk", "chunks must be positive, got ", chunks);
  LAMINA_CHECK(x.dim() > 0, ShapeError, "chunk", "expects at least a 1-dimensional tensor");
  const int64_t d = wrap_dim(dim, x.dim(), "chunk");
  const int64_t n = x.shape()[d];
  return split(x, n == 0 ? 0 : (n + chunks - 1) / chunks, d);
}

std::vector<Tensor> unbind(const Tensor& x, int64_t dim) {
  ops::check_defined(x, "unbind");
  LAMINA_CHECK(x.dim() > 0, ShapeError, "unbind", "cannot unbind a 0-d tensor");
  const int64_t d = wrap_dim(dim, x.dim(), "unbind");
  std::vector<Tensor> out;
  for (int64_t i = 0; i < x.shape()[d]; ++i) out.push_back(x.select(d, i));
  return out;
}

Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, const std::string& mode, double value) {
  ops::check_defined(x, "pad");
  LAMINA_CHECK(pads.size() % 2 == 0 && static_cast<int64_t>(pads.size()) <= 2 * x.dim(), ShapeError, "pad",
               "padding length ", pads.size(), " must be even and at most 2 * ndim for ", describe(x));
  LAMINA_CHECK(mode == "constant" || mode == "reflect" || mode == "replicate" || mode == "circular", ValueError, "pad",
               "unsupported mode '", mode, "'; expected constant, reflect, replicate or circular");
  const int64_t npad = static_cast<int64_t>(pads.size()) / 2;
  Shape shape = x.shape();
  for (int64_t i = 0; i < npad; ++i) {
    const int64_t d = x.dim() - 1 - i;
    shape[d] += pads[2 * i] + pads[2 * i + 1];
    LAMINA_CHECK(shape[d] >= 0, ShapeError, "pad", "padding ", pads[2 * i], ", ", pads[2 * i + 1], " of dimension ", d,
                 " of ", describe(x), " gives a negative size");
  }
  if (mode == "constant") {
    Tensor out = full(shape, Scalar(value), {x.dtype(), x.device()});
    Tensor src = x, dst = out;
    for (int64_t i = 0; i < npad; ++i) {
      const int64_t d = x.dim() - 1 - i, before = pads[2 * i], after = pads[2 * i + 1];
      const int64_t n = x.shape()[d];
      const int64_t crop_lo = std::max<int64_t>(0, -before), crop_hi = std::max<int64_t>(0, -after);
      const int64_t keep = std::max<int64_t>(0, n - crop_lo - crop_hi);
      src = src.narrow(d, std::min(crop_lo, n), keep);
      dst = dst.narrow(d, std::max<int64_t>(0, before), keep);
    }
    if (src.numel() > 0) copy_(dst, src);
    return out;
  }
  // Non-constant modes gather source indices per padded dim.
  Tensor out = x;
  for (int64_t i = 0; i < npad; ++i) {
    const int64_t d = x.dim() - 1 - i, before = pads[2 * i], after = pads[2 * i + 1];
    const int64_t n = x.shape()[d];
    LAMINA_CHECK(n > 0, ShapeError, "pad", mode, " padding needs a non-empty dimension ", d, " in ", describe(x));
    if (mode == "reflect") {
      LAMINA_CHECK(before < n && after < n, ShapeError, "pad", "reflect padding (", before, ", ", after,
                   ") must be smaller than dimension ", d, " of size ", n);
    }
    if (mode == "circular") {
      LAMINA_CHECK(before <= n && after <= n, ShapeError, "pad", "circular padding (", before, ", ", after,
                   ") must not exceed dimension ", d, " of size ", n);
    }
    std::vector<int64_t> src;
    for (int64_t j = -before; j < n + after; ++j) {
      int64_t s = j;
      if (mode == "replicate") s = std::clamp<int64_t>(j, 0, n - 1);
      else if (mode == "circular") s = ((j % n) + n) % n;
      else if (n == 1) s = 0;
      else {
        const int64_t period = 2 * (n - 1);
        s = ((j % period) + period) % period;
        if (s >= n) s = period - s;
      }
      src.push_back(s);
    }
    out = index_select(out, d, tensor<int64_t>(src));
  }
  return out;
}

Tensor one_hot(const Tensor& indices, int64_t num_classes) {
  ops::check_defined(indices, "one_hot");
  LAMINA_CHECK(indices.dtype() == Dtype::Int64, DTypeError, "one_hot", "indices must be an int64 tensor, got ",
               describe(indices));
  int64_t lo = 0, hi = -1;
  if (indices.numel() > 0) {
    lo = amin(indices).item<int64_t>();
    hi = amax(indices).item<int64_t>();
  }
  LAMINA_CHECK(lo >= 0, ValueError, "one_hot", "class values must be non-negative, got ", lo);
  if (num_classes == -1) {
    LAMINA_CHECK(indices.numel() > 0, ValueError, "one_hot", "cannot infer num_classes from an empty tensor");
    num_classes = hi + 1;
  }
  LAMINA_CHECK(num_classes >= 0 && hi < num_classes, ValueError, "one_hot", "class values must be smaller than num_classes (",
               num_classes, "), got ", hi);
  Shape shape = indices.shape();
  shape.push_back(num_classes);
  Tensor out = zeros(shape, {Dtype::Int64, indices.device()});
  if (indices.numel() > 0) scatter_(out, -1, indices.unsqueeze(-1), Scalar(int64_t{1}));
  return out;
}

namespace {
Tensor triangle_mask(const Tensor& x, int64_t diagonal, bool lower, const char* op) {
  ops::check_defined(x, op);
  LAMINA_CHECK(x.dim() >= 2, ShapeError, op, "expects a tensor with at least 2 dimensions, got ", describe(x));
  const int64_t rows = x.shape()[x.dim() - 2], cols = x.shape()[x.dim() - 1];
  Tensor r = arange(Scalar(rows)).unsqueeze(1);
  Tensor c = arange(Scalar(cols)).unsqueeze(0);
  Tensor offset = sub(c, r);
  return lower ? le(offset, Scalar(diagonal)) : ge(offset, Scalar(diagonal));
}
}  // namespace

Tensor tril(const Tensor& x, int64_t diagonal) {
  Tensor mask = triangle_mask(x, diagonal, true, "tril");
  return where(mask, x, ops::scalar_tensor(Scalar(0), x.dtype(), x.device()));
}
Tensor triu(const Tensor& x, int64_t diagonal) {
  Tensor mask = triangle_mask(x, diagonal, false, "triu");
  return where(mask, x, ops::scalar_tensor(Scalar(0), x.dtype(), x.device()));
}
const Tensor& tril_(const Tensor& x, int64_t diagonal) {
  Tensor r = tril(x, diagonal);
  ops::check_writable(x, "tril_");
  copy_(x, r);
  return x;
}
const Tensor& triu_(const Tensor& x, int64_t diagonal) {
  Tensor r = triu(x, diagonal);
  ops::check_writable(x, "triu_");
  copy_(x, r);
  return x;
}

Tensor flip(const Tensor& x, const std::vector<int64_t>& dims) {
  ops::check_defined(x, "flip");
  Tensor v = x;
  std::vector<bool> seen(static_cast<size_t>(std::max<int64_t>(x.dim(), 1)), false);
  for (int64_t dim : dims) {
    const int64_t d = wrap_dim(dim, x.dim(), "flip");
    LAMINA_CHECK(!seen[static_cast<size_t>(d)], ValueError, "flip", "dim ", d, " appears multiple times in the list of dims");
    seen[static_cast<size_t>(d)] = true;
    if (x.dim() > 0) v = v.slice(d, INT64_MAX, INT64_MIN, -1);
  }
  return v.clone();
}

Tensor roll(const Tensor& x, const std::vector<int64_t>& shifts, const std::vector<int64_t>& dims) {
  ops::check_defined(x, "roll");
  if (dims.empty()) {
    LAMINA_CHECK(shifts.size() == 1, ShapeError, "roll", "without dims, shifts must have one entry, got ", shifts.size());
    return roll(x.reshape({-1}), shifts, {0}).view(x.shape());
  }
  LAMINA_CHECK(shifts.size() == dims.size(), ShapeError, "roll", "shifts (", shifts.size(), ") and dims (", dims.size(),
               ") must have the same length");
  Tensor out = x;
  for (size_t k = 0; k < dims.size(); ++k) {
    const int64_t d = wrap_dim(dims[k], x.dim(), "roll");
    const int64_t n = x.shape()[d];
    if (n == 0) continue;
    const int64_t s = ((shifts[k] % n) + n) % n;
    if (s == 0) continue;
    out = cat({out.narrow(d, n - s, s), out.narrow(d, 0, n - s)}, d);
  }
  return out.is_same(x) ? x.clone() : out;
}

}  // namespace lamina
