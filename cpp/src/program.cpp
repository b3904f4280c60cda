#include "pinnbilo/program.hpp"

#include <algorithm>
#include <string>

#include "pinnbilo/error.hpp"
#include "pinnbilo/jet_ops.hpp"

namespace pinnbilo {

int Program::n_leaves() const {
  int n = 0;
  for (const auto& ins : code)
    if (ins.op == OpCode::Leaf) n = std::max(n, ins.leaf + 1);
  return n;
}

void Program::validate() const {
  require(!code.empty(), "program: empty op list");
  for (std::size_t i = 0; i < code.size(); ++i) {
    const auto& ins = code[i];
    const int op = static_cast<int>(ins.op);
    require(op >= 0 && op <= static_cast<int>(OpCode::Unary), "program: unknown op code at " + std::to_string(i));
    const bool binary = ins.op == OpCode::Add || ins.op == OpCode::Sub || ins.op == OpCode::Mul;
    const bool unary = ins.op == OpCode::Neg || ins.op == OpCode::Scale || ins.op == OpCode::AddConst ||
                       ins.op == OpCode::Unary;
    if (ins.op == OpCode::Leaf) require(ins.leaf >= 0, "program: leaf id must be >= 0 at " + std::to_string(i));
    if (binary || unary)
      require(ins.a >= 0 && ins.a < static_cast<int>(i), "program: operand a of op " + std::to_string(i) +
                                                             " must refer to an earlier op");
    if (binary)
      require(ins.b >= 0 && ins.b < static_cast<int>(i), "program: operand b of op " + std::to_string(i) +
                                                             " must refer to an earlier op");
    if (ins.op == OpCode::Unary) {
      const int f = static_cast<int>(ins.func);
      require(f >= 0 && f <= kLastFunc, "program: unknown function at " + std::to_string(i));
    }
  }
}

template <class T>
ProgramJets<T>::ProgramJets(const Program& program, const JetSpec& spec, std::size_t n)
    : program_(program), spec_(spec), n_(n), kn_(static_cast<std::size_t>(spec.size()) * n) {
  program_.validate();
  require(n > 0, "program: the number of points must be positive");
  const std::size_t n_ops = program_.code.size();
  leaf_node_.assign(static_cast<std::size_t>(program_.n_leaves()), -1);
  slope_slot_.assign(n_ops, -1);
  int n_unary = 0;
  for (std::size_t i = 0; i < n_ops; ++i) {
    const auto& ins = program_.code[i];
    if (ins.op == OpCode::Leaf) {
      require(leaf_node_[static_cast<std::size_t>(ins.leaf)] < 0,
              "program: leaf " + std::to_string(ins.leaf) + " appears twice");
      leaf_node_[static_cast<std::size_t>(ins.leaf)] = static_cast<int>(i);
    }
    if (ins.op == OpCode::Unary) slope_slot_[i] = n_unary++;
  }
  values_.assign(n_ops * kn_, T(0));
  bars_.assign(n_ops * kn_, T(0));
  slopes_.assign(static_cast<std::size_t>(n_unary) * kn_, T(0));
  scratch_.assign(jet_unary_scratch(spec_, n_), T(0));
}

template <class T>
T* ProgramJets<T>::leaf(int id) {
  if (id < 0 || id >= static_cast<int>(leaf_node_.size()) || leaf_node_[static_cast<std::size_t>(id)] < 0)
    return nullptr;
  return node(leaf_node_[static_cast<std::size_t>(id)]);
}

template <class T>
const T* ProgramJets<T>::leaf_bar(int id) const {
  if (id < 0 || id >= static_cast<int>(leaf_node_.size()) || leaf_node_[static_cast<std::size_t>(id)] < 0)
    return nullptr;
  return bars_.data() + static_cast<std::size_t>(leaf_node_[static_cast<std::size_t>(id)]) * kn_;
}

template <class T>
const T* ProgramJets<T>::output() const {
  return values_.data() + (program_.code.size() - 1) * kn_;
}

template <class T>
void ProgramJets<T>::forward() {
  for (std::size_t i = 0; i < program_.code.size(); ++i) {
    const auto& ins = program_.code[i];
    T* v = node(static_cast<int>(i));
    const T c = static_cast<T>(ins.value);
    switch (ins.op) {
      case OpCode::Leaf: break;
      case OpCode::Const:
        std::fill(v, v + kn_, T(0));
        std::fill(v, v + n_, c);
        break;
      case OpCode::Add: {
        const T *x = node(ins.a), *y = node(ins.b);
        for (std::size_t j = 0; j < kn_; ++j) v[j] = x[j] + y[j];
        break;
      }
      case OpCode::Sub: {
        const T *x = node(ins.a), *y = node(ins.b);
        for (std::size_t j = 0; j < kn_; ++j) v[j] = x[j] - y[j];
        break;
      }
      case OpCode::Mul: jet_mul<T>(spec_, n_, node(ins.a), node(ins.b), v); break;
      case OpCode::Neg: {
        const T* x = node(ins.a);
        for (std::size_t j = 0; j < kn_; ++j) v[j] = -x[j];
        break;
      }
      case OpCode::Scale: {
        const T* x = node(ins.a);
        for (std::size_t j = 0; j < kn_; ++j) v[j] = c * x[j];
        break;
      }
      case OpCode::AddConst: {
        const T* x = node(ins.a);
        std::copy(x, x + kn_, v);
        for (std::size_t j = 0; j < n_; ++j) v[j] += c;
        break;
      }
      case OpCode::Unary:
        jet_unary<T>(spec_, n_, ins.func, c, node(ins.a), v,
                     slopes_.data() + static_cast<std::size_t>(slope_slot_[i]) * kn_, scratch_.data());
        break;
    }
  }
}

template <class T>
void ProgramJets<T>::backward(const T* out_bar) {
  std::fill(bars_.begin(), bars_.end(), T(0));
  const std::size_t last = program_.code.size() - 1;
  std::copy(out_bar, out_bar + kn_, bar(static_cast<int>(last)));
  for (std::size_t i = last + 1; i-- > 0;) {
    const auto& ins = program_.code[i];
    const T* g = bar(static_cast<int>(i));
    const T c = static_cast<T>(ins.value);
    switch (ins.op) {
      case OpCode::Leaf:
      case OpCode::Const: break;
      case OpCode::Add: {
        T *xa = bar(ins.a), *xb = bar(ins.b);
        for (std::size_t j = 0; j < kn_; ++j) xa[j] += g[j];
        for (std::size_t j = 0; j < kn_; ++j) xb[j] += g[j];
        break;
      }
      case OpCode::Sub: {
        T *xa = bar(ins.a), *xb = bar(ins.b);
        for (std::size_t j = 0; j < kn_; ++j) xa[j] += g[j];
        for (std::size_t j = 0; j < kn_; ++j) xb[j] -= g[j];
        break;
      }
      case OpCode::Mul:
        jet_mul_adjoint<T>(spec_, n_, g, node(ins.b), bar(ins.a));
        jet_mul_adjoint<T>(spec_, n_, g, node(ins.a), bar(ins.b));
        break;
      case OpCode::Neg: {
        T* xa = bar(ins.a);
        for (std::size_t j = 0; j < kn_; ++j) xa[j] -= g[j];
        break;
      }
      case OpCode::Scale: {
        T* xa = bar(ins.a);
        for (std::size_t j = 0; j < kn_; ++j) xa[j] += c * g[j];
        break;
      }
      case OpCode::AddConst: {
        T* xa = bar(ins.a);
        for (std::size_t j = 0; j < kn_; ++j) xa[j] += g[j];
        break;
      }
      case OpCode::Unary:
        jet_mul_adjoint<T>(spec_, n_, g, slopes_.data() + static_cast<std::size_t>(slope_slot_[i]) * kn_,
                           bar(ins.a));
        break;
    }
  }
}

template class ProgramJets<float>;
template class ProgramJets<double>;

}  // namespace pinnbilo
