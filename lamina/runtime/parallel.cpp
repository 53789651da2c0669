#include "lamina/runtime/parallel.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include <pthread.h>

#include "lamina/runtime/config.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define LAMINA_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define LAMINA_CPU_RELAX() asm volatile("yield")
#else
#define LAMINA_CPU_RELAX() ((void)0)
#endif

namespace lamina::runtime {
namespace {

thread_local bool t_in_parallel = false;

// Workers spin this many relax instructions (tens of microseconds) before sleeping, so a
// sequence of ops hands off without a futex wake-up each time, yet idle workers do not hold
// the cores that OpenBLAS's threads need for the next GEMM.
constexpr int kSpinIterations = 4000;
constexpr int kPartsPerThread = 4;

class ThreadPool {
 public:
  static ThreadPool& instance() {
    static ThreadPool* pool = [] {
      auto* p = new ThreadPool();  // never destroyed: workers may outlive static destructors
      pthread_atfork(nullptr, nullptr, [] { ThreadPool::instance().forget_threads_after_fork(); });
      return p;
    }();
    return *pool;
  }

  void run(int64_t n, int parts, RangeFn fn) {
    std::unique_lock<std::mutex> submit(submit_mutex_, std::try_to_lock);
    if (!submit.owns_lock()) {  // another user thread holds the pool: work inline
      run_inline(n, fn);
      return;
    }
    ensure_workers(num_threads() - 1);
    if (workers_->empty()) {
      run_inline(n, fn);
      return;
    }
    fn_ = &fn;
    n_ = n;
    error_ = nullptr;
    done_parts_.store(0, std::memory_order_relaxed);
    job_ = (job_ + 1) & 0xffffffffu;
    ticket_.store(job_ << 32 | static_cast<uint64_t>(parts) << 16, std::memory_order_release);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    t_in_parallel = true;
    work();
    int spins = 0;
    while (done_parts_.load(std::memory_order_acquire) < parts) {
      if (++spins < kSpinIterations) {
        LAMINA_CPU_RELAX();
      } else {
        std::this_thread::yield();
      }
    }
    t_in_parallel = false;
    fn_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

  void resize(int workers) {
    std::lock_guard<std::mutex> submit(submit_mutex_);
    ensure_workers(workers);
  }

 private:
  ThreadPool() : workers_(new std::vector<std::thread>()) {}

  static void run_inline(int64_t n, RangeFn fn) {
    const bool was = t_in_parallel;
    t_in_parallel = true;
    try {
      fn(0, n);
    } catch (...) {
      t_in_parallel = was;
      throw;
    }
    t_in_parallel = was;
  }

  // Claims parts until none is left. The ticket packs (job, parts, next part) in one atomic,
  // so a worker that arrives late from an earlier job can only claim parts of the current one,
  // and then sees its fn_ and n_ (written before the ticket was published).
  void work() {
    uint64_t ticket = ticket_.load(std::memory_order_acquire);
    for (;;) {
      const int64_t parts = static_cast<int64_t>(ticket >> 16 & 0xffff), p = static_cast<int64_t>(ticket & 0xffff);
      if (p >= parts) return;
      if (!ticket_.compare_exchange_weak(ticket, ticket + 1, std::memory_order_acq_rel, std::memory_order_acquire))
        continue;
      const int64_t begin = n_ * p / parts, end = n_ * (p + 1) / parts;
      try {
        (*fn_)(begin, end);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex_);
        if (!error_) error_ = std::current_exception();
      }
      done_parts_.fetch_add(1, std::memory_order_acq_rel);
      ticket = ticket_.load(std::memory_order_acquire);
    }
  }

  void worker_loop() {
    t_in_parallel = true;
    uint64_t seen = generation_.load(std::memory_order_acquire);
    // A job published before this worker read `seen` would otherwise look already handled:
    // join it now (the ticket hands out only its unclaimed parts, if any).
    work();
    for (;;) {
      for (int i = 0; i < kSpinIterations && generation_.load(std::memory_order_acquire) == seen; ++i)
        LAMINA_CPU_RELAX();
      if (generation_.load(std::memory_order_acquire) == seen) {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stop_ || generation_.load(std::memory_order_acquire) != seen; });
      }
      if (stop_) return;
      seen = generation_.load(std::memory_order_acquire);
      work();
    }
  }

  void ensure_workers(int count) {
    count = std::max(count, 0);
    if (static_cast<int>(workers_->size()) == count) return;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& t : *workers_) t.join();
    workers_->clear();
    stop_ = false;
    for (int i = 0; i < count; ++i) workers_->emplace_back([this] { worker_loop(); });
  }

  // After fork() only the forking thread exists in the child: drop the handles (they cannot be
  // joined) and let the next parallel call start fresh workers.
  void forget_threads_after_fork() {
    workers_ = new std::vector<std::thread>();  // the old vector is leaked on purpose
    new (&submit_mutex_) std::mutex();
    new (&mutex_) std::mutex();
    new (&error_mutex_) std::mutex();
    new (&wake_) std::condition_variable();
    stop_ = false;
    t_in_parallel = false;
  }

  std::mutex submit_mutex_;  // one job in the pool at a time
  std::mutex mutex_;         // guards sleeping and stop_
  std::condition_variable wake_;
  std::vector<std::thread>* workers_;
  bool stop_ = false;

  std::atomic<uint64_t> generation_{0};
  const RangeFn* fn_ = nullptr;
  int64_t n_ = 0;
  uint64_t job_ = 0;
  std::atomic<uint64_t> ticket_{0};  // job << 32 | parts << 16 | next part
  std::atomic<int> done_parts_{0};
  std::mutex error_mutex_;
  std::exception_ptr error_;
};

}  // namespace

int parallel_parts(int64_t n, int64_t unit_cost) {
  if (n <= 1 || t_in_parallel) return 1;
  const int threads = num_threads();
  if (threads <= 1) return 1;
  const int64_t cost = std::max<int64_t>(unit_cost, 1);
  const int64_t total = n > INT64_MAX / cost ? INT64_MAX : n * cost;
  if (total < 2 * kParallelGrain) return 1;
  // Several parts per thread, claimed dynamically: when a core is busy with another process,
  // the other threads take over its share instead of waiting for it.
  return static_cast<int>(std::min<int64_t>({int64_t{kPartsPerThread} * threads, total / kParallelGrain, n, 1024}));
}

void parallel_run(int64_t n, int parts, RangeFn fn) {
  if (n <= 0) return;
  if (parts <= 1 || t_in_parallel) {
    fn(0, n);
    return;
  }
  ThreadPool::instance().run(n, parts, fn);
}

InlineParallelScope::InlineParallelScope() : previous_(t_in_parallel) { t_in_parallel = true; }
InlineParallelScope::~InlineParallelScope() { t_in_parallel = previous_; }

bool in_parallel_region() { return t_in_parallel; }

void resize_thread_pool(int n) { ThreadPool::instance().resize(n - 1); }

}  // namespace lamina::runtime
