"""The main flow end to end: slash command → preview → Apply → result in the thread."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import CHANNEL, Stack, buttons, message_text


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    stack = Stack(tmp_path)
    yield stack
    stack.stop()


def test_show_posts_an_image_card_to_the_requester_only(stack: Stack) -> None:
    reply = stack.command("show m-webnew01")

    assert reply.status == 200
    text = stack.private()
    assert "m-webnew01" in text
    assert "web-base" in text
    assert "resolves to this image" in text
    assert stack.slack.messages(CHANNEL) == []


def test_set_previews_applies_and_reports_in_the_thread(stack: Stack) -> None:
    stack.command('set m-plain0001 name=plain-v2 description="Patched kernel"')

    root = stack.preview()
    shown = message_text(root)
    assert "plain-image" in shown and "plain-v2" in shown
    assert "DryRun passed" in shown
    assert set(buttons(root)) == {"apply", "cancel"}
    assert stack.emulator.count("ModifyImageAttribute", dry_run=True) == 1
    assert stack.emulator.image("m-plain0001")["ImageName"] == "plain-image"

    request_id = buttons(root)["apply"]["value"]
    stack.click("apply", request_id, message_ts=root.ts)

    replies = stack.thread(root)
    assert "Applied" in message_text(replies[0])
    assert "RequestId" in message_text(replies[0])
    assert stack.emulator.image("m-plain0001")["ImageName"] == "plain-v2"
    assert stack.emulator.image("m-plain0001")["Description"] == "Patched kernel"
    assert stack.emulator.count("ModifyImageAttribute", dry_run=False) == 1
    final = stack.root(root.ts)
    assert buttons(final) == {}
    assert "Applied" in message_text(final)
