"""The main path once more over Socket Mode: envelopes in, acks and calls out."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.policy import Policy
from bot.slack.app import Bot
from tests.harness import CHANNEL, Stack, buttons, message_text


class SocketStack(Stack):
    """The same stack, with the bot connected over Socket Mode instead of HTTP."""

    def start_bot(self) -> None:
        settings = dataclasses.replace(
            self.settings(), slack_app_token=self.slack.app_token
        )
        self.bot = Bot(settings, policy=self.policy, clock=self.clock)
        self.bot.start_socket()
        self.slack.wait_connected()

    def stop(self) -> None:
        self.slack.close_connections()
        super().stop()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[SocketStack]:
    stack = SocketStack(tmp_path, policy=Policy())
    yield stack
    stack.stop()


def _command(stack: SocketStack, text: str, user: str = "UALICE") -> dict[str, Any]:
    return stack.slack.send_envelope(
        "slash_commands",
        {
            "command": "/image",
            "text": text,
            "user_id": user,
            "channel_id": CHANNEL,
            "team_id": "T0TEST",
            "response_url": stack.slack.response_url(f"cmd-{user}"),
            "trigger_id": "1.2.3",
        },
    )


def _click(stack: SocketStack, action: str, value: str, ts: str) -> dict[str, Any]:
    return stack.slack.send_envelope(
        "interactive",
        {
            "type": "block_actions",
            "team": {"id": "T0TEST"},
            "user": {"id": "UALICE"},
            "channel": {"id": CHANNEL},
            "container": {"type": "message", "message_ts": ts, "channel_id": CHANNEL},
            "trigger_id": "4.5.6",
            "response_url": stack.slack.response_url("click-UALICE"),
            "actions": [
                {
                    "type": "button",
                    "action_id": f"imagebot:{action}",
                    "value": value,
                    "block_id": "imagebot-actions",
                    "action_ts": str(time.time()),
                }
            ],
        },
    )


def test_socket_mode_previews_applies_and_reports(stack: SocketStack) -> None:
    ack = _command(stack, "set m-plain0001 name=over-socket")
    assert "envelope_id" in ack

    root = stack.preview()
    assert "over-socket" in message_text(root)
    _click(stack, "apply", buttons(root)["apply"]["value"], root.ts)

    assert "Applied" in message_text(stack.thread(root)[0])
    assert stack.emulator.image("m-plain0001")["ImageName"] == "over-socket"


def test_socket_mode_help_is_answered_in_the_ack(stack: SocketStack) -> None:
    ack = _command(stack, "help")

    assert "deprecate" in message_text(ack["payload"])
