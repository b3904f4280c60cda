// Exceptions thrown by the core. The Python bindings translate them to
// pinnbilo.InputError (ValueError) and pinnbilo.TrainingDiverged.
#pragma once
#include <stdexcept>
#include <string>

namespace pinnbilo {

// Invalid arguments: shapes, sizes, names, non-finite values.
class InputError : public std::invalid_argument {
 public:
  explicit InputError(const std::string& what) : std::invalid_argument(what) {}
};

// A loss or gradient became non-finite during training.
class TrainingDiverged : public std::runtime_error {
 public:
  TrainingDiverged(const std::string& what, long step) : std::runtime_error(what), step_(step) {}
  long step() const { return step_; }

 private:
  long step_;
};

inline void require(bool ok, const std::string& message) {
  if (!ok) throw InputError(message);
}

}  // namespace pinnbilo
