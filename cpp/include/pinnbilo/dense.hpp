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

// C (m x k) += A (m x p) * B^T with B (k x p): row dot products.
template <class T>
void gemm_nt_acc(std::size_t m, std::size_t k, std::size_t p, const T* A, const T* B, T* C) {
  for (std::size_t i = 0; i < m; ++i) {
    const T* a = A + i * p;
    for (std::size_t q = 0; q < k; ++q) {
      const T* b = B + q * p;
      T s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      std::size_t j = 0;
      for (; j + 4 <= p; j += 4) {
        s0 += a[j] * b[j];
        s1 += a[j + 1] * b[j + 1];
        s2 += a[j + 2] * b[j + 2];
        s3 += a[j + 3] * b[j + 3];
      }
      for (; j < p; ++j) s0 += a[j] * b[j];
      C[i * k + q] += (s0 + s1) + (s2 + s3);
    }
  }
}

}  // namespace pinnbilo
