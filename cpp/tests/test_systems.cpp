// Several fields, conditions as loss terms and general observations: every objective's gradient
// against central differences, for both network layouts and both methods.
//
//   fields x, y of t;  x = 1 + t N_x,  y = N_y;  parameters a, b
//   residuals:   x_t - a x y,   y_t + b x
//   conditions:  y(0) - y(1) (paired, weight 0.7),   y_t - a at t = 1 (weight 1.5)
//   observations: x at points,  sum_i q_i y(t_i) (integral),  x_t + y at points (weights)
#include <functional>
#include <vector>

#include "check.hpp"
#include "pinnbilo/error.hpp"
#include "pinnbilo/trainer.hpp"

using namespace pinnbilo;
using namespace ops;

namespace {

Expression expr(std::vector<Leaf> leaves, std::vector<Instruction> code) {
  Expression e;
  e.leaves = std::move(leaves);
  e.program.code = std::move(code);
  return e;
}

ProblemDef system_def() {
  ProblemDef d;
  d.n_coords = 1;
  d.n_params = 2;
  d.n_fields = 2;
  d.transforms = {expr({{LeafKind::Coord, 0, {}}, {LeafKind::Net, 0, {}}}, {leaf(0), leaf(1), mul(0, 1), add_const(2, 1.0)}),
                  expr({{LeafKind::Net, 1, {}}}, {leaf(0)})};
  d.residuals = {
      expr({{LeafKind::UDeriv, 0, {1}}, {LeafKind::Param, 0, {}}, {LeafKind::UDeriv, 0, {0}}, {LeafKind::UDeriv, 1, {0}}},
           {leaf(0), leaf(1), leaf(2), leaf(3), mul(1, 2), mul(4, 3), sub(0, 5)}),
      expr({{LeafKind::UDeriv, 1, {1}}, {LeafKind::Param, 1, {}}, {LeafKind::UDeriv, 0, {0}}},
           {leaf(0), leaf(1), leaf(2), mul(1, 2), add(0, 3)})};
  d.conditions = {{expr({{LeafKind::UDeriv, 1, {0}}}, {leaf(0)}), 0.7, true},
                  {expr({{LeafKind::UDeriv, 1, {1}}, {LeafKind::Param, 0, {}}}, {leaf(0), leaf(1), sub(0, 1)}), 1.5, false}};
  d.observations = {{expr({{LeafKind::UDeriv, 0, {0}}}, {leaf(0)}), false},
                    {expr({{LeafKind::UDeriv, 1, {0}}}, {leaf(0)}), true},
                    {expr({{LeafKind::UDeriv, 0, {1}}, {LeafKind::UDeriv, 1, {0}}}, {leaf(0), leaf(1), add(0, 1)}), false}};
  return d;
}

std::unique_ptr<Trainer<double>> system_trainer(Method method, bool per_field) {
  const ProblemDef def = system_def();
  const int n_in = def.n_net_inputs(method);
  const Networks nets = per_field ? Networks(std::vector<Mlp>{Mlp({n_in, 6, 1}, Func::Tanh), Mlp({n_in, 5, 1}, Func::Tanh)})
                                  : Networks(Mlp({n_in, 7, 7, 2}, Func::Tanh));
  std::vector<double> colloc;
  for (int i = 0; i < 9; ++i) colloc.push_back(i / 8.0);
  std::vector<ConditionPoints<double>> conds(2);
  conds[0].points = {0.0, 0.5, 1.0, 1.5};  // pairs (0, 1), (0.5, 1.5)
  conds[1].points = {1.0};
  std::vector<ObservationData<double>> obs(3);
  obs[0].points = {0.2, 0.5, 0.9};
  obs[0].values = {1.1, 1.3, 0.8};
  obs[1].points = {0.1, 0.5, 0.9};
  obs[1].quadrature = {0.3, 0.4, 0.3};
  obs[1].values = {0.2};
  obs[1].weights = {2.0};
  obs[2].points = {0.3, 0.7};
  obs[2].values = {0.5, -0.2};
  obs[2].weights = {0.5, 1.5};
  TrainerOptions o;
  o.w_res = 0.8;
  o.w_rgrad = 1.2;
  o.w_data = 1.7;
  auto t = std::make_unique<Trainer<double>>(nets, def, method, std::vector<ParamBound>{ParamBound{}, ParamBound{0.0, 5.0}},
                                             colloc.data(), colloc.size(), nullptr, conds, obs, o, 11);
  t->set_params({0.9, 1.3});
  return t;
}

void check_gradient(const char* what, const std::vector<double>& g, std::vector<double>& x, const std::function<double()>& f) {
  double scale = 1.0;
  for (double v : g) scale = std::max(scale, std::fabs(v));
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double fd = ref::central_difference(f, x[i], 1e-6);
    if (!CHECK_CLOSE(g[i], fd, 1e-5, 2e-7 * scale)) std::printf("    %s, entry %zu\n", what, i);
  }
}

}  // namespace

TEST(systems, objective_gradients) {
  for (Method method : {Method::PINN, Method::BiLO}) {
    for (bool per_field : {false, true}) {
      auto t = system_trainer(method, per_field);
      std::vector<double> w = t->weights(), raw = t->raw_params();
      std::vector<double> gw(w.size(), 0.0), gr(raw.size(), 0.0);
      const Losses lp = t->pinn(w.data(), raw.data(), gw.data(), gr.data());
      CHECK(lp.res > 0.0 && lp.data > 0.0);
      auto pinn = [&]() { return t->pinn(w.data(), raw.data(), nullptr, nullptr).total; };
      check_gradient("pinn d/dweights", gw, w, pinn);
      check_gradient("pinn d/draw", gr, raw, pinn);
      if (method == Method::BiLO) {
        std::vector<double> lw(w.size(), 0.0), ur(raw.size(), 0.0);
        const Losses ll = t->lower(w.data(), raw.data(), lw.data());
        CHECK(ll.rgrad > 0.0);
        check_gradient("lower d/dweights", lw, w, [&]() { return t->lower(w.data(), raw.data(), nullptr).total; });
        t->upper(w.data(), raw.data(), ur.data());
        check_gradient("upper d/draw", ur, raw, [&]() { return t->upper(w.data(), raw.data(), nullptr).total; });
      }
      // Predictions per field and per observation.
      const double p0 = 0.5;
      double x = 0, y = 0;
      t->predict(0, &p0, 1, {MultiIndex(static_cast<std::size_t>(system_def().n_dirs(method)), 0)}, &x);
      t->predict(1, &p0, 1, {MultiIndex(static_cast<std::size_t>(system_def().n_dirs(method)), 0)}, &y);
      CHECK_CLOSE(t->observe(0)[1], x, 1e-14, 1e-15);
      CHECK(t->observe(1).size() == 1);
      std::vector<double> r(t->residual_rows() * 2);
      const double pts[2] = {0.25, 0.75};
      t->residual(pts, 2, r.data());
      CHECK(t->residual_rows() == (method == Method::BiLO ? 6u : 2u));
    }
  }
}

TEST(systems, trainer_refuses_inconsistent_data) {
  const ProblemDef def = system_def();
  const Networks nets(Mlp({1, 4, 2}, Func::Tanh));
  const std::vector<double> colloc = {0.0, 0.5, 1.0};
  std::vector<ConditionPoints<double>> conds(2);
  conds[0].points = {0.0, 0.5, 1.0};  // odd: not pairs
  conds[1].points = {1.0};
  std::vector<ObservationData<double>> obs(3);
  for (auto& o : obs) {
    o.points = {0.5};
    o.values = {1.0};
  }
  obs[1].quadrature = {1.0};
  const std::vector<ParamBound> bounds(2);
  auto make = [&]() {
    Trainer<double>(nets, def, Method::PINN, bounds, colloc.data(), colloc.size(), nullptr, conds, obs, TrainerOptions{}, 1);
  };
  CHECK_THROWS(InputError, make());
  conds[0].points.push_back(1.5);
  make();  // consistent now
  obs[2].weights = {-1.0};
  CHECK_THROWS(InputError, make());
  obs[2].weights.clear();
  obs[1].quadrature.clear();
  CHECK_THROWS(InputError, make());
  obs[1].quadrature = {1.0};
  obs.pop_back();
  CHECK_THROWS(InputError, make());
  CHECK_THROWS(InputError, Trainer<double>(Networks(Mlp({1, 4, 1}, Func::Tanh)), def, Method::PINN, bounds, colloc.data(),
                                           colloc.size(), nullptr, conds, obs, TrainerOptions{}, 1));
}
