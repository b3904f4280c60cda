// Batched jet arithmetic. A jet array over n points is K x n, coefficient-major:
// coefficient k of point i sits at [k * n + i], so every rule is a loop over points that
// vectorises. All rules work on caller-owned buffers: nothing here allocates.
#pragma once
#include <algorithm>
#include <cstddef>

#include "pinnbilo/elementary.hpp"
#include "pinnbilo/jet_spec.hpp"

namespace pinnbilo {

// out = a * b (truncated). out must not alias a or b.
template <class T>
void jet_mul(const JetSpec& spec, std::size_t n, const T* a, const T* b, T* out) {
  std::fill(out, out + static_cast<std::size_t>(spec.size()) * n, T(0));
  for (const auto& t : spec.product_terms()) {
    T* o = out + static_cast<std::size_t>(t.out) * n;
    const T* x = a + static_cast<std::size_t>(t.left) * n;
    const T* y = b + static_cast<std::size_t>(t.right) * n;
    for (std::size_t i = 0; i < n; ++i) o[i] += x[i] * y[i];
  }
}

// Reverse of out = a * b with respect to a:  a_bar[alpha] += sum_beta b[beta] out_bar[alpha+beta].
// Also the reverse of y = f(z) with b = f'(z): the chain rule holds in the truncated algebra.
// ld: distance between coefficient rows (default n); a smaller n then works on a block of points.
template <class T>
void jet_mul_adjoint(const JetSpec& spec, std::size_t n, const T* out_bar, const T* b, T* a_bar, std::size_t ld = 0) {
  if (ld == 0) ld = n;
  for (const auto& t : spec.product_terms()) {
    T* o = a_bar + static_cast<std::size_t>(t.left) * ld;
    const T* x = out_bar + static_cast<std::size_t>(t.out) * ld;
    const T* y = b + static_cast<std::size_t>(t.right) * ld;
    for (std::size_t i = 0; i < n; ++i) o[i] += x[i] * y[i];
  }
}

// Scratch (in elements of T) that jet_unary needs for n points.
inline std::size_t jet_unary_scratch(const JetSpec& spec, std::size_t n) {
  return (static_cast<std::size_t>(spec.degree()) + 2 + 2 * static_cast<std::size_t>(spec.size())) * n;
}

// y = f(z) and g = f'(z) as truncated jets (g is what the reverse pass needs).
// With h = z - z_0:  f(z) = sum_k f^(k)(z_0)/k! h^k  and  f'(z) = sum_k (k+1) f^(k+1)(z_0)/(k+1)! h^k,
// h^k vanishing above the top degree of the spec.  y and g must not alias z; g may be null.
// ld: distance between coefficient rows of z, y and g (default n); with a smaller n the rule
// works on a block of points that stays in L1 (the scratch rows are n apart).
template <class T>
void jet_unary(const JetSpec& spec, std::size_t n, Func f, T p, const T* z, T* y, T* g, T* scratch,
               std::size_t ld = 0) {
  if (ld == 0) ld = n;
  const int K = spec.size();
  const int D = spec.degree();
  const std::size_t Kn = static_cast<std::size_t>(K) * n;
  T* d = scratch;                                     // (D + 2) x n normalised derivatives
  T* power = d + (static_cast<std::size_t>(D) + 2) * n;  // h^k
  T* next = power + Kn;                               // h^(k+1)
  taylor_coefficients<T>(f, p, z, n, D + 1, d);
  auto row = [ld](T* base, std::size_t k) { return base + k * ld; };   // z, y, g
  auto crow = [ld](const T* base, std::size_t k) { return base + k * ld; };
  auto srow = [n](T* base, std::size_t k) { return base + k * n; };    // scratch
  auto csrow = [n](const T* base, std::size_t k) { return base + k * n; };
  // Row 0 here, rows 1.. assigned (not accumulated) at k = 1 below: no zero fill needed.
  std::copy(d, d + n, y);
  if (g) std::copy(srow(d, 1), srow(d, 1) + n, g);
  if (D == 0) return;
  // k = 1: h itself.
  for (std::size_t c = 1; c < static_cast<std::size_t>(K); ++c) {
    const T* h = crow(z, c);
    T* yc = row(y, c);
    const T* d1 = srow(d, 1);
    for (std::size_t i = 0; i < n; ++i) yc[i] = d1[i] * h[i];
    if (g) {
      T* gc = row(g, c);
      const T* d2 = srow(d, 2);
      for (std::size_t i = 0; i < n; ++i) gc[i] = T(2) * d2[i] * h[i];
    }
  }
  if (D == 1) return;
  // power = h (constant row zero), then h^k for k = 2..D by truncated products of non-constant parts.
  std::fill(power, power + n, T(0));
  for (std::size_t c = 1; c < static_cast<std::size_t>(K); ++c) std::copy(crow(z, c), crow(z, c) + n, srow(power, c));
  for (int k = 2; k <= D; ++k) {
    std::fill(next, next + Kn, T(0));
    for (const auto& t : spec.nonconstant_terms()) {
      T* o = srow(next, static_cast<std::size_t>(t.out));
      const T* a = csrow(power, static_cast<std::size_t>(t.left));
      const T* b = crow(z, static_cast<std::size_t>(t.right));
      for (std::size_t i = 0; i < n; ++i) o[i] += a[i] * b[i];
    }
    std::swap(power, next);
    const T* dk = srow(d, static_cast<std::size_t>(k));
    const T* dk1 = srow(d, static_cast<std::size_t>(k) + 1);
    const T kp1 = static_cast<T>(k + 1);
    for (std::size_t c = 1; c < static_cast<std::size_t>(K); ++c) {
      const T* hc = csrow(power, c);
      T* yc = row(y, c);
      for (std::size_t i = 0; i < n; ++i) yc[i] += dk[i] * hc[i];
      if (g) {
        T* gc = row(g, c);
        for (std::size_t i = 0; i < n; ++i) gc[i] += kp1 * dk1[i] * hc[i];
      }
    }
  }
}

}  // namespace pinnbilo
