// An unknown scalar function on a fixed set of points, represented by an MLP of fixed input
// features (e.g. cos/sin of the periodic coordinate), with its reverse pass.
//
// The network is evaluated with a JetSpec of order 0 (values only): the steady-state losses need
// the function's values, never its derivatives. An optional gauge removes the mean over the
// points, pinning the additive constant that no data can determine.
#pragma once
#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "pinnbilo/error.hpp"
#include "pinnbilo/jet_spec.hpp"
#include "pinnbilo/mlp.hpp"

namespace pinnbilo {

template <class T>
class GridFunction {
 public:
  // features: n_inputs x n (feature-major), copied once; the network output must be scalar.
  GridFunction(const Mlp& mlp, const T* features, std::size_t n, bool zero_mean)
      : mlp_(mlp), jets_(mlp, JetSpec(mlp.n_inputs()), n), n_(n), zero_mean_(zero_mean), values_(n), bar_(n) {
    require(mlp.n_outputs() == 1, "GridFunction: the network must have one output, got " +
                                      std::to_string(mlp.n_outputs()));
    std::copy(features, features + static_cast<std::size_t>(mlp.n_inputs()) * n, jets_.input());
  }

  std::size_t n_points() const { return n_; }
  std::size_t n_params() const { return mlp_.n_params(); }
  const Mlp& mlp() const { return mlp_; }
  bool zero_mean() const { return zero_mean_; }

  // Values at the points (n), valid after forward().
  const T* values() const { return values_.data(); }

  void forward(const T* params) {
    jets_.forward(params);
    const T* out = jets_.output();
    std::copy(out, out + n_, values_.begin());
    if (zero_mean_) {
      T mean = 0;
      for (std::size_t i = 0; i < n_; ++i) mean += values_[i];
      mean /= static_cast<T>(n_);
      for (std::size_t i = 0; i < n_; ++i) values_[i] -= mean;
    }
  }

  // Adds d(loss)/d(params) into grad given values_bar = d(loss)/d(values); forward() must have run
  // with the same params.
  void backward(const T* params, const T* values_bar, T* grad) {
    std::copy(values_bar, values_bar + n_, bar_.begin());
    if (zero_mean_) {  // the mean removal is a projection: its adjoint removes the mean of the adjoint
      T mean = 0;
      for (std::size_t i = 0; i < n_; ++i) mean += bar_[i];
      mean /= static_cast<T>(n_);
      for (std::size_t i = 0; i < n_; ++i) bar_[i] -= mean;
    }
    jets_.backward(params, bar_.data(), grad, nullptr);
  }

 private:
  Mlp mlp_;
  MlpJets<T> jets_;
  std::size_t n_;
  bool zero_mean_;
  std::vector<T> values_, bar_;
};

}  // namespace pinnbilo
