// Python callbacks of the C++ loops (training, steady-state Adam, batches).
#pragma once
#include <pybind11/pybind11.h>

#include <exception>
#include <functional>

namespace pinnbilo_python {

namespace py = pybind11;

// A Python callback for a C++ loop that runs with the GIL released: it takes the GIL, checks for
// Ctrl-C, and calls callback(args...). Ctrl-C or an exception in it stops the loop (returns
// false) and is kept in `pending`, to be handled after the loop. None gives an empty function.
template <class... Args>
std::function<bool(Args...)> python_callback(const py::object& callback, std::exception_ptr& pending) {
  if (callback.is_none()) return nullptr;
  return [&callback, &pending](Args... args) -> bool {
    py::gil_scoped_acquire acquire;
    try {
      if (PyErr_CheckSignals() != 0) throw py::error_already_set();
      return callback(args...).template cast<bool>();
    } catch (...) {
      pending = std::current_exception();
      return false;
    }
  };
}

// After the loop: rethrows a callback's exception, except Ctrl-C, which ends the loop like a
// stop; returns whether that happened.
inline bool interrupted_by(const std::exception_ptr& pending) {
  if (!pending) return false;
  try {
    std::rethrow_exception(pending);
  } catch (py::error_already_set& e) {
    if (!e.matches(PyExc_KeyboardInterrupt)) throw;
  }
  return true;
}

}  // namespace pinnbilo_python
