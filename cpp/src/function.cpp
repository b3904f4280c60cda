#include "pinnbilo/function.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <string>

#include "pinnbilo/error.hpp"

namespace pinnbilo {

void FunctionDef::validate(int n_coords) const {
  require(!inputs.empty(), "function: needs at least one input coordinate");
  std::set<int> seen;
  for (int c : inputs) {
    require(c >= 0 && c < n_coords, "function: input coordinate index " + std::to_string(c) + " out of range");
    require(seen.insert(c).second, "function: an input coordinate is listed twice");
  }
  require(net.n_inputs() == static_cast<int>(inputs.size()),
          "function: its network has " + std::to_string(net.n_inputs()) + " inputs for " +
              std::to_string(inputs.size()) + " input coordinates");
  require(net.n_outputs() == 1, "function: its network must have exactly one output");
  transform.validate();
  require(static_cast<int>(transform_leaves.size()) >= transform.n_leaves(),
          "function transform: the program reads leaf ids beyond the leaf table");
  for (const Leaf& leaf : transform_leaves) {
    if (leaf.kind == LeafKind::Coord) {
      require(leaf.index >= 0 && leaf.index < n_coords, "function transform: coordinate index out of range");
      require(seen.count(leaf.index) > 0,
              "function transform: reads a coordinate the function does not take as input");
    } else {
      require(leaf.kind == LeafKind::Net,
              "function transform: may read only its network output and its input coordinates");
    }
  }
}

template <class T>
FunctionJets<T>::FunctionJets(const FunctionDef& def, const JetSpec& spec, const T* coords, int n_coords,
                              std::size_t n)
    : def_(def),
      kn_(static_cast<std::size_t>(spec.size()) * n),
      net_(def.net, spec, n),
      transform_(def.transform, spec, n),
      net_bar_(kn_) {
  def_.validate(n_coords);
  require(spec.n_dirs() >= n_coords, "function jets: the spec must have a direction per coordinate");
  auto fill_coordinate = [&](T* jet, int c) {
    std::fill(jet, jet + kn_, T(0));
    std::copy(coords + static_cast<std::size_t>(c) * n, coords + static_cast<std::size_t>(c + 1) * n, jet);
    const int u = spec.unit(c);
    if (u >= 0) std::fill(jet + static_cast<std::size_t>(u) * n, jet + static_cast<std::size_t>(u + 1) * n, T(1));
  };
  for (std::size_t i = 0; i < def_.inputs.size(); ++i) fill_coordinate(net_.input() + i * kn_, def_.inputs[i]);
  for (std::size_t id = 0; id < def_.transform_leaves.size(); ++id) {
    T* jet = transform_.leaf(static_cast<int>(id));
    if (jet && def_.transform_leaves[id].kind == LeafKind::Coord) fill_coordinate(jet, def_.transform_leaves[id].index);
  }
}

template <class T>
void FunctionJets<T>::forward(const T* weights) {
  net_.forward(weights);
  for (std::size_t id = 0; id < def_.transform_leaves.size(); ++id) {
    T* jet = transform_.leaf(static_cast<int>(id));
    if (jet && def_.transform_leaves[id].kind == LeafKind::Net) std::copy(net_.output(), net_.output() + kn_, jet);
  }
  transform_.forward();
}

template <class T>
void FunctionJets<T>::backward(const T* weights, const T* f_bar, T* grad) {
  transform_.backward(f_bar);
  std::fill(net_bar_.begin(), net_bar_.end(), T(0));
  bool any = false;
  for (std::size_t id = 0; id < def_.transform_leaves.size(); ++id) {
    const T* bar = transform_.leaf_bar(static_cast<int>(id));
    if (!bar || def_.transform_leaves[id].kind != LeafKind::Net) continue;
    any = true;
    for (std::size_t j = 0; j < kn_; ++j) net_bar_[j] += bar[j];
  }
  if (any) net_.backward(weights, net_bar_.data(), grad, nullptr);
}

namespace {

JetSpec first_order_spec(int n_coords) {
  std::vector<MultiIndex> units;
  for (int c = 0; c < n_coords; ++c) {
    MultiIndex e(static_cast<std::size_t>(n_coords), 0);
    e[static_cast<std::size_t>(c)] = 1;
    units.push_back(e);
  }
  return JetSpec(n_coords, units);
}

}  // namespace

template <class T>
SmoothnessTerm<T>::SmoothnessTerm(const std::vector<FunctionDef>& functions, int n_coords, const T* points,
                                  std::size_t n)
    : functions_(functions), n_(n), spec_(first_order_spec(n_coords)) {
  require(n > 0, "smoothness term: need at least one point");
  coords_.resize(static_cast<std::size_t>(n_coords) * n);
  for (std::size_t i = 0; i < n; ++i)
    for (int c = 0; c < n_coords; ++c) coords_[static_cast<std::size_t>(c) * n + i] = points[i * n_coords + c];
  std::size_t offset = 0;
  for (const FunctionDef& f : functions_) {
    offsets_.push_back(offset);
    offset += f.net.n_params();
    jets_.emplace_back(f, spec_, coords_.data(), n_coords, n);
  }
  bar_.resize(static_cast<std::size_t>(spec_.size()) * n);
}

template <class T>
double SmoothnessTerm<T>::evaluate(const T* weights, double w_reg, T* grad) {
  double total = 0.0;
  for (std::size_t k = 0; k < functions_.size(); ++k) {
    FunctionJets<T>& jets = jets_[k];
    jets.forward(weights + offsets_[k]);
    const T* f = jets.output();
    if (grad) std::fill(bar_.begin(), bar_.end(), T(0));
    for (int c : functions_[k].inputs) {
      const std::size_t row = static_cast<std::size_t>(spec_.unit(c)) * n_;
      double acc = 0.0;
      for (std::size_t i = 0; i < n_; ++i) acc += static_cast<double>(f[row + i]) * static_cast<double>(f[row + i]);
      total += acc / static_cast<double>(n_);
      if (grad) {
        const T scale = static_cast<T>(2.0 * w_reg / static_cast<double>(n_));
        for (std::size_t i = 0; i < n_; ++i) bar_[row + i] = scale * f[row + i];
      }
    }
    if (grad) jets.backward(weights + offsets_[k], bar_.data(), grad + offsets_[k]);
  }
  return total;
}

template class FunctionJets<float>;
template class FunctionJets<double>;
template class SmoothnessTerm<float>;
template class SmoothnessTerm<double>;

}  // namespace pinnbilo
