#include "pinnbilo/elementary.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include "pinnbilo/error.hpp"

namespace pinnbilo {
namespace {

// For f with f' = q(f), q quadratic (tanh: 1 - y^2; sigmoid: y - y^2), f^(k) = P_k(f) with
// P_0(y) = y and P_{k+1}(y) = P_k'(y) q(y).  Returns the coefficients of P_0..P_order.
std::vector<std::vector<double>> derivative_polynomials(int order, const std::array<double, 3>& q) {
  std::vector<std::vector<double>> polys(static_cast<std::size_t>(order) + 1);
  polys[0] = {0.0, 1.0};
  for (std::size_t k = 1; k < polys.size(); ++k) {
    const auto& prev = polys[k - 1];
    std::vector<double> next(prev.size() + 1, 0.0);
    for (std::size_t j = 1; j < prev.size(); ++j) {
      const double dj = prev[j] * static_cast<double>(j);
      for (std::size_t m = 0; m < 3; ++m) next[j - 1 + m] += dj * q[m];
    }
    polys[k] = std::move(next);
  }
  return polys;
}

constexpr int kMaxOrder = 18;

// f' = q(f) for tanh and sigmoid.
constexpr std::array<double, 3> kTanhSlope{1.0, 0.0, -1.0};
constexpr std::array<double, 3> kSigmoidSlope{0.0, 1.0, -1.0};

// P_k / k! tables, built once (thread-safe static initialisation), so no call allocates.
const std::vector<std::vector<double>>& scaled_polynomials(bool sigmoid) {
  static const auto build = [](const std::array<double, 3>& q) {
    auto polys = derivative_polynomials(kMaxOrder, q);
    double fact = 1.0;
    for (std::size_t k = 0; k < polys.size(); ++k) {
      if (k > 1) fact *= static_cast<double>(k);
      for (double& c : polys[k]) c /= fact;
    }
    return polys;
  };
  static const auto tanh_table = build(kTanhSlope);
  static const auto sigmoid_table = build(kSigmoidSlope);
  return sigmoid ? sigmoid_table : tanh_table;
}

// Rows k = first+1..order of out: P_{k-first}(y) * (k-first)! / k!, where y = f(x) is row
// `first` (the caller stores it there; P_0(y) = y, so that row is already final).  Loop over
// points innermost so it vectorises.
template <class T>
void polynomial_rows(bool sigmoid, std::size_t n, int order, int first, T* out) {
  const auto& polys = scaled_polynomials(sigmoid);
  const T* y = out + static_cast<std::size_t>(first) * n;
  for (int k = first + 1; k <= order; ++k) {
    double ratio = 1.0;  // from 1/(k-first)! to 1/k!
    for (int j = k - first + 1; j <= k; ++j) ratio /= j;
    const auto& poly = polys[static_cast<std::size_t>(k - first)];
    T coeff[kMaxOrder + 2];
    const std::size_t deg = poly.size();
    for (std::size_t j = 0; j < deg; ++j) coeff[j] = static_cast<T>(poly[j] * ratio);
    T* row = out + static_cast<std::size_t>(k) * n;
#pragma omp simd
    for (std::size_t i = 0; i < n; ++i) {
      T acc = 0;
      for (std::size_t j = deg; j-- > 0;) acc = acc * y[i] + coeff[j];
      row[i] = acc;
    }
  }
}

// Rows 1..O of out for tanh or sigmoid in one pass over the points, y = f(x) being row 0: the same
// Horner evaluation of P_k(y)/k! as polynomial_rows (bit-for-bit the same values), but with the
// degrees known at compile time, so every row of a point is formed in registers from one load of y.
template <class T, int O>
void polynomial_rows_fixed(bool sigmoid, std::size_t n, T* out) {
  static_assert(O >= 1 && O <= 6, "low orders only; higher ones use polynomial_rows");
  const auto& polys = scaled_polynomials(sigmoid);
  T coeff[O + 1][O + 2];  // coeff[k][j]: P_k / k!, degree k + 1
  for (int k = 1; k <= O; ++k) {
    const auto& poly = polys[static_cast<std::size_t>(k)];
    for (int j = 0; j < k + 2; ++j) coeff[k][j] = static_cast<T>(poly[static_cast<std::size_t>(j)]);
  }
  if constexpr (O >= 4) {  // one pass for all rows (measured faster than pairs at these orders)
    T* rows[O + 1];
    for (int k = 0; k <= O; ++k) rows[k] = out + static_cast<std::size_t>(k) * n;
#pragma omp simd
    for (std::size_t i = 0; i < n; ++i) {
      const T v = rows[0][i];
      for (int k = 1; k <= O; ++k) {
        T acc = 0;
        for (int j = k + 2; j-- > 0;) acc = acc * v + coeff[k][j];
        rows[k][i] = acc;
      }
    }
    return;
  }
  const T* y = out;
  T* r1 = out + n;
  // Rows in pairs per pass over the points (each value one Horner chain, the same as before).
  auto horner = [&](int k, T v) {
    T acc = 0;
    for (int j = k + 2; j-- > 0;) acc = acc * v + coeff[k][j];
    return acc;
  };
  for (int k = 1; k <= O; k += 2) {
    T* a = r1 + static_cast<std::size_t>(k - 1) * n;
    if (k + 1 <= O) {
      T* b = a + n;
#pragma omp simd
      for (std::size_t i = 0; i < n; ++i) {
        const T v = y[i];
        a[i] = horner(k, v);
        b[i] = horner(k + 1, v);
      }
    } else {
#pragma omp simd
      for (std::size_t i = 0; i < n; ++i) a[i] = horner(k, y[i]);
    }
  }
}

// Rows 1..order of out for tanh or sigmoid, y = f(x) being row 0.
template <class T>
void tanh_like_rows(bool sigmoid, std::size_t n, int order, T* out) {
  switch (order) {
    case 1: return polynomial_rows_fixed<T, 1>(sigmoid, n, out);
    case 2: return polynomial_rows_fixed<T, 2>(sigmoid, n, out);
    case 3: return polynomial_rows_fixed<T, 3>(sigmoid, n, out);
    case 4: return polynomial_rows_fixed<T, 4>(sigmoid, n, out);
    case 5: return polynomial_rows_fixed<T, 5>(sigmoid, n, out);
    default: return polynomial_rows<T>(sigmoid, n, order, 0, out);
  }
}

// tanh to a few ulp in a form that vectorises: tanh|x| = m / (m + 2), m = expm1(2|x|), with
// expm1 by range reduction y = k ln2 + r, e^r - 1 from its Taylor polynomial, 2^k from bits.
inline double vector_tanh(double x) {
  const double a = std::min(std::fabs(x), 20.0);  // tanh(20) rounds to 1
  const double y = 2.0 * a;
  const double shifter = 6755399441055744.0;  // 1.5 * 2^52: adding it rounds to an integer
  const double kd_shifted = y * 1.4426950408889634 + shifter;
  const std::uint64_t bits = __builtin_bit_cast(std::uint64_t, kd_shifted);
  const double k = kd_shifted - shifter;
  const double r = (y - k * 6.93147180369123816490e-01) - k * 1.90821492927058770002e-10;
  double p = 1.0 / 6227020800.0;  // 1/13!
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r;  // e^r - 1
  const std::uint64_t scale_bits = (bits + 1023u) << 52;
  const double two_k = __builtin_bit_cast(double, scale_bits);
  const double m = two_k * p + (two_k - 1.0);
  const double t = m / (m + 2.0);
  return std::copysign(t, x);
}

double stable_sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1.0 + e);
}

double stable_softplus(double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::fabs(x))); }

}  // namespace

const char* func_name(Func f) {
  switch (f) {
    case Func::Tanh: return "tanh";
    case Func::Sin: return "sin";
    case Func::Cos: return "cos";
    case Func::Exp: return "exp";
    case Func::Log: return "log";
    case Func::Sigmoid: return "sigmoid";
    case Func::Softplus: return "softplus";
    case Func::Pow: return "pow";
    case Func::Abs: return "abs";
  }
  return "?";
}

Func func_from_name(const std::string& name) {
  for (int i = 0; i <= kLastFunc; ++i) {
    if (name == func_name(static_cast<Func>(i))) return static_cast<Func>(i);
  }
  throw InputError("unknown function '" + name +
                   "'; known: tanh, sin, cos, exp, log, sigmoid, softplus, pow, abs");
}

bool derivative_from_value(Func f, double q[3]) {
  if (f != Func::Tanh && f != Func::Sigmoid) return false;
  const auto& slope = f == Func::Tanh ? kTanhSlope : kSigmoidSlope;
  std::copy(slope.begin(), slope.end(), q);
  return true;
}

template <class T>
void taylor_coefficients(Func f, T p, const T* x, std::size_t n, int order, T* out) {
  require(order >= 0 && order <= kMaxOrder, "taylor_coefficients: order must be in [0, 18]");
  switch (f) {
    case Func::Tanh: {
#pragma omp simd
      for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<T>(vector_tanh(static_cast<double>(x[i])));
      if (order >= 1) tanh_like_rows<T>(false, n, order, out);
      return;
    }
    case Func::Sigmoid: {
      for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<T>(stable_sigmoid(static_cast<double>(x[i])));
      if (order >= 1) tanh_like_rows<T>(true, n, order, out);
      return;
    }
    case Func::Softplus: {
      for (std::size_t i = 0; i < n; ++i) {
        out[i] = static_cast<T>(stable_softplus(static_cast<double>(x[i])));
        if (order >= 1) out[n + i] = static_cast<T>(stable_sigmoid(static_cast<double>(x[i])));
      }
      if (order >= 1) polynomial_rows<T>(true, n, order, 1, out);
      return;
    }
    case Func::Sin:
    case Func::Cos: {
      const int shift = f == Func::Cos ? 1 : 0;  // cos(x) = sin(x + pi/2)
      double fact = 1.0;
      for (std::size_t i = 0; i < n; ++i) {
        const double s = std::sin(static_cast<double>(x[i])), c = std::cos(static_cast<double>(x[i]));
        const double cycle[4] = {s, c, -s, -c};
        fact = 1.0;
        for (int k = 0; k <= order; ++k) {
          if (k > 1) fact *= k;
          out[static_cast<std::size_t>(k) * n + i] = static_cast<T>(cycle[(k + shift) % 4] / fact);
        }
      }
      return;
    }
    case Func::Exp: {
      for (std::size_t i = 0; i < n; ++i) {
        const double e = std::exp(static_cast<double>(x[i]));
        double fact = 1.0;
        for (int k = 0; k <= order; ++k) {
          if (k > 1) fact *= k;
          out[static_cast<std::size_t>(k) * n + i] = static_cast<T>(e / fact);
        }
      }
      return;
    }
    case Func::Log: {
      // d^k/dx^k log x / k! = (-1)^(k-1) / (k x^k); NaN/inf outside x > 0 surface in the loss.
      for (std::size_t i = 0; i < n; ++i) {
        const double xi = static_cast<double>(x[i]);
        out[i] = static_cast<T>(std::log(xi));
        double inv_pow = 1.0;
        for (int k = 1; k <= order; ++k) {
          inv_pow /= xi;
          const double sign = (k % 2 == 1) ? 1.0 : -1.0;
          out[static_cast<std::size_t>(k) * n + i] = static_cast<T>(sign * inv_pow / k);
        }
      }
      return;
    }
    case Func::Pow: {
      // binom(p, k) x^(p-k); binomials that vanish (integer p >= 0, k > p) give exact zeros.
      const double pd = static_cast<double>(p);
      for (std::size_t i = 0; i < n; ++i) {
        const double xi = static_cast<double>(x[i]);
        double binom = 1.0;
        for (int k = 0; k <= order; ++k) {
          if (k > 0) binom *= (pd - (k - 1)) / k;
          out[static_cast<std::size_t>(k) * n + i] =
              binom == 0.0 ? T(0) : static_cast<T>(binom * std::pow(xi, pd - k));
        }
      }
      return;
    }
    case Func::Abs: {
      for (std::size_t i = 0; i < n; ++i) {
        const double xi = static_cast<double>(x[i]);
        out[i] = static_cast<T>(std::fabs(xi));
        if (order >= 1) out[n + i] = static_cast<T>(xi < 0 ? -1.0 : 1.0);
        for (int k = 2; k <= order; ++k) out[static_cast<std::size_t>(k) * n + i] = T(0);
      }
      return;
    }
  }
  throw InputError("taylor_coefficients: unknown function code");
}

template void taylor_coefficients<float>(Func, float, const float*, std::size_t, int, float*);
template void taylor_coefficients<double>(Func, double, const double*, std::size_t, int, double*);

}  // namespace pinnbilo
