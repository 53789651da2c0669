#include "lamina/data/csv.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>

#include "lamina/ops/creation.h"

namespace lamina::data {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

struct Field {
  std::string_view text;
  int64_t column;  // 1-based character column of the field in its line
};

// Splits one line into fields; a ' ' delimiter means runs of blanks, as np.loadtxt reads.
std::vector<Field> split(std::string_view line, char delimiter) {
  std::vector<Field> out;
  if (delimiter == ' ') {
    size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && is_blank(line[i])) ++i;
      if (i == line.size()) break;
      const size_t start = i;
      while (i < line.size() && !is_blank(line[i])) ++i;
      out.push_back({line.substr(start, i - start), static_cast<int64_t>(start) + 1});
    }
    return out;
  }
  size_t start = 0;
  while (true) {
    const size_t end = line.find(delimiter, start);
    const std::string_view raw = line.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    out.push_back({trim(raw), static_cast<int64_t>(start) + 1});
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

std::string read_all(const std::string& path, const char* op) {
  std::ifstream f(path, std::ios::binary);
  LAMINA_CHECK(f.good(), IOError, op, "cannot open '", path, "': ", std::strerror(errno));
  std::ostringstream ss;
  ss << f.rdbuf();
  return std::move(ss).str();
}

// Calls `visit(line_number, line)` for each line that is neither blank nor a comment.
template <class F>
void for_each_line(const std::string& text, char comment, F&& visit) {
  size_t pos = 0;
  int64_t number = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    ++number;
    const std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    const std::string_view body = trim(line);
    if (body.empty() || (comment != '\0' && body.front() == comment)) continue;
    if (!visit(number, line)) break;
  }
}

}  // namespace

std::vector<std::string> read_csv_header(const std::string& path, const CsvOptions& options) {
  const std::string text = read_all(path, "read_csv_header");
  std::vector<std::string> names;
  for_each_line(text, options.comment, [&](int64_t, std::string_view line) {
    for (const Field& f : split(line, options.delimiter)) names.emplace_back(f.text);
    return false;
  });
  return names;
}

Tensor read_csv(const std::string& path, const CsvOptions& options) {
  LAMINA_CHECK(options.dtype == Dtype::Float32 || options.dtype == Dtype::Float64, DTypeError, "read_csv",
               "dtype must be float32 or float64, got ", dtype_name(options.dtype));
  LAMINA_CHECK(options.delimiter != '\n' && options.delimiter != '\0', ValueError, "read_csv",
               "the delimiter cannot be a newline or NUL");
  const std::string text = read_all(path, "read_csv");
  std::vector<double> values;
  std::vector<int64_t> keep;  // resolved column indices
  int64_t width = -1;         // fields per row, from the first data row
  int64_t rows = 0;
  bool skip_header = options.header;
  for_each_line(text, options.comment, [&](int64_t number, std::string_view line) {
    if (skip_header) {
      skip_header = false;
      return true;
    }
    const std::vector<Field> fields = split(line, options.delimiter);
    const auto n = static_cast<int64_t>(fields.size());
    if (width < 0) {
      width = n;
      if (options.columns.empty()) {
        for (int64_t c = 0; c < n; ++c) keep.push_back(c);
      }
      for (int64_t c : options.columns) {
        LAMINA_CHECK(c >= -n && c < n, ShapeError, "read_csv", "column ", c, " does not exist: '", path, "' line ",
                     number, " has ", n, " fields");
        keep.push_back(c < 0 ? c + n : c);
      }
    }
    LAMINA_CHECK(n == width, FormatError, "read_csv", "'", path, "' line ", number, ": expected ", width,
                 " fields like the first data row, found ", n);
    for (int64_t c : keep) {
      const Field& f = fields[static_cast<size_t>(c)];
      double v = 0;
      const char* first = f.text.data();
      const char* last = first + f.text.size();
      if (!f.text.empty() && *first == '+') ++first;  // from_chars rejects a leading '+'
      const auto [ptr, ec] = std::from_chars(first, last, v);
      LAMINA_CHECK(!f.text.empty() && ec == std::errc() && ptr == last, FormatError, "read_csv", "'", path, "' line ",
                   number, ", column ", f.column, " (field ", c + 1, "): expected a number, found '", f.text, "'");
      values.push_back(v);
    }
    ++rows;
    return true;
  });
  const auto cols = static_cast<int64_t>(keep.size());
  Tensor out = empty({rows, cols}, {options.dtype, kCPU});
  if (options.dtype == Dtype::Float64) {
    std::memcpy(out.data_ptr(), values.data(), values.size() * sizeof(double));
  } else {
    float* dst = out.data<float>();
    for (size_t i = 0; i < values.size(); ++i) dst[i] = static_cast<float>(values[i]);
  }
  return out;
}

}  // namespace lamina::data
