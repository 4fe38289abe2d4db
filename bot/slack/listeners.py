"""Thin Bolt listeners: acknowledge at once, then let the service work.

Acks never wait for ECS: the command's text is parsed (pure, microseconds) in the
ack so that help and grammar errors answer instantly; everything else runs in a
lazy listener on the app's executor.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import commands
from bot.commands import CommandError
from bot.config import Settings
from bot.model import Command, State, Verb
from bot.mrkdwn import esc
from bot.service import Service, UserError
from bot.slack import blocks

log = logging.getLogger(__name__)

_CLICK = re.compile(r"^imagebot:(apply|approve|cancel|revert)$")
_OOPS = (
    "Something went wrong inside imagebot. Check the request's thread or "
    "`/image history` before trying again, and if it keeps happening, ask the "
    "bot's operators to check its log."
)


def register(app: App, service: Service, settings: Settings) -> None:
    """Wire every listener to the app."""

    def parse(text: str) -> Command:
        return commands.parse(
            text, default_region=settings.region, command=settings.command
        )

    def ack_command(ack: Ack, command: dict[str, Any]) -> None:
        try:
            parsed = parse(command.get("text", ""))
        except CommandError as error:
            ack(**_private(blocks.notice(_error_text(error))))
            return
        if parsed.verb is Verb.HELP:
            text = commands.help_text(
                Verb(parsed.topic) if parsed.topic else None, command=settings.command
            )
            ack(**_private(blocks.notice(esc(text))))
            return
        ack()

    def run_command(command: dict[str, Any], respond: Respond) -> None:
        try:
            parsed = parse(command.get("text", ""))
        except CommandError:
            return  # already answered in the ack
        if parsed.verb is Verb.HELP:
            return
        _guard(respond, lambda: _dispatch(service, parsed, command, respond))

    app.command(settings.command)(ack=ack_command, lazy=[run_command])

    def run_click(
        body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        kind = action["action_id"].split(":", 1)[1]
        user = body["user"]["id"]
        _guard(
            respond,
            lambda: _tell(
                respond, service.click(str(action.get("value", "")), kind, user)
            ),
        )

    app.action(_CLICK)(ack=_ack, lazy=[run_click])

    def open_reject(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        respond: Respond,
    ) -> None:
        # The dialog must open within Slack's 3 s of the click, so this runs
        # before the response; the checks are local but for a cached group lookup.
        ack()
        _guard(respond, lambda: _open_reject(service, body, action, client, respond))

    app.action("imagebot:reject")(open_reject)

    def ack_reject(ack: Ack, view: dict[str, Any]) -> None:
        if not _reason(view):
            ack(
                response_action="errors",
                errors={"reason": "Say why, so the requester knows what to fix."},
            )
            return
        ack()

    def run_reject(
        body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        user = body["user"]["id"]
        request_id = view.get("private_metadata", "")
        try:
            message = service.reject(request_id, user, _reason(view))
            request = service.request(request_id)
            if message and request is not None:
                client.chat_postEphemeral(
                    channel=request.channel, user=user, text=message
                )
        except Exception:
            log.exception("reject of %s by %s failed", request_id, user)

    app.view(blocks.REJECT_VIEW)(ack=ack_reject, lazy=[run_reject])


def _open_reject(
    service: Service,
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    respond: Respond,
) -> None:
    request = service.request(str(action.get("value", "")))
    if request is None or request.state is not State.PREVIEWED:
        _tell(respond, "This request is no longer open.")
        return
    decision = service.may_reject(request, body["user"]["id"])
    if not decision.allowed:
        _tell(respond, decision.reason)
        return
    try:
        client.views_open(
            trigger_id=body["trigger_id"], view=blocks.reject_modal(request)
        )
    except SlackApiError as error:
        log.warning("reject dialog not opened: %s", error.response.get("error"))
        _tell(respond, "Slack did not open the dialog in time; press Reject again.")


def _dispatch(
    service: Service, parsed: Command, command: dict[str, Any], respond: Respond
) -> None:
    user, channel = command["user_id"], command["channel_id"]
    if parsed.verb is Verb.SHOW:
        view = service.show(parsed)
        _respond(respond, blocks.image_card(view.image, view.family_resolves_to))
    elif parsed.verb is Verb.FAMILY:
        family = service.family(parsed)
        _respond(
            respond,
            blocks.family_card(
                family.family, family.region, family.images, family.resolves_to
            ),
        )
    elif parsed.verb is Verb.HISTORY:
        _respond(
            respond,
            blocks.history_card(service.history(parsed.image_id), parsed.image_id),
        )
    elif parsed.verb is Verb.PENDING:
        _respond(respond, blocks.pending_card(service.pending()))
    else:
        preview = service.request_change(parsed, user, channel)
        if not preview.posted:
            _respond(respond, blocks.blocked_preview(preview.request))


def _guard(respond: Respond, work: Callable[[], None]) -> None:
    """Run a lazy listener's work; every failure reaches the person, privately."""
    try:
        work()
    except UserError as error:
        _tell(respond, error.message)
    except Exception:
        log.exception("listener failed")
        _tell(respond, _OOPS)


def _ack(ack: Ack) -> None:
    ack()


def _tell(respond: Respond, text: str) -> None:
    if text:
        _respond(respond, blocks.notice(text))


def _respond(respond: Respond, message: blocks.Message) -> None:
    text, body = message
    respond(text=text, blocks=body, response_type="ephemeral", replace_original=False)


def _private(message: blocks.Message) -> dict[str, Any]:
    text, body = message
    return {"text": text, "blocks": body, "response_type": "ephemeral"}


def _error_text(error: CommandError) -> str:
    usage = f"\nUsage: `{esc(error.usage)}`" if error.usage else ""
    return f":warning: {esc(error.message)}{usage}"


def _reason(view: dict[str, Any]) -> str:
    values = view.get("state", {}).get("values", {})
    return str(values.get("reason", {}).get("reason", {}).get("value") or "").strip()
