// Dense row-major matrix kernels for the layers, over the K*n jet columns.
// Column-blocked so a block of C rows stays in cache; four rows of C share each loaded row of B.
#pragma once
#include <algorithm>
#include <cstddef>

namespace pinnbilo {

// C (m x p) = A (m x k) * B (k x p); all row-major and dense.  A 4 x 8 tile of C stays in
// registers while q runs over k: each loaded row segment of B feeds four rows of C.
template <class T>
void gemm_nn(std::size_t m, std::size_t k, std::size_t p, const T* A, const T* B, T* C) {
  constexpr std::size_t W = 8;
  const std::size_t p_tiles = p - p % W;
  std::size_t i = 0;
  for (; i + 4 <= m; i += 4) {
    const T *a0 = A + i * k, *a1 = a0 + k, *a2 = a1 + k, *a3 = a2 + k;
    for (std::size_t j = 0; j < p_tiles; j += W) {
      T c0[W] = {}, c1[W] = {}, c2[W] = {}, c3[W] = {};
      for (std::size_t q = 0; q < k; ++q) {
        const T* b = B + q * p + j;
        const T x0 = a0[q], x1 = a1[q], x2 = a2[q], x3 = a3[q];
#pragma omp simd
        for (std::size_t l = 0; l < W; ++l) {
          c0[l] += x0 * b[l];
          c1[l] += x1 * b[l];
          c2[l] += x2 * b[l];
          c3[l] += x3 * b[l];
        }
      }
      std::copy(c0, c0 + W, C + i * p + j);
      std::copy(c1, c1 + W, C + (i + 1) * p + j);
      std::copy(c2, c2 + W, C + (i + 2) * p + j);
      std::copy(c3, c3 + W, C + (i + 3) * p + j);
    }
    for (std::size_t j = p_tiles; j < p; ++j) {
      T s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (std::size_t q = 0; q < k; ++q) {
        const T bj = B[q * p + j];
        s0 += a0[q] * bj, s1 += a1[q] * bj, s2 += a2[q] * bj, s3 += a3[q] * bj;
      }
      C[i * p + j] = s0, C[(i + 1) * p + j] = s1, C[(i + 2) * p + j] = s2, C[(i + 3) * p + j] = s3;
    }
  }
  for (; i < m; ++i) {
    T* c = C + i * p;
    std::fill(c, c + p, T(0));
    for (std::size_t q = 0; q < k; ++q) {
      const T a = A[i * k + q];
      const T* b = B + q * p;
#pragma omp simd
      for (std::size_t j = 0; j < p; ++j) c[j] += a * b[j];
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

// C (m x k) += A (m x p) * B^T with B (k x p): row dot products, a 2 x 4 block of C at a time
// so every loaded element feeds several products.  `omp simd reduction` lets the compiler
// split each sum across vector lanes (built with -fopenmp-simd; no fast-math needed).
template <class T>
void gemm_nt_acc(std::size_t m, std::size_t k, std::size_t p, const T* A, const T* B, T* C) {
  std::size_t i = 0;
  for (; i + 2 <= m; i += 2) {
    const T *a0 = A + i * p, *a1 = a0 + p;
    std::size_t q = 0;
    for (; q + 4 <= k; q += 4) {
      const T *b0 = B + q * p, *b1 = b0 + p, *b2 = b1 + p, *b3 = b2 + p;
      T s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
#pragma omp simd reduction(+ : s00, s01, s02, s03, s10, s11, s12, s13)
      for (std::size_t j = 0; j < p; ++j) {
        s00 += a0[j] * b0[j];
        s01 += a0[j] * b1[j];
        s02 += a0[j] * b2[j];
        s03 += a0[j] * b3[j];
        s10 += a1[j] * b0[j];
        s11 += a1[j] * b1[j];
        s12 += a1[j] * b2[j];
        s13 += a1[j] * b3[j];
      }
      T* c0 = C + i * k + q;
      T* c1 = c0 + k;
      c0[0] += s00, c0[1] += s01, c0[2] += s02, c0[3] += s03;
      c1[0] += s10, c1[1] += s11, c1[2] += s12, c1[3] += s13;
    }
    for (; q < k; ++q) {
      const T* b0 = B + q * p;
      T s0 = 0, s1 = 0;
#pragma omp simd reduction(+ : s0, s1)
      for (std::size_t j = 0; j < p; ++j) {
        s0 += a0[j] * b0[j];
        s1 += a1[j] * b0[j];
      }
      C[i * k + q] += s0;
      C[(i + 1) * k + q] += s1;
    }
  }
  for (; i < m; ++i) {
    const T* a0 = A + i * p;
    for (std::size_t q = 0; q < k; ++q) {
      const T* b0 = B + q * p;
      T s0 = 0;
#pragma omp simd reduction(+ : s0)
      for (std::size_t j = 0; j < p; ++j) s0 += a0[j] * b0[j];
      C[i * k + q] += s0;
    }
  }
}

}  // namespace pinnbilo
