#include "pinnbilo/elementary.hpp"

#include <array>
#include <cmath>
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
  static const auto tanh_table = build({1.0, 0.0, -1.0});
  static const auto sigmoid_table = build({0.0, 1.0, -1.0});
  return sigmoid ? sigmoid_table : tanh_table;
}

// Rows k = first..order of out: P_{k-first}(y) * (k-first)! / k!, where y is read from row
// `first` before it is overwritten (the caller stores f(x) there).
template <class T>
void polynomial_rows(bool sigmoid, std::size_t n, int order, int first, T* out) {
  const auto& polys = scaled_polynomials(sigmoid);
  // Rescale from 1/(k-first)! to 1/k!.
  double ratio[kMaxOrder + 2];
  for (int k = first; k <= order; ++k) {
    double r = 1.0;
    for (int j = k - first + 1; j <= k; ++j) r /= j;
    ratio[k] = r;
  }
  T* y_row = out + static_cast<std::size_t>(first) * n;
  for (std::size_t i = 0; i < n; ++i) {
    const double y = static_cast<double>(y_row[i]);
    for (int k = first; k <= order; ++k) {
      const auto& poly = polys[static_cast<std::size_t>(k - first)];
      double acc = 0.0;
      for (std::size_t j = poly.size(); j-- > 0;) acc = acc * y + poly[j];
      out[static_cast<std::size_t>(k) * n + i] = static_cast<T>(acc * ratio[k]);
    }
  }
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
  }
  return "?";
}

Func func_from_name(const std::string& name) {
  for (int i = 0; i <= static_cast<int>(Func::Pow); ++i) {
    if (name == func_name(static_cast<Func>(i))) return static_cast<Func>(i);
  }
  throw InputError("unknown function '" + name +
                   "'; known: tanh, sin, cos, exp, log, sigmoid, softplus, pow");
}

template <class T>
void taylor_coefficients(Func f, T p, const T* x, std::size_t n, int order, T* out) {
  require(order >= 0 && order <= kMaxOrder, "taylor_coefficients: order must be in [0, 18]");
  switch (f) {
    case Func::Tanh: {
      for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<T>(std::tanh(static_cast<double>(x[i])));
      if (order >= 1) polynomial_rows<T>(false, n, order, 0, out);
      return;
    }
    case Func::Sigmoid: {
      for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<T>(stable_sigmoid(static_cast<double>(x[i])));
      if (order >= 1) polynomial_rows<T>(true, n, order, 0, out);
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
  }
  throw InputError("taylor_coefficients: unknown function code");
}

template void taylor_coefficients<float>(Func, float, const float*, std::size_t, int, float*);
template void taylor_coefficients<double>(Func, double, const double*, std::size_t, int, double*);

}  // namespace pinnbilo
