#pragma once
// The integers stores keep for add(): decimal text, as c10d's stores keep them (so a value set
// by one rank as "7" adds as 7 for another).
#include <cstdint>
#include <string>

#include "lamina/core/error.h"
#include "lamina/distributed/store.h"

namespace lamina::distributed {

/// The integer a store value holds; ValueError (naming `op`) when it is not one.
inline int64_t store_int(const Bytes& b, const char* op) {
  const std::string s(b.begin(), b.end());
  try {
    size_t used = 0;
    const int64_t v = std::stoll(s, &used);
    if (used == s.size()) return v;
  } catch (const std::exception&) {
  }
  LAMINA_THROW(ValueError, op, "add() on a key whose value is not an integer: '", s.substr(0, 64), "'");
}

/// value + delta; ValueError when the sum leaves int64.
inline int64_t store_add(int64_t value, int64_t delta, const char* op) {
  int64_t sum = 0;
  LAMINA_CHECK(!__builtin_add_overflow(value, delta, &sum), ValueError, op, "add() overflows int64");
  return sum;
}

/// `v` as a store value.
inline Bytes store_value(int64_t v) {
  const std::string s = std::to_string(v);
  return Bytes(s.begin(), s.end());
}

}  // namespace lamina::distributed
