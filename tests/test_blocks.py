"""Block Kit for requests, replies and cards: within Slack's limits and escaped."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any

import pytest

from bot import attributes
from bot.model import (
    AuditEvent,
    ChangeRequest,
    DryRun,
    EventKind,
    ImageSnapshot,
    Risk,
    Severity,
    State,
)
from bot.sandbox.fake_slack import validate_blocks, validate_view
from bot.slack import blocks
from bot.slack.blocks import Message

REGION = "cn-hangzhou"
NOW = 1_780_000_000.0
REQUEST_ID = "r0123456789abcdef"

# Everything Slack would turn into a ping, a disguised link or formatting.
EVIL = (
    "<!channel> <!here> <!everyone> <@UEVIL> <@UEVIL|boss> "
    "<https://evil.example|docs> a&b `tick` *bold* _it_ ~s~ ünï 漢字 🚀 "
)
# The bot's own markup: mentions of Slack ids and dates.
BOT_MARKUP = re.compile(
    r"<@[UW][A-Z0-9]+>|<!subteam\^S[A-Z0-9]+>|<!date\^\d+\^[^<>|]*\|[^<>]*>"
)
RAW_AMPERSAND = re.compile(r"&(?!amp;|lt;|gt;)")

ALL_CODES = (
    "creating",
    "dry_run",
    "not_available",
    "shared",
    "not_deprecated",
    "in_use",
    "boot_mode_arch",
    "imds_downgrade",
    "last_available",
    "rollback",
    "roll_forward",
    "boot_mode",
    "imds_v2",
    "nvme",
)
LAST = Risk("last_available", Severity.DANGER, "m-target is the last one.")
ROLLBACK = Risk("rollback", Severity.CAUTION, "Family web-base rolls back.")
SHARED = Risk("shared", Severity.BLOCK, "m-target is shared with 1001.")


def worst(length: int) -> str:
    return (EVIL * (length // len(EVIL) + 1))[:length]


def snapshot(**fields: Any) -> ImageSnapshot:
    base = ImageSnapshot(
        image_id="m-target",
        region=REGION,
        name="web-2026-01",
        family="web-base",
        description="Base image",
        status="Available",
        boot_mode="UEFI",
        creation_time="2026-01-10T00:00:00Z",
        architecture="x86_64",
    )
    return dataclasses.replace(base, **fields)


def request(**fields: Any) -> ChangeRequest:
    base = ChangeRequest(
        id=REQUEST_ID,
        requester="UALICE",
        channel="C0CHANNEL",
        region=REGION,
        image_id="m-target",
        before={"name": "web-2026-01"},
        after={"name": "web-2026-02"},
        snapshot=snapshot().to_dict(),
        created_at=NOW,
        expires_at=NOW + 1800,
        updated_at=NOW,
    )
    return dataclasses.replace(base, **fields)


def worst_snapshot(**fields: Any) -> ImageSnapshot:
    values: dict[str, Any] = {
        "name": worst(128),
        "family": worst(128),
        "description": worst(256),
        "status": worst(20),
        "boot_mode": worst(20),
        "license_type": worst(20),
        "nvme_support": worst(20),
        "imds_support": worst(20),
        "creation_time": worst(30),
        "architecture": worst(20),
        "usage": "instance",
        "is_self_shared": True,
        "progress": worst(10),
    }
    values.update(fields)
    return snapshot(**values)


def worst_request(**fields: Any) -> ChangeRequest:
    image = worst_snapshot()
    values: dict[str, Any] = {
        "before": attributes.read(image),
        "after": {
            "name": worst(135)[7:],
            "family": worst(135)[7:],
            "description": worst(263)[7:],
            "status": "Deprecated",
            "boot-mode": "BIOS",
            "license": "BYOL",
            "nvme": "supported",
            "imds": "v2",
        },
        "snapshot": image.to_dict(),
        "result_snapshot": worst_snapshot(name=worst(127)).to_dict(),
        "risks": [
            Risk(code, severity, worst(500))
            for code, severity in [
                ("last_available", Severity.DANGER),
                ("rollback", Severity.CAUTION),
                ("roll_forward", Severity.CAUTION),
                ("boot_mode", Severity.CAUTION),
                ("imds_v2", Severity.CAUTION),
                ("nvme", Severity.CAUTION),
            ]
        ],
        "dry_run": DryRun(False, worst(64), worst(500)),
        "reason": worst(500),
        "incident": worst(100),
        "break_glass": True,
        "approvals_required": 3,
        "approvers": [f"U{i:08d}" for i in range(99)] + ["S0SRE"],
        "approvals": [f"U{i:08d}" for i in range(2)],
        "revert_of": "r" + "f" * 16,
        "closed_by": "UBOB",
        "close_reason": worst(500),
        "ecs_request_id": worst(40),
        "error_code": worst(64),
        "error_message": worst(500),
    }
    values.update(fields)
    return request(**values)


def text_objects(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if node.get("type") in ("mrkdwn", "plain_text") and "text" in node:
            yield node
        for value in node.values():
            yield from text_objects(value)
    elif isinstance(node, list):
        for item in node:
            yield from text_objects(item)


def mrkdwn(node: Any) -> list[str]:
    return [t["text"] for t in text_objects(node) if t["type"] == "mrkdwn"]


def everything(message: Message) -> str:
    """All text Slack renders as mrkdwn: the fallback and every mrkdwn object."""
    fallback, body = message
    return "\n".join([fallback, *mrkdwn(body)])


def actions(body: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for b in body if b["type"] == "actions"]


def buttons(body: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for block in actions(body) for e in block["elements"]]


def status_line(body: list[dict[str, Any]]) -> str:
    [context] = [b for b in body if b["type"] == "context"]
    text: str = context["elements"][0]["text"]
    return text


def assert_valid(message: Message) -> None:
    fallback, body = message
    assert isinstance(fallback, str)
    assert fallback.strip()
    assert validate_blocks(body) == []


def assert_escaped(message: Message) -> None:
    fallback, body = message
    for text in [fallback, *mrkdwn(body)]:
        for marker in ("<!channel>", "<!here>", "<!everyone>", "<@UEVIL", "<https:"):
            assert marker not in text
        # A section cut at Slack's limit may end inside the bot's own markup or an
        # entity; what it cut was written by the bot, so it is not user text.
        whole = re.sub(r"(<[^<>]*|&[a-z]{0,3})…$", "…", text)
        leftover = BOT_MARKUP.sub("", whole)
        assert "<" not in leftover, leftover
        assert ">" not in leftover, leftover
        assert not RAW_AMPERSAND.search(whole), whole


def every_message(r: ChangeRequest) -> list[Message]:
    image = r.image
    return [
        blocks.request_message(r),
        blocks.blocked_preview(r),
        blocks.announcement(r),
        *(blocks.thread_reply(r, kind, "UBOB") for kind in EventKind),
        *(blocks.thread_reply(r, kind, "") for kind in EventKind),
        blocks.image_card(image, image.image_id),
        blocks.image_card(image, "m-other"),
        blocks.image_card(image, ""),
        blocks.family_card("web-base", REGION, [image] * 45, image.image_id),
        blocks.family_card("web-base", REGION, [image], ""),
        blocks.pending_card([r] * 30),
        blocks.history_card([event(r, kind) for kind in EventKind] * 5, r.image_id),
    ]


def event(r: ChangeRequest, kind: EventKind = EventKind.APPLIED) -> AuditEvent:
    return AuditEvent(
        at=NOW,
        kind=kind,
        request_id=r.id,
        user=r.requester,
        image_id=r.image_id,
        region=r.region,
        before=dict(r.before),
        after={**r.after, "not-an-attribute": worst(50)},
        ecs_request_id=r.ecs_request_id,
        break_glass=r.break_glass,
        detail=worst(200),
    )


# Slack's limits and escaping, with the worst inputs people and ECS can produce.


@pytest.mark.parametrize("state", list(State))
def test_worst_case_messages_pass_slacks_limits(state: State) -> None:
    blocking = [Risk(code, Severity.BLOCK, worst(500)) for code in ALL_CODES]
    for r in (
        worst_request(state=state),
        worst_request(state=state, risks=[]),
        worst_request(state=state, risks=blocking),
    ):
        for message in every_message(r):
            assert_valid(message)
    offered = buttons(blocks.request_message(worst_request(state=state))[1])
    assert bool(offered) == (state is State.PREVIEWED)
    assert all(b["value"] == REQUEST_ID for b in offered)


@pytest.mark.parametrize("state", list(State))
def test_worst_case_messages_escape_every_user_field(state: State) -> None:
    r = worst_request(state=state)

    for message in every_message(r):
        assert_escaped(message)


def test_the_escape_check_catches_raw_user_text() -> None:
    for raw in (
        "<!channel>",
        "<!here>",
        "<@UEVIL|x>",
        "<https://e.example|a>",
        "a & b",
    ):
        with pytest.raises(AssertionError):
            assert_escaped(("ok", [blocks.section(f"*x* {raw}")]))
    assert_escaped(("ok", [blocks.section(f"<@UALICE> {blocks.when(NOW)} &amp;")]))


def test_user_text_is_escaped_not_dropped() -> None:
    r = request(
        reason="a&b <!channel>",
        after={"description": "x<y & z>w"},
        before={"description": "old"},
    )

    text = everything(blocks.request_message(r))

    assert "a&amp;b &lt;!channel&gt;" in text
    assert "x&lt;y &amp; z&gt;w" in text


def test_code_spans_cannot_be_closed_by_a_backtick() -> None:
    r = request(after={"name": "a`*b*`c"})

    _, body = blocks.request_message(r)
    table = body[2]["text"]["text"]

    assert "`a" in table
    assert "a`*b*`c" not in table


def test_the_bots_own_mentions_are_real_mentions() -> None:
    r = request(approvals_required=2, approvers=["UCAROL", "S0SRE"], approvals=["UDAN"])

    text = everything(blocks.request_message(r))

    assert "<@UALICE>" in text
    assert "<@UCAROL>" in text
    assert "<!subteam^S0SRE>" in text
    assert "<@UDAN>" in text


def test_the_modal_passes_slacks_limits_with_the_worst_request() -> None:
    view = blocks.reject_modal(worst_request())

    assert validate_view(view) == []
    assert_escaped(("modal", view["blocks"]))


def test_a_reject_modal_carries_the_request_id_and_asks_why() -> None:
    view = blocks.reject_modal(request())

    assert view["callback_id"] == blocks.REJECT_VIEW
    assert view["private_metadata"] == REQUEST_ID
    reason = view["blocks"][1]
    assert reason["block_id"] == "reason"
    assert reason["element"]["action_id"] == "reason"
    assert reason["element"]["max_length"] == 500
    assert "`m-target`" in view["blocks"][0]["text"]["text"]


# The root message of a request.


def test_a_preview_shows_who_wants_what_and_the_change_table() -> None:
    message = blocks.request_message(request())
    assert_valid(message)
    fallback, body = message

    assert body[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Image change: m-target"},
    }
    intro = body[1]["text"]["text"]
    assert intro.startswith("<@UALICE> wants to change `m-target` (web-2026-01)")
    assert "family `web-base`" in intro
    assert "Waiting for confirmation" in intro
    assert body[2]["text"]["text"] == (
        "*Change*\n*Name*: `web-2026-01` → `web-2026-02`"
    )
    assert "m-target" in fallback
    assert "Name → web-2026-02" in fallback
    assert "previewed" in fallback


def test_the_change_table_follows_catalogue_order_and_marks_empty_values() -> None:
    r = request(
        before={"imds": "", "name": "a1", "family": ""},
        after={"imds": "v2", "name": "a2", "family": "web"},
    )

    _, body = blocks.request_message(r)

    assert body[2]["text"]["text"].splitlines()[1:] == [
        "*Name*: `a1` → `a2`",
        "*Family*: _(empty)_ → `web`",
        "*IMDS support*: _(empty)_ → `v2`",
    ]


def test_a_preview_without_approvals_offers_apply_and_cancel() -> None:
    _, body = blocks.request_message(request())

    assert [a["block_id"] for a in actions(body)] == ["imagebot-actions"]
    found = buttons(body)
    assert [b["action_id"] for b in found] == ["imagebot:apply", "imagebot:cancel"]
    assert [b["text"]["text"] for b in found] == ["Apply", "Cancel"]
    assert found[0]["style"] == "primary"
    assert "confirm" not in found[0]
    assert all(b["value"] == REQUEST_ID for b in found)
    assert "<@UALICE> can apply" in everything(blocks.request_message(request()))


def test_a_preview_needing_approval_offers_approve_reject_and_cancel() -> None:
    r = request(approvals_required=2, approvers=["UCAROL"], approvals=["UDAN"])
    _, body = blocks.request_message(r)

    found = buttons(body)
    assert [b["action_id"] for b in found] == [
        "imagebot:approve",
        "imagebot:reject",
        "imagebot:cancel",
    ]
    assert [b["text"]["text"] for b in found] == ["Approve", "Reject", "Cancel"]
    assert all(b["value"] == REQUEST_ID for b in found)
    assert "needs 1 more approval(s) from <@UCAROL>" in everything((".", body))


def test_approval_from_anyone_says_so() -> None:
    r = request(approvals_required=1)

    assert "from anyone but the requester" in everything(blocks.request_message(r))


def test_deprecating_the_last_image_asks_for_a_danger_confirmation() -> None:
    r = request(
        before={"status": "Available"}, after={"status": "Deprecated"}, risks=[LAST]
    )

    _, body = blocks.request_message(r)

    go = buttons(body)[0]
    assert go["action_id"] == "imagebot:apply"
    assert go["style"] == "danger"
    confirm = go["confirm"]
    assert confirm["style"] == "danger"
    assert "family web-base" in confirm["text"]["text"]
    assert "m-target" in confirm["text"]["text"]
    assert validate_blocks(body) == []


def test_moving_the_last_image_away_confirms_a_move_not_a_deprecation() -> None:
    r = request(
        before={"family": "web-base"}, after={"family": "web-next"}, risks=[LAST]
    )

    go = buttons(blocks.request_message(r)[1])[0]

    confirm = go["confirm"]
    assert go["style"] == "danger"
    assert "family web-base" in confirm["text"]["text"]
    words = " ".join(t["text"] for t in text_objects(confirm)).lower()
    assert "deprecat" not in words


def test_a_long_family_still_fits_the_confirmation() -> None:
    family = "f" * 128
    r = request(
        snapshot=snapshot(family=family).to_dict(),
        after={"status": "Deprecated"},
        risks=[LAST],
        approvals_required=1,
    )

    go = buttons(blocks.request_message(r)[1])[0]

    assert go["action_id"] == "imagebot:approve"
    assert f"family {family}" in go["confirm"]["text"]["text"]
    assert validate_blocks(blocks.request_message(r)[1]) == []


def test_a_softer_risk_keeps_the_primary_button() -> None:
    _, body = blocks.request_message(request(risks=[ROLLBACK]))

    assert buttons(body)[0]["style"] == "primary"
    assert "confirm" not in buttons(body)[0]


def test_a_blocked_preview_has_no_buttons_and_says_why() -> None:
    r = request(risks=[SHARED, LAST])
    _, body = blocks.request_message(r)

    assert actions(body) == []
    text = everything(("", body))
    assert ":no_entry: *Shared image*\nm-target is shared with 1001." in text
    assert "blocked: nothing can be applied" in text


@pytest.mark.parametrize("state", [s for s in State if s is not State.PREVIEWED])
def test_requests_past_their_preview_have_no_buttons(state: State) -> None:
    r = request(state=state, approvals_required=1, closed_by="UBOB", risks=[LAST])

    message = blocks.request_message(r)

    assert actions(message[1]) == []
    assert_valid(message)
    assert state.value.lower() in message[0]


def test_each_state_has_its_own_line() -> None:
    lines = {
        blocks.request_message(request(state=s))[1][1]["text"]["text"].splitlines()[-1]
        for s in State
    }

    assert len(lines) == len(State)


def test_a_closed_request_names_who_closed_it_and_the_ecs_request() -> None:
    r = request(
        state=State.SUCCEEDED,
        closed_by="UBOB",
        ecs_request_id="ECS-1",
        approvals=["UDAN"],
    )

    _, body = blocks.request_message(r)

    assert body[2]["text"]["text"].startswith("*Changed*")
    status = status_line(body)
    assert "by <@UBOB>" in status
    assert "approved by <@UDAN>" in status
    assert "ECS RequestId `ECS-1`" in status
    assert f"request `{REQUEST_ID}`" in status
    assert "expires" not in status


def test_a_refused_dry_run_shows_in_the_status_line() -> None:
    r = request(dry_run=DryRun(False, "Bad<Code>", "no"))

    status = status_line(blocks.request_message(r)[1])

    assert ":x: DryRun refused (Bad&lt;Code&gt;)" in status


def test_break_glass_and_revert_requests_say_so() -> None:
    glass = request(break_glass=True, incident="INC-7", reason="site down")
    revert = request(revert_of="r0000000000000001")

    _, glass_body = blocks.request_message(glass)
    _, revert_body = blocks.request_message(revert)

    assert glass_body[0]["text"]["text"] == "Break-glass change: m-target"
    notes = glass_body[3]["text"]["text"]
    assert "*Reason*: site down" in notes
    assert "*Incident* `INC-7`" in notes
    assert revert_body[0]["text"]["text"] == "Revert: m-target"
    assert "Reverts request `r0000000000000001`" in revert_body[3]["text"]["text"]


def test_every_risk_code_gets_a_readable_title_and_its_severity_icon() -> None:
    icons = {
        Severity.BLOCK: ":no_entry:",
        Severity.DANGER: ":warning:",
        Severity.CAUTION: ":information_source:",
    }
    for code in ALL_CODES:
        for severity, icon in icons.items():
            r = request(risks=[Risk(code, severity, "text")])

            _, body = blocks.request_message(r)
            risk = body[3]["text"]["text"]

            assert risk.startswith(f"{icon} *")
            assert f"*{code}*" not in risk


def test_blocked_preview_keeps_the_blocks_and_explains_in_the_fallback() -> None:
    r = request(risks=[SHARED])

    fallback, body = blocks.blocked_preview(r)

    assert body == blocks.request_message(r)[1]
    assert fallback.startswith("m-target: this change cannot run")


# Replies in a request's thread.


@pytest.mark.parametrize("kind", list(EventKind))
def test_every_event_kind_gets_a_valid_reply(kind: EventKind) -> None:
    for actor in ("UBOB", ""):
        for state in (State.SUCCEEDED, State.FAILED, State.UNKNOWN):
            message = blocks.thread_reply(request(state=state), kind, actor)
            assert_valid(message)


def test_an_applied_change_reports_the_image_as_it_is_now_with_revert() -> None:
    r = request(
        state=State.SUCCEEDED,
        ecs_request_id="ECS-1",
        result_snapshot=snapshot(name="web-2026-02").to_dict(),
    )

    message = blocks.thread_reply(r, EventKind.APPLIED, "UBOB")

    assert_valid(message)
    fallback, body = message
    assert "Applied by <@UBOB> to `m-target`" in fallback
    assert "ECS RequestId `ECS-1`" in fallback
    now = body[1]["text"]["text"]
    assert "*Name*: `web-2026-02`" in now
    assert "*Boot mode*: `UEFI`" in now
    assert "License type" not in now
    [revert] = buttons(body)
    assert revert["action_id"] == "imagebot:revert"
    assert revert["value"] == REQUEST_ID
    assert actions(body)[0]["block_id"] == "imagebot-revert"


def test_an_applied_change_lists_a_cleared_attribute_it_changed() -> None:
    r = request(
        state=State.SUCCEEDED,
        before={"license": "BYOL"},
        after={"license": ""},
        result_snapshot=snapshot().to_dict(),
    )

    _, body = blocks.thread_reply(r, EventKind.APPLIED, "UBOB")

    assert "*License type*: _(empty)_" in body[1]["text"]["text"]


def test_no_revert_when_every_before_value_was_empty() -> None:
    r = request(
        state=State.SUCCEEDED, before={"family": "", "imds": ""}, after={"imds": "v2"}
    )

    _, body = blocks.thread_reply(r, EventKind.APPLIED, "UBOB")

    assert actions(body) == []


def test_a_success_found_after_a_restart_says_so() -> None:
    r = request(state=State.SUCCEEDED)

    fallback, body = blocks.thread_reply(r, EventKind.RECONCILED, "")

    assert "(confirmed after a restart)" in fallback
    assert "ECS RequestId `unknown`" in fallback
    assert len(buttons(body)) == 1


def test_a_restart_that_could_not_settle_the_outcome_explains_it() -> None:
    r = request(state=State.UNKNOWN, error_message="Check <m-target> & retry")

    fallback, body = blocks.thread_reply(r, EventKind.RECONCILED, "")

    assert "imagebot restarted while applying" in fallback
    assert "Check &lt;m-target&gt; &amp; retry" in fallback
    assert actions(body) == []


def test_approvals_count_down_to_applying() -> None:
    waiting = request(approvals_required=2, approvals=["UDAN"])
    done = request(approvals_required=1, approvals=["UDAN"])

    first, _ = blocks.thread_reply(waiting, EventKind.APPROVED, "UDAN")
    last, _ = blocks.thread_reply(done, EventKind.APPROVED, "UDAN")

    assert "<@UDAN> approved. 1 more needed." in first
    assert "That was the last one: applying." in last


def test_closing_replies_name_the_actor_and_the_reason() -> None:
    r = request(close_reason="not *now* <!here>")

    rejected, _ = blocks.thread_reply(r, EventKind.REJECTED, "UBOB")
    cancelled, _ = blocks.thread_reply(r, EventKind.CANCELLED, "UALICE")
    expired, _ = blocks.thread_reply(r, EventKind.EXPIRED, "")

    assert "<@UBOB> rejected this: not *now* &lt;!here&gt;" in rejected
    assert "<@UALICE> cancelled this. Nothing was changed." in cancelled
    assert "expired" in expired
    assert "run the command again" in expired


def test_failed_and_unknown_outcomes_carry_the_ecs_error() -> None:
    r = request(
        error_code="InvalidImageName.Duplicated",
        error_message="Name <taken>",
        ecs_request_id="ECS-2",
    )

    failed, _ = blocks.thread_reply(r, EventKind.FAILED, "UBOB")
    unknown, _ = blocks.thread_reply(r, EventKind.UNKNOWN, "UBOB")

    assert (
        "`m-target` failed (InvalidImageName.Duplicated): Name &lt;taken&gt;" in failed
    )
    assert "ECS RequestId `ECS-2`" in failed
    assert "has an unknown outcome" in unknown


@pytest.mark.parametrize(
    "kind",
    [
        EventKind.REQUESTED,
        EventKind.PREVIEWED,
        EventKind.REVERTED,
        EventKind.BREAK_GLASS,
    ],
)
def test_kinds_without_an_outcome_do_not_claim_one(kind: EventKind) -> None:
    fallback, _ = blocks.thread_reply(request(), kind, "UBOB")

    assert ":x:" not in fallback
    assert "unknown outcome" not in fallback


def test_the_break_glass_announcement_tells_the_whole_story() -> None:
    r = request(
        state=State.SUCCEEDED,
        break_glass=True,
        incident="INC-7",
        reason="site <down>",
    )

    message = blocks.announcement(r)

    assert_valid(message)
    text = message[0]
    assert "Break-glass change by <@UALICE> for incident `INC-7`" in text
    assert "*Changed*\n*Name*: `web-2026-01` → `web-2026-02`" in text
    assert "*Why*: site &lt;down&gt;" in text
    assert "Outcome: :white_check_mark: Applied" in text


# Cards answering commands.


def test_an_image_card_lists_every_attribute_and_what_the_family_resolves_to() -> None:
    image = snapshot(license_type="", usage="instance", is_self_shared=True)

    fallback, body = blocks.image_card(image, "m-target")

    assert fallback == "m-target in cn-hangzhou"
    assert body[0]["text"]["text"] == "m-target in cn-hangzhou"
    rows = body[1]["text"]["text"]
    for attribute in attributes.CATALOGUE:
        assert f"*{attribute.label}*:" in rows
    assert "*License type*: _(empty)_" in rows
    assert "*Shared*: yes" in rows
    assert "*Used by instances*: yes" in rows
    assert "Family `web-base` resolves to this image." in rows
    assert "Progress" not in rows


def test_an_image_card_says_where_else_the_family_resolves() -> None:
    other = blocks.image_card(snapshot(), "m-newer")[1][1]["text"]["text"]
    none = blocks.image_card(snapshot(), "")[1][1]["text"]["text"]
    alone = blocks.image_card(snapshot(family=""), "")[1][1]["text"]["text"]

    assert "resolves to `m-newer`, not this image." in other
    assert "Family `web-base` has no Available image." in none
    assert "Family" not in alone.replace("*Family*", "")


def test_an_image_card_shows_progress_while_it_is_created() -> None:
    rows = blocks.image_card(snapshot(status="Creating", progress="42%"), "")[1][1]

    assert "*Progress*: 42%" in rows["text"]["text"]


def test_an_empty_family_card_says_there_is_nothing() -> None:
    message = blocks.family_card("web-base", REGION, [], "")

    assert_valid(message)
    fallback, body = message
    assert len(body) == 1
    assert "Family `web-base` has no Available or Deprecated images" in fallback


def test_a_family_card_marks_the_image_it_resolves_to() -> None:
    images = [
        snapshot(image_id="m-a", name="web-a", creation_time="2026-02-01"),
        snapshot(image_id="m-b", name="web-b", status="Deprecated"),
    ]

    message = blocks.family_card("web-base", REGION, images, "m-a")

    assert_valid(message)
    _, body = message
    assert body[1]["text"]["text"] == "Resolves to `m-a`."
    lines = body[2]["text"]["text"].splitlines()
    assert lines[0] == "`m-a` web-a · Available · 2026-02-01 ← resolves here"
    assert "resolves here" not in lines[1]


def test_a_family_card_without_an_available_image_warns() -> None:
    images = [snapshot(status="Deprecated")]

    _, body = blocks.family_card("web-base", REGION, images, "")

    assert "launches by family fail" in body[1]["text"]["text"]


def test_a_family_card_shows_forty_images_and_counts_the_rest() -> None:
    images = [snapshot(image_id=f"m-{i:03d}", name="") for i in range(45)]

    message = blocks.family_card("web-base", REGION, images, "m-000")

    assert_valid(message)
    lines = message[1][2]["text"]["text"].splitlines()
    assert len(lines) == 41
    assert "`m-039`" in lines[39]
    assert lines[40] == "…and 5 more"


def test_a_family_card_of_ordinary_images_shows_forty_and_counts_the_rest() -> None:
    images = [
        snapshot(
            image_id=f"m-bp1g6zv0ce8oghu7k{i:03d}",
            name=f"web-base-2026-01-{i:03d}",
            creation_time="2026-01-10T08:30:00Z",
        )
        for i in range(45)
    ]

    message = blocks.family_card("web-base", REGION, images, images[0].image_id)

    assert_valid(message)
    lines = "\n".join(mrkdwn(message[1][2:])).splitlines()
    assert len(lines) == 41
    assert lines[39].endswith("2026-01-10T08:30:00Z")
    assert lines[40] == "…and 5 more"


def test_a_family_card_escapes_the_family_in_its_fallback() -> None:
    message = blocks.family_card(worst(128), REGION, [snapshot()], "")

    assert_valid(message)
    assert_escaped(message)


def test_history_without_events_says_so() -> None:
    fallback, body = blocks.history_card([], "m-target")

    assert fallback == "No history for m-target yet."
    assert body == [blocks.section("No history for m-target yet.")]


def test_history_lists_each_event_with_its_changes() -> None:
    r = request(
        before={"name": "a<1"},
        after={"name": "a&2"},
        ecs_request_id="ECS-9",
        break_glass=True,
    )

    message = blocks.history_card([event(r)], "m-target")

    assert_valid(message)
    fallback, body = message
    assert fallback == "History for m-target"
    line = body[1]["text"]["text"]
    assert "*applied* by <@UALICE> `m-target` Name a&lt;1→a&amp;2" in line
    assert ":rotating_light: break-glass" in line
    assert "ECS ECS-9" in line
    assert f"`{REQUEST_ID}`" in line
    assert "not-an-attribute" not in line


def test_pending_without_requests_says_so() -> None:
    message = blocks.pending_card([])

    assert_valid(message)
    assert message[0] == "No open requests."


def test_pending_lists_twenty_five_requests_and_counts_the_rest() -> None:
    requests = [request(id=f"r{i:016x}") for i in range(30)]

    message = blocks.pending_card(requests)

    assert_valid(message)
    lines = "\n".join(mrkdwn(message[1])).splitlines()
    assert len(lines) == 26
    assert all(line.endswith("UTC>") for line in lines[:25])
    assert lines[-1] == "…and 5 more"


def test_pending_lists_each_request_with_who_acts_and_expiry() -> None:
    requests = [
        request(),
        request(
            id="r1",
            approvals_required=1,
            approvers=["UCAROL"],
            after={"nvme": "supported"},
        ),
    ]

    message = blocks.pending_card(requests)

    assert_valid(message)
    lines = message[1][1]["text"]["text"].splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(
        f"`{REQUEST_ID}` <@UALICE> → `m-target`: Name → web-2026-02 · "
        "<@UALICE> can apply · expires <!date^1780001800^"
    )
    assert "NVMe support → supported" in lines[1]
    assert "needs 1 more approval(s) from <@UCAROL>" in lines[1]


def test_a_notice_is_one_section() -> None:
    message = blocks.notice("Nothing to do: `m-target` already has that name.")

    assert_valid(message)
    assert message[1] == [
        blocks.section("Nothing to do: `m-target` already has that name.")
    ]


def test_sections_stop_at_their_cap_and_count_what_is_left() -> None:
    lines = [f"line {i} " + "x" * 1000 for i in range(200)]

    body = blocks.sections(lines, most=10)

    assert len(body) == 10
    assert validate_blocks(body) == []
    last = body[-1]["text"]["text"]
    shown = sum(b["text"]["text"].count("line ") for b in body)
    assert last.endswith(f"…and {200 - shown} more")


def test_a_closed_request_speaks_of_the_ask_in_the_past() -> None:
    _, body = blocks.request_message(request(state=State.SUCCEEDED))

    assert "<@UALICE> asked to change `m-target`" in body[1]["text"]["text"]
