// Dense row-major matrix kernels for the layers, over the K*n jet columns.
//
// The layer products have a short inner dimension (the layer width, 2..~256) and a long column
// dimension (K*n, thousands), so the kernels are built around register tiles that keep a block
// of C in vector registers:
//   gemm_nn / gemm_tn   C = A B         (forward: Z = W X; reverse: Y_bar = W^T Z_bar)
//                       A is packed once per call into MR-row strips; B is packed per block of
//                       kNB columns into contiguous k x NR tiles (the rows of B are K*n apart,
//                       often a multiple of 4 KiB, which would alias one L1 set without packing).
//   gemm_nt_acc         C += A B^T      (weight gradients: inner dimension K*n)
//                       chunks of the K*n columns of B are transposed into the packed tile
//                       layout; A is broadcast from where it lies; the same register tiles
//                       accumulate over each chunk.
// Vectors are GCC/Clang vector extensions sized to the target (64 bytes with AVX-512F, 32 with
// AVX, else 16), so
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

#if defined(__AVX512F__)
constexpr std::size_t kVectorBytes = 64;  // a tile row is two zmm registers: 16 doubles, 32 floats
#elif defined(__AVX__)
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

// C[0..MR) x [0..cols) (=|+=) the register tile (c0, c1): whole vectors when the tile is full.
template <class T, int MR>
inline void store_tile(typename Simd<T>::V* c0, typename Simd<T>::V* c1, T* c, std::size_t ldc, std::size_t cols,
                       bool acc) {
  using V = typename Simd<T>::V;
  constexpr std::size_t L = Simd<T>::L, NR = 2 * L;
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
  store_tile<T, MR>(c0, c1, c, ldc, cols, acc);
}

// Rows of a register tile: 6 x 2 vectors leave room in AVX2's 16 registers; AVX-512 has 32, so
// a taller tile reuses each loaded B vector more often.
#if defined(__AVX512F__)
constexpr int kTileRows = 8;  // 8 x 2 zmm accumulators; widths 32, 64, 128 split into whole strips
#else
constexpr int kTileRows = 6;
#endif

// micro_nn<T, rows> for a run-time row count 1..R (the last strip of A may be short).
template <class T, int R = kTileRows>
inline void micro_nn_rows(std::size_t rows, std::size_t k, const T* ap, const T* bp, T* c, std::size_t ldc,
                          std::size_t cols, bool acc) {
  if constexpr (R > 1) {
    if (rows < static_cast<std::size_t>(R))
      return micro_nn_rows<T, R - 1>(rows, k, ap, bp, c, ldc, cols, acc);
  }
  micro_nn<T, R>(k, ap, bp, c, ldc, cols, acc);
}

constexpr std::size_t kMR = kTileRows;

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

// Column segments of a matrix: S pieces of `len` columns each, segment s starting at
// base + s * seg_stride, rows `row_stride` apart.  A layer's jets over a block of points are K
// such segments (one per Taylor coefficient), so one call covers every coefficient of the block.
template <class T>
struct Segments {
  T* base;
  std::size_t row_stride, seg_stride, count, len;
};

// C = A B (or C += A B with acc) over column segments: B (k rows) and C (m rows) share the
// segment shape; A is packed by pack_a.  Tiles of NR columns never straddle two segments, so a
// tile's sums depend only on the segment length, not on where the segment sits.
template <class T>
void nn_segments(std::size_t m, std::size_t k, const T* ap, Segments<const T> B, Segments<T> C, bool acc) {
  constexpr std::size_t NR = 2 * Simd<T>::L;
  const std::size_t tiles_per_seg = (B.len + NR - 1) / NR;
  const std::size_t tiles = tiles_per_seg * B.count;
  // Tiles per packed block of B: k x block*NR stays in L1 while all row strips of A pass over it.
  const std::size_t block = std::max<std::size_t>(1, std::min<std::size_t>(8, (16384 / sizeof(T)) / std::max<std::size_t>(k, 1) / NR));
  T* bp = scratch<T, 0>(k * block * NR);
  for (std::size_t t0 = 0; t0 < tiles; t0 += block) {
    const std::size_t nt = std::min(block, tiles - t0);
    for (std::size_t t = 0; t < nt; ++t) {
      const std::size_t seg = (t0 + t) / tiles_per_seg, c0 = (t0 + t) % tiles_per_seg * NR;
      const std::size_t cols = std::min(NR, B.len - c0);
      const T* src = B.base + seg * B.seg_stride + c0;
      T* dst = bp + t * k * NR;
      if (cols == NR) {
        for (std::size_t q = 0; q < k; ++q) std::memcpy(dst + q * NR, src + q * B.row_stride, NR * sizeof(T));
      } else {
        for (std::size_t q = 0; q < k; ++q) {
          std::size_t l = 0;
          for (; l < cols; ++l) dst[q * NR + l] = src[q * B.row_stride + l];
          for (; l < NR; ++l) dst[q * NR + l] = T(0);
        }
      }
    }
    for (std::size_t i0 = 0; i0 < m; i0 += kMR) {
      const std::size_t rows = std::min(kMR, m - i0);
      for (std::size_t t = 0; t < nt; ++t) {
        const std::size_t seg = (t0 + t) / tiles_per_seg, c0 = (t0 + t) % tiles_per_seg * NR;
        const std::size_t cols = std::min(NR, B.len - c0);
        T* c = C.base + seg * C.seg_stride + i0 * C.row_stride + c0;
        micro_nn_rows<T>(rows, k, ap + i0 * k, bp + t * k * NR, c, C.row_stride, cols, acc);
      }
    }
  }
}

// Columns [j_begin, j_end) of C (m x p, row stride ldc) = A B with A packed by pack_a and
// B (k x p, row stride ldb): one segment of nn_segments.
template <class T>
void nn_columns(std::size_t m, std::size_t k, const T* ap, const T* B, std::size_t ldb, T* C, std::size_t ldc,
                std::size_t j_begin, std::size_t j_end, bool acc) {
  nn_segments<T>(m, k, ap, Segments<const T>{B + j_begin, ldb, 0, 1, j_end - j_begin},
                 Segments<T>{C + j_begin, ldc, 0, 1, j_end - j_begin}, acc);
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

// C[0..MR) x [0..cols) += sum over the runs of sum_q A(r, q) * bp[q*NR + l]: the weight-gradient
// tile.  A is read where it lies: row r of run j starts at a + r*lda + off[j]; its values are
// broadcast straight from memory, so only B needs the packed (transposed) layout.
template <class T, int MR>
inline void micro_nt(const T* a, std::size_t lda, const std::size_t* off, const std::size_t* len, std::size_t runs,
                     const T* bp, T* c, std::size_t ldc, std::size_t cols) {
  using V = typename Simd<T>::V;
  constexpr std::size_t L = Simd<T>::L, NR = 2 * L;
  V c0[MR], c1[MR];
  for (int r = 0; r < MR; ++r) c0[r] = c1[r] = V{};
  for (std::size_t j = 0; j < runs; ++j) {
    const T* ar[MR];
    for (int r = 0; r < MR; ++r) ar[r] = a + static_cast<std::size_t>(r) * lda + off[j];
    for (std::size_t q = 0; q < len[j]; ++q, bp += NR) {
      V b0, b1;
      std::memcpy(&b0, bp, sizeof(V));
      std::memcpy(&b1, bp + L, sizeof(V));
      for (int r = 0; r < MR; ++r) {
        c0[r] += ar[r][q] * b0;
        c1[r] += ar[r][q] * b1;
      }
    }
  }
  store_tile<T, MR>(c0, c1, c, ldc, cols, true);
}

template <class T, int R = kTileRows>
inline void micro_nt_rows(std::size_t rows, const T* a, std::size_t lda, const std::size_t* off, const std::size_t* len,
                          std::size_t runs, const T* bp, T* c, std::size_t ldc, std::size_t cols) {
  if constexpr (R > 1) {
    if (rows < static_cast<std::size_t>(R))
      return micro_nt_rows<T, R - 1>(rows, a, lda, off, len, runs, bp, c, ldc, cols);
  }
  micro_nt<T, R>(a, lda, off, len, runs, bp, c, ldc, cols);
}

// C (m x k, row stride k) += sum over segments s of A_s B_s^T, where A_s (m x len) and B_s
// (k x len) are segment s of A and B (same count and length): a product whose inner dimension
// runs over all the segments' columns in order.  Rows [i_begin, i_end) of C only.  Chunks of the
// inner dimension of B are transposed into the tile kernel's packed layout (q-major NR-row
// tiles); A is read in place.  Each kMR x NR block of C accumulates over a chunk in registers.
template <class T>
void nt_segments(std::size_t m, std::size_t k, Segments<const T> A, Segments<const T> B, T* C, std::size_t i_begin,
                 std::size_t i_end) {
  constexpr std::size_t NR = 2 * Simd<T>::L;
  const std::size_t P = A.count * A.len;
  // Chunk length from the whole problem (not this thread's rows), so that every element of C
  // sums its chunks in the same order whatever the split: the packed chunk fits in L2.
  const std::size_t chunk = std::max<std::size_t>(64, (std::size_t(96) * 1024 / sizeof(T)) / (m + k));
  const std::size_t tiles = (k + NR - 1) / NR;
  T* bp = scratch<T, 3>(tiles * NR * chunk);
  std::size_t* runs = scratch<std::size_t, 0>(2 * (A.count + 1));
  for (std::size_t j0 = 0; j0 < P; j0 += chunk) {
    const std::size_t len = std::min(chunk, P - j0);
    // The chunk's runs inside one segment: their offsets in a row of A and their lengths.
    std::size_t n_runs = 0;
    std::size_t* run_off = runs;
    std::size_t* run_len = runs + A.count + 1;
    for (std::size_t q = 0; q < len;) {
      const std::size_t seg = (j0 + q) / A.len, col = (j0 + q) % A.len;
      const std::size_t run = std::min(len - q, A.len - col);
      run_off[n_runs] = seg * A.seg_stride + col;
      run_len[n_runs] = run;
      // B tiles: bp[t*NR*len + q*NR + l] = B(t*NR + l, j0 + q), zero rows beyond k.
      for (std::size_t t = 0; t < tiles; ++t) {
        T* dst = bp + t * NR * len + q * NR;
        for (std::size_t l = 0; l < NR; ++l) {
          const std::size_t row = t * NR + l;
          if (row < k) {
            const T* src = B.base + row * B.row_stride + seg * B.seg_stride + col;
            for (std::size_t e = 0; e < run; ++e) dst[e * NR + l] = src[e];
          } else {
            for (std::size_t e = 0; e < run; ++e) dst[e * NR + l] = T(0);
          }
        }
      }
      ++n_runs;
      q += run;
    }
    for (std::size_t i0 = i_begin; i0 < i_end; i0 += kMR) {
      const std::size_t rs = std::min(kMR, i_end - i0);
      for (std::size_t t = 0; t < tiles; ++t) {
        const std::size_t cols = std::min(NR, k - t * NR);
        micro_nt_rows<T>(rs, A.base + i0 * A.row_stride, A.row_stride, run_off, run_len, n_runs, bp + t * NR * len,
                         C + i0 * k + t * NR, k, cols);
      }
    }
  }
}

// Products with a thin side (a layer with one output, or one to four inputs): the register
// tiles would be mostly padding and their packing would cost more than the arithmetic, so these
// loop over the long dimension directly.

// C = A B over column segments, A (m x k) unpacked with element (r, q) at A[r * rs + q * cs];
// for k or m small.
template <class T>
void nn_thin(std::size_t m, std::size_t k, const T* A, std::size_t rs, std::size_t cs, Segments<const T> B,
             Segments<T> C) {
  const std::size_t len = B.len;
  for (std::size_t s = 0; s < B.count; ++s)
    for (std::size_t r = 0; r < m; ++r) {
      T* c = C.base + s * C.seg_stride + r * C.row_stride;
      const T* b0 = B.base + s * B.seg_stride;
      const T a0 = A[r * rs];
      std::size_t q = 1;
      if (k >= 4) {  // four inner terms per pass (the input layer's usual 2-4 inputs: one pass)
        const T a1 = A[r * rs + cs], a2 = A[r * rs + 2 * cs], a3 = A[r * rs + 3 * cs];
        const T *b1 = b0 + B.row_stride, *b2 = b1 + B.row_stride, *b3 = b2 + B.row_stride;
#pragma omp simd
        for (std::size_t i = 0; i < len; ++i) c[i] = ((a0 * b0[i] + a1 * b1[i]) + a2 * b2[i]) + a3 * b3[i];
        q = 4;
      } else if (k >= 2) {
        const T a1 = A[r * rs + cs];
        const T* b1 = b0 + B.row_stride;
#pragma omp simd
        for (std::size_t i = 0; i < len; ++i) c[i] = a0 * b0[i] + a1 * b1[i];
        q = 2;
      } else {
#pragma omp simd
        for (std::size_t i = 0; i < len; ++i) c[i] = a0 * b0[i];
      }
      for (; q < k; ++q) {
        const T aq = A[r * rs + q * cs];
        const T* bq = b0 + q * B.row_stride;
#pragma omp simd
        for (std::size_t i = 0; i < len; ++i) c[i] += aq * bq[i];
      }
    }
}

// C (m x k, row stride k) += sum over segments of A_s B_s^T as one dot product per entry; for m
// or k small.
template <class T>
void nt_thin(std::size_t m, std::size_t k, Segments<const T> A, Segments<const T> B, T* C) {
  const std::size_t len = A.len;
  for (std::size_t r = 0; r < m; ++r)
    for (std::size_t c = 0; c < k; ++c) {
      T acc = T(0);
      for (std::size_t s = 0; s < A.count; ++s) {
        const T* a = A.base + s * A.seg_stride + r * A.row_stride;
        const T* b = B.base + s * B.seg_stride + c * B.row_stride;
#pragma omp simd reduction(+ : acc)
        for (std::size_t i = 0; i < len; ++i) acc += a[i] * b[i];
      }
      C[r * k + c] += acc;
    }
}

// C (m x k) += A (m x P) B^T (B: k x P), rows [i_begin, i_end): nt_segments with one segment.
template <class T>
void nt_packed(std::size_t m, std::size_t k, std::size_t P, const T* A, const T* B, T* C, std::size_t i_begin,
               std::size_t i_end) {
  nt_segments<T>(m, k, Segments<const T>{A, P, 0, 1, P}, Segments<const T>{B, P, 0, 1, P}, C, i_begin, i_end);
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
      m * k * p >= dense_detail::kParallelWork ? std::min<std::size_t>(std::size_t(num_threads()), m / 6) : 1;
  if (threads <= 1) {
    dense_detail::nt_packed<T>(m, k, p, A, B, C, 0, m);
    return;
  }
  const std::size_t blocks = m / dense_detail::kMR;  // row ranges in whole tile heights
  parallel_for(threads, [&](std::size_t t) {
    const std::size_t b = blocks * t / threads * dense_detail::kMR;
    const std::size_t e = t + 1 == threads ? m : blocks * (t + 1) / threads * dense_detail::kMR;
    dense_detail::nt_packed<T>(m, k, p, A, B, C, b, e);
  });
}

}  // namespace pinnbilo
