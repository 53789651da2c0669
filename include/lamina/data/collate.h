#pragma once
// Default collation: examples (one tensor per field) become a batch (one stacked tensor per field).
#include <vector>

#include "lamina/core/tensor.h"

namespace lamina::data {

/// One sample of a dataset: one tensor per field (e.g. {image, label}).
using Example = std::vector<Tensor>;
/// A collated batch: one tensor per field, the examples stacked along a new first dim.
using Batch = std::vector<Tensor>;

/// Stacks field f of every example into batch field f. ValueError for no examples; ShapeError
/// when examples have different field counts or a field's shapes differ; DTypeError when a
/// field's dtypes differ (each naming the field and the two examples).
Batch default_collate(const std::vector<Example>& examples);

}  // namespace lamina::data
