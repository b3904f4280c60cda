// run_batch: many trainers at once end exactly where each would have ended alone.
#include <memory>
#include <vector>

#include "check.hpp"
#include "pinnbilo/batch.hpp"
#include "pinnbilo/error.hpp"
#include "pinnbilo/parallel.hpp"
#include "problems.hpp"

using namespace pinnbilo;
using problems::all_setups;
using problems::make_trainer;
using problems::Setup;

namespace {

RunControl control(long steps) {
  RunControl c;
  c.steps = steps;
  c.callback_every = 7;
  return c;
}

// Trainers of every setup with different seeds; the same list twice gives identical twins.
std::vector<std::unique_ptr<Trainer<double>>> trainers() {
  std::vector<std::unique_ptr<Trainer<double>>> out;
  std::uint64_t seed = 11;
  for (const Setup& s : all_setups())
    for (int k = 0; k < 3; ++k) out.push_back(make_trainer<double>(s, Func::Tanh, seed++));
  return out;
}

std::vector<Trainer<double>*> pointers(const std::vector<std::unique_ptr<Trainer<double>>>& ts) {
  std::vector<Trainer<double>*> out;
  for (const auto& t : ts) out.push_back(t.get());
  return out;
}

}  // namespace

TEST(batch, identical_to_training_alone) {
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    auto alone = trainers(), together = trainers();
    std::vector<RunControl> controls;
    for (std::size_t i = 0; i < alone.size(); ++i) controls.push_back(control(20 + 3 * static_cast<long>(i)));
    for (std::size_t i = 0; i < alone.size(); ++i) alone[i]->run(controls[i], nullptr);
    const auto results = run_batch(pointers(together), controls);
    CHECK(results.size() == alone.size());
    for (std::size_t i = 0; i < alone.size(); ++i) {
      CHECK(results[i].status == RunStatus::Completed);
      CHECK(results[i].steps == controls[i].steps);
      CHECK(together[i]->weights() == alone[i]->weights());
      CHECK(together[i]->raw_params() == alone[i]->raw_params());
      CHECK(together[i]->history().total == alone[i]->history().total);
    }
  }
  set_num_threads(1);
}

TEST(batch, callback_counts_and_stops) {
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    auto ts = trainers();
    long calls = 0, last = 0;
    const auto results = run_batch(pointers(ts), {control(100000)}, [&](long done) {
      ++calls;
      CHECK(done >= last);  // the sum of steps taken never goes back
      last = done;
      return calls < 2;  // stop at the second call
    });
    CHECK(calls == 2);
    long stopped = 0;
    for (const auto& r : results) {
      CHECK(r.steps < 1000);  // every model saw the stop long before its end
      if (r.status == RunStatus::Stopped) ++stopped;
    }
    CHECK(stopped == static_cast<long>(results.size()));
  }
  set_num_threads(1);
}

TEST(batch, bad_input) {
  auto ts = trainers();
  auto ps = pointers(ts);
  CHECK_THROWS(InputError, run_batch(ps, {control(5), control(5)}));  // neither one nor one each
  auto twice = ps;
  twice[1] = twice[0];
  CHECK_THROWS(InputError, run_batch(twice, {control(5)}));
  auto with_null = ps;
  with_null[2] = nullptr;
  CHECK_THROWS(InputError, run_batch(with_null, {control(5)}));
  CHECK_THROWS(InputError, run_batch(ps, {control(-1)}));
  for (const auto& t : ts) CHECK(t->global_step() == 0);  // nothing moved
  CHECK(run_batch(std::vector<Trainer<double>*>{}, {control(5)}).empty());
}
