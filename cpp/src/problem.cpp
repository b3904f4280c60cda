#include "pinnbilo/problem.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <string>

#include "pinnbilo/error.hpp"
#include "pinnbilo/jet_ops.hpp"

namespace pinnbilo {
namespace {

template <class T>
void require_finite(const T* values, std::size_t count, const char* what) {
  for (std::size_t i = 0; i < count; ++i)
    require(std::isfinite(static_cast<double>(values[i])),
            std::string(what) + " contains NaN or inf at flat index " + std::to_string(i));
}

MultiIndex padded(const MultiIndex& coord_index, int n_dirs) {
  MultiIndex m(static_cast<std::size_t>(n_dirs), 0);
  std::copy(coord_index.begin(), coord_index.end(), m.begin());
  return m;
}

double factorial_of(const MultiIndex& a) {
  double f = 1.0;
  for (int v : a)
    for (int i = 2; i <= v; ++i) f *= i;
  return f;
}

// Transforms read the network outputs, coordinates, parameters and function values; every other
// expression reads coordinates, parameters, derivatives of the fields, functions and known values.
void validate_expression(const Expression& e, const ProblemDef& def, bool transform, const std::string& where) {
  e.program.validate();
  require(static_cast<int>(e.leaves.size()) >= e.program.n_leaves(),
          where + ": the program reads leaf ids beyond the leaf table");
  auto check_multi_index = [&](const MultiIndex& m) {
    require(m.size() == static_cast<std::size_t>(def.n_coords),
            where + " leaf: a derivative multi-index must have one entry per coordinate");
    for (int d : m) require(d >= 0 && d <= 8, where + " leaf: derivative orders must be in [0, 8]");
  };
  for (const Leaf& leaf : e.leaves) {
    switch (leaf.kind) {
      case LeafKind::Coord:
        require(leaf.index >= 0 && leaf.index < def.n_coords, where + " leaf: coordinate index out of range");
        break;
      case LeafKind::Param:
        require(leaf.index >= 0 && leaf.index < def.n_params, where + " leaf: parameter index out of range");
        break;
      case LeafKind::Net:
        require(transform, where + " leaf: the network output can only be read by an output transform");
        require(leaf.index >= 0 && leaf.index < def.n_fields, where + " leaf: network output index out of range");
        break;
      case LeafKind::UDeriv:
        require(!transform, where + " leaf: derivatives of the fields cannot be read by an output transform");
        require(leaf.index >= 0 && leaf.index < def.n_fields, where + " leaf: field index out of range");
        check_multi_index(leaf.deriv);
        break;
      case LeafKind::Func:
        require(leaf.index >= 0 && leaf.index < def.n_functions(), where + " leaf: function index out of range");
        if (transform) {
          for (int d : leaf.deriv)
            require(d == 0, where + " leaf: an output transform may read function values, not their derivatives");
        } else {
          check_multi_index(leaf.deriv);
        }
        break;
      case LeafKind::Known:
        require(!transform, where + " leaf: known per-point values cannot be read by an output transform");
        require(leaf.index >= 0 && leaf.index < def.n_known, where + " leaf: known-value column out of range");
        break;
      default: throw InputError(where + " leaf: unknown kind");
    }
  }
}

Expression field_value(int f, int n_coords) {
  Expression e;
  e.leaves = {{LeafKind::UDeriv, f, MultiIndex(static_cast<std::size_t>(n_coords), 0)}};
  Instruction ins;
  ins.op = OpCode::Leaf;
  ins.leaf = 0;
  e.program.code = {ins};
  return e;
}

}  // namespace

void ProblemDef::validate() const {
  require(n_coords >= 1, "problem: need at least one coordinate");
  require(n_params >= 0, "problem: the number of parameters must be >= 0");
  require(n_fields >= 1, "problem: need at least one field");
  require(n_known >= 0, "problem: the number of known per-point values must be >= 0");
  require(static_cast<int>(transforms.size()) == n_fields,
          "problem: need one output transform per field: got " + std::to_string(transforms.size()) + " for " +
              std::to_string(n_fields) + " fields");
  require(!residuals.empty(), "problem: need at least one residual");
  for (const FunctionDef& f : functions) f.validate(n_coords);
  for (std::size_t f = 0; f < transforms.size(); ++f)
    validate_expression(transforms[f], *this, true, "transform of field " + std::to_string(f));
  for (std::size_t m = 0; m < residuals.size(); ++m)
    validate_expression(residuals[m], *this, false, "residual " + std::to_string(m));
  for (std::size_t c = 0; c < conditions.size(); ++c) {
    const std::string where = "condition " + std::to_string(c);
    validate_expression(conditions[c].residual, *this, false, where);
    require(std::isfinite(conditions[c].weight) && conditions[c].weight >= 0,
            where + ": the weight must be finite and >= 0");
  }
  for (std::size_t o = 0; o < observations.size(); ++o)
    validate_expression(observations[o].expr, *this, false, "observation " + std::to_string(o));
  require(input_shift.size() == input_scale.size() &&
              (input_shift.empty() || input_shift.size() == static_cast<std::size_t>(n_coords)),
          "problem: input shift and scale need one entry per coordinate each (or none)");
  for (std::size_t c = 0; c < input_scale.size(); ++c)
    require(std::isfinite(input_shift[c]) && std::isfinite(input_scale[c]) && input_scale[c] > 0,
            "problem: input shifts must be finite and input scales finite and > 0");
  require(periodic.empty() || periodic.size() == static_cast<std::size_t>(n_coords),
          "problem: periodic needs one period per coordinate (0: not periodic), or none");
  for (double L : periodic) require(std::isfinite(L) && L >= 0, "problem: periods must be finite and >= 0");
}

int ProblemDef::n_coord_features() const {
  int n = n_coords;
  for (int c = 0; c < n_coords; ++c) n += is_periodic(c) ? 1 : 0;
  return n;
}

std::size_t ProblemDef::function_offset(int k) const {
  std::size_t off = static_cast<std::size_t>(n_params);
  for (int j = 0; j < k; ++j) off += functions[static_cast<std::size_t>(j)].net.n_params();
  return off;
}

std::vector<ObservationDef> ProblemDef::resolved_observations() const {
  if (!observations.empty()) return observations;
  return {ObservationDef{field_value(0, n_coords), false}};
}

// ---------------------------------------------------------------------------------------------
// Networks

void Networks::build() {
  require(!nets_.empty(), "networks: need at least one network");
  offsets_.assign(1, 0);
  for (const Mlp& m : nets_) offsets_.push_back(offsets_.back() + m.n_params());
}

void Networks::validate(int n_fields, int n_inputs) const {
  if (shared()) {
    require(nets_[0].n_outputs() == n_fields, "network has " + std::to_string(nets_[0].n_outputs()) +
                                                  " outputs for " + std::to_string(n_fields) +
                                                  " fields: a shared network needs one output per field");
  } else {
    require(size() == n_fields, "got " + std::to_string(size()) + " networks for " + std::to_string(n_fields) +
                                    " fields: one network per field, or one shared network");
    for (const Mlp& m : nets_) require(m.n_outputs() == 1, "a per-field network must have exactly one output");
  }
  for (const Mlp& m : nets_)
    require(m.n_inputs() == n_inputs, "network has " + std::to_string(m.n_inputs()) + " inputs, the problem needs " +
                                          std::to_string(n_inputs));
}

template <class T>
void Networks::init_params(T* params, std::uint64_t seed) const {
  for (int j = 0; j < size(); ++j)
    net(j).init_params(params + offset(j), seed + 0xD1B54A32D192ED03ULL * static_cast<std::uint64_t>(j));
}

template void Networks::init_params<float>(float*, std::uint64_t) const;
template void Networks::init_params<double>(double*, std::uint64_t) const;

// ---------------------------------------------------------------------------------------------
// SolutionJets

namespace {

// jet[unit(dir)] = value: the coefficient of a variable's own direction.
template <class T>
void set_unit(const JetSpec& spec, int dir, std::size_t n, T* jet, T value = T(1)) {
  const int u = spec.unit(dir);
  if (u >= 0) std::fill(jet + static_cast<std::size_t>(u) * n, jet + static_cast<std::size_t>(u + 1) * n, value);
}

}  // namespace

template <class T>
SolutionJets<T>::SolutionJets(const Networks& nets, const ProblemDef& def, Method method, const JetSpec& spec,
                              const T* points, std::size_t n)
    : def_(def), nets_(nets), method_(method), spec_(spec), n_(n), kn_(static_cast<std::size_t>(spec.size()) * n) {
  def_.validate();
  const int n_inputs = def_.n_net_inputs(method);
  nets_.validate(def_.n_fields, n_inputs);
  require(spec.n_dirs() == def_.n_dirs(method), "jet spec directions must match the coordinates and perturbations");
  require(n > 0, "need at least one point");
  require_finite(points, n * static_cast<std::size_t>(def_.n_coords), "points");
  const std::size_t nc = static_cast<std::size_t>(def_.n_coords);
  coords_.resize(nc * n);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t c = 0; c < nc; ++c) coords_[c * n + i] = points[i * nc + c];
  for (const FunctionDef& f : def_.functions) {
    functions_.emplace_back(f, spec_, coords_.data(), def_.n_coords, n);
    function_bar_.emplace_back(kn_, T(0));
  }
  // Network inputs: value in the constant row, 1 in the row of the input's own direction.
  // Parameter values and function jets are written by forward().
  // The coordinate features, the same for every network: a plain coordinate (shifted and scaled)
  // is one input, a periodic one the jets of cos and sin of 2 pi z / L.
  std::vector<T> features(static_cast<std::size_t>(def_.n_coord_features()) * kn_, T(0));
  {
    const bool scaled = !def_.input_scale.empty();
    std::vector<T> angle(kn_), scratch(jet_unary_scratch(spec_, n));
    std::size_t row = 0;
    for (int c = 0; c < def_.n_coords; ++c) {
      const T* x = coords_.data() + static_cast<std::size_t>(c) * n;
      if (def_.is_periodic(c)) {
        const T w = static_cast<T>(2.0 * 3.14159265358979323846 / def_.periodic[static_cast<std::size_t>(c)]);
        std::fill(angle.begin(), angle.end(), T(0));
        for (std::size_t i = 0; i < n; ++i) angle[i] = w * x[i];
        set_unit(spec_, c, n, angle.data(), w);
        jet_unary<T>(spec_, n, Func::Cos, T(0), angle.data(), features.data() + row++ * kn_, nullptr, scratch.data());
        jet_unary<T>(spec_, n, Func::Sin, T(0), angle.data(), features.data() + row++ * kn_, nullptr, scratch.data());
        continue;
      }
      const T shift = scaled ? static_cast<T>(def_.input_shift[static_cast<std::size_t>(c)]) : T(0);
      const T scale = scaled ? static_cast<T>(def_.input_scale[static_cast<std::size_t>(c)]) : T(1);
      T* jet = features.data() + row++ * kn_;
      for (std::size_t i = 0; i < n; ++i) jet[i] = (x[i] - shift) * scale;
      set_unit(spec_, c, n, jet, scale);
    }
  }
  input0_ = def_.n_coord_features();
  for (int j = 0; j < nets_.size(); ++j) {
    net_.emplace_back(nets_.net(j), spec_, n);
    T* in = net_.back().input();
    std::fill(in, in + static_cast<std::size_t>(n_inputs) * kn_, T(0));
    std::copy(features.begin(), features.end(), in);
    for (int p = 0; p < def_.n_params && method == Method::BiLO; ++p)
      set_unit(spec_, def_.n_coords + p, n, in + static_cast<std::size_t>(input0_ + p) * kn_);
    net_bar_.emplace_back(static_cast<std::size_t>(nets_.net(j).n_outputs()) * kn_, T(0));
  }
  // Transform leaves that do not change between steps.
  for (const Expression& e : def_.transforms) {
    transforms_.emplace_back(e.program, spec_, n);
    for (std::size_t id = 0; id < e.leaves.size(); ++id) {
      T* jet = transforms_.back().leaf(static_cast<int>(id));
      if (!jet) continue;
      std::fill(jet, jet + kn_, T(0));
      const Leaf& leaf = e.leaves[id];
      if (leaf.kind == LeafKind::Coord) {
        std::copy(coords_.begin() + static_cast<std::ptrdiff_t>(leaf.index * n),
                  coords_.begin() + static_cast<std::ptrdiff_t>((leaf.index + 1) * n), jet);
        set_unit(spec_, leaf.index, n, jet);
      } else if (leaf.kind == LeafKind::Param && method == Method::BiLO) {
        set_unit(spec_, def_.n_coords + leaf.index, n, jet);
      }
    }
  }
  input_bar_.resize(static_cast<std::size_t>(n_inputs) * kn_);
  inputs_bar_sum_.resize(static_cast<std::size_t>(n_inputs) * kn_);
  any_net_.assign(net_.size(), 0);
}

template <class T>
void SolutionJets<T>::forward(const T* weights, const T* upper) {
  const int shift_dir0 = def_.n_coords + def_.n_params;  // BiLO: direction of function 0's shift
  for (std::size_t k = 0; k < functions_.size(); ++k)
    functions_[k].forward(upper + def_.function_offset(static_cast<int>(k)));
  for (std::size_t j = 0; j < net_.size(); ++j) {
    if (method_ == Method::BiLO) {
      for (int p = 0; p < def_.n_params; ++p) {
        T* jet = net_[j].input() + static_cast<std::size_t>(input0_ + p) * kn_;
        std::fill(jet, jet + n_, upper[p]);
      }
      // Function inputs: the jet of f_k plus the constant shift along its own direction.
      for (int k = 0; k < def_.n_functions(); ++k) {
        T* jet = net_[j].input() + static_cast<std::size_t>(input0_ + def_.n_params + k) * kn_;
        std::copy(function(k), function(k) + kn_, jet);
        set_unit(spec_, shift_dir0 + k, n_, jet);
      }
    }
    net_[j].forward(weights + nets_.offset(static_cast<int>(j)));
  }
  for (std::size_t f = 0; f < transforms_.size(); ++f) {
    const Expression& e = def_.transforms[f];
    for (std::size_t id = 0; id < e.leaves.size(); ++id) {
      T* jet = transforms_[f].leaf(static_cast<int>(id));
      if (!jet) continue;
      const Leaf& leaf = e.leaves[id];
      if (leaf.kind == LeafKind::Net) {
        const T* out = net_[static_cast<std::size_t>(nets_.field_net(leaf.index))].output() +
                       static_cast<std::size_t>(nets_.field_output(leaf.index)) * kn_;
        std::copy(out, out + kn_, jet);
      }
      if (leaf.kind == LeafKind::Param) std::fill(jet, jet + n_, upper[leaf.index]);
      if (leaf.kind == LeafKind::Func) {
        std::copy(function(leaf.index), function(leaf.index) + kn_, jet);
        if (method_ == Method::BiLO) set_unit(spec_, shift_dir0 + leaf.index, n_, jet);
      }
    }
    transforms_[f].forward();
  }
}

template <class T>
void SolutionJets<T>::backward(const T* weights, const T* upper, const T* u_bar, T* grad_w, T* grad_upper) {
  std::fill(any_net_.begin(), any_net_.end(), char(0));
  for (auto& b : net_bar_) std::fill(b.begin(), b.end(), T(0));
  for (std::size_t f = 0; f < transforms_.size(); ++f) {
    transforms_[f].backward(u_bar + f * kn_);
    const Expression& e = def_.transforms[f];
    for (std::size_t id = 0; id < e.leaves.size(); ++id) {
      const Leaf& leaf = e.leaves[id];
      const T* bar = transforms_[f].leaf_bar(static_cast<int>(id));
      if (!bar) continue;
      if (leaf.kind == LeafKind::Net) {
        const std::size_t j = static_cast<std::size_t>(nets_.field_net(leaf.index));
        any_net_[j] = 1;
        T* nb = net_bar_[j].data() + static_cast<std::size_t>(nets_.field_output(leaf.index)) * kn_;
        for (std::size_t q = 0; q < kn_; ++q) nb[q] += bar[q];
      } else if (leaf.kind == LeafKind::Param && grad_upper) {
        T acc = 0;
        for (std::size_t i = 0; i < n_; ++i) acc += bar[i];
        grad_upper[leaf.index] += acc;
      } else if (leaf.kind == LeafKind::Func && grad_upper) {
        T* fb = function_bar(leaf.index);
        for (std::size_t q = 0; q < kn_; ++q) fb[q] += bar[q];
      }
    }
  }
  const bool through_input = grad_upper && def_.n_perturb(method_) > 0;
  bool any_input = false;
  for (std::size_t j = 0; j < net_.size(); ++j) {
    if (!any_net_[j] || !(grad_w || through_input)) continue;
    const std::size_t off = nets_.offset(static_cast<int>(j));
    net_[j].backward(weights + off, net_bar_[j].data(), grad_w ? grad_w + off : nullptr,
                     through_input ? input_bar_.data() : nullptr);
    if (!through_input) continue;
    if (!any_input) std::copy(input_bar_.begin(), input_bar_.end(), inputs_bar_sum_.begin());
    else
      for (std::size_t q = 0; q < input_bar_.size(); ++q) inputs_bar_sum_[q] += input_bar_[q];
    any_input = true;
  }
  if (any_input) {
    // A parameter input carries its value in the constant row only; a function input carries
    // the whole jet of f_k.
    for (int p = 0; p < def_.n_params; ++p) {
      const T* bar = inputs_bar_sum_.data() + static_cast<std::size_t>(input0_ + p) * kn_;
      T acc = 0;
      for (std::size_t i = 0; i < n_; ++i) acc += bar[i];
      grad_upper[p] += acc;
    }
    for (int k = 0; k < def_.n_functions(); ++k) {
      const T* bar = inputs_bar_sum_.data() + static_cast<std::size_t>(input0_ + def_.n_params + k) * kn_;
      T* fb = function_bar(k);
      for (std::size_t q = 0; q < kn_; ++q) fb[q] += bar[q];
    }
  }
  for (std::size_t k = 0; k < functions_.size(); ++k) {
    const std::size_t off = def_.function_offset(static_cast<int>(k));
    if (grad_upper) functions_[k].backward(upper + off, function_bar_[k].data(), grad_upper + off);
    std::fill(function_bar_[k].begin(), function_bar_[k].end(), T(0));
  }
}

// ---------------------------------------------------------------------------------------------
// ExpressionJets

namespace {

JetSpec expression_net_spec(const ProblemDef& def, Method method, const std::vector<Expression>& exprs,
                            bool perturbations) {
  const int n_inputs = def.n_dirs(method);
  const int np = perturbations ? def.n_perturb(method) : 0;
  std::set<MultiIndex> wanted;
  for (const Expression& e : exprs)
    for (const Leaf& leaf : e.leaves) {
      if (leaf.kind != LeafKind::UDeriv && leaf.kind != LeafKind::Func) continue;
      wanted.insert(padded(leaf.deriv, n_inputs));
      // The functions' jets share the spec; only the fields move along the perturbation directions.
      if (leaf.kind != LeafKind::UDeriv) continue;
      for (int p = 0; p < np; ++p) {
        MultiIndex m = padded(leaf.deriv, n_inputs);
        m[static_cast<std::size_t>(def.n_coords + p)] += 1;
        wanted.insert(m);
      }
    }
  return JetSpec(n_inputs, {wanted.begin(), wanted.end()});
}

JetSpec perturbation_spec(int np) {
  if (np == 0) return JetSpec(0);
  std::vector<MultiIndex> wanted;
  for (int p = 0; p < np; ++p) {
    MultiIndex e(static_cast<std::size_t>(np), 0);
    e[static_cast<std::size_t>(p)] = 1;
    wanted.push_back(e);
  }
  return JetSpec(np, wanted);
}

}  // namespace

template <class T>
ExpressionJets<T>::ExpressionJets(const Networks& nets, const ProblemDef& def, Method method,
                                  std::vector<Expression> exprs, bool perturbations, const T* points, const T* known,
                                  std::size_t n)
    : def_(def),
      exprs_(std::move(exprs)),
      method_(method),
      n_dirs_(perturbations ? def.n_perturb(method) : 0),
      n_(n),
      solution_(nets, def, method, expression_net_spec(def, method, exprs_, perturbations), points, n) {
  require(!exprs_.empty(), "need at least one expression");
  for (std::size_t e = 0; e < exprs_.size(); ++e)
    validate_expression(exprs_[e], def_, false, "expression " + std::to_string(e));
  bool reads_known = false;
  for (const Expression& e : exprs_)
    for (const Leaf& leaf : e.leaves) reads_known = reads_known || leaf.kind == LeafKind::Known;
  require(!reads_known || known != nullptr, "the expressions read known values but none were given");
  if (reads_known) require_finite(known, n * static_cast<std::size_t>(def_.n_known), "known values");
  const JetSpec rs = perturbation_spec(n_dirs_);
  const JetSpec& net = solution_.spec();
  const std::size_t kr = static_cast<std::size_t>(rs.size());
  const int n_inputs = def_.n_dirs(method);
  for (const Expression& e : exprs_) {
    programs_.emplace_back(e.program, rs, n);
    ProgramJets<T>& prog = programs_.back();
    std::vector<LeafMap> maps(e.leaves.size());
    for (std::size_t id = 0; id < e.leaves.size(); ++id) {
      const Leaf& leaf = e.leaves[id];
      T* jet = prog.leaf(static_cast<int>(id));
      if (jet) std::fill(jet, jet + kr * n, T(0));
      LeafMap& map = maps[id];
      if (leaf.kind == LeafKind::UDeriv || leaf.kind == LeafKind::Func) {
        map.value = net.index_of(padded(leaf.deriv, n_inputs));
        map.factorial = factorial_of(leaf.deriv);
      }
      if (leaf.kind == LeafKind::UDeriv) {
        for (int p = 0; p < n_dirs_; ++p) {
          MultiIndex mp = padded(leaf.deriv, n_inputs);
          mp[static_cast<std::size_t>(def_.n_coords + p)] += 1;
          map.directions.push_back(net.index_of(mp));
        }
      } else if (leaf.kind == LeafKind::Func && jet && n_dirs_ > 0) {
        // f_k shifted by a constant along its own direction: only its value moves.
        bool value = true;
        for (int d : leaf.deriv) value = value && d == 0;
        if (value) set_unit(rs, def_.n_params + leaf.index, n, jet);
      } else if (leaf.kind == LeafKind::Coord && jet) {
        const T* x = solution_.coordinate(leaf.index);
        std::copy(x, x + n, jet);
      } else if (leaf.kind == LeafKind::Param && jet && n_dirs_ > 0) {
        set_unit(rs, leaf.index, n, jet);
      } else if (leaf.kind == LeafKind::Known && jet) {
        const std::size_t nk = static_cast<std::size_t>(def_.n_known);
        for (std::size_t i = 0; i < n; ++i) jet[i] = known[i * nk + static_cast<std::size_t>(leaf.index)];
      }
    }
    maps_.push_back(std::move(maps));
  }
  u_bar_.resize(static_cast<std::size_t>(def_.n_fields) * static_cast<std::size_t>(net.size()) * n);
}

template <class T>
void ExpressionJets<T>::forward(const T* weights, const T* upper) {
  solution_.forward(weights, upper);
  const JetSpec& rs = output_spec();
  const std::size_t n = n_;
  for (std::size_t e = 0; e < exprs_.size(); ++e) {
    ProgramJets<T>& prog = programs_[e];
    for (std::size_t id = 0; id < exprs_[e].leaves.size(); ++id) {
      T* jet = prog.leaf(static_cast<int>(id));
      if (!jet) continue;
      const Leaf& leaf = exprs_[e].leaves[id];
      const LeafMap& map = maps_[e][id];
      if (leaf.kind == LeafKind::Param) {
        std::fill(jet, jet + n, upper[leaf.index]);
      } else if (leaf.kind == LeafKind::UDeriv) {
        const T f = static_cast<T>(map.factorial);
        const T* u = solution_.u(leaf.index);
        const T* src = u + static_cast<std::size_t>(map.value) * n;
        for (std::size_t i = 0; i < n; ++i) jet[i] = f * src[i];
        for (std::size_t p = 0; p < map.directions.size(); ++p) {
          const T* s = u + static_cast<std::size_t>(map.directions[p]) * n;
          T* dst = jet + static_cast<std::size_t>(rs.unit(static_cast<int>(p))) * n;
          for (std::size_t i = 0; i < n; ++i) dst[i] = f * s[i];
        }
      } else if (leaf.kind == LeafKind::Func) {
        const T f = static_cast<T>(map.factorial);
        const T* src = solution_.function(leaf.index) + static_cast<std::size_t>(map.value) * n;
        for (std::size_t i = 0; i < n; ++i) jet[i] = f * src[i];
      }
    }
    prog.forward();
  }
}

template <class T>
void ExpressionJets<T>::backward(const T* weights, const T* upper, const std::vector<const T*>& bars, T* grad_w,
                                 T* grad_upper) {
  require(bars.size() == exprs_.size(), "need one adjoint per expression");
  const JetSpec& rs = output_spec();
  const std::size_t n = n_;
  const std::size_t kn = static_cast<std::size_t>(solution_.spec().size()) * n;
  std::fill(u_bar_.begin(), u_bar_.end(), T(0));
  for (std::size_t e = 0; e < exprs_.size(); ++e) {
    ProgramJets<T>& prog = programs_[e];
    prog.backward(bars[e]);
    for (std::size_t id = 0; id < exprs_[e].leaves.size(); ++id) {
      const T* bar = prog.leaf_bar(static_cast<int>(id));
      if (!bar) continue;
      const Leaf& leaf = exprs_[e].leaves[id];
      const LeafMap& map = maps_[e][id];
      if (leaf.kind == LeafKind::Param && grad_upper) {
        T s = 0;
        for (std::size_t i = 0; i < n; ++i) s += bar[i];
        grad_upper[leaf.index] += s;
      } else if (leaf.kind == LeafKind::UDeriv) {
        const T f = static_cast<T>(map.factorial);
        T* ub = u_bar_.data() + static_cast<std::size_t>(leaf.index) * kn;
        T* dst = ub + static_cast<std::size_t>(map.value) * n;
        for (std::size_t i = 0; i < n; ++i) dst[i] += f * bar[i];
        for (std::size_t p = 0; p < map.directions.size(); ++p) {
          T* d = ub + static_cast<std::size_t>(map.directions[p]) * n;
          const T* b = bar + static_cast<std::size_t>(rs.unit(static_cast<int>(p))) * n;
          for (std::size_t i = 0; i < n; ++i) d[i] += f * b[i];
        }
      } else if (leaf.kind == LeafKind::Func && grad_upper) {
        const T f = static_cast<T>(map.factorial);
        T* dst = solution_.function_bar(leaf.index) + static_cast<std::size_t>(map.value) * n;
        for (std::size_t i = 0; i < n; ++i) dst[i] += f * bar[i];
      }
    }
  }
  solution_.backward(weights, upper, u_bar_.data(), grad_w, grad_upper);
}

// ---------------------------------------------------------------------------------------------
// ResidualTerm

template <class T>
ResidualTerm<T>::ResidualTerm(const Networks& nets, const ProblemDef& def, Method method,
                              std::vector<Expression> residuals, bool paired, const T* points, const T* known,
                              std::size_t n)
    : jets_(nets, def, method, std::move(residuals), method == Method::BiLO, points, known, n),
      paired_(paired),
      rows_(paired ? n / 2 : n) {
  require(!paired || (n % 2 == 0 && n > 0), "a paired (periodic) condition needs its points in two equal halves");
  const std::size_t kr = static_cast<std::size_t>(jets_.output_spec().size());
  for (int m = 0; m < jets_.n_exprs(); ++m) {
    if (paired_) diff_.emplace_back(kr * rows_, T(0));
    bar_.emplace_back(kr * n, T(0));
  }
  for (const auto& b : bar_) bar_ptrs_.push_back(b.data());
}

template <class T>
const T* ResidualTerm<T>::residual(int m) const {
  return paired_ ? diff_[static_cast<std::size_t>(m)].data() : jets_.output(m);
}

template <class T>
typename ResidualTerm<T>::Losses ResidualTerm<T>::evaluate(const T* weights, const T* upper, double w_res,
                                                           double w_rgrad, T* grad_w, T* grad_upper) {
  jets_.forward(weights, upper);
  const std::size_t kr = static_cast<std::size_t>(jets_.output_spec().size());
  const std::size_t n = jets_.n_points(), rows = rows_;
  Losses out;
  double res = 0.0, rgrad = 0.0;
  for (int m = 0; m < jets_.n_exprs(); ++m) {
    const T* r = jets_.output(m);
    if (paired_) {
      T* d = diff_[static_cast<std::size_t>(m)].data();
      for (std::size_t k = 0; k < kr; ++k)
        for (std::size_t i = 0; i < rows; ++i) d[k * rows + i] = r[k * n + i] - r[k * n + rows + i];
      r = d;
    }
    for (std::size_t i = 0; i < rows; ++i) res += static_cast<double>(r[i]) * static_cast<double>(r[i]);
    for (std::size_t q = rows; q < kr * rows; ++q) rgrad += static_cast<double>(r[q]) * static_cast<double>(r[q]);
  }
  out.res = res / static_cast<double>(rows);
  out.rgrad = rgrad / static_cast<double>(rows);
  if (!grad_w && !grad_upper) return out;

  const T scale_res = static_cast<T>(2.0 * w_res / static_cast<double>(rows));
  const T scale_rgrad = static_cast<T>(2.0 * w_rgrad / static_cast<double>(rows));
  for (int m = 0; m < jets_.n_exprs(); ++m) {
    const T* r = residual(m);
    T* b = bar_[static_cast<std::size_t>(m)].data();
    for (std::size_t k = 0; k < kr; ++k) {
      const T s = k == 0 ? scale_res : scale_rgrad;
      for (std::size_t i = 0; i < rows; ++i) {
        const T v = s * r[k * rows + i];
        if (paired_) {
          b[k * n + i] = v;
          b[k * n + rows + i] = -v;
        } else {
          b[k * n + i] = v;
        }
      }
    }
  }
  jets_.backward(weights, upper, bar_ptrs_, grad_w, grad_upper);
  return out;
}

// ---------------------------------------------------------------------------------------------
// ObservationTerm

template <class T>
ObservationTerm<T>::ObservationTerm(const Networks& nets, const ProblemDef& def, Method method,
                                    const ObservationDef& obs, const T* points, std::size_t n, const T* values,
                                    const T* weights, const T* quadrature, const T* known)
    : integral_(obs.integral), jets_(nets, def, method, {obs.expr}, false, points, known, n) {
  const std::size_t rows = integral_ ? 1 : n;
  require(values != nullptr && weights != nullptr, "an observation needs values and weights");
  require_finite(values, rows, "observed values");
  require_finite(weights, rows, "observation weights");
  for (std::size_t r = 0; r < rows; ++r) require(weights[r] >= 0, "observation weights must be >= 0");
  values_.assign(values, values + rows);
  weights_.assign(weights, weights + rows);
  if (integral_) {
    require(quadrature != nullptr, "an integral observation needs quadrature weights");
    require_finite(quadrature, n, "quadrature weights");
    quadrature_.assign(quadrature, quadrature + n);
  }
  pred_.assign(rows, T(0));
  bar_.assign(n, T(0));
  bar_ptrs_ = {bar_.data()};
}

template <class T>
double ObservationTerm<T>::evaluate(const T* weights, const T* upper, double scale, T* grad_w, T* grad_upper,
                                    const T* row_weights) {
  const T* w = row_weights ? row_weights : weights_.data();
  jets_.forward(weights, upper);
  const T* e = jets_.output(0);
  const std::size_t n = jets_.n_points();
  if (integral_) {
    double acc = 0.0;
    for (std::size_t i = 0; i < n; ++i) acc += static_cast<double>(quadrature_[i]) * static_cast<double>(e[i]);
    pred_[0] = static_cast<T>(acc);
  } else {
    std::copy(e, e + n, pred_.begin());
  }
  double sum = 0.0;
  for (std::size_t r = 0; r < pred_.size(); ++r) {
    const double d = static_cast<double>(pred_[r]) - static_cast<double>(values_[r]);
    sum += static_cast<double>(w[r]) * d * d;
  }
  if (grad_w || grad_upper) {
    if (integral_) {
      const T g = static_cast<T>(2.0 * scale * static_cast<double>(w[0]) *
                                 (static_cast<double>(pred_[0]) - static_cast<double>(values_[0])));
      for (std::size_t i = 0; i < n; ++i) bar_[i] = g * quadrature_[i];
    } else {
      const T s = static_cast<T>(2.0 * scale);
      for (std::size_t i = 0; i < n; ++i) bar_[i] = s * w[i] * (pred_[i] - values_[i]);
    }
    jets_.backward(weights, upper, bar_ptrs_, grad_w, grad_upper);
  }
  return sum;
}

template class SolutionJets<float>;
template class SolutionJets<double>;
template class ExpressionJets<float>;
template class ExpressionJets<double>;
template class ResidualTerm<float>;
template class ResidualTerm<double>;
template class ObservationTerm<float>;
template class ObservationTerm<double>;

}  // namespace pinnbilo
