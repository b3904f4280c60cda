#include "pinnbilo/problem.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <string>

#include "pinnbilo/error.hpp"

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

void validate_leaves(const Program& program, const std::vector<Leaf>& leaves, const ProblemDef& def,
                     bool transform) {
  program.validate();
  const std::string where = transform ? "transform" : "residual";
  require(static_cast<int>(leaves.size()) >= program.n_leaves(),
          where + ": the program reads leaf ids beyond the leaf table");
  auto check_multi_index = [&](const MultiIndex& m) {
    require(m.size() == static_cast<std::size_t>(def.n_coords),
            where + " leaf: a derivative multi-index must have one entry per coordinate");
    for (int d : m) require(d >= 0 && d <= 8, where + " leaf: derivative orders must be in [0, 8]");
  };
  for (const Leaf& leaf : leaves) {
    switch (leaf.kind) {
      case LeafKind::Coord:
        require(leaf.index >= 0 && leaf.index < def.n_coords, where + " leaf: coordinate index out of range");
        break;
      case LeafKind::Param:
        require(leaf.index >= 0 && leaf.index < def.n_params, where + " leaf: parameter index out of range");
        break;
      case LeafKind::Net:
        require(transform, "leaf: the network output can only be read by the output transform");
        break;
      case LeafKind::UDeriv:
        require(!transform, "leaf: derivatives of u can only be read by the residual");
        check_multi_index(leaf.deriv);
        break;
      case LeafKind::Func:
        require(leaf.index >= 0 && leaf.index < def.n_functions(), where + " leaf: function index out of range");
        if (transform) {
          for (int d : leaf.deriv)
            require(d == 0, "transform leaf: the output transform may read function values, not their derivatives");
        } else {
          check_multi_index(leaf.deriv);
        }
        break;
      case LeafKind::Known:
        require(!transform, "leaf: known per-point values can only be read by the residual");
        require(leaf.index >= 0 && leaf.index < def.n_known, "residual leaf: known-value column out of range");
        break;
      default: throw InputError("leaf: unknown kind");
    }
  }
}


}  // namespace

void ProblemDef::validate() const {
  require(n_coords >= 1, "problem: need at least one coordinate");
  require(n_params >= 0, "problem: the number of parameters must be >= 0");
  require(n_known >= 0, "problem: the number of known per-point values must be >= 0");
  for (const FunctionDef& f : functions) f.validate(n_coords);
  validate_leaves(transform, transform_leaves, *this, true);
  validate_leaves(residual, residual_leaves, *this, false);
}

std::size_t ProblemDef::function_offset(int k) const {
  std::size_t off = static_cast<std::size_t>(n_params);
  for (int j = 0; j < k; ++j) off += functions[static_cast<std::size_t>(j)].net.n_params();
  return off;
}

std::vector<MultiIndex> ProblemDef::residual_derivatives() const {
  std::set<MultiIndex> found;
  for (const Leaf& leaf : residual_leaves)
    if (leaf.kind == LeafKind::UDeriv) found.insert(leaf.deriv);
  return {found.begin(), found.end()};
}

std::vector<MultiIndex> ProblemDef::function_derivatives() const {
  std::set<MultiIndex> found;
  for (const Leaf& leaf : residual_leaves)
    if (leaf.kind == LeafKind::Func) found.insert(leaf.deriv);
  return {found.begin(), found.end()};
}

// ---------------------------------------------------------------------------------------------
// SolutionJets

namespace {

// jet[unit(dir)] = 1: the coefficient of a variable's own direction.
template <class T>
void set_unit(const JetSpec& spec, int dir, std::size_t n, T* jet, T value = T(1)) {
  const int u = spec.unit(dir);
  if (u >= 0) std::fill(jet + static_cast<std::size_t>(u) * n, jet + static_cast<std::size_t>(u + 1) * n, value);
}

}  // namespace

template <class T>
SolutionJets<T>::SolutionJets(const Mlp& mlp, const ProblemDef& def, Method method, const JetSpec& spec,
                              const T* points, std::size_t n)
    : def_(def),
      method_(method),
      spec_(spec),
      n_(n),
      kn_(static_cast<std::size_t>(spec.size()) * n),
      net_(mlp, spec, n),
      transform_(def.transform, spec, n) {
  def_.validate();
  const int n_inputs = def_.n_net_inputs(method);
  require(mlp.n_inputs() == n_inputs, "network has " + std::to_string(mlp.n_inputs()) + " inputs, the " +
                                          (method == Method::BiLO ? "BiLO" : "PINN") + " problem needs " +
                                          std::to_string(n_inputs));
  require(mlp.n_outputs() == 1, "network must have exactly one output");
  require(spec.n_dirs() == n_inputs, "jet spec directions must match the network inputs");
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
  T* in = net_.input();
  std::fill(in, in + static_cast<std::size_t>(n_inputs) * kn_, T(0));
  for (int v = 0; v < n_inputs; ++v) {
    T* jet = in + static_cast<std::size_t>(v) * kn_;
    if (v < def_.n_coords) std::copy(coords_.begin() + static_cast<std::ptrdiff_t>(v * n),
                                     coords_.begin() + static_cast<std::ptrdiff_t>((v + 1) * n), jet);
    if (v < def_.n_coords + def_.n_params) set_unit(spec_, v, n, jet);
  }
  // Transform leaves that do not change between steps.
  for (std::size_t id = 0; id < def_.transform_leaves.size(); ++id) {
    T* jet = transform_.leaf(static_cast<int>(id));
    if (!jet) continue;
    std::fill(jet, jet + kn_, T(0));
    const Leaf& leaf = def_.transform_leaves[id];
    if (leaf.kind == LeafKind::Coord) {
      std::copy(coords_.begin() + static_cast<std::ptrdiff_t>(leaf.index * n),
                coords_.begin() + static_cast<std::ptrdiff_t>((leaf.index + 1) * n), jet);
      set_unit(spec_, leaf.index, n, jet);
    } else if (leaf.kind == LeafKind::Param && method == Method::BiLO) {
      set_unit(spec_, def_.n_coords + leaf.index, n, jet);
    }
  }
  input_bar_.resize(static_cast<std::size_t>(n_inputs) * kn_);
  net_bar_.resize(kn_);
}

template <class T>
void SolutionJets<T>::forward(const T* weights, const T* upper) {
  const int shift_dir0 = def_.n_coords + def_.n_params;  // BiLO: direction of function 0's shift
  for (std::size_t k = 0; k < functions_.size(); ++k)
    functions_[k].forward(upper + def_.function_offset(static_cast<int>(k)));
  if (method_ == Method::BiLO) {
    for (int j = 0; j < def_.n_params; ++j) {
      T* jet = net_.input() + static_cast<std::size_t>(def_.n_coords + j) * kn_;
      std::fill(jet, jet + n_, upper[j]);
    }
    // Function inputs: the jet of f_k plus the constant shift along its own direction.
    for (int k = 0; k < def_.n_functions(); ++k) {
      T* jet = net_.input() + static_cast<std::size_t>(shift_dir0 + k) * kn_;
      std::copy(function(k), function(k) + kn_, jet);
      set_unit(spec_, shift_dir0 + k, n_, jet);
    }
  }
  net_.forward(weights);
  for (std::size_t id = 0; id < def_.transform_leaves.size(); ++id) {
    T* jet = transform_.leaf(static_cast<int>(id));
    if (!jet) continue;
    const Leaf& leaf = def_.transform_leaves[id];
    if (leaf.kind == LeafKind::Net) std::copy(net_.output(), net_.output() + kn_, jet);
    if (leaf.kind == LeafKind::Param) std::fill(jet, jet + n_, upper[leaf.index]);
    if (leaf.kind == LeafKind::Func) {
      std::copy(function(leaf.index), function(leaf.index) + kn_, jet);
      if (method_ == Method::BiLO) set_unit(spec_, shift_dir0 + leaf.index, n_, jet);
    }
  }
  transform_.forward();
}

template <class T>
void SolutionJets<T>::backward(const T* weights, const T* upper, const T* u_bar, T* grad_w, T* grad_upper) {
  transform_.backward(u_bar);
  bool any_net = false;
  std::fill(net_bar_.begin(), net_bar_.end(), T(0));
  for (std::size_t id = 0; id < def_.transform_leaves.size(); ++id) {
    const Leaf& leaf = def_.transform_leaves[id];
    const T* bar = transform_.leaf_bar(static_cast<int>(id));
    if (!bar) continue;
    if (leaf.kind == LeafKind::Net) {
      any_net = true;
      for (std::size_t j = 0; j < kn_; ++j) net_bar_[j] += bar[j];
    } else if (leaf.kind == LeafKind::Param && grad_upper) {
      T acc = 0;
      for (std::size_t i = 0; i < n_; ++i) acc += bar[i];
      grad_upper[leaf.index] += acc;
    } else if (leaf.kind == LeafKind::Func && grad_upper) {
      T* fb = function_bar(leaf.index);
      for (std::size_t j = 0; j < kn_; ++j) fb[j] += bar[j];
    }
  }
  const bool through_input = grad_upper && def_.n_perturb(method_) > 0;
  if (any_net && (grad_w || through_input)) {
    net_.backward(weights, net_bar_.data(), grad_w, through_input ? input_bar_.data() : nullptr);
    if (through_input) {
      // A parameter input carries its value in the constant row only; a function input carries
      // the whole jet of f_k.
      for (int j = 0; j < def_.n_params; ++j) {
        const T* bar = input_bar_.data() + static_cast<std::size_t>(def_.n_coords + j) * kn_;
        T acc = 0;
        for (std::size_t i = 0; i < n_; ++i) acc += bar[i];
        grad_upper[j] += acc;
      }
      for (int k = 0; k < def_.n_functions(); ++k) {
        const T* bar = input_bar_.data() + static_cast<std::size_t>(def_.n_coords + def_.n_params + k) * kn_;
        T* fb = function_bar(k);
        for (std::size_t j = 0; j < kn_; ++j) fb[j] += bar[j];
      }
    }
  }
  for (std::size_t k = 0; k < functions_.size(); ++k) {
    const std::size_t off = def_.function_offset(static_cast<int>(k));
    if (grad_upper) functions_[k].backward(upper + off, function_bar_[k].data(), grad_upper + off);
    std::fill(function_bar_[k].begin(), function_bar_[k].end(), T(0));
  }
}

// ---------------------------------------------------------------------------------------------
// ResidualTerm

namespace {

JetSpec residual_net_spec(const ProblemDef& def, Method method) {
  const int n_inputs = def.n_net_inputs(method);
  std::vector<MultiIndex> wanted;
  for (const MultiIndex& c : def.residual_derivatives()) {
    wanted.push_back(padded(c, n_inputs));
    for (int p = 0; p < def.n_perturb(method); ++p) {
      MultiIndex m = padded(c, n_inputs);
      m[static_cast<std::size_t>(def.n_coords + p)] += 1;
      wanted.push_back(m);
    }
  }
  // The functions' jets share the spec: keep the coordinate derivatives the residual reads of them.
  for (const MultiIndex& c : def.function_derivatives()) wanted.push_back(padded(c, n_inputs));
  return JetSpec(n_inputs, wanted);
}

JetSpec residual_perturbation_spec(const ProblemDef& def, Method method) {
  const int np = def.n_perturb(method);
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
ResidualTerm<T>::ResidualTerm(const Mlp& mlp, const ProblemDef& def, Method method, const T* points,
                              const T* known, std::size_t n)
    : def_(def),
      method_(method),
      n_(n),
      solution_(mlp, def, method, residual_net_spec(def, method), points, n),
      program_(def.residual, residual_perturbation_spec(def, method), n) {
  require(def_.n_known == 0 || known != nullptr, "residual: the problem reads known values but none were given");
  if (def_.n_known > 0) require_finite(known, n * static_cast<std::size_t>(def_.n_known), "known values");
  const JetSpec& net = solution_.spec();
  const JetSpec& rs = program_.spec();
  const std::size_t kr = static_cast<std::size_t>(rs.size());
  const int n_inputs = def_.n_net_inputs(method);
  const int np = def_.n_perturb(method);
  leaf_value_index_.assign(def_.residual_leaves.size(), -1);
  leaf_param_index_.assign(def_.residual_leaves.size(), {});
  leaf_factorial_.assign(def_.residual_leaves.size(), 1.0);
  for (std::size_t id = 0; id < def_.residual_leaves.size(); ++id) {
    const Leaf& leaf = def_.residual_leaves[id];
    T* jet = program_.leaf(static_cast<int>(id));
    if (jet) std::fill(jet, jet + kr * n, T(0));
    if (leaf.kind == LeafKind::UDeriv || leaf.kind == LeafKind::Func) {
      MultiIndex m = padded(leaf.deriv, n_inputs);
      leaf_value_index_[id] = net.index_of(m);
      leaf_factorial_[id] = factorial_of(leaf.deriv);
    }
    if (leaf.kind == LeafKind::UDeriv) {
      for (int p = 0; p < np; ++p) {
        MultiIndex mp = padded(leaf.deriv, n_inputs);
        mp[static_cast<std::size_t>(def_.n_coords + p)] += 1;
        leaf_param_index_[id].push_back(net.index_of(mp));
      }
    } else if (leaf.kind == LeafKind::Func && jet && np > 0) {
      // f_k shifted by a constant along its own direction: only its value moves.
      bool value = true;
      for (int d : leaf.deriv) value = value && d == 0;
      if (value) set_unit(rs, def_.n_params + leaf.index, n, jet);
    } else if (leaf.kind == LeafKind::Coord && jet) {
      const T* x = solution_.coordinate(leaf.index);
      std::copy(x, x + n, jet);
    } else if (leaf.kind == LeafKind::Param && jet && np > 0) {
      set_unit(rs, leaf.index, n, jet);
    } else if (leaf.kind == LeafKind::Known && jet) {
      const std::size_t nk = static_cast<std::size_t>(def_.n_known);
      for (std::size_t i = 0; i < n; ++i) jet[i] = known[i * nk + static_cast<std::size_t>(leaf.index)];
    }
  }
  r_bar_.resize(kr * n);
  u_bar_.resize(static_cast<std::size_t>(net.size()) * n);
}

template <class T>
typename ResidualTerm<T>::Losses ResidualTerm<T>::evaluate(const T* weights, const T* upper, double w_res,
                                                           double w_rgrad, T* grad_w, T* grad_upper) {
  solution_.forward(weights, upper);
  const T* u = solution_.u();
  const JetSpec& rs = program_.spec();
  const std::size_t n = n_;
  for (std::size_t id = 0; id < def_.residual_leaves.size(); ++id) {
    T* jet = program_.leaf(static_cast<int>(id));
    if (!jet) continue;
    const Leaf& leaf = def_.residual_leaves[id];
    if (leaf.kind == LeafKind::Param) {
      std::fill(jet, jet + n, upper[leaf.index]);
    } else if (leaf.kind == LeafKind::UDeriv) {
      const T f = static_cast<T>(leaf_factorial_[id]);
      const T* src = u + static_cast<std::size_t>(leaf_value_index_[id]) * n;
      for (std::size_t i = 0; i < n; ++i) jet[i] = f * src[i];
      for (std::size_t j = 0; j < leaf_param_index_[id].size(); ++j) {
        const T* s = u + static_cast<std::size_t>(leaf_param_index_[id][j]) * n;
        T* dst = jet + static_cast<std::size_t>(rs.unit(static_cast<int>(j))) * n;
        for (std::size_t i = 0; i < n; ++i) dst[i] = f * s[i];
      }
    } else if (leaf.kind == LeafKind::Func) {
      const T f = static_cast<T>(leaf_factorial_[id]);
      const T* src = solution_.function(leaf.index) + static_cast<std::size_t>(leaf_value_index_[id]) * n;
      for (std::size_t i = 0; i < n; ++i) jet[i] = f * src[i];
    }
  }
  program_.forward();
  const T* r = program_.output();
  Losses out;
  double acc = 0.0;
  for (std::size_t i = 0; i < n; ++i) acc += static_cast<double>(r[i]) * static_cast<double>(r[i]);
  out.res = acc / static_cast<double>(n);
  acc = 0.0;
  for (std::size_t k = n; k < static_cast<std::size_t>(rs.size()) * n; ++k)
    acc += static_cast<double>(r[k]) * static_cast<double>(r[k]);
  out.rgrad = acc / static_cast<double>(n);
  if (!grad_w && !grad_upper) return out;

  const T scale_res = static_cast<T>(2.0 * w_res / static_cast<double>(n));
  const T scale_rgrad = static_cast<T>(2.0 * w_rgrad / static_cast<double>(n));
  for (std::size_t i = 0; i < n; ++i) r_bar_[i] = scale_res * r[i];
  for (std::size_t k = n; k < r_bar_.size(); ++k) r_bar_[k] = scale_rgrad * r[k];
  program_.backward(r_bar_.data());
  std::fill(u_bar_.begin(), u_bar_.end(), T(0));
  for (std::size_t id = 0; id < def_.residual_leaves.size(); ++id) {
    const T* bar = program_.leaf_bar(static_cast<int>(id));
    if (!bar) continue;
    const Leaf& leaf = def_.residual_leaves[id];
    if (leaf.kind == LeafKind::Param && grad_upper) {
      T s = 0;
      for (std::size_t i = 0; i < n; ++i) s += bar[i];
      grad_upper[leaf.index] += s;
    } else if (leaf.kind == LeafKind::UDeriv) {
      const T f = static_cast<T>(leaf_factorial_[id]);
      T* dst = u_bar_.data() + static_cast<std::size_t>(leaf_value_index_[id]) * n;
      for (std::size_t i = 0; i < n; ++i) dst[i] += f * bar[i];
      for (std::size_t j = 0; j < leaf_param_index_[id].size(); ++j) {
        T* d = u_bar_.data() + static_cast<std::size_t>(leaf_param_index_[id][j]) * n;
        const T* b = bar + static_cast<std::size_t>(rs.unit(static_cast<int>(j))) * n;
        for (std::size_t i = 0; i < n; ++i) d[i] += f * b[i];
      }
    } else if (leaf.kind == LeafKind::Func && grad_upper) {
      const T f = static_cast<T>(leaf_factorial_[id]);
      T* dst = solution_.function_bar(leaf.index) + static_cast<std::size_t>(leaf_value_index_[id]) * n;
      for (std::size_t i = 0; i < n; ++i) dst[i] += f * bar[i];
    }
  }
  solution_.backward(weights, upper, u_bar_.data(), grad_w, grad_upper);
  return out;
}

// ---------------------------------------------------------------------------------------------
// DataTerm

template <class T>
DataTerm<T>::DataTerm(const Mlp& mlp, const ProblemDef& def, Method method, const T* points, const T* values,
                      std::size_t n)
    : n_(n), solution_(mlp, def, method, JetSpec(def.n_net_inputs(method)), points, n), values_(values, values + n),
      u_bar_(n) {
  require_finite(values, n, "data values");
}

template <class T>
double DataTerm<T>::evaluate(const T* weights, const T* upper, double w_data, T* grad_w, T* grad_upper) {
  solution_.forward(weights, upper);
  const T* u = solution_.u();
  double acc = 0.0;
  for (std::size_t i = 0; i < n_; ++i) {
    const double d = static_cast<double>(u[i]) - static_cast<double>(values_[i]);
    acc += d * d;
  }
  if (grad_w || grad_upper) {
    const T scale = static_cast<T>(2.0 * w_data / static_cast<double>(n_));
    for (std::size_t i = 0; i < n_; ++i) u_bar_[i] = scale * (u[i] - values_[i]);
    solution_.backward(weights, upper, u_bar_.data(), grad_w, grad_upper);
  }
  return acc / static_cast<double>(n_);
}

template class SolutionJets<float>;
template class SolutionJets<double>;
template class ResidualTerm<float>;
template class ResidualTerm<double>;
template class DataTerm<float>;
template class DataTerm<double>;

}  // namespace pinnbilo
