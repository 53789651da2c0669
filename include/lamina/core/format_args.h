#pragma once
// Builds error messages from mixed parts; shapes and dtypes print themselves.
#include <sstream>
#include <string>

namespace lamina::detail {

template <class... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

}  // namespace lamina::detail
