"""lamina.nn.functional: torch.nn.functional's layer and loss functions (C++ implementations)."""
from .. import _lamina

_F = _lamina._nn.functional

__all__ = ["linear", "scaled_dot_product_attention", "dropout", "layer_norm", "add_layer_norm", "rms_norm", "group_norm", "embedding", "relu", "gelu", "silu",
           "sigmoid", "tanh", "softmax", "log_softmax", "cross_entropy", "nll_loss", "mse_loss", "l1_loss",
           "smooth_l1_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div", "conv1d",
           "conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "batch_norm", "pad",
           "one_hot"]


def _legacy_reduction(size_average, reduce, reduction):
    """PyTorch's mapping of the deprecated size_average / reduce arguments to reduction."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


def _shape(s):
    return [int(s)] if isinstance(s, int) else [int(d) for d in s]


def linear(input, weight, bias=None):
    """input @ weight.T + bias."""
    return _F.linear(input, weight, bias)


def dropout(input, p=0.5, training=True, inplace=False):
    """Zeroes elements with probability p and scales the rest by 1/(1-p) when training."""
    out = _F.dropout(input, float(p), bool(training))
    return input.copy_(out) if inplace and training else out


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Layer normalization over the trailing normalized_shape dims."""
    return _F.layer_norm(input, _shape(normalized_shape), weight, bias, float(eps))


def add_layer_norm(input, residual, normalized_shape, weight=None, bias=None, eps=1e-5):
    """(input + residual, layer_norm(input + residual)) from one fused pass: the residual step of a
    pre-norm transformer block (``x = x + h; y = ln(x)``). A lamina extension: PyTorch has no such
    function; the two results equal the add and F.layer_norm written out."""
    return _F.add_layer_norm(input, residual, _shape(normalized_shape), weight, bias, float(eps))


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """RMS normalization; eps=None uses finfo(input.dtype).eps."""
    return _F.rms_norm(input, _shape(normalized_shape), weight, eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Group normalization of (N, C, *) input."""
    return _F.group_norm(input, num_groups, weight, bias, float(eps))


def embedding(input, weight, padding_idx=None):
    """Rows of weight at integer indices; padding_idx rows get no gradient."""
    if padding_idx is not None and padding_idx < 0:
        padding_idx += weight.shape[0]
    return _F.embedding(input, weight, padding_idx)


def relu(input, inplace=False):
    """max(x, 0)."""
    return _lamina.relu(input)


def gelu(input, approximate="none"):
    """GELU (erf form, or tanh approximation)."""
    return _lamina.gelu(input, approximate=approximate)


def silu(input, inplace=False):
    """x * sigmoid(x)."""
    return _lamina.silu(input)


def sigmoid(input):
    """1 / (1 + exp(-x))."""
    return _lamina.sigmoid(input)


def tanh(input):
    """tanh(x)."""
    return _lamina.tanh(input)


def softmax(input, dim, dtype=None):
    """softmax along dim."""
    return _lamina.softmax(input, dim, dtype=dtype)


def log_softmax(input, dim, dtype=None):
    """log_softmax along dim."""
    return _lamina.log_softmax(input, dim, dtype=dtype)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Cross entropy of logits against class indices or class probabilities."""
    return _F.cross_entropy(input, target, weight, ignore_index, _legacy_reduction(size_average, reduce, reduction),
                            float(label_smoothing))


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """Negative log-likelihood of log-probabilities at the target classes."""
    return _F.nll_loss(input, target, weight, ignore_index, _legacy_reduction(size_average, reduce, reduction))


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """(input - target)^2, reduced."""
    return _F.mse_loss(input, target, _legacy_reduction(size_average, reduce, reduction))


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """|input - target|, reduced."""
    return _F.l1_loss(input, target, _legacy_reduction(size_average, reduce, reduction))


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """Quadratic below beta, linear above."""
    return _F.smooth_l1_loss(input, target, _legacy_reduction(size_average, reduce, reduction), float(beta))


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """Binary cross entropy of probabilities (logs clamped at -100)."""
    return _F.binary_cross_entropy(input, target, weight, _legacy_reduction(size_average, reduce, reduction))


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """Sigmoid + binary cross entropy in a numerically stable form."""
    return _F.binary_cross_entropy_with_logits(input, target, weight,
                                               _legacy_reduction(size_average, reduce, reduction), pos_weight)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """KL divergence of log-probability input; reduction may be "batchmean"."""
    return _F.kl_div(input, target, _legacy_reduction(size_average, reduce, reduction), bool(log_target))


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-d convolution of (N, C, L) input (torch.nn.functional.conv1d)."""
    return _lamina.conv1d(input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-d convolution of (N, C, H, W) input (torch.nn.functional.conv2d)."""
    return _lamina.conv2d(input, weight, bias, stride, padding, dilation, groups)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """2-d transposed convolution (torch.nn.functional.conv_transpose2d)."""
    return _lamina.conv_transpose2d(input, weight, bias, stride, padding, output_padding, groups, dilation)


def _unsupported(op, **flags):
    for name, value in flags.items():
        if value:
            raise _lamina.ConfigError(f"[{op}] {name}={value!r} is not supported")


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over kernel windows (torch.nn.functional.max_pool2d; stride defaults to the kernel size)."""
    _unsupported("max_pool2d", ceil_mode=ceil_mode, return_indices=return_indices)
    return _lamina.max_pool2d(input, kernel_size, stride, padding, dilation)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over kernel windows (torch.nn.functional.avg_pool2d)."""
    _unsupported("avg_pool2d", ceil_mode=ceil_mode, divisor_override=divisor_override)
    return _lamina.avg_pool2d(input, kernel_size, stride, padding, count_include_pad)


def adaptive_avg_pool2d(input, output_size):
    """Mean over adaptive bins giving output_size (torch.nn.functional.adaptive_avg_pool2d)."""
    return _lamina.adaptive_avg_pool2d(input, output_size)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Per-channel normalization (torch.nn.functional.batch_norm)."""
    return _lamina.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def pad(input, pad, mode="constant", value=None):
    """Pads the last dims by (left, right, top, bottom, ...) (torch.nn.functional.pad)."""
    return _lamina.pad(input, pad, mode, value)


def one_hot(tensor, num_classes=-1):
    """int64 one-hot encoding (torch.nn.functional.one_hot)."""
    return _lamina.one_hot(tensor, num_classes)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None):
    """torch.nn.functional.scaled_dot_product_attention: softmax(q k^T * scale + mask) v; a fused kernel on
    CUDA (no mask, no dropout, head dim <= 128), the composite computation elsewhere."""
    return _F.scaled_dot_product_attention(query, key, value, attn_mask, float(dropout_p), bool(is_causal), scale)


def _inplace(input, out, inplace):
    if inplace:
        input.copy_(out)
        return input
    return out


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x where x > 0, else negative_slope * x."""
    return _inplace(input, _F.leaky_relu(input, float(negative_slope)), inplace)


def elu(input, alpha=1.0, inplace=False):
    """x where x > 0, else alpha * (exp(x) - 1)."""
    return _inplace(input, _F.elu(input, float(alpha)), inplace)


def celu(input, alpha=1.0, inplace=False):
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""
    return _inplace(input, _F.celu(input, float(alpha)), inplace)


def selu(input, inplace=False):
    """scale * elu(x, alpha) with the self-normalizing constants."""
    return _inplace(input, _lamina.selu(input), inplace)


def prelu(input, weight):
    """x where x > 0, else weight * x (one weight, or one per channel)."""
    return _F.prelu(input, weight)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """x clamped to [min_val, max_val]."""
    return _inplace(input, _F.hardtanh(input, float(min_val), float(max_val)), inplace)


def relu6(input, inplace=False):
    """min(max(x, 0), 6)."""
    return _inplace(input, _F.relu6(input), inplace)


def hardswish(input, inplace=False):
    """x * relu6(x + 3) / 6."""
    return _inplace(input, _lamina.hardswish(input), inplace)


def hardsigmoid(input, inplace=False):
    """relu6(x + 3) / 6."""
    return _inplace(input, _lamina.hardsigmoid(input), inplace)


def mish(input, inplace=False):
    """x * tanh(softplus(x))."""
    return _inplace(input, _lamina.mish(input), inplace)


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta x)) / beta, x itself where beta x > threshold."""
    return _F.softplus(input, float(beta), float(threshold))


def logsigmoid(input):
    """log(sigmoid(x)), stable for large |x|."""
    return _F.logsigmoid(input)


def softsign(input):
    """x / (1 + |x|)."""
    return _F.softsign(input)


def _channel_dropout(name, spatial, input, p, training, inplace):
    if input.dim() not in (spatial + 1, spatial + 2):
        raise _lamina.ShapeError(f"[{name}] expected {spatial + 1}-D or {spatial + 2}-D input, got shape "
                                 f"{tuple(input.shape)}")
    batched = input.dim() == spatial + 2
    x = input if batched else input.unsqueeze(0)
    out = _F.channel_dropout(x, float(p), bool(training))
    return _inplace(input, out if batched else out.squeeze(0), inplace and training)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zeroes whole channels of (N, C, L) / (C, L) input with probability p."""
    return _channel_dropout("dropout1d", 1, input, p, training, inplace)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zeroes whole channels of (N, C, H, W) / (C, H, W) input with probability p."""
    return _channel_dropout("dropout2d", 2, input, p, training, inplace)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-5):
    """Normalizes each sample's channels over their spatial dims (torch.nn.functional.instance_norm)."""
    return _F.instance_norm(input, running_mean, running_var, weight, bias, bool(use_input_stats), float(momentum),
                            float(eps))


__all__ += ["leaky_relu", "elu", "celu", "selu", "prelu", "hardtanh", "relu6", "hardswish", "hardsigmoid", "mish",
            "softplus", "logsigmoid", "softsign", "dropout1d", "dropout2d", "instance_norm"]
