#include "lamina/autograd/autograd.h"

#include <atomic>


namespace lamina::autograd {
namespace {

thread_local bool t_grad_mode = true;
thread_local Node* t_applying_node = nullptr;
std::atomic<uint64_t> g_next_sequence{0};

AutogradMeta* meta(const Tensor& t) { return t.impl()->autograd.get(); }

AutogradMeta& ensure_meta(const Tensor& t) {
  auto& slot = t.impl()->autograd;
  if (!slot) {
    slot = std::make_shared<AutogradMeta>();
    detail::g_any_autograd.store(true, std::memory_order_relaxed);
  }
  return *slot;
}

}  // namespace

std::atomic<bool> detail::g_any_autograd{false};

Edge edge_of(const Tensor& t) {
  AutogradMeta* m = t.defined() ? t.impl()->autograd.get() : nullptr;
  if (m == nullptr || !m->requires_grad) return {};
  if (m->grad_fn) return {m->grad_fn, 0};
  if (!m->grad_accumulator) {
    auto acc = std::make_shared<AccumulateGrad>();
    acc->leaf = t.impl();
    acc->sequence_nr = g_next_sequence.fetch_add(1);
    m->grad_accumulator = acc;
  }
  return {m->grad_accumulator, 0};
}

namespace {


// A backward rule given as a function.
struct FunctionNode : Node {
  std::string node_name;
  BackwardFn fn;
  AddIntoFn add_fn;
  std::vector<Tensor> apply(const Tensor& grad_output) override { return fn(grad_output); }
  std::string name() const override { return node_name; }
  void release() override {
    fn = nullptr;
    add_fn = nullptr;
  }
  bool add_into(const Tensor& grad_output, Tensor& into) override { return add_fn && add_fn(grad_output, into); }
};

void attach(const char* name, const Tensor& output, std::vector<Edge> edges, BackwardFn fn) {
  auto node = std::make_shared<FunctionNode>();
  node->node_name = name;
  node->fn = std::move(fn);
  node->next_edges = std::move(edges);
  node->sequence_nr = g_next_sequence.fetch_add(1);
  AutogradMeta& m = ensure_meta(output);
  m.requires_grad = true;
  m.grad_fn = std::move(node);
  m.grad_accumulator = nullptr;
}

}  // namespace

SavedTensor::SavedTensor(const Tensor& t, bool is_output) {
  if (!t.defined()) return;
  version_ = t.version();
  if (is_output) {
    tensor_ = detach(t);  // an output saved in its own node would own that node: a cycle
    is_output_ = true;
  } else {
    tensor_ = t;
  }
}

Tensor SavedTensor::get(const char* node_name) const {
  if (!tensor_.defined()) return tensor_;
  LAMINA_CHECK(tensor_.version() == version_, AutogradError, "backward",
               "one of the tensors needed for gradient computation by ", node_name,
               " has been modified by an in-place operation (its version is ", tensor_.version(), "; expected ",
               version_, "); use the out-of-place op or clone() before modifying it");
  if (is_output_ && t_grad_mode && t_applying_node != nullptr) {
    // create_graph: the output as its own node's tensor again (a fresh alias, no cycle kept).
    Tensor alias = detach(tensor_);
    AutogradMeta& m = ensure_meta(alias);
    m.requires_grad = true;
    m.grad_fn = t_applying_node->shared_from_this();
    return alias;
  }
  return tensor_;
}

Node* applying_node() { return t_applying_node; }
void set_applying_node(Node* node) { t_applying_node = node; }

bool grad_mode_enabled() { return t_grad_mode; }
void set_grad_mode(bool enabled) { t_grad_mode = enabled; }

bool requires_grad(const Tensor& t) {
  AutogradMeta* m = t.defined() ? meta(t) : nullptr;
  return m != nullptr && m->requires_grad;
}

void set_requires_grad(const Tensor& t, bool value) {
  LAMINA_CHECK(t.defined(), ValueError, "requires_grad_", "undefined tensor");
  AutogradMeta* m = meta(t);
  if (m != nullptr && m->grad_fn) {
    LAMINA_CHECK(value, AutogradError, "requires_grad_",
                 "you can only change requires_grad of leaf tensors; use detach() to get a tensor outside the graph");
    return;
  }
  LAMINA_CHECK(!value || is_floating(t.dtype()), DTypeError, "requires_grad_",
               "only floating-point tensors can require gradients, got ", describe(t));
  if (!value && m == nullptr) return;
  ensure_meta(t).requires_grad = value;
}

Tensor grad(const Tensor& t) {
  AutogradMeta* m = t.defined() ? meta(t) : nullptr;
  return m != nullptr ? m->grad : Tensor();
}

void set_grad(const Tensor& t, const Tensor& g) {
  LAMINA_CHECK(t.defined(), ValueError, "grad", "undefined tensor");
  if (g.defined()) {
    LAMINA_CHECK(g.shape() == t.shape(), ShapeError, "grad", "assigned grad has shape ", g.shape(),
                 " but the tensor has shape ", t.shape());
    LAMINA_CHECK(g.dtype() == t.dtype(), DTypeError, "grad", "assigned grad has dtype ", dtype_name(g.dtype()),
                 " but the tensor has dtype ", dtype_name(t.dtype()));
    LAMINA_CHECK(g.device() == t.device(), DeviceMismatchError, "grad", "assigned grad is on ", g.device().str(),
                 " but the tensor is on ", t.device().str());
  }
  if (!g.defined() && meta(t) == nullptr) return;
  ensure_meta(t).grad = g;
}

std::shared_ptr<Node> grad_fn(const Tensor& t) {
  AutogradMeta* m = t.defined() ? meta(t) : nullptr;
  return m != nullptr ? m->grad_fn : nullptr;
}

bool is_leaf(const Tensor& t) { return grad_fn(t) == nullptr; }

void retain_grad(const Tensor& t) {
  LAMINA_CHECK(requires_grad(t), AutogradError, "retain_grad",
               "can't retain_grad on a tensor that has requires_grad=False");
  if (is_leaf(t)) return;  // leaves keep their gradient anyway
  ensure_meta(t).retains_grad = true;
  grad_fn(t)->retained = t.impl();
}

void register_hook(const Tensor& t, std::function<Tensor(const Tensor&)> hook) {
  LAMINA_CHECK(requires_grad(t), AutogradError, "register_hook",
               "cannot register a hook on a tensor that doesn't require gradient");
  edge_of(t).fn->pre_hooks.push_back(std::move(hook));
}

uint64_t register_post_accumulate_grad_hook(const Tensor& t, std::function<void(const Tensor&)> hook) {
  LAMINA_CHECK(requires_grad(t) && is_leaf(t), AutogradError, "register_post_accumulate_grad_hook",
               "needs a leaf tensor that requires grad");
  static std::atomic<uint64_t> next_id{1};
  const uint64_t id = next_id.fetch_add(1);
  auto* acc = static_cast<AccumulateGrad*>(edge_of(t).fn.get());
  acc->post_hooks.emplace_back(id, std::move(hook));
  return id;
}

void remove_post_accumulate_grad_hook(const Tensor& t, uint64_t id) {
  AutogradMeta* m = t.defined() ? t.impl()->autograd.get() : nullptr;
  if (m == nullptr || !m->grad_accumulator) return;
  auto& hooks = static_cast<AccumulateGrad*>(m->grad_accumulator.get())->post_hooks;
  std::erase_if(hooks, [id](const auto& h) { return h.first == id; });
}

Tensor detach(const Tensor& t) {
  Tensor d = Tensor::make_view(t.storage(), t.shape(), t.strides(), t.storage_offset(), t.dtype());
  return d;
}

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!any_autograd() || !t_grad_mode) return false;
  for (const Tensor* t : inputs)
    if (t->defined() && requires_grad(*t)) return true;
  return false;
}

void record(const char* name, const Tensor& output, std::initializer_list<const Tensor*> inputs, BackwardFn fn) {
  std::vector<Edge> edges;
  edges.reserve(inputs.size());
  for (const Tensor* t : inputs) edges.push_back(edge_of(*t));
  attach(name, output, std::move(edges), std::move(fn));
}

void record(const char* name, const Tensor& output, const std::vector<Tensor>& inputs, BackwardFn fn) {
  std::vector<Edge> edges;
  edges.reserve(inputs.size());
  for (const Tensor& t : inputs) edges.push_back(edge_of(t));
  attach(name, output, std::move(edges), std::move(fn));
}

void record_view(const char* name, const Tensor& output, const Tensor& base, BackwardFn fn, AddIntoFn add_into) {
  record(name, output, {&base}, std::move(fn));
  AutogradMeta& m = ensure_meta(output);
  m.is_view = true;
  if (add_into && m.grad_fn) static_cast<FunctionNode&>(*m.grad_fn).add_fn = std::move(add_into);
}

void rebase_history(const Tensor& t, const Tensor& result) {
  AutogradMeta* r = meta(result);
  if (r == nullptr || !r->grad_fn) return;
  AutogradMeta& m = ensure_meta(t);
  m.requires_grad = true;
  m.grad_fn = r->grad_fn;
  m.grad_accumulator = nullptr;
}

void mark_parameter(const Tensor& t) {
  LAMINA_CHECK(t.defined(), ValueError, "Parameter", "undefined tensor");
  ensure_meta(t).is_parameter = true;
}

bool is_parameter(const Tensor& t) {
  AutogradMeta* m = t.defined() ? meta(t) : nullptr;
  return m != nullptr && m->is_parameter;
}

bool check_inplace(const Tensor& t, const char* op) {
  if (!t_grad_mode) return false;
  AutogradMeta* m = meta(t);
  if (m == nullptr || !m->requires_grad) return false;
  LAMINA_CHECK(m->grad_fn != nullptr, AutogradError, op,
               "a leaf tensor that requires grad is being used in an in-place operation; wrap it in no_grad() "
               "or use the out-of-place op");
  LAMINA_CHECK(!m->is_view, AutogradError, op,
               "in-place operation on a view of a tensor that requires grad; its base would not see the change "
               "in backward: clone() the view first, or use the out-of-place op");
  return true;
}

}  // namespace lamina::autograd
