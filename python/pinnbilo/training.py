"""What a training run does besides its Adam steps: learning-rate schedules, which state to keep,
spike control, early stopping and BiLO's inner lower loop.

These are plain records that :meth:`pinnbilo.Model.fit` checks and hands to the C++ loop
(``RunControl`` and ``LrSchedule`` in ``pinnbilo/trainer.hpp`` / ``schedule.hpp``); nothing here
runs per step.
"""

from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass
from typing import Dict, Mapping, Optional, Union

from ._validation import _show, number
from .errors import InputError

SCHEDULE_KINDS = {"constant": 0, "exponential": 1, "cosine": 2, "step": 3, "plateau": 4}
KEEP = {"last": 0, "best": 1}
MONITORS = {"total": 0, "lower": 1, "data": 2, "res": 3}
GROUPS = ("weights", "params", "functions")

# The largest step count, period or patience a run takes (checkpoints hold step counts up to
# 2**53 too): no run gets near it, and the core's 64-bit counters never overflow.
MAX_COUNT = 2**53


def count(value: object, name: str, minimum: int = 0) -> int:
    """A step count, period or patience: an integer in [minimum, MAX_COUNT] (bools, floats such
    as 3.0 and numpy arrays refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InputError(f"{name} must be an integer >= {minimum}, got {_show(value)}")
    n = int(value)
    if not minimum <= n <= MAX_COUNT:
        raise InputError(f"{name} must be an integer in [{minimum}, 2**53], got {_show(n)}")
    return n


@dataclass(frozen=True)
class Schedule:
    """A learning-rate schedule: a factor on a group's learning rate at step k of a run of n steps.

    kind : 'constant'; 'exponential' (gamma ** (k / decay_steps)); 'cosine' (from 1 down to
        final_factor at the run's last step); 'step' (times gamma every decay_steps steps);
        'plateau' (times gamma after ``patience`` steps in which the monitored objective did not
        improve by the relative ``threshold``).
    warmup : linear ramp over the first ``warmup`` steps (any kind).
    min_factor : the factor never falls below this.

    The step k counts from the start of each ``fit`` phase (pretraining, then the inverse phase).
    """

    kind: str = "constant"
    warmup: int = 0
    gamma: float = 0.1
    decay_steps: int = 1000
    final_factor: float = 0.0
    patience: int = 500
    threshold: float = 1e-3
    min_factor: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.kind, str) or self.kind not in SCHEDULE_KINDS:
            raise InputError(f"unknown schedule kind {_show(self.kind)}; choose one of {', '.join(SCHEDULE_KINDS)}")
        for name in ("warmup", "decay_steps", "patience"):
            count(getattr(self, name), f"schedule {name}", minimum=0 if name == "warmup" else 1)
        checks = {
            "gamma": lambda x: 0 < x <= 1,
            "final_factor": lambda x: 0 <= x <= 1,
            "threshold": lambda x: x >= 0,
            "min_factor": lambda x: 0 <= x <= 1,
        }
        ranges = {"gamma": "(0, 1]", "final_factor": "[0, 1]", "threshold": ">= 0", "min_factor": "[0, 1]"}
        for name, ok in checks.items():
            v = getattr(self, name)
            if not _number(v) or not ok(v):
                raise InputError(f"schedule {name} must be a finite number in {ranges[name]}, got {_show(v)}")

    def core(self) -> Dict[str, object]:
        """The dict the C++ binding reads (kind as its code)."""
        d: Dict[str, object] = asdict(self)
        d["kind"] = SCHEDULE_KINDS[self.kind]
        for name in ("warmup", "decay_steps", "patience"):
            d[name] = int(getattr(self, name))
        return d


ScheduleLike = Union[None, str, Schedule, Mapping[str, object]]


def as_schedule(spec: ScheduleLike, what: str = "schedule") -> Schedule:
    """A Schedule from None (constant), a kind name ('cosine') or a mapping of Schedule fields."""
    if spec is None:
        return Schedule()
    if isinstance(spec, Schedule):
        return spec
    if isinstance(spec, str):
        return Schedule(kind=spec)
    if isinstance(spec, Mapping):
        unknown = set(spec) - set(Schedule.__dataclass_fields__)
        if unknown:
            raise InputError(
                f"{what}: unknown field(s) {sorted(unknown)}; fields: {', '.join(Schedule.__dataclass_fields__)}"
            )
        bad = [k for k in spec if not isinstance(k, str)]
        if bad:
            raise InputError(f"{what}: field names are text, got {_show(bad)}")
        return Schedule(**spec)  # type: ignore[arg-type]
    raise InputError(f"{what} must be None, a kind name such as 'cosine', a Schedule or a dict, got {_show(spec)}")


def schedules_for_groups(spec: Union[ScheduleLike, Mapping[str, ScheduleLike]]) -> Dict[str, Schedule]:
    """One schedule per group (weights, params, functions). ``spec`` is one schedule for all
    groups, or a mapping from group names to schedules (missing groups: constant)."""
    if isinstance(spec, Mapping) and spec and all(isinstance(k, str) and k in GROUPS for k in spec):
        return {g: as_schedule(spec.get(g), f"schedule['{g}']") for g in GROUPS}  # type: ignore[arg-type]
    one = as_schedule(spec)  # type: ignore[arg-type]
    return {g: one for g in GROUPS}


@dataclass(frozen=True)
class RunOptions:
    """Checked run-control options of one ``fit`` (see :meth:`pinnbilo.Model.fit`)."""

    keep: str = "last"
    monitor: str = "total"
    spike_factor: Optional[float] = None
    spike_lr_factor: float = 0.5
    max_spikes: int = 20
    patience: int = 0
    min_delta: float = 0.0
    max_iter_lower: int = 0
    tol_lower: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.keep, str) or self.keep not in KEEP:
            raise InputError(f"keep must be 'last' or 'best', got {_show(self.keep)}")
        if not isinstance(self.monitor, str) or self.monitor not in MONITORS:
            raise InputError(f"monitor must be one of {', '.join(MONITORS)}, got {_show(self.monitor)}")
        sf = self.spike_factor
        if sf is not None and not (_number(sf) and sf > 1):  # type: ignore[operator]  # a number, checked
            raise InputError(f"spike_factor must be None (off) or a finite number > 1, got {_show(sf)}")
        if not (_number(self.spike_lr_factor) and 0 < self.spike_lr_factor < 1):
            raise InputError(f"spike_lr_factor must lie in (0, 1), got {_show(self.spike_lr_factor)}")
        for name in ("max_spikes", "patience", "max_iter_lower"):
            count(getattr(self, name), name)
        if not (_number(self.min_delta) and 0 <= self.min_delta < 1):
            raise InputError(f"min_delta must lie in [0, 1), got {_show(self.min_delta)}")
        if not (_number(self.tol_lower) and self.tol_lower >= 0):
            raise InputError(f"tol_lower must be a finite number >= 0, got {_show(self.tol_lower)}")

    def core(self, steps: int, train_params: bool, callback_every: int, tol: float) -> Dict[str, object]:
        """The RunControl dict of one phase."""
        return {
            "steps": int(steps),
            "train_params": bool(train_params),
            "callback_every": int(callback_every),
            "tol": float(tol),
            "keep": KEEP[self.keep],
            "monitor": MONITORS[self.monitor],
            "spike_factor": 0.0 if self.spike_factor is None else float(self.spike_factor),
            "spike_lr_factor": float(self.spike_lr_factor),
            "max_spikes": int(self.max_spikes),
            "patience": int(self.patience),
            "min_delta": float(self.min_delta),
            "max_iter_lower": int(self.max_iter_lower) if train_params else 0,
            "tol_lower": float(self.tol_lower),
        }


def _number(v: object) -> bool:
    """Whether v is a finite real number (not a bool; 10**5000, which overflows float64, is not)."""
    try:
        number(v, "value")
    except InputError:
        return False
    return True
