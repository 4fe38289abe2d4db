"""Exporting the audit trail as JSON lines or CSV."""

from __future__ import annotations

import csv
import json
import re
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO

from bot.model import AuditEvent

COLUMNS = (
    "time",
    "kind",
    "request_id",
    "user",
    "image_id",
    "region",
    "before",
    "after",
    "ecs_request_id",
    "break_glass",
    "reason",
    "detail",
)
_RELATIVE = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class SinceError(ValueError):
    """A --since value that is neither a date nor a duration."""


def parse_since(text: str, *, now: float | None = None) -> float:
    """'2026-12-01', '2026-12-01T08:00', or a duration back from now ('36h', '7d')."""
    value = text.strip()
    match = _RELATIVE.fullmatch(value)
    if match:
        amount, unit = match.groups()
        return (time.time() if now is None else now) - float(amount) * _UNITS[unit]
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise SinceError(
            f"--since takes a date such as 2026-12-01 or 2026-12-01T08:00 (UTC), "
            f"or a duration such as 36h or 7d (got {text!r})."
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def row(event: AuditEvent) -> dict[str, object]:
    """One event as a flat record; times in ISO 8601 UTC."""
    stamp = datetime.fromtimestamp(event.at, UTC).isoformat(timespec="seconds")
    return {
        "time": stamp.replace("+00:00", "Z"),
        "kind": event.kind.value,
        "request_id": event.request_id,
        "user": event.user,
        "image_id": event.image_id,
        "region": event.region,
        "before": event.before,
        "after": event.after,
        "ecs_request_id": event.ecs_request_id,
        "break_glass": event.break_glass,
        "reason": event.reason,
        "detail": event.detail,
    }


def write_jsonl(events: Iterable[AuditEvent], out: IO[str]) -> int:
    count = 0
    for event in events:
        out.write(json.dumps(row(event), ensure_ascii=False, sort_keys=True) + "\n")
        count += 1
    return count


def write_csv(events: Iterable[AuditEvent], out: IO[str]) -> int:
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    count = 0
    for event in events:
        record = row(event)
        for key in ("before", "after"):
            record[key] = json.dumps(record[key], ensure_ascii=False, sort_keys=True)
        record["break_glass"] = "yes" if event.break_glass else "no"
        writer.writerow({k: _cell(v) for k, v in record.items()})
        count += 1
    return count


def _cell(value: object) -> object:
    """Keep text a spreadsheet would run as a formula (=, +, -, @) as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
