#include "lamina/optim/grad_scaler.h"

#include <cmath>
#include <utility>

#include "lamina/autograd/autograd.h"
#include "lamina/core/error.h"
#include "lamina/ops/copy.h"
#include "lamina/ops/creation.h"
#include "lamina/ops/elementwise.h"
#include "lamina/ops/reduce.h"

namespace lamina::optim {

namespace {

constexpr const char* kOp = "GradScaler";
// Doubles at or above this round to inf in float32 (FLT_MAX plus half an ulp).
constexpr double kFloat32Overflow = 3.4028235677973366e38;

void check_growth_factor(double factor) {
  LAMINA_CHECK(factor > 1.0, ValueError, kOp, "The growth factor must be > 1.0.");
}

void check_backoff_factor(double factor) {
  LAMINA_CHECK(factor < 1.0, ValueError, kOp, "The backoff factor must be < 1.0.");
}

void check_scale_value(double value) {
  LAMINA_CHECK(std::isfinite(value) && value > 0.0, ValueError, kOp, "the scale must be finite and > 0, got ", value);
}

GradScaler::OptimizerKey key_of(const Optimizer& optimizer) {
  return reinterpret_cast<GradScaler::OptimizerKey>(&optimizer);
}

// The defined gradients of the optimizer's parameters, group by group.
std::vector<Tensor> grads_of(const Optimizer& optimizer) {
  std::vector<Tensor> grads;
  for (const ParamGroup& group : optimizer.param_groups())
    for (const Tensor& p : group.params) {
      Tensor g = autograd::grad(p);
      if (g.defined()) grads.push_back(std::move(g));
    }
  return grads;
}

}  // namespace

GradScaler::GradScaler(double init_scale, double growth_factor, double backoff_factor, int64_t growth_interval,
                       bool enabled)
    : enabled_(enabled),
      init_scale_(init_scale),
      growth_factor_(growth_factor),
      backoff_factor_(backoff_factor),
      growth_interval_(growth_interval) {
  if (enabled_) {
    check_growth_factor(growth_factor);
    check_backoff_factor(backoff_factor);
  }
}

void GradScaler::check_initialized(const char* what) const {
  LAMINA_CHECK(scale_.defined(), ValueError, kOp, "Attempted ", what,
               " before the scale was created. This may indicate your script did not use "
               "scaler.scale(loss or outputs) earlier in the iteration.");
}

void GradScaler::set_scale_value(double value) {
  scale_value_ = static_cast<float>(value);
  fill_(scale_, static_cast<double>(scale_value_));
}

Tensor GradScaler::scale(const Tensor& outputs) {
  if (!enabled_) return outputs;
  LAMINA_CHECK(outputs.defined(), ValueError, kOp, "outputs must be defined tensors");
  if (!scale_.defined()) {
    scale_value_ = static_cast<float>(init_scale_);
    scale_ = full(Shape{}, static_cast<double>(scale_value_), TensorOptions{Dtype::Float32, outputs.device()});
  }
  return outputs * scale_.to(outputs.device());
}

std::vector<Tensor> GradScaler::scale(const std::vector<Tensor>& outputs) {
  std::vector<Tensor> scaled;
  scaled.reserve(outputs.size());
  for (const Tensor& t : outputs) scaled.push_back(scale(t));
  return scaled;
}

Tensor GradScaler::unscale_grads(const std::vector<Tensor>& grads, bool allow_fp16) const {
  check_initialized("unscale_grads");
  for (const Tensor& g : grads) {
    LAMINA_CHECK(g.defined(), ValueError, kOp, "undefined gradient");
    LAMINA_CHECK(allow_fp16 || g.dtype() != Dtype::Float16, ValueError, kOp, "Attempting to unscale FP16 gradients.");
    LAMINA_CHECK(is_floating(g.dtype()), DTypeError, kOp, "gradients must be floating, got ", describe(g));
  }
  if (grads.empty()) return Tensor();
  autograd::NoGradGuard no_grad;
  // The reciprocal is taken in float64, then rounded once to float32 (torch's recipe).
  const double inv_scale = static_cast<float>(1.0 / static_cast<double>(scale_value_));
  std::vector<std::pair<Device, Tensor>> finite;  // per device: every gradient there is finite
  for (const Tensor& g : grads) {
    Tensor ok = all(isfinite(g));
    auto it = finite.begin();
    while (it != finite.end() && !(it->first == g.device())) ++it;
    if (it == finite.end())
      finite.emplace_back(g.device(), std::move(ok));
    else
      it->second = logical_and(it->second, ok);
    mul_(g, inv_scale);
  }
  Tensor all_finite = finite.front().second;
  for (size_t i = 1; i < finite.size(); ++i)
    all_finite = logical_and(all_finite, finite[i].second.to(finite.front().first));
  return logical_not(all_finite);
}

ScalerStage GradScaler::stage(OptimizerKey key) const {
  auto it = records_.find(key);
  return it == records_.end() ? ScalerStage::Ready : it->second.stage;
}

bool GradScaler::has_inf_check(OptimizerKey key) const {
  auto it = records_.find(key);
  return it != records_.end() && it->second.found_inf.defined();
}

bool GradScaler::has_inf_checks() const {
  for (const auto& [key, record] : records_)
    if (record.found_inf.defined()) return true;
  return false;
}

void GradScaler::unscale_(OptimizerKey key, const std::vector<Tensor>& grads) {
  if (!enabled_) return;
  check_initialized("unscale_");
  const ScalerStage now = stage(key);
  LAMINA_CHECK(now != ScalerStage::Unscaled, ValueError, kOp,
               "unscale_() has already been called on this optimizer since the last update().");
  LAMINA_CHECK(now != ScalerStage::Stepped, ValueError, kOp, "unscale_() is being called after step().");
  Tensor found = unscale_grads(grads, false);  // throws before anything changes
  Record& record = records_[key];
  record.found_inf = std::move(found);
  record.found_value.reset();
  record.stage = ScalerStage::Unscaled;
}

void GradScaler::unscale_(Optimizer& optimizer) { unscale_(key_of(optimizer), grads_of(optimizer)); }

bool GradScaler::read_found(Record& record) {
  if (!record.found_value) record.found_value = record.found_inf.item<bool>();
  return *record.found_value;
}

bool GradScaler::step(OptimizerKey key, const std::vector<Tensor>& grads, const std::function<void()>& optimizer_step) {
  if (!enabled_) {
    optimizer_step();
    return true;
  }
  check_initialized("step");
  LAMINA_CHECK(stage(key) != ScalerStage::Stepped, ValueError, kOp,
               "step() has already been called since the last update().");
  if (stage(key) == ScalerStage::Ready) unscale_(key, grads);
  LAMINA_CHECK(has_inf_check(key), ValueError, kOp, "No inf checks were recorded for this optimizer.");
  const bool found_inf = read_found(records_.at(key));
  if (!found_inf) optimizer_step();
  // Looked up again: the step may have called back into the scaler.
  records_[key].stage = ScalerStage::Stepped;
  return !found_inf;
}

bool GradScaler::step(Optimizer& optimizer) {
  return step(key_of(optimizer), grads_of(optimizer), [&optimizer] { optimizer.step(); });
}

void GradScaler::update() {
  if (!enabled_) return;
  check_initialized("update");
  LAMINA_CHECK(has_inf_checks(), ValueError, kOp, "No inf checks were recorded prior to update.");
  bool found_inf = false;
  for (auto& [key, record] : records_)
    if (record.found_inf.defined() && read_found(record)) found_inf = true;
  const double current = scale_value_;
  if (found_inf) {
    set_scale_value(current * backoff_factor_);
    growth_tracker_ = 0;
  } else {
    const int64_t successful = growth_tracker_ + 1;
    if (successful == growth_interval_) {
      const double grown = current * growth_factor_;
      // Kept only when it stays finite once rounded to float32, as torch's kernel does.
      if (std::abs(grown) < kFloat32Overflow) set_scale_value(grown);
      growth_tracker_ = 0;
    } else {
      growth_tracker_ = successful;
    }
  }
  records_.clear();
}

void GradScaler::update(double new_scale) {
  if (!enabled_) return;
  check_initialized("update");
  check_scale_value(new_scale);
  set_scale_value(new_scale);
  records_.clear();
}

void GradScaler::update(const Tensor& new_scale) {
  if (!enabled_) return;
  check_initialized("update");
  LAMINA_CHECK(new_scale.defined() && new_scale.numel() == 1 && !autograd::requires_grad(new_scale), ValueError, kOp,
               "new_scale should be a float or a 1-element tensor with requires_grad=False.");
  update(new_scale.to(Dtype::Float32).item<double>());
}

double GradScaler::get_scale() const {
  if (!enabled_) return 1.0;
  return scale_.defined() ? static_cast<double>(scale_value_) : init_scale_;
}

int64_t GradScaler::growth_tracker() const { return enabled_ ? growth_tracker_ : 0; }

void GradScaler::set_growth_factor(double factor) {
  check_growth_factor(factor);
  growth_factor_ = factor;
}

void GradScaler::set_backoff_factor(double factor) {
  check_backoff_factor(factor);
  backoff_factor_ = factor;
}

std::optional<GradScalerState> GradScaler::state_dict() const {
  if (!enabled_) return std::nullopt;
  return GradScalerState{get_scale(), growth_factor_, backoff_factor_, growth_interval_, growth_tracker_};
}

void GradScaler::load_state_dict(const std::optional<GradScalerState>& state) {
  if (!enabled_) return;
  LAMINA_CHECK(state.has_value(), ValueError, kOp,
               "The source state dict is empty, possibly because it was saved from a disabled instance of "
               "GradScaler.");
  check_scale_value(state->scale);
  check_growth_factor(state->growth_factor);
  check_backoff_factor(state->backoff_factor);
  LAMINA_CHECK(state->growth_tracker >= 0, ValueError, kOp, "the growth tracker must be >= 0, got ",
               state->growth_tracker);
  init_scale_ = state->scale;
  if (scale_.defined()) set_scale_value(state->scale);
  growth_factor_ = state->growth_factor;
  backoff_factor_ = state->backoff_factor;
  growth_interval_ = state->growth_interval;
  growth_tracker_ = state->growth_tracker;
}

}  // namespace lamina::optim
