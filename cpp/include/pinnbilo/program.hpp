// Residual programs: a small op list evaluated over jets, with its reverse pass.
//
// Python compiles an expression such as `u.t - a*u` into this list.  Leaves are slots the
// caller fills (coordinates, parameters, derivatives of u, the network output); every other
// op is a jet rule.  Each op refers only to earlier ops, so one forward sweep evaluates it
// and one backward sweep accumulates adjoints.
#pragma once
#include <cstddef>
#include <vector>

#include "pinnbilo/elementary.hpp"
#include "pinnbilo/jet_spec.hpp"

namespace pinnbilo {

enum class OpCode : int {
  Leaf = 0,      // slot `leaf`, filled by the caller
  Const = 1,     // the constant `value`
  Add = 2,       // a + b
  Sub = 3,       // a - b
  Mul = 4,       // a * b
  Neg = 5,       // -a
  Scale = 6,     // value * a
  AddConst = 7,  // a + value
  Unary = 8,     // func(a), with exponent `value` for pow
};

struct Instruction {
  OpCode op = OpCode::Const;
  int a = -1;
  int b = -1;
  double value = 0.0;
  Func func = Func::Tanh;
  int leaf = -1;
};

struct Program {
  std::vector<Instruction> code;  // the result is the last instruction
  int n_leaves() const;
  // Throws InputError when an operand is not an earlier instruction or a leaf id is negative.
  void validate() const;
};

// Storage for evaluating a program on jets of one spec over n points; sized once.
template <class T>
class ProgramJets {
 public:
  ProgramJets(const Program& program, const JetSpec& spec, std::size_t n);

  const JetSpec& spec() const { return spec_; }
  std::size_t n_points() const { return n_; }
  int n_leaves() const { return static_cast<int>(leaf_node_.size()); }
  // Jet storage (K x n) of leaf slot `id`, or null when the program does not use it.
  T* leaf(int id);
  void forward();
  const T* output() const;
  // out_bar: K x n.  Afterwards leaf_bar(id) holds the adjoint of each leaf.
  void backward(const T* out_bar);
  const T* leaf_bar(int id) const;

 private:
  T* node(int i) { return values_.data() + static_cast<std::size_t>(i) * kn_; }
  T* bar(int i) { return bars_.data() + static_cast<std::size_t>(i) * kn_; }

  Program program_;
  JetSpec spec_;
  std::size_t n_, kn_;
  std::vector<int> leaf_node_;   // leaf id -> instruction index (-1 if unused)
  std::vector<int> slope_slot_;  // instruction -> slot in slopes_ (unary ops), else -1
  std::vector<T> values_, bars_, slopes_, scratch_;
};

}  // namespace pinnbilo
