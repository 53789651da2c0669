// CSVLogger: header then rows, shortest round-trip numbers, a flush after each row.
#include "lamina/train/csv_logger.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "lamina/core/error.h"
#include "lamina/runtime/log.h"

namespace lamina::train {
namespace {

// Splits one CSV line (RFC 4180 quoting) into fields.
std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < line.size() && line[i + 1] == '"') {
          cur += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        cur += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.push_back(cur);
      cur.clear();
    } else if (c != '\r') {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

}  // namespace

std::string csv_escape(const std::string& field) {
  if (field.find_first_of(",\"\r\n") == std::string::npos) return field;
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

CSVLogger::CSVLogger(std::string path, bool append, std::optional<std::vector<std::string>> fieldnames)
    : path_(std::move(path)) {
  if (fieldnames) {
    for (const auto& f : *fieldnames)
      LAMINA_CHECK(f != "step", ValueError, "CSVLogger", "'step' is the first column already; drop it from fieldnames");
    fields_ = *fieldnames;
  }
  if (append) {
    std::ifstream in(path_);
    std::string header;
    if (in && std::getline(in, header) && !header.empty()) {
      std::vector<std::string> cols = split_csv_line(header);
      LAMINA_CHECK(!cols.empty() && cols[0] == "step", FormatError, "CSVLogger", "'", path_,
                   "' does not start with a 'step' column; cannot append to it");
      std::vector<std::string> existing(cols.begin() + 1, cols.end());
      LAMINA_CHECK(!fieldnames || existing == fields_, ValueError, "CSVLogger", "'", path_,
                   "' has columns that differ from the given fieldnames");
      fields_ = existing;
      header_written_ = true;
    }
  }
  file_ = std::fopen(path_.c_str(), append ? "ab" : "wb");
  LAMINA_CHECK(file_ != nullptr, IOError, "CSVLogger", "cannot open '", path_, "': ", std::strerror(errno));
}

CSVLogger::~CSVLogger() { close(); }

void CSVLogger::close() {
  if (file_) {
    std::fclose(file_);
    file_ = nullptr;
  }
}

void CSVLogger::log(int64_t step, const std::map<std::string, double>& metrics) {
  LAMINA_CHECK(file_ != nullptr, IOError, "CSVLogger.log", "'", path_, "' is closed");
  if (fields_.empty() && !header_written_) {
    for (const auto& kv : metrics) fields_.push_back(kv.first);
  }
  for (const auto& kv : metrics) {
    bool known = false;
    for (const auto& f : fields_) known = known || f == kv.first;
    LAMINA_CHECK(known, ValueError, "CSVLogger.log", "metric '", kv.first, "' is not a column of '", path_,
                 "' (columns are fixed by fieldnames or the first row)");
  }
  std::string text;
  if (!header_written_) {
    text += "step";
    for (const auto& f : fields_) {
      text += ',';
      text += csv_escape(f);
    }
    text += '\n';
  }
  text += std::to_string(step);
  for (const auto& f : fields_) {
    text += ',';
    auto it = metrics.find(f);
    if (it != metrics.end()) text += logging::Field::format_double(it->second);
  }
  text += '\n';
  size_t n = std::fwrite(text.data(), 1, text.size(), file_);
  LAMINA_CHECK(n == text.size() && std::fflush(file_) == 0, IOError, "CSVLogger.log", "write to '", path_,
               "' failed: ", std::strerror(errno));
  header_written_ = true;
}

}  // namespace lamina::train
