#include "lamina/core/shape.h"

namespace lamina {

std::ostream& operator<<(std::ostream& os, const DimVector& s) {
  os << "(";
  for (int64_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  if (s.size() == 1) os << ",";
  return os << ")";
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

Strides contiguous_strides(const Shape& shape) {
  Strides strides(shape.size(), 1);
  int64_t acc = 1;
  for (int64_t i = shape.size() - 1; i >= 0; --i) {
    strides[i] = acc;
    acc *= shape[i] > 1 ? shape[i] : 1;
  }
  return strides;
}

int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op) {
  int64_t n = ndim == 0 ? 1 : ndim;  // a 0-d tensor accepts dim 0 and -1, like PyTorch
  LAMINA_CHECK(dim >= -n && dim < n, IndexError, op, "dimension ", dim, " is out of range for a tensor with ",
               ndim, " dimension(s) (expected a value in [", -n, ", ", n - 1, "])");
  return dim < 0 ? dim + n : dim;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  int64_t n = a.size() > b.size() ? a.size() : b.size();
  Shape out(n, 1);
  for (int64_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    LAMINA_CHECK(da == db || da == 1 || db == 1, ShapeError, op, "shapes ", a, " and ", b,
                 " cannot be broadcast together (dimension ", i, ": ", da, " vs ", db, ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

}  // namespace lamina
