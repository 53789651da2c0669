#pragma once
// The op-level profiler. Off by default: an op scope then costs one relaxed load of a global
// flag and a branch. While a Profile session is alive every op scope and record_function range
// records its name, start/end (steady_clock ns), thread, input shapes/dtypes and nesting depth
// into a per-thread buffer (no lock while recording); the session turns them into a table or a
// Chrome trace.
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "lamina/core/tensor.h"

namespace lamina::profiler {

namespace detail {
/// The global "profiling on" flag; read through enabled().
extern std::atomic<bool> g_enabled;
}  // namespace detail

/// True while a Profile session records (one relaxed load).
inline bool enabled() { return detail::g_enabled.load(std::memory_order_relaxed); }

/// What an event records: an op, a backward node, or a user range (record_function).
enum class EventKind : uint8_t { Op, Backward, User };

/// One input of a recorded event: its shape and dtype name ("" for an undefined tensor).
struct InputInfo {
  std::vector<int64_t> shape;  ///< sizes
  std::string dtype;           ///< dtype name, e.g. "float32"
};

/// One recorded scope.
struct Event {
  std::string name;               ///< op name, e.g. "add", "MulBackward0", or a user range's name
  EventKind kind = EventKind::Op;  ///< op, backward node or user range
  int64_t start_ns = 0;            ///< steady_clock time at entry, ns
  int64_t end_ns = 0;              ///< steady_clock time at exit, ns
  int64_t self_ns = 0;             ///< duration less the durations of the scopes nested directly in it
  uint64_t thread_id = 0;          ///< OS thread id of the recording thread
  int depth = 0;                   ///< nesting depth on its thread (0 = outermost)
  std::vector<InputInfo> inputs;   ///< input shapes and dtypes (empty unless record_shapes)
  /// end_ns - start_ns.
  int64_t duration_ns() const { return end_ns - start_ns; }
};

/// One row of the aggregated table: the events of one name.
struct OpStats {
  std::string name;       ///< op name
  int64_t calls = 0;      ///< number of events
  int64_t total_ns = 0;   ///< sum of durations
  int64_t self_ns = 0;    ///< sum of self times
  /// total_ns / calls in microseconds.
  double avg_us() const { return calls ? static_cast<double>(total_ns) / 1e3 / static_cast<double>(calls) : 0.0; }
};

/// Options of a session.
struct ProfileOptions {
  bool record_shapes = true;  ///< record input shapes and dtypes
};

/// A profiling session: records from construction until stop() or destruction. At most one
/// session is active at a time (a second one throws ValueError). Results stay readable after stop.
class Profile {
 public:
  /// Starts recording with `options`.
  explicit Profile(ProfileOptions options = {});
  /// Stops recording if still active.
  ~Profile();
  Profile(const Profile&) = delete;
  Profile& operator=(const Profile&) = delete;

  /// Stops recording and collects every thread's events (idempotent).
  void stop();
  /// True until stop().
  bool active() const { return active_; }
  /// The recorded events, ordered by start time (stops the session first if active).
  const std::vector<Event>& events();
  /// Per-name aggregates sorted by `sort_by` ("total", "self", "calls"/"count", "avg", "name").
  std::vector<OpStats> key_averages(const std::string& sort_by = "total");
  /// A text table: name / calls / total ms / self ms / avg us / % (share of all self time),
  /// the top `row_limit` rows (all when row_limit < 0) sorted by `sort_by` as key_averages.
  std::string table(const std::string& sort_by = "total", int row_limit = 20);
  /// The events as Chrome trace JSON (chrome://tracing, Perfetto).
  std::string chrome_trace();
  /// Writes chrome_trace() to `path`; throws IOError when it cannot.
  void export_chrome_trace(const std::string& path);

 private:
  bool active_ = false;
  uint64_t session_ = 0;
  int64_t start_ns_ = 0;
  std::vector<Event> events_;
};

/// Records one op while profiling is on: construct it at the op's entry; the event ends when
/// it goes out of scope. Off, construction is one flag load and a branch, and the only state is
/// a bool the compiler keeps in a register (the recording functions never see `this`).
class OpScope {
 public:
  /// An inactive scope; start_with() may begin it later.
  OpScope() = default;
  /// Begins recording op `name` with `inputs` (Tensors or std::vector<Tensor>s; others are
  /// ignored) when profiling is on.
  template <class... Inputs>
  explicit OpScope(const char* name, const Inputs&... inputs)
      : active_(enabled() && open(name, EventKind::Op, inputs...)) {}
  /// Ends the event if one was begun.
  ~OpScope() {
    if (active_) [[unlikely]] finish();
  }
  OpScope(const OpScope&) = delete;
  OpScope& operator=(const OpScope&) = delete;

  /// Begins recording `name` of `kind` with `inputs` when profiling is on and this scope has
  /// not begun yet (for callers that build the name only when needed, e.g. the autograd engine).
  template <class... Inputs>
  void start_with(std::string_view name, EventKind kind, const Inputs&... inputs) {
    if (!active_ && enabled()) active_ = open(name, kind, inputs...);
  }

 private:
  template <class... Inputs>
  [[gnu::cold, gnu::noinline]] static bool open(std::string_view name, EventKind kind, const Inputs&... inputs) {
    if (!begin(name, kind)) return false;
    (add_input(inputs), ...);
    return true;
  }
  static bool begin(std::string_view name, EventKind kind);
  static void add_tensor(const Tensor& t);
  template <class T>
  static void add_input(const T& x) {
    if constexpr (std::is_same_v<T, Tensor>) {
      add_tensor(x);
    } else if constexpr (std::is_same_v<T, std::vector<Tensor>>) {
      for (const Tensor& t : x) add_tensor(t);
    }
  }
  static void finish();
  bool active_ = false;
};

/// A user range (torch.profiler.record_function): records `name` from construction to
/// destruction while profiling is on.
class RecordFunction {
 public:
  /// Begins the range `name` when profiling is on.
  explicit RecordFunction(std::string_view name) { scope_.start_with(name, EventKind::User); }
  /// Ends the range.
  ~RecordFunction() = default;
  RecordFunction(const RecordFunction&) = delete;
  RecordFunction& operator=(const RecordFunction&) = delete;

 private:
  OpScope scope_;
};

/// Short alias: `auto r = profiler::record_function("step");`.
using record_function = RecordFunction;

/// A session's id, 0 when none is active (diagnostics, tests).
uint64_t current_session();

}  // namespace lamina::profiler

#define LAMINA_PROFILE_CONCAT_IMPL(a, b) a##b
#define LAMINA_PROFILE_CONCAT(a, b) LAMINA_PROFILE_CONCAT_IMPL(a, b)
/// Records the enclosing block as op `name` with the given input tensors while profiling is on.
#define LAMINA_PROFILE_OP(...) \
  ::lamina::profiler::OpScope LAMINA_PROFILE_CONCAT(lamina_profile_scope_, __LINE__)(__VA_ARGS__)
