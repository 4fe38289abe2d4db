"""Change requests, images and the audit trail as Block Kit (pure).

Every piece of text that came from a person or from ECS passes through `esc` (or
is put in plain_text) before it reaches mrkdwn, so no value can ping a channel or
disguise a link.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from bot import attributes
from bot.model import (
    AuditEvent,
    ChangeRequest,
    EventKind,
    ImageSnapshot,
    Severity,
    State,
)
from bot.mrkdwn import esc
from bot.policy import mentions

Block = dict[str, Any]
Message = tuple[str, list[Block]]

ACTION_PREFIX = "imagebot:"
REJECT_VIEW = "imagebot:reject-view"
_SECTION_LIMIT = 2900

_STATE_LINES = {
    State.PREVIEWED: ":hourglass_flowing_sand: Waiting for confirmation",
    State.EXECUTING: ":gear: Applying now…",
    State.SUCCEEDED: ":white_check_mark: Applied",
    State.FAILED: ":x: Failed — nothing was changed",
    State.UNKNOWN: ":grey_question: Outcome unknown — check the image",
    State.CANCELLED: ":no_entry_sign: Cancelled",
    State.REJECTED: ":no_entry_sign: Rejected",
    State.EXPIRED: ":alarm_clock: Expired — nothing was changed",
}
_SEVERITY_ICONS = {
    Severity.BLOCK: ":no_entry:",
    Severity.DANGER: ":warning:",
    Severity.CAUTION: ":information_source:",
}
_RISK_TITLES = {
    "last_available": "Last Available image of its family",
    "rollback": "Family rollback",
    "roll_forward": "Family moves forward",
    "shared": "Shared image",
    "in_use": "Image in use",
    "imds_downgrade": "IMDS v2 → v1",
    "imds_v2": "IMDSv2",
    "creating": "Image still being created",
    "nvme": "NVMe",
    "boot_mode": "Boot mode",
    "boot_mode_arch": "Boot mode",
    "dry_run": "DryRun refused",
    "not_available": "Not Available",
    "not_deprecated": "Not Deprecated",
}


def code(text: str) -> str:
    """A value shown verbatim in a code span (backticks cannot close it early)."""
    if not text:
        return "_(empty)_"
    return "`" + esc(text).replace("`", "ˋ") + "`"


def user(user_id: str) -> str:
    return f"<@{user_id}>" if user_id else "imagebot"


def section(text: str) -> Block:
    if len(text) > _SECTION_LIMIT:
        text = text[: _SECTION_LIMIT - 1] + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:2900]}]}


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": text[:150]}}


def when(ts: float) -> str:
    fallback = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ts))
    return f"<!date^{int(ts)}^{{date_short_pretty}} {{time}}|{fallback}>"


def _image_line(request: ChangeRequest) -> str:
    image = request.image
    name = f" ({esc(image.name)})" if image.name else ""
    family = f" · family {code(image.family)}" if image.family else ""
    return f"{code(request.image_id)}{name} in {code(request.region)}{family}"


def change_table(request: ChangeRequest, *, done: bool = False) -> str:
    arrow = "→"
    lines = [
        f"*{attributes.get(k).label}*: {code(request.before.get(k, ''))} {arrow} "
        f"{code(request.after[k])}"
        for k in attributes.ordered(request.after)
    ]
    title = "*Changed*" if done else "*Change*"
    return title + "\n" + "\n".join(lines)


def request_message(request: ChangeRequest) -> Message:
    """The root message of a request, in whatever state it is."""
    blocks: list[Block] = [
        header(_title(request)),
        section(
            f"{user(request.requester)} {_asks(request)} {_image_line(request)}\n"
            f"{_STATE_LINES[request.state]}"
        ),
        section(change_table(request, done=request.state is State.SUCCEEDED)),
    ]
    blocks += _notes(request)
    blocks += [_risk_block(r) for r in request.risks]
    blocks.append(context(_status_context(request)))
    if request.state is State.PREVIEWED and not request.blocked:
        blocks.append(_buttons(request))
    return _fallback(request), blocks


def _asks(request: ChangeRequest) -> str:
    return "wants to change" if request.state is State.PREVIEWED else "asked to change"


def _title(request: ChangeRequest) -> str:
    prefix = "Break-glass change" if request.break_glass else "Image change"
    if request.revert_of:
        prefix = "Revert"
    return f"{prefix}: {request.image_id}"


def _notes(request: ChangeRequest) -> list[Block]:
    lines = []
    if request.reason:
        lines.append(f"*Reason*: {esc(request.reason)}")
    if request.incident:
        lines.append(
            f":rotating_light: *Incident* {code(request.incident)}: break-glass, "
            "no peer approval"
        )
    if request.revert_of:
        lines.append(f"Reverts request {code(request.revert_of)}")
    return [section("\n".join(lines))] if lines else []


def _risk_block(risk: Any) -> Block:
    title = _RISK_TITLES.get(risk.code, risk.code)
    icon = _SEVERITY_ICONS[risk.severity]
    return section(f"{icon} *{esc(title)}*\n{esc(risk.text)}")


def _status_context(request: ChangeRequest) -> str:
    dry = (
        ":white_check_mark: DryRun passed"
        if request.dry_run.passed
        else f":x: DryRun refused ({esc(request.dry_run.code)})"
    )
    parts = [dry]
    if request.state is State.PREVIEWED:
        parts.append(_who_acts(request))
        parts.append(f"expires {when(request.expires_at)}")
    elif request.closed_by:
        parts.append(f"by {user(request.closed_by)}")
    if request.approvals:
        parts.append("approved by " + ", ".join(user(u) for u in request.approvals))
    if request.ecs_request_id:
        parts.append(f"ECS RequestId {code(request.ecs_request_id)}")
    parts.append(f"request {code(request.id)}")
    return " · ".join(parts)


def _who_acts(request: ChangeRequest) -> str:
    if request.blocked:
        return "blocked: nothing can be applied"
    missing = request.approvals_missing
    if missing:
        who = mentions(request.approvers) or "anyone but the requester"
        return f"needs {missing} more approval(s) from {who}"
    return f"{user(request.requester)} can apply"


def _buttons(request: ChangeRequest) -> Block:
    last_image = any(r.code == "last_available" for r in request.risks)
    go_action = "approve" if request.approvals_required else "apply"
    go: Block = {
        "type": "button",
        "action_id": ACTION_PREFIX + go_action,
        "text": {
            "type": "plain_text",
            "text": "Approve" if go_action == "approve" else "Apply",
        },
        "value": request.id,
        "style": "danger" if last_image else "primary",
    }
    if last_image:
        go["confirm"] = _last_image_confirm(request)
    elements = [go]
    if request.approvals_required:
        elements.append(_button("reject", "Reject", request.id))
    elements.append(_button("cancel", "Cancel", request.id))
    return {"type": "actions", "block_id": "imagebot-actions", "elements": elements}


def _last_image_confirm(request: ChangeRequest) -> Block:
    family = request.image.family
    moving = request.after.get("status") != "Deprecated"
    verb = "Move" if moving else "Deprecate"
    after = "After the move" if moving else "Afterwards"
    text = (
        f"{request.image_id} is the last Available image of family {family}. "
        f"{after} no instance can be created from family {family}."
    )
    return {
        "title": {"type": "plain_text", "text": f"{verb} the last image?"},
        "text": {"type": "plain_text", "text": text[:300]},
        "confirm": {"type": "plain_text", "text": f"{verb} it"},
        "deny": {"type": "plain_text", "text": "Keep it"},
        "style": "danger",
    }


def sections(lines: Sequence[str], *, most: int = 45) -> list[Block]:
    """Lines spread over sections within Slack's limits, at most `most` of them.

    Lines that do not fit are counted in a closing "…and N more".
    """
    budget = _SECTION_LIMIT - 40  # room for the closing count
    chunks: list[list[str]] = [[]]
    size = shown = 0
    for line in lines:
        line = line if len(line) <= budget else line[: budget - 1] + "…"
        if chunks[-1] and size + len(line) + 1 > budget:
            if len(chunks) == most:
                break
            chunks.append([])
            size = 0
        chunks[-1].append(line)
        size += len(line) + 1
        shown += 1
    if shown < len(lines):
        chunks[-1].append(f"…and {len(lines) - shown} more")
    return [section("\n".join(chunk)) for chunk in chunks if chunk]


def _button(action: str, label: str, value: str) -> Block:
    return {
        "type": "button",
        "action_id": ACTION_PREFIX + action,
        "text": {"type": "plain_text", "text": label},
        "value": value,
    }


def _fallback(request: ChangeRequest) -> str:
    changes = ", ".join(
        f"{attributes.get(k).label} → {request.after[k]}"
        for k in attributes.ordered(request.after)
    )
    return esc(f"{_title(request)} ({changes}): {request.state.value.lower()}")


# -- thread replies ------------------------------------------------------------


def thread_reply(request: ChangeRequest, kind: EventKind, actor: str) -> Message:
    """What the thread hears when something happens to a request."""
    if kind is EventKind.APPLIED or (
        kind is EventKind.RECONCILED and request.state is State.SUCCEEDED
    ):
        return _success_reply(request, kind, actor)
    text = _reply_text(request, kind, actor)
    return _plain(text), [section(text)]


def _reply_text(request: ChangeRequest, kind: EventKind, actor: str) -> str:
    if kind is EventKind.APPROVED:
        missing = request.approvals_missing
        rest = (
            f"{missing} more needed." if missing else "That was the last one: applying."
        )
        return f":ballot_box_with_check: {user(actor)} approved. {rest}"
    if kind is EventKind.REJECTED:
        return (
            f":no_entry_sign: {user(actor)} rejected this: {esc(request.close_reason)}"
        )
    if kind is EventKind.CANCELLED:
        return f":no_entry_sign: {user(actor)} cancelled this. Nothing was changed."
    if kind is EventKind.EXPIRED:
        return (
            ":alarm_clock: This request expired before it was applied. Nothing was "
            "changed; run the command again for a fresh preview."
        )
    if kind is EventKind.RECONCILED:
        return (
            f":grey_question: imagebot restarted while applying this change. "
            f"{esc(request.error_message)}"
        )
    if kind not in (EventKind.FAILED, EventKind.UNKNOWN):
        return f"{esc(kind.value.capitalize())} by {user(actor)}."
    outcome = "failed" if kind is EventKind.FAILED else "has an unknown outcome"
    code_part = f" ({esc(request.error_code)})" if request.error_code else ""
    ecs = (
        f"\nECS RequestId {code(request.ecs_request_id)}"
        if request.ecs_request_id
        else ""
    )
    return (
        f":x: The change to {code(request.image_id)} {outcome}{code_part}: "
        f"{esc(request.error_message)}{ecs}"
    )


def _success_reply(request: ChangeRequest, kind: EventKind, actor: str) -> Message:
    after = ImageSnapshot.from_dict(request.result_snapshot or request.snapshot)
    lines = [
        f"*{a.label}*: {code(a.current(after))}"
        for a in attributes.CATALOGUE
        if a.current(after) or a.key in request.after
    ]
    by = f" by {user(actor)}" if actor else " (confirmed after a restart)"
    text = (
        f":white_check_mark: Applied{by} to {code(request.image_id)}. ECS RequestId "
        f"{code(request.ecs_request_id or 'unknown')}."
    )
    blocks = [section(text)]
    if request.break_glass:
        blocks.append(
            section(
                f":rotating_light: Break-glass for incident {code(request.incident)}, "
                f"without peer approval. Why: {esc(request.reason or 'not given')}"
            )
        )
    blocks.append(section("*Now*\n" + "\n".join(lines)))
    if any(request.before.values()):
        blocks.append(
            {
                "type": "actions",
                "block_id": "imagebot-revert",
                "elements": [_button("revert", "Revert", request.id)],
            }
        )
    return _plain(text), blocks


def announcement(request: ChangeRequest) -> Message:
    """The break-glass notice for the incident channel."""
    text = (
        f":rotating_light: Break-glass change by {user(request.requester)} "
        f"for incident "
        f"{code(request.incident)}: {_image_line(request)}\n"
        f"{change_table(request, done=True)}\n*Why*: {esc(request.reason)}\n"
        f"Outcome: {_STATE_LINES[request.state]}"
    )
    return _plain(text), [section(text)]


# -- replies to commands -----------------------------------------------------------


def image_card(image: ImageSnapshot, family_resolves_to: str) -> Message:
    rows = [f"*{a.label}*: {code(a.current(image))}" for a in attributes.CATALOGUE]
    rows.append(f"*Created*: {esc(image.creation_time or 'unknown')}")
    if image.architecture:
        rows.append(f"*Architecture*: {esc(image.architecture)}")
    if image.progress and image.status in ("Creating", "Waiting"):
        rows.append(f"*Progress*: {esc(image.progress)}")
    rows.append(f"*Shared*: {'yes' if image.is_self_shared else 'no'}")
    rows.append(f"*Used by instances*: {'yes' if image.usage == 'instance' else 'no'}")
    if image.family:
        if family_resolves_to == image.image_id:
            rows.append(f"Family {code(image.family)} resolves to this image.")
        elif family_resolves_to:
            rows.append(
                f"Family {code(image.family)} resolves to {code(family_resolves_to)}, "
                "not this image."
            )
        else:
            rows.append(f"Family {code(image.family)} has no Available image.")
    title = f"{image.image_id} in {image.region}"
    return _plain(esc(title)), [header(title), section("\n".join(rows))]


def family_card(
    family: str, region: str, images: Sequence[ImageSnapshot], resolves_to: str
) -> Message:
    title = f"Family {family} in {region}"
    if not images:
        text = (
            f"Family {code(family)} has no Available or Deprecated images in "
            f"{code(region)}."
        )
        return _plain(text), [section(text)]
    lines = []
    for image in images[:40]:
        mark = " ← resolves here" if image.image_id == resolves_to else ""
        lines.append(
            f"{code(image.image_id)} {esc(image.name)} · {esc(image.status)} · "
            f"{esc(image.creation_time)}{mark}"
        )
    if len(images) > 40:
        lines.append(f"…and {len(images) - 40} more")
    summary = (
        f"Resolves to {code(resolves_to)}."
        if resolves_to
        else ":warning: No Available image: launches by family fail."
    )
    return _plain(esc(title)), [header(title), section(summary), *sections(lines)]


def history_card(events: Sequence[AuditEvent], image_id: str = "") -> Message:
    scope = f" for {image_id}" if image_id else ""
    if not events:
        text = f"No history{scope} yet."
        return _plain(text), [section(esc(text))]
    lines = [_event_line(e) for e in events]
    return _plain(esc(f"History{scope}")), [
        header(f"History{scope}"[:150]),
        *sections(lines),
    ]


def _event_line(event: AuditEvent) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M", time.gmtime(event.at))
    glass = " :rotating_light: break-glass" if event.break_glass else ""
    changes = ", ".join(
        f"{attributes.get(k).label} {esc(event.before.get(k, ''))}→{esc(v)}"
        for k, v in event.after.items()
        if k in {a.key for a in attributes.CATALOGUE}
    )
    who = f" by {user(event.user)}" if event.user else ""
    ecs = f" · ECS {esc(event.ecs_request_id)}" if event.ecs_request_id else ""
    return (
        f"{stamp} *{event.kind.value}*{who} {code(event.image_id)} {changes}"
        f"{glass}{ecs} · {code(event.request_id)}"
    )


def pending_card(requests: Sequence[ChangeRequest]) -> Message:
    if not requests:
        return "No open requests.", [section("No open requests.")]
    lines = [
        f"{code(r.id)} {user(r.requester)} → {code(r.image_id)}: "
        + ", ".join(f"{attributes.get(k).label} → {esc(v)}" for k, v in r.after.items())
        + f" · {_who_acts(r)} · expires {when(r.expires_at)}"
        for r in requests[:25]
    ]
    if len(requests) > 25:
        lines.append(f"…and {len(requests) - 25} more")
    return _plain("Open requests"), [header("Open requests"), *sections(lines)]


def blocked_preview(request: ChangeRequest) -> Message:
    """A preview that cannot run, shown to the requester alone."""
    _, blocks = request_message(request)
    text = f"{request.image_id}: this change cannot run; see the problems listed."
    return esc(text), blocks


def notice(text: str) -> Message:
    """A short private reply; `text` is already mrkdwn-safe."""
    return _plain(text), [section(text)]


def reject_modal(request: ChangeRequest) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": REJECT_VIEW,
        "private_metadata": request.id,
        "title": {"type": "plain_text", "text": "Reject change"},
        "submit": {"type": "plain_text", "text": "Reject"},
        "close": {"type": "plain_text", "text": "Back"},
        "blocks": [
            section(f"Reject the change to {_image_line(request)}?"),
            {
                "type": "input",
                "block_id": "reason",
                "label": {"type": "plain_text", "text": "Why?"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "reason",
                    "multiline": True,
                    "max_length": 500,
                },
            },
        ],
    }


def _plain(text: str) -> str:
    return text[:3000]
