#pragma once
// Copying and filling: copy_ (with broadcasting and dtype conversion), fill_.
#include "lamina/core/tensor.h"

namespace lamina {

/// Copies `src` into `dst` (broadcasting src, converting dtype); returns dst.
const Tensor& copy_(const Tensor& dst, const Tensor& src);
/// Sets every element of `t` to `value`; returns t.
const Tensor& fill_(const Tensor& t, const Scalar& value);
/// Sets every element of `t` to zero; returns t.
const Tensor& zero_(const Tensor& t);

}  // namespace lamina
