#include "lamina/ops/linalg.h"

#include <algorithm>
#include <sstream>

#include "lamina/autograd/autograd.h"
#include "lamina/kernels/loops.h"
#include "lamina/ops/autocast.h"
#include "lamina/ops/common.h"
#include "lamina/ops/copy.h"
#include "lamina/ops/elementwise.h"
#include "lamina/ops/reduce.h"
#include "lamina/runtime/config.h"
#include "lamina/runtime/profiler.h"

namespace lamina {
namespace {

runtime::OpId matmul_id() {
  constexpr runtime::OpId id = runtime::op_id(kernels::Op::matmul);
  return id;
}

// The dtype the GEMM runs in. Half types without a native kernel go through float32 (BLAS) and
// are rounded once at the end, which is what PyTorch's CPU path computes too.
Dtype gemm_dtype(const Tensor& a, const Tensor& b, const char* op) {
  LAMINA_CHECK(a.dtype() == b.dtype(), DTypeError, op, "expected both operands to have the same dtype, got ",
               describe(a), " and ", describe(b), "; convert one with .to(dtype)");
  const Dtype dt = a.dtype();
  if (runtime::has_kernel(matmul_id(), a.device(), dt)) return dt;
  if ((dt == Dtype::Float16 || dt == Dtype::BFloat16) && runtime::has_kernel(matmul_id(), a.device(), Dtype::Float32))
    return Dtype::Float32;
  LAMINA_THROW(DTypeError, op, "matrix products are not implemented for ", describe(a),
               "; convert the operands to a numeric dtype with .to(dtype)");
}

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << s;
  return os.str();
}

// Checks that (..., m, k) @ (..., k, n) fits and returns the broadcast batch shape. `a1`/`b1`
// say an operand was a promoted 1-d tensor, so the message can describe the caller's shapes.
Shape check_product(const Shape& a, const Shape& b, bool a1, bool b1, const char* op) {
  const int64_t k = a[a.size() - 1], k2 = b[b.size() - 2];
  if (k != k2) {
    Shape sa = a1 ? Shape{k} : a, sb = b1 ? Shape{k2} : b;
    const std::string first = a1 ? "Size of the 1-d first input with shape " + shape_str(sa)
                                 : "Last dimension of first input with shape " + shape_str(sa);
    const std::string second = b1 ? "the size of the 1-d second input with shape " + shape_str(sb)
                                  : "second to last dimension of second input with shape " + shape_str(sb);
    LAMINA_THROW(ShapeError, op, first, " must match ", second);
  }
  Shape batch_a(a.begin(), a.end() - 2), batch_b(b.begin(), b.end() - 2);
  return broadcast_shapes(batch_a, batch_b, op);
}

// True when a rows x cols matrix with element strides (rs, cs) can go to BLAS without a copy
// (row-major or column-major with a leading dimension that covers the other extent).
bool blas_compatible(int64_t rows, int64_t cols, int64_t rs, int64_t cs) {
  const bool row_major = (cols == 1 || cs == 1) && (rows == 1 || rs >= std::max<int64_t>(1, cols));
  const bool col_major = (rows == 1 || rs == 1) && (cols == 1 || cs >= std::max<int64_t>(1, rows));
  return row_major || col_major;
}

Tensor blas_ready(const Tensor& t) {
  const int64_t nd = t.dim();
  if (blas_compatible(t.shape()[nd - 2], t.shape()[nd - 1], t.strides()[nd - 2], t.strides()[nd - 1])) return t;
  return t.contiguous();
}

// If dims [0, last] of t can be walked as one dim (size-1 dims ignored), sets `stride` and returns true.
bool collapsible(const Tensor& t, int64_t last, int64_t& stride) {
  int64_t expect = 0;
  bool any = false;
  for (int64_t d = last; d >= 0; --d) {
    if (t.shape()[d] == 1) continue;
    if (!any) {
      stride = t.strides()[d];
      expect = stride * t.shape()[d];
      any = true;
    } else {
      if (t.strides()[d] != expect) return false;
      expect *= t.shape()[d];
    }
  }
  if (!any) stride = t.strides()[last];
  return true;
}

// Byte offsets of each matrix of an expanded (batch..., r, c) view, in row-major batch order.
std::vector<int64_t> batch_offsets(const Tensor& t, const Shape& batch) {
  const int64_t count = shape_numel(batch), nb = batch.size();
  std::vector<int64_t> out(static_cast<size_t>(count));
  int64_t idx[kMaxDims] = {0};
  int64_t offset = 0;
  for (int64_t i = 0; i < count; ++i) {
    out[static_cast<size_t>(i)] = offset * t.element_size();
    for (int64_t d = nb - 1; d >= 0; --d) {
      offset += t.strides()[d];
      if (++idx[d] < batch[d]) break;
      offset -= t.strides()[d] * batch[d];
      idx[d] = 0;
    }
  }
  return out;
}

// out = a @ b for validated a: (..., m, k), b: (..., k, n) whose batch dims broadcast to `batch`.
Tensor run_matmul_impl(const Tensor& a, const Tensor& b, const Shape& batch, Dtype compute);

// run_matmul_impl with the product recorded for autograd: dA = dC @ B^T, dB = A^T @ dC, each
// summed over the batch dims it was broadcast along.
Tensor run_matmul(const Tensor& a, const Tensor& b, const Shape& batch, Dtype compute) {
  if (compute != a.dtype()) return run_matmul(a.to(compute), b.to(compute), batch, compute).to(a.dtype());
  if (!is_floating(compute) || !autograd::needs_grad({&a, &b})) return run_matmul_impl(a, b, batch, compute);
  Tensor out;
  {
    autograd::NoGradGuard no_grad;
    out = run_matmul_impl(a, b, batch, compute);
  }
  autograd::SavedTensor sa(a), sb(b);
  autograd::record("MmBackward0", out, {&a, &b},
                   [sa, sb, ra = autograd::requires_grad(a), rb = autograd::requires_grad(b)](const Tensor& g) {
                     const Tensor A = sa.get("MmBackward0"), B = sb.get("MmBackward0");
                     std::vector<Tensor> r(2);
                     if (ra) r[0] = sum_to(matmul(g, B.transpose(-1, -2)), A.shape());
                     if (rb && B.dim() == 2 && A.dim() > 2) {
                       // A shared matrix (x @ W with x batched): one GEMM over all rows, not a product per
                       // batch entry summed afterwards.
                       const int64_t k = A.shape()[A.dim() - 1], n = g.shape()[g.dim() - 1];
                       r[1] = matmul(A.reshape({-1, k}).t(), g.reshape({-1, n}));
                     } else if (rb) {
                       r[1] = sum_to(matmul(A.transpose(-1, -2), g), B.shape());
                     }
                     return r;
                   });
  return out;
}

Tensor run_matmul_impl(const Tensor& a, const Tensor& b, const Shape& batch, Dtype compute) {
  const int64_t m = a.shape()[a.dim() - 2], k = a.shape()[a.dim() - 1], n = b.shape()[b.dim() - 1];
  Shape out_shape = batch;
  out_shape.push_back(m);
  out_shape.push_back(n);
  Tensor out = Tensor::empty(out_shape, compute, a.device());
  if (out.numel() == 0) return out;
  if (k == 0) return zero_(out), out;
  // BLAS (float32/float64 on the CPU), oneDNN (bfloat16 on the CPU) and cuBLASLt (every dtype on
  // CUDA) take operands with a unit row or column stride; others are copied first.
  const bool blas =
      compute == Dtype::Float32 || compute == Dtype::Float64 || compute == Dtype::BFloat16 || a.device().is_cuda();
  Shape shape_a = batch, shape_b = batch;
  shape_a.push_back(m);
  shape_a.push_back(k);
  shape_b.push_back(k);
  shape_b.push_back(n);
  Tensor A = (blas ? blas_ready(a) : a).expand(shape_a);
  Tensor B = (blas ? blas_ready(b) : b).expand(shape_b);
  const int64_t nb = batch.size();
  kernels::GemmLoop g;
  g.m = m;
  g.n = n;
  g.k = k;
  g.a_rs = A.strides()[nb];
  g.a_cs = A.strides()[nb + 1];
  g.b_rs = B.strides()[nb];
  g.b_cs = B.strides()[nb + 1];
  // A batch of rows times one shared matrix (x @ W with x of shape (B, T, C)) is a single GEMM.
  bool b_shared = true;
  for (int64_t d = 0; d < nb; ++d) b_shared = b_shared && (batch[d] == 1 || B.strides()[d] == 0);
  int64_t row_stride = 0;
  const bool fold = nb > 0 && b_shared && collapsible(A, nb, row_stride) &&
                    (!blas || blas_compatible(shape_numel(batch) * m, k, row_stride, g.a_cs));
  std::vector<int64_t> off_a{0}, off_b{0};
  if (fold) {
    g.m = shape_numel(batch) * m;
    g.a_rs = row_stride;
  } else {
    off_a = batch_offsets(A, batch);
    off_b = batch_offsets(B, batch);
    g.batch = shape_numel(batch);
  }
  g.a = static_cast<const char*>(A.data_ptr());
  g.b = static_cast<const char*>(B.data_ptr());
  g.c = static_cast<char*>(out.data_ptr());
  g.a_offsets = off_a.data();
  g.b_offsets = off_b.data();
  runtime::launch_gemm(matmul_id(), compute, g, a.device());
  return out;
}

void check_pair(const Tensor& a, const Tensor& b, const char* op) {
  ops::check_defined(a, op, "first operand");
  ops::check_defined(b, op, "second operand");
  ops::check_same_device(op, {&a, &b});
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  LAMINA_AUTOCAST(autocast::CastPolicy::LowerPrecision, matmul, a, b);
  LAMINA_PROFILE_OP("matmul", a, b);
  check_pair(a, b, "matmul");
  LAMINA_CHECK(a.dim() > 0 && b.dim() > 0, ShapeError, "matmul", "both arguments need at least 1 dimension, got ",
               describe(a), " and ", describe(b), "; use mul (*) for a product with a 0-d tensor");
  const Dtype compute = gemm_dtype(a, b, "matmul");
  const bool a1 = a.dim() == 1, b1 = b.dim() == 1;
  Tensor A = a1 ? a.unsqueeze(0) : a, B = b1 ? b.unsqueeze(1) : b;
  const Shape batch = check_product(A.shape(), B.shape(), a1, b1, "matmul");
  Tensor r = run_matmul(A, B, batch, compute);
  if (a1 && b1) return r.reshape({});
  if (a1) return r.squeeze(r.dim() - 2);
  if (b1) return r.squeeze(r.dim() - 1);
  return r;
}

namespace {
// C (m, n) += A B for BLAS-ready matrices A (m, k) and B (k, n), batch 1; `zero` is the one
// batch offset (0), which must outlive the launch.
kernels::GemmLoop accumulating_gemm(const Tensor& A, const Tensor& B, const Tensor& c, const int64_t* zero) {
  kernels::GemmLoop g;
  g.m = A.shape()[0];
  g.n = B.shape()[1];
  g.k = A.shape()[1];
  g.a_rs = A.strides()[0];
  g.a_cs = A.strides()[1];
  g.b_rs = B.strides()[0];
  g.b_cs = B.strides()[1];
  g.accumulate = true;
  g.a = static_cast<const char*>(A.data_ptr());
  g.b = static_cast<const char*>(B.data_ptr());
  g.c = static_cast<char*>(c.data_ptr());
  g.a_offsets = zero;
  g.b_offsets = zero;
  return g;
}
}  // namespace

Tensor addmm(const Tensor& input, const Tensor& a, const Tensor& b, double beta, double alpha) {
  LAMINA_AUTOCAST(autocast::CastPolicy::LowerPrecision, addmm, input, a, b, beta, alpha);
  LAMINA_PROFILE_OP("addmm", input, a, b);
  const char* op = "addmm";
  check_pair(a, b, op);
  ops::check_defined(input, op, "input");
  LAMINA_CHECK(a.dim() == 2 && b.dim() == 2, ShapeError, op, "expects two matrices, got ", describe(a), " and ",
               describe(b));
  check_product(a.shape(), b.shape(), false, false, op);
  const int64_t m = a.shape()[0], k = a.shape()[1], n = b.shape()[1];
  const Shape out_shape{m, n};
  LAMINA_CHECK(broadcast_shapes(input.shape(), out_shape, op) == out_shape, ShapeError, op, "input ", describe(input),
               " must broadcast to the product's shape ", out_shape);
  if (beta != 1.0 || alpha != 1.0) {
    const Tensor product = alpha == 1.0 ? mm(a, b) : mul(mm(a, b), Scalar(alpha));
    if (beta == 0.0) return product;  // already (m, n), the input's values ignored
    return add(mul(input, Scalar(beta)), product);
  }
  const Dtype dt = a.dtype();
  const bool fold = a.device().is_cpu() && input.device().is_cpu() && (dt == Dtype::Float32 || dt == Dtype::Float64) &&
                    b.dtype() == dt && input.dtype() == dt;
  if (!fold) return add(input, mm(a, b));
  Tensor out;
  {
    autograd::NoGradGuard no_grad;
    // A bias row (input of shape (n) or (1, n)) is written into C by the kernel band by band.
    const bool row_bias = m > 0 && n > 0 && k > 0 && input.numel() == n && (input.dim() == 1 || input.shape()[0] == 1);
    Tensor bias_row;
    if (row_bias) {
      bias_row = input.reshape({n}).contiguous();
      out = Tensor::empty(out_shape, dt, a.device());
    } else {
      out = input.expand(out_shape).contiguous();
      if (out.data_ptr() == input.data_ptr()) out = out.clone();  // never write into the input
    }
    if (m > 0 && n > 0 && k > 0) {
      const Tensor A = blas_ready(a), B = blas_ready(b);
      const int64_t zero = 0;
      kernels::GemmLoop g = accumulating_gemm(A, B, out, &zero);
      if (row_bias) g.c_init_row = static_cast<const char*>(bias_row.data_ptr());
      runtime::launch_gemm(matmul_id(), dt, g, a.device());
    }
  }
  if (autograd::needs_grad({&input, &a, &b})) {
    autograd::SavedTensor sa(a), sb(b);
    autograd::record("AddmmBackward0", out, {&input, &a, &b},
                     [sa, sb, in_shape = input.shape(), ri = autograd::requires_grad(input),
                      ra = autograd::requires_grad(a), rb = autograd::requires_grad(b)](const Tensor& g) {
                       std::vector<Tensor> r(3);
                       if (ri) r[0] = sum_to(g, in_shape);
                       if (ra) r[1] = mm(g, sb.get("AddmmBackward0").t());
                       if (rb) r[2] = mm(sa.get("AddmmBackward0").t(), g);
                       return r;
                     });
  }
  return out;
}

Tensor addmm_gelu(const Tensor& bias, const Tensor& a, const Tensor& b, const std::string& approximate) {
  LAMINA_AUTOCAST(autocast::CastPolicy::LowerPrecision, addmm_gelu, bias, a, b, approximate);
  LAMINA_PROFILE_OP("addmm_gelu", bias, a, b);
  const char* op = "addmm_gelu";
  LAMINA_CHECK(approximate == "none" || approximate == "tanh", ValueError, op,
               "approximate must be 'none' or 'tanh', got '", approximate, "'");
  check_pair(a, b, op);
  ops::check_defined(bias, op, "bias");
  LAMINA_CHECK(a.dim() == 2 && b.dim() == 2, ShapeError, op, "expects two matrices, got ", describe(a), " and ",
               describe(b));
  check_product(a.shape(), b.shape(), false, false, op);
  const int64_t m = a.shape()[0], k = a.shape()[1], n = b.shape()[1];
  const Dtype dt = a.dtype();
  const bool fold = a.device().is_cpu() && bias.device().is_cpu() && (dt == Dtype::Float32 || dt == Dtype::Float64) &&
                    b.dtype() == dt && bias.dtype() == dt && bias.dim() == 1 && bias.shape()[0] == n && m > 0 &&
                    n > 0 && k > 0;
  if (!fold) return gelu(addmm(bias, a, b), approximate);
  const Tensor bias_row = bias.contiguous();
  // Without a graph the pre-activation is not kept: the GELU overwrites each band in place.
  const bool record = autograd::needs_grad({&bias, &a, &b});
  Tensor pre = Tensor::empty({m, n}, dt, a.device());
  Tensor out = record ? Tensor::empty({m, n}, dt, a.device()) : pre;
  {
    const Tensor A = blas_ready(a), B = blas_ready(b);
    const int64_t zero = 0;
    kernels::GemmLoop g = accumulating_gemm(A, B, pre, &zero);
    g.c_init_row = static_cast<const char*>(bias_row.data_ptr());
    g.c_epilogue = static_cast<char*>(out.data_ptr());
    const kernels::Op act = approximate == "tanh" ? kernels::Op::gelu_tanh : kernels::Op::gelu;
    runtime::launch_gemm_epilogue(matmul_id(), runtime::op_id(act), dt, g, a.device());
  }
  if (record) {
    autograd::SavedTensor sbias(bias), sa(a), sb(b), spre(pre);
    autograd::record("AddmmGeluBackward0", out, {&bias, &a, &b},
                     [sbias, sa, sb, spre, approximate, rbias = autograd::requires_grad(bias),
                      ra = autograd::requires_grad(a), rb = autograd::requires_grad(b)](const Tensor& g) {
                       const char* node = "AddmmGeluBackward0";
                       const Tensor as = sa.get(node), bs = sb.get(node);
                       // Under create_graph the pre-activation is recomputed from the inputs, so
                       // the gradient is differentiable in them.
                       const Tensor pre =
                           autograd::grad_mode_enabled() ? addmm(sbias.get(node), as, bs) : spre.get(node);
                       const Tensor dpre = ops::gelu_grad(g, pre, approximate);
                       std::vector<Tensor> r(3);
                       if (rbias) r[0] = sum(dpre, std::vector<int64_t>{0});
                       if (ra) r[1] = mm(dpre, bs.t());
                       if (rb) r[2] = mm(as.t(), dpre);
                       return r;
                     });
  }
  return out;
}

Tensor mm(const Tensor& a, const Tensor& b) {
  LAMINA_AUTOCAST(autocast::CastPolicy::LowerPrecision, mm, a, b);
  LAMINA_PROFILE_OP("mm", a, b);
  check_pair(a, b, "mm");
  LAMINA_CHECK(a.dim() == 2 && b.dim() == 2, ShapeError, "mm", "expects two matrices, got ", describe(a), " and ",
               describe(b));
  const Dtype compute = gemm_dtype(a, b, "mm");
  return run_matmul(a, b, check_product(a.shape(), b.shape(), false, false, "mm"), compute);
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  LAMINA_AUTOCAST(autocast::CastPolicy::LowerPrecision, bmm, a, b);
  LAMINA_PROFILE_OP("bmm", a, b);
  check_pair(a, b, "bmm");
  LAMINA_CHECK(a.dim() == 3 && b.dim() == 3 && a.shape()[0] == b.shape()[0], ShapeError, "bmm",
               "expects two 3-d tensors with the same batch size, got ", describe(a), " and ", describe(b));
  const Dtype compute = gemm_dtype(a, b, "bmm");
  return run_matmul(a, b, check_product(a.shape(), b.shape(), false, false, "bmm"), compute);
}

Tensor mv(const Tensor& a, const Tensor& v) {
  LAMINA_PROFILE_OP("mv", a, v);
  check_pair(a, v, "mv");
  LAMINA_CHECK(a.dim() == 2 && v.dim() == 1, ShapeError, "mv", "expects a matrix and a vector, got ", describe(a),
               " and ", describe(v));
  const Dtype compute = gemm_dtype(a, v, "mv");
  Tensor V = v.unsqueeze(1);
  return run_matmul(a, V, check_product(a.shape(), V.shape(), false, true, "mv"), compute).squeeze(1);
}

Tensor dot(const Tensor& a, const Tensor& b) {
  LAMINA_PROFILE_OP("dot", a, b);
  check_pair(a, b, "dot");
  LAMINA_CHECK(a.dim() == 1 && b.dim() == 1 && a.shape()[0] == b.shape()[0], ShapeError, "dot",
               "expects two 1-d tensors of the same size, got ", describe(a), " and ", describe(b));
  const Dtype compute = gemm_dtype(a, b, "dot");
  return run_matmul(a.unsqueeze(0), b.unsqueeze(1), Shape{}, compute).reshape({});
}

Tensor outer(const Tensor& a, const Tensor& b) {
  LAMINA_PROFILE_OP("outer", a, b);
  check_pair(a, b, "outer");
  LAMINA_CHECK(a.dim() == 1 && b.dim() == 1, ShapeError, "outer", "expects two 1-d tensors, got ", describe(a), " and ",
               describe(b));
  return mul(a.unsqueeze(1), b.unsqueeze(0));
}

// ------------------------------------------------------------------------------------ einsum
namespace {

// Labels: 'A'-'Z' are 0-25 and 'a'-'z' 26-51 (the order implicit outputs sort in, as in
// PyTorch and NumPy); ellipsis dims are right-aligned at kEllipsis + (kMaxDims - count + e).
constexpr int kEllipsis = 64;
constexpr int kNumLabels = kEllipsis + kMaxDims;

// An operand with one dim per label (no label repeated).
struct Labeled {
  Tensor t;
  std::vector<int> labels;
};

bool contains(const std::vector<int>& v, int l) { return std::find(v.begin(), v.end(), l) != v.end(); }

std::string label_name(int l) {
  if (l >= kEllipsis) return "of the ellipsis";
  return std::string("'") + static_cast<char>(l < 26 ? 'A' + l : 'a' + (l - 26)) + "'";
}

// Parses one subscript term (no commas, no arrow) into labels; `ellipsis_dims` is how many dims
// "..." stands for. Returns false in `has_ellipsis` when the term has none.
std::vector<int> parse_term(const std::string& term, const std::string& equation, int64_t ellipsis_dims,
                            bool& has_ellipsis) {
  std::vector<int> labels;
  has_ellipsis = false;
  for (size_t p = 0; p < term.size();) {
    const char c = term[p];
    if (term.compare(p, 3, "...") == 0) {
      LAMINA_CHECK(!has_ellipsis, ValueError, "einsum", "more than one ellipsis in term '", term, "' of '", equation,
                   "'");
      has_ellipsis = true;
      for (int64_t e = 0; e < ellipsis_dims; ++e)
        labels.push_back(kEllipsis + static_cast<int>(kMaxDims - ellipsis_dims + e));
      p += 3;
      continue;
    }
    LAMINA_CHECK((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'), ValueError, "einsum", "invalid subscript '", c,
                 "' in equation '", equation, "'; subscripts must be letters a-z, A-Z or an ellipsis '...'");
    labels.push_back(c <= 'Z' ? c - 'A' : 26 + (c - 'a'));
    ++p;
  }
  return labels;
}

// Number of named subscripts in a term (letters; an ellipsis counts zero).
int64_t named_count(const std::string& term) {
  return static_cast<int64_t>(std::count_if(term.begin(), term.end(), [](char c) { return c != '.'; }));
}

// Sums out the dims whose labels are not in `keep`.
Labeled sum_out(const Labeled& x, const std::vector<int>& keep) {
  std::vector<int64_t> dims;
  std::vector<int> rest;
  for (size_t d = 0; d < x.labels.size(); ++d) {
    if (contains(keep, x.labels[d]))
      rest.push_back(x.labels[d]);
    else
      dims.push_back(static_cast<int64_t>(d));
  }
  if (dims.empty()) return x;
  return {sum(x.t, dims, false, x.t.dtype()), rest};
}

// x's dims reordered to `order`, with a size-1 dim for each label of `order` x lacks.
Tensor arrange(const Labeled& x, const std::vector<int>& order) {
  std::vector<int64_t> perm;
  Shape shape;
  for (int l : order) {
    auto it = std::find(x.labels.begin(), x.labels.end(), l);
    if (it != x.labels.end()) {
      perm.push_back(it - x.labels.begin());
      shape.push_back(x.t.shape()[it - x.labels.begin()]);
    } else {
      shape.push_back(1);
    }
  }
  return x.t.permute(perm).reshape(shape);
}

Shape sizes_of(const std::vector<int>& labels, const std::vector<int64_t>& sizes) {
  Shape s;
  for (int l : labels) s.push_back(sizes[static_cast<size_t>(l)]);
  return s;
}

// Multiplies x and y and sums the labels they share that `keep` does not need.
Labeled contract(const Labeled& x, const Labeled& y, const std::vector<int>& keep, const std::vector<int64_t>& sizes) {
  std::vector<int> batch, left, right, summed;
  for (int l : x.labels) {
    if (!contains(y.labels, l))
      left.push_back(l);
    else
      (contains(keep, l) ? batch : summed).push_back(l);
  }
  for (int l : y.labels)
    if (!contains(x.labels, l)) right.push_back(l);
  std::vector<int> labels = batch;
  labels.insert(labels.end(), left.begin(), left.end());
  labels.insert(labels.end(), right.begin(), right.end());
  const int64_t nb = shape_numel(sizes_of(batch, sizes)), nl = shape_numel(sizes_of(left, sizes));
  const int64_t nr = shape_numel(sizes_of(right, sizes)), ns = shape_numel(sizes_of(summed, sizes));
  // Hadamard-like products (nothing summed, or only dot products per batch) are cheaper as a
  // broadcast multiply than as many tiny GEMMs.
  if (summed.empty() || (nl == 1 && nr == 1 && nb > 1)) {
    std::vector<int> order = labels;
    order.insert(order.end(), summed.begin(), summed.end());
    Tensor p = mul(arrange(x, order), arrange(y, order));
    return sum_out({p, order}, labels);
  }
  std::vector<int> ox = batch, oy = batch;
  ox.insert(ox.end(), left.begin(), left.end());
  ox.insert(ox.end(), summed.begin(), summed.end());
  oy.insert(oy.end(), summed.begin(), summed.end());
  oy.insert(oy.end(), right.begin(), right.end());
  Tensor px = arrange(x, ox).expand(sizes_of(ox, sizes)).reshape({nb, nl, ns});
  Tensor py = arrange(y, oy).expand(sizes_of(oy, sizes)).reshape({nb, ns, nr});
  Tensor r = run_matmul(px, py, Shape{nb}, gemm_dtype(px, py, "einsum"));
  return {r.reshape(sizes_of(labels, sizes)), labels};
}

}  // namespace

Tensor einsum(const std::string& equation, const std::vector<Tensor>& operands) {
  LAMINA_PROFILE_OP("einsum", operands);
  LAMINA_CHECK(!operands.empty(), ValueError, "einsum", "expected at least one operand for '", equation, "'");
  for (const Tensor& t : operands) {
    ops::check_defined(t, "einsum", "operand");
    ops::check_same_device("einsum", {&operands[0], &t});
  }
  Dtype dt = operands[0].dtype();
  for (const Tensor& t : operands) dt = promote_types(dt, t.dtype());
  LAMINA_CHECK(dt != Dtype::Bool, DTypeError, "einsum",
               "bool operands are not supported; convert them with .to(dtype)");
  std::string eq;
  for (char c : equation)
    if (c != ' ') eq += c;
  const size_t arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  const std::string rhs = arrow == std::string::npos ? "" : eq.substr(arrow + 2);
  LAMINA_CHECK(rhs.find_first_of(",->") == std::string::npos && lhs.find_first_of("->") == std::string::npos,
               ValueError, "einsum", "equation '", equation, "' must have the form 'ab,bc->ac' with at most one '->'");
  std::vector<std::string> terms;
  for (size_t start = 0;;) {
    const size_t comma = lhs.find(',', start);
    terms.push_back(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  LAMINA_CHECK(terms.size() == operands.size(), ValueError, "einsum", "equation '", equation, "' has ", terms.size(),
               " operand term(s) but ", operands.size(), " operand(s) were given");

  // Labels and sizes of every operand, taking the diagonal for a label repeated in one operand.
  std::vector<int64_t> sizes(kNumLabels, -1);
  std::vector<int> counts(kNumLabels, 0);
  std::vector<Labeled> inputs;
  int64_t ellipsis_dims = 0;
  for (size_t i = 0; i < terms.size(); ++i) {
    const Tensor& t = operands[i];
    const int64_t named = named_count(terms[i]);
    const bool dots = terms[i].find('.') != std::string::npos;
    LAMINA_CHECK(dots ? named <= t.dim() : named == t.dim(), ValueError, "einsum", "term '", terms[i], "' has ", named,
                 " subscript(s) but operand ", i, " is ", describe(t), dots ? "" : " and the term has no ellipsis");
    bool has_ellipsis = false;
    std::vector<int> labels = parse_term(terms[i], equation, t.dim() - named, has_ellipsis);
    LAMINA_CHECK(dots == has_ellipsis, ValueError, "einsum", "invalid '.' in equation '", equation, "'");
    if (has_ellipsis) ellipsis_dims = std::max(ellipsis_dims, t.dim() - named);
    for (int l : labels) counts[static_cast<size_t>(l)] += 1;
    Tensor v = t.to(dt);
    for (size_t a = 0; a < labels.size(); ++a) {
      for (size_t b = a + 1; b < labels.size();) {
        if (labels[b] != labels[a]) {
          ++b;
          continue;
        }
        const auto da = static_cast<int64_t>(a), db = static_cast<int64_t>(b);
        LAMINA_CHECK(v.shape()[da] == v.shape()[db], ShapeError, "einsum", "subscript ", label_name(labels[a]),
                     " is repeated in operand ", i, " ", describe(t), " but its sizes differ (", v.shape()[da], " vs ",
                     v.shape()[db], ")");
        Tensor d = v.diagonal(0, da, db);
        std::vector<int64_t> perm;
        for (int64_t k = 0; k < d.dim() - 1; ++k) {
          if (k == da) perm.push_back(d.dim() - 1);
          perm.push_back(k);
        }
        if (da == d.dim() - 1) perm.push_back(d.dim() - 1);
        v = d.permute(perm);
        labels.erase(labels.begin() + static_cast<std::ptrdiff_t>(b));
      }
    }
    for (size_t d = 0; d < labels.size(); ++d) {
      const int64_t s = v.shape()[static_cast<int64_t>(d)];
      int64_t& known = sizes[static_cast<size_t>(labels[d])];
      LAMINA_CHECK(known == -1 || known == 1 || s == 1 || s == known, ShapeError, "einsum", "subscript ",
                   label_name(labels[d]), " has size ", s, " in operand ", i, " ", describe(t),
                   ", which does not broadcast with size ", known, " seen before");
      if (known == -1 || known == 1) known = s;
    }
    inputs.push_back({v, labels});
  }

  std::vector<int> output;
  if (arrow != std::string::npos) {
    bool has_ellipsis = false;
    output = parse_term(rhs, equation, ellipsis_dims, has_ellipsis);
    for (size_t p = 0; p < output.size(); ++p) {
      const int l = output[p];
      if (l >= kEllipsis) continue;
      LAMINA_CHECK(counts[static_cast<size_t>(l)] > 0, ValueError, "einsum", "output subscript ", label_name(l),
                   " does not appear in any input of '", equation, "'");
      LAMINA_CHECK(std::count(output.begin(), output.end(), l) == 1, ValueError, "einsum", "output subscript ",
                   label_name(l), " appears more than once in '", equation, "'");
    }
  } else {
    for (int64_t e = 0; e < ellipsis_dims; ++e)
      output.push_back(kEllipsis + static_cast<int>(kMaxDims - ellipsis_dims + e));
    for (int l = 0; l < kEllipsis; ++l)
      if (counts[static_cast<size_t>(l)] == 1) output.push_back(l);
  }

  // Contract left to right, keeping the labels the output or a later operand needs.
  Labeled acc = inputs[0];
  for (size_t i = 1; i < inputs.size(); ++i) {
    std::vector<int> keep = output;
    for (size_t j = i + 1; j < inputs.size(); ++j)
      keep.insert(keep.end(), inputs[j].labels.begin(), inputs[j].labels.end());
    std::vector<int> keep_acc = keep, keep_next = keep;
    keep_acc.insert(keep_acc.end(), inputs[i].labels.begin(), inputs[i].labels.end());
    keep_next.insert(keep_next.end(), acc.labels.begin(), acc.labels.end());
    acc = contract(sum_out(acc, keep_acc), sum_out(inputs[i], keep_next), keep, sizes);
  }
  acc = sum_out(acc, output);
  Tensor out = arrange(acc, output).expand(sizes_of(output, sizes)).contiguous();
  // A pure relabeling ("ij->ij", "ii->i") must still return a new tensor, not an operand's storage.
  for (const Tensor& t : operands)
    if (out.storage() == t.storage()) return out.clone();
  return out;
}

}  // namespace lamina
