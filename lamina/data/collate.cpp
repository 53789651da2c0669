#include "lamina/data/collate.h"

#include "lamina/core/error.h"
#include "lamina/ops/join.h"

namespace lamina::data {

Batch default_collate(const std::vector<Example>& examples) {
  LAMINA_CHECK(!examples.empty(), ValueError, "default_collate", "cannot collate an empty list of examples");
  const Example& first = examples.front();
  const size_t fields = first.size();
  for (size_t i = 1; i < examples.size(); ++i)
    LAMINA_CHECK(examples[i].size() == fields, ShapeError, "default_collate", "example ", i, " has ",
                 examples[i].size(), " fields but example 0 has ", fields, "; every example needs the same fields");
  Batch batch;
  batch.reserve(fields);
  std::vector<Tensor> column(examples.size());
  for (size_t f = 0; f < fields; ++f) {
    for (size_t i = 0; i < examples.size(); ++i) {
      const Tensor& t = examples[i][f];
      LAMINA_CHECK(t.defined(), ValueError, "default_collate", "field ", f, " of example ", i, " is an undefined tensor");
      LAMINA_CHECK(t.dtype() == first[f].dtype(), DTypeError, "default_collate", "field ", f, " has dtype ",
                   dtype_name(first[f].dtype()), " in example 0 but ", dtype_name(t.dtype()), " in example ", i,
                   "; convert the field to one dtype in the dataset");
      LAMINA_CHECK(t.shape() == first[f].shape(), ShapeError, "default_collate", "field ", f, " has shape ",
                   first[f].shape(), " in example 0 but ", t.shape(), " in example ", i,
                   "; pad or crop the field to one shape, or pass a custom collate function");
      column[i] = t;
    }
    batch.push_back(stack(column, 0));
  }
  return batch;
}

}  // namespace lamina::data
