"""The domain: images, commands, risks, change requests and audit events (no I/O)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class State(StrEnum):
    """Where a change request is in its life."""

    PREVIEWED = "PREVIEWED"
    EXECUTING = "EXECUTING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    UNKNOWN = "UNKNOWN"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"

    @property
    def is_final(self) -> bool:
        return self not in (State.PREVIEWED, State.EXECUTING)


class Verb(StrEnum):
    HELP = "help"
    SHOW = "show"
    FAMILY = "family"
    SET = "set"
    DEPRECATE = "deprecate"
    RESTORE = "restore"
    RENAME = "rename"
    HISTORY = "history"
    PENDING = "pending"

    @property
    def changes_image(self) -> bool:
        return self in (Verb.SET, Verb.DEPRECATE, Verb.RESTORE, Verb.RENAME)


@dataclass(frozen=True)
class Command:
    """A parsed slash command.

    `changes` maps catalogue keys (see attributes.py) to values already normalised
    to the API's spelling.
    """

    verb: Verb
    image_id: str = ""
    family: str = ""
    region: str = ""
    changes: dict[str, str] = field(default_factory=dict)
    reason: str = ""
    incident: str = ""
    topic: str = ""


@dataclass(frozen=True)
class ImageSnapshot:
    """One image as DescribeImages reports it."""

    image_id: str
    region: str
    name: str = ""
    family: str = ""
    description: str = ""
    status: str = ""
    boot_mode: str = ""
    license_type: str = ""
    nvme_support: str = ""
    imds_support: str = ""
    creation_time: str = ""
    architecture: str = ""
    os_name: str = ""
    usage: str = ""
    is_self_shared: bool = False
    progress: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImageSnapshot:
        names = _field_names(cls)
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class DryRun:
    """The outcome of ModifyImageAttribute with DryRun=true."""

    passed: bool
    code: str = ""
    message: str = ""


@dataclass(frozen=True)
class Preflight:
    """Everything read before a preview: the image and the facts its risks need."""

    image: ImageSnapshot
    family_available: tuple[ImageSnapshot, ...] = ()
    family_resolves_to: str = ""
    shared_with: tuple[str, ...] = ()
    instances: tuple[str, ...] = ()
    dry_run: DryRun = DryRun(passed=True)


class Severity(StrEnum):
    BLOCK = "block"
    DANGER = "danger"
    CAUTION = "caution"


@dataclass(frozen=True)
class Risk:
    """Something the people acting on a request must know; BLOCK stops it."""

    code: str
    severity: Severity
    text: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "severity": self.severity.value, "text": self.text}

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> Risk:
        return cls(data["code"], Severity(data["severity"]), data["text"])


class Outcome(StrEnum):
    """What a real ModifyImageAttribute call came to."""

    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True)
class WriteResult:
    outcome: Outcome
    ecs_request_id: str = ""
    code: str = ""
    message: str = ""


@dataclass
class ChangeRequest:
    """A change to one image, from preview to its final state."""

    id: str
    requester: str
    channel: str
    region: str
    image_id: str
    before: dict[str, str]
    after: dict[str, str]
    snapshot: dict[str, Any]
    created_at: float
    expires_at: float
    state: State = State.PREVIEWED
    risks: list[Risk] = field(default_factory=list)
    dry_run: DryRun = DryRun(passed=True)
    reason: str = ""
    incident: str = ""
    break_glass: bool = False
    approvals_required: int = 0
    approvers: list[str] = field(default_factory=list)
    approvals: list[str] = field(default_factory=list)
    root_ts: str = ""
    revert_of: str = ""
    closed_by: str = ""
    close_reason: str = ""
    ecs_request_id: str = ""
    error_code: str = ""
    error_message: str = ""
    result_snapshot: dict[str, Any] = field(default_factory=dict)
    updated_at: float = 0.0

    @property
    def image(self) -> ImageSnapshot:
        return ImageSnapshot.from_dict(self.snapshot)

    @property
    def blocked(self) -> bool:
        return any(r.severity is Severity.BLOCK for r in self.risks)

    @property
    def approvals_missing(self) -> int:
        return max(0, self.approvals_required - len(self.approvals))

    def to_dict(self) -> dict[str, Any]:
        # A shallow copy: the store encodes it at once, and asdict's deep copy
        # was a measurable part of every command.
        data = {name: getattr(self, name) for name in _field_names(type(self))}
        data["state"] = self.state.value
        data["risks"] = [r.to_dict() for r in self.risks]
        data["dry_run"] = dataclasses.asdict(self.dry_run)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChangeRequest:
        names = _field_names(cls)
        values = {k: v for k, v in data.items() if k in names}
        values["state"] = State(values["state"])
        values["risks"] = [Risk.from_dict(r) for r in values.get("risks", [])]
        values["dry_run"] = DryRun(**values.get("dry_run", {"passed": True}))
        return cls(**values)


class EventKind(StrEnum):
    REQUESTED = "requested"
    PREVIEWED = "previewed"
    APPROVED = "approved"
    REJECTED = "rejected"
    APPLIED = "applied"
    FAILED = "failed"
    UNKNOWN = "unknown"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REVERTED = "reverted"
    RECONCILED = "reconciled"
    BREAK_GLASS = "break-glass"


@dataclass(frozen=True)
class AuditEvent:
    """One line of the append-only audit trail."""

    at: float
    kind: EventKind
    request_id: str
    user: str
    image_id: str
    region: str
    before: dict[str, str] = field(default_factory=dict)
    after: dict[str, str] = field(default_factory=dict)
    ecs_request_id: str = ""
    break_glass: bool = False
    reason: str = ""
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["kind"] = self.kind.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditEvent:
        names = _field_names(cls)
        values = {k: v for k, v in data.items() if k in names}
        values["kind"] = EventKind(values["kind"])
        return cls(**values)


_FIELD_NAMES: dict[type[Any], frozenset[str]] = {}


def _field_names(cls: type[Any]) -> frozenset[str]:
    """A dataclass's field names, computed once: audit exports decode many events."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = frozenset(f.name for f in dataclasses.fields(cls))
    return names
