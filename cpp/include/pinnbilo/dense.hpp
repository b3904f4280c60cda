// Dense row-major matrix kernels for the layers, over the K*n jet columns.
// Column-blocked so a block of C rows stays in cache; four rows of C share each loaded row of B.
#pragma once
#include <algorithm>
#include <cstddef>

namespace pinnbilo {

// C (m x p) = A (m x k) * B (k x p); all row-major and dense.
template <class T>
void gemm_nn(std::size_t m, std::size_t k, std::size_t p, const T* A, const T* B, T* C) {
  constexpr std::size_t kBlock = 512;
  for (std::size_t j0 = 0; j0 < p; j0 += kBlock) {
    const std::size_t jn = std::min(kBlock, p - j0);
    std::size_t i = 0;
    for (; i + 4 <= m; i += 4) {
      T* c0 = C + (i + 0) * p + j0;
      T* c1 = C + (i + 1) * p + j0;
      T* c2 = C + (i + 2) * p + j0;
      T* c3 = C + (i + 3) * p + j0;
      std::fill(c0, c0 + jn, T(0));
      std::fill(c1, c1 + jn, T(0));
      std::fill(c2, c2 + jn, T(0));
      std::fill(c3, c3 + jn, T(0));
      for (std::size_t q = 0; q < k; ++q) {
        const T a0 = A[(i + 0) * k + q], a1 = A[(i + 1) * k + q];
        const T a2 = A[(i + 2) * k + q], a3 = A[(i + 3) * k + q];
        const T* b = B + q * p + j0;
        for (std::size_t j = 0; j < jn; ++j) {
          const T bj = b[j];
          c0[j] += a0 * bj;
          c1[j] += a1 * bj;
          c2[j] += a2 * bj;
          c3[j] += a3 * bj;
        }
      }
    }
    for (; i < m; ++i) {
      T* c = C + i * p + j0;
      std::fill(c, c + jn, T(0));
      for (std::size_t q = 0; q < k; ++q) {
        const T a = A[i * k + q];
        const T* b = B + q * p + j0;
        for (std::size_t j = 0; j < jn; ++j) c[j] += a * b[j];
      }
    }
  }
}

// C (k x p) = A^T * B with A (m x k), B (m x p).
template <class T>
void gemm_tn(std::size_t m, std::size_t k, std::size_t p, const T* A, const T* B, T* C) {
  constexpr std::size_t kBlock = 512;
  for (std::size_t j0 = 0; j0 < p; j0 += kBlock) {
    const std::size_t jn = std::min(kBlock, p - j0);
    for (std::size_t q = 0; q < k; ++q) {
      T* c = C + q * p + j0;
      std::fill(c, c + jn, T(0));
      std::size_t i = 0;
      for (; i + 4 <= m; i += 4) {
        const T a0 = A[(i + 0) * k + q], a1 = A[(i + 1) * k + q];
        const T a2 = A[(i + 2) * k + q], a3 = A[(i + 3) * k + q];
        const T* b0 = B + (i + 0) * p + j0;
        const T* b1 = B + (i + 1) * p + j0;
        const T* b2 = B + (i + 2) * p + j0;
        const T* b3 = B + (i + 3) * p + j0;
        for (std::size_t j = 0; j < jn; ++j) c[j] += a0 * b0[j] + a1 * b1[j] + a2 * b2[j] + a3 * b3[j];
      }
      for (; i < m; ++i) {
        const T a = A[i * k + q];
        const T* b = B + i * p + j0;
        for (std::size_t j = 0; j < jn; ++j) c[j] += a * b[j];
      }
    }
  }
}

// C (m x k) += A (m x p) * B^T with B (k x p): row dot products, two rows of A against two
// rows of B at a time. The partial sums live in lane arrays so the compiler vectorises the
// loop without reassociating a scalar reduction (no fast-math needed).
template <class T>
void gemm_nt_acc(std::size_t m, std::size_t k, std::size_t p, const T* A, const T* B, T* C) {
  constexpr std::size_t L = 8;
  auto dot2x2 = [&](std::size_t i, std::size_t q, T out[4]) {
    const T *a0 = A + i * p, *a1 = A + (i + 1) * p, *b0 = B + q * p, *b1 = B + (q + 1) * p;
    T s00[L] = {}, s01[L] = {}, s10[L] = {}, s11[L] = {};
    std::size_t j = 0;
    for (; j + L <= p; j += L) {
      for (std::size_t l = 0; l < L; ++l) {
        s00[l] += a0[j + l] * b0[j + l];
        s01[l] += a0[j + l] * b1[j + l];
        s10[l] += a1[j + l] * b0[j + l];
        s11[l] += a1[j + l] * b1[j + l];
      }
    }
    T r00 = 0, r01 = 0, r10 = 0, r11 = 0;
    for (std::size_t l = 0; l < L; ++l) {
      r00 += s00[l];
      r01 += s01[l];
      r10 += s10[l];
      r11 += s11[l];
    }
    for (; j < p; ++j) {
      r00 += a0[j] * b0[j];
      r01 += a0[j] * b1[j];
      r10 += a1[j] * b0[j];
      r11 += a1[j] * b1[j];
    }
    out[0] = r00;
    out[1] = r01;
    out[2] = r10;
    out[3] = r11;
  };
  auto dot = [&](std::size_t i, std::size_t q) {
    const T *a = A + i * p, *b = B + q * p;
    T s[L] = {};
    std::size_t j = 0;
    for (; j + L <= p; j += L)
      for (std::size_t l = 0; l < L; ++l) s[l] += a[j + l] * b[j + l];
    T r = 0;
    for (std::size_t l = 0; l < L; ++l) r += s[l];
    for (; j < p; ++j) r += a[j] * b[j];
    return r;
  };
  std::size_t i = 0;
  for (; i + 2 <= m; i += 2) {
    std::size_t q = 0;
    for (; q + 2 <= k; q += 2) {
      T r[4];
      dot2x2(i, q, r);
      C[i * k + q] += r[0];
      C[i * k + q + 1] += r[1];
      C[(i + 1) * k + q] += r[2];
      C[(i + 1) * k + q + 1] += r[3];
    }
    for (; q < k; ++q) {
      C[i * k + q] += dot(i, q);
      C[(i + 1) * k + q] += dot(i + 1, q);
    }
  }
  for (; i < m; ++i)
    for (std::size_t q = 0; q < k; ++q) C[i * k + q] += dot(i, q);
}

}  // namespace pinnbilo
