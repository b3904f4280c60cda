#include "pinnbilo/mlp.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "pinnbilo/dense.hpp"
#include "pinnbilo/error.hpp"
#include "pinnbilo/jet_ops.hpp"
#include "pinnbilo/parallel.hpp"

namespace pinnbilo {
namespace {

// splitmix64: a tiny, portable generator (std:: distributions differ between libraries).
struct SplitMix64 {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  double uniform() { return (static_cast<double>(next() >> 11) + 0.5) * (1.0 / 9007199254740992.0); }
  double normal() {  // Box-Muller
    const double u1 = uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
};

}  // namespace

Mlp::Mlp(std::vector<int> sizes, Func activation) : sizes_(std::move(sizes)), activation_(activation) {
  require(sizes_.size() >= 2, "Mlp: need at least input and output sizes");
  for (int s : sizes_) require(s > 0, "Mlp: every layer size must be positive, got " + std::to_string(s));
  require(activation != Func::Pow && activation != Func::Log,
          std::string("Mlp: activation '") + func_name(activation) + "' is not allowed; use tanh, sin, "
          "cos, sigmoid, softplus or exp");
  for (int l = 0; l + 1 < static_cast<int>(sizes_.size()); ++l) {
    offsets_.push_back(n_params_);
    n_params_ += static_cast<std::size_t>(sizes_[l]) * sizes_[l + 1] + sizes_[l + 1];
  }
  max_width_ = *std::max_element(sizes_.begin(), sizes_.end());
}

std::size_t Mlp::bias_offset(int layer) const {
  return offsets_[static_cast<std::size_t>(layer)] +
         static_cast<std::size_t>(sizes_[layer]) * sizes_[layer + 1];
}

template <class T>
void Mlp::init_params(T* params, std::uint64_t seed) const {
  SplitMix64 rng{seed};
  for (int l = 0; l < n_layers(); ++l) {
    const double std_dev = std::sqrt(2.0 / (sizes_[l] + sizes_[l + 1]));
    T* w = params + weight_offset(l);
    const std::size_t nw = static_cast<std::size_t>(sizes_[l]) * sizes_[l + 1];
    for (std::size_t i = 0; i < nw; ++i) w[i] = static_cast<T>(std_dev * rng.normal());
    T* b = params + bias_offset(l);
    std::fill(b, b + sizes_[l + 1], T(0));
  }
}

template <class T>
MlpJets<T>::MlpJets(const Mlp& mlp, const JetSpec& spec, std::size_t n)
    : mlp_(mlp), spec_(spec), n_(n), kn_(static_cast<std::size_t>(spec.size()) * n) {
  require(n > 0, "MlpJets: the number of points must be positive");
  const auto& s = mlp.sizes();
  for (int l = 0; l < mlp.n_layers(); ++l) layer_input_.emplace_back(static_cast<std::size_t>(s[l]) * kn_);
  act_slope_.resize(static_cast<std::size_t>(mlp.n_layers()));
  for (int l = 1; l < mlp.n_layers(); ++l) act_slope_[l].resize(static_cast<std::size_t>(s[l]) * kn_);
  const std::size_t wide = static_cast<std::size_t>(mlp.max_width()) * kn_;
  pre_activation_.resize(wide);
  output_.resize(static_cast<std::size_t>(mlp.n_outputs()) * kn_);
  y_bar_.resize(wide);
  z_bar_.resize(wide);
}

template <class T>
void MlpJets<T>::forward(const T* params) {
  const auto& s = mlp_.sizes();
  const int L = mlp_.n_layers();
  for (int l = 0; l < L; ++l) {
    const std::size_t out = static_cast<std::size_t>(s[l + 1]), in = static_cast<std::size_t>(s[l]);
    T* z = (l == L - 1) ? output_.data() : pre_activation_.data();
    gemm_nn<T>(out, in, kn_, params + mlp_.weight_offset(l), layer_input_[l].data(), z);
    const T* b = params + mlp_.bias_offset(l);
    for (std::size_t i = 0; i < out; ++i) {
      T* zi = z + i * kn_;  // bias acts on the constant coefficient only
      for (std::size_t p = 0; p < n_; ++p) zi[p] += b[i];
    }
    if (l == L - 1) break;
    T* y = layer_input_[l + 1].data();
    T* g = act_slope_[l + 1].data();
    const Func f = mlp_.activation();
    each_row_block(out, [&](std::size_t i, std::size_t p0, std::size_t len, T* scratch) {
      const std::size_t at = i * kn_ + p0;
      jet_unary<T>(spec_, len, f, T(0), z + at, y + at, g + at, scratch, n_);
    });
  }
}

// Calls fn(row, first point, points, scratch) over rows x blocks of points small enough that one
// block's jets and the activation rule's scratch stay in L2 (L1-sized blocks made the many short
// term loops of large jets, e.g. K = 12, slower); rows are split between threads for
// large layers (each row's arithmetic is the same whichever thread does it).
template <class T>
template <class Fn>
void MlpJets<T>::each_row_block(std::size_t rows, const Fn& fn) {
  const std::size_t K = static_cast<std::size_t>(spec_.size());
  const std::size_t per_point = (static_cast<std::size_t>(spec_.degree()) + 2 + 5 * K) * sizeof(T);
  const std::size_t block = std::min(n_, std::max<std::size_t>(128, (std::size_t(256) * 1024 / per_point) / 8 * 8));
  const std::size_t scratch_size = jet_unary_scratch(spec_, block);
  auto run_rows = [&](std::size_t r0, std::size_t r1) {
    thread_local std::vector<T> scratch;  // per thread; grows once
    if (scratch.size() < scratch_size) scratch.resize(scratch_size);
    for (std::size_t i = r0; i < r1; ++i)
      for (std::size_t p0 = 0; p0 < n_; p0 += block) fn(i, p0, std::min(block, n_ - p0), scratch.data());
  };
  const std::size_t threads =
      rows * kn_ >= (std::size_t(1) << 16) ? std::min<std::size_t>(rows, std::size_t(num_threads())) : 1;
  if (threads <= 1) {
    run_rows(0, rows);
    return;
  }
  parallel_for(threads, [&](std::size_t t) { run_rows(rows * t / threads, rows * (t + 1) / threads); });
}

template <class T>
void MlpJets<T>::backward(const T* params, const T* out_bar, T* grad, T* input_bar) {
  const auto& s = mlp_.sizes();
  const T* z_bar = out_bar;
  for (int l = mlp_.n_layers() - 1; l >= 0; --l) {
    const std::size_t out = static_cast<std::size_t>(s[l + 1]), in = static_cast<std::size_t>(s[l]);
    if (grad) {  // null when only the input adjoint is wanted (BiLO's data level)
      gemm_nt_acc<T>(out, in, kn_, z_bar, layer_input_[l].data(), grad + mlp_.weight_offset(l));
      T* gb = grad + mlp_.bias_offset(l);
      for (std::size_t i = 0; i < out; ++i) {
        const T* zi = z_bar + i * kn_;
        T acc = 0;
        for (std::size_t p = 0; p < n_; ++p) acc += zi[p];
        gb[i] += acc;
      }
    }
    if (l == 0 && !input_bar) break;
    // Y_bar = W^T Z_bar, reading W in place (the product packs it).
    const T* w = params + mlp_.weight_offset(l);
    if (l == 0) {
      gemm_tn<T>(in, out, kn_, w, z_bar, input_bar);
      break;
    }
    gemm_tn<T>(in, out, kn_, w, z_bar, y_bar_.data());
    const T* yb = y_bar_.data();
    const T* slope = act_slope_[l].data();
    T* zb = z_bar_.data();
    const std::size_t K = static_cast<std::size_t>(spec_.size());
    each_row_block(in, [&](std::size_t i, std::size_t p0, std::size_t len, T*) {
      const std::size_t at = i * kn_ + p0;
      for (std::size_t k = 0; k < K; ++k) std::fill(zb + at + k * n_, zb + at + k * n_ + len, T(0));
      jet_mul_adjoint<T>(spec_, len, yb + at, slope + at, zb + at, n_);
    });
    z_bar = z_bar_.data();
  }
}

template void Mlp::init_params<float>(float*, std::uint64_t) const;
template void Mlp::init_params<double>(double*, std::uint64_t) const;
template class MlpJets<float>;
template class MlpJets<double>;

}  // namespace pinnbilo
