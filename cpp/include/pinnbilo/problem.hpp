// An inverse problem as the core sees it, and the loss terms built on it.
//
// Variables: coordinates (t, x, ...) vary per point; parameters (a, ...) are scalars.
// Unknown functions f_k (function.hpp) are small networks of the coordinates.
// PINN: the network takes the coordinates; parameters and functions enter only the residual/transform.
// BiLO: the network also takes the parameters and the function values f_k(z) as inputs, so
// u = u(z, a, f(z); W).  Each parameter and each function is a perturbation direction: a_j -> a_j + e,
// f_k -> f_k + e (a constant shift), and the residual's total derivative along each direction is a
// jet coefficient.
//
// The "upper" variables are one vector: the scalar parameters, then each function's network
// parameters in turn.
#pragma once
#include <cstddef>
#include <memory>
#include <vector>

#include "pinnbilo/function.hpp"
#include "pinnbilo/jet_spec.hpp"
#include "pinnbilo/mlp.hpp"
#include "pinnbilo/program.hpp"

namespace pinnbilo {

enum class Method : int { PINN = 0, BiLO = 1 };

struct ProblemDef {
  int n_coords = 1;
  int n_params = 1;
  std::vector<FunctionDef> functions;
  int n_known = 0;  // known per-point values the residual reads (sources given as data)
  Program transform;  // u from the network output: hard constraints such as u = u0 + t N
  std::vector<Leaf> transform_leaves;
  Program residual;  // r[u](z; a)
  std::vector<Leaf> residual_leaves;

  // Throws InputError for an inconsistent definition.
  void validate() const;
  int n_functions() const { return static_cast<int>(functions.size()); }
  // BiLO's perturbation directions: parameters, then functions.
  int n_perturb(Method m) const { return m == Method::BiLO ? n_params + n_functions() : 0; }
  int n_net_inputs(Method m) const { return n_coords + n_perturb(m); }
  // Offset of function k's network parameters in the upper vector, and that vector's length.
  std::size_t function_offset(int k) const;
  std::size_t n_upper() const { return function_offset(n_functions()); }
  // The coordinate derivatives of u the residual reads.
  std::vector<MultiIndex> residual_derivatives() const;
  // The coordinate derivatives of any function the residual reads.
  std::vector<MultiIndex> function_derivatives() const;
};

// Network + output transform evaluated on jets of a spec over a fixed set of points.
template <class T>
class SolutionJets {
 public:
  // points: n x n_coords, row-major.
  SolutionJets(const Mlp& mlp, const ProblemDef& def, Method method, const JetSpec& spec, const T* points,
               std::size_t n);

  std::size_t n_points() const { return n_; }
  const JetSpec& spec() const { return spec_; }
  // upper: parameters then function weights (ProblemDef::n_upper values).
  void forward(const T* weights, const T* upper);
  const T* u() const { return transform_.output(); }  // K x n
  // The values of coordinate c at the points (n values).
  const T* coordinate(int c) const { return coords_.data() + static_cast<std::size_t>(c) * n_; }
  // Jets of function k (K x n) after forward(), and an adjoint (K x n, zero between backward
  // calls) that callers reading function k may add to before backward().
  const T* function(int k) const { return functions_[static_cast<std::size_t>(k)].output(); }
  T* function_bar(int k) { return function_bar_[static_cast<std::size_t>(k)].data(); }
  // Adds the gradient of the loss with adjoint u_bar (K x n) to grad_w (when not null) and to
  // grad_upper (when not null; the total derivative, through the network inputs for BiLO).
  void backward(const T* weights, const T* upper, const T* u_bar, T* grad_w, T* grad_upper);

 private:
  ProblemDef def_;
  Method method_;
  JetSpec spec_;
  std::size_t n_, kn_;
  std::vector<T> coords_;  // n_coords x n (transposed points)
  MlpJets<T> net_;
  ProgramJets<T> transform_;
  std::vector<FunctionJets<T>> functions_;
  std::vector<std::vector<T>> function_bar_;
  std::vector<T> input_bar_, net_bar_;
};

// The residual on collocation points: L_res = mean r^2 and, for BiLO, L_rgrad = mean |dr/da|^2.
template <class T>
class ResidualTerm {
 public:
  // points: n x n_coords; known: n x n_known (may be null when the problem has none).
  ResidualTerm(const Mlp& mlp, const ProblemDef& def, Method method, const T* points, const T* known,
               std::size_t n);

  struct Losses {
    double res = 0.0, rgrad = 0.0;
  };
  // Evaluates both losses; with grads requested, adds d(w_res L_res + w_rgrad L_rgrad) to them.
  // upper: parameters then function weights; grad_upper likewise.
  Losses evaluate(const T* weights, const T* upper, double w_res, double w_rgrad, T* grad_w, T* grad_upper);
  // The residual r (n values) and, for BiLO, its derivative along each perturbation direction
  // (n_perturb x n) after evaluate().
  const T* residual() const { return program_.output(); }
  // The jet spec of residual(): directions are the parameters (BiLO) or none (PINN).
  const JetSpec& residual_spec() const { return program_.spec(); }
  std::size_t n_points() const { return n_; }
  const JetSpec& net_spec() const { return solution_.spec(); }

 private:
  ProblemDef def_;
  Method method_;
  std::size_t n_;
  SolutionJets<T> solution_;
  ProgramJets<T> program_;
  std::vector<T> r_bar_, u_bar_;
  // Per residual leaf: where its coefficients come from in the solution jet.
  std::vector<int> leaf_value_index_;               // index in the net spec of d^c u (or d^c f)
  std::vector<std::vector<int>> leaf_param_index_;  // BiLO: index of d^c d_{p} u per perturbation p
  std::vector<double> leaf_factorial_;
};

// The data misfit L_data = mean (u(z_i) - d_i)^2.
template <class T>
class DataTerm {
 public:
  DataTerm(const Mlp& mlp, const ProblemDef& def, Method method, const T* points, const T* values, std::size_t n);
  double evaluate(const T* weights, const T* upper, double w_data, T* grad_w, T* grad_upper);
  const T* prediction() const { return solution_.u(); }
  std::size_t n_points() const { return n_; }

 private:
  std::size_t n_;
  SolutionJets<T> solution_;
  std::vector<T> values_, u_bar_;
};

}  // namespace pinnbilo
