#include "lamina/nn/loss.h"

#include "lamina/autograd/autograd.h"
#include "lamina/core/error.h"
#include "lamina/core/print.h"
#include "lamina/nn/functional.h"
#include "lamina/ops/conv.h"
#include "lamina/ops/copy.h"
#include "lamina/ops/creation.h"
#include "lamina/ops/cross_entropy.h"
#include "lamina/ops/elementwise.h"
#include "lamina/ops/index.h"
#include "lamina/ops/join.h"
#include "lamina/ops/linalg.h"
#include "lamina/ops/norm.h"
#include "lamina/ops/reduce.h"
#include "lamina/ops/sort.h"

namespace lamina::nn {

namespace F = functional;

// Malformed calls are never fusable, so functional::cross_entropy raises their errors.
bool cross_entropy_fusable(const Tensor& input, const Tensor& target, const Tensor& weight) {
  return ops::cross_entropy_fusable(input, target, weight);
}

Tensor fused_cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                           const std::string& reduction, double label_smoothing) {
  if (!cross_entropy_fusable(input, target, weight))
    return F::cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing);
  F::check_reduction(reduction, "cross_entropy");
  return ops::fused_cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing);
}

Loss::Loss(std::string type_name, std::string red, bool allow_batchmean)
    : Module(std::move(type_name)), reduction(std::move(red)) {
  F::check_reduction(reduction, this->type_name().c_str(), allow_batchmean);
}

namespace {
// Registers an optional buffer; an undefined one is still listed so buffer("x") works.
void optional_buffer(Module& m, const char* name, const Tensor& t) { m.register_buffer(name, t); }
}  // namespace

CrossEntropyLoss::CrossEntropyLoss(const Tensor& weight, int64_t ignore, const std::string& red, double ls)
    : Loss("CrossEntropyLoss", red), ignore_index(ignore), label_smoothing(ls) {
  LAMINA_CHECK(ls >= 0.0 && ls <= 1.0, ConfigError, "CrossEntropyLoss",
               "label_smoothing must be between 0.0 and 1.0, got ", ls);
  optional_buffer(*this, "weight", weight);
}
Tensor CrossEntropyLoss::forward(const Tensor& input, const Tensor& target) {
  return fused_cross_entropy(input, target, buffer("weight"), ignore_index, reduction, label_smoothing);
}

NLLLoss::NLLLoss(const Tensor& weight, int64_t ignore, const std::string& red)
    : Loss("NLLLoss", red), ignore_index(ignore) {
  optional_buffer(*this, "weight", weight);
}
Tensor NLLLoss::forward(const Tensor& input, const Tensor& target) {
  return F::nll_loss(input, target, buffer("weight"), ignore_index, reduction);
}

Tensor MSELoss::forward(const Tensor& input, const Tensor& target) { return F::mse_loss(input, target, reduction); }
Tensor L1Loss::forward(const Tensor& input, const Tensor& target) { return F::l1_loss(input, target, reduction); }

SmoothL1Loss::SmoothL1Loss(const std::string& red, double b) : Loss("SmoothL1Loss", red), beta(b) {
  LAMINA_CHECK(beta >= 0.0, ConfigError, "SmoothL1Loss", "beta must be non-negative, got ", beta);
}
Tensor SmoothL1Loss::forward(const Tensor& input, const Tensor& target) {
  return F::smooth_l1_loss(input, target, reduction, beta);
}

BCELoss::BCELoss(const Tensor& weight, const std::string& red) : Loss("BCELoss", red) {
  optional_buffer(*this, "weight", weight);
}
Tensor BCELoss::forward(const Tensor& input, const Tensor& target) {
  return F::binary_cross_entropy(input, target, buffer("weight"), reduction);
}

BCEWithLogitsLoss::BCEWithLogitsLoss(const Tensor& weight, const std::string& red, const Tensor& pos_weight)
    : Loss("BCEWithLogitsLoss", red) {
  optional_buffer(*this, "weight", weight);
  optional_buffer(*this, "pos_weight", pos_weight);
}
Tensor BCEWithLogitsLoss::forward(const Tensor& input, const Tensor& target) {
  return F::binary_cross_entropy_with_logits(input, target, buffer("weight"), reduction, buffer("pos_weight"));
}

KLDivLoss::KLDivLoss(const std::string& red, bool log_t) : Loss("KLDivLoss", red, true), log_target(log_t) {}
Tensor KLDivLoss::forward(const Tensor& input, const Tensor& target) {
  return F::kl_div(input, target, reduction, log_target);
}

}  // namespace lamina::nn
