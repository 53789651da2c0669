#pragma once
// Tensor creation: constants, ranges, identity, copies of host data, and random tensors
// from the seeded global generator.
#include <cstdint>
#include <optional>
#include <vector>

#include "lamina/core/tensor.h"

namespace lamina {

/// Options shared by creation functions.
struct TensorOptions {
  Dtype dtype = kDefaultFloat;
  Device device = kCPU;
};

/// Uninitialized tensor.
Tensor empty(const Shape& shape, TensorOptions options = {});
/// All zeros.
Tensor zeros(const Shape& shape, TensorOptions options = {});
/// All ones.
Tensor ones(const Shape& shape, TensorOptions options = {});
/// Every element equal to `value`.
Tensor full(const Shape& shape, const Scalar& value, TensorOptions options = {});
/// Values start, start+step, ... below end (PyTorch arange); dtype as given.
Tensor arange(const Scalar& start, const Scalar& end, const Scalar& step, TensorOptions options);
/// arange with the dtype inferred like PyTorch (int64 for all-integer arguments, else float32).
Tensor arange(const Scalar& start, const Scalar& end, const Scalar& step = Scalar(int64_t{1}));
/// arange(0, end).
Tensor arange(const Scalar& end);
/// `steps` evenly spaced values from start to end inclusive.
Tensor linspace(double start, double end, int64_t steps, TensorOptions options = {});
/// n x m identity (m defaults to n).
Tensor eye(int64_t n, std::optional<int64_t> m = std::nullopt, TensorOptions options = {});
/// A 1-d tensor copied from host values of type T (dtype from T unless given).
template <class T>
Tensor tensor(const std::vector<T>& values, std::optional<Dtype> dtype = std::nullopt);
/// A tensor of `shape` copied from host values (numel must match).
template <class T>
Tensor tensor(const std::vector<T>& values, const Shape& shape, std::optional<Dtype> dtype = std::nullopt);
/// A 0-d tensor holding `value` (dtype float32 for floats, int64 for ints, bool for bools unless given).
Tensor scalar_tensor(const Scalar& value, std::optional<Dtype> dtype = std::nullopt);

/// Same shape, dtype and device as `t`, uninitialized.
Tensor empty_like(const Tensor& t);
/// zeros with t's shape/dtype/device.
Tensor zeros_like(const Tensor& t);
/// ones with t's shape/dtype/device.
Tensor ones_like(const Tensor& t);
/// full with t's shape/dtype/device.
Tensor full_like(const Tensor& t, const Scalar& value);

/// Seeds the global generator (all random ops draw from it).
void manual_seed(uint64_t seed);
/// The seed last set (or the default, 0x5eed).
uint64_t initial_seed();
/// Uniform [0, 1).
Tensor rand(const Shape& shape, TensorOptions options = {});
/// Standard normal.
Tensor randn(const Shape& shape, TensorOptions options = {});
/// Uniform integers in [low, high) on `device`; dtype int64 unless given.
Tensor randint(int64_t low, int64_t high, const Shape& shape, std::optional<Dtype> dtype = std::nullopt,
               Device device = kCPU);
/// rand with t's shape/dtype/device.
Tensor rand_like(const Tensor& t);
/// randn with t's shape/dtype/device.
Tensor randn_like(const Tensor& t);
/// A random permutation of 0..n-1 (int64) on `device` (drawn on the CPU: the same numbers on every device).
Tensor randperm(int64_t n, Device device = kCPU);
/// Fills t in place with U(low, high); returns t.
const Tensor& uniform_(const Tensor& t, double low = 0.0, double high = 1.0);
/// Fills t in place with N(mean, std); returns t.
const Tensor& normal_(const Tensor& t, double mean = 0.0, double std = 1.0);

}  // namespace lamina
