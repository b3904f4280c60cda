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
  require(activation != Func::Pow && activation != Func::Log && activation != Func::Abs,
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

namespace {

// A layer product with a side this thin runs as plain loops (dense.hpp, nn_thin / nt_thin); with
// few inputs only when the block's segments are long enough for the loops to pay.
bool thin(std::size_t out, std::size_t in, std::size_t len) { return out <= 2 || (in <= 4 && len >= 32); }

// Bytes of one layer's jets over a block of points (the widest layer): the block, its
// pre-activations and the activation's outputs stay in L2 together.
constexpr std::size_t kBlockBytes = 64 * 1024;
// Bytes of the activation rule's scratch per call (powers of h and derivative rows).
constexpr std::size_t kActivationBytes = 48 * 1024;
// Fixed number of weight-gradient accumulators (see MlpJets).
constexpr std::size_t kLanes = 8;
// Tasks per thread of a parallel pass (balance against a thread that shares its core).
constexpr std::size_t kTasksPerThread = 4;
// Below this many multiply-adds per pass the work stays on the calling thread.
constexpr std::size_t kParallelWork = std::size_t(1) << 21;

}  // namespace

template <class T>
MlpJets<T>::MlpJets(const Mlp& mlp, const JetSpec& spec, std::size_t n)
    : mlp_(mlp), spec_(spec), n_(n), K_(static_cast<std::size_t>(spec.size())) {
  require(n > 0, "MlpJets: the number of points must be positive");
  constexpr std::size_t NR = 2 * dense_detail::Simd<T>::L;  // the products' tile width
  const std::size_t width = static_cast<std::size_t>(mlp.max_width());
  const std::size_t fit = kBlockBytes / (K_ * width * sizeof(T)) / NR * NR;
  block_ = std::min(n, std::max(NR, fit));
  n_blocks_ = (n + block_ - 1) / block_;
  lanes_ = std::min(kLanes, n_blocks_);
  const auto& s = mlp.sizes();
  const int L = mlp.n_layers();
  input_.resize(static_cast<std::size_t>(s.front()) * K_ * n);
  output_.resize(static_cast<std::size_t>(s.back()) * K_ * n);
  hidden_.resize(static_cast<std::size_t>(L));
  slope_.resize(static_cast<std::size_t>(L));
  slope_from_output_ = derivative_from_value(mlp.activation(), slope_q_);
  for (int l = 1; l < L; ++l) {
    hidden_[l].resize(static_cast<std::size_t>(s[l]) * K_ * n);
    if (!slope_from_output_) slope_[l].resize(static_cast<std::size_t>(s[l]) * K_ * n);
  }
  for (int l = 0; l < L; ++l) {
    packed_w_.emplace_back(static_cast<std::size_t>(s[l]) * s[l + 1]);
    packed_wt_.emplace_back(static_cast<std::size_t>(s[l]) * s[l + 1]);
  }
  lane_grad_.resize(lanes_ * mlp.n_params());
}

template <class T>
std::size_t MlpJets<T>::threads_for(std::size_t tasks) const {
  if (mlp_.n_params() * K_ * n_ < kParallelWork) return 1;
  return std::max<std::size_t>(1, std::min(tasks, static_cast<std::size_t>(num_threads())));
}

template <class T>
void MlpJets<T>::forward(const T* params) {
  const auto& s = mlp_.sizes();
  for (int l = 0; l < mlp_.n_layers(); ++l)
    dense_detail::pack_a<T>(static_cast<std::size_t>(s[l + 1]), static_cast<std::size_t>(s[l]),
                            params + mlp_.weight_offset(l), static_cast<std::size_t>(s[l]), 1, packed_w_[l].data());
  const std::size_t threads = threads_for(n_blocks_);
  if (threads <= 1) {
    for (std::size_t b = 0; b < n_blocks_; ++b) forward_block(params, b);
    return;
  }
  // More tasks than threads, claimed as threads come free: a thread slowed by another process on
  // its core takes fewer of them instead of holding up the step.  Each block's arithmetic is the
  // same whichever thread runs it.
  const std::size_t tasks = std::min(n_blocks_, kTasksPerThread * threads);
  parallel_for(tasks, [&](std::size_t t) {
    for (std::size_t b = n_blocks_ * t / tasks; b < n_blocks_ * (t + 1) / tasks; ++b) forward_block(params, b);
  });
}

template <class T>
void MlpJets<T>::forward_block(const T* params, std::size_t b) {
  using dense_detail::Segments;
  const auto& s = mlp_.sizes();
  const int L = mlp_.n_layers();
  const std::size_t p0 = b * block_, len = std::min(block_, n_ - p0), K = K_, n = n_;
  T* z = dense_detail::scratch<T, 4>(static_cast<std::size_t>(mlp_.max_width()) * K * block_);
  const std::size_t per_point = static_cast<std::size_t>(spec_.degree()) + 2 +
                                (spec_.degree() > 1 ? static_cast<std::size_t>(spec_.degree() - 1) * K : 0);
  const std::size_t chunk = std::max<std::size_t>(64, kActivationBytes / (per_point * sizeof(T)) / 8 * 8);
  for (int l = 0; l < L; ++l) {
    const std::size_t out = static_cast<std::size_t>(s[l + 1]), in = static_cast<std::size_t>(s[l]);
    const Segments<const T> x = l == 0 ? Segments<const T>{input_.data() + p0, K * n, n, K, len}
                                       : Segments<const T>{hidden_[l].data() + p0 * K * in, len, in * len, K, len};
    const Segments<T> c = l == L - 1 ? Segments<T>{output_.data() + p0, K * n, n, K, len}
                                     : Segments<T>{z, len, out * len, K, len};
    if (thin(out, in, len))
      dense_detail::nn_thin<T>(out, in, params + mlp_.weight_offset(l), in, 1, x, c);
    else
      dense_detail::nn_segments<T>(out, in, packed_w_[l].data(), x, c, false);
    const T* bias = params + mlp_.bias_offset(l);
    for (std::size_t r = 0; r < out; ++r) {  // the bias acts on the constant coefficient only
      T* row = c.base + r * c.row_stride;
      for (std::size_t i = 0; i < len; ++i) row[i] += bias[r];
    }
    if (l == L - 1) break;
    // The block's pre-activations are K rows of out*len values: one jet array.
    const std::size_t m = out * len;
    T* y = hidden_[l + 1].data() + p0 * K * out;
    T* g = slope_from_output_ ? nullptr : slope_[l + 1].data() + p0 * K * out;
    T* act_scratch = dense_detail::scratch<T, 6>(jet_unary_scratch(spec_, std::min(chunk, m)));
    for (std::size_t c0 = 0; c0 < m; c0 += chunk)
      jet_unary<T>(spec_, std::min(chunk, m - c0), mlp_.activation(), T(0), z + c0, y + c0, g ? g + c0 : nullptr,
                   act_scratch, m);
  }
}

template <class T>
void MlpJets<T>::backward(const T* params, const T* out_bar, T* grad, T* input_bar) {
  const auto& s = mlp_.sizes();
  for (int l = input_bar ? 0 : 1; l < mlp_.n_layers(); ++l)
    dense_detail::pack_a<T>(static_cast<std::size_t>(s[l]), static_cast<std::size_t>(s[l + 1]),
                            params + mlp_.weight_offset(l), 1, static_cast<std::size_t>(s[l]), packed_wt_[l].data());
  const std::size_t np = mlp_.n_params();
  if (grad) std::fill(lane_grad_.begin(), lane_grad_.end(), T(0));
  // Each lane takes its blocks last to first: the forward pass wrote the last blocks last, so
  // their activations are the likeliest to be still in cache.
  auto run_lane = [&](std::size_t lane) {
    if (lane >= n_blocks_) return;
    const std::size_t last = lane + (n_blocks_ - 1 - lane) / lanes_ * lanes_;
    for (std::size_t b = last + lanes_; b > lane;) {
      b -= lanes_;
      backward_block(params, out_bar, grad ? lane_grad_.data() + lane * np : nullptr, input_bar, b);
    }
  };
  const std::size_t threads = threads_for(lanes_);
  if (threads <= 1) {
    for (std::size_t lane = 0; lane < lanes_; ++lane) run_lane(lane);
  } else {
    parallel_for(lanes_, run_lane);  // one task per lane, claimed as threads come free (see forward)
  }
  if (!grad) return;
  for (std::size_t lane = 0; lane < lanes_; ++lane) {
    const T* lg = lane_grad_.data() + lane * np;
#pragma omp simd
    for (std::size_t p = 0; p < np; ++p) grad[p] += lg[p];
  }
}

// f'(z) = q(y) as a jet from y = f(z) over m values (K rows m apart), q from derivative_from_value.
template <class T>
const T* MlpJets<T>::slope_of_output(const T* y, std::size_t m) const {
  T* g = dense_detail::scratch<T, 7>(K_ * m);
  jet_mul<T>(spec_, m, y, y, g);
  const T q1 = static_cast<T>(slope_q_[1]), q2 = static_cast<T>(slope_q_[2]);
  for (std::size_t k = 0; k < K_; ++k) {
    T* gk = g + k * m;
    const T* yk = y + k * m;
    const T q0 = k == 0 ? static_cast<T>(slope_q_[0]) : T(0);  // the constant acts on coefficient 0
#pragma omp simd
    for (std::size_t i = 0; i < m; ++i) gk[i] = (q0 + q1 * yk[i]) + q2 * gk[i];
  }
  return g;
}

// Y_bar = W_l^T Z_bar over a block's segments.
template <class T>
void MlpJets<T>::transposed_product(const T* params, int l, dense_detail::Segments<const T> z_bar,
                                    dense_detail::Segments<T> y_bar) const {
  const std::size_t len = z_bar.len;
  const auto& s = mlp_.sizes();
  const std::size_t out = static_cast<std::size_t>(s[l + 1]), in = static_cast<std::size_t>(s[l]);
  if (thin(out, in, len))
    dense_detail::nn_thin<T>(in, out, params + mlp_.weight_offset(l), 1, in, z_bar, y_bar);
  else
    dense_detail::nn_segments<T>(in, out, packed_wt_[l].data(), z_bar, y_bar, false);
}

template <class T>
void MlpJets<T>::backward_block(const T* params, const T* out_bar, T* grad, T* input_bar, std::size_t b) {
  using dense_detail::Segments;
  const auto& s = mlp_.sizes();
  const std::size_t p0 = b * block_, len = std::min(block_, n_ - p0), K = K_, n = n_;
  const std::size_t wide = static_cast<std::size_t>(mlp_.max_width()) * K * block_;
  T* y_bar = dense_detail::scratch<T, 5>(wide);
  T* z_bar = dense_detail::scratch<T, 4>(wide);
  Segments<const T> zb{out_bar + p0, K * n, n, K, len};
  for (int l = mlp_.n_layers() - 1; l >= 0; --l) {
    const std::size_t out = static_cast<std::size_t>(s[l + 1]), in = static_cast<std::size_t>(s[l]);
    const Segments<const T> x = l == 0 ? Segments<const T>{input_.data() + p0, K * n, n, K, len}
                                       : Segments<const T>{hidden_[l].data() + p0 * K * in, len, in * len, K, len};
    if (grad) {  // null when only the input adjoint is wanted (BiLO's data level)
      if (thin(out, in, len))
        dense_detail::nt_thin<T>(out, in, zb, x, grad + mlp_.weight_offset(l));
      else
        dense_detail::nt_segments<T>(out, in, zb, x, grad + mlp_.weight_offset(l), 0, out);
      T* gb = grad + mlp_.bias_offset(l);
      for (std::size_t r = 0; r < out; ++r) {
        const T* row = zb.base + r * zb.row_stride;
        T acc = 0;
        for (std::size_t i = 0; i < len; ++i) acc += row[i];
        gb[r] += acc;
      }
    }
    if (l == 0) {
      if (input_bar) transposed_product(params, 0, zb, Segments<T>{input_bar + p0, K * n, n, K, len});
      break;
    }
    // Y_bar = W^T Z_bar for this block, then Z_bar of the layer below through the activation.
    const std::size_t m = in * len;
    transposed_product(params, l, zb, Segments<T>{y_bar, len, m, K, len});
    const T* slope = slope_from_output_ ? slope_of_output(hidden_[l].data() + p0 * K * in, m)
                                        : slope_[l].data() + p0 * K * in;
    jet_mul_adjoint<T>(spec_, m, y_bar, slope, z_bar, m, true);
    zb = Segments<const T>{z_bar, len, m, K, len};
  }
}

template void Mlp::init_params<float>(float*, std::uint64_t) const;
template void Mlp::init_params<double>(double*, std::uint64_t) const;
template class MlpJets<float>;
template class MlpJets<double>;

}  // namespace pinnbilo
