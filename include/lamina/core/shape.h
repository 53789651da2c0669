#pragma once
// Shape and stride vectors stored inline (no heap), and shape helpers.
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <type_traits>
#include <vector>

#include "lamina/core/error.h"

namespace lamina {

/// Most dimensions a tensor may have; inline storage keeps shapes off the heap.
inline constexpr int kMaxDims = 16;

/// A vector of up to kMaxDims int64 values with a std::vector-like interface.
class DimVector {
 public:
  DimVector() = default;
  /// `n` copies of `value`.
  DimVector(int64_t n, int64_t value) { resize(n, value); }
  /// From a brace list, e.g. {2, 3}.
  DimVector(std::initializer_list<int64_t> values) { assign(values.begin(), values.end()); }
  /// From a std::vector.
  DimVector(const std::vector<int64_t>& values) { assign(values.begin(), values.end()); }  // NOLINT
  /// From an iterator range.
  template <class It>
    requires(!std::is_integral_v<It>)
  DimVector(It first, It last) { assign(first, last); }

  // std::vector-style access: size, element access, iteration.
  /// Number of values.
  int64_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  int64_t* data() { return values_; }
  const int64_t* data() const { return values_; }
  int64_t& operator[](int64_t i) { return values_[i]; }
  int64_t operator[](int64_t i) const { return values_[i]; }
  int64_t* begin() { return values_; }
  int64_t* end() { return values_ + size_; }
  const int64_t* begin() const { return values_; }
  const int64_t* end() const { return values_ + size_; }
  int64_t& back() { return values_[size_ - 1]; }
  int64_t back() const { return values_[size_ - 1]; }
  /// Appends a value; throws ShapeError beyond kMaxDims.
  void push_back(int64_t v) {
    check_capacity(size_ + 1);
    values_[size_++] = v;
  }
  /// Removes the last value.
  void pop_back() { --size_; }
  /// Removes all values.
  void clear() { size_ = 0; }
  /// Resizes, filling new slots with `value`.
  void resize(int64_t n, int64_t value = 0) {
    check_capacity(n);
    for (int64_t i = size_; i < n; ++i) values_[i] = value;
    size_ = static_cast<int>(n);
  }
  /// Inserts `v` before position `pos`.
  void insert(int64_t pos, int64_t v) {
    check_capacity(size_ + 1);
    for (int64_t i = size_; i > pos; --i) values_[i] = values_[i - 1];
    values_[pos] = v;
    ++size_;
  }
  /// Removes the value at `pos`.
  void erase(int64_t pos) {
    for (int64_t i = pos; i + 1 < size_; ++i) values_[i] = values_[i + 1];
    --size_;
  }
  /// Replaces the contents with an iterator range.
  template <class It>
  void assign(It first, It last) {
    size_ = 0;
    for (; first != last; ++first) push_back(static_cast<int64_t>(*first));
  }
  /// Copies into a std::vector.
  std::vector<int64_t> vec() const { return std::vector<int64_t>(begin(), end()); }
  friend bool operator==(const DimVector& a, const DimVector& b) {
    if (a.size_ != b.size_) return false;
    for (int i = 0; i < a.size_; ++i)
      if (a.values_[i] != b.values_[i]) return false;
    return true;
  }

 private:
  static void check_capacity(int64_t n) {
    if (n > kMaxDims)
      throw ShapeError("shape", "[shape] lamina tensors have at most 16 dimensions, got " + std::to_string(n));
  }
  int64_t values_[kMaxDims];
  int size_ = 0;
};

/// A tensor's sizes.
using Shape = DimVector;
/// A tensor's strides, in elements.
using Strides = DimVector;

/// Prints a shape as (2, 3).
std::ostream& operator<<(std::ostream& os, const DimVector& s);

/// Product of the sizes (1 for a 0-d shape).
int64_t shape_numel(const Shape& shape);
/// Row-major (C-contiguous) strides for `shape`.
Strides contiguous_strides(const Shape& shape);
/// Wraps a possibly negative dim into [0, ndim); throws IndexError naming `op` if out of range.
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op);
/// The broadcast of two shapes; throws ShapeError naming `op`.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

}  // namespace lamina
