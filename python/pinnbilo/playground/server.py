"""The playground's local web server: one page, a small JSON API, loopback only.

Every API request must carry the server's random token (header ``X-Pinnbilo-Token``, or
``?token=`` for the page itself and for the close beacon), a Host naming this server
(127.0.0.1 or localhost at our port: a guard against DNS rebinding) and, when the browser sends
one, an Origin of this server (a guard against other sites posting here). Bad requests get a
JSON ``{"error": ...}`` with a 4xx status, which the page shows.

API (``session`` is the id POST /api/session returned; query parameter or JSON field):

=====  =====================  ==========================================================
GET    /?token=...            the page
GET    /static/<file>         its script and style sheet
GET    /api/meta              controls (bounds, defaults) and the equation catalogue
POST   /api/session           a new session: {"session": id}
GET    /api/state?session=    the latest snapshot (also a heartbeat); &since=V: just
                              {"version": V, "unchanged": true} while V is the latest
POST   /api/config            {"session", "changes": {control: value}} -> the new config
POST   /api/control           {"session", "action": "play" | "pause" | "step" | "reset"}
GET    /api/save?session=     the first model as a pinnbilo checkpoint (.npz download)
POST   /api/load?session=     body: a checkpoint file -> the new config
POST   /api/close?session=    stop and forget the session (sent when the page closes)
=====  =====================  ==========================================================
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import threading
import time
from concurrent.futures import TimeoutError as FutureTimeout
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

from ..errors import InputError
from . import presets
from .config import Controls, catalogue
from .session import MAX_CHECKPOINT_BYTES, Session

MAX_JSON_BYTES = 64 * 1024
STATIC = {"app.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8"}


class HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class PlaygroundServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer bound to 127.0.0.1 holding the token and the sessions."""

    daemon_threads = True

    def __init__(self, port: int = 0, heartbeat_timeout: float = 10.0, max_sessions: int = 8) -> None:
        # Before binding: a failed bind calls server_close, which needs these.
        self.sessions: Dict[str, Session] = {}
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", port), Handler)
        self.port = int(self.server_address[1])
        self.token = secrets.token_urlsafe(24)
        self.heartbeat_timeout = float(heartbeat_timeout)
        # A session nobody has asked about for this long is closed and forgotten.
        self.expire_after = max(60.0, 6.0 * self.heartbeat_timeout)
        self.max_sessions = int(max_sessions)
        equations, self.skipped = catalogue()
        self.controls = Controls(equations)
        self.allowed_hosts = {f"127.0.0.1:{self.port}", f"localhost:{self.port}"}
        self.allowed_origins = {f"http://{h}" for h in self.allowed_hosts}

    @property
    def url(self) -> str:
        """The page's address, token included."""
        return f"http://127.0.0.1:{self.port}/?token={self.token}"

    def new_session(self) -> Session:
        self.expire()
        with self.lock:
            if len(self.sessions) >= self.max_sessions:
                raise HttpError(503, f"too many open pages ({self.max_sessions}); close one and reload")
        s = Session(self.controls, self.heartbeat_timeout)
        with self.lock:
            self.sessions[s.id] = s
        return s

    def session(self, sid: object) -> Session:
        self.expire()
        with self.lock:
            s = self.sessions.get(sid) if isinstance(sid, str) else None
        if s is None:
            raise HttpError(404, "unknown or expired session; reload the page")
        s.touch()
        return s

    def close_session(self, sid: str) -> None:
        with self.lock:
            s = self.sessions.pop(sid, None)
        if s is not None:
            s.close()

    def expire(self) -> None:
        """Forget sessions whose page has been silent for ``expire_after`` seconds."""
        now = time.monotonic()
        with self.lock:
            old = [k for k, s in self.sessions.items() if now - s.last_seen > self.expire_after]
            gone = [self.sessions.pop(k) for k in old]
        for s in gone:
            s.close()

    def server_close(self) -> None:
        with self.lock:
            gone = list(self.sessions.values())
            self.sessions.clear()
        for s in gone:
            s.close()
        for s in gone:
            s.join()
        super().server_close()


class Handler(BaseHTTPRequestHandler):
    server: PlaygroundServer
    raw_requestline: bytes  # set by http.server before parse_request
    server_version = "pinnbilo-playground"
    protocol_version = "HTTP/1.1"
    # Seconds a connection may sit without sending (per read): a client that stops half-way through
    # a request line, its headers or its body frees its thread instead of holding it for ever.
    timeout = 30.0

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the terminal shows the URL only
        pass

    # -- http.server's own refusals ------------------------------------------------------------------
    def parse_request(self) -> bool:
        line = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        words = line.split()
        if len(words) == 2:
            # An HTTP/0.9 request line (no version): http.server would go on to wait for headers
            # that never come. Refused at once, with a status line the client can read.
            self.command, self.request_version, self.requestline = "", "HTTP/1.1", line
            self.send_error(HTTPStatus.BAD_REQUEST, "the request line needs an HTTP version (HTTP/1.1)")
            return False
        return super().parse_request()

    def send_error(self, code: int, message: Optional[str] = None, explain: Optional[str] = None) -> None:
        """http.server's own refusals (bad request line, long URL or headers, unknown method) as the
        JSON ``{"error": ...}`` every other answer uses, always with a status line; the connection closes."""
        extra = {}
        if code == HTTPStatus.NOT_IMPLEMENTED:  # an unknown method is the client's mistake, not the server's
            code = HTTPStatus.METHOD_NOT_ALLOWED
            message = f"method {str(self.command)[:20]!r} is not supported here: use GET or POST"
            extra["Allow"] = "GET, HEAD, POST"
        if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
            self.request_version = "HTTP/1.1"  # http.server answers "HTTP/0.9" requests without a status line
        text = message or self.responses.get(code, ("bad request", ""))[0]
        body = json.dumps({"error": text[:300]}).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Connection", "close")
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    # -- plumbing --------------------------------------------------------------------------------
    def _send(self, status: int, body: bytes, ctype: str, extra: Optional[Dict[str, str]] = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        if self.command == "POST" and not getattr(self, "_body_read", False):
            # An unread request body would be taken for the next request: end the connection.
            self.close_connection = True
            self.send_header("Connection", "close")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, obj: Any) -> None:
        self._send(status, json.dumps(obj, allow_nan=False).encode(), "application/json")

    def _error(self, status: int, message: str) -> None:
        self._body_read = False  # a refused request's body may be unread: _send ends the connection
        self._send(status, json.dumps({"error": message}).encode(), "application/json")

    def _query(self) -> Dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}

    def _check_origin(self) -> None:
        host = self.headers.get("Host", "")
        if host not in self.server.allowed_hosts:
            raise HttpError(403, f"bad Host header {host[:80]!r}: open the playground at 127.0.0.1 or localhost")
        origin = self.headers.get("Origin")
        if origin is not None and origin not in self.server.allowed_origins:
            raise HttpError(403, f"requests from origin {origin[:80]!r} are not accepted")

    def _check_token(self) -> None:
        token = self.headers.get("X-Pinnbilo-Token") or self._query().get("token", "")
        if not secrets.compare_digest(token.encode(), self.server.token.encode()):
            raise HttpError(403, "missing or wrong token: open the URL the server printed")

    def _body(self, limit: int) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raise HttpError(411, "send a Content-Length")
        try:
            n = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            raise HttpError(400, "bad Content-Length") from None
        if n < 0:
            raise HttpError(400, "bad Content-Length")
        if n > limit:
            raise HttpError(413, f"request body too large ({n} bytes; at most {limit})")
        self._body_read = True
        try:
            return self.rfile.read(n) if n else b""
        except TimeoutError:
            self.close_connection = True
            raise HttpError(408, f"the request body did not arrive within {self.timeout:g} s") from None

    def _json_body(self) -> Dict[str, Any]:
        raw = self._body(MAX_JSON_BYTES)

        def no_constants(c: str) -> None:
            raise HttpError(400, f"{c} is not a number the playground accepts")

        try:
            obj = json.loads(raw.decode("utf-8") or "{}", parse_constant=no_constants)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise HttpError(400, f"request body is not JSON: {exc}") from None
        except RecursionError:
            raise HttpError(400, "request body is nested too deeply") from None
        except ValueError as exc:  # e.g. an integer of thousands of digits
            raise HttpError(400, f"request body has a value the playground cannot read: {str(exc)[:80]}") from None
        if not isinstance(obj, dict):
            raise HttpError(400, "request body must be a JSON object")
        return obj

    def _dispatch(self, routes: Dict[str, Any]) -> None:
        path = urlsplit(self.path).path
        self._body_read = False
        try:
            self._check_origin()
            fn = routes.get(path)
            if fn is None and path.startswith("/static/") and self.command in ("GET", "HEAD"):
                return self._static(path[len("/static/") :])
            if fn is None:
                raise HttpError(404, f"no such page: {path[:80]}")
            self._check_token()
            fn()
        except HttpError as exc:
            self._error(exc.status, str(exc))
        except InputError as exc:
            self._error(400, str(exc))
        except FutureTimeout:
            self._error(503, "the session is busy training; try again in a moment")
        except Exception as exc:  # a server bug: answer, keep serving, say it in the terminal
            print(f"playground: {type(exc).__name__}: {exc}", file=sys.stderr)
            self._error(500, f"internal error: {type(exc).__name__}: {exc}")

    def do_GET(self) -> None:
        self._dispatch({"/": self._page, "/api/meta": self._meta, "/api/state": self._state, "/api/save": self._save})

    do_HEAD = do_GET

    def do_POST(self) -> None:
        self._dispatch(
            {
                "/api/session": self._new_session,
                "/api/config": self._config,
                "/api/control": self._control,
                "/api/load": self._load,
                "/api/close": self._close,
            }
        )

    # -- routes ----------------------------------------------------------------------------------
    def _page(self) -> None:
        html = resources.files(__package__).joinpath("static", "index.html").read_bytes()
        csp = "default-src 'self'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'"
        self._send(200, html, "text/html; charset=utf-8", {"Content-Security-Policy": csp})

    def _static(self, name: str) -> None:
        if name not in STATIC:
            raise HttpError(404, f"no such file: {name[:80]}")
        self._send(200, resources.files(__package__).joinpath("static", name).read_bytes(), STATIC[name])

    def _meta(self) -> None:
        c = self.server.controls
        self._json(
            200,
            {
                "controls": c.schema(),
                "equations": [e.describe() for e in c.equations.values()],
                "unsupported": self.server.skipped,
                "defaults": c.defaults(),
                "presets": presets.describe(c),
                "heartbeat_timeout": self.server.heartbeat_timeout,
            },
        )

    def _sid(self, body: Optional[Dict[str, Any]] = None) -> Session:
        sid = (body or {}).get("session") or self._query().get("session")
        return self.server.session(sid)

    def _new_session(self) -> None:
        self._json_body()
        s = self.server.new_session()
        self._json(200, {"session": s.id})

    def _state(self) -> None:
        s = self._sid()
        version, snapshot = s.published
        if self._query().get("since") == str(version):
            self._json(200, {"version": version, "unchanged": True})  # the page has this one already
        else:
            self._send(200, snapshot, "application/json")

    def _config(self) -> None:
        body = self._json_body()
        s = self._sid(body)
        self._json(200, {"config": s.configure(body.get("changes"))})

    def _control(self) -> None:
        body = self._json_body()
        s = self._sid(body)
        s.control(body.get("action"))
        self._json(200, {"ok": True})

    def _save(self) -> None:
        name, blob = self._sid().save()
        self._send(200, blob, "application/octet-stream", {"Content-Disposition": f'attachment; filename="{name}"'})

    def _load(self) -> None:
        s = self._sid()
        blob = self._body(MAX_CHECKPOINT_BYTES)
        if not blob:
            raise HttpError(400, "no file: send the checkpoint (.npz) as the request body")
        self._json(200, {"config": s.load(blob)})

    def _close(self) -> None:
        sid = self._query().get("session", "")
        self._body(MAX_JSON_BYTES)
        self.server.close_session(sid)
        self._json(200, {"ok": True})


def start(
    port: int = 0, heartbeat_timeout: float = 10.0, max_sessions: int = 8
) -> Tuple[PlaygroundServer, threading.Thread]:
    """A server answering on a background thread (for tests and notebooks); stop with
    ``server.shutdown(); server.server_close()``."""
    server = PlaygroundServer(port, heartbeat_timeout, max_sessions)
    thread = threading.Thread(target=server.serve_forever, name="pinnbilo-playground", daemon=True)
    thread.start()
    return server, thread


def _can_open_browser() -> bool:
    # Without a display, webbrowser falls back to text browsers that would take over the terminal.
    if sys.platform.startswith("linux") or "bsd" in sys.platform:
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def serve(port: int = 0, open_browser: bool = True, heartbeat_timeout: float = 10.0) -> int:
    """Run the playground until Ctrl-C: print the URL and open it in a browser when there is one.

    Returns the exit status: 0, or 1 when the port cannot be had (printed on stderr)."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        print(f"pinnbilo playground: port must be an integer in [0, 65535], got {port!r}", file=sys.stderr)
        return 1
    try:
        server = PlaygroundServer(port, heartbeat_timeout)
    except OSError as exc:
        print(f"pinnbilo playground: cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"pinnbilo playground: {server.url}", flush=True)
    print("press Ctrl-C to stop", flush=True)
    if open_browser and _can_open_browser():
        try:
            import webbrowser

            webbrowser.open(server.url)
        except Exception:  # no browser is not an error: the URL is printed
            pass
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", flush=True)
    finally:
        server.server_close()
    return 0


__all__: List[str] = ["PlaygroundServer", "start", "serve"]
