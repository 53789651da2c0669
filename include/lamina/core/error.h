#pragma once
// The typed error hierarchy shared by every part of lamina, and the one check macro.
#include <stdexcept>
#include <string>
#include <utility>

namespace lamina {

/// Base of every lamina error; `op()` names the operation that raised it.
class Error : public std::runtime_error {
 public:
  /// `op` is the operation name; `message` should already start with "[op]".
  Error(std::string op, const std::string& message) : std::runtime_error(message), op_(std::move(op)) {}
  /// The operation that raised the error.
  const std::string& op() const { return op_; }

 private:
  std::string op_;
};

#define LAMINA_DECLARE_ERROR(Name, Base) \
  class Name : public Base {             \
   public:                               \
    using Base::Base;                    \
  };

/// Shapes that do not fit together (broadcasting, matmul, reshape...).
LAMINA_DECLARE_ERROR(ShapeError, Error)
/// An index out of range (Python IndexError).
LAMINA_DECLARE_ERROR(IndexError, ShapeError)
/// A dtype the op does not accept, or an unsafe cast.
LAMINA_DECLARE_ERROR(DTypeError, Error)
/// Operands on different devices.
LAMINA_DECLARE_ERROR(DeviceMismatchError, Error)
/// A device that this build or machine does not have.
LAMINA_DECLARE_ERROR(DeviceNotAvailableError, Error)
/// An allocation failed; the message carries allocator statistics.
LAMINA_DECLARE_ERROR(OutOfMemoryError, Error)
/// A bad hyper-parameter or setting, rejected at construction.
LAMINA_DECLARE_ERROR(ConfigError, Error)
/// A feature that does not exist for these inputs (e.g. a dtype with no kernel).
LAMINA_DECLARE_ERROR(NotImplementedError, Error)
/// A file that cannot be read or written.
LAMINA_DECLARE_ERROR(IOError, Error)
/// A file whose contents are malformed.
LAMINA_DECLARE_ERROR(FormatError, IOError)
/// A kernel failed at run time (e.g. a CUDA launch error).
LAMINA_DECLARE_ERROR(KernelError, Error)
/// A value outside the op's domain (e.g. a negative count); Python ValueError.
LAMINA_DECLARE_ERROR(ValueError, Error)
/// A misuse of autograd (backward of a non-scalar without a gradient, a second backward through a
/// released graph, a saved tensor modified in place, an in-place op on a leaf that requires
/// grad); Python's lamina.AutogradError, both a ValueError and a RuntimeError (PyTorch's class).
LAMINA_DECLARE_ERROR(AutogradError, ValueError)
/// A collective or store operation failed (a peer closed its connection, a transport error);
/// Python's lamina.DistributedError, a RuntimeError as torch.distributed's DistError.
LAMINA_DECLARE_ERROR(DistributedError, Error)
/// A distributed operation did not finish within its timeout (a peer died or hangs); in
/// Python also a TimeoutError.
LAMINA_DECLARE_ERROR(DistTimeoutError, DistributedError)

#undef LAMINA_DECLARE_ERROR

namespace detail {
template <class... Args>
std::string concat(const Args&... args);
}  // namespace detail

}  // namespace lamina

#include "lamina/core/format_args.h"

/// Throws `ErrorType` with message "[op] <parts...>" unless `cond` holds.
#define LAMINA_CHECK(cond, ErrorType, op, ...)                                      \
  do {                                                                              \
    if (!(cond)) [[unlikely]]                                                       \
      throw ErrorType(op, ::lamina::detail::concat("[", op, "] ", __VA_ARGS__));   \
  } while (0)

/// Throws `ErrorType` with message "[op] <parts...>" unconditionally.
#define LAMINA_THROW(ErrorType, op, ...) \
  throw ErrorType(op, ::lamina::detail::concat("[", op, "] ", __VA_ARGS__))
