"""Peer approval, break-glass, expiry and the audit trail, end to end."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from bot import cli
from bot.policy import Policy
from tests.harness import CHANNEL, Stack, buttons, message_text, wait_until

StackFactory = Callable[..., Stack]


@pytest.fixture
def make_stack(tmp_path: Path) -> Iterator[StackFactory]:
    stacks: list[Stack] = []

    def make(policy: Policy, **kwargs: object) -> Stack:
        stack = Stack(tmp_path, policy=policy, **kwargs)  # type: ignore[arg-type]
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.stop()


def _modifies(stack: Stack) -> int:
    return stack.emulator.count("ModifyImageAttribute", dry_run=False)


def test_a_change_reaches_ecs_only_after_a_peer_approves(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(Policy(approvals_required=1))
    stack.command("set m-plain0001 name=peer-approved")
    root = stack.preview()
    assert set(buttons(root)) == {"approve", "reject", "cancel"}
    assert "needs 1 more approval" in message_text(root)
    request_id = buttons(root)["approve"]["value"]

    stack.click("approve", request_id, user="UALICE")
    assert "cannot approve" in stack.private("UALICE")
    stack.click("apply", request_id, user="UALICE")
    assert "still needs 1 approval" in stack.private("UALICE", count=2)
    assert _modifies(stack) == 0

    stack.click("approve", request_id, user="UBOB")
    thread = stack.thread(root, count=2)
    assert "<@UBOB> approved" in message_text(thread[0])
    assert "Applied" in message_text(thread[1])
    assert _modifies(stack) == 1
    assert "<@UBOB>" in message_text(stack.root(root.ts))


def test_only_listed_approvers_and_group_members_count(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(
        Policy(approvals_required=1, approvers=("UCAROL", "S0OPS")),
        usergroups={"S0OPS": ["UDAVE"]},
    )
    stack.command("set m-plain0001 name=group-approved")
    root = stack.preview()
    request_id = buttons(root)["approve"]["value"]

    stack.click("approve", request_id, user="UBOB")
    assert "UBOB" not in str(stack.bot.store.get(request_id))
    assert "not an approver" in stack.private("UBOB")
    stack.click("approve", request_id, user="UDAVE")

    assert "Applied" in message_text(stack.thread(root, count=2)[1])
    assert stack.slack.calls_to("usergroups.users.list")


def test_two_approvals_from_distinct_people_and_doubles_count_once(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(Policy(approvals_required=2))
    stack.command("set m-plain0001 name=two-approvals")
    root = stack.preview()
    request_id = buttons(root)["approve"]["value"]

    stack.click("approve", request_id, user="UBOB")
    stack.thread(root)
    stack.click("approve", request_id, user="UBOB")
    assert "already approved" in stack.private("UBOB")
    assert _modifies(stack) == 0
    wait_until(lambda: "1 more approval" in message_text(stack.root(root.ts)))

    stack.click("approve", request_id, user="UCAROL")
    assert "Applied" in message_text(stack.thread(root, count=3)[2])
    assert _modifies(stack) == 1


def test_risky_changes_need_the_stricter_approval_count(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(Policy(approvals_required=1, risky_approvals_required=2))
    stack.command("deprecate m-dbonly01")

    root = stack.preview()

    assert "needs 2 more approval" in message_text(root)
    approve = buttons(root)["approve"]
    assert approve["style"] == "danger" and "confirm" in approve


def test_reject_asks_for_a_reason_and_closes_the_request(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(Policy(approvals_required=1))
    stack.command("set m-plain0001 name=rejected")
    root = stack.preview()
    request_id = buttons(root)["reject"]["value"]

    stack.click("reject", request_id, user="UBOB")
    stack.slack.wait_for("views.open")
    stack.submit_reject(request_id, "wrong image", user="UBOB")

    assert "wrong image" in message_text(stack.thread(root)[0])
    assert buttons(stack.root(root.ts)) == {}
    assert "Rejected" in message_text(stack.root(root.ts))
    assert _modifies(stack) == 0


def test_requests_expire_and_their_buttons_stop_working(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(Policy(pending_ttl_minutes=0.02))
    stack.command("set m-plain0001 name=too-late")
    root = stack.preview()
    request_id = buttons(root)["apply"]["value"]

    assert "expired" in message_text(stack.thread(root, timeout=10)[0])
    assert "Expired" in message_text(stack.root(root.ts))
    stack.click("apply", request_id)
    assert "expired" in stack.private()
    assert _modifies(stack) == 0


def test_break_glass_applies_at_once_and_is_announced(make_stack: StackFactory) -> None:
    stack = make_stack(
        Policy(
            approvals_required=1,
            responders=("UALICE",),
            announce_channel="C0INCIDENT",
        )
    )
    stack.command('deprecate m-webnew01 incident=INC-42 reason="kernel panic"')
    root = stack.preview()
    assert set(buttons(root)) == {"apply", "cancel"}
    assert "INC-42" in message_text(root)

    stack.click("apply", buttons(root)["apply"]["value"], message_ts=root.ts)

    applied = message_text(stack.thread(root)[0])
    assert "Applied" in applied and "Break-glass for incident" in applied
    announcement = stack.slack.wait_for(
        "chat.postMessage", lambda c: c.params.get("channel") == "C0INCIDENT"
    )[0]
    text = message_text(announcement.params)
    assert "INC-42" in text and "kernel panic" in text and "<@UALICE>" in text
    stack.command("history m-webnew01")
    assert "break-glass" in stack.private()


def test_break_glass_from_a_non_responder_is_refused(make_stack: StackFactory) -> None:
    stack = make_stack(Policy(approvals_required=1, responders=("UCAROL",)))

    stack.command(
        'deprecate m-webnew01 incident=INC-42 reason="kernel panic"', user="UBOB"
    )

    assert "Only incident responders (<@UCAROL>)" in stack.private("UBOB")
    assert stack.slack.messages(CHANNEL) == []
    assert stack.emulator.count("ModifyImageAttribute") == 0


def test_break_glass_needs_a_reason(make_stack: StackFactory) -> None:
    stack = make_stack(Policy(responders=("UALICE",)))

    stack.command("deprecate m-webnew01 incident=INC-42")

    assert 'needs a reason: add reason="…"' in stack.private()
    assert stack.slack.messages(CHANNEL) == []
    assert stack.emulator.count("ModifyImageAttribute") == 0


def test_the_audit_export_reads_back_every_step(
    make_stack: StackFactory, tmp_path: Path
) -> None:
    stack = make_stack(Policy(approvals_required=1))
    stack.command('set m-plain0001 name=audited reason="ticket OPS-7"')
    root = stack.preview()
    stack.click("approve", buttons(root)["approve"]["value"], user="UBOB")
    stack.thread(root, count=2)
    stack.bot.stop()

    out = io.StringIO()
    with redirect_stdout(out):
        code = cli.main(["audit", "--db", str(tmp_path / "state.sqlite")])

    assert code == 0
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    kinds = [row["kind"] for row in rows]
    assert kinds == ["requested", "previewed", "approved", "applied"]
    applied = rows[-1]
    assert applied["user"] == "UBOB"
    assert applied["after"] == {"name": "audited"}
    assert applied["before"] == {"name": "plain-image"}
    assert applied["ecs_request_id"]
    assert all(row["reason"] == "ticket OPS-7" for row in rows)


def test_the_audit_export_as_csv_filters_by_image(
    make_stack: StackFactory, tmp_path: Path
) -> None:
    stack = make_stack(Policy())
    for image in ("m-plain0001", "m-imdsv201"):
        stack.command(f"set {image} description=csv-export")
    stack.preview(count=2)
    stack.bot.stop()

    out = io.StringIO()
    with redirect_stdout(out):
        cli.main(
            [
                "audit",
                "--db",
                str(tmp_path / "state.sqlite"),
                "--format",
                "csv",
                "--image",
                "m-imdsv201",
                "--since",
                "1h",
            ]
        )

    lines = out.getvalue().splitlines()
    assert lines[0].startswith("time,kind,request_id")
    assert len(lines) == 3
    assert all("m-imdsv201" in line for line in lines[1:])


def test_a_crafted_reject_of_a_request_without_approvals_is_refused(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(Policy())
    stack.command("set m-plain0001 name=not-rejectable")
    root = stack.preview()
    request_id = buttons(root)["apply"]["value"]

    stack.click("reject", request_id, user="UMALLORY")

    assert "needs no approval" in stack.private("UMALLORY")
    assert stack.slack.calls_to("views.open") == []
    request = stack.bot.store.get(request_id)
    assert request is not None and request.state.value == "PREVIEWED"


def test_a_risky_change_runs_only_on_its_second_approval(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(Policy(approvals_required=1, risky_approvals_required=2))
    stack.command("set m-plain0001 boot-mode=UEFI")
    root = stack.preview()
    request_id = buttons(root)["approve"]["value"]

    stack.click("approve", request_id, user="UBOB")
    stack.thread(root)
    assert _modifies(stack) == 0
    stack.click("approve", request_id, user="UCAROL")

    assert "Applied" in message_text(stack.thread(root, count=3)[2])
    assert _modifies(stack) == 1
