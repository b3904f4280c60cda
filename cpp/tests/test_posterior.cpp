// ParameterPosterior: the Gaussian log-likelihood and its gradient in the parameters (against
// central differences), the priors' log densities, leapfrog's energy behaviour, and the errors
// bad input gets.
#include <cmath>
#include <limits>
#include <vector>

#include "check.hpp"
#include "pinnbilo/error.hpp"
#include "pinnbilo/posterior.hpp"
#include "problems.hpp"

using namespace pinnbilo;
using problems::make_setup;
using problems::make_trainer;

namespace {

const double kInf = std::numeric_limits<double>::infinity();
const double kTwoPi = 6.283185307179586477;

std::vector<PriorDef> flat(int n) { return std::vector<PriorDef>(static_cast<std::size_t>(n)); }

double kinetic(const std::vector<double>& p, const std::vector<double>& inv_mass) {
  double k = 0;
  for (std::size_t j = 0; j < p.size(); ++j) k += 0.5 * inv_mass[j] * p[j] * p[j];
  return k;
}

}  // namespace

TEST(posterior, gradient_matches_differences) {
  for (bool pde : {false, true}) {
    const auto s = make_setup(pde, Method::BiLO);
    auto t = make_trainer<double>(s);
    const std::vector<double> sigma(t->n_data_rows(), 0.05);
    std::vector<PriorDef> priors = flat(t->n_params());
    priors[0] = PriorDef{PriorKind::Normal, 1.0, 0.7};
    ParameterPosterior<double> post(*t, sigma, priors);
    const std::vector<double> before = t->params();
    std::vector<double> theta = s.params, grad(theta.size());
    const double logp = post.evaluate(theta.data(), grad.data());
    CHECK(std::isfinite(logp));
    for (std::size_t j = 0; j < theta.size(); ++j) {
      const double h = 1e-5;
      std::vector<double> up = theta, down = theta, g(theta.size());
      up[j] += h;
      down[j] -= h;
      const double fd = (post.evaluate(up.data(), g.data()) - post.evaluate(down.data(), g.data())) / (2 * h);
      CHECK_CLOSE(grad[j], fd, 0, 1e-6 * (1 + std::fabs(fd)));
    }
    CHECK(t->params() == before);  // evaluating never moves the trainer
  }
}

TEST(posterior, prior_densities) {
  double g = 0;
  const PriorDef normal{PriorKind::Normal, 1.0, 2.0};
  CHECK_CLOSE(normal.log_density(2.0, g), -0.125 - std::log(2.0 * std::sqrt(kTwoPi)), 0, 1e-14);
  CHECK_CLOSE(g, -0.25, 0, 1e-15);
  g = 0;
  const PriorDef gamma{PriorKind::Gamma, 2.0, 1.0, 0.0, kInf};
  CHECK_CLOSE(gamma.log_density(1.5, g), std::log(1.5) - 1.5, 0, 1e-14);  // x exp(-x)
  CHECK_CLOSE(g, 1.0 / 1.5 - 1.0, 0, 1e-15);
  g = 0;
  const PriorDef lognormal{PriorKind::LogNormal, 0.0, 1.0, 0.0, kInf};
  CHECK_CLOSE(lognormal.log_density(1.0, g), -0.5 * std::log(kTwoPi), 0, 1e-14);
  CHECK_CLOSE(g, -1.0, 0, 1e-15);
  g = 0;
  const PriorDef uniform{PriorKind::Uniform, 0, 0, 1.0, 3.0};
  CHECK_CLOSE(uniform.log_density(2.0, g), -std::log(2.0), 0, 1e-15);
  CHECK(uniform.log_density(3.0, g) == -kInf);  // the support is open
  CHECK(gamma.log_density(-1.0, g) == -kInf);
}

TEST(posterior, leapfrog_conserves_energy_and_reverses) {
  const auto s = make_setup(false, Method::BiLO);
  auto t = make_trainer<double>(s);
  ParameterPosterior<double> post(*t, std::vector<double>(t->n_data_rows(), 0.5), flat(t->n_params()));
  std::vector<double> x = s.params, grad(x.size()), p = {0.3, -0.2}, inv_mass = {0.01, 0.02};
  const double logp = post.evaluate(x.data(), grad.data());
  double last_error = kInf;
  for (double eps : {0.04, 0.02, 0.01}) {  // the energy error falls as eps^2
    const int n = static_cast<int>(std::lround(0.4 / eps));
    const Trajectory tr = post.leapfrog(x, grad, p, eps, inv_mass, n);
    CHECK(tr.finite && tr.steps == n);
    const double error = std::fabs((-tr.logp + kinetic(tr.momentum, inv_mass)) - (-logp + kinetic(p, inv_mass)));
    CHECK(error < 0.4 * last_error + 1e-12);
    last_error = error;
    // reversibility: from the end with the momentum negated, back to the start
    std::vector<double> back_p(tr.momentum);
    for (auto& v : back_p) v = -v;
    const Trajectory back = post.leapfrog(tr.x, tr.grad, back_p, eps, inv_mass, n);
    for (std::size_t j = 0; j < x.size(); ++j) CHECK_CLOSE(back.x[j], x[j], 0, 1e-9);
  }
}

TEST(posterior, leaving_the_support_is_a_divergence) {
  const auto s = make_setup(false, Method::BiLO);
  auto t = make_trainer<double>(s);
  std::vector<PriorDef> priors = flat(t->n_params());
  priors[0] = PriorDef{PriorKind::Uniform, 0, 0, 1.6, 1.8};  // a = 1.7 at the start
  ParameterPosterior<double> post(*t, std::vector<double>(t->n_data_rows(), 0.5), priors);
  std::vector<double> x = s.params, grad(x.size());
  CHECK(std::isfinite(post.evaluate(x.data(), grad.data())));
  const Trajectory tr = post.leapfrog(x, grad, {50.0, 0.0}, 0.1, {1.0, 1.0}, 20);
  CHECK(!tr.finite);
  CHECK(tr.steps < 20);
}

TEST(posterior, bad_input) {
  const auto s = make_setup(false, Method::BiLO);
  auto t = make_trainer<double>(s);
  const std::vector<double> sigma(t->n_data_rows(), 0.1);
  CHECK_THROWS(InputError, ParameterPosterior<double>(*t, {0.1}, flat(2)));                     // sigma per row
  CHECK_THROWS(InputError, ParameterPosterior<double>(*t, sigma, flat(1)));                     // a prior each
  std::vector<double> bad = sigma;
  bad[0] = 0.0;
  CHECK_THROWS(InputError, ParameterPosterior<double>(*t, bad, flat(2)));
  bad[0] = std::nan("");
  CHECK_THROWS(InputError, ParameterPosterior<double>(*t, bad, flat(2)));
  std::vector<PriorDef> priors = flat(2);
  priors[1] = PriorDef{PriorKind::Normal, 0.0, -1.0};
  CHECK_THROWS(InputError, ParameterPosterior<double>(*t, sigma, priors));
  priors[1] = PriorDef{PriorKind::Gamma, 2.0, 1.0, -1.0, kInf};
  CHECK_THROWS(InputError, ParameterPosterior<double>(*t, sigma, priors));
  priors[1] = PriorDef{PriorKind::Flat, 0, 0, 2.0, 1.0};
  CHECK_THROWS(InputError, ParameterPosterior<double>(*t, sigma, priors));
  auto pinn = make_trainer<double>(make_setup(false, Method::PINN));
  CHECK_THROWS(InputError, ParameterPosterior<double>(*pinn, sigma, flat(2)));
  ParameterPosterior<double> post(*t, sigma, flat(2));
  std::vector<double> x = s.params, grad(2);
  CHECK_THROWS(InputError, post.leapfrog(x, grad, {0.0}, 0.1, {1.0, 1.0}, 3));
  CHECK_THROWS(InputError, post.leapfrog(x, grad, {0.0, 0.0}, 0.0, {1.0, 1.0}, 3));
  CHECK_THROWS(InputError, post.leapfrog(x, grad, {0.0, 0.0}, 0.1, {1.0, 1.0}, 0));
}
