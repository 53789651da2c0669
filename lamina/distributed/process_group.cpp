// What every backend shares: argument checks, staging of non-contiguous tensors through
// contiguous buffers, the worker thread that runs a group's operations in issue order, Work
// handles, and the collectives built from the engines' primitives (reduce_scatter from
// all_reduce, AVG as SUM then a division, byte collectives for Python objects).
#include "lamina/distributed/process_group.h"

#include <deque>
#include <thread>

#include "lamina/autograd/autograd.h"
#include "lamina/ops/copy.h"
#include "lamina/ops/elementwise.h"
#include "lamina/runtime/profiler.h"

namespace lamina::distributed {

namespace {

constexpr const char* kOp = "distributed";

// A caller's tensor and the contiguous buffer the engine works on (the tensor itself when it
// already is one).
struct Staged {
  Tensor user, buffer;
  bool copies() const { return !buffer.is_same(user); }
};

Staged stage(const Tensor& t, bool copy_in) {
  if (t.is_contiguous()) return {t, t};
  Tensor b = Tensor::empty(t.shape(), t.dtype(), t.device());
  if (copy_in) {
    autograd::NoGradGuard no_grad;
    copy_(b, t);
  }
  return {t, b};
}

// Copies the size() equal parts of `flat` into `outputs` (all_gather's and gather's results).
void unflatten_into(const std::vector<Tensor>& outputs, const Tensor& flat, int64_t n) {
  autograd::NoGradGuard no_grad;
  for (size_t r = 0; r < outputs.size(); ++r)
    copy_(outputs[r],
          flat.slice(0, static_cast<int64_t>(r) * n, static_cast<int64_t>(r + 1) * n).view(outputs[r].shape()));
}

void copy_back(const Staged& s) {
  if (!s.copies()) return;
  autograd::NoGradGuard no_grad;
  copy_(s.user, s.buffer);
}

}  // namespace

const char* reduce_op_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::SUM:
      return "sum";
    case ReduceOp::AVG:
      return "avg";
    case ReduceOp::PRODUCT:
      return "product";
    case ReduceOp::MIN:
      return "min";
    case ReduceOp::MAX:
      return "max";
  }
  return "?";
}

Work::Work(std::string name, std::function<void()> finish) : name_(std::move(name)), finish_(std::move(finish)) {}

std::shared_ptr<Work> Work::waited_by(std::string name, std::function<void()> waiter, std::function<void()> finish) {
  auto w = std::make_shared<Work>(std::move(name), std::move(finish));
  w->waiter_ = std::move(waiter);
  return w;
}

void Work::complete(std::exception_ptr error) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    done_ = true;
    error_ = std::move(error);
  }
  done_cv_.notify_all();
}

bool Work::wait(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (waiter_ && !done_) {  // the transfer's own wait, bounded by the group's timeout
    auto waiter = std::move(waiter_);
    waiter_ = nullptr;
    try {
      waiter();
    } catch (...) {
      error_ = std::current_exception();
    }
    done_ = true;
    done_cv_.notify_all();
  }
  if (timeout.count() > 0) {
    const bool done = done_cv_.wait_for(lock, timeout, [&] { return done_; });
    LAMINA_CHECK(done, DistTimeoutError, kOp, name_, " did not finish within ", timeout.count(), " ms");
  } else {
    // The engine gives up on its own after the group's timeout; nothing waits past it.
    done_cv_.wait(lock, [&] { return done_; });
  }
  if (error_) std::rethrow_exception(error_);
  if (!finished_) {
    finished_ = true;
    if (finish_) {
      auto finish = std::move(finish_);
      lock.unlock();
      finish();
    }
  }
  return true;
}

bool Work::is_completed() {
  std::lock_guard<std::mutex> lock(mutex_);
  return done_;
}

bool Work::is_success() {
  std::lock_guard<std::mutex> lock(mutex_);
  return done_ && !error_;
}

struct ProcessGroup::Queue {
  struct Task {
    std::function<void()> run;
    std::shared_ptr<Work> work;
    std::string event;  // the profiler's name for it, "gloo:all_reduce"
  };
  std::mutex mutex;
  std::condition_variable ready;
  std::deque<Task> tasks;
  bool stopping = false;
  std::exception_ptr broken;  // the first failure: the engine's state is unknown after it
  std::string broken_what;
  std::thread thread;

  void loop() {
    while (true) {
      Task task;
      {
        std::unique_lock<std::mutex> lock(mutex);
        ready.wait(lock, [&] { return stopping || !tasks.empty(); });
        if (tasks.empty()) return;
        task = std::move(tasks.front());
        tasks.pop_front();
      }
      std::exception_ptr error;
      {
        std::lock_guard<std::mutex> lock(mutex);
        error = broken;
      }
      if (error) {
        try {
          std::rethrow_exception(error);
        } catch (const DistTimeoutError& e) {
          error = std::make_exception_ptr(DistTimeoutError(
              kOp, std::string("[distributed] ") + task.work->name() + ": the group failed earlier: " + e.what()));
        } catch (const std::exception& e) {
          error = std::make_exception_ptr(DistributedError(
              kOp, std::string("[distributed] ") + task.work->name() + ": the group failed earlier: " + e.what()));
        }
      } else {
        try {
          // A collective shows in a profile (its own thread's row of the trace) for as long as
          // the engine works on it.
          profiler::OpScope scope;
          if (profiler::enabled()) scope.start_with(task.event, profiler::EventKind::User);
          task.run();
        } catch (...) {
          error = std::current_exception();
          std::lock_guard<std::mutex> lock(mutex);
          broken = error;
        }
      }
      task.work->complete(error);
    }
  }
};

ProcessGroup::ProcessGroup(int rank, int size, std::chrono::milliseconds timeout)
    : rank_(rank), size_(size), timeout_(timeout), queue_(std::make_unique<Queue>()) {
  LAMINA_CHECK(size >= 1 && rank >= 0 && rank < size, ConfigError, kOp, "rank ", rank, " is not in a group of ", size);
  for (int r = 0; r < size; ++r) world_ranks_.push_back(r);
  LAMINA_CHECK(timeout.count() > 0, ConfigError, kOp, "the timeout must be positive");
}

ProcessGroup::~ProcessGroup() { stop_worker(); }

int ProcessGroup::group_rank(int world_rank) const {
  for (size_t i = 0; i < world_ranks_.size(); ++i)
    if (world_ranks_[i] == world_rank) return static_cast<int>(i);
  LAMINA_THROW(ValueError, kOp, "rank ", world_rank, " is not a member of this group");
}

void ProcessGroup::set_world_ranks(std::vector<int> ranks) {
  LAMINA_CHECK(static_cast<int>(ranks.size()) == size_, ValueError, kOp, "a group of ", size_, " needs ", size_,
               " world ranks, got ", ranks.size());
  world_ranks_ = std::move(ranks);
}

void ProcessGroup::start_worker() {
  queue_->thread = std::thread([q = queue_.get()] { q->loop(); });
}

void ProcessGroup::stop_worker() {
  if (!queue_ || !queue_->thread.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(queue_->mutex);
    queue_->stopping = true;
  }
  queue_->ready.notify_all();
  queue_->thread.join();
}

std::shared_ptr<Work> ProcessGroup::enqueue(const char* name, std::function<void()> run, std::function<void()> finish) {
  auto work = std::make_shared<Work>(name, std::move(finish));
  {
    std::lock_guard<std::mutex> lock(queue_->mutex);
    LAMINA_CHECK(!queue_->stopping, DistributedError, kOp, name, ": the process group was destroyed");
    queue_->tasks.push_back({std::move(run), work, backend() + ":" + name});
  }
  queue_->ready.notify_one();
  return work;
}

void ProcessGroup::check_tensor(const char* op, const Tensor& t) const {
  LAMINA_CHECK(t.defined(), ValueError, op, "needs a tensor");
  LAMINA_CHECK(accepts(t.device()), DeviceMismatchError, op, "the ", backend(), " backend does not take ",
               t.device().str(), " tensors",
               backend() == "nccl" ? " (use gloo for CPU tensors)" : " (use nccl for CUDA tensors)");
}

void ProcessGroup::check_rank(const char* op, int r, const char* what) const {
  LAMINA_CHECK(r >= 0 && r < size_, ValueError, op, what, " ", r, " is not a rank of this group of ", size_);
}

namespace {

void check_reduce_dtype(const char* op, Dtype dt, ReduceOp rop) {
  LAMINA_CHECK(dt != Dtype::Bool || rop == ReduceOp::MAX || rop == ReduceOp::MIN, DTypeError, op,
               "bool tensors reduce with MAX (or) and MIN (and) only, not ", reduce_op_name(rop));
  LAMINA_CHECK(rop != ReduceOp::AVG || is_floating(dt), DTypeError, op, "AVG takes floating tensors, got ",
               dtype_name(dt));
}

// AVG is SUM divided by the group size, on the caller's thread after the communication.
void divide_for_avg(const Tensor& t, int size) {
  autograd::NoGradGuard no_grad;
  div_(t, Scalar(static_cast<double>(size)));
}

ReduceOp engine_op(ReduceOp op) { return op == ReduceOp::AVG ? ReduceOp::SUM : op; }

void check_same(const char* op, const Tensor& a, const Tensor& b, const char* what) {
  LAMINA_CHECK(a.dtype() == b.dtype(), DTypeError, op, what, " has dtype ", dtype_name(a.dtype()), ", the input ",
               dtype_name(b.dtype()));
  LAMINA_CHECK(a.device() == b.device(), DeviceMismatchError, op, what, " is on ", a.device().str(), ", the input on ",
               b.device().str());
}

}  // namespace

std::shared_ptr<Work> ProcessGroup::all_reduce(const Tensor& tensor, ReduceOp op) {
  check_tensor("all_reduce", tensor);
  check_reduce_dtype("all_reduce", tensor.dtype(), op);
  Staged s = stage(tensor, true);
  const int size = size_;
  return enqueue(
      "all_reduce", [this, b = s.buffer, op] { do_all_reduce(b.data_ptr(), b.numel(), b.dtype(), engine_op(op)); },
      [s, op, size] {
        if (op == ReduceOp::AVG) divide_for_avg(s.buffer, size);
        copy_back(s);
      });
}

std::shared_ptr<Work> ProcessGroup::reduce(const Tensor& tensor, int root, ReduceOp op) {
  check_tensor("reduce", tensor);
  check_rank("reduce", root, "root");
  check_reduce_dtype("reduce", tensor.dtype(), op);
  const bool is_root = rank_ == root;
  // Gloo's reduce uses the buffer as scratch: the other ranks' tensors keep their values by
  // lending a copy.
  autograd::NoGradGuard no_grad;
  Staged s = is_root ? stage(tensor, true) : Staged{tensor, tensor.clone()};
  const int size = size_;
  return enqueue(
      "reduce", [this, b = s.buffer, op, root] { do_reduce(b.data_ptr(), b.numel(), b.dtype(), engine_op(op), root); },
      [s, op, size, is_root] {
        if (!is_root) return;
        if (op == ReduceOp::AVG) divide_for_avg(s.buffer, size);
        copy_back(s);
      });
}

std::shared_ptr<Work> ProcessGroup::broadcast(const Tensor& tensor, int root) {
  check_tensor("broadcast", tensor);
  check_rank("broadcast", root, "root");
  Staged s = stage(tensor, rank_ == root);
  const int64_t nbytes = tensor.numel() * itemsize(tensor.dtype());
  const bool is_root = rank_ == root;
  return enqueue(
      "broadcast", [this, b = s.buffer, nbytes, root] { do_broadcast(b.data_ptr(), nbytes, root); },
      [s, is_root] {
        if (!is_root) copy_back(s);
      });
}

std::shared_ptr<Work> ProcessGroup::all_gather(const std::vector<Tensor>& outputs, const Tensor& input) {
  check_tensor("all_gather", input);
  LAMINA_CHECK(static_cast<int>(outputs.size()) == size_, ValueError, "all_gather", "needs ", size_,
               " output tensors (one per rank), got ", outputs.size());
  for (const auto& o : outputs) {
    check_same("all_gather", o, input, "an output");
    LAMINA_CHECK(o.numel() == input.numel(), ShapeError, "all_gather", "an output of ", o.numel(),
                 " elements for an input of ", input.numel());
  }
  Staged in = stage(input, true);
  const int64_t nbytes = input.numel() * itemsize(input.dtype());
  Tensor flat = Tensor::empty({static_cast<int64_t>(size_) * input.numel()}, input.dtype(), input.device());
  return enqueue(
      "all_gather", [this, i = in.buffer, flat, nbytes] { do_all_gather(i.data_ptr(), flat.data_ptr(), nbytes); },
      [outputs, flat, n = input.numel()] { unflatten_into(outputs, flat, n); });
}

std::shared_ptr<Work> ProcessGroup::all_gather_into_tensor(const Tensor& output, const Tensor& input) {
  check_tensor("all_gather_into_tensor", input);
  check_same("all_gather_into_tensor", output, input, "the output");
  LAMINA_CHECK(output.numel() == static_cast<int64_t>(size_) * input.numel(), ShapeError, "all_gather_into_tensor",
               "the output needs ", size_, " x ", input.numel(), " elements, has ", output.numel());
  Staged in = stage(input, true), out = stage(output, false);
  const int64_t nbytes = input.numel() * itemsize(input.dtype());
  return enqueue(
      "all_gather_into_tensor",
      [this, i = in.buffer, o = out.buffer, nbytes] { do_all_gather(i.data_ptr(), o.data_ptr(), nbytes); },
      [out] { copy_back(out); });
}

std::shared_ptr<Work> ProcessGroup::reduce_scatter_tensor(const Tensor& output, const Tensor& input, ReduceOp op) {
  check_tensor("reduce_scatter_tensor", input);
  check_same("reduce_scatter_tensor", output, input, "the output");
  check_reduce_dtype("reduce_scatter_tensor", input.dtype(), op);
  LAMINA_CHECK(input.numel() == static_cast<int64_t>(size_) * output.numel(), ShapeError, "reduce_scatter_tensor",
               "the input needs ", size_, " x ", output.numel(), " elements, has ", input.numel());
  // The engines' all_reduce over a copy, then this rank's part: Gloo has no reduce-scatter of
  // its own for these arguments.
  autograd::NoGradGuard no_grad;
  Tensor work_copy = input.clone();
  Staged out = stage(output, false);
  const int64_t n = output.numel();
  const int size = size_, rank = rank_;
  return enqueue(
      "reduce_scatter_tensor",
      [this, work_copy, op] {
        do_all_reduce(work_copy.data_ptr(), work_copy.numel(), work_copy.dtype(), engine_op(op));
      },
      [work_copy, out, n, op, size, rank] {
        autograd::NoGradGuard no_grad;
        Tensor part = work_copy.view({-1}).slice(0, rank * n, (rank + 1) * n);
        copy_(out.user, part.view(out.user.shape()));
        if (op == ReduceOp::AVG) divide_for_avg(out.user, size);
      });
}

std::shared_ptr<Work> ProcessGroup::gather(const std::vector<Tensor>& outputs, const Tensor& input, int root) {
  check_tensor("gather", input);
  check_rank("gather", root, "root");
  const bool is_root = rank_ == root;
  if (is_root) {
    LAMINA_CHECK(static_cast<int>(outputs.size()) == size_, ValueError, "gather", "the root needs ", size_,
                 " output tensors, got ", outputs.size());
    for (const auto& o : outputs) {
      check_same("gather", o, input, "an output");
      LAMINA_CHECK(o.numel() == input.numel(), ShapeError, "gather", "an output of ", o.numel(),
                   " elements for an input of ", input.numel());
    }
  } else {
    LAMINA_CHECK(outputs.empty(), ValueError, "gather", "only the root (rank ", root, ") passes output tensors");
  }
  Staged in = stage(input, true);
  const int64_t nbytes = input.numel() * itemsize(input.dtype());
  Tensor flat =
      is_root ? Tensor::empty({static_cast<int64_t>(size_) * input.numel()}, input.dtype(), input.device()) : Tensor();
  return enqueue(
      "gather",
      [this, i = in.buffer, flat, nbytes, root] {
        do_gather(i.data_ptr(), flat.defined() ? flat.data_ptr() : nullptr, nbytes, root);
      },
      [outputs, flat, n = input.numel()] { unflatten_into(outputs, flat, n); });
}

std::shared_ptr<Work> ProcessGroup::scatter(const Tensor& output, const std::vector<Tensor>& inputs, int root) {
  check_tensor("scatter", output);
  check_rank("scatter", root, "root");
  const bool is_root = rank_ == root;
  Tensor flat;
  if (is_root) {
    LAMINA_CHECK(static_cast<int>(inputs.size()) == size_, ValueError, "scatter", "the root needs ", size_,
                 " input tensors, got ", inputs.size());
    flat = Tensor::empty({static_cast<int64_t>(size_) * output.numel()}, output.dtype(), output.device());
    autograd::NoGradGuard no_grad;
    for (int r = 0; r < size_; ++r) {
      check_same("scatter", inputs[r], output, "an input");
      LAMINA_CHECK(inputs[r].numel() == output.numel(), ShapeError, "scatter", "an input of ", inputs[r].numel(),
                   " elements for an output of ", output.numel());
      copy_(flat.slice(0, r * output.numel(), (r + 1) * output.numel()).view(inputs[r].shape()), inputs[r]);
    }
  } else {
    LAMINA_CHECK(inputs.empty(), ValueError, "scatter", "only the root (rank ", root, ") passes input tensors");
  }
  Staged out = stage(output, false);
  const int64_t nbytes = output.numel() * itemsize(output.dtype());
  return enqueue(
      "scatter",
      [this, flat, o = out.buffer, nbytes, root] {
        do_scatter(flat.defined() ? flat.data_ptr() : nullptr, o.data_ptr(), nbytes, root);
      },
      [out] { copy_back(out); });
}

std::shared_ptr<Work> ProcessGroup::send(const Tensor& tensor, int dst, int tag) {
  check_tensor("send", tensor);
  check_rank("send", dst, "destination");
  LAMINA_CHECK(dst != rank_, ValueError, "send", "a rank cannot send to itself");
  LAMINA_CHECK(tag >= 0, ValueError, "send", "tags are non-negative, got ", tag);
  Staged s = stage(tensor, true);
  const int64_t nbytes = tensor.numel() * itemsize(tensor.dtype());
  auto waiter = post_send(s.buffer.data_ptr(), nbytes, dst, tag);
  return Work::waited_by("send", [waiter, keep = s.buffer] { waiter(); }, {});
}

std::shared_ptr<Work> ProcessGroup::recv(const Tensor& tensor, int src, int tag) {
  check_tensor("recv", tensor);
  if (src != -1) check_rank("recv", src, "source");
  LAMINA_CHECK(src != rank_, ValueError, "recv", "a rank cannot receive from itself");
  LAMINA_CHECK(tag >= 0, ValueError, "recv", "tags are non-negative, got ", tag);
  Staged s = stage(tensor, false);
  const int64_t nbytes = tensor.numel() * itemsize(tensor.dtype());
  auto waiter = post_recv(s.buffer.data_ptr(), nbytes, src, tag);
  return Work::waited_by(
      "recv", [waiter, keep = s.buffer] { waiter(); }, [s] { copy_back(s); });
}

std::shared_ptr<Work> ProcessGroup::barrier() {
  return enqueue("barrier", [this] { do_barrier(); });
}

std::vector<Bytes> ProcessGroup::all_gather_bytes(const Bytes& mine) {
  std::vector<int64_t> sizes(static_cast<size_t>(size_));
  std::vector<Bytes> out(static_cast<size_t>(size_));
  enqueue("all_gather_object", [&] {
    const int64_t n = static_cast<int64_t>(mine.size());
    do_all_gather(&n, sizes.data(), sizeof(int64_t));
    int64_t total = 0;
    for (int64_t s : sizes) {
      LAMINA_CHECK(s >= 0 && s <= (int64_t(1) << 34), DistributedError, "all_gather_object",
                   "a rank announced an object of ", s, " bytes");
      total += s;
    }
    Bytes flat(static_cast<size_t>(total));
    do_all_gather_v(mine.data(), n, flat.data(), sizes);
    int64_t at = 0;
    for (int r = 0; r < size_; ++r) {
      out[r].assign(flat.begin() + at, flat.begin() + at + sizes[r]);
      at += sizes[r];
    }
  })->wait();
  return out;
}

Bytes ProcessGroup::broadcast_bytes(const Bytes& mine, int root) {
  check_rank("broadcast_object_list", root, "root");
  Bytes out = rank_ == root ? mine : Bytes{};
  enqueue("broadcast_object_list", [&] {
    int64_t n = static_cast<int64_t>(out.size());
    do_broadcast(&n, sizeof(n), root);
    LAMINA_CHECK(n >= 0 && n <= (int64_t(1) << 34), DistributedError, "broadcast_object_list", "the root announced ", n,
                 " bytes");
    out.resize(static_cast<size_t>(n));
    do_broadcast(out.data(), n, root);
  })->wait();
  return out;
}

}  // namespace lamina::distributed
