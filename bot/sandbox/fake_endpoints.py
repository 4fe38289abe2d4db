"""How the fake Slack answers a request: tokens, faults, latency, the call log."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

from bot.sandbox.blockkit import validate_blocks
from bot.sandbox.fake_web_api import WEB_API_METHODS, JsonHandler, WebApiMethods

logger = logging.getLogger(__name__)


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


class ResponsePost(NamedTuple):
    """A POST to a response_url: the name given to response_url() and the body."""

    name: str
    body: dict[str, Any]


class _Fault(NamedTuple):
    error: str
    retry_after: int | None  # set for a rate limit


class Reply(NamedTuple):
    """An HTTP answer to a Web API call."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str]


class Endpoints(WebApiMethods):
    """The Web API and response_url endpoints, with injected faults and a call log."""

    response_url_max_uses = 5  # Slack honours a response_url at most five times
    _METHODS: ClassVar[Mapping[str, JsonHandler]] = WEB_API_METHODS

    def __init__(
        self,
        *,
        bot_token: str,
        app_token: str,
        usergroups: Mapping[str, list[str]] | None,
        team_id: str,
        bot_user_id: str,
    ) -> None:
        super().__init__(
            usergroups=usergroups, team_id=team_id, bot_user_id=bot_user_id
        )
        self.bot_token = bot_token
        self.app_token = app_token
        self.latency_ms: float = 0.0
        self.calls: list[ApiCall] = []
        self.responses: list[ResponsePost] = []

        self._changed = threading.Condition(self._lock)
        self._faults: dict[str, deque[_Fault]] = {}
        self._response_names: dict[str, str] = {}
        self._response_uses: dict[str, int] = {}
        self._listeners: list[Callable[[ApiCall], None]] = []

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

    # -- request handling (runs on server threads) ------------------------------

    def _handle_api(self, method: str, params: dict[str, Any], token: str) -> Reply:
        self._delay()
        arrived = time.time()
        with self._changed:
            reply = self._answer(method, params, token)
            call = ApiCall(method, params, token, arrived, reply.body)
            self.calls.append(call)
            self._changed.notify_all()
        self._notify(call)
        return reply

    def _answer(self, method: str, params: dict[str, Any], token: str) -> Reply:
        handler = self._METHODS.get(method)
        if handler is None:
            return Reply(404, {"ok": False, "error": "unknown_method"}, {})

        auth_error = self._auth_error(method, token)
        if auth_error:
            return Reply(200, {"ok": False, "error": auth_error}, {})

        fault = self._next_fault(method)
        if fault is not None:
            if fault.retry_after is not None:
                headers = {"Retry-After": str(fault.retry_after)}
                return Reply(429, {"ok": False, "error": "ratelimited"}, headers)
            return Reply(200, {"ok": False, "error": fault.error}, {})

        return Reply(200, handler(self, params), {})

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
            problems = validate_blocks(body["blocks"])
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


def _describe(call: ApiCall) -> str:
    outcome = "ok" if call.ok else str(call.response.get("error", "error"))
    return f"{call.method}({outcome})"
