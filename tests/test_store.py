import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.model import (
    AuditEvent,
    ChangeRequest,
    DryRun,
    EventKind,
    Risk,
    Severity,
    State,
)
from bot.store import RequestStore, StoreError


def make_request(request_id: str = "r1", **fields: object) -> ChangeRequest:
    values: dict[str, object] = {
        "id": request_id,
        "requester": "U1",
        "channel": "C1",
        "region": "cn-hangzhou",
        "image_id": "m-1",
        "before": {"status": "Available"},
        "after": {"status": "Deprecated"},
        "snapshot": {"image_id": "m-1", "region": "cn-hangzhou", "family": "web"},
        "created_at": 100.0,
        "expires_at": 1900.0,
    }
    values.update(fields)
    return ChangeRequest(**values)  # type: ignore[arg-type]


def make_event(n: int, **fields: object) -> AuditEvent:
    values: dict[str, object] = {
        "at": float(n),
        "kind": EventKind.PREVIEWED,
        "request_id": f"r{n % 3}",
        "user": "U1",
        "image_id": f"m-{n % 2}",
        "region": "cn-hangzhou",
        "detail": f"event {n}",
    }
    values.update(fields)
    return AuditEvent(**values)  # type: ignore[arg-type]


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "state.sqlite")


@pytest.fixture
def store(db: str) -> Iterator[RequestStore]:
    with RequestStore(db) as opened:
        yield opened


def test_add_then_get_returns_every_field(store: RequestStore) -> None:
    request = make_request(
        risks=[
            Risk("last-available", Severity.DANGER, "last image of family web"),
            Risk("no-op", Severity.BLOCK, "nothing changes"),
        ],
        dry_run=DryRun(passed=False, code="InvalidImage", message="not yours"),
        snapshot={"image_id": "m-1", "nested": {"tags": ["a", "b"], "n": 3}},
        reason="broken kernel <&>",
        incident="INC-7",
        break_glass=True,
        approvals_required=2,
        approvers=["U2", "S9"],
        approvals=["U2"],
        root_ts="1700000000.000100",
        result_snapshot={"status": "Deprecated", "deep": {"x": [1, 2.5, None]}},
        updated_at=123.5,
    )

    store.add(request)

    assert store.get("r1") == request
    assert store.get("missing") is None


def test_add_refuses_a_taken_id(store: RequestStore) -> None:
    store.add(make_request(reason="first"))

    with pytest.raises(StoreError, match="r1 already exists"):
        store.add(make_request(reason="second"))
    got = store.get("r1")
    assert got is not None and got.reason == "first"


def test_update_stores_what_change_returns(store: RequestStore) -> None:
    store.add(make_request())

    def add_approval(current: ChangeRequest) -> ChangeRequest:
        current.approvals.append("U2")
        return current

    updated = store.update("r1", add_approval)

    assert updated is not None and updated.approvals == ["U2"]
    got = store.get("r1")
    assert got is not None and got.approvals == ["U2"]


def test_update_returning_none_writes_nothing(store: RequestStore) -> None:
    store.add(make_request())

    def mutate_then_decline(current: ChangeRequest) -> None:
        current.approvals.append("U2")
        current.state = State.CANCELLED
        return None

    assert store.update("r1", mutate_then_decline) is None
    got = store.get("r1")
    assert got is not None and got.approvals == [] and got.state is State.PREVIEWED
    assert [r.id for r in store.open_requests()] == ["r1"]


def test_update_of_unknown_id_returns_none_without_calling_change(
    store: RequestStore,
) -> None:
    calls: list[ChangeRequest] = []

    def change(current: ChangeRequest) -> ChangeRequest:
        calls.append(current)
        return current

    assert store.update("nope", change) is None
    assert calls == []


def test_transition_sets_state_and_fields_when_state_matches(
    store: RequestStore,
) -> None:
    store.add(make_request())

    moved = store.transition(
        "r1", {State.PREVIEWED}, State.EXECUTING, updated_at=5.0, closed_by="U3"
    )

    assert moved is not None
    assert (moved.state, moved.updated_at, moved.closed_by) == (
        State.EXECUTING,
        5.0,
        "U3",
    )
    assert store.get("r1") == moved


def test_transition_from_another_state_changes_nothing(store: RequestStore) -> None:
    store.add(make_request(state=State.CANCELLED))

    assert store.transition("r1", [State.PREVIEWED], State.EXECUTING) is None
    assert store.transition("unknown", [State.PREVIEWED], State.EXECUTING) is None
    got = store.get("r1")
    assert got is not None and got.state is State.CANCELLED


def test_transition_rejects_fields_a_request_does_not_have(
    store: RequestStore,
) -> None:
    store.add(make_request())

    with pytest.raises(TypeError, match="colour"):
        store.transition("r1", [State.PREVIEWED], State.EXECUTING, colour="red")
    with pytest.raises(TypeError, match="state"):
        store.transition("r1", [State.PREVIEWED], State.EXECUTING, state="FAILED")
    with pytest.raises(TypeError, match="collection"):
        store.transition("r1", State.PREVIEWED, State.EXECUTING)  # type: ignore[arg-type]


def test_only_one_of_twenty_racing_threads_wins_the_transition(
    store: RequestStore,
) -> None:
    store.add(make_request())
    start = threading.Barrier(20)
    winners: list[str] = []
    results_lock = threading.Lock()

    def click(user: str) -> None:
        start.wait()
        moved = store.transition(
            "r1", [State.PREVIEWED], State.EXECUTING, closed_by=user
        )
        if moved is not None:
            with results_lock:
                winners.append(user)

    threads = [threading.Thread(target=click, args=(f"U{i}",)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not any(t.is_alive() for t in threads)
    assert len(winners) == 1
    got = store.get("r1")
    assert got is not None
    assert (got.state, got.closed_by) == (State.EXECUTING, winners[0])


def test_open_requests_lists_only_previewed_and_executing_oldest_first(
    store: RequestStore,
) -> None:
    store.add(make_request("late", created_at=300.0))
    store.add(make_request("early", created_at=100.0))
    store.add(make_request("done", created_at=50.0, state=State.SUCCEEDED))
    store.add(make_request("running", created_at=200.0))
    store.transition("running", [State.PREVIEWED], State.EXECUTING)
    store.add(make_request("cancelled", created_at=10.0))
    store.transition("cancelled", [State.PREVIEWED], State.CANCELLED)

    assert [r.id for r in store.open_requests()] == ["early", "running", "late"]


def test_open_and_final_requests_survive_a_restart(db: str) -> None:
    with RequestStore(db) as store:
        store.add(make_request("a", created_at=1.0))
        store.add(make_request("b", created_at=2.0))
        store.add(make_request("c", created_at=3.0))
        store.transition("b", [State.PREVIEWED], State.EXECUTING, updated_at=9.0)
        store.transition("c", [State.PREVIEWED], State.EXPIRED)

    with RequestStore(db) as reopened:
        assert [r.id for r in reopened.open_requests()] == ["a", "b"]
        b = reopened.get("b")
        assert b is not None and (b.state, b.updated_at) == (State.EXECUTING, 9.0)
        assert reopened.transition("b", [State.PREVIEWED], State.FAILED) is None
        assert reopened.transition("b", [State.EXECUTING], State.SUCCEEDED)

    with RequestStore(db) as again:
        assert [r.id for r in again.open_requests()] == ["a"]
        assert [r.id for r in again.in_state(State.SUCCEEDED)] == ["b"]


def test_in_state_finds_open_and_final_requests(store: RequestStore) -> None:
    store.add(make_request("a", created_at=2.0))
    store.add(make_request("b", created_at=1.0, state=State.FAILED))
    store.add(make_request("c", created_at=3.0, state=State.FAILED))

    assert [r.id for r in store.in_state(State.PREVIEWED)] == ["a"]
    assert [r.id for r in store.in_state(State.FAILED)] == ["b", "c"]
    assert [r.id for r in store.in_state(State.FAILED, State.PREVIEWED)] == [
        "b",
        "a",
        "c",
    ]
    assert store.in_state(State.EXECUTING) == []


def test_recent_lists_newest_first_up_to_the_limit(store: RequestStore) -> None:
    for n in range(5):
        store.add(make_request(f"r{n}"))
    store.transition("r1", [State.PREVIEWED], State.CANCELLED)

    assert [r.id for r in store.recent(3)] == ["r4", "r3", "r2"]
    assert [r.id for r in store.recent()] == ["r4", "r3", "r2", "r1", "r0"]
    assert store.recent(0) == []


def test_events_keep_their_recording_order(store: RequestStore) -> None:
    # Recording order wins over the timestamps, which may step back.
    recorded = [make_event(n, at=float(10 - n)) for n in range(6)]
    for event in recorded:
        store.record(event)

    assert store.events() == recorded
    assert store.events(newest_first=True) == recorded[::-1]


def test_events_filter_by_image_request_since_and_limit(
    store: RequestStore,
) -> None:
    recorded = [make_event(n) for n in range(12)]
    for event in recorded:
        store.record(event)

    assert store.events(image_id="m-1") == [e for e in recorded if e.image_id == "m-1"]
    assert store.events(request_id="r2") == [
        e for e in recorded if e.request_id == "r2"
    ]
    assert store.events(image_id="m-1", request_id="r2") == [
        e for e in recorded if e.image_id == "m-1" and e.request_id == "r2"
    ]
    assert store.events(since=9.0) == recorded[9:]
    assert store.events(limit=3) == recorded[:3]
    assert store.events(limit=3, newest_first=True) == recorded[::-1][:3]
    assert store.events(image_id="m-0", since=4.0, limit=2, newest_first=True) == [
        recorded[10],
        recorded[8],
    ]
    assert store.events(image_id="m-unknown") == []
    assert store.events(limit=0) == []


def test_since_finds_late_recorded_events_with_old_clocks(store: RequestStore) -> None:
    store.record(make_event(1, at=50.0))
    store.record(make_event(2, at=10.0))
    store.record(make_event(3, at=60.0))

    assert [e.detail for e in store.events(since=40.0)] == ["event 1", "event 3"]
    assert [e.detail for e in store.events(since=5.0, newest_first=True)] == [
        "event 3",
        "event 2",
        "event 1",
    ]


def test_events_survive_a_restart_and_numbering_continues(db: str) -> None:
    first = [make_event(n) for n in range(70)]  # crosses a counter checkpoint
    with RequestStore(db) as store:
        for event in first:
            store.record(event)
    later = make_event(99, image_id="m-1")

    with RequestStore(db) as reopened:
        reopened.record(later)
        assert reopened.events() == [*first, later]
        assert reopened.events(image_id="m-1")[-1] == later


def test_store_has_no_way_to_change_or_delete_an_event() -> None:
    names = {name for name in dir(RequestStore) if not name.startswith("_")}

    assert names == {
        "add",
        "get",
        "update",
        "transition",
        "open_requests",
        "in_state",
        "recent",
        "record",
        "events",
        "close",
    }


def test_values_on_disk_are_json_text_not_pickles(db: str) -> None:
    with RequestStore(db) as store:
        store.add(make_request())
        store.record(make_event(1))

    with sqlite3.connect(db) as conn:
        kind, value = conn.execute(
            'SELECT typeof(value), value FROM "requests" WHERE key = ?', ("r1",)
        ).fetchone()
        event_value = conn.execute('SELECT value FROM "events"').fetchone()[0]
    conn.close()

    assert kind == "text"
    assert json.loads(value)["state"] == "PREVIEWED"
    assert json.loads(event_value)["kind"] == "previewed"


def test_unserialisable_values_raise_before_anything_is_stored(
    store: RequestStore,
) -> None:
    with pytest.raises(StoreError, match="nothing was written"):
        store.add(make_request(snapshot={"when": object()}))
    assert store.get("r1") is None
    assert store.recent() == [] and store.open_requests() == []

    store.add(make_request())
    with pytest.raises(StoreError, match="nothing was written"):
        store.transition("r1", [State.PREVIEWED], State.EXECUTING, result_snapshot={1j})
    got = store.get("r1")
    assert got is not None and got.state is State.PREVIEWED

    with pytest.raises(StoreError, match="nothing was written"):
        store.record(make_event(1, after={"x": float("nan")}))
    assert store.events() == []


def test_close_is_idempotent_and_later_calls_say_the_store_is_closed(
    db: str,
) -> None:
    store = RequestStore(db)
    store.add(make_request())

    store.close()
    store.close()

    with pytest.raises(StoreError, match="closed"):
        store.get("r1")
    with pytest.raises(StoreError, match="closed"):
        store.record(make_event(1))


def test_memory_store_works_for_tests() -> None:
    with RequestStore(":memory:") as store:
        store.add(make_request())
        store.record(make_event(1))

        assert store.get("r1") is not None
        assert len(store.events(request_id="r1")) == 1


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="directory exists"):
        RequestStore(str(tmp_path / "no" / "such" / "state.sqlite"))


def test_a_file_that_is_not_a_store_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("this is not a database, just some text " * 100)

    with pytest.raises(StoreError, match="not an imagebot state file"):
        RequestStore(str(path))


def test_an_event_left_unindexed_by_a_crash_is_kept_and_indexed(db: str) -> None:
    with RequestStore(db) as store:
        store.record(make_event(1, image_id="m-9"))
    # A crash after the event row was committed but before its indexes were.
    orphan = make_event(2, image_id="m-9", request_id="r-late")
    with sqlite3.connect(db) as conn:
        conn.execute(
            'INSERT INTO "events" (key, value) VALUES (?, ?)',
            (f"{2:012d}", json.dumps(orphan.to_dict())),
        )
    conn.close()

    with RequestStore(db) as reopened:
        reopened.record(make_event(3, image_id="m-9"))

        assert [e.detail for e in reopened.events(image_id="m-9")] == [
            "event 1",
            "event 2",
            "event 3",
        ]
        assert reopened.events(request_id="r-late") == [orphan]


def test_a_request_added_just_before_a_crash_is_still_open(db: str) -> None:
    with RequestStore(db) as store:
        store.add(make_request("a"))
    # A crash after the request and its log entry, before the open list was written.
    late = make_request("b", created_at=200.0)
    with sqlite3.connect(db) as conn:
        conn.execute(
            'INSERT INTO "request_log" (key, value) VALUES (?, ?)',
            (f"{2:012d}", json.dumps("b")),
        )
        conn.execute(
            'INSERT INTO "requests" (key, value) VALUES (?, ?)',
            ("b", json.dumps(late.to_dict())),
        )
    conn.close()

    with RequestStore(db) as reopened:
        assert [r.id for r in reopened.open_requests()] == ["a", "b"]
        assert [r.id for r in reopened.recent()] == ["b", "a"]


def test_a_file_locked_by_another_process_is_a_clear_error(db: str) -> None:
    with RequestStore(db) as store:
        store.add(make_request("a"))
        other = sqlite3.connect(db, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        try:
            # sqlite waits out its 5 s busy timeout before it gives up.
            with pytest.raises(StoreError, match="locked by another process"):
                store.add(make_request("b"))
        finally:
            other.execute("ROLLBACK")
            other.close()

        store.add(make_request("c"))
        assert [r.id for r in store.open_requests()] == ["a", "c"]
        assert [r.id for r in store.recent()] == ["c", "a"]


@pytest.mark.parametrize("point_read_cost", [1, 10**6])
def test_paged_indexes_answer_like_a_full_scan(
    db: str, monkeypatch: pytest.MonkeyPatch, point_read_cost: int
) -> None:
    # Tiny pages, and point reads made free or dear, exercise every path.
    monkeypatch.setattr("bot.store._INDEX_PAGE", 3)
    monkeypatch.setattr("bot.store._TIME_PAGE", 4)
    monkeypatch.setattr("bot.store._POINT_READ_COST", point_read_cost)
    clock = [5.0, 1.0, 7.0, 2.0, 9.0, 3.0, 4.0, 8.0, 6.0, 0.5, 10.0, 2.5, 11.0, 1.5]
    recorded = [make_event(n, at=at) for n, at in enumerate(clock)]
    with RequestStore(db) as store:
        for event in recorded[:9]:
            store.record(event)
    with RequestStore(db) as store:
        for event in recorded[9:]:
            store.record(event)

        for since in (None, 0.0, 2.0, 6.5, 10.5, 99.0):
            for image_id in (None, "m-0", "m-1"):
                for request_id in (None, "r0", "r2"):
                    expected = [
                        e
                        for e in recorded
                        if (since is None or e.at >= since)
                        and (image_id is None or e.image_id == image_id)
                        and (request_id is None or e.request_id == request_id)
                    ]
                    for newest_first in (False, True):
                        ordered = expected[::-1] if newest_first else expected
                        for limit in (None, 1, 4):
                            got = store.events(
                                since=since,
                                image_id=image_id,
                                request_id=request_id,
                                limit=limit,
                                newest_first=newest_first,
                            )
                            assert got == ordered[:limit], (
                                since,
                                image_id,
                                request_id,
                                newest_first,
                                limit,
                            )


def _meta_rows(db: str) -> dict[str, str]:
    uri = f"file:{db}?mode=ro"
    conn = sqlite3.connect(uri, uri=True)
    try:
        return dict(conn.execute('SELECT key, value FROM "meta"').fetchall())
    finally:
        conn.close()


def _insert_raw(db: str, table: str, key: str, value: object) -> None:
    """Write a row the way a crash would leave it: behind the store's back."""
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(
            f'INSERT INTO "{table}" (key, value) VALUES (?, ?)',
            (key, json.dumps(value)),
        )
    conn.close()


def _matching(
    events: list[AuditEvent],
    since: float | None = None,
    image_id: str | None = None,
    request_id: str | None = None,
) -> list[AuditEvent]:
    return [
        e
        for e in events
        if (since is None or e.at >= since)
        and (image_id is None or e.image_id == image_id)
        and (request_id is None or e.request_id == request_id)
    ]


def test_read_only_store_sees_requests_and_events_past_the_checkpoint(
    db: str,
) -> None:
    recorded = [make_event(n) for n in range(70)]
    with RequestStore(db) as writer:
        writer.add(make_request("a"))
        writer.add(make_request("b", created_at=50.0))
        writer.add(make_request("c", created_at=70.0))
        writer.transition("c", [State.PREVIEWED], State.REJECTED)
        for event in recorded:
            writer.record(event)
        # The writer is still open: the saved counter lags 6 events behind.
        assert json.loads(_meta_rows(db)["event_seq"]) == 64

        with RequestStore(db, read_only=True) as reader:
            assert reader.get("a") == writer.get("a")
            assert reader.get("c") is not None
            assert reader.get("c").state is State.REJECTED  # type: ignore[union-attr]
            assert [r.id for r in reader.open_requests()] == ["b", "a"]
            assert [r.id for r in reader.in_state(State.REJECTED)] == ["c"]
            assert [r.id for r in reader.recent(2)] == ["c", "b"]
            assert reader.events() == recorded
            assert reader.events(limit=3, newest_first=True) == recorded[:-4:-1]
            for since, image_id, request_id in [
                (66.0, None, None),
                (None, "m-1", None),
                (None, None, "r2"),
                (60.0, "m-0", "r1"),
            ]:
                got = reader.events(
                    since=since, image_id=image_id, request_id=request_id
                )
                assert got == _matching(recorded, since, image_id, request_id)


def test_read_only_store_finds_an_event_a_crash_left_unindexed(db: str) -> None:
    with RequestStore(db) as writer:
        writer.record(make_event(1, image_id="m-9"))
    orphan = make_event(2, at=500.0, image_id="m-9", request_id="r-late")
    _insert_raw(db, "events", f"{2:012d}", orphan.to_dict())

    with RequestStore(db, read_only=True) as reader:
        assert [e.detail for e in reader.events(image_id="m-9")] == [
            "event 1",
            "event 2",
        ]
        assert reader.events(request_id="r-late") == [orphan]
        assert reader.events(since=400.0) == [orphan]


def test_read_only_store_refuses_every_change(db: str) -> None:
    with RequestStore(db) as writer:
        writer.add(make_request("a"))

    with RequestStore(db, read_only=True) as reader:
        with pytest.raises(StoreError, match="opened read-only"):
            reader.add(make_request("b"))
        with pytest.raises(StoreError, match="opened read-only"):
            reader.update("a", lambda r: r)
        with pytest.raises(StoreError, match="opened read-only"):
            reader.transition("a", [State.PREVIEWED], State.REJECTED)
        with pytest.raises(StoreError, match="opened read-only"):
            reader.record(make_event(1))

        assert reader.get("b") is None
        assert reader.get("a").state is State.PREVIEWED  # type: ignore[union-attr]
        assert reader.events() == []


def test_read_only_store_writes_nothing_even_where_recovery_would(db: str) -> None:
    with RequestStore(db) as writer:
        writer.add(make_request("a"))
        writer.record(make_event(1))
    # What a crash leaves for recovery to finish: an unindexed event and a request
    # missing from the open list and the counter.
    _insert_raw(db, "events", f"{2:012d}", make_event(2).to_dict())
    _insert_raw(db, "request_log", f"{2:012d}", "b")
    _insert_raw(db, "requests", "b", make_request("b", created_at=200.0).to_dict())
    before_bytes = Path(db).read_bytes()
    before_mtime = Path(db).stat().st_mtime_ns
    before_meta = _meta_rows(db)

    with RequestStore(db, read_only=True) as reader:
        assert [r.id for r in reader.open_requests()] == ["a", "b"]
        assert [r.id for r in reader.recent()] == ["b", "a"]
        assert [e.detail for e in reader.events(request_id="r2")] == ["event 2"]
        with pytest.raises(StoreError):
            reader.record(make_event(3))

    assert Path(db).read_bytes() == before_bytes
    assert Path(db).stat().st_mtime_ns == before_mtime
    assert _meta_rows(db) == before_meta
    # The file still recovers as before when the bot opens it.
    with RequestStore(db) as writer:
        assert [r.id for r in writer.open_requests()] == ["a", "b"]
    assert _meta_rows(db) != before_meta


def test_read_only_store_follows_a_writer_that_keeps_writing(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Frequent counter checkpoints make the reader both trail and pass them.
    monkeypatch.setattr("bot.store._SEQ_CHECKPOINT", 3)
    recorded: list[AuditEvent] = []
    with (
        RequestStore(db) as writer,
        RequestStore(db, read_only=True) as reader,
    ):
        assert reader.events() == []
        for n in range(12):
            request_id = f"q{n}"
            writer.add(make_request(request_id, created_at=float(n)))
            event = make_event(n, request_id=request_id)
            writer.record(event)
            recorded.append(event)
            if n % 3 == 0:
                writer.transition(request_id, [State.PREVIEWED], State.EXPIRED)

            assert reader.events() == recorded
            assert reader.events(request_id=request_id) == [event]
            assert reader.events(image_id="m-0") == _matching(recorded, None, "m-0")
            assert reader.events(since=n - 1.5) == recorded[-2:]
            assert reader.open_requests() == writer.open_requests()
            assert reader.recent(3) == writer.recent(3)


def test_read_only_reads_never_see_half_of_a_concurrent_write(db: str) -> None:
    recorded = [make_event(n) for n in range(150)]
    with RequestStore(db) as writer:
        writer.record(recorded[0])

        def write_all() -> None:
            for event in recorded[1:]:
                writer.record(event)

        thread = threading.Thread(target=write_all)
        with RequestStore(db, read_only=True) as reader:
            thread.start()
            try:
                seen = 0
                while thread.is_alive() or seen < len(recorded):
                    got = reader.events()
                    assert got == recorded[: len(got)]
                    assert len(got) >= seen
                    seen = len(got)
                    by_image = reader.events(image_id="m-1")
                    assert by_image == _matching(
                        recorded[: len(by_image) * 2], None, "m-1"
                    )
            finally:
                thread.join(timeout=30)
        assert not thread.is_alive()


def test_read_only_open_of_a_missing_file_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.sqlite"

    with pytest.raises(StoreError, match=f"{missing}.*no such file"):
        RequestStore(str(missing), read_only=True)
    assert not missing.exists()


def test_read_only_open_of_a_foreign_database_is_a_clear_error(
    tmp_path: Path,
) -> None:
    other = tmp_path / "other.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.close()

    with pytest.raises(StoreError, match="not an imagebot state file"):
        RequestStore(str(other), read_only=True)


def test_read_only_store_says_when_it_is_closed(db: str) -> None:
    RequestStore(db).close()
    reader = RequestStore(db, read_only=True)
    reader.close()
    reader.close()

    with pytest.raises(StoreError, match="is closed"):
        reader.events()
