// Dense row-major matrix kernels for the layers, over the K*n jet columns.
//
// The layer products have a short inner dimension (the layer width, 2..~256) and a long column
// dimension (K*n, thousands), so the kernels are built around register tiles that keep a block
// of C in vector registers:
//   gemm_nn / gemm_tn   C = A B         (forward: Z = W X; reverse: Y_bar = W^T Z_bar)
//                       A is packed once per call into MR-row strips; B is packed per block of
//                       kNB columns into contiguous k x NR tiles (the rows of B are K*n apart,
//                       often a multiple of 4 KiB, which would alias one L1 set without packing).
//   gemm_nt_acc         C += A B^T      (weight gradients: dot products along the K*n columns)
//                       3 x 3 blocks of dot products with the vector lanes along the columns.
// Vectors are GCC/Clang vector extensions sized to the target (32 bytes with AVX, else 16), so
// the same code serves float (twice the lanes) and double, with or without -march=native.
// The order of every sum is fixed by the tile shapes alone: results do not depend on alignment,
// on which thread computes a tile, or on how the columns are split between threads.
// Packing buffers are per thread and grow only the first time a size is seen: no allocation per step.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <vector>

#include "pinnbilo/parallel.hpp"

namespace pinnbilo {
namespace dense_detail {

#if defined(__AVX__)
constexpr std::size_t kVectorBytes = 32;
#else
constexpr std::size_t kVectorBytes = 16;
#endif

template <class T>
struct Simd;
template <>
struct Simd<double> {
  typedef double V __attribute__((vector_size(kVectorBytes)));
  static constexpr std::size_t L = kVectorBytes / sizeof(double);
};
template <>
struct Simd<float> {
  typedef float V __attribute__((vector_size(kVectorBytes)));
  static constexpr std::size_t L = kVectorBytes / sizeof(float);
};

// Per-thread packing buffer (one per element type and role); grows, never shrinks.
template <class T, int Role>
T* scratch(std::size_t count) {
  thread_local std::vector<T> buffer;
  if (buffer.size() < count) buffer.resize(count);
  return buffer.data();
}

// ---------------------------------------------------------------------------------------------
// C = A B: register tile of MR rows x NR = 2 vectors of columns.

// C[0..MR) x [0..cols) (=|+=) sum_q ap[q*MR + r] * bp[q*NR + l]; ap is a packed k x MR strip,
// bp a packed k x NR tile (zero beyond `cols`).
template <class T, int MR>
inline void micro_nn(std::size_t k, const T* ap, const T* bp, T* c, std::size_t ldc, std::size_t cols, bool acc) {
  using V = typename Simd<T>::V;
  constexpr std::size_t L = Simd<T>::L, NR = 2 * L;
  V c0[MR], c1[MR];
  for (int r = 0; r < MR; ++r) c0[r] = c1[r] = V{};
  for (std::size_t q = 0; q < k; ++q) {
    V b0, b1;
    std::memcpy(&b0, bp + q * NR, sizeof(V));
    std::memcpy(&b1, bp + q * NR + L, sizeof(V));
    const T* a = ap + q * static_cast<std::size_t>(MR);
    for (int r = 0; r < MR; ++r) {
      c0[r] += a[r] * b0;
      c1[r] += a[r] * b1;
    }
  }
  if (cols == NR) {
    for (int r = 0; r < MR; ++r) {
      T* cr = c + static_cast<std::size_t>(r) * ldc;
      if (acc) {
        V o0, o1;
        std::memcpy(&o0, cr, sizeof(V));
        std::memcpy(&o1, cr + L, sizeof(V));
        c0[r] += o0;
        c1[r] += o1;
      }
      std::memcpy(cr, &c0[r], sizeof(V));
      std::memcpy(cr + L, &c1[r], sizeof(V));
    }
    return;
  }
  for (int r = 0; r < MR; ++r) {
    T tile[NR];
    std::memcpy(tile, &c0[r], sizeof(V));
    std::memcpy(tile + L, &c1[r], sizeof(V));
    T* cr = c + static_cast<std::size_t>(r) * ldc;
    for (std::size_t l = 0; l < cols; ++l) cr[l] = acc ? cr[l] + tile[l] : tile[l];
  }
}

template <class T>
inline void micro_nn_rows(std::size_t rows, std::size_t k, const T* ap, const T* bp, T* c, std::size_t ldc,
                          std::size_t cols, bool acc) {
  switch (rows) {
    case 6: micro_nn<T, 6>(k, ap, bp, c, ldc, cols, acc); break;
    case 5: micro_nn<T, 5>(k, ap, bp, c, ldc, cols, acc); break;
    case 4: micro_nn<T, 4>(k, ap, bp, c, ldc, cols, acc); break;
    case 3: micro_nn<T, 3>(k, ap, bp, c, ldc, cols, acc); break;
    case 2: micro_nn<T, 2>(k, ap, bp, c, ldc, cols, acc); break;
    default: micro_nn<T, 1>(k, ap, bp, c, ldc, cols, acc); break;
  }
}

constexpr std::size_t kMR = 6;

// A (m x k) with element (r, q) at A[r * rs + q * cs], packed into strips of kMR rows: strip s
// holds A(s*kMR + r, q) at [s*kMR*k + q*rows + r] (rows = kMR, or the remainder for the last).
template <class T>
void pack_a(std::size_t m, std::size_t k, const T* A, std::size_t rs, std::size_t cs, T* ap) {
  for (std::size_t i0 = 0; i0 < m; i0 += kMR) {
    const std::size_t rows = std::min(kMR, m - i0);
    T* dst = ap + i0 * k;
    for (std::size_t q = 0; q < k; ++q)
      for (std::size_t r = 0; r < rows; ++r) dst[q * rows + r] = A[(i0 + r) * rs + q * cs];
  }
}

// Columns [j_begin, j_end) of C (m x p, row stride ldc) = A B with A packed by pack_a and
// B (k x p, row stride ldb).
template <class T>
void nn_columns(std::size_t m, std::size_t k, const T* ap, const T* B, std::size_t ldb, T* C, std::size_t ldc,
                std::size_t j_begin, std::size_t j_end, bool acc) {
  constexpr std::size_t NR = 2 * Simd<T>::L;
  // Columns per packed block of B: k x kNB stays in L1 while all row strips of A pass over it.
  const std::size_t block = std::max<std::size_t>(NR, std::min<std::size_t>(8 * NR, (16384 / sizeof(T)) / std::max<std::size_t>(k, 1) / NR * NR));
  T* bp = scratch<T, 0>(k * block);
  for (std::size_t j0 = j_begin; j0 < j_end; j0 += block) {
    const std::size_t nb = std::min(block, j_end - j0);
    const std::size_t tiles = (nb + NR - 1) / NR;
    for (std::size_t t = 0; t < tiles; ++t) {
      const std::size_t c0 = j0 + t * NR, cols = std::min(NR, j_end - c0);
      T* dst = bp + t * k * NR;
      if (cols == NR) {
        for (std::size_t q = 0; q < k; ++q) std::memcpy(dst + q * NR, B + q * ldb + c0, NR * sizeof(T));
      } else {
        for (std::size_t q = 0; q < k; ++q) {
          std::size_t l = 0;
          for (; l < cols; ++l) dst[q * NR + l] = B[q * ldb + c0 + l];
          for (; l < NR; ++l) dst[q * NR + l] = T(0);
        }
      }
    }
    for (std::size_t i0 = 0; i0 < m; i0 += kMR) {
      const std::size_t rows = std::min(kMR, m - i0);
      for (std::size_t t = 0; t < tiles; ++t) {
        const std::size_t c0 = j0 + t * NR, cols = std::min(NR, j_end - c0);
        micro_nn_rows<T>(rows, k, ap + i0 * k, bp + t * k * NR, C + i0 * ldc + c0, ldc, cols, acc);
      }
    }
  }
}

// Below this many multiply-adds a product runs on the calling thread only.
constexpr std::size_t kParallelWork = std::size_t(1) << 21;

template <class T>
void gemm_packed_a(std::size_t m, std::size_t k, std::size_t p, const T* ap, const T* B, T* C, bool acc) {
  constexpr std::size_t NR = 2 * Simd<T>::L;
  const std::size_t threads = m * k * p >= kParallelWork ? std::size_t(num_threads()) : 1;
  if (threads <= 1 || p < 2 * NR) {
    nn_columns<T>(m, k, ap, B, p, C, p, 0, p, acc);
    return;
  }
  // Contiguous column ranges, whole tiles each: every C element is computed by one thread with
  // the same tile as in a serial run, so results do not depend on the thread count.
  const std::size_t tiles = (p + NR - 1) / NR;
  parallel_for(threads, [&](std::size_t t) {
    const std::size_t b = tiles * t / threads * NR, e = std::min(p, tiles * (t + 1) / threads * NR);
    if (b < e) nn_columns<T>(m, k, ap, B, p, C, p, b, e, acc);
  });
}

// ---------------------------------------------------------------------------------------------
// C += A B^T: dot products of MA rows of A with NB rows of B, vector lanes along the columns.

template <class T, int MA, int NB>
inline void micro_nt(std::size_t len, const T* a, std::size_t lda, const T* b, std::size_t ldb, T* c,
                     std::size_t ldc) {
  using V = typename Simd<T>::V;
  constexpr std::size_t L = Simd<T>::L;
  V s[MA][NB];
  for (int r = 0; r < MA; ++r)
    for (int q = 0; q < NB; ++q) s[r][q] = V{};
  std::size_t j = 0;
  for (; j + L <= len; j += L) {
    V av[MA], bv[NB];
#pragma GCC unroll 8
    for (int r = 0; r < MA; ++r) std::memcpy(&av[r], a + static_cast<std::size_t>(r) * lda + j, sizeof(V));
#pragma GCC unroll 8
    for (int q = 0; q < NB; ++q) std::memcpy(&bv[q], b + static_cast<std::size_t>(q) * ldb + j, sizeof(V));
#pragma GCC unroll 8
    for (int r = 0; r < MA; ++r)
#pragma GCC unroll 8
      for (int q = 0; q < NB; ++q) s[r][q] += av[r] * bv[q];
  }
  for (int r = 0; r < MA; ++r) {
    for (int q = 0; q < NB; ++q) {
      T lanes[L];
      std::memcpy(lanes, &s[r][q], sizeof(V));
      // Pairwise lane sum, then the scalar tail: a fixed order.
      for (std::size_t w = L / 2; w > 0; w /= 2)
        for (std::size_t l = 0; l < w; ++l) lanes[l] += lanes[l + w];
      T total = lanes[0];
      const T* ar = a + static_cast<std::size_t>(r) * lda;
      const T* bq = b + static_cast<std::size_t>(q) * ldb;
      for (std::size_t t = j; t < len; ++t) total += ar[t] * bq[t];
      c[static_cast<std::size_t>(r) * ldc + static_cast<std::size_t>(q)] += total;
    }
  }
}

template <class T, int MA>
inline void micro_nt_cols(std::size_t nb, std::size_t len, const T* a, std::size_t lda, const T* b,
                          std::size_t ldb, T* c, std::size_t ldc) {
  switch (nb) {
    case 3: micro_nt<T, MA, 3>(len, a, lda, b, ldb, c, ldc); break;
    case 2: micro_nt<T, MA, 2>(len, a, lda, b, ldb, c, ldc); break;
    default: micro_nt<T, MA, 1>(len, a, lda, b, ldb, c, ldc); break;
  }
}

// Rows [i_begin, i_end) of C (m x k) += A (m x p) B^T with B (k x p), over column panels whose
// B part stays in L2 while the row blocks of A pass over it.
template <class T>
void nt_rows(std::size_t k, std::size_t p, const T* A, const T* B, T* C, std::size_t i_begin, std::size_t i_end) {
  // 3 x 3: nine accumulators plus six loaded vectors fit the 16 vector registers (4 x 3 spills).
  constexpr std::size_t MA = 3, NB = 3;
  const std::size_t panel = std::max<std::size_t>(256, (std::size_t(192) * 1024 / sizeof(T)) / std::max<std::size_t>(k, 1));
  for (std::size_t j0 = 0; j0 < p; j0 += panel) {
    const std::size_t len = std::min(panel, p - j0);
    std::size_t i = i_begin;
    for (; i + MA <= i_end; i += MA) {
      std::size_t q = 0;
      for (; q + NB <= k; q += NB) micro_nt<T, 3, 3>(len, A + i * p + j0, p, B + q * p + j0, p, C + i * k + q, k);
      if (q < k) micro_nt_cols<T, 3>(k - q, len, A + i * p + j0, p, B + q * p + j0, p, C + i * k + q, k);
    }
    for (; i < i_end; ++i) {
      std::size_t q = 0;
      for (; q + NB <= k; q += NB) micro_nt<T, 1, 3>(len, A + i * p + j0, p, B + q * p + j0, p, C + i * k + q, k);
      if (q < k) micro_nt_cols<T, 1>(k - q, len, A + i * p + j0, p, B + q * p + j0, p, C + i * k + q, k);
    }
  }
}

}  // namespace dense_detail

// C (m x p) = A (m x k) * B (k x p); all row-major and dense.
template <class T>
void gemm_nn(std::size_t m, std::size_t k, std::size_t p, const T* A, const T* B, T* C) {
  T* ap = dense_detail::scratch<T, 1>(m * k);
  dense_detail::pack_a<T>(m, k, A, k, 1, ap);
  dense_detail::gemm_packed_a<T>(m, k, p, ap, B, C, false);
}

// C (m x p) = A^T (m x k) * B (k x p), with A given as its transpose At (k x m, row-major): the
// reverse pass's W^T Z_bar without forming W^T.
template <class T>
void gemm_tn(std::size_t m, std::size_t k, std::size_t p, const T* At, const T* B, T* C) {
  T* ap = dense_detail::scratch<T, 1>(m * k);
  dense_detail::pack_a<T>(m, k, At, 1, m, ap);
  dense_detail::gemm_packed_a<T>(m, k, p, ap, B, C, false);
}

// C (m x k) += A (m x p) * B^T with B (k x p).  Threads take disjoint row ranges of C, each
// with the whole sum, so the result does not depend on the thread count.
template <class T>
void gemm_nt_acc(std::size_t m, std::size_t k, std::size_t p, const T* A, const T* B, T* C) {
  const std::size_t threads =
      m * k * p >= dense_detail::kParallelWork ? std::min<std::size_t>(std::size_t(num_threads()), m / 3) : 1;
  if (threads <= 1) {
    dense_detail::nt_rows<T>(k, p, A, B, C, 0, m);
    return;
  }
  const std::size_t blocks = m / 3;  // row ranges in whole blocks of 3 (the tile height)
  parallel_for(threads, [&](std::size_t t) {
    const std::size_t b = blocks * t / threads * 3;
    const std::size_t e = t + 1 == threads ? m : blocks * (t + 1) / threads * 3;
    dense_detail::nt_rows<T>(k, p, A, B, C, b, e);
  });
}

}  // namespace pinnbilo
