// Data readers (re-exported as lamina.utils.data).
#include <nanobind/stl/string.h>

#include "bind.h"
#include "lamina/data/idx.h"

namespace lamina::python {

void init_data(nb::module_& m) {
  nb::module_ sub = m.def_submodule("_data", "Data readers (re-exported as lamina.utils.data).");
  sub.def("read_idx", [](const std::string& path) { return data::read_idx(path); }, nb::arg("path"),
          "Reads an IDX file (MNIST format, raw or gzipped) into a tensor of its element type.");
}

}  // namespace lamina::python
