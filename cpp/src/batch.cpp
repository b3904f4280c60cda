#include "pinnbilo/batch.hpp"

#include <atomic>
#include <exception>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "pinnbilo/error.hpp"
#include "pinnbilo/parallel.hpp"

namespace pinnbilo {

template <class T>
std::vector<RunResult> run_batch(const std::vector<Trainer<T>*>& trainers, const std::vector<RunControl>& controls,
                                 const BatchCallback& callback) {
  const std::size_t m = trainers.size();
  require(controls.size() == 1 || controls.size() == m,
          "run_batch: need one control for all trainers or one per trainer, got " + std::to_string(controls.size()) +
              " for " + std::to_string(m) + " trainers");
  std::set<const Trainer<T>*> seen;
  for (std::size_t i = 0; i < m; ++i) {
    require(trainers[i] != nullptr, "run_batch: trainer " + std::to_string(i) + " is null");
    // Two tasks on one trainer would race on its state.
    require(seen.insert(trainers[i]).second, "run_batch: trainer " + std::to_string(i) + " appears twice");
  }
  for (const RunControl& c : controls) c.validate();
  auto control = [&](std::size_t i) -> const RunControl& { return controls.size() == 1 ? controls[0] : controls[i]; };

  std::vector<RunResult> results(m);
  std::vector<std::exception_ptr> errors(m);
  // Steps taken so far per model (written by its own task), summed for the caller's callback.
  std::unique_ptr<std::atomic<long>[]> taken(new std::atomic<long>[m]);
  for (std::size_t i = 0; i < m; ++i) taken[i].store(0, std::memory_order_relaxed);
  std::atomic<bool> stop{false};
  const std::thread::id caller = std::this_thread::get_id();

  parallel_for(m, [&](std::size_t i) {
    Trainer<T>& t = *trainers[i];
    const long start = t.global_step();
    auto on_step = [&, i, start](long global_step) -> bool {
      taken[i].store(global_step - start, std::memory_order_relaxed);
      if (callback && std::this_thread::get_id() == caller) {
        long total = 0;
        for (std::size_t j = 0; j < m; ++j) total += taken[j].load(std::memory_order_relaxed);
        try {
          if (!callback(total)) stop.store(true, std::memory_order_relaxed);
        } catch (...) {
          // The callback's own error stops the batch; it is reported through this model's slot.
          if (!errors[i]) errors[i] = std::current_exception();
          stop.store(true, std::memory_order_relaxed);
        }
      }
      return !stop.load(std::memory_order_relaxed);
    };
    // A model that starts after a stop takes no step at all.
    if (stop.load(std::memory_order_relaxed)) {
      results[i].status = RunStatus::Stopped;
      return;
    }
    try {
      results[i] = t.run(control(i), on_step);
    } catch (...) {
      errors[i] = std::current_exception();
    }
  });
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
  return results;
}

template std::vector<RunResult> run_batch<float>(const std::vector<Trainer<float>*>&, const std::vector<RunControl>&,
                                                 const BatchCallback&);
template std::vector<RunResult> run_batch<double>(const std::vector<Trainer<double>*>&,
                                                  const std::vector<RunControl>&, const BatchCallback&);

}  // namespace pinnbilo
