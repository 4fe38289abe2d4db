"""The fake Slack workspace's channels, messages and views, and their checks."""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.sandbox.blockkit import validate_blocks

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    """A message as the channel shows it now (after any chat.update)."""

    ts: str
    channel: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None
    user: str


def ts_key(message: Message) -> tuple[int, ...]:
    """Sort key of a message: its ts as numbers, so "10.1" follows "9.1"."""
    return tuple(int(part) for part in message.ts.split("."))


class Workspace:
    """One team's users, channels and views, guarded by one lock."""

    def __init__(
        self,
        *,
        usergroups: Mapping[str, list[str]] | None,
        team_id: str,
        bot_user_id: str,
    ) -> None:
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
        self.invalid: list[dict[str, Any]] = []
        self.warnings: list[str] = []
        self.views: dict[str, dict[str, Any]] = {}

        self._lock = threading.Lock()
        self._messages: dict[str, dict[str, Message]] = {}
        self._ephemeral: dict[tuple[str, str], list[Message]] = {}
        self._used_triggers: set[str] = set()
        self._serial = itertools.count(1)

    # -- inspection -------------------------------------------------------------

    def messages(self, channel: str) -> list[Message]:
        """Top-level messages of a channel, oldest first."""
        with self._lock:
            stored = self._messages.get(channel, {}).values()
            return sorted((m for m in stored if m.thread_ts is None), key=ts_key)

    def thread(self, channel: str, ts: str) -> list[Message]:
        """Replies under the message `ts`, oldest first (the root itself excluded)."""
        with self._lock:
            stored = self._messages.get(channel, {}).values()
            return sorted((m for m in stored if m.thread_ts == ts), key=ts_key)

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
        problems = validate_blocks(blocks)
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
