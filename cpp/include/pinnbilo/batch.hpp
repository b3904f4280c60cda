// Many independent trainers trained at once: one task per trainer on the kernels' thread pool.
//
// Ensembles, sweeps and restarts train many small models whose own products are too short to
// split across threads; giving each thread whole models uses every core instead.  Each trainer
// runs exactly the loop of Trainer::run on its own state (its products, nested inside the task,
// run serially on the thread that owns it), so every model ends bit for bit where it would have
// ended trained alone, whatever the number of threads and the order the tasks are claimed in.
#pragma once
#include <functional>
#include <vector>

#include "pinnbilo/trainer.hpp"

namespace pinnbilo {

// Called on the calling thread only, every time one of the models it runs reaches a multiple of
// its control's callback_every: steps_done is the sum over the models of the steps taken so far.
// Returning false stops every model at its next callback (status Stopped).
using BatchCallback = std::function<bool(long steps_done)>;

// Runs trainers[i]->run(controls[i]) for every i (controls: one per trainer, or one for all).
// Throws InputError on a null or repeated trainer or a control that does not validate, before
// any model moves.  An exception inside one model's run (it should not happen) is rethrown once
// every task has finished; the other models keep their results.
template <class T>
std::vector<RunResult> run_batch(const std::vector<Trainer<T>*>& trainers, const std::vector<RunControl>& controls,
                                 const BatchCallback& callback = nullptr);

}  // namespace pinnbilo
