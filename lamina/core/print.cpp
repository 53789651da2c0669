// PyTorch-compatible tensor formatting: the same width, int-mode, scientific-notation,
// summarization and suffix rules as PyTorch's repr, so output reads the same to its users.
#include "lamina/core/print.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "lamina/core/error.h"
#include "lamina/core/tensor.h"

namespace lamina {
namespace {

std::mutex g_print_mutex;
PrintOptions g_print_options;

// printf into a string of any length: fixed notation of 1e300 has 300+ digits.
std::string printf_double(const char* spec, int precision, double v) {
  const int n = std::snprintf(nullptr, 0, spec, precision, v);
  std::string s(static_cast<size_t>(n), '\0');
  std::snprintf(s.data(), s.size() + 1, spec, precision, v);
  return s;
}

// Python's float formatting spells non-finite values "nan", "inf", "-inf" (never "-nan"),
// and rounds the exact binary value like glibc's printf does.
std::string format_float(double v, bool scientific, int precision) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return printf_double(scientific ? "%.*e" : "%.*f", precision, v);
}

// Reads elements of a CPU tensor through its strides. Printing is not a kernel: it runs
// once per repr on at most threshold-many elements.
class Reader {
 public:
  explicit Reader(const Tensor& t)
      : base_(static_cast<const char*>(t.data_ptr())), dtype_(t.dtype()), itemsize_(t.element_size()) {}

  // Floating dtypes (16-bit ones widened through float, as PyTorch prints them).
  double real(int64_t offset) const {
    return visit_dtype(dtype_, [&](auto tag) {
      using T = decltype(tag);
      return static_cast<double>(static_cast<compute_t<T>>(*reinterpret_cast<const T*>(at(offset))));
    });
  }

  // Integer and bool dtypes, exactly (int64 beyond 2^53 must not round through double).
  int64_t integer(int64_t offset) const {
    return visit_dtype(dtype_, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (std::is_integral_v<T>)
        return static_cast<int64_t>(*reinterpret_cast<const T*>(at(offset)));
      else
        return static_cast<int64_t>(0);
    });
  }

 private:
  const char* at(int64_t offset) const { return base_ + offset * itemsize_; }
  const char* base_;
  Dtype dtype_;
  int64_t itemsize_;
};

// One formatter for all printed elements: a common width, and for floats the choice
// between integer style ("1."), fixed ("1.5000") and scientific ("1.0000e-05").
class Formatter {
 public:
  Formatter(const Reader& reader, Dtype dtype, const std::vector<int64_t>& offsets, const PrintOptions& opts)
      : reader_(reader), precision_(opts.precision), floating_(is_floating(dtype)), bool_(dtype == Dtype::Bool) {
    if (!floating_) {
      for (int64_t off : offsets) max_width_ = std::max(max_width_, plain(reader_.integer(off)).size());
      return;
    }
    std::vector<double> finite;  // the nonzero finite values decide the style
    for (int64_t off : offsets) {
      const double v = reader_.real(off);
      if (std::isfinite(v) && v != 0.0) finite.push_back(v);
    }
    // With nothing to measure PyTorch keeps int style and ignores a forced sci_mode.
    if (finite.empty()) return;
    double lo = INFINITY, hi = 0.0;
    for (double v : finite) {
      lo = std::min(lo, std::fabs(v));
      hi = std::max(hi, std::fabs(v));
      if (std::ceil(v) != v) int_mode_ = false;
    }
    if (int_mode_) {
      sci_mode_ = hi / lo > 1000.0 || hi > 1.0e8;
    } else {
      sci_mode_ = hi / lo > 1000.0 || hi > 1.0e8 || lo < 1.0e-4;
    }
    for (double v : finite) {
      size_t w;
      if (sci_mode_) w = format_float(v, true, precision_).size();
      else if (int_mode_) w = format_float(v, false, 0).size() + 1;  // the trailing "."
      else w = format_float(v, false, precision_).size();
      max_width_ = std::max(max_width_, w);
    }
    if (opts.sci_mode) sci_mode_ = *opts.sci_mode;
  }

  size_t width() const { return max_width_; }

  // The element at `offset`, right-aligned to the common width.
  std::string format(int64_t offset) const {
    std::string s;
    if (!floating_) {
      s = plain(reader_.integer(offset));
    } else {
      const double v = reader_.real(offset);
      if (sci_mode_) {
        s = format_float(v, true, precision_);
      } else if (int_mode_) {
        s = format_float(v, false, 0);
        if (std::isfinite(v)) s += '.';
      } else {
        s = format_float(v, false, precision_);
      }
    }
    if (s.size() < max_width_) s.insert(0, max_width_ - s.size(), ' ');
    return s;
  }

 private:
  std::string plain(int64_t v) const {
    if (bool_) return v != 0 ? "True" : "False";
    return std::to_string(v);
  }

  const Reader& reader_;
  int precision_;
  bool floating_;
  bool bool_;
  bool int_mode_ = true;
  bool sci_mode_ = false;
  size_t max_width_ = 1;
};

// Indices shown along a dim of size n; -1 marks the "..." of a summarized dim.
std::vector<int64_t> shown_indices(int64_t n, bool summarize, int64_t edge) {
  std::vector<int64_t> idx;
  if (summarize && n > 2 * edge) {
    for (int64_t i = 0; i < edge; ++i) idx.push_back(i);
    idx.push_back(-1);
    for (int64_t i = n - edge; i < n; ++i) idx.push_back(i);
  } else {
    for (int64_t i = 0; i < n; ++i) idx.push_back(i);
  }
  return idx;
}

// Element offsets of every printed element (the formatter measures only those).
void collect(const Tensor& t, int64_t dim, int64_t offset, bool summarize, int64_t edge, std::vector<int64_t>& out) {
  if (dim == t.dim()) {
    out.push_back(offset);
    return;
  }
  for (int64_t i : shown_indices(t.shape()[dim], summarize, edge))
    if (i >= 0) collect(t, dim + 1, offset + i * t.strides()[dim], summarize, edge, out);
}

struct Layout {
  const Tensor& t;
  const Formatter& f;
  const PrintOptions& opts;
  bool summarize;

  std::string render(int64_t dim, int64_t offset, int64_t indent) const {
    const int64_t remaining = t.dim() - dim;
    const int64_t stride = t.strides()[dim];
    const std::vector<int64_t> idx = shown_indices(t.shape()[dim], summarize, opts.edgeitems);
    std::string out = "[";
    if (remaining == 1) {
      const int64_t element_length = static_cast<int64_t>(f.width()) + 2;
      const int64_t per_line = std::max<int64_t>(1, (opts.linewidth - indent) / element_length);
      for (size_t k = 0; k < idx.size(); ++k) {
        if (k > 0 && k % static_cast<size_t>(per_line) == 0) {
          out += ",\n";
          out.append(static_cast<size_t>(indent + 1), ' ');
        } else if (k > 0) {
          out += ", ";
        }
        out += idx[k] < 0 ? " ..." : f.format(offset + idx[k] * stride);
      }
      return out + "]";
    }
    std::string sep = ",";
    sep.append(static_cast<size_t>(remaining - 1), '\n');
    sep.append(static_cast<size_t>(indent + 1), ' ');
    for (size_t k = 0; k < idx.size(); ++k) {
      if (k > 0) out += sep;
      out += idx[k] < 0 ? "..." : render(dim + 1, offset + idx[k] * stride, indent + 1);
    }
    return out + "]";
  }
};

std::string body_of(const Tensor& t, int64_t indent, const PrintOptions& opts) {
  const Reader reader(t);
  const bool summarize = t.numel() > opts.threshold;
  std::vector<int64_t> offsets;
  collect(t, 0, 0, summarize, opts.edgeitems, offsets);
  const Formatter f(reader, t.dtype(), offsets, opts);
  if (t.dim() == 0) return f.format(0);
  return Layout{t, f, opts, summarize}.render(0, 0, indent);
}

// Appends ", suffix" or, when the line would pass linewidth, ",\n<indent>suffix".
void add_suffixes(std::string& out, const std::vector<std::string>& suffixes, int64_t indent, int64_t linewidth) {
  const size_t nl = out.rfind('\n');
  int64_t last_line = static_cast<int64_t>(out.size()) - (nl == std::string::npos ? -1 : static_cast<int64_t>(nl)) + 1;
  for (const std::string& s : suffixes) {
    const int64_t len = static_cast<int64_t>(s.size());
    if (last_line + len + 2 > linewidth) {
      out += ",\n";
      out.append(static_cast<size_t>(indent), ' ');
      last_line = indent + len;
    } else {
      out += ", ";
      last_line += len + 2;
    }
    out += s;
  }
  out += ')';
}

}  // namespace

PrintOptions PrintOptions::profile(std::string_view name) {
  PrintOptions o;
  if (name == "default") return o;
  if (name == "short") {
    o.precision = 2;
    o.edgeitems = 2;
    return o;
  }
  if (name == "full") {
    o.threshold = INT64_MAX;
    return o;
  }
  LAMINA_THROW(ValueError, "set_printoptions", "unknown profile '", name, "'; expected 'default', 'short' or 'full'");
}

void set_printoptions(const PrintOptions& options) {
  LAMINA_CHECK(options.precision >= 0 && options.threshold >= 0 && options.edgeitems >= 0 && options.linewidth > 0,
               ConfigError, "set_printoptions", "precision, threshold and edgeitems must be >= 0 and linewidth > 0, got "
               "precision=", options.precision, " threshold=", options.threshold, " edgeitems=", options.edgeitems,
               " linewidth=", options.linewidth);
  std::lock_guard<std::mutex> lock(g_print_mutex);
  g_print_options = options;
}

PrintOptions get_printoptions() {
  std::lock_guard<std::mutex> lock(g_print_mutex);
  return g_print_options;
}

std::string tensor_repr(const Tensor& tensor, const std::vector<std::string>& extra_suffixes) {
  if (!tensor.defined()) return "tensor(undefined)";
  const PrintOptions opts = get_printoptions();
  const std::string prefix = "tensor(";
  const int64_t indent = static_cast<int64_t>(prefix.size());
  std::vector<std::string> suffixes;
  Tensor t = tensor;
  if (!t.device().is_cpu()) {
    suffixes.push_back("device='" + t.device().str() + "'");
    t = t.to(kCPU);
  }
  const std::string dtype_suffix = "dtype=lamina." + std::string(dtype_name(t.dtype()));
  std::string out = prefix;
  if (t.numel() == 0) {
    // The shape is shown unless it is (0,); and with no element to tell int64 from float,
    // every dtype but the default float is named.
    if (t.dim() != 1) {
      std::ostringstream os;
      os << "size=" << t.shape();
      suffixes.push_back(os.str());
    }
    if (t.dtype() != kDefaultFloat) suffixes.push_back(dtype_suffix);
    out += "[]";
  } else {
    const Dtype dt = t.dtype();
    if (dt != kDefaultFloat && dt != Dtype::Int64 && dt != Dtype::Bool) suffixes.push_back(dtype_suffix);
    out += body_of(t, indent, opts);
  }
  suffixes.insert(suffixes.end(), extra_suffixes.begin(), extra_suffixes.end());
  add_suffixes(out, suffixes, indent, opts.linewidth);
  return out;
}

std::string Tensor::str() const { return tensor_repr(*this); }

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.str(); }

}  // namespace lamina
