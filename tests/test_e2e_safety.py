"""The guarantees, end to end: exactly once, restarts, signatures, escaping, speed."""

from __future__ import annotations

import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.model import State
from tests.harness import CHANNEL, Stack, buttons, message_text, post, sign, wait_until


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    stack = Stack(tmp_path)
    yield stack
    stack.stop()


def test_ten_simultaneous_apply_clicks_write_exactly_once(stack: Stack) -> None:
    stack.command("set m-plain0001 description=ten-clicks")
    root = stack.preview()
    request_id = buttons(root)["apply"]["value"]

    threads = [
        threading.Thread(target=stack.click, args=("apply", request_id))
        for _ in range(10)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    stack.thread(root)
    wait_until(lambda: len(stack.slack.responses) >= 9)
    assert stack.emulator.count("ModifyImageAttribute", dry_run=False) == 1
    assert stack.emulator.image("m-plain0001")["Description"] == "ten-clicks"
    assert len(stack.slack.thread(CHANNEL, root.ts)) == 1


def test_a_restart_between_preview_and_click_keeps_the_button_working(
    stack: Stack,
) -> None:
    stack.command("set m-plain0001 name=after-restart")
    root = stack.preview()

    stack.restart()
    stack.click("apply", buttons(root)["apply"]["value"], message_ts=root.ts)

    assert "Applied" in message_text(stack.thread(root)[0])
    assert stack.emulator.image("m-plain0001")["ImageName"] == "after-restart"


def test_forged_signature_is_refused_and_does_nothing(stack: Stack) -> None:
    body = urllib.parse.urlencode(
        {
            "command": "/image",
            "text": "deprecate m-dbonly01",
            "user_id": "UEVE",
            "channel_id": CHANNEL,
            "response_url": stack.slack.response_url("forged"),
        }
    )

    wait_until(lambda: stack.emulator.count("DescribeImages") >= 1)  # the warm-up
    before = len(stack.emulator.calls)

    wrong = post(stack.url, body, sign(body, secret="not-the-secret"))
    stale = post(stack.url, body, sign(body, ts=int(time.time()) - 600))

    assert wrong.status == 401 and stale.status == 401
    time.sleep(0.3)
    assert stack.slack.calls_to("chat.postMessage") == []
    assert stack.slack.calls_to("response_url") == []
    assert len(stack.emulator.calls) == before


def test_a_click_naming_no_request_executes_nothing(stack: Stack) -> None:
    reply = stack.click("apply", "r-made-up")

    assert reply.status == 200
    assert "no longer exists" in stack.private()
    assert stack.emulator.count("ModifyImageAttribute") == 0


def test_user_text_never_pings_the_channel(stack: Stack) -> None:
    stack.command('set m-plain0001 description="&lt;!channel&gt; look &amp; see"')
    root = stack.preview()
    stack.click("apply", buttons(root)["apply"]["value"], message_ts=root.ts)
    stack.thread(root)

    assert stack.emulator.image("m-plain0001")["Description"] == "<!channel> look & see"
    stack.command("show m-plain0001")
    stack.private()
    posted = [
        str(c.params)
        for c in stack.slack.calls
        if c.method.startswith("chat.") or c.method == "response_url"
    ]
    assert posted
    assert not any("<!channel>" in text for text in posted)
    assert any("&lt;!channel&gt;" in text for text in posted)


def test_slow_ecs_does_not_delay_the_ack(stack: Stack) -> None:
    stack.emulator.latency_ms = 2000

    reply = stack.command("set m-plain0001 name=slow-path")

    assert reply.status == 200
    assert reply.elapsed < 1.0
    stack.preview(timeout=15)


def test_only_the_requester_can_apply_without_approvals(stack: Stack) -> None:
    stack.command("set m-plain0001 name=not-yours")
    root = stack.preview()

    stack.click("apply", buttons(root)["apply"]["value"], user="UBOB")

    assert "Only <@UALICE>" in stack.private("UBOB")
    assert stack.emulator.count("ModifyImageAttribute", dry_run=False) == 0


def test_cancel_closes_the_request_and_removes_buttons(stack: Stack) -> None:
    stack.command("set m-plain0001 name=never")
    root = stack.preview()
    request_id = buttons(root)["cancel"]["value"]

    stack.click("cancel", request_id, message_ts=root.ts)

    assert "cancelled" in message_text(stack.thread(root)[0])
    assert buttons(stack.root(root.ts)) == {}
    stack.click("apply", request_id)
    assert "cancelled" in stack.private(count=1)
    assert stack.emulator.count("ModifyImageAttribute", dry_run=False) == 0


def test_an_image_changed_since_the_preview_is_refused(stack: Stack) -> None:
    stack.command("set m-plain0001 description=fresh")
    root = stack.preview()
    stack.emulator.set_image("m-plain0001", ImageName="changed-elsewhere")

    stack.click("apply", buttons(root)["apply"]["value"], message_ts=root.ts)

    text = message_text(stack.thread(root)[0])
    assert "changed since the preview" in text
    assert "changed-elsewhere" in text
    assert stack.emulator.count("ModifyImageAttribute", dry_run=False) == 0


def test_success_offers_a_revert_that_restores_the_old_values(stack: Stack) -> None:
    stack.command("set m-plain0001 name=temporary")
    root = stack.preview()
    stack.click("apply", buttons(root)["apply"]["value"], message_ts=root.ts)
    revert = buttons(stack.thread(root)[0])["revert"]

    stack.click("revert", revert["value"])
    new_root = stack.preview(count=2)
    assert "Revert" in message_text(new_root)
    stack.click("apply", buttons(new_root)["apply"]["value"], message_ts=new_root.ts)

    stack.thread(new_root)
    assert stack.emulator.image("m-plain0001")["ImageName"] == "plain-image"


def test_a_write_that_times_out_is_settled_by_a_read(stack: Stack) -> None:
    stack.command("set m-plain0001 name=maybe-landed")
    root = stack.preview()
    stack.emulator.inject("ModifyImageAttribute", "apply-then-5xx", times=1)

    stack.click("apply", buttons(root)["apply"]["value"], message_ts=root.ts)

    assert "Applied" in message_text(stack.thread(root)[0])
    assert stack.emulator.count("ModifyImageAttribute", dry_run=False) == 1


def test_a_5xx_write_the_image_does_not_show_stays_unknown(stack: Stack) -> None:
    stack.command("set m-plain0001 name=did-not-land")
    root = stack.preview()
    stack.emulator.inject("ModifyImageAttribute", "5xx", times=1)

    stack.click("apply", buttons(root)["apply"]["value"], message_ts=root.ts)

    text = message_text(stack.thread(root)[0])
    assert "unknown outcome" in text and "check the image" in text
    request = stack.bot.store.get(buttons(root)["apply"]["value"])
    assert request is not None and request.state is State.UNKNOWN
    assert stack.emulator.image("m-plain0001")["ImageName"] == "plain-image"
    assert stack.emulator.count("ModifyImageAttribute", dry_run=False) == 1


def test_a_slack_outage_mid_apply_does_not_stop_the_write(stack: Stack) -> None:
    stack.command("set m-plain0001 name=slack-down")
    root = stack.preview()
    request_id = buttons(root)["apply"]["value"]
    stack.slack.fail("chat.update", "internal_error", times=5)

    stack.click("apply", request_id, message_ts=root.ts)

    assert "Applied" in message_text(stack.thread(root)[0])
    request = stack.bot.store.get(request_id)
    assert request is not None and request.state is State.SUCCEEDED


def test_executing_requests_are_reconciled_at_start_up(stack: Stack) -> None:
    stack.command("set m-plain0001 name=crashed-mid-write")
    root = stack.preview()
    request_id = buttons(root)["apply"]["value"]
    stack.bot.store.transition(request_id, {State.PREVIEWED}, State.EXECUTING)
    stack.emulator.set_image("m-plain0001", ImageName="crashed-mid-write")

    stack.restart()

    assert "Applied" in message_text(stack.thread(root)[0])
    request = stack.bot.store.get(request_id)
    assert request is not None and request.state is State.SUCCEEDED


def test_the_bot_outside_the_channel_tells_the_requester_how_to_invite_it(
    stack: Stack,
) -> None:
    stack.slack.not_in_channel.add(CHANNEL)

    stack.command("set m-plain0001 name=no-channel")

    assert "/invite @imagebot" in stack.private()
    assert stack.bot.service.pending() == []


def test_slack_rate_limits_are_waited_out(stack: Stack) -> None:
    stack.slack.ratelimit("chat.postMessage", times=1, retry_after=1)

    stack.command("set m-plain0001 name=after-429")

    assert "after-429" in message_text(stack.preview())


def test_every_message_posted_was_valid_block_kit(stack: Stack) -> None:
    stack.command("deprecate m-dbonly01")
    root = stack.preview()
    stack.click("apply", buttons(root)["apply"]["value"], message_ts=root.ts)
    stack.thread(root)
    stack.command("show m-dbonly01")
    stack.private()

    assert stack.slack.invalid == []


def test_a_change_that_would_now_empty_its_family_is_refused(stack: Stack) -> None:
    stack.command("deprecate m-webnew01")
    newest = stack.preview()
    stack.command("deprecate m-webold01")
    oldest = stack.preview(count=2)
    assert "last Available" not in message_text(newest)

    stack.click("apply", buttons(oldest)["apply"]["value"], message_ts=oldest.ts)
    stack.thread(oldest)
    stack.click("apply", buttons(newest)["apply"]["value"], message_ts=newest.ts)

    text = message_text(stack.thread(newest)[0])
    assert "no Available image" in text and "fresh preview" in text
    assert stack.emulator.image("m-webnew01")["Status"] == "Available"
    assert stack.emulator.count("ModifyImageAttribute", dry_run=False) == 1
