// Bindings of the fixed-point steady-state losses (pinnbilo/steady_state.hpp): numpy in and out,
// shapes checked here, Adam loops with the GIL released.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <exception>
#include <functional>
#include <string>
#include <vector>

#include "callbacks.hpp"
#include "pinnbilo/elementary.hpp"
#include "pinnbilo/error.hpp"
#include "pinnbilo/mlp.hpp"
#include "pinnbilo/steady_state.hpp"

namespace py = pybind11;
using namespace pinnbilo;

namespace {

using Arr = py::array_t<double, py::array::c_style | py::array::forcecast>;

Arr ensure(const py::handle& obj, const std::string& name) {
  Arr a = Arr::ensure(obj);
  if (!a) {
    PyErr_Clear();
    throw InputError(name + ": expected a numeric array");
  }
  return a;
}

std::string shape_str(const Arr& a) {
  std::string s = "(";
  for (py::ssize_t d = 0; d < a.ndim(); ++d) s += (d ? ", " : "") + std::to_string(a.shape(d));
  return s + (a.ndim() == 1 ? ",)" : ")");
}

Arr vec(const py::handle& obj, py::ssize_t n, const std::string& name) {
  Arr a = ensure(obj, name);
  if (a.ndim() != 1 || a.shape(0) != n)
    throw InputError(name + ": expected shape (" + std::to_string(n) + ",), got " + shape_str(a));
  return a;
}

Arr mat(const py::handle& obj, py::ssize_t rows, py::ssize_t cols, const std::string& name) {
  Arr a = ensure(obj, name);
  if (a.ndim() != 2 || (rows >= 0 && a.shape(0) != rows) || a.shape(1) != cols)
    throw InputError(name + ": expected shape (" + (rows >= 0 ? std::to_string(rows) : std::string("S")) + ", " +
                     std::to_string(cols) + "), got " + shape_str(a));
  return a;
}

Arr out_vec(std::size_t n) { return Arr(static_cast<py::ssize_t>(n)); }

// A network description from Python: (sizes, activation, features (n_inputs, n)).
struct NetSpec {
  Mlp mlp;
  Arr features;
};

NetSpec net_from(const py::tuple& t, py::ssize_t n, const std::string& name) {
  if (t.size() != 3) throw InputError(name + ": a network is (sizes, activation, features)");
  auto sizes = t[0].cast<std::vector<int>>();
  Mlp mlp(sizes, func_from_name(t[1].cast<std::string>()));
  Arr f = mat(t[2], mlp.n_inputs(), n, name + " features");
  const double* p = f.data();
  for (py::ssize_t i = 0; i < f.size(); ++i)
    if (!std::isfinite(p[i])) throw InputError(name + " features contain NaN or inf");
  return NetSpec{mlp, f};
}

template <class Obj>
py::tuple run_adam(Obj& obj, const py::object& params, long steps, double lr, long every, const py::object& callback) {
  if (steps < 0) throw InputError("steps must be >= 0");
  if (!(lr > 0) || !std::isfinite(lr)) throw InputError("lr must be positive and finite");
  Arr p0 = vec(params, static_cast<py::ssize_t>(obj.n_params()), "params");
  std::vector<double> x(p0.data(), p0.data() + p0.size());
  std::exception_ptr pending;
  const auto cb = pinnbilo_python::python_callback<long, double>(callback, pending);
  AdamConfig config;
  config.lr = lr;
  double last = 0;
  long taken = 0;
  {
    py::gil_scoped_release release;
    taken = adam_minimize<double>(obj, x.data(), steps, config, every, cb, &last);
  }
  Arr out = out_vec(x.size());
  std::copy(x.begin(), x.end(), out.mutable_data());
  // Ctrl-C hands back the iterate with the flag; another exception in the callback is rethrown.
  const bool interrupted = pinnbilo_python::interrupted_by(pending);
  return py::make_tuple(out, taken, last, interrupted);
}

template <class Obj>
py::tuple loss_and_grad(Obj& obj, const py::object& params) {
  Arr p = vec(params, static_cast<py::ssize_t>(obj.n_params()), "params");
  Arr g = out_vec(obj.n_params());
  double loss = 0;
  {
    py::gil_scoped_release release;
    loss = obj.evaluate(p.data(), g.mutable_data());
  }
  return py::make_tuple(loss, g);
}

Arr map_copy(const double* src, std::size_t S, std::size_t n) {
  Arr out({static_cast<py::ssize_t>(S), static_cast<py::ssize_t>(n)});
  std::copy(src, src + S * n, out.mutable_data());
  return out;
}

}  // namespace

void bind_steady(py::module_& m) {
  using AD = AggregationDiffusionFit<double>;
  py::class_<AD>(m, "AggregationDiffusionFit",
                 "Fixed-point loss of aggregation-diffusion steady states on the periodic grid (float64).")
      .def(py::init([](std::size_t n, double length, double kappa, const py::object& states, const py::object& weights,
                       const py::object& sigma, const py::object& mass) {
             if (n < 2) throw InputError("n: need at least 2 grid points");
             const auto ni = static_cast<py::ssize_t>(n);
             Arr u = mat(states, -1, ni, "states");
             const py::ssize_t S = u.shape(0);
             if (S < 1) throw InputError("states: need at least one steady state");
             Arr w = mat(weights, S, ni, "observation weights");
             Arr sg = vec(sigma, S, "sigma");
             Arr ms = vec(mass, S, "mass");
             return new AD(n, length, kappa, u.data(), w.data(), sg.data(), ms.data(), static_cast<std::size_t>(S));
           }),
           py::arg("n"), py::arg("length"), py::arg("kappa"), py::arg("states"), py::arg("weights"), py::arg("sigma"),
           py::arg("mass"))
      .def_property_readonly("n_params", &AD::n_params)
      .def_property_readonly("n_states", &AD::n_states)
      .def_property_readonly("v_offset", &AD::v_offset)
      .def_property_readonly("w_offset", &AD::w_offset)
      .def(
          "set_v_network",
          [](AD& a, const py::tuple& net, bool zero_mean) {
            NetSpec s = net_from(net, static_cast<py::ssize_t>(a.n_points()), "V network");
            a.set_v_network(s.mlp, s.features.data(), zero_mean);
          },
          py::arg("net"), py::arg("zero_mean"))
      .def("set_v_values",
           [](AD& a, const py::object& v) {
             Arr x = vec(v, static_cast<py::ssize_t>(a.n_points()), "V values");
             a.set_v_values(x.data());
           })
      .def(
          "set_w_network",
          [](AD& a, const py::tuple& net, bool zero_mean) {
            NetSpec s = net_from(net, static_cast<py::ssize_t>(a.n_points()), "W network");
            a.set_w_network(s.mlp, s.features.data(), zero_mean);
          },
          py::arg("net"), py::arg("zero_mean"))
      .def("set_w_values",
           [](AD& a, const py::object& v) {
             Arr x = vec(v, static_cast<py::ssize_t>(a.n_points()), "W values");
             a.set_w_values(x.data());
           })
      .def("set_smoothness", &AD::set_smoothness, py::arg("lambda_v"), py::arg("lambda_w"),
           "Penalties lambda int f'^2 on the learned V and W, added to the loss.")
      .def_property_readonly("last_penalty", &AD::last_penalty)
      .def("loss_and_grad", &loss_and_grad<AD>, py::arg("params"), "(loss, dloss/dparams), penalties included.")
      .def(
          "loss_from_values",
          [](AD& a, const py::object& v, const py::object& w) {
            const auto n = static_cast<py::ssize_t>(a.n_points());
            Arr va = vec(v, n, "V values"), wa = vec(w, n, "W values");
            Arr gv = out_vec(a.n_points()), gw = out_vec(a.n_points());
            std::fill(gv.mutable_data(), gv.mutable_data() + n, 0.0);
            std::fill(gw.mutable_data(), gw.mutable_data() + n, 0.0);
            const double loss = a.loss_from_values(va.data(), wa.data(), gv.mutable_data(), gw.mutable_data());
            return py::make_tuple(loss, gv, gw);
          },
          "(loss, dL/dV, dL/dW) for grid values of V and W.")
      .def("function_values",
           [](AD& a, const py::object& params) {
             Arr p = vec(params, static_cast<py::ssize_t>(a.n_params()), "params");
             Arr v = out_vec(a.n_points()), w = out_vec(a.n_points());
             a.function_values(p.data(), v.mutable_data(), w.mutable_data());
             return py::make_tuple(v, w);
           })
      .def("fixed_point_map",
           [](AD& a, const py::object& params) {
             Arr p = vec(params, static_cast<py::ssize_t>(a.n_params()), "params");
             a.evaluate(p.data(), nullptr);
             return map_copy(a.fixed_point_map(), a.n_states(), a.n_points());
           })
      .def("adam", &run_adam<AD>, py::arg("params"), py::arg("steps"), py::arg("lr"), py::arg("every"),
           py::arg("callback"), "Adam in C++: (params, steps taken, last loss, interrupted).");

  using SL = SemilinearFit<double>;
  py::class_<SL>(m, "SemilinearFit", "Fixed-point loss of -D u'' = g(x, u) steady states with Dirichlet data.")
      .def(py::init([](std::size_t n, double h, double diffusion, const py::object& states, const py::object& weights,
                       const py::object& left, const py::object& right) {
             if (n < 1) throw InputError("n: need at least one interior point");
             const auto ni = static_cast<py::ssize_t>(n);
             Arr u = mat(states, -1, ni, "states");
             const py::ssize_t S = u.shape(0);
             if (S < 1) throw InputError("states: need at least one steady state");
             Arr w = mat(weights, S, ni, "observation weights");
             Arr l = vec(left, S, "left boundary values");
             Arr r = vec(right, S, "right boundary values");
             return new SL(n, h, diffusion, u.data(), w.data(), l.data(), r.data(), static_cast<std::size_t>(S));
           }),
           py::arg("n"), py::arg("h"), py::arg("diffusion"), py::arg("states"), py::arg("weights"), py::arg("left"),
           py::arg("right"))
      .def_property_readonly("n_params", &SL::n_params)
      .def_property_readonly("n_states", &SL::n_states)
      .def("set_g_network",
           [](SL& a, const py::tuple& net) {
             NetSpec s = net_from(net, static_cast<py::ssize_t>(a.n_points() * a.n_states()), "g network");
             a.set_g_network(s.mlp, s.features.data());
           })
      .def("set_g_values",
           [](SL& a, const py::object& g) {
             Arr x = vec(g, static_cast<py::ssize_t>(a.n_points() * a.n_states()), "g values");
             a.set_g_values(x.data());
           })
      .def("loss_and_grad", &loss_and_grad<SL>, py::arg("params"))
      .def("loss_from_values",
           [](SL& a, const py::object& g) {
             const auto n = static_cast<py::ssize_t>(a.n_points() * a.n_states());
             Arr ga = vec(g, n, "g values");
             Arr gb = out_vec(static_cast<std::size_t>(n));
             std::fill(gb.mutable_data(), gb.mutable_data() + n, 0.0);
             const double loss = a.loss_from_values(ga.data(), gb.mutable_data());
             return py::make_tuple(loss, gb);
           })
      .def("function_values",
           [](SL& a, const py::object& params) {
             Arr p = vec(params, static_cast<py::ssize_t>(a.n_params()), "params");
             Arr g = out_vec(a.n_points() * a.n_states());
             a.function_values(p.data(), g.mutable_data());
             return g;
           })
      .def("fixed_point_map",
           [](SL& a, const py::object& params) {
             Arr p = vec(params, static_cast<py::ssize_t>(a.n_params()), "params");
             a.evaluate(p.data(), nullptr);
             return map_copy(a.fixed_point_map(), a.n_states(), a.n_points());
           })
      .def("adam", &run_adam<SL>, py::arg("params"), py::arg("steps"), py::arg("lr"), py::arg("every"),
           py::arg("callback"));
}
