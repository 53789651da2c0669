#pragma once
// Automatic mixed precision (torch.autocast): thread-local state per device type, the RAII
// guard that sets it, and the one-line hook an op entry point uses to cast its operands.
//
//   Tensor matmul(const Tensor& a, const Tensor& b) {
//     LAMINA_AUTOCAST(autocast::CastPolicy::LowerPrecision, matmul, a, b);
//     ...
//
// When autocast is on for the device type of the first tensor operand, the hook calls the op
// again with the floating operands cast by the policy (through Tensor::to, so autograd records
// ToCopyBackward0 and gradients reach float32 leaves in float32) and with autocast suspended
// for that device type while the op runs, so the ops it calls are not cast again.
#include <atomic>
#include <cstddef>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "lamina/kernels/elementwise_table.h"
#include "lamina/core/device.h"
#include "lamina/core/dtype.h"
#include "lamina/core/tensor.h"

namespace lamina::autocast {

/// How an op under autocast treats its floating operands.
enum class CastPolicy : uint8_t {
  LowerPrecision,  ///< float32 (and the other 16-bit type) cast to the autocast dtype: GEMMs, convolutions
  Fp32,            ///< 16-bit floating operands cast up to float32: softmax, norms, losses, exp/log/pow
  Promote,         ///< all floating operands cast to the widest floating dtype among them: cat, stack
};

/// True when autocast is on for `type` on this thread (torch.is_autocast_enabled(device_type)).
bool is_enabled(DeviceType type);
/// Turns autocast on or off for `type` on this thread.
void set_enabled(DeviceType type, bool enabled);
/// The lower-precision dtype of `type` (default: bfloat16 on CPU, float16 on CUDA).
Dtype get_dtype(DeviceType type);
/// DTypeError unless `dtype` is float16 or bfloat16 (the dtypes autocast can lower to).
void check_dtype(Dtype dtype);
/// Sets the lower-precision dtype of `type`; DTypeError unless float16 or bfloat16.
void set_dtype(DeviceType type, Dtype dtype);
/// True when casts of float32 leaves that require grad are cached within a region (default on).
bool is_cache_enabled();
/// Turns the cast cache on or off on this thread.
void set_cache_enabled(bool enabled);
/// Enters an autocast region; returns the new nesting depth of this thread.
int increment_nesting();
/// Leaves an autocast region; returns the new depth (the caller clears the cache at 0).
int decrement_nesting();
/// Drops every cached cast of this thread.
void clear_cache();
/// Number of cached casts on this thread.
size_t cache_size();

/// Sets the autocast state of one device type for its lifetime and restores the previous
/// state at exit; leaving the outermost region clears the cast cache (torch.autocast).
class AutocastGuard {
 public:
  /// dtype absent: keep the current dtype of `type`. DTypeError for an enabled region with a
  /// dtype other than float16 / bfloat16 (a disabled one ignores such a dtype, as torch).
  explicit AutocastGuard(DeviceType type, std::optional<Dtype> dtype = std::nullopt, bool enabled = true,
                         bool cache_enabled = true);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  DeviceType type_;
  bool prev_enabled_;
  Dtype prev_dtype_;
  bool prev_cache_enabled_;
};

/// Suspends autocast for one device type on this thread for its lifetime, without changing
/// what is_enabled reports (the state inside an op that autocast already cast for).
class ExcludeGuard {
 public:
  /// Suspends autocast for `type`.
  explicit ExcludeGuard(DeviceType type);
  ~ExcludeGuard();
  ExcludeGuard(const ExcludeGuard&) = delete;
  ExcludeGuard& operator=(const ExcludeGuard&) = delete;

 private:
  DeviceType type_;
};

/// What one op call under autocast casts its operands to.
struct CastPlan {
  DeviceType device;  ///< the autocast device type whose tensors are cast
  CastPolicy policy;  ///< the op's policy
  Dtype target;       ///< the dtype eligible operands are cast to
};

/// True for the elementwise ops torch's autocast runs in float32 (exp, log, pow, ...): the rows
/// of kernels/elementwise_table.h with autocast Fp32.
constexpr bool is_fp32_op(std::string_view name) {
#define LAMINA_FP32_ROW(op, kind, types, Fn, BoolFn, grad, autocast, ...) \
  if (LAMINA_IS_FP32_##autocast && name == #op) return true;
#define LAMINA_IS_FP32_Fp32 true
#define LAMINA_IS_FP32_Keep false
  LAMINA_UNARY_TABLE(LAMINA_FP32_ROW)
  LAMINA_BINARY_TABLE(LAMINA_FP32_ROW)
#undef LAMINA_FP32_ROW
#undef LAMINA_IS_FP32_Fp32
#undef LAMINA_IS_FP32_Keep
  return false;
}

/// True when `t` takes part in autocast for `type`: defined, floating, not float64, on `type`.
bool is_eligible(const Tensor& t, DeviceType type);
/// `t` cast by the plan (unchanged when not eligible or already of the target dtype); casts of
/// float32 leaves that require grad to the lower dtype are cached until the region ends.
Tensor cast(const CastPlan& plan, const Tensor& t);

namespace detail {

/// True once any thread has turned autocast on (never reset): until then an op's hook is one load.
extern std::atomic<bool> ever_enabled;
/// True when autocast is on and not suspended for some device type on this thread.
bool any_active();
/// True when autocast is on and not suspended for `type` on this thread.
bool active(DeviceType type);

inline void first_device(std::optional<DeviceType>& out, const Tensor& t) {
  if (!out && t.defined()) out = t.device().type;
}
inline void first_device(std::optional<DeviceType>& out, const std::vector<Tensor>& ts) {
  for (const Tensor& t : ts) first_device(out, t);
}
inline void first_device(std::optional<DeviceType>& out, const std::optional<Tensor>& t) {
  if (t) first_device(out, *t);
}
template <class T>
void first_device(std::optional<DeviceType>&, const T&) {}

inline void widest(std::optional<Dtype>& out, DeviceType type, const Tensor& t) {
  if (t.defined() && t.device().type == type && is_floating(t.dtype()))
    out = out ? promote_types(*out, t.dtype()) : t.dtype();
}
inline void widest(std::optional<Dtype>& out, DeviceType type, const std::vector<Tensor>& ts) {
  for (const Tensor& t : ts) widest(out, type, t);
}
inline void widest(std::optional<Dtype>& out, DeviceType type, const std::optional<Tensor>& t) {
  if (t) widest(out, type, *t);
}
template <class T>
void widest(std::optional<Dtype>&, DeviceType, const T&) {}

inline Tensor cast_arg(const CastPlan& plan, const Tensor& t) { return cast(plan, t); }
inline std::vector<Tensor> cast_arg(const CastPlan& plan, const std::vector<Tensor>& ts) {
  std::vector<Tensor> out;
  out.reserve(ts.size());
  for (const Tensor& t : ts) out.push_back(cast(plan, t));
  return out;
}
inline std::optional<Tensor> cast_arg(const CastPlan& plan, const std::optional<Tensor>& t) {
  return t ? std::optional<Tensor>(cast(plan, *t)) : std::nullopt;
}
template <class T>
requires(!std::is_same_v<T, Tensor> && !std::is_same_v<T, std::vector<Tensor>> &&
         !std::is_same_v<T, std::optional<Tensor>>) const T& cast_arg(const CastPlan&, const T& v) {
  return v;
}

/// The plan for an op of `policy` called with `args`, or nothing when autocast does not apply
/// (off or suspended for the device type of the first defined tensor operand, or no tensor).
template <class... Args>
std::optional<CastPlan> plan(CastPolicy policy, const Args&... args) {
  if (!ever_enabled.load(std::memory_order_relaxed) || !any_active()) return std::nullopt;
  std::optional<DeviceType> device;
  (first_device(device, args), ...);
  if (!device || !active(*device)) return std::nullopt;
  Dtype target = Dtype::Float32;
  if (policy == CastPolicy::LowerPrecision) {
    target = get_dtype(*device);
  } else if (policy == CastPolicy::Promote) {
    std::optional<Dtype> wide;
    (widest(wide, *device, args), ...);
    target = wide.value_or(Dtype::Float32);
  }
  return CastPlan{*device, policy, target};
}

/// Calls `fn` with the operands cast by `plan`, autocast suspended for the plan's device type.
template <class Fn, class... Args>
decltype(auto) redispatch(const CastPlan& plan, Fn&& fn, const Args&... args) {
  ExcludeGuard exclude(plan.device);
  return std::forward<Fn>(fn)(cast_arg(plan, args)...);
}

}  // namespace detail

}  // namespace lamina::autocast

/// The autocast hook of an op entry point: `LAMINA_AUTOCAST(policy, op, every argument...);` as
/// the op's first statement returns op(arguments cast by policy) when autocast applies.
#define LAMINA_AUTOCAST(policy, fn, ...)                                                                          \
  if (const auto lamina_autocast_plan_ = ::lamina::autocast::detail::plan(policy, __VA_ARGS__))                   \
  return ::lamina::autocast::detail::redispatch(                                                                  \
      *lamina_autocast_plan_, [&](const auto&... lamina_autocast_args_) { return fn(lamina_autocast_args_...); }, \
      __VA_ARGS__)
