#include "pinnbilo/trainer.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "pinnbilo/error.hpp"

namespace pinnbilo {
namespace {

double sigmoid(double x) { return x >= 0 ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x) / (1.0 + std::exp(x)); }
double softplus(double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::fabs(x))); }
// Inverse of softplus for y > 0, accurate for small and large y.
double softplus_inverse(double y) { return y > 30.0 ? y : std::log(std::expm1(y)); }

template <class T>
bool all_finite(const std::vector<T>& v) {
  for (const T& x : v)
    if (!std::isfinite(static_cast<double>(x))) return false;
  return true;
}

bool finite(const Losses& l) {
  return std::isfinite(l.res) && std::isfinite(l.rgrad) && std::isfinite(l.data) && std::isfinite(l.reg) &&
         std::isfinite(l.total);
}

void require_positive(double v, const char* name) {
  require(std::isfinite(v) && v > 0, std::string(name) + " must be a positive finite number, got " + std::to_string(v));
}

void validate_options(const TrainerOptions& o) {
  for (double w : {o.w_res, o.w_rgrad, o.w_data, o.w_reg})
    require(std::isfinite(w) && w >= 0, "loss weights must be finite and >= 0");
  for (const AdamConfig* c : {&o.adam_weights, &o.adam_params}) {
    require(std::isfinite(c->lr) && c->lr >= 0, "learning rates must be finite and >= 0");
    require(c->beta1 >= 0 && c->beta1 < 1 && c->beta2 >= 0 && c->beta2 < 1, "Adam betas must lie in [0, 1)");
    require_positive(c->eps, "Adam eps");
  }
  require(std::isfinite(o.lr_functions), "the functions' learning rate must be finite (< 0: that of the parameters)");
  o.schedule_weights.validate();
  o.schedule_params.validate();
  o.schedule_functions.validate();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// ParamBound

double ParamBound::to_physical(double r) const {
  const double s = gain * r;
  const bool lo = std::isfinite(lower), hi = std::isfinite(upper);
  if (lo && hi) return lower + (upper - lower) * sigmoid(s);
  if (lo) return lower + softplus(s);
  if (hi) return upper - softplus(-s);
  return s;
}

double ParamBound::to_raw(double a) const {
  const bool lo = std::isfinite(lower), hi = std::isfinite(upper);
  require(std::isfinite(a), "parameter value must be finite");
  require((!lo || a > lower) && (!hi || a < upper),
          "parameter value " + std::to_string(a) + " lies outside its bounds (" + std::to_string(lower) + ", " +
              std::to_string(upper) + "); bounds are open");
  double s = a;
  if (lo && hi) s = std::log((a - lower) / (upper - a));
  else if (lo) s = softplus_inverse(a - lower);
  else if (hi) s = -softplus_inverse(upper - a);
  return s / gain;
}

double ParamBound::derivative(double r) const {
  const double s = gain * r;
  const bool lo = std::isfinite(lower), hi = std::isfinite(upper);
  if (lo && hi) {
    const double g = sigmoid(s);
    return gain * (upper - lower) * g * (1.0 - g);
  }
  if (lo) return gain * sigmoid(s);
  if (hi) return gain * sigmoid(-s);
  return gain;
}

double ParamBound::gain_for_scale(double scale, double a0) const {
  require(std::isfinite(scale) && scale > 0, "a parameter's scale must be a positive finite number");
  ParamBound unit = *this;
  unit.gain = 1.0;
  const double slope = unit.derivative(unit.to_raw(a0));  // d a / d s at a0
  require(std::isfinite(slope) && slope > 0,
          "cannot scale a parameter whose initial value sits where its bound transform is flat; move it inside");
  const double g = scale / slope;
  require(std::isfinite(g) && g > 0, "a parameter's scale is out of range for its bounds");
  return g;
}

void History::clear() {
  step.clear();
  res.clear();
  rgrad.clear();
  data.clear();
  reg.clear();
  total.clear();
  params.clear();
}

// ---------------------------------------------------------------------------------------------
// Trainer

namespace {

template <class T>
std::vector<ObservationData<T>> point_values(const T* points, const T* values, std::size_t n, int n_coords) {
  require(n > 0, "need at least one data point");
  ObservationData<T> d;
  d.points.assign(points, points + n * static_cast<std::size_t>(n_coords));
  d.values.assign(values, values + n);
  return {d};
}

}  // namespace

template <class T>
Trainer<T>::Trainer(const Mlp& mlp, const ProblemDef& def, Method method, std::vector<ParamBound> bounds,
                    const T* collocation, std::size_t n_res, const T* data_points, const T* data_values,
                    std::size_t n_data, TrainerOptions options, std::uint64_t seed, const T* known)
    : Trainer(Networks(mlp), def, method, std::move(bounds), collocation, n_res, known, {},
              point_values(data_points, data_values, n_data, def.n_coords), options, seed) {}

template <class T>
Trainer<T>::Trainer(const Networks& nets, const ProblemDef& def, Method method, std::vector<ParamBound> bounds,
                    const T* collocation, std::size_t n_res, const T* known,
                    const std::vector<ConditionPoints<T>>& conditions,
                    const std::vector<ObservationData<T>>& observations, TrainerOptions options, std::uint64_t seed)
    : nets_(nets), def_(def), method_(method), bounds_(std::move(bounds)), options_(options) {
  def_.validate();
  nets_.validate(def_.n_fields, def_.n_net_inputs(method_));
  validate_options(options_);
  require(bounds_.size() == static_cast<std::size_t>(def_.n_params),
          "need one bound per parameter: got " + std::to_string(bounds_.size()) + " for " +
              std::to_string(def_.n_params) + " parameters");
  for (const auto& b : bounds_) {
    require(!std::isnan(b.lower) && !std::isnan(b.upper), "parameter bounds must not be NaN (use +-inf for none)");
    require(b.lower < b.upper, "a parameter's lower bound must be below its upper bound");
    require(std::isfinite(b.gain) && b.gain > 0, "a parameter's gain must be a positive finite number");
  }
  require(n_res > 0, "need at least one collocation point");
  set_collocation(collocation, n_res, known);
  const std::size_t nc = static_cast<std::size_t>(def_.n_coords), nk = static_cast<std::size_t>(def_.n_known);
  require(conditions.size() == def_.conditions.size(),
          "need the points of every condition: got " + std::to_string(conditions.size()) + " point sets for " +
              std::to_string(def_.conditions.size()) + " conditions");
  for (std::size_t c = 0; c < conditions.size(); ++c) {
    const ConditionPoints<T>& cp = conditions[c];
    const std::string what = "condition " + std::to_string(c);
    require(!cp.points.empty() && cp.points.size() % nc == 0, what + ": need points of shape (n, n_coords), n >= 1");
    const std::size_t n = cp.points.size() / nc;
    require(cp.known.empty() || cp.known.size() == n * nk, what + ": known values must be n x n_known");
    conditions_.push_back(std::make_unique<ResidualTerm<T>>(
        nets_, def_, method_, std::vector<Expression>{def_.conditions[c].residual}, def_.conditions[c].paired,
        cp.points.data(), cp.known.empty() ? nullptr : cp.known.data(), n));
  }
  const std::vector<ObservationDef> obs = def_.resolved_observations();
  require(observations.size() == obs.size(), "need the data of every observation: got " +
                                                 std::to_string(observations.size()) + " for " +
                                                 std::to_string(obs.size()) + " observations");
  for (std::size_t o = 0; o < obs.size(); ++o) {
    const ObservationData<T>& d = observations[o];
    const std::string what = "observation " + std::to_string(o);
    require(!d.points.empty() && d.points.size() % nc == 0, what + ": need points of shape (n, n_coords), n >= 1");
    const std::size_t n = d.points.size() / nc, rows = obs[o].integral ? 1 : n;
    require(d.values.size() == rows, what + ": expected " + std::to_string(rows) + " values, got " +
                                         std::to_string(d.values.size()));
    require(d.weights.empty() || d.weights.size() == rows, what + ": expected one weight per value");
    require(!obs[o].integral || d.quadrature.size() == n, what + ": an integral needs one quadrature weight per point");
    require(d.known.empty() || d.known.size() == n * nk, what + ": known values must be n x n_known");
    const std::vector<T> ones(rows, T(1));
    observations_.push_back(std::make_unique<ObservationTerm<T>>(
        nets_, def_, method_, obs[o], d.points.data(), n, d.values.data(),
        d.weights.empty() ? ones.data() : d.weights.data(), obs[o].integral ? d.quadrature.data() : nullptr,
        d.known.empty() ? nullptr : d.known.data()));
    n_data_rows_ += rows;
  }
  weights_.resize(nets_.n_params());
  nets_.init_params(weights_.data(), seed);
  raw_.assign(def_.n_upper(), T(0));
  for (int j = 0; j < def_.n_params; ++j) raw_[j] = static_cast<T>(bounds_[j].to_raw(bounds_[j].to_physical(0.0)));
  // Each function network gets its own stream of the seed.
  for (int k = 0; k < def_.n_functions(); ++k)
    def_.functions[static_cast<std::size_t>(k)].net.init_params(raw_.data() + def_.function_offset(k),
                                                              seed + 0x9E3779B97F4A7C15ULL * static_cast<std::uint64_t>(k + 1));
  adam_w_ = Adam<T>(weights_.size(), options_.adam_weights);
  adam_p_ = Adam<T>(raw_.size(), options_.adam_params);
  grad_w_.resize(weights_.size());
  grad_raw_.resize(raw_.size());
  phys_.resize(raw_.size());
  grad_phys_.resize(raw_.size());
}

template <class T>
void Trainer<T>::set_collocation(const T* points, std::size_t n, const T* known) {
  require(n > 0, "need at least one collocation point");
  residual_ = std::make_unique<ResidualTerm<T>>(nets_, def_, method_, def_.residuals, false, points, known, n);
  if (def_.n_functions() > 0) smooth_ = std::make_unique<SmoothnessTerm<T>>(def_.functions, def_.n_coords, points, n);
}

template <class T>
void Trainer<T>::set_options(const TrainerOptions& o) {
  validate_options(o);
  options_ = o;
  adam_w_.set_config(o.adam_weights);
  adam_p_.set_config(o.adam_params);
}

template <class T>
void Trainer<T>::set_weights(const std::vector<T>& w) {
  require(w.size() == weights_.size(), "weights: expected " + std::to_string(weights_.size()) + " values, got " +
                                           std::to_string(w.size()));
  require(all_finite(w), "weights contain NaN or inf");
  std::copy(w.begin(), w.end(), weights_.begin());
}

template <class T>
void Trainer<T>::set_raw_params(const std::vector<T>& raw) {
  require(raw.size() == raw_.size(), "raw upper variables: expected " + std::to_string(raw_.size()) +
                                         " values, got " + std::to_string(raw.size()));
  require(all_finite(raw), "raw upper variables contain NaN or inf");
  std::copy(raw.begin(), raw.end(), raw_.begin());
}

template <class T>
void Trainer<T>::set_adam_state(int group, const std::vector<T>& m, const std::vector<T>& v,
                                const std::vector<T>& v_max, long t) {
  require(group == 0 || group == 1, "Adam group must be 0 (weights) or 1 (upper variables)");
  (group == 0 ? adam_w_ : adam_p_).set_state(m, v, v_max, t);
}

template <class T>
void Trainer<T>::set_history(History h) {
  const std::size_t n = h.step.size();
  require(h.res.size() == n && h.rgrad.size() == n && h.data.size() == n && h.reg.size() == n && h.total.size() == n &&
              h.params.size() == n * bounds_.size(),
          "history: arrays of inconsistent lengths (" + std::to_string(n) + " steps)");
  for (std::size_t i = 1; i < n; ++i) require(h.step[i] > h.step[i - 1], "history: steps must increase");
  if (n > 0) require(h.step[0] >= 0, "history: steps must be >= 0");
  history_ = std::move(h);
}

template <class T>
void Trainer<T>::append_record(const Losses& l, const std::vector<double>& params) {
  require(params.size() == bounds_.size(), "a history record needs " + std::to_string(bounds_.size()) +
                                               " parameter values, got " + std::to_string(params.size()));
  history_.step.push_back(global_step_);
  history_.res.push_back(l.res);
  history_.rgrad.push_back(l.rgrad);
  history_.data.push_back(l.data);
  history_.reg.push_back(l.reg);
  history_.total.push_back(l.total);
  history_.params.insert(history_.params.end(), params.begin(), params.end());
  ++global_step_;
}

template <class T>
void Trainer<T>::set_global_step(long s) {
  require(s >= 0, "the global step must be >= 0, got " + std::to_string(s));
  global_step_ = s;
}

template <class T>
std::vector<double> Trainer<T>::params() const {
  std::vector<double> out(bounds_.size());
  for (std::size_t j = 0; j < bounds_.size(); ++j) out[j] = bounds_[j].to_physical(static_cast<double>(raw_[j]));
  return out;
}

template <class T>
void Trainer<T>::set_params(const std::vector<double>& physical) {
  require(physical.size() == bounds_.size(), "expected " + std::to_string(bounds_.size()) +
                                                 " parameter values, got " + std::to_string(physical.size()));
  std::vector<T> raw(bounds_.size());
  for (std::size_t j = 0; j < bounds_.size(); ++j) raw[j] = static_cast<T>(bounds_[j].to_raw(physical[j]));
  std::copy(raw.begin(), raw.end(), raw_.begin());
}

template <class T>
void Trainer<T>::raw_to_physical(const T* raw, T* physical) const {
  for (std::size_t j = 0; j < bounds_.size(); ++j)
    physical[j] = static_cast<T>(bounds_[j].to_physical(static_cast<double>(raw[j])));
  std::copy(raw + bounds_.size(), raw + raw_.size(), physical + bounds_.size());  // function weights: unbounded
}

template <class T>
void Trainer<T>::chain_to_raw(const T* raw, const T* grad_physical, T* grad_raw) const {
  for (std::size_t j = 0; j < bounds_.size(); ++j)
    grad_raw[j] += static_cast<T>(static_cast<double>(grad_physical[j]) * bounds_[j].derivative(static_cast<double>(raw[j])));
  for (std::size_t j = bounds_.size(); j < raw_.size(); ++j) grad_raw[j] += grad_physical[j];
}

template <class T>
typename ResidualTerm<T>::Losses Trainer<T>::residual_losses(const T* weights, const T* phys, double w_rgrad,
                                                             T* grad_w, T* grad_phys) {
  auto total = residual_->evaluate(weights, phys, options_.w_res, w_rgrad, grad_w, grad_phys);
  for (std::size_t c = 0; c < conditions_.size(); ++c) {
    const double wc = def_.conditions[c].weight;
    const auto l = conditions_[c]->evaluate(weights, phys, options_.w_res * wc, w_rgrad * wc, grad_w, grad_phys);
    total.res += wc * l.res;
    total.rgrad += wc * l.rgrad;
  }
  return total;
}

template <class T>
double Trainer<T>::data_loss(const T* weights, const T* phys, T* grad_w, T* grad_phys) {
  const double per_row = 1.0 / static_cast<double>(n_data_rows_);
  double sum = 0.0;
  for (auto& o : observations_) sum += o->evaluate(weights, phys, options_.w_data * per_row, grad_w, grad_phys);
  return sum * per_row;
}

template <class T>
Losses Trainer<T>::pinn(const T* weights, const T* raw, T* grad_w, T* grad_raw) {
  raw_to_physical(raw, phys_.data());
  std::fill(grad_phys_.begin(), grad_phys_.end(), T(0));
  T* gp = grad_raw ? grad_phys_.data() : nullptr;
  Losses l;
  // The PINN objective has no residual-gradient term (its weight is 0 here even for a BiLO trainer).
  const auto r = residual_losses(weights, phys_.data(), 0.0, grad_w, gp);
  l.res = r.res;
  l.rgrad = r.rgrad;
  l.data = data_loss(weights, phys_.data(), grad_w, gp);
  if (smooth_) l.reg = smooth_->evaluate(phys_.data() + def_.n_params, options_.w_reg, gp ? gp + def_.n_params : nullptr);
  l.total = options_.w_res * l.res + options_.w_data * l.data + options_.w_reg * l.reg;
  if (grad_raw) chain_to_raw(raw, grad_phys_.data(), grad_raw);
  return l;
}

template <class T>
Losses Trainer<T>::lower(const T* weights, const T* raw, T* grad_w) {
  raw_to_physical(raw, phys_.data());
  Losses l;
  const auto r = residual_losses(weights, phys_.data(), options_.w_rgrad, grad_w, nullptr);
  l.res = r.res;
  l.rgrad = r.rgrad;
  l.total = options_.w_res * l.res + options_.w_rgrad * l.rgrad;
  return l;
}

template <class T>
Losses Trainer<T>::upper(const T* weights, const T* raw, T* grad_raw) {
  raw_to_physical(raw, phys_.data());
  std::fill(grad_phys_.begin(), grad_phys_.end(), T(0));
  Losses l;
  T* gp = grad_raw ? grad_phys_.data() : nullptr;
  l.data = data_loss(weights, phys_.data(), nullptr, gp);
  if (smooth_) l.reg = smooth_->evaluate(phys_.data() + def_.n_params, options_.w_reg, gp ? gp + def_.n_params : nullptr);
  l.total = options_.w_data * l.data + options_.w_reg * l.reg;
  if (grad_raw) chain_to_raw(raw, grad_phys_.data(), grad_raw);
  return l;
}

template <class T>
double Trainer<T>::gaussian_log_likelihood(const double* theta, const T* inv_var, double* grad_theta) {
  raw_to_physical(raw_.data(), phys_.data());
  for (int j = 0; j < def_.n_params; ++j) phys_[static_cast<std::size_t>(j)] = static_cast<T>(theta[j]);
  T* gp = grad_theta ? grad_phys_.data() : nullptr;
  if (gp) std::fill(grad_phys_.begin(), grad_phys_.end(), T(0));
  double sum = 0.0;
  std::size_t offset = 0;
  for (auto& o : observations_) {
    sum += o->evaluate(weights_.data(), phys_.data(), -0.5, nullptr, gp, inv_var + offset);
    offset += o->n_rows();
  }
  if (gp)
    for (int j = 0; j < def_.n_params; ++j) grad_theta[j] += static_cast<double>(gp[static_cast<std::size_t>(j)]);
  return -0.5 * sum;
}

template <class T>
bool Trainer<T>::evaluate(bool train_params, Losses& losses) {
  std::fill(grad_w_.begin(), grad_w_.end(), T(0));
  std::fill(grad_raw_.begin(), grad_raw_.end(), T(0));
  const bool update_params = train_params && !raw_.empty();
  if (method_ == Method::PINN) {
    losses = pinn(weights_.data(), raw_.data(), grad_w_.data(), update_params ? grad_raw_.data() : nullptr);
  } else {
    const Losses lo = lower(weights_.data(), raw_.data(), grad_w_.data());
    const Losses up = upper(weights_.data(), raw_.data(), update_params ? grad_raw_.data() : nullptr);
    losses = lo;
    losses.data = up.data;
    losses.reg = up.reg;
    // Pretraining minimises the lower level only; the inverse phase reports both levels.
    losses.total = lo.total + (update_params ? up.total : 0.0);
  }
  return finite(losses) && all_finite(grad_w_) && all_finite(grad_raw_);
}

template <class T>
void Trainer<T>::apply(bool train_params, double f_weights, double f_params, double f_functions) {
  adam_w_.step(weights_.data(), grad_w_.data(), weights_.size(), options_.adam_weights.lr * f_weights,
               options_.adam_weights.lr * f_weights);
  if (train_params && !raw_.empty()) {
    const double lr_f = options_.lr_functions < 0 ? options_.adam_params.lr : options_.lr_functions;
    adam_p_.step(raw_.data(), grad_raw_.data(), bounds_.size(), options_.adam_params.lr * f_params, lr_f * f_functions);
  }
}

template <class T>
bool Trainer<T>::inner_lower(long max_iter, double tol, double lr_factor, long& taken) {
  for (long it = 0; it < max_iter; ++it) {
    std::fill(grad_w_.begin(), grad_w_.end(), T(0));
    const Losses lo = lower(weights_.data(), raw_.data(), grad_w_.data());
    if (!finite(lo) || !all_finite(grad_w_)) return false;
    if (lo.total < tol) return true;
    const double lr = options_.adam_weights.lr * lr_factor;
    adam_w_.step(weights_.data(), grad_w_.data(), weights_.size(), lr, lr);
    ++taken;
  }
  return true;
}

template <class T>
bool Trainer<T>::step(bool train_params, Losses& losses) {
  if (!evaluate(train_params, losses)) return false;
  // This state has finite losses: it is the point to come back to if a later step diverges.
  snapshot();
  apply(train_params, 1.0, 1.0, 1.0);
  return true;
}

template <class T>
double Trainer<T>::monitored(const Losses& l, Monitor m) const {
  switch (m) {
    case Monitor::Total:
      return l.total;
    case Monitor::Lower:
      return options_.w_res * l.res + (method_ == Method::BiLO ? options_.w_rgrad * l.rgrad : 0.0);
    case Monitor::Data:
      return l.data;
    case Monitor::Res:
      return l.res;
  }
  return l.total;
}

template <class T>
void Trainer<T>::record(const Losses& losses) {
  // Losses and parameters of the state these losses were measured at (the snapshot).
  history_.step.push_back(global_step_);
  history_.res.push_back(losses.res);
  history_.rgrad.push_back(losses.rgrad);
  history_.data.push_back(losses.data);
  history_.reg.push_back(losses.reg);
  history_.total.push_back(losses.total);
  for (std::size_t j = 0; j < bounds_.size(); ++j)
    history_.params.push_back(bounds_[j].to_physical(static_cast<double>(good_.raw[j])));
}

template <class T>
void Trainer<T>::save(Saved& to) const {
  // Same sizes every step: these assignments copy without allocating.
  to.weights = weights_;
  to.raw = raw_;
  to.adam_w = adam_w_;
  to.adam_p = adam_p_;
}

template <class T>
void Trainer<T>::load(const Saved& from) {
  weights_ = from.weights;
  raw_ = from.raw;
  adam_w_ = from.adam_w;
  adam_p_ = from.adam_p;
}

template <class T>
void Trainer<T>::snapshot() {
  save(good_);
  have_good_ = true;
}

void RunControl::validate() const {
  require(steps >= 0, "the number of steps must be >= 0");
  require(callback_every > 0, "callback_every must be positive");
  require(std::isfinite(tol) && tol >= 0, "tol must be finite and >= 0");
  require(keep == Keep::Last || keep == Keep::Best, "keep must be Last or Best");
  const int m = static_cast<int>(monitor);
  require(m >= 0 && m <= 3, "unknown monitored objective");
  require(spike_factor == 0.0 || (std::isfinite(spike_factor) && spike_factor > 1.0),
          "spike_factor must be 0 (off) or a finite number > 1");
  require(std::isfinite(spike_lr_factor) && spike_lr_factor > 0 && spike_lr_factor < 1,
          "spike_lr_factor must lie in (0, 1)");
  require(max_spikes >= 0, "max_spikes must be >= 0");
  require(patience >= 0, "patience must be >= 0 (0: no early stopping)");
  require(std::isfinite(min_delta) && min_delta >= 0 && min_delta < 1, "min_delta must lie in [0, 1)");
  require(max_iter_lower >= 0, "max_iter_lower must be >= 0");
  require(std::isfinite(tol_lower) && tol_lower >= 0, "tol_lower must be finite and >= 0");
}

template <class T>
RunResult Trainer<T>::run(long steps, bool train_params, long callback_every,
                          const std::function<bool(long)>& callback, double tol) {
  RunControl c;
  c.steps = steps;
  c.train_params = train_params;
  c.callback_every = callback_every;
  c.tol = tol;
  return run(c, callback);
}

template <class T>
RunResult Trainer<T>::run(const RunControl& c, const std::function<bool(long)>& callback) {
  c.validate();
  RunResult result;
  // Reserve the whole run's history so the loop never allocates; grow at least geometrically so
  // that many short runs (a live view stepping a few steps at a time) do not copy it every time.
  const std::size_t add = static_cast<std::size_t>(c.steps);
  auto grow = [](auto& v, std::size_t extra) {
    const std::size_t need = v.size() + extra;
    if (need > v.capacity()) v.reserve(std::max(need, 2 * v.capacity()));
  };
  grow(history_.step, add);
  for (auto* v : {&history_.res, &history_.rgrad, &history_.data, &history_.reg, &history_.total}) grow(*v, add);
  grow(history_.params, add * bounds_.size());
  have_good_ = false;
  const bool spikes_on = c.spike_factor > 0.0;
  const bool track_best = c.keep == Keep::Best || spikes_on;
  const bool inner = method_ == Method::BiLO && c.train_params && !raw_.empty() && c.max_iter_lower > 0;
  ScheduleState sw, sp, sf;
  double best = std::numeric_limits<double>::infinity();
  long since_improved = 0;
  double early_best = std::numeric_limits<double>::infinity();
  double spike_scale = 1.0;  // the spike control's factor on every group
  Losses losses;
  auto finish = [&](RunStatus status) {
    result.status = status;
    result.lr_factor = spike_scale;
    if (c.keep == Keep::Best && result.best_step >= 0 && status != RunStatus::Diverged) {
      load(best_);
      result.kept_best = true;
    }
    return result;
  };
  for (long k = 0; k < c.steps; ++k) {
    bool ok = true;
    if (inner) ok = inner_lower(c.max_iter_lower, c.tol_lower, spike_scale, result.lower_steps);
    ok = ok && evaluate(c.train_params, losses);
    const double obj = ok ? monitored(losses, c.monitor) : std::numeric_limits<double>::infinity();
    const bool spike = spikes_on && result.best_step >= 0 && result.spikes < c.max_spikes &&
                       (!ok || !(obj <= c.spike_factor * best));
    if (spike) {
      // Back to the best state so far, every learning rate reduced; the step still counts.
      if (ok) {  // the spike's own losses stay in the history
        snapshot();
        record(losses);
      }
      load(best_);
      snapshot();
      spike_scale *= c.spike_lr_factor;
      ++result.spikes;
      ++global_step_;
      ++result.steps;
      if (callback && result.steps % c.callback_every == 0 && !callback(global_step_)) return finish(RunStatus::Stopped);
      continue;
    }
    if (!ok) {
      if (have_good_) load(good_);
      result.diverged_step = global_step_;
      return finish(RunStatus::Diverged);
    }
    snapshot();
    record(losses);
    if (track_best && obj < best) {
      best = obj;
      result.best_step = global_step_;
      result.best_objective = obj;
      best_ = good_;  // the snapshot is the state these losses were measured at
    }
    const double fw = schedule_factor(options_.schedule_weights, sw, k, c.steps, obj) * spike_scale;
    const double fp = schedule_factor(options_.schedule_params, sp, k, c.steps, obj) * spike_scale;
    const double ff = schedule_factor(options_.schedule_functions, sf, k, c.steps, obj) * spike_scale;
    apply(c.train_params, fw, fp, ff);
    ++global_step_;
    ++result.steps;
    if (c.tol > 0 && obj < c.tol) return finish(RunStatus::Converged);
    if (c.patience > 0) {
      if (obj < early_best * (1.0 - c.min_delta)) {
        early_best = obj;
        since_improved = 0;
      } else if (++since_improved >= c.patience) {
        return finish(RunStatus::EarlyStopped);
      }
    }
    if (callback && result.steps % c.callback_every == 0 && !callback(global_step_)) return finish(RunStatus::Stopped);
  }
  return finish(RunStatus::Completed);
}

template <class T>
void Trainer<T>::predict(int field, const T* points, std::size_t n, const std::vector<MultiIndex>& derivs,
                         T* out) {
  require(field >= 0 && field < def_.n_fields, "field index out of range");
  require(n > 0, "need at least one point");
  const int n_inputs = def_.n_dirs(method_);
  for (const auto& d : derivs)
    require(d.size() == static_cast<std::size_t>(n_inputs),
            "a derivative multi-index must have one entry per coordinate and BiLO perturbation (" +
                std::to_string(n_inputs) + ")");
  JetSpec spec(n_inputs, derivs);
  SolutionJets<T> sol(nets_, def_, method_, spec, points, n);
  raw_to_physical(raw_.data(), phys_.data());
  sol.forward(weights_.data(), phys_.data());
  for (std::size_t r = 0; r < derivs.size(); ++r) {
    const int idx = spec.index_of(derivs[r]);
    const T f = static_cast<T>(spec.factorial(idx));
    const T* src = sol.u(field) + static_cast<std::size_t>(idx) * n;
    for (std::size_t i = 0; i < n; ++i) out[r * n + i] = f * src[i];
  }
}

template <class T>
void Trainer<T>::predict_function(int k, const T* points, std::size_t n, const std::vector<MultiIndex>& derivs,
                                  T* out) {
  require(k >= 0 && k < def_.n_functions(), "function index out of range");
  for (const auto& d : derivs)
    require(d.size() == static_cast<std::size_t>(def_.n_coords),
            "a derivative multi-index must have one entry per coordinate (" + std::to_string(def_.n_coords) + ")");
  require(n > 0, "need at least one point");
  JetSpec spec(def_.n_coords, derivs);
  const std::size_t nc = static_cast<std::size_t>(def_.n_coords);
  std::vector<T> coords(nc * n);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t c = 0; c < nc; ++c) coords[c * n + i] = points[i * nc + c];
  FunctionJets<T> f(def_.functions[static_cast<std::size_t>(k)], spec, coords.data(), def_.n_coords, n);
  f.forward(raw_.data() + def_.function_offset(k));
  for (std::size_t r = 0; r < derivs.size(); ++r) {
    const int idx = spec.index_of(derivs[r]);
    const T fac = static_cast<T>(spec.factorial(idx));
    const T* src = f.output() + static_cast<std::size_t>(idx) * n;
    for (std::size_t i = 0; i < n; ++i) out[r * n + i] = fac * src[i];
  }
}

template <class T>
std::size_t Trainer<T>::residual_rows() const {
  return def_.residuals.size() * static_cast<std::size_t>(1 + def_.n_perturb(method_));
}

template <class T>
void Trainer<T>::residual(const T* points, std::size_t n, T* out, const T* known) {
  require(n > 0, "need at least one point");
  ResidualTerm<T> term(nets_, def_, method_, def_.residuals, false, points, known, n);
  raw_to_physical(raw_.data(), phys_.data());
  term.evaluate(weights_.data(), phys_.data(), 1.0, 1.0, nullptr, nullptr);
  const std::size_t per = static_cast<std::size_t>(1 + def_.n_perturb(method_));
  for (int m = 0; m < term.n_residuals(); ++m) {
    const T* r = term.residual(m);
    T* o = out + static_cast<std::size_t>(m) * per * n;
    std::copy(r, r + n, o);  // r itself: the constant coefficient
    for (int j = 0; j < def_.n_perturb(method_); ++j) {  // dr/dp_j: the coefficient of the unit monomial p_j
      const T* row = r + static_cast<std::size_t>(term.residual_spec().unit(j)) * n;
      std::copy(row, row + n, o + static_cast<std::size_t>(1 + j) * n);
    }
  }
}

template <class T>
std::vector<T> Trainer<T>::observe(int o) {
  require(o >= 0 && o < n_observations(), "observation index out of range");
  raw_to_physical(raw_.data(), phys_.data());
  observations_[static_cast<std::size_t>(o)]->evaluate(weights_.data(), phys_.data(), 0.0, nullptr, nullptr);
  return observations_[static_cast<std::size_t>(o)]->prediction();
}

template class Trainer<float>;
template class Trainer<double>;

}  // namespace pinnbilo
