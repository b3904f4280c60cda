// The MLP on jets: forward derivatives against an independent complex-valued reference network
// (Cauchy integral) and finite differences; the reverse pass against finite differences.
#include <algorithm>
#include <cstdio>
#include <vector>

#include "check.hpp"
#include "pinnbilo/mlp.hpp"
#include "pinnbilo/parallel.hpp"

using namespace pinnbilo;

namespace {

// Plain scalar network (real or complex): the reference for MlpJets.
template <class S>
std::vector<S> mlp_ref(const Mlp& mlp, const std::vector<double>& params, std::vector<S> h) {
  const auto& sz = mlp.sizes();
  for (int l = 0; l < mlp.n_layers(); ++l) {
    const int in = sz[static_cast<std::size_t>(l)], out = sz[static_cast<std::size_t>(l) + 1];
    std::vector<S> z(static_cast<std::size_t>(out));
    for (int i = 0; i < out; ++i) {
      S acc = params[mlp.bias_offset(l) + static_cast<std::size_t>(i)];
      for (int j = 0; j < in; ++j)
        acc += params[mlp.weight_offset(l) + static_cast<std::size_t>(i * in + j)] * h[static_cast<std::size_t>(j)];
      z[static_cast<std::size_t>(i)] = l + 1 < mlp.n_layers() ? ref::apply(mlp.activation(), 0.0, acc) : acc;
    }
    h = std::move(z);
  }
  return h;
}

std::vector<double> random_params(const Mlp& mlp, std::uint64_t seed) {
  std::vector<double> p(mlp.n_params());
  mlp.init_params(p.data(), seed);
  ref::Rng rng(seed + 100);
  for (int l = 0; l < mlp.n_layers(); ++l)
    for (int i = 0; i < mlp.sizes()[static_cast<std::size_t>(l) + 1]; ++i)
      p[mlp.bias_offset(l) + static_cast<std::size_t>(i)] = rng.uniform(-0.3, 0.3);
  return p;
}

// Input jets x_v + e_v at n random points; returns the points (n x n_inputs).
std::vector<double> seed_inputs(MlpJets<double>& net, const Mlp& mlp, ref::Rng& rng) {
  const JetSpec& s = net.spec();
  const std::size_t n = net.n_points(), kn = static_cast<std::size_t>(s.size()) * n;
  std::vector<double> pts(n * static_cast<std::size_t>(mlp.n_inputs()));
  double* in = net.input();
  std::fill(in, in + kn * static_cast<std::size_t>(mlp.n_inputs()), 0.0);
  for (int v = 0; v < mlp.n_inputs(); ++v) {
    double* jet = in + static_cast<std::size_t>(v) * kn;
    for (std::size_t i = 0; i < n; ++i) {
      pts[i * static_cast<std::size_t>(mlp.n_inputs()) + static_cast<std::size_t>(v)] = jet[i] = rng.uniform(-1, 1);
    }
    const int u = s.unit(v);
    if (u >= 0) std::fill(jet + static_cast<std::size_t>(u) * n, jet + static_cast<std::size_t>(u + 1) * n, 1.0);
  }
  return pts;
}

struct NetCase {
  std::vector<int> sizes;
  Func act;
  JetSpec spec;
};

std::vector<NetCase> net_cases() {
  return {{{2, 8, 8, 1}, Func::Tanh, JetSpec(2, {{2, 1}, {0, 3}})},
          {{2, 8, 8, 1}, Func::Sin, JetSpec(2, {{2, 1}, {0, 3}})},
          {{2, 8, 8, 1}, Func::Cos, JetSpec(2, {{1, 1}, {2, 0}})},
          {{2, 8, 8, 1}, Func::Exp, JetSpec(2, {{1, 1}, {2, 0}})},
          {{2, 8, 8, 1}, Func::Sigmoid, JetSpec(2, {{2, 1}, {0, 3}})},
          {{2, 8, 8, 1}, Func::Softplus, JetSpec(2, {{2, 1}, {0, 3}})},
          {{3, 6, 2}, Func::Tanh, JetSpec(3, {{1, 1, 1}, {0, 2, 0}})},
          {{1, 5, 5, 5, 1}, Func::Tanh, JetSpec(1, {{5}})},
          {{2, 2}, Func::Tanh, JetSpec(2, {{1, 1}})}};  // no hidden layer: affine
}

}  // namespace

TEST(mlp, layout_and_init) {
  const Mlp mlp({3, 5, 4, 2}, Func::Tanh);
  CHECK(mlp.n_inputs() == 3 && mlp.n_outputs() == 2 && mlp.n_layers() == 3);
  CHECK(mlp.n_params() == static_cast<std::size_t>(3 * 5 + 5 + 5 * 4 + 4 + 4 * 2 + 2));
  CHECK(mlp.max_width() == 5);
  CHECK(mlp.weight_offset(0) == 0 && mlp.bias_offset(0) == 15);
  CHECK(mlp.weight_offset(1) == 20 && mlp.bias_offset(1) == 40);
  CHECK(mlp.weight_offset(2) == 44 && mlp.bias_offset(2) == 52);

  std::vector<double> a(mlp.n_params()), b(mlp.n_params()), c(mlp.n_params());
  std::vector<float> af(mlp.n_params());
  mlp.init_params(a.data(), 42);
  mlp.init_params(b.data(), 42);
  mlp.init_params(c.data(), 43);
  mlp.init_params(af.data(), 42);
  CHECK(a == b);
  CHECK(a != c);
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(af[i] == static_cast<float>(a[i]));
  for (int l = 0; l < mlp.n_layers(); ++l)
    for (int i = 0; i < mlp.sizes()[static_cast<std::size_t>(l) + 1]; ++i)
      CHECK(a[mlp.bias_offset(l) + static_cast<std::size_t>(i)] == 0.0);

  // Glorot normal: mean 0, standard deviation sqrt(2 / (fan_in + fan_out)).
  const Mlp wide({200, 300}, Func::Tanh);
  std::vector<double> w(wide.n_params());
  wide.init_params(w.data(), 1);
  double sum = 0, sq = 0;
  const std::size_t nw = 200 * 300;
  for (std::size_t i = 0; i < nw; ++i) sum += w[i], sq += w[i] * w[i];
  const double mean = sum / nw, sd = std::sqrt(sq / nw - mean * mean);
  CHECK_CLOSE(mean, 0.0, 0.0, 0.005);
  CHECK_CLOSE(sd, std::sqrt(2.0 / 500.0), 0.02, 0.0);
}

TEST(mlp, forward_cauchy_reference) {
  ref::Rng rng(3);
  for (const auto& c : net_cases()) {
    const Mlp mlp(c.sizes, c.act);
    const auto params = random_params(mlp, 9);
    const std::size_t n = 3;
    MlpJets<double> net(mlp, c.spec, n);
    const auto pts = seed_inputs(net, mlp, rng);
    net.forward(params.data());
    const std::size_t K = static_cast<std::size_t>(c.spec.size()), kn = K * n;
    const int M = c.spec.n_dirs() <= 2 ? 32 : 24;
    for (std::size_t i = 0; i < n; ++i) {
      for (int o = 0; o < mlp.n_outputs(); ++o) {
        const auto expected = ref::cauchy_coefficients(
            c.spec,
            [&](const std::vector<ref::cplx>& s) {
              std::vector<ref::cplx> x(static_cast<std::size_t>(mlp.n_inputs()));
              for (std::size_t v = 0; v < x.size(); ++v) x[v] = pts[i * x.size() + v] + s[v];
              return mlp_ref(mlp, params, x)[static_cast<std::size_t>(o)];
            },
            0.2, M);
        for (std::size_t k = 0; k < K; ++k) {
          if (!CHECK_CLOSE(net.output()[static_cast<std::size_t>(o) * kn + k * n + i], expected[k], 1e-9, 1e-10))
            std::printf("    activation %s, %zu inputs, coefficient %zu, point %zu\n", func_name(c.act),
                        static_cast<std::size_t>(mlp.n_inputs()), k, i);
        }
      }
    }
  }
}

TEST(mlp, forward_finite_differences) {
  // First, second and mixed derivatives d^alpha N = alpha! c_alpha against central differences.
  ref::Rng rng(4);
  for (const auto& c : net_cases()) {
    const Mlp mlp(c.sizes, c.act);
    const int d = mlp.n_inputs();
    std::vector<MultiIndex> wanted;
    for (int v = 0; v < d; ++v) {
      MultiIndex m(static_cast<std::size_t>(d), 0);
      m[static_cast<std::size_t>(v)] = 2;
      wanted.push_back(m);
    }
    if (d >= 2) {
      MultiIndex m(static_cast<std::size_t>(d), 0);
      m[0] = m[1] = 1;
      wanted.push_back(m);
    }
    const JetSpec spec(d, wanted);
    const auto params = random_params(mlp, 10);
    const std::size_t n = 2;
    MlpJets<double> net(mlp, spec, n);
    const auto pts = seed_inputs(net, mlp, rng);
    net.forward(params.data());
    for (std::size_t i = 0; i < n; ++i) {
      const std::vector<double> x0(pts.begin() + static_cast<std::ptrdiff_t>(i) * d,
                                   pts.begin() + static_cast<std::ptrdiff_t>(i + 1) * d);
      auto N = [&](int v, double hv, int w, double hw) {
        auto x = x0;
        x[static_cast<std::size_t>(v)] += hv;
        x[static_cast<std::size_t>(w)] += hw;
        return mlp_ref(mlp, params, x)[0];
      };
      auto coef = [&](const MultiIndex& m) { return net.output()[static_cast<std::size_t>(spec.index_of(m)) * n + i]; };
      CHECK_CLOSE(coef(MultiIndex(static_cast<std::size_t>(d), 0)), N(0, 0, 0, 0), 1e-13, 1e-13);
      for (int v = 0; v < d; ++v) {
        MultiIndex e(static_cast<std::size_t>(d), 0);
        e[static_cast<std::size_t>(v)] = 1;
        const double h1 = 1e-5, h2 = 1e-4;
        CHECK_CLOSE(coef(e), (N(v, h1, v, 0) - N(v, -h1, v, 0)) / (2 * h1), 1e-7, 1e-8);
        e[static_cast<std::size_t>(v)] = 2;
        CHECK_CLOSE(2.0 * coef(e), (N(v, h2, v, 0) - 2 * N(v, 0, v, 0) + N(v, -h2, v, 0)) / (h2 * h2), 1e-5, 1e-6);
      }
      if (d >= 2) {
        MultiIndex m(static_cast<std::size_t>(d), 0);
        m[0] = m[1] = 1;
        const double h = 1e-4;
        const double fd = (N(0, h, 1, h) - N(0, h, 1, -h) - N(0, -h, 1, h) + N(0, -h, 1, -h)) / (4 * h * h);
        CHECK_CLOSE(coef(m), fd, 1e-5, 1e-6);
      }
    }
  }
}

TEST(mlp, backward_finite_differences) {
  // L = sum w out^2 over every output coefficient: weight gradient and input-jet adjoint.
  ref::Rng rng(6);
  for (const auto& c : net_cases()) {
    const Mlp mlp(c.sizes, c.act);
    auto params = random_params(mlp, 11);
    const std::size_t n = 3;
    MlpJets<double> net(mlp, c.spec, n);
    seed_inputs(net, mlp, rng);
    const std::size_t kn = static_cast<std::size_t>(c.spec.size()) * n;
    const std::size_t n_out = static_cast<std::size_t>(mlp.n_outputs()) * kn;
    const std::size_t n_in = static_cast<std::size_t>(mlp.n_inputs()) * kn;
    std::vector<double> w(n_out);
    for (double& v : w) v = rng.uniform(-1, 1);
    auto loss = [&]() {
      net.forward(params.data());
      double L = 0;
      for (std::size_t j = 0; j < n_out; ++j) L += w[j] * net.output()[j] * net.output()[j];
      return L;
    };
    loss();
    std::vector<double> out_bar(n_out), grad(mlp.n_params(), 0.0), input_bar(n_in, -7.0);
    for (std::size_t j = 0; j < n_out; ++j) out_bar[j] = 2.0 * w[j] * net.output()[j];
    net.backward(params.data(), out_bar.data(), grad.data(), input_bar.data());
    double scale = 1.0;
    for (double g : grad) scale = std::max(scale, std::fabs(g));
    for (std::size_t p = 0; p < params.size(); ++p) {
      if (!CHECK_CLOSE(grad[p], ref::central_difference(loss, params[p], 1e-6), 1e-6, 1e-7 * scale))
        std::printf("    activation %s, parameter %zu\n", func_name(c.act), p);
    }
    for (std::size_t j = 0; j < n_in; ++j) {
      if (!CHECK_CLOSE(input_bar[j], ref::central_difference(loss, net.input()[j], 1e-6), 1e-6, 1e-7 * scale))
        std::printf("    activation %s, input coefficient %zu\n", func_name(c.act), j);
    }
    // Gradients accumulate; a null input adjoint is allowed.
    loss();
    auto twice = grad;
    net.backward(params.data(), out_bar.data(), twice.data(), nullptr);
    for (std::size_t p = 0; p < grad.size(); ++p) CHECK_CLOSE(twice[p], 2.0 * grad[p], 1e-13, 1e-14);
  }
}

TEST(mlp, float_matches_double) {
  ref::Rng rng(12);
  const Mlp mlp({2, 16, 16, 1}, Func::Tanh);
  const JetSpec spec(2, {{1, 1}, {2, 0}});
  const auto params = random_params(mlp, 3);
  const std::vector<float> params_f(params.begin(), params.end());
  const std::size_t n = 5;
  MlpJets<double> net(mlp, spec, n);
  MlpJets<float> net_f(mlp, spec, n);
  seed_inputs(net, mlp, rng);
  const std::size_t kn = static_cast<std::size_t>(spec.size()) * n;
  std::copy(net.input(), net.input() + 2 * kn, net_f.input());
  net.forward(params.data());
  net_f.forward(params_f.data());
  for (std::size_t j = 0; j < kn; ++j) CHECK_CLOSE(net_f.output()[j], net.output()[j], 1e-4, 1e-5);
  std::vector<double> bar(kn, 1.0), g(mlp.n_params(), 0.0);
  std::vector<float> bar_f(kn, 1.0f), g_f(mlp.n_params(), 0.0f);
  net.backward(params.data(), bar.data(), g.data(), nullptr);
  net_f.backward(params_f.data(), bar_f.data(), g_f.data(), nullptr);
  for (std::size_t p = 0; p < g.size(); ++p) CHECK_CLOSE(g_f[p], g[p], 1e-3, 1e-4);
}

TEST(mlp, blocks_match_single_points) {
  // Many points go through the network in blocks (the last one partial) and their weight
  // gradients through several lanes; every point must get what it gets alone, and the gradient
  // must be the sum of the single-point gradients. Wide layers take the register-tile products,
  // thin ones (one output, two inputs) the plain loops.
  ref::Rng rng(21);
  std::vector<NetCase> cases = net_cases();
  cases.push_back({{2, 40, 40, 3}, Func::Tanh, JetSpec(2, {{2, 1}})});
  cases.push_back({{4, 24, 24, 1}, Func::Sin, JetSpec(4, {{2, 0, 1, 0}, {2, 0, 0, 1}, {0, 1, 1, 0}})});
  for (const auto& c : cases) {
    const Mlp mlp(c.sizes, c.act);
    const auto params = random_params(mlp, 31);
    MlpJets<double> probe(mlp, c.spec, 100000);
    const std::size_t n = 9 * probe.block_points() + 5;
    MlpJets<double> net(mlp, c.spec, n);
    seed_inputs(net, mlp, rng);
    const std::size_t K = static_cast<std::size_t>(c.spec.size());
    const std::size_t n_in = static_cast<std::size_t>(mlp.n_inputs()), n_out = static_cast<std::size_t>(mlp.n_outputs());
    std::vector<double> out_bar(n_out * K * n);
    for (double& v : out_bar) v = rng.uniform(-1, 1);
    net.forward(params.data());
    std::vector<double> grad(mlp.n_params(), 0.0), input_bar(n_in * K * n);
    net.backward(params.data(), out_bar.data(), grad.data(), input_bar.data());

    MlpJets<double> one(mlp, c.spec, 1);
    std::vector<double> sum(mlp.n_params(), 0.0), g1(mlp.n_params()), ib1(n_in * K), ob1(n_out * K);
    bool ok = true;
    for (std::size_t i = 0; i < n && ok; i += 7) {  // every 7th point: all blocks, both ends
      for (std::size_t v = 0; v < n_in; ++v)
        for (std::size_t k = 0; k < K; ++k) one.input()[v * K + k] = net.input()[(v * K + k) * n + i];
      for (std::size_t r = 0; r < n_out; ++r)
        for (std::size_t k = 0; k < K; ++k) ob1[r * K + k] = out_bar[(r * K + k) * n + i];
      one.forward(params.data());
      for (std::size_t r = 0; r < n_out; ++r)
        for (std::size_t k = 0; k < K; ++k)
          ok = CHECK_CLOSE(net.output()[(r * K + k) * n + i], one.output()[r * K + k], 1e-12, 1e-13) && ok;
      std::fill(g1.begin(), g1.end(), 0.0);
      one.backward(params.data(), ob1.data(), g1.data(), ib1.data());
      for (std::size_t v = 0; v < n_in; ++v)
        for (std::size_t k = 0; k < K; ++k)
          ok = CHECK_CLOSE(input_bar[(v * K + k) * n + i], ib1[v * K + k], 1e-11, 1e-12) && ok;
    }
    for (std::size_t i = 0; i < n; ++i) {  // the gradient over all points
      for (std::size_t v = 0; v < n_in; ++v)
        for (std::size_t k = 0; k < K; ++k) one.input()[v * K + k] = net.input()[(v * K + k) * n + i];
      for (std::size_t r = 0; r < n_out; ++r)
        for (std::size_t k = 0; k < K; ++k) ob1[r * K + k] = out_bar[(r * K + k) * n + i];
      one.forward(params.data());
      one.backward(params.data(), ob1.data(), sum.data(), nullptr);
    }
    double scale = 1.0;
    for (double g : sum) scale = std::max(scale, std::fabs(g));
    for (std::size_t p = 0; p < sum.size(); ++p)
      if (!CHECK_CLOSE(grad[p], sum[p], 1e-10, 1e-12 * scale)) {
        std::printf("    activation %s, sizes[1] %d, parameter %zu\n", func_name(c.act), c.sizes[1], p);
        break;
      }
  }
}

TEST(mlp, threads_give_identical_results) {
  // Blocks go to threads and gradients to fixed lanes: the same bits for 1, 2 and 3 threads.
  ref::Rng rng(22);
  const Mlp mlp({3, 48, 48, 1}, Func::Tanh);
  const JetSpec spec(3, {{2, 1, 0}, {0, 1, 1}});
  const auto params = random_params(mlp, 5);
  const std::size_t n = 2000;
  MlpJets<double> net(mlp, spec, n);
  seed_inputs(net, mlp, rng);
  const std::size_t kn = static_cast<std::size_t>(spec.size()) * n;
  std::vector<double> out_bar(kn);
  for (double& v : out_bar) v = rng.uniform(-1, 1);
  const int saved = num_threads();
  std::vector<std::vector<double>> outs, grads, ins;
  for (int t : {1, 2, 3}) {
    set_num_threads(t);
    net.forward(params.data());
    outs.emplace_back(net.output(), net.output() + kn);
    grads.emplace_back(mlp.n_params(), 0.0);
    ins.emplace_back(3 * kn);
    net.backward(params.data(), out_bar.data(), grads.back().data(), ins.back().data());
  }
  set_num_threads(saved);
  for (std::size_t t = 1; t < outs.size(); ++t) {
    CHECK(outs[t] == outs[0]);
    CHECK(grads[t] == grads[0]);
    CHECK(ins[t] == ins[0]);
  }
}
