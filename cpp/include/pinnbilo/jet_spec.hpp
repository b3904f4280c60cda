// The set of kept monomials of a truncated multivariate Taylor polynomial ("jet").
//
// A jet over directions e_0..e_{d-1} keeps, for every multi-index alpha in a
// downward-closed set S, the coefficient c_alpha = d^alpha f / alpha!.  Downward
// closure makes truncated multiplication exact: every factor of a kept monomial is kept.
#pragma once
#include <cstddef>
#include <map>
#include <vector>

namespace pinnbilo {

using MultiIndex = std::vector<int>;

class JetSpec {
 public:
  // One term c_out += a_{left} * b_{right} of the truncated product.
  struct ProductTerm {
    int out, left, right;
  };

  // The smallest downward-closed set containing `wanted` (and the constant).
  // Every multi-index must have n_dirs non-negative entries.
  JetSpec(int n_dirs, const std::vector<MultiIndex>& wanted);
  // Only the constant term: plain values.
  explicit JetSpec(int n_dirs = 0) : JetSpec(n_dirs, {}) {}

  int n_dirs() const { return n_dirs_; }
  int size() const { return static_cast<int>(monomials_.size()); }
  int degree() const { return degree_; }
  const MultiIndex& monomial(int k) const { return monomials_[static_cast<std::size_t>(k)]; }
  const std::vector<MultiIndex>& monomials() const { return monomials_; }
  // Index of a monomial, or -1 when it is not kept.
  int index_of(const MultiIndex& alpha) const;
  // Index of the unit monomial e_dir, or -1.
  int unit(int dir) const;
  // alpha! for the k-th monomial: the factor between coefficient and derivative.
  double factorial(int k) const { return factorials_[static_cast<std::size_t>(k)]; }
  // All terms of the truncated product, grouped by output row, rows in increasing order.
  const std::vector<ProductTerm>& product_terms() const { return terms_; }
  // The terms whose factors are both non-constant (products of jets without constant part).
  const std::vector<ProductTerm>& nonconstant_terms() const { return nonconstant_terms_; }

  bool operator==(const JetSpec& other) const {
    return n_dirs_ == other.n_dirs_ && monomials_ == other.monomials_;
  }

 private:
  int n_dirs_;
  int degree_ = 0;
  std::vector<MultiIndex> monomials_;
  std::map<MultiIndex, int> index_;
  std::vector<double> factorials_;
  std::vector<ProductTerm> terms_;
  std::vector<ProductTerm> nonconstant_terms_;
};

}  // namespace pinnbilo
