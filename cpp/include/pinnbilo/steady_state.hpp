// Fixed-point residual losses for learning unknown functions inside a PDE from observed steady
// states (no derivative of the data is ever taken).
//
// Aggregation-diffusion on the periodic interval [0, L) with n grid points x_i = i h:
//     u_t = (sigma u_x + kappa u (W*u)_x + u V_x)_x,
// steady states of mass M are the fixed points of
//     T(u) = M exp(-Phi/sigma) / (h sum_j exp(-Phi_j/sigma)),   Phi = kappa W*u + V,
// with (W*u)_i = h sum_j W_{(i-j) mod n} u_j (W sampled at the lags k h). The normalisation is a
// softmax, evaluated with the maximum subtracted (log-sum-exp), so no exponential overflows.
//
// Semilinear two-point problems -D u'' = g(x, u) on n interior points with Dirichlet values:
//     T(u) = A^{-1} (g(x, u) + b),  A = D/h^2 tridiag(-1, 2, -1),  b the boundary terms.
//
// Both losses are  sum_s sum_i m_si (T(u_s)_i - u_si)^2 / sum_i m_si u_si^2  with observation
// weights m (0 where no datum exists), and both have exact reverse passes down to the weights.
// Optional smoothness penalties lambda h sum_i ((f_{i+1} - f_i)/h)^2 (~ lambda int f'^2) on a
// learned function damp the directions noisy data cannot determine (high Fourier modes of W).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pinnbilo/adam.hpp"
#include "pinnbilo/error.hpp"
#include "pinnbilo/grid_function.hpp"

namespace pinnbilo {

namespace steady_detail {

template <class T>
void require_finite(const T* a, std::size_t n, const std::string& name) {
  for (std::size_t i = 0; i < n; ++i)
    require(std::isfinite(static_cast<double>(a[i])), name + " contains NaN or inf (flat index " + std::to_string(i) + ")");
}

// Per-state normalisers 1 / sum_i m_i u_i^2; a state with no weight or an all-zero state is an error.
// lambda h sum_i ((f_{i+1} - f_i) / h)^2 over a periodic or non-periodic sequence; adds its
// gradient into f_bar when not null.
template <class T>
double smoothness_penalty(const T* f, std::size_t n, T h, T lambda, bool periodic, T* f_bar) {
  if (lambda == T(0)) return 0.0;
  const T c = lambda / h;
  double p = 0;
  const std::size_t m = periodic ? n : n - 1;
  for (std::size_t i = 0; i < m; ++i) {
    const std::size_t j = (i + 1) % n;
    const T d = f[j] - f[i];
    p += static_cast<double>(c * d * d);
    if (f_bar) {
      f_bar[j] += T(2) * c * d;
      f_bar[i] -= T(2) * c * d;
    }
  }
  return p;
}

template <class T>
std::vector<T> state_scales(const T* u, const T* m, std::size_t S, std::size_t n) {
  std::vector<T> out(S);
  for (std::size_t s = 0; s < S; ++s) {
    T acc = 0;
    for (std::size_t i = 0; i < n; ++i) {
      require(m[s * n + i] >= T(0), "observation weights must be >= 0");
      acc += m[s * n + i] * u[s * n + i] * u[s * n + i];
    }
    require(acc > T(0), "state " + std::to_string(s) + " has no observed non-zero value (all weights zero or u = 0)");
    out[s] = T(1) / acc;
  }
  return out;
}

}  // namespace steady_detail

// An unknown function is either a network (params in the flat vector) or fixed known values.
template <class T>
struct FunctionSlot {
  std::unique_ptr<GridFunction<T>> net;
  std::vector<T> fixed;
  std::size_t offset = 0;  // of its params in the flat vector
  bool learned() const { return static_cast<bool>(net); }
  std::size_t n_params() const { return net ? net->n_params() : 0; }
  const T* values() const { return net ? net->values() : fixed.data(); }
};

template <class T>
class AggregationDiffusionFit {
 public:
  // states, weights: S x n; sigma, mass: S.
  AggregationDiffusionFit(std::size_t n, double length, double kappa, const T* states, const T* weights,
                          const T* sigma, const T* mass, std::size_t S)
      : n_(n), S_(S), h_(static_cast<T>(length / static_cast<double>(n))), kappa_(static_cast<T>(kappa)),
        u_(states, states + S * n), m_(weights, weights + S * n), sigma_(sigma, sigma + S), mass_(mass, mass + S) {
    require(n >= 2, "aggregation-diffusion: need at least 2 grid points");
    require(S >= 1, "aggregation-diffusion: need at least one steady state");
    require(std::isfinite(length) && length > 0, "aggregation-diffusion: the period length must be positive");
    require(std::isfinite(kappa), "aggregation-diffusion: kappa must be finite");
    steady_detail::require_finite(states, S * n, "states");
    steady_detail::require_finite(weights, S * n, "observation weights");
    for (std::size_t s = 0; s < S; ++s) {
      require(std::isfinite(static_cast<double>(sigma[s])) && sigma[s] > T(0),
              "sigma must be positive and finite (state " + std::to_string(s) + ")");
      require(std::isfinite(static_cast<double>(mass[s])) && mass[s] > T(0),
              "mass must be positive and finite (state " + std::to_string(s) + ")");
    }
    scale_ = steady_detail::state_scales(states, weights, S, n);
    v_.fixed.assign(n, T(0));
    w_.fixed.assign(n, T(0));
    tu_.resize(S * n);
    phi_.resize(n);
    phi_bar_.resize(n);
    v_bar_.resize(n);
    w_bar_.resize(n);
  }

  std::size_t n_points() const { return n_; }
  std::size_t n_states() const { return S_; }
  std::size_t n_params() const { return v_.n_params() + w_.n_params(); }
  std::size_t v_offset() const { return v_.offset; }
  std::size_t w_offset() const { return w_.offset; }
  bool v_learned() const { return v_.learned(); }
  bool w_learned() const { return w_.learned(); }

  // The potential V at the grid points: a network of features (n_inputs x n) or fixed values (n).
  void set_v_network(const Mlp& mlp, const T* features, bool zero_mean) {
    v_.net = std::make_unique<GridFunction<T>>(mlp, features, n_, zero_mean);
    layout();
  }
  void set_v_values(const T* values) {
    steady_detail::require_finite(values, n_, "V values");
    v_.net.reset();
    v_.fixed.assign(values, values + n_);
    layout();
  }
  // The kernel W at the lags k h, k = 0..n-1 (periodic: lag k is also lag k - n).
  void set_w_network(const Mlp& mlp, const T* features, bool zero_mean) {
    w_.net = std::make_unique<GridFunction<T>>(mlp, features, n_, zero_mean);
    layout();
  }
  void set_w_values(const T* values) {
    steady_detail::require_finite(values, n_, "W values");
    w_.net.reset();
    w_.fixed.assign(values, values + n_);
    layout();
  }

  // Smoothness penalties on the learned V and W (ignored for known functions); lambda >= 0.
  void set_smoothness(double lambda_v, double lambda_w) {
    require(std::isfinite(lambda_v) && lambda_v >= 0 && std::isfinite(lambda_w) && lambda_w >= 0,
            "smoothness penalties must be finite and >= 0");
    smooth_v_ = static_cast<T>(lambda_v);
    smooth_w_ = static_cast<T>(lambda_w);
  }
  // The penalty part of the last evaluate() (the rest is the fixed-point loss).
  double last_penalty() const { return last_penalty_; }

  // V and W on the grid for the given params (forward of the networks).
  void function_values(const T* params, T* v, T* w) {
    forward_nets(params);
    std::copy(v_.values(), v_.values() + n_, v);
    std::copy(w_.values(), w_.values() + n_, w);
  }

  // The loss for grid values V, W (n each); adds dL/dV, dL/dW into v_bar, w_bar when not null.
  double loss_from_values(const T* v, const T* w, T* v_bar, T* w_bar) {
    double loss = 0;
    for (std::size_t s = 0; s < S_; ++s) {
      const T* u = u_.data() + s * n_;
      const T* m = m_.data() + s * n_;
      T* tu = tu_.data() + s * n_;
      const T inv_sigma = T(1) / sigma_[s];
      // Phi = kappa W*u + V; store a = -Phi/sigma in phi_.
      for (std::size_t i = 0; i < n_; ++i) {
        T c = 0;
        if (kappa_ != T(0)) {
          for (std::size_t j = 0; j <= i; ++j) c += w[i - j] * u[j];
          for (std::size_t j = i + 1; j < n_; ++j) c += w[i + n_ - j] * u[j];
        }
        phi_[i] = -(kappa_ * h_ * c + v[i]) * inv_sigma;
      }
      const T amax = *std::max_element(phi_.begin(), phi_.end());
      T z = 0;
      for (std::size_t i = 0; i < n_; ++i) {
        phi_[i] = std::exp(phi_[i] - amax);
        z += phi_[i];
      }
      // p_i = phi_[i] / z (softmax); T_i = (M / h) p_i.
      const T coef = mass_[s] / (h_ * z);
      T dot = 0;  // sum_i T_bar_i T_i
      for (std::size_t i = 0; i < n_; ++i) {
        tu[i] = coef * phi_[i];
        const T r = tu[i] - u[i];
        loss += static_cast<double>(scale_[s] * m[i] * r * r);
        phi_bar_[i] = T(2) * scale_[s] * m[i] * r;  // T_bar for now
        dot += phi_bar_[i] * tu[i];
      }
      if (!v_bar && !w_bar) continue;
      // a_bar_j = T_bar_j T_j - p_j sum_i T_bar_i T_i;  Phi_bar = -a_bar / sigma.
      for (std::size_t j = 0; j < n_; ++j) {
        const T p = phi_[j] / z;
        phi_bar_[j] = -(phi_bar_[j] * tu[j] - p * dot) * inv_sigma;
      }
      if (v_bar)
        for (std::size_t i = 0; i < n_; ++i) v_bar[i] += phi_bar_[i];
      if (w_bar && kappa_ != T(0)) {  // W_bar_k += kappa h sum_i Phi_bar_i u_{(i-k) mod n}
        const T kh = kappa_ * h_;
        for (std::size_t k = 0; k < n_; ++k) {
          T acc = 0;
          for (std::size_t i = k; i < n_; ++i) acc += phi_bar_[i] * u[i - k];
          for (std::size_t i = 0; i < k; ++i) acc += phi_bar_[i] * u[i + n_ - k];
          w_bar[k] += kh * acc;
        }
      }
    }
    return loss;
  }

  // Loss at params; when grad is not null, it is overwritten with dL/dparams.
  double evaluate(const T* params, T* grad) {
    forward_nets(params);
    const bool want = grad != nullptr;
    if (want) {
      std::fill(grad, grad + n_params(), T(0));
      std::fill(v_bar_.begin(), v_bar_.end(), T(0));
      std::fill(w_bar_.begin(), w_bar_.end(), T(0));
    }
    double loss = loss_from_values(v_.values(), w_.values(), want && v_.learned() ? v_bar_.data() : nullptr,
                                   want && w_.learned() ? w_bar_.data() : nullptr);
    last_penalty_ = 0;
    if (v_.learned())
      last_penalty_ += steady_detail::smoothness_penalty(v_.values(), n_, h_, smooth_v_, true, want ? v_bar_.data() : nullptr);
    if (w_.learned())
      last_penalty_ += steady_detail::smoothness_penalty(w_.values(), n_, h_, smooth_w_, true, want ? w_bar_.data() : nullptr);
    loss += last_penalty_;
    if (want) {
      if (v_.learned()) v_.net->backward(params + v_.offset, v_bar_.data(), grad + v_.offset);
      if (w_.learned()) w_.net->backward(params + w_.offset, w_bar_.data(), grad + w_.offset);
    }
    return loss;
  }

  // T(u_s) for every state (S x n), valid after evaluate() or loss_from_values().
  const T* fixed_point_map() const { return tu_.data(); }

 private:
  void layout() {
    v_.offset = 0;
    w_.offset = v_.n_params();
  }
  void forward_nets(const T* params) {
    if (v_.learned()) v_.net->forward(params + v_.offset);
    if (w_.learned()) w_.net->forward(params + w_.offset);
  }

  std::size_t n_, S_;
  T h_, kappa_;
  T smooth_v_ = 0, smooth_w_ = 0;
  double last_penalty_ = 0;
  std::vector<T> u_, m_, sigma_, mass_, scale_;
  FunctionSlot<T> v_, w_;
  std::vector<T> tu_, phi_, phi_bar_, v_bar_, w_bar_;
};

template <class T>
class SemilinearFit {
 public:
  // states, weights: S x n interior values; left, right: S Dirichlet values; h the grid spacing.
  SemilinearFit(std::size_t n, double h, double diffusion, const T* states, const T* weights, const T* left,
                const T* right, std::size_t S)
      : n_(n), S_(S), u_(states, states + S * n), m_(weights, weights + S * n), left_(left, left + S),
        right_(right, right + S) {
    require(n >= 1, "semilinear: need at least one interior point");
    require(S >= 1, "semilinear: need at least one steady state");
    require(std::isfinite(h) && h > 0, "semilinear: the grid spacing must be positive");
    require(std::isfinite(diffusion) && diffusion > 0, "semilinear: the diffusion coefficient D must be positive");
    steady_detail::require_finite(states, S * n, "states");
    steady_detail::require_finite(weights, S * n, "observation weights");
    steady_detail::require_finite(left, S, "left boundary values");
    steady_detail::require_finite(right, S, "right boundary values");
    scale_ = steady_detail::state_scales(states, weights, S, n);
    c_ = static_cast<T>(diffusion / (h * h));
    // Thomas factors of A = c tridiag(-1, 2, -1): diagonal d_i after elimination.
    diag_.resize(n);
    diag_[0] = T(2) * c_;
    for (std::size_t i = 1; i < n; ++i) diag_[i] = T(2) * c_ - c_ * c_ / diag_[i - 1];
    g_.fixed.assign(S * n, T(0));
    tu_.resize(S * n);
    rhs_.resize(n);
    g_bar_.resize(S * n);
  }

  std::size_t n_points() const { return n_; }
  std::size_t n_states() const { return S_; }
  std::size_t n_params() const { return g_.n_params(); }

  // g at every (state, point): a network of features (n_inputs x S n) or fixed values (S n).
  void set_g_network(const Mlp& mlp, const T* features) {
    g_.net = std::make_unique<GridFunction<T>>(mlp, features, S_ * n_, false);
  }
  void set_g_values(const T* values) {
    steady_detail::require_finite(values, S_ * n_, "g values");
    g_.net.reset();
    g_.fixed.assign(values, values + S_ * n_);
  }

  void function_values(const T* params, T* g) {
    if (g_.learned()) g_.net->forward(params);
    std::copy(g_.values(), g_.values() + S_ * n_, g);
  }

  // Solves A x = rhs in place (A symmetric, so also A^T).
  void solve(T* x) const {
    for (std::size_t i = 1; i < n_; ++i) x[i] += c_ / diag_[i - 1] * x[i - 1];
    x[n_ - 1] /= diag_[n_ - 1];
    for (std::size_t i = n_ - 1; i-- > 0;) x[i] = (x[i] + c_ * x[i + 1]) / diag_[i];
  }

  double loss_from_values(const T* g, T* g_bar) {
    double loss = 0;
    for (std::size_t s = 0; s < S_; ++s) {
      const T* u = u_.data() + s * n_;
      const T* m = m_.data() + s * n_;
      T* tu = tu_.data() + s * n_;
      std::copy(g + s * n_, g + (s + 1) * n_, tu);
      tu[0] += c_ * left_[s];
      tu[n_ - 1] += c_ * right_[s];
      solve(tu);
      for (std::size_t i = 0; i < n_; ++i) {
        const T r = tu[i] - u[i];
        loss += static_cast<double>(scale_[s] * m[i] * r * r);
        rhs_[i] = T(2) * scale_[s] * m[i] * r;
      }
      if (!g_bar) continue;
      solve(rhs_.data());  // g_bar = A^{-T} T_bar
      for (std::size_t i = 0; i < n_; ++i) g_bar[s * n_ + i] += rhs_[i];
    }
    return loss;
  }

  double evaluate(const T* params, T* grad) {
    if (g_.learned()) g_.net->forward(params);
    const bool want = grad != nullptr && g_.learned();
    if (want) {
      std::fill(grad, grad + n_params(), T(0));
      std::fill(g_bar_.begin(), g_bar_.end(), T(0));
    }
    const double loss = loss_from_values(g_.values(), want ? g_bar_.data() : nullptr);
    if (want) g_.net->backward(params, g_bar_.data(), grad);
    return loss;
  }

  const T* fixed_point_map() const { return tu_.data(); }

 private:
  std::size_t n_, S_;
  std::vector<T> u_, m_, left_, right_, scale_;
  T c_ = 0;
  std::vector<T> diag_;
  FunctionSlot<T> g_;
  std::vector<T> tu_, rhs_, g_bar_;
};

// Adam on any objective with `double evaluate(const T* params, T* grad)` and `n_params()`.
// callback(step, loss) every `every` steps (and at the end) may return false to stop.
// Returns the number of steps taken; params hold the final iterate. A non-finite loss or gradient
// stops the run and restores the last finite iterate (steps is then reported negative: -(step+1)).
template <class T, class Objective>
long adam_minimize(Objective& obj, T* params, long steps, const AdamConfig& config, long every,
                   const std::function<bool(long, double)>& callback, double* last_loss) {
  const std::size_t np = obj.n_params();
  Adam<T> adam(np, config);
  std::vector<T> grad(np), previous(params, params + np);
  double loss = 0;
  for (long step = 0; step < steps; ++step) {
    loss = obj.evaluate(params, grad.data());
    bool finite = std::isfinite(loss);
    for (std::size_t i = 0; finite && i < np; ++i) finite = std::isfinite(static_cast<double>(grad[i]));
    if (!finite) {
      std::copy(previous.begin(), previous.end(), params);
      if (last_loss) *last_loss = loss;
      return -(step + 1);
    }
    if (last_loss) *last_loss = loss;
    if (callback && every > 0 && step % every == 0 && !callback(step, loss)) return step;
    std::copy(params, params + np, previous.begin());
    adam.step(params, grad.data());
  }
  loss = obj.evaluate(params, nullptr);
  if (last_loss) *last_loss = loss;
  if (callback) callback(steps, loss);
  return steps;
}

}  // namespace pinnbilo
