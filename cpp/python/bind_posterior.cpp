// Bindings of the parameter posterior and its leapfrog trajectories (pinnbilo/posterior.hpp).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <tuple>
#include <vector>

#include "pinnbilo/error.hpp"
#include "pinnbilo/posterior.hpp"

namespace py = pybind11;
using namespace pinnbilo;

namespace {

using PriorTuple = std::tuple<int, double, double, double, double>;  // kind, a, b, low, high

py::array_t<double> numpy_of(const std::vector<double>& v) {
  py::array_t<double> out(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), out.mutable_data());
  return out;
}

template <class T>
void bind_posterior_of(py::module_& m, const char* name) {
  using P = ParameterPosterior<T>;
  py::class_<P>(m, name,
                "log p(d | theta) + log p(theta) of a BiLO trainer's parameters with its network as the forward "
                "model (weights held; read from the trainer at every call), and leapfrog trajectories on it.")
      .def(py::init([](Trainer<T>& trainer, const std::vector<double>& sigma, const std::vector<PriorTuple>& priors) {
             std::vector<PriorDef> defs;
             for (const auto& p : priors) {
               const int kind = std::get<0>(p);
               if (kind < 0 || kind > 4) throw InputError("prior kind must be 0..4, got " + std::to_string(kind));
               defs.push_back(PriorDef{static_cast<PriorKind>(kind), std::get<1>(p), std::get<2>(p), std::get<3>(p),
                                       std::get<4>(p)});
             }
             return std::make_unique<P>(trainer, sigma, std::move(defs));
           }),
           py::arg("trainer"), py::arg("sigma"), py::arg("priors"), py::keep_alive<1, 2>(),
           "sigma: the noise standard deviation per data row; priors: (kind, a, b, low, high) per parameter, kind "
           "0 flat, 1 Normal(mean a, std b), 2 LogNormal(mu a, sigma b), 3 Gamma(shape a, rate b), 4 uniform.")
      .def_property_readonly("dim", &P::dim)
      .def_property_readonly("evaluations", &P::evaluations)
      .def(
          "evaluate",
          [](P& post, const std::vector<double>& theta) {
            if (static_cast<int>(theta.size()) != post.dim())
              throw InputError("theta: expected " + std::to_string(post.dim()) + " values, got " +
                               std::to_string(theta.size()));
            std::vector<double> grad(theta.size());
            double logp;
            {
              py::gil_scoped_release release;
              logp = post.evaluate(theta.data(), grad.data());
            }
            return py::make_tuple(logp, numpy_of(grad));
          },
          py::arg("theta"), "(log density, gradient (dim,)) at theta; -inf outside a prior's support.")
      .def(
          "leapfrog",
          [](P& post, const std::vector<double>& x, const std::vector<double>& grad, const std::vector<double>& p,
             double eps, const std::vector<double>& inv_mass, int n_steps) {
            Trajectory t;
            {
              py::gil_scoped_release release;
              t = post.leapfrog(x, grad, p, eps, inv_mass, n_steps);
            }
            return py::make_tuple(numpy_of(t.x), numpy_of(t.momentum), t.logp, numpy_of(t.grad), t.steps, t.finite);
          },
          py::arg("x"), py::arg("grad"), py::arg("momentum"), py::arg("eps"), py::arg("inv_mass"), py::arg("n_steps"),
          "n_steps leapfrog steps from (x, grad at x) with momentum p: (x, p, logp, grad, steps taken, finite).");
}

}  // namespace

void bind_posterior(py::module_& m) {
  bind_posterior_of<double>(m, "ParameterPosterior64");
  bind_posterior_of<float>(m, "ParameterPosterior32");
}
