"""The battery's machinery: case records, hostile values, classification and the child-process runner.

A :class:`Case` names a module-level *target* function in one of the area modules and the keyword
arguments to call it with. Hostile values travel as :class:`H` markers (``H("nan")``) and are made
in the child, so unpicklable or lazily built values (callables, ``object()``, 10**5000) are fine.

Cases run in child processes (``child.py``) with an address-space cap (RLIMIT_AS) and a wall-clock
timeout per case. Many cases share one child; the child reports ``start`` before each case and the
record after it, so a crash or hang is pinned on the case that was running, and the rest of the
batch is rerun in a fresh child: nothing is lost.

Outcome classes
---------------
ok            a clear error (pinnbilo.PinnbiloError/InputError, or a TypeError/ValueError whose
              message names the argument) for bad input, or a valid result the case verified
unclear_error any other exception type, or a TypeError/ValueError not naming the argument
silent        bad input accepted, or a wrong result (the case checks)
crash         the child died by a signal or exited without reporting a result
hang          the case ran past its timeout
"""

from __future__ import annotations

import json
import math
import os
import pickle
import queue
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

OUTCOMES = ("ok", "unclear_error", "silent", "crash", "hang")
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_TIMEOUT = 60.0
DEFAULT_MEM_GB = 4.0


# --------------------------------------------------------------------------------------------------
# Hostile values


@dataclass(frozen=True)
class H:
    """A hostile value by name, made in the child (see :data:`VALUES`)."""

    key: str

    def __repr__(self) -> str:
        return VALUES[self.key][1]


USER_FAILURE = "the user's function failed"


def _raises(*_: Any) -> Any:
    raise ZeroDivisionError(USER_FAILURE)


def _nan_fn(*args: Any) -> Any:
    import numpy as np

    return np.full(np.shape(args[0]), np.nan)


def _str_fn(*_: Any) -> Any:
    return "abc"


def _none_fn(*_: Any) -> Any:
    return None


def _complex_fn(*args: Any) -> Any:
    import numpy as np

    return np.ones(np.shape(args[0])) * (1 + 1j)


def _short_fn(*_: Any) -> Any:
    import numpy as np

    return np.ones(3)


def _np(expr: str) -> Callable[[], Any]:
    def make() -> Any:
        import numpy as np  # noqa: F401  (used by eval)

        return eval(expr)

    return make


class _Hostile:
    """An object whose every dunder is hostile: repr raises, len lies, iteration explodes."""

    def __repr__(self) -> str:
        raise RuntimeError("hostile __repr__")

    def __len__(self) -> int:
        return 2

    def __iter__(self) -> Any:
        raise RuntimeError("hostile __iter__")

    def __float__(self) -> float:
        raise RuntimeError("hostile __float__")


# key -> (factory, how the report shows it)
VALUES: Dict[str, Tuple[Callable[[], Any], str]] = {
    "none": (lambda: None, "None"),
    "str": (lambda: "abc", "'abc'"),
    "empty_str": (lambda: "", "''"),
    "surrogate": (lambda: "\ud800", "'\\ud800'"),
    "nan": (lambda: float("nan"), "nan"),
    "inf": (lambda: float("inf"), "inf"),
    "ninf": (lambda: float("-inf"), "-inf"),
    "neg1": (lambda: -1, "-1"),
    "zero": (lambda: 0, "0"),
    "one": (lambda: 1, "1"),
    "frac": (lambda: 1.5, "1.5"),
    "negfrac": (lambda: -0.5, "-0.5"),
    "big": (lambda: 10**9, "10**9"),
    "i63": (lambda: 2**63, "2**63"),
    "huge": (lambda: 10**5000, "10**5000"),
    "complex": (lambda: 1 + 2j, "(1+2j)"),
    "true": (lambda: True, "True"),
    "dict": (lambda: {"a": 1}, "{'a': 1}"),
    "obj": (lambda: object(), "object()"),
    "hostile_obj": (lambda: _Hostile(), "<object with raising __repr__/__iter__>"),
    "list3": (lambda: [1, 2, 3], "[1, 2, 3]"),
    "ragged": (lambda: [[0.1, 0.2], [0.3]], "[[0.1, 0.2], [0.3]]"),
    "empty": (_np("np.array([])"), "np.array([])"),
    "nan_array": (_np("np.array([0.5, np.nan])"), "np.array([0.5, nan])"),
    "inf_array": (_np("np.array([0.5, np.inf])"), "np.array([0.5, inf])"),
    "str_array": (_np("np.array(['a', 'b'])"), "np.array(['a', 'b'])"),
    "cplx_array": (_np("np.array([0.5 + 1j, 0.2])"), "np.array([0.5+1j, 0.2])"),
    "arr3d": (_np("np.full((2, 2, 2), 0.5)"), "np.full((2, 2, 2), 0.5)"),
    "bytes": (lambda: b"abc", "b'abc'"),
    "gen66": (lambda: (h for h in (6, 6)), "(h for h in (6, 6))"),
    "pts_1e7": (_np("np.full(10**7, 0.5)"), "np.full(10**7, 0.5)"),
    "fn_raises": (lambda: _raises, "<function raising ZeroDivisionError>"),
    "fn_nan": (lambda: _nan_fn, "<function returning NaN>"),
    "fn_str": (lambda: _str_fn, "<function returning 'abc'>"),
    "fn_none": (lambda: _none_fn, "<function returning None>"),
    "fn_complex": (lambda: _complex_fn, "<function returning complex>"),
    "fn_short": (lambda: _short_fn, "<function returning 3 values>"),
}

# The crossing list most arguments are tried with.
SCALARS: Tuple[str, ...] = (
    "none", "str", "empty_str", "surrogate", "nan", "inf", "ninf", "neg1", "zero", "frac", "big", "i63",
    "huge", "complex", "true", "dict", "obj", "list3", "empty", "nan_array",
)  # fmt: skip
ARRAYS: Tuple[str, ...] = SCALARS + ("ragged", "inf_array", "str_array", "cplx_array", "arr3d", "hostile_obj")
CALLABLES: Tuple[str, ...] = ("fn_raises", "fn_nan", "fn_str", "fn_none", "fn_complex", "fn_short")


def make(value: Any) -> Any:
    """Resolve H markers (also inside lists, tuples and dicts) to real values."""
    if isinstance(value, H):
        return VALUES[value.key][0]()
    if isinstance(value, list):
        return [make(v) for v in value]
    if isinstance(value, tuple):
        return tuple(make(v) for v in value)
    if isinstance(value, dict):
        return {make(k) if isinstance(k, H) else k: make(v) for k, v in value.items()}
    return value


def show(value: Any, limit: int = 70) -> str:
    """How the report shows an argument value."""
    if isinstance(value, H):
        return repr(value)
    if isinstance(value, Lit):
        return value.text
    if isinstance(value, (list, tuple)):
        inner = ", ".join(show(v, limit) for v in value)
        text = f"[{inner}]" if isinstance(value, list) else f"({inner}{',' if len(value) == 1 else ''})"
    elif isinstance(value, dict):
        text = "{" + ", ".join(f"{show(k, limit)}: {show(v, limit)}" for k, v in value.items()) + "}"
    else:
        try:
            text = repr(value)
        except Exception:
            text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class Lit:
    """A literal argument shown by a short text (e.g. a 100000-character string)."""

    value: Any
    text: str


def unlit(value: Any) -> Any:
    """Lit markers to their values (also nested), then H markers to real values."""
    if isinstance(value, Lit):
        return unlit(value.value)
    if isinstance(value, list):
        return [unlit(v) for v in value]
    if isinstance(value, tuple):
        return tuple(unlit(v) for v in value)
    if isinstance(value, dict):
        return {k: unlit(v) for k, v in value.items()}
    return make(value)


# --------------------------------------------------------------------------------------------------
# Kinds: which hostile values are *valid* for an argument (then any clear outcome is fine)


@dataclass(frozen=True)
class Kind:
    """valid: values the argument may legitimately take (accept mode: a result or a clear error
    are both fine); skip: values not tried (e.g. 10**9 steps is a legitimate, very long run)."""

    valid: frozenset = frozenset()
    skip: frozenset = frozenset()

    def plus(self, *valid: str, skip: Iterable[str] = ()) -> "Kind":
        return Kind(self.valid | set(valid), self.skip | set(skip))

    def minus(self, *keys: str) -> "Kind":
        return Kind(self.valid - set(keys), self.skip)


def kind(*valid: str, skip: Iterable[str] = ()) -> Kind:
    return Kind(frozenset(valid), frozenset(skip))


REAL = kind("neg1", "zero", "one", "frac", "negfrac", "big", "i63")
POS = kind("one", "frac", "big", "i63")
NONNEG = kind("zero", "one", "frac", "big", "i63")
COUNT = kind("zero", "one", skip=("big",))  # a number of steps: 10**9 is a (very) long legitimate run
POS_COUNT = kind("one", skip=("big",))
SEED = kind("zero", "one", "big", "i63")  # 2**63: a clear refusal or a run are both fine
FLAG = kind("true")
CHOICE = kind()  # a name among a few: every hostile value is bad
TEXT = kind("str")
OPTIONAL = kind("none")


# --------------------------------------------------------------------------------------------------
# Cases and records


@dataclass
class Case:
    """One hostile call.

    mode: "error" (bad input: must raise a clear error; returning is silent), "accept" (a valid
    value: returning or a clear error are both fine) or "check" (the target verifies what happened
    and raises :class:`Finding` when it is wrong; returning means ok).
    words: for a TypeError/ValueError that is not a PinnbiloError, the message must contain one of
    these (case-insensitive) to count as naming the argument.
    also_ok: other exception type names that are a clear answer here (e.g. FileNotFoundError).
    isolate: run alone in its own child (heavy, measures peak memory, or spawns processes).
    """

    area: str
    name: str
    module: str
    target: str
    kwargs: Dict[str, Any] = field(default_factory=dict)
    mode: str = "error"
    words: Tuple[str, ...] = ()
    also_ok: Tuple[str, ...] = ()
    timeout: float = DEFAULT_TIMEOUT
    isolate: bool = False
    call: str = ""
    note: str = ""

    def display(self) -> str:
        if self.call:
            return self.call
        args = ", ".join(f"{k}={show(v)}" for k, v in self.kwargs.items() if not k.startswith("_"))
        return f"{self.target}({args})"


class Finding(Exception):
    """Raised by a check target: the case's outcome is ``outcome`` with this message."""

    def __init__(self, outcome: str, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome


class Silent(Finding):
    """Bad input accepted, or a wrong answer."""

    def __init__(self, message: str) -> None:
        super().__init__("silent", message)


def record(case: Case, outcome: str, exc_type: str = "", message: str = "", detail: str = "", **extra: Any) -> dict:
    return {
        "id": f"{case.area}/{case.name}",
        "area": case.area,
        "name": case.name,
        "call": case.display(),
        "mode": case.mode,
        "outcome": outcome,
        "exc_type": exc_type,
        "message": _clip(message),
        "detail": _clip(detail),
        "note": case.note,
        **extra,
    }


def _clip(text: str, n: int = 600) -> str:
    text = str(text)
    return text if len(text) <= n else text[: n - 3] + "..."


def _message(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception as e:  # a message that cannot even be made
        return f"<str() of the exception failed: {type(e).__name__}: {e}>"


def classify_exception(case: Case, exc: BaseException) -> dict:
    """The outcome of a case whose target raised ``exc``."""
    import pinnbilo as pb

    tname = type(exc).__name__
    msg = _message(exc)
    if isinstance(exc, Finding):
        return record(case, exc.outcome, "", msg)
    if case.mode == "check":
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)[-3:])
        return record(case, "unclear_error", tname, msg, detail=f"unexpected exception in a check: {tb}")
    words_hit = not case.words or any(w.lower() in msg.lower() for w in case.words)
    if isinstance(exc, pb.PinnbiloError):
        return record(case, "ok", tname, msg, detail="" if words_hit else "message does not name the argument",
                      named=words_hit)  # fmt: skip
    if tname == "ZeroDivisionError" and msg == USER_FAILURE:
        return record(case, "ok", tname, msg, detail="the user's own exception propagated unchanged")
    if tname in case.also_ok:
        return record(case, "ok", tname, msg, detail="accepted exception type for this case")
    if isinstance(exc, (TypeError, ValueError)) and not isinstance(exc, (UnicodeError,)):
        if words_hit:
            return record(case, "ok", tname, msg, detail="a TypeError/ValueError naming the argument", named=True)
        return record(case, "unclear_error", tname, msg,
                      detail=f"{tname} does not name the argument (wanted one of {list(case.words)})")  # fmt: skip
    where = _where(exc)
    return record(case, "unclear_error", tname, msg, detail=f"raised at {where}")


def _where(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    if not tb:
        return "?"
    # the innermost frame inside pinnbilo, else the innermost one
    for fr in reversed(tb):
        if "pinnbilo" in fr.filename:
            return f"{fr.filename.split('pinnbilo', 1)[-1].lstrip('/')}:{fr.lineno} ({fr.name})"
    fr = tb[-1]
    return f"{os.path.basename(fr.filename)}:{fr.lineno} ({fr.name})"


def classify_return(case: Case, result: Any) -> dict:
    """The outcome of a case whose target returned ``result``."""
    if case.mode == "error":
        return record(case, "silent", "", "", detail=f"accepted; returned {show(result, 200)}")
    detail = result if isinstance(result, str) else ""
    return record(case, "ok", "", "", detail=detail)


def execute(case: Case) -> dict:
    """Run one case in this process and classify it."""
    import importlib
    import warnings

    t0 = time.perf_counter()
    try:
        mod = importlib.import_module(case.module)
        fn = getattr(mod, case.target)
        kwargs = {k: unlit(v) for k, v in case.kwargs.items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = fn(**kwargs)
    except BaseException as exc:  # noqa: B902  (KeyboardInterrupt and SystemExit are outcomes too)
        rec = classify_exception(case, exc)
    else:
        rec = classify_return(case, result)
    rec["seconds"] = round(time.perf_counter() - t0, 3)
    return rec


# --------------------------------------------------------------------------------------------------
# Generating cases


def cross(
    area: str,
    module: str,
    target: str,
    label: str,
    args: Mapping[str, Kind],
    base: Optional[Mapping[str, Any]] = None,
    values: Sequence[str] = SCALARS,
    words: Optional[Mapping[str, Sequence[str]]] = None,
    wrap: Optional[Mapping[str, Callable[[Any], Any]]] = None,
    **extra: Any,
) -> List[Case]:
    """Every argument in ``args`` crossed with every hostile value in ``values``.

    ``wrap[arg]`` puts the hostile value inside a structure (e.g. ``lambda v: (16, v)`` for an
    element of hidden). The case is called as ``target(**base, arg=value)``; its name is
    ``label.arg=value``; it must raise a clear error unless the value is valid for the arg's kind.
    """
    out = []
    for arg, k in args.items():
        for key in values:
            if key in k.skip:
                continue
            v: Any = H(key)
            argname = arg.split("[", 1)[0]
            if wrap and arg in wrap:
                v = wrap[arg](v)
            kwargs = {**(base or {}), argname: v}
            mode = "accept" if key in k.valid else "error"
            w = tuple(words[arg]) if words and arg in words else (argname,)
            shown = ", ".join(f"{a}={show(b)}" for a, b in kwargs.items() if not a.startswith("_"))
            out.append(Case(area, f"{label}.{arg}={key}", module, target, kwargs, mode, w,
                            call=f"{label}({shown})", **extra))  # fmt: skip
    return out


def case(
    area: str,
    cname: str,
    module: str,
    target: str,
    mode: str = "error",
    /,
    call: str = "",
    *,
    words: Sequence[str] = (),
    also_ok: Sequence[str] = (),
    timeout: float = DEFAULT_TIMEOUT,
    isolate: bool = False,
    note: str = "",
    **kwargs: Any,
) -> Case:
    """One hand-written case; ``kwargs`` are the target's keyword arguments."""
    return Case(area, cname, module, target, kwargs, mode, tuple(words), tuple(also_ok), timeout, isolate, call, note)


# --------------------------------------------------------------------------------------------------
# Child side


def child_main() -> None:
    """Entry of a child: set the memory cap, read cases (pickle on stdin), report JSON lines on the
    protocol fd (stdout is moved to stderr so that library prints cannot garble the protocol)."""
    import faulthandler
    import resource

    gb = float(os.environ.get("BATTERY_MEM_GB", DEFAULT_MEM_GB))
    cap = int(gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    faulthandler.enable()
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    cases: List[Case] = pickle.loads(sys.stdin.buffer.read())
    for c in cases:
        proto.write(json.dumps({"event": "start", "id": f"{c.area}/{c.name}"}) + "\n")
        proto.flush()
        rec = execute(c)
        proto.write(json.dumps({"event": "done", "id": rec["id"], "record": rec}, default=str) + "\n")
        proto.flush()
    proto.close()
    # Threads a case left running (a server, a fit) must not keep the child alive.
    os._exit(0)


# --------------------------------------------------------------------------------------------------
# Parent side: the pool


def batches(cases: Sequence[Case], size: int) -> List[List[Case]]:
    """Isolated cases alone; the others grouped by module in batches of ``size``, longest first."""
    out: List[List[Case]] = []
    by_module: Dict[str, List[Case]] = {}
    for c in cases:
        if c.isolate:
            out.append([c])
        else:
            by_module.setdefault(c.module, []).append(c)
    for group in by_module.values():
        for i in range(0, len(group), size):
            out.append(group[i : i + size])
    # Heavy (isolated, long timeout) first, so that two workers finish together.
    out.sort(key=lambda b: (-(b[0].isolate * b[0].timeout), -len(b)))
    return out


def _failure(case: Case, outcome: str, detail: str, stderr_tail: str, seconds: float) -> dict:
    rec = record(case, outcome, "", "", detail=detail)
    rec["stderr_tail"] = stderr_tail[-3000:]
    rec["seconds"] = round(seconds, 3)
    return rec


def _tail(path: str, n: int = 4000) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - n))
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        pass


def run_batch(batch: List[Case], mem_gb: float, on_record: Callable[[dict], None], scratch: str) -> None:
    """Run a batch in children until every case has a record (a crash or hang respawns a child
    for the cases after the one that failed)."""
    pending = list(batch)
    by_id = {f"{c.area}/{c.name}": c for c in batch}
    while pending:
        env = {**os.environ, "BATTERY_MEM_GB": str(mem_gb), "PYTHONFAULTHANDLER": "1"}
        env["PYTHONPATH"] = os.pathsep.join([os.path.dirname(HERE), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        err = tempfile.NamedTemporaryFile(prefix="battery-stderr-", suffix=".txt", delete=False)
        err.close()
        own = tempfile.mkdtemp(prefix="child-", dir=scratch)  # no case sees another child's files
        with open(err.name, "wb") as errfh:
            proc = subprocess.Popen(
                [sys.executable, os.path.join(HERE, "child.py")],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errfh, cwd=own, env=env,
                start_new_session=True,
            )  # fmt: skip
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(pickle.dumps(pending))
            proc.stdin.close()
        except BrokenPipeError:
            pass
        done: Dict[str, dict] = {}
        current: Optional[str] = None
        started = time.monotonic()
        spawn_time = started
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        buf = b""
        failed: Optional[Tuple[str, str]] = None  # (outcome, detail)
        eof = False
        while not eof:
            if current is not None:
                limit = by_id[current].timeout - (time.monotonic() - started)
            else:
                limit = 120.0 - (time.monotonic() - spawn_time if not done else 0.0)  # start-up or between cases
            if limit <= 0:
                failed = ("hang", f"no result within {by_id[current].timeout:g} s" if current else "child stalled")
                _kill(proc)
                break
            events = sel.select(timeout=min(limit, 5.0))
            if not events:
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                eof = True
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue
                if msg["event"] == "start":
                    current, started = msg["id"], time.monotonic()
                elif msg["event"] == "done":
                    done[msg["id"]] = msg["record"]
                    on_record(msg["record"])
                    current = None
                    spawn_time = time.monotonic()
        sel.close()
        if failed is None:
            try:
                rc = proc.wait(30)
            except subprocess.TimeoutExpired:
                _kill(proc)
                rc = proc.returncode
            if current is not None or rc != 0:
                if rc is not None and rc < 0:
                    sig = signal.Signals(-rc).name if -rc in signal.Signals._value2member_map_ else str(-rc)
                    failed = ("crash", f"child killed by signal {sig}")
                else:
                    failed = ("crash", f"child exited with status {rc} without a result")
        tail = _tail(err.name)
        os.unlink(err.name)
        remaining = [c for c in pending if f"{c.area}/{c.name}" not in done]
        if failed is not None and remaining:
            victim_id = current if current is not None else f"{remaining[0].area}/{remaining[0].name}"
            victim = by_id[victim_id]
            on_record(_failure(victim, failed[0], failed[1], tail, time.monotonic() - started))
            remaining = [c for c in remaining if c is not victim]
        elif remaining:  # the child ended early without saying why: blame the next case
            victim = remaining[0]
            on_record(_failure(victim, "crash", "child ended before running this case", tail, 0.0))
            remaining = remaining[1:]
        pending = remaining


def run_all(cases: Sequence[Case], jobs: int, mem_gb: float, batch_size: int = 60, progress: bool = True) -> List[dict]:
    """Every case through a pool of ``jobs`` worker threads, each driving its own children."""
    work: "queue.Queue[Optional[List[Case]]]" = queue.Queue()
    for b in batches(cases, batch_size):
        work.put(b)
    records: List[dict] = []
    lock = threading.Lock()
    # Children run in a scratch folder: a case that saves to 'abc' must not write into the repository.
    scratch = tempfile.mkdtemp(prefix="pinnbilo-battery-")
    total = len(cases)
    t0 = time.monotonic()

    def on_record(rec: dict) -> None:
        with lock:
            records.append(rec)
            n = len(records)
            if progress and (rec["outcome"] != "ok" or n % 100 == 0 or n == total):
                mark = "" if rec["outcome"] == "ok" else f"  {rec['outcome']}: {rec['id']}"
                print(f"[{n}/{total} {time.monotonic() - t0:6.1f}s]{mark}", file=sys.stderr, flush=True)

    def worker() -> None:
        while True:
            try:
                b = work.get_nowait()
            except queue.Empty:
                return
            if b is None:
                return
            run_batch(b, mem_gb, on_record, scratch)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    shutil.rmtree(scratch, ignore_errors=True)
    return records


# --------------------------------------------------------------------------------------------------
# Helpers for targets


def rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def finite(x: Any) -> bool:
    import numpy as np

    try:
        return bool(np.all(np.isfinite(np.asarray(x, dtype=float))))
    except (TypeError, ValueError):
        return False


def expect_clear(fn: Callable[[], Any], words: Sequence[str] = (), what: str = "") -> str:
    """Inside a check: ``fn()`` must raise a clear error; returns its message, raises Finding otherwise."""
    import pinnbilo as pb

    try:
        result = fn()
    except pb.PinnbiloError as exc:
        return str(exc)
    except (TypeError, ValueError) as exc:
        if not words or any(w.lower() in str(exc).lower() for w in words):
            return str(exc)
        raise Finding("unclear_error", f"{what}: {type(exc).__name__}: {exc}") from None
    except Exception as exc:
        raise Finding("unclear_error", f"{what}: {type(exc).__name__}: {exc}") from None
    raise Silent(f"{what}: accepted, returned {show(result, 120)}")


def nan_safe_equal(a: Any, b: Any) -> bool:
    import numpy as np

    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.tobytes() == b.tobytes()


def jsonable(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return x
