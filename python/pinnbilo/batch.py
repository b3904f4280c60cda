"""Many models trained at once: ``pinnbilo.fit_many``.

Ensembles, sweeps over data or initial guesses, and restarts train many small models whose own
matrix products are too short to split across threads. ``fit_many`` hands each of the core's
threads whole models (one C++ call runs every model's Adam loop, with the GIL released), so a
2-core machine trains two models at the speed of one. Each model runs exactly the loop its own
``fit`` would run: it ends bit for bit where ``model.fit(**same arguments)`` would have ended,
whatever the number of threads.
"""

from __future__ import annotations

import contextlib
from typing import Any, Dict, List, Sequence

from . import _core
from ._validation import _show
from .errors import InputError, TrainingDiverged
from .model import Model, _FitTally, _fitting, _progress_bar
from .results import FitResult
from .training import count

# fit() arguments that need a Python call per model inside the loop; a batch has none.
_PER_MODEL_CALLBACKS = ("callback", "resample_every")


def fit_many(
    models: Sequence[Model],
    *,
    progress: bool = False,
    callback_every: int = 100,
    on_diverge: str = "return",
    **fit_kwargs: Any,
) -> List[FitResult]:
    """Train several models at once with the same :meth:`Model.fit` arguments.

    models : distinct PINN/BiLO models of one dtype (any problems, sizes, data or seeds; models of
        the same size balance best). Each is trained as by ``model.fit(**fit_kwargs)``, with the
        same result bit for bit; its history and state are its own, as after its own fit.
    progress : one tqdm bar over the steps of all models.
    callback_every : steps between checks for Ctrl-C and progress updates (per model).
    on_diverge : 'return' (default: a diverged model gets status 'diverged', the others go on) or
        'raise' (after every model has finished, TrainingDiverged names the diverged ones; every
        model keeps its state).
    fit_kwargs : any other argument of :meth:`Model.fit` (steps, lr, pretrain_steps, schedule,
        keep, lbfgs_steps, ...), except ``callback`` and ``resample_every``, which call Python
        inside each model's loop.

    Returns one :class:`FitResult` per model, in order. The Adam phases of all models run in one
    call, spread over :func:`pinnbilo.set_num_threads` threads (one model per thread at a time);
    an L-BFGS phase (``lbfgs_steps``) runs afterwards model by model. ``wall_time`` of each result
    is the batch's time up to the end of that model's own L-BFGS phase. Ctrl-C stops every model
    within ``callback_every`` steps of the model on the calling thread; each returns with status
    'interrupted' in a consistent state.
    """
    models = _check_models(models)
    for name in _PER_MODEL_CALLBACKS:
        if fit_kwargs.get(name):
            raise InputError(
                f"fit_many: {name} calls Python inside each model's loop, which a batch does not do; "
                "train that model with its own fit"
            )
        fit_kwargs.pop(name, None)
    if not isinstance(on_diverge, str) or on_diverge not in ("raise", "return"):
        raise InputError(f"on_diverge must be 'raise' or 'return', got {_show(on_diverge)}")
    callback_every = count(callback_every, "callback_every", minimum=1)
    with contextlib.ExitStack() as held:
        for m in models:
            held.enter_context(_fitting(m))
        # Every model's arguments are checked (and its options set) before any model moves.
        plans = [
            m._plan_fit(
                **_fit_arguments(fit_kwargs), callback_every=callback_every, progress=False, on_diverge="return"
            )
            for m in models
        ]
        tallies = [_FitTally() for _ in models]
        active = list(range(len(models)))
        n_phases = max((len(p.phases) for p in plans), default=0)
        for phase in range(n_phases):
            # Models run their phases in order; a model without pretraining (PINN) starts with
            # its inverse phase, so the last phase of every model runs in the last batch.
            offset = {i: len(plans[i].phases) - n_phases for i in active}
            runs = [i for i in active if phase + offset[i] >= 0]
            if not runs:
                continue
            labels = {i: plans[i].phases[phase + offset[i]] for i in runs}
            records = _run_batch(models, plans, runs, labels, progress)
            for i, rec in zip(runs, records):
                label = labels[i][0]
                status = "interrupted" if rec["interrupted"] else _STATUS[int(rec["status"])]
                if not tallies[i].add(label, status, rec):
                    active.remove(i)
            if any(rec["interrupted"] for rec in records):
                active = []
        results = []
        for m, plan, tally in zip(models, plans, tallies):
            if tally.status == "interrupted":
                plan.lbfgs_steps = 0
            results.append(m._finish_fit(plan, tally))
    if on_diverge == "raise":
        bad = [i for i, r in enumerate(results) if r.status == "diverged"]
        if bad:
            first = results[bad[0]].diverged_step
            raise TrainingDiverged(
                f"fit_many: models {bad} diverged (each was restored to its last finite state; every other model "
                f"finished): {results[bad[0]].message}",
                first if first is not None else -1,
            )
    return results


_STATUS = {0: "completed", 1: "converged", 2: "stopped", 3: "diverged", 4: "early_stopped"}


def _check_models(models: object) -> List[Model]:
    if isinstance(models, Model) or not isinstance(models, Sequence) or isinstance(models, (str, bytes)):
        raise InputError(f"models must be a list of pinnbilo models, got {_show(models)}")
    out = list(models)
    for i, m in enumerate(out):
        if not isinstance(m, Model):
            raise InputError(f"models[{i}] is not a pinnbilo model (PINN or BiLO): {_show(m)}")
    ids = [id(m) for m in out]
    if len(set(ids)) != len(ids):
        first = next(i for i, x in enumerate(ids) if ids.count(x) > 1)
        raise InputError(f"models[{first}] appears more than once: pass each model once")
    dtypes = sorted({m.dtype for m in out})
    if len(dtypes) > 1:
        raise InputError(f"fit_many: all models must have one dtype, got {dtypes}; call it once per dtype")
    return out


def _fit_arguments(fit_kwargs: Dict[str, Any]) -> Dict[str, Any]:
    """fit's defaults, overridden by the caller's arguments; unknown names refused."""
    import inspect

    params = inspect.signature(Model.fit).parameters
    defaults = {
        k: p.default
        for k, p in params.items()
        if k not in ("self", "callback_every", "progress", "on_diverge") and p.default is not inspect.Parameter.empty
    }
    unknown = sorted(set(fit_kwargs) - set(defaults))
    if unknown:
        raise InputError(f"fit_many: unknown fit arguments {unknown}; see help(pinnbilo.Model.fit)")
    return {**defaults, **fit_kwargs}


def _run_batch(
    models: List[Model], plans: List[Any], runs: List[int], labels: Dict[int, Any], progress: bool
) -> List[Dict[str, Any]]:
    """One phase of the models `runs` in one core call; returns their run records."""
    total = sum(labels[i][1] for i in runs)
    names = sorted({labels[i][0] for i in runs})
    bar = _progress_bar(total, f"fit_many ({len(runs)} models, {'/'.join(names)})", progress)
    done = [0]

    def on_progress(steps_done: int) -> bool:
        bar.update(steps_done - done[0])
        done[0] = steps_done
        return True

    controls = [
        plans[i].run_options.core(labels[i][1], labels[i][2], plans[i].callback_every, plans[i].tol) for i in runs
    ]
    try:
        records: List[Dict[str, Any]] = _core.run_batch([models[i]._trainer for i in runs], controls, on_progress)
    finally:
        bar.close()
    return records
