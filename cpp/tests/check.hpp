// A tiny test harness (no external framework) and shared numerical references.
//
//   TEST(group, name) { CHECK(cond); CHECK_CLOSE(a, b, rtol, atol); CHECK_THROWS(Exc, expr); }
//
// The runner (main.cpp) runs every test, one group, or one "group.name"; ctest runs one group
// per test entry.
#pragma once
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "pinnbilo/elementary.hpp"
#include "pinnbilo/jet_spec.hpp"
#include "pinnbilo/program.hpp"

namespace check {

using TestFn = void (*)();

struct Case {
  std::string group, name;
  TestFn fn;
};

inline std::vector<Case>& registry() {
  static std::vector<Case> cases;
  return cases;
}

struct State {
  long failures = 0;
  long printed = 0;  // failures printed in the current test (capped)
};

inline State& state() {
  static State s;
  return s;
}

struct Register {
  Register(const char* group, const char* name, TestFn fn) { registry().push_back({group, name, fn}); }
};

inline void fail(const std::string& what, const char* file, int line) {
  ++state().failures;
  if (++state().printed <= 20) std::printf("  FAILED %s:%d: %s\n", file, line, what.c_str());
  if (state().printed == 21) std::printf("  (further failures in this test not shown)\n");
}

inline bool report(bool ok, const char* expr, const char* file, int line) {
  if (!ok) fail(expr, file, line);
  return ok;
}

inline bool close(double a, double b, double rtol, double atol) {
  return std::isfinite(a) && std::isfinite(b) && std::fabs(a - b) <= atol + rtol * std::fabs(b);
}

inline bool report_close(double a, double b, double rtol, double atol, const char* ea, const char* eb,
                         const char* file, int line) {
  if (close(a, b, rtol, atol)) return true;
  char buf[512];
  std::snprintf(buf, sizeof buf, "%s = %.17g, %s = %.17g (diff %.3g, rtol %.1g, atol %.1g)", ea, a, eb, b,
                std::fabs(a - b), rtol, atol);
  fail(buf, file, line);
  return false;
}

}  // namespace check

#define TEST(group, name)                                                                 \
  static void test_##group##_##name();                                                    \
  static const ::check::Register register_##group##_##name(#group, #name, test_##group##_##name); \
  static void test_##group##_##name()

#define CHECK(cond) ::check::report(static_cast<bool>(cond), #cond, __FILE__, __LINE__)

#define CHECK_CLOSE(a, b, rtol, atol) \
  ::check::report_close(static_cast<double>(a), static_cast<double>(b), rtol, atol, #a, #b, __FILE__, __LINE__)

// CHECK_THROWS(ExceptionType, statement...): the statement must throw exactly that type (or a subclass).
#define CHECK_THROWS(Exc, ...)                                                                   \
  do {                                                                                           \
    bool check_thrown_ = false;                                                                  \
    try {                                                                                        \
      __VA_ARGS__;                                                                               \
    } catch (const Exc&) {                                                                       \
      check_thrown_ = true;                                                                      \
    } catch (...) {                                                                              \
    }                                                                                            \
    ::check::report(check_thrown_, "expected " #Exc " from: " #__VA_ARGS__, __FILE__, __LINE__); \
  } while (0)

namespace ref {

using cplx = std::complex<double>;

// splitmix64-based uniform numbers: the same values on every platform.
struct Rng {
  std::uint64_t state;
  explicit Rng(std::uint64_t seed) : state(seed) {}
  double uniform(double lo = 0.0, double hi = 1.0) {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return lo + (hi - lo) * (static_cast<double>(z >> 11) * (1.0 / 9007199254740992.0));
  }
};

// Reference scalar functions (real or complex) and their first derivatives.
template <class S>
S apply(pinnbilo::Func f, double p, S x) {
  using pinnbilo::Func;
  switch (f) {
    case Func::Tanh: return std::tanh(x);
    case Func::Sin: return std::sin(x);
    case Func::Cos: return std::cos(x);
    case Func::Exp: return std::exp(x);
    case Func::Log: return std::log(x);
    case Func::Sigmoid: return S(1.0) / (S(1.0) + std::exp(-x));
    case Func::Softplus: return std::log(S(1.0) + std::exp(x));
    case Func::Pow: return std::pow(x, S(p));
    case Func::Abs: return std::real(x) < 0 ? -x : x;  // complex steps: the branch of the real part
  }
  return S(0.0);
}

template <class S>
S apply_derivative(pinnbilo::Func f, double p, S x) {
  using pinnbilo::Func;
  switch (f) {
    case Func::Tanh: return S(1.0) - std::tanh(x) * std::tanh(x);
    case Func::Sin: return std::cos(x);
    case Func::Cos: return -std::sin(x);
    case Func::Exp: return std::exp(x);
    case Func::Log: return S(1.0) / x;
    case Func::Sigmoid: {
      const S s = S(1.0) / (S(1.0) + std::exp(-x));
      return s * (S(1.0) - s);
    }
    case Func::Softplus: return S(1.0) / (S(1.0) + std::exp(-x));
    case Func::Pow: return S(p) * std::pow(x, S(p - 1.0));
    case Func::Abs: return S(std::real(x) < 0 ? -1.0 : 1.0);
  }
  return S(0.0);
}

// The polynomial sum_alpha c[alpha] s^alpha of one point's jet (coefficient k at c[k * stride]).
inline cplx eval_jet(const pinnbilo::JetSpec& spec, const double* c, std::size_t stride, const std::vector<cplx>& s) {
  cplx acc = 0.0;
  for (int k = 0; k < spec.size(); ++k) {
    cplx term = c[static_cast<std::size_t>(k) * stride];
    const auto& alpha = spec.monomial(k);
    for (std::size_t i = 0; i < alpha.size(); ++i)
      for (int e = 0; e < alpha[i]; ++e) term *= s[i];
    acc += term;
  }
  return acc;
}

// Taylor coefficients at 0 of an analytic F(s_0..s_{d-1}) for every monomial of spec, by Cauchy's
// integral formula with the trapezoidal rule on the torus |s_i| = r (M nodes per direction): an
// independent reference, accurate to rounding when F is analytic well beyond radius r.
inline std::vector<double> cauchy_coefficients(const pinnbilo::JetSpec& spec,
                                               const std::function<cplx(const std::vector<cplx>&)>& F, double r,
                                               int M) {
  const int d = spec.n_dirs();
  const double pi = 3.14159265358979323846;
  std::vector<cplx> node(static_cast<std::size_t>(M));
  for (int m = 0; m < M; ++m) node[static_cast<std::size_t>(m)] = std::polar(1.0, 2.0 * pi * m / M);
  std::vector<cplx> acc(static_cast<std::size_t>(spec.size()), 0.0);
  std::vector<int> idx(static_cast<std::size_t>(d), 0);
  std::vector<cplx> s(static_cast<std::size_t>(d));
  long total = 1;
  for (int i = 0; i < d; ++i) total *= M;
  for (long flat = 0; flat < total; ++flat) {
    long rest = flat;
    for (int i = 0; i < d; ++i) {
      idx[static_cast<std::size_t>(i)] = static_cast<int>(rest % M);
      rest /= M;
      s[static_cast<std::size_t>(i)] = r * node[static_cast<std::size_t>(idx[static_cast<std::size_t>(i)])];
    }
    const cplx value = F(s);
    for (int k = 0; k < spec.size(); ++k) {
      const auto& alpha = spec.monomial(k);
      int phase = 0;
      for (int i = 0; i < d; ++i) phase += idx[static_cast<std::size_t>(i)] * alpha[static_cast<std::size_t>(i)];
      acc[static_cast<std::size_t>(k)] += value * std::conj(node[static_cast<std::size_t>(phase % M)]);
    }
  }
  std::vector<double> out(static_cast<std::size_t>(spec.size()));
  for (int k = 0; k < spec.size(); ++k) {
    int degree = 0;
    for (int a : spec.monomial(k)) degree += a;
    out[static_cast<std::size_t>(k)] = acc[static_cast<std::size_t>(k)].real() / static_cast<double>(total) /
                                       std::pow(r, degree);
  }
  return out;
}

// Central finite difference of a scalar function of x[i].
inline double central_difference(const std::function<double()>& f, double& x, double h) {
  const double x0 = x;
  x = x0 + h;
  const double fp = f();
  x = x0 - h;
  const double fm = f();
  x = x0;
  return (fp - fm) / (2.0 * h);
}

}  // namespace ref

namespace ops {

using pinnbilo::Func;
using pinnbilo::Instruction;
using pinnbilo::OpCode;

inline Instruction make(OpCode op, int a = -1, int b = -1, double value = 0.0, Func f = Func::Tanh, int leaf = -1) {
  Instruction ins;
  ins.op = op;
  ins.a = a;
  ins.b = b;
  ins.value = value;
  ins.func = f;
  ins.leaf = leaf;
  return ins;
}
inline Instruction leaf(int id) { return make(OpCode::Leaf, -1, -1, 0.0, Func::Tanh, id); }
inline Instruction constant(double v) { return make(OpCode::Const, -1, -1, v); }
inline Instruction add(int a, int b) { return make(OpCode::Add, a, b); }
inline Instruction sub(int a, int b) { return make(OpCode::Sub, a, b); }
inline Instruction mul(int a, int b) { return make(OpCode::Mul, a, b); }
inline Instruction neg(int a) { return make(OpCode::Neg, a); }
inline Instruction scale(int a, double v) { return make(OpCode::Scale, a, -1, v); }
inline Instruction add_const(int a, double v) { return make(OpCode::AddConst, a, -1, v); }
inline Instruction unary(Func f, int a, double p = 0.0) { return make(OpCode::Unary, a, -1, p, f); }

}  // namespace ops
