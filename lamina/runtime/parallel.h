#pragma once
// The runtime's thread pool. Kernels never start threads: the op layer splits a loop into
// contiguous parts and runs each part as an ordinary kernel call on one pool thread.
#include <cstdint>
#include <type_traits>
#include <utility>

namespace lamina::runtime {

/// Elements of elementwise work below which an op runs inline on the calling thread: a
/// hand-off to the pool costs a few microseconds, about what 32K cheap elements take.
inline constexpr int64_t kParallelGrain = 32768;

/// A non-owning reference to a callable `void(int64_t begin, int64_t end)`.
class RangeFn {
 public:
  /// Wraps `f`, which must outlive the RangeFn.
  template <class F>
  RangeFn(F& f) : object_(&f), call_([](void* o, int64_t b, int64_t e) { (*static_cast<F*>(o))(b, e); }) {}
  /// Runs the callable on [begin, end).
  void operator()(int64_t begin, int64_t end) const { call_(object_, begin, end); }

 private:
  void* object_;
  void (*call_)(void*, int64_t, int64_t);
};

/// How many parts `n` units of work are split into: 1 when the total cost (`n` times
/// `unit_cost` elements) is below kParallelGrain, inside a pool thread, or with one thread;
/// else up to 4 parts per thread (claimed dynamically, so a core that another process holds
/// does not stall the op), each part at least one unit and kParallelGrain elements.
int parallel_parts(int64_t n, int64_t unit_cost);

/// Runs fn(begin, end) over [0, n) cut into `parts` contiguous ranges of near-equal size
/// (part p is [p*n/parts, (p+1)*n/parts)), the calling thread taking its share. The cut
/// depends only on n and parts. Returns when every part is done; rethrows the first
/// exception a part threw.
void parallel_run(int64_t n, int parts, RangeFn fn);

/// parallel_run with the part count from parallel_parts(n, unit_cost); inline when that is 1.
template <class F>
inline void parallel_for(int64_t n, int64_t unit_cost, F&& fn) {
  const int parts = parallel_parts(n, unit_cost);
  if (parts <= 1) {
    if (n > 0) fn(int64_t{0}, n);
    return;
  }
  auto& f = fn;
  parallel_run(n, parts, RangeFn(f));
}

/// True on a pool thread (nested parallel calls run inline).
bool in_parallel_region();

/// While alive, ops called on this thread run their loops inline instead of taking the pool:
/// for threads that run beside the pool's users (DataLoader workers), so the training thread
/// keeps every core.
class InlineParallelScope {
 public:
  InlineParallelScope();
  ~InlineParallelScope();
  InlineParallelScope(const InlineParallelScope&) = delete;
  InlineParallelScope& operator=(const InlineParallelScope&) = delete;

 private:
  bool previous_;
};

/// Resizes the pool to `n` threads in all (the caller counts as one); called by set_num_threads.
void resize_thread_pool(int n);

}  // namespace lamina::runtime
