#include "pinnbilo/jet_spec.hpp"

#include <algorithm>
#include <numeric>
#include <set>
#include <string>

#include "pinnbilo/error.hpp"

namespace pinnbilo {
namespace {

int degree_of(const MultiIndex& a) { return std::accumulate(a.begin(), a.end(), 0); }

// Calls visit(beta) for every beta <= alpha componentwise.
template <class Visit>
void for_each_below(const MultiIndex& alpha, Visit visit) {
  MultiIndex beta(alpha.size(), 0);
  while (true) {
    visit(beta);
    std::size_t i = 0;
    for (; i < beta.size(); ++i) {
      if (beta[i] < alpha[i]) {
        ++beta[i];
        break;
      }
      beta[i] = 0;
    }
    if (i == beta.size()) return;
  }
}

}  // namespace

JetSpec::JetSpec(int n_dirs, const std::vector<MultiIndex>& wanted) : n_dirs_(n_dirs) {
  require(n_dirs >= 0, "JetSpec: the number of directions must be >= 0, got " + std::to_string(n_dirs));
  std::set<MultiIndex> closure;
  closure.insert(MultiIndex(static_cast<std::size_t>(n_dirs), 0));
  for (const MultiIndex& alpha : wanted) {
    require(alpha.size() == static_cast<std::size_t>(n_dirs),
            "JetSpec: a multi-index has " + std::to_string(alpha.size()) + " entries, expected " +
                std::to_string(n_dirs));
    for (int a : alpha) require(a >= 0 && a <= 16, "JetSpec: multi-index entries must lie in [0, 16]");
    require(degree_of(alpha) <= 16, "JetSpec: derivative orders above 16 are not supported");
    for_each_below(alpha, [&](const MultiIndex& beta) { closure.insert(beta); });
  }
  monomials_.assign(closure.begin(), closure.end());
  // Constant first, then by degree; ties in a fixed lexicographic order (deterministic layout).
  std::stable_sort(monomials_.begin(), monomials_.end(), [](const MultiIndex& a, const MultiIndex& b) {
    int da = degree_of(a), db = degree_of(b);
    if (da != db) return da < db;
    return a > b;
  });
  for (std::size_t k = 0; k < monomials_.size(); ++k) {
    index_[monomials_[k]] = static_cast<int>(k);
    degree_ = std::max(degree_, degree_of(monomials_[k]));
    double f = 1.0;
    for (int a : monomials_[k])
      for (int i = 2; i <= a; ++i) f *= i;
    factorials_.push_back(f);
  }
  for (std::size_t g = 0; g < monomials_.size(); ++g) {
    const MultiIndex& gamma = monomials_[g];
    for_each_below(gamma, [&](const MultiIndex& alpha) {
      MultiIndex beta(gamma.size());
      for (std::size_t i = 0; i < gamma.size(); ++i) beta[i] = gamma[i] - alpha[i];
      ProductTerm t{static_cast<int>(g), index_.at(alpha), index_.at(beta)};
      terms_.push_back(t);
      if (t.left != 0 && t.right != 0) nonconstant_terms_.push_back(t);
    });
  }
}

int JetSpec::index_of(const MultiIndex& alpha) const {
  auto it = index_.find(alpha);
  return it == index_.end() ? -1 : it->second;
}

int JetSpec::unit(int dir) const {
  if (dir < 0 || dir >= n_dirs_) return -1;
  MultiIndex e(static_cast<std::size_t>(n_dirs_), 0);
  e[static_cast<std::size_t>(dir)] = 1;
  return index_of(e);
}

}  // namespace pinnbilo
