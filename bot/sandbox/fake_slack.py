"""A local Slack Web API and Socket Mode, for tests, benchmarks and demos.

It answers the Web API methods imagebot calls, keeps the channel state they produce,
validates Block Kit the way Slack rejects it, records every call, and injects errors,
rate limits and latency on request. Socket Mode runs on a WebSocket server that the
real Bolt `SocketModeHandler` connects to.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, NamedTuple, cast
from urllib.parse import parse_qsl, urlsplit

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

if TYPE_CHECKING:
    from websockets.sync.server import Server, ServerConnection

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------------------
# What the fake records
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiCall:
    """One request the fake answered: API method (or "response_url") and its params."""

    method: str
    params: dict[str, Any]
    token: str
    at: float
    response: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok", False))


@dataclass(frozen=True)
class Message:
    """A message as the channel shows it now (after any chat.update)."""

    ts: str
    channel: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None
    user: str


class ResponsePost(NamedTuple):
    """A POST to a response_url: the name given to response_url() and the body."""

    name: str
    body: dict[str, Any]


class _Fault(NamedTuple):
    error: str
    retry_after: int | None  # set for a rate limit


class _Reply(NamedTuple):
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


# ---------------------------------------------------------------------------
# Block Kit validation
# ---------------------------------------------------------------------------

MAX_MESSAGE_BLOCKS = 50
MAX_MODAL_BLOCKS = 100

_TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})
_STYLES = frozenset({"primary", "danger"})
# fmt: off
_KNOWN_BLOCKS = frozenset({
    "actions", "context", "divider", "file", "header", "image", "input", "markdown",
    "rich_text", "section", "table", "video",
})
_KNOWN_ELEMENTS = frozenset({
    "button", "channels_select", "checkboxes", "conversations_select", "datepicker",
    "datetimepicker", "email_text_input", "external_select", "file_input", "image",
    "multi_channels_select", "multi_conversations_select", "multi_external_select",
    "multi_static_select", "multi_users_select", "number_input", "overflow",
    "plain_text_input", "radio_buttons", "rich_text_input", "static_select",
    "timepicker", "url_text_input", "users_select", "workflow_button",
})
# fmt: on
# Slack rejects properties it does not know; checked for the blocks imagebot renders.
_BLOCK_KEYS: dict[str, frozenset[str]] = {
    "section": frozenset({"type", "block_id", "text", "fields", "accessory", "expand"}),
    "header": frozenset({"type", "block_id", "text"}),
    "actions": frozenset({"type", "block_id", "elements"}),
    "context": frozenset({"type", "block_id", "elements"}),
    "divider": frozenset({"type", "block_id"}),
}
_BUTTON_KEYS = frozenset(
    {"type", "text", "action_id", "url", "value", "style", "confirm"}
    | {"accessibility_label"}
)
_TEXT_KEYS = frozenset({"type", "text", "emoji", "verbatim"})
_CONFIRM_KEYS = frozenset({"title", "text", "confirm", "deny", "style"})


def validate_blocks(blocks: list[dict[str, Any]], *, modal: bool = False) -> list[str]:
    """Return what Slack would reject in these blocks (empty when they are valid)."""
    return _blocks_problems(blocks, modal=modal)


def validate_view(view: dict[str, Any]) -> list[str]:
    """Return what Slack would reject in this modal or home view."""
    return _view_problems(view)


def _blocks_problems(blocks: object, *, modal: bool) -> list[str]:
    if not isinstance(blocks, list):
        return ["blocks: must be a list of block objects"]

    problems: list[str] = []
    limit = MAX_MODAL_BLOCKS if modal else MAX_MESSAGE_BLOCKS
    if len(blocks) > limit:
        where = "a modal" if modal else "a message"
        problems.append(f"blocks: {len(blocks)} blocks, at most {limit} in {where}")

    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        path = f"blocks[{index}]"
        if not isinstance(block, dict):
            problems.append(f"{path}: must be an object")
            continue
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            if block_id in block_ids:
                problems.append(f"{path}.block_id: {block_id!r} is used twice")
            block_ids.add(block_id)
        problems.extend(_check_block(path, block))
    return problems


def _view_problems(view: object) -> list[str]:
    if not isinstance(view, dict):
        return ["view: must be an object"]

    problems: list[str] = []
    kind = view.get("type")
    if kind not in ("modal", "home"):
        problems.append("view.type: must be modal or home")
    if kind == "modal":
        _check_text(problems, "view.title", view.get("title"), 24, plain_only=True)
        for key in ("submit", "close"):
            if key in view:
                _check_text(problems, f"view.{key}", view[key], 24, plain_only=True)
    _check_length(problems, "view.callback_id", view.get("callback_id"), 255)
    _check_length(problems, "view.external_id", view.get("external_id"), 255)
    _check_length(problems, "view.private_metadata", view.get("private_metadata"), 3000)

    blocks = view.get("blocks")
    if not isinstance(blocks, list) or not blocks:
        problems.append("view.blocks: must list at least one block")
    else:
        problems.extend(f"view.{p}" for p in _blocks_problems(blocks, modal=True))
        has_input = any(
            isinstance(b, dict) and b.get("type") == "input" for b in blocks
        )
        if kind == "modal" and has_input and "submit" not in view:
            problems.append("view.submit: required when the modal has input blocks")

    if not problems:
        problems.extend(_sdk_problems("view", lambda: View(**copy.deepcopy(view))))
    return problems


def _check_block(path: str, block: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    kind = block.get("type")
    if kind not in _KNOWN_BLOCKS:
        return [f"{path}.type: unknown block type {kind!r}"]
    _check_length(problems, f"{path}.block_id", block.get("block_id"), 255)
    allowed = _BLOCK_KEYS.get(str(kind))
    if allowed is not None:
        _check_keys(problems, path, block, allowed)

    if kind == "section":
        _check_section(problems, path, block)
    elif kind == "header":
        _check_text(problems, f"{path}.text", block.get("text"), 150, plain_only=True)
    elif kind == "actions":
        _check_actions(problems, path, block)
    elif kind == "context":
        _check_context(problems, path, block)

    # The SDK models catch what the checks above leave out (images, selects, inputs).
    if not problems:
        problems.extend(_sdk_problems(path, lambda: Block.parse(copy.deepcopy(block))))
    return problems


def _check_section(problems: list[str], path: str, block: dict[str, Any]) -> None:
    text, fields = block.get("text"), block.get("fields")
    if text is None and fields is None:
        problems.append(f"{path}: a section needs text or fields")
    if text is not None:
        _check_text(problems, f"{path}.text", text, 3000)
    if fields is not None:
        if not isinstance(fields, list) or not 1 <= len(fields) <= 10:
            problems.append(f"{path}.fields: must list 1 to 10 text objects")
        else:
            for i, item in enumerate(fields):
                _check_text(problems, f"{path}.fields[{i}]", item, 2000)
    if "accessory" in block:
        _check_element(problems, f"{path}.accessory", block["accessory"])


def _check_actions(problems: list[str], path: str, block: dict[str, Any]) -> None:
    elements = block.get("elements")
    if not isinstance(elements, list) or not 1 <= len(elements) <= 25:
        problems.append(f"{path}.elements: must list 1 to 25 elements")
        return
    action_ids: set[str] = set()
    for i, element in enumerate(elements):
        _check_element(problems, f"{path}.elements[{i}]", element)
        action_id = element.get("action_id") if isinstance(element, dict) else None
        if isinstance(action_id, str):
            if action_id in action_ids:
                problems.append(
                    f"{path}.elements[{i}].action_id: {action_id!r} is used twice"
                )
            action_ids.add(action_id)


def _check_context(problems: list[str], path: str, block: dict[str, Any]) -> None:
    elements = block.get("elements")
    if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
        problems.append(f"{path}.elements: must list 1 to 10 elements")
        return
    for i, element in enumerate(elements):
        where = f"{path}.elements[{i}]"
        kind = element.get("type") if isinstance(element, dict) else None
        if kind in _TEXT_TYPES:
            _check_text(problems, where, element, 3000)
        elif kind != "image":
            problems.append(f"{where}: must be a text object or an image")


def _check_element(problems: list[str], path: str, element: Any) -> None:
    if not isinstance(element, dict):
        problems.append(f"{path}: must be an object")
        return
    kind = element.get("type")
    if kind not in _KNOWN_ELEMENTS:
        problems.append(f"{path}.type: unknown element type {kind!r}")
        return
    if kind == "button":
        _check_keys(problems, path, element, _BUTTON_KEYS)
        _check_text(problems, f"{path}.text", element.get("text"), 75, plain_only=True)
        _check_length(problems, f"{path}.value", element.get("value"), 2000)
        _check_length(problems, f"{path}.url", element.get("url"), 3000)
        _check_length(
            problems,
            f"{path}.accessibility_label",
            element.get("accessibility_label"),
            75,
        )
        if "style" in element and element["style"] not in _STYLES:
            problems.append(f"{path}.style: must be primary or danger")
    _check_length(problems, f"{path}.action_id", element.get("action_id"), 255)
    if "confirm" in element:
        _check_confirm(problems, f"{path}.confirm", element["confirm"])


def _check_confirm(problems: list[str], path: str, confirm: Any) -> None:
    if not isinstance(confirm, dict):
        problems.append(f"{path}: must be a confirmation object")
        return
    _check_keys(problems, path, confirm, _CONFIRM_KEYS)
    _check_text(problems, f"{path}.title", confirm.get("title"), 100, plain_only=True)
    _check_text(problems, f"{path}.text", confirm.get("text"), 300)
    _check_text(
        problems, f"{path}.confirm", confirm.get("confirm"), 30, plain_only=True
    )
    _check_text(problems, f"{path}.deny", confirm.get("deny"), 30, plain_only=True)
    if "style" in confirm and confirm["style"] not in _STYLES:
        problems.append(f"{path}.style: must be primary or danger")


def _check_text(
    problems: list[str], path: str, obj: Any, limit: int, *, plain_only: bool = False
) -> None:
    if obj is None:
        problems.append(f"{path}: required")
        return
    if not isinstance(obj, dict):
        problems.append(f"{path}: must be a text object, not {type(obj).__name__}")
        return
    _check_keys(problems, path, obj, _TEXT_KEYS)
    kind = obj.get("type")
    if plain_only and kind != "plain_text":
        problems.append(f"{path}.type: must be plain_text")
    elif kind not in _TEXT_TYPES:
        problems.append(f"{path}.type: must be plain_text or mrkdwn")
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        problems.append(f"{path}.text: must be a non-empty string")
    else:
        _check_length(problems, f"{path}.text", text, limit)


def _check_length(problems: list[str], path: str, value: Any, limit: int) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        problems.append(f"{path}: must be a string")
    elif len(value) > limit:
        problems.append(f"{path}: {len(value)} characters, at most {limit}")


def _check_keys(
    problems: list[str], path: str, obj: dict[str, Any], allowed: frozenset[str]
) -> None:
    unknown = sorted(set(obj) - allowed)
    if unknown:
        problems.append(f"{path}: unknown properties {', '.join(unknown)}")


def _sdk_problems(path: str, build: Callable[[], Block | View | None]) -> list[str]:
    try:
        model = build()
        if model is None:
            return [f"{path}: not a block the SDK knows"]
        model.to_dict()  # runs every validator, nested objects included
    except SlackObjectFormationError as exc:
        return [f"{path}: {exc}"]
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        return [f"{path}: malformed ({type(exc).__name__}: {exc})"]
    return []


# ---------------------------------------------------------------------------
# The fake
# ---------------------------------------------------------------------------

_JsonHandler = Callable[["FakeSlack", dict[str, Any]], dict[str, Any]]


class FakeSlack:
    """Slack Web API and Socket Mode on 127.0.0.1, with state, validation and faults."""

    response_url_max_uses = 5  # Slack honours a response_url at most five times

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
        self.bot_token = bot_token
        self.app_token = app_token
        self.host = host
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = "B0TEST"
        self.app_id = "A0TEST"
        self.usergroups: dict[str, list[str]] = {
            k: list(v) for k, v in (usergroups or {}).items()
        }
        self.users: dict[str, dict[str, Any]] = {}  # overrides merged into users.info
        self.not_in_channel: set[str] = set()
        self.missing_channels: set[str] = set()
        self.latency_ms: float = 0.0

        self.calls: list[ApiCall] = []
        self.responses: list[ResponsePost] = []
        self.invalid: list[dict[str, Any]] = []
        self.warnings: list[str] = []
        self.views: dict[str, dict[str, Any]] = {}
        self.envelopes: list[dict[str, Any]] = []
        self.acks: list[dict[str, Any]] = []

        self._port = port
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._messages: dict[str, dict[str, Message]] = {}
        self._ephemeral: dict[tuple[str, str], list[Message]] = {}
        self._faults: dict[str, deque[_Fault]] = {}
        self._response_names: dict[str, str] = {}
        self._response_uses: dict[str, int] = {}
        self._used_triggers: set[str] = set()
        self._serial = itertools.count(1)
        self._http: _ApiServer | None = None
        self._http_thread: threading.Thread | None = None
        self._socket: _SocketModeServer | None = None
        self._stopping = False
        self._listeners: list[Callable[[ApiCall], None]] = []

    # -- lifecycle --------------------------------------------------------------

    def start(self) -> FakeSlack:
        """Listen on host:port (port 0 picks a free one) and serve in a thread."""
        if self._http is not None:
            return self
        self._stopping = False
        self._http = _ApiServer((self.host, self._port), _ApiHandler, self)
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

    # -- inspection -------------------------------------------------------------

    def calls_to(self, method: str) -> list[ApiCall]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] = lambda c: True,
        *,
        count: int = 1,
        timeout: float = 5.0,
    ) -> list[ApiCall]:
        """Wait until `count` calls to `method` match; return all that match."""

        def matching() -> list[ApiCall]:
            return [c for c in self.calls if c.method == method and predicate(c)]

        with self._changed:
            if self._changed.wait_for(lambda: len(matching()) >= count, timeout):
                return matching()
            seen = ", ".join(_describe(c) for c in self.calls) or "none"
            found = len(matching())
        raise AssertionError(
            f"expected {count} matching call(s) to {method} within {timeout} s, "
            f"found {found}; calls seen: {seen}"
        )

    def messages(self, channel: str) -> list[Message]:
        """Top-level messages of a channel, oldest first."""
        with self._lock:
            stored = self._messages.get(channel, {}).values()
            return sorted((m for m in stored if m.thread_ts is None), key=_ts_key)

    def thread(self, channel: str, ts: str) -> list[Message]:
        """Replies under the message `ts`, oldest first (the root itself excluded)."""
        with self._lock:
            stored = self._messages.get(channel, {}).values()
            return sorted((m for m in stored if m.thread_ts == ts), key=_ts_key)

    def message(self, channel: str, ts: str) -> Message:
        with self._lock:
            found = self._messages.get(channel, {}).get(ts)
        if found is None:
            raise KeyError(f"no message {ts} in channel {channel}")
        return found

    def ephemerals(self, channel: str, user: str) -> list[Message]:
        """Ephemeral messages shown to `user` in `channel`, oldest first."""
        with self._lock:
            return list(self._ephemeral.get((channel, user), []))

    def subscribe(self, listener: Callable[[ApiCall], None]) -> None:
        """Call `listener` with every recorded call, on the server thread, after it."""
        with self._lock:
            self._listeners.append(listener)

    # -- failure injection ------------------------------------------------------

    def fail(self, method: str, error: str, times: int = 1) -> None:
        """Answer the next `times` calls to `method` with {"ok": false, "error": error}.

        For method "response_url" the post gets HTTP 404 with `error` as its body.
        """
        with self._lock:
            self._faults.setdefault(method, deque()).extend(
                [_Fault(error, None)] * times
            )

    def ratelimit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next `times` calls to `method` with HTTP 429 and Retry-After."""
        with self._lock:
            self._faults.setdefault(method, deque()).extend(
                [_Fault("ratelimited", retry_after)] * times
            )

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

    def _socket_server(self) -> _SocketModeServer:
        with self._lock:
            return self._socket_server_locked()

    def _socket_server_locked(self) -> _SocketModeServer:
        if self._http is None or self._stopping:
            raise RuntimeError("FakeSlack is not running; call start() first")
        if self._socket is None:
            self._socket = _SocketModeServer(self.host, self._hello)
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
            problems = _blocks_problems(body["blocks"], modal=False)
        elif body.get("response_action") in ("update", "push") and "view" in body:
            problems = _view_problems(body["view"])
        if problems:
            with self._lock:
                self._reject(f"ack:{kind}", body, problems)

    # -- request handling (runs on server threads) ------------------------------

    def _handle_api(self, method: str, params: dict[str, Any], token: str) -> _Reply:
        self._delay()
        arrived = time.time()
        with self._changed:
            reply = self._answer(method, params, token)
            call = ApiCall(method, params, token, arrived, reply.body)
            self.calls.append(call)
            self._changed.notify_all()
        self._notify(call)
        return reply

    def _answer(self, method: str, params: dict[str, Any], token: str) -> _Reply:
        handler = _METHODS.get(method)
        if handler is None:
            return _Reply(404, {"ok": False, "error": "unknown_method"}, {})

        auth_error = self._auth_error(method, token)
        if auth_error:
            return _Reply(200, {"ok": False, "error": auth_error}, {})

        fault = self._next_fault(method)
        if fault is not None:
            if fault.retry_after is not None:
                headers = {"Retry-After": str(fault.retry_after)}
                return _Reply(429, {"ok": False, "error": "ratelimited"}, headers)
            return _Reply(200, {"ok": False, "error": fault.error}, {})

        return _Reply(200, handler(self, params), {})

    def _auth_error(self, method: str, token: str) -> str:
        expected = (
            self.app_token if method == "apps.connections.open" else self.bot_token
        )
        if not token:
            return "not_authed"
        if token == expected:
            return ""
        if token in (self.app_token, self.bot_token):
            return "not_allowed_token_type"
        return "invalid_auth"

    def _next_fault(self, method: str) -> _Fault | None:
        queue = self._faults.get(method)
        return queue.popleft() if queue else None

    def _handle_response_url(self, path: str, body: dict[str, Any]) -> tuple[int, str]:
        self._delay()
        arrived = time.time()
        with self._changed:
            status, text = self._answer_response_url(path, body)
            record = {"ok": status == 200} | ({} if status == 200 else {"error": text})
            call = ApiCall("response_url", body, "", arrived, record)
            self.calls.append(call)
            self._changed.notify_all()
        self._notify(call)
        return status, text

    def _answer_response_url(self, path: str, body: dict[str, Any]) -> tuple[int, str]:
        fault = self._next_fault("response_url")
        if fault is not None:
            return (
                (429, fault.error)
                if fault.retry_after is not None
                else (404, fault.error)
            )

        uses = self._response_uses.get(path, 0) + 1
        self._response_uses[path] = uses
        if uses > self.response_url_max_uses:
            return 404, "used_url"

        if "blocks" in body:
            problems = _blocks_problems(body["blocks"], modal=False)
            if problems:
                self._reject("response_url", body, problems)
                return 400, "invalid_blocks"
            if not body.get("text"):
                self.warnings.append(
                    f"response_url {path}: blocks without top-level text"
                )
        elif not body.get("text") and not body.get("delete_original"):
            return 400, "no_text"

        self.responses.append(ResponsePost(self._response_names.get(path, path), body))
        return 200, "ok"

    def _notify(self, call: ApiCall) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(call)
            except Exception:
                logger.exception("fake Slack listener failed on %s", call.method)

    def _delay(self) -> None:
        if self.latency_ms > 0:
            time.sleep(self.latency_ms / 1000)

    # -- state helpers (called with the lock held) ------------------------------

    def _reject(
        self, method: str, payload: dict[str, Any], problems: list[str]
    ) -> None:
        logger.debug("rejected Block Kit in %s: %s", method, problems)
        self.invalid.append({"method": method, "errors": problems, "payload": payload})

    def _next_ts(self) -> str:
        micros = 1_700_000_000_000_000 + next(self._serial) * 100
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _channel_error(self, channel: Any) -> str:
        if (
            not isinstance(channel, str)
            or not channel
            or channel in self.missing_channels
        ):
            return "channel_not_found"
        if channel in self.not_in_channel:
            return "not_in_channel"
        return ""

    def _content_error(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """Check text and blocks the way chat.* methods do; {} when acceptable."""
        blocks = params.get("blocks")
        if blocks is None:
            if not params.get("text") and not params.get("attachments"):
                return {"ok": False, "error": "no_text"}
            return {}
        if not isinstance(blocks, list):
            self._reject(method, params, ["blocks: must be a JSON array"])
            return {"ok": False, "error": "invalid_blocks_format"}
        problems = _blocks_problems(blocks, modal=False)
        if problems:
            self._reject(method, params, problems)
            return {"ok": False, "error": "invalid_blocks", "errors": problems}
        if not params.get("text"):
            self.warnings.append(
                f"{method}: blocks without top-level text (notifications and "
                "screen readers show nothing)"
            )
        return {}

    def _message_json(self, message: Message) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "message",
            "user": message.user,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "text": message.text,
            "ts": message.ts,
        }
        if message.blocks:
            body["blocks"] = message.blocks
        if message.thread_ts:
            body["thread_ts"] = message.thread_ts
        return body

    # -- Web API methods (called with the lock held) ----------------------------

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://fake-team.slack.com/",
            "team": "Fake Team",
            "user": "imagebot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        error = self._channel_error(channel)
        if error:
            return {"ok": False, "error": error}
        rejected = self._content_error("chat.postMessage", params)
        if rejected:
            return rejected

        channel = str(channel)
        stored = self._messages.setdefault(channel, {})
        thread_ts = params.get("thread_ts") or None
        if thread_ts is not None:
            parent = stored.get(str(thread_ts))
            # Unknown parents are refused so that a wrong stored ts shows up in tests.
            if parent is None:
                return {"ok": False, "error": "thread_not_found"}
            thread_ts = parent.thread_ts or parent.ts

        message = Message(
            ts=self._next_ts(),
            channel=channel,
            text=str(params.get("text") or ""),
            blocks=list(params.get("blocks") or []),
            thread_ts=thread_ts,
            user=self.bot_user_id,
        )
        stored[message.ts] = message
        return {
            "ok": True,
            "channel": channel,
            "ts": message.ts,
            "message": self._message_json(message),
        }

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        error = self._channel_error(channel)
        if error:
            return {"ok": False, "error": error}
        current = self._messages.get(str(channel), {}).get(str(params.get("ts")))
        if current is None:
            return {"ok": False, "error": "message_not_found"}
        if "blocks" in params or "text" in params:
            merged = {"text": current.text} | params
            rejected = self._content_error("chat.update", merged)
            if rejected:
                return rejected

        updated = current
        if "text" in params:
            updated = replace(updated, text=str(params["text"] or ""))
        if "blocks" in params:
            updated = replace(updated, blocks=list(params["blocks"] or []))
        self._messages[current.channel][current.ts] = updated
        return {
            "ok": True,
            "channel": current.channel,
            "ts": current.ts,
            "text": updated.text,
            "message": self._message_json(updated),
        }

    def _chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, user = params.get("channel"), params.get("user")
        error = self._channel_error(channel)
        if error:
            return {"ok": False, "error": error}
        if not isinstance(user, str) or not user:
            return {"ok": False, "error": "user_not_found"}
        rejected = self._content_error("chat.postEphemeral", params)
        if rejected:
            return rejected

        message = Message(
            ts=self._next_ts(),
            channel=str(channel),
            text=str(params.get("text") or ""),
            blocks=list(params.get("blocks") or []),
            thread_ts=params.get("thread_ts") or None,
            user=self.bot_user_id,
        )
        self._ephemeral.setdefault((message.channel, user), []).append(message)
        return {"ok": True, "message_ts": message.ts}

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        trigger_id = params.get("trigger_id")
        if not trigger_id:
            return {"ok": False, "error": "invalid_arguments"}
        if trigger_id in self._used_triggers:
            return {"ok": False, "error": "exchanged_trigger_id"}
        rejected = self._view_error("views.open", params)
        if rejected:
            return rejected

        self._used_triggers.add(str(trigger_id))
        view_id = f"VFAKE{next(self._serial):06d}"
        return {"ok": True, "view": self._store_view(view_id, params["view"])}

    def _views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        view_id = params.get("view_id")
        if not view_id and params.get("external_id"):
            view_id = next(
                (
                    v["id"]
                    for v in self.views.values()
                    if v.get("external_id") == params["external_id"]
                ),
                None,
            )
        current = self.views.get(str(view_id))
        if current is None:
            return {"ok": False, "error": "not_found"}
        if params.get("hash") and params["hash"] != current["hash"]:
            return {"ok": False, "error": "hash_conflict"}
        rejected = self._view_error("views.update", params)
        if rejected:
            return rejected
        return {"ok": True, "view": self._store_view(current["id"], params["view"])}

    def _view_error(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        view = params.get("view")
        if not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        problems = validate_view(view)
        if problems:
            self._reject(method, params, problems)
            return {"ok": False, "error": "invalid_blocks", "errors": problems}
        return {}

    def _store_view(self, view_id: str, view: dict[str, Any]) -> dict[str, Any]:
        stored = copy.deepcopy(view) | {
            "id": view_id,
            "team_id": self.team_id,
            "app_id": self.app_id,
            "bot_id": self.bot_id,
            "root_view_id": view_id,
            "hash": f"{time.time():.6f}.{next(self._serial)}",
            "state": {"values": {}},
        }
        self.views[view_id] = stored
        return copy.deepcopy(stored)

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = params.get("user")
        if not isinstance(user_id, str) or user_id[:1] not in ("U", "W"):
            return {"ok": False, "error": "user_not_found"}
        name = user_id.lower()
        user: dict[str, Any] = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "real_name": f"User {user_id}",
            "deleted": False,
            "tz": "Asia/Shanghai",
            "tz_offset": 28800,
            "is_admin": False,
            "is_owner": False,
            "is_bot": user_id == self.bot_user_id,
            "profile": {"real_name": f"User {user_id}", "display_name": name},
        }
        user |= copy.deepcopy(self.users.get(user_id, {}))
        return {"ok": True, "user": user}

    def _usergroups_users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        members = self.usergroups.get(str(params.get("usergroup")))
        if members is None:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(members)}

    def _apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if self._stopping:
            return {"ok": False, "error": "service_unavailable"}
        return {"ok": True, "url": self._socket_server_locked().url}


_METHODS: dict[str, _JsonHandler] = {
    "auth.test": FakeSlack._auth_test,
    "chat.postMessage": FakeSlack._chat_post_message,
    "chat.update": FakeSlack._chat_update,
    "chat.postEphemeral": FakeSlack._chat_post_ephemeral,
    "views.open": FakeSlack._views_open,
    "views.update": FakeSlack._views_update,
    "users.info": FakeSlack._users_info,
    "usergroups.users.list": FakeSlack._usergroups_users_list,
    "apps.connections.open": FakeSlack._apps_connections_open,
}

# Parameters that slack_sdk sends as JSON strings inside form bodies.
_JSON_PARAMS = ("blocks", "attachments", "view", "metadata")


def _ts_key(message: Message) -> tuple[int, ...]:
    return tuple(int(part) for part in message.ts.split("."))


def _describe(call: ApiCall) -> str:
    outcome = "ok" if call.ok else str(call.response.get("error", "error"))
    return f"{call.method}({outcome})"


# ---------------------------------------------------------------------------
# HTTP transport
# ---------------------------------------------------------------------------


class _ApiServer(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 drops bursts of connections (1 s SYN retry).
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        fake: FakeSlack,
    ) -> None:
        self.fake = fake
        super().__init__(address, handler)


class _ApiHandler(BaseHTTPRequestHandler):
    disable_nagle_algorithm = True
    server_version = "FakeSlack/1"

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    def _dispatch(self) -> None:
        fake = cast(_ApiServer, self.server).fake
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
        for key in _JSON_PARAMS:
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


# ---------------------------------------------------------------------------
# Socket Mode transport
# ---------------------------------------------------------------------------


class _SocketModeServer:
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
