"""The playground's presets without a page: a session trained by the server's own frame code,
with the inferred quantity's error recorded along the way (``bench/playground_presets.py`` and
the stability tests read it).

The error of a run is, per step, the largest relative error of its scalar parameters
(|p - p_true| / |p_true|); a preset whose only unknowns are functions records the largest
relative L2 error of the functions (:meth:`~pinnbilo.Model.function_errors`) every ``every``
steps instead. A system (several fields) is measured by its parameters too: its fields are what
the data observe, the rates what is inferred.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np

from .config import Controls, catalogue
from .presets import PRESETS, Preset, preset_settings
from .session import Session


@dataclass
class Trace:
    """One model's run under a preset: ``steps`` where ``error`` was taken, and the total loss
    at every step (``loss[i]`` after step i + 1)."""

    preset: str
    method: str
    what: str  # 'parameters' or 'functions'
    steps: np.ndarray
    error: np.ndarray
    loss: np.ndarray

    def held(self, window: int) -> np.ndarray:
        """For each recorded step whose following ``window`` steps lie inside the run (and for
        the last step), the largest error over those steps."""
        n = max(1, int(np.searchsorted(self.steps, self.steps[0] + window)))
        err = self.error
        full = [float(np.max(err[i : i + n])) for i in range(max(0, len(err) - n + 1))]
        return np.array(full + [float(err[-1])])

    def _held_steps(self, window: int) -> np.ndarray:
        n = max(1, int(np.searchsorted(self.steps, self.steps[0] + window)))
        return np.concatenate([self.steps[: max(0, len(self.steps) - n + 1)], self.steps[-1:]])

    def best(self, window: int = 1000) -> float:
        """The lowest error the run held for ``window`` steps (a parameter that only crosses
        its true value on the way does not count), or its end."""
        return float(np.min(self.held(window)))

    def best_step(self, window: int = 1000) -> int:
        """Where the window of :meth:`best` starts."""
        return int(self._held_steps(window)[int(np.argmin(self.held(window)))])

    @property
    def end(self) -> float:
        return float(self.error[-1])

    def late_worst(self, start: int) -> float:
        """The largest error from step ``start`` on."""
        late = self.error[self.steps >= start]
        return float(np.max(late)) if late.size else float("nan")

    def late_rise(self, start: int, window: int = 1000) -> float:
        """How far the error climbs, from step ``start`` on, above the best it held for
        ``window`` steps before (0 for a run that only improves: a slow convergence is no
        excursion)."""
        held, at = self.held(window), self._held_steps(window)
        floor = np.minimum.accumulate(held)  # the best held over the windows ending by each step
        late = self.steps >= start
        k = np.searchsorted(at + window, self.steps[late], side="right") - 1
        ok = k >= 0
        if not np.any(ok):
            return 0.0
        return max(0.0, float(np.max(self.error[late][ok] - floor[k[ok]])))

    def late_spike(self, start: int) -> float:
        """The largest ratio of the total loss to its running minimum from step ``start`` on
        (1: no step above the best loss so far)."""
        loss = np.where(np.isfinite(self.loss), self.loss, np.inf)
        floor = np.minimum.accumulate(loss)
        ratio = loss[start:] / np.maximum(floor[start:], 1e-300)
        return float(np.max(ratio)) if ratio.size else 1.0


def preset(name: str) -> Preset:
    found = [p for p in PRESETS if p.name == name]
    if not found:
        raise KeyError(f"no preset {name!r}; presets: {', '.join(p.name for p in PRESETS)}")
    return found[0]


def run_preset(
    name: str, steps: int, every: int = 250, controls: Optional[Controls] = None, **changes: object
) -> List[Trace]:
    """Train the preset ``name`` (with ``changes`` on top) for ``steps`` steps per model, in
    frames of ``every`` steps on the session's worker, as the page's play button does; one
    Trace per model (the chosen method first)."""
    controls = controls or Controls(catalogue()[0])
    cfg = preset_settings(controls, preset(name))
    cfg.update(changes)
    cfg["steps_per_frame"] = int(every)
    session = Session(controls, heartbeat_timeout=1e9)
    try:
        session.configure(cfg)

        def train() -> List[Trace]:
            models = session.models
            functions: Dict[int, List[float]] = {id(m): [] for m in models}
            at: List[int] = []
            by_function = not models[0].problem.params
            while models[0].step < steps:
                session._train_frame(None)  # one whole frame: nothing else is queued
                at.append(models[0].step)
                if by_function:
                    for m in models:
                        functions[id(m)].append(max(m.function_errors().values()))
            out = []
            for m in models:
                h = m.history
                if by_function:
                    s, err, what = np.asarray(at), np.asarray(functions[id(m)]), "functions"
                else:
                    true = m.problem.true_params
                    rel = [np.abs(h.params[k] - v) / abs(v) for k, v in true.items()]
                    s, err, what = np.asarray(h.step), np.max(rel, axis=0), "parameters"
                out.append(Trace(name, m.method, what, s, err, np.asarray(h.total)))
            return out

        return session.call(train, timeout=1e6)  # type: ignore[no-any-return]
    finally:
        session.close()
        session.join()


# A run is stable when its end is within STABLE_FACTOR of its best plus STABLE_SLACK (relative
# error), and its late part never climbs more than (STABLE_FACTOR - 1) best + STABLE_SLACK above
# the best it had held before.
STABLE_FACTOR = 1.5
STABLE_SLACK = 0.005


def stable(trace: Trace, late: int, window: int = 1000) -> bool:
    """Whether ``trace`` ends as good as its best and, from step ``late`` on, never climbs
    further above its best so far (within STABLE_FACTOR and STABLE_SLACK)."""
    best = trace.best(window)
    return (
        trace.end <= STABLE_FACTOR * best + STABLE_SLACK
        and trace.late_rise(late, window) <= (STABLE_FACTOR - 1.0) * best + STABLE_SLACK
    )
