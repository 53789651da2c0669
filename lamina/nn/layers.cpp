#include "lamina/nn/layers.h"

#include <cmath>

#include "lamina/autograd/autograd.h"
#include "lamina/core/print.h"
#include "lamina/nn/functional.h"
#include "lamina/nn/init.h"
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

namespace lamina::nn {

namespace {

std::string tuple_str(const std::vector<int64_t>& v) {
  std::string out = "(";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + std::to_string(v[i]);
  return out + (v.size() == 1 ? ",)" : ")");
}

void check_dtype(Dtype dtype, const char* op) {
  LAMINA_CHECK(is_floating(dtype), ConfigError, op, "parameters need a floating dtype, got ", dtype_name(dtype));
}

void check_normalized_shape(const std::vector<int64_t>& shape, const char* op) {
  LAMINA_CHECK(!shape.empty(), ConfigError, op, "normalized_shape must not be empty");
  for (int64_t d : shape)
    LAMINA_CHECK(d > 0, ConfigError, op, "normalized_shape ", tuple_str(shape), " must be positive");
}

}  // namespace

Linear::Linear(int64_t in, int64_t out, bool bias, Dtype dtype) : Module("Linear"), in_features(in), out_features(out) {
  LAMINA_CHECK(in > 0, ConfigError, "Linear", "in_features must be positive, got ", in);
  LAMINA_CHECK(out > 0, ConfigError, "Linear", "out_features must be positive, got ", out);
  check_dtype(dtype, "Linear");
  register_parameter("weight", empty({out, in}, {dtype}));
  register_parameter("bias", bias ? empty({out}, {dtype}) : Tensor());
  reset_parameters();
}

void Linear::reset_parameters() {
  init::kaiming_uniform_(weight(), std::sqrt(5.0));
  if (bias().defined()) {
    double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
    init::uniform_(bias(), -bound, bound);
  }
}

Tensor Linear::forward(const Tensor& x) {
  LAMINA_CHECK(x.defined(), ValueError, "Linear", "input is undefined");
  LAMINA_CHECK(x.dim() >= 1 && x.size(-1) == in_features, ShapeError, "Linear",
               "expected input with last dim in_features=", in_features, ", got ", x.dim() >= 1 ? x.size(-1) : 0,
               " (input dims ", x.dim(), ")");
  return functional::linear(x, weight(), bias());
}

Tensor Linear::forward_gelu(const Tensor& x, const std::string& approximate) {
  LAMINA_CHECK(x.defined(), ValueError, "Linear", "input is undefined");
  LAMINA_CHECK(x.dim() >= 1 && x.size(-1) == in_features, ShapeError, "Linear",
               "expected input with last dim in_features=", in_features, ", got ", x.dim() >= 1 ? x.size(-1) : 0,
               " (input dims ", x.dim(), ")");
  if (!bias().defined() || x.dim() < 2) return gelu(functional::linear(x, weight(), bias()), approximate);
  if (x.dim() == 2) return addmm_gelu(bias(), x, weight().t(), approximate);
  Shape out_shape = x.shape();
  out_shape.back() = out_features;
  return addmm_gelu(bias(), x.reshape({-1, in_features}), weight().t(), approximate).reshape(out_shape);
}

std::string Linear::extra_repr() const {
  return "in_features=" + std::to_string(in_features) + ", out_features=" + std::to_string(out_features) +
         ", bias=" + format_bool(bias().defined());
}

Embedding::Embedding(int64_t num, int64_t dim, std::optional<int64_t> pad, Dtype dtype)
    : Module("Embedding"), num_embeddings(num), embedding_dim(dim) {
  LAMINA_CHECK(num > 0, ConfigError, "Embedding", "num_embeddings must be positive, got ", num);
  LAMINA_CHECK(dim > 0, ConfigError, "Embedding", "embedding_dim must be positive, got ", dim);
  check_dtype(dtype, "Embedding");
  if (pad) {
    LAMINA_CHECK(*pad >= -num && *pad < num, ConfigError, "Embedding", "padding_idx must be within num_embeddings (",
                 num, "), got ", *pad);
    padding_idx = *pad < 0 ? *pad + num : *pad;
  }
  register_parameter("weight", empty({num, dim}, {dtype}));
  init::normal_(weight());
  if (padding_idx) {
    autograd::NoGradGuard guard;
    fill_(weight().select(0, *padding_idx), 0.0);
  }
}

Tensor Embedding::forward(const Tensor& indices) { return functional::embedding(indices, weight(), padding_idx); }

std::string Embedding::extra_repr() const {
  std::string s = std::to_string(num_embeddings) + ", " + std::to_string(embedding_dim);
  if (padding_idx) s += ", padding_idx=" + std::to_string(*padding_idx);
  return s;
}

LayerNorm::LayerNorm(std::vector<int64_t> shape, double eps_, bool affine, bool bias, Dtype dtype)
    : Module("LayerNorm"), normalized_shape(std::move(shape)), eps(eps_), elementwise_affine(affine) {
  check_normalized_shape(normalized_shape, "LayerNorm");
  LAMINA_CHECK(eps > 0, ConfigError, "LayerNorm", "eps must be positive, got ", eps);
  check_dtype(dtype, "LayerNorm");
  if (affine) {
    register_parameter("weight", ones(Shape(normalized_shape), {dtype}));
    register_parameter("bias", bias ? zeros(Shape(normalized_shape), {dtype}) : Tensor());
  }
}

Tensor LayerNorm::forward(const Tensor& x) {
  LAMINA_CHECK(x.defined(), ValueError, "LayerNorm", "input is undefined");
  Tensor w = elementwise_affine ? param("weight") : Tensor();
  Tensor b = elementwise_affine ? param("bias") : Tensor();
  return functional::layer_norm(x, normalized_shape, w, b, eps);
}

std::string LayerNorm::extra_repr() const {
  return tuple_str(normalized_shape) + ", eps=" + format_float(eps) +
         ", elementwise_affine=" + format_bool(elementwise_affine);
}

RMSNorm::RMSNorm(std::vector<int64_t> shape, std::optional<double> eps_, bool affine, Dtype dtype)
    : Module("RMSNorm"), normalized_shape(std::move(shape)), eps(eps_), elementwise_affine(affine) {
  check_normalized_shape(normalized_shape, "RMSNorm");
  LAMINA_CHECK(!eps || *eps >= 0, ConfigError, "RMSNorm", "eps must be non-negative, got ", eps ? *eps : 0.0);
  check_dtype(dtype, "RMSNorm");
  if (affine) register_parameter("weight", ones(Shape(normalized_shape), {dtype}));
}

Tensor RMSNorm::forward(const Tensor& x) {
  LAMINA_CHECK(x.defined(), ValueError, "RMSNorm", "input is undefined");
  return functional::rms_norm(x, normalized_shape, elementwise_affine ? param("weight") : Tensor(), eps);
}

std::string RMSNorm::extra_repr() const {
  return tuple_str(normalized_shape) + ", eps=" + (eps ? format_float(*eps) : std::string("None")) +
         ", elementwise_affine=" + format_bool(elementwise_affine);
}

GroupNorm::GroupNorm(int64_t groups, int64_t channels, double eps_, bool affine_, Dtype dtype)
    : Module("GroupNorm"), num_groups(groups), num_channels(channels), eps(eps_), affine(affine_) {
  LAMINA_CHECK(groups > 0, ConfigError, "GroupNorm", "num_groups must be positive, got ", groups);
  LAMINA_CHECK(channels > 0 && channels % groups == 0, ConfigError, "GroupNorm", "num_channels (", channels,
               ") must be a positive multiple of num_groups (", groups, ")");
  LAMINA_CHECK(eps > 0, ConfigError, "GroupNorm", "eps must be positive, got ", eps);
  check_dtype(dtype, "GroupNorm");
  if (affine) {
    register_parameter("weight", ones({channels}, {dtype}));
    register_parameter("bias", zeros({channels}, {dtype}));
  }
}

Tensor GroupNorm::forward(const Tensor& x) {
  LAMINA_CHECK(x.defined() && x.dim() >= 2 && x.size(1) == num_channels, ShapeError, "GroupNorm",
               "expected input of shape (N, ", num_channels, ", *), got ", x.defined() && x.dim() >= 2 ? x.size(1) : 0,
               " channels (input dims ", x.defined() ? x.dim() : 0, ")");
  return functional::group_norm(x, num_groups, affine ? param("weight") : Tensor(), affine ? param("bias") : Tensor(),
                                eps);
}

std::string GroupNorm::extra_repr() const {
  return std::to_string(num_groups) + ", " + std::to_string(num_channels) + ", eps=" + format_float(eps) +
         ", affine=" + format_bool(affine);
}

Dropout::Dropout(double p_) : Module("Dropout"), p(p_) {
  LAMINA_CHECK(p >= 0.0 && p <= 1.0, ConfigError, "Dropout", "dropout probability has to be between 0 and 1, but got ",
               p);
}

Tensor Dropout::forward(const Tensor& x) { return functional::dropout(x, p, is_training()); }

std::string Dropout::extra_repr() const { return "p=" + format_float(p) + ", inplace=False"; }

ChannelDropout::ChannelDropout(const char* name, int64_t dims, double p_) : Module(name), spatial_dims(dims), p(p_) {
  LAMINA_CHECK(p >= 0.0 && p <= 1.0, ConfigError, name, "dropout probability has to be between 0 and 1, but got ", p);
}

Tensor ChannelDropout::forward(const Tensor& x) {
  const bool batched = x.dim() == spatial_dims + 2;
  LAMINA_CHECK(batched || x.dim() == spatial_dims + 1, ShapeError, type_name().c_str(), "expected ", spatial_dims + 1,
               "-D or ", spatial_dims + 2, "-D input, got ", describe(x));
  if (batched) return functional::channel_dropout(x, p, is_training());
  return functional::channel_dropout(x.unsqueeze(0), p, is_training()).squeeze(0);
}

std::string ChannelDropout::extra_repr() const { return "p=" + format_float(p) + ", inplace=False"; }

}  // namespace lamina::nn
