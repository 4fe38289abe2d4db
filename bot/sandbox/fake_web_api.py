"""The Web API methods the fake Slack answers, over its workspace."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from bot.sandbox.blockkit import validate_view
from bot.sandbox.fake_workspace import Message, Workspace

# A method's implementation, called with the fake and the request's parameters.
# The fake is Any because FakeSlack adds a method of its own (Socket Mode's).
JsonHandler = Callable[[Any, dict[str, Any]], dict[str, Any]]


class WebApiMethods(Workspace):
    """chat.*, views.*, users.info, usergroups.users.list and auth.test."""

    # -- Web API methods (called with the lock held) ----------------------------

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://fake-team.slack.com/",
            "team": "Fake Team",
            "user": "imagebot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        error = self._channel_error(channel)
        if error:
            return {"ok": False, "error": error}
        rejected = self._content_error("chat.postMessage", params)
        if rejected:
            return rejected

        channel = str(channel)
        stored = self._messages.setdefault(channel, {})
        thread_ts = params.get("thread_ts") or None
        if thread_ts is not None:
            parent = stored.get(str(thread_ts))
            # Unknown parents are refused so that a wrong stored ts shows up in tests.
            if parent is None:
                return {"ok": False, "error": "thread_not_found"}
            thread_ts = parent.thread_ts or parent.ts

        message = Message(
            ts=self._next_ts(),
            channel=channel,
            text=str(params.get("text") or ""),
            blocks=list(params.get("blocks") or []),
            thread_ts=thread_ts,
            user=self.bot_user_id,
        )
        stored[message.ts] = message
        return {
            "ok": True,
            "channel": channel,
            "ts": message.ts,
            "message": self._message_json(message),
        }

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        error = self._channel_error(channel)
        if error:
            return {"ok": False, "error": error}
        current = self._messages.get(str(channel), {}).get(str(params.get("ts")))
        if current is None:
            return {"ok": False, "error": "message_not_found"}
        if "blocks" in params or "text" in params:
            merged = {"text": current.text} | params
            rejected = self._content_error("chat.update", merged)
            if rejected:
                return rejected

        updated = current
        if "text" in params:
            updated = replace(updated, text=str(params["text"] or ""))
        if "blocks" in params:
            updated = replace(updated, blocks=list(params["blocks"] or []))
        self._messages[current.channel][current.ts] = updated
        return {
            "ok": True,
            "channel": current.channel,
            "ts": current.ts,
            "text": updated.text,
            "message": self._message_json(updated),
        }

    def _chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, user = params.get("channel"), params.get("user")
        error = self._channel_error(channel)
        if error:
            return {"ok": False, "error": error}
        if not isinstance(user, str) or not user:
            return {"ok": False, "error": "user_not_found"}
        rejected = self._content_error("chat.postEphemeral", params)
        if rejected:
            return rejected

        message = Message(
            ts=self._next_ts(),
            channel=str(channel),
            text=str(params.get("text") or ""),
            blocks=list(params.get("blocks") or []),
            thread_ts=params.get("thread_ts") or None,
            user=self.bot_user_id,
        )
        self._ephemeral.setdefault((message.channel, user), []).append(message)
        return {"ok": True, "message_ts": message.ts}

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        trigger_id = params.get("trigger_id")
        if not trigger_id:
            return {"ok": False, "error": "invalid_arguments"}
        if trigger_id in self._used_triggers:
            return {"ok": False, "error": "exchanged_trigger_id"}
        rejected = self._view_error("views.open", params)
        if rejected:
            return rejected

        self._used_triggers.add(str(trigger_id))
        view_id = f"VFAKE{next(self._serial):06d}"
        return {"ok": True, "view": self._store_view(view_id, params["view"])}

    def _views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        view_id = params.get("view_id")
        if not view_id and params.get("external_id"):
            view_id = next(
                (
                    v["id"]
                    for v in self.views.values()
                    if v.get("external_id") == params["external_id"]
                ),
                None,
            )
        current = self.views.get(str(view_id))
        if current is None:
            return {"ok": False, "error": "not_found"}
        if params.get("hash") and params["hash"] != current["hash"]:
            return {"ok": False, "error": "hash_conflict"}
        rejected = self._view_error("views.update", params)
        if rejected:
            return rejected
        return {"ok": True, "view": self._store_view(current["id"], params["view"])}

    def _view_error(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        view = params.get("view")
        if not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        problems = validate_view(view)
        if problems:
            self._reject(method, params, problems)
            return {"ok": False, "error": "invalid_blocks", "errors": problems}
        return {}

    def _store_view(self, view_id: str, view: dict[str, Any]) -> dict[str, Any]:
        stored = copy.deepcopy(view) | {
            "id": view_id,
            "team_id": self.team_id,
            "app_id": self.app_id,
            "bot_id": self.bot_id,
            "root_view_id": view_id,
            "hash": f"{time.time():.6f}.{next(self._serial)}",
            "state": {"values": {}},
        }
        self.views[view_id] = stored
        return copy.deepcopy(stored)

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = params.get("user")
        if not isinstance(user_id, str) or user_id[:1] not in ("U", "W"):
            return {"ok": False, "error": "user_not_found"}
        name = user_id.lower()
        user: dict[str, Any] = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "real_name": f"User {user_id}",
            "deleted": False,
            "tz": "Asia/Shanghai",
            "tz_offset": 28800,
            "is_admin": False,
            "is_owner": False,
            "is_bot": user_id == self.bot_user_id,
            "profile": {"real_name": f"User {user_id}", "display_name": name},
        }
        user |= copy.deepcopy(self.users.get(user_id, {}))
        return {"ok": True, "user": user}

    def _usergroups_users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        members = self.usergroups.get(str(params.get("usergroup")))
        if members is None:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(members)}


WEB_API_METHODS: Mapping[str, JsonHandler] = {
    "auth.test": WebApiMethods._auth_test,
    "chat.postMessage": WebApiMethods._chat_post_message,
    "chat.update": WebApiMethods._chat_update,
    "chat.postEphemeral": WebApiMethods._chat_post_ephemeral,
    "views.open": WebApiMethods._views_open,
    "views.update": WebApiMethods._views_update,
    "users.info": WebApiMethods._users_info,
    "usergroups.users.list": WebApiMethods._usergroups_users_list,
}
