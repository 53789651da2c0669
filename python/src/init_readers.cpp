// File readers beyond IDX: .npy / .npz, CSV, memory-mapped token files, and the native image
// transforms (lamina.utils.data and lamina.utils.data.transforms).
#include <nanobind/stl/map.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>

#include "bind.h"
#include "lamina/data/csv.h"
#include "lamina/data/npy.h"
#include "lamina/data/npz.h"
#include "lamina/data/tokens.h"
#include "lamina/data/transforms.h"

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

template <class T>
const T* as(nb::handle h) {
  return nb::isinstance<T>(h) ? &nb::cast<const T&>(h) : nullptr;
}

// The C++ transform behind a native transform object (or a Python wrapper whose
// `_native_transform` is one), or a Compose (anything with a `transforms` list) of them; nullopt
// for any other Python callable.
std::optional<data::Transform> native_transform(nb::handle h) {
  if (auto* t = as<data::ToTensor>(h)) return data::Transform(*t);
  if (auto* t = as<data::Normalize>(h)) return data::Transform(*t);
  if (auto* t = as<data::RandomCrop>(h)) return data::Transform(*t);
  if (auto* t = as<data::RandomHorizontalFlip>(h)) return data::Transform(*t);
  if (nb::hasattr(h, "_native_transform")) return native_transform(h.attr("_native_transform"));
  if (nb::hasattr(h, "transforms")) {
    std::vector<data::Transform> parts;
    for (nb::handle item : h.attr("transforms")) {
      std::optional<data::Transform> t = native_transform(item);
      if (!t) return std::nullopt;
      parts.push_back(std::move(*t));
    }
    if (parts.empty()) return std::nullopt;
    return data::Transform(data::Compose(std::move(parts)));
  }
  return std::nullopt;
}

template <class T>
void bind_call(nb::class_<T>& cls) {
  cls.def(
      "__call__", [](const T& self, const Tensor& x) { return self(x); }, nb::arg("x"),
      nb::call_guard<nb::gil_scoped_release>());
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

  nb::class_<data::ToTensor> to_tensor(sub, "ToTensor");
  to_tensor.def(nb::init<>());
  bind_call(to_tensor);
  nb::class_<data::Normalize> normalize(sub, "Normalize");
  normalize.def(nb::init<std::vector<double>, std::vector<double>>(), nb::arg("mean"), nb::arg("std"))
      .def_prop_ro("mean", &data::Normalize::mean)
      .def_prop_ro("std", &data::Normalize::std);
  bind_call(normalize);
  nb::class_<data::RandomCrop> crop(sub, "RandomCrop");
  crop.def(nb::init<int64_t, int64_t, int64_t>(), nb::arg("height"), nb::arg("width"), nb::arg("padding"));
  bind_call(crop);
  nb::class_<data::RandomHorizontalFlip> hflip(sub, "RandomHorizontalFlip");
  hflip.def(nb::init<double>(), nb::arg("p")).def_prop_ro("p", &data::RandomHorizontalFlip::p);
  bind_call(hflip);
  sub.def(
      "is_native_transform", [](nb::handle t) { return native_transform(t).has_value(); }, nb::arg("transform"));
  nb::class_<data::TransformDataset, data::Dataset>(sub, "TransformDataset")
      .def(
          "__init__",
          [](data::TransformDataset* self, std::shared_ptr<data::Dataset> dataset, int64_t field,
             nb::handle transform) {
            std::optional<data::Transform> t = native_transform(transform);
            LAMINA_CHECK(t.has_value(), ValueError, "TransformDataset", "the transform is not a native one");
            new (self) data::TransformDataset(std::move(dataset), field, std::move(*t));
          },
          nb::arg("dataset"), nb::arg("field"), nb::arg("transform"));
}

}  // namespace lamina::python
