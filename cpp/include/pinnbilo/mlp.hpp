// Multilayer perceptron evaluated on jets, with its reverse pass.
//
// Parameters live in one flat array owned by the caller (so optimisers and checkpoints see a
// single vector): for each layer l, W_l (out x in, row-major) followed by b_l (out).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "pinnbilo/dense.hpp"
#include "pinnbilo/elementary.hpp"
#include "pinnbilo/jet_spec.hpp"

namespace pinnbilo {

class Mlp {
 public:
  // sizes = {inputs, hidden..., outputs}; the activation acts after every hidden layer.
  Mlp(std::vector<int> sizes, Func activation);

  const std::vector<int>& sizes() const { return sizes_; }
  int n_inputs() const { return sizes_.front(); }
  int n_outputs() const { return sizes_.back(); }
  int n_layers() const { return static_cast<int>(sizes_.size()) - 1; }
  int max_width() const { return max_width_; }
  std::size_t n_params() const { return n_params_; }
  std::size_t weight_offset(int layer) const { return offsets_[static_cast<std::size_t>(layer)]; }
  std::size_t bias_offset(int layer) const;
  Func activation() const { return activation_; }

  // Glorot-normal weights, zero biases; the same seed gives the same values on every platform.
  template <class T>
  void init_params(T* params, std::uint64_t seed) const;

 private:
  std::vector<int> sizes_;
  Func activation_;
  std::vector<std::size_t> offsets_;
  std::size_t n_params_ = 0;
  int max_width_ = 0;
};

// Workspace for evaluating an Mlp on jets of one spec over n points; sized once, reused every step.
//
// The points are taken in blocks small enough that a layer's jets over one block stay in L2:
// forward, each block goes through a layer's product, bias and activation rule while it is hot;
// reverse, through the transposed product, the activation's adjoint and the weight-gradient
// product.  Blocks are independent, so threads take whole blocks.  Weight gradients are summed
// in a fixed number of lanes (block b in lane b mod lanes) and the lanes added in order at the
// end, so results are the same bit for bit whatever the number of threads.
template <class T>
class MlpJets {
 public:
  MlpJets(const Mlp& mlp, const JetSpec& spec, std::size_t n);

  std::size_t n_points() const { return n_; }
  const JetSpec& spec() const { return spec_; }
  // Input jets, n_inputs x K x n: the caller fills them before forward().
  T* input() { return input_.data(); }
  const T* input() const { return input_.data(); }
  // Output jets, n_outputs x K x n, valid after forward().
  const T* output() const { return output_.data(); }

  void forward(const T* params);
  // out_bar: n_outputs x K x n.  Adds d(loss)/d(params) into grad (n_params) when it is not
  // null; writes the adjoint of the input jets into input_bar (n_inputs x K x n) when it is not null.
  void backward(const T* params, const T* out_bar, T* grad, T* input_bar);

  // Points per block (all blocks but the last have this many).
  std::size_t block_points() const { return block_; }

 private:
  void forward_block(const T* params, std::size_t b);
  void backward_block(const T* params, const T* out_bar, T* grad, T* input_bar, std::size_t b);
  void transposed_product(const T* params, int l, dense_detail::Segments<const T> z_bar,
                          dense_detail::Segments<T> y_bar) const;
  std::size_t threads_for(std::size_t tasks) const;
  const T* slope_of_output(const T* y, std::size_t m) const;

  Mlp mlp_;
  JetSpec spec_;
  std::size_t n_, K_, block_, n_blocks_, lanes_;
  std::vector<T> input_, output_;
  // Hidden layers l = 1..L-1: the activation outputs y (the next layer's input) and slopes f'(z),
  // stored block after block; inside a block coefficient-major over (neuron, point):
  // element (k, neuron r, point i) of block b at b*block_*K*width + k*width*len + r*len + i.
  std::vector<std::vector<T>> hidden_, slope_;
  // When f' = q(f) with q quadratic (tanh, sigmoid: derivative_from_value), the slopes are formed
  // from the stored outputs in the reverse pass (one jet product on a block in cache), which is
  // cheaper than storing them and reading them back from memory.
  bool slope_from_output_ = false;
  double slope_q_[3] = {0.0, 0.0, 0.0};
  std::vector<std::vector<T>> packed_w_, packed_wt_;  // per layer: W and W^T packed for the products
  std::vector<T> lane_grad_;                          // lanes x n_params
};

}  // namespace pinnbilo
