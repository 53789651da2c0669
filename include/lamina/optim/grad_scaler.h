#pragma once
// Loss scaling for float16 training with torch.amp.GradScaler's semantics: scale the loss so that
// small float16 gradients do not flush to zero, unscale the gradients before the optimizer step,
// skip steps whose gradients overflowed, and adapt the scale. python/lamina/amp.py wraps it.
#include <cstdint>
#include <functional>
#include <optional>
#include <unordered_map>
#include <vector>

#include "lamina/core/tensor.h"
#include "lamina/optim/optimizer.h"

namespace lamina::optim {

/// GradScaler::state_dict(): torch's keys "scale", "growth_factor", "backoff_factor",
/// "growth_interval" and "_growth_tracker".
struct GradScalerState {
  /// The scale (the constructor's init_scale until the first scale(), then float32-rounded).
  double scale = 65536.0;
  /// The factor the scale grows by.
  double growth_factor = 2.0;
  /// The factor the scale shrinks by after inf/NaN gradients.
  double backoff_factor = 0.5;
  /// Finite steps in a row before the scale grows.
  int64_t growth_interval = 2000;
  /// Finite steps in a row so far (torch's "_growth_tracker").
  int64_t growth_tracker = 0;
};

/// Where an optimizer stands since the last update() (torch's OptState: READY, UNSCALED, STEPPED).
enum class ScalerStage : uint8_t { Ready, Unscaled, Stepped };

/// Loss scaling for float16 training (torch.amp.GradScaler): each iteration
/// `scale(loss)` + backward, optionally `unscale_(opt)` (e.g. before clipping), `step(opt)` (steps
/// only when every gradient is finite), `update()`. A disabled scaler passes everything through.
/// Misuse (a second unscale_, a step before any scale, ...) raises ValueError with torch's message.
class GradScaler {
 public:
  /// Identifies an optimizer in the records kept until update(): an Optimizer's address, or any
  /// value unique among the optimizers in use (the Python wrapper passes id(optimizer)).
  using OptimizerKey = std::uintptr_t;

  /// A scaler whose scale starts at `init_scale`; ValueError (when enabled) unless
  /// growth_factor > 1 and backoff_factor < 1.
  explicit GradScaler(double init_scale = 65536.0, double growth_factor = 2.0, double backoff_factor = 0.5,
                      int64_t growth_interval = 2000, bool enabled = true);
  /// Not copyable: a copy would share the scale tensor.
  GradScaler(const GradScaler&) = delete;
  /// Not copyable: a copy would share the scale tensor.
  GradScaler& operator=(const GradScaler&) = delete;
  /// Moves the scale, settings and records.
  GradScaler(GradScaler&&) = default;
  /// Moves the scale, settings and records.
  GradScaler& operator=(GradScaler&&) = default;

  /// False when constructed with enabled = false.
  bool is_enabled() const { return enabled_; }
  /// `outputs` times the float32 scale (a 0-d tensor, created on outputs' device at the first call
  /// and copied to other devices); `outputs` itself when disabled.
  Tensor scale(const Tensor& outputs);
  /// Each tensor of `outputs` times the scale.
  std::vector<Tensor> scale(const std::vector<Tensor>& outputs);

  /// Divides every gradient of `optimizer` by the scale in place and records whether one was
  /// inf/NaN; at most once per optimizer between update() calls (ValueError otherwise).
  void unscale_(Optimizer& optimizer);
  /// Unscales `optimizer` unless unscale_ ran, then calls optimizer.step() only when every gradient
  /// was finite; returns whether it stepped (always steps when disabled).
  bool step(Optimizer& optimizer);
  /// The scale for the next iteration: times backoff_factor after inf/NaN gradients (tracker reset),
  /// times growth_factor after growth_interval finite steps in a row (kept only when finite in
  /// float32); forgets the per-optimizer records.
  void update();
  /// Sets the scale to `new_scale` (finite and > 0, else ValueError) and forgets the records.
  void update(double new_scale);
  /// Sets the scale to the value of a 1-element tensor that does not require grad.
  void update(const Tensor& new_scale);

  /// Divides `grads` by the scale in place (the reciprocal taken in float64, rounded once to
  /// float32) and returns a 0-d bool tensor, true when some gradient held an inf/NaN before, on the
  /// first gradient's device; undefined when `grads` is empty. Nothing is read on the host. All
  /// gradients are checked first: ValueError for float16 ones unless allow_fp16.
  Tensor unscale_grads(const std::vector<Tensor>& grads, bool allow_fp16 = false) const;
  /// unscale_ for an optimizer of any kind, known by `key`, whose gradients are `grads`.
  void unscale_(OptimizerKey key, const std::vector<Tensor>& grads);
  /// step for an optimizer of any kind, known by `key`: unscales `grads` unless unscale_ ran, then
  /// calls `optimizer_step` only when every gradient was finite (one host read of the flag).
  bool step(OptimizerKey key, const std::vector<Tensor>& grads, const std::function<void()>& optimizer_step);
  /// The stage of the optimizer known by `key` (Ready when not seen since the last update()).
  ScalerStage stage(OptimizerKey key) const;
  /// True when an inf check (an unscale_ over at least one gradient) is recorded for `key`.
  bool has_inf_check(OptimizerKey key) const;
  /// True when an inf check is recorded for some optimizer (update() needs one).
  bool has_inf_checks() const;
  /// True once scale() created the scale tensor (unscale_, step and update need it).
  bool is_initialized() const { return scale_.defined(); }
  /// The 0-d float32 scale tensor (undefined before the first scale()).
  const Tensor& scale_tensor() const { return scale_; }

  /// The current scale (init_scale before the first scale(); 1.0 when disabled).
  double get_scale() const;
  /// Finite steps in a row since the last growth or backoff (0 when disabled).
  int64_t growth_tracker() const;
  /// The factor the scale grows by.
  double get_growth_factor() const { return growth_factor_; }
  /// Sets the growth factor (ValueError unless > 1).
  void set_growth_factor(double factor);
  /// The factor the scale shrinks by after inf/NaN gradients.
  double get_backoff_factor() const { return backoff_factor_; }
  /// Sets the backoff factor (ValueError unless < 1).
  void set_backoff_factor(double factor);
  /// Finite steps in a row before the scale grows.
  int64_t get_growth_interval() const { return growth_interval_; }
  /// Sets the growth interval.
  void set_growth_interval(int64_t interval) { growth_interval_ = interval; }

  /// The scale, factors, interval and tracker; nullopt when disabled (torch's empty dict).
  std::optional<GradScalerState> state_dict() const;
  /// Restores a state_dict(): nothing when disabled; ValueError for nullopt (saved from a disabled
  /// scaler) or an invalid state (scale not finite and > 0, growth_factor <= 1, backoff_factor >= 1,
  /// negative tracker), checked before anything changes.
  void load_state_dict(const std::optional<GradScalerState>& state);

 private:
  struct Record {
    ScalerStage stage = ScalerStage::Ready;
    Tensor found_inf;                 // 0-d bool, undefined when no gradient was checked
    std::optional<bool> found_value;  // found_inf read on the host (once, by step or update)
  };

  void check_initialized(const char* what) const;
  void set_scale_value(double value);
  bool read_found(Record& record);

  bool enabled_;
  double init_scale_;
  double growth_factor_;
  double backoff_factor_;
  int64_t growth_interval_;
  int64_t growth_tracker_ = 0;
  Tensor scale_;             // 0-d float32 on the device of the first scaled output
  float scale_value_ = 0.f;  // scale_'s value, kept on the host (only the host changes it)
  std::unordered_map<OptimizerKey, Record> records_;
};

}  // namespace lamina::optim
