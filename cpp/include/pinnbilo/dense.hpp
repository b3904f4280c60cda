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
  // Column panels of B small enough to stay in L2 while every row block of A passes over them.
  constexpr std::size_t kPanel = 256;
  for (std::size_t j0 = 0; j0 < p; j0 += kPanel) {
    const std::size_t j1 = std::min(p, j0 + kPanel);
    const std::size_t tiles_end = j0 + (j1 - j0) / W * W;
    std::size_t i = 0;
    for (; i + 4 <= m; i += 4) {
      const T *a0 = A + i * k, *a1 = a0 + k, *a2 = a1 + k, *a3 = a2 + k;
      for (std::size_t j = j0; j < tiles_end; j += W) {
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
      for (std::size_t j = tiles_end; j < j1; ++j) {
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
      std::fill(c + j0, c + j1, T(0));
      for (std::size_t q = 0; q < k; ++q) {
        const T a = A[i * k + q];
        const T* b = B + q * p;
#pragma omp simd
        for (std::size_t j = j0; j < j1; ++j) c[j] += a * b[j];
      }
    }
  }
}

// C (m x k) += A (m x p) * B^T with B (k x p): row dot products, a 2 x 4 block of C at a time
// so every loaded element feeds several products.  `omp simd reduction` lets the compiler
// split each sum across vector lanes (built with -fopenmp-simd; no fast-math needed).
template <class T>
void gemm_nt_acc_panel(std::size_t m, std::size_t k, std::size_t p, std::size_t ld, const T* A, const T* B, T* C) {
  std::size_t i = 0;
  for (; i + 2 <= m; i += 2) {
    const T *a0 = A + i * ld, *a1 = a0 + ld;
    std::size_t q = 0;
    for (; q + 4 <= k; q += 4) {
      const T *b0 = B + q * ld, *b1 = b0 + ld, *b2 = b1 + ld, *b3 = b2 + ld;
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
      const T* b0 = B + q * ld;
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
    const T* a0 = A + i * ld;
    for (std::size_t q = 0; q < k; ++q) {
      const T* b0 = B + q * ld;
      T s0 = 0;
#pragma omp simd reduction(+ : s0)
      for (std::size_t j = 0; j < p; ++j) s0 += a0[j] * b0[j];
      C[i * k + q] += s0;
    }
  }
}

// C (m x k) += A (m x p) * B^T over column panels, so the panels of A and B stay in L2.
template <class T>
void gemm_nt_acc(std::size_t m, std::size_t k, std::size_t p, const T* A, const T* B, T* C) {
  constexpr std::size_t kPanel = 512;
  for (std::size_t j0 = 0; j0 < p; j0 += kPanel)
    gemm_nt_acc_panel(m, k, std::min(kPanel, p - j0), p, A + j0, B + j0, C);
}

}  // namespace pinnbilo
