// Jet algebra: the spec of kept monomials, truncated products, elementary functions of jets and
// the reverse rules, against hand-computed polynomials, Cauchy-integral Taylor coefficients and
// finite differences.
#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <vector>

#include "check.hpp"
#include "pinnbilo/jet_ops.hpp"

using namespace pinnbilo;

namespace {

std::vector<JetSpec> test_specs() {
  return {JetSpec(1, {{6}}),
          JetSpec(2, {{1, 1}}),
          JetSpec(2, {{2, 1}, {0, 3}}),
          JetSpec(3, {{1, 1, 1}, {2, 0, 0}}),
          JetSpec(3, {{2, 0, 1}, {0, 2, 1}, {1, 0, 1}})};
}

bool leq(const MultiIndex& a, const MultiIndex& b) {
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i] > b[i]) return false;
  return true;
}

int degree_of(const MultiIndex& a) {
  int d = 0;
  for (int v : a) d += v;
  return d;
}

// Random jets for n points: constant row in [c_lo, c_hi], the others in [-amp, amp].
std::vector<double> random_jets(const JetSpec& spec, std::size_t n, ref::Rng& rng, double c_lo, double c_hi,
                                double amp) {
  std::vector<double> z(static_cast<std::size_t>(spec.size()) * n);
  for (std::size_t i = 0; i < n; ++i) z[i] = rng.uniform(c_lo, c_hi);
  for (std::size_t j = n; j < z.size(); ++j) z[j] = rng.uniform(-amp, amp);
  return z;
}

// Brute-force truncated product of two jets of one point via multi-index polynomials.
std::vector<double> brute_product(const JetSpec& spec, const double* a, const double* b, std::size_t stride) {
  std::map<MultiIndex, double> full;
  for (int i = 0; i < spec.size(); ++i)
    for (int j = 0; j < spec.size(); ++j) {
      MultiIndex m = spec.monomial(i);
      for (std::size_t q = 0; q < m.size(); ++q) m[q] += spec.monomial(j)[q];
      full[m] += a[static_cast<std::size_t>(i) * stride] * b[static_cast<std::size_t>(j) * stride];
    }
  std::vector<double> out(static_cast<std::size_t>(spec.size()));
  for (int k = 0; k < spec.size(); ++k) out[static_cast<std::size_t>(k)] = full[spec.monomial(k)];
  return out;
}

struct FuncCase {
  Func f;
  double p;
  double x_lo, x_hi;  // where the constant term is drawn
};

std::vector<FuncCase> func_cases() {
  return {{Func::Tanh, 0.0, -1.0, 1.0},     {Func::Sin, 0.0, -2.0, 2.0},   {Func::Cos, 0.0, -2.0, 2.0},
          {Func::Exp, 0.0, -1.0, 1.0},      {Func::Log, 0.0, 1.2, 2.0},    {Func::Sigmoid, 0.0, -2.0, 2.0},
          {Func::Softplus, 0.0, -2.0, 2.0}, {Func::Pow, 2.5, 1.2, 2.0},    {Func::Pow, -1.5, 1.2, 2.0},
          {Func::Pow, 3.0, -2.0, -1.2},     {Func::Pow, 2.0, -2.0, -1.2},    {Func::Abs, 0.0, -2.0, -0.3},
          {Func::Abs, 0.0, 0.3, 2.0}};
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// JetSpec

TEST(jet_spec, layout) {
  const JetSpec s(2, {{1, 1}});
  CHECK(s.n_dirs() == 2);
  CHECK(s.size() == 4);
  CHECK(s.degree() == 2);
  CHECK((s.monomial(0) == MultiIndex{0, 0}));
  CHECK(s.index_of({1, 1}) == 3);
  CHECK(s.index_of({2, 0}) == -1);
  CHECK(s.index_of({0, 0}) == 0);
  CHECK(s.unit(0) >= 0 && (s.monomial(s.unit(0)) == MultiIndex{1, 0}));
  CHECK(s.unit(1) >= 0 && (s.monomial(s.unit(1)) == MultiIndex{0, 1}));
  CHECK(s.unit(2) == -1);
  CHECK(s.unit(-1) == -1);

  const JetSpec plain(3);
  CHECK(plain.size() == 1);
  CHECK(plain.degree() == 0);
  CHECK(plain.product_terms().size() == 1);
  CHECK(plain.nonconstant_terms().empty());
  CHECK(plain.unit(0) == -1);
  const JetSpec none(0);
  CHECK(none.size() == 1 && none.n_dirs() == 0);

  CHECK(JetSpec(2, {{1, 1}}) == JetSpec(2, {{0, 1}, {1, 1}, {1, 0}}));
  CHECK(!(JetSpec(2, {{1, 1}}) == JetSpec(2, {{2, 0}})));
  CHECK(!(JetSpec(1) == JetSpec(2)));
}

TEST(jet_spec, closure) {
  const std::vector<std::pair<int, std::vector<MultiIndex>>> cases = {
      {1, {{4}}},
      {2, {{2, 1}}},
      {2, {{3, 0}, {0, 2}, {1, 1}}},
      {3, {{1, 1, 1}, {2, 0, 0}}},
      {3, {{0, 2, 1}, {1, 0, 1}}},
      {4, {{1, 0, 0, 1}, {0, 2, 0, 1}}},
  };
  for (const auto& [d, wanted] : cases) {
    const JetSpec s(d, wanted);
    std::set<MultiIndex> seen;
    int max_degree = 0;
    for (int k = 0; k < s.size(); ++k) {
      const MultiIndex& m = s.monomial(k);
      CHECK(static_cast<int>(m.size()) == d);
      CHECK(seen.insert(m).second);  // no duplicates
      CHECK(s.index_of(m) == k);
      if (k > 0) CHECK(degree_of(s.monomial(k - 1)) <= degree_of(m));  // sorted by degree
      max_degree = std::max(max_degree, degree_of(m));
      // Downward closed: removing one unit from any direction stays in the set.
      for (int i = 0; i < d; ++i) {
        if (m[static_cast<std::size_t>(i)] == 0) continue;
        MultiIndex below = m;
        --below[static_cast<std::size_t>(i)];
        CHECK(s.index_of(below) >= 0);
      }
      // Minimal: every kept monomial lies below a wanted one (or is the constant).
      bool under = degree_of(m) == 0;
      for (const auto& w : wanted) under = under || leq(m, w);
      CHECK(under);
    }
    CHECK(degree_of(s.monomial(0)) == 0);
    CHECK(s.degree() == max_degree);
    for (const auto& w : wanted) CHECK(s.index_of(w) >= 0);
    // Exactly the monomials below the wanted ones: count them independently.
    std::set<MultiIndex> expected;
    expected.insert(MultiIndex(static_cast<std::size_t>(d), 0));
    for (const auto& w : wanted) {
      for (const auto& m : seen)
        if (leq(m, w)) expected.insert(m);
    }
    CHECK(expected == seen);
  }
  // The closure of {(2,1)}: all 6 monomials below it.
  CHECK(JetSpec(2, {{2, 1}}).size() == 6);
  CHECK(JetSpec(3, {{1, 1, 1}}).size() == 8);
}

TEST(jet_spec, factorials) {
  const JetSpec s(3, {{3, 2, 0}, {0, 0, 4}});
  for (int k = 0; k < s.size(); ++k) {
    double f = 1.0;
    for (int a : s.monomial(k))
      for (int i = 2; i <= a; ++i) f *= i;
    CHECK_CLOSE(s.factorial(k), f, 0.0, 0.0);
  }
  CHECK_CLOSE(s.factorial(s.index_of({3, 2, 0})), 12.0, 0.0, 0.0);
  CHECK_CLOSE(s.factorial(s.index_of({0, 0, 4})), 24.0, 0.0, 0.0);
}

TEST(jet_spec, product_table) {
  for (const JetSpec& s : test_specs()) {
    // Every pair (left, right) whose sum is kept, exactly once.
    std::set<std::tuple<int, int, int>> expected, got, expected_nc, got_nc;
    for (int l = 0; l < s.size(); ++l)
      for (int r = 0; r < s.size(); ++r) {
        MultiIndex m = s.monomial(l);
        for (std::size_t q = 0; q < m.size(); ++q) m[q] += s.monomial(r)[q];
        const int o = s.index_of(m);
        if (o < 0) continue;
        expected.insert({o, l, r});
        if (l != 0 && r != 0) expected_nc.insert({o, l, r});
      }
    for (const auto& t : s.product_terms()) CHECK(got.insert({t.out, t.left, t.right}).second);
    for (const auto& t : s.nonconstant_terms()) CHECK(got_nc.insert({t.out, t.left, t.right}).second);
    CHECK(got == expected);
    CHECK(got_nc == expected_nc);
  }
}

// ---------------------------------------------------------------------------------------------
// Truncated products

TEST(jet_mul, hand_computed) {
  // One direction, degree 3, two points, coefficient-major.
  // Point 0: (1 + 2h + 3h^2 + 4h^3)(5 - h + 2h^2 + 0.5h^3) = 5 + 9h + 15h^2 + 21.5h^3 + ...
  // Point 1: (2 - h)(3 + h + h^2 + h^3)                    = 6 - h + h^2 + h^3 + ...
  const JetSpec s(1, {{3}});
  const double a[] = {1, 2, 2, -1, 3, 0, 4, 0};
  const double b[] = {5, 3, -1, 1, 2, 1, 0.5, 1};
  double out[8];
  jet_mul<double>(s, 2, a, b, out);
  const double expected[] = {5, 6, 9, -1, 15, 1, 21.5, 1};
  for (int j = 0; j < 8; ++j) CHECK_CLOSE(out[j], expected[j], 1e-15, 0.0);

  // Two directions, kept {1, x, y, xy}: (1 + 2x + 3y + 4xy)(5 + 6x + 7y + 8xy); x^2, y^2 dropped.
  const JetSpec s2(2, {{1, 1}});
  double r[4];
  const int ix = s2.index_of({1, 0}), iy = s2.index_of({0, 1}), ixy = s2.index_of({1, 1});
  double P[4], Q[4];
  P[0] = 1, P[ix] = 2, P[iy] = 3, P[ixy] = 4;
  Q[0] = 5, Q[ix] = 6, Q[iy] = 7, Q[ixy] = 8;
  jet_mul<double>(s2, 1, P, Q, r);
  CHECK_CLOSE(r[0], 5.0, 0.0, 0.0);
  CHECK_CLOSE(r[ix], 16.0, 0.0, 0.0);
  CHECK_CLOSE(r[iy], 22.0, 0.0, 0.0);
  CHECK_CLOSE(r[ixy], 60.0, 0.0, 0.0);
}

TEST(jet_mul, brute_force) {
  ref::Rng rng(11);
  const std::size_t n = 5;
  for (const JetSpec& s : test_specs()) {
    const auto a = random_jets(s, n, rng, -2, 2, 1.5);
    const auto b = random_jets(s, n, rng, -2, 2, 1.5);
    std::vector<double> out(a.size());
    jet_mul<double>(s, n, a.data(), b.data(), out.data());
    for (std::size_t i = 0; i < n; ++i) {
      const auto ref_out = brute_product(s, a.data() + i, b.data() + i, n);
      for (int k = 0; k < s.size(); ++k)
        CHECK_CLOSE(out[static_cast<std::size_t>(k) * n + i], ref_out[static_cast<std::size_t>(k)], 1e-13, 1e-13);
    }
    // Commutative.
    std::vector<double> swapped(a.size());
    jet_mul<double>(s, n, b.data(), a.data(), swapped.data());
    for (std::size_t j = 0; j < out.size(); ++j) CHECK_CLOSE(swapped[j], out[j], 1e-14, 1e-14);
  }
}

// ---------------------------------------------------------------------------------------------
// Elementary functions

TEST(jet_unary, known_series) {
  // Maclaurin series: tanh x = x - x^3/3 + 2x^5/15 - 17x^7/315; sigmoid x = 1/2 + x/4 - x^3/48 + x^5/480;
  // softplus x = log 2 + x/2 + x^2/8 - x^4/192 + x^6/2880.
  const std::vector<std::pair<Func, std::vector<double>>> cases = {
      {Func::Tanh, {0, 1, 0, -1.0 / 3, 0, 2.0 / 15, 0, -17.0 / 315}},
      {Func::Sigmoid, {0.5, 0.25, 0, -1.0 / 48, 0, 1.0 / 480, 0, -17.0 / 80640}},
      {Func::Softplus, {std::log(2.0), 0.5, 0.125, 0, -1.0 / 192, 0, 1.0 / 2880, 0}},
      {Func::Sin, {0, 1, 0, -1.0 / 6, 0, 1.0 / 120, 0, -1.0 / 5040}},
      {Func::Cos, {1, 0, -0.5, 0, 1.0 / 24, 0, -1.0 / 720, 0}},
      {Func::Exp, {1, 1, 0.5, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040}},
  };
  const JetSpec s(1, {{7}});
  for (const auto& [f, series] : cases) {
    const double z[8] = {0, 1, 0, 0, 0, 0, 0, 0};  // the jet of x at 0
    double y[8], g[8];
    std::vector<double> scratch(jet_unary_scratch(s, 1));
    jet_unary<double>(s, 1, f, 0.0, z, y, g, scratch.data());
    for (int k = 0; k < 8; ++k) CHECK_CLOSE(y[k], series[static_cast<std::size_t>(k)], 1e-14, 1e-15);
    // g = f'(x): its series is the derivative of the series.
    for (int k = 0; k < 7; ++k) CHECK_CLOSE(g[k], (k + 1) * series[static_cast<std::size_t>(k) + 1], 1e-14, 1e-15);
  }
  // log(1 + x) = x - x^2/2 + x^3/3 ...;  (1 + x)^0.5 = 1 + x/2 - x^2/8 + x^3/16.
  const double z1[8] = {1, 1, 0, 0, 0, 0, 0, 0};
  double y[8];
  std::vector<double> scratch(jet_unary_scratch(s, 1));
  jet_unary<double>(s, 1, Func::Log, 0.0, z1, y, nullptr, scratch.data());
  for (int k = 1; k < 8; ++k) CHECK_CLOSE(y[k], (k % 2 ? 1.0 : -1.0) / k, 1e-14, 1e-15);
  CHECK_CLOSE(y[0], 0.0, 0.0, 1e-15);
  jet_unary<double>(s, 1, Func::Pow, 0.5, z1, y, nullptr, scratch.data());
  const double sqrt_series[] = {1, 0.5, -0.125, 0.0625, -5.0 / 128};
  for (int k = 0; k < 5; ++k) CHECK_CLOSE(y[k], sqrt_series[k], 1e-14, 1e-15);
  // Integer powers are polynomials: (2 + x)^3 = 8 + 12x + 6x^2 + x^3, exact zeros above.
  const double z2[8] = {2, 1, 0, 0, 0, 0, 0, 0};
  jet_unary<double>(s, 1, Func::Pow, 3.0, z2, y, nullptr, scratch.data());
  const double cube[] = {8, 12, 6, 1, 0, 0, 0, 0};
  for (int k = 0; k < 8; ++k) CHECK(y[k] == cube[k]);
}

TEST(jet_unary, finite_differences) {
  // f'(x) and f''(x)/2 from taylor_coefficients against central differences of the plain function.
  ref::Rng rng(5);
  for (const auto& c : func_cases()) {
    for (int rep = 0; rep < 4; ++rep) {
      const double x = rng.uniform(c.x_lo, c.x_hi);
      double out[3];
      taylor_coefficients<double>(c.f, c.p, &x, 1, 2, out);
      auto f = [&](double v) { return ref::apply<double>(c.f, c.p, v); };
      const double h1 = 1e-5, h2 = 1e-4;
      CHECK_CLOSE(out[0], f(x), 1e-14, 1e-15);
      CHECK_CLOSE(out[1], (f(x + h1) - f(x - h1)) / (2 * h1), 1e-8, 1e-9);
      CHECK_CLOSE(out[2], (f(x + h2) - 2 * f(x) + f(x - h2)) / (h2 * h2) / 2, 1e-6, 1e-7);
    }
  }
}

TEST(jet_unary, cauchy_reference) {
  // f(z) for a jet z is the truncated Taylor expansion of f(P(s)), P the jet's polynomial; and
  // g = f'(z) likewise. Reference: Cauchy's integral formula on the complex polynomial.
  ref::Rng rng(7);
  const std::size_t n = 3;
  for (const JetSpec& s : test_specs()) {
    const int M = s.n_dirs() <= 2 ? 32 : 24;
    std::vector<double> scratch(jet_unary_scratch(s, n));
    for (const auto& c : func_cases()) {
      const auto z = random_jets(s, n, rng, c.x_lo, c.x_hi, 0.4);
      std::vector<double> y(z.size()), g(z.size());
      jet_unary<double>(s, n, c.f, c.p, z.data(), y.data(), g.data(), scratch.data());
      for (std::size_t i = 0; i < n; ++i) {
        const auto ry = ref::cauchy_coefficients(
            s, [&](const std::vector<ref::cplx>& sv) { return ref::apply(c.f, c.p, ref::eval_jet(s, z.data() + i, n, sv)); },
            0.25, M);
        const auto rg = ref::cauchy_coefficients(
            s,
            [&](const std::vector<ref::cplx>& sv) {
              return ref::apply_derivative(c.f, c.p, ref::eval_jet(s, z.data() + i, n, sv));
            },
            0.25, M);
        for (int k = 0; k < s.size(); ++k) {
          const std::size_t j = static_cast<std::size_t>(k) * n + i;
          if (!CHECK_CLOSE(y[j], ry[static_cast<std::size_t>(k)], 1e-9, 1e-10))
            std::printf("    f=%s p=%g spec dirs=%d k=%d point %zu\n", func_name(c.f), c.p, s.n_dirs(), k, i);
          if (!CHECK_CLOSE(g[j], rg[static_cast<std::size_t>(k)], 1e-9, 1e-10))
            std::printf("    f'=%s p=%g spec dirs=%d k=%d point %zu\n", func_name(c.f), c.p, s.n_dirs(), k, i);
        }
      }
    }
  }
}

TEST(jet_unary, float_matches_double) {
  ref::Rng rng(8);
  const JetSpec s(2, {{2, 1}, {0, 3}});
  const std::size_t n = 4;
  std::vector<double> scratch(jet_unary_scratch(s, n));
  std::vector<float> scratch_f(jet_unary_scratch(s, n));
  for (const auto& c : func_cases()) {
    const auto z = random_jets(s, n, rng, c.x_lo, c.x_hi, 0.4);
    std::vector<float> zf(z.begin(), z.end()), yf(z.size()), gf(z.size());
    std::vector<double> y(z.size()), g(z.size());
    jet_unary<double>(s, n, c.f, c.p, z.data(), y.data(), g.data(), scratch.data());
    jet_unary<float>(s, n, c.f, static_cast<float>(c.p), zf.data(), yf.data(), gf.data(), scratch_f.data());
    double scale = 0.0;
    for (double v : y) scale = std::max(scale, std::fabs(v));
    for (std::size_t j = 0; j < z.size(); ++j) {
      CHECK_CLOSE(yf[j], y[j], 1e-4, 1e-5 * scale);
      CHECK_CLOSE(gf[j], g[j], 1e-4, 1e-5 * scale);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Reverse rules

TEST(adjoint, jet_mul) {
  // L(a, b) = sum w (a*b)^2; a_bar = jet_mul_adjoint(2 w (a*b), b) and symmetrically for b.
  ref::Rng rng(21);
  const std::size_t n = 3;
  for (const JetSpec& s : test_specs()) {
    auto a = random_jets(s, n, rng, -1, 1, 1.0);
    auto b = random_jets(s, n, rng, -1, 1, 1.0);
    const auto w = random_jets(s, n, rng, -1, 1, 1.0);
    std::vector<double> out(a.size()), out_bar(a.size()), a_bar(a.size(), 0.0), b_bar(a.size(), 0.0);
    auto loss = [&]() {
      jet_mul<double>(s, n, a.data(), b.data(), out.data());
      double L = 0.0;
      for (std::size_t j = 0; j < out.size(); ++j) L += w[j] * out[j] * out[j];
      return L;
    };
    loss();
    for (std::size_t j = 0; j < out.size(); ++j) out_bar[j] = 2.0 * w[j] * out[j];
    jet_mul_adjoint<double>(s, n, out_bar.data(), b.data(), a_bar.data());
    jet_mul_adjoint<double>(s, n, out_bar.data(), a.data(), b_bar.data());
    for (std::size_t j = 0; j < a.size(); ++j) {
      CHECK_CLOSE(a_bar[j], ref::central_difference(loss, a[j], 1e-6), 1e-6, 1e-8);
      CHECK_CLOSE(b_bar[j], ref::central_difference(loss, b[j], 1e-6), 1e-6, 1e-8);
    }
  }
}

TEST(adjoint, jet_unary_chain_rule) {
  // L(z) = sum w f(z)^2; z_bar = jet_mul_adjoint(2 w f(z), f'(z)): the chain rule in the algebra.
  ref::Rng rng(22);
  const std::size_t n = 2;
  for (const JetSpec& s : test_specs()) {
    std::vector<double> scratch(jet_unary_scratch(s, n));
    for (const auto& c : func_cases()) {
      auto z = random_jets(s, n, rng, c.x_lo, c.x_hi, 0.4);
      const auto w = random_jets(s, n, rng, -1, 1, 1.0);
      std::vector<double> y(z.size()), g(z.size()), y_bar(z.size()), z_bar(z.size(), 0.0);
      auto loss = [&]() {
        jet_unary<double>(s, n, c.f, c.p, z.data(), y.data(), nullptr, scratch.data());
        double L = 0.0;
        for (std::size_t j = 0; j < y.size(); ++j) L += w[j] * y[j] * y[j];
        return L;
      };
      jet_unary<double>(s, n, c.f, c.p, z.data(), y.data(), g.data(), scratch.data());
      for (std::size_t j = 0; j < y.size(); ++j) y_bar[j] = 2.0 * w[j] * y[j];
      jet_mul_adjoint<double>(s, n, y_bar.data(), g.data(), z_bar.data());
      for (std::size_t j = 0; j < z.size(); ++j) {
        if (!CHECK_CLOSE(z_bar[j], ref::central_difference(loss, z[j], 1e-6), 1e-6, 1e-7))
          std::printf("    f=%s p=%g spec dirs=%d j=%zu\n", func_name(c.f), c.p, s.n_dirs(), j);
      }
    }
  }
}
