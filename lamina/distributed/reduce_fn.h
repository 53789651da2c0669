#pragma once
// The element-wise combine step of a reduction, c[i] = a[i] (op) b[i], for every dtype and
// ReduceOp the collectives take: what the engines call between their messages (Gloo's reduce
// function, MPI's user operation for the 16-bit floats). AVG combines as SUM.
#include <cstddef>

#include "lamina/core/dtype.h"
#include "lamina/distributed/process_group.h"

namespace lamina::distributed {

/// Combines n elements: c = a op b (c may alias a or b).
using ReduceFn = void (*)(void* c, const void* a, const void* b, size_t n);

/// The combine step for `dtype` and `op` (bool: MAX is or, MIN is and).
ReduceFn reduce_function(Dtype dtype, ReduceOp op);

}  // namespace lamina::distributed
