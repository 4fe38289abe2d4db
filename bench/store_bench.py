"""RequestStore throughput and open time, on a real file, through the public API only.

    python bench/store_bench.py [--events 100000] [--requests 2000] [--keep PATH]

Prints transitions per second, audit events recorded per second, the time to open
a store holding all those events, and the time of the queries the bot makes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.model import AuditEvent, ChangeRequest, EventKind, State
from bot.store import RequestStore

T = TypeVar("T")


def timed(label: str, action: Callable[[], T], count: int = 1) -> T:
    start = time.perf_counter()
    result = action()
    elapsed = time.perf_counter() - start
    rate = f"  ({count / elapsed:,.0f}/s)" if count > 1 else ""
    print(f"{label:<48} {elapsed * 1000:10.1f} ms{rate}")
    return result


def request(n: int) -> ChangeRequest:
    return ChangeRequest(
        id=f"req-{n:06d}",
        requester="U0001",
        channel="C0001",
        region="cn-hangzhou",
        image_id=f"m-{n % 500:05d}",
        before={"status": "Available"},
        after={"status": "Deprecated"},
        snapshot={"image_id": f"m-{n % 500:05d}", "family": "web"},
        created_at=float(n),
        expires_at=float(n) + 1800,
    )


def event(n: int) -> AuditEvent:
    return AuditEvent(
        at=1_700_000_000.0 + n,
        kind=EventKind.APPLIED,
        request_id=f"req-{n // 4:06d}",
        user="U0001",
        image_id=f"m-{n % 500:05d}",
        region="cn-hangzhou",
        before={"status": "Available"},
        after={"status": "Deprecated"},
        ecs_request_id=f"ECS-{n}",
    )


@dataclass(frozen=True)
class StoreResult:
    requests: int
    events: int
    transitions_per_s: float
    record_seconds: float
    open_seconds: list[float]


def measure(path: str, events: int, requests: int, opens: int = 5) -> StoreResult:
    """Transitions per second, and the time to open a store holding `events`."""
    store = RequestStore(path)
    try:
        for n in range(requests):
            store.add(request(n))
        started = time.perf_counter()
        for n in range(requests):
            store.transition(f"req-{n:06d}", [State.PREVIEWED], State.EXECUTING)
            store.transition(f"req-{n:06d}", [State.EXECUTING], State.SUCCEEDED)
        transitions = 2 * requests / (time.perf_counter() - started)
        started = time.perf_counter()
        for n in range(events):
            store.record(event(n))
        recorded = time.perf_counter() - started
    finally:
        store.close()

    opened: list[float] = []
    for _ in range(opens):
        started = time.perf_counter()
        store = RequestStore(path)
        opened.append(time.perf_counter() - started)
        store.close()
    return StoreResult(requests, events, transitions, recorded, opened)


def run(path: str, events: int, requests: int) -> None:
    store = RequestStore(path)

    def add_all() -> None:
        for n in range(requests):
            store.add(request(n))

    def execute_all() -> None:
        for n in range(requests):
            store.transition(f"req-{n:06d}", [State.PREVIEWED], State.EXECUTING)

    def finish_all() -> None:
        for n in range(requests):
            store.transition(f"req-{n:06d}", [State.EXECUTING], State.SUCCEEDED)

    def record_all() -> None:
        for n in range(events):
            store.record(event(n))

    timed(f"add {requests} requests", add_all, requests)
    timed(f"{requests} transitions PREVIEWED -> EXECUTING", execute_all, requests)
    timed(f"{requests} transitions EXECUTING -> SUCCEEDED", finish_all, requests)
    timed(f"record {events} audit events", record_all, events)
    store.close()

    store = timed(f"open a store with {events} events", lambda: RequestStore(path))
    timed("open_requests()", store.open_requests)
    timed("recent(20)", lambda: store.recent(20))
    timed(
        "events(limit=20, newest_first=True)",
        lambda: store.events(limit=20, newest_first=True),
    )
    timed(
        "events(image_id=…, limit=20, newest_first=True)",
        lambda: store.events(image_id="m-00042", limit=20, newest_first=True),
    )
    timed(
        "events(since=last hour)",
        lambda: store.events(since=1_700_000_000.0 + events - 3600),
    )
    found = timed("events() (the whole trail)", store.events)
    assert len(found) == events, len(found)
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--keep", help="write the store here instead of a temp dir")
    args = parser.parse_args()

    if args.keep:
        run(args.keep, args.events, args.requests)
        return
    with tempfile.TemporaryDirectory() as tmp:
        run(str(Path(tmp) / "bench.sqlite"), args.events, args.requests)


if __name__ == "__main__":
    main()
