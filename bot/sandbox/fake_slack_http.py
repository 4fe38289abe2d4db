"""The fake Slack's HTTP transport: Web API calls and response_url posts."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

from bot.sandbox.fake_endpoints import Endpoints

logger = logging.getLogger(__name__)

# Parameters that slack_sdk sends as JSON strings inside form bodies.
JSON_PARAMS = ("blocks", "attachments", "view", "metadata")


class ApiServer(ThreadingHTTPServer):
    """A threaded HTTP server in front of the fake's endpoints."""

    daemon_threads = True
    # The default backlog of 5 drops bursts of connections (1 s SYN retry).
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        fake: Endpoints,
    ) -> None:
        self.fake = fake
        super().__init__(address, handler)


class ApiHandler(BaseHTTPRequestHandler):
    """Routes /api/METHOD and /response/NAME requests to the fake."""

    disable_nagle_algorithm = True
    server_version = "FakeSlack/1"

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    def _dispatch(self) -> None:
        fake = cast(ApiServer, self.server).fake
        url = urlsplit(self.path)
        try:
            params = dict(parse_qsl(url.query, keep_blank_values=True))
            params.update(self._read_body())
            if url.path.startswith("/api/"):
                token = self._token(params)
                reply = fake._handle_api(url.path[len("/api/") :], params, token)
                self._send(reply.status, json.dumps(reply.body), reply.headers)
            elif url.path.startswith("/response/") and self.command == "POST":
                status, text = fake._handle_response_url(
                    url.path[len("/response/") :], params
                )
                self._send(status, text, {}, content_type="text/plain; charset=utf-8")
            else:
                self._send(404, json.dumps({"ok": False, "error": "not_found"}), {})
        except ValueError as exc:
            self._send(
                400, json.dumps({"ok": False, "error": f"bad_request: {exc}"}), {}
            )
        except (BrokenPipeError, ConnectionResetError):
            logger.debug("client left before the answer to %s", url.path)
        except Exception:
            logger.exception("fake Slack failed on %s %s", self.command, url.path)
            self._send(500, json.dumps({"ok": False, "error": "fatal_error"}), {})

    def _read_body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return {}
        if self.headers.get_content_type() == "application/json":
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise ValueError("JSON body must be an object")
            return body
        params: dict[str, Any] = dict(parse_qsl(raw.decode(), keep_blank_values=True))
        for key in JSON_PARAMS:
            if isinstance(params.get(key), str):
                # Malformed JSON stays text; the method answers invalid_blocks_format.
                with contextlib.suppress(json.JSONDecodeError):
                    params[key] = json.loads(params[key])
        return params

    def _token(self, params: dict[str, Any]) -> str:
        header = self.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            params.pop("token", None)
            return header[len("Bearer ") :].strip()
        return str(params.pop("token", ""))

    def _send(
        self,
        status: int,
        body: str,
        headers: Mapping[str, str],
        *,
        content_type: str = "application/json; charset=utf-8",
    ) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
