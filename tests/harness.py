"""End-to-end harness: the real bot over real HTTP, the ECS emulator and a fake Slack.

Tests talk to the bot the way Slack does (signed form posts to /slack/events) and
read what it said from the fake Slack; ECS state is read back from the emulator.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.policy import Policy
from bot.sandbox import slack_client
from bot.sandbox.ecs_emulator import (
    DEMO_ACCESS_KEY_ID,
    DEMO_ACCESS_KEY_SECRET,
    EcsEmulator,
)
from bot.sandbox.fake_slack import FakeSlack, Message
from bot.slack.app import Bot

SIGNING_SECRET = "test-signing-secret"
CHANNEL = "C0CHANNEL"


@dataclass
class Reply:
    status: int
    body: str
    elapsed: float

    def json(self) -> Any:
        return json.loads(self.body)


def sign(
    body: str, secret: str = SIGNING_SECRET, ts: int | None = None
) -> dict[str, str]:
    return slack_client.sign(body, secret, ts)


def post(url: str, body: str, headers: Mapping[str, str]) -> Reply:
    request = urllib.request.Request(url, data=body.encode(), headers=dict(headers))
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read().decode()
            return Reply(response.status, text, time.perf_counter() - started)
    except urllib.error.HTTPError as error:
        text = error.read().decode()
        error.close()
        return Reply(error.code, text, time.perf_counter() - started)


@dataclass
class Stack:
    """The emulator, the fake Slack and the bot, started together."""

    tmp: Path
    policy: Policy = field(default_factory=Policy)
    clock: Callable[[], float] = time.time
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    emulator: EcsEmulator = field(init=False)
    slack: FakeSlack = field(init=False)
    bot: Bot = field(init=False)
    port: int = 0

    def __post_init__(self) -> None:
        self.emulator = EcsEmulator().start()
        self.slack = FakeSlack(usergroups=self.usergroups).start()
        self.start_bot()

    def settings(self) -> Settings:
        return Settings(
            slack_bot_token=self.slack.bot_token,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=self.slack.api_url,
            host="127.0.0.1",
            port=0,
            region="cn-hangzhou",
            ecs_endpoint=self.emulator.endpoint,
            db_path=str(self.tmp / "state.sqlite"),
            access_key_id=DEMO_ACCESS_KEY_ID,
            access_key_secret=DEMO_ACCESS_KEY_SECRET,
        )

    def start_bot(self) -> None:
        self.bot = Bot(self.settings(), policy=self.policy, clock=self.clock)
        self.port = self.bot.start_http()

    def restart(self) -> None:
        """Stop the bot and start a new one on the same state file."""
        self.bot.stop()
        self.start_bot()

    def stop(self) -> None:
        self.bot.stop()
        self.slack.stop()
        self.emulator.stop()
        # Every message of every end-to-end test must be Block Kit that Slack takes.
        assert self.slack.invalid == [], self.slack.invalid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    # -- what Slack sends ----------------------------------------------------

    def command(
        self, text: str, *, user: str = "UALICE", channel: str = CHANNEL
    ) -> Reply:
        body = slack_client.command_body(
            text,
            user=user,
            channel=channel,
            response_url=self.slack.response_url(f"cmd-{user}"),
        )
        return post(self.url, body, sign(body))

    def click(
        self,
        action: str,
        value: str,
        *,
        user: str = "UALICE",
        channel: str = CHANNEL,
        message_ts: str = "",
    ) -> Reply:
        body = slack_client.block_actions_body(
            f"imagebot:{action}",
            value,
            user=user,
            channel=channel,
            message_ts=message_ts or "1.0",
            response_url=self.slack.response_url(f"click-{user}"),
            block_id="imagebot-actions",
        )
        return post(self.url, body, sign(body))

    def submit_reject(self, request_id: str, reason: str, *, user: str) -> Reply:
        view = {
            "id": "V1",
            "type": "modal",
            "callback_id": "imagebot:reject-view",
            "private_metadata": request_id,
        }
        body = slack_client.view_submission_body(
            view, {"reason": {"reason": reason}}, user=user
        )
        return post(self.url, body, sign(body))

    # -- what the bot said ---------------------------------------------------

    def preview(self, *, count: int = 1, timeout: float = 30) -> Message:
        """The newest root message posted in the channel."""
        self.slack.wait_for(
            "chat.postMessage",
            lambda c: not c.params.get("thread_ts") and c.ok,
            count=count,
            timeout=timeout,
        )
        return self.slack.messages(CHANNEL)[-1]

    def private(
        self, user: str = "UALICE", *, count: int = 1, timeout: float = 30
    ) -> str:
        """Text of the newest private reply (response_url) to a user."""
        calls = self.slack.wait_for(
            "response_url",
            lambda c: True,
            count=count,
            timeout=timeout,
        )
        names = [p for p in self.slack.responses if p.name.endswith(user)]
        assert names, f"no private reply to {user}; calls: {calls}"
        return message_text(names[-1].body)

    def thread(
        self, root: Message, *, count: int = 1, timeout: float = 30
    ) -> list[Message]:
        self.slack.wait_for(
            "chat.postMessage",
            lambda c: c.params.get("thread_ts") == root.ts,
            count=count,
            timeout=timeout,
        )
        return self.slack.thread(CHANNEL, root.ts)

    def root(self, ts: str) -> Message:
        return self.slack.message(CHANNEL, ts)


def message_text(message: Message | Mapping[str, Any]) -> str:
    """Every piece of text in a message (top-level text and all blocks)."""
    if isinstance(message, Message):
        text, blocks = message.text, message.blocks
    else:
        text, blocks = str(message.get("text", "")), message.get("blocks", [])
    parts = [text]
    _collect(blocks, parts)
    return "\n".join(parts)


def _collect(node: Any, parts: list[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                parts.append(value)
            else:
                _collect(value, parts)
    elif isinstance(node, list):
        for item in node:
            _collect(item, parts)


def buttons(message: Message) -> dict[str, dict[str, Any]]:
    """The message's live buttons by action name (apply, approve, …)."""
    found: dict[str, dict[str, Any]] = {}
    for block in message.blocks:
        if block.get("type") == "actions":
            for element in block["elements"]:
                found[element["action_id"].split(":", 1)[1]] = element
    return found


def wait_until(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)
