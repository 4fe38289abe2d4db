"""The ECS emulator's HTTP side: requests and answers, and the threaded server."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import sys
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bot.sandbox.ecs_errors import ApiError

log = logging.getLogger(__name__)


def new_request_id() -> str:
    """A fresh ECS RequestId."""
    return str(uuid.uuid4()).upper()


@dataclass
class Request:
    """One HTTP request as the emulator sees it."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, list[str]]  # lower-case names
    body: bytes

    def header(self, name: str) -> str:
        values = self.headers.get(name, [])
        return values[0] if values else ""


@dataclass
class Response:
    """One HTTP answer; the emulator answers None to drop the connection."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json;charset=utf-8"


def json_response(status: int, body: Mapping[str, Any]) -> Response:
    """A JSON answer, with non-ASCII text kept as UTF-8."""
    return Response(status, json.dumps(body, ensure_ascii=False).encode("utf-8"))


def error_response(error: ApiError, request_id: str, region: str) -> Response:
    """The JSON answer ECS gives for an error."""
    body = {
        "RequestId": request_id,
        "HostId": f"ecs.{region}.aliyuncs.com",
        "Code": error.code,
        "Message": error.message,
        "Recommend": (
            f"https://api.aliyun.com/troubleshoot?q={error.code}"
            f"&product=Ecs&requestId={request_id}"
        ),
    }
    response = json_response(error.status, body)
    response.headers.update(error.headers)
    return response


def outcome(response: Response | None) -> tuple[int, str]:
    """Status and error Code of an answer, for the call log (0 = dropped)."""
    if response is None:
        return 0, ""
    if response.status == 200:
        return 200, ""
    try:
        return response.status, str(json.loads(response.body).get("Code", ""))
    except ValueError:
        return response.status, ""


class Server(ThreadingHTTPServer):
    """A threaded server that passes each request to `answer` and tracks connections."""

    daemon_threads = True
    request_queue_size = 64

    def __init__(
        self, address: tuple[str, int], answer: Callable[[Request], Response | None]
    ) -> None:
        self.answer = answer
        self._open: dict[socket.socket, threading.Thread] = {}
        self._open_lock = threading.Lock()
        super().__init__(address, Handler)

    def opened(self, connection: socket.socket) -> None:
        with self._open_lock:
            self._open[connection] = threading.current_thread()

    def closed(self, connection: socket.socket) -> None:
        with self._open_lock:
            self._open.pop(connection, None)

    def close_connections(self) -> None:
        """Shut idle keep-alive connections so their threads end, then join them."""
        with self._open_lock:
            open_now = list(self._open.items())
        for connection, _ in open_now:
            with contextlib.suppress(OSError):  # the client closed it already
                connection.shutdown(socket.SHUT_RDWR)
        for _, thread in open_now:
            thread.join(timeout=5)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, OSError):
            log.debug("ECS emulator: client %s went away: %s", client_address, error)
        else:
            log.exception("ECS emulator: request from %s failed", client_address)


class Handler(BaseHTTPRequestHandler):
    """Turns each HTTP request into a Request and writes back the server's answer."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "imagebot-ecs-emulator"
    sys_version = ""
    timeout = 30  # idle keep-alive connections close after this many seconds
    server: Server

    def setup(self) -> None:
        super().setup()
        self.server.opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.closed(self.connection)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one INFO line per call comes from EcsEmulator._record

    def send_error(
        self, code: int, message: str | None = None, explain: str | None = None
    ) -> None:
        # The SDK cannot parse an HTML error page, so even protocol errors are JSON.
        body = json.dumps(
            {
                "RequestId": new_request_id(),
                "Code": "InvalidRequest",
                "Message": message or explain or f"HTTP {code}",
            }
        ).encode()
        self.close_connection = True
        self.send_response(code, message)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _serve(self) -> None:
        headers: dict[str, list[str]] = {}
        for name, value in self.headers.items():
            headers.setdefault(name.lower(), []).append(value)
        request = Request(
            method=self.command,
            path=self.path,
            query=parse_qsl(urlsplit(self.path).query, keep_blank_values=True),
            headers=headers,
            body=self._read_body(),
        )
        response = self.server.answer(request)
        if response is None:
            self.close_connection = True
            return
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.body)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""
