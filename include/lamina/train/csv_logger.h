#pragma once
// CSVLogger: one row per log(step, metrics) call, a header first, each row flushed.
// Columns are "step" then the metric names: `fieldnames` when given, else the first row's keys
// (sorted); in append mode an existing file's header fixes them. A metric missing from a row
// leaves its cell empty; a key outside the columns raises ValueError naming it.
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lamina::train {

/// Writes training metrics to a CSV file.
class CSVLogger {
 public:
  /// Opens `path` (truncating unless `append`); IOError when it cannot be opened.
  explicit CSVLogger(std::string path, bool append = false,
                     std::optional<std::vector<std::string>> fieldnames = std::nullopt);
  /// Closes the file.
  ~CSVLogger();
  CSVLogger(const CSVLogger&) = delete;
  CSVLogger& operator=(const CSVLogger&) = delete;

  /// Appends one row; the first call writes the header when the file has none.
  void log(int64_t step, const std::map<std::string, double>& metrics);
  /// The metric columns (after "step"); empty until fixed by fieldnames, the file or the first row.
  const std::vector<std::string>& fieldnames() const { return fields_; }
  /// The file's path.
  const std::string& path() const { return path_; }
  /// Flushes and closes; later log() calls raise IOError.
  void close();

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  std::vector<std::string> fields_;
  bool header_written_ = false;
};

/// One CSV field, quoted per RFC 4180 when it holds a comma, quote or line break.
std::string csv_escape(const std::string& field);

}  // namespace lamina::train
