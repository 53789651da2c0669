#include "lamina/nn/functional.h"

#include <cmath>

#include "lamina/autograd/autograd.h"
#include "lamina/core/print.h"
#include "lamina/nn/loss.h"
#include "lamina/ops/autocast.h"
#include "lamina/ops/conv.h"
#include "lamina/ops/copy.h"
#include "lamina/ops/creation.h"
#include "lamina/ops/elementwise.h"
#include "lamina/ops/index.h"
#include "lamina/ops/join.h"
#include "lamina/ops/linalg.h"
#include "lamina/ops/norm.h"
#include "lamina/ops/reduce.h"
#include "lamina/ops/sort.h"
#include "lamina/runtime/profiler.h"

namespace lamina::nn::functional {

namespace {

std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (int64_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

Tensor reduce(const Tensor& loss, const std::string& reduction) {
  if (reduction == "none") return loss;
  if (reduction == "sum") return sum(loss);
  return mean(loss);
}

// Machine epsilon of a floating dtype (torch.finfo(dtype).eps).
double finfo_eps(Dtype dt) {
  switch (dt) {
    case Dtype::Float16:
      return 0.0009765625;
    case Dtype::BFloat16:
      return 0.0078125;
    case Dtype::Float64:
      return 2.220446049250313e-16;
    default:
      return 1.1920928955078125e-07;
  }
}

// Validates normalized_shape against x's trailing dims; returns the dims to reduce.
std::vector<int64_t> trailing_dims(const Tensor& x, const std::vector<int64_t>& normalized_shape, const char* op) {
  int64_t k = static_cast<int64_t>(normalized_shape.size());
  LAMINA_CHECK(k >= 1, ConfigError, op, "normalized_shape must have at least one dim");
  bool ok = x.dim() >= k;
  for (int64_t i = 0; ok && i < k; ++i) ok = x.size(x.dim() - k + i) == normalized_shape[i];
  LAMINA_CHECK(ok, ShapeError, op, "input of shape ", shape_str(x.shape()), " does not end with normalized_shape ",
               shape_str(Shape(normalized_shape)));
  std::vector<int64_t> dims;
  for (int64_t i = 0; i < k; ++i) dims.push_back(x.dim() - k + i);
  return dims;
}

void check_affine(const Tensor& p, const std::vector<int64_t>& normalized_shape, const char* op, const char* name) {
  if (!p.defined()) return;
  LAMINA_CHECK(p.shape() == Shape(normalized_shape), ShapeError, op, name, " of shape ", shape_str(p.shape()),
               " does not match normalized_shape ", shape_str(Shape(normalized_shape)));
}

struct Picked {
  Tensor loss;  // -input[target] * w per element (0 where ignored)
  Tensor w;     // the weight of each element's target (0 where ignored)
  Tensor ignored;
};

// The per-element part of nll_loss; class dim 1 (0 for a 1-D input).
Picked nll_elements(const Tensor& input, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                    const char* op) {
  LAMINA_CHECK(input.defined() && target.defined(), ValueError, op, "input and target must be defined");
  LAMINA_CHECK(input.dim() >= 1, ShapeError, op, "input must have a class dim, got a 0-d tensor");
  LAMINA_CHECK(is_floating(input.dtype()), DTypeError, op, "input must be floating point, got ",
               dtype_name(input.dtype()));
  LAMINA_CHECK(!is_floating(target.dtype()) && target.dtype() != Dtype::Bool, DTypeError, op,
               "class-index target must be an integer tensor, got ", dtype_name(target.dtype()));
  int64_t cdim = input.dim() == 1 ? 0 : 1;
  int64_t classes = input.size(cdim);
  Shape expected;
  for (int64_t d = 0; d < input.dim(); ++d)
    if (d != cdim) expected.push_back(input.size(d));
  LAMINA_CHECK(target.shape() == expected, ShapeError, op, "expected target of shape ", shape_str(expected),
               " for input of shape ", shape_str(input.shape()), ", got ", shape_str(target.shape()));
  if (weight.defined())
    LAMINA_CHECK(weight.dim() == 1 && weight.size(0) == classes, ShapeError, op, "weight must have shape [", classes,
                 "], got ", shape_str(weight.shape()));
  Tensor t = target.to(Dtype::Int64);
  Tensor ignored = eq(t, Scalar(ignore_index));
  Tensor safe = where(ignored, Scalar(int64_t{0}), t);
  if (safe.numel() > 0) {
    bool in_range = all(logical_and(ge(safe, Scalar(int64_t{0})), lt(safe, Scalar(classes)))).item<bool>();
    LAMINA_CHECK(in_range, IndexError, op, "Target out of bounds: every target must lie in [0, ", classes,
                 ") or equal ignore_index ", ignore_index);
  }
  Tensor picked = gather(input, cdim, safe.unsqueeze(cdim)).squeeze(cdim);
  Tensor w = weight.defined() ? index_select(weight.to(input.dtype()), 0, safe.flatten()).reshape(safe.shape())
                              : ones(safe.shape(), {input.dtype(), input.device()});
  w = where(ignored, Scalar(0.0), w);
  return {neg(picked) * w, w, ignored};
}

}  // namespace

void check_reduction(const std::string& reduction, const char* op, bool allow_batchmean) {
  LAMINA_CHECK(
      reduction == "none" || reduction == "mean" || reduction == "sum" || (allow_batchmean && reduction == "batchmean"),
      ConfigError, op, reduction, " is not a valid value for reduction (none, mean, sum",
      allow_batchmean ? ", batchmean)" : ")");
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  LAMINA_AUTOCAST(autocast::CastPolicy::LowerPrecision, linear, x, weight, bias);
  LAMINA_PROFILE_OP("linear", x, weight, bias);
  LAMINA_CHECK(x.defined() && weight.defined(), ValueError, "linear", "input and weight must be defined");
  LAMINA_CHECK(weight.dim() == 2, ShapeError, "linear", "weight must be 2-D, got ", shape_str(weight.shape()));
  LAMINA_CHECK(x.dim() >= 1 && x.size(-1) == weight.size(1), ShapeError, "linear", "expected input with last dim ",
               weight.size(1), " (in_features), got shape ", shape_str(x.shape()));
  if (bias.defined() && x.dim() >= 2 && bias.dim() == 1) {
    // The bias starts the GEMM (addmm), rows of every leading dim folded into one product.
    if (x.dim() == 2) return addmm(bias, x, weight.t());
    Shape out_shape = x.shape();
    out_shape.back() = weight.size(0);
    return addmm(bias, x.reshape({-1, x.size(-1)}), weight.t()).reshape(out_shape);
  }
  Tensor y = matmul(x, weight.t());
  return bias.defined() ? add(y, bias) : y;
}

Tensor dropout(const Tensor& x, double p, bool training) {
  LAMINA_PROFILE_OP("dropout", x);
  LAMINA_CHECK(p >= 0.0 && p <= 1.0, ConfigError, "dropout", "dropout probability has to be between 0 and 1, but got ",
               p);
  if (!training || p == 0.0) return x;
  if (p == 1.0) return x * Scalar(0.0);
  Tensor keep = lt(rand(x.shape(), {x.dtype(), x.device()}), Scalar(1.0 - p));
  return x * keep.to(x.dtype()) * Scalar(1.0 / (1.0 - p));
}

Tensor channel_dropout(const Tensor& x, double p, bool training) {
  LAMINA_PROFILE_OP("channel_dropout", x);
  LAMINA_CHECK(p >= 0.0 && p <= 1.0, ConfigError, "channel_dropout",
               "dropout probability has to be between 0 and 1, but got ", p);
  LAMINA_CHECK(x.dim() >= 2, ShapeError, "channel_dropout", "expected input (N, C, *), got ", describe(x));
  if (!training || p == 0.0) return x;
  if (p == 1.0) return x * Scalar(0.0);
  std::vector<int64_t> mask_shape(static_cast<size_t>(x.dim()), 1);
  mask_shape[0] = x.shape()[0];
  mask_shape[1] = x.shape()[1];
  Tensor keep = lt(rand(Shape(mask_shape), {x.dtype(), x.device()}), Scalar(1.0 - p));
  return x * keep.to(x.dtype()) * Scalar(1.0 / (1.0 - p));
}

Tensor layer_norm(const Tensor& x, const std::vector<int64_t>& normalized_shape, const Tensor& weight,
                  const Tensor& bias, double eps) {
  LAMINA_AUTOCAST(autocast::CastPolicy::Fp32, layer_norm, x, normalized_shape, weight, bias, eps);
  LAMINA_PROFILE_OP("layer_norm", x, weight, bias);
  std::vector<int64_t> dims = trailing_dims(x, normalized_shape, "layer_norm");
  check_affine(weight, normalized_shape, "layer_norm", "weight");
  check_affine(bias, normalized_shape, "layer_norm", "bias");
  const Tensor w = weight.defined() && weight.dtype() != x.dtype() ? weight.to(x.dtype()) : weight;
  const Tensor b = bias.defined() && bias.dtype() != x.dtype() ? bias.to(x.dtype()) : bias;
  return lamina::layer_norm(x, static_cast<int64_t>(dims.size()), w, b, eps);
}

std::pair<Tensor, Tensor> add_layer_norm(const Tensor& x, const Tensor& residual,
                                         const std::vector<int64_t>& normalized_shape, const Tensor& weight,
                                         const Tensor& bias, double eps) {
  std::vector<int64_t> dims = trailing_dims(x, normalized_shape, "add_layer_norm");
  check_affine(weight, normalized_shape, "add_layer_norm", "weight");
  check_affine(bias, normalized_shape, "add_layer_norm", "bias");
  const Tensor w = weight.defined() && weight.dtype() != x.dtype() ? weight.to(x.dtype()) : weight;
  const Tensor b = bias.defined() && bias.dtype() != x.dtype() ? bias.to(x.dtype()) : bias;
  return lamina::add_layer_norm(x, residual, static_cast<int64_t>(dims.size()), w, b, eps);
}

Tensor rms_norm(const Tensor& x, const std::vector<int64_t>& normalized_shape, const Tensor& weight,
                std::optional<double> eps) {
  LAMINA_AUTOCAST(autocast::CastPolicy::Fp32, rms_norm, x, normalized_shape, weight, eps);
  LAMINA_PROFILE_OP("rms_norm", x, weight);
  std::vector<int64_t> dims = trailing_dims(x, normalized_shape, "rms_norm");
  check_affine(weight, normalized_shape, "rms_norm", "weight");
  double e = eps ? *eps : finfo_eps(x.dtype());
  if (x.device().is_cuda())  // the fused kernels
    return lamina::rms_norm(x, static_cast<int64_t>(dims.size()), weight.defined() ? weight.to(x.dtype()) : weight, e);
  Tensor y = x * rsqrt(mean(square(x), dims, true) + Scalar(e));
  return weight.defined() ? y * weight : y;
}

Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight, const Tensor& bias, double eps) {
  LAMINA_AUTOCAST(autocast::CastPolicy::Fp32, group_norm, x, num_groups, weight, bias, eps);
  LAMINA_PROFILE_OP("group_norm", x, weight, bias);
  LAMINA_CHECK(x.defined() && x.dim() >= 2, ShapeError, "group_norm", "expected input of shape (N, C, *), got ",
               x.defined() ? shape_str(x.shape()) : std::string("undefined"));
  int64_t channels = x.size(1);
  LAMINA_CHECK(num_groups > 0 && channels % num_groups == 0, ShapeError, "group_norm", "num_groups ", num_groups,
               " must divide the number of channels ", channels);
  Shape grouped{x.size(0), num_groups, -1};
  Tensor xg = x.reshape(grouped);
  Tensor mu = mean(xg, std::vector<int64_t>{2}, true);
  Tensor centered = xg - mu;
  Tensor variance = mean(square(centered), std::vector<int64_t>{2}, true);
  Tensor y = (centered * rsqrt(variance + Scalar(eps))).reshape(x.shape());
  Shape bshape(x.dim(), 1);
  bshape[1] = channels;
  for (const Tensor* p : {&weight, &bias})
    if (p->defined())
      LAMINA_CHECK(p->dim() == 1 && p->size(0) == channels, ShapeError, "group_norm",
                   "affine parameters must have shape [", channels, "], got ", shape_str(p->shape()));
  if (weight.defined()) y = y * weight.reshape(bshape);
  if (bias.defined()) y = y + bias.reshape(bshape);
  return y;
}

Tensor embedding(const Tensor& indices, const Tensor& weight, std::optional<int64_t> padding_idx) {
  LAMINA_PROFILE_OP("embedding", indices, weight);
  LAMINA_CHECK(indices.defined() && weight.defined(), ValueError, "embedding", "indices and weight must be defined");
  LAMINA_CHECK(weight.dim() == 2, ShapeError, "embedding", "weight must be 2-D, got ", shape_str(weight.shape()));
  LAMINA_CHECK(!is_floating(indices.dtype()) && indices.dtype() != Dtype::Bool, DTypeError, "embedding",
               "indices must be an integer tensor, got ", dtype_name(indices.dtype()));
  Tensor flat = indices.to(Dtype::Int64).flatten();
  if (flat.numel() > 0) {
    int64_t lo = amin(flat).item<int64_t>(), hi = amax(flat).item<int64_t>();
    LAMINA_CHECK(lo >= 0 && hi < weight.size(0), IndexError, "embedding",
                 "index out of range: indices must lie in [0, ", weight.size(0), "), got min ", lo, " max ", hi);
  }
  Shape out_shape = indices.shape();
  out_shape.push_back(weight.size(1));
  Tensor out = index_select(weight, 0, flat).reshape(out_shape);
  if (padding_idx && autograd::requires_grad(out)) {
    int64_t pad = *padding_idx < 0 ? *padding_idx + weight.size(0) : *padding_idx;
    // Same values, but the padding rows are cut out of the graph (PyTorch gives them no gradient).
    Tensor is_pad = eq(indices.to(Dtype::Int64), Scalar(pad)).unsqueeze(-1);
    out = where(is_pad, autograd::detach(out), out);
  }
  return out;
}

Tensor nll_loss(const Tensor& input, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                const std::string& reduction) {
  LAMINA_AUTOCAST(autocast::CastPolicy::Fp32, nll_loss, input, target, weight, ignore_index, reduction);
  LAMINA_PROFILE_OP("nll_loss", input, target);
  check_reduction(reduction, "nll_loss");
  Picked p = nll_elements(input, target, weight, ignore_index, "nll_loss");
  if (reduction == "none") return p.loss;
  if (reduction == "sum") return sum(p.loss);
  return sum(p.loss) / sum(p.w);
}

Tensor cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                     const std::string& reduction, double label_smoothing) {
  LAMINA_AUTOCAST(autocast::CastPolicy::Fp32, cross_entropy, input, target, weight, ignore_index, reduction,
                  label_smoothing);
  LAMINA_PROFILE_OP("cross_entropy", input, target);
  check_reduction(reduction, "cross_entropy");
  LAMINA_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0, ConfigError, "cross_entropy",
               "label_smoothing must be between 0.0 and 1.0, got ", label_smoothing);
  LAMINA_CHECK(input.defined() && target.defined(), ValueError, "cross_entropy", "input and target must be defined");
  LAMINA_CHECK(input.dim() >= 1, ShapeError, "cross_entropy", "input must have a class dim, got a 0-d tensor");
  if (nn::cross_entropy_fusable(input, target, weight))  // CUDA logits: one fused kernel each way
    return nn::fused_cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing);
  int64_t cdim = input.dim() == 1 ? 0 : 1;
  int64_t classes = input.size(cdim);
  Tensor logp = log_softmax(input, cdim);
  Tensor wb;  // weight broadcast along the class dim
  if (weight.defined()) {
    LAMINA_CHECK(weight.dim() == 1 && weight.size(0) == classes, ShapeError, "cross_entropy",
                 "weight must have shape [", classes, "], got ", shape_str(weight.shape()));
    Shape bshape(input.dim(), 1);
    bshape[cdim] = classes;
    wb = weight.to(input.dtype()).reshape(bshape);
  }
  if (is_floating(target.dtype())) {
    LAMINA_CHECK(target.shape() == input.shape(), ShapeError, "cross_entropy",
                 "probability target must have the input's shape ", shape_str(input.shape()), ", got ",
                 shape_str(target.shape()));
    Tensor t = target;
    if (label_smoothing > 0) t = t * Scalar(1.0 - label_smoothing) + Scalar(label_smoothing / classes);
    Tensor prod = logp * t;
    if (wb.defined()) prod = prod * wb;
    Tensor loss = neg(sum(prod, std::vector<int64_t>{cdim}));
    if (reduction == "none") return loss;
    if (reduction == "sum") return sum(loss);
    return sum(loss) / Scalar(static_cast<double>(input.numel() / classes));
  }
  Picked p = nll_elements(logp, target, weight, ignore_index, "cross_entropy");
  Tensor nll = reduction == "none" ? p.loss : reduction == "sum" ? sum(p.loss) : sum(p.loss) / sum(p.w);
  if (label_smoothing == 0.0) return nll;
  Tensor smooth = neg(sum(wb.defined() ? logp * wb : logp, std::vector<int64_t>{cdim}));
  smooth = where(p.ignored, Scalar(0.0), smooth);
  Tensor ret;
  if (reduction == "none") {
    ret = smooth;
  } else if (reduction == "sum") {
    ret = sum(smooth);
  } else if (wb.defined()) {
    ret = sum(smooth) / sum(p.w);
  } else {
    ret = sum(smooth) / sum(logical_not(p.ignored), std::nullopt, false, input.dtype());
  }
  return nll * Scalar(1.0 - label_smoothing) + ret * Scalar(label_smoothing / classes);
}

Tensor mse_loss(const Tensor& input, const Tensor& target, const std::string& reduction) {
  LAMINA_AUTOCAST(autocast::CastPolicy::Fp32, mse_loss, input, target, reduction);
  LAMINA_PROFILE_OP("mse_loss", input, target);
  check_reduction(reduction, "mse_loss");
  return reduce(square(input - target), reduction);
}

Tensor l1_loss(const Tensor& input, const Tensor& target, const std::string& reduction) {
  LAMINA_AUTOCAST(autocast::CastPolicy::Fp32, l1_loss, input, target, reduction);
  LAMINA_PROFILE_OP("l1_loss", input, target);
  check_reduction(reduction, "l1_loss");
  return reduce(abs(input - target), reduction);
}

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, const std::string& reduction, double beta) {
  LAMINA_AUTOCAST(autocast::CastPolicy::Fp32, smooth_l1_loss, input, target, reduction, beta);
  LAMINA_PROFILE_OP("smooth_l1_loss", input, target);
  check_reduction(reduction, "smooth_l1_loss");
  LAMINA_CHECK(beta >= 0.0, ConfigError, "smooth_l1_loss", "beta must be non-negative, got ", beta);
  if (beta == 0.0) return l1_loss(input, target, reduction);
  Tensor d = abs(input - target);
  return reduce(where(lt(d, Scalar(beta)), square(d) * Scalar(0.5 / beta), d - Scalar(0.5 * beta)), reduction);
}

Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight,
                            const std::string& reduction) {
  LAMINA_AUTOCAST(autocast::CastPolicy::Fp32, binary_cross_entropy, input, target, weight, reduction);
  LAMINA_PROFILE_OP("binary_cross_entropy", input, target);
  check_reduction(reduction, "binary_cross_entropy");
  LAMINA_CHECK(input.defined() && target.defined(), ValueError, "binary_cross_entropy",
               "input and target must be defined");
  LAMINA_CHECK(input.shape() == target.shape(), ShapeError, "binary_cross_entropy", "target size ",
               shape_str(target.shape()), " must equal input size ", shape_str(input.shape()));
  if (input.numel() > 0) {
    autograd::NoGradGuard guard;
    bool ok = all(logical_and(ge(input, Scalar(0.0)), le(input, Scalar(1.0)))).item<bool>();
    LAMINA_CHECK(ok, ValueError, "binary_cross_entropy", "all elements of input should be between 0 and 1");
  }
  // PyTorch clamps the logs at -100 so that a 0 or 1 input gives a finite loss.
  Tensor log_x = clamp(log(input), Scalar(-100.0), std::nullopt);
  Tensor log_1mx = clamp(log(rsub(input, Scalar(1.0))), Scalar(-100.0), std::nullopt);
  Tensor loss = neg(target * log_x + rsub(target, Scalar(1.0)) * log_1mx);
  if (weight.defined()) loss = loss * weight;
  return reduce(loss, reduction);
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const Tensor& weight,
                                        const std::string& reduction, const Tensor& pos_weight) {
  LAMINA_AUTOCAST(autocast::CastPolicy::Fp32, binary_cross_entropy_with_logits, input, target, weight, reduction,
                  pos_weight);
  LAMINA_PROFILE_OP("binary_cross_entropy_with_logits", input, target);
  check_reduction(reduction, "binary_cross_entropy_with_logits");
  LAMINA_CHECK(input.defined() && target.defined(), ValueError, "binary_cross_entropy_with_logits",
               "input and target must be defined");
  LAMINA_CHECK(input.shape() == target.shape(), ShapeError, "binary_cross_entropy_with_logits", "target size ",
               shape_str(target.shape()), " must equal input size ", shape_str(input.shape()));
  // (1 - y) x + lw * softplus(-x): softplus is evaluated stably and its gradient, sigmoid, is
  // exact everywhere.
  Tensor sp = softplus(neg(input));
  if (pos_weight.defined()) sp = sp * ((pos_weight - Scalar(1.0)) * target + Scalar(1.0));
  Tensor loss = rsub(target, Scalar(1.0)) * input + sp;
  if (weight.defined()) loss = loss * weight;
  return reduce(loss, reduction);
}

Tensor kl_div(const Tensor& input, const Tensor& target, const std::string& reduction, bool log_target) {
  LAMINA_AUTOCAST(autocast::CastPolicy::Fp32, kl_div, input, target, reduction, log_target);
  LAMINA_PROFILE_OP("kl_div", input, target);
  check_reduction(reduction, "kl_div", true);
  Tensor loss;
  if (log_target) {
    loss = exp(target) * (target - input);
  } else {
    // xlogy(t, t): 0 where t == 0; the log argument is made safe so no NaN leaks into gradients.
    Tensor pos = gt(target, Scalar(0.0));
    Tensor safe = where(pos, target, Scalar(1.0));
    loss = where(pos, target * log(safe), Scalar(0.0)) - target * input;
  }
  if (reduction == "batchmean") {
    LAMINA_CHECK(input.dim() >= 1, ShapeError, "kl_div", "batchmean needs an input with a batch dim");
    return sum(loss) / Scalar(static_cast<double>(input.size(0)));
  }
  return reduce(loss, reduction);
}

}  // namespace lamina::nn::functional
