// BiLO on exponential growth, in C++ with no Python.
//
//   equation   u_t = a u on t in [0, 1], u(0) = 1        (true a = 2, initial guess a = 1)
//   solution   u = 1 + t N(t, a; W)                         (the initial condition holds exactly)
//   data       u(t_i) = exp(2 t_i) at 20 points, no noise
//   training   BiLO: 1000 pretraining steps at the initial guess, then 4000 steps with a trained
//
// Exit status 0 when the recovered a is within 1% of the truth.
#include <cmath>
#include <cstdio>
#include <exception>
#include <vector>

#include "pinnbilo/error.hpp"
#include "pinnbilo/mlp.hpp"
#include "pinnbilo/problem.hpp"
#include "pinnbilo/program.hpp"
#include "pinnbilo/trainer.hpp"

using namespace pinnbilo;

namespace {

Instruction leaf(int id) {
  Instruction ins;
  ins.op = OpCode::Leaf;
  ins.leaf = id;
  return ins;
}

Instruction binary(OpCode op, int a, int b) {
  Instruction ins;
  ins.op = op;
  ins.a = a;
  ins.b = b;
  return ins;
}

Instruction add_const(int a, double value) {
  Instruction ins;
  ins.op = OpCode::AddConst;
  ins.a = a;
  ins.value = value;
  return ins;
}

// The equation and its hard constraint, written as the op lists Python would compile.
ProblemDef exponential_growth() {
  ProblemDef def;
  def.n_coords = 1;  // t
  def.n_params = 1;  // a

  // u = 1 + t * N
  def.transforms.emplace_back();
  def.transforms.back().leaves = {{LeafKind::Coord, 0, {}}, {LeafKind::Net, 0, {}}};
  def.transforms.back().program.code = {leaf(0), leaf(1), binary(OpCode::Mul, 0, 1), add_const(2, 1.0)};

  // r = u_t - a * u
  def.residuals.emplace_back();
  def.residuals.back().leaves = {{LeafKind::UDeriv, 0, {1}}, {LeafKind::Param, 0, {}}, {LeafKind::UDeriv, 0, {0}}};
  def.residuals.back().program.code = {leaf(0), leaf(1), leaf(2), binary(OpCode::Mul, 1, 2), binary(OpCode::Sub, 0, 3)};
  return def;
}

}  // namespace

int main() {
  try {
    const double a_true = 2.0, a_init = 1.0;

    // Geometry: 101 collocation points on [0, 1].
    std::vector<double> collocation(101);
    for (std::size_t i = 0; i < collocation.size(); ++i) collocation[i] = static_cast<double>(i) / 100.0;

    // Data: the exact solution at t = 0.05, 0.10, ..., 1.
    std::vector<double> data_t(20), data_u(20);
    for (std::size_t i = 0; i < data_t.size(); ++i) {
      data_t[i] = static_cast<double>(i + 1) / 20.0;
      data_u[i] = std::exp(a_true * data_t[i]);
    }

    // Model: BiLO network u(t, a), inputs (t, a), two hidden layers of 32, tanh.
    const Mlp mlp({2, 32, 32, 1}, Func::Tanh);
    TrainerOptions options;
    options.adam_weights.lr = 1e-3;
    options.adam_params.lr = 1e-3;
    const std::vector<ParamBound> no_bounds(1);  // a unconstrained
    Trainer<double> trainer(mlp, exponential_growth(), Method::BiLO, no_bounds, collocation.data(),
                            collocation.size(), data_t.data(), data_u.data(), data_t.size(), options, /*seed=*/0);
    trainer.set_params({a_init});

    // Train: pretrain the network as a local solution operator around a_init, then the inverse problem.
    const auto report = [&](long step) {
      const auto& h = trainer.history();
      std::printf("step %5ld  res %.3e  rgrad %.3e  data %.3e  a %.6f\n", step, h.res.back(), h.rgrad.back(),
                  h.data.back(), trainer.params()[0]);
      return true;
    };
    const RunResult pre = trainer.run(1000, /*train_params=*/false, 500, report, 0.0);
    const RunResult inv = trainer.run(4000, /*train_params=*/true, 1000, report, 0.0);
    if (pre.status == RunStatus::Diverged || inv.status == RunStatus::Diverged) {
      std::fprintf(stderr, "training diverged\n");
      return 1;
    }

    const double a = trainer.params()[0];
    const double rel_error = std::fabs(a - a_true) / a_true;
    std::printf("recovered a = %.6f (true %.1f), relative error %.2e\n", a, a_true, rel_error);
    if (!(rel_error <= 0.01)) {
      std::fprintf(stderr, "relative error above 1%%\n");
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
