"""The audit export's formats (the end-to-end tests cover its content)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from bot import audit
from bot.model import AuditEvent, EventKind


def _event(**fields: object) -> AuditEvent:
    values: dict[str, object] = {
        "at": 1_780_000_000.0,
        "kind": EventKind.REJECTED,
        "request_id": "r1",
        "user": "UBOB",
        "image_id": "m-plain0001",
        "region": "cn-hangzhou",
        "before": {"name": "a"},
        "after": {"name": "b"},
    }
    values.update(fields)
    return AuditEvent(**values)  # type: ignore[arg-type]


def test_csv_cells_that_a_spreadsheet_would_run_stay_text() -> None:
    out = io.StringIO()
    audit.write_csv([_event(detail='=HYPERLINK("http://x","y")', reason="+1")], out)

    row = next(csv.DictReader(io.StringIO(out.getvalue())))

    assert row["detail"].startswith("'=HYPERLINK")
    assert row["reason"] == "'+1"
    assert json.loads(row["after"]) == {"name": "b"}


def test_jsonl_keeps_values_as_they_are() -> None:
    out = io.StringIO()
    audit.write_jsonl([_event(detail="=1+1", break_glass=True)], out)

    row = json.loads(out.getvalue())

    assert row["detail"] == "=1+1"
    assert row["break_glass"] is True
    assert row["time"].endswith("Z") and row["kind"] == "rejected"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("36h", 1_000_000.0 - 36 * 3600), ("7d", 1_000_000.0 - 7 * 86400)],
)
def test_since_accepts_durations(text: str, expected: float) -> None:
    assert audit.parse_since(text, now=1_000_000.0) == expected


def test_since_accepts_dates_as_utc_and_refuses_nonsense() -> None:
    assert audit.parse_since("1970-01-02") == 86400.0

    with pytest.raises(audit.SinceError, match="2026-12-01"):
        audit.parse_since("yesterday-ish")
