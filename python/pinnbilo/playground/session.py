"""One page's training session: the models, and a worker thread that alone touches them.

Requests never call into a model directly: they put a command on the session's queue and wait for
the worker's answer, so training (in C++, GIL released) and reading weights never overlap. The
worker trains in frames of ``steps_per_frame`` Adam steps, ~30 frames a second, and publishes a
JSON snapshot that requests read without locking.
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import tempfile
import threading
import time
from concurrent.futures import Future
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..checkpoint import load
from ..errors import InputError
from ..model import Model
from ..problem import Data, Problem
from .config import METHODS, SLOTS, Controls, Equation, build_models, check_size, companion
from .network import function_points, model_view, over_both, predict_at

FRAME_S = 1.0 / 30.0  # pacing of frames while playing: fast enough to watch, slow enough to follow
SNAPSHOT_S = 0.1  # at most this often a new snapshot while playing
FIXED_LR = 1e-30  # PINN "pretrain": Adam steps of the parameter are ~lr, so this keeps it fixed
LIVE_WEIGHTS = ("w_res", "w_rgrad", "w_data", "w_reg")
LR_FLOOR = 0.02  # the learning-rate decay stops at this fraction of the set rates
MAX_CHECKPOINT_BYTES = 32 * 2**20
LINE_POINTS = 101  # where one-coordinate solutions and unknown functions are drawn
HEAT_POINTS = 41  # heatmaps of two-coordinate solutions: this many points per axis
MAX_STEPS = 200_000  # per model: every snapshot reads the whole history, every frame extends it
FRAME_BUDGET_S = 0.25  # while playing, a frame ends after this long even if steps are left
VARIATION_FRACTION = 0.1  # BiLO's local-operator view: u at a +- delta, delta this fraction of |a|
# While playing, the exact solutions at a +- delta (a reference solve each, for some problems) are
# recomputed at most this often, and at most a tenth of the time; between refreshes the view
# stays at the a +- delta of the last one (the network drawn there with its current weights).
VARIATION_REFRESH_S = 1.0


class Session:
    """A page's models and training state; every model access runs on the worker thread."""

    def __init__(self, controls: Controls, heartbeat_timeout: float) -> None:
        self.id = secrets.token_urlsafe(16)
        self.controls = controls
        self.heartbeat_timeout = heartbeat_timeout
        self.config: Dict[str, Any] = controls.defaults()
        self.models: List[Model] = build_models(self.config, self._equation())
        self.running = False
        self.pending_frames = 0
        self.notice: Dict[str, str] = {}
        self.last_seen = time.monotonic()
        self.closed = False
        self._version = 0
        self._owed: List[int] = []  # steps left in the current frame, per model
        self._step_s: Dict[int, float] = {}  # measured seconds per training step, by id(model)
        self._publish_s = 0.0  # measured seconds per snapshot
        self._drawn_for: Optional[Tuple[Any, Any, Dict[str, Any]]] = None
        self._variation_at: Dict[int, Dict[str, Any]] = {}  # by id(model): where its view was drawn
        self._published: Tuple[int, bytes] = (0, b"{}")
        self._queue: "queue.Queue[Optional[Tuple[Callable[[], Any], Future]]]" = queue.Queue()
        self._publish()
        self._thread = threading.Thread(target=self._loop, name=f"pinnbilo-playground-{self.id[:6]}", daemon=True)
        self._thread.start()

    # -- called from request threads ---------------------------------------------------------------
    def touch(self) -> None:
        """The page is alive (any request of this session counts as a heartbeat)."""
        self.last_seen = time.monotonic()

    @property
    def snapshot(self) -> bytes:
        """The latest state as JSON bytes."""
        return self._published[1]

    @property
    def published(self) -> Tuple[int, bytes]:
        """(version, JSON bytes) of the latest state, read together."""
        return self._published

    def call(self, fn: Callable[[], Any], timeout: float = 30.0) -> Any:
        """Run fn on the worker thread and return its result (or raise its exception)."""
        if self.closed:
            raise InputError("this session is closed; reload the page")
        fut: Future = Future()
        self._queue.put((fn, fut))
        return fut.result(timeout=timeout)

    def close(self) -> None:
        """Stop the worker (training stops within one frame)."""
        if not self.closed:
            self.closed = True
            self._queue.put(None)

    def join(self, timeout: float = 5.0) -> None:
        self._thread.join(timeout)

    # -- commands (run on the worker) ------------------------------------------------------------
    def configure(self, changes: object) -> Dict[str, Any]:
        def run() -> Dict[str, Any]:
            new, rebuild = self.controls.validate(self.config, changes)
            if rebuild:
                models = build_models(new, self.controls.equations[new["equation"]])
                self.config, self.models, self._owed = new, models, []
                self.notice = {"info": "models rebuilt with the new settings"}
            else:
                self.config = new
                for m in self.models:
                    # The loss weights are read by every fit call, so they change live.
                    m.weights_config.update({k: float(new[k]) for k in LIVE_WEIGHTS})
            return self.config

        return self.call(run)

    def control(self, action: object) -> None:
        def run() -> None:
            if action in ("play", "pause", "reset"):
                self._owed = []  # start afresh; a step completes the frame under way (exact step counts)
            if action == "play":
                self.running = True
                self.notice = {}
            elif action == "pause":
                self.running = False
            elif action == "step":
                self.running = False
                self.pending_frames += 1
            elif action == "reset":
                self.models = build_models(self.config, self._equation())
                self.notice = {"info": "reset"}
            else:
                raise InputError(f"action must be play, pause, step or reset, got {action!r}")

        self.call(run)

    def save(self) -> Tuple[str, bytes]:
        """The first model as a pinnbilo checkpoint (.npz bytes) and a file name."""

        def run() -> Tuple[str, bytes]:
            m = self.models[0]
            with tempfile.TemporaryDirectory(prefix="pinnbilo-playground-") as d:
                path = os.path.join(d, "model.npz")
                m.save(path)
                with open(path, "rb") as fh:
                    blob = fh.read()
            return f"pinnbilo-{m.method}-{m.problem.name}-step{m.step}.npz", blob

        return self.call(run)

    def load(self, blob: bytes) -> Dict[str, Any]:
        """Replace the models by a checkpoint's (and, side by side, the other method on its data)."""

        def run() -> Dict[str, Any]:
            with tempfile.TemporaryDirectory(prefix="pinnbilo-playground-") as d:
                path = os.path.join(d, "upload.npz")
                with open(path, "wb") as fh:
                    fh.write(blob)
                model = load(path)
            cfg = self._config_of(model)
            models = [model]
            if cfg["compare"]:
                other = next(c for m, c in METHODS.items() if m != model.method)
                models.append(companion(other, model.problem, model.observations, cfg, model.collocation))
            self.config, self.models, self._owed = cfg, models, []
            self.notice = {"info": f"loaded a {model.display_name} model at step {model.step}"}
            return self.config

        return self.call(run)

    # -- worker --------------------------------------------------------------------------------------
    def _equation(self) -> Equation:
        return self.controls.equations[self.config["equation"]]

    def _config_of(self, model: Model) -> Dict[str, Any]:
        """The controls that describe a loaded model; InputError if the playground cannot show it."""
        spec = model.problem.spec or {}
        name = spec.get("builtin") if isinstance(spec, dict) else None
        if name not in self.controls.equations:
            raise InputError(
                "this checkpoint's problem is not one the playground shows; "
                f"built-in problems here: {', '.join(self.controls.equations)}"
            )
        eq = self.controls.equations[str(name)]
        if tuple(model.problem.param_names) != eq.params:
            # Another variant of the problem (Lotka-Volterra with all four rates unknown): the
            # parameter slots would not match its parameters.
            raise InputError(
                f"this checkpoint's {eq.name} infers {', '.join(model.problem.param_names) or 'no parameter'}; "
                f"the playground's infers {', '.join(eq.params) or 'none'}"
            )
        found = spec.get("kwargs", {}) if isinstance(spec, dict) else {}
        kwargs: Dict[str, Any] = found if isinstance(found, dict) else {}
        true = model.problem.true_params
        changes: Dict[str, Any] = {
            "equation": eq.name,
            "method": model.method,
            "u0": float(kwargs.get("u0", self.config["u0"])) if eq.has_u0 else self.config["u0"],
            # n_res counts grid points per coordinate: the nearest for these residual points.
            "n_res": int(round(model.collocation.shape[0] ** (1.0 / len(eq.coords)))),
            "interior": _off_boundary(model),
            "n_data": len(model.data),
            "noise": float(model.data.noise),
            "seed": int(model.seed),
            "layers": len(model.hidden),
            "neurons": int(max(model.hidden)),
            "activation": model.activation,
            **{k: float(v) for k, v in model.weights_config.items() if k in LIVE_WEIGHTS},
        }
        for slot, p in zip(SLOTS, model.problem.params):
            changes[f"{slot}_init"] = float(p.init)
            changes[f"{slot}_true"] = float(true[p.name])
        cfg = dict(self.config)
        try:
            for k, v in changes.items():
                cfg[k] = self.controls.value(k, v)
            check_size(cfg, eq)
        except InputError as exc:
            raise InputError(f"this checkpoint is outside the playground's limits: {exc}") from None
        return cfg

    def _train_frame(self, budget: Optional[float]) -> bool:
        """Train towards the end of the current frame; True when the frame is complete.

        A frame is ``steps_per_frame`` steps for every model, so side-by-side models keep in step.
        A fit stops early when a command is waiting or after ``budget`` seconds (None: no time
        limit), so even the largest network answers within about one training step; the frame
        then goes on at the next call.
        """
        cfg = self.config
        if len(self._owed) != len(self.models) or not any(self._owed):
            self._owed = [int(cfg["steps_per_frame"])] * len(self.models)
        live = {id(m) for m in self.models}
        self._step_s = {k: v for k, v in self._step_s.items() if k in live}
        for i, m in enumerate(self.models):
            k = self._owed[i]
            if k <= 0:
                continue
            if m.step >= MAX_STEPS:
                self._stop({"info": f"{m.display_name} reached {MAX_STEPS} steps: save the model or reset"})
                return False
            step_s = self._step_s.get(id(m), 0.0)
            # Unknown speed: look after every step; otherwise about every 20 ms of training.
            every = 1 if step_s <= 0 else max(1, min(k, int(0.02 / step_s)))
            t0, s0 = time.perf_counter(), m.step

            def keep_going(model: Model, step: int, t0: float = t0) -> bool:
                return self._queue.empty() and (budget is None or time.perf_counter() - t0 < budget)

            half_life = int(cfg["lr_half_life"])

            def options(m: Model = m, half_life: int = half_life, every: int = every) -> Tuple[Dict[str, Any], float]:
                """One fit's options from the model's step on, and the parameters' learning rate."""
                decay = lr_decay(m.step, half_life)
                kw: Dict[str, Any] = {
                    "lr": cfg["lr"] * decay,
                    # The decay goes on inside the fit (whatever its length), from this step on.
                    "schedule": None
                    if half_life <= 0
                    else {
                        "kind": "exponential",
                        "gamma": 0.5,
                        "decay_steps": half_life,
                        "min_factor": LR_FLOOR / decay,
                    },
                    "callback_every": every,
                    "callback": keep_going,
                    "on_diverge": "return",
                }
                return kw, cfg["lr_a"] * decay

            kw, lr_a = options()
            pretrain = cfg["phase"] == "pretrain"
            fixed: Dict[str, Any] = {"lr_params": FIXED_LR, "lr_functions": FIXED_LR}
            if m.method == "bilo":
                # BiLO's first pretrain_steps steps (or all, in the pretrain phase) keep the parameters fixed.
                pre = k if pretrain else min(k, max(0, int(cfg["pretrain_steps"]) - m.step))
                if 0 < pre < k:
                    # A frame across the end of the pretraining: two fits, so that the inverse phase's
                    # schedule starts from its own step and the run does not depend on the frames.
                    r = m.fit(steps=0, pretrain_steps=pre, lr_params=lr_a, lr_functions=lr_a, **kw)
                    if m.step - s0 == pre and r.status != "diverged":
                        kw, lr_a = options()
                        r = m.fit(steps=k - pre, lr_params=lr_a, lr_functions=lr_a, **kw)
                else:
                    r = m.fit(steps=k - pre, pretrain_steps=pre, lr_params=lr_a, lr_functions=lr_a, **kw)
            elif pretrain:
                # PINN pretraining fits the equation alone (residual and conditions) at the fixed
                # initial parameters, as the original playground does: no data term.
                w_data = m.weights_config["w_data"]
                m.weights_config["w_data"] = 0.0
                try:
                    r = m.fit(steps=k, **fixed, **kw)
                finally:
                    m.weights_config["w_data"] = w_data
            else:
                r = m.fit(steps=k, lr_params=lr_a, lr_functions=lr_a, **kw)
            if m.step > s0:
                self._step_s[id(m)] = (time.perf_counter() - t0) / (m.step - s0)
            self._owed[i] = max(0, k - (m.step - s0))
            if r.status == "diverged":
                self._stop({"error": f"{m.display_name}: {r.message}"})
                return False
        return not any(self._owed)

    def _stop(self, notice: Dict[str, str]) -> None:
        self.running = False
        self.pending_frames = 0
        self._owed = []
        self.notice = notice

    def _drawn(self) -> Dict[str, Any]:
        """What does not change while training: where the solution is drawn, the exact solution,
        the data and the true functions. Computed once per problem (exact solutions may come
        from a reference solver)."""
        first = self.models[0]
        problem, data = first.problem, first.data
        if self._drawn_for is not None and self._drawn_for[0] is problem and self._drawn_for[1] is data:
            return self._drawn_for[2]
        coords = problem.coords
        lo, hi = problem.domain[coords[0]]
        t = np.linspace(lo, hi, LINE_POINTS)
        out: Dict[str, Any] = {
            "t": [float(x) for x in t],
            "data": _data_view(problem, first.observations),
            "params": [
                {"name": p.name, "slot": slot, "true": float(problem.true_params[p.name])}
                for slot, p in zip(SLOTS, problem.params)
            ],
            "functions": [],
        }
        if len(coords) == 1:
            out["points"], out["shape"] = t[:, None], (LINE_POINTS,)
            out["exact_values"] = problem.exact(t)
            out["exact"] = by_field(out["exact_values"])
            out["heat"] = None
            out["slice"], out["slice_points"] = {"coord": coords[0], "x": out["t"], "at": None}, t[:, None]
        else:
            y_lo, y_hi = problem.domain[coords[1]]
            y = np.linspace(y_lo, y_hi, HEAT_POINTS)
            x = np.linspace(lo, hi, HEAT_POINTS)
            yy, xx = np.meshgrid(y, x, indexing="ij")  # rows: second coordinate
            points = np.stack([xx.ravel(), yy.ravel()], axis=1)
            out["points"], out["shape"] = points, (HEAT_POINTS, HEAT_POINTS)
            out["exact_values"] = problem.exact(points)
            exact = out["exact_values"].reshape(HEAT_POINTS, HEAT_POINTS)
            out["exact"] = []
            out["heat"] = {
                "x": _floats(x),
                "y": _floats(y),
                "names": list(coords[:2]),
                "exact": [_floats(row) for row in exact],
            }
            # BiLO's local operator in two coordinates: along the first, at the end of the second.
            at = float(y_hi)
            out["slice"] = {"coord": coords[0], "x": out["t"], "at": {"name": coords[1], "value": at}}
            out["slice_points"] = np.stack([t, np.full_like(t, at)], axis=1)
        for f in problem.function_names:
            if out["heat"] is not None and over_both(problem, f):
                # A function of both coordinates: its truth on the solution's heatmap grid.
                true = problem.true_function(f, out["points"]).reshape(out["shape"])
                out["functions"].append(
                    {
                        "name": f,
                        "coord": ", ".join(problem.function_inputs[f]),
                        "x": [],
                        "true": [],
                        "heat": [_floats(row) for row in true],
                    }
                )
                continue
            fx, fp = function_points(problem, f)
            coord = problem.function_inputs[f][0]
            out["functions"].append(
                {
                    "name": f,
                    "coord": coord,
                    "x": _floats(fx),
                    "true": _floats(problem.true_function(f, fp)),
                    "heat": None,
                }
            )
        self._drawn_for = (problem, data, out)
        return out

    def _publish(self) -> None:
        start = time.perf_counter()
        eq = self._equation()
        drawn = self._drawn()
        problem = self.models[0].problem
        self._version += 1
        params = drawn["params"]
        state = {
            "version": self._version,
            "session": self.id,
            "running": self.running,
            "notice": self.notice,
            "config": self.config,
            # A system's solution, data and views hold one list per field, in this order.
            "fields": list(problem.fields),
            "param": eq.param,
            "coord": eq.coord,
            "coords": list(problem.coords),
            "has_u0": eq.has_u0,
            "params": params,
            "functions": drawn["functions"],
            "t": drawn["t"],
            "exact": drawn["exact"],
            "heat": drawn["heat"],
            "slice": drawn["slice"],
            "a_true": params[0]["true"] if params else None,
            "data": drawn["data"],
            "models": [self._view(m, drawn) for m in self.models],
        }
        self._published = (self._version, json.dumps(state, allow_nan=False).encode())
        self._publish_s = time.perf_counter() - start

    def _view(self, m: Model, drawn: Dict[str, Any]) -> Dict[str, Any]:
        """A model's view, with the exact solution at the model's current parameters on line
        plots: what BiLO's network follows during training and PINN's does not."""
        view = model_view(m, drawn["points"], drawn["shape"], drawn["exact_values"])
        view["variation"] = self._variation(m, drawn)
        if len(drawn["shape"]) == 1 and m.problem.solution is not None and not m.problem.functions:
            try:
                view["exact_now"] = by_field(m.problem.exact(drawn["points"], m.params))
            except (InputError, ValueError, FloatingPointError, OverflowError):
                pass  # parameters where the exact solution is undefined: nothing to draw
        return view

    def _variation(self, m: Model, drawn: Dict[str, Any]) -> Optional[List[Dict[str, Any]]]:
        """BiLO's local operator: for each parameter p, the network's u at p +- delta (the other
        parameters at their current values) beside the exact solutions there, along
        ``drawn["slice"]``; None for PINN (its network has no parameter input) and without
        parameters."""
        problem = m.problem
        if m.method != "bilo" or not problem.params or problem.solution is None:
            return None
        live = {id(x) for x in self.models}
        self._variation_at = {k: v for k, v in self._variation_at.items() if k in live}
        now = time.monotonic()
        base = m.params
        last = self._variation_at.get(id(m))
        if last is not None and last["model"] is m and last["base"] != base:
            wait = max(VARIATION_REFRESH_S, 10.0 * last["cost"])
            if self.running and now - last["time"] < wait:
                base = last["base"]  # not yet: the view stays where it was last drawn
            else:
                last = None
        elif last is not None and last["model"] is not m:
            last = None
        points = drawn["slice_points"]
        if last is None:
            start = time.perf_counter()
            exact: Dict[Tuple[str, int], Optional[np.ndarray]] = {}
            for par in problem.params:
                value = base[par.name]
                lo, hi = par.bounds
                for side in (-1, 1):
                    v = value + side * _delta(value)
                    exact[(par.name, side)] = None
                    if (lo is not None and v <= lo) or (hi is not None and v >= hi):
                        continue  # outside the parameter's (open) bounds: not drawn
                    try:
                        exact[(par.name, side)] = problem.exact(points, {**base, par.name: v})
                    except (InputError, ValueError, FloatingPointError, OverflowError):
                        pass  # no exact solution there
            last = {"model": m, "base": base, "exact": exact, "time": now, "cost": time.perf_counter() - start}
            self._variation_at[id(m)] = last
        out: List[Dict[str, Any]] = []
        for name, value in base.items():
            delta = _delta(value)
            sides: List[Dict[str, Any]] = []
            for side in (-1, 1):
                v = value + side * delta
                u = predict_at(m, points, {**base, name: v})
                ex = last["exact"][(name, side)]
                if u is None:
                    continue  # outside the parameter's bounds
                # A system: the largest gap over its fields.
                gap = float(np.max(np.abs(u - ex))) if ex is not None else None
                sides.append(
                    {
                        "value": float(v),
                        "u": by_field(u),
                        "exact": None if ex is None else by_field(ex),
                        "gap": gap if gap is not None and np.isfinite(gap) else None,
                    }
                )
            out.append({"name": name, "value": float(value), "delta": float(delta), "sides": sides})
        return out

    def _loop(self) -> None:
        next_frame = time.monotonic()
        last_publish = 0.0
        dirty = False
        while True:
            busy = self.running or self.pending_frames > 0
            wait = max(0.0, next_frame - time.monotonic()) if busy else 0.25
            try:
                item = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
            except queue.Empty:
                item = None
            if item is None and self.closed:
                return
            if item is not None:
                fn, fut = item
                try:
                    result = fn()
                except BaseException as exc:  # handed to the request thread, which answers 400/500
                    fut.set_exception(exc)
                else:
                    # Publish before answering: a request that follows sees the command's effect.
                    self._publish_safely()
                    last_publish = time.monotonic()
                    fut.set_result(result)
                continue
            now = time.monotonic()
            if self.running and now - self.last_seen > self.heartbeat_timeout:
                self.running = False
                self.notice = {"info": f"paused: no word from the page for {self.heartbeat_timeout:g} s"}
                self._publish_safely()
                last_publish = now
            if (self.running or self.pending_frames > 0) and now >= next_frame:
                next_frame = now + FRAME_S
                single = self.pending_frames > 0 and not self.running
                try:
                    # A single step (button) does all its steps; playing keeps frames short.
                    done = self._train_frame(None if single else FRAME_BUDGET_S)
                    if single and done:
                        self.pending_frames -= 1
                except Exception as exc:  # keep the session alive and say what happened
                    self._stop({"error": f"training stopped: {exc}"})
                dirty = True
            # Snapshots read the whole history: publish less often when that gets slow.
            if dirty and (not self.running or time.monotonic() - last_publish >= max(SNAPSHOT_S, 4 * self._publish_s)):
                self._publish_safely()
                last_publish = time.monotonic()
                dirty = False

    def _publish_safely(self) -> None:
        try:
            self._publish()
        except Exception as exc:
            self.notice = {"error": f"cannot draw the state: {exc}"}
            self._version += 1
            body = {"version": self._version, "running": False, "notice": self.notice}
            self._published = (self._version, json.dumps(body).encode())


def _off_boundary(model: Model) -> bool:
    """Whether no residual point of ``model`` lies on its domain's boundary."""
    pts = model.collocation
    for j, c in enumerate(model.problem.coords):
        lo, hi = model.problem.domain[c]
        if np.any(np.isclose(pts[:, j], lo)) or np.any(np.isclose(pts[:, j], hi)):
            return False
    return True


def _data_view(problem: Problem, observations: Sequence[Data]) -> Dict[str, Any]:
    """The data points to draw: ``t`` (and ``y`` in two coordinates) and ``u``; for a system, one
    list per field of the observations of that field (observations of other quantities, such as
    an integral of S + I + R, are not drawn)."""
    if len(problem.fields) == 1:
        d = observations[0]
        out: Dict[str, Any] = {"t": d.points[:, 0].tolist(), "u": d.values.tolist()}
        if len(problem.coords) > 1:
            out["y"] = d.points[:, 1].tolist()
        return out
    t: List[List[float]] = []
    u: List[List[float]] = []
    for f in problem.fields:
        mine = [d for d in observations if d.of == f and not d.integral]
        t.append([x for d in mine for x in d.points[:, 0].tolist()])
        u.append([x for d in mine for x in d.values.tolist()])
    return {"t": t, "u": u}


def by_field(v: np.ndarray) -> Any:
    """Values at the drawn points as JSON: a list for one field ((n,) values), one list per field
    for a system ((n, n_fields) values)."""
    a = np.asarray(v, dtype=np.float64)
    return _floats(a) if a.ndim == 1 else [_floats(col) for col in a.T]


def _floats(v: np.ndarray) -> List[Optional[float]]:
    """JSON-able floats (None where not finite), 8 significant digits."""
    return [float(f"{x:.8g}") if np.isfinite(x) else None for x in np.asarray(v, dtype=np.float64).tolist()]


def _delta(value: float) -> float:
    """The local-operator view's step: VARIATION_FRACTION of |value| (of 1 near zero)."""
    return VARIATION_FRACTION * (abs(value) if abs(value) > 1e-3 else 1.0)


def lr_decay(step: int, half_life: int) -> float:
    """The playground's learning-rate factor at a model's global step: halves every
    ``half_life`` steps down to LR_FLOOR (half_life 0: 1)."""
    if half_life <= 0:
        return 1.0
    return max(0.5 ** (step / half_life), LR_FLOOR)
