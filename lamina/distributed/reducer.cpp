// The DDP reducer. Buckets are filled in reverse parameter order (roughly the order backward
// produces gradients) and launched strictly in bucket order, so every rank issues the same
// sequence of all_reduces whatever order its own hooks fire in. A parameter's gradient is
// copied into its bucket when its post-accumulate hook fires (the gradient accumulated in
// .grad, so no_sync's local accumulation is reduced whole); the end-of-backward callback
// reduces what is left (unused parameters, as zeros), waits, and writes the averages back.
#include <algorithm>
#include <unordered_set>

#include "lamina/autograd/autograd.h"
#include "lamina/distributed/ddp.h"
#include "lamina/distributed/distributed.h"
#include "lamina/ops/copy.h"
#include "lamina/ops/creation.h"

namespace lamina::distributed {

namespace {
constexpr const char* kOp = "DistributedDataParallel";
}

struct Reducer::Bucket {
  Tensor flat;                 // the gradients of its parameters, one after another
  size_t pending = 0;          // parameters not ready yet
  std::shared_ptr<Work> work;  // the all_reduce in flight
};

std::shared_ptr<Reducer> Reducer::create(std::vector<Tensor> parameters, std::vector<std::string> names,
                                         std::shared_ptr<ProcessGroup> group, const DDPOptions& options) {
  std::shared_ptr<Reducer> r(new Reducer(std::move(parameters), std::move(names), std::move(group), options));
  r->install_hooks();
  return r;
}

Reducer::Reducer(std::vector<Tensor> parameters, std::vector<std::string> names, std::shared_ptr<ProcessGroup> group,
                 const DDPOptions& options)
    : group_(std::move(group)), options_(options) {
  LAMINA_CHECK(group_ != nullptr, ValueError, kOp, "needs a process group");
  LAMINA_CHECK(options.bucket_cap_mb > 0, ConfigError, kOp, "bucket_cap_mb must be positive, got ",
               options.bucket_cap_mb);
  const bool named = names.size() == parameters.size();  // names are kept only when they all came
  for (size_t i = 0; i < parameters.size(); ++i) {
    if (!autograd::requires_grad(parameters[i])) continue;
    LAMINA_CHECK(autograd::is_leaf(parameters[i]), ValueError, kOp, "parameter ", named ? names[i] : std::to_string(i),
                 " is not a leaf");
    params_.push_back(parameters[i]);
    if (named) names_.push_back(std::move(names[i]));
  }
  const auto cap = static_cast<int64_t>(options.bucket_cap_mb * 1024 * 1024);
  bucket_of_.assign(params_.size(), 0);
  offset_in_bucket_.assign(params_.size(), 0);
  // Reverse order; a bucket holds one dtype and device and closes past the cap.
  std::vector<size_t> current;
  int64_t bytes = 0, elements = 0;
  auto close = [&] {
    if (current.empty()) return;
    auto b = std::make_unique<Bucket>();
    const Tensor& first = params_[current[0]];
    b->flat = Tensor::empty({elements}, first.dtype(), first.device());
    bucket_params_.push_back(current);
    buckets_.push_back(std::move(b));
    current.clear();
    bytes = elements = 0;
  };
  for (size_t k = params_.size(); k-- > 0;) {
    const Tensor& p = params_[k];
    if (!current.empty()) {
      const Tensor& first = params_[current[0]];
      if (first.dtype() != p.dtype() || first.device() != p.device() || bytes >= cap) close();
    }
    bucket_of_[k] = bucket_params_.size();
    offset_in_bucket_[k] = static_cast<size_t>(elements);
    current.push_back(k);
    elements += p.numel();
    bytes += p.numel() * itemsize(p.dtype());
  }
  close();
  ready_.assign(params_.size(), false);
  used_.assign(params_.size(), false);
}

Reducer::~Reducer() {
  for (size_t i = 0; i < params_.size() && i < hook_ids_.size(); ++i)
    autograd::remove_post_accumulate_grad_hook(params_[i], hook_ids_[i]);
}

void Reducer::install_hooks() {
  std::weak_ptr<Reducer> self = weak_from_this();
  for (size_t i = 0; i < params_.size(); ++i) {
    hook_ids_.push_back(autograd::register_post_accumulate_grad_hook(params_[i], [self, i](const Tensor&) {
      if (auto r = self.lock()) r->on_gradient(i);
    }));
  }
}

void Reducer::prepare_for_backward(const std::vector<Tensor>& outputs) {
  for (auto& b : buckets_) {
    LAMINA_CHECK(b->work == nullptr, ValueError, kOp,
                 "the previous iteration's reduction did not finish (its backward raised, or ran without "
                 "reaching every parameter)");
    b->pending = 0;
  }
  for (size_t k = 0; k < params_.size(); ++k) {
    ready_[k] = false;
    used_[k] = false;
    buckets_[bucket_of_[k]]->pending++;
  }
  next_to_launch_ = 0;
  callback_queued_ = false;
  armed_ = true;
  if (!options_.find_unused_parameters) return;
  // The leaves the outputs' graphs reach: every other parameter gets no gradient this time.
  std::unordered_set<const autograd::Node*> reached;
  std::vector<autograd::Node*> stack;
  for (const Tensor& out : outputs) {
    auto e = autograd::edge_of(out);
    if (e.fn && reached.insert(e.fn.get()).second) stack.push_back(e.fn.get());
  }
  while (!stack.empty()) {
    autograd::Node* n = stack.back();
    stack.pop_back();
    for (const auto& e : n->next_edges)
      if (e.fn && reached.insert(e.fn.get()).second) stack.push_back(e.fn.get());
  }
  for (size_t k = 0; k < params_.size(); ++k)
    if (!reached.count(autograd::edge_of(params_[k]).fn.get())) mark_ready(k, false);
}

void Reducer::on_gradient(size_t index) {
  if (!armed_) return;  // no_sync, or a backward not prepared by a forward: gradients stay local
  LAMINA_CHECK(!ready_[index], AutogradError, kOp, "parameter ", names_.empty() ? std::to_string(index) : names_[index],
               " got its gradient twice in one backward (reused across a checkpoint or two backward passes: "
               "use no_sync for all but the last)");
  if (!callback_queued_) {
    callback_queued_ = true;
    std::weak_ptr<Reducer> self = weak_from_this();
    autograd::queue_callback([self] {
      if (auto r = self.lock()) r->finalize();
    });
  }
  mark_ready(index, true);
}

Tensor Reducer::slot(size_t k) const {
  const auto at = static_cast<int64_t>(offset_in_bucket_[k]);
  return buckets_[bucket_of_[k]]->flat.slice(0, at, at + params_[k].numel()).view(params_[k].shape());
}

void Reducer::mark_ready(size_t k, bool from_hook) {
  Bucket& b = *buckets_[bucket_of_[k]];
  const Tensor part = slot(k);
  autograd::NoGradGuard no_grad;
  const Tensor g = autograd::grad(params_[k]);
  if (from_hook && g.defined()) {
    copy_(part, g);
    used_[k] = true;
  } else {
    zero_(part);
  }
  ready_[k] = true;
  if (--b.pending == 0) launch_ready_buckets();
}

void Reducer::launch_ready_buckets() {
  while (next_to_launch_ < buckets_.size() && buckets_[next_to_launch_]->pending == 0) {
    Bucket& b = *buckets_[next_to_launch_];
    b.work = group_->all_reduce(b.flat, ReduceOp::AVG);
    ++next_to_launch_;
  }
}

void Reducer::finalize() {
  armed_ = false;
  std::vector<size_t> missing;
  for (size_t k = 0; k < params_.size(); ++k)
    if (!ready_[k]) missing.push_back(k);
  // Every rank issues every bucket's all_reduce even when this one lacks gradients, so the
  // others are not left waiting; the error comes after.
  for (size_t k : missing) mark_ready(k, false);
  launch_ready_buckets();
  // Which parameters some rank used: those no rank used keep their .grad as it was.
  Tensor used_anywhere;
  if (options_.find_unused_parameters) {
    used_anywhere = Tensor::empty({static_cast<int64_t>(params_.size())}, Dtype::Int32);
    auto* u = used_anywhere.data<int32_t>();
    for (size_t k = 0; k < params_.size(); ++k) u[k] = used_[k] ? 1 : 0;
    group_->all_reduce(used_anywhere, ReduceOp::MAX)->wait();
  }
  std::exception_ptr failure;
  for (auto& b : buckets_) {
    try {
      if (b->work) b->work->wait();
    } catch (...) {
      if (!failure) failure = std::current_exception();
    }
    b->work = nullptr;
  }
  if (failure) std::rethrow_exception(failure);
  if (!missing.empty() && !options_.find_unused_parameters) {
    std::string list;
    for (size_t i = 0; i < missing.size() && i < 8; ++i)
      list += (i ? ", " : "") + (names_.empty() ? std::to_string(missing[i]) : names_[missing[i]]);
    if (missing.size() > 8) list += ", ...";
    LAMINA_THROW(ValueError, kOp, missing.size(), " parameter(s) received no gradient in this backward (", list,
                 "): the forward did not use them. Pass find_unused_parameters=True, or make every parameter "
                 "take part in the loss.");
  }
  autograd::NoGradGuard no_grad;
  for (size_t k = 0; k < params_.size(); ++k) {
    if (options_.find_unused_parameters && used_anywhere.data<int32_t>()[k] == 0) continue;
    const Tensor part = slot(k);
    const Tensor g = autograd::grad(params_[k]);
    if (g.defined() && g.shape() == params_[k].shape()) {
      copy_(g, part);
    } else {
      autograd::set_grad(params_[k], part.clone());
    }
  }
}

void broadcast_coalesced(const std::vector<Tensor>& tensors, const std::shared_ptr<ProcessGroup>& group, int root) {
  if (group->size() == 1) return;
  autograd::NoGradGuard no_grad;
  // One flat buffer per dtype, in the tensors' order.
  std::vector<Dtype> dtypes;
  for (const Tensor& t : tensors)
    if (std::find(dtypes.begin(), dtypes.end(), t.dtype()) == dtypes.end()) dtypes.push_back(t.dtype());
  for (Dtype dt : dtypes) {
    int64_t total = 0;
    for (const Tensor& t : tensors)
      if (t.dtype() == dt) total += t.numel();
    Tensor flat = Tensor::empty({total}, dt, tensors.empty() ? kCPU : tensors[0].device());
    int64_t at = 0;
    for (const Tensor& t : tensors) {
      if (t.dtype() != dt) continue;
      copy_(flat.slice(0, at, at + t.numel()).view(t.shape()), t);
      at += t.numel();
    }
    group->broadcast(flat, root)->wait();
    at = 0;
    for (const Tensor& t : tensors) {
      if (t.dtype() != dt) continue;
      copy_(t, flat.slice(0, at, at + t.numel()).view(t.shape()));
      at += t.numel();
    }
  }
}

DistributedDataParallel::DistributedDataParallel(std::shared_ptr<nn::Module> module, const DDPOptions& options)
    : nn::Module("DistributedDataParallel"), module_(std::move(module)), options_(options) {
  LAMINA_CHECK(module_ != nullptr, ValueError, kOp, "needs a module");
  if (!options_.group && is_initialized()) options_.group = default_group();
  LAMINA_CHECK(options_.group != nullptr, ValueError, kOp,
               "the default process group is not initialized: call init_process_group first");
  register_module("module", module_);
  std::vector<Tensor> state = module_->parameters();
  for (const Tensor& b : module_->buffers()) state.push_back(b);
  broadcast_coalesced(state, options_.group, 0);
  std::vector<std::string> names;
  for (const auto& [name, t] : module_->named_parameters()) names.push_back(name);
  reducer_ = Reducer::create(module_->parameters(), names, options_.group, options_);
}

Tensor DistributedDataParallel::forward(const Tensor& input) {
  if (options_.broadcast_buffers && is_training() && autograd::grad_mode_enabled()) {
    const auto buffers = module_->buffers();
    if (!buffers.empty()) broadcast_coalesced(buffers, options_.group, 0);
  }
  Tensor out = module_->forward(input);
  if (sync_ && autograd::grad_mode_enabled()) reducer_->prepare_for_backward({out});
  return out;
}

}  // namespace lamina::distributed

namespace lamina::distributed {

Tensor all_reduce_differentiable(const Tensor& tensor, const std::shared_ptr<ProcessGroup>& group) {
  LAMINA_CHECK(group != nullptr, ValueError, "all_reduce", "needs a process group");
  Tensor out;
  {
    autograd::NoGradGuard no_grad;
    out = tensor.clone();
  }
  group->all_reduce(out, ReduceOp::SUM)->wait();
  if (autograd::needs_grad({&tensor})) {
    autograd::record("AllReduceBackward", out, {&tensor}, [group](const Tensor& g) -> std::vector<Tensor> {
      Tensor summed;
      {
        autograd::NoGradGuard no_grad;
        summed = g.contiguous().clone();
      }
      group->all_reduce(summed, ReduceOp::SUM)->wait();
      return {summed};
    });
  }
  return out;
}

}  // namespace lamina::distributed
