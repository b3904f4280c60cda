// Adam (Kingma & Ba 2015) with the AMSGrad option (Reddi et al. 2018); state sized once.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "pinnbilo/error.hpp"

namespace pinnbilo {

struct AdamConfig {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  bool amsgrad = false;
};

template <class T>
class Adam {
 public:
  Adam() = default;
  Adam(std::size_t n, AdamConfig config) : config_(config), m_(n, T(0)), v_(n, T(0)), v_max_(n, T(0)) {}

  const AdamConfig& config() const { return config_; }
  void set_config(const AdamConfig& c) { config_ = c; }
  long steps() const { return t_; }
  std::size_t size() const { return m_.size(); }

  // x -= lr * m_hat / (sqrt(v_hat) + eps), with bias-corrected moments.  Entries from `split` on
  // use the learning rate lr_tail instead (one optimiser, one step count, two groups).
  void step(T* x, const T* g) { step(x, g, m_.size(), config_.lr, config_.lr); }
  void step(T* x, const T* g, std::size_t split, double lr_tail) { step(x, g, split, config_.lr, lr_tail); }
  // The same with the head's learning rate given too (a schedule's factor already applied).
  void step(T* x, const T* g, std::size_t split, double lr_head, double lr_tail) {
    ++t_;
    const double b1 = config_.beta1, b2 = config_.beta2;
    const double c1 = 1.0 - std::pow(b1, static_cast<double>(t_));
    const double c2 = 1.0 - std::pow(b2, static_cast<double>(t_));
    const T step_head = static_cast<T>(lr_head / c1), step_tail = static_cast<T>(lr_tail / c1);
    const T inv_sqrt_c2 = static_cast<T>(1.0 / std::sqrt(c2));
    const T eps = static_cast<T>(config_.eps);
    const T tb1 = static_cast<T>(b1), tb2 = static_cast<T>(b2);
    const std::size_t n = m_.size();
    for (std::size_t i = 0; i < n; ++i) {
      m_[i] = tb1 * m_[i] + (T(1) - tb1) * g[i];
      v_[i] = tb2 * v_[i] + (T(1) - tb2) * g[i] * g[i];
      T v = v_[i];
      if (config_.amsgrad) {
        v_max_[i] = std::max(v_max_[i], v_[i]);
        v = v_max_[i];
      }
      x[i] -= (i < split ? step_head : step_tail) * m_[i] / (std::sqrt(v) * inv_sqrt_c2 + eps);
    }
  }

  // State for checkpoints: first moment, second moment, running max, step count. Read-only; the
  // state is replaced as a whole through set_state, which checks it.
  const std::vector<T>& first_moment() const { return m_; }
  const std::vector<T>& second_moment() const { return v_; }
  const std::vector<T>& second_moment_max() const { return v_max_; }
  // Throws InputError unless every vector has size() entries, all finite, the second moments
  // and their maximum >= 0 and t >= 0; on a throw the state is unchanged.
  void set_state(const std::vector<T>& m, const std::vector<T>& v, const std::vector<T>& v_max, long t) {
    const std::size_t n = m_.size();
    require(m.size() == n && v.size() == n && v_max.size() == n,
            "Adam state: expected " + std::to_string(n) + " entries per moment, got " + std::to_string(m.size()) +
                ", " + std::to_string(v.size()) + " and " + std::to_string(v_max.size()));
    for (std::size_t i = 0; i < n; ++i) {
      require(std::isfinite(static_cast<double>(m[i])), "Adam state: first moment is not finite");
      require(std::isfinite(static_cast<double>(v[i])) && v[i] >= T(0) && std::isfinite(static_cast<double>(v_max[i])) &&
                  v_max[i] >= T(0),
              "Adam state: second moments must be finite and >= 0");
    }
    require(t >= 0, "Adam state: the step count must be >= 0");
    m_ = m;
    v_ = v;
    v_max_ = v_max;
    t_ = t;
  }

 private:
  AdamConfig config_;
  std::vector<T> m_, v_, v_max_;
  long t_ = 0;
};

}  // namespace pinnbilo
