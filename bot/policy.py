"""Who may request, approve and break glass, and how many approvals a change needs.

The policy is a TOML file named by IMAGEBOT_POLICY; without one, the built-in
default applies: anyone may request, and the requester's own Apply executes. A
complete file, every key shown:

    # Approvals needed from people other than the requester. 0 = the requester's
    # own Apply executes.
    approvals_required = 1

    # Who may approve: Slack member IDs (U…, W…) and user-group IDs (S…).
    # Empty = anyone but the requester. The requester never approves their own
    # request, even when listed, so list more people than approvals_required.
    approvers = ["U012AB3CD", "S0614TZR7"]

    # Who may open requests; same ID forms. Empty = everyone.
    requesters = ["S0614TZR7", "S07PLATFRM"]

    # A request not executed by then expires. Fractions allowed (0.5 = 30 s);
    # at most 10080 (a week).
    pending_ttl_minutes = 30

    # Stricter rules for risky changes: deprecating the last Available image of a
    # family, and boot-mode changes.
    [risky]
    # Default: the top-level approvals_required; never fewer than it.
    approvals_required = 2
    # Who may approve a risky change, instead of the top-level approvers.
    # Absent or empty = the top-level approvers.
    approvers = ["S0SRELEADS"]

    # Incident responders may apply their own change at once, with no approval,
    # by adding incident=<reference> to the command.
    [break_glass]
    # Member IDs (U…, W…) and user-group IDs (S…). Empty = nobody may break glass.
    responders = ["S0ONCALL01"]
    # Channel ID (C…, G…) where every break-glass change is announced; optional.
    announce_channel = "C0INCIDENTS"
    # Demand reason="…" with incident=…; default true.
    require_reason = true

Group IDs, not handles: `usergroups.list` or the group's page in Slack shows them.
Every decision here is pure; group membership comes through a Directory, and a
Directory that cannot answer means "denied, try again", never "allowed".
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from bot.mrkdwn import esc

MAX_TTL_MINUTES = 10080.0

_PERSON = re.compile(r"[UW][A-Z0-9]+")
_GROUP = re.compile(r"S[A-Z0-9]+")
_CHANNEL = re.compile(r"[CG][A-Z0-9]+")
_ID = re.compile(f"{_PERSON.pattern}|{_GROUP.pattern}")
_ID_FORMS = "Slack member IDs (U…, W…) and user-group IDs (S…)"

_TOP_KEYS = (
    "approvals_required",
    "approvers",
    "requesters",
    "pending_ttl_minutes",
    "risky",
    "break_glass",
)
_RISKY_KEYS = ("approvals_required", "approvers")
_BREAK_GLASS_KEYS = ("responders", "announce_channel", "require_reason")


class PolicyError(Exception):
    """A policy file that cannot be used; the message names the key and the fix."""

    def __init__(self, message: str, *, key: str = "") -> None:
        super().__init__(message)
        self.key = key


class DirectoryError(Exception):
    """Slack could not say who is in a user group."""

    def __init__(self, message: str, *, group_id: str = "") -> None:
        super().__init__(message)
        self.group_id = group_id


class Directory(Protocol):
    def members(self, group_id: str) -> frozenset[str]:
        """The member IDs of a user group; raises DirectoryError when unknown."""
        ...


@dataclass(frozen=True)
class Policy:
    """The rules: risky_* from [risky]; responders and the rest from [break_glass]."""

    approvals_required: int = 0
    approvers: tuple[str, ...] = ()
    requesters: tuple[str, ...] = ()
    pending_ttl_minutes: float = 30.0
    risky_approvals_required: int = 0
    risky_approvers: tuple[str, ...] = ()
    responders: tuple[str, ...] = ()
    announce_channel: str = ""
    require_incident_reason: bool = True

    @property
    def ttl_seconds(self) -> float:
        return self.pending_ttl_minutes * 60.0


@dataclass(frozen=True)
class Decision:
    """Allowed or not; when not, `reason` is shown to the person who asked."""

    allowed: bool
    reason: str = ""


ALLOWED = Decision(True)


# Loading and checking the file.


def load(path: str = "") -> Policy:
    """Read the policy file at `path`; an empty path gives the built-in default."""
    if not path:
        return Policy()
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        raise PolicyError(
            f"Policy file {path} does not exist: fix IMAGEBOT_POLICY or unset it "
            "to use the built-in default policy."
        ) from None
    except OSError as err:
        raise PolicyError(f"Cannot read policy file {path}: {err.strerror}.") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise PolicyError(
            f"Policy file {path} is not UTF-8 text (byte {err.start}); "
            "save it as UTF-8 TOML."
        ) from None
    return parse(text, source=path)


def parse(text: str, *, source: str = "policy") -> Policy:
    """Build a Policy from TOML text; `source` names the file in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        message = f"{source} is not valid TOML: {err}"
        if "end of document" in str(err):
            last_line = text.count("\n") + 1
            message += (
                f"; the file ends at line {last_line} with "
                "something left open: a [, a { or a quote"
            )
        raise PolicyError(message + ".") from None
    try:
        return _build(data)
    except PolicyError as err:
        raise PolicyError(f"{source}: {err}", key=err.key) from None


def _build(data: Mapping[str, Any]) -> Policy:
    _reject_unknown(data, _TOP_KEYS, "")
    risky = _table(data, "risky", _RISKY_KEYS)
    glass = _table(data, "break_glass", _BREAK_GLASS_KEYS)

    approvals = _count(data, "approvals_required", 0)
    approvers = _ids(data, "approvers")
    _check_reachable(approvals, approvers, "approvals_required", "approvers")

    risky_approvals = _count(risky, "approvals_required", approvals, at="risky.")
    if risky_approvals < approvals:
        raise PolicyError(
            f"`risky.approvals_required` must be at least the top-level "
            f"approvals_required ({approvals}), since risky changes are held to "
            f"stricter rules (got {risky_approvals}).",
            key="risky.approvals_required",
        )
    risky_approvers = _ids(risky, "approvers", at="risky.") or approvers
    _check_reachable(
        risky_approvals,
        risky_approvers,
        "risky.approvals_required",
        "risky.approvers" if "approvers" in risky else "approvers",
    )

    return Policy(
        approvals_required=approvals,
        approvers=approvers,
        requesters=_ids(data, "requesters"),
        pending_ttl_minutes=_ttl(data),
        risky_approvals_required=risky_approvals,
        risky_approvers=risky_approvers,
        responders=_ids(glass, "responders", at="break_glass."),
        announce_channel=_channel(glass),
        require_incident_reason=_flag(glass, "require_reason", True, at="break_glass."),
    )


def _reject_unknown(data: Mapping[str, Any], allowed: tuple[str, ...], at: str) -> None:
    for key in data:
        if key in allowed:
            continue
        where = f" in [{at.rstrip('.')}]" if at else ""
        message = f"unknown key `{at}{key}`; allowed keys{where}: {', '.join(allowed)}."
        close = difflib.get_close_matches(key, allowed, n=1)
        if close:
            message += f" Did you mean `{at}{close[0]}`?"
        raise PolicyError(message, key=f"{at}{key}")


def _table(data: Mapping[str, Any], name: str, allowed: tuple[str, ...]) -> Any:
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise PolicyError(
            f"`{name}` must be a table: write it as a [{name}] section.", key=name
        )
    _reject_unknown(table, allowed, f"{name}.")
    return table


def _count(data: Mapping[str, Any], key: str, default: int, *, at: str = "") -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PolicyError(
            f"`{at}{key}` must be a whole number >= 0 (got {value!r}).", key=at + key
        )
    return value


def _ttl(data: Mapping[str, Any]) -> float:
    value = data.get("pending_ttl_minutes", 30.0)
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or not 0 < value <= MAX_TTL_MINUTES:
        raise PolicyError(
            f"`pending_ttl_minutes` must be a number of minutes > 0 and at most "
            f"{MAX_TTL_MINUTES:g} (a week); fractions are allowed, 0.5 = 30 s "
            f"(got {value!r}).",
            key="pending_ttl_minutes",
        )
    return float(value)


def _ids(data: Mapping[str, Any], key: str, *, at: str = "") -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise PolicyError(
            f"`{at}{key}` must be a list of {_ID_FORMS}, e.g. "
            f'["U012AB3CD", "S0614TZR7"] (got {value!r}).',
            key=at + key,
        )
    seen: dict[str, None] = {}
    for item in value:
        if not isinstance(item, str) or not _ID.fullmatch(item):
            raise PolicyError(
                f"`{at}{key}` must list only {_ID_FORMS}; {item!r} is not one. "
                "Use IDs, not names or @handles.",
                key=at + key,
            )
        seen[item] = None
    return tuple(seen)


def _check_reachable(
    approvals: int, approvers: tuple[str, ...], count_key: str, list_key: str
) -> None:
    # Groups can grow, so only a list of people alone can be proven too short.
    if not approvers or any(_GROUP.fullmatch(a) for a in approvers):
        return
    if len(approvers) < approvals:
        people = "1 person" if len(approvers) == 1 else f"{len(approvers)} people"
        raise PolicyError(
            f"`{count_key}` is {approvals} but `{list_key}` lists only {people}, "
            "so no request could ever be approved; "
            "list more approvers, a user group, or lower the count.",
            key=count_key,
        )


def _channel(glass: Mapping[str, Any]) -> str:
    value = glass.get("announce_channel", "")
    if not isinstance(value, str) or (value and not _CHANNEL.fullmatch(value)):
        raise PolicyError(
            "`break_glass.announce_channel` must be a channel ID (C…, G…) such as "
            f'"C0123ABCD", or left out (got {value!r}).',
            key="break_glass.announce_channel",
        )
    return value


def _flag(data: Mapping[str, Any], key: str, default: bool, *, at: str = "") -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise PolicyError(
            f"`{at}{key}` must be true or false (got {value!r}).", key=at + key
        )
    return value


# Decisions.


def is_member(user: str, ids: Iterable[str], directory: Directory) -> bool:
    """Whether `user` is one of `ids` or in one of its user groups.

    Raises DirectoryError only when no listed group admits the user and at least
    one group could not be read, so an answer that is known is never lost.
    """
    ids = tuple(ids)
    if user in ids:
        return True
    failure: DirectoryError | None = None
    for group in (i for i in ids if _GROUP.fullmatch(i)):
        try:
            if user in directory.members(group):
                return True
        except DirectoryError as err:
            failure = failure or _with_group(err, group)
    if failure is not None:
        raise failure
    return False


def may_request(policy: Policy, user: str, directory: Directory) -> Decision:
    """Whether `user` may open a change request."""
    if not policy.requesters:
        return ALLOWED
    return _check(
        user,
        policy.requesters,
        directory,
        "You are not on the policy's list of people who may change images. "
        "Ask the imagebot operators to add you to `requesters`.",
    )


def approvals_needed(policy: Policy, *, risky: bool) -> int:
    """Approvals from people other than the requester before a change executes."""
    if risky:
        return max(policy.approvals_required, policy.risky_approvals_required)
    return policy.approvals_required


def approvers_for(policy: Policy, *, risky: bool) -> tuple[str, ...]:
    """Who may approve; empty means anyone but the requester."""
    if risky and policy.risky_approvers:
        return policy.risky_approvers
    return policy.approvers


def may_approve(
    policy: Policy,
    user: str,
    *,
    requester: str,
    risky: bool,
    directory: Directory,
    already: Collection[str] = (),
) -> Decision:
    """Whether `user` may add an approval to a request opened by `requester`."""
    if user == requester:
        return Decision(
            False,
            "You opened this request, so you cannot approve it; "
            "someone else must approve.",
        )
    if user in already:
        return Decision(
            False, "You already approved this request; another approver must approve."
        )
    approvers = approvers_for(policy, risky=risky)
    if not approvers:
        return ALLOWED
    kind = "a risky change like this one" if risky else "this request"
    return _check(
        user,
        approvers,
        directory,
        f"You are not an approver for {kind}; {mentions(approvers)} may approve it.",
    )


def may_break_glass(policy: Policy, user: str, directory: Directory) -> Decision:
    """Whether `user` may apply their own change at once, citing an incident."""
    if not policy.responders:
        return Decision(
            False,
            "Break glass is off: the policy names no incident responders. "
            "Drop incident= to ask for approval instead.",
        )
    return _check(
        user,
        policy.responders,
        directory,
        f"Only incident responders ({mentions(policy.responders)}) may apply a "
        "change at once; drop incident= to ask for approval instead.",
    )


def mentions(ids: Iterable[str]) -> str:
    """Slack mrkdwn naming people and user groups, e.g. `<@U1>, <!subteam^S2>`."""
    return ", ".join(_mention(i) for i in ids)


def _mention(id_: str) -> str:
    if _GROUP.fullmatch(id_):
        return f"<!subteam^{id_}>"
    if _PERSON.fullmatch(id_):
        return f"<@{id_}>"
    return esc(id_)


def _check(
    user: str, ids: tuple[str, ...], directory: Directory, refusal: str
) -> Decision:
    try:
        member = is_member(user, ids, directory)
    except DirectoryError as err:
        # Deny when Slack cannot answer: a guess in either direction is worse.
        return Decision(
            False,
            f"Could not check membership of user group `{err.group_id}` with Slack; "
            "try again in a minute.",
        )
    return ALLOWED if member else Decision(False, refusal)


def _with_group(err: DirectoryError, group: str) -> DirectoryError:
    if err.group_id:
        return err
    tagged = DirectoryError(str(err), group_id=group)
    tagged.__cause__ = err
    return tagged
