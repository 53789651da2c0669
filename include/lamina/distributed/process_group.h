#pragma once
// Process groups: the ranks of a job (or a subset, new_group) and the collectives among them,
// torch.distributed's names. A ProcessGroup runs its operations one after another on a thread
// of its own, in the order they were issued (every rank must issue the same sequence), so any
// call may return a Work at once (async_op) and the caller overlaps computation with it. The
// transport and the collective algorithms are the engines': Gloo (CPU tensors, TCP), MPI,
// NCCL (CUDA tensors).
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "lamina/core/tensor.h"
#include "lamina/distributed/store.h"

namespace lamina::distributed {

/// How a reduction combines the ranks' values (torch.distributed.ReduceOp).
enum class ReduceOp { SUM, AVG, PRODUCT, MIN, MAX };

/// "sum", "avg", ... for messages.
const char* reduce_op_name(ReduceOp op);

/// An operation in flight on a process group (torch.distributed's Work).
class Work {
 public:
  /// Builds a pending work item; `finish` runs on the first successful wait() (copies results
  /// into the caller's tensors, divides an average).
  explicit Work(std::string name, std::function<void()> finish = {});
  /// A work item completed by running `waiter` in the first wait() (point-to-point transfers:
  /// posted at once, waited for by the caller).
  static std::shared_ptr<Work> waited_by(std::string name, std::function<void()> waiter, std::function<void()> finish);
  /// Blocks until the operation ends, then rethrows its error; true once it has succeeded.
  /// A timeout of zero waits as long as the group's own timeout allows.
  bool wait(std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  /// True once the operation has ended (successfully or not).
  bool is_completed();
  /// True when it ended successfully.
  bool is_success();
  /// The operation's name, e.g. "all_reduce".
  const std::string& name() const { return name_; }

  /// Marks the communication done (error: null on success); the group's worker calls it.
  void complete(std::exception_ptr error);

 private:
  std::string name_;
  std::function<void()> finish_;
  std::function<void()> waiter_;
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  bool finished_ = false;
  std::exception_ptr error_;
};

/// Options of a process group.
struct ProcessGroupOptions {
  /// Timeout of every operation and of the rendezvous.
  std::chrono::milliseconds timeout = kDefaultTimeout;
  /// The network interface Gloo binds to ("" : the one that reaches the store's host).
  std::string interface_name;
  /// The address other ranks reach this one at ("" : found from the interface or the route).
  std::string hostname;
};

/// A group of ranks and the collectives among them. Tensors may be non-contiguous (they are
/// staged through contiguous copies); every rank passes tensors of the same shape and dtype
/// unless an operation says otherwise.
class ProcessGroup {
 public:
  virtual ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  /// This process's rank in the group.
  int rank() const { return rank_; }
  /// Number of ranks.
  int size() const { return size_; }
  /// "gloo", "mpi" or "nccl".
  virtual std::string backend() const = 0;
  /// The group's timeout.
  std::chrono::milliseconds timeout() const { return timeout_; }
  /// The world ranks of this group's members, in group-rank order (0 .. size-1 for the world).
  const std::vector<int>& world_ranks() const { return world_ranks_; }
  /// The group rank of world rank `world_rank`; ValueError when it is not a member.
  int group_rank(int world_rank) const;
  /// Records the members' world ranks (new_group does; the world's are 0 .. size-1).
  void set_world_ranks(std::vector<int> ranks);

  /// Replaces `tensor` on every rank by the reduction over ranks.
  std::shared_ptr<Work> all_reduce(const Tensor& tensor, ReduceOp op = ReduceOp::SUM);
  /// The reduction over ranks into `tensor` on `root` only (others' tensors keep their values).
  std::shared_ptr<Work> reduce(const Tensor& tensor, int root, ReduceOp op = ReduceOp::SUM);
  /// Copies `root`'s tensor into every rank's.
  std::shared_ptr<Work> broadcast(const Tensor& tensor, int root);
  /// outputs[r] gets rank r's `input` (size() outputs, each shaped as the input).
  std::shared_ptr<Work> all_gather(const std::vector<Tensor>& outputs, const Tensor& input);
  /// `output` (size() * input's numel elements, e.g. (size * n, ...)) gets the inputs in rank order.
  std::shared_ptr<Work> all_gather_into_tensor(const Tensor& output, const Tensor& input);
  /// `output` gets this rank's 1/size() part of the reduction of `input` (split on dim 0).
  std::shared_ptr<Work> reduce_scatter_tensor(const Tensor& output, const Tensor& input, ReduceOp op = ReduceOp::SUM);
  /// On `root`, outputs[r] gets rank r's input (outputs empty on the other ranks).
  std::shared_ptr<Work> gather(const std::vector<Tensor>& outputs, const Tensor& input, int root);
  /// `output` gets inputs[rank] from `root` (inputs empty on the other ranks).
  std::shared_ptr<Work> scatter(const Tensor& output, const std::vector<Tensor>& inputs, int root);
  /// Sends `tensor` to rank `dst`; matched by a recv with the same tag.
  std::shared_ptr<Work> send(const Tensor& tensor, int dst, int tag = 0);
  /// Receives into `tensor` from rank `src` (-1: any rank).
  std::shared_ptr<Work> recv(const Tensor& tensor, int src, int tag = 0);
  /// Returns once every rank has reached it.
  std::shared_ptr<Work> barrier();

  /// Bytes every rank gets from every rank: out[r] = rank r's `mine` (sizes may differ).
  std::vector<Bytes> all_gather_bytes(const Bytes& mine);
  /// `root`'s bytes on every rank.
  Bytes broadcast_bytes(const Bytes& mine, int root);

 protected:
  ProcessGroup(int rank, int size, std::chrono::milliseconds timeout);
  /// Starts the worker thread; the derived constructor calls it last.
  void start_worker();
  /// Ends the worker after the queued operations; the derived destructor calls it first.
  void stop_worker();

  // The engine's primitives on contiguous host buffers, run on the worker thread.
  virtual void do_all_reduce(void* data, int64_t count, Dtype dtype, ReduceOp op) = 0;
  virtual void do_reduce(void* data, int64_t count, Dtype dtype, ReduceOp op, int root) = 0;
  virtual void do_broadcast(void* data, int64_t nbytes, int root) = 0;
  virtual void do_all_gather(const void* in, void* out, int64_t nbytes) = 0;
  virtual void do_all_gather_v(const void* in, int64_t nbytes, void* out, const std::vector<int64_t>& sizes) = 0;
  virtual void do_gather(const void* in, void* out, int64_t nbytes, int root) = 0;
  virtual void do_scatter(const void* in, void* out, int64_t nbytes, int root) = 0;
  // Point to point: posted on the caller's thread at once (a send waits for its receive, so
  // queueing them behind each other could deadlock two ranks), the returned function waits.
  virtual std::function<void()> post_send(const void* data, int64_t nbytes, int dst, int tag) = 0;
  virtual std::function<void()> post_recv(void* data, int64_t nbytes, int src, int tag) = 0;
  virtual void do_barrier() = 0;
  /// True when the backend takes tensors on `device` (Gloo and MPI: CPU; NCCL: CUDA).
  virtual bool accepts(const Device& device) const = 0;

  int rank_, size_;
  std::chrono::milliseconds timeout_;
  std::vector<int> world_ranks_;

 private:
  struct Queue;
  std::shared_ptr<Work> enqueue(const char* name, std::function<void()> run, std::function<void()> finish = {});
  void check_tensor(const char* op, const Tensor& t) const;
  void check_rank(const char* op, int r, const char* what) const;
  std::unique_ptr<Queue> queue_;
};

/// Creates a Gloo process group of `size` ranks meeting through `store` (TCP transport).
std::shared_ptr<ProcessGroup> make_gloo_group(std::shared_ptr<Store> store, int rank, int size,
                                              const ProcessGroupOptions& options);
/// Creates an MPI process group over MPI_COMM_WORLD's ranks `ranks` (empty: all); rank and
/// size come from MPI. NotImplementedError in a build without MPI.
std::shared_ptr<ProcessGroup> make_mpi_group(const std::vector<int>& ranks, const ProcessGroupOptions& options);
/// Creates an NCCL process group (CUDA tensors) meeting through `store`; DeviceNotAvailableError
/// without a CUDA device, NotImplementedError in a build without NCCL.
std::shared_ptr<ProcessGroup> make_nccl_group(std::shared_ptr<Store> store, int rank, int size,
                                              const ProcessGroupOptions& options);
/// True when this build has the backend ("gloo", "mpi", "nccl").
bool backend_available(const std::string& backend);

}  // namespace lamina::distributed
