// Learning-rate schedules: a factor on a group's base learning rate at each step of a run.
//
// A schedule is data (kind + a few numbers) so that Python, checkpoints and C++ programs describe
// it the same way. Stateless kinds are a function of the step k within the run and the run's
// length n; reduce-on-plateau keeps a little state (ScheduleState) and reads the monitored
// objective. Every kind may start with a linear warm-up. Factors never fall below `min_factor`.
#pragma once

namespace pinnbilo {

enum class ScheduleKind : int {
  Constant = 0,     // factor 1
  Exponential = 1,  // gamma^(k / decay_steps)
  Cosine = 2,       // final + (1 - final) (1 + cos(pi k / n)) / 2
  Step = 3,         // gamma^floor(k / decay_steps)
  Plateau = 4,      // times gamma after `patience` steps without a relative improvement > threshold
};

struct LrSchedule {
  ScheduleKind kind = ScheduleKind::Constant;
  long warmup = 0;            // linear ramp from 1/(warmup+1) to 1 over the first `warmup` steps
  double gamma = 0.1;         // Exponential/Step/Plateau: the decay factor
  long decay_steps = 1000;    // Exponential: steps per factor gamma; Step: steps between drops
  double final_factor = 0.0;  // Cosine: the factor at the end of the run
  long patience = 500;        // Plateau: steps without improvement before a drop
  double threshold = 1e-3;    // Plateau: relative improvement that counts
  double min_factor = 0.0;    // floor of the factor

  // Throws InputError naming the field when a number is out of range.
  void validate() const;
};

// Running state of one schedule inside a run.
struct ScheduleState {
  double plateau_factor = 1.0;
  double best = 0.0;
  long since_best = 0;
  bool have_best = false;
};

// The factor at step k (0-based) of a run of n steps; `objective` is the monitored value at this
// step (only Plateau reads it and updates `state`).
double schedule_factor(const LrSchedule& s, ScheduleState& state, long k, long n, double objective);

}  // namespace pinnbilo
