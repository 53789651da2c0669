// The typed error hierarchy in Python: lamina.Error and its subclasses, each also a
// subclass of the matching built-in exception, and the C++ -> Python translation.
#include <typeinfo>

#include "bind.h"

namespace lamina::python {
namespace {

struct ErrorClasses {
  PyObject* base = nullptr;
  PyObject* shape = nullptr;
  PyObject* index = nullptr;
  PyObject* dtype = nullptr;
  PyObject* device_mismatch = nullptr;
  PyObject* device_not_available = nullptr;
  PyObject* oom = nullptr;
  PyObject* config = nullptr;
  PyObject* not_implemented = nullptr;
  PyObject* io = nullptr;
  PyObject* format = nullptr;
  PyObject* kernel = nullptr;
  PyObject* value = nullptr;
  PyObject* autograd = nullptr;
  PyObject* distributed = nullptr;
  PyObject* dist_timeout = nullptr;
};

ErrorClasses g_errors;

PyObject* make_class(nb::module_& m, const char* name, std::initializer_list<PyObject*> bases, const char* doc) {
  PyObject* tuple = PyTuple_New(static_cast<Py_ssize_t>(bases.size()));
  Py_ssize_t i = 0;
  for (PyObject* b : bases) {
    Py_INCREF(b);
    PyTuple_SET_ITEM(tuple, i++, b);
  }
  std::string qualified = std::string("lamina.") + name;
  PyObject* cls = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, tuple, nullptr);
  Py_DECREF(tuple);
  if (!cls) throw nb::python_error();
  m.attr(name) = nb::handle(cls);
  return cls;
}

void raise(PyObject* cls, const lamina::Error& e) {
  PyObject* inst = PyObject_CallFunction(cls, "s", e.what());
  if (!inst) return;
  PyObject* op = PyUnicode_FromString(e.op().c_str());
  PyObject_SetAttrString(inst, "op", op);
  Py_XDECREF(op);
  PyErr_SetObject(cls, inst);
  Py_DECREF(inst);
}

}  // namespace

void init_errors(nb::module_& m) {
  auto& c = g_errors;
  c.base = make_class(m, "Error", {PyExc_Exception}, "Base of every lamina error; .op names the operation.");
  c.shape = make_class(m, "ShapeError", {c.base, PyExc_ValueError}, "Shapes that do not fit together.");
  c.index = make_class(m, "IndexError", {c.shape, PyExc_IndexError}, "An index out of range.");
  c.dtype = make_class(m, "DTypeError", {c.base, PyExc_TypeError}, "A dtype the op does not accept.");
  c.device_mismatch =
      make_class(m, "DeviceMismatchError", {c.base, PyExc_RuntimeError}, "Operands on different devices.");
  c.device_not_available = make_class(m, "DeviceNotAvailableError", {c.base, PyExc_RuntimeError},
                                      "A device this build or machine does not have.");
  c.oom = make_class(m, "OutOfMemoryError", {c.base, PyExc_MemoryError}, "An allocation failed.");
  c.config = make_class(m, "ConfigError", {c.base, PyExc_ValueError}, "A bad hyper-parameter or setting.");
  c.not_implemented = make_class(m, "NotImplementedError", {c.base, PyExc_NotImplementedError},
                                 "A feature that does not exist for these inputs.");
  c.io = make_class(m, "IOError", {c.base, PyExc_OSError}, "A file that cannot be read or written.");
  c.format = make_class(m, "FormatError", {c.io}, "A file whose contents are malformed.");
  c.kernel = make_class(m, "KernelError", {c.base, PyExc_RuntimeError}, "A kernel failed at run time.");
  c.value = make_class(m, "ValueError", {c.base, PyExc_ValueError}, "A value outside the op's domain.");
  c.autograd = make_class(m, "AutogradError", {c.value, PyExc_RuntimeError},
                          "A misuse of autograd; a RuntimeError as in PyTorch, and a ValueError.");
  c.distributed = make_class(m, "DistributedError", {c.base, PyExc_RuntimeError},
                             "A collective or store operation failed (a peer gone, a transport error).");
  c.dist_timeout = make_class(m, "DistTimeoutError", {c.distributed, PyExc_TimeoutError},
                              "A distributed operation did not finish within its timeout.");

  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const lamina::IndexError& e) {
      raise(g_errors.index, e);
    } catch (const lamina::ShapeError& e) {
      raise(g_errors.shape, e);
    } catch (const lamina::DTypeError& e) {
      raise(g_errors.dtype, e);
    } catch (const lamina::DeviceMismatchError& e) {
      raise(g_errors.device_mismatch, e);
    } catch (const lamina::DeviceNotAvailableError& e) {
      raise(g_errors.device_not_available, e);
    } catch (const lamina::OutOfMemoryError& e) {
      raise(g_errors.oom, e);
    } catch (const lamina::ConfigError& e) {
      raise(g_errors.config, e);
    } catch (const lamina::NotImplementedError& e) {
      raise(g_errors.not_implemented, e);
    } catch (const lamina::FormatError& e) {
      raise(g_errors.format, e);
    } catch (const lamina::IOError& e) {
      raise(g_errors.io, e);
    } catch (const lamina::KernelError& e) {
      raise(g_errors.kernel, e);
    } catch (const lamina::DistTimeoutError& e) {
      raise(g_errors.dist_timeout, e);
    } catch (const lamina::DistributedError& e) {
      raise(g_errors.distributed, e);
    } catch (const lamina::AutogradError& e) {
      raise(g_errors.autograd, e);
    } catch (const lamina::ValueError& e) {
      raise(g_errors.value, e);
    } catch (const lamina::Error& e) {
      raise(g_errors.base, e);
    } catch (const std::bad_cast&) {
      // nanobind's cast_error: an argument of the wrong type, or an int that does not fit.
      raise(g_errors.dtype, lamina::DTypeError("argument", "[argument] an argument has the wrong type or is out of "
                                                           "range for its C++ type (e.g. an int beyond int64)"));
    }
  });
}

}  // namespace lamina::python
