"""What Slack sends to an app in HTTP mode: signed slash commands and interactions.

For `imagebot try` and tests: the bodies follow the shapes Slack documents, signed
with the app's signing secret (v0 HMAC-SHA256 over `v0:timestamp:body`).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

TEAM_ID = "T0TEST"
_triggers = itertools.count(1)
# The app listens on loopback; a proxy from the environment must not intercept that.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Reply:
    """The app's HTTP answer to one request."""

    status: int
    body: str

    def json(self) -> dict[str, Any]:
        """The body as a JSON object; {} when it is empty or not JSON."""
        try:
            value = json.loads(self.body)
        except json.JSONDecodeError:
            return {}
        return value if isinstance(value, dict) else {}


def sign(body: str, secret: str, ts: int | None = None) -> dict[str, str]:
    """The headers Slack adds to a form post signed with `secret`."""
    stamp = int(time.time()) if ts is None else ts
    mac = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256)
    return {
        "X-Slack-Request-Timestamp": str(stamp),
        "X-Slack-Signature": "v0=" + mac.hexdigest(),
        "Content-Type": "application/x-www-form-urlencoded",
    }


def trigger_id() -> str:
    """A fresh trigger_id; Slack never hands out the same one twice."""
    return f"{next(_triggers)}.{int(time.time())}.trigger"


def command_body(
    text: str,
    *,
    user: str,
    channel: str,
    response_url: str,
    command: str = "/image",
) -> str:
    """The form body of a slash command."""
    return urllib.parse.urlencode(
        {
            "token": "legacy",
            "team_id": TEAM_ID,
            "channel_id": channel,
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": text,
            "response_url": response_url,
            "trigger_id": trigger_id(),
        }
    )


def block_actions_body(
    action_id: str,
    value: str,
    *,
    user: str,
    channel: str,
    message_ts: str,
    response_url: str,
    block_id: str = "",
) -> str:
    """The form body of a button press in a channel message."""
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM_ID},
        "user": {"id": user, "name": user.lower()},
        "channel": {"id": channel},
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": trigger_id(),
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": block_id,
                "value": value,
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


def view_submission_body(
    view: Mapping[str, Any], values: Mapping[str, Mapping[str, str]], *, user: str
) -> str:
    """The form body of a modal's submission.

    Args:
        values: block_id → action_id → the text typed into that input.
    """
    state = {
        block: {action: {"type": "plain_text_input", "value": text}}
        for block, inputs in values.items()
        for action, text in inputs.items()
    }
    payload = {
        "type": "view_submission",
        "team": {"id": TEAM_ID},
        "user": {"id": user, "name": user.lower()},
        "view": {
            "id": view.get("id", "V1"),
            "type": "modal",
            "callback_id": view.get("callback_id", ""),
            "private_metadata": view.get("private_metadata", ""),
            "state": {"values": state},
        },
    }
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


def post(url: str, body: str, secret: str, *, timeout: float = 10) -> Reply:
    """Sign and POST `body` to the app; HTTP errors come back as a Reply too."""
    request = urllib.request.Request(
        url, data=body.encode(), headers=sign(body, secret)
    )
    try:
        with _opener.open(request, timeout=timeout) as response:
            return Reply(response.status, response.read().decode())
    except urllib.error.HTTPError as error:
        with error:
            return Reply(error.code, error.read().decode())
