#pragma once
// Numeric CSV files into 2-D tensors.
#include <cstdint>
#include <string>
#include <vector>

#include "lamina/core/tensor.h"

namespace lamina::data {

/// How read_csv splits and selects.
struct CsvOptions {
  /// Field separator; ' ' splits on any run of spaces and tabs (np.savetxt's default output).
  char delimiter = ',';
  /// Skip the first non-comment line (column names).
  bool header = false;
  /// Indices of the columns to keep, in order (negative counts from the end); empty keeps all.
  std::vector<int64_t> columns;
  /// Float32 or Float64.
  Dtype dtype = Dtype::Float32;
  /// Lines whose first non-blank character is this are skipped ('\0': none).
  char comment = '#';
};

/// Reads a numeric CSV file into a (rows, columns) tensor. Cells may be any number std::from_chars
/// parses (including nan and inf) with surrounding blanks; blank lines are skipped. IOError for a
/// missing file; FormatError naming path:line:column for a cell that is not a number or a row with
/// a different number of fields; ShapeError for a selected column that does not exist.
Tensor read_csv(const std::string& path, const CsvOptions& options = {});

/// The fields of the header line of `path` (split like read_csv), e.g. to pick columns by name.
std::vector<std::string> read_csv_header(const std::string& path, const CsvOptions& options = {});

}  // namespace lamina::data
