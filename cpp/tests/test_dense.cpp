// The layer products against a plain triple loop, over shapes that exercise every tile remainder,
// and bit-for-bit equality across thread counts (the pool runs under the sanitizers in CI).
#include <cstddef>
#include <random>
#include <vector>

#include "check.hpp"
#include "pinnbilo/dense.hpp"
#include "pinnbilo/parallel.hpp"

namespace {

using namespace pinnbilo;

template <class T>
std::vector<T> random_vector(std::size_t n, unsigned seed) {
  std::mt19937 g(seed);
  std::normal_distribution<double> d;
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(d(g));
  return v;
}

template <class T>
void check_products(std::size_t m, std::size_t k, std::size_t p, double rtol) {
  const auto A = random_vector<T>(m * k, 1), B = random_vector<T>(k * p, 2), At = random_vector<T>(k * m, 3);
  const auto X = random_vector<T>(m * p, 4), Y = random_vector<T>(k * p, 5);
  std::vector<T> C(m * p), D(m * p), G(m * k, T(1));
  gemm_nn<T>(m, k, p, A.data(), B.data(), C.data());
  gemm_tn<T>(m, k, p, At.data(), B.data(), D.data());
  gemm_nt_acc<T>(m, k, p, X.data(), Y.data(), G.data());
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t j = 0; j < p; ++j) {
      double c = 0, d = 0, scale = 0;
      for (std::size_t q = 0; q < k; ++q) {
        c += double(A[i * k + q]) * double(B[q * p + j]);
        d += double(At[q * m + i]) * double(B[q * p + j]);
        scale += std::fabs(double(A[i * k + q]) * double(B[q * p + j]));
      }
      CHECK_CLOSE(double(C[i * p + j]), c, 0.0, rtol * (scale + 1));
      CHECK_CLOSE(double(D[i * p + j]), d, 0.0, rtol * (scale + 1) * 4);
    }
    for (std::size_t q = 0; q < k; ++q) {
      double g = 1, scale = 1;
      for (std::size_t j = 0; j < p; ++j) {
        g += double(X[i * p + j]) * double(Y[q * p + j]);
        scale += std::fabs(double(X[i * p + j]) * double(Y[q * p + j]));
      }
      CHECK_CLOSE(double(G[i * k + q]), g, 0.0, rtol * scale);
    }
  }
}

TEST(dense, products_match_triple_loop) {
  const std::size_t shapes[][3] = {{1, 1, 1}, {1, 64, 37}, {7, 3, 5}, {13, 2, 100}, {64, 64, 203},
                                   {5, 17, 1000}, {6, 8, 16}, {33, 1, 9},
                                   // remainders of the AVX-512 tiles (8 rows, 16 doubles or 32 floats)
                                   {8, 16, 32}, {9, 5, 33}, {17, 64, 65}, {15, 7, 47}};
  for (const auto& s : shapes) {
    check_products<double>(s[0], s[1], s[2], 1e-13);
    check_products<float>(s[0], s[1], s[2], 1e-5);
  }
}

template <class T>
void check_thread_independent() {
  const std::size_t m = 70, k = 50, p = 2000;  // above the split threshold
  const auto A = random_vector<T>(m * k, 6), B = random_vector<T>(k * p, 7);
  const auto X = random_vector<T>(m * p, 8), Y = random_vector<T>(k * p, 9);
  std::vector<std::vector<T>> outs;
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    std::vector<T> C(m * p), D(k * p), G(m * k, T(0));
    gemm_nn<T>(m, k, p, A.data(), B.data(), C.data());
    gemm_tn<T>(k, m, p, A.data(), C.data(), D.data());
    gemm_nt_acc<T>(m, k, p, X.data(), Y.data(), G.data());
    C.insert(C.end(), D.begin(), D.end());
    C.insert(C.end(), G.begin(), G.end());
    outs.push_back(C);
  }
  set_num_threads(1);
  CHECK(outs[0] == outs[1]);
  CHECK(outs[0] == outs[2]);
}

TEST(dense, same_bits_for_every_thread_count) {
  check_thread_independent<double>();
  check_thread_independent<float>();
}

TEST(dense, parallel_for_runs_every_task_once) {
  set_num_threads(3);
  for (std::size_t n : {1, 2, 5, 64}) {
    std::vector<int> hits(n, 0);
    parallel_for(n, [&](std::size_t t) { hits[t] += 1; });
    for (int h : hits) CHECK(h == 1);
  }
  set_num_threads(1);
  CHECK(num_threads() == 1);
  CHECK_THROWS(InputError, set_num_threads(0));
}

// C += sum over segments of A_s B_s^T (the weight gradient over a block's jet coefficients), with
// segments lying apart in memory and lengths that leave remainders of the in-register transpose.
template <class T>
void check_segment_products(std::size_t m, std::size_t k, std::size_t count, std::size_t len, double rtol) {
  const std::size_t stride = len + 3;  // segments apart, rows of each segment `len` apart
  const auto A = random_vector<T>(count * stride * m + len, 10), B = random_vector<T>(count * stride * k + len, 11);
  const dense_detail::Segments<const T> sa{A.data(), len, stride * m, count, len};
  const dense_detail::Segments<const T> sb{B.data(), len, stride * k, count, len};
  std::vector<T> C(m * k, T(0.5));
  dense_detail::nt_segments<T>(m, k, sa, sb, C.data(), 0, m);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < k; ++j) {
      double c = 0.5, scale = 1;
      for (std::size_t s = 0; s < count; ++s)
        for (std::size_t e = 0; e < len; ++e) {
          const double x = double(A[s * stride * m + i * len + e]) * double(B[s * stride * k + j * len + e]);
          c += x;
          scale += std::fabs(x);
        }
      CHECK_CLOSE(double(C[i * k + j]), c, 0.0, rtol * scale);
    }
}

TEST(dense, segment_products_match_sums) {
  const std::size_t shapes[][4] = {{64, 64, 4, 128}, {9, 33, 3, 37}, {17, 40, 5, 16}, {8, 31, 2, 200}, {3, 65, 1, 7}};
  for (const auto& s : shapes) {
    check_segment_products<double>(s[0], s[1], s[2], s[3], 1e-13);
    check_segment_products<float>(s[0], s[1], s[2], s[3], 1e-5);
  }
}

}  // namespace
