#pragma once
// Checks analytic gradients against central finite differences in float64.
#include <functional>
#include <string>
#include <vector>

#include "lamina/core/tensor.h"

namespace lamina::autograd {

/// Tolerances and step of gradcheck.
struct GradcheckOptions {
  double eps = 1e-6;   // finite-difference step
  double atol = 1e-5;  // absolute tolerance
  double rtol = 1e-3;  // relative tolerance
};

/// Compares d fn(inputs) / d inputs from backward with central differences, element by
/// element, for every input that requires grad (float64 inputs recommended). Returns an empty
/// string when they agree, else a description of the first mismatch.
std::string gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn, const std::vector<Tensor>& inputs,
                      const GradcheckOptions& options = {});

}  // namespace lamina::autograd
