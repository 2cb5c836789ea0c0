"""HTTP plumbing of the OpenAI-protocol servers: a threading HTTP/1.1 server, its handler
(routing, JSON bodies, chunked SSE with coalesced writes, hanging up on purpose) and a
background runner that picks a free port. What is answered lives in server.py (ChatApp).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from workbench.bots.server import ChatApp

logger = logging.getLogger("workbench.bots.server")

_CHAT_PATHS = ("/v1/chat/completions", "/chat/completions")
_MODELS_PATHS = ("/v1/models", "/models")


class ChatHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # Batch runs open dozens of connections at once; the stdlib default backlog of 5 makes the
    # kernel drop SYNs, which costs the client a 1 s retransmit.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: ChatApp) -> None:
        super().__init__(address, ChatHandler)
        self.app = app
        self.stopping = threading.Event()


class ChatHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 plumbing: routing, JSON bodies, chunked SSE streams, and hanging up on purpose."""

    protocol_version = "HTTP/1.1"  # keep-alive and chunked bodies, like real model servers
    disable_nagle_algorithm = True  # send each SSE chunk at once
    server: ChatHTTPServer

    def do_GET(self) -> None:  # noqa: N802 (stdlib naming)
        path = urlsplit(self.path).path.rstrip("/")
        if path in _MODELS_PATHS:
            model = {"id": self.server.app.model_name, "object": "model", "owned_by": "workbench"}
            self.send_json(200, {"object": "list", "data": [model]})
        elif path == "/health":
            self.send_json(200, {"status": "ok"})
        else:
            self.send_error_json(404, f"no route for GET {path}", "not_found")

    def do_POST(self) -> None:  # noqa: N802 (stdlib naming)
        path = urlsplit(self.path).path.rstrip("/")
        try:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"null")
        except ValueError:
            self.send_error_json(400, "the request body is not valid JSON", "invalid_request_error")
            return
        if path not in _CHAT_PATHS:
            self.send_error_json(404, f"no route for POST {path}", "not_found")
        elif not isinstance(body, dict):
            self.send_error_json(400, "the request body must be an object", "invalid_request_error")
        else:
            try:
                self.server.app.handle_chat(self, body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client went away; nothing left to tell it

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        logger.debug("%s %s", self.address_string(), format % args)

    # -- responses -------------------------------------------------------------------------

    def send_head(
        self,
        status: int,
        content_type: str,
        *,
        length: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if length is None:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(length))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()

    # Writes are coalesced: chunks produced back to back leave in one send, and whatever is
    # pending goes out before any pause, hang-up or end of body, and at least every 20 ms, so
    # a slow producer still streams. One send per chunk cost the server most of its CPU at 32
    # streams in parallel (bench/runner_throughput.py).
    FLUSH_EVERY_S = 0.02

    def write(self, data: bytes) -> None:
        pending = self.__dict__.setdefault("_pending", [])
        pending.append(data)
        now = time.monotonic()
        if now - self.__dict__.setdefault("_flushed_at", now) >= self.FLUSH_EVERY_S:
            self.flush_pending()

    def flush_pending(self) -> None:
        pending = self.__dict__.get("_pending")
        self._flushed_at = time.monotonic()
        if pending:
            self._pending: list[bytes] = []
            self.wfile.write(b"".join(pending))

    def send_body(
        self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_head(status, content_type, length=len(data), headers=headers)
        self.write(data)
        self.flush_pending()

    def send_json(self, status: int, obj: object, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(obj, ensure_ascii=False).encode()
        self.send_body(status, data, "application/json", headers)

    def send_error_json(
        self, status: int, message: str, kind: str, headers: dict[str, str] | None = None
    ) -> None:
        error = {"message": message, "type": kind, "code": status}
        self.send_json(status, {"error": error}, headers)

    def start_stream(self) -> None:
        self.send_head(200, "text/event-stream", headers={"Cache-Control": "no-cache"})

    def write_chunk(self, data: bytes) -> None:
        self.write(b"%x\r\n%s\r\n" % (len(data), data))

    def send_event(self, payload: object) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
        self.write_chunk(b"data: " + text.encode() + b"\n\n")

    def end_stream(self) -> None:
        self.write(b"0\r\n\r\n")
        self.flush_pending()

    def abort(self) -> None:
        """Hang up without finishing the body, as a crashing server or a dropped link would."""
        self.flush_pending()
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def pause(self, seconds: float) -> bool:
        """Sleep unless the server is stopping; False means: stop, don't write any more."""
        if seconds <= 0:
            return True
        self.flush_pending()  # what was written before a pause arrives before it
        return not self.server.stopping.wait(seconds)


class RunningServer:
    """A ChatHTTPServer on a background thread; a context manager that picks a free port."""

    def __init__(self, app: ChatApp, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self._httpd = ChatHTTPServer((host, port), app)
        self.host = host
        self.port: int = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"chat-server-{self.port}",
            daemon=True,
        )

    @property
    def base_url(self) -> str:
        """What to give an OpenAI client as `base_url`."""
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.stopping.set()  # wakes handlers sleeping in pause()
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
