// The posterior of a BiLO model's scalar parameters with the network as the forward model, and
// HMC's leapfrog trajectories on it, run in the core.
//
// BiLO-HMC moves theta within a trajectory with the network's weights held: the network u(z,
// theta; W) is a local solution operator around the theta it was trained at, so the data
// prediction and its gradient in theta are one forward-and-backward jet pass each, no PDE
// solve. A whole trajectory of L steps runs here, so a step costs that pass and nothing more.
#pragma once
#include <limits>
#include <vector>

#include "pinnbilo/trainer.hpp"

namespace pinnbilo {

// A prior on one physical parameter: its log density (with the normalising constant) inside the
// open support (low, high), -inf outside.
enum class PriorKind : int { Flat = 0, Normal = 1, LogNormal = 2, Gamma = 3, Uniform = 4 };
struct PriorDef {
  PriorKind kind = PriorKind::Flat;
  double a = 0.0, b = 0.0;  // Normal: mean, std; LogNormal: mu, sigma of log x; Gamma: shape, rate
  double low = -std::numeric_limits<double>::infinity(), high = std::numeric_limits<double>::infinity();
  void validate() const;  // throws InputError on a non-positive scale or an empty support
  // log p(x), adding d log p / dx into grad; -inf (grad untouched) outside the support.
  double log_density(double x, double& grad) const;
};

// Where a trajectory ended: position, momentum, log density and gradient there. finite is false
// when a value on the way was not finite or a position left a prior's support (a divergence).
struct Trajectory {
  std::vector<double> x, momentum, grad;
  double logp = 0.0;
  int steps = 0;  // leapfrog steps taken
  bool finite = true;
};

template <class T>
class ParameterPosterior {
 public:
  // sigma: the noise standard deviation per data row (trainer.n_data_rows() values, positive);
  // priors: one per parameter. The trainer must be BiLO and outlive this object; its state
  // (weights, functions) is read at every evaluation, so a retraining between trajectories is
  // seen by the next one.
  ParameterPosterior(Trainer<T>& trainer, const std::vector<double>& sigma, std::vector<PriorDef> priors);

  int dim() const { return static_cast<int>(priors_.size()); }
  // log p(d | theta) + log p(theta) at theta (dim values), its gradient into grad (dim values,
  // overwritten); -inf outside a prior's support (grad then zero).
  double evaluate(const double* theta, double* grad);
  // n_steps leapfrog steps of size eps from (x, grad at x) with momentum p and the diagonal
  // inverse mass inv_mass, exactly as the samplers' Python leapfrog: half momentum step, then
  // (position step, gradient, momentum step) n_steps times, the last momentum step a half one.
  // Stops at the first non-finite value (finite = false).
  Trajectory leapfrog(const std::vector<double>& x, const std::vector<double>& grad, const std::vector<double>& p,
                      double eps, const std::vector<double>& inv_mass, int n_steps);
  long evaluations() const { return evaluations_; }

 private:
  Trainer<T>& trainer_;
  std::vector<T> inv_var_;
  std::vector<PriorDef> priors_;
  long evaluations_ = 0;
};

}  // namespace pinnbilo
