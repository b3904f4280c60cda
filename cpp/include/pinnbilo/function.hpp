// Unknown functions inside an equation: f(z) = transform(F(z_sub)), a small network F of a
// subset of the coordinates with its own output transform (e.g. f = 1 + x(1-x) F(x)).
//
// Their jets are evaluated on the same spec as the solution network, so f and its coordinate
// derivatives can feed the solution network (BiLO), its transform and the residual.  A function
// does not depend on the scalar parameters: its coefficients of every non-coordinate monomial are 0.
#pragma once
#include <cstddef>
#include <vector>

#include "pinnbilo/jet_spec.hpp"
#include "pinnbilo/mlp.hpp"
#include "pinnbilo/program.hpp"

namespace pinnbilo {

enum class LeafKind : int {
  Coord = 0,   // coordinate `index`
  Param = 1,   // parameter `index`
  Net = 2,     // network output (transform programs only)
  UDeriv = 3,  // d^deriv u (residual programs only); deriv is a multi-index over coordinates
  Func = 4,    // d^deriv f_index (residual programs; value only in transforms)
  Known = 5,   // a known per-point value, column `index` of the collocation's known values (residual only)
};

struct Leaf {
  LeafKind kind = LeafKind::Coord;
  int index = 0;
  MultiIndex deriv;
};

struct FunctionDef {
  std::vector<int> inputs;  // the coordinates the network reads, in order
  Mlp net{{1, 1}, Func::Tanh};
  Program transform;  // f from the network output `Net` and coordinates
  std::vector<Leaf> transform_leaves;

  // Throws InputError when inconsistent with a problem of n_coords coordinates.
  void validate(int n_coords) const;
};

// A function's jets on a spec whose first n_coords directions are the coordinates.
template <class T>
class FunctionJets {
 public:
  // coords: n_coords x n (one row of values per coordinate).
  FunctionJets(const FunctionDef& def, const JetSpec& spec, const T* coords, int n_coords, std::size_t n);

  void forward(const T* weights);
  const T* output() const { return transform_.output(); }  // K x n
  // Adds the gradient for the adjoint f_bar (K x n) to grad (n_params of the network).
  void backward(const T* weights, const T* f_bar, T* grad);

 private:
  FunctionDef def_;
  std::size_t kn_;
  MlpJets<T> net_;
  ProgramJets<T> transform_;
  std::vector<T> net_bar_;
};

// Smoothness regulariser over points: L_reg = mean_i sum_f |grad f(z_i)|^2 (gradient over the
// function's own inputs).
template <class T>
class SmoothnessTerm {
 public:
  // points: n x n_coords, row-major.
  SmoothnessTerm(const std::vector<FunctionDef>& functions, int n_coords, const T* points, std::size_t n);
  // weights: the functions' parameters one after another; adds d(w_reg L_reg) to grad when not null.
  double evaluate(const T* weights, double w_reg, T* grad);

 private:
  std::vector<FunctionDef> functions_;
  std::vector<std::size_t> offsets_;
  std::size_t n_;
  JetSpec spec_;
  std::vector<T> coords_;
  std::vector<FunctionJets<T>> jets_;
  std::vector<T> bar_;
};

}  // namespace pinnbilo
