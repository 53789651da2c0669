#pragma once
// Fused batch normalization over an (N, C, S) contiguous input (S: the spatial elements): per
// channel one pass each for the mean and the variance and one to write (forward); one pass for
// the two gradient sums and one to write the input gradient (backward). Work splits by channel.
#include <cstdint>

namespace lamina::kernels {

/// The input's layout and the op's flags. mean / var / rstd / the weight and bias gradients hold
/// one value per channel in the compute type (float for 16- and 32-bit inputs, double for float64).
struct BatchNormArgs {
  int64_t n = 0, c = 0, s = 0;  // batch, channels, elements per (batch, channel) plane
  double eps = 0;
  bool has_weight = false, has_bias = false;
  /// Training: the statistics come from this batch (the kernel writes mean, var and rstd, and the
  /// backward differentiates through them); evaluation: mean and rstd are given (running stats).
  bool batch_stats = false;
};

/// Forward over channels [begin, end): y = (x - mean) * rstd * weight + bias.
using BatchNormKernel = void (*)(const BatchNormArgs&, const void* x, const void* weight, const void* bias, void* mean,
                                 void* var, void* rstd, void* y, int64_t begin, int64_t end);
/// Backward over channels [begin, end): dx, and the channel's weight and bias gradients.
using BatchNormBackwardKernel = void (*)(const BatchNormArgs&, const void* dy, const void* x, const void* weight,
                                         const void* mean, const void* rstd, void* dx, void* dweight, void* dbias,
                                         int64_t begin, int64_t end);

}  // namespace lamina::kernels
