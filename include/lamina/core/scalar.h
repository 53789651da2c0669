#pragma once
// A Python-like scalar (bool, int or float) used by ops and item().
#include <cstdint>
#include <ostream>

#include "lamina/core/dtype.h"

namespace lamina {

/// A bool, int64 or double value; "weak" in type promotion, like a Python number.
class Scalar {
 public:
  /// Which of the three kinds the scalar holds.
  enum class Kind : uint8_t { Bool, Int, Float };
  Scalar() : kind_(Kind::Int), i_(0) {}
  Scalar(bool v) : kind_(Kind::Bool), i_(v) {}  // NOLINT
  Scalar(int v) : kind_(Kind::Int), i_(v) {}  // NOLINT
  Scalar(int64_t v) : kind_(Kind::Int), i_(v) {}  // NOLINT
  Scalar(double v) : kind_(Kind::Float), d_(v) {}  // NOLINT
  Scalar(float v) : kind_(Kind::Float), d_(v) {}  // NOLINT

  /// Which kind of value this is.
  Kind kind() const { return kind_; }
  /// True for a float value.
  bool is_floating() const { return kind_ == Kind::Float; }
  /// True for a bool value.
  bool is_bool() const { return kind_ == Kind::Bool; }
  /// The value as double.
  double to_double() const { return kind_ == Kind::Float ? d_ : static_cast<double>(i_); }
  /// The value as int64 (floats truncate).
  int64_t to_int() const { return kind_ == Kind::Float ? static_cast<int64_t>(d_) : i_; }
  /// The value converted to C++ type T.
  template <class T>
  T to() const {
    if constexpr (std::is_same_v<T, bool>) return kind_ == Kind::Float ? d_ != 0.0 : i_ != 0;
    else if constexpr (std::is_integral_v<T>) return static_cast<T>(to_int());
    else return T(static_cast<compute_t<T>>(to_double()));
  }
  /// The dtype the scalar has on its own: bool, int64 or float64.
  Dtype natural_dtype() const {
    return kind_ == Kind::Bool ? Dtype::Bool : kind_ == Kind::Int ? Dtype::Int64 : Dtype::Float64;
  }

 private:
  Kind kind_;
  union {
    int64_t i_;
    double d_;
  };
};

/// Prints like Python: True, 3, 2.5.
inline std::ostream& operator<<(std::ostream& os, const Scalar& s) {
  if (s.is_bool()) return os << (s.to_int() ? "True" : "False");
  if (s.is_floating()) return os << s.to_double();
  return os << s.to_int();
}

}  // namespace lamina
