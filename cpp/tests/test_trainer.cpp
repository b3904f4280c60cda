// Objectives, gradient routing and the training loop of Trainer, plus Adam and ParamBound.
#include <algorithm>
#include <functional>
#include <vector>

#include "check.hpp"
#include "pinnbilo/error.hpp"
#include "problems.hpp"

using namespace pinnbilo;
using problems::all_setups;
using problems::make_trainer;
using problems::Setup;

namespace {

double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::fabs(x));
  return m;
}

// Gradient g of f with respect to x against central differences, relative to the largest entry.
void check_gradient(const char* what, const char* setup, const std::vector<double>& g, std::vector<double>& x,
                    const std::function<double()>& f) {
  const double scale = std::max(1.0, max_abs(g));
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double fd = ref::central_difference(f, x[i], 1e-6);
    if (!CHECK_CLOSE(g[i], fd, 1e-5, 2e-7 * scale)) std::printf("    %s %s, entry %zu\n", setup, what, i);
  }
}

std::vector<MultiIndex> input_indices(const Setup& s, const std::vector<std::vector<int>>& list) {
  const int n_in = s.def.n_net_inputs(s.method);
  std::vector<MultiIndex> out;
  for (const auto& m : list) {
    MultiIndex full(static_cast<std::size_t>(n_in), 0);
    std::copy(m.begin(), m.end(), full.begin());
    out.push_back(full);
  }
  return out;
}

}  // namespace

TEST(trainer, objective_gradients) {
  for (const Setup& s : all_setups()) {
    auto t = make_trainer<double>(s);
    const auto& o = t->options();
    std::vector<double> w = t->weights(), raw = t->raw_params();
    const std::size_t nw = w.size(), np = raw.size();

    // pinn: w_res L_res + w_data L_data in weights and raw parameters. On a BiLO trainer the
    // objective is checked with w_rgrad = 0: it has no L_rgrad term.
    auto tp = make_trainer<double>(s);
    if (s.method == Method::BiLO) {
      TrainerOptions no_rgrad = o;
      no_rgrad.w_rgrad = 0.0;
      tp->set_options(no_rgrad);
    }
    std::vector<double> gw(nw, 0.0), gr(np, 0.0);
    const Losses lp = tp->pinn(w.data(), raw.data(), gw.data(), gr.data());
    CHECK_CLOSE(lp.total, o.w_res * lp.res + o.w_data * lp.data, 1e-14, 0.0);
    auto pinn_total = [&]() { return tp->pinn(w.data(), raw.data(), nullptr, nullptr).total; };
    check_gradient("pinn d/dweights", s.name, gw, w, pinn_total);
    check_gradient("pinn d/draw", s.name, gr, raw, pinn_total);
    // Either output alone gives the same numbers.
    std::vector<double> gw_only(nw, 0.0), gr_only(np, 0.0);
    tp->pinn(w.data(), raw.data(), gw_only.data(), nullptr);
    tp->pinn(w.data(), raw.data(), nullptr, gr_only.data());
    for (std::size_t i = 0; i < nw; ++i) CHECK_CLOSE(gw_only[i], gw[i], 1e-13, 1e-15);
    for (std::size_t i = 0; i < np; ++i) CHECK_CLOSE(gr_only[i], gr[i], 1e-13, 1e-15);

    // lower: w_res L_res + w_rgrad L_rgrad in the weights.
    std::vector<double> lw(nw, 0.0);
    const Losses ll = t->lower(w.data(), raw.data(), lw.data());
    CHECK_CLOSE(ll.total, o.w_res * ll.res + o.w_rgrad * ll.rgrad, 1e-14, 0.0);
    CHECK_CLOSE(ll.res, lp.res, 1e-14, 0.0);
    if (s.method == Method::PINN) CHECK(ll.rgrad == 0.0);
    if (s.method == Method::BiLO) CHECK(ll.rgrad > 0.0);
    check_gradient("lower d/dweights", s.name, lw, w, [&]() { return t->lower(w.data(), raw.data(), nullptr).total; });

    // upper: w_data L_data in the raw parameters, the weights fixed.
    std::vector<double> ur(np, 0.0);
    const Losses lu = t->upper(w.data(), raw.data(), ur.data());
    CHECK_CLOSE(lu.total, o.w_data * lu.data, 1e-14, 0.0);
    CHECK_CLOSE(lu.data, lp.data, 1e-14, 0.0);
    check_gradient("upper d/draw", s.name, ur, raw, [&]() { return t->upper(w.data(), raw.data(), nullptr).total; });
    if (s.method == Method::BiLO) CHECK(max_abs(ur) > 0.0);

    // The objectives are pure: the trainer's own state did not move.
    CHECK(t->weights() == w);
    CHECK(t->raw_params() == raw);
  }
}

TEST(trainer, loss_values) {
  // Recompute every loss from predicted derivatives with the equations written out by hand.
  for (const Setup& s : all_setups()) {
    auto t = make_trainer<double>(s);
    const bool bilo = s.method == Method::BiLO;
    const bool is_pde = s.def.n_coords == 2;
    const std::size_t n = s.collocation.size() / static_cast<std::size_t>(s.def.n_coords);
    const auto p = t->params();
    for (std::size_t j = 0; j < p.size(); ++j) CHECK_CLOSE(p[j], s.params[j], 1e-12, 1e-14);
    const double a = p[0];

    std::vector<std::vector<int>> list;
    if (!is_pde) list = {{0}, {1}, {0, 1, 0}, {0, 0, 1}, {1, 1, 0}, {1, 0, 1}};  // u u_t u_a u_b u_ta u_tb
    else list = {{0, 0}, {1, 0}, {0, 2}, {0, 0, 1}, {1, 0, 1}, {0, 2, 1}};          // u u_t u_xx u_a u_ta u_xxa
    if (!bilo) list.resize(is_pde ? 3 : 2);
    const auto derivs = input_indices(s, list);
    std::vector<double> d(derivs.size() * n);
    t->predict(s.collocation.data(), n, derivs, d.data());
    auto D = [&](std::size_t row, std::size_t i) { return d[row * n + i]; };

    std::vector<double> rows(t->residual_rows() * n);
    CHECK(t->residual_rows() == (bilo ? 1 + p.size() : 1));
    t->residual(s.collocation.data(), n, rows.data());

    double res = 0, rgrad = 0;
    for (std::size_t i = 0; i < n; ++i) {
      double r, ra = 0, rb = 0;
      if (!is_pde) {
        const double tt = s.collocation[i], b = p[1];
        r = D(1, i) - a * D(0, i) + std::sin(b * tt);
        if (bilo) {
          ra = D(4, i) - D(0, i) - a * D(2, i);
          rb = D(5, i) - a * D(3, i) + tt * std::cos(b * tt);
        }
      } else {
        const double x = s.collocation[2 * i + 1];
        r = D(1, i) - a * D(2, i) + D(0, i) * D(0, i) - 0.5 * std::exp(x);
        if (bilo) ra = D(4, i) - D(2, i) - a * D(5, i) + 2 * D(0, i) * D(3, i);
      }
      CHECK_CLOSE(rows[i], r, 1e-11, 1e-12);
      if (bilo) {
        CHECK_CLOSE(rows[n + i], ra, 1e-11, 1e-12);
        if (!is_pde) CHECK_CLOSE(rows[2 * n + i], rb, 1e-11, 1e-12);
      }
      res += r * r;
      rgrad += ra * ra + rb * rb;
    }
    const std::vector<double> w = t->weights(), raw = t->raw_params();
    const Losses lo = t->lower(w.data(), raw.data(), nullptr);
    CHECK_CLOSE(lo.res, res / n, 1e-11, 0.0);
    CHECK_CLOSE(lo.rgrad, rgrad / n, 1e-11, 0.0);

    const std::size_t m = s.data_values.size();
    std::vector<double> u(m);
    t->predict(s.data_points.data(), m, input_indices(s, {{0}}), u.data());
    double data = 0;
    for (std::size_t i = 0; i < m; ++i) data += (u[i] - s.data_values[i]) * (u[i] - s.data_values[i]);
    CHECK_CLOSE(t->upper(w.data(), raw.data(), nullptr).data, data / m, 1e-12, 0.0);

    // Hard constraints hold exactly.
    if (!is_pde) {
      const double t0 = 0.0;
      double u0;
      t->predict(&t0, 1, input_indices(s, {{0}}), &u0);
      CHECK_CLOSE(u0, p[1], 1e-15, 1e-15);  // u(0) = b
    } else {
      const double pts[] = {0.0, 0.3, 0.0, 0.8, 0.6, 0.0, 0.6, 1.0};
      double uc[4];
      t->predict(pts, 4, input_indices(s, {{0, 0}}), uc);
      CHECK_CLOSE(uc[0], std::sin(0.3), 1e-15, 1e-15);
      CHECK_CLOSE(uc[1], std::sin(0.8), 1e-15, 1e-15);
      CHECK_CLOSE(uc[2], 0.0, 0.0, 1e-15);
      CHECK_CLOSE(uc[3], std::sin(1.0), 1e-15, 1e-15);
    }
  }
}

TEST(trainer, predict_finite_differences) {
  // Coordinate derivatives against differences of u; BiLO parameter derivatives (u_a, and the
  // residual's total dr/da) against differences in the parameter value itself.
  for (const Setup& s : all_setups()) {
    auto t = make_trainer<double>(s);
    const int nc = s.def.n_coords;
    const double z0[] = {0.37, 0.61};
    auto u_at = [&](double dt, double dx) {
      double z[2] = {z0[0] + dt, z0[1] + dx}, u;
      t->predict(z, 1, input_indices(s, {{0}}), &u);
      return u;
    };
    const double h = 1e-4;
    double v[3];
    t->predict(z0, 1, input_indices(s, {{1}, {2}}), v);
    CHECK_CLOSE(v[0], (u_at(h, 0) - u_at(-h, 0)) / (2 * h), 1e-6, 1e-8);
    CHECK_CLOSE(v[1], (u_at(h, 0) - 2 * u_at(0, 0) + u_at(-h, 0)) / (h * h), 1e-4, 1e-6);
    if (nc == 2) {
      t->predict(z0, 1, input_indices(s, {{0, 2}, {1, 1}}), v);
      CHECK_CLOSE(v[0], (u_at(0, h) - 2 * u_at(0, 0) + u_at(0, -h)) / (h * h), 1e-4, 1e-6);
      CHECK_CLOSE(v[1], (u_at(h, h) - u_at(h, -h) - u_at(-h, h) + u_at(-h, -h)) / (4 * h * h), 1e-4, 1e-6);
    }
    if (s.method != Method::BiLO) continue;
    const auto p0 = t->params();
    for (std::size_t j = 0; j < p0.size(); ++j) {
      std::vector<int> ea(static_cast<std::size_t>(nc) + p0.size(), 0), eta = ea;
      ea[static_cast<std::size_t>(nc) + j] = 1;
      eta = ea;
      eta[0] = 1;
      double ua[2];
      t->predict(z0, 1, input_indices(s, {ea, eta}), ua);
      auto shifted = [&](double da, const std::vector<int>& which) {
        auto p = p0;
        p[j] += da;
        t->set_params(p);
        double u;
        t->predict(z0, 1, input_indices(s, {which}), &u);
        t->set_params(p0);
        return u;
      };
      const std::vector<int> u_idx = {0}, ut_idx = {1};
      CHECK_CLOSE(ua[0], (shifted(h, u_idx) - shifted(-h, u_idx)) / (2 * h), 1e-6, 1e-8);
      CHECK_CLOSE(ua[1], (shifted(h, ut_idx) - shifted(-h, ut_idx)) / (2 * h), 1e-6, 1e-8);
      // Residual: row 1 + j is the total derivative of row 0 in parameter j.
      const std::size_t n = s.collocation.size() / static_cast<std::size_t>(nc);
      std::vector<double> rows(t->residual_rows() * n), plus(rows.size()), minus(rows.size());
      t->residual(s.collocation.data(), n, rows.data());
      auto p = p0;
      p[j] = p0[j] + h;
      t->set_params(p);
      t->residual(s.collocation.data(), n, plus.data());
      p[j] = p0[j] - h;
      t->set_params(p);
      t->residual(s.collocation.data(), n, minus.data());
      t->set_params(p0);
      for (std::size_t i = 0; i < n; ++i)
        CHECK_CLOSE(rows[(1 + j) * n + i], (plus[i] - minus[i]) / (2 * h), 1e-6, 1e-7);
    }
  }
}

TEST(trainer, step_routing) {
  // One Adam step moves x by -lr g / (|g| + eps); which gradient moves what is the method's routing.
  for (const Setup& s : all_setups()) {
    for (bool train_params : {false, true}) {
      auto t = make_trainer<double>(s);
      const auto& o = t->options();
      const std::vector<double> w = t->weights(), raw = t->raw_params();
      std::vector<double> gw(w.size(), 0.0), gr(raw.size(), 0.0);
      Losses expect_lo, expect_up;
      if (s.method == Method::PINN) {
        expect_lo = t->pinn(w.data(), raw.data(), gw.data(), gr.data());
      } else {
        expect_lo = t->lower(w.data(), raw.data(), gw.data());
        expect_up = t->upper(w.data(), raw.data(), gr.data());
      }
      Losses got;
      CHECK(t->step(train_params, got));
      auto adam1 = [](double x, double g, const AdamConfig& c) { return x - c.lr * g / (std::fabs(g) + c.eps); };
      for (std::size_t i = 0; i < w.size(); ++i)
        CHECK_CLOSE(t->weights()[i], adam1(w[i], gw[i], o.adam_weights), 1e-12, 1e-15);
      for (std::size_t j = 0; j < raw.size(); ++j) {
        if (train_params) CHECK_CLOSE(t->raw_params()[j], adam1(raw[j], gr[j], o.adam_params), 1e-12, 1e-15);
        else CHECK(t->raw_params()[j] == raw[j]);
      }
      CHECK(t->adam_weights().steps() == 1);
      CHECK(t->adam_params().steps() == (train_params ? 1 : 0));
      if (s.method == Method::PINN) {
        CHECK_CLOSE(got.total, expect_lo.total, 1e-14, 0.0);
      } else {
        CHECK_CLOSE(got.total, expect_lo.total + (train_params ? expect_up.total : 0.0), 1e-14, 0.0);
        CHECK_CLOSE(got.data, expect_up.data, 1e-14, 0.0);
        CHECK_CLOSE(got.rgrad, expect_lo.rgrad, 1e-14, 0.0);
      }
    }
  }
}

TEST(trainer, run_loop) {
  const Setup s = problems::make_setup(false, Method::BiLO);
  auto t = make_trainer<double>(s);
  const auto p0 = t->params();
  std::vector<long> calls;
  RunResult r = t->run(25, true, 10, [&](long step) { calls.push_back(step); return true; }, 0.0);
  CHECK(r.status == RunStatus::Completed);
  CHECK(r.steps == 25);
  CHECK(r.diverged_step == -1);
  CHECK(t->global_step() == 25);
  // Every 10 steps (a final call at step 25 is allowed too).
  CHECK(calls.size() >= 2 && calls[0] == 10 && calls[1] == 20);
  CHECK(calls.size() == 2 || (calls.size() == 3 && calls[2] == 25));
  const History& h = t->history();
  CHECK(h.step.size() == 25 && h.res.size() == 25 && h.rgrad.size() == 25 && h.data.size() == 25 &&
        h.total.size() == 25);
  CHECK(h.params.size() == 25 * p0.size());
  for (std::size_t k = 0; k < h.step.size(); ++k) CHECK(h.step[k] == static_cast<long>(k));
  // Each record holds the parameters the losses were measured at: the first is the start.
  for (std::size_t j = 0; j < p0.size(); ++j) CHECK_CLOSE(h.params[j], p0[j], 1e-12, 1e-15);
  CHECK(t->params() != p0);
  // The recorded losses of step 0 are those of the starting state.
  auto fresh = make_trainer<double>(s);
  const Losses lo = fresh->lower(fresh->weights().data(), fresh->raw_params().data(), nullptr);
  const Losses up = fresh->upper(fresh->weights().data(), fresh->raw_params().data(), nullptr);
  CHECK_CLOSE(h.res[0], lo.res, 1e-14, 0.0);
  CHECK_CLOSE(h.data[0], up.data, 1e-14, 0.0);
  CHECK_CLOSE(h.total[0], lo.total + up.total, 1e-14, 0.0);

  // A callback returning false stops the run; the history continues the global step count.
  r = t->run(100, true, 5, [&](long) { return false; }, 0.0);
  CHECK(r.status == RunStatus::Stopped);
  CHECK(r.steps == 5);
  CHECK(t->global_step() == 30);
  CHECK(t->history().step.back() == 29);

  // A tolerance above the loss converges at once.
  r = t->run(100, false, 1000, nullptr, 1e30);
  CHECK(r.status == RunStatus::Converged);
  CHECK(r.steps == 1);
  CHECK(t->run(0, true, 1, nullptr, 0.0).steps == 0);
}

TEST(trainer, deterministic) {
  for (const Setup& s : {problems::make_setup(false, Method::PINN), problems::make_setup(true, Method::BiLO)}) {
    auto a = make_trainer<double>(s, Func::Tanh, 3);
    auto b = make_trainer<double>(s, Func::Tanh, 3);
    auto c = make_trainer<double>(s, Func::Tanh, 4);
    CHECK(a->weights() == b->weights());
    CHECK(a->weights() != c->weights());
    a->run(20, true, 100, nullptr, 0.0);
    b->run(20, true, 100, nullptr, 0.0);
    CHECK(a->weights() == b->weights());
    CHECK(a->raw_params() == b->raw_params());
    CHECK(a->history().total == b->history().total);
  }
}

TEST(trainer, divergence) {
  // Data so large that the data loss overflows: the first step is not finite, nothing moves.
  Setup s = problems::make_setup(false, Method::PINN);
  for (double& v : s.data_values) v = 1e200;
  auto t = make_trainer<double>(s);
  const auto w = t->weights();
  const auto raw = t->raw_params();
  Losses l;
  CHECK(!t->step(true, l));
  const RunResult r = t->run(10, true, 1, nullptr, 0.0);
  CHECK(r.status == RunStatus::Diverged);
  CHECK(r.steps == 0);
  CHECK(r.diverged_step == 0);
  CHECK(t->weights() == w);
  CHECK(t->raw_params() == raw);
  CHECK(t->history().step.empty());
}

TEST(trainer, float_matches_double) {
  for (const Setup& s : all_setups()) {
    auto td = make_trainer<double>(s);
    auto tf = make_trainer<float>(s);
    tf->set_weights(std::vector<float>(td->weights().begin(), td->weights().end()));
    tf->set_raw_params(std::vector<float>(td->raw_params().begin(), td->raw_params().end()));
    const std::size_t nw = td->weights().size(), np = td->raw_params().size();
    std::vector<double> gw(nw, 0.0), gr(np, 0.0);
    std::vector<float> gwf(nw, 0.0f), grf(np, 0.0f);
    const Losses ld = td->pinn(td->weights().data(), td->raw_params().data(), gw.data(), gr.data());
    const Losses lf = tf->pinn(tf->weights().data(), tf->raw_params().data(), gwf.data(), grf.data());
    CHECK_CLOSE(lf.total, ld.total, 1e-4, 1e-6);
    const double scale = std::max(1.0, max_abs(gw));
    for (std::size_t i = 0; i < nw; ++i) CHECK_CLOSE(gwf[i], gw[i], 1e-3, 1e-4 * scale);
    for (std::size_t j = 0; j < np; ++j) CHECK_CLOSE(grf[j], gr[j], 1e-3, 1e-4 * scale);
    const Losses lo_d = td->lower(td->weights().data(), td->raw_params().data(), nullptr);
    const Losses lo_f = tf->lower(tf->weights().data(), tf->raw_params().data(), nullptr);
    CHECK_CLOSE(lo_f.rgrad, lo_d.rgrad, 1e-3, 1e-6);
  }
}

// ---------------------------------------------------------------------------------------------
// Adam

TEST(adam, hand_formula) {
  for (bool amsgrad : {false, true}) {
    AdamConfig c;
    c.lr = 0.05;
    c.beta1 = 0.8;
    c.beta2 = 0.95;
    c.eps = 1e-6;
    c.amsgrad = amsgrad;
    Adam<double> opt(3, c);
    std::vector<double> x = {1.0, -2.0, 0.5};
    const std::vector<std::vector<double>> grads = {{0.3, -1.0, 2.0}, {-0.1, 0.5, 0.01}, {0.2, 0.2, -3.0}};
    std::vector<double> m(3, 0.0), v(3, 0.0), vmax(3, 0.0), expect = x;
    for (std::size_t t = 1; t <= grads.size(); ++t) {
      const auto& g = grads[t - 1];
      for (std::size_t i = 0; i < 3; ++i) {
        m[i] = c.beta1 * m[i] + (1 - c.beta1) * g[i];
        v[i] = c.beta2 * v[i] + (1 - c.beta2) * g[i] * g[i];
        vmax[i] = std::max(vmax[i], v[i]);
        const double m_hat = m[i] / (1 - std::pow(c.beta1, t));
        const double v_hat = (amsgrad ? vmax[i] : v[i]) / (1 - std::pow(c.beta2, t));
        expect[i] -= c.lr * m_hat / (std::sqrt(v_hat) + c.eps);
      }
      opt.step(x.data(), g.data());
      CHECK(opt.steps() == static_cast<long>(t));
      for (std::size_t i = 0; i < 3; ++i) CHECK_CLOSE(x[i], expect[i], 1e-13, 1e-15);
    }
    for (std::size_t i = 0; i < 3; ++i) {
      CHECK_CLOSE(opt.first_moment()[i], m[i], 1e-14, 1e-16);
      CHECK_CLOSE(opt.second_moment()[i], v[i], 1e-14, 1e-16);
    }
  }
  // First step: x -= lr * sign(g) (up to eps), whatever the size of g.
  Adam<double> opt(2, AdamConfig{});
  double x[2] = {0.0, 0.0};
  const double g[2] = {1e-3, -50.0};
  opt.step(x, g);
  CHECK_CLOSE(x[0], -1e-3, 1e-4, 0.0);
  CHECK_CLOSE(x[1], 1e-3, 1e-9, 0.0);
}

// ---------------------------------------------------------------------------------------------
// Parameter bounds

TEST(bounds, round_trip) {
  const double inf = problems::kInf;
  const std::vector<ParamBound> kinds = {{0.5, 5.0}, {-1.0, inf}, {-inf, 10.0}, {-inf, inf}};
  for (const ParamBound& b : kinds) {
    for (double s : {-10.0, -3.0, -0.5, 0.0, 0.7, 4.0, 10.0}) {
      const double a = b.to_physical(s);
      CHECK(a > b.lower && a < b.upper);
      CHECK_CLOSE(b.to_raw(a), s, 1e-8, 1e-9);
      const double h = 1e-6;
      CHECK_CLOSE(b.derivative(s), (b.to_physical(s + h) - b.to_physical(s - h)) / (2 * h), 1e-7, 1e-9);
      CHECK(b.derivative(s) > 0);
    }
    for (double frac : {1e-9, 0.01, 0.3, 0.5, 0.9, 0.99}) {
      const double lo = std::isfinite(b.lower) ? b.lower : -20.0, hi = std::isfinite(b.upper) ? b.upper : 20.0;
      const double a = lo + frac * (hi - lo);
      CHECK_CLOSE(b.to_physical(b.to_raw(a)), a, 1e-12, 1e-12);
    }
    // Bounds are open; non-finite values are rejected.
    if (std::isfinite(b.lower)) {
      CHECK_THROWS(InputError, b.to_raw(b.lower));
      CHECK_THROWS(InputError, b.to_raw(b.lower - 1.0));
    }
    if (std::isfinite(b.upper)) {
      CHECK_THROWS(InputError, b.to_raw(b.upper));
      CHECK_THROWS(InputError, b.to_raw(b.upper + 1.0));
    }
    CHECK_THROWS(InputError, b.to_raw(std::nan("")));
    CHECK_THROWS(InputError, b.to_raw(inf));
  }
  // Far from the bound the softplus branches are the identity shifted.
  const ParamBound lower_only{-1.0, inf};
  CHECK_CLOSE(lower_only.to_physical(lower_only.to_raw(150.0)), 150.0, 1e-14, 0.0);
  CHECK_CLOSE(lower_only.to_raw(99.0), 100.0, 1e-14, 0.0);
  const ParamBound upper_only{-inf, 10.0};
  CHECK_CLOSE(upper_only.to_physical(upper_only.to_raw(-200.0)), -200.0, 1e-14, 0.0);

  // Through the trainer: set_params / params round trip, and raw values move the physical ones.
  const Setup s = problems::make_setup(false, Method::PINN);
  auto t = make_trainer<double>(s);
  t->set_params({4.9, -0.99});
  CHECK_CLOSE(t->params()[0], 4.9, 1e-12, 0.0);
  CHECK_CLOSE(t->params()[1], -0.99, 1e-10, 0.0);
  std::vector<double> raw = t->raw_params();
  raw[0] = 40.0;  // saturates inside the bounds
  t->set_raw_params(raw);
  CHECK(t->params()[0] <= 5.0 && t->params()[0] > 4.99);
}

TEST(trainer, schedules) {
  ScheduleState st;
  LrSchedule c;
  c.kind = ScheduleKind::Cosine;
  c.final_factor = 0.1;
  CHECK_CLOSE(schedule_factor(c, st, 0, 100, 0.0), 1.0, 1e-15, 0.0);
  CHECK_CLOSE(schedule_factor(c, st, 50, 100, 0.0), 0.55, 1e-12, 0.0);
  CHECK_CLOSE(schedule_factor(c, st, 100, 100, 0.0), 0.1, 1e-12, 0.0);
  LrSchedule e;
  e.kind = ScheduleKind::Exponential;
  e.gamma = 0.5;
  e.decay_steps = 10;
  e.min_factor = 0.3;
  CHECK_CLOSE(schedule_factor(e, st, 10, 0, 0.0), 0.5, 1e-14, 0.0);
  CHECK_CLOSE(schedule_factor(e, st, 30, 0, 0.0), 0.3, 1e-14, 0.0);  // the floor
  LrSchedule sp;
  sp.kind = ScheduleKind::Step;
  sp.gamma = 0.1;
  sp.decay_steps = 10;
  sp.warmup = 4;
  CHECK_CLOSE(schedule_factor(sp, st, 0, 0, 0.0), 0.2, 1e-14, 0.0);  // warm-up 1/5
  CHECK_CLOSE(schedule_factor(sp, st, 9, 0, 0.0), 1.0, 1e-14, 0.0);
  CHECK_CLOSE(schedule_factor(sp, st, 10, 0, 0.0), 0.1, 1e-14, 0.0);
  LrSchedule pl;
  pl.kind = ScheduleKind::Plateau;
  pl.patience = 3;
  pl.gamma = 0.5;
  ScheduleState ps;
  CHECK(schedule_factor(pl, ps, 0, 0, 1.0) == 1.0);
  CHECK(schedule_factor(pl, ps, 1, 0, 1.0) == 1.0);
  CHECK(schedule_factor(pl, ps, 2, 0, 1.0) == 1.0);
  CHECK(schedule_factor(pl, ps, 3, 0, 1.0) == 0.5);  // three steps without improvement
  CHECK(schedule_factor(pl, ps, 4, 0, 0.1) == 0.5);  // improvement: no further drop
}

TEST(trainer, keep_best_spikes_and_inner_loop) {
  const problems::Setup s = problems::make_setup(false, Method::BiLO);
  // keep = Best leaves the state of the lowest recorded objective.
  {
    auto t = problems::make_trainer<double>(s);
    RunControl c;
    c.steps = 60;
    c.keep = Keep::Best;
    const RunResult r = t->run(c, nullptr);
    const History& h = t->history();
    const auto it = std::min_element(h.total.begin(), h.total.end());
    CHECK(r.kept_best && r.best_step == h.step[static_cast<std::size_t>(it - h.total.begin())]);
    Losses now;
    const Losses lo = t->lower(t->weights().data(), t->raw_params().data(), nullptr);
    const Losses up = t->upper(t->weights().data(), t->raw_params().data(), nullptr);
    now.total = lo.total + up.total;
    CHECK_CLOSE(now.total, *it, 1e-12, 1e-15);
  }
  // Spike control: a huge learning rate makes the objective jump; each jump rolls back and halves
  // every rate, and the run ends no worse than its best state.
  {
    auto t = problems::make_trainer<double>(s);
    TrainerOptions o = t->options();
    o.adam_weights.lr = 0.5;
    o.adam_params.lr = 0.5;
    t->set_options(o);
    RunControl c;
    c.steps = 80;
    c.spike_factor = 2.0;
    c.keep = Keep::Best;
    const RunResult r = t->run(c, nullptr);
    CHECK(r.spikes > 0 && r.spikes <= c.max_spikes);
    CHECK_CLOSE(r.lr_factor, std::pow(0.5, r.spikes), 1e-15, 0.0);
    CHECK(r.status == RunStatus::Completed && r.steps == 80);
  }
  // The inner lower loop runs weight-only steps before each upper step, not counted as steps.
  {
    auto t = problems::make_trainer<double>(s);
    RunControl c;
    c.steps = 5;
    c.max_iter_lower = 7;
    c.tol_lower = 0.0;  // never reached: every inner loop runs its 7 steps
    const RunResult r = t->run(c, nullptr);
    CHECK(r.lower_steps == 35 && r.steps == 5 && t->global_step() == 5);
    CHECK(t->adam_weights().steps() == 40 && t->adam_params().steps() == 5);
  }
  // Early stopping: no step halves the objective within 10 steps of the best, so the run stops.
  {
    auto t = problems::make_trainer<double>(s);
    RunControl c;
    c.steps = 100;
    c.patience = 10;
    c.min_delta = 0.5;  // an improvement must halve the objective
    const RunResult r = t->run(c, nullptr);
    CHECK(r.status == RunStatus::EarlyStopped && r.steps < 100);
  }
}

TEST(trainer, parameter_gain) {
  ParamBound b{0.0, 5.0};
  b.gain = b.gain_for_scale(2.0, 1.0);
  const double r = b.to_raw(1.0);
  CHECK_CLOSE(b.to_physical(r), 1.0, 1e-14, 0.0);
  CHECK_CLOSE(b.derivative(r), 2.0, 1e-12, 0.0);  // one raw unit moves a by the scale
  ParamBound free;
  free.gain = free.gain_for_scale(0.1, 0.1);
  CHECK_CLOSE(free.to_physical(free.to_raw(0.3)), 0.3, 1e-15, 0.0);
  CHECK_CLOSE(free.derivative(0.0), 0.1, 1e-15, 0.0);
  CHECK_THROWS(InputError, free.gain_for_scale(-1.0, 0.1));
}
