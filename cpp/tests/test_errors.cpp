// Bad input raises pinnbilo::InputError with a message, never a crash or silent garbage.
#include <cmath>
#include <string>
#include <vector>

#include "check.hpp"
#include "pinnbilo/error.hpp"
#include "pinnbilo/jet_ops.hpp"
#include "pinnbilo/mlp.hpp"
#include "problems.hpp"

using namespace pinnbilo;

TEST(errors, jet_spec) {
  CHECK_THROWS(InputError, JetSpec(-1));
  CHECK_THROWS(InputError, JetSpec(2, {{-1, 0}}));
  CHECK_THROWS(InputError, JetSpec(2, {{1, -2}}));
  CHECK_THROWS(InputError, JetSpec(2, {{1}}));
  CHECK_THROWS(InputError, JetSpec(1, {{1, 0}}));
  CHECK_THROWS(InputError, JetSpec(1, {{17}}));
  CHECK_THROWS(InputError, JetSpec(2, {{9, 9}}));
  CHECK_THROWS(InputError, JetSpec(2, {{1 << 30, 1 << 30}}));  // no int overflow in the degree sum
  // The message names the problem.
  try {
    JetSpec(2, {{-1, 0}});
  } catch (const InputError& e) {
    CHECK(std::string(e.what()).find("[0, 16]") != std::string::npos);
  }
  const JetSpec ok(1, {{16}});
  CHECK(ok.size() == 17);
}

TEST(errors, functions) {
  CHECK_THROWS(InputError, func_from_name("relu"));
  CHECK_THROWS(InputError, func_from_name(""));
  for (int i = 0; i <= kLastFunc; ++i)
    CHECK(func_from_name(func_name(static_cast<Func>(i))) == static_cast<Func>(i));
  double x = 0.5, out[20];
  CHECK_THROWS(InputError, taylor_coefficients<double>(Func::Tanh, 0.0, &x, 1, 19, out));
  CHECK_THROWS(InputError, taylor_coefficients<double>(Func::Tanh, 0.0, &x, 1, -1, out));
  CHECK_THROWS(InputError, taylor_coefficients<double>(static_cast<Func>(42), 0.0, &x, 1, 2, out));
}

TEST(errors, mlp) {
  CHECK_THROWS(InputError, Mlp({2, 0, 1}, Func::Tanh));
  CHECK_THROWS(InputError, Mlp({0, 4, 1}, Func::Tanh));
  CHECK_THROWS(InputError, Mlp({2, 4, -3}, Func::Tanh));
  CHECK_THROWS(InputError, Mlp({3}, Func::Tanh));
  CHECK_THROWS(InputError, Mlp({}, Func::Tanh));
  CHECK_THROWS(InputError, Mlp({2, 4, 1}, Func::Log));
  CHECK_THROWS(InputError, Mlp({2, 4, 1}, Func::Pow));
  const Mlp mlp({2, 4, 1}, Func::Tanh);
  CHECK_THROWS(InputError, MlpJets<double>(mlp, JetSpec(2), 0));
}

TEST(errors, program) {
  using namespace ops;
  Program empty;
  CHECK_THROWS(InputError, empty.validate());
  Program forward_a;
  forward_a.code = {leaf(0), add(0, 2), leaf(1)};  // refers to a later op
  CHECK_THROWS(InputError, forward_a.validate());
  Program self_ref;
  self_ref.code = {leaf(0), neg(1)};  // refers to itself
  CHECK_THROWS(InputError, self_ref.validate());
  Program forward_b;
  forward_b.code = {leaf(0), mul(0, 5)};
  CHECK_THROWS(InputError, forward_b.validate());
  Program negative;
  negative.code = {leaf(0), sub(-1, 0)};
  CHECK_THROWS(InputError, negative.validate());
  Program bad_leaf;
  bad_leaf.code = {leaf(-1)};
  CHECK_THROWS(InputError, bad_leaf.validate());
  Program bad_op;
  bad_op.code = {leaf(0), make(static_cast<OpCode>(99), 0)};
  CHECK_THROWS(InputError, bad_op.validate());
  Program bad_func;
  bad_func.code = {leaf(0), unary(static_cast<Func>(42), 0)};
  CHECK_THROWS(InputError, bad_func.validate());
  Program twice;
  twice.code = {leaf(0), leaf(0), add(0, 1)};
  CHECK_THROWS(InputError, ProgramJets<double>(twice, JetSpec(1), 3));
  Program ok;
  ok.code = {leaf(0), unary(Func::Exp, 0)};
  ok.validate();
  CHECK_THROWS(InputError, ProgramJets<double>(ok, JetSpec(1), 0));
  CHECK_THROWS(InputError, ProgramJets<double>(forward_a, JetSpec(1), 3));
}

TEST(errors, problem) {
  auto bad = [](auto edit) {
    ProblemDef d = problems::ode();
    edit(d);
    return d;
  };
  CHECK_THROWS(InputError, bad([](ProblemDef& d) { d.n_coords = 0; }).validate());
  CHECK_THROWS(InputError, bad([](ProblemDef& d) { d.n_params = -1; }).validate());
  CHECK_THROWS(InputError, bad([](ProblemDef& d) { d.residuals[0].leaves[1].index = 2; }).validate());
  CHECK_THROWS(InputError, bad([](ProblemDef& d) { d.residuals[0].leaves[4].index = 1; }).validate());
  CHECK_THROWS(InputError, bad([](ProblemDef& d) { d.residuals[0].leaves[1].kind = LeafKind::Net; }).validate());
  CHECK_THROWS(InputError, bad([](ProblemDef& d) {
                 d.transforms[0].leaves[0] = {LeafKind::UDeriv, 0, {1}};
               }).validate());
  CHECK_THROWS(InputError, bad([](ProblemDef& d) { d.residuals[0].leaves[0].deriv = {1, 0}; }).validate());
  CHECK_THROWS(InputError, bad([](ProblemDef& d) { d.residuals[0].leaves[0].deriv = {9}; }).validate());
  CHECK_THROWS(InputError, bad([](ProblemDef& d) { d.residuals[0].leaves[0].deriv = {-1}; }).validate());
  CHECK_THROWS(InputError, bad([](ProblemDef& d) { d.residuals[0].leaves.pop_back(); }).validate());
  CHECK_THROWS(InputError, bad([](ProblemDef& d) { d.transforms[0].program.code.clear(); }).validate());
  CHECK_THROWS(InputError, bad([](ProblemDef& d) { d.residuals[0].program.code.push_back(ops::add(3, 12)); }).validate());
  // Several fields: a transform per field, field indices in range.
  CHECK_THROWS(InputError, bad([](ProblemDef& d) { d.n_fields = 2; }).validate());
  CHECK_THROWS(InputError, bad([](ProblemDef& d) { d.residuals[0].leaves[0].index = 1; }).validate());
  CHECK_THROWS(InputError, bad([](ProblemDef& d) { d.transforms[0].leaves[2].index = 1; }).validate());
  CHECK_THROWS(InputError, bad([](ProblemDef& d) { d.residuals.clear(); }).validate());
  CHECK_THROWS(InputError, bad([](ProblemDef& d) {
                 d.conditions.push_back({d.residuals[0], -1.0, false});
               }).validate());
  CHECK_THROWS(InputError, bad([](ProblemDef& d) {
                 d.observations.push_back({d.transforms[0], false});  // reads the raw network output
               }).validate());
  problems::ode().validate();
  problems::pde().validate();
}

TEST(errors, trainer) {
  using problems::Setup;
  const Setup s = problems::make_setup(false, Method::BiLO);
  const Mlp mlp(problems::net_sizes(s), Func::Tanh);
  const TrainerOptions opt = problems::test_options();
  const std::size_t nc = s.collocation.size(), nd = s.data_values.size();
  auto make = [&](const Mlp& m, Method method, const std::vector<ParamBound>& b, const double* colloc, std::size_t n_res,
                  const double* dp, const double* dv, std::size_t n_data, const TrainerOptions& o) {
    return Trainer<double>(m, s.def, method, b, colloc, n_res, dp, dv, n_data, o, 0);
  };
  const double* C = s.collocation.data();
  const double* P = s.data_points.data();
  const double* V = s.data_values.data();
  // The valid call works.
  Trainer<double> ok = make(mlp, Method::BiLO, s.bounds, C, nc, P, V, nd, opt);
  CHECK(ok.n_params() == 2);

  CHECK_THROWS(InputError, make(mlp, Method::BiLO, s.bounds, C, nc, P, V, 0, opt));      // no data
  CHECK_THROWS(InputError, make(mlp, Method::BiLO, s.bounds, C, 0, P, V, nd, opt));      // no collocation
  CHECK_THROWS(InputError, make(mlp, Method::PINN, s.bounds, C, nc, P, V, nd, opt));     // 3 inputs, PINN needs 1
  CHECK_THROWS(InputError, make(Mlp({3, 4, 2}, Func::Tanh), Method::BiLO, s.bounds, C, nc, P, V, nd, opt));
  CHECK_THROWS(InputError, make(mlp, Method::BiLO, {s.bounds[0]}, C, nc, P, V, nd, opt));  // one bound short
  CHECK_THROWS(InputError, make(mlp, Method::BiLO, {ParamBound{2.0, 1.0}, s.bounds[1]}, C, nc, P, V, nd, opt));
  CHECK_THROWS(InputError, make(mlp, Method::BiLO, {ParamBound{1.0, 1.0}, s.bounds[1]}, C, nc, P, V, nd, opt));

  std::vector<double> nan_colloc = s.collocation, inf_values = s.data_values, nan_points = s.data_points;
  nan_colloc[3] = std::nan("");
  inf_values[2] = problems::kInf;
  nan_points[0] = std::nan("");
  CHECK_THROWS(InputError, make(mlp, Method::BiLO, s.bounds, nan_colloc.data(), nc, P, V, nd, opt));
  CHECK_THROWS(InputError, make(mlp, Method::BiLO, s.bounds, C, nc, P, inf_values.data(), nd, opt));
  CHECK_THROWS(InputError, make(mlp, Method::BiLO, s.bounds, C, nc, nan_points.data(), V, nd, opt));

  auto with = [&](auto edit) {
    TrainerOptions o = opt;
    edit(o);
    return o;
  };
  CHECK_THROWS(InputError, make(mlp, Method::BiLO, s.bounds, C, nc, P, V, nd, with([](TrainerOptions& o) { o.w_res = -1; })));
  CHECK_THROWS(InputError,
               make(mlp, Method::BiLO, s.bounds, C, nc, P, V, nd, with([](TrainerOptions& o) { o.w_data = std::nan(""); })));
  CHECK_THROWS(InputError,
               make(mlp, Method::BiLO, s.bounds, C, nc, P, V, nd, with([](TrainerOptions& o) { o.adam_weights.lr = -1e-3; })));
  CHECK_THROWS(InputError,
               make(mlp, Method::BiLO, s.bounds, C, nc, P, V, nd, with([](TrainerOptions& o) { o.adam_params.beta1 = 1.0; })));
  CHECK_THROWS(InputError,
               make(mlp, Method::BiLO, s.bounds, C, nc, P, V, nd, with([](TrainerOptions& o) { o.adam_params.eps = 0.0; })));
  CHECK_THROWS(InputError, ok.set_options(with([](TrainerOptions& o) { o.adam_weights.beta2 = -0.1; })));

  CHECK_THROWS(InputError, ok.set_params({1.0}));         // wrong count
  CHECK_THROWS(InputError, ok.set_params({6.0, 0.0}));    // a above its upper bound 5
  CHECK_THROWS(InputError, ok.set_params({1.0, -1.0}));   // b on its (open) lower bound
  CHECK_THROWS(InputError, ok.run(-1, true, 1, nullptr, 0.0));
  CHECK_THROWS(InputError, ok.run(10, true, 0, nullptr, 0.0));
  CHECK_THROWS(InputError, ok.run(10, true, 1, nullptr, -1.0));
  double out[4];
  const double t0 = 0.5;
  CHECK_THROWS(InputError, ok.predict(&t0, 1, {{1}}, out));        // needs 3 entries (t, a, b)
  CHECK_THROWS(InputError, ok.predict(&t0, 1, {{-1, 0, 0}}, out));
  CHECK_THROWS(InputError, ok.predict(&t0, 0, {{0, 0, 0}}, out));
  // The failed calls left the trainer usable.
  Losses l;
  CHECK(ok.step(true, l));
  CHECK(std::isfinite(l.total));
}

// Misuse of the state setters (the entry points that once handed out mutable buffers): every size
// or value mismatch throws and leaves the trainer as it was; run under ASan/UBSan in CI.
TEST(errors, state_setters) {
  const problems::Setup s = problems::make_setup(false, Method::BiLO);
  auto t = problems::make_trainer<double>(s);
  const std::vector<double> w = t->weights(), raw = t->raw_params();
  const std::size_t nw = w.size(), nr = raw.size();
  CHECK_THROWS(InputError, t->set_weights({}));
  CHECK_THROWS(InputError, t->set_weights(std::vector<double>(nw + 1, 0.0)));
  CHECK_THROWS(InputError, t->set_weights(std::vector<double>(3, 0.0)));
  std::vector<double> nan_w = w;
  nan_w[1] = std::nan("");
  CHECK_THROWS(InputError, t->set_weights(nan_w));
  CHECK_THROWS(InputError, t->set_raw_params({}));
  CHECK_THROWS(InputError, t->set_raw_params(std::vector<double>(50, 0.0)));
  const std::vector<double> zw(nw, 0.0), zr(nr, 0.0);
  CHECK_THROWS(InputError, t->set_adam_state(0, zr, zw, zw, 1));     // m of the wrong group's size
  CHECK_THROWS(InputError, t->set_adam_state(0, zw, std::vector<double>(nw, -1.0), zw, 1));  // v < 0
  CHECK_THROWS(InputError, t->set_adam_state(1, zr, zr, zr, -3));     // negative step count
  CHECK_THROWS(InputError, t->set_adam_state(2, zr, zr, zr, 0));      // no such group
  History h;
  h.step = {0, 1};
  h.res = h.rgrad = h.data = h.reg = h.total = {1.0, 1.0};
  h.params = {1.0};  // 2 parameters per step needed
  CHECK_THROWS(InputError, t->set_history(h));
  h.params = {1.0, 2.0, 3.0, 4.0};
  h.step = {1, 1};  // steps must increase
  CHECK_THROWS(InputError, t->set_history(h));
  CHECK_THROWS(InputError, t->set_global_step(-5));
  CHECK_THROWS(InputError, t->append_record(Losses{}, {1.0}));
  CHECK(t->weights() == w && t->raw_params() == raw && t->history().step.empty());
  RunControl bad;
  bad.steps = 5;
  bad.spike_factor = 0.5;  // must be > 1
  CHECK_THROWS(InputError, t->run(bad, nullptr));
  bad.spike_factor = 0.0;
  bad.min_delta = 2.0;
  CHECK_THROWS(InputError, t->run(bad, nullptr));
  TrainerOptions o = t->options();
  o.schedule_params.gamma = 0.0;
  CHECK_THROWS(InputError, t->set_options(o));
  o.schedule_params.gamma = 0.5;
  o.schedule_weights.kind = static_cast<ScheduleKind>(9);
  CHECK_THROWS(InputError, t->set_options(o));
  // Still usable.
  Losses l;
  CHECK(t->step(true, l) && std::isfinite(l.total));
  CHECK(TrainerOptions{}.w_rgrad == 0.1);  // the Python default
}
