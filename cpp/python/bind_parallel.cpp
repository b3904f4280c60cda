// Bindings of the kernels' thread count (pinnbilo/parallel.hpp).
#include <pybind11/pybind11.h>

#include "pinnbilo/parallel.hpp"

namespace py = pybind11;

void bind_parallel(py::module_& m) {
  m.def("set_num_threads", &pinnbilo::set_num_threads, py::arg("n"),
        "Threads used by the matrix products of every model (1..256); results do not depend on it.");
  m.def("get_num_threads", &pinnbilo::num_threads, "Threads used by the matrix products.");
}
