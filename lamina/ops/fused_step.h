#pragma once
// The fused optimizer updates as an op: lamina/optim/ calls this, never a kernel. One pass per
// parameter reads the parameter, its gradient and its state and writes the parameter and the
// state (kernels/optim.h). Internal: not a public header.
#include <array>
#include <initializer_list>
#include <vector>

#include "lamina/core/tensor.h"
#include "lamina/kernels/optim.h"

namespace lamina::ops {

/// The fused update kernels.
enum class FusedStep { Sgd, Adam, RmsProp, Adagrad };

/// Scalars (and extra state pointers, filled in here) of one fused update.
using FusedStepArgs = kernels::OptimArgs;

/// Runs one fused update over contiguous operands of one layout: the parameter (read and
/// written), its gradient, then state tensors; `extra0` / `extra1` are more state laid out like
/// the parameter, or null. DTypeError naming `name` when no kernel exists for the dtype.
/// While a FusedStepBatch is alive on this thread, the update is queued in it instead (the
/// DTypeError still comes at once).
void fused_step(FusedStep step, const char* name, std::initializer_list<const Tensor*> operands, const Tensor* extra0,
                const Tensor* extra1, FusedStepArgs args);

/// The multi-tensor step: while alive, fused_step() calls on this thread queue their updates
/// (holding the tensors), and run() launches them all at once, the pool sharing a whole model's
/// parameters (runtime::launch_strided_batch) instead of one launch per parameter.
class FusedStepBatch {
 public:
  FusedStepBatch();
  ~FusedStepBatch();
  FusedStepBatch(const FusedStepBatch&) = delete;
  FusedStepBatch& operator=(const FusedStepBatch&) = delete;
  /// Launches every queued update and empties the batch.
  void run();
  /// Queues one update (fused_step's arguments, the tensors held until run()).
  void add(FusedStep step, std::initializer_list<const Tensor*> operands, const Tensor* extra0, const Tensor* extra1,
           const FusedStepArgs& args);
  /// The batch alive on this thread, or null.
  static FusedStepBatch* current();

 private:
  struct Item {
    FusedStep step;
    std::array<Tensor, 4> operands;
    int count;
    Tensor extra0, extra1;
    FusedStepArgs args;
  };
  std::vector<Item> items_;
  FusedStepBatch* previous_;
};

}  // namespace lamina::ops
