"""The fake Slack's Socket Mode side: a WebSocket server that sends envelopes."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from websockets.sync.server import Server, ServerConnection

logger = logging.getLogger(__name__)


class SocketModeServer:
    """A WebSocket endpoint that speaks Slack's Socket Mode envelopes and acks."""

    def __init__(self, host: str, hello: Callable[[int], dict[str, Any]]) -> None:
        # Imported here so that HTTP-only users of the fake need no websockets package.
        from websockets.sync.server import serve

        self._hello = hello
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._connections: list[ServerConnection] = []
        self._acks: dict[str, dict[str, Any]] = {}
        # The built-in slack_sdk client understands neither compression nor
        # fragmented frames, and it sends its own pings.
        self._server: Server = serve(
            self._serve_connection,
            host,
            0,
            compression=None,
            ping_interval=None,
            close_timeout=2,
            process_request=_only_link_path,
        )
        self.url = f"ws://{host}:{self._server.socket.getsockname()[1]}/link"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-slack-socket", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()

    def close_connections(self, reason: str) -> None:
        with self._lock:
            connections = self._open()
        for connection in connections:
            connection.close(1001, reason)

    def wait_connected(self, timeout: float) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: bool(self._open()), timeout):
                raise AssertionError(
                    f"no Socket Mode client connected to {self.url} within {timeout} s"
                )

    def send(self, text: str, timeout: float) -> None:
        from websockets.exceptions import ConnectionClosed

        self.wait_connected(timeout)
        with self._lock:
            # Slack delivers to any open connection; the newest is the live one
            # while a client replaces an old connection.
            connection = self._open()[-1]
        try:
            connection.send(text)
        except ConnectionClosed as exc:
            raise AssertionError(f"Socket Mode client went away: {exc}") from exc

    def wait_ack(self, envelope_id: str, timeout: float) -> dict[str, Any]:
        with self._changed:
            if not self._changed.wait_for(lambda: envelope_id in self._acks, timeout):
                raise AssertionError(
                    f"Socket Mode client did not ack envelope {envelope_id} "
                    f"within {timeout} s"
                )
            return self._acks.pop(envelope_id)

    def _open(self) -> list[ServerConnection]:
        from websockets.protocol import State

        return [c for c in self._connections if c.state is State.OPEN]

    def _serve_connection(self, connection: ServerConnection) -> None:
        from websockets.exceptions import ConnectionClosed

        with self._changed:
            self._connections.append(connection)
            count = len(self._connections)
            self._changed.notify_all()
        try:
            connection.send(json.dumps(self._hello(count)))
            for raw in connection:
                self._on_message(raw)
        except ConnectionClosed:
            pass  # clients drop the TCP connection without a close frame
        finally:
            with self._changed:
                self._connections.remove(connection)
                self._changed.notify_all()

    def _on_message(self, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except json.JSONDecodeError:
            logger.warning("Socket Mode client sent something that is not JSON")
            return
        envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
        if not envelope_id:
            logger.debug("ignored Socket Mode message without envelope_id")
            return
        with self._changed:
            self._acks[str(envelope_id)] = message
            self._changed.notify_all()


def _only_link_path(connection: ServerConnection, request: Any) -> Any:
    if urlsplit(request.path).path.rstrip("/") == "/link":
        return None
    return connection.respond(404, "unknown Socket Mode path\n")
