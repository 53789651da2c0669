// Python bindings for safetensors files: lamina.save_file / load_file (safetensors' names) and the
// bytes helpers in lamina._lamina._io.
#include <nanobind/stl/map.h>

#include "bind.h"
#include "lamina/io/safetensors.h"

namespace lamina::python {

namespace {

// A path from str or os.PathLike.
std::string to_path(nb::handle h) { return nb::cast<std::string>(nb::module_::import_("os").attr("fspath")(h)); }

// A lamina Tensor (or subclass such as nn.Parameter) as is; NumPy / DLPack / buffer objects zero-copy.
Tensor to_saved_tensor(nb::handle v, const std::string& name) {
  if (const Tensor* t = exact_tensor(v)) return *t;
  Tensor out;
  if (nb::try_cast<Tensor>(v, out)) return out;
  if (nb::hasattr(v, "__array_interface__") || nb::hasattr(v, "__dlpack__") || PyObject_CheckBuffer(v.ptr()))
    return from_array_object(v);
  throw nb::type_error(("tensor \"" + name + "\" must be a lamina.Tensor or a NumPy array, got " +
                        nb::cast<std::string>(nb::type_name(v.type())))
                           .c_str());
}

// The dict {name: tensor} as a TensorMap in dict order.
io::TensorMap to_tensor_map(nb::handle tensors) {
  if (!nb::isinstance<nb::dict>(tensors))
    throw nb::type_error(
        ("expected a dict of {name: tensor}, got " + nb::cast<std::string>(nb::type_name(tensors.type()))).c_str());
  io::TensorMap out;
  for (auto [k, v] : nb::borrow<nb::dict>(tensors)) {
    if (!nb::isinstance<nb::str>(k))
      throw nb::type_error(("tensor names must be str, got " + nb::cast<std::string>(nb::type_name(k.type()))).c_str());
    std::string name = nb::cast<std::string>(k);
    Tensor t = to_saved_tensor(v, name);
    out.emplace_back(std::move(name), std::move(t));
  }
  return out;
}

// {name: tensor} in file order, moved to `device` unless it is the CPU.
nb::dict to_dict(io::TensorMap&& tensors, const Device& device) {
  nb::dict out;
  for (auto& [name, t] : tensors)
    out[nb::str(name.c_str(), name.size())] = wrap_tensor(device.is_cpu() ? std::move(t) : t.to(device));
  return out;
}

using OptMetadata = std::optional<io::Metadata>;

}  // namespace

void init_io(nb::module_& m) {
  m.def(
      "save_file",
      [](nb::handle tensors, nb::handle filename, const OptMetadata& metadata) {
        io::TensorMap map = to_tensor_map(tensors);
        const std::string path = to_path(filename);
        nb::gil_scoped_release release;
        io::save_file(map, path, metadata.value_or(io::Metadata{}));
      },
      nb::arg("tensors"), nb::arg("filename"), nb::arg("metadata") = nb::none(),
      "Saves {name: Tensor or ndarray} to a safetensors file with optional {str: str} metadata. The write is "
      "atomic: a temp file, fsync, rename over `filename`, fsync of the directory.");
  m.def(
      "load_file",
      [](nb::handle filename, nb::object device, bool mmap) {
        const Device dev = device.is_none() ? kCPU : to_device(device);
        const std::string path = to_path(filename);
        io::LoadedFile f;
        {
          nb::gil_scoped_release release;
          f = io::load_file(path, mmap);
        }
        return to_dict(std::move(f.tensors), dev);
      },
      nb::arg("filename"), nb::arg("device") = "cpu", nb::kw_only(), nb::arg("mmap") = true,
      "Loads a safetensors file as {name: Tensor} in file order. With mmap (the default) the tensors view a private "
      "memory map of the file. FormatError for a malformed file, OSError (IOError) for a missing one.");

  nb::module_ sub = m.def_submodule("_io", "safetensors bytes and metadata helpers");
  sub.def(
      "save",
      [](nb::handle tensors, const OptMetadata& metadata) {
        io::TensorMap map = to_tensor_map(tensors);
        std::string bytes;
        {
          nb::gil_scoped_release release;
          bytes = io::save_bytes(map, metadata.value_or(io::Metadata{}));
        }
        return nb::bytes(bytes.data(), bytes.size());
      },
      nb::arg("tensors"), nb::arg("metadata") = nb::none(), "The safetensors file image of {name: tensor} as bytes.");
  sub.def(
      "load",
      [](nb::bytes data, nb::object device) {
        const Device dev = device.is_none() ? kCPU : to_device(device);
        io::LoadedFile f = io::load_bytes(std::string_view(data.c_str(), data.size()));
        return to_dict(std::move(f.tensors), dev);
      },
      nb::arg("data"), nb::arg("device") = "cpu", "Parses safetensors bytes into {name: Tensor} (copies).");
  sub.def(
      "load_with_metadata",
      [](nb::handle filename, bool mmap) {
        const std::string path = to_path(filename);
        io::LoadedFile f;
        {
          nb::gil_scoped_release release;
          f = io::load_file(path, mmap);
        }
        return nb::make_tuple(to_dict(std::move(f.tensors), kCPU), nb::cast(f.metadata));
      },
      nb::arg("filename"), nb::arg("mmap") = true,
      "Loads a safetensors file as ({name: Tensor}, {str: str} metadata).");
  sub.def(
      "load_bytes_with_metadata",
      [](nb::bytes data) {
        io::LoadedFile f = io::load_bytes(std::string_view(data.c_str(), data.size()));
        return nb::make_tuple(to_dict(std::move(f.tensors), kCPU), nb::cast(f.metadata));
      },
      nb::arg("data"), "Parses safetensors bytes into ({name: Tensor}, {str: str} metadata).");
  sub.attr("save_bytes") = sub.attr("save");
  sub.attr("load_bytes") = sub.attr("load");
}

}  // namespace lamina::python
