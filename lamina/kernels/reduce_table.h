#pragma once
// The reductions every backend offers, listed once: X(op, Kernel, types). Each backend defines
// Kernel<T> (a ReduceKernel, or a LineKernel for cumulative) in its reduce file and registers every
// row for the dtypes of `types` (ALL or FLOAT), so the CPU and CUDA offer the same reductions for
// the same dtypes. Only macros: no includes, no code.
#define LAMINA_REDUCE_TABLE(X)         \
  X(sum, SumKernel, ALL)               \
  X(extreme, ExtremeKernel, ALL)       \
  X(var, VarKernel, FLOAT)             \
  X(logsumexp, LogSumExpKernel, FLOAT) \
  X(norm, NormKernel, FLOAT)           \
  X(all_any, AllAnyKernel, ALL)        \
  X(cumulative, CumulativeKernel, ALL)
