"""Posts and updates a request's messages in Slack on the service's behalf."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.model import ChangeRequest, EventKind
from bot.service import DeliveryError
from bot.slack import blocks

log = logging.getLogger(__name__)


class SlackNotifier:
    """The service's Notifier: one root message per request, the rest in its thread."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def publish(self, request: ChangeRequest) -> str:
        text, body = blocks.request_message(request)
        try:
            response = self.client.chat_postMessage(
                channel=request.channel, text=text, blocks=body, unfurl_links=False
            )
        except SlackApiError as error:
            reason = str(error.response.get("error", "unknown_error"))
            log.warning("request %s: preview not posted: %s", request.id, reason)
            raise DeliveryError(reason) from None
        except (SlackClientError, OSError) as error:
            log.warning("request %s: preview not posted: %r", request.id, error)
            raise DeliveryError("slack_unreachable") from None
        return str(response["ts"])

    def refresh(self, request: ChangeRequest) -> None:
        if not request.root_ts:
            return
        text, body = blocks.request_message(request)
        try:
            self.client.chat_update(
                channel=request.channel, ts=request.root_ts, text=text, blocks=body
            )
        except SlackApiError as error:
            log.warning(
                "request %s: root message not updated: %s",
                request.id,
                error.response.get("error"),
            )

    def reply(self, request: ChangeRequest, kind: EventKind, actor: str) -> None:
        if not request.root_ts:
            return
        text, body = blocks.thread_reply(request, kind, actor)
        self._post(request, request.channel, text, body, thread_ts=request.root_ts)

    def announce(self, channel: str, request: ChangeRequest) -> None:
        text, body = blocks.announcement(request)
        self._post(request, channel, text, body)

    def _post(
        self,
        request: ChangeRequest,
        channel: str,
        text: str,
        body: list[blocks.Block],
        *,
        thread_ts: str | None = None,
    ) -> None:
        try:
            self.client.chat_postMessage(
                channel=channel,
                thread_ts=thread_ts,
                text=text,
                blocks=body,
                unfurl_links=False,
            )
        except SlackApiError as error:
            log.warning(
                "request %s: message to %s not posted: %s",
                request.id,
                channel,
                error.response.get("error"),
            )
