#pragma once
// Distributed data parallel training (torch.nn.parallel.DistributedDataParallel): every rank
// holds the whole model, parameters and buffers start as rank 0's, and during backward the
// gradients are averaged over the ranks. The Reducer gathers gradients into buckets (reverse
// parameter order, about bucket_cap_mb each) as autograd finishes them (post-accumulate-grad
// hooks) and all-reduces each bucket asynchronously as soon as it is full, so communication
// overlaps the rest of backward; the end of backward waits for the buckets and writes the
// averages into .grad.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lamina/core/tensor.h"
#include "lamina/distributed/process_group.h"
#include "lamina/nn/module.h"

namespace lamina::distributed {

/// Options of DistributedDataParallel and its Reducer (torch's names).
struct DDPOptions {
  /// Bucket size in MiB (torch's default 25).
  double bucket_cap_mb = 25.0;
  /// Find, after each forward, the parameters the outputs do not depend on and reduce them as
  /// zeros (torch's find_unused_parameters); without it an unused parameter is an error.
  bool find_unused_parameters = false;
  /// Copy rank 0's buffers (batch-norm statistics) to every rank before each forward.
  bool broadcast_buffers = true;
  /// The group (null: the world).
  std::shared_ptr<ProcessGroup> group;
};

/// Buckets and reduces the gradients of `parameters` (those that require grad) over a group.
class Reducer : public std::enable_shared_from_this<Reducer> {
 public:
  /// Registers the hooks; call prepare_for_backward after each forward whose backward syncs.
  static std::shared_ptr<Reducer> create(std::vector<Tensor> parameters, std::vector<std::string> names,
                                         std::shared_ptr<ProcessGroup> group, const DDPOptions& options);
  ~Reducer();
  Reducer(const Reducer&) = delete;
  Reducer& operator=(const Reducer&) = delete;

  /// Arms the next backward to reduce; with find_unused_parameters, `outputs` (the forward's
  /// tensors) tell which parameters will get no gradient.
  void prepare_for_backward(const std::vector<Tensor>& outputs);
  /// Number of buckets, and the parameter indices of each (reverse order, for tests).
  const std::vector<std::vector<size_t>>& bucket_indices() const { return bucket_params_; }
  /// The group reduced over.
  const std::shared_ptr<ProcessGroup>& group() const { return group_; }

 private:
  Reducer(std::vector<Tensor> parameters, std::vector<std::string> names, std::shared_ptr<ProcessGroup> group,
          const DDPOptions& options);
  void install_hooks();
  void on_gradient(size_t index);
  void mark_ready(size_t index, bool from_hook);
  Tensor slot(size_t index) const;  // parameter `index`'s part of its bucket, in its shape
  void launch_ready_buckets();
  void finalize();

  struct Bucket;
  std::vector<Tensor> params_;
  std::vector<std::string> names_;
  std::shared_ptr<ProcessGroup> group_;
  DDPOptions options_;
  std::vector<std::vector<size_t>> bucket_params_;
  std::vector<std::unique_ptr<Bucket>> buckets_;
  std::vector<size_t> bucket_of_, offset_in_bucket_;
  std::vector<uint64_t> hook_ids_;
  std::vector<bool> ready_, used_;
  size_t next_to_launch_ = 0;
  bool armed_ = false, callback_queued_ = false;
};

/// An nn::Module whose training is data parallel over a group: forward runs the wrapped
/// module (broadcasting rank 0's buffers first) and arms the Reducer, so the backward averages
/// gradients over the ranks. Parameters and buffers are copied from rank 0 at construction.
class DistributedDataParallel : public nn::Module {
 public:
  /// Wraps `module` (registered as the child "module", as in torch's state_dict names).
  explicit DistributedDataParallel(std::shared_ptr<nn::Module> module, const DDPOptions& options = {});
  Tensor forward(const Tensor& input) override;
  /// Turns gradient synchronization off (gradients accumulate locally) until set back
  /// (torch's no_sync() context).
  void set_require_backward_grad_sync(bool sync) { sync_ = sync; }
  /// True when the next backward synchronizes.
  bool require_backward_grad_sync() const { return sync_; }
  /// The wrapped module.
  const std::shared_ptr<nn::Module>& module() const { return module_; }
  /// The reducer (bucket layout, group).
  const std::shared_ptr<Reducer>& reducer() const { return reducer_; }

 private:
  std::shared_ptr<nn::Module> module_;
  std::shared_ptr<Reducer> reducer_;
  DDPOptions options_;
  bool sync_ = true;
};

/// Copies `root`'s values of `tensors` to every rank of `group` (parameters and buffers at a
/// DDP's construction), coalesced into few broadcasts.
void broadcast_coalesced(const std::vector<Tensor>& tensors, const std::shared_ptr<ProcessGroup>& group, int root = 0);

}  // namespace lamina::distributed

namespace lamina::distributed {

/// The sum of `tensor` over the ranks of `group` as a new tensor whose backward all-reduces
/// the gradient (SyncBatchNorm's statistics).
Tensor all_reduce_differentiable(const Tensor& tensor, const std::shared_ptr<ProcessGroup>& group);

}  // namespace lamina::distributed
