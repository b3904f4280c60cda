#include "pinnbilo/posterior.hpp"

#include <cmath>
#include <limits>
#include <string>

#include "pinnbilo/error.hpp"

namespace pinnbilo {

namespace {
constexpr double kLogSqrt2Pi = 0.91893853320467274178;  // log sqrt(2 pi)
const double kInf = std::numeric_limits<double>::infinity();
}  // namespace

void PriorDef::validate() const {
  const int k = static_cast<int>(kind);
  if (k < 0 || k > 4) throw InputError("prior: unknown kind " + std::to_string(k));
  if (!(low < high) || std::isnan(low) || std::isnan(high)) throw InputError("prior: the support needs low < high");
  if ((kind == PriorKind::Normal || kind == PriorKind::LogNormal) && !(b > 0 && std::isfinite(b) && std::isfinite(a)))
    throw InputError("prior: Normal and LogNormal need a finite location and a positive finite scale");
  if (kind == PriorKind::Gamma && !(a > 0 && b > 0 && std::isfinite(a) && std::isfinite(b)))
    throw InputError("prior: Gamma needs a positive finite shape and rate");
  if (kind == PriorKind::LogNormal || kind == PriorKind::Gamma)
    if (low < 0) throw InputError("prior: LogNormal and Gamma live on x > 0; the support must not reach below 0");
  if (kind == PriorKind::Uniform && !(std::isfinite(low) && std::isfinite(high)))
    throw InputError("prior: Uniform needs a finite support");
}

double PriorDef::log_density(double x, double& grad) const {
  if (!(x > low && x < high)) return -kInf;
  switch (kind) {
    case PriorKind::Flat:
      return 0.0;
    case PriorKind::Uniform:
      return -std::log(high - low);
    case PriorKind::Normal: {
      const double z = (x - a) / b;
      grad += -(x - a) / (b * b);
      return -0.5 * z * z - (std::log(b) + kLogSqrt2Pi);
    }
    case PriorKind::LogNormal: {
      const double lx = std::log(x);
      grad += -1.0 / x - (lx - a) / (b * b * x);
      return -lx - (std::log(b) + kLogSqrt2Pi) - (lx - a) * (lx - a) / (2 * b * b);
    }
    case PriorKind::Gamma:
      grad += (a - 1.0) / x - b;
      return a * std::log(b) - std::lgamma(a) + (a - 1.0) * std::log(x) - b * x;
  }
  return -kInf;
}

template <class T>
ParameterPosterior<T>::ParameterPosterior(Trainer<T>& trainer, const std::vector<double>& sigma,
                                          std::vector<PriorDef> priors)
    : trainer_(trainer), priors_(std::move(priors)) {
  if (trainer.method() != Method::BiLO)
    throw InputError("the parameter posterior needs a BiLO trainer (its network reads the parameters)");
  if (static_cast<int>(priors_.size()) != trainer.n_params())
    throw InputError("priors: expected one per parameter (" + std::to_string(trainer.n_params()) + "), got " +
                     std::to_string(priors_.size()));
  if (sigma.size() != trainer.n_data_rows())
    throw InputError("sigma: expected one per data row (" + std::to_string(trainer.n_data_rows()) + "), got " +
                     std::to_string(sigma.size()));
  for (const auto& p : priors_) p.validate();
  inv_var_.resize(sigma.size());
  for (std::size_t r = 0; r < sigma.size(); ++r) {
    if (!(sigma[r] > 0 && std::isfinite(sigma[r]))) throw InputError("sigma: every value must be positive and finite");
    inv_var_[r] = static_cast<T>(1.0 / (sigma[r] * sigma[r]));
  }
}

template <class T>
double ParameterPosterior<T>::evaluate(const double* theta, double* grad) {
  ++evaluations_;
  const int d = dim();
  double log_prior = 0.0;
  for (int j = 0; j < d; ++j) grad[j] = 0.0;
  for (int j = 0; j < d; ++j) {
    log_prior += priors_[static_cast<std::size_t>(j)].log_density(theta[j], grad[j]);
    if (!std::isfinite(log_prior)) {
      for (int i = 0; i < d; ++i) grad[i] = 0.0;
      return -kInf;
    }
  }
  return trainer_.gaussian_log_likelihood(theta, inv_var_.data(), grad) + log_prior;
}

template <class T>
Trajectory ParameterPosterior<T>::leapfrog(const std::vector<double>& x, const std::vector<double>& grad,
                                           const std::vector<double>& p, double eps, const std::vector<double>& inv_mass,
                                           int n_steps) {
  const std::size_t d = priors_.size();
  if (x.size() != d || grad.size() != d || p.size() != d || inv_mass.size() != d)
    throw InputError("leapfrog: x, grad, momentum and inv_mass need one value per parameter (" + std::to_string(d) +
                     ")");
  if (!(std::isfinite(eps) && eps > 0)) throw InputError("leapfrog: the step size must be positive and finite");
  if (n_steps < 1) throw InputError("leapfrog: n_steps must be at least 1");
  Trajectory t;
  t.x = x;
  t.grad = grad;
  t.momentum = p;
  for (std::size_t j = 0; j < d; ++j) t.momentum[j] = p[j] + 0.5 * eps * grad[j];
  for (int k = 0; k < n_steps; ++k) {
    for (std::size_t j = 0; j < d; ++j) t.x[j] = t.x[j] + eps * inv_mass[j] * t.momentum[j];
    t.steps = k + 1;
    bool finite = true;
    for (std::size_t j = 0; j < d; ++j) finite = finite && std::isfinite(t.x[j]);
    if (finite) {
      t.logp = evaluate(t.x.data(), t.grad.data());
      finite = std::isfinite(t.logp);
      for (std::size_t j = 0; j < d; ++j) finite = finite && std::isfinite(t.grad[j]);
    }
    if (!finite) {
      t.finite = false;
      return t;
    }
    const double h = k < n_steps - 1 ? eps : 0.5 * eps;
    for (std::size_t j = 0; j < d; ++j) t.momentum[j] = t.momentum[j] + h * t.grad[j];
  }
  return t;
}

template class ParameterPosterior<float>;
template class ParameterPosterior<double>;

}  // namespace pinnbilo
