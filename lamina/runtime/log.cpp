// Structured log lines: level from LAMINA_LOG_LEVEL, UTC timestamps, logfmt-style fields.
#include "lamina/runtime/log.h"

#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>

#include "lamina/core/error.h"

namespace lamina::logging {
namespace {

constexpr int kUnset = -1;
std::atomic<int> g_level{kUnset};
std::mutex g_write_mutex;
void (*g_sink)(const std::string&) = nullptr;

// Like lamina/runtime/config.cpp: an unset or empty variable means the default.
const char* env(const char* name) {
  const char* v = std::getenv(name);
  return (v && *v) ? v : nullptr;
}

bool needs_quotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v)
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return true;
  return false;
}

void append_value(std::string& out, std::string_view v) {
  if (!needs_quotes(v)) {
    out += v;
    return;
  }
  out += '"';
  for (char c : v) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += c;
    }
  }
  out += '"';
}

}  // namespace

std::string Field::format_double(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

Level parse_level(std::string_view name) {
  std::string s;
  for (char c : name) s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (s == "debug") return Level::Debug;
  if (s == "info") return Level::Info;
  if (s == "warning" || s == "warn") return Level::Warning;
  if (s == "error") return Level::Error;
  if (s == "off") return Level::Off;
  LAMINA_THROW(ConfigError, "log", "log level '", std::string(name),
               "' is not one of debug|info|warning|error|off (LAMINA_LOG_LEVEL or set_level)");
}

const char* level_name(Level level) {
  switch (level) {
    case Level::Debug:
      return "DEBUG";
    case Level::Info:
      return "INFO";
    case Level::Warning:
      return "WARNING";
    case Level::Error:
      return "ERROR";
    case Level::Off:
      return "OFF";
  }
  return "?";
}

Level level() {
  int v = g_level.load(std::memory_order_relaxed);
  if (v != kUnset) return static_cast<Level>(v);
  const char* e = env("LAMINA_LOG_LEVEL");
  Level parsed = Level::Info;
  if (e) parsed = parse_level(e);  // throws ConfigError; stays unset so every use reports it
  int expected = kUnset;
  g_level.compare_exchange_strong(expected, static_cast<int>(parsed));
  return static_cast<Level>(g_level.load());
}

void set_level(Level level) { g_level.store(static_cast<int>(level)); }

void reset_level_from_env() { g_level.store(kUnset); }

bool enabled(Level l) { return l != Level::Off && static_cast<int>(l) >= static_cast<int>(level()); }

std::string format_line(Level level, std::string_view component, std::string_view message,
                        const std::vector<Field>& fields, int64_t unix_ms) {
  std::time_t secs = static_cast<std::time_t>(unix_ms >= 0 ? unix_ms / 1000 : (unix_ms - 999) / 1000);
  int ms = static_cast<int>(unix_ms - static_cast<int64_t>(secs) * 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char ts[48];
  std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  std::string out = ts;
  out += ' ';
  out += level_name(level);
  out += " [";
  out += component;
  out += "] ";
  out += message;
  for (const Field& f : fields) {
    out += ' ';
    out += f.key;
    out += '=';
    append_value(out, f.value);
  }
  return out;
}

void write(Level l, std::string_view component, std::string_view message, const std::vector<Field>& fields) {
  if (!enabled(l)) return;
  int64_t now =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  std::string line = format_line(l, component, message, fields, now);
  line += '\n';
  std::lock_guard<std::mutex> lock(g_write_mutex);
  if (g_sink) {
    g_sink(line);
  } else {
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
  }
}

void set_sink(void (*sink)(const std::string& line)) {
  std::lock_guard<std::mutex> lock(g_write_mutex);
  g_sink = sink;
}

}  // namespace lamina::logging
