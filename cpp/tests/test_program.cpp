// Residual programs: every op code forward against an independent complex evaluation (Cauchy
// integral), and the reverse sweep against finite differences.
#include <algorithm>
#include <vector>

#include "check.hpp"
#include "pinnbilo/program.hpp"

using namespace pinnbilo;

namespace {

// F(l0, l2) = 2 * ( sigmoid(tanh(l2)^2 - 1/4) * softplus(pow(sin(l0 l2) + 2, 1.5) + exp(l0)/2)
//                   + log(sin(l0 l2) + 2) - cos(l0) );  leaf 1 is not used.
Program test_program() {
  using namespace ops;
  Program p;
  p.code = {
      leaf(0),                       // 0  l0
      leaf(2),                       // 1  l2
      constant(2.0),                 // 2
      mul(0, 1),                     // 3  l0 l2
      unary(Func::Sin, 3),           // 4
      add(4, 2),                     // 5  sin(l0 l2) + 2
      unary(Func::Pow, 5, 1.5),      // 6
      unary(Func::Exp, 0),           // 7
      neg(7),                        // 8
      scale(8, 0.5),                 // 9  -exp(l0)/2
      sub(6, 9),                     // 10
      unary(Func::Tanh, 1),          // 11
      mul(11, 11),                   // 12 tanh(l2)^2: one operand twice
      add_const(12, -0.25),          // 13
      unary(Func::Log, 5),           // 14
      unary(Func::Sigmoid, 13),      // 15
      unary(Func::Softplus, 10),     // 16
      unary(Func::Cos, 0),           // 17
      mul(15, 16),                   // 18
      add(18, 14),                   // 19
      sub(19, 17),                   // 20
      mul(20, 2),                    // 21
  };
  return p;
}

ref::cplx test_function(ref::cplx l0, ref::cplx l2) {
  using ref::cplx;
  const cplx s = std::sin(l0 * l2) + 2.0;
  const cplx th = std::tanh(l2);
  const cplx sig = 1.0 / (1.0 + std::exp(-(th * th - 0.25)));
  const cplx sp = std::log(1.0 + std::exp(std::pow(s, cplx(1.5)) + std::exp(l0) / 2.0));
  return 2.0 * (sig * sp + std::log(s) - std::cos(l0));
}

std::vector<JetSpec> specs() {
  return {JetSpec(0), JetSpec(1, {{1}}), JetSpec(2, {{1, 1}}), JetSpec(2, {{2, 1}, {0, 3}}),
          JetSpec(3, {{1, 1, 1}})};
}

void fill_random(double* jet, const JetSpec& s, std::size_t n, ref::Rng& rng) {
  for (std::size_t i = 0; i < n; ++i) jet[i] = rng.uniform(-1, 1);
  for (std::size_t j = n; j < static_cast<std::size_t>(s.size()) * n; ++j) jet[j] = rng.uniform(-0.4, 0.4);
}

}  // namespace

TEST(program, leaves) {
  const Program p = test_program();
  p.validate();
  CHECK(p.n_leaves() == 3);
  ProgramJets<double> pj(p, JetSpec(1, {{2}}), 4);
  CHECK(pj.n_leaves() == 3);
  CHECK(pj.n_points() == 4);
  CHECK(pj.leaf(0) != nullptr);
  CHECK(pj.leaf(1) == nullptr);
  CHECK(pj.leaf(2) != nullptr);
  CHECK(pj.leaf(3) == nullptr);
  CHECK(pj.leaf(-1) == nullptr);
  CHECK(pj.leaf_bar(1) == nullptr);
  CHECK(pj.leaf(0) != pj.leaf(2));
}

TEST(program, forward_cauchy_reference) {
  ref::Rng rng(31);
  const Program p = test_program();
  for (const JetSpec& s : specs()) {
    const std::size_t n = 3, kn = static_cast<std::size_t>(s.size()) * n;
    ProgramJets<double> pj(p, s, n);
    fill_random(pj.leaf(0), s, n, rng);
    fill_random(pj.leaf(2), s, n, rng);
    pj.forward();
    const std::vector<double> first(pj.output(), pj.output() + kn);
    pj.forward();  // evaluating again gives the same (constants are rewritten, nothing accumulates)
    for (std::size_t j = 0; j < kn; ++j) CHECK(pj.output()[j] == first[j]);
    const int M = s.n_dirs() <= 2 ? 32 : 24;
    for (std::size_t i = 0; i < n; ++i) {
      const auto expected = ref::cauchy_coefficients(
          s,
          [&](const std::vector<ref::cplx>& sv) {
            return test_function(ref::eval_jet(s, pj.leaf(0) + i, n, sv), ref::eval_jet(s, pj.leaf(2) + i, n, sv));
          },
          0.2, M);
      for (int k = 0; k < s.size(); ++k)
        CHECK_CLOSE(pj.output()[static_cast<std::size_t>(k) * n + i], expected[static_cast<std::size_t>(k)], 1e-9,
                    1e-10);
    }
  }
}

TEST(program, backward_finite_differences) {
  ref::Rng rng(32);
  const Program p = test_program();
  for (const JetSpec& s : specs()) {
    const std::size_t n = 3, kn = static_cast<std::size_t>(s.size()) * n;
    ProgramJets<double> pj(p, s, n);
    fill_random(pj.leaf(0), s, n, rng);
    fill_random(pj.leaf(2), s, n, rng);
    std::vector<double> w(kn);
    for (double& v : w) v = rng.uniform(-1, 1);
    auto loss = [&]() {
      pj.forward();
      double L = 0;
      for (std::size_t j = 0; j < kn; ++j) L += w[j] * pj.output()[j] * pj.output()[j];
      return L;
    };
    loss();
    std::vector<double> out_bar(kn);
    for (std::size_t j = 0; j < kn; ++j) out_bar[j] = 2.0 * w[j] * pj.output()[j];
    pj.backward(out_bar.data());
    const std::vector<double> bar0(pj.leaf_bar(0), pj.leaf_bar(0) + kn), bar2(pj.leaf_bar(2), pj.leaf_bar(2) + kn);
    // A second sweep starts from zero adjoints.
    pj.backward(out_bar.data());
    for (std::size_t j = 0; j < kn; ++j) CHECK(pj.leaf_bar(0)[j] == bar0[j]);
    for (std::size_t j = 0; j < kn; ++j) {
      CHECK_CLOSE(bar0[j], ref::central_difference(loss, pj.leaf(0)[j], 1e-6), 1e-6, 1e-7);
      CHECK_CLOSE(bar2[j], ref::central_difference(loss, pj.leaf(2)[j], 1e-6), 1e-6, 1e-7);
    }
  }
}

TEST(program, single_ops) {
  // Each op on its own, on the jets a = 1 + 2h + 3h^2 and b = -1 + h + 0.5h^2 (one direction).
  using namespace ops;
  const JetSpec s(1, {{2}});
  const double a[] = {1, 2, 3}, b[] = {-1, 1, 0.5};
  struct Case {
    Instruction ins;
    std::vector<double> expected;
  };
  const std::vector<Case> cases = {
      {add(0, 1), {0, 3, 3.5}},        {sub(0, 1), {2, 1, 2.5}},        {mul(0, 1), {-1, -1, -0.5}},
      {neg(0), {-1, -2, -3}},          {scale(1, 3.0), {-3, 3, 1.5}},   {add_const(0, 0.5), {1.5, 2, 3}},
      {constant(4.0), {4, 0, 0}},      {unary(Func::Pow, 0, 2.0), {1, 4, 10}},
  };
  for (const auto& c : cases) {
    Program p;
    p.code = {leaf(0), leaf(1), c.ins};
    ProgramJets<double> pj(p, s, 1);
    std::copy(a, a + 3, pj.leaf(0));
    std::copy(b, b + 3, pj.leaf(1));
    pj.forward();
    for (int k = 0; k < 3; ++k) CHECK_CLOSE(pj.output()[k], c.expected[static_cast<std::size_t>(k)], 1e-15, 1e-15);
  }
  // A program that is a single leaf returns it; backward hands the adjoint straight back.
  Program id;
  id.code = {leaf(0)};
  ProgramJets<double> pj(id, s, 1);
  std::copy(a, a + 3, pj.leaf(0));
  pj.forward();
  for (int k = 0; k < 3; ++k) CHECK(pj.output()[k] == a[k]);
  pj.backward(b);
  for (int k = 0; k < 3; ++k) CHECK(pj.leaf_bar(0)[k] == b[k]);
}
