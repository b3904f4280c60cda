"""Area 8: the playground's HTTP API with hostile requests. Every answer must be a 4xx with a JSON
``{"error": ...}`` (never a 5xx, never an HTML page), and the server must keep answering."""

from __future__ import annotations

import io
import json
import os
import socket
import tempfile
from functools import lru_cache
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from .core import Case, Finding, Silent, case

AREA = "playground"
MOD = __name__


@lru_cache(maxsize=None)
def _server() -> Any:
    from pinnbilo.playground import start

    server, thread = start(heartbeat_timeout=60.0, max_sessions=500)
    return server


def _raw(data: bytes, timeout: float = 30.0, shut: bool = False, port: int = 0) -> Tuple[int, bytes, Dict[str, str]]:
    """Send raw bytes; parse the status line, headers and body of the answer (status 0: none)."""
    s = _server()
    sock = socket.create_connection(("127.0.0.1", port or s.port), timeout=timeout)
    try:
        try:
            sock.sendall(data)
            if shut:
                sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered (and closed) before the whole request was sent: read the answer
        chunks = []
        while True:
            try:
                b = sock.recv(65536)
            except socket.timeout:
                raise Finding("hang", "no answer within the client's timeout") from None
            except ConnectionResetError:
                break
            if not b:
                break
            chunks.append(b)
            got = b"".join(chunks)
            head, sep, body = got.partition(b"\r\n\r\n")
            if sep:
                hdrs = _headers(head)
                n = int(hdrs.get("content-length", "-1") or -1)
                if n >= 0 and len(body) >= n:
                    break
    finally:
        sock.close()
    got = b"".join(chunks)
    if not got:
        return 0, b"", {}
    if not got.startswith(b"HTTP/"):
        return -1, got, {}  # an answer without a status line (HTTP/0.9 style)
    head, _, body = got.partition(b"\r\n\r\n")
    line = head.split(b"\r\n", 1)[0].decode("latin-1")
    try:
        status = int(line.split()[1])
    except (IndexError, ValueError):
        status = 0
    return status, body, _headers(head)


def _headers(head: bytes) -> Dict[str, str]:
    out = {}
    for ln in head.split(b"\r\n")[1:]:
        k, _, v = ln.decode("latin-1").partition(":")
        out[k.strip().lower()] = v.strip()
    return out


def _request(method: str, path: str, body: Optional[bytes] = None, token: Optional[str] = "default",
             host: Optional[str] = None, origin: Optional[str] = None, extra: str = "",
             length: Optional[str] = None, shut: bool = False) -> Tuple[int, bytes, Dict[str, str]]:  # fmt: skip
    s = _server()
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host if host is not None else f'127.0.0.1:{s.port}'}"]
    if token == "default":
        token = s.token
    if token is not None:
        lines.append(f"X-Pinnbilo-Token: {token}")
    if origin is not None:
        lines.append(f"Origin: {origin}")
    if body is not None or length is not None:
        lines.append(f"Content-Length: {length if length is not None else len(body or b'')}")
        lines.append("Content-Type: application/json")
    lines.append("Connection: close")
    if extra:
        lines.append(extra)
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")
    return _raw(data, shut=shut)


@lru_cache(maxsize=None)
def _session() -> str:
    status, body, _ = _request("POST", "/api/session", b"{}")
    if status != 200:
        raise Finding("unclear_error", f"cannot open a session: {status} {body[:200]!r}")
    return json.loads(body)["session"]


def _alive() -> None:
    status, body, _ = _request("GET", "/api/meta")
    if status != 200:
        raise Finding("crash", f"the server stopped answering after this request: GET /api/meta -> {status}")


def _judge(status: int, body: bytes, headers: Dict[str, str], mode: str) -> str:
    """4xx + JSON error for bad requests; 2xx or 4xx+JSON for valid ones; never 5xx/HTML."""
    _alive()
    if status == 0:
        raise Finding("crash", "the server closed the connection without an answer")
    if status == -1:
        raise Finding("unclear_error", f"an answer without status line or headers (HTTP/0.9 style): {body[:120]!r}")
    text = body[:300].decode("utf-8", "replace")
    is_json = headers.get("content-type", "").startswith("application/json")
    err = None
    if is_json:
        try:
            err = json.loads(body).get("error") if body else None
        except (ValueError, AttributeError):
            err = None
    if status >= 500:
        raise Finding("unclear_error", f"HTTP {status}: {text}")
    if 400 <= status < 500:
        if not is_json or not isinstance(err, str):
            raise Finding("unclear_error", f"HTTP {status} without a JSON error ({headers.get('content-type')}): "
                                           f"{text[:160]!r}")  # fmt: skip
        return f"{status}: {err[:120]}"
    if mode == "error":
        raise Silent(f"bad request accepted: HTTP {status}: {text[:160]}")
    return f"{status}"


# -- targets --------------------------------------------------------------------------------------


def t_body(path: str, body: str, mode: str = "error", method: str = "POST", with_session: bool = False) -> Any:
    """POST ``body``; mode 'error': it must be refused with a 4xx JSON error."""
    """POST ``body`` (text, encoded as UTF-8 with surrogates escaped, or latin-1 for raw bytes)."""
    if with_session:
        path = path + ("&" if "?" in path else "?") + f"session={_session()}"
    raw = body.encode("latin-1") if body.startswith("\x00RAW") else body.encode("utf-8", "surrogatepass")
    raw = raw[4:] if body.startswith("\x00RAW") else raw
    return _judge(*_request(method, path, raw), mode)


def t_config(changes: Any, mode: str = "error", raw: Optional[str] = None) -> Any:
    if raw is not None:
        body = raw.replace("SESSION", _session()).encode()
    else:
        body = json.dumps({"session": _session(), "changes": changes}).encode()
    return _judge(*_request("POST", "/api/config", body), mode)


def t_control(action: Any, session: Any = "mine", mode: str = "error") -> Any:
    sid = _session() if session == "mine" else session
    body = json.dumps({"session": sid, "action": action}).encode()
    return _judge(*_request("POST", "/api/control", body), mode)


def t_get(path: str, mode: str = "error", token: Optional[str] = "default", host: Optional[str] = None,
          origin: Optional[str] = None) -> Any:  # fmt: skip
    path = path.replace("SESSION", _session())
    return _judge(*_request("GET", path, token=token, host=host, origin=origin), mode)


def t_headers(what: str) -> Any:
    _server()
    mode = "accept" if what == "content_length_lies_short_body" else "error"  # a valid "{}" was sent
    if what == "content_length_negative":
        r = _request("POST", "/api/session", b"{}", length="-5")
    elif what == "content_length_text":
        r = _request("POST", "/api/session", b"{}", length="abc")
    elif what == "content_length_huge":
        r = _request("POST", "/api/session", b"{}", length=str(10**30))
    elif what == "content_length_lies_short_body":
        r = _request("POST", "/api/session", b"{}", length="100", shut=True)
    elif what == "chunked":
        r = _request("POST", "/api/session", b"2\r\n{}\r\n0\r\n\r\n", extra="Transfer-Encoding: chunked")
    elif what == "body_70KB":
        r = _request("POST", "/api/session", b"{" + b" " * 70000 + b"}")
    elif what == "upload_33MB":
        r = _request("POST", f"/api/load?session={_session()}", b"\0" * (33 * 2**20))
    elif what == "no_token":
        r = _request("GET", "/api/meta", token=None)
    elif what == "bad_host":
        r = _request("GET", "/api/meta", host="evil.example")
    elif what == "bad_origin":
        r = _request("GET", "/api/meta", origin="http://evil.example")
    elif what == "token_surrogate_bytes":
        r = _request("GET", "/api/meta", token="\udcff\udcfe".encode("utf-8", "surrogateescape").decode("latin-1"))
    elif what == "unknown_path":
        r = _request("GET", "/api/nothing")
    elif what == "method_PUT":
        r = _request("PUT", "/api/config", b"{}")
    elif what == "method_DELETE":
        r = _request("DELETE", "/api/session")
    elif what == "url_70000":
        r = _request("GET", "/api/state?session=" + "x" * 70000)
    elif what == "header_line_70000":
        r = _request("GET", "/api/meta", extra="X-Junk: " + "x" * 70000)
    elif what == "200_headers":
        r = _request("GET", "/api/meta", extra="\r\n".join(f"X-H{i}: 1" for i in range(200)))
    elif what == "garbage_request_line":
        r = _raw(b"GARBAGE\r\n\r\n")
    elif what == "http_0.9":
        try:
            r = _raw(b"GET /api/meta\r\n", timeout=10)
        except Finding:
            _alive()
            raise Finding(
                "hang",
                "an HTTP/0.9 request line gets no answer: the handler waits for headers with no "
                "timeout and holds its thread and the connection (the server still serves others)",
            ) from None
    elif what == "binary_request":
        r = _raw(bytes(range(256)) * 8)
    elif what == "path_traversal":
        r = _request("GET", "/static/..%2f..%2fserver.py")
    elif what == "query_surrogate":
        r = _request("GET", "/api/state?session=%ED%A0%80")
    elif what == "query_bad_percent":
        r = _request("GET", "/api/state?session=%ZZ%")
    elif what == "many_sessions":
        from pinnbilo.playground import start

        small, _ = start(heartbeat_timeout=60.0)  # the default limit of sessions
        for _ in range(600):
            st, body, h = _raw(f"POST /api/session HTTP/1.1\r\nHost: 127.0.0.1:{small.port}\r\n"
                               f"X-Pinnbilo-Token: {small.token}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n"
                               "{}".encode(), port=small.port)  # fmt: skip
            if st == 503 and h.get("content-type", "").startswith("application/json"):
                _alive()
                return f"503 at the session limit (documented): {json.loads(body)['error']}"
            if st != 200:
                return _judge(st, body, h, "accept")
        raise Silent("600 sessions opened, over the server's limit")
    else:
        raise KeyError(what)
    return _judge(*r, mode)


def _checkpoint(kind: str) -> bytes:
    import pinnbilo as pb

    d = tempfile.mkdtemp(dir=os.getcwd())
    path = os.path.join(d, "c.npz")
    if kind == "valid_exponential":
        p = pb.problems.exponential_growth()
        m = pb.BiLO(p, p.synthetic_data(20, noise=0.01), hidden=(16, 16), n_res=51)
    elif kind == "custom_problem":
        p = pb.ode_problem("u.t - a*u", 1.0, {"a": 1.0})
        m = pb.BiLO(p, pb.Data(np.array([[0.5]]), np.array([1.0])), hidden=(16, 16), n_res=51)
    elif kind == "lotka_volterra":
        p = pb.problems.lotka_volterra()
        m = pb.PINN(p, p.synthetic_observations(8), hidden=(8,), n_res=11)
    elif kind == "hidden_300":
        p = pb.problems.exponential_growth()
        m = pb.BiLO(p, p.synthetic_data(20), hidden=(300,), n_res=51)
    elif kind == "n_res_5000":
        p = pb.problems.exponential_growth()
        m = pb.BiLO(p, p.synthetic_data(20), hidden=(16,), n_res=5000)
    elif kind == "logistic_u0_outside_control":
        p = pb.problems.logistic_growth(u0=0.999999)
        m = pb.BiLO(p, p.synthetic_data(20), hidden=(16,), n_res=51)
    elif kind == "float32":
        p = pb.problems.exponential_growth()
        m = pb.BiLO(p, p.synthetic_data(20), hidden=(16,), n_res=51, dtype="float32")
    elif kind == "a_true_unknown":
        p = pb.ode_problem("u.t - a*u", 1.0, [pb.Parameter("a", 1.0)], spec={"builtin": "exponential", "kwargs": {}})
        m = pb.BiLO(p, pb.Data(np.array([[0.5]]), np.array([1.0])), hidden=(16,), n_res=51)
    elif kind == "a_true_1e300":
        p = pb.problems.exponential_growth(a_true=1e300)
        m = pb.BiLO(p, pb.Data(np.array([[0.5]]), np.array([1.0])), hidden=(16,), n_res=51)
    elif kind == "sigma_data":
        p = pb.problems.exponential_growth()
        m = pb.BiLO(p, pb.Data(np.array([[0.5]]), np.array([1.0]), sigma=0.1), hidden=(16,), n_res=51)
    else:
        raise KeyError(kind)
    m.fit(steps=5)
    m.save(path)
    return open(path, "rb").read()


def t_load(what: str, mode: str = "error") -> Any:
    sid = _session()
    if what.startswith("ckpt:"):
        blob = _checkpoint(what[5:])
    elif what == "empty":
        blob = b""
    elif what == "random":
        blob = os.urandom(4000)
    elif what == "npy":
        buf = io.BytesIO()
        np.save(buf, np.arange(10.0))
        blob = buf.getvalue()
    elif what == "truncated":
        blob = _checkpoint("valid_exponential")[:3000]
    elif what == "meta_hidden_30000":
        from . import checkpoints as ck

        ck_path = ck._base("builtin")
        meta, arrays = ck._read(ck_path)
        meta["hidden"] = [30000, 30000]
        p = os.path.join(tempfile.mkdtemp(dir=os.getcwd()), "h.npz")
        ck._write(p, meta, arrays)
        blob = open(p, "rb").read()
    elif what == "meta_5000_digit_step":
        from . import checkpoints as ck

        meta, arrays = ck._read(ck._base("builtin"))
        raw = json.dumps(meta).encode().replace(b'"global_step": 20', b'"global_step": 1' + b"0" * 5000)
        p = os.path.join(tempfile.mkdtemp(dir=os.getcwd()), "d.npz")
        ck._write(p, meta, arrays, raw)
        blob = open(p, "rb").read()
    elif what == "meta_deep":
        from . import checkpoints as ck

        meta, arrays = ck._read(ck._base("builtin"))
        p = os.path.join(tempfile.mkdtemp(dir=os.getcwd()), "n.npz")
        ck._write(p, meta, arrays, b"[" * 100000 + b"]" * 100000)
        blob = open(p, "rb").read()
    else:
        raise KeyError(what)
    r = _request("POST", f"/api/load?session={sid}", blob)
    out = _judge(*r, mode)
    # the session must still work
    st, body, _ = _request("GET", f"/api/state?session={sid}")
    if st != 200:
        raise Finding("unclear_error", f"after the upload the session's state answers {st}: {body[:160]!r}")
    return out


# -- cases ----------------------------------------------------------------------------------------

JSON_VALUES: Dict[str, str] = {
    "null": "null", "str": '"abc"', "empty_str": '""', "surrogate": '"\\ud800"', "neg1": "-1", "zero": "0",
    "frac": "1.5", "big": "1000000000", "i63": str(2**63), "1e308": "1e308", "-1e308": "-1e308",
    "tiny": "1e-320", "true": "true", "false": "false", "dict": "{}", "list": "[]", "list3": "[1, 2, 3]",
    "digits4000": "1" + "0" * 4000, "digits5000": "1" + "0" * 5000, "nested_dict": '{"a": {"a": {"a": 1}}}',
    "float_1e400": "1e400", "neg_zero": "-0.0",
}  # fmt: skip


def _valid(control: Dict[str, Any], key: str) -> bool:
    v = json.loads(JSON_VALUES[key]) if key != "digits5000" else None
    k = control["kind"]
    if k == "choice":
        return v in control["choices"]
    if k == "bool":
        return isinstance(v, bool)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    if k == "int" and not (isinstance(v, int) or float(v).is_integer()):
        return False
    try:
        return control["min"] <= float(v) <= control["max"]
    except OverflowError:
        return False


def cases() -> List[Case]:
    from pinnbilo.playground.config import Controls, catalogue

    equations, _ = catalogue()
    schema = Controls(equations).schema()
    out: List[Case] = []
    for c in schema:
        for key, text in JSON_VALUES.items():
            mode = "accept" if _valid(c, key) else "error"
            raw = '{"session": "SESSION", "changes": {"' + c["name"] + '": ' + text + "}}"
            out.append(case(AREA, f"config.{c['name']}={key}", MOD, "t_config", mode, changes=None, raw=raw, mode=mode,
                            call=f"POST /api/config changes={{{c['name']!r}: {text[:30]}}}", timeout=60))  # fmt: skip
    bodies = {
        "malformed": "{", "list": "[1, 2]", "null": "null", "string": '"s"', "nested_100000": "[" * 100000,
        "nested_dict_5000": '{"a": ' * 5000 + "1" + "}" * 5000, "digits5000": '{"a": ' + "1" * 5000 + "}",
        "digits4000": '{"a": ' + "1" * 4000 + "}", "not_utf8": "\x00RAW\xff\xfe{}", "nan": '{"a": NaN}',
        "infinity": '{"a": -Infinity}', "bom": "\ufeff{}", "nul": '{"a": "\x00"}', "lone_surrogate": '{"a": "\\udc00"}',
        "trailing_garbage": "{} {}", "duplicate_keys": '{"session": 1, "session": 2}', "big_float": '{"a": 1e999}',
    }  # fmt: skip
    for route in ("/api/session", "/api/config", "/api/control"):
        for name, body in bodies.items():
            # /api/session ignores its body: any JSON object is fine there
            ok = route == "/api/session" and name in ("duplicate_keys", "lone_surrogate", "digits4000", "big_float")
            out.append(case(AREA, f"body{route.replace('/', '.')}.{name}", MOD, "t_body", "check",
                            path=route, body=body, mode="accept" if ok else "error",
                            call=f"POST {route} body=<{name}>"))  # fmt: skip
    for name, raw in {
        "changes_null": '{"session": "SESSION", "changes": null}',
        "changes_string": '{"session": "SESSION", "changes": "lr=1"}',
        "changes_list": '{"session": "SESSION", "changes": [["lr", 1]]}',
        "changes_number": '{"session": "SESSION", "changes": 5}',
        "changes_1000_unknown": '{"session": "SESSION", "changes": {'
        + ", ".join(f'"k{i}": 1' for i in range(1000))
        + "}}",
        "changes_deep": '{"session": "SESSION", "changes": ' + '{"lr": ' * 500 + "1" + "}" * 501,
        "session_number": '{"session": 123, "changes": {"lr": 0.01}}',
        "session_list": '{"session": ["x"], "changes": {"lr": 0.01}}',
        "session_dict": '{"session": {"a": 1}, "changes": {"lr": 0.01}}',
        "session_long": '{"session": "' + "x" * 60000 + '", "changes": {}}',
        "session_surrogate": '{"session": "\\ud800", "changes": {}}',
        "no_session": '{"changes": {"lr": 0.01}}',
        "equation_and_bad_u0": '{"session": "SESSION", "changes": {"equation": "logistic", "u0": 5}}',
        "neurons_times_layers_max": '{"session": "SESSION", "changes": {"neurons": 256, "layers": 8, "n_res": 2000}}',
    }.items():
        mode = "accept" if name == "neurons_times_layers_max" else "error"
        out.append(case(AREA, f"config.{name}", MOD, "t_config", mode, changes=None, raw=raw, mode=mode,
                        call=f"POST /api/config <{name}>", timeout=60))  # fmt: skip
    for name, action in {"null": None, "number": 5, "unknown": "explode", "list": ["play"], "dict": {"a": 1},
                         "surrogate": "\ud800", "empty": "", "long": "p" * 10000}.items():  # fmt: skip
        out.append(case(AREA, f"control.action_{name}", MOD, "t_control", "error", action=action,
                        call=f"POST /api/control action={str(action)[:20]!r}"))  # fmt: skip
    out.append(case(AREA, "control.unknown_session", MOD, "t_control", "error", action="play", session="nope"))
    for name, path in {
        "state_unknown_session": "/api/state?session=nope",
        "state_no_session": "/api/state",
        "state_since_text": "/api/state?session=SESSION&since=abc",
        "state_since_huge": "/api/state?session=SESSION&since=" + "9" * 5000,
        "save_unknown_session": "/api/save?session=nope",
        "meta_bad_query": "/api/meta?%%%=%%%",
        "state_two_sessions": "/api/state?session=nope&session=SESSION",
    }.items():
        mode = "accept" if name in ("state_since_text", "state_since_huge", "meta_bad_query",
                                    "state_two_sessions") else "error"  # fmt: skip
        out.append(case(AREA, f"get.{name}", MOD, "t_get", mode, path=path, mode=mode, call=f"GET {path[:60]}"))
    for what in ("content_length_negative", "content_length_text", "content_length_huge",
                 "content_length_lies_short_body", "chunked", "body_70KB", "upload_33MB", "no_token", "bad_host",
                 "bad_origin", "token_surrogate_bytes", "unknown_path", "method_PUT", "method_DELETE", "url_70000",
                 "header_line_70000", "200_headers", "garbage_request_line", "http_0.9", "binary_request",
                 "path_traversal", "query_surrogate", "query_bad_percent", "many_sessions"):  # fmt: skip
        out.append(case(AREA, f"http.{what}", MOD, "t_headers", "check" if what == "many_sessions" else "error",
                        what=what, call=f"HTTP: {what.replace('_', ' ')}", timeout=90,
                        isolate=what in ("many_sessions", "upload_33MB")))  # fmt: skip
    for what, mode in (("empty", "error"), ("random", "error"), ("npy", "error"), ("truncated", "error"),
                       ("meta_hidden_30000", "error"), ("meta_5000_digit_step", "error"), ("meta_deep", "error"),
                       ("ckpt:valid_exponential", "accept"), ("ckpt:custom_problem", "error"),
                       ("ckpt:lotka_volterra", "error"), ("ckpt:hidden_300", "error"), ("ckpt:n_res_5000", "error"),
                       ("ckpt:logistic_u0_outside_control", "accept"), ("ckpt:float32", "accept"),
                       ("ckpt:a_true_unknown", "accept"), ("ckpt:a_true_1e300", "error"),
                       ("ckpt:sigma_data", "accept")):  # fmt: skip
        out.append(case(AREA, f"load.{what.replace(':', '_')}", MOD, "t_load", mode, what=what, mode=mode,
                        call=f"POST /api/load body=<{what}>", timeout=90))  # fmt: skip
    for c in out:
        c.mode = "check"  # the targets judge the HTTP answer themselves (see _judge)
    return out
