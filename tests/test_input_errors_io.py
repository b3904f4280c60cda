"""Bad input at the library's edges: checkpoint files, the playground's HTTP server, the command
line and the reference solvers each refuse it with a clear message (an InputError, a JSON 4xx, a
one-line exit status 2), never a bare Python error, a hang or a silently different result."""

from __future__ import annotations

import io
import json
import os
import socket
import zipfile
from typing import Any, Dict, Iterator, Tuple

import numpy as np
import pytest

import pinnbilo as pb
from pinnbilo import solvers
from pinnbilo.__main__ import main
from pinnbilo.playground import start

# -- checkpoints ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> Tuple[pb.Model, str]:
    p = pb.problems.exponential_growth()
    m = pb.BiLO(p, p.synthetic_data(8, noise=0.01), hidden=(5,), n_res=9)
    m.fit(steps=10)
    path = str(tmp_path_factory.mktemp("ckpt") / "m.npz")
    m.save(path)
    return m, path


@pytest.fixture(scope="module")
def saved(original: Tuple[pb.Model, str]) -> str:
    return original[1]


def _arrays(path: str) -> Tuple[Dict[str, Any], Dict[str, np.ndarray]]:
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    return json.loads(arrays["meta"].tobytes()), arrays


def _write(path: str, meta: Dict[str, Any], arrays: Dict[str, np.ndarray]) -> str:
    out = {**arrays, "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}
    np.savez(path, **out)  # type: ignore[arg-type]  # numpy's stub reads **kwds as allow_pickle
    return path


def test_a_loaded_model_predicts_exactly_as_the_saved_one(original: Tuple[pb.Model, str]) -> None:
    model, path = original
    back = pb.load(path)
    x = np.linspace(0.0, 1.0, 11)
    assert back.predict(x).tobytes() == model.predict(x).tobytes()
    assert back.step == model.step == 10 and back.params == model.params


@pytest.mark.parametrize(
    "edit",
    [
        lambda m: m["problem"]["spec"]["kwargs"].__setitem__("u0", 5.0),  # another initial value
        lambda m: m["problem"].__setitem__("spec", {"builtin": "logistic", "kwargs": {}}),  # another problem
    ],
)
def test_an_edited_problem_description_is_refused(saved: str, tmp_path: Any, edit: Any) -> None:
    meta, arrays = _arrays(saved)
    edit(meta)
    with pytest.raises(pb.InputError, match="does not reproduce the predictions stored with it"):
        pb.load(_write(str(tmp_path / "edited.npz"), meta, arrays))


@pytest.mark.parametrize(
    "key, value, words",
    [
        ("weights", lambda w: w.astype(np.float32), "stored as float32, but a float64 model"),
        ("weights", lambda w: w.astype(np.int64), "stored as int64"),
        ("adam_params_m", lambda w: w + 0j, "stored as complex128"),
        ("adam_weights_t", lambda t: np.array(2**62), "at most 2\\*\\*53"),
    ],
)
def test_arrays_of_the_wrong_dtype_or_range_are_refused(saved: str, tmp_path: Any, key: str, value: Any, words: str):
    meta, arrays = _arrays(saved)
    arrays[key] = value(arrays[key])
    with pytest.raises(pb.InputError, match=words):
        pb.load(_write(str(tmp_path / "bad.npz"), meta, arrays))


def _zip_with(path: str, saved: str, name: str, header: Dict[str, Any], n_bytes: int) -> str:
    """``saved``'s arrays plus (or with ``name`` replaced by) an entry of ``n_bytes`` zeros after the
    .npy ``header``: deflated, it takes a few kB on disk."""
    _, arrays = _arrays(saved)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for k, v in arrays.items():
            if k != name:
                buf = io.BytesIO()
                np.lib.format.write_array(buf, v)
                z.writestr(k + ".npy", buf.getvalue())
        buf = io.BytesIO()
        np.lib.format.write_array_header_1_0(buf, header)
        buf.write(bytes(n_bytes))
        z.writestr(name + ".npy", buf.getvalue())
    return path


def test_a_zip_bomb_is_refused_from_the_declared_sizes(saved: str, tmp_path: Any) -> None:
    n = 2**21  # 16 MB of float64 zeros behind a name no checkpoint has
    bomb = _zip_with(str(tmp_path / "bomb.npz"), saved, "junk", {"descr": "<f8", "fortran_order": False,
                     "shape": (n,)}, 8 * n)  # fmt: skip
    assert os.path.getsize(bomb) < 2**20
    with pytest.raises(pb.InputError, match="refused unread"):
        pb.load(bomb)
    big = _zip_with(str(tmp_path / "weights.npz"), saved, "weights", {"descr": "<f8", "fortran_order": False,
                    "shape": (n,)}, 8 * n)  # fmt: skip
    with pytest.raises(pb.InputError, match="'weights' has shape"):
        pb.load(big)


def test_a_zip_directory_of_too_many_entries_is_refused_before_parsing(saved: str, tmp_path: Any) -> None:
    from pinnbilo import checkpoint

    _, arrays = _arrays(saved)
    path = str(tmp_path / "many.npz")
    with zipfile.ZipFile(path, "w") as z:
        for k, v in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, v)
            z.writestr(k + ".npy", buf.getvalue())
        for i in range(checkpoint.MAX_ENTRIES + 1):
            z.writestr(f"e{i}", b"")
    with pytest.raises(pb.InputError, match="entries"):
        pb.load(path)


def test_a_header_claiming_more_values_than_the_file_holds_is_refused(saved: str, tmp_path: Any) -> None:
    fake = _zip_with(str(tmp_path / "fake.npz"), saved, "weights", {"descr": "<f8", "fortran_order": False,
                     "shape": (10**12,)}, 64)  # fmt: skip
    with pytest.raises(pb.InputError, match="declares shape"):
        pb.load(fake)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX FIFOs")
def test_a_fifo_is_refused_without_waiting(tmp_path: Any) -> None:
    fifo = str(tmp_path / "pipe.npz")
    os.mkfifo(fifo)
    with pytest.raises(pb.InputError, match="not a regular file"):
        pb.load(fifo)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"problem": "exponential"}, "problem must be a pinnbilo Problem"),
        ({"strict": "no"}, "strict must be True or False"),
        ({"strict": np.array([1.0, 2.0])}, "strict must be True or False"),
    ],
)
def test_load_options_are_checked(saved: str, kwargs: Dict[str, Any], words: str) -> None:
    with pytest.raises(pb.InputError, match=words):
        pb.load(saved, **kwargs)


def test_a_file_name_the_system_cannot_encode_is_refused() -> None:
    with pytest.raises(pb.InputError, match="not a usable file name"):
        pb.load("bad\ud800name.npz")  # a lone surrogate: no bytes on any file system
    with pytest.raises(pb.InputError, match="not a usable file name"):
        pb.load("nul\x00.npz")


# -- playground -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    s, thread = start()
    yield s
    s.shutdown()
    s.server_close()
    thread.join(5)


def _raw(server: Any, data: bytes) -> Tuple[int, Dict[str, Any], Dict[str, str]]:
    """Send raw bytes; (status, JSON body, headers) of the answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(data)
        got = b""
        while True:
            chunk = sock.recv(65536)  # the server closes the connection after an error
            if not chunk:
                break
            got += chunk
    head, _, body = got.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    return int(lines[0].split()[1]), json.loads(body), headers


def _request(server: Any, method: str, path: str, body: bytes = b"") -> Tuple[int, Dict[str, Any], Dict[str, str]]:
    head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nX-Pinnbilo-Token: {server.token}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")  # fmt: skip
    return _raw(server, head.encode() + body)


def test_a_huge_integer_control_gets_a_json_400(server: Any) -> None:
    status, r, _ = _request(server, "POST", "/api/session", b"{}")
    sid = r["session"]
    for name in ("n_res", "lr", "seed"):
        body = '{"session": "%s", "changes": {"%s": 1%s}}' % (sid, name, "0" * 4000)
        status, r, headers = _request(server, "POST", "/api/config", body.encode())
        assert status == 400 and headers["content-type"] == "application/json", r
        assert r["error"].startswith(("residual points", "learning rate", "seed")), r


@pytest.mark.parametrize(
    "request_line, status, words",
    [
        (b"GET /api/meta\r\n", 400, "HTTP version"),  # HTTP/0.9: no version, no headers to wait for
        (b"GARBAGE\r\n\r\n", 400, "Bad request"),
        (b"PUT /api/config HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 405, "use GET or POST"),
        (b"GET /" + b"x" * 70000 + b" HTTP/1.1\r\n\r\n", 414, ""),
    ],
)
def test_http_level_errors_are_json_with_a_status_line(server: Any, request_line: bytes, status: int, words: str):
    got, r, headers = _raw(server, request_line)
    assert got == status and headers["content-type"] == "application/json"
    assert words in r["error"]
    assert _request(server, "GET", "/api/meta")[0] == 200  # still serving


# -- command line ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, words",
    [
        (["demo", "--steps", str(2**63)], "--steps: expected an integer in [0, 2147483647]"),
        (["demo", "--seed", "-1"], "--seed: expected an integer in [0, "),
        (["demo", "--lr", "nan"], "--lr: expected a positive finite number"),
        (["compare", "poisson", "--seed", str(2**64)], "--seed: expected an integer"),
        (["steady", "--states", ","], "--states: expected a comma-separated list"),
        (["steady", "--unknown", ","], "--unknown: expected a comma-separated list"),
        (["steady", "--smoothness-w", "nan"], "--smoothness-w: expected a finite number >= 0"),
        (["steady", "--noise", "0,inf"], "--noise: expected a finite number >= 0"),
    ],
)
def test_bad_options_exit_2_with_one_line(argv: Any, words: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


@pytest.mark.parametrize(
    "extra, words",
    [
        (["--m", "64", "--n", "32"], "--m 64 observations per state is more than the --n 32 grid points"),
        (["--csv", "/nonexistent/folder/x.csv"], "the folder '/nonexistent/folder' does not exist"),
    ],
)
def test_steady_options_are_checked_before_the_run(extra: Any, words: str, capsys: pytest.CaptureFixture) -> None:
    assert main(["steady", "--adam-steps", "0", "--lbfgs-steps", "0", "--states", "1", *extra]) == 2
    out = capsys.readouterr()
    assert words in out.err and out.out == ""  # refused before any run printed its table


# -- solvers --------------------------------------------------------------------------------------


class _Hostile:
    def __repr__(self) -> str:
        raise RuntimeError("hostile __repr__")

    def __iter__(self) -> Any:
        raise RuntimeError("hostile __iter__")


HOSTILE: Any = _Hostile()  # typed Any: the calls below pass it where the signatures want numbers
HUGE: Any = 10**5000  # over Python's 4300-digit limit for int -> str


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: solvers.solve_poisson_1d(1.0, 1.0, n=HOSTILE), "n must be an integer"),
        (lambda: solvers.solve_poisson_1d(1.0, 1.0, domain=HOSTILE), "domain must be a pair"),
        (lambda: solvers.solve_darcy_2d(1.0, domain=HOSTILE), "domain must be a pair"),
        (lambda: solvers.solve_darcy_2d(1.0, domain=HUGE), "domain must be a pair"),
        (lambda: solvers.solve_reaction_diffusion_1d(0.1, None, np.sin, nx=HUGE), "nx = "),
        (lambda: solvers.GridSolution(HOSTILE, np.ones(4)), "axes must be a sequence"),
    ],
)
def test_solvers_refuse_hostile_arguments_clearly(call: Any, words: str) -> None:
    with pytest.raises(pb.InputError, match=words.replace("(", "\\(")):
        call()
