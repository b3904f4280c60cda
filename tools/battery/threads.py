"""Area 4: a model shared between threads: reads and writes during fit, a second fit at once,
two models training at once, and results bit for bit equal to the same fit run alone."""

from __future__ import annotations

import os
import tempfile
import threading
import time
from typing import Any, Callable, Dict, List, Tuple

import numpy as np

import pinnbilo as pb

from .core import Case, Finding, Silent, case, finite

AREA = "threads"
MOD = __name__
STEPS = 20000  # about half a second of BiLO training: long enough for the other threads to act


def _model(seed: int = 0) -> Any:
    p = pb.problems.exponential_growth()
    data = p.synthetic_data(20, noise=0.01, seed=0)
    return pb.BiLO(p, data, hidden=(16, 16), n_res=51, seed=seed)


def _fingerprint(m: Any) -> Tuple[bytes, bytes, Tuple[Tuple[str, float], ...], int, bytes]:
    h = m.history
    return (m._trainer.get_weights().tobytes(), h.total.tobytes(), tuple(sorted(m.params.items())), m.step,
            m._trainer.get_raw_params().tobytes())  # fmt: skip


def _reference(steps: int = STEPS, seed: int = 0, **fit: Any) -> Tuple[Any, Any]:
    m = _model(seed)
    r = m.fit(steps=steps, **fit)
    return _fingerprint(m), r


def _compare(what: str, got: Any, ref: Any) -> None:
    names = ("weights", "loss history", "params", "step", "raw params")
    diff = [n for n, a, b in zip(names, got, ref) if a != b]
    if diff:
        raise Silent(f"{what}: differs from the same fit run alone in {', '.join(diff)}")


def _readers(m: Any, folder: str) -> Dict[str, Callable[[], Any]]:
    return {
        "history": lambda: m.history,
        "params": lambda: m.params,
        "step": lambda: m.step,
        "losses": lambda: m.losses(),
        "predict": lambda: m.predict(np.linspace(0, 1, 5)),
        "predict_derivs": lambda: m.predict([0.5], ["u_t", "u_a", "u_ta"]),
        "residual": lambda: m.residual(np.linspace(0, 1, 5)),
        "get_weights": lambda: m.get_weights(),
        "save": lambda: m.save(os.path.join(folder, "during.npz")),
        "state_vector_lower": lambda: m.state_vector("lower"),
        "state_vector_upper": lambda: m.state_vector("upper"),
        "objective_lower": lambda: m.objective("lower", m.state_vector("lower")),
        "objective_upper": lambda: m.objective("upper", m.state_vector("upper")),
        "observation_predictions": lambda: m.observation_predictions(),
        "parameter_errors": lambda: m.parameter_errors(),
        "function_errors": lambda: m.function_errors(),
        "repr": lambda: repr(m),
        "describe": lambda: m.problem.describe(),
        "collocation": lambda: m.collocation.copy(),
    }


def _run_fit(m: Any, out: Dict[str, Any], started: threading.Event, **fit: Any) -> None:
    def cb(model: Any, step: int) -> bool:
        started.set()
        return True

    try:
        out["result"] = m.fit(steps=STEPS, callback=cb, callback_every=100, **fit)
    except BaseException as exc:  # noqa: B902
        out["error"] = exc
    finally:
        started.set()


def t_reads_during_fit(n_threads: int, n_readers: int = 2) -> Any:
    """Every public reader, from ``n_readers`` threads, while fit runs in another; then the
    trained state must equal the same fit run alone, bit for bit."""
    pb.set_num_threads(n_threads)
    ref, _ = _reference()
    m = _model()
    folder = tempfile.mkdtemp(dir=os.getcwd())
    started, stop = threading.Event(), threading.Event()
    out: Dict[str, Any] = {}
    errors: List[str] = []
    counts = {"reads": 0, "during": 0}
    readers = _readers(m, folder)

    def read_loop() -> None:
        while not stop.is_set():
            for name, fn in readers.items():
                running = "result" not in out and "error" not in out
                try:
                    v = fn()
                except BaseException as exc:  # noqa: B902
                    errors.append(f"{name}: {type(exc).__name__}: {exc}")
                    continue
                counts["reads"] += 1
                counts["during"] += running
                if name in ("losses", "params") and not all(finite(x) for x in v.values()):
                    errors.append(f"{name} gave non-finite values {v}")

    fit_thread = threading.Thread(target=_run_fit, args=(m, out, started))
    fit_thread.start()
    started.wait(30)
    pool = [threading.Thread(target=read_loop) for _ in range(n_readers)]
    for t in pool:
        t.start()
    fit_thread.join(120)
    time.sleep(0.2)
    stop.set()
    for t in pool:
        t.join(60)
    if fit_thread.is_alive() or any(t.is_alive() for t in pool):
        raise Finding("hang", "a fit or a reader thread did not finish (deadlock?)")
    if "error" in out:
        raise Finding("unclear_error", f"fit raised {type(out['error']).__name__}: {out['error']}")
    if errors:
        raise Finding("unclear_error", f"reads during fit failed: {errors[:3]}")
    _compare(f"with pb.set_num_threads({n_threads}) and {counts['reads']} reads", _fingerprint(m), ref)
    return f"{counts['reads']} reads ({counts['during']} started while fit ran); result bit-identical"


def t_second_fit(n_threads: int) -> Any:
    """A second fit from another thread while the first runs must raise a clear error at once and
    must not disturb the first."""
    pb.set_num_threads(n_threads)
    ref, _ = _reference()
    m = _model()
    started = threading.Event()
    out: Dict[str, Any] = {}
    a = threading.Thread(target=_run_fit, args=(m, out, started))
    a.start()
    started.wait(30)
    second: Dict[str, Any] = {}
    t0 = time.monotonic()

    def b() -> None:
        try:
            second["result"] = m.fit(steps=10)
        except BaseException as exc:  # noqa: B902
            second["error"] = exc

    tb = threading.Thread(target=b)
    tb.start()
    tb.join(120)
    waited = time.monotonic() - t0
    a.join(120)
    if a.is_alive() or tb.is_alive():
        raise Finding("hang", "a fit did not finish")
    if "error" in out:
        raise Finding("unclear_error", f"the first fit raised {type(out['error']).__name__}: {out['error']}")
    if "result" in second:
        raise Silent(f"a second concurrent fit was accepted ({second['result'].status}) instead of refused")
    exc = second["error"]
    if not isinstance(exc, pb.PinnbiloError):
        raise Finding("unclear_error", f"the second fit raised {type(exc).__name__}: {exc}")
    _compare("the first fit", _fingerprint(m), ref)
    return f"second fit refused after {waited:.3f} s: {exc}"


def t_writers_during_fit(writer: str) -> Any:
    """A writer from another thread during fit waits for it: the fit's result is the undisturbed one."""
    ref, ref_result = _reference()
    m = _model()
    started = threading.Event()
    out: Dict[str, Any] = {}
    a = threading.Thread(target=_run_fit, args=(m, out, started))
    a.start()
    started.wait(30)
    w = {
        "set_params": lambda: m.set_params({"a": 5.0}),
        "set_weights": lambda: m.set_weights([(0 * W, 0 * b) for W, b in m.get_weights()]),
        "set_collocation": lambda: m.set_collocation(np.linspace(0, 1, 13)),
        "set_state_vector": lambda: m.set_state_vector("lower", 0 * m.state_vector("lower")),
        "set_num_threads_2": lambda: pb.set_num_threads(2),
    }[writer]
    err: List[str] = []
    try:
        w()
    except BaseException as exc:  # noqa: B902
        err.append(f"{type(exc).__name__}: {exc}")
    a.join(120)
    pb.set_num_threads(1)
    if "error" in out:
        raise Finding("unclear_error", f"fit raised {type(out['error']).__name__}: {out['error']}")
    if err:
        raise Finding("unclear_error", f"{writer} from another thread raised {err[0]}")
    r = out["result"]
    if writer == "set_num_threads_2":
        if not all(finite(v) for v in r.params.values()):
            raise Silent("changing the thread count during fit gave non-finite params")
        same = r.params == ref_result.params
        return f"fit finished; {'identical' if same else 'different'} result after a thread-count change mid-run"
    if r.params != ref_result.params or m.history.total.tobytes() != ref[1]:
        raise Silent(f"{writer} from another thread changed the running fit: params {r.params} vs {ref_result.params}")
    return f"{writer} waited for fit; fit undisturbed"


def t_two_models(n_threads: int) -> Any:
    """Two models training at once in two threads (the GIL is released) each equal their run alone."""
    pb.set_num_threads(n_threads)
    refs = [_reference(seed=s)[0] for s in (0, 1)]
    models = [_model(seed=s) for s in (0, 1)]
    outs: List[Dict[str, Any]] = [{}, {}]
    ev = [threading.Event(), threading.Event()]
    ts = [threading.Thread(target=_run_fit, args=(models[i], outs[i], ev[i])) for i in (0, 1)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    for i in (0, 1):
        if "error" in outs[i]:
            raise Finding("unclear_error", f"fit {i} raised {type(outs[i]['error']).__name__}: {outs[i]['error']}")
        _compare(f"model {i} trained alongside another", _fingerprint(models[i]), refs[i])
    return "both bit-identical to their runs alone"


def t_concurrent_saves() -> Any:
    """Two threads saving two models to the same path at once: the file is one of them, whole."""
    folder = tempfile.mkdtemp(dir=os.getcwd())
    path = os.path.join(folder, "m.npz")
    ms = [_model(seed=s) for s in (0, 1)]
    for m in ms:
        m.fit(steps=10)
    errs: List[str] = []

    def loop(m: Any) -> None:
        for _ in range(30):
            try:
                m.save(path)
            except BaseException as exc:  # noqa: B902
                errs.append(f"{type(exc).__name__}: {exc}")

    ts = [threading.Thread(target=loop, args=(m,)) for m in ms]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    if errs:
        raise Finding("unclear_error", f"concurrent saves failed: {errs[:2]}")
    got = pb.load(path)
    w = got._trainer.get_weights().tobytes()
    if w not in (ms[0]._trainer.get_weights().tobytes(), ms[1]._trainer.get_weights().tobytes()):
        raise Silent("after concurrent saves the file holds neither model")
    left = [n for n in os.listdir(folder) if n.endswith(".tmp")]
    if left:
        raise Silent(f"concurrent saves left temp files {left}")
    return "file whole, no temp files"


def t_thread_counts_agree() -> Any:
    """The same fit with 1 and with 2 core threads (bit for bit: arguably not promised)."""
    pb.set_num_threads(1)
    a, _ = _reference(steps=3000)
    pb.set_num_threads(2)
    b, _ = _reference(steps=3000)
    pb.set_num_threads(1)
    _compare("pb.set_num_threads(2) against (1)", b, a)
    return "identical with 1 and 2 threads"


def cases() -> List[Case]:
    out: List[Case] = []
    for n in (1, 2):
        out.append(
            case(
                AREA,
                f"reads_during_fit.num_threads_{n}",
                MOD,
                "t_reads_during_fit",
                "check",
                n_threads=n,
                isolate=True,
                timeout=240,
                call=f"pb.set_num_threads({n}); every reader of m from 2 threads during m.fit(steps={STEPS})",
            )
        )
        out.append(
            case(
                AREA,
                f"second_fit.num_threads_{n}",
                MOD,
                "t_second_fit",
                "check",
                n_threads=n,
                isolate=True,
                timeout=240,
                call=f"pb.set_num_threads({n}); m.fit() in thread B while thread A fits",
            )
        )
        out.append(
            case(
                AREA,
                f"two_models.num_threads_{n}",
                MOD,
                "t_two_models",
                "check",
                n_threads=n,
                isolate=True,
                timeout=240,
                call=f"pb.set_num_threads({n}); two models fit in two threads at once",
            )
        )
    for w in ("set_params", "set_weights", "set_collocation", "set_state_vector", "set_num_threads_2"):
        out.append(
            case(
                AREA,
                f"writer_during_fit.{w}",
                MOD,
                "t_writers_during_fit",
                "check",
                writer=w,
                isolate=True,
                timeout=240,
                call=f"m.{w}(...) from another thread during m.fit(steps={STEPS})",
            )
        )
    out.append(
        case(
            AREA,
            "concurrent_saves_same_path",
            MOD,
            "t_concurrent_saves",
            "check",
            isolate=True,
            timeout=240,
            call="two threads m0.save(p) / m1.save(p) 30 times each",
        )
    )
    out.append(
        case(
            AREA,
            "num_threads_1_vs_2_identical",
            MOD,
            "t_thread_counts_agree",
            "check",
            isolate=True,
            timeout=240,
            call="same fit with pb.set_num_threads(1) and (2), compared bit for bit",
        )
    )
    return out
