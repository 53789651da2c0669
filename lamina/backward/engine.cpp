// The backward pass: nodes run once all their consumers have run (dependency counts), the
// most recently created ready node first, so gradients flow in reverse creation order.
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "lamina/autograd/autograd.h"
#include "lamina/ops/creation.h"
#include "lamina/ops/elementwise.h"
#include "lamina/runtime/profiler.h"

namespace lamina::autograd {
namespace {

struct ByLatest {
  bool operator()(const Node* a, const Node* b) const { return a->sequence_nr < b->sequence_nr; }
};

// Grad mode for the duration of a backward: rules record only when building a graph of grads.
class GradModeScope {
 public:
  explicit GradModeScope(bool enabled) : previous_(grad_mode_enabled()) { set_grad_mode(enabled); }
  ~GradModeScope() { set_grad_mode(previous_); }

 private:
  bool previous_;
};

// A gradient to keep as a .grad: the tensor itself when nothing else holds it or its memory
// (a fresh, dense result, as most are), else a copy, so .grad never aliases another tensor.
Tensor owned_copy(Tensor g) {
  const bool sole = g.impl().use_count() == 1 && g.storage().use_count() == 1 && g.is_contiguous() &&
                    g.impl()->autograd == nullptr;
  return sole ? g : g.clone();
}

Tensor accumulate(const Tensor& into, const Tensor& g) { return into.defined() ? add(into, g) : g; }

// True when only the engine's pending map holds t and its memory, so it may be added into in
// place (Node::add_into).
bool engine_owned(const Tensor& t) {
  return t.defined() && t.impl().use_count() == 1 && t.storage().use_count() == 1 && t.impl()->autograd == nullptr;
}

// The callbacks queued during each backward running on this thread (innermost last).
thread_local std::vector<std::vector<std::function<void()>>> t_callbacks;

// Marks one backward on this thread; its queued callbacks run when it ends normally.
struct CallbackScope {
  CallbackScope() { t_callbacks.emplace_back(); }
  ~CallbackScope() { t_callbacks.pop_back(); }
  void run_queued() {
    // A callback may queue another: run until none is left.
    for (size_t i = 0; i < t_callbacks.back().size(); ++i) {
      auto cb = t_callbacks.back()[i];
      cb();
    }
  }
};

// Runs the graph from `roots` seeded with `seeds`. With `captures` (autograd.grad), the
// gradient arriving at each captured node is stored there and leaves' .grad is left alone.
void run(const std::vector<Edge>& roots, const std::vector<Tensor>& seeds, bool retain_graph, bool create_graph,
         std::unordered_map<Node*, Tensor>* captures) {
  std::unordered_map<Node*, int> dependencies;
  std::unordered_set<Node*> seen;
  std::vector<Node*> stack;
  for (const Edge& e : roots)
    if (e.fn && seen.insert(e.fn.get()).second) stack.push_back(e.fn.get());
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const Edge& e : n->next_edges) {
      if (!e.fn) continue;
      dependencies[e.fn.get()]++;
      if (seen.insert(e.fn.get()).second) stack.push_back(e.fn.get());
    }
  }

  std::unordered_map<Node*, Tensor> pending;
  for (size_t i = 0; i < roots.size(); ++i)
    if (roots[i].fn) pending[roots[i].fn.get()] = accumulate(pending[roots[i].fn.get()], seeds[i]);
  std::priority_queue<Node*, std::vector<Node*>, ByLatest> ready;
  std::unordered_set<Node*> queued;
  for (const Edge& e : roots)
    if (e.fn && dependencies[e.fn.get()] == 0 && queued.insert(e.fn.get()).second) ready.push(e.fn.get());

  GradModeScope mode(create_graph);
  CallbackScope callbacks;
  while (!ready.empty()) {
    Node* node = ready.top();
    ready.pop();
    profiler::OpScope profile_scope;  // one event per node, named as the node ("MulBackward0")
    if (profiler::enabled()) profile_scope.start_with(node->name(), profiler::EventKind::Backward, pending[node]);
    Tensor g = std::move(pending[node]);
    pending.erase(node);
    if (g.defined()) {
      for (const auto& hook : node->pre_hooks) {
        Tensor replaced = hook(g);
        if (replaced.defined()) g = replaced;
      }
      if (auto kept = node->retained.lock(); kept && !captures) {
        Tensor self(kept);
        auto& m = *kept->autograd;
        m.grad = m.grad.defined() ? add(m.grad, g) : (create_graph ? g : owned_copy(g));
      }
    }
    if (captures) {
      auto it = captures->find(node);
      if (it != captures->end() && g.defined()) it->second = accumulate(it->second, g);
    }
    std::vector<Tensor> grads;
    if (auto* acc = dynamic_cast<AccumulateGrad*>(node)) {
      if (!captures && g.defined()) {
        if (auto leaf = acc->leaf.lock()) {
          auto& m = *leaf->autograd;
          m.grad = m.grad.defined() ? add(m.grad, g) : (create_graph ? g : owned_copy(std::move(g)));
          if (!acc->post_hooks.empty()) {
            const Tensor self(leaf);
            const auto hooks = acc->post_hooks;  // a hook may remove itself
            for (const auto& h : hooks) h.second(self);
          }
        }
      }
    } else if (g.defined()) {
      LAMINA_CHECK(!node->released, AutogradError, "backward", "trying to backward through the graph a second time (",
                   node->name(),
                   "'s saved tensors were freed after the first backward); pass retain_graph=True "
                   "to the first backward if you need to backward twice");
      struct Applying {  // restores the previous node even when apply() throws
        Node* previous = applying_node();
        explicit Applying(Node* n) { set_applying_node(n); }
        ~Applying() { set_applying_node(previous); }
      } applying(node);
      // A slice's gradient joins its input's pending gradient in place (after the first
      // slice's), not as a zero tensor of the input's size added to it.
      bool added = false;
      if (!create_graph && node->next_edges.size() == 1 && node->next_edges[0].fn) {
        auto it = pending.find(node->next_edges[0].fn.get());
        added = it != pending.end() && engine_owned(it->second) && node->add_into(g, it->second);
      }
      if (!added) grads = node->apply(g);
      if (!retain_graph) {
        node->release();
        node->released = true;
      }
    }
    for (size_t i = 0; i < node->next_edges.size(); ++i) {
      Node* next = node->next_edges[i].fn.get();
      if (!next) continue;
      if (i < grads.size() && grads[i].defined()) pending[next] = accumulate(pending[next], grads[i]);
      if (--dependencies[next] == 0 && queued.insert(next).second) ready.push(next);
    }
  }
  callbacks.run_queued();
}

std::vector<Tensor> seeds_for(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs,
                              const char* op) {
  LAMINA_CHECK(grad_outputs.empty() || grad_outputs.size() == outputs.size(), ValueError, op, "got ",
               grad_outputs.size(), " gradients for ", outputs.size(), " outputs");
  std::vector<Tensor> seeds;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& out = outputs[i];
    LAMINA_CHECK(out.defined(), ValueError, op, "output ", i, " is an undefined tensor");
    LAMINA_CHECK(requires_grad(out), AutogradError, op, "element ", i,
                 " of tensors does not require grad and does not have a grad_fn");
    Tensor seed = grad_outputs.empty() ? Tensor() : grad_outputs[i];
    if (!seed.defined()) {
      LAMINA_CHECK(out.numel() == 1, AutogradError, op,
                   "grad can be implicitly created only for scalar outputs; pass "
                   "a gradient for ",
                   describe(out));
      seed = ones_like(out);
    } else {
      LAMINA_CHECK(seed.shape() == out.shape(), ShapeError, op, "gradient of shape ", seed.shape(),
                   " does not match output of shape ", out.shape());
      if (seed.dtype() != out.dtype()) seed = seed.to(out.dtype());
    }
    seeds.push_back(seed);
  }
  return seeds;
}

}  // namespace

void queue_callback(std::function<void()> callback) {
  LAMINA_CHECK(!t_callbacks.empty(), AutogradError, "queue_callback",
               "callbacks can be queued only while a backward runs (from a hook)");
  t_callbacks.back().push_back(std::move(callback));
}

void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs, bool retain_graph,
              bool create_graph) {
  LAMINA_PROFILE_OP("backward", outputs);
  std::vector<Tensor> seeds = seeds_for(outputs, grad_outputs, "backward");
  std::vector<Edge> roots;
  for (const Tensor& out : outputs) roots.push_back(edge_of(out));
  run(roots, seeds, retain_graph || create_graph, create_graph, nullptr);
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, bool retain_graph, bool create_graph,
                         bool allow_unused) {
  std::vector<Tensor> seeds = seeds_for(outputs, grad_outputs, "grad");
  std::unordered_map<Node*, Tensor> captures;
  std::vector<Node*> input_nodes;
  for (size_t i = 0; i < inputs.size(); ++i) {
    LAMINA_CHECK(requires_grad(inputs[i]), AutogradError, "grad", "input ", i, " does not require grad");
    Node* n = edge_of(inputs[i]).fn.get();
    input_nodes.push_back(n);
    captures.emplace(n, Tensor());
  }
  std::vector<Edge> roots;
  for (const Tensor& out : outputs) roots.push_back(edge_of(out));
  run(roots, seeds, retain_graph || create_graph, create_graph, &captures);
  std::vector<Tensor> result;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Tensor g = captures[input_nodes[i]];
    LAMINA_CHECK(g.defined() || allow_unused, AutogradError, "grad", "input ", i,
                 " was not used in the graph of the outputs; pass allow_unused=True to get None for it");
    result.push_back(g);
  }
  return result;
}

}  // namespace lamina::autograd
