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


def test_help_answers_in_the_ack_itself(stack: Stack) -> None:
    reply = stack.command("help deprecate")

    assert reply.status == 200
    body = reply.json()
    assert body["response_type"] == "ephemeral"
    assert "deprecate" in message_text(body)


def test_grammar_error_answers_in_the_ack_with_usage(stack: Stack) -> None:
    reply = stack.command("set m-plain0001")

    assert reply.status == 200
    text = message_text(reply.json())
    assert "Usage" in text and "set" in text
    assert stack.slack.calls_to("chat.postMessage") == []


def test_invalid_value_is_explained_privately_and_posts_nothing(stack: Stack) -> None:
    reply = stack.command("set m-plain0001 name=1bad")

    text = message_text(reply.json())
    assert "start with a letter" in text
    assert stack.slack.calls_to("chat.postMessage") == []
    assert stack.emulator.count("ModifyImageAttribute") == 0


def test_unknown_image_is_reported_privately(stack: Stack) -> None:
    stack.command("show m-nothere01")

    text = stack.private()
    assert "m-nothere01" in text
    assert stack.slack.messages(CHANNEL) == []


def test_family_lists_images_and_where_it_resolves(stack: Stack) -> None:
    stack.command("family web-base")

    text = stack.private()
    for image_id in ("m-webold01", "m-webdep01", "m-webnew01"):
        assert image_id in text
    assert "resolves here" in text


def test_last_available_image_warns_and_apply_asks_to_confirm(stack: Stack) -> None:
    stack.command('deprecate m-dbonly01 reason="broken agent"')

    root = stack.preview()
    text = message_text(root)
    assert "last Available image of family db-base" in text
    apply = buttons(root)["apply"]
    assert apply["style"] == "danger"
    assert "db-base" in apply["confirm"]["text"]["text"]
    assert apply["confirm"]["style"] == "danger"


def test_deprecating_the_newest_image_names_the_rollback_target(stack: Stack) -> None:
    stack.command("deprecate m-webnew01")

    text = message_text(stack.preview())
    assert "Family rollback" in text
    assert "m-webold01" in text
    assert buttons(stack.preview())["apply"]["style"] == "primary"


def test_blocked_change_is_shown_privately_without_buttons(stack: Stack) -> None:
    stack.command("deprecate m-shared01")

    response = stack.slack.wait_for("response_url")[0]
    text = message_text(response.params)
    assert "shared with 1234567890123456" in text
    assert "imagebot:apply" not in str(response.params)
    assert stack.slack.calls_to("chat.postMessage") == []


def test_change_to_current_values_says_nothing_to_change(stack: Stack) -> None:
    stack.command("restore m-webdep01")
    stack.preview()
    stack.command("set m-plain0001 name=plain-image")

    assert "Nothing to change" in stack.private()


def test_rename_restore_history_and_pending(stack: Stack) -> None:
    stack.command("rename m-plain0001 plain-renamed")
    root = stack.preview()
    stack.command("pending")
    assert "m-plain0001" in stack.private()

    stack.click("apply", buttons(root)["apply"]["value"], message_ts=root.ts)
    stack.thread(root)
    stack.command("history m-plain0001")

    history = stack.private(count=2)
    assert "applied" in history and "plain-renamed" in history


def test_help_text_is_escaped_so_placeholders_are_not_links(stack: Stack) -> None:
    body = stack.command("help").json()

    text = message_text(body)
    assert "&lt;image-id&gt;" in text
    assert "<image-id>" not in text


def test_only_what_differs_is_dry_run_and_written(stack: Stack) -> None:
    stack.command("set m-plain0001 status=Available name=plain-v3")

    root = stack.preview()
    assert "DryRun passed" in message_text(root)
    dry_runs = [
        c.params
        for c in stack.emulator.calls
        if c.action == "ModifyImageAttribute" and c.dry_run
    ]
    assert "Status" not in dry_runs[-1] and dry_runs[-1]["ImageName"] == "plain-v3"
    stack.click("apply", buttons(root)["apply"]["value"], message_ts=root.ts)
    stack.thread(root)
    write = [
        c.params
        for c in stack.emulator.calls
        if c.action == "ModifyImageAttribute" and not c.dry_run
    ]
    assert len(write) == 1 and "Status" not in write[0]
