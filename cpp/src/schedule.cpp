#include "pinnbilo/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "pinnbilo/error.hpp"

namespace pinnbilo {

void LrSchedule::validate() const {
  const int k = static_cast<int>(kind);
  require(k >= 0 && k <= 4, "unknown learning-rate schedule kind " + std::to_string(k));
  require(warmup >= 0, "schedule warmup must be >= 0 steps");
  require(std::isfinite(gamma) && gamma > 0 && gamma <= 1, "schedule gamma must lie in (0, 1]");
  require(decay_steps > 0, "schedule decay_steps must be positive");
  require(std::isfinite(final_factor) && final_factor >= 0 && final_factor <= 1,
          "cosine schedule final_factor must lie in [0, 1]");
  require(patience > 0, "plateau schedule patience must be positive");
  require(std::isfinite(threshold) && threshold >= 0, "plateau schedule threshold must be finite and >= 0");
  require(std::isfinite(min_factor) && min_factor >= 0 && min_factor <= 1, "schedule min_factor must lie in [0, 1]");
}

double schedule_factor(const LrSchedule& s, ScheduleState& state, long k, long n, double objective) {
  double f = 1.0;
  switch (s.kind) {
    case ScheduleKind::Constant:
      break;
    case ScheduleKind::Exponential:
      f = std::pow(s.gamma, static_cast<double>(k) / static_cast<double>(s.decay_steps));
      break;
    case ScheduleKind::Cosine: {
      const double x = n > 0 ? std::min(1.0, static_cast<double>(k) / static_cast<double>(n)) : 1.0;
      f = s.final_factor + (1.0 - s.final_factor) * 0.5 * (1.0 + std::cos(3.14159265358979323846 * x));
      break;
    }
    case ScheduleKind::Step:
      f = std::pow(s.gamma, static_cast<double>(k / s.decay_steps));
      break;
    case ScheduleKind::Plateau:
      if (std::isfinite(objective)) {
        if (!state.have_best || objective < state.best * (1.0 - s.threshold)) {
          state.best = objective;
          state.have_best = true;
          state.since_best = 0;
        } else if (++state.since_best >= s.patience) {
          state.plateau_factor *= s.gamma;
          state.since_best = 0;
          state.best = objective;  // measure the next plateau from here
        }
      }
      f = state.plateau_factor;
      break;
  }
  if (s.warmup > 0 && k < s.warmup) f *= static_cast<double>(k + 1) / static_cast<double>(s.warmup + 1);
  return std::max(f, s.min_factor);
}

}  // namespace pinnbilo
