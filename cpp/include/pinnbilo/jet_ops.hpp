// Batched jet arithmetic. A jet array over n points is K x n, coefficient-major:
// coefficient k of point i sits at [k * n + i], so every rule is a loop over points that
// vectorises. All rules work on caller-owned buffers: nothing here allocates.
#pragma once
#include <algorithm>
#include <cstddef>

#include "pinnbilo/elementary.hpp"
#include "pinnbilo/jet_spec.hpp"

namespace pinnbilo {

namespace jet_detail {

// o (=|+=) x0 y0 + x1 y1 + ... (m products, m = 1..4), added one after another.
template <class T, bool Assign>
void add_products(std::size_t n, int m, const T* const* x, const T* const* y, T* o) {
  switch (m) {
    case 1: {
      const T *x0 = x[0], *y0 = y[0];
#pragma omp simd
      for (std::size_t i = 0; i < n; ++i) o[i] = (Assign ? T(0) : o[i]) + x0[i] * y0[i];
      break;
    }
    case 2: {
      const T *x0 = x[0], *y0 = y[0], *x1 = x[1], *y1 = y[1];
#pragma omp simd
      for (std::size_t i = 0; i < n; ++i) o[i] = ((Assign ? T(0) : o[i]) + x0[i] * y0[i]) + x1[i] * y1[i];
      break;
    }
    case 3: {
      const T *x0 = x[0], *y0 = y[0], *x1 = x[1], *y1 = y[1], *x2 = x[2], *y2 = y[2];
#pragma omp simd
      for (std::size_t i = 0; i < n; ++i)
        o[i] = (((Assign ? T(0) : o[i]) + x0[i] * y0[i]) + x1[i] * y1[i]) + x2[i] * y2[i];
      break;
    }
    case 4: {
      const T *x0 = x[0], *y0 = y[0], *x1 = x[1], *y1 = y[1], *x2 = x[2], *y2 = y[2], *x3 = x[3], *y3 = y[3];
#pragma omp simd
      for (std::size_t i = 0; i < n; ++i)
        o[i] = ((((Assign ? T(0) : o[i]) + x0[i] * y0[i]) + x1[i] * y1[i]) + x2[i] * y2[i]) + x3[i] * y3[i];
      break;
    }
    default: break;
  }
}

// One row o (=|+=) the sum of x_j * y_j over the pairs next(x, y) yields (false when done), in
// order, four per pass over the row: each row is read and written once per four terms, with the
// rounding of adding the terms one after another.  With assign and no pairs the row is zeroed.
template <class T, class Next>
void sum_products(std::size_t n, T* o, bool assign, Next next) {
  const T* x[4];
  const T* y[4];
  for (;;) {
    int m = 0;
    while (m < 4 && next(x[m], y[m])) ++m;
    if (m == 0) break;
    if (assign)
      add_products<T, true>(n, m, x, y, o);
    else
      add_products<T, false>(n, m, x, y, o);
    assign = false;
    if (m < 4) break;
  }
  if (assign) std::fill(o, o + n, T(0));
}

}  // namespace jet_detail

// out = a * b (truncated). out must not alias a or b.  ld: distance between coefficient rows
// (default n).  Each row of out is formed in one pass from its terms, up to four at a time, added
// in the order of the term list.
template <class T>
void jet_mul(const JetSpec& spec, std::size_t n, const T* a, const T* b, T* out, std::size_t ld = 0) {
  if (ld == 0) ld = n;
  const auto& terms = spec.product_terms();  // grouped by output row, rows in order
  std::size_t t = 0;
  for (int row = 0; row < spec.size(); ++row) {
    jet_detail::sum_products<T>(n, out + static_cast<std::size_t>(row) * ld, true, [&](const T*& x, const T*& y) {
      if (t == terms.size() || terms[t].out != row) return false;
      x = a + static_cast<std::size_t>(terms[t].left) * ld;
      y = b + static_cast<std::size_t>(terms[t].right) * ld;
      ++t;
      return true;
    });
  }
}

// Reverse of out = a * b with respect to a:  a_bar[alpha] += sum_beta b[beta] out_bar[alpha+beta]
// (with assign: a_bar[alpha] = that sum, without reading a_bar first).
// Also the reverse of y = f(z) with b = f'(z): the chain rule holds in the truncated algebra.
// ld: distance between coefficient rows (default n); a smaller n then works on a block of points.
// The terms are taken grouped by the row of a_bar they feed, up to four at a time, so each a_bar
// row is read and written once per group of four instead of once per term; each row still adds
// its terms one after another in the order of the term list (the same rounding as term by term).
template <class T>
void jet_mul_adjoint(const JetSpec& spec, std::size_t n, const T* out_bar, const T* b, T* a_bar, std::size_t ld = 0,
                     bool assign = false) {
  if (ld == 0) ld = n;
  const auto& terms = spec.product_terms();
  for (int left = 0; left < spec.size(); ++left) {
    std::size_t t = 0;
    jet_detail::sum_products<T>(n, a_bar + static_cast<std::size_t>(left) * ld, assign, [&](const T*& x, const T*& y) {
      while (t < terms.size() && terms[t].left != left) ++t;
      if (t == terms.size()) return false;
      x = out_bar + static_cast<std::size_t>(terms[t].out) * ld;
      y = b + static_cast<std::size_t>(terms[t].right) * ld;
      ++t;
      return true;
    });
  }
}

// Scratch (in elements of T) that jet_unary needs for n points: the D + 2 normalised derivatives
// and the powers h^2..h^D of the non-constant part.
inline std::size_t jet_unary_scratch(const JetSpec& spec, std::size_t n) {
  const std::size_t D = static_cast<std::size_t>(spec.degree());
  const std::size_t K = static_cast<std::size_t>(spec.size());
  return (D + 2 + (D > 1 ? (D - 1) * K : 0)) * n;
}

namespace jet_detail {

// Total degree of the k-th monomial of a spec.
inline int monomial_degree(const JetSpec& spec, int k) {
  int d = 0;
  for (int a : spec.monomial(k)) d += a;
  return d;
}

// Row c of y and g from the powers of h that reach it (m = the degree of row c, capped at D):
//   y_c = sum_{k=1..m} d_k [h^k]_c,   g_c = sum_{k=1..m} (k+1) d_{k+1} [h^k]_c.
// p[k] points at row c of h^k (p[1] at row c of z).  The sums run k = 1, 2, ... with one
// multiply-add per step (a fixed rounding, whatever the compiler fuses), y and g in one loop.
template <class T>
void compose_row(int m, std::size_t n, const T* d, const T* const* p, T* yc, T* gc) {
  auto dr = [d, n](int k) { return d + static_cast<std::size_t>(k) * n; };
  if (m <= 3 && !gc) {  // the usual degrees, y alone: one pass, the same sums in the same order
    const T *d1 = dr(1), *h1 = p[1];
    if (m == 1) {
#pragma omp simd
      for (std::size_t i = 0; i < n; ++i) yc[i] = d1[i] * h1[i];
    } else if (m == 2) {
      const T *d2 = dr(2), *h2 = p[2];
#pragma omp simd
      for (std::size_t i = 0; i < n; ++i) yc[i] = d1[i] * h1[i] + d2[i] * h2[i];
    } else {
      const T *d2 = dr(2), *d3 = dr(3), *h2 = p[2], *h3 = p[3];
#pragma omp simd
      for (std::size_t i = 0; i < n; ++i) yc[i] = (d1[i] * h1[i] + d2[i] * h2[i]) + d3[i] * h3[i];
    }
    return;
  }
  if (m <= 3) {  // y and g in one pass, the same sums in the same order
    const T *d1 = dr(1), *d2 = dr(2), *h1 = p[1];
    if (m == 1) {
#pragma omp simd
      for (std::size_t i = 0; i < n; ++i) {
        yc[i] = d1[i] * h1[i];
        gc[i] = T(2) * d2[i] * h1[i];
      }
    } else if (m == 2) {
      const T *d3 = dr(3), *h2 = p[2];
#pragma omp simd
      for (std::size_t i = 0; i < n; ++i) {
        yc[i] = d1[i] * h1[i] + d2[i] * h2[i];
        gc[i] = T(2) * d2[i] * h1[i] + T(3) * d3[i] * h2[i];
      }
    } else {
      const T *d3 = dr(3), *d4 = dr(4), *h2 = p[2], *h3 = p[3];
#pragma omp simd
      for (std::size_t i = 0; i < n; ++i) {
        yc[i] = (d1[i] * h1[i] + d2[i] * h2[i]) + d3[i] * h3[i];
        gc[i] = (T(2) * d2[i] * h1[i] + T(3) * d3[i] * h2[i]) + T(4) * d4[i] * h3[i];
      }
    }
    return;
  }
  const T *d1 = dr(1), *d2 = dr(2), *h1 = p[1];
  if (gc) {
#pragma omp simd
    for (std::size_t i = 0; i < n; ++i) {
      yc[i] = d1[i] * h1[i];
      gc[i] = T(2) * d2[i] * h1[i];
    }
  } else {
#pragma omp simd
    for (std::size_t i = 0; i < n; ++i) yc[i] = d1[i] * h1[i];
  }
  for (int k = 2; k <= m; ++k) {
    const T *dk = dr(k), *dk1 = dr(k + 1), *hk = p[k];
    const T kp1 = static_cast<T>(k + 1);
    if (gc) {
#pragma omp simd
      for (std::size_t i = 0; i < n; ++i) {
        yc[i] += dk[i] * hk[i];
        gc[i] += kp1 * dk1[i] * hk[i];
      }
    } else {
#pragma omp simd
      for (std::size_t i = 0; i < n; ++i) yc[i] += dk[i] * hk[i];
    }
  }
}

}  // namespace jet_detail

// y = f(z) and g = f'(z) as truncated jets (g is what the reverse pass needs).
// With h = z - z_0:  f(z) = sum_k f^(k)(z_0)/k! h^k  and  f'(z) = sum_k (k+1) f^(k+1)(z_0)/(k+1)! h^k,
// h^k vanishing above the top degree of the spec.  y and g must not alias z; g may be null.
// ld: distance between coefficient rows of z, y and g (default n); with a smaller n the rule
// works on a block of points that stays in L1 (the scratch rows are n apart).
// Monomials are ordered by degree and h has no constant part, so h^k is non-zero only on the rows
// of degree >= k (a suffix of the rows): only those are formed, and each row of y and g is written
// once, from all the powers that reach it.
template <class T>
void jet_unary(const JetSpec& spec, std::size_t n, Func f, T p, const T* z, T* y, T* g, T* scratch,
               std::size_t ld = 0) {
  if (ld == 0) ld = n;
  const int K = spec.size();
  const int D = spec.degree();
  const std::size_t Kn = static_cast<std::size_t>(K) * n;
  T* d = scratch;                                          // (D + 2) x n normalised derivatives
  T* pw = d + (static_cast<std::size_t>(D) + 2) * n;       // h^k for k = 2..D, K x n each
  taylor_coefficients<T>(f, p, z, n, D + 1, d);
  std::copy(d, d + n, y);
  if (g) std::copy(d + n, d + 2 * n, g);
  if (D == 0) return;
  auto power_row = [&](int k, int c) -> const T* {  // row c of h^k (k >= 1)
    if (k == 1) return z + static_cast<std::size_t>(c) * ld;
    return pw + static_cast<std::size_t>(k - 2) * Kn + static_cast<std::size_t>(c) * n;
  };
  // h^k = h^(k-1) * h on the rows of degree >= k; terms whose left factor has degree < k - 1 read
  // zero rows of h^(k-1) and are skipped.
  for (int k = 2; k <= D; ++k) {
    int first = 1;
    while (first < K && jet_detail::monomial_degree(spec, first) < k) ++first;
    int first_left = 1;
    while (first_left < K && jet_detail::monomial_degree(spec, first_left) < k - 1) ++first_left;
    T* next = pw + static_cast<std::size_t>(k - 2) * Kn;
    // Each row of h^k from its terms (grouped by output row) whose left factor reaches degree k - 1.
    const auto& terms = spec.nonconstant_terms();
    std::size_t t = 0;
    for (int row = first; row < K; ++row) {
      while (t < terms.size() && terms[t].out < row) ++t;
      jet_detail::sum_products<T>(n, next + static_cast<std::size_t>(row) * n, true, [&](const T*& x, const T*& y) {
        while (t < terms.size() && terms[t].out == row && terms[t].left < first_left) ++t;
        if (t == terms.size() || terms[t].out != row) return false;
        x = power_row(k - 1, terms[t].left);
        y = z + static_cast<std::size_t>(terms[t].right) * ld;
        ++t;
        return true;
      });
    }
  }
  const T* rows[20];  // rows[k] = row c of h^k; degrees are at most 16
  for (int c = 1; c < K; ++c) {
    const int m = std::min(jet_detail::monomial_degree(spec, c), D);
    for (int k = 1; k <= m; ++k) rows[k] = power_row(k, c);
    jet_detail::compose_row<T>(m, n, d, rows, y + static_cast<std::size_t>(c) * ld,
                               g ? g + static_cast<std::size_t>(c) * ld : nullptr);
  }
}

}  // namespace pinnbilo
