#include "lamina/ops/join.h"

#include <algorithm>

#include "lamina/autograd/autograd.h"
#include "lamina/ops/common.h"
#include "lamina/ops/copy.h"
#include "lamina/ops/creation.h"
#include "lamina/ops/elementwise.h"
#include "lamina/ops/index.h"
#include "lamina/ops/reduce.h"
#include "lamina/runtime/profiler.h"

namespace lamina {

namespace {
// cat, with errors naming `op` (the stacking functions reuse it).
Tensor concat(const std::vector<Tensor>& tensors, int64_t dim, const char* op) {
  LAMINA_CHECK(!tensors.empty(), ValueError, op, "expected a non-empty list of tensors");
  std::vector<const Tensor*> parts;
  for (const Tensor& t : tensors) {
    ops::check_defined(t, op, "a tensor in the list");
    ops::check_same_device(op, {&tensors[0], &t});
    LAMINA_CHECK(t.dim() > 0, ShapeError, op, "zero-dimensional tensor ", describe(t), " cannot be concatenated");
    if (!(t.dim() == 1 && t.shape()[0] == 0)) parts.push_back(&t);
  }
  Dtype dt = tensors[0].dtype();
  for (const Tensor& t : tensors) dt = promote_types(dt, t.dtype());
  if (parts.empty()) return Tensor::empty({0}, dt, tensors[0].device());
  const Tensor& ref = *parts[0];
  const int64_t d = wrap_dim(dim, ref.dim(), op);
  Shape shape = ref.shape();
  shape[d] = 0;
  for (const Tensor* t : parts) {
    LAMINA_CHECK(t->dim() == ref.dim(), ShapeError, op, "tensors must have the same number of dimensions: got ",
                 describe(ref), " and ", describe(*t));
    for (int64_t k = 0; k < ref.dim(); ++k) {
      LAMINA_CHECK(k == d || t->shape()[k] == ref.shape()[k], ShapeError, op, "sizes of tensors must match except in dimension ",
                   d, ": got ", describe(ref), " and ", describe(*t), " (dimension ", k, ")");
    }
    shape[d] += t->shape()[d];
  }
  Tensor out = Tensor::empty(shape, dt, ref.device());
  int64_t offset = 0;
  {
    autograd::NoGradGuard no_grad;
    for (const Tensor* t : parts) {
      copy_(out.narrow(d, offset, t->shape()[d]), *t);
      offset += t->shape()[d];
    }
  }
  if (is_floating(dt) && autograd::grad_mode_enabled()) {
    bool any = false;
    for (const Tensor& t : tensors) any = any || autograd::requires_grad(t);
    if (any) {
      // Each input's gradient is its slice of the output's (empty 1-d inputs get none).
      std::vector<int64_t> sizes;
      std::vector<Dtype> dtypes;
      for (const Tensor& t : tensors) {
        sizes.push_back(t.dim() == 1 && t.shape()[0] == 0 ? -1 : t.shape()[d]);
        dtypes.push_back(t.dtype());
      }
      autograd::record("CatBackward0", out, tensors, [sizes, dtypes, d](const Tensor& g) {
        std::vector<Tensor> r;
        int64_t at = 0;
        for (size_t i = 0; i < sizes.size(); ++i) {
          if (sizes[i] < 0) {
            r.emplace_back();
            continue;
          }
          Tensor part = g.narrow(d, at, sizes[i]);
          r.push_back(part.dtype() == dtypes[i] ? part : part.to(dtypes[i]));
          at += sizes[i];
        }
        return r;
      });
    }
  }
  return out;
}
}  // namespace

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  LAMINA_PROFILE_OP("cat", tensors);
  return concat(tensors, dim, "cat");
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  LAMINA_PROFILE_OP("stack", tensors);
  LAMINA_CHECK(!tensors.empty(), ValueError, "stack", "expected a non-empty list of tensors");
  for (const Tensor& t : tensors) {
    ops::check_defined(t, "stack", "a tensor in the list");
    LAMINA_CHECK(t.shape() == tensors[0].shape(), ShapeError, "stack", "expects each tensor to be equal size, got ",
                 describe(tensors[0]), " and ", describe(t));
  }
  const int64_t d = wrap_dim(dim, tensors[0].dim() + 1, "stack");
  std::vector<Tensor> expanded;
  for (const Tensor& t : tensors) expanded.push_back(t.unsqueeze(d));
  return concat(expanded, d, "stack");
}

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
  LAMINA_PROFILE_OP("split", x);
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
  LAMINA_PROFILE_OP("split", x);
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
  LAMINA_PROFILE_OP("chunk", x);
  ops::check_defined(x, "chunk");
  LAMINA_CHECK(chunks > 0, ValueError, "chunk", "chunks must be positive, got ", chunks);
  LAMINA_CHECK(x.dim() > 0, ShapeError, "chunk", "expects at least a 1-dimensional tensor");
  const int64_t d = wrap_dim(dim, x.dim(), "chunk");
  const int64_t n = x.shape()[d];
  // An empty dim still gives `chunks` (empty) pieces, as in PyTorch.
  if (n == 0) return split(x, std::vector<int64_t>(static_cast<size_t>(chunks), 0), d);
  return split(x, (n + chunks - 1) / chunks, d);
}

std::vector<Tensor> unbind(const Tensor& x, int64_t dim) {
  LAMINA_PROFILE_OP("unbind", x);
  ops::check_defined(x, "unbind");
  LAMINA_CHECK(x.dim() > 0, IndexError, "unbind", "cannot unbind a 0-d tensor");
  const int64_t d = wrap_dim(dim, x.dim(), "unbind");
  std::vector<Tensor> out;
  for (int64_t i = 0; i < x.shape()[d]; ++i) out.push_back(x.select(d, i));
  return out;
}

Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, const std::string& mode, double value) {
  LAMINA_PROFILE_OP("pad", x);
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
    {
      autograd::NoGradGuard no_grad;
      if (src.numel() > 0) copy_(dst, src);
    }
    if (is_floating(x.dtype()) && autograd::needs_grad({&x})) {
      // The kept part of x receives the matching part of the gradient; the padding none.
      autograd::record("ConstantPadNdBackward0", out, {&x}, [pads, shape = x.shape(), npad](const Tensor& g) {
        Tensor gx = zeros(shape, {g.dtype(), g.device()});
        Tensor from = g, to = gx;
        for (int64_t i = 0; i < npad; ++i) {
          const int64_t d = static_cast<int64_t>(shape.size()) - 1 - i, before = pads[2 * i], after = pads[2 * i + 1];
          const int64_t n = shape[d];
          const int64_t crop_lo = std::max<int64_t>(0, -before), crop_hi = std::max<int64_t>(0, -after);
          const int64_t keep = std::max<int64_t>(0, n - crop_lo - crop_hi);
          to = to.narrow(d, std::min(crop_lo, n), keep);
          from = from.narrow(d, std::max<int64_t>(0, before), keep);
        }
        autograd::NoGradGuard no_grad;
        if (to.numel() > 0) copy_(to, from);
        return std::vector<Tensor>{gx};
      });
    }
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
    // Circular padding wraps around what is left after cropping (PyTorch's order); reflect and
    // replicate index the uncropped input.
    const int64_t crop_lo = std::max<int64_t>(0, -before), kept = n - crop_lo - std::max<int64_t>(0, -after);
    if (mode == "circular") {
      LAMINA_CHECK(kept > 0 && before <= kept && after <= kept, ShapeError, "pad", "circular padding (", before, ", ",
                   after, ") must not exceed dimension ", d, " of size ", n, " (after cropping)");
    }
    std::vector<int64_t> src;
    for (int64_t j = -before; j < n + after; ++j) {
      int64_t s = j;
      if (mode == "replicate") s = std::clamp<int64_t>(j, 0, n - 1);
      else if (mode == "circular") s = crop_lo + (((j - crop_lo) % kept) + kept) % kept;
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
  LAMINA_PROFILE_OP("one_hot", indices);
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
// x with the elements outside the triangle (col - row <= diagonal for lower) set to zero.
Tensor triangle(const Tensor& x, int64_t diagonal, bool lower, const char* op) {
  ops::check_defined(x, op);
  LAMINA_CHECK(x.dim() >= 2, ShapeError, op, "expects a tensor with at least 2 dimensions, got ", describe(x));
  const int64_t rows = x.shape()[x.dim() - 2], cols = x.shape()[x.dim() - 1];
  const TensorOptions opts{Dtype::Int64, x.device()};
  const Scalar zero(int64_t{0}), one(int64_t{1});
  Tensor offset = sub(arange(zero, Scalar(cols), one, opts).unsqueeze(0), arange(zero, Scalar(rows), one, opts).unsqueeze(1));
  Tensor mask = lower ? le(offset, Scalar(diagonal)) : ge(offset, Scalar(diagonal));
  return where(mask, x, ops::scalar_tensor(Scalar(0), x.dtype(), x.device()));
}

const Tensor& triangle_(const Tensor& x, int64_t diagonal, bool lower, const char* op) {
  ops::check_defined(x, op);
  LAMINA_CHECK(x.dim() >= 2, ShapeError, op, "expects a tensor with at least 2 dimensions, got ", describe(x));
  ops::check_writable(x, op);
  copy_(x, triangle(x, diagonal, lower, op));
  return x;
}
}  // namespace

Tensor tril(const Tensor& x, int64_t diagonal) {
  LAMINA_PROFILE_OP("tril", x);
  return triangle(x, diagonal, true, "tril");
}
Tensor triu(const Tensor& x, int64_t diagonal) {
  LAMINA_PROFILE_OP("triu", x);
  return triangle(x, diagonal, false, "triu");
}
const Tensor& tril_(const Tensor& x, int64_t diagonal) {
  LAMINA_PROFILE_OP("tril_", x);
  return triangle_(x, diagonal, true, "tril_");
}
const Tensor& triu_(const Tensor& x, int64_t diagonal) {
  LAMINA_PROFILE_OP("triu_", x);
  return triangle_(x, diagonal, false, "triu_");
}

Tensor flip(const Tensor& x, const std::vector<int64_t>& dims) {
  LAMINA_PROFILE_OP("flip", x);
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
  LAMINA_PROFILE_OP("roll", x);
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

Tensor repeat(const Tensor& x, const std::vector<int64_t>& repeats) {
  LAMINA_PROFILE_OP("repeat", x);
  ops::check_defined(x, "repeat");
  const auto nd = static_cast<int64_t>(repeats.size());
  LAMINA_CHECK(nd >= x.dim(), ShapeError, "repeat", "needs at least one repeat count per dimension: got ", nd,
               " for ", describe(x));
  for (int64_t r : repeats) LAMINA_CHECK(r >= 0, ValueError, "repeat", "repeat counts must be non-negative, got ", r);
  Tensor v = x;
  while (v.dim() < nd) v = v.unsqueeze(0);
  Shape out_shape;
  int64_t extra = 0;
  for (int64_t d = 0; d < nd; ++d) {
    out_shape.push_back(v.shape()[d] * repeats[static_cast<size_t>(d)]);
    extra += repeats[static_cast<size_t>(d)] != 1;
  }
  if (nd + extra <= kMaxDims) {
    // One copy: view x as (1, s0, 1, s1, ...) with a size-1 dim before each repeated dim,
    // broadcast those to the repeat counts and copy out.
    Shape view_shape, expand_shape;
    for (int64_t d = 0; d < nd; ++d) {
      const int64_t r = repeats[static_cast<size_t>(d)];
      if (r != 1) {
        view_shape.push_back(1);
        expand_shape.push_back(r);
      }
      view_shape.push_back(v.shape()[d]);
      expand_shape.push_back(v.shape()[d]);
    }
    return v.reshape(view_shape).expand(expand_shape).clone().reshape(out_shape);
  }
  // Too many dims for that view: repeat one dim at a time.
  for (int64_t d = 0; d < nd; ++d) {
    const int64_t r = repeats[static_cast<size_t>(d)];
    if (r == 1) continue;
    Shape expand_shape = v.shape();
    expand_shape.insert(d, r);
    Shape merged = v.shape();
    merged[d] *= r;
    v = v.unsqueeze(d).expand(expand_shape).clone().reshape(merged);
  }
  return v.is_same(x) ? x.clone() : v;
}

Tensor tile(const Tensor& x, const std::vector<int64_t>& dims) {
  LAMINA_PROFILE_OP("tile", x);
  ops::check_defined(x, "tile");
  std::vector<int64_t> reps = dims;
  while (static_cast<int64_t>(reps.size()) < x.dim()) reps.insert(reps.begin(), 1);
  return repeat(x, reps);
}

Tensor movedim(const Tensor& x, const std::vector<int64_t>& source, const std::vector<int64_t>& destination) {
  LAMINA_PROFILE_OP("movedim", x);
  ops::check_defined(x, "movedim");
  LAMINA_CHECK(source.size() == destination.size(), ValueError, "movedim", "source (", source.size(),
               " dims) and destination (", destination.size(), " dims) must have the same length");
  const int64_t nd = x.dim();
  std::vector<int64_t> perm(static_cast<size_t>(nd), -1);
  std::vector<bool> src_used(static_cast<size_t>(nd), false);
  for (size_t i = 0; i < source.size(); ++i) {
    const int64_t s = wrap_dim(source[i], nd, "movedim"), d = wrap_dim(destination[i], nd, "movedim");
    if (nd == 0) continue;
    LAMINA_CHECK(!src_used[static_cast<size_t>(s)], ValueError, "movedim", "repeated dim ", s, " in source");
    LAMINA_CHECK(perm[static_cast<size_t>(d)] == -1, ValueError, "movedim", "repeated dim ", d, " in destination");
    src_used[static_cast<size_t>(s)] = true;
    perm[static_cast<size_t>(d)] = s;
  }
  int64_t next = 0;
  for (int64_t& p : perm) {
    if (p != -1) continue;
    while (src_used[static_cast<size_t>(next)]) ++next;
    p = next++;
  }
  return x.permute(perm);
}

namespace {
// Views of `tensors` with at least `n` dims, padded the way numpy's atleast_{1,2,3}d pad them.
std::vector<Tensor> at_least(const std::vector<Tensor>& tensors, int64_t n, const char* op) {
  LAMINA_CHECK(!tensors.empty(), ValueError, op, "expected a non-empty list of tensors");
  std::vector<Tensor> out;
  for (const Tensor& t : tensors) {
    ops::check_defined(t, op, "a tensor in the list");
    Tensor v = t;
    if (v.dim() == 0) v = v.reshape({1});
    if (n >= 2 && v.dim() == 1) v = v.unsqueeze(0);
    if (n >= 3 && v.dim() == 2) v = v.unsqueeze(2);
    out.push_back(v);
  }
  return out;
}
}  // namespace

Tensor hstack(const std::vector<Tensor>& tensors) {
  LAMINA_PROFILE_OP("hstack", tensors);
  std::vector<Tensor> ts = at_least(tensors, 1, "hstack");
  return concat(ts, ts[0].dim() == 1 ? 0 : 1, "hstack");
}

Tensor vstack(const std::vector<Tensor>& tensors) {
  LAMINA_PROFILE_OP("vstack", tensors);
  return concat(at_least(tensors, 2, "vstack"), 0, "vstack");
}

Tensor dstack(const std::vector<Tensor>& tensors) {
  LAMINA_PROFILE_OP("dstack", tensors);
  return concat(at_least(tensors, 3, "dstack"), 2, "dstack");
}

}  // namespace lamina
