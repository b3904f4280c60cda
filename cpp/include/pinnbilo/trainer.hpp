// Training state and loop: weights, parameters, optimisers, history.
//
// Gradient routing is explicit data (see Trainer::step):
//   PINN        weights, upper  <-  w_res L_res + w_data L_data + w_reg L_reg
//   BiLO lower  weights         <-  w_res L_res + w_rgrad L_rgrad
//   BiLO upper  upper           <-  w_data L_data + w_reg L_reg        (weights held fixed)
// "upper" is the parameters and the unknown functions' network weights (ProblemDef::n_upper);
// L_reg is the functions' smoothness, mean |grad f|^2 over the collocation points.
// L_res (and L_rgrad) sum the residuals on the collocation points and every condition term, each
// condition times its weight: conditions belong to the lower level, as in the BiLO paper.
// L_data = sum over observations and their rows of w_r (y_r - d_r)^2, divided by the number of rows.
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
#include "pinnbilo/schedule.hpp"

namespace pinnbilo {

// Smooth bounds on a parameter: the optimiser works on an unconstrained raw value s.
//   both finite:  a = lo + (hi - lo) sigmoid(s);  lower only: a = lo + softplus(s);
//   upper only:   a = hi - softplus(-s);          none: a = s.
// The optimiser's variable r enters the transform as s = gain * r: with gain_for_scale(scale, a0),
// one unit of r moves the parameter by `scale` near a0, so that parameters of different magnitude
// (D = 0.1, rho = 2) move at comparable relative rates under Adam.
struct ParamBound {
  double lower = -std::numeric_limits<double>::infinity();
  double upper = std::numeric_limits<double>::infinity();
  double gain = 1.0;
  double to_physical(double raw) const;
  double to_raw(double physical) const;  // throws InputError outside (lower, upper)
  double derivative(double raw) const;   // d physical / d raw
  // The gain at which d physical / d raw = scale at the physical value a0 (inside the bounds).
  double gain_for_scale(double scale, double a0) const;
};

struct Losses {
  double res = 0.0, rgrad = 0.0, data = 0.0, reg = 0.0;
  double total = 0.0;  // the objective of the run: see Trainer::step
};

enum class RunStatus : int { Completed = 0, Converged = 1, Stopped = 2, Diverged = 3, EarlyStopped = 4 };

// Which state a run leaves behind: the one after its last step, or the one with the lowest
// monitored objective among the states it measured.
enum class Keep : int { Last = 0, Best = 1 };
// The objective that keep = Best, spike control, early stopping, tol and the plateau schedule
// read.  Total: the run's objective (PINN: its loss; BiLO: lower + upper, lower alone in
// pretraining); Lower: w_res L_res + w_rgrad L_rgrad (PINN: w_res L_res); Data: L_data; Res: L_res.
enum class Monitor : int { Total = 0, Lower = 1, Data = 2, Res = 3 };

// What one call of Trainer::run does besides its Adam steps.
struct RunControl {
  long steps = 0;
  bool train_params = true;     // false: pretraining, the upper variables stay fixed
  long callback_every = 100;    // the callback's period in steps
  double tol = 0.0;             // stop (Converged) once the monitored objective < tol; 0: never
  Keep keep = Keep::Last;
  Monitor monitor = Monitor::Total;
  // Spike control (off when spike_factor == 0): a step whose monitored objective exceeds
  // spike_factor times the run's minimum so far, or is not finite, rolls the state back to that
  // minimum's state and multiplies every learning rate by spike_lr_factor, at most max_spikes
  // times per run (later spikes are let through; a non-finite one then ends the run as Diverged).
  double spike_factor = 0.0;
  double spike_lr_factor = 0.5;
  int max_spikes = 20;
  // Early stopping (off when patience == 0): stop (EarlyStopped) after `patience` steps in which
  // the monitored objective never fell below (1 - min_delta) times its best value.
  long patience = 0;
  double min_delta = 0.0;
  // BiLO's lower level as an inner loop: before each step that moves the upper variables, up to
  // max_iter_lower weight-only Adam steps until w_res L_res + w_rgrad L_rgrad < tol_lower.
  long max_iter_lower = 0;
  double tol_lower = 0.0;
  void validate() const;  // throws InputError naming the field
};

struct RunResult {
  RunStatus status = RunStatus::Completed;
  long steps = 0;              // steps taken in this run
  long diverged_step = -1;     // global step whose losses or gradients were not finite
  long best_step = -1;         // global step of the lowest monitored objective (-1: none measured)
  double best_objective = std::numeric_limits<double>::quiet_NaN();
  bool kept_best = false;      // the state was set back to best_step's at the end
  int spikes = 0;              // roll-backs by the spike control
  double lr_factor = 1.0;      // the spike control's factor on every learning rate at the end
  long lower_steps = 0;        // inner lower-level steps (not counted in `steps`)
};

struct History {
  std::vector<long> step;
  std::vector<double> res, rgrad, data, reg, total;
  std::vector<double> params;  // n_params per recorded step, physical values
  void clear();
};

// Defaults equal the Python API's (pinnbilo.BiLO: w_rgrad 0.1; PINN trainers ignore w_rgrad).
struct TrainerOptions {
  double w_res = 1.0, w_rgrad = 0.1, w_data = 1.0, w_reg = 0.0;
  AdamConfig adam_weights;
  AdamConfig adam_params;
  double lr_functions = -1.0;  // learning rate of the functions' weights; < 0: that of the parameters
  // Learning-rate schedules per group, applied as factors inside Trainer::run.
  LrSchedule schedule_weights, schedule_params, schedule_functions;
};

// Points of one condition term: n x n_coords, and n x n_known known values (empty when none).
template <class T>
struct ConditionPoints {
  std::vector<T> points, known;
};

// The data of one observation (ProblemDef::observations, in order): its points (n x n_coords),
// values and weights (n each, or 1 for an integral), quadrature weights (n, integrals only) and
// known values (n x n_known, empty when none).  Empty weights mean 1 for every row.
template <class T>
struct ObservationData {
  std::vector<T> points, values, weights, quadrature, known;
};

// One Trainer is not safe to use from several threads at once (its evaluations share work
// buffers with the training loop): serialise the calls, as pinnbilo.Model does with its lock.
template <class T>
class Trainer {
 public:
  // collocation: n_res x n_coords; data_points: n_data x n_coords; data_values: n_data;
  // known: n_res x def.n_known values the residual reads (null when there are none).
  // The single-field form: data are point values of field 0.
  Trainer(const Mlp& mlp, const ProblemDef& def, Method method, std::vector<ParamBound> bounds,
          const T* collocation, std::size_t n_res, const T* data_points, const T* data_values,
          std::size_t n_data, TrainerOptions options, std::uint64_t seed, const T* known = nullptr);
  // The general form: one ConditionPoints per def.conditions entry, one ObservationData per
  // def.resolved_observations() entry.
  Trainer(const Networks& nets, const ProblemDef& def, Method method, std::vector<ParamBound> bounds,
          const T* collocation, std::size_t n_res, const T* known, const std::vector<ConditionPoints<T>>& conditions,
          const std::vector<ObservationData<T>>& observations, TrainerOptions options, std::uint64_t seed);

  Method method() const { return method_; }
  const Networks& networks() const { return nets_; }
  const ProblemDef& problem() const { return def_; }
  int n_params() const { return def_.n_params; }
  const TrainerOptions& options() const { return options_; }
  void set_options(const TrainerOptions& o);  // validates, throws InputError

  // State is read through const references and replaced through setters that check sizes and
  // values (InputError): no caller can resize a buffer the kernels write into.
  const std::vector<T>& weights() const { return weights_; }
  void set_weights(const std::vector<T>& w);
  // Raw upper variables: unconstrained parameters, then the functions' network weights.
  const std::vector<T>& raw_params() const { return raw_; }
  void set_raw_params(const std::vector<T>& raw);
  std::vector<double> params() const;                   // physical values
  void set_params(const std::vector<double>& physical);  // throws outside bounds
  const std::vector<ParamBound>& bounds() const { return bounds_; }
  const Adam<T>& adam_weights() const { return adam_w_; }
  const Adam<T>& adam_params() const { return adam_p_; }
  // Adam states of the weights (group 0) and of the upper variables (group 1); see Adam::set_state.
  void set_adam_state(int group, const std::vector<T>& m, const std::vector<T>& v, const std::vector<T>& v_max, long t);
  const History& history() const { return history_; }
  // Throws unless every record array has one entry per step and params n_params per step.
  void set_history(History h);
  void clear_history() { history_.clear(); }
  // Records one step taken outside run() (e.g. an external optimiser's iteration) at the global
  // step and advances it; params: n_params physical values.
  void append_record(const Losses& losses, const std::vector<double>& params);
  long global_step() const { return global_step_; }
  void set_global_step(long s);  // throws if s < 0

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
  // The same with schedules, keep-best, spike control, early stopping and BiLO's inner lower loop.
  RunResult run(const RunControl& control, const std::function<bool(long)>& callback);

  // The Gaussian log-likelihood -1/2 sum_r inv_var_r (y_r - d_r)^2 over every observation's rows
  // (n_data_rows values of inv_var, observation after observation) at the physical parameters
  // theta (n_params), with the weights and the functions held at the trainer's state; adds its
  // gradient in theta (through BiLO's parameter inputs) into grad_theta when not null. The
  // trainer's state is not changed.
  double gaussian_log_likelihood(const double* theta, const T* inv_var, double* grad_theta);
  std::size_t n_data_rows() const { return n_data_rows_; }

  // Prediction of field `field` and its derivatives at points (n x n_coords), for derivative
  // multi-indices over the network inputs (coordinates, then parameters for BiLO): out is derivs.size() x n.
  void predict(int field, const T* points, std::size_t n, const std::vector<MultiIndex>& derivs, T* out);
  void predict(const T* points, std::size_t n, const std::vector<MultiIndex>& derivs, T* out) {
    predict(0, points, n, derivs, out);
  }
  // Observation o's predictions y_r at its own points (n_rows values, see ObservationTerm).
  std::vector<T> observe(int o);
  int n_observations() const { return static_cast<int>(observations_.size()); }
  // Function k and its coordinate derivatives (multi-indices over coordinates) at points: derivs.size() x n.
  void predict_function(int k, const T* points, std::size_t n, const std::vector<MultiIndex>& derivs, T* out);
  // Residuals r_m (and for BiLO each one's derivative along every parameter and function shift)
  // at points: out is residual_rows() x n, residual m in rows m (1 + n_perturb) ... (m + 1)(1 + n_perturb) - 1.
  // known: n x n_known, or null.
  std::size_t residual_rows() const;
  void residual(const T* points, std::size_t n, T* out, const T* known = nullptr);

 private:
  void raw_to_physical(const T* raw, T* physical) const;
  void chain_to_raw(const T* raw, const T* grad_physical, T* grad_raw) const;
  // Losses and gradients (into grad_w_, grad_raw_) at the current state; false if not finite.
  bool evaluate(bool train_params, Losses& losses);
  // The Adam update from grad_w_, grad_raw_ with each group's learning rate times its factor.
  void apply(bool train_params, double f_weights, double f_params, double f_functions);
  // Weight-only steps until the lower loss < tol (at most max_iter); false if a loss was not finite.
  bool inner_lower(long max_iter, double tol, double lr_factor, long& taken);
  double monitored(const Losses& l, Monitor m) const;
  // The residual and condition terms, and the data misfit, with gradients added when requested.
  typename ResidualTerm<T>::Losses residual_losses(const T* weights, const T* phys, double w_rgrad, T* grad_w,
                                                   T* grad_phys);
  double data_loss(const T* weights, const T* phys, T* grad_w, T* grad_phys);
  void record(const Losses& losses);
  // A copy of everything a step changes: weights, upper variables, both Adam states.
  struct Saved {
    std::vector<T> weights, raw;
    Adam<T> adam_w, adam_p;
  };
  void save(Saved& to) const;
  void load(const Saved& from);
  void snapshot();

  Networks nets_;
  ProblemDef def_;
  Method method_;
  std::vector<ParamBound> bounds_;
  TrainerOptions options_;
  std::unique_ptr<ResidualTerm<T>> residual_;
  std::vector<std::unique_ptr<ResidualTerm<T>>> conditions_;
  std::vector<std::unique_ptr<ObservationTerm<T>>> observations_;
  std::size_t n_data_rows_ = 0;
  std::unique_ptr<SmoothnessTerm<T>> smooth_;  // only when there are functions
  std::vector<T> weights_, raw_;
  Adam<T> adam_w_, adam_p_;
  History history_;
  long global_step_ = 0;
  // Work buffers (sized once).
  std::vector<T> grad_w_, grad_raw_, phys_, grad_phys_;
  // Last good state, for divergence recovery; the state of the lowest monitored objective in
  // the current run (keep = Best, spike control).
  Saved good_, best_;
  bool have_good_ = false;
};

}  // namespace pinnbilo
