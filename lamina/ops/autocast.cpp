#include "lamina/ops/autocast.h"

#include <memory>
#include <unordered_map>

#include "lamina/autograd/autograd.h"
#include "lamina/core/error.h"

namespace lamina::autocast {

namespace {

constexpr int kTypes = 2;

int index_of(DeviceType type) { return static_cast<int>(type); }

struct CachedCast {
  std::weak_ptr<TensorImpl> source;  // weak: the cache never keeps a parameter alive
  uint64_t version = 0;              // an in-place update of the source invalidates the entry
  bool with_grad = false;            // a cast made under no_grad has no ToCopyBackward0 node
  Tensor cast;
};

struct State {
  bool enabled[kTypes] = {false, false};
  Dtype dtype[kTypes] = {Dtype::BFloat16, Dtype::Float16};  // torch's defaults for CPU and CUDA
  int excluded[kTypes] = {0, 0};
  uint8_t active_mask = 0;
  bool cache_enabled = true;
  int nesting = 0;
  std::unordered_map<const TensorImpl*, CachedCast> cache;

  void refresh() {
    active_mask = 0;
    for (int i = 0; i < kTypes; ++i)
      if (enabled[i] && excluded[i] == 0) active_mask |= static_cast<uint8_t>(1u << i);
  }
};

State& state() {
  thread_local State s;
  return s;
}

bool should_cache(const Tensor& t, const CastPlan& plan) {
  return plan.policy == CastPolicy::LowerPrecision && t.dtype() == Dtype::Float32 && state().cache_enabled &&
         autograd::is_leaf(t) && autograd::requires_grad(t);
}

}  // namespace

void check_dtype(Dtype dtype) {
  LAMINA_CHECK(dtype == Dtype::BFloat16 || dtype == Dtype::Float16, DTypeError, "autocast",
               "autocast supports only float16 and bfloat16 as the lower-precision dtype, got ", dtype_name(dtype));
}

bool is_enabled(DeviceType type) { return state().enabled[index_of(type)]; }

void set_enabled(DeviceType type, bool enabled) {
  if (enabled) detail::ever_enabled.store(true, std::memory_order_relaxed);
  State& s = state();
  s.enabled[index_of(type)] = enabled;
  s.refresh();
}

Dtype get_dtype(DeviceType type) { return state().dtype[index_of(type)]; }

void set_dtype(DeviceType type, Dtype dtype) {
  check_dtype(dtype);
  state().dtype[index_of(type)] = dtype;
}

bool is_cache_enabled() { return state().cache_enabled; }

void set_cache_enabled(bool enabled) { state().cache_enabled = enabled; }

int increment_nesting() { return ++state().nesting; }

int decrement_nesting() {
  State& s = state();
  if (s.nesting > 0) --s.nesting;
  return s.nesting;
}

void clear_cache() { state().cache.clear(); }

size_t cache_size() { return state().cache.size(); }

AutocastGuard::AutocastGuard(DeviceType type, std::optional<Dtype> dtype, bool enabled, bool cache_enabled)
    : type_(type),
      prev_enabled_(is_enabled(type)),
      prev_dtype_(get_dtype(type)),
      prev_cache_enabled_(is_cache_enabled()) {
  // As torch, a disabled region accepts any dtype: it casts nothing.
  if (dtype && (enabled || *dtype == Dtype::BFloat16 || *dtype == Dtype::Float16)) set_dtype(type, *dtype);
  set_enabled(type, enabled);
  set_cache_enabled(cache_enabled);
  increment_nesting();
}

AutocastGuard::~AutocastGuard() {
  if (decrement_nesting() == 0) clear_cache();
  set_enabled(type_, prev_enabled_);
  state().dtype[index_of(type_)] = prev_dtype_;
  set_cache_enabled(prev_cache_enabled_);
}

ExcludeGuard::ExcludeGuard(DeviceType type) : type_(type) {
  State& s = state();
  ++s.excluded[index_of(type)];
  s.refresh();
}

ExcludeGuard::~ExcludeGuard() {
  State& s = state();
  --s.excluded[index_of(type_)];
  s.refresh();
}

bool is_eligible(const Tensor& t, DeviceType type) {
  return t.defined() && t.device().type == type && is_floating(t.dtype()) && t.dtype() != Dtype::Float64;
}

Tensor cast(const CastPlan& plan, const Tensor& t) {
  if (!t.defined() || t.device().type != plan.device || !is_floating(t.dtype()) || t.dtype() == plan.target) return t;
  // float64 keeps its precision under the lower-precision and fp32 policies (torch's rule);
  // only promotion widens to it.
  if (plan.policy != CastPolicy::Promote && t.dtype() == Dtype::Float64) return t;
  if (plan.policy == CastPolicy::Promote && itemsize(t.dtype()) > itemsize(plan.target)) return t;
  if (!should_cache(t, plan)) return t.to(plan.target);
  State& s = state();
  const bool grad_on = autograd::grad_mode_enabled();
  auto it = s.cache.find(t.impl().get());
  if (it != s.cache.end()) {
    const CachedCast& c = it->second;
    // A backward without retain_graph releases the cast's node; a later graph needs a fresh one.
    const auto node = autograd::grad_fn(c.cast);
    if (c.source.lock() == t.impl() && c.version == t.version() && c.cast.dtype() == plan.target &&
        (c.with_grad || !grad_on) && !(node && node->released))
      return c.cast;
  }
  Tensor out = t.to(plan.target);
  s.cache[t.impl().get()] = CachedCast{t.impl(), t.version(), grad_on, out};
  return out;
}

namespace detail {

std::atomic<bool> ever_enabled{false};

bool any_active() { return state().active_mask != 0; }

bool active(DeviceType type) { return (state().active_mask >> index_of(type)) & 1u; }

}  // namespace detail

}  // namespace lamina::autocast
