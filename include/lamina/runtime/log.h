#pragma once
// Structured log lines on stderr (namespace lamina::logging: lamina::log is the elementwise op):
//   2026-12-02T22:10:00.123Z INFO [component] message key=value key2="a b"
// The threshold comes from LAMINA_LOG_LEVEL (debug|info|warning|error|off; "warn" is accepted for
// warning; default info), read at first use; a bad value raises ConfigError naming the choices.
// set_level() overrides it. Lines are written whole under a lock (thread-safe).
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace lamina::logging {

/// Severity of a line, in increasing order; Off silences everything.
enum class Level { Debug = 0, Info = 1, Warning = 2, Error = 3, Off = 4 };

/// One key=value pair of a line; the value is formatted from a string, number or bool.
struct Field {
  std::string key;    ///< field name
  std::string value;  ///< formatted value (quoted on output when needed)
  /// A string value.
  Field(std::string k, std::string_view v) : key(std::move(k)), value(v) {}
  /// A C-string value.
  Field(std::string k, const char* v) : key(std::move(k)), value(v ? v : "") {}
  /// A std::string value.
  Field(std::string k, const std::string& v) : key(std::move(k)), value(v) {}
  /// A bool value (true/false).
  Field(std::string k, bool v) : key(std::move(k)), value(v ? "true" : "false") {}
  /// An integer value.
  template <class T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  Field(std::string k, T v) : key(std::move(k)), value(std::to_string(v)) {}
  /// A floating-point value (shortest round-trip form).
  template <class T, std::enable_if_t<std::is_floating_point_v<T>, int> = 0>
  Field(std::string k, T v) : key(std::move(k)), value(format_double(static_cast<double>(v))) {}
  /// Shortest decimal form that reads back as `v` ("nan", "inf", "-inf" for non-finite).
  static std::string format_double(double v);
};

/// Parses a level name (debug|info|warning|warn|error|off, case-insensitive); ConfigError otherwise.
Level parse_level(std::string_view name);
/// The level's name as printed in a line: DEBUG, INFO, WARNING, ERROR, OFF.
const char* level_name(Level level);
/// Current threshold (LAMINA_LOG_LEVEL at first use unless set_level ran); ConfigError on a bad env value.
Level level();
/// Sets the threshold (overrides LAMINA_LOG_LEVEL).
void set_level(Level level);
/// Forgets set_level() and re-reads LAMINA_LOG_LEVEL at next use (tests).
void reset_level_from_env();
/// True when a line at `level` would be printed.
bool enabled(Level level);
/// Formats one line (no trailing newline) with the given UTC time in milliseconds since the epoch.
std::string format_line(Level level, std::string_view component, std::string_view message,
                        const std::vector<Field>& fields, int64_t unix_ms);
/// Writes a line at `level` to stderr when enabled (the sink can be redirected with set_sink).
void write(Level level, std::string_view component, std::string_view message, const std::vector<Field>& fields = {});
/// Redirects lines to `sink(line_with_newline)` (nullptr restores stderr); for tests and embedding.
void set_sink(void (*sink)(const std::string& line));

/// A DEBUG line.
inline void debug(std::string_view component, std::string_view message, std::initializer_list<Field> fields = {}) {
  if (enabled(Level::Debug)) write(Level::Debug, component, message, std::vector<Field>(fields));
}
/// An INFO line.
inline void info(std::string_view component, std::string_view message, std::initializer_list<Field> fields = {}) {
  if (enabled(Level::Info)) write(Level::Info, component, message, std::vector<Field>(fields));
}
/// A WARNING line.
inline void warn(std::string_view component, std::string_view message, std::initializer_list<Field> fields = {}) {
  if (enabled(Level::Warning)) write(Level::Warning, component, message, std::vector<Field>(fields));
}
/// An ERROR line.
inline void error(std::string_view component, std::string_view message, std::initializer_list<Field> fields = {}) {
  if (enabled(Level::Error)) write(Level::Error, component, message, std::vector<Field>(fields));
}

}  // namespace lamina::logging
