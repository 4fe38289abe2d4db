"""Slack messages as terminal text, for `imagebot try` (no I/O).

Block Kit becomes a few plain lines: headers, sections and context with mrkdwn
cleaned up, and the buttons as data so that the console can number them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.policy import Policy
from bot.sandbox.fake_slack import ApiCall

_EMOJI = {
    ":warning:": "⚠",
    ":white_check_mark:": "✔",
    ":x:": "✖",
    ":no_entry:": "⛔",
    ":no_entry_sign:": "⊘",
    ":information_source:": "ℹ",
    ":hourglass_flowing_sand:": "⏳",
    ":gear:": "⚙",
    ":grey_question:": "?",
    ":alarm_clock:": "⏰",
    ":rotating_light:": "🚨",
    ":ballot_box_with_check:": "☑",
}
_CODE = re.compile(r"(`[^`\n]*`)")
# <!date^…|fallback>, <@U1>, <@U1|name>, <#C1|name>, <!subteam^S1>, <!here>, <url|label>
_ANGLE = re.compile(r"<([^<>\n]*)>")
_BOLD = re.compile(r"\*([^*\n]+)\*")
_ITALIC = re.compile(r"(?<!\w)_([^_\n]+)_(?!\w)")
_EMOJI_CODE = re.compile(r":[a-z0-9_+-]+:")
_PRIVATE = frozenset({"chat.postEphemeral", "response_url"})
SHOWN = frozenset({"chat.postMessage", "chat.update", "views.open", *_PRIVATE})


@dataclass(frozen=True)
class Confirm:
    """A button's confirmation dialog."""

    title: str
    text: str
    yes: str
    no: str


@dataclass(frozen=True)
class Button:
    label: str
    action_id: str
    value: str
    block_id: str
    danger: bool
    confirm: Confirm | None


@dataclass(frozen=True)
class Rendered:
    """A message as lines of text, and the buttons it offers (in order)."""

    lines: list[str]
    buttons: list[Button]


def mrkdwn(text: str) -> str:
    """Slack mrkdwn as plain text: `code` kept, markup and escapes removed."""
    parts = _CODE.split(text)
    cleaned = [
        _unescape(part) if part.startswith("`") else _prose(part) for part in parts
    ]
    return "".join(cleaned)


def _prose(text: str) -> str:
    text = _ANGLE.sub(lambda m: _special(m.group(1)), text)
    text = _BOLD.sub(r"\1", text)
    text = _ITALIC.sub(r"\1", text)
    text = _EMOJI_CODE.sub(lambda m: _EMOJI.get(m.group(0), m.group(0)), text)
    return _unescape(text)


def _special(inner: str) -> str:
    target, _, label = inner.partition("|")
    if target.startswith("!date^"):
        return label or target
    if target.startswith("@"):
        return "@" + (label or target[1:])
    if target.startswith("#"):
        return "#" + (label or target[1:])
    if target.startswith("!subteam^"):
        return "@" + (label or target[len("!subteam^") :])
    if target.startswith("!"):
        return "@" + target[1:]
    return f"{label} ({target})" if label else target


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def message(text: str, blocks: Sequence[Mapping[str, Any]] | None) -> Rendered:
    """Render a message; without blocks, its top-level text is what people see."""
    if not blocks:
        return Rendered(mrkdwn(text).splitlines() or [""], [])
    lines: list[str] = []
    buttons: list[Button] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "actions":
            buttons += [_button(e, block) for e in block.get("elements", [])]
        else:
            lines += _block_lines(block)
    return Rendered(lines, buttons)


def _block_lines(block: Mapping[str, Any]) -> list[str]:
    kind = block.get("type")
    if kind == "header":
        return [f"== {_text(block.get('text'))} =="]
    if kind == "divider":
        return ["-" * 40]
    if kind == "context":
        parts = [_text(e) for e in block.get("elements", []) if "text" in e]
        return ["  " + line for line in " ".join(parts).splitlines()]
    if kind == "input":
        return [f"[{_text(block.get('label'))}]"]
    lines = _text(block.get("text")).splitlines()
    for item in block.get("fields") or []:
        lines += _text(item).splitlines()
    return lines


def _text(obj: Any) -> str:
    if not isinstance(obj, Mapping):
        return ""
    raw = str(obj.get("text", ""))
    return mrkdwn(raw) if obj.get("type") == "mrkdwn" else raw


def _button(element: Mapping[str, Any], block: Mapping[str, Any]) -> Button:
    confirm = element.get("confirm")
    return Button(
        label=_text(element.get("text")),
        action_id=str(element.get("action_id", "")),
        value=str(element.get("value", "")),
        block_id=str(block.get("block_id", "")),
        danger=element.get("style") == "danger",
        confirm=_confirm(confirm) if isinstance(confirm, Mapping) else None,
    )


def _confirm(raw: Mapping[str, Any]) -> Confirm:
    return Confirm(
        title=_text(raw.get("title")),
        text=_text(raw.get("text")),
        yes=_text(raw.get("confirm")) or "Yes",
        no=_text(raw.get("deny")) or "No",
    )


def choices(buttons: Sequence[Button], first: int = 1) -> str:
    """Buttons as numbered choices: "[1] Apply  [2] Cancel"."""
    shown = []
    for number, button in enumerate(buttons, start=first):
        mark = ""
        if button.danger:
            mark = " (danger, asks first)" if button.confirm else " (danger)"
        shown.append(f"[{number}] {button.label}{mark}")
    return "  ".join(shown)


class Feed:
    """The channel as the bot fills it: names each thread's root, numbers buttons.

    Buttons are numbered afresh whenever a batch of messages brings new ones, so
    that the numbers on screen are always the ones that work.
    """

    def __init__(self) -> None:
        self.buttons: list[tuple[Button, str]] = []  # with the ts of their message
        self._roots: dict[str, str] = {}  # root message ts → its header

    def calls(self, calls: Sequence[ApiCall]) -> tuple[str, list[dict[str, Any]]]:
        """Text for the visible calls, and the modals the bot opened (to fill in)."""
        shown = [c for c in calls if c.ok and c.method in SHOWN]
        if any(message("", _blocks(c.params)).buttons for c in shown):
            self.buttons = []
        parts: list[str] = []
        views: list[dict[str, Any]] = []
        for call in shown:
            if call.method == "views.open":
                views.append(call.response.get("view") or call.params["view"])
            else:
                parts.append(self._call(call))
        return "\n".join(parts), views

    def private(self, body: Mapping[str, Any]) -> str:
        """A message only the person sees (an ack's body or a response_url post)."""
        return self._message("imagebot (only you):", body, "")

    def _call(self, call: ApiCall) -> str:
        params = call.params
        ts = str(call.response.get("ts") or params.get("ts") or "")
        if call.method in _PRIVATE:
            return self.private(params)
        if call.method == "chat.update":
            return self._message("imagebot updated:", params, ts)
        if params.get("thread_ts"):
            root = self._roots.get(str(params["thread_ts"]), "its message")
            title = f"  ↳ imagebot in the thread of {root}:"
            return self._message(title, params, ts, indent=4)
        self._roots[ts] = _root_name(params)
        return self._message("imagebot in #demo:", params, ts)

    def _message(
        self, title: str, params: Mapping[str, Any], ts: str, *, indent: int = 2
    ) -> str:
        shown = message(str(params.get("text", "")), _blocks(params))
        pad = " " * indent
        lines = [title, *(pad + line for line in shown.lines)]
        if shown.buttons:
            lines.append(pad + choices(shown.buttons, len(self.buttons) + 1))
            self.buttons += [(button, ts) for button in shown.buttons]
        return "\n".join(lines)


def dialog(view: Mapping[str, Any]) -> str:
    """A modal's title and text, without its inputs (the console asks for those)."""
    blocks = [b for b in view.get("blocks", []) if b.get("type") != "input"]
    title = _text(view.get("title")) or "Dialog"
    return "┌ " + title + "".join(f"\n│ {line}" for line in message("", blocks).lines)


def _blocks(params: Mapping[str, Any]) -> list[dict[str, Any]]:
    blocks = params.get("blocks")
    return blocks if isinstance(blocks, list) else []


def _root_name(params: Mapping[str, Any]) -> str:
    for block in _blocks(params):
        if block.get("type") == "header":
            return f"“{_text(block.get('text'))}”"
    return f"“{mrkdwn(str(params.get('text', '')))[:60]}”"


def images_table(images: Iterable[Mapping[str, Any]]) -> str:
    """Images (DescribeImages' fields) as an aligned table."""
    rows = [("IMAGE", "NAME", "STATUS", "FAMILY", "BOOT MODE")]
    rows += [
        (
            str(image.get("ImageId", "")),
            str(image.get("ImageName", "")),
            str(image.get("Status", "")),
            str(image.get("ImageFamily") or "-"),
            str(image.get("BootMode") or "-"),
        )
        for image in images
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def policy_summary(policy: Policy) -> str:
    """The policy in one sentence, with a hint for demoing approvals."""
    if policy.approvals_required:
        who = ", ".join(policy.approvers) or "anyone but the requester"
        rule = (
            f"{policy.approvals_required} approval(s) from {who}; "
            "try :user UBOB to approve"
        )
    else:
        rule = "the requester's own Apply executes"
    minutes = f"{policy.pending_ttl_minutes:g}"
    return f"Policy: {rule}; requests expire after {minutes} minutes."
