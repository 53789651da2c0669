#include "lamina/runtime/profiler.h"

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "lamina/core/error.h"

#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace lamina::profiler {

namespace detail {
std::atomic<bool> g_enabled{false};
}  // namespace detail

namespace {

// The active session's id (0 = none) and whether it records shapes.
std::atomic<uint64_t> g_session{0};
std::atomic<bool> g_record_shapes{true};

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

uint64_t os_thread_id() {
#if defined(__linux__)
  return static_cast<uint64_t>(::syscall(SYS_gettid));
#else
  return std::hash<std::thread::id>()(std::this_thread::get_id());
#endif
}

int64_t process_id() {
#if defined(__linux__)
  return static_cast<int64_t>(::getpid());
#else
  return 0;
#endif
}

// One thread's events: append-only chunks written by the owning thread only and published by
// a release store of `count`, so a collector reads [0, count) without a lock. The owner resets
// the buffer when it first records in a new session (collection of the previous one has ended
// by then: sessions start and stop under g_session_mutex).
struct ThreadBuffer {
  static constexpr size_t kChunk = 1024;
  static constexpr size_t kMaxChunks = 4096;  // 4M events per thread and session; more are dropped

  ThreadBuffer() : chunks(new std::unique_ptr<Event[]>[kMaxChunks]) {}

  void push(Event&& e) {
    const size_t n = count.load(std::memory_order_relaxed);
    const size_t c = n / kChunk;
    if (c >= kMaxChunks) return;
    if (!chunks[c]) chunks[c].reset(new Event[kChunk]);
    chunks[c][n % kChunk] = std::move(e);
    count.store(n + 1, std::memory_order_release);
  }

  std::atomic<uint64_t> session{0};
  std::atomic<size_t> count{0};
  std::atomic<bool> alive{true};
  std::unique_ptr<std::unique_ptr<Event[]>[]> chunks;
};

// Every thread's buffer, so a session's stop() reaches threads that have exited too.
struct Registry {
  std::mutex mutex;
  std::vector<std::shared_ptr<ThreadBuffer>> buffers;
};
Registry& registry() {
  static Registry* r = new Registry;  // never destroyed: threads may outlive static destruction
  return *r;
}

std::mutex g_session_mutex;
uint64_t g_next_session = 0;

// An open scope on this thread.
struct Frame {
  std::string name;
  EventKind kind = EventKind::Op;
  bool shapes = false;
  int64_t start_ns = 0;
  int64_t child_ns = 0;
  uint64_t session = 0;
  std::vector<InputInfo> inputs;
};

struct ThreadState {
  ThreadState() : buffer(std::make_shared<ThreadBuffer>()), tid(os_thread_id()) {
    std::lock_guard<std::mutex> lock(registry().mutex);
    registry().buffers.push_back(buffer);
  }
  ~ThreadState() { buffer->alive.store(false, std::memory_order_release); }
  std::shared_ptr<ThreadBuffer> buffer;
  std::vector<Frame> stack;
  uint64_t tid;
};

ThreadState& thread_state() {
  thread_local ThreadState state;
  return state;
}

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  return out;
}

// ns as microseconds with exactly three decimals (exact: no floating point rounding).
std::string micros(int64_t ns) {
  char buf[32];
  const char* sign = ns < 0 ? "-" : "";
  const int64_t a = ns < 0 ? -ns : ns;
  std::snprintf(buf, sizeof buf, "%s%" PRId64 ".%03" PRId64, sign, a / 1000, a % 1000);
  return buf;
}

const char* category(EventKind k) {
  switch (k) {
    case EventKind::Op: return "op";
    case EventKind::Backward: return "backward";
    case EventKind::User: return "user_annotation";
  }
  return "op";
}

}  // namespace

uint64_t current_session() { return g_session.load(std::memory_order_acquire); }

// ---- scopes ----

bool OpScope::begin(std::string_view name, EventKind kind) {
  const uint64_t s = g_session.load(std::memory_order_acquire);
  if (s == 0) return false;
  ThreadState& ts = thread_state();
  ThreadBuffer& buf = *ts.buffer;
  if (buf.session.load(std::memory_order_relaxed) != s) {
    buf.count.store(0, std::memory_order_relaxed);
    buf.session.store(s, std::memory_order_release);
  }
  Frame& f = ts.stack.emplace_back();
  f.name.assign(name.data(), name.size());
  f.kind = kind;
  f.session = s;
  f.shapes = g_record_shapes.load(std::memory_order_relaxed);
  f.start_ns = now_ns();  // last, so the bookkeeping above is not timed
  return true;
}

void OpScope::add_tensor(const Tensor& t) {
  Frame& f = thread_state().stack.back();
  if (!f.shapes) return;
  InputInfo& in = f.inputs.emplace_back();
  if (t.defined()) {
    in.shape.assign(t.shape().begin(), t.shape().end());
    in.dtype = std::string(dtype_name(t.dtype()));
  }
}

void OpScope::finish() {
  const int64_t end = now_ns();
  ThreadState& ts = thread_state();
  if (ts.stack.empty()) return;
  Frame f = std::move(ts.stack.back());
  ts.stack.pop_back();
  const int64_t dur = end - f.start_ns;
  if (!ts.stack.empty()) ts.stack.back().child_ns += dur;
  if (f.session != g_session.load(std::memory_order_acquire) ||
      ts.buffer->session.load(std::memory_order_relaxed) != f.session)
    return;  // the session ended (or another began) while this scope was open
  Event e;
  e.name = std::move(f.name);
  e.kind = f.kind;
  e.start_ns = f.start_ns;
  e.end_ns = end;
  e.self_ns = std::max<int64_t>(0, dur - f.child_ns);
  e.thread_id = ts.tid;
  e.depth = static_cast<int>(ts.stack.size());
  e.inputs = std::move(f.inputs);
  ts.buffer->push(std::move(e));
}

// ---- sessions ----

Profile::Profile(ProfileOptions options) {
  std::lock_guard<std::mutex> lock(g_session_mutex);
  LAMINA_CHECK(g_session.load(std::memory_order_acquire) == 0, ValueError, "profiler",
               "a profiling session is already active; nested or overlapping sessions are not supported "
               "(stop the first one before starting another)");
  {
    // Forget the buffers of threads that have exited (their events belong to ended sessions).
    std::lock_guard<std::mutex> reg(registry().mutex);
    auto& b = registry().buffers;
    b.erase(std::remove_if(b.begin(), b.end(),
                           [](const std::shared_ptr<ThreadBuffer>& p) {
                             return !p->alive.load(std::memory_order_acquire);
                           }),
            b.end());
  }
  session_ = ++g_next_session;
  g_record_shapes.store(options.record_shapes, std::memory_order_relaxed);
  start_ns_ = now_ns();
  active_ = true;
  g_session.store(session_, std::memory_order_release);
  detail::g_enabled.store(true, std::memory_order_release);
}

Profile::~Profile() { stop(); }

void Profile::stop() {
  if (!active_) return;
  std::lock_guard<std::mutex> lock(g_session_mutex);
  detail::g_enabled.store(false, std::memory_order_release);
  g_session.store(0, std::memory_order_release);
  active_ = false;
  std::vector<std::shared_ptr<ThreadBuffer>> buffers;
  {
    std::lock_guard<std::mutex> reg(registry().mutex);
    buffers = registry().buffers;
  }
  for (const auto& b : buffers) {
    if (b->session.load(std::memory_order_acquire) != session_) continue;
    const size_t n = b->count.load(std::memory_order_acquire);
    for (size_t i = 0; i < n; ++i) events_.push_back(b->chunks[i / ThreadBuffer::kChunk][i % ThreadBuffer::kChunk]);
  }
  std::stable_sort(events_.begin(), events_.end(), [](const Event& a, const Event& b) {
    if (a.start_ns != b.start_ns) return a.start_ns < b.start_ns;
    if (a.thread_id != b.thread_id) return a.thread_id < b.thread_id;
    return a.depth < b.depth;  // a parent that started in the same ns comes first
  });
}

const std::vector<Event>& Profile::events() {
  stop();
  return events_;
}

std::vector<OpStats> Profile::key_averages(const std::string& sort_by) {
  stop();
  std::vector<OpStats> rows;
  std::unordered_map<std::string, size_t> index;
  for (const Event& e : events_) {
    auto [it, fresh] = index.emplace(e.name, rows.size());
    if (fresh) rows.push_back(OpStats{e.name, 0, 0, 0});
    OpStats& r = rows[it->second];
    ++r.calls;
    r.total_ns += e.duration_ns();
    r.self_ns += e.self_ns;
  }
  std::function<bool(const OpStats&, const OpStats&)> less;
  if (sort_by == "total" || sort_by == "cpu_time_total") {
    less = [](const OpStats& a, const OpStats& b) { return a.total_ns > b.total_ns; };
  } else if (sort_by == "self" || sort_by == "self_cpu_time_total") {
    less = [](const OpStats& a, const OpStats& b) { return a.self_ns > b.self_ns; };
  } else if (sort_by == "calls" || sort_by == "count") {
    less = [](const OpStats& a, const OpStats& b) { return a.calls > b.calls; };
  } else if (sort_by == "avg" || sort_by == "cpu_time") {
    less = [](const OpStats& a, const OpStats& b) { return a.avg_us() > b.avg_us(); };
  } else if (sort_by == "name") {
    less = [](const OpStats& a, const OpStats& b) { return a.name < b.name; };
  } else {
    LAMINA_THROW(ValueError, "profiler", "unknown sort_by '", sort_by,
                 "'; use total (cpu_time_total), self (self_cpu_time_total), calls (count), avg (cpu_time) or name");
  }
  std::stable_sort(rows.begin(), rows.end(), [&](const OpStats& a, const OpStats& b) {
    if (less(a, b)) return true;
    if (less(b, a)) return false;
    return a.name < b.name;
  });
  return rows;
}

std::string Profile::table(const std::string& sort_by, int row_limit) {
  std::vector<OpStats> rows = key_averages(sort_by);
  int64_t self_total = 0;
  for (const OpStats& r : rows) self_total += r.self_ns;
  const size_t shown = row_limit < 0 ? rows.size() : std::min(rows.size(), static_cast<size_t>(row_limit));
  size_t width = 4;
  for (size_t i = 0; i < shown; ++i) width = std::max(width, std::min<size_t>(rows[i].name.size(), 60));
  std::ostringstream os;
  char line[256];
  std::snprintf(line, sizeof line, "%-*s %8s %12s %12s %12s %7s\n", static_cast<int>(width), "Name", "Calls",
                "Total ms", "Self ms", "Avg us", "%");
  os << line << std::string(width + 58, '-') << "\n";
  for (size_t i = 0; i < shown; ++i) {
    const OpStats& r = rows[i];
    const std::string name = r.name.size() > 60 ? r.name.substr(0, 57) + "..." : r.name;
    const double pct = self_total > 0 ? 100.0 * static_cast<double>(r.self_ns) / static_cast<double>(self_total) : 0;
    std::snprintf(line, sizeof line, "%-*s %8" PRId64 " %12.3f %12.3f %12.3f %6.2f%%\n", static_cast<int>(width),
                  name.c_str(), r.calls, static_cast<double>(r.total_ns) / 1e6, static_cast<double>(r.self_ns) / 1e6,
                  r.avg_us(), pct);
    os << line;
  }
  os << std::string(width + 58, '-') << "\n";
  std::snprintf(line, sizeof line, "Self time total: %.3f ms; %zu events, %zu names (%zu shown)\n",
                static_cast<double>(self_total) / 1e6, events_.size(), rows.size(), shown);
  os << line;
  return os.str();
}

std::string Profile::chrome_trace() {
  stop();
  const int64_t pid = process_id();
  std::string out = "{\"traceEvents\":[";
  bool first = true;
  for (const Event& e : events_) {
    out += first ? "\n" : ",\n";
    first = false;
    out += "{\"name\":\"";
    out += json_escape(e.name);
    out += "\",\"cat\":\"";
    out += category(e.kind);
    out += "\",\"ph\":\"X\",\"ts\":";
    out += micros(e.start_ns - start_ns_);
    out += ",\"dur\":";
    out += micros(e.duration_ns());
    out += ",\"pid\":";
    out += std::to_string(pid);
    out += ",\"tid\":";
    out += std::to_string(e.thread_id);
    out += ",\"args\":{\"depth\":";
    out += std::to_string(e.depth);
    if (!e.inputs.empty()) {
      std::string shapes = "[", dtypes = "[";
      for (size_t i = 0; i < e.inputs.size(); ++i) {
        if (i) shapes += ",", dtypes += ",";
        shapes += "[";
        for (size_t d = 0; d < e.inputs[i].shape.size(); ++d) {
          if (d) shapes += ",";
          shapes += std::to_string(e.inputs[i].shape[d]);
        }
        shapes += "]";
        dtypes += '"';
        dtypes += json_escape(e.inputs[i].dtype);
        dtypes += '"';
      }
      out += ",\"shapes\":";
      out += shapes;
      out += "],\"dtypes\":";
      out += dtypes;
      out += "]";
    }
    out += "}}";
  }
  out += "\n],\"displayTimeUnit\":\"ms\"}\n";
  return out;
}

void Profile::export_chrome_trace(const std::string& path) {
  const std::string json = chrome_trace();
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  LAMINA_CHECK(f.good(), IOError, "export_chrome_trace", "cannot open '", path, "' for writing");
  f.write(json.data(), static_cast<std::streamsize>(json.size()));
  f.flush();
  LAMINA_CHECK(f.good(), IOError, "export_chrome_trace", "failed writing '", path, "'");
}

}  // namespace lamina::profiler
