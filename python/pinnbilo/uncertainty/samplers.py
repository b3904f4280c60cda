"""What the gradient-based samplers share: the target wrapper, leapfrog, step-size and mass
adaptation, and the driver that runs chains one after another with checkpoints, resume and
Ctrl-C.

Warm-up (as in Stan; Hoffman & Gelman, JMLR 15 (2014) 1593, and the Stan reference manual):

* Step size: dual averaging towards ``target_accept`` over the whole warm-up (gamma 0.05,
  t0 10, kappa 0.75), restarted at mu = log(10 eps) after every mass update from a step size
  found by doubling/halving until one step's acceptance crosses 0.8. After warm-up the step
  size is the dual-averaged one, exp(log eps bar).
* Mass: the diagonal of the inverse mass matrix is the variance of the draws of a slow window
  (75 iterations of initial buffer, windows of 25, 50, 100, ... the last stretched to end 50
  iterations before warm-up ends; 15% / 10% / the rest when the warm-up is shorter than 150),
  shrunk as in Stan, (n var + 5 eps_reg) / (n + 5), with eps_reg 1e-3 times the median
  variance (Stan: 1e-3), so that the shrinkage does not depend on the units. A window in which
  the chain hardly moved (fewer than 5 distinct draws, or under 10% of them) keeps the previous
  scales. Warm-ups under 20 iterations adapt the step size only. The dual-averaged step size
  tends to give a mean acceptance after warm-up above ``target_accept`` on well-conditioned
  targets (about 0.95 for 0.8 on a 2-D Gaussian, as in Stan): the average is taken in log eps
  over iterates that straddle the stability limit.
* Path length (HMC): after each mass update, the integration time is T = (pi/2) sqrt(lambda),
  lambda the largest eigenvalue of the window's correlation matrix in the mass-scaled
  coordinates (power iteration), divided by the Marchenko-Pastur inflation (1 + sqrt(D/n))^2
  of a window of n draws in D dimensions and clipped to [1, D]. A quarter period of the
  widest direction of a Gaussian takes an independent draw along it. Before the first update
  (and without mass adaptation) T = pi/2. Each trajectory takes round(u T / eps) leapfrog
  steps, u uniform in [0.5, 1.5] (the jitter avoids resonant, periodic trajectories), between
  1 and ``max_leapfrog``.

Overflow and invalid-value warnings of numpy inside a trajectory (the target's too) are silenced:
a trajectory that blows up is counted as a divergence instead.

Chains run sequentially in the calling thread, each with its own ``numpy.random.Generator``
spawned from ``SeedSequence(seed)``: equal seeds give bit-identical draws, and a chain's draws
do not depend on the other chains.
"""

from __future__ import annotations

import hashlib
import math
import numbers
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Protocol, Sequence, Tuple, Union

import numpy as np

from .. import _validation as V
from ..errors import InputError
from .chains import Chains, read_npz, write_npz

LogpAndGrad = Callable[[np.ndarray], Tuple[float, np.ndarray]]
Hook = Callable[[np.ndarray], Optional[Tuple[float, np.ndarray]]]
Record = Callable[[np.ndarray], np.ndarray]

# Dual averaging constants (Hoffman & Gelman 2014, section 3.2).
DA_GAMMA, DA_T0, DA_KAPPA = 0.05, 10.0, 0.75
MAX_ENERGY_ERROR = 1000.0  # a trajectory whose energy grows by more is divergent (as in Stan)
INIT_BUFFER, TERM_BUFFER, BASE_WINDOW = 75, 50, 25
LOG_EPS_RANGE = (-40.0, 20.0)  # step sizes are kept within exp of these, so no overflow


# -- the target ------------------------------------------------------------------------------
@dataclass
class Point:
    """A state of the chain: position, log density and its gradient."""

    x: np.ndarray
    logp: float
    grad: np.ndarray


def check_output(out: object, dim: int, name: str) -> Tuple[float, np.ndarray]:
    """(logp, grad) from what ``name`` returned, or InputError: a pair of a real number and an
    array of shape (dim,). The values may be non-finite (the caller decides)."""
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise InputError(f"{name} must return a pair (logp, grad), got {V._show(out)}")
    logp, grad = out
    if isinstance(logp, np.ndarray) and logp.size == 1:
        logp = logp.reshape(()).item()
    if isinstance(logp, bool) or not isinstance(logp, numbers.Real):
        raise InputError(f"{name} must return logp as a real number, got {V._show(logp)} ({type(logp).__name__})")
    try:
        g = np.asarray(grad, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"{name} must return grad as an array of numbers, got {V._show(grad)}") from None
    if g.shape != (dim,):
        raise InputError(f"{name} must return grad of shape ({dim},) (one entry per coordinate of x), got {g.shape}")
    return float(logp), g


class Target:
    """``logp_and_grad`` with its output checked and non-finite results turned into a flag.

    A position that is not finite is not evaluated; FloatingPointError, OverflowError and
    ZeroDivisionError from the target count as non-finite. Any other exception propagates.
    """

    def __init__(self, fn: LogpAndGrad, dim: int, name: str = "logp_and_grad") -> None:
        self.fn, self.dim, self.name = fn, dim, name
        self.evals = 0

    def __call__(self, x: np.ndarray) -> Optional[Point]:
        """The point at x, or None where the density or gradient is not finite."""
        if not np.isfinite(x).all():
            return None
        self.evals += 1
        try:
            out = self.fn(x.copy())  # a copy: the target may not change the sampler's state
        except (FloatingPointError, OverflowError, ZeroDivisionError):
            return None
        # The common case checked in a few operations: the sampler calls this in its inner loop.
        if (
            type(out) is tuple
            and len(out) == 2
            and type(out[1]) is np.ndarray
            and out[1].shape == (self.dim,)
            and out[1].dtype == np.float64
            and isinstance(out[0], (float, np.floating))
        ):
            logp, grad = float(out[0]), out[1].copy()
        else:
            logp, grad = check_output(out, self.dim, self.name)
        if not (math.isfinite(logp) and np.isfinite(grad).all()):
            return None
        return Point(x, logp, grad)


def kinetic(p: np.ndarray, inv_mass: np.ndarray) -> float:
    """Kinetic energy p^T M^-1 p / 2 of momentum p with the diagonal inverse mass inv_mass."""
    return 0.5 * float(np.dot(p * inv_mass, p))


def leapfrog(
    target: Target, start: Point, p: np.ndarray, eps: float, inv_mass: np.ndarray, n_steps: int
) -> Tuple[Optional[Point], np.ndarray]:
    """``n_steps`` leapfrog steps of size eps from (start, p); (None, p) on a non-finite value.

    A target whose function has a ``native_leapfrog(x, grad, p, eps, inv_mass, n_steps)``
    (BiLO-HMC's, run in the core) integrates there, step for step the same arithmetic; it returns
    (x, p, logp, grad, steps taken, finite)."""
    native = getattr(target.fn, "native_leapfrog", None)
    if native is not None:
        x, q, logp, grad, steps, finite = native(start.x, start.grad, p, eps, inv_mass, n_steps)
        target.evals += int(steps)
        if not finite:
            return None, q
        return Point(x, float(logp), grad), q
    pt: Optional[Point] = start
    p = p + 0.5 * eps * start.grad
    for k in range(n_steps):
        assert pt is not None
        pt = target(pt.x + eps * inv_mass * p)
        if pt is None:
            return None, p
        p = p + (eps if k < n_steps - 1 else 0.5 * eps) * pt.grad
    return pt, p


def _rng_state(rng: np.random.Generator) -> Dict[str, Any]:
    """The generator's state as a plain dict (JSON-ready: PCG64's are Python ints)."""
    return dict(rng.bit_generator.state)


def spawn_generators(seed: int, n: int) -> List[np.random.Generator]:
    """One independent generator per chain, spawned from ``SeedSequence(seed)``."""
    return [np.random.Generator(np.random.PCG64(s)) for s in np.random.SeedSequence(seed).spawn(n)]


def find_step_size(target: Target, point: Point, rng: np.random.Generator, eps: float, inv_mass: np.ndarray) -> float:
    """A starting step size (Stan's heuristic): double or halve eps until the acceptance
    probability of one leapfrog step crosses 0.8 (at most 50 times)."""
    p = rng.standard_normal(point.x.size) / np.sqrt(inv_mass)
    h0 = -point.logp + kinetic(p, inv_mass)

    def delta(e: float) -> float:
        end, q = leapfrog(target, point, p, e, inv_mass, 1)
        if end is None:
            return -math.inf
        h = -end.logp + kinetic(q, inv_mass)
        return h0 - h if math.isfinite(h) else -math.inf

    up = delta(eps) > math.log(0.8)
    for _ in range(50):
        trial = eps * 2.0 if up else eps * 0.5
        if not math.exp(LOG_EPS_RANGE[0]) <= trial <= math.exp(LOG_EPS_RANGE[1]):
            break
        d = delta(trial)
        if up and not d > math.log(0.8):
            break
        eps = trial
        if not up and not d < math.log(0.8):
            break
    return eps


# -- adaptation --------------------------------------------------------------------------------
def slow_windows(n_warmup: int) -> List[Tuple[int, int]]:
    """Stan's mass-adaptation windows [start, end) of a warm-up of n_warmup iterations."""
    if n_warmup < 20:
        return []
    init, term, base = INIT_BUFFER, TERM_BUFFER, BASE_WINDOW
    if init + term + base > n_warmup:
        init, term = int(0.15 * n_warmup), int(0.1 * n_warmup)
        base = n_warmup - init - term
    end_slow = n_warmup - term
    out, start, size = [], init, base
    while start < end_slow:
        end = start + size
        if end + 2 * size > end_slow:
            end = end_slow
        out.append((start, end))
        start, size = end, 2 * size
    return out


def window_variance(draws: np.ndarray) -> np.ndarray:
    """Regularised variance of a window's draws (n, D), as the inverse mass diagonal."""
    n = draws.shape[0]
    var = draws.var(axis=0, ddof=1) if n > 1 else np.ones(draws.shape[1])
    floor = float(np.median(var))
    floor = 1e-3 * (floor if floor > 0 else 1.0)
    return (n * var + 5.0 * floor) / (n + 5.0)


def moved(draws: np.ndarray) -> bool:
    """Whether a window's chain moved enough (at least 5 distinct draws and 10% of them) for
    its variance to measure the scales; a chain that is stuck (every move rejected, e.g. at a
    step size far too large) would otherwise shrink the mass towards zero."""
    distinct = np.unique(draws, axis=0).shape[0]
    return distinct >= max(5, 0.1 * draws.shape[0])


def path_length_from(draws: np.ndarray, inv_mass: np.ndarray) -> float:
    """Integration time (pi/2) sqrt(lambda) from a window's draws (see the module notes)."""
    n, d = draws.shape
    if n < 3:
        return math.pi / 2
    z = (draws - draws.mean(axis=0)) / np.sqrt(inv_mass)
    v = np.ones(d) / math.sqrt(d)  # a fixed start: the estimate uses no random numbers
    lam = 1.0
    for _ in range(100):
        w = z.T @ (z @ v) / (n - 1)
        norm = float(np.linalg.norm(w))
        if not norm > 0:
            break
        v, previous, lam = w / norm, lam, norm
        if abs(lam - previous) <= 1e-6 * lam:
            break
    lam /= (1.0 + math.sqrt(d / n)) ** 2
    return math.pi / 2 * math.sqrt(min(max(lam, 1.0), float(d)))


@dataclass
class Adaptation:
    """One chain's tuning: step size with its dual-averaging state, inverse mass diagonal, the
    current slow window's draws, and the integration time."""

    eps: float
    inv_mass: np.ndarray
    path_length: float
    mu: float = 0.0
    log_eps_bar: float = 0.0
    h_bar: float = 0.0
    count: int = 0
    buffer: List[np.ndarray] = field(default_factory=list)

    def restart(self, eps: float) -> None:
        self.eps, self.mu, self.log_eps_bar, self.h_bar, self.count = eps, math.log(10 * eps), 0.0, 0.0, 0

    def update(self, accept_prob: float, target_accept: float) -> None:
        """One dual-averaging step with this iteration's acceptance probability."""
        self.count += 1
        eta = 1.0 / (self.count + DA_T0)
        self.h_bar = (1 - eta) * self.h_bar + eta * (target_accept - accept_prob)
        log_eps = self.mu - math.sqrt(self.count) / DA_GAMMA * self.h_bar
        log_eps = min(max(log_eps, LOG_EPS_RANGE[0]), LOG_EPS_RANGE[1])
        w = self.count**-DA_KAPPA
        self.log_eps_bar = w * log_eps + (1 - w) * self.log_eps_bar
        self.eps = math.exp(log_eps)

    def meta(self) -> Dict[str, float]:
        return {
            "eps": self.eps,
            "path_length": self.path_length,
            "mu": self.mu,
            "log_eps_bar": self.log_eps_bar,
            "h_bar": self.h_bar,
            "count": self.count,
        }


# -- kernels -------------------------------------------------------------------------------------
@dataclass
class Step:
    """What one transition did."""

    point: Point
    accept_prob: float
    accepted: bool
    divergent: bool


class Kernel(Protocol):
    """A Metropolis-adjusted transition that reads the step size and the inverse mass."""

    name: str
    uses_path_length: bool

    def transition(
        self, target: Target, point: Point, rng: np.random.Generator, eps: float, inv_mass: np.ndarray, n_steps: int
    ) -> Step: ...


# -- settings --------------------------------------------------------------------------------------
@dataclass
class Settings:
    """A run's checked arguments."""

    method: str
    fn: LogpAndGrad
    x0: np.ndarray  # (chains, D)
    n_samples: int
    n_warmup: int
    seed: int
    step_size: Optional[float]
    target_accept: float
    path_length: Optional[float]
    mass: Union[str, np.ndarray]
    after_accept: Optional[Hook]
    checkpoint: Optional[str]
    checkpoint_every: int
    progress: bool
    record: Optional[Record]
    names: Optional[List[str]]
    max_leapfrog: int
    k: int = 0  # recorded values per draw (set once record is checked)
    extra: Dict[str, Any] = field(default_factory=dict)  # more of the target's settings to match on resume

    @property
    def chains(self) -> int:
        return int(self.x0.shape[0])

    @property
    def dim(self) -> int:
        return int(self.x0.shape[1])

    def fingerprint(self) -> Dict[str, Any]:
        """What a checkpoint must agree on to be resumed."""
        mass = self.mass if isinstance(self.mass, str) else _digest(self.mass)
        return {
            "method": self.method,
            "n_samples": self.n_samples,
            "n_warmup": self.n_warmup,
            "chains": self.chains,
            "dim": self.dim,
            "k": self.k,
            "seed": self.seed,
            "step_size": self.step_size,
            "target_accept": self.target_accept,
            "path_length": self.path_length,
            "mass": mass,
            "max_leapfrog": self.max_leapfrog,
            "x0": _digest(self.x0),
            "names": self.names,
            **{f"target {k}": v for k, v in self.extra.items()},
        }


def _digest(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a, dtype=np.float64).tobytes()).hexdigest()[:32]


def check_settings(
    method: str,
    logp_and_grad: object,
    x0: object,
    n_samples: object,
    *,
    n_warmup: object,
    chains: object,
    seed: object,
    step_size: object,
    target_accept: object,
    path_length: object,
    mass: object,
    after_accept: object,
    checkpoint: object,
    checkpoint_every: object,
    progress: object,
    record: object,
    names: object,
    max_leapfrog: object,
) -> Settings:
    """Every argument of ``hmc``/``mala`` checked, each failure an InputError naming it."""
    if not callable(logp_and_grad):
        raise InputError(f"logp_and_grad must be a callable x -> (logp, grad), got {V._show(logp_and_grad)}")
    start = V.array(x0, "x0", shape_hint="(d,) one start for every chain, or (chains, d)")
    if start.ndim not in (1, 2) or start.size == 0:
        raise InputError(f"x0 must be shaped (d,) or (chains, d) with d >= 1, got {start.shape}")
    if chains is None:
        n_chains = start.shape[0] if start.ndim == 2 else 4
    else:
        n_chains = V.integer(chains, "chains", minimum=1, maximum=10_000)
    if start.ndim == 2 and start.shape[0] != n_chains:
        raise InputError(f"x0 has {start.shape[0]} rows (one start per chain) but chains={n_chains}")
    start = np.tile(start, (n_chains, 1)) if start.ndim == 1 else start
    ns = V.integer(n_samples, "n_samples", minimum=1)
    nw = V.integer(n_warmup, "n_warmup", minimum=0)
    eps = None if step_size is None else V.real(step_size, "step_size", positive=True)
    ta = V.real(target_accept, "target_accept")
    if not 0 < ta < 1:
        raise InputError(f"target_accept must be strictly between 0 and 1, got {ta}")
    pl = None if path_length is None else V.real(path_length, "path_length", positive=True)
    d = start.shape[1]
    if isinstance(mass, str):
        m: Union[str, np.ndarray] = V.choice(mass, "mass", ("diag", "unit"))
    else:
        m = V.array(mass, "mass", shape=(d,), shape_hint="the diagonal of the inverse mass matrix, one per coordinate")
        if not np.all(m > 0):
            raise InputError("mass: every entry of the inverse mass diagonal must be positive")
    if after_accept is not None and not callable(after_accept):
        raise InputError(
            f"after_accept must be None or a callable x -> (logp, grad) or None, got {V._show(after_accept)}"
        )
    if record is not None and not callable(record):
        raise InputError(f"record must be None or a callable x -> array of values, got {V._show(record)}")
    if checkpoint is not None and not isinstance(checkpoint, (str, os.PathLike)):
        raise InputError(f"checkpoint must be None or a file name, got {V._show(checkpoint)}")
    every = V.integer(checkpoint_every, "checkpoint_every", minimum=1)
    prog = V.flag(progress, "progress")
    ml = V.integer(max_leapfrog, "max_leapfrog", minimum=1, maximum=1_000_000)
    if names is not None:
        if isinstance(names, str) or not isinstance(names, Sequence) or not all(isinstance(n, str) for n in names):
            raise InputError(f"names must be None or a list of strings, got {V._show(names)}")
        names = list(names)
    V.size_request(float(n_chains) * ns * d, "chains * n_samples * d")
    return Settings(
        method=method,
        fn=logp_and_grad,  # type: ignore[arg-type]  # checked callable above
        x0=start,
        n_samples=ns,
        n_warmup=nw,
        seed=V.seed(seed),
        step_size=eps,
        target_accept=ta,
        path_length=pl,
        mass=m,
        after_accept=after_accept,  # type: ignore[arg-type]
        checkpoint=None if checkpoint is None else os.fspath(checkpoint),  # type: ignore[arg-type]
        checkpoint_every=every,
        progress=prog,
        record=record,  # type: ignore[arg-type]
        names=names,  # type: ignore[arg-type]
        max_leapfrog=ml,
    )


# -- the run ---------------------------------------------------------------------------------------
@dataclass
class Live:
    """The chain being sampled: its iteration, state, generator state and tuning."""

    iteration: int
    point: Point
    rng_state: Dict[str, Any]
    adapt: Adaptation


@dataclass
class Run:
    """Everything a run has done so far: what a checkpoint holds."""

    fingerprint: Dict[str, Any]
    samples: np.ndarray  # (C, N, k)
    logp: np.ndarray
    accepted: np.ndarray
    divergent: np.ndarray
    step_size: np.ndarray  # (C,)
    mass: np.ndarray  # (C, D)
    n_leapfrog: np.ndarray
    grad_evals: np.ndarray
    warm_accept: np.ndarray  # (C,) sum of acceptance probabilities in warm-up
    warm_divergent: np.ndarray  # (C,)
    path_length: np.ndarray  # (C,)
    chain: int = 0  # the chain being sampled; == C when all are done
    live: Optional[Live] = None
    wall_time: float = 0.0

    @classmethod
    def empty(cls, s: Settings) -> "Run":
        c, n, k, d = s.chains, s.n_samples, s.k, s.dim
        return cls(
            fingerprint=s.fingerprint(),
            samples=np.zeros((c, n, k)),
            logp=np.zeros((c, n)),
            accepted=np.zeros((c, n), dtype=bool),
            divergent=np.zeros((c, n), dtype=bool),
            step_size=np.full(c, math.nan),
            mass=np.full((c, d), math.nan),
            n_leapfrog=np.zeros(c, dtype=np.int64),
            grad_evals=np.zeros(c, dtype=np.int64),
            warm_accept=np.zeros(c),
            warm_divergent=np.zeros(c, dtype=np.int64),
            path_length=np.full(c, math.nan),
        )

    # -- files ---------------------------------------------------------------------------------
    def arrays(self) -> Dict[str, np.ndarray]:
        out = {
            key: getattr(self, key)
            for key in (
                "samples",
                "logp",
                "accepted",
                "divergent",
                "step_size",
                "mass",
                "n_leapfrog",
                "grad_evals",
                "warm_accept",
                "warm_divergent",
                "path_length",
            )
        }
        if self.live is not None:
            lv = self.live
            out["live_x"], out["live_grad"], out["live_inv_mass"] = lv.point.x, lv.point.grad, lv.adapt.inv_mass
            d = self.mass.shape[1]
            out["live_buffer"] = np.array(lv.adapt.buffer).reshape(-1, d) if lv.adapt.buffer else np.zeros((0, d))
        return out

    def meta(self) -> Dict[str, Any]:
        live = None
        if self.live is not None:
            lv = self.live
            live = {"iteration": lv.iteration, "logp": lv.point.logp, "rng": lv.rng_state, "adapt": lv.adapt.meta()}
        return {
            "format": "pinnbilo-chains",
            "version": 1,
            "checkpoint": True,
            "fingerprint": self.fingerprint,
            "chain": self.chain,
            "live": live,
            "wall_time": self.wall_time,
        }

    def save(self, path: str) -> None:
        write_npz(path, self.arrays(), self.meta())

    @classmethod
    def from_file(cls, arrays: Dict[str, np.ndarray], meta: Dict[str, Any], where: str) -> "Run":
        """A run from a checkpoint's arrays, its shapes checked against its fingerprint."""
        fp = meta.get("fingerprint")
        if not isinstance(fp, dict):
            raise InputError(f"{where}: the checkpoint has no settings record")
        try:
            c, n, k, d = (int(fp[key]) for key in ("chains", "n_samples", "k", "dim"))
            shapes = {
                "samples": (c, n, k),
                "logp": (c, n),
                "accepted": (c, n),
                "divergent": (c, n),
                "step_size": (c,),
                "mass": (c, d),
                "n_leapfrog": (c,),
                "grad_evals": (c,),
                "warm_accept": (c,),
                "warm_divergent": (c,),
                "path_length": (c,),
            }
            for key, shape in shapes.items():
                if key not in arrays or arrays[key].shape != shape or arrays[key].dtype.kind not in "biuf":
                    raise InputError(f"{where}: checkpoint array '{key}' is missing or not numeric of shape {shape}")
            arr = arrays
            run = cls(
                fingerprint=fp,
                samples=arr["samples"].astype(np.float64),
                logp=arr["logp"].astype(np.float64),
                accepted=arr["accepted"].astype(bool),
                divergent=arr["divergent"].astype(bool),
                step_size=arr["step_size"].astype(np.float64),
                mass=arr["mass"].astype(np.float64),
                n_leapfrog=arr["n_leapfrog"].astype(np.int64),
                grad_evals=arr["grad_evals"].astype(np.int64),
                warm_accept=arr["warm_accept"].astype(np.float64),
                warm_divergent=arr["warm_divergent"].astype(np.int64),
                path_length=arr["path_length"].astype(np.float64),
            )
            run.chain = V.integer(meta.get("chain"), "checkpoint chain", minimum=0, maximum=c)
            run.wall_time = V.real(meta.get("wall_time"), "checkpoint wall_time", nonnegative=True)
            live = meta.get("live")
            if live is not None:
                a = live["adapt"]
                x = V.array(arrays["live_x"], "checkpoint x", shape=(d,))
                grad = V.array(arrays["live_grad"], "checkpoint grad", shape=(d,))
                inv_mass = V.array(arrays["live_inv_mass"], "checkpoint inverse mass", shape=(d,))
                buffer = V.array(arrays["live_buffer"], "checkpoint window", shape=(None, d))
                adapt = Adaptation(
                    eps=float(a["eps"]),
                    inv_mass=inv_mass,
                    path_length=float(a["path_length"]),
                    mu=float(a["mu"]),
                    log_eps_bar=float(a["log_eps_bar"]),
                    h_bar=float(a["h_bar"]),
                    count=int(a["count"]),
                    buffer=list(buffer),
                )
                it = V.integer(live["iteration"], "checkpoint iteration", minimum=0)
                run.live = Live(it, Point(x, float(live["logp"]), grad), dict(live["rng"]), adapt)
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, InputError):
                raise
            raise InputError(f"{where}: the checkpoint's sampler state is incomplete or malformed ({exc!r})") from None
        return run

    # -- results -------------------------------------------------------------------------------
    def chains(self, s_names: Optional[List[str]], complete: bool) -> Chains:
        """The Chains so far: every finished chain; when none has finished, the draws of the
        chain being sampled."""
        fp = self.fingerprint
        n_warmup = int(fp["n_warmup"])
        done = self.chain
        if done > 0:
            rows, n = slice(0, done), self.samples.shape[1]
        else:
            it = self.live.iteration if self.live is not None else 0
            rows, n = slice(0, 1), max(0, it - n_warmup)
        step_size, mass = self.step_size[rows].copy(), self.mass[rows].copy()
        if done == 0 and self.live is not None:
            step_size[0], mass[0] = self.live.adapt.eps, self.live.adapt.inv_mass
        n_rows = done if done > 0 else 1
        warm_iters = min(n_warmup, self.live.iteration) if done == 0 and self.live is not None else n_warmup
        warmup = {
            "n_warmup": n_warmup,
            "accept_rate": (self.warm_accept[rows] / max(warm_iters, 1)).tolist(),
            "divergences": self.warm_divergent[rows].tolist(),
            "path_length": self.path_length[rows].tolist(),
        }
        return Chains(
            samples=self.samples[rows, :n].copy(),
            logp=self.logp[rows, :n].copy(),
            accepted=self.accepted[rows, :n].copy(),
            divergent=self.divergent[rows, :n].copy(),
            step_size=step_size,
            mass=mass,
            n_leapfrog=self.n_leapfrog[rows].copy(),
            grad_evals=self.grad_evals[rows].copy(),
            names=s_names,
            method=str(fp["method"]),
            seed=int(fp["seed"]),
            warmup=warmup,
            wall_time=self.wall_time,
            status="completed" if complete and n_rows == self.samples.shape[0] else "interrupted",
        )


def chains_from_checkpoint(arrays: Dict[str, np.ndarray], meta: Dict[str, Any], where: str) -> Chains:
    """The Chains so far of a sampler checkpoint (see :meth:`Chains.load`)."""
    run = Run.from_file(arrays, meta, where)
    names = run.fingerprint.get("names")
    return run.chains(names if isinstance(names, list) else None, run.chain == run.samples.shape[0])


# -- the driver ------------------------------------------------------------------------------------
def _hook_point(s: Settings, x: np.ndarray, current: Point) -> Point:
    """The state after ``after_accept`` at x (its values replace the current ones)."""
    if s.after_accept is None:
        return current
    out = s.after_accept(x.copy())
    if out is None:
        return current
    logp, grad = check_output(out, s.dim, "after_accept")
    if not (math.isfinite(logp) and np.all(np.isfinite(grad))):
        raise InputError(
            f"after_accept returned a non-finite logp or gradient (logp = {logp}); it must return the target at x"
        )
    return Point(x, logp, grad)


def _recorded(s: Settings, x: np.ndarray) -> np.ndarray:
    if s.record is None:
        return x
    try:
        out = np.asarray(s.record(x.copy()), dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise InputError(f"record must return an array of numbers: {exc}") from None
    if out.shape != (s.k,):
        raise InputError(f"record returned {out.size} values, earlier {s.k}: it must return a fixed number")
    return out


def _check_record(s: Settings) -> None:
    """Fix k (values per draw) from record at the first start; check names against it."""
    if s.record is None:
        s.k = s.dim
    else:
        try:
            out = np.asarray(s.record(s.x0[0].copy()), dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise InputError(f"record must return an array of numbers: {exc}") from None
        if out.size == 0:
            raise InputError("record must return at least one value")
        s.k = out.size
    if s.names is not None and len(s.names) != s.k:
        raise InputError(f"names has {len(s.names)} entries but each draw has {s.k} values")


def _start_chain(s: Settings, target: Target, c: int, rng: np.random.Generator) -> Live:
    """The first state of chain c: the density at its start, the hook, the initial tuning."""
    x = s.x0[c].copy()
    pt = target(x)
    if pt is None:
        raise InputError(
            f"x0: logp_and_grad is not finite at the start of chain {c} ({V._show(x)}); start where the density "
            "and its gradient are finite"
        )
    pt = _hook_point(s, x, pt)
    inv_mass = np.ones(s.dim) if isinstance(s.mass, str) else s.mass.copy()
    with np.errstate(over="ignore", invalid="ignore"):
        eps = s.step_size if s.step_size is not None else find_step_size(target, pt, rng, 1.0, inv_mass)
    adapt = Adaptation(eps=eps, inv_mass=inv_mass, path_length=s.path_length or math.pi / 2)
    adapt.restart(eps)
    return Live(0, pt, _rng_state(rng), adapt)


def _n_steps(kernel: Kernel, s: Settings, adapt: Adaptation, rng: np.random.Generator) -> int:
    if not kernel.uses_path_length:
        return 1
    u = rng.uniform(0.5, 1.5)
    return int(min(max(round(u * adapt.path_length / adapt.eps), 1), s.max_leapfrog))


def _nominal_steps(kernel: Kernel, s: Settings, adapt: Adaptation) -> int:
    if not kernel.uses_path_length:
        return 1
    return int(min(max(math.ceil(adapt.path_length / adapt.eps), 1), s.max_leapfrog))


def _open_run(s: Settings) -> Run:
    """A new run, or the one in ``s.checkpoint`` when it exists with the same settings."""
    if s.checkpoint is None or not os.path.exists(s.checkpoint):
        return Run.empty(s)
    arrays, meta = read_npz(s.checkpoint)
    if not meta.get("checkpoint"):
        raise InputError(
            f"checkpoint: {s.checkpoint} holds finished chains (Chains.save), not a sampler checkpoint; "
            "load it with Chains.load or choose another file"
        )
    run = Run.from_file(arrays, meta, s.checkpoint)
    want = s.fingerprint()
    if run.fingerprint != want:
        differ = sorted(k for k in set(want) | set(run.fingerprint) if want.get(k) != run.fingerprint.get(k))
        raise InputError(
            f"checkpoint: {s.checkpoint} was written by a run with other settings ({', '.join(differ)} differ); "
            "delete it to start afresh or pass another file"
        )
    return run


def sample(kernel: Kernel, s: Settings) -> Chains:
    """Run every chain of ``s`` with ``kernel`` (see :func:`~pinnbilo.uncertainty.hmc`)."""
    _check_record(s)
    run = _open_run(s)
    n_total = s.n_warmup + s.n_samples
    windows = [] if not isinstance(s.mass, str) or s.mass != "diag" else slow_windows(s.n_warmup)
    window_ends = {end - 1: start for start, end in windows}
    adapt_step = s.step_size is None
    bar = _progress(s.chains * n_total, kernel.name, s.progress)
    bar.update(run.chain * n_total + (run.live.iteration if run.live else 0))
    t0 = time.perf_counter()
    wall0 = run.wall_time
    since_save = 0
    gens = spawn_generators(s.seed, s.chains)
    resumed = run.live is not None
    rng = gens[min(run.chain, s.chains - 1)]
    snapshot: Optional[Dict[str, Any]] = None
    target = Target(s.fn, s.dim)

    def save(live_state: Optional[Dict[str, Any]] = None) -> None:
        run.wall_time = wall0 + time.perf_counter() - t0
        if s.checkpoint is not None:
            if live_state is not None and run.live is not None:
                run.live.rng_state = live_state
            run.save(s.checkpoint)

    try:
        while run.chain < s.chains:
            c = run.chain
            rng = gens[c]
            target.evals = 0
            if run.live is None:
                snapshot = _rng_state(rng)
                run.live = _start_chain(s, target, c, rng)
            else:
                rng.bit_generator.state = run.live.rng_state
                if resumed:
                    run.live.point = _hook_point(s, run.live.point.x, run.live.point)
                    resumed = False
            live = run.live
            a = live.adapt
            while live.iteration < n_total:
                i = live.iteration
                snapshot = _rng_state(rng)
                n_steps = _n_steps(kernel, s, a, rng)
                with np.errstate(over="ignore", invalid="ignore"):  # a blow-up is reported as a divergence
                    step = kernel.transition(target, live.point, rng, a.eps, a.inv_mass, n_steps)
                new = step.point
                if step.accepted:
                    new = _hook_point(s, new.x, new)
                warm = i < s.n_warmup
                value = None if warm else _recorded(s, new.x)
                # A window's last iteration: new scales, integration time and starting step size,
                # all worked out before anything is committed (so Ctrl-C leaves a consistent state).
                end_of_window = warm and i in window_ends
                if end_of_window:
                    draws = np.array([*a.buffer, new.x])
                    if moved(draws):
                        inv_mass = window_variance(draws)
                        length = s.path_length or path_length_from(draws, inv_mass)
                    else:  # a stuck window says nothing about the scales: keep the old ones
                        inv_mass, length = a.inv_mass, a.path_length
                    with np.errstate(over="ignore", invalid="ignore"):
                        eps = find_step_size(target, new, rng, a.eps, inv_mass) if adapt_step else a.eps
                # -- commit
                live.point = new
                if warm:
                    run.warm_accept[c] += step.accept_prob
                    run.warm_divergent[c] += int(step.divergent)
                    if adapt_step:
                        a.update(step.accept_prob, s.target_accept)
                    if end_of_window:
                        a.inv_mass, a.path_length, a.buffer = inv_mass, length, []
                        if adapt_step:
                            a.restart(eps)
                    elif windows and windows[0][0] <= i < windows[-1][1]:
                        a.buffer.append(new.x.copy())
                    if i == s.n_warmup - 1 and adapt_step:
                        a.eps = math.exp(a.log_eps_bar) if a.count else a.eps
                else:
                    j = i - s.n_warmup
                    assert value is not None
                    run.samples[c, j] = value
                    run.logp[c, j] = new.logp
                    run.accepted[c, j] = step.accepted
                    run.divergent[c, j] = step.divergent
                live.iteration = i + 1
                run.grad_evals[c] += target.evals
                target.evals = 0
                bar.update(1)
                since_save += 1
                if since_save >= s.checkpoint_every:
                    since_save = 0
                    save(_rng_state(rng))
            run.step_size[c], run.mass[c] = a.eps, a.inv_mass
            run.n_leapfrog[c] = _nominal_steps(kernel, s, a)
            run.path_length[c] = a.path_length if kernel.uses_path_length else math.nan
            run.chain, run.live = c + 1, None
            save()
    except KeyboardInterrupt:
        # The committed state is that of the iteration's start: put the generator back there too,
        # so that a resumed run repeats this iteration exactly.
        if run.live is not None and snapshot is not None:
            rng.bit_generator.state = snapshot
            run.grad_evals[run.chain] += target.evals
        save(snapshot if run.live is not None else None)
        bar.close()
        return run.chains(s.names, complete=False)
    bar.close()
    run.wall_time = wall0 + time.perf_counter() - t0
    return run.chains(s.names, complete=True)


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, desc: str, show: bool) -> Any:
    if not show:
        return _NoBar()
    from tqdm.auto import tqdm  # type: ignore[import-untyped]  # no stubs for tqdm

    return tqdm(total=total, desc=desc, leave=False)
