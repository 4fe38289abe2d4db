"""Block Kit validation: what Slack would reject in a message's blocks or a view."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MAX_MESSAGE_BLOCKS = 50
MAX_MODAL_BLOCKS = 100

_TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})
_STYLES = frozenset({"primary", "danger"})
# fmt: off
_KNOWN_BLOCKS = frozenset({
    "actions", "context", "divider", "file", "header", "image", "input", "markdown",
    "rich_text", "section", "table", "video",
})
_KNOWN_ELEMENTS = frozenset({
    "button", "channels_select", "checkboxes", "conversations_select", "datepicker",
    "datetimepicker", "email_text_input", "external_select", "file_input", "image",
    "multi_channels_select", "multi_conversations_select", "multi_external_select",
    "multi_static_select", "multi_users_select", "number_input", "overflow",
    "plain_text_input", "radio_buttons", "rich_text_input", "static_select",
    "timepicker", "url_text_input", "users_select", "workflow_button",
})
# fmt: on
# Slack rejects properties it does not know; checked for the blocks imagebot renders.
_BLOCK_KEYS: dict[str, frozenset[str]] = {
    "section": frozenset({"type", "block_id", "text", "fields", "accessory", "expand"}),
    "header": frozenset({"type", "block_id", "text"}),
    "actions": frozenset({"type", "block_id", "elements"}),
    "context": frozenset({"type", "block_id", "elements"}),
    "divider": frozenset({"type", "block_id"}),
}
_BUTTON_KEYS = frozenset(
    {"type", "text", "action_id", "url", "value", "style", "confirm"}
    | {"accessibility_label"}
)
_TEXT_KEYS = frozenset({"type", "text", "emoji", "verbatim"})
_CONFIRM_KEYS = frozenset({"title", "text", "confirm", "deny", "style"})


def validate_blocks(blocks: list[dict[str, Any]], *, modal: bool = False) -> list[str]:
    """Return what Slack would reject in these blocks (empty when they are valid)."""
    return _blocks_problems(blocks, modal=modal)


def validate_view(view: dict[str, Any]) -> list[str]:
    """Return what Slack would reject in this modal or home view."""
    return _view_problems(view)


def _blocks_problems(blocks: object, *, modal: bool) -> list[str]:
    if not isinstance(blocks, list):
        return ["blocks: must be a list of block objects"]

    problems: list[str] = []
    limit = MAX_MODAL_BLOCKS if modal else MAX_MESSAGE_BLOCKS
    if len(blocks) > limit:
        where = "a modal" if modal else "a message"
        problems.append(f"blocks: {len(blocks)} blocks, at most {limit} in {where}")

    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        path = f"blocks[{index}]"
        if not isinstance(block, dict):
            problems.append(f"{path}: must be an object")
            continue
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            if block_id in block_ids:
                problems.append(f"{path}.block_id: {block_id!r} is used twice")
            block_ids.add(block_id)
        problems.extend(_check_block(path, block))
    return problems


def _view_problems(view: object) -> list[str]:
    if not isinstance(view, dict):
        return ["view: must be an object"]

    problems: list[str] = []
    kind = view.get("type")
    if kind not in ("modal", "home"):
        problems.append("view.type: must be modal or home")
    if kind == "modal":
        _check_text(problems, "view.title", view.get("title"), 24, plain_only=True)
        for key in ("submit", "close"):
            if key in view:
                _check_text(problems, f"view.{key}", view[key], 24, plain_only=True)
    _check_length(problems, "view.callback_id", view.get("callback_id"), 255)
    _check_length(problems, "view.external_id", view.get("external_id"), 255)
    _check_length(problems, "view.private_metadata", view.get("private_metadata"), 3000)

    blocks = view.get("blocks")
    if not isinstance(blocks, list) or not blocks:
        problems.append("view.blocks: must list at least one block")
    else:
        problems.extend(f"view.{p}" for p in _blocks_problems(blocks, modal=True))
        has_input = any(
            isinstance(b, dict) and b.get("type") == "input" for b in blocks
        )
        if kind == "modal" and has_input and "submit" not in view:
            problems.append("view.submit: required when the modal has input blocks")

    if not problems:
        problems.extend(_sdk_problems("view", lambda: View(**copy.deepcopy(view))))
    return problems


def _check_block(path: str, block: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    kind = block.get("type")
    if kind not in _KNOWN_BLOCKS:
        return [f"{path}.type: unknown block type {kind!r}"]
    _check_length(problems, f"{path}.block_id", block.get("block_id"), 255)
    allowed = _BLOCK_KEYS.get(str(kind))
    if allowed is not None:
        _check_keys(problems, path, block, allowed)

    if kind == "section":
        _check_section(problems, path, block)
    elif kind == "header":
        _check_text(problems, f"{path}.text", block.get("text"), 150, plain_only=True)
    elif kind == "actions":
        _check_actions(problems, path, block)
    elif kind == "context":
        _check_context(problems, path, block)

    # The SDK models catch what the checks above leave out (images, selects, inputs).
    if not problems:
        problems.extend(_sdk_problems(path, lambda: Block.parse(copy.deepcopy(block))))
    return problems


def _check_section(problems: list[str], path: str, block: dict[str, Any]) -> None:
    text, fields = block.get("text"), block.get("fields")
    if text is None and fields is None:
        problems.append(f"{path}: a section needs text or fields")
    if text is not None:
        _check_text(problems, f"{path}.text", text, 3000)
    if fields is not None:
        if not isinstance(fields, list) or not 1 <= len(fields) <= 10:
            problems.append(f"{path}.fields: must list 1 to 10 text objects")
        else:
            for i, item in enumerate(fields):
                _check_text(problems, f"{path}.fields[{i}]", item, 2000)
    if "accessory" in block:
        _check_element(problems, f"{path}.accessory", block["accessory"])


def _check_actions(problems: list[str], path: str, block: dict[str, Any]) -> None:
    elements = block.get("elements")
    if not isinstance(elements, list) or not 1 <= len(elements) <= 25:
        problems.append(f"{path}.elements: must list 1 to 25 elements")
        return
    action_ids: set[str] = set()
    for i, element in enumerate(elements):
        _check_element(problems, f"{path}.elements[{i}]", element)
        action_id = element.get("action_id") if isinstance(element, dict) else None
        if isinstance(action_id, str):
            if action_id in action_ids:
                problems.append(
                    f"{path}.elements[{i}].action_id: {action_id!r} is used twice"
                )
            action_ids.add(action_id)


def _check_context(problems: list[str], path: str, block: dict[str, Any]) -> None:
    elements = block.get("elements")
    if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
        problems.append(f"{path}.elements: must list 1 to 10 elements")
        return
    for i, element in enumerate(elements):
        where = f"{path}.elements[{i}]"
        kind = element.get("type") if isinstance(element, dict) else None
        if kind in _TEXT_TYPES:
            _check_text(problems, where, element, 3000)
        elif kind != "image":
            problems.append(f"{where}: must be a text object or an image")


def _check_element(problems: list[str], path: str, element: Any) -> None:
    if not isinstance(element, dict):
        problems.append(f"{path}: must be an object")
        return
    kind = element.get("type")
    if kind not in _KNOWN_ELEMENTS:
        problems.append(f"{path}.type: unknown element type {kind!r}")
        return
    if kind == "button":
        _check_keys(problems, path, element, _BUTTON_KEYS)
        _check_text(problems, f"{path}.text", element.get("text"), 75, plain_only=True)
        _check_length(problems, f"{path}.value", element.get("value"), 2000)
        _check_length(problems, f"{path}.url", element.get("url"), 3000)
        _check_length(
            problems,
            f"{path}.accessibility_label",
            element.get("accessibility_label"),
            75,
        )
        if "style" in element and element["style"] not in _STYLES:
            problems.append(f"{path}.style: must be primary or danger")
    _check_length(problems, f"{path}.action_id", element.get("action_id"), 255)
    if "confirm" in element:
        _check_confirm(problems, f"{path}.confirm", element["confirm"])


def _check_confirm(problems: list[str], path: str, confirm: Any) -> None:
    if not isinstance(confirm, dict):
        problems.append(f"{path}: must be a confirmation object")
        return
    _check_keys(problems, path, confirm, _CONFIRM_KEYS)
    _check_text(problems, f"{path}.title", confirm.get("title"), 100, plain_only=True)
    _check_text(problems, f"{path}.text", confirm.get("text"), 300)
    _check_text(
        problems, f"{path}.confirm", confirm.get("confirm"), 30, plain_only=True
    )
    _check_text(problems, f"{path}.deny", confirm.get("deny"), 30, plain_only=True)
    if "style" in confirm and confirm["style"] not in _STYLES:
        problems.append(f"{path}.style: must be primary or danger")


def _check_text(
    problems: list[str], path: str, obj: Any, limit: int, *, plain_only: bool = False
) -> None:
    if obj is None:
        problems.append(f"{path}: required")
        return
    if not isinstance(obj, dict):
        problems.append(f"{path}: must be a text object, not {type(obj).__name__}")
        return
    _check_keys(problems, path, obj, _TEXT_KEYS)
    kind = obj.get("type")
    if plain_only and kind != "plain_text":
        problems.append(f"{path}.type: must be plain_text")
    elif kind not in _TEXT_TYPES:
        problems.append(f"{path}.type: must be plain_text or mrkdwn")
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        problems.append(f"{path}.text: must be a non-empty string")
    else:
        _check_length(problems, f"{path}.text", text, limit)


def _check_length(problems: list[str], path: str, value: Any, limit: int) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        problems.append(f"{path}: must be a string")
    elif len(value) > limit:
        problems.append(f"{path}: {len(value)} characters, at most {limit}")


def _check_keys(
    problems: list[str], path: str, obj: dict[str, Any], allowed: frozenset[str]
) -> None:
    unknown = sorted(set(obj) - allowed)
    if unknown:
        problems.append(f"{path}: unknown properties {', '.join(unknown)}")


def _sdk_problems(path: str, build: Callable[[], Block | View | None]) -> list[str]:
    try:
        model = build()
        if model is None:
            return [f"{path}: not a block the SDK knows"]
        model.to_dict()  # runs every validator, nested objects included
    except SlackObjectFormationError as exc:
        return [f"{path}: {exc}"]
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        return [f"{path}: malformed ({type(exc).__name__}: {exc})"]
    return []
