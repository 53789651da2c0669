// File readers beyond IDX: .npy / .npz, CSV, memory-mapped token files (lamina.utils.data).
#include <nanobind/stl/map.h>
#include <nanobind/stl/string.h>

#include "bind.h"
#include "lamina/data/csv.h"
#include "lamina/data/mmap.h"
#include "lamina/data/npy.h"
#include "lamina/data/npz.h"

namespace lamina::python {

namespace {

// A file dtype given as a lamina dtype or a NumPy-style name ("uint16" has no lamina dtype).
std::string file_dtype_name(nb::handle h) {
  if (nb::isinstance<nb::str>(h)) return nb::cast<std::string>(h);
  return std::string(dtype_name(to_dtype(h)));
}

char single_char(const std::string& s, const char* what) {
  LAMINA_CHECK(s.size() <= 1, ValueError, "read_csv", what, " must be a single character, got '", s, "'");
  return s.empty() ? '\0' : s[0];
}

}  // namespace

void init_readers(nb::module_& m) {
  nb::module_ sub = m.def_submodule("_readers", "File readers (re-exported as lamina.utils.data).");
  sub.def("load_npy", &data::load_npy, nb::arg("path"), nb::arg("mmap") = false);
  sub.def("save_npy", &data::save_npy, nb::arg("path"), nb::arg("tensor"));
  sub.def("load_npz", &data::load_npz, nb::arg("path"));
  sub.def("save_npz", &data::save_npz, nb::arg("path"), nb::arg("arrays"), nb::arg("compress") = false);
  sub.def(
      "read_csv",
      [](const std::string& path, const std::string& delimiter, bool header, std::vector<int64_t> columns,
         nb::handle dtype, const std::string& comment) {
        data::CsvOptions opt;
        LAMINA_CHECK(delimiter.size() == 1, ValueError, "read_csv", "delimiter must be one character, got '", delimiter,
                     "'");
        opt.delimiter = delimiter[0];
        opt.header = header;
        opt.columns = std::move(columns);
        opt.dtype = to_dtype(dtype);
        opt.comment = single_char(comment, "comment");
        return data::read_csv(path, opt);
      },
      nb::arg("path"), nb::arg("delimiter"), nb::arg("header"), nb::arg("columns"), nb::arg("dtype"),
      nb::arg("comment"));
  sub.def(
      "read_csv_header",
      [](const std::string& path, const std::string& delimiter, const std::string& comment) {
        data::CsvOptions opt;
        LAMINA_CHECK(delimiter.size() == 1, ValueError, "read_csv", "delimiter must be one character, got '", delimiter,
                     "'");
        opt.delimiter = delimiter[0];
        opt.comment = single_char(comment, "comment");
        return data::read_csv_header(path, opt);
      },
      nb::arg("path"), nb::arg("delimiter"), nb::arg("comment"));
  sub.def(
      "read_tokens",
      [](const std::string& path, nb::handle dtype, int64_t offset) {
        return data::read_tokens(path, file_dtype_name(dtype), offset);
      },
      nb::arg("path"), nb::arg("dtype"), nb::arg("offset") = 0);
}

}  // namespace lamina::python
