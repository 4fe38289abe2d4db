"""User-group membership from Slack, cached briefly to stay inside Tier 2 limits."""

from __future__ import annotations

import http.client
import logging
import threading
import time
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.policy import DirectoryError

log = logging.getLogger(__name__)

# What a Slack error code means for the operator who has to fix it.
_HINTS = {
    "missing_scope": "add the usergroups:read bot scope and reinstall the app",
    "no_such_subteam": "check the user-group ID in the policy file",
    "plan_upgrade_required": "user groups need a paid Slack plan",
    "ratelimited": "Slack is rate limiting usergroups.users.list",
    "invalid_auth": "check SLACK_BOT_TOKEN",
    "not_authed": "check SLACK_BOT_TOKEN",
}


class SlackDirectory:
    """Answers policy.Directory from usergroups.users.list; failures are not cached."""

    def __init__(
        self,
        client: WebClient,
        *,
        ttl_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._ttl = ttl_seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def members(self, group_id: str) -> frozenset[str]:
        """The member IDs of `group_id`; raises DirectoryError when Slack cannot say."""
        # One lock per group: concurrent clicks wait for one lookup instead of
        # each spending a Tier 2 call on the same group.
        with self._guard:
            lock = self._locks.setdefault(group_id, threading.Lock())
        with lock:
            cached = self._cache.get(group_id)
            if cached is not None and self._clock() - cached[0] < self._ttl:
                return cached[1]

            users = self._fetch(group_id)
            self._cache[group_id] = (self._clock(), users)
            return users

    def _fetch(self, group_id: str) -> frozenset[str]:
        try:
            response = self._client.usergroups_users_list(usergroup=group_id)
        except SlackApiError as err:
            code = str(err.response.get("error", "") or err.response.status_code)
            raise self._failure(group_id, code, _HINTS.get(code, "")) from err
        except (
            SlackClientError,
            OSError,
            http.client.HTTPException,
            ValueError,
        ) as err:
            raise self._failure(group_id, type(err).__name__, str(err)) from err

        users = response.get("users")
        if not isinstance(users, list) or not all(isinstance(u, str) for u in users):
            raise self._failure(group_id, "malformed response", "no list of users")
        return frozenset(users)

    def _failure(self, group_id: str, code: str, detail: str) -> DirectoryError:
        message = f"usergroups.users.list for {group_id} failed: {code}"
        if detail:
            message += f" ({detail})"
        log.warning("%s", message)
        return DirectoryError(message, group_id=group_id)
