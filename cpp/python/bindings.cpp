// pybind11 bindings: numpy in and out, shapes checked here, C++ errors translated to the
// exceptions of pinnbilo.errors, training loops run with the GIL released.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <exception>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "pinnbilo/batch.hpp"
#include "pinnbilo/elementary.hpp"
#include "pinnbilo/error.hpp"
#include "pinnbilo/jet_spec.hpp"
#include "pinnbilo/mlp.hpp"
#include "pinnbilo/problem.hpp"
#include "pinnbilo/trainer.hpp"
#include "callbacks.hpp"

namespace py = pybind11;
using namespace pinnbilo;
using pinnbilo_python::interrupted_by;
using pinnbilo_python::python_callback;

void bind_steady(py::module_& m);  // bind_steady.cpp
void bind_parallel(py::module_& m);  // bind_parallel.cpp
void bind_posterior(py::module_& m);  // bind_posterior.cpp

namespace {

template <class T>
using Array = py::array_t<T, py::array::c_style | py::array::forcecast>;

template <class T>
Array<T> to_numpy(const std::vector<T>& v) {
  Array<T> out(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), out.mutable_data());
  return out;
}

// A (rows x cols) float array; rows == -1 accepts any count.
template <class T>
Array<T> as_matrix(const py::handle& obj, py::ssize_t rows, py::ssize_t cols, const std::string& name) {
  Array<T> a = Array<T>::ensure(obj);
  if (!a) {
    PyErr_Clear();
    throw InputError(name + ": expected a numeric array");
  }
  if (a.ndim() != 2)
    throw InputError(name + ": expected a 2-D array of shape (n, " + std::to_string(cols) + "), got " +
                     std::to_string(a.ndim()) + " dimensions");
  if (a.shape(1) != cols || (rows >= 0 && a.shape(0) != rows))
    throw InputError(name + ": expected shape (" + (rows >= 0 ? std::to_string(rows) : std::string("n")) + ", " +
                     std::to_string(cols) + "), got (" + std::to_string(a.shape(0)) + ", " +
                     std::to_string(a.shape(1)) + ")");
  return a;
}

template <class T>
Array<T> as_vector(const py::handle& obj, py::ssize_t size, const std::string& name) {
  Array<T> a = Array<T>::ensure(obj);
  if (!a) {
    PyErr_Clear();
    throw InputError(name + ": expected a numeric array");
  }
  if (a.ndim() != 1 || (size >= 0 && a.shape(0) != size))
    throw InputError(name + ": expected a 1-D array of length " + std::to_string(size) + ", got shape with " +
                     std::to_string(a.ndim()) + " dimensions and " + std::to_string(a.size()) + " elements");
  return a;
}

template <class T>
void require_all_finite(const Array<T>& a, const std::string& name) {
  const T* p = a.data();
  for (py::ssize_t i = 0; i < a.size(); ++i)
    if (!std::isfinite(static_cast<double>(p[i])))
      throw InputError(name + " contains NaN or inf (flat index " + std::to_string(i) + ")");
}

// Known per-point values (rows, n_known); an empty array when the problem has none.
template <class T>
Array<T> known_values(const py::object& known, py::ssize_t rows, int n_known) {
  if (n_known == 0) {
    if (!known.is_none()) throw InputError("known values given, but the residual reads none");
    return Array<T>(0);
  }
  if (known.is_none()) throw InputError("the residual reads known values: pass an array (n, " + std::to_string(n_known) + ")");
  auto a = as_matrix<T>(known, rows, n_known, "known values");
  require_all_finite(a, "known values");
  return a;
}

Program program_from(const py::list& ops) {
  Program p;
  for (const auto& item : ops) {
    auto t = item.cast<py::tuple>();
    if (t.size() != 6) throw InputError("program: every op is (op, a, b, value, func, leaf)");
    Instruction ins;
    ins.op = static_cast<OpCode>(t[0].cast<int>());
    ins.a = t[1].cast<int>();
    ins.b = t[2].cast<int>();
    ins.value = t[3].cast<double>();
    ins.func = static_cast<Func>(t[4].cast<int>());
    ins.leaf = t[5].cast<int>();
    p.code.push_back(ins);
  }
  p.validate();
  return p;
}

std::vector<Leaf> leaves_from(const py::list& items) {
  std::vector<Leaf> out;
  for (const auto& item : items) {
    auto t = item.cast<py::tuple>();
    if (t.size() != 3) throw InputError("leaf table: every leaf is (kind, index, derivative multi-index)");
    Leaf leaf;
    leaf.kind = static_cast<LeafKind>(t[0].cast<int>());
    leaf.index = t[1].cast<int>();
    leaf.deriv = t[2].cast<std::vector<int>>();
    out.push_back(leaf);
  }
  return out;
}

// functions: one (input coordinate indices, layer sizes, activation, transform ops, transform leaves) per function.
ProblemDef problem_from(int n_coords, int n_params, const py::list& transform, const py::list& transform_leaves,
                        const py::list& residual, const py::list& residual_leaves, const py::list& functions,
                        int n_known, bool validate = true) {
  ProblemDef def;
  def.n_coords = n_coords;
  def.n_params = n_params;
  def.n_known = n_known;
  for (const auto& item : functions) {
    auto t = item.cast<py::tuple>();
    if (t.size() != 5) throw InputError("functions: every function is (inputs, sizes, activation, ops, leaves)");
    FunctionDef f;
    f.inputs = t[0].cast<std::vector<int>>();
    f.net = Mlp(t[1].cast<std::vector<int>>(), func_from_name(t[2].cast<std::string>()));
    f.transform = program_from(t[3].cast<py::list>());
    f.transform_leaves = leaves_from(t[4].cast<py::list>());
    def.functions.push_back(std::move(f));
  }
  if (!validate) return def;
  def.transforms = {Expression{program_from(transform), leaves_from(transform_leaves)}};
  def.residuals = {Expression{program_from(residual), leaves_from(residual_leaves)}};
  def.validate();
  return def;
}

// An expression as the pair (ops, leaves) Python compiles.
Expression expression_from(const py::handle& item, const std::string& what) {
  auto t = item.cast<py::tuple>();
  if (t.size() < 2) throw InputError(what + ": every expression is (ops, leaves, ...)");
  return Expression{program_from(t[0].cast<py::list>()), leaves_from(t[1].cast<py::list>())};
}

template <class K>
K get(const py::dict& d, const char* key) {
  if (!d.contains(key)) throw InputError(std::string("problem definition: missing '") + key + "'");
  return d[key].cast<K>();
}

// The general problem statement: {n_coords, n_params, n_fields, n_known, functions, transforms:
// [(ops, leaves)], residuals: [(ops, leaves)], conditions: [(ops, leaves, weight, paired)],
// observations: [(ops, leaves, integral)]}.
ProblemDef problem_from_dict(const py::dict& d) {
  ProblemDef def = problem_from(get<int>(d, "n_coords"), get<int>(d, "n_params"), py::list(), py::list(), py::list(),
                                py::list(), d.contains("functions") ? d["functions"].cast<py::list>() : py::list(),
                                get<int>(d, "n_known"), false);
  def.n_fields = get<int>(d, "n_fields");
  def.transforms.clear();
  def.residuals.clear();
  for (const auto& e : get<py::list>(d, "transforms")) def.transforms.push_back(expression_from(e, "transform"));
  for (const auto& e : get<py::list>(d, "residuals")) def.residuals.push_back(expression_from(e, "residual"));
  for (const auto& e : get<py::list>(d, "conditions")) {
    auto t = e.cast<py::tuple>();
    if (t.size() != 4) throw InputError("condition: (ops, leaves, weight, paired)");
    def.conditions.push_back(ConditionDef{expression_from(e, "condition"), t[2].cast<double>(), t[3].cast<bool>()});
  }
  if (d.contains("periodic")) def.periodic = d["periodic"].cast<std::vector<double>>();
  if (d.contains("input_shift")) {
    def.input_shift = d["input_shift"].cast<std::vector<double>>();
    def.input_scale = get<std::vector<double>>(d, "input_scale");
  }
  for (const auto& e : get<py::list>(d, "observations")) {
    auto t = e.cast<py::tuple>();
    if (t.size() != 3) throw InputError("observation: (ops, leaves, integral)");
    def.observations.push_back(ObservationDef{expression_from(e, "observation"), t[2].cast<bool>()});
  }
  def.validate();
  return def;
}

py::dict losses_dict(const Losses& l) {
  py::dict d;
  d["res"] = l.res;
  d["rgrad"] = l.rgrad;
  d["data"] = l.data;
  d["reg"] = l.reg;
  d["total"] = l.total;
  return d;
}

// Sets `field` from d[key] when the key is there (enums through their int codes).
template <class F>
void read(const py::dict& d, const char* key, F& field) {
  if (!d.contains(key)) return;
  if constexpr (std::is_enum_v<F>)
    field = static_cast<F>(d[key].cast<int>());
  else
    field = d[key].cast<F>();
}

AdamConfig adam_from(const py::dict& d) {
  AdamConfig c;
  read(d, "lr", c.lr);
  read(d, "beta1", c.beta1);
  read(d, "beta2", c.beta2);
  read(d, "eps", c.eps);
  read(d, "amsgrad", c.amsgrad);
  return c;
}

LrSchedule schedule_from(const py::dict& d) {
  LrSchedule s;
  read(d, "kind", s.kind);
  read(d, "warmup", s.warmup);
  read(d, "gamma", s.gamma);
  read(d, "decay_steps", s.decay_steps);
  read(d, "final_factor", s.final_factor);
  read(d, "patience", s.patience);
  read(d, "threshold", s.threshold);
  read(d, "min_factor", s.min_factor);
  return s;
}

TrainerOptions options_from(const py::dict& d) {
  TrainerOptions o;
  read(d, "w_res", o.w_res);
  read(d, "w_rgrad", o.w_rgrad);
  read(d, "w_data", o.w_data);
  read(d, "w_reg", o.w_reg);
  read(d, "lr_functions", o.lr_functions);
  if (d.contains("adam_weights")) o.adam_weights = adam_from(d["adam_weights"].cast<py::dict>());
  if (d.contains("adam_params")) o.adam_params = adam_from(d["adam_params"].cast<py::dict>());
  if (d.contains("schedule_weights")) o.schedule_weights = schedule_from(d["schedule_weights"].cast<py::dict>());
  if (d.contains("schedule_params")) o.schedule_params = schedule_from(d["schedule_params"].cast<py::dict>());
  if (d.contains("schedule_functions")) o.schedule_functions = schedule_from(d["schedule_functions"].cast<py::dict>());
  return o;
}

RunControl control_from(const py::dict& d) {
  RunControl c;
  read(d, "steps", c.steps);
  read(d, "train_params", c.train_params);
  read(d, "callback_every", c.callback_every);
  read(d, "tol", c.tol);
  read(d, "keep", c.keep);
  read(d, "monitor", c.monitor);
  read(d, "spike_factor", c.spike_factor);
  read(d, "spike_lr_factor", c.spike_lr_factor);
  read(d, "max_spikes", c.max_spikes);
  read(d, "patience", c.patience);
  read(d, "min_delta", c.min_delta);
  read(d, "max_iter_lower", c.max_iter_lower);
  read(d, "tol_lower", c.tol_lower);
  return c;
}

template <class T>
py::dict adam_state(const Adam<T>& a) {
  py::dict d;
  d["m"] = to_numpy(a.first_moment());
  d["v"] = to_numpy(a.second_moment());
  d["v_max"] = to_numpy(a.second_moment_max());
  d["t"] = a.steps();
  return d;
}

py::dict run_record(const RunResult& r, bool interrupted) {
  py::dict out;
  out["interrupted"] = interrupted;
  out["status"] = static_cast<int>(r.status);
  out["steps"] = r.steps;
  out["diverged_step"] = r.diverged_step;
  out["best_step"] = r.best_step;
  out["best_objective"] = r.best_objective;
  out["kept_best"] = r.kept_best;
  out["spikes"] = r.spikes;
  out["lr_factor"] = r.lr_factor;
  out["lower_steps"] = r.lower_steps;
  return out;
}

template <class T>
void bind_batch(py::module_& m) {
  m.def(
      "run_batch",
      [](const std::vector<Trainer<T>*>& trainers, const std::vector<py::dict>& controls, const py::object& callback) {
        std::vector<RunControl> cs;
        for (const auto& d : controls) cs.push_back(control_from(d));
        std::exception_ptr pending;
        const auto cb = python_callback<long>(callback, pending);
        std::vector<RunResult> rs;
        {
          py::gil_scoped_release release;
          rs = run_batch(trainers, cs, cb);
        }
        const bool interrupted = interrupted_by(pending);
        py::list out;
        for (const auto& r : rs) out.append(run_record(r, interrupted));
        return out;
      },
      py::arg("trainers"), py::arg("controls"), py::arg("callback"),
      "Runs many trainers at once, one per task on the thread pool (controls: one dict for all or one per "
      "trainer); callback(steps_done) on the calling thread, False or Ctrl-C stops every model. Returns one "
      "run record per trainer.");
}

template <class T>
void set_adam_state(Trainer<T>& t, int group, const py::dict& d, const std::string& name) {
  const auto n = static_cast<py::ssize_t>(group == 0 ? t.adam_weights().size() : t.adam_params().size());
  auto read = [&](const char* key) {
    if (!d.contains(key)) throw InputError(name + ": missing '" + key + "'");
    auto arr = as_vector<T>(d[key], n, name + "['" + key + "']");
    require_all_finite(arr, name + "['" + key + "']");
    return std::vector<T>(arr.data(), arr.data() + n);
  };
  const std::vector<T> m = read("m"), v = read("v"), v_max = read("v_max");
  long steps = 0;
  try {
    steps = d["t"].cast<long>();
  } catch (const py::cast_error&) {
    throw InputError(name + "['t'] must be an integer step count");
  }
  if (steps < 0) throw InputError(name + "['t'] must be >= 0");
  t.set_adam_state(group, m, v, v_max, steps);
}

template <class T>
void bind_trainer(py::module_& m, const char* name) {
  using TR = Trainer<T>;
  py::class_<TR>(m, name, "Training state and loop of one model (weights, parameters, Adam, history).")
      .def(py::init([](std::vector<int> sizes, const std::string& activation, int method, int n_coords, int n_params,
                       const py::list& transform, const py::list& transform_leaves, const py::list& residual,
                       const py::list& residual_leaves, const std::vector<std::tuple<double, double, double>>& bounds,
                       const py::object& collocation, const py::object& data_points, const py::object& data_values,
                       const py::dict& options, std::uint64_t seed, const py::list& functions, int n_known,
                       const py::object& known) {
             ProblemDef def = problem_from(n_coords, n_params, transform, transform_leaves, residual, residual_leaves,
                                           functions, n_known);
             auto col = as_matrix<T>(collocation, -1, n_coords, "collocation points");
             auto kn = known_values<T>(known, col.shape(0), n_known);
             auto dp = as_matrix<T>(data_points, -1, n_coords, "data points");
             auto dv = as_vector<T>(data_values, dp.shape(0), "data values");
             require_all_finite(col, "collocation points");
             require_all_finite(dp, "data points");
             require_all_finite(dv, "data values");
             if (method != 0 && method != 1) throw InputError("method must be 0 (PINN) or 1 (BiLO)");
             std::vector<ParamBound> pb;
             for (const auto& b : bounds) pb.push_back(ParamBound{std::get<0>(b), std::get<1>(b), std::get<2>(b)});
             Mlp mlp(sizes, func_from_name(activation));
             return new TR(mlp, def, static_cast<Method>(method), pb, col.data(), static_cast<std::size_t>(col.shape(0)),
                           dp.data(), dv.data(), static_cast<std::size_t>(dp.shape(0)), options_from(options), seed,
                           n_known > 0 ? kn.data() : nullptr);
           }),
           py::arg("sizes"), py::arg("activation"), py::arg("method"), py::arg("n_coords"), py::arg("n_params"),
           py::arg("transform"), py::arg("transform_leaves"), py::arg("residual"), py::arg("residual_leaves"),
           py::arg("bounds"), py::arg("collocation"), py::arg("data_points"), py::arg("data_values"),
           py::arg("options"), py::arg("seed"), py::arg("functions") = py::list(), py::arg("n_known") = 0,
           py::arg("known") = py::none())
      .def_static(
          "create",
          [](const py::dict& problem, const std::vector<std::vector<int>>& nets, const std::string& activation,
             int method, const std::vector<std::tuple<double, double, double>>& bounds, const py::object& collocation,
             const py::object& known, const py::list& conditions, const py::list& observations,
             const py::dict& options, std::uint64_t seed) {
            ProblemDef def = problem_from_dict(problem);
            const int nc = def.n_coords, nk = def.n_known;
            auto col = as_matrix<T>(collocation, -1, nc, "collocation points");
            require_all_finite(col, "collocation points");
            if (col.shape(0) == 0) throw InputError("collocation points: need at least one point");
            auto kn = known_values<T>(known, col.shape(0), nk);
            if (method != 0 && method != 1) throw InputError("method must be 0 (PINN) or 1 (BiLO)");
            auto matrix = [&](const py::dict& d, const char* key, const std::string& what) {
              auto a = as_matrix<T>(d[key], -1, nc, what);
              require_all_finite(a, what);
              if (a.shape(0) == 0) throw InputError(what + ": need at least one point");
              return std::vector<T>(a.data(), a.data() + a.size());
            };
            auto vec = [&](const py::dict& d, const char* key, const std::string& what) {
              if (!d.contains(key) || d[key].is_none()) return std::vector<T>();
              auto a = as_vector<T>(d[key], -1, what);
              require_all_finite(a, what);
              return std::vector<T>(a.data(), a.data() + a.size());
            };
            auto known_of = [&](const py::dict& d, std::size_t rows, const std::string& what) {
              if (nk == 0 || !d.contains("known") || d["known"].is_none()) return std::vector<T>();
              auto a = as_matrix<T>(d["known"], static_cast<py::ssize_t>(rows), nk, what + " known values");
              require_all_finite(a, what + " known values");
              return std::vector<T>(a.data(), a.data() + a.size());
            };
            std::vector<ConditionPoints<T>> cps;
            for (std::size_t c = 0; c < conditions.size(); ++c) {
              const std::string what = "condition " + std::to_string(c);
              auto d = conditions[c].cast<py::dict>();
              ConditionPoints<T> cp;
              cp.points = matrix(d, "points", what + " points");
              cp.known = known_of(d, cp.points.size() / static_cast<std::size_t>(nc), what);
              cps.push_back(std::move(cp));
            }
            std::vector<ObservationData<T>> ods;
            for (std::size_t o = 0; o < observations.size(); ++o) {
              const std::string what = "observation " + std::to_string(o);
              auto d = observations[o].cast<py::dict>();
              ObservationData<T> od;
              od.points = matrix(d, "points", what + " points");
              od.values = vec(d, "values", what + " values");
              od.weights = vec(d, "weights", what + " weights");
              od.quadrature = vec(d, "quadrature", what + " quadrature weights");
              od.known = known_of(d, od.points.size() / static_cast<std::size_t>(nc), what);
              ods.push_back(std::move(od));
            }
            std::vector<ParamBound> pb;
            for (const auto& b : bounds) pb.push_back(ParamBound{std::get<0>(b), std::get<1>(b), std::get<2>(b)});
            std::vector<Mlp> mlps;
            for (const auto& sizes : nets) mlps.emplace_back(sizes, func_from_name(activation));
            if (mlps.empty()) throw InputError("need at least one network");
            return std::make_unique<TR>(mlps.size() == 1 ? Networks(mlps[0]) : Networks(mlps), def,
                                        static_cast<Method>(method), pb, col.data(),
                                        static_cast<std::size_t>(col.shape(0)), nk > 0 ? kn.data() : nullptr, cps, ods,
                                        options_from(options), seed);
          },
          py::arg("problem"), py::arg("nets"), py::arg("activation"), py::arg("method"), py::arg("bounds"),
          py::arg("collocation"), py::arg("known"), py::arg("conditions"), py::arg("observations"),
          py::arg("options"), py::arg("seed"),
          "A trainer for the general problem statement: several fields, conditions, observations. nets: the layer "
          "sizes of one shared network, or of one network per field.")
      .def_property_readonly("n_fields", [](TR& t) { return t.problem().n_fields; })
      .def_property_readonly("n_observations", &TR::n_observations)
      .def("observe", [](TR& t, int o) {
             std::vector<T> y;
             {
               py::gil_scoped_release release;
               y = t.observe(o);
             }
             return to_numpy(y);
           }, "Observation o's predictions at its own points (one value per row).")
      .def_property_readonly("n_weights", [](TR& t) { return t.weights().size(); })
      .def_property_readonly("n_raw", [](TR& t) { return t.raw_params().size(); },
                             "Length of the raw upper vector: parameters, then the functions' weights.")
      .def(
          "set_collocation",
          [](TR& t, const py::object& points, const py::object& known) {
            const ProblemDef& def = t.problem();
            auto p = as_matrix<T>(points, -1, def.n_coords, "collocation points");
            require_all_finite(p, "collocation points");
            if (p.shape(0) == 0) throw InputError("collocation points: need at least one point");
            auto kn = known_values<T>(known, p.shape(0), def.n_known);
            t.set_collocation(p.data(), static_cast<std::size_t>(p.shape(0)), def.n_known > 0 ? kn.data() : nullptr);
          },
          py::arg("points"), py::arg("known") = py::none(), "Replace the collocation points (n, n_coords).")
      .def(
          "predict_function",
          [](TR& t, int k, const py::object& points, const std::vector<std::vector<int>>& derivs) {
            const int nc = t.problem().n_coords;
            if (k < 0 || k >= t.problem().n_functions()) throw InputError("function index out of range");
            auto p = as_matrix<T>(points, -1, nc, "points");
            require_all_finite(p, "points");
            if (p.shape(0) == 0) throw InputError("points: need at least one point");
            const auto n = static_cast<std::size_t>(p.shape(0));
            Array<T> out({static_cast<py::ssize_t>(derivs.size()), static_cast<py::ssize_t>(n)});
            t.predict_function(k, p.data(), n, derivs, out.mutable_data());
            return out;
          },
          "Function k and its coordinate derivatives at points (n, n_coords): (len(derivs), n).")
      .def_property_readonly("n_params", &TR::n_params)
      .def_property_readonly("global_step", &TR::global_step)
      .def("set_global_step", &TR::set_global_step)
      .def("get_weights", [](TR& t) { return to_numpy(t.weights()); }, "Flat weight vector (copy).")
      .def("set_weights",
           [](TR& t, const py::object& w) {
             auto a = as_vector<T>(w, static_cast<py::ssize_t>(t.weights().size()), "weights");
             require_all_finite(a, "weights");
             t.set_weights(std::vector<T>(a.data(), a.data() + a.size()));
           })
      .def("get_raw_params", [](TR& t) { return to_numpy(t.raw_params()); })
      .def("set_raw_params",
           [](TR& t, const py::object& w) {
             auto a = as_vector<T>(w, static_cast<py::ssize_t>(t.raw_params().size()), "raw parameters");
             require_all_finite(a, "raw parameters");
             t.set_raw_params(std::vector<T>(a.data(), a.data() + a.size()));
           })
      .def("get_params", &TR::params, "Physical parameter values.")
      .def("set_params", &TR::set_params)
      .def("set_options", [](TR& t, const py::dict& d) { t.set_options(options_from(d)); })
      .def("get_adam_state",
           [](TR& t) {
             py::dict d;
             d["weights"] = adam_state(t.adam_weights());
             d["params"] = adam_state(t.adam_params());
             return d;
           })
      .def("set_adam_state",
           [](TR& t, const py::dict& d) {
             set_adam_state(t, 0, d["weights"].cast<py::dict>(), "adam weights");
             set_adam_state(t, 1, d["params"].cast<py::dict>(), "adam params");
           })
      .def("get_history",
           [](TR& t) {
             const History& h = t.history();
             py::dict d;
             d["step"] = to_numpy(h.step);
             d["res"] = to_numpy(h.res);
             d["rgrad"] = to_numpy(h.rgrad);
             d["data"] = to_numpy(h.data);
             d["reg"] = to_numpy(h.reg);
             d["total"] = to_numpy(h.total);
             auto p = to_numpy(h.params);
             d["params"] = p.reshape({static_cast<py::ssize_t>(h.step.size()), static_cast<py::ssize_t>(t.n_params())});
             return d;
           })
      .def("set_history",
           [](TR& t, const py::dict& d) {
             History h;
             try {
               h.step = d["step"].cast<std::vector<long>>();
               h.res = d["res"].cast<std::vector<double>>();
               h.rgrad = d["rgrad"].cast<std::vector<double>>();
               h.data = d["data"].cast<std::vector<double>>();
               h.total = d["total"].cast<std::vector<double>>();
               // Older checkpoints have no regulariser record: it was 0.
               h.reg = d.contains("reg") ? d["reg"].cast<std::vector<double>>() : std::vector<double>(h.step.size(), 0.0);
             } catch (const py::cast_error&) {
               throw InputError("history: step, res, rgrad, data and total must be 1-D numeric arrays");
             } catch (const py::error_already_set&) {
               throw InputError("history: needs the keys step, res, rgrad, data, total and params");
             }
             auto p = Array<double>::ensure(d["params"]);
             if (!p) {
               PyErr_Clear();
               throw InputError("history: params must be a numeric array");
             }
             h.params.assign(p.data(), p.data() + p.size());
             const std::size_t n = h.step.size();
             if (h.res.size() != n || h.rgrad.size() != n || h.data.size() != n || h.reg.size() != n || h.total.size() != n ||
                 h.params.size() != n * static_cast<std::size_t>(t.n_params()))
               throw InputError("history: arrays of inconsistent lengths");
             t.set_history(std::move(h));
           })
      .def("clear_history", [](TR& t) { t.clear_history(); })
      .def("history_length", [](TR& t) { return t.history().step.size(); })
      .def(
          "last_record",
          [](TR& t) -> py::object {
            const History& h = t.history();
            if (h.step.empty()) return py::none();
            const std::size_t i = h.step.size() - 1, np = static_cast<std::size_t>(t.n_params());
            Losses l{h.res[i], h.rgrad[i], h.data[i], h.reg[i], h.total[i]};
            std::vector<double> p(h.params.begin() + static_cast<std::ptrdiff_t>(i * np), h.params.end());
            return py::make_tuple(h.step[i], losses_dict(l), p);
          },
          "(step, losses, params) of the newest history record, or None.")
      .def(
          "append_record",
          [](TR& t, const py::dict& losses, const std::vector<double>& params) {
            if (params.size() != static_cast<std::size_t>(t.n_params())) throw InputError("append_record: wrong number of parameters");
            Losses l;
            l.res = losses["res"].cast<double>();
            l.rgrad = losses["rgrad"].cast<double>();
            l.data = losses["data"].cast<double>();
            l.reg = losses.contains("reg") ? losses["reg"].cast<double>() : 0.0;
            l.total = losses["total"].cast<double>();
            t.append_record(l, params);
          },
          "Record one step taken outside the Adam loop (e.g. an L-BFGS iteration).")
      .def(
          "pinn",
          [](TR& t, const py::object& w, const py::object& raw) {
            auto wa = as_vector<T>(w, static_cast<py::ssize_t>(t.weights().size()), "weights");
            auto ra = as_vector<T>(raw, static_cast<py::ssize_t>(t.raw_params().size()), "raw parameters");
            std::vector<T> gw(t.weights().size(), T(0)), gr(t.raw_params().size(), T(0));
            Losses l;
            {
              py::gil_scoped_release release;
              l = t.pinn(wa.data(), ra.data(), gw.data(), gr.data());
            }
            return py::make_tuple(losses_dict(l), to_numpy(gw), to_numpy(gr));
          },
          "PINN objective w_res L_res + w_data L_data at (weights, raw params): (losses, grad_w, grad_raw).")
      .def(
          "lower",
          [](TR& t, const py::object& w, const py::object& raw) {
            auto wa = as_vector<T>(w, static_cast<py::ssize_t>(t.weights().size()), "weights");
            auto ra = as_vector<T>(raw, static_cast<py::ssize_t>(t.raw_params().size()), "raw parameters");
            std::vector<T> gw(t.weights().size(), T(0));
            Losses l;
            {
              py::gil_scoped_release release;
              l = t.lower(wa.data(), ra.data(), gw.data());
            }
            return py::make_tuple(losses_dict(l), to_numpy(gw));
          },
          "BiLO lower objective w_res L_res + w_rgrad L_rgrad: (losses, grad_w).")
      .def(
          "upper",
          [](TR& t, const py::object& w, const py::object& raw) {
            auto wa = as_vector<T>(w, static_cast<py::ssize_t>(t.weights().size()), "weights");
            auto ra = as_vector<T>(raw, static_cast<py::ssize_t>(t.raw_params().size()), "raw parameters");
            std::vector<T> gr(t.raw_params().size(), T(0));
            Losses l;
            {
              py::gil_scoped_release release;
              l = t.upper(wa.data(), ra.data(), gr.data());
            }
            return py::make_tuple(losses_dict(l), to_numpy(gr));
          },
          "BiLO upper objective w_data L_data with weights fixed: (losses, grad_raw).")
      .def(
          "run",
          [](TR& t, const py::dict& control, const py::object& callback) {
            const RunControl c = control_from(control);
            std::exception_ptr pending;
            const auto cb = python_callback<long>(callback, pending);
            RunResult r;
            {
              py::gil_scoped_release release;
              r = t.run(c, cb);
            }
            // Ctrl-C ends the run like a callback's stop; the caller learns it from the record.
            const bool interrupted = interrupted_by(pending);
            return run_record(r, interrupted);
          },
          py::arg("control"), py::arg("callback"),
          "Adam steps in C++ with the GIL released (control: the fields of RunControl); returns the RunResult "
          "as a dict. A Python exception in the callback (Ctrl-C) ends the run and is re-raised after it.")
      .def(
          "predict",
          [](TR& t, const py::object& points, const std::vector<std::vector<int>>& derivs, int field) {
            const int nc = t.problem().n_coords;
            if (field < 0 || field >= t.problem().n_fields) throw InputError("field index out of range");
            auto p = as_matrix<T>(points, -1, nc, "points");
            require_all_finite(p, "points");
            if (p.shape(0) == 0) throw InputError("points: need at least one point");
            const auto n = static_cast<std::size_t>(p.shape(0));
            Array<T> out({static_cast<py::ssize_t>(derivs.size()), static_cast<py::ssize_t>(n)});
            t.predict(field, p.data(), n, derivs, out.mutable_data());
            return out;
          },
          py::arg("points"), py::arg("derivs"), py::arg("field") = 0,
          "Field `field` (default 0) and its derivatives (multi-indices over the network inputs) at points (n, n_coords): (len(derivs), n).")
      .def(
          "residual",
          [](TR& t, const py::object& points, const py::object& known) {
            const int nc = t.problem().n_coords;
            auto p = as_matrix<T>(points, -1, nc, "points");
            require_all_finite(p, "points");
            if (p.shape(0) == 0) throw InputError("points: need at least one point");
            auto kn = known_values<T>(known, p.shape(0), t.problem().n_known);
            const auto n = static_cast<std::size_t>(p.shape(0));
            Array<T> out({static_cast<py::ssize_t>(t.residual_rows()), static_cast<py::ssize_t>(n)});
            t.residual(p.data(), n, out.mutable_data(), t.problem().n_known > 0 ? kn.data() : nullptr);
            return out;
          },
          py::arg("points"), py::arg("known") = py::none());
}

template <class T>
Array<T> mlp_derivatives(const std::vector<int>& sizes, const std::string& activation, const py::object& params,
                         const py::object& inputs, const std::vector<std::vector<int>>& derivs) {
  Mlp mlp(sizes, func_from_name(activation));
  auto w = as_vector<T>(params, static_cast<py::ssize_t>(mlp.n_params()), "params");
  auto x = as_matrix<T>(inputs, -1, mlp.n_inputs(), "inputs");
  if (x.shape(0) == 0) throw InputError("inputs: need at least one point");
  require_all_finite(w, "params");
  require_all_finite(x, "inputs");
  const auto n = static_cast<std::size_t>(x.shape(0));
  for (const auto& d : derivs)
    if (d.size() != static_cast<std::size_t>(mlp.n_inputs()))
      throw InputError("derivative multi-indices need one entry per network input");
  JetSpec spec(mlp.n_inputs(), derivs);
  MlpJets<T> jets(mlp, spec, n);
  const std::size_t kn = static_cast<std::size_t>(spec.size()) * n;
  T* in = jets.input();
  std::fill(in, in + kn * static_cast<std::size_t>(mlp.n_inputs()), T(0));
  for (int v = 0; v < mlp.n_inputs(); ++v) {
    T* jet = in + static_cast<std::size_t>(v) * kn;
    for (std::size_t i = 0; i < n; ++i) jet[i] = x.data()[i * static_cast<std::size_t>(mlp.n_inputs()) + v];
    const int u = spec.unit(v);
    if (u >= 0) std::fill(jet + static_cast<std::size_t>(u) * n, jet + static_cast<std::size_t>(u + 1) * n, T(1));
  }
  jets.forward(w.data());
  const auto n_out = static_cast<py::ssize_t>(mlp.n_outputs());
  Array<T> out({static_cast<py::ssize_t>(derivs.size()), n_out, static_cast<py::ssize_t>(n)});
  for (std::size_t r = 0; r < derivs.size(); ++r) {
    const int idx = spec.index_of(derivs[r]);
    const T f = static_cast<T>(spec.factorial(idx));
    for (py::ssize_t o = 0; o < n_out; ++o) {
      const T* src = jets.output() + static_cast<std::size_t>(o) * kn + static_cast<std::size_t>(idx) * n;
      T* dst = out.mutable_data() + (static_cast<std::size_t>(r) * static_cast<std::size_t>(n_out) + o) * n;
      for (std::size_t i = 0; i < n; ++i) dst[i] = f * src[i];
    }
  }
  return out;
}

template <class T>
Array<T> mlp_init(const std::vector<int>& sizes, const std::string& activation, std::uint64_t seed) {
  Mlp mlp(sizes, func_from_name(activation));
  Array<T> out(static_cast<py::ssize_t>(mlp.n_params()));
  mlp.init_params(out.mutable_data(), seed);
  return out;
}

}  // namespace

// The module's name and CPU level come from the build (one copy per x86-64 level, see CMakeLists.txt).
#ifndef PINNBILO_MODULE_NAME
#define PINNBILO_MODULE_NAME _core
#endif
#ifndef PINNBILO_ISA_LEVEL
#define PINNBILO_ISA_LEVEL "generic"
#endif

PYBIND11_MODULE(PINNBILO_MODULE_NAME, m) {
  m.attr("isa_level") = PINNBILO_ISA_LEVEL;
  m.doc() = "pinnbilo C++ core: truncated Taylor-mode MLP jets, residual programs, PINN/BiLO objectives.";

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const InputError& e) {
      py::object cls = py::module_::import("pinnbilo.errors").attr("InputError");
      PyErr_SetString(cls.ptr(), e.what());
    } catch (const TrainingDiverged& e) {
      py::object cls = py::module_::import("pinnbilo.errors").attr("TrainingDiverged");
      PyErr_SetString(cls.ptr(), e.what());
    }
  });

  m.def("jet_monomials", [](int n_dirs, const std::vector<std::vector<int>>& wanted) {
    return JetSpec(n_dirs, wanted).monomials();
  }, "The downward closure of `wanted`, in the core's storage order (constant first).");
  m.def("taylor_coefficients", [](const std::string& name, double p, const py::object& x, int order) {
    if (order < 0 || order > 18) throw InputError("order must be in [0, 18], got " + std::to_string(order));
    auto a = as_vector<double>(x, -1, "x");
    const auto n = static_cast<std::size_t>(a.size());
    Array<double> out({static_cast<py::ssize_t>(order + 1), static_cast<py::ssize_t>(n)});
    taylor_coefficients<double>(func_from_name(name), p, a.data(), n, order, out.mutable_data());
    return out;
  }, "f^(k)(x)/k! for k = 0..order: shape (order + 1, n).");
  m.def(
      "param_gain",
      [](double lower, double upper, double scale, double a0) {
        ParamBound b;
        b.lower = lower;
        b.upper = upper;
        return b.gain_for_scale(scale, a0);
      },
      py::arg("lower"), py::arg("upper"), py::arg("scale"), py::arg("a0"),
      "The gain of a bound transform at which one unit of the raw variable moves the parameter by `scale` at a0.");
  m.def("mlp_n_params", [](const std::vector<int>& sizes) { return Mlp(sizes, Func::Tanh).n_params(); });
  m.def("mlp_init", &mlp_init<double>, py::arg("sizes"), py::arg("activation"), py::arg("seed"));
  m.def("mlp_init_f32", &mlp_init<float>, py::arg("sizes"), py::arg("activation"), py::arg("seed"));
  m.def("mlp_derivatives", &mlp_derivatives<double>, py::arg("sizes"), py::arg("activation"), py::arg("params"),
        py::arg("inputs"), py::arg("derivs"),
        "Derivatives d^alpha N of a network at inputs (n, n_in) for multi-indices alpha: (len(derivs), n_out, n).");
  m.def("mlp_derivatives_f32", &mlp_derivatives<float>, py::arg("sizes"), py::arg("activation"), py::arg("params"),
        py::arg("inputs"), py::arg("derivs"));
  bind_trainer<double>(m, "Trainer64");
  bind_trainer<float>(m, "Trainer32");
  bind_batch<double>(m);
  bind_batch<float>(m);
  bind_steady(m);
  bind_parallel(m);
  bind_posterior(m);
}
