// Sliding-window kernels (see window.h). Each output row or plane is written by exactly one
// range, so parts run on separate threads without synchronisation, and col2im sums a plane's
// contributions in a fixed order (bit-identical for any thread count).
#include "lamina/kernels/window.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "lamina/kernels/cpu/loops.h"
#include "lamina/kernels/cpu/register.h"

namespace lamina::kernels::cpu {
namespace {

// [lo, hi) of output positions o whose input coordinate o * stride + offset lies in [0, size).
inline void valid_range(int64_t size, int64_t out, int64_t stride, int64_t offset, int64_t& lo, int64_t& hi) {
  lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  hi = size - offset <= 0 ? 0 : (size - 1 - offset) / stride + 1;
  if (hi > out) hi = out;
  if (lo > hi) lo = hi;
}

template <class T>
struct Im2col {
  static void run(const WindowGeometry& g, const void* xv, void* colsv, int64_t begin, int64_t end) {
    const T* x = static_cast<const T*>(xv);
    T* cols = static_cast<T*>(colsv);
    const int64_t plane = g.oh * g.ow;
    for (int64_t p = begin; p < end; ++p) {  // p = n * C + c
      const T* src = x + p * g.h * g.w;
      for (int64_t i = 0; i < g.kh; ++i) {
        for (int64_t j = 0; j < g.kw; ++j) {
          T* out = cols + ((p * g.kh + i) * g.kw + j) * plane;
          const int64_t off_h = i * g.dh - g.ph, off_w = j * g.dw - g.pw;
          int64_t y0, y1, x0, x1;
          valid_range(g.h, g.oh, g.sh, off_h, y0, y1);
          valid_range(g.w, g.ow, g.sw, off_w, x0, x1);
          std::fill(out, out + y0 * g.ow, T(0));
          for (int64_t oy = y0; oy < y1; ++oy) {
            T* o = out + oy * g.ow;
            const T* s = src + (oy * g.sh + off_h) * g.w + off_w;
            std::fill(o, o + x0, T(0));
            if (g.sw == 1) {
              std::copy(s + x0, s + x1, o + x0);
            } else {
              for (int64_t ox = x0; ox < x1; ++ox) o[ox] = s[ox * g.sw];
            }
            std::fill(o + x1, o + g.ow, T(0));
          }
          std::fill(out + y1 * g.ow, out + plane, T(0));
        }
      }
    }
  }
};

template <class T>
struct Col2im {
  static void run(const WindowGeometry& g, const void* colsv, void* gxv, int64_t begin, int64_t end) {
    using C = compute_t<T>;
    const T* cols = static_cast<const T*>(colsv);
    T* gx = static_cast<T*>(gxv);
    const int64_t plane = g.oh * g.ow, hw = g.h * g.w;
    std::vector<C> widened(std::is_same_v<T, C> ? 0 : hw);
    for (int64_t p = begin; p < end; ++p) {  // p = n * C + c
      C* acc = std::is_same_v<T, C> ? reinterpret_cast<C*>(gx + p * hw) : widened.data();
      std::fill(acc, acc + hw, C(0));
      for (int64_t i = 0; i < g.kh; ++i) {
        for (int64_t j = 0; j < g.kw; ++j) {
          const int64_t off_h = i * g.dh - g.ph, off_w = j * g.dw - g.pw;
          int64_t y0, y1, x0, x1;
          valid_range(g.h, g.oh, g.sh, off_h, y0, y1);
          valid_range(g.w, g.ow, g.sw, off_w, x0, x1);
          const T* src = cols + ((p * g.kh + i) * g.kw + j) * plane;
          for (int64_t oy = y0; oy < y1; ++oy) {
            C* a = acc + (oy * g.sh + off_h) * g.w + off_w;
            const T* s = src + oy * g.ow;
            if (g.sw == 1) {
              for (int64_t ox = x0; ox < x1; ++ox) a[ox] += static_cast<C>(s[ox]);
            } else {
              for (int64_t ox = x0; ox < x1; ++ox) a[ox * g.sw] += static_cast<C>(s[ox]);
            }
          }
        }
      }
      if constexpr (!std::is_same_v<T, C>)
        for (int64_t e = 0; e < hw; ++e) gx[p * hw + e] = static_cast<T>(acc[e]);
    }
  }
};

// 2x2 / stride-2 pooling of one plane without branches on the data (which element wins is
// unpredictable); false when the plane holds a NaN, which the general loop then handles.
template <class T, bool kArgmax>
bool pool_pair_plane(const T* src, T* o, int64_t* a, int64_t w, int64_t oh, int64_t ow) {
  using C = compute_t<T>;
  int nan = 0;
  for (int64_t oy = 0; oy < oh; ++oy) {
    const T* r0 = src + 2 * oy * w;
    const T* r1 = r0 + w;
    T* orow = o + oy * ow;
    // Values and argmax in separate loops of one element width each, which vectorize.
    for (int64_t ox = 0; ox < ow; ++ox) {
      const C a0 = static_cast<C>(r0[2 * ox]), a1 = static_cast<C>(r0[2 * ox + 1]);
      const C b0 = static_cast<C>(r1[2 * ox]), b1 = static_cast<C>(r1[2 * ox + 1]);
      nan |= (a0 != a0) | (a1 != a1) | (b0 != b0) | (b1 != b1);
      const C top = a1 > a0 ? a1 : a0, bottom = b1 > b0 ? b1 : b0;
      orow[ox] = static_cast<T>(bottom > top ? bottom : top);
    }
    if constexpr (kArgmax) {
      int64_t* arow = a + oy * ow;
      for (int64_t ox = 0; ox < ow; ++ox) {
        const C a0 = static_cast<C>(r0[2 * ox]), a1 = static_cast<C>(r0[2 * ox + 1]);
        const C b0 = static_cast<C>(r1[2 * ox]), b1 = static_cast<C>(r1[2 * ox + 1]);
        const int64_t right_top = a1 > a0, right_bottom = b1 > b0;
        const C top = a1 > a0 ? a1 : a0, bottom = b1 > b0 ? b1 : b0;
        const int64_t lower = bottom > top;
        arow[ox] = 2 * oy * w + 2 * ox + lower * (w + right_bottom) + (1 - lower) * right_top;
      }
    }
  }
  return nan == 0;
}

template <class T>
struct MaxPool {
  static void run(const WindowGeometry& g, const void* xv, void* outv, int64_t* argmax, int64_t begin, int64_t end) {
    using C = compute_t<T>;
    const T* x = static_cast<const T*>(xv);
    T* out = static_cast<T*>(outv);
    const int64_t hw = g.h * g.w, plane = g.oh * g.ow;
    const bool pair =
        g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.ph == 0 && g.pw == 0 && g.dh == 1 && g.dw == 1;
    for (int64_t p = begin; p < end; ++p) {
      const T* src = x + p * hw;
      T* o = out + p * plane;
      int64_t* a = argmax != nullptr ? argmax + p * plane : nullptr;
      if (pair && (a != nullptr ? pool_pair_plane<T, true>(src, o, a, g.w, g.oh, g.ow)
                                : pool_pair_plane<T, false>(src, o, a, g.w, g.oh, g.ow)))
        continue;
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          int64_t at;
          const C best = window_max(
              g, oy, ox, [src](int64_t k) { return static_cast<C>(src[k]); }, -std::numeric_limits<C>::infinity(), at);
          o[oy * g.ow + ox] = static_cast<T>(best);
          if (a != nullptr) a[oy * g.ow + ox] = at;
        }
      }
    }
  }
};

template <class T>
struct MaxPoolBackward {
  static void run(const WindowGeometry& g, const void* gradv, const int64_t* argmax, void* gxv, int64_t begin,
                  int64_t end) {
    using C = compute_t<T>;
    const T* grad = static_cast<const T*>(gradv);
    T* gx = static_cast<T*>(gxv);
    const int64_t hw = g.h * g.w, plane = g.oh * g.ow;
    std::vector<C> acc(hw);
    for (int64_t p = begin; p < end; ++p) {
      std::fill(acc.begin(), acc.end(), C(0));
      for (int64_t o = 0; o < plane; ++o) acc[argmax[p * plane + o]] += static_cast<C>(grad[p * plane + o]);
      for (int64_t e = 0; e < hw; ++e) gx[p * hw + e] = static_cast<T>(acc[e]);
    }
  }
};

}  // namespace

void register_window_kernels() {
  register_each<Im2col, LAMINA_FLOAT_TYPES>(Op::im2col);
  register_each<Col2im, LAMINA_FLOAT_TYPES>(Op::col2im);
  register_each<MaxPool, LAMINA_FLOAT_TYPES>(Op::max_pool2d);
  register_each<MaxPoolBackward, LAMINA_FLOAT_TYPES>(Op::max_pool2d_backward);
}

}  // namespace lamina::kernels::cpu
