// PyTorch-compatible tensor formatting: the same width, int-mode and scientific-notation
// rules as torch/_tensor_str.py, so output reads the same to PyTorch users.
#include "lamina/core/print.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "lamina/core/error.h"
#include "lamina/core/tensor.h"

namespace lamina {
namespace {

std::mutex g_print_mutex;
PrintOptions g_print_options;

// Element values are read through strides (printing is not a kernel; it runs once per repr).
double element(const Tensor& t, int64_t offset) {
  const char* base = static_cast<const char*>(t.data_ptr()) + offset * t.element_size();
  return visit_dtype(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    return static_cast<double>(static_cast<compute_t<T>>(*reinterpret_cast<const T*>(base)));
  });
}

std::string fmt(const char* f, double v, int precision) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, precision, v);
  return buf;
}

std::string fixed(double v, int precision) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return fmt("%.*f", v, precision);
}

std::string sci(double v, int precision) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return fmt("%.*e", v, precision);
}

struct Formatter {
  Dtype dtype;
  int precision;
  bool floating;
  bool int_mode = true;
  bool sci_mode = false;
  size_t max_width = 1;

  Formatter(const std::vector<double>& values, Dtype dt, const PrintOptions& opts)
      : dtype(dt), precision(opts.precision), floating(is_floating(dt)) {
    if (!floating) {
      for (double v : values) max_width = std::max(max_width, format_plain(v).size());
      return;
    }
    std::vector<double> finite;
    for (double v : values)
      if (std::isfinite(v) && v != 0.0) finite.push_back(v);
    if (finite.empty()) {
      if (opts.sci_mode) sci_mode = *opts.sci_mode;
      return;
    }
    double lo = INFINITY, hi = 0;
    for (double v : finite) {
      lo = std::min(lo, std::fabs(v));
      hi = std::max(hi, std::fabs(v));
      if (std::ceil(v) != v) int_mode = false;
    }
    if (int_mode) {
      if (hi / lo > 1000.0 || hi > 1e8) {
        sci_mode = true;
        for (double v : finite) max_width = std::max(max_width, sci(v, precision).size());
      } else {
        for (double v : finite) max_width = std::max(max_width, fixed(v, 0).size() + 1);
      }
    } else if (hi / lo > 1000.0 || hi > 1e8 || lo < 1e-4) {
      sci_mode = true;
      for (double v : finite) max_width = std::max(max_width, sci(v, precision).size());
    } else {
      for (double v : finite) max_width = std::max(max_width, fixed(v, precision).size());
    }
    if (opts.sci_mode) sci_mode = *opts.sci_mode;
  }

  std::string format_plain(double v) const {
    if (dtype == Dtype::Bool) return v != 0.0 ? "True" : "False";
    return std::to_string(static_cast<long long>(v));
  }

  std::string format(double v) const {
    std::string s;
    if (!floating) {
      s = format_plain(v);
    } else if (sci_mode) {
      s = sci(v, precision);
    } else if (int_mode) {
      s = fixed(v, 0);
      if (std::isfinite(v)) s += ".";
    } else {
      s = fixed(v, precision);
    }
    if (s.size() >= max_width) return s;
    std::string padded(max_width - s.size(), ' ');
    padded += s;
    return padded;
  }
};

// Offsets (in elements) of index i along dim d, for the edge items when summarizing.
std::vector<int64_t> shown_indices(int64_t n, bool summarize, int64_t edge) {
  std::vector<int64_t> idx;
  if (summarize && n > 2 * edge) {
    for (int64_t i = 0; i < edge; ++i) idx.push_back(i);
    idx.push_back(-1);  // the "..." marker
    for (int64_t i = n - edge; i < n; ++i) idx.push_back(i);
  } else {
    for (int64_t i = 0; i < n; ++i) idx.push_back(i);
  }
  return idx;
}

void collect(const Tensor& t, int64_t dim, int64_t offset, bool summarize, int64_t edge, std::vector<double>& out) {
  if (dim == t.dim()) {
    out.push_back(element(t, offset));
    return;
  }
  for (int64_t i : shown_indices(t.shape()[dim], summarize, edge))
    if (i >= 0) collect(t, dim + 1, offset + i * t.strides()[dim], summarize, edge, out);
}

std::string render(const Tensor& t, int64_t dim, int64_t offset, int64_t indent, bool summarize,
                   const Formatter& f, const PrintOptions& opts) {
  const int64_t remaining = t.dim() - dim;
  const int64_t n = t.shape()[dim];
  const int64_t stride = t.strides()[dim];
  std::vector<int64_t> idx = shown_indices(n, summarize, opts.edgeitems);
  if (remaining == 1) {
    const int64_t element_length = static_cast<int64_t>(f.max_width) + 2;
    const int64_t per_line = std::max<int64_t>(1, (opts.linewidth - indent) / element_length);
    std::vector<std::string> data;
    for (int64_t i : idx) data.push_back(i < 0 ? " ..." : f.format(element(t, offset + i * stride)));
    std::string out = "[";
    for (size_t k = 0; k < data.size(); ++k) {
      if (k > 0 && k % static_cast<size_t>(per_line) == 0) {
        out += ",\n";
        out.append(static_cast<size_t>(indent + 1), ' ');
      } else if (k > 0) {
        out += ", ";
      }
      out += data[k];
    }
    return out + "]";
  }
  std::string sep = ",";
  sep.append(static_cast<size_t>(remaining - 1), '\n');
  sep.append(static_cast<size_t>(indent + 1), ' ');
  std::string out = "[";
  for (size_t k = 0; k < idx.size(); ++k) {
    if (k > 0) out += sep;
    out += idx[k] < 0 ? "..." : render(t, dim + 1, offset + idx[k] * stride, indent + 1, summarize, f, opts);
  }
  return out + "]";
}

bool has_default_dtype(Dtype dt) { return dt == kDefaultFloat || dt == Dtype::Int64 || dt == Dtype::Bool; }

}  // namespace

void set_printoptions(const PrintOptions& options) {
  LAMINA_CHECK(options.precision >= 0 && options.threshold >= 0 && options.edgeitems >= 0 && options.linewidth > 0,
               ConfigError, "set_printoptions", "precision, threshold and edgeitems must be >= 0 and linewidth > 0");
  std::lock_guard<std::mutex> lock(g_print_mutex);
  g_print_options = options;
}

PrintOptions get_printoptions() {
  std::lock_guard<std::mutex> lock(g_print_mutex);
  return g_print_options;
}

std::string Tensor::str() const {
  if (!defined()) return "tensor(undefined)";
  LAMINA_CHECK(device().is_cpu(), DeviceNotAvailableError, "print", "printing ", describe(*this),
               " needs a device copy path");
  const PrintOptions opts = get_printoptions();
  const std::string prefix = "tensor(";
  const int64_t indent = static_cast<int64_t>(prefix.size());
  std::vector<std::string> suffixes;
  std::string body;
  if (numel() == 0) {
    if (dim() != 1) {
      std::ostringstream os;
      os << "size=" << shape();
      suffixes.push_back(os.str());
    }
    body = "[]";
  } else {
    const bool summarize = numel() > opts.threshold;
    std::vector<double> values;
    collect(*this, 0, 0, summarize, opts.edgeitems, values);
    Formatter f(values, dtype(), opts);
    body = dim() == 0 ? f.format(element(*this, 0)) : render(*this, 0, 0, indent, summarize, f, opts);
  }
  if (!has_default_dtype(dtype())) {
    std::string suffix = "dtype=lamina.";
    suffix += dtype_name(dtype());
    suffixes.push_back(suffix);
  }
  std::string out = prefix;
  out += body;
  int64_t last_line = static_cast<int64_t>(out.size() - (out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n')) + 1);
  for (const std::string& s : suffixes) {
    const int64_t len = static_cast<int64_t>(s.size());
    if (last_line + len + 2 > opts.linewidth) {
      out += ",\n";
      out.append(static_cast<size_t>(indent), ' ');
      out += s;
      last_line = indent + len;
    } else {
      out += ", ";
      out += s;
      last_line += len + 2;
    }
  }
  return out + ")";
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.str(); }

}  // namespace lamina
