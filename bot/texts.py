"""What the workflow tells the person who acted, in one place to read and review.

Every text is Slack mrkdwn that is safe to post: values from people or ECS are
escaped here.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot import attributes
from bot.model import ChangeRequest, ImageSnapshot, State
from bot.mrkdwn import esc


def no_change(image: ImageSnapshot, changes: Mapping[str, str]) -> str:
    shown = ", ".join(
        f"{attributes.get(k).label.lower()} `{esc(v)}`" for k, v in changes.items()
    )
    return f"Nothing to change: {image.image_id} already has {shown}."


def undelivered(reason: str) -> str:
    if reason in ("not_in_channel", "channel_not_found"):
        return (
            "I can't post in this channel, so I can't show the preview here. "
            "Invite me with `/invite @imagebot` and run the command again."
        )
    return f"Slack refused the preview ({reason}); nothing was changed. Try again."


RESTARTING = "imagebot is restarting; press the button again in a minute."


def closed(request: ChangeRequest) -> str:
    texts = {
        State.EXECUTING: "This change is being applied right now.",
        State.SUCCEEDED: "This change was already applied.",
        State.FAILED: "This change already ran and failed; see its thread.",
        State.UNKNOWN: "This change already ran; see its thread for the outcome.",
        State.CANCELLED: "This request was cancelled.",
        State.REJECTED: "This request was rejected.",
        State.EXPIRED: "This request expired; run the command again for a new preview.",
    }
    return texts.get(request.state, "This request is closed.")


def revert_blocked(request: ChangeRequest) -> str:
    problems = "; ".join(
        esc(r.text) for r in request.risks if r.severity.value == "block"
    )
    return f"The revert cannot run: {problems}"
