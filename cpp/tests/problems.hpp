// Two small inverse problems for the trainer tests, written as the op lists Python compiles.
//
//   ode: coords (t), params (a, b)
//        u = b + t N                         r = u_t - a u + sin(b t)
//   pde: coords (t, x), param (a)
//        u = sin(x) + t x (1 - x) N          r = u_t - a u_xx + u^2 - exp(x)/2
#pragma once
#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "check.hpp"
#include "pinnbilo/trainer.hpp"

namespace problems {

using namespace pinnbilo;

inline ProblemDef ode() {
  using namespace ops;
  ProblemDef d;
  d.n_coords = 1;
  d.n_params = 2;
  d.transforms.emplace_back();
  d.transforms.back().leaves = {{LeafKind::Param, 1, {}}, {LeafKind::Coord, 0, {}}, {LeafKind::Net, 0, {}}};
  d.transforms.back().program.code = {leaf(0), leaf(1), leaf(2), mul(1, 2), add(0, 3)};
  d.residuals.emplace_back();
  d.residuals.back().leaves = {{LeafKind::UDeriv, 0, {1}}, {LeafKind::Param, 0, {}}, {LeafKind::UDeriv, 0, {0}},
                       {LeafKind::Param, 1, {}},   {LeafKind::Coord, 0, {}}};
  d.residuals.back().program.code = {leaf(0), leaf(1),   leaf(2),   mul(1, 2),           sub(0, 3),
                     leaf(3), leaf(4),   mul(5, 6), unary(Func::Sin, 7), add(4, 8)};
  return d;
}

inline ProblemDef pde() {
  using namespace ops;
  ProblemDef d;
  d.n_coords = 2;
  d.n_params = 1;
  d.transforms.emplace_back();
  d.transforms.back().leaves = {{LeafKind::Coord, 0, {}}, {LeafKind::Coord, 1, {}}, {LeafKind::Net, 0, {}}};
  d.transforms.back().program.code = {leaf(0),   leaf(1),          leaf(2),   unary(Func::Sin, 1), mul(0, 1),
                      neg(1),    add_const(5, 1.0), mul(4, 6), mul(7, 2),           add(3, 8)};
  d.residuals.emplace_back();
  d.residuals.back().leaves = {{LeafKind::UDeriv, 0, {1, 0}}, {LeafKind::Param, 0, {}}, {LeafKind::UDeriv, 0, {0, 2}},
                       {LeafKind::UDeriv, 0, {0, 0}}, {LeafKind::Coord, 1, {}}};
  d.residuals.back().program.code = {leaf(0), leaf(1),   leaf(2),   mul(1, 2), sub(0, 3),           leaf(3),
                     mul(5, 5), add(4, 6), leaf(4), unary(Func::Exp, 8), scale(9, 0.5), sub(7, 10)};
  return d;
}

constexpr double kInf = std::numeric_limits<double>::infinity();

struct Setup {
  const char* name = "";
  ProblemDef def;
  Method method = Method::PINN;
  std::vector<ParamBound> bounds;
  std::vector<double> collocation, data_points, data_values;
  std::vector<double> params;  // physical starting values
};

inline Setup make_setup(bool use_pde, Method method) {
  const bool bilo = method == Method::BiLO;
  Setup s;
  s.name = use_pde ? (bilo ? "pde/bilo" : "pde/pinn") : (bilo ? "ode/bilo" : "ode/pinn");
  s.def = use_pde ? pde() : ode();
  s.method = method;
  if (!use_pde) {
    s.bounds = {ParamBound{0.5, 5.0}, ParamBound{-1.0, kInf}};
    s.params = {1.7, 0.4};
    for (int i = 0; i < 15; ++i) s.collocation.push_back(i / 14.0);
    for (int i = 1; i <= 7; ++i) {
      const double t = i / 7.0;
      s.data_points.push_back(t);
      s.data_values.push_back(0.4 * std::exp(1.3 * t));
    }
  } else {
    s.bounds = {ParamBound{-kInf, 10.0}};
    s.params = {0.8};
    for (int i = 0; i < 5; ++i)
      for (int j = 0; j < 5; ++j) {
        s.collocation.push_back(i / 4.0);
        s.collocation.push_back(j / 4.0);
      }
    for (int i = 0; i < 7; ++i) {
      const double t = 0.1 + 0.13 * i, x = 0.05 + 0.14 * i;
      s.data_points.push_back(t);
      s.data_points.push_back(x);
      s.data_values.push_back(std::sin(x) * std::exp(-t));
    }
  }
  return s;
}

inline std::vector<int> net_sizes(const Setup& s, int hidden = 10) {
  return {s.def.n_net_inputs(s.method), hidden, hidden, 1};
}

inline TrainerOptions test_options() {
  TrainerOptions o;
  o.w_res = 0.7;
  o.w_rgrad = 1.3;
  o.w_data = 2.1;
  o.adam_weights.lr = 1e-3;
  o.adam_params.lr = 1e-2;
  return o;
}

template <class T>
std::unique_ptr<Trainer<T>> make_trainer(const Setup& s, Func act = Func::Tanh, std::uint64_t seed = 5,
                                         int hidden = 10) {
  const Mlp mlp(net_sizes(s, hidden), act);
  const std::vector<T> colloc(s.collocation.begin(), s.collocation.end());
  const std::vector<T> dp(s.data_points.begin(), s.data_points.end());
  const std::vector<T> dv(s.data_values.begin(), s.data_values.end());
  auto t = std::make_unique<Trainer<T>>(mlp, s.def, s.method, s.bounds, colloc.data(),
                                        colloc.size() / static_cast<std::size_t>(s.def.n_coords), dp.data(), dv.data(),
                                        dv.size(), test_options(), seed);
  t->set_params(s.params);
  // Non-zero biases so that every weight matters.
  ref::Rng rng(seed + 17);
  std::vector<T> w = t->weights();
  for (int l = 0; l < mlp.n_layers(); ++l)
    for (int i = 0; i < mlp.sizes()[static_cast<std::size_t>(l) + 1]; ++i)
      w[mlp.bias_offset(l) + static_cast<std::size_t>(i)] = static_cast<T>(rng.uniform(-0.2, 0.2));
  t->set_weights(w);
  return t;
}

inline std::vector<Setup> all_setups() {
  return {make_setup(false, Method::PINN), make_setup(false, Method::BiLO), make_setup(true, Method::PINN),
          make_setup(true, Method::BiLO)};
}

}  // namespace problems
