// An inverse problem as the core sees it, and the loss terms built on it.
//
// Variables: coordinates (t, x, ...) vary per point; parameters (a, ...) are scalars.
// Fields u_0..u_{F-1} (one by default) are the unknowns the network stands in for; each has its own
// output transform (hard constraints such as S = S0 + t N_S).  Unknown functions f_k
// (function.hpp) are small networks of the coordinates.
// PINN: the network takes the coordinates; parameters and functions enter only the expressions.
// BiLO: the network also takes the parameters and the function values f_k(z) as inputs, so
// u = u(z, a, f(z); W).  Each parameter and each function is a perturbation direction: a_j -> a_j + e,
// f_k -> f_k + e (a constant shift), and an expression's total derivative along each direction is a
// jet coefficient.
//
// A problem statement is data: residual expressions on the collocation points, conditions (each an
// expression on its own points with its own weight) and observations (each an expression of the
// fields on its own points, compared pointwise or as a quadrature sum with data).
//
// The "upper" variables are one vector: the scalar parameters, then each function's network
// parameters in turn.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "pinnbilo/function.hpp"
#include "pinnbilo/jet_spec.hpp"
#include "pinnbilo/mlp.hpp"
#include "pinnbilo/program.hpp"

namespace pinnbilo {

enum class Method : int { PINN = 0, BiLO = 1 };

// An op list and the table of what its leaves read.
struct Expression {
  Program program;
  std::vector<Leaf> leaves;
};

// A condition as a loss term: its expression should vanish on the condition's points.
// paired (periodic conditions): the points come as two halves z_0..z_{m-1}, z_m..z_{2m-1} and the
// residual is e(z_i) - e(z_{m+i}).
struct ConditionDef {
  Expression residual;
  double weight = 1.0;
  bool paired = false;
};

// An observation: point values of an expression of the fields (u, u_x, S + I, ...), or, with
// integral, one value: the quadrature sum  sum_i q_i e(z_i).
struct ObservationDef {
  Expression expr;
  bool integral = false;
};

struct ProblemDef {
  int n_coords = 1;
  int n_params = 1;
  int n_fields = 1;
  std::vector<FunctionDef> functions;
  int n_known = 0;                    // known per-point values the expressions read (sources)
  std::vector<Expression> transforms;  // one per field: the field from the network outputs
  std::vector<Expression> residuals;   // r_m[u](z; a) = 0 on the collocation points
  std::vector<ConditionDef> conditions;
  // What the data measure; empty: point values of field 0 (the single-field default).
  std::vector<ObservationDef> observations;
  // The network reads coordinate c as (z_c - input_shift[c]) * input_scale[c] (empty: as is),
  // e.g. to map a long time interval to [-1, 1]; derivatives stay in the coordinates.
  std::vector<double> input_shift, input_scale;
  // Hard periodicity: periodic[c] = L > 0 makes the network read coordinate c as the two features
  // cos(2 pi z_c / L), sin(2 pi z_c / L), so every field is L-periodic in it (empty or 0: plain).
  std::vector<double> periodic;

  // Throws InputError for an inconsistent definition.
  void validate() const;
  int n_functions() const { return static_cast<int>(functions.size()); }
  // BiLO's perturbation directions: parameters, then functions.
  int n_perturb(Method m) const { return m == Method::BiLO ? n_params + n_functions() : 0; }
  // Jet directions: the coordinates, then BiLO's perturbations.
  int n_dirs(Method m) const { return n_coords + n_perturb(m); }
  // Network inputs: one per plain coordinate, two per periodic one, then the perturbations.
  int n_coord_features() const;
  int n_net_inputs(Method m) const { return n_coord_features() + n_perturb(m); }
  bool is_periodic(int c) const { return !periodic.empty() && periodic[static_cast<std::size_t>(c)] > 0; }
  // Offset of function k's network parameters in the upper vector, and that vector's length.
  std::size_t function_offset(int k) const;
  std::size_t n_upper() const { return function_offset(n_functions()); }
  // The observation list in use: `observations`, or the value of field 0 when it is empty.
  std::vector<ObservationDef> resolved_observations() const;
};

// The network(s) standing in for the fields: one network with a output per field (shared), or one
// single-output network per field.  Their parameters are one flat vector, network after network.
class Networks {
 public:
  explicit Networks(const Mlp& shared) : nets_{shared} { build(); }
  explicit Networks(std::vector<Mlp> per_field) : nets_(std::move(per_field)) { build(); }

  int size() const { return static_cast<int>(nets_.size()); }
  const Mlp& net(int j) const { return nets_[static_cast<std::size_t>(j)]; }
  const std::vector<Mlp>& nets() const { return nets_; }
  std::size_t offset(int j) const { return offsets_[static_cast<std::size_t>(j)]; }
  std::size_t n_params() const { return offsets_.back(); }
  bool shared() const { return nets_.size() == 1; }
  // Field f is output field_output(f) of network field_net(f).
  int field_net(int f) const { return shared() ? 0 : f; }
  int field_output(int f) const { return shared() ? f : 0; }
  // Throws InputError unless the layout fits n_fields fields and n_inputs inputs.
  void validate(int n_fields, int n_inputs) const;
  // Network 0 from `seed` (as a single Mlp would be), each further network from its own stream.
  template <class T>
  void init_params(T* params, std::uint64_t seed) const;

 private:
  void build();
  std::vector<Mlp> nets_;
  std::vector<std::size_t> offsets_;
};

// Network(s) + output transforms evaluated on jets of a spec over a fixed set of points.
template <class T>
class SolutionJets {
 public:
  // points: n x n_coords, row-major.
  SolutionJets(const Networks& nets, const ProblemDef& def, Method method, const JetSpec& spec, const T* points,
               std::size_t n);

  std::size_t n_points() const { return n_; }
  const JetSpec& spec() const { return spec_; }
  // upper: parameters then function weights (ProblemDef::n_upper values).
  void forward(const T* weights, const T* upper);
  // Jets of field f (K x n) after forward().
  const T* u(int f = 0) const { return transforms_[static_cast<std::size_t>(f)].output(); }
  // The values of coordinate c at the points (n values).
  const T* coordinate(int c) const { return coords_.data() + static_cast<std::size_t>(c) * n_; }
  // Jets of function k (K x n) after forward(), and an adjoint (K x n, zero between backward
  // calls) that callers reading function k may add to before backward().
  const T* function(int k) const { return functions_[static_cast<std::size_t>(k)].output(); }
  T* function_bar(int k) { return function_bar_[static_cast<std::size_t>(k)].data(); }
  // Adds the gradient of the loss with adjoint u_bar (n_fields x K x n) to grad_w (when not null)
  // and to grad_upper (when not null; the total derivative, through the network inputs for BiLO).
  void backward(const T* weights, const T* upper, const T* u_bar, T* grad_w, T* grad_upper);

 private:
  ProblemDef def_;
  Networks nets_;
  Method method_;
  JetSpec spec_;
  std::size_t n_, kn_;
  int input0_ = 0;         // the first perturbation input (after the coordinate features)
  std::vector<T> coords_;  // n_coords x n (transposed points)
  std::vector<MlpJets<T>> net_;
  std::vector<ProgramJets<T>> transforms_;
  std::vector<FunctionJets<T>> functions_;
  std::vector<std::vector<T>> function_bar_;
  std::vector<T> input_bar_, inputs_bar_sum_;
  std::vector<std::vector<T>> net_bar_;
  std::vector<char> any_net_;  // per network: read by some transform in this backward pass
};

// Expressions of the fields on one set of points, on the solution jets: each expression's jet
// carries its value and, with perturbation directions (BiLO residuals), its total derivative along
// every parameter and function shift.
template <class T>
class ExpressionJets {
 public:
  // points: n x n_coords; known: n x n_known (null when the problem has none).
  ExpressionJets(const Networks& nets, const ProblemDef& def, Method method, std::vector<Expression> exprs,
                 bool perturbations, const T* points, const T* known, std::size_t n);

  std::size_t n_points() const { return n_; }
  int n_exprs() const { return static_cast<int>(exprs_.size()); }
  // The spec of the outputs: directions are the perturbations (or none).
  const JetSpec& output_spec() const { return programs_.front().spec(); }
  const JetSpec& net_spec() const { return solution_.spec(); }
  void forward(const T* weights, const T* upper);
  const T* output(int e) const { return programs_[static_cast<std::size_t>(e)].output(); }  // Kr x n
  // bars: one adjoint (Kr x n) per expression.  Adds the gradients to grad_w, grad_upper (either may be null).
  void backward(const T* weights, const T* upper, const std::vector<const T*>& bars, T* grad_w, T* grad_upper);

 private:
  ProblemDef def_;
  std::vector<Expression> exprs_;
  Method method_;
  int n_dirs_;  // perturbation directions carried by the outputs
  std::size_t n_;
  SolutionJets<T> solution_;
  std::vector<ProgramJets<T>> programs_;
  std::vector<T> u_bar_;
  // Per expression and leaf: where a u-derivative or function leaf's coefficients sit in the solution jet.
  struct LeafMap {
    int value = -1;               // index in the net spec of d^c u_f (or d^c f_k)
    std::vector<int> directions;  // index of d^c d_p u_f per perturbation p
    double factorial = 1.0;
  };
  std::vector<std::vector<LeafMap>> maps_;
};

// The residuals on collocation points (or a condition's residual on its points):
//   L_res = mean_i sum_m r_m(z_i)^2   and, for BiLO, L_rgrad = mean_i sum_m sum_p (d r_m / d p)^2.
template <class T>
class ResidualTerm {
 public:
  ResidualTerm(const Networks& nets, const ProblemDef& def, Method method, std::vector<Expression> residuals,
               bool paired, const T* points, const T* known, std::size_t n);
  // Holds pointers into its own buffers: not copyable.
  ResidualTerm(const ResidualTerm&) = delete;
  ResidualTerm& operator=(const ResidualTerm&) = delete;

  struct Losses {
    double res = 0.0, rgrad = 0.0;
  };
  // Evaluates both losses; with grads requested, adds d(w_res L_res + w_rgrad L_rgrad) to them.
  Losses evaluate(const T* weights, const T* upper, double w_res, double w_rgrad, T* grad_w, T* grad_upper);
  // After evaluate(): residual m's jet over the perturbation spec (Kr x rows): row values in the
  // constant coefficient, dr/dp in the unit coefficient of p.
  const T* residual(int m) const;
  int n_residuals() const { return jets_.n_exprs(); }
  const JetSpec& residual_spec() const { return jets_.output_spec(); }
  std::size_t n_rows() const { return rows_; }  // points, or pairs when paired

 private:
  ExpressionJets<T> jets_;
  bool paired_;
  std::size_t rows_;
  std::vector<std::vector<T>> diff_, bar_;
  std::vector<const T*> bar_ptrs_;  // bar_[m].data(), for ExpressionJets::backward
};

// The data misfit of one observation: sum_r w_r (y_r - d_r)^2, y_r = e(z_r) (point) or
// sum_i q_i e(z_i) (integral, one row).  The trainer divides the sum over observations by the
// number of rows.
template <class T>
class ObservationTerm {
 public:
  // values, weights: n (point) or 1 (integral) each; quadrature: n (integral only).
  ObservationTerm(const Networks& nets, const ProblemDef& def, Method method, const ObservationDef& obs,
                  const T* points, std::size_t n, const T* values, const T* weights, const T* quadrature,
                  const T* known);
  ObservationTerm(const ObservationTerm&) = delete;
  ObservationTerm& operator=(const ObservationTerm&) = delete;
  // The weighted sum of squares; adds d(scale * sum) to the gradients when requested.
  // row_weights (n_rows values) replaces the term's own weights when not null.
  double evaluate(const T* weights, const T* upper, double scale, T* grad_w, T* grad_upper,
                  const T* row_weights = nullptr);
  std::size_t n_rows() const { return values_.size(); }
  // The predictions y_r after evaluate() (n_rows values).
  const std::vector<T>& prediction() const { return pred_; }

 private:
  bool integral_;
  ExpressionJets<T> jets_;
  std::vector<T> values_, weights_, quadrature_, pred_, bar_;
  std::vector<const T*> bar_ptrs_;  // {bar_.data()}
};

}  // namespace pinnbilo
