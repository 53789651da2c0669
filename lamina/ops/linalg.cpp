#include "lamina/ops/linalg.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "lamina/ops/common.h"
#include "lamina/ops/copy.h"
#include "lamina/ops/creation.h"
#include "lamina/ops/elementwise.h"
#include "lamina/ops/reduce.h"
#include "lamina/runtime/gemm_loop.h"

namespace lamina {
namespace {

using GemmKernel = void (*)(const runtime::GemmLoop&, const runtime::KernelParams&);

// True when a rows x cols matrix with these strides can go to BLAS without a copy.
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

// Byte offsets of each batch matrix of an expanded (batch..., r, c) view.
Tensor batch_offsets(const Tensor& t, const Shape& batch) {
  const int64_t count = shape_numel(batch);
  Tensor out = Tensor::empty({count}, Dtype::Int64, kCPU);
  int64_t* p = out.data<int64_t>();
  const int64_t nb = batch.size();
  int64_t idx[kMaxDims] = {0};
  int64_t offset = 0;
  for (int64_t i = 0; i < count; ++i) {
    p[i] = offset * t.element_size();
    for (int64_t d = nb - 1; d >= 0; --d) {
      offset += t.strides()[d];
      if (++idx[d] < batch[d]) break;
      offset -= t.strides()[d] * batch[d];
      idx[d] = 0;
    }
  }
  return out;
}

// a: (..., m, k), b: (..., k, n), both at least 2-d.
Tensor matmul_2d_plus(const Tensor& a, const Tensor& b, const char* op) {
  static const runtime::OpId id = runtime::op_id("matmul");
  const int64_t m = a.shape()[a.dim() - 2], k = a.shape()[a.dim() - 1];
  const int64_t k2 = b.shape()[b.dim() - 2], n = b.shape()[b.dim() - 1];
  LAMINA_CHECK(k == k2, ShapeError, op, "last dimension of first input with shape ", a.shape(),
               " must match second to last dimension of second input with shape ", b.shape());
  Shape batch_a(a.shape().begin(), a.shape().end() - 2), batch_b(b.shape().begin(), b.shape().end() - 2);
  Shape batch = broadcast_shapes(batch_a, batch_b, op);
  LAMINA_CHECK(a.dtype() == b.dtype(), DTypeError, op, "expected both operands to have the same dtype, got ",
               describe(a), " and ", describe(b), "; convert one with .to(dtype)");
  LAMINA_CHECK(runtime::has_kernel(id, a.device(), a.dtype()), DTypeError, op, "does not support ", describe(a));
  auto kernel = runtime::find_kernel<GemmKernel>(id, a.device(), a.dtype());
  const bool blas = a.dtype() == Dtype::Float32 || a.dtype() == Dtype::Float64;
  Shape shape_a = batch, shape_b = batch, out_shape = batch;
  shape_a.push_back(m);
  shape_a.push_back(k);
  shape_b.push_back(k);
  shape_b.push_back(n);
  out_shape.push_back(m);
  out_shape.push_back(n);
  Tensor A = (blas ? blas_ready(a) : a).expand(shape_a);
  Tensor B = (blas ? blas_ready(b) : b).expand(shape_b);
  Tensor out = Tensor::empty(out_shape, a.dtype(), a.device());
  if (out.numel() == 0) return out;
  if (k == 0) return zero_(out), out;
  Tensor off_a = batch_offsets(A, batch), off_b = batch_offsets(B, batch);
  runtime::GemmLoop g;
  g.batch = shape_numel(batch);
  g.m = m;
  g.n = n;
  g.k = k;
  g.a = static_cast<const char*>(A.data_ptr());
  g.b = static_cast<const char*>(B.data_ptr());
  g.c = static_cast<char*>(out.data_ptr());
  g.a_offsets = off_a.data<int64_t>();
  g.b_offsets = off_b.data<int64_t>();
  g.a_rs = A.strides()[A.dim() - 2];
  g.a_cs = A.strides()[A.dim() - 1];
  g.b_rs = B.strides()[B.dim() - 2];
  g.b_cs = B.strides()[B.dim() - 1];
  kernel(g, {});
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  ops::check_defined(a, "matmul", "first operand");
  ops::check_defined(b, "matmul", "second operand");
  ops::check_same_device("matmul", {&a, &b});
  LAMINA_CHECK(a.dim() > 0 && b.dim() > 0, ShapeError, "matmul", "both arguments need at least 1 dimension, got ",
               describe(a), " and ", describe(b));
  if (a.dim() == 1 && b.dim() == 1) {
    LAMINA_CHECK(a.shape()[0] == b.shape()[0], ShapeError, "matmul", "1-d operands must have the same size, got ",
                 a.shape(), " and ", b.shape());
    return matmul_2d_plus(a.unsqueeze(0), b.unsqueeze(1), "matmul").reshape({});
  }
  if (a.dim() == 1) {
    Tensor r = matmul_2d_plus(a.unsqueeze(0), b, "matmul");
    return r.squeeze(r.dim() - 2);
  }
  if (b.dim() == 1) {
    Tensor r = matmul_2d_plus(a, b.unsqueeze(1), "matmul");
    return r.squeeze(r.dim() - 1);
  }
  return matmul_2d_plus(a, b, "matmul");
}

Tensor mm(const Tensor& a, const Tensor& b) {
  ops::check_defined(a, "mm", "first operand");
  ops::check_defined(b, "mm", "second operand");
  LAMINA_CHECK(a.dim() == 2 && b.dim() == 2, ShapeError, "mm", "expects two matrices, got ", describe(a), " and ",
               describe(b));
  ops::check_same_device("mm", {&a, &b});
  return matmul_2d_plus(a, b, "mm");
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  ops::check_defined(a, "bmm", "first operand");
  ops::check_defined(b, "bmm", "second operand");
  LAMINA_CHECK(a.dim() == 3 && b.dim() == 3 && a.shape()[0] == b.shape()[0], ShapeError, "bmm",
               "expects two 3-d tensors with the same batch size, got ", describe(a), " and ", describe(b));
  ops::check_same_device("bmm", {&a, &b});
  return matmul_2d_plus(a, b, "bmm");
}

Tensor mv(const Tensor& a, const Tensor& v) {
  ops::check_defined(a, "mv", "matrix");
  ops::check_defined(v, "mv", "vector");
  LAMINA_CHECK(a.dim() == 2 && v.dim() == 1, ShapeError, "mv", "expects a matrix and a vector, got ", describe(a),
               " and ", describe(v));
  ops::check_same_device("mv", {&a, &v});
  return matmul_2d_plus(a, v.unsqueeze(1), "mv").squeeze(1);
}

Tensor dot(const Tensor& a, const Tensor& b) {
  ops::check_defined(a, "dot", "first operand");
  ops::check_defined(b, "dot", "second operand");
  LAMINA_CHECK(a.dim() == 1 && b.dim() == 1 && a.shape()[0] == b.shape()[0], ShapeError, "dot",
               "expects two 1-d tensors of the same size, got ", describe(a), " and ", describe(b));
  ops::check_same_device("dot", {&a, &b});
  return matmul_2d_plus(a.unsqueeze(0), b.unsqueeze(1), "dot").reshape({});
}

Tensor outer(const Tensor& a, const Tensor& b) {
  ops::check_defined(a, "outer", "first operand");
  ops::check_defined(b, "outer", "second operand");
  LAMINA_CHECK(a.dim() == 1 && b.dim() == 1, ShapeError, "outer", "expects two 1-d tensors, got ", describe(a), " and ",
               describe(b));
  return mul(a.unsqueeze(1), b.unsqueeze(0));
}

// ------------------------------------------------------------------------------------ einsum
namespace {

// An operand with one label per dim (after diagonals of repeated labels are taken).
struct Labeled {
  Tensor t;
  std::vector<int> labels;
};

// Moves the last dim of t to position `pos` (diagonal() appends the diagonal last).
Tensor move_last_to(const Tensor& t, int64_t pos) {
  std::vector<int64_t> perm;
  for (int64_t d = 0; d < t.dim() - 1; ++d) {
    if (d == pos) perm.push_back(t.dim() - 1);
    perm.push_back(d);
  }
  if (pos == t.dim() - 1) perm.push_back(t.dim() - 1);
  return t.permute(perm);
}

// Sums out dims whose labels are not in `keep`.
Labeled sum_out(Labeled x, const std::vector<int>& keep) {
  std::vector<int64_t> dims;
  std::vector<int> rest;
  for (size_t d = 0; d < x.labels.size(); ++d) {
    if (std::find(keep.begin(), keep.end(), x.labels[d]) == keep.end()) dims.push_back(static_cast<int64_t>(d));
    else rest.push_back(x.labels[d]);
  }
  if (dims.empty()) return x;
  return {sum(x.t, dims), rest};
}

Tensor permute_to(const Labeled& x, const std::vector<int>& order) {
  std::vector<int64_t> perm;
  for (int l : order)
    perm.push_back(std::find(x.labels.begin(), x.labels.end(), l) - x.labels.begin());
  return x.t.permute(perm);
}

// Contracts two operands over the labels they share that `keep` does not need.
Labeled contract(const Labeled& x, const Labeled& y, const std::vector<int>& keep, const std::map<int, int64_t>& sizes) {
  auto has = [](const std::vector<int>& v, int l) { return std::find(v.begin(), v.end(), l) != v.end(); };
  std::vector<int> batch, left, right, summed;
  for (int l : x.labels) {
    if (has(y.labels, l)) (has(keep, l) ? batch : summed).push_back(l);
    else left.push_back(l);
  }
  for (int l : y.labels)
    if (!has(x.labels, l)) right.push_back(l);
  std::vector<int> ox = batch, oy = batch;
  ox.insert(ox.end(), left.begin(), left.end());
  ox.insert(ox.end(), summed.begin(), summed.end());
  oy.insert(oy.end(), summed.begin(), summed.end());
  oy.insert(oy.end(), right.begin(), right.end());
  auto size_of = [&](const std::vector<int>& ls) {
    int64_t s = 1;
    for (int l : ls) s *= sizes.at(l);
    return s;
  };
  Shape full_x, full_y;
  for (int l : ox) full_x.push_back(sizes.at(l));
  for (int l : oy) full_y.push_back(sizes.at(l));
  Tensor px = permute_to(x, ox).expand(full_x).reshape({size_of(batch), size_of(left), size_of(summed)});
  Tensor py = permute_to(y, oy).expand(full_y).reshape({size_of(batch), size_of(summed), size_of(right)});
  Tensor r = matmul_2d_plus(px, py, "einsum");
  Shape out_shape;
  std::vector<int> labels = batch;
  labels.insert(labels.end(), left.begin(), left.end());
  labels.insert(labels.end(), right.begin(), right.end());
  for (int l : labels) out_shape.push_back(sizes.at(l));
  return {r.reshape(out_shape), labels};
}

}  // namespace

Tensor einsum(const std::string& equation, const std::vector<Tensor>& operands) {
  LAMINA_CHECK(!operands.empty(), ValueError, "einsum", "expected at least one operand");
  for (const Tensor& t : operands) ops::check_defined(t, "einsum", "operand");
  std::string eq;
  for (char c : equation)
    if (c != ' ') eq += c;
  const size_t arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  std::vector<std::string> terms;
  for (size_t start = 0;;) {
    size_t comma = lhs.find(',', start);
    terms.push_back(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  LAMINA_CHECK(terms.size() == operands.size(), ValueError, "einsum", "equation '", equation, "' has ", terms.size(),
               " operand term(s) but ", operands.size(), " operand(s) were given");
  // Labels: letters are 0..51; ellipsis dims get labels 100 + k (right-aligned).
  auto letter = [&](char c) -> int {
    LAMINA_CHECK(std::isalpha(static_cast<unsigned char>(c)), ValueError, "einsum", "invalid subscript '", c,
                 "' in equation '", equation, "'");
    return std::islower(static_cast<unsigned char>(c)) ? c - 'a' : 26 + (c - 'A');
  };
  int64_t ellipsis_dims = 0;
  std::vector<Labeled> ops_labeled;
  std::map<int, int64_t> sizes;
  std::map<int, int> counts;
  for (size_t i = 0; i < terms.size(); ++i) {
    const std::string& term = terms[i];
    const Tensor& t = operands[i];
    const size_t dots = term.find("...");
    int64_t named = static_cast<int64_t>(term.size()) - (dots == std::string::npos ? 0 : 3);
    LAMINA_CHECK(dots == std::string::npos ? named == t.dim() : named <= t.dim(), ValueError, "einsum", "subscripts '",
                 term, "' do not match operand ", i, " ", describe(t));
    const int64_t here = dots == std::string::npos ? 0 : t.dim() - named;
    ellipsis_dims = std::max(ellipsis_dims, here);
    std::vector<int> labels;
    for (size_t p = 0; p < term.size();) {
      if (term.compare(p, 3, "...") == 0) {
        for (int64_t e = 0; e < here; ++e) labels.push_back(100 + static_cast<int>(kMaxDims - here + e));
        p += 3;
      } else {
        LAMINA_CHECK(term[p] != '.', ValueError, "einsum", "invalid '.' in equation '", equation, "'");
        labels.push_back(letter(term[p]));
        ++p;
      }
    }
    for (int l : labels) counts[l] += 1;
    // Repeated labels within one operand take the diagonal.
    Tensor v = t;
    for (size_t a = 0; a < labels.size(); ++a) {
      for (size_t b = a + 1; b < labels.size();) {
        if (labels[b] != labels[a]) {
          ++b;
          continue;
        }
        LAMINA_CHECK(v.shape()[static_cast<int64_t>(a)] == v.shape()[static_cast<int64_t>(b)], ShapeError, "einsum",
                     "repeated subscript in operand ", i, " needs equal sizes, got ", v.shape());
        v = move_last_to(v.diagonal(0, static_cast<int64_t>(a), static_cast<int64_t>(b)), static_cast<int64_t>(a));
        labels.erase(labels.begin() + static_cast<long>(b));
      }
    }
    for (size_t d = 0; d < labels.size(); ++d) {
      const int64_t s = v.shape()[static_cast<int64_t>(d)];
      auto it = sizes.find(labels[d]);
      if (it == sizes.end() || it->second == 1) {
        sizes[labels[d]] = s;
      } else {
        LAMINA_CHECK(s == it->second || s == 1, ShapeError, "einsum", "operand ", i, " has size ", s,
                     " for a subscript whose size elsewhere is ", it->second);
      }
    }
    ops_labeled.push_back({v, labels});
  }
  std::vector<int> output;
  if (arrow != std::string::npos) {
    const std::string rhs = eq.substr(arrow + 2);
    for (size_t p = 0; p < rhs.size();) {
      if (rhs.compare(p, 3, "...") == 0) {
        for (int64_t e = 0; e < ellipsis_dims; ++e) output.push_back(100 + static_cast<int>(kMaxDims - ellipsis_dims + e));
        p += 3;
      } else {
        int l = letter(rhs[p]);
        LAMINA_CHECK(sizes.count(l) && std::find(output.begin(), output.end(), l) == output.end(), ValueError, "einsum",
                     "output subscript '", rhs[p], "' must appear once in the output and in some input");
        output.push_back(l);
        ++p;
      }
    }
  } else {
    for (int64_t e = 0; e < ellipsis_dims; ++e) output.push_back(100 + static_cast<int>(kMaxDims - ellipsis_dims + e));
    for (auto [l, c] : counts)
      if (l < 100 && c == 1) output.push_back(l);
  }
  for (int64_t e = 0; e < ellipsis_dims; ++e) sizes.emplace(100 + static_cast<int>(kMaxDims - ellipsis_dims + e), 1);
  // Contract left to right, keeping labels needed by the output or later operands.
  Labeled acc = ops_labeled[0];
  for (size_t i = 1; i <= ops_labeled.size(); ++i) {
    std::vector<int> keep = output;
    for (size_t j = i; j < ops_labeled.size(); ++j) keep.insert(keep.end(), ops_labeled[j].labels.begin(), ops_labeled[j].labels.end());
    if (i < ops_labeled.size()) {
      std::vector<int> keep_x = keep;
      keep_x.insert(keep_x.end(), ops_labeled[i].labels.begin(), ops_labeled[i].labels.end());
      acc = sum_out(acc, keep_x);
      Labeled next = sum_out(ops_labeled[i], [&] {
        std::vector<int> k2 = keep;
        k2.insert(k2.end(), acc.labels.begin(), acc.labels.end());
        return k2;
      }());
      acc = contract(acc, next, keep, sizes);
    } else {
      acc = sum_out(acc, output);
    }
  }
  Shape out_shape;
  for (int l : output) out_shape.push_back(sizes.at(l));
  return permute_to(acc, output).expand(out_shape).contiguous();
}

}  // namespace lamina
