// An inverse problem as the core sees it, and the loss terms built on it.
//
// Variables: coordinates (t, x, ...) vary per point; parameters (a, ...) are scalars.
// PINN: the network takes the coordinates; parameters enter only the residual/transform.
// BiLO: the network also takes the parameters as inputs, so u = u(z, a; W) and the residual's
// total derivative d r / d a is available as a jet coefficient.
#pragma once
#include <cstddef>
#include <memory>
#include <vector>

#include "pinnbilo/jet_spec.hpp"
#include "pinnbilo/mlp.hpp"
#include "pinnbilo/program.hpp"

namespace pinnbilo {

enum class Method : int { PINN = 0, BiLO = 1 };

enum class LeafKind : int {
  Coord = 0,   // coordinate `index`
  Param = 1,   // parameter `index`
  Net = 2,     // network output (transform programs only)
  UDeriv = 3,  // d^deriv u (residual programs only); deriv is a multi-index over coordinates
};

struct Leaf {
  LeafKind kind = LeafKind::Coord;
  int index = 0;
  MultiIndex deriv;
};

struct ProblemDef {
  int n_coords = 1;
  int n_params = 1;
  Program transform;  // u from the network output: hard constraints such as u = u0 + t N
  std::vector<Leaf> transform_leaves;
  Program residual;  // r[u](z; a)
  std::vector<Leaf> residual_leaves;

  // Throws InputError for an inconsistent definition.
  void validate() const;
  int n_net_inputs(Method m) const { return n_coords + (m == Method::BiLO ? n_params : 0); }
  // The coordinate derivatives of u the residual reads.
  std::vector<MultiIndex> residual_derivatives() const;
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
  void forward(const T* weights, const T* params);
  const T* u() const { return transform_.output(); }  // K x n
  // The values of coordinate c at the points (n values).
  const T* coordinate(int c) const { return coords_.data() + static_cast<std::size_t>(c) * n_; }
  // Adds the gradient of the loss with adjoint u_bar (K x n) to grad_w (when not null) and to
  // grad_params (when not null; the total derivative, through the network input for BiLO).
  void backward(const T* weights, const T* u_bar, T* grad_w, T* grad_params);

 private:
  ProblemDef def_;
  Method method_;
  JetSpec spec_;
  std::size_t n_, kn_;
  std::vector<T> coords_;  // n_coords x n (transposed points)
  MlpJets<T> net_;
  ProgramJets<T> transform_;
  std::vector<T> input_bar_, net_bar_;
};

// The residual on collocation points: L_res = mean r^2 and, for BiLO, L_rgrad = mean |dr/da|^2.
template <class T>
class ResidualTerm {
 public:
  ResidualTerm(const Mlp& mlp, const ProblemDef& def, Method method, const T* points, std::size_t n);

  struct Losses {
    double res = 0.0, rgrad = 0.0;
  };
  // Evaluates both losses; with grads requested, adds d(w_res L_res + w_rgrad L_rgrad) to them.
  Losses evaluate(const T* weights, const T* params, double w_res, double w_rgrad, T* grad_w, T* grad_params);
  // The residual r (n values) and, for BiLO, dr/da_j (n_params x n) after evaluate().
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
  std::vector<int> leaf_value_index_;               // index in the net spec of d^c u
  std::vector<std::vector<int>> leaf_param_index_;  // BiLO: index of d^c d_{a_j} u
  std::vector<double> leaf_factorial_;
};

// The data misfit L_data = mean (u(z_i) - d_i)^2.
template <class T>
class DataTerm {
 public:
  DataTerm(const Mlp& mlp, const ProblemDef& def, Method method, const T* points, const T* values, std::size_t n);
  double evaluate(const T* weights, const T* params, double w_data, T* grad_w, T* grad_params);
  const T* prediction() const { return solution_.u(); }
  std::size_t n_points() const { return n_; }

 private:
  std::size_t n_;
  SolutionJets<T> solution_;
  std::vector<T> values_, u_bar_;
};

}  // namespace pinnbilo
