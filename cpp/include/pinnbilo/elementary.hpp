// Smooth elementwise functions and their normalised derivatives f^(k)(x) / k!.
//
// One rule per function (the table that jets and residual programs draw on):
// adding a function means adding one enum value, a name and one case here.
#pragma once
#include <cstddef>
#include <string>

namespace pinnbilo {

enum class Func : int {
  Tanh = 0,
  Sin = 1,
  Cos = 2,
  Exp = 3,
  Log = 4,
  Sigmoid = 5,
  Softplus = 6,
  Pow = 7,  // x^p with a constant real exponent p
  Abs = 8,  // |x|: exact away from 0 (its derivatives there are taken as those of the side x > 0)
};
constexpr int kLastFunc = static_cast<int>(Func::Abs);

// Name used in Python expressions ("tanh", "sin", ...).
const char* func_name(Func f);
// Inverse of func_name; throws InputError for an unknown name.
Func func_from_name(const std::string& name);

// For the functions whose derivative is a quadratic in their value, f' = q[0] + q[1] f + q[2] f^2
// (tanh: 1 - f^2; sigmoid: f - f^2), writes q and returns true; false for the others.
bool derivative_from_value(Func f, double q[3]);

// out[k * n + i] = f^(k)(x[i]) / k!  for k = 0..order, i = 0..n-1.
// `p` is the exponent for Func::Pow and ignored otherwise.
template <class T>
void taylor_coefficients(Func f, T p, const T* x, std::size_t n, int order, T* out);

}  // namespace pinnbilo
