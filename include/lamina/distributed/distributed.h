#pragma once
// The job's process groups, torch.distributed's functions: init_process_group makes the
// default group (the world) after a rendezvous through a store (env://, tcp://host:port,
// file://path, or a Store given), new_group makes subgroups, and the collectives take a group
// (null: the world) and async_op (a Work to wait on; null when the call already waited).
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "lamina/distributed/process_group.h"
#include "lamina/distributed/store.h"

namespace lamina::distributed {

/// What init_process_group takes (torch.distributed.init_process_group's arguments).
struct InitOptions {
  /// "gloo" (CPU tensors), "nccl" (CUDA tensors) or "mpi".
  std::string backend = "gloo";
  /// "env://" (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE), "tcp://host:port" or "file://path".
  std::string init_method = "env://";
  /// This process's rank (-1: from the environment, RANK).
  int rank = -1;
  /// Number of processes (-1: from the environment, WORLD_SIZE).
  int world_size = -1;
  /// Timeout of the rendezvous and of every collective.
  std::chrono::milliseconds timeout = kDefaultTimeout;
  /// A store to meet through instead of init_method (rank and world_size then required).
  std::shared_ptr<Store> store;
};

/// Joins the job: makes the store and the default group. ConfigError for missing or bad
/// settings, DistTimeoutError when the other ranks do not arrive within the timeout.
void init_process_group(const InitOptions& options);
/// init_process_group with the backend and init_method named.
void init_process_group(const std::string& backend, const std::string& init_method = "env://", int rank = -1,
                        int world_size = -1, std::chrono::milliseconds timeout = kDefaultTimeout);
/// Leaves the job (group null: every group), after the operations already issued.
void destroy_process_group(const std::shared_ptr<ProcessGroup>& group = nullptr);
/// True between init_process_group and destroy_process_group.
bool is_initialized();
/// The default group (the world); ValueError before init_process_group.
std::shared_ptr<ProcessGroup> default_group();
/// The job's store (the one the default group met through).
std::shared_ptr<Store> default_store();
/// The backend of `group` (null: the world).
std::string get_backend(const std::shared_ptr<ProcessGroup>& group = nullptr);
/// This process's rank in `group` (null: the world); -1 when not a member.
int get_rank(const std::shared_ptr<ProcessGroup>& group = nullptr);
/// The size of `group` (null: the world).
int get_world_size(const std::shared_ptr<ProcessGroup>& group = nullptr);
/// A group of the world ranks `ranks` (empty: all), made by every rank in the same order;
/// null on ranks outside it. backend "" takes the world's.
std::shared_ptr<ProcessGroup> new_group(const std::vector<int>& ranks = {},
                                        std::chrono::milliseconds timeout = std::chrono::milliseconds(0),
                                        const std::string& backend = "");

/// all_reduce on `group` (null: the world); waits unless async_op.
std::shared_ptr<Work> all_reduce(const Tensor& tensor, ReduceOp op = ReduceOp::SUM,
                                 const std::shared_ptr<ProcessGroup>& group = nullptr, bool async_op = false);
/// broadcast from world rank `src`.
std::shared_ptr<Work> broadcast(const Tensor& tensor, int src, const std::shared_ptr<ProcessGroup>& group = nullptr,
                                bool async_op = false);
/// reduce into world rank `dst`.
std::shared_ptr<Work> reduce(const Tensor& tensor, int dst, ReduceOp op = ReduceOp::SUM,
                             const std::shared_ptr<ProcessGroup>& group = nullptr, bool async_op = false);
/// all_gather into one tensor per rank.
std::shared_ptr<Work> all_gather(const std::vector<Tensor>& outputs, const Tensor& input,
                                 const std::shared_ptr<ProcessGroup>& group = nullptr, bool async_op = false);
/// all_gather into one tensor.
std::shared_ptr<Work> all_gather_into_tensor(const Tensor& output, const Tensor& input,
                                             const std::shared_ptr<ProcessGroup>& group = nullptr,
                                             bool async_op = false);
/// reduce_scatter from one tensor.
std::shared_ptr<Work> reduce_scatter_tensor(const Tensor& output, const Tensor& input, ReduceOp op = ReduceOp::SUM,
                                            const std::shared_ptr<ProcessGroup>& group = nullptr,
                                            bool async_op = false);
/// gather into world rank `dst` (outputs only there).
std::shared_ptr<Work> gather(const Tensor& input, const std::vector<Tensor>& outputs, int dst,
                             const std::shared_ptr<ProcessGroup>& group = nullptr, bool async_op = false);
/// scatter from world rank `src` (inputs only there).
std::shared_ptr<Work> scatter(const Tensor& output, const std::vector<Tensor>& inputs, int src,
                              const std::shared_ptr<ProcessGroup>& group = nullptr, bool async_op = false);
/// Sends to world rank `dst` (blocking; isend for a Work).
void send(const Tensor& tensor, int dst, const std::shared_ptr<ProcessGroup>& group = nullptr, int tag = 0);
/// Receives from world rank `src` (-1: any; blocking).
void recv(const Tensor& tensor, int src, const std::shared_ptr<ProcessGroup>& group = nullptr, int tag = 0);
/// Non-blocking send.
std::shared_ptr<Work> isend(const Tensor& tensor, int dst, const std::shared_ptr<ProcessGroup>& group = nullptr,
                            int tag = 0);
/// Non-blocking receive.
std::shared_ptr<Work> irecv(const Tensor& tensor, int src, const std::shared_ptr<ProcessGroup>& group = nullptr,
                            int tag = 0);
/// Waits for every rank of `group`.
std::shared_ptr<Work> barrier(const std::shared_ptr<ProcessGroup>& group = nullptr, bool async_op = false);

}  // namespace lamina::distributed
