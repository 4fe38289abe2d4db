"""A local Slack Web API and Socket Mode, for tests, benchmarks and demos.

It answers the Web API methods imagebot calls, keeps the channel state they produce,
validates Block Kit the way Slack rejects it, records every call, and injects errors,
rate limits and latency on request. Socket Mode runs on a WebSocket server that the
real Bolt `SocketModeHandler` connects to.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

from bot.sandbox.blockkit import (
    MAX_MESSAGE_BLOCKS,
    MAX_MODAL_BLOCKS,
    validate_blocks,
    validate_view,
)
from bot.sandbox.fake_endpoints import ApiCall, Endpoints, ResponsePost
from bot.sandbox.fake_slack_http import ApiHandler, ApiServer
from bot.sandbox.fake_socket_mode import SocketModeServer
from bot.sandbox.fake_web_api import WEB_API_METHODS, JsonHandler
from bot.sandbox.fake_workspace import Message

__all__ = [
    "MAX_MESSAGE_BLOCKS",
    "MAX_MODAL_BLOCKS",
    "ApiCall",
    "FakeSlack",
    "Message",
    "ResponsePost",
    "validate_blocks",
    "validate_view",
]


class FakeSlack(Endpoints):
    """Slack Web API and Socket Mode on 127.0.0.1, with state, validation and faults."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test-token",
        app_token: str = "xapp-test-token",
        usergroups: Mapping[str, list[str]] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        team_id: str = "T0TEST",
        bot_user_id: str = "UBOT",
    ) -> None:
        super().__init__(
            bot_token=bot_token,
            app_token=app_token,
            usergroups=usergroups,
            team_id=team_id,
            bot_user_id=bot_user_id,
        )
        self.host = host
        self.envelopes: list[dict[str, Any]] = []
        self.acks: list[dict[str, Any]] = []

        self._port = port
        self._http: ApiServer | None = None
        self._http_thread: threading.Thread | None = None
        self._socket: SocketModeServer | None = None
        self._stopping = False

    # -- lifecycle --------------------------------------------------------------

    def start(self) -> FakeSlack:
        """Listen on host:port (port 0 picks a free one) and serve in a thread."""
        if self._http is not None:
            return self
        self._stopping = False
        self._http = ApiServer((self.host, self._port), ApiHandler, self)
        self._http_thread = threading.Thread(
            target=self._http.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-slack-http",
            daemon=True,
        )
        self._http_thread.start()
        return self

    def stop(self) -> None:
        """Close WebSocket connections and both servers, and join their threads."""
        with self._lock:
            self._stopping = True
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            if self._http_thread is not None:
                self._http_thread.join()
            self._http, self._http_thread = None, None
        with self._lock:
            socket_server, self._socket = self._socket, None
        if socket_server is not None:
            socket_server.stop()
        with self._changed:
            self._changed.notify_all()

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- addresses --------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._http is None:
            raise RuntimeError("FakeSlack is not started; call start() first")
        return f"http://{self.host}:{self._http.server_address[1]}"

    @property
    def api_url(self) -> str:
        # The trailing slash matters: slack_sdk joins method names with urljoin.
        return f"{self.base_url}/api/"

    def response_url(self, name: str = "") -> str:
        """Return a fresh response_url; posts to it are recorded under `name`."""
        with self._lock:
            path = f"{name or 'response'}-{next(self._serial)}"
            self._response_names[path] = name
        return f"{self.base_url}/response/{path}"

    @property
    def socket_url(self) -> str:
        return self._socket_server().url

    # -- Socket Mode ------------------------------------------------------------

    def wait_connected(self, timeout: float = 5.0) -> None:
        """Wait until a Socket Mode client holds an open connection."""
        self._socket_server().wait_connected(timeout)

    def close_connections(self, reason: str = "fake-slack closing") -> None:
        """Close every Socket Mode connection from the server side, as Slack does."""
        if self._socket is not None:
            self._socket.close_connections(reason)

    def send_envelope(
        self, kind: str, payload: dict[str, Any], *, timeout: float = 5.0
    ) -> dict[str, Any]:
        """Deliver a payload over Socket Mode and return the client's ack."""
        if kind not in ("slash_commands", "interactive", "events_api"):
            raise ValueError(f"unknown envelope type {kind!r}")
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": True,
            "retry_attempt": 0,
            "retry_reason": "",
        }
        with self._lock:
            self.envelopes.append(envelope)

        server = self._socket_server()
        server.send(json.dumps(envelope), timeout)
        ack = server.wait_ack(envelope_id, timeout)
        self._check_ack(kind, ack)
        return ack

    def _socket_server(self) -> SocketModeServer:
        with self._lock:
            return self._socket_server_locked()

    def _socket_server_locked(self) -> SocketModeServer:
        if self._http is None or self._stopping:
            raise RuntimeError("FakeSlack is not running; call start() first")
        if self._socket is None:
            self._socket = SocketModeServer(self.host, self._hello)
        return self._socket

    def _hello(self, connections: int) -> dict[str, Any]:
        return {
            "type": "hello",
            "num_connections": connections,
            "debug_info": {"host": "fake-slack", "approximate_connection_time": 3600},
            "connection_info": {"app_id": self.app_id},
        }

    def _check_ack(self, kind: str, ack: dict[str, Any]) -> None:
        with self._lock:
            self.acks.append(ack)
        body = ack.get("payload")
        if not isinstance(body, dict):
            return
        problems: list[str] = []
        if "blocks" in body:
            problems = validate_blocks(body["blocks"])
        elif body.get("response_action") in ("update", "push") and "view" in body:
            problems = validate_view(body["view"])
        if problems:
            with self._lock:
                self._reject(f"ack:{kind}", body, problems)

    def _apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if self._stopping:
            return {"ok": False, "error": "service_unavailable"}
        return {"ok": True, "url": self._socket_server_locked().url}

    # apps.connections.open hands out the Socket Mode URL, so it is answered here.
    _METHODS: ClassVar[Mapping[str, JsonHandler]] = {
        **WEB_API_METHODS,
        "apps.connections.open": _apps_connections_open,
    }
