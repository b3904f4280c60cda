// Training state and loop: weights, parameters, optimisers, history.
//
// Gradient routing is explicit data (see Trainer::step):
//   PINN        weights, upper  <-  w_res L_res + w_data L_data + w_reg L_reg
//   BiLO lower  weights         <-  w_res L_res + w_rgrad L_rgrad
//   BiLO upper  upper           <-  w_data L_data + w_reg L_reg        (weights held fixed)
// "upper" is the parameters and the unknown functions' network weights (ProblemDef::n_upper);
// L_reg is the functions' smoothness, mean |grad f|^2 over the collocation points.
// In a pretraining run (train_params = false) the upper variables stay fixed and BiLO skips the
// upper level.
#pragma once
#include <cstddef>
#include <functional>
#include <limits>
#include <memory>
#include <vector>

#include "pinnbilo/adam.hpp"
#include "pinnbilo/problem.hpp"

namespace pinnbilo {

// Smooth bounds on a parameter: the optimiser works on an unconstrained raw value s.
//   both finite:  a = lo + (hi - lo) sigmoid(s);  lower only: a = lo + softplus(s);
//   upper only:   a = hi - softplus(-s);          none: a = s.
struct ParamBound {
  double lower = -std::numeric_limits<double>::infinity();
  double upper = std::numeric_limits<double>::infinity();
  double to_physical(double raw) const;
  double to_raw(double physical) const;  // throws InputError outside (lower, upper)
  double derivative(double raw) const;   // d physical / d raw
};

struct Losses {
  double res = 0.0, rgrad = 0.0, data = 0.0, reg = 0.0;
  double total = 0.0;  // the objective of the run: see Trainer::step
};

enum class RunStatus : int { Completed = 0, Converged = 1, Stopped = 2, Diverged = 3 };

struct RunResult {
  RunStatus status = RunStatus::Completed;
  long steps = 0;          // steps taken in this run
  long diverged_step = -1; // global step whose losses or gradients were not finite
};

struct History {
  std::vector<long> step;
  std::vector<double> res, rgrad, data, reg, total;
  std::vector<double> params;  // n_params per recorded step, physical values
  void clear();
};

struct TrainerOptions {
  double w_res = 1.0, w_rgrad = 1.0, w_data = 1.0, w_reg = 0.0;
  AdamConfig adam_weights;
  AdamConfig adam_params;
  double lr_functions = -1.0;  // learning rate of the functions' weights; < 0: that of the parameters
};

template <class T>
class Trainer {
 public:
  // collocation: n_res x n_coords; data_points: n_data x n_coords; data_values: n_data;
  // known: n_res x def.n_known values the residual reads (null when there are none).
  Trainer(const Mlp& mlp, const ProblemDef& def, Method method, std::vector<ParamBound> bounds,
          const T* collocation, std::size_t n_res, const T* data_points, const T* data_values,
          std::size_t n_data, TrainerOptions options, std::uint64_t seed, const T* known = nullptr);

  Method method() const { return method_; }
  const Mlp& mlp() const { return mlp_; }
  const ProblemDef& problem() const { return def_; }
  int n_params() const { return def_.n_params; }
  TrainerOptions& options() { return options_; }
  void set_options(const TrainerOptions& o);

  std::vector<T>& weights() { return weights_; }
  // Raw upper variables: unconstrained parameters, then the functions' network weights.
  std::vector<T>& raw_params() { return raw_; }
  std::vector<double> params() const;                   // physical values
  void set_params(const std::vector<double>& physical);  // throws outside bounds
  const std::vector<ParamBound>& bounds() const { return bounds_; }
  Adam<T>& adam_weights() { return adam_w_; }
  Adam<T>& adam_params() { return adam_p_; }
  History& history() { return history_; }
  long global_step() const { return global_step_; }
  void set_global_step(long s) { global_step_ = s; }

  // Replaces the collocation points (and their known values), e.g. to resample them.
  void set_collocation(const T* points, std::size_t n, const T* known = nullptr);

  // Pure evaluations at given arrays (the trainer's state is not touched); gradients are added
  // into the outputs, which the caller zeroes; any output may be null.
  //   pinn:  w_res L_res + w_data L_data + w_reg L_reg; gradient w.r.t. weights and raw upper variables.
  //   lower: w_res L_res + w_rgrad L_rgrad; gradient w.r.t. weights (upper variables fixed).
  //   upper: w_data L_data + w_reg L_reg; gradient w.r.t. the raw upper variables (weights fixed;
  //          BiLO: through the network inputs).
  Losses pinn(const T* weights, const T* raw, T* grad_w, T* grad_raw);
  Losses lower(const T* weights, const T* raw, T* grad_w);
  Losses upper(const T* weights, const T* raw, T* grad_raw);

  // One Adam step of this trainer's method on its own state. Returns the losses at the state
  // before the update, and false (state untouched) if a loss or gradient was not finite.
  bool step(bool train_params, Losses& losses);

  // `steps` Adam steps; every `callback_every` steps calls callback(global_step),
  // which returns false to stop.  Stops early when the run's objective falls below `tol`.
  // On non-finite losses or gradients the state is restored to the last finite one.
  RunResult run(long steps, bool train_params, long callback_every, const std::function<bool(long)>& callback,
                double tol);

  // Prediction of u and its derivatives at points (n x n_coords), for derivative multi-indices
  // over the network inputs (coordinates, then parameters for BiLO): out is derivs.size() x n.
  void predict(const T* points, std::size_t n, const std::vector<MultiIndex>& derivs, T* out);
  // Function k and its coordinate derivatives (multi-indices over coordinates) at points: derivs.size() x n.
  void predict_function(int k, const T* points, std::size_t n, const std::vector<MultiIndex>& derivs, T* out);
  // Residual r (and for BiLO its derivative along each parameter and function shift: rows
  // 1..n_perturb) at points: out is residual_rows() x n.  known: n x n_known, or null.
  std::size_t residual_rows() const;
  void residual(const T* points, std::size_t n, T* out, const T* known = nullptr);

 private:
  void raw_to_physical(const T* raw, T* physical) const;
  void chain_to_raw(const T* raw, const T* grad_physical, T* grad_raw) const;
  void snapshot();
  void restore();

  Mlp mlp_;
  ProblemDef def_;
  Method method_;
  std::vector<ParamBound> bounds_;
  TrainerOptions options_;
  std::unique_ptr<ResidualTerm<T>> residual_;
  std::unique_ptr<DataTerm<T>> data_;
  std::unique_ptr<SmoothnessTerm<T>> smooth_;  // only when there are functions
  std::vector<T> weights_, raw_;
  Adam<T> adam_w_, adam_p_;
  History history_;
  long global_step_ = 0;
  // Work buffers (sized once).
  std::vector<T> grad_w_, grad_raw_, phys_, grad_phys_;
  // Last good state, for divergence recovery.
  std::vector<T> good_weights_, good_raw_;
  Adam<T> good_adam_w_, good_adam_p_;
  bool have_good_ = false;
};

}  // namespace pinnbilo
