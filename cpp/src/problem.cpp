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
  require(static_cast<int>(leaves.size()) >= program.n_leaves(),
          std::string(transform ? "transform" : "residual") + ": the program reads leaf ids beyond the leaf table");
  for (const Leaf& leaf : leaves) {
    switch (leaf.kind) {
      case LeafKind::Coord:
        require(leaf.index >= 0 && leaf.index < def.n_coords, "leaf: coordinate index out of range");
        break;
      case LeafKind::Param:
        require(leaf.index >= 0 && leaf.index < def.n_params, "leaf: parameter index out of range");
        break;
      case LeafKind::Net:
        require(transform, "leaf: the network output can only be read by the output transform");
        break;
      case LeafKind::UDeriv:
        require(!transform, "leaf: derivatives of u can only be read by the residual");
        require(leaf.deriv.size() == static_cast<std::size_t>(def.n_coords),
                "leaf: a derivative multi-index must have one entry per coordinate");
        for (int d : leaf.deriv) require(d >= 0 && d <= 8, "leaf: derivative orders must be in [0, 8]");
        break;
      default: throw InputError("leaf: unknown kind");
    }
  }
}

}  // namespace

void ProblemDef::validate() const {
  require(n_coords >= 1, "problem: need at least one coordinate");
  require(n_params >= 0, "problem: the number of parameters must be >= 0");
  validate_leaves(transform, transform_leaves, *this, true);
  validate_leaves(residual, residual_leaves, *this, false);
}

std::vector<MultiIndex> ProblemDef::residual_derivatives() const {
  std::set<MultiIndex> found;
  for (const Leaf& leaf : residual_leaves)
    if (leaf.kind == LeafKind::UDeriv) found.insert(leaf.deriv);
  return {found.begin(), found.end()};
}

// ---------------------------------------------------------------------------------------------
// SolutionJets

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
  // Network inputs: value in the constant row, 1 in the row of the input's own direction.
  T* in = net_.input();
  std::fill(in, in + static_cast<std::size_t>(n_inputs) * kn_, T(0));
  for (int v = 0; v < n_inputs; ++v) {
    T* jet = in + static_cast<std::size_t>(v) * kn_;
    if (v < def_.n_coords) std::copy(coords_.begin() + static_cast<std::ptrdiff_t>(v * n),
                                     coords_.begin() + static_cast<std::ptrdiff_t>((v + 1) * n), jet);
    const int u = spec_.unit(v);
    if (u >= 0) std::fill(jet + static_cast<std::size_t>(u) * n, jet + static_cast<std::size_t>(u + 1) * n, T(1));
  }
  // Transform leaves that do not change between steps.
  for (std::size_t id = 0; id < def_.transform_leaves.size(); ++id) {
    T* jet = transform_.leaf(static_cast<int>(id));
    if (!jet) continue;
    std::fill(jet, jet + kn_, T(0));
    const Leaf& leaf = def_.transform_leaves[id];
    int dir = -1;
    if (leaf.kind == LeafKind::Coord) {
      std::copy(coords_.begin() + static_cast<std::ptrdiff_t>(leaf.index * n),
                coords_.begin() + static_cast<std::ptrdiff_t>((leaf.index + 1) * n), jet);
      dir = leaf.index;
    } else if (leaf.kind == LeafKind::Param && method == Method::BiLO) {
      dir = def_.n_coords + leaf.index;
    }
    const int u = dir >= 0 ? spec_.unit(dir) : -1;
    if (u >= 0) std::fill(jet + static_cast<std::size_t>(u) * n, jet + static_cast<std::size_t>(u + 1) * n, T(1));
  }
  input_bar_.resize(static_cast<std::size_t>(n_inputs) * kn_);
  net_bar_.resize(kn_);
}

template <class T>
void SolutionJets<T>::forward(const T* weights, const T* params) {
  if (method_ == Method::BiLO) {
    for (int j = 0; j < def_.n_params; ++j) {
      T* jet = net_.input() + static_cast<std::size_t>(def_.n_coords + j) * kn_;
      std::fill(jet, jet + n_, params[j]);
    }
  }
  net_.forward(weights);
  for (std::size_t id = 0; id < def_.transform_leaves.size(); ++id) {
    T* jet = transform_.leaf(static_cast<int>(id));
    if (!jet) continue;
    const Leaf& leaf = def_.transform_leaves[id];
    if (leaf.kind == LeafKind::Net) std::copy(net_.output(), net_.output() + kn_, jet);
    if (leaf.kind == LeafKind::Param) std::fill(jet, jet + n_, params[leaf.index]);
  }
  transform_.forward();
}

template <class T>
void SolutionJets<T>::backward(const T* weights, const T* u_bar, T* grad_w, T* grad_params) {
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
    } else if (leaf.kind == LeafKind::Param && grad_params) {
      T acc = 0;
      for (std::size_t i = 0; i < n_; ++i) acc += bar[i];
      grad_params[leaf.index] += acc;
    }
  }
  const bool through_input = grad_params && method_ == Method::BiLO && def_.n_params > 0;
  if (!any_net || (!grad_w && !through_input)) return;
  net_.backward(weights, net_bar_.data(), grad_w, through_input ? input_bar_.data() : nullptr);
  if (through_input) {
    for (int j = 0; j < def_.n_params; ++j) {
      const T* bar = input_bar_.data() + static_cast<std::size_t>(def_.n_coords + j) * kn_;
      T acc = 0;
      for (std::size_t i = 0; i < n_; ++i) acc += bar[i];
      grad_params[j] += acc;
    }
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
    if (method == Method::BiLO) {
      for (int j = 0; j < def.n_params; ++j) {
        MultiIndex m = padded(c, n_inputs);
        m[static_cast<std::size_t>(def.n_coords + j)] += 1;
        wanted.push_back(m);
      }
    }
  }
  return JetSpec(n_inputs, wanted);
}

JetSpec residual_param_spec(const ProblemDef& def, Method method) {
  if (method != Method::BiLO) return JetSpec(0);
  std::vector<MultiIndex> wanted;
  for (int j = 0; j < def.n_params; ++j) {
    MultiIndex e(static_cast<std::size_t>(def.n_params), 0);
    e[static_cast<std::size_t>(j)] = 1;
    wanted.push_back(e);
  }
  return JetSpec(def.n_params, wanted);
}

}  // namespace

template <class T>
ResidualTerm<T>::ResidualTerm(const Mlp& mlp, const ProblemDef& def, Method method, const T* points, std::size_t n)
    : def_(def),
      method_(method),
      n_(n),
      solution_(mlp, def, method, residual_net_spec(def, method), points, n),
      program_(def.residual, residual_param_spec(def, method), n) {
  const JetSpec& net = solution_.spec();
  const JetSpec& rs = program_.spec();
  const std::size_t kr = static_cast<std::size_t>(rs.size());
  const int n_inputs = def_.n_net_inputs(method);
  leaf_value_index_.assign(def_.residual_leaves.size(), -1);
  leaf_param_index_.assign(def_.residual_leaves.size(), {});
  leaf_factorial_.assign(def_.residual_leaves.size(), 1.0);
  for (std::size_t id = 0; id < def_.residual_leaves.size(); ++id) {
    const Leaf& leaf = def_.residual_leaves[id];
    T* jet = program_.leaf(static_cast<int>(id));
    if (jet) std::fill(jet, jet + kr * n, T(0));
    if (leaf.kind == LeafKind::UDeriv) {
      MultiIndex m = padded(leaf.deriv, n_inputs);
      leaf_value_index_[id] = net.index_of(m);
      leaf_factorial_[id] = factorial_of(leaf.deriv);
      if (method == Method::BiLO) {
        for (int j = 0; j < def_.n_params; ++j) {
          MultiIndex mj = m;
          mj[static_cast<std::size_t>(def_.n_coords + j)] += 1;
          leaf_param_index_[id].push_back(net.index_of(mj));
        }
      }
    } else if (leaf.kind == LeafKind::Coord && jet) {
      const T* x = solution_.coordinate(leaf.index);
      std::copy(x, x + n, jet);
    } else if (leaf.kind == LeafKind::Param && jet && method == Method::BiLO) {
      const int u = rs.unit(leaf.index);
      std::fill(jet + static_cast<std::size_t>(u) * n, jet + static_cast<std::size_t>(u + 1) * n, T(1));
    }
  }
  r_bar_.resize(kr * n);
  u_bar_.resize(static_cast<std::size_t>(net.size()) * n);
}

template <class T>
typename ResidualTerm<T>::Losses ResidualTerm<T>::evaluate(const T* weights, const T* params, double w_res,
                                                           double w_rgrad, T* grad_w, T* grad_params) {
  solution_.forward(weights, params);
  const T* u = solution_.u();
  const JetSpec& rs = program_.spec();
  const std::size_t n = n_;
  for (std::size_t id = 0; id < def_.residual_leaves.size(); ++id) {
    T* jet = program_.leaf(static_cast<int>(id));
    if (!jet) continue;
    const Leaf& leaf = def_.residual_leaves[id];
    if (leaf.kind == LeafKind::Param) {
      std::fill(jet, jet + n, params[leaf.index]);
    } else if (leaf.kind == LeafKind::UDeriv) {
      const T f = static_cast<T>(leaf_factorial_[id]);
      const T* src = u + static_cast<std::size_t>(leaf_value_index_[id]) * n;
      for (std::size_t i = 0; i < n; ++i) jet[i] = f * src[i];
      for (std::size_t j = 0; j < leaf_param_index_[id].size(); ++j) {
        const T* s = u + static_cast<std::size_t>(leaf_param_index_[id][j]) * n;
        T* dst = jet + static_cast<std::size_t>(rs.unit(static_cast<int>(j))) * n;
        for (std::size_t i = 0; i < n; ++i) dst[i] = f * s[i];
      }
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
  if (!grad_w && !grad_params) return out;

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
    if (leaf.kind == LeafKind::Param && grad_params) {
      T s = 0;
      for (std::size_t i = 0; i < n; ++i) s += bar[i];
      grad_params[leaf.index] += s;
    } else if (leaf.kind == LeafKind::UDeriv) {
      const T f = static_cast<T>(leaf_factorial_[id]);
      T* dst = u_bar_.data() + static_cast<std::size_t>(leaf_value_index_[id]) * n;
      for (std::size_t i = 0; i < n; ++i) dst[i] += f * bar[i];
      for (std::size_t j = 0; j < leaf_param_index_[id].size(); ++j) {
        T* d = u_bar_.data() + static_cast<std::size_t>(leaf_param_index_[id][j]) * n;
        const T* b = bar + static_cast<std::size_t>(rs.unit(static_cast<int>(j))) * n;
        for (std::size_t i = 0; i < n; ++i) d[i] += f * b[i];
      }
    }
  }
  solution_.backward(weights, u_bar_.data(), grad_w, grad_params);
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
double DataTerm<T>::evaluate(const T* weights, const T* params, double w_data, T* grad_w, T* grad_params) {
  solution_.forward(weights, params);
  const T* u = solution_.u();
  double acc = 0.0;
  for (std::size_t i = 0; i < n_; ++i) {
    const double d = static_cast<double>(u[i]) - static_cast<double>(values_[i]);
    acc += d * d;
  }
  if (grad_w || grad_params) {
    const T scale = static_cast<T>(2.0 * w_data / static_cast<double>(n_));
    for (std::size_t i = 0; i < n_; ++i) u_bar_[i] = scale * (u[i] - values_[i]);
    solution_.backward(weights, u_bar_.data(), grad_w, grad_params);
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
