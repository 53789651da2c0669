#pragma once
// Dynamic reverse-mode automatic differentiation. An op whose inputs require gradients
// records a Node on its output: the backward rule (written in lamina ops, beside the op), the
// edges to its inputs' nodes and the tensors it saved. backward() walks the graph from the
// outputs in reverse creation order, sums the gradients arriving at each node, and adds the
// leaves' gradients into their .grad.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lamina/core/tensor.h"

namespace lamina::autograd {

struct Node;

/// Where a gradient flows: input `input_nr` of node `fn` (null fn: the input needs no grad).
struct Edge {
  std::shared_ptr<Node> fn;
  int input_nr = 0;
};

/// A backward function: takes d(loss)/d(output), returns d(loss)/d(input) for each edge.
struct Node : std::enable_shared_from_this<Node> {
  virtual ~Node() = default;
  /// Gradients for each input (undefined tensors where an input gets none).
  virtual std::vector<Tensor> apply(const Tensor& grad_output) = 0;
  /// PyTorch-style name, e.g. "AddBackward0".
  virtual std::string name() const = 0;
  /// Drops saved tensors after a backward without retain_graph.
  virtual void release() {}
  /// For a node whose one input's gradient is grad_output written into part of a zero tensor
  /// (slice, select): adds grad_output into that part of `into`, the input's pending gradient
  /// (a tensor the engine alone holds), in place and returns true; false to use apply().
  virtual bool add_into(const Tensor& grad_output, Tensor& into) {
    (void)grad_output;
    (void)into;
    return false;
  }
  /// One edge per differentiable input, in input order.
  std::vector<Edge> next_edges;
  /// Creation order: later nodes run first in backward.
  uint64_t sequence_nr = 0;
  /// Set by release(): a second backward through this node is an error.
  bool released = false;
  /// Tensor hooks, run on the gradient arriving at this node (the gradient of its tensor).
  std::vector<std::function<Tensor(const Tensor&)>> pre_hooks;
  /// A non-leaf whose .grad keeps the gradient arriving here (retain_grad).
  std::weak_ptr<TensorImpl> retained;
};

/// The node of a leaf: adds the gradient arriving here into the leaf's .grad. Holds the leaf
/// weakly, so a graph does not keep parameters alive.
struct AccumulateGrad : Node {
  std::weak_ptr<TensorImpl> leaf;
  /// Hooks run after the arriving gradient was added into the leaf's .grad, with the leaf
  /// (register_post_accumulate_grad_hook), each under its id.
  std::vector<std::pair<uint64_t, std::function<void(const Tensor&)>>> post_hooks;
  std::vector<Tensor> apply(const Tensor&) override { return {}; }
  std::string name() const override { return "AccumulateGrad"; }
};

/// The edge into the graph for `t`: its grad_fn, or its AccumulateGrad for a leaf that
/// requires grad (created on first use), or an empty edge.
Edge edge_of(const Tensor& t);

/// Gradient bookkeeping of one tensor.
struct AutogradMeta {
  bool requires_grad = false;
  bool retains_grad = false;
  bool is_view = false;                       // made by a view op from a tensor in the graph
  bool is_parameter = false;                  // a module parameter (nn.Parameter in Python)
  Tensor grad;                                // accumulated gradient (leaves, or retain_grad)
  std::shared_ptr<Node> grad_fn;              // the op that made this tensor (null for leaves)
  std::shared_ptr<Node> grad_accumulator;     // leaves: the node that adds into .grad
};

/// A tensor saved for backward, with the storage version it had; get() throws if the tensor
/// was modified in place since.
class SavedTensor {
 public:
  SavedTensor() = default;
  /// Saves `t` (for an op's own output, a detached alias so the graph has no cycle).
  explicit SavedTensor(const Tensor& t, bool is_output = false);
  /// The saved tensor; ValueError if it was modified in place after being saved.
  Tensor get(const char* node_name) const;
  /// Forgets the tensor.
  void reset() { tensor_ = Tensor(); }
  /// True when a tensor is held.
  bool defined() const { return tensor_.defined(); }

 private:
  Tensor tensor_;
  uint64_t version_ = 0;
  bool is_output_ = false;
  std::shared_ptr<Node> grad_fn_;  // inputs keep their history for create_graph
};

/// The node whose backward is running on this thread, or null (set by the engine: a saved
/// output read under create_graph is re-attached to it, so second derivatives see it).
Node* applying_node();
/// Sets applying_node() for this thread; the engine's use only.
void set_applying_node(Node* node);

/// True while operations record graphs (the default; false under NoGradGuard).
bool grad_mode_enabled();

namespace detail {
/// Set (never cleared) when the first tensor gets autograd state; read through any_autograd().
extern std::atomic<bool> g_any_autograd;
}  // namespace detail
/// False until some tensor first requires grad or joins a graph: before that no op can need to
/// record, whatever the grad mode (one relaxed load, no thread-local lookup).
inline bool any_autograd() { return detail::g_any_autograd.load(std::memory_order_relaxed); }
/// Turns recording on or off for the current thread.
void set_grad_mode(bool enabled);

/// Disables recording for its lifetime (like torch.no_grad()).
class NoGradGuard {
 public:
  NoGradGuard() : previous_(grad_mode_enabled()) { set_grad_mode(false); }
  ~NoGradGuard() { set_grad_mode(previous_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

/// Enables recording for its lifetime (like torch.enable_grad()).
class EnableGradGuard {
 public:
  EnableGradGuard() : previous_(grad_mode_enabled()) { set_grad_mode(true); }
  ~EnableGradGuard() { set_grad_mode(previous_); }
  EnableGradGuard(const EnableGradGuard&) = delete;
  EnableGradGuard& operator=(const EnableGradGuard&) = delete;

 private:
  bool previous_;
};

/// True when `t` takes part in autograd (a leaf with requires_grad, or an op result of one).
bool requires_grad(const Tensor& t);
/// Marks a leaf as needing gradients; ValueError for non-leaves or non-floating dtypes.
void set_requires_grad(const Tensor& t, bool value = true);
/// The accumulated gradient (undefined when none).
Tensor grad(const Tensor& t);
/// Replaces the accumulated gradient (undefined clears it); ShapeError on a shape mismatch.
void set_grad(const Tensor& t, const Tensor& g);
/// The node that produced `t` (null for leaves and tensors outside autograd).
std::shared_ptr<Node> grad_fn(const Tensor& t);
/// True for tensors not made by a recorded op.
bool is_leaf(const Tensor& t);
/// Marks `t` as a module parameter (what Python's isinstance(t, nn.Parameter) reads).
void mark_parameter(const Tensor& t);
/// True once mark_parameter(t) ran on `t` or a tensor sharing its impl.
bool is_parameter(const Tensor& t);
/// Keeps .grad for a non-leaf during backward.
void retain_grad(const Tensor& t);
/// Adds a hook called with the gradient of `t` during backward; it may return a replacement
/// (a defined tensor) or an undefined tensor to keep the gradient.
void register_hook(const Tensor& t, std::function<Tensor(const Tensor&)> hook);
/// Adds a hook run during backward right after `t`'s gradient was accumulated into t.grad, with
/// `t` itself (torch's register_post_accumulate_grad_hook); `t` must be a leaf that requires
/// grad. Returns an id for remove_post_accumulate_grad_hook.
uint64_t register_post_accumulate_grad_hook(const Tensor& t, std::function<void(const Tensor&)> hook);
/// Removes the hook registered under `id` on `t` (no-op when absent).
void remove_post_accumulate_grad_hook(const Tensor& t, uint64_t id);
/// Runs `callback` on this thread when the backward now running ends (after its last node;
/// torch's Variable._execution_engine.queue_callback). AutogradError outside a backward.
void queue_callback(std::function<void()> callback);
/// A tensor sharing `t`'s storage, outside the graph.
Tensor detach(const Tensor& t);

/// Computes gradients of `outputs` (seeded with `grad_outputs`, or ones for scalars) and adds
/// them into the .grad of the leaves. The graph is freed unless retain_graph.
void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs = {},
              bool retain_graph = false, bool create_graph = false);
/// Returns d(outputs)/d(inputs) without touching .grad (allow_unused: undefined for unreached
/// inputs instead of an error).
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, bool retain_graph = false,
                         bool create_graph = false, bool allow_unused = false);

// ---- for op implementations ----

/// True when recording is on and one of `inputs` requires grad.
bool needs_grad(std::initializer_list<const Tensor*> inputs);

/// The backward rule of one op: `fn(grad_output)` returns one gradient per input.
using BackwardFn = std::function<std::vector<Tensor>(const Tensor&)>;

/// Attaches a node named `name` running `fn` to `output`, with edges to `inputs` (in the
/// order fn returns their gradients). Call only when needs_grad(inputs).
void record(const char* name, const Tensor& output, std::initializer_list<const Tensor*> inputs, BackwardFn fn);
/// Node::add_into given as a function.
using AddIntoFn = std::function<bool(const Tensor& grad_output, Tensor& into)>;
/// record() for a view op: the output is marked as a view (in-place ops on it are refused).
/// With `add_into`, the node's Node::add_into (views that pick part of their base).
void record_view(const char* name, const Tensor& output, const Tensor& base, BackwardFn fn, AddIntoFn add_into = {});
/// record() with the inputs given as a vector (cat, stack, einsum).
void record(const char* name, const Tensor& output, const std::vector<Tensor>& inputs, BackwardFn fn);

/// Makes `t` the output of `result`'s node (in-place ops computed out of place).
void rebase_history(const Tensor& t, const Tensor& result);

/// Raises ValueError when an in-place op would modify `t` while autograd needs it unchanged
/// (a leaf that requires grad, or a view of a tensor in the graph); returns true when the
/// in-place op must record itself on `t` (t is a non-leaf in the graph).
bool check_inplace(const Tensor& t, const char* op);

}  // namespace lamina::autograd
