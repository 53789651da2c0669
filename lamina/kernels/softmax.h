#pragma once
// The softmax family's kernel signatures beyond the line kernels of loops.h.
#include <cstdint>

namespace lamina::kernels {

/// softmax / log_softmax gradient over contiguous lines [begin, end) of `n` elements, from the
/// output gradient g and the forward output y: y (g - sum(g y)) for softmax, g - exp(y) sum(g)
/// for log_softmax.
using SoftmaxBackwardKernel = void (*)(const void* g, const void* y, void* out, int64_t n, bool log_form, int64_t begin,
                                       int64_t end);

}  // namespace lamina::kernels
