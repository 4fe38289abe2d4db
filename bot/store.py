"""RequestStore: change requests and the audit trail in one sqlitedict file."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sqlite3
import threading
import urllib.parse
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from types import TracebackType
from typing import Any

from sqlitedict import SqliteDict

from bot.model import AuditEvent, ChangeRequest, State

logger = logging.getLogger(__name__)

# requests: id -> request · request_log: seq -> id · events: seq -> event
# event_index: "i/<image>/<page>" and "r/<request>/<page>" -> [seq, …],
#              "t/<page>" -> latest `at` among that page's events
# meta: "request_seq", "event_seq", "open" -> ids of requests not yet final
_TABLES = ("requests", "request_log", "events", "event_index", "meta")

_INDEX_PAGE = 500  # event seqs per page of one image's or request's index
_TIME_PAGE = 1000  # events summarised by one "t/<page>" entry
_SEQ_CHECKPOINT = 64  # events between writes of meta["event_seq"]
# A point read through sqlitedict's queue costs about as much as streaming eight rows:
# past one event in eight, reading the whole table once is faster.
_POINT_READ_COST = 8
_CACHED_PAGES = 1024  # last index pages kept in memory, to append without a read

_SETTABLE = frozenset(f.name for f in dataclasses.fields(ChangeRequest)) - {
    "id",
    "state",
}
_DRIVER_ERRORS = (sqlite3.Error, RuntimeError, OSError, ValueError, KeyError)


class StoreError(Exception):
    """The state file cannot be opened, read or written; the message says why."""


def _encode(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _check_file(path: str) -> None:
    """Fail here, in the caller's thread, on a file that sqlitedict cannot open.

    sqlitedict's worker thread would otherwise die with the error and re-raise it
    only on the next call.
    """
    if path == ":memory:":
        return
    conn = sqlite3.connect(path)
    try:
        # Switching to WAL here leaves the worker threads' own switch nothing to do.
        conn.execute("PRAGMA journal_mode = WAL").fetchone()
    finally:
        conn.close()


class _ReadOnlyFile:
    """The store's tables through one connection that SQLite itself keeps read-only.

    sqlitedict's read-only flag still opens writable connections, and closing the
    last of those checkpoints the log into the main file; a `mode=ro` connection
    can do neither. One connection also gives a consistent view across tables.
    """

    def __init__(self, path: str) -> None:
        uri = f"file:{urllib.parse.quote(os.path.abspath(path))}?mode=ro"
        self._lock = threading.RLock()
        self._depth = 0
        self._conn = sqlite3.connect(
            uri, uri=True, isolation_level=None, check_same_thread=False
        )

    def table_names(self) -> set[str]:
        rows = self.fetch("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {row[0] for row in rows}

    def table(self, name: str) -> _ReadOnlyTable:
        return _ReadOnlyTable(self, name)

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Hold one read transaction, so every read inside sees the same commit."""
        with self._lock:
            if self._depth == 0:
                self._conn.execute("BEGIN")
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._conn.execute("COMMIT")

    def fetch(self, sql: str, *args: str) -> list[Any]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class _ReadOnlyTable:
    """The part of SqliteDict's mapping interface that reads use."""

    def __init__(self, file: _ReadOnlyFile, name: str) -> None:
        self._file = file
        self._name = name

    def get(self, key: str, default: Any = None) -> Any:
        rows = self._file.fetch(f'SELECT value FROM "{self._name}" WHERE key = ?', key)
        return default if not rows else json.loads(rows[0][0])

    def __contains__(self, key: str) -> bool:
        sql = f'SELECT 1 FROM "{self._name}" WHERE key = ?'
        return bool(self._file.fetch(sql, key))

    def items(self) -> list[tuple[str, Any]]:
        rows = self._file.fetch(f'SELECT key, value FROM "{self._name}"')
        return [(key, json.loads(value)) for key, value in rows]

    def values(self) -> list[Any]:
        return [value for _, value in self.items()]


def _key(seq: int) -> str:
    return f"{seq:012d}"


def _page_key(kind: str, name: str, page: int) -> str:
    return f"{kind}/{name}/{page:06d}"


class RequestStore:
    """Change requests with compare-and-set transitions, and an append-only audit trail.

    One process owns the file: the lock that makes transitions atomic lives in this
    object. Every write is committed before the method returns.

    `read_only=True` opens the file for reading while that process may be writing
    it (the audit export): nothing is written, not even recovery, every change
    raises StoreError, and each read first catches up with what was stored since.
    """

    def __init__(self, path: str, *, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        self._lock = threading.RLock()
        self._closed = False
        self._tables: dict[str, Any] = {}
        self._reader: _ReadOnlyFile | None = None
        # Read-only: events past meta["event_seq"], which may lack their indexes.
        self._tail: dict[int, AuditEvent] = {}
        self._request_seq: int | None = None
        self._open: list[str] = []
        self._event_seq: int | None = None
        self._event_checkpoint = 0
        self._pages: dict[str, tuple[int, list[int]]] = {}
        self._time_top: tuple[int, float] | None = None
        try:
            if read_only:
                self._open_read_only()
                return
            _check_file(path)
            for name in _TABLES:
                self._tables[name] = SqliteDict(
                    path,
                    tablename=name,
                    autocommit=True,
                    # Five tables are five connections to one file: in WAL mode a
                    # write on one does not block reads on the others (nor an audit
                    # export from another process), and a commit appends to the log
                    # instead of rewriting a journal, so a commit per write is cheap.
                    # The price: the file must sit on a local disk, not a share.
                    journal_mode="WAL",
                    encode=_encode,
                    decode=json.loads,
                    # Errors reach the caller as StoreError anyway; capturing the
                    # caller's stack on every statement, only for a log line, made
                    # each read and write markedly slower.
                    outer_stack=False,
                )
            with self._guard("open"):
                self._recover_requests()
                self._recover_events()
        except BaseException as exc:
            self._close_tables()
            self._closed = True
            if isinstance(exc, _DRIVER_ERRORS):
                raise self._error("open", exc) from exc
            raise

    def _open_read_only(self) -> None:
        if self.path == ":memory:" or not os.path.isfile(self.path):
            raise StoreError(
                f"cannot open the state file {self.path} read-only: there is no such "
                "file; point IMAGEBOT_DB (or --db) at the file the bot writes"
            )
        self._reader = _ReadOnlyFile(self.path)
        if not set(_TABLES) <= self._reader.table_names():
            raise StoreError(
                f"cannot open {self.path}: it is not an imagebot state file; "
                "point IMAGEBOT_DB (or --db) at the file the bot writes"
            )
        self._tables = {name: self._reader.table(name) for name in _TABLES}
        with self._guard("open"), self._reading():
            self._recover_requests()
            self._recover_events()

    # --- requests ---------------------------------------------------------------

    def add(self, request: ChangeRequest) -> None:
        """Store a new request; StoreError if its id is already taken."""
        self._refuse_if_read_only(f"store request {request.id}")
        data = self._checked(request.to_dict(), f"request {request.id}")
        with self._lock, self._guard(f"store request {request.id}"):
            requests = self._table("requests")
            if request.id in requests:
                raise StoreError(f"request {request.id} already exists in {self.path}")

            try:
                seq = self._next_request_seq()
                self._table("request_log")[_key(seq)] = request.id
                if not request.state.is_final:
                    self._set_open([*self._open, request.id])
                requests[request.id] = data
                self._table("meta")["request_seq"] = seq
                self._request_seq = seq
            except BaseException:
                self._request_seq = None  # re-read what reached the file
                raise
        logger.debug("request %s stored in state %s", request.id, request.state)

    def get(self, request_id: str) -> ChangeRequest | None:
        """The request as last stored, or None."""
        with self._guard(f"read request {request_id}"):
            data = self._table("requests").get(request_id)
            return None if data is None else ChangeRequest.from_dict(data)

    def update(
        self,
        request_id: str,
        change: Callable[[ChangeRequest], ChangeRequest | None],
    ) -> ChangeRequest | None:
        """Apply `change` to a copy under the lock; store and return its result.

        `change` returning None writes nothing and update returns None, as it does
        for an unknown id. The lock is held while `change` runs: keep it quick.
        """
        self._refuse_if_read_only(f"store request {request_id}")
        with self._lock:
            current = self.get(request_id)
            if current is None:
                return None

            new = change(current)
            if new is None:
                return None
            if new.id != request_id:
                raise ValueError(f"update of {request_id} returned request {new.id}")

            data = self._checked(new.to_dict(), f"request {request_id}")
            with self._guard(f"store request {request_id}"):
                try:
                    self._write_request(request_id, new.state, data)
                except BaseException:
                    self._request_seq = None
                    raise
            if current.state is not new.state:
                logger.debug(
                    "request %s: %s -> %s", request_id, current.state, new.state
                )
            return new

    def transition(
        self,
        request_id: str,
        from_states: Collection[State],
        to: State,
        **fields: Any,
    ) -> ChangeRequest | None:
        """Move to `to` and set `fields` only if the state is one of `from_states`.

        Returns the new request, or None when the request is unknown or was in
        another state (someone else moved it first).
        """
        self._refuse_if_read_only(f"store request {request_id}")
        if isinstance(from_states, str):
            # A lone State is a str, hence a collection of letters: never a match.
            raise TypeError("from_states must be a collection, e.g. [State.PREVIEWED]")
        unknown = sorted(set(fields) - _SETTABLE)
        if unknown:
            raise TypeError(f"transition cannot set {', '.join(unknown)}")
        allowed = frozenset(from_states)

        def change(current: ChangeRequest) -> ChangeRequest | None:
            if current.state not in allowed:
                return None
            return dataclasses.replace(current, state=to, **fields)

        return self.update(request_id, change)

    def open_requests(self) -> list[ChangeRequest]:
        """Requests still PREVIEWED or EXECUTING, oldest first (reads only those)."""
        with self._reading():
            with self._lock, self._guard("read open requests"):
                if self._request_seq is None or self.read_only:
                    self._recover_requests()
                ids = list(self._open)
            found = [r for r in map(self.get, ids) if r is not None]
        open_now = [r for r in found if not r.state.is_final]
        return sorted(open_now, key=lambda r: r.created_at)

    def in_state(self, *states: State) -> list[ChangeRequest]:
        """Requests in any of `states`, oldest first.

        Open states read only open requests; a final state reads every request
        ever stored, so keep that for reports, not for handling clicks.
        """
        wanted = frozenset(states)
        if all(not state.is_final for state in wanted):
            candidates = self.open_requests()
        else:
            with self._guard("read requests"):
                values = list(self._table("requests").values())
            candidates = [ChangeRequest.from_dict(v) for v in values]
        chosen = [r for r in candidates if r.state in wanted]
        return sorted(chosen, key=lambda r: r.created_at)

    def recent(self, limit: int = 20) -> list[ChangeRequest]:
        """The last `limit` requests added, newest first."""
        with self._reading():
            with self._lock, self._guard("read recent requests"):
                last = self._next_request_seq() - 1
            found: list[ChangeRequest] = []
            seen: set[str] = set()
            with self._guard("read recent requests"):
                log = self._table("request_log")
                for seq in range(last, 0, -1):
                    if len(found) >= limit:
                        break
                    request_id = log.get(_key(seq))
                    if request_id is None or request_id in seen:
                        continue
                    seen.add(request_id)
                    request = self.get(request_id)
                    if request is not None:
                        found.append(request)
            return found

    # --- audit trail ------------------------------------------------------------

    def record(self, event: AuditEvent) -> None:
        """Append an event to the audit trail (committed before returning)."""
        self._refuse_if_read_only("record an audit event")
        data = self._checked(event.to_dict(), f"audit event of {event.request_id}")
        with self._lock, self._guard("record an audit event"):
            try:
                seq = self._next_event_seq()
                self._table("events")[_key(seq)] = data
                self._index_event(seq, event)
                self._event_seq = seq
                if seq - self._event_checkpoint >= _SEQ_CHECKPOINT:
                    self._table("meta")["event_seq"] = seq
                    self._event_checkpoint = seq
            except BaseException:
                self._event_seq = None
                raise

    def events(
        self,
        *,
        since: float | None = None,
        image_id: str | None = None,
        request_id: str | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[AuditEvent]:
        """Audit events matching every filter given, in recording order.

        `since` keeps events with `at >= since`; `limit` cuts the list after
        ordering, so `limit=20, newest_first=True` is the latest twenty.
        """
        if limit is not None and limit <= 0:
            return []
        with self._reading():
            with self._lock, self._guard("read the audit trail"):
                last = self._next_event_seq() - 1

            with self._guard("read the audit trail"):
                seqs = self._candidates(last, since, image_id, request_id)
                exact = since is None and (image_id is None or request_id is None)
                if newest_first:
                    seqs = seqs[::-1]
                if exact and limit is not None:
                    seqs = seqs[:limit]

                found: list[AuditEvent] = []
                for event in self._load_events(seqs, last):
                    if since is not None and event.at < since:
                        continue
                    if image_id is not None and event.image_id != image_id:
                        continue
                    if request_id is not None and event.request_id != request_id:
                        continue
                    found.append(event)
                    if limit is not None and len(found) >= limit:
                        break
                return found

    # --- life cycle -------------------------------------------------------------

    def close(self) -> None:
        """Commit and close the file; later calls do nothing."""
        with self._lock:
            if self._closed:
                return
            try:
                seq = self._event_seq
                if (
                    not self.read_only
                    and seq is not None
                    and seq != self._event_checkpoint
                ):
                    with self._guard("close"):
                        self._table("meta")["event_seq"] = seq
            finally:
                self._closed = True
                error = self._close_tables()
        if error is not None:
            raise self._error("close", error) from error

    def __enter__(self) -> RequestStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # --- internals --------------------------------------------------------------

    def _table(self, name: str) -> Any:
        return self._tables[name]

    def _refuse_if_read_only(self, action: str) -> None:
        if self.read_only:
            raise StoreError(
                f"cannot {action}: the request store {self.path} is opened read-only; "
                "only the bot's own store may change it"
            )

    def _reading(self) -> AbstractContextManager[None]:
        """Read-only: one snapshot of the file for a read that spans tables."""
        if self._reader is None:
            return nullcontext()
        return self._reader.snapshot()

    def _checked(self, data: dict[str, Any], what: str) -> dict[str, Any]:
        try:
            _encode(data)
        except (TypeError, ValueError) as exc:
            raise StoreError(
                f"cannot store {what}: {exc}; nothing was written"
            ) from exc
        return data

    def _write_request(self, request_id: str, state: State, data: Any) -> None:
        # The file's open list stays a superset of the open requests: grow it
        # before the request is written, shrink it after.
        if not state.is_final and request_id not in self._open:
            self._set_open([*self._open, request_id])
        self._table("requests")[request_id] = data
        if state.is_final and request_id in self._open:
            self._set_open([i for i in self._open if i != request_id])

    def _set_open(self, ids: list[str]) -> None:
        self._table("meta")["open"] = ids
        self._open = ids

    def _next_request_seq(self) -> int:
        if self._request_seq is None or self.read_only:
            self._recover_requests()
        assert self._request_seq is not None
        return self._request_seq + 1

    def _next_event_seq(self) -> int:
        if self._event_seq is None or self.read_only:
            self._recover_events()
        assert self._event_seq is not None
        return self._event_seq + 1

    def _recover_requests(self) -> None:
        """Read the request counter and open list, finishing an interrupted add."""
        meta, log = self._table("meta"), self._table("request_log")
        requests = self._table("requests")
        seq = int(meta.get("request_seq", 0))
        stored_open: list[str] = list(meta.get("open", []))
        candidates = list(stored_open)
        while (request_id := log.get(_key(seq + 1))) is not None:
            seq += 1
            candidates.append(request_id)

        still_open = []
        for request_id in dict.fromkeys(candidates):
            data = requests.get(request_id)
            if data is not None and not State(data["state"]).is_final:
                still_open.append(request_id)
        self._open = still_open
        self._request_seq = seq
        if self.read_only:
            return
        if still_open != stored_open:
            meta["open"] = still_open
        if seq != int(meta.get("request_seq", 0)):
            meta["request_seq"] = seq

    def _recover_events(self) -> None:
        """Find the last event from the checkpoint on and index any left unindexed."""
        if self.read_only:
            self._catch_up_events()
            return
        events = self._table("events")
        seq = checkpoint = int(self._table("meta").get("event_seq", 0))
        self._pages.clear()
        self._time_top = None
        while (data := events.get(_key(seq + 1))) is not None:
            seq += 1
            self._index_event(seq, AuditEvent.from_dict(data))
        if seq != checkpoint:
            self._table("meta")["event_seq"] = seq
        self._event_seq = self._event_checkpoint = seq

    def _catch_up_events(self) -> None:
        """Find the last event without writing: keep those past the checkpoint here.

        Events up to meta["event_seq"] are indexed, since the writer saves that
        counter only after indexing; later ones may not be, after a crash.
        """
        events = self._table("events")
        checkpoint = int(self._table("meta").get("event_seq", 0))
        self._tail = {s: e for s, e in self._tail.items() if s > checkpoint}
        seq = max(checkpoint, self._event_seq or 0)
        while (data := events.get(_key(seq + 1))) is not None:
            seq += 1
            self._tail[seq] = AuditEvent.from_dict(data)
        self._event_seq = seq

    def _index_event(self, seq: int, event: AuditEvent) -> None:
        """Add `seq` to its image's, request's and time page's index (idempotent)."""
        self._append_to_index("i", event.image_id, seq)
        self._append_to_index("r", event.request_id, seq)

        page = (seq - 1) // _TIME_PAGE
        if self._time_top is None or self._time_top[0] != page:
            top = self._table("event_index").get(f"t/{page:06d}")
            self._time_top = (page, float("-inf") if top is None else float(top))
        if event.at > self._time_top[1]:
            self._table("event_index")[f"t/{page:06d}"] = event.at
            self._time_top = (page, event.at)

    def _append_to_index(self, kind: str, name: str, seq: int) -> None:
        index = self._table("event_index")
        cache_key = f"{kind}/{name}"
        cached = self._pages.pop(cache_key, None)
        if cached is None:
            page = 0
            while _page_key(kind, name, page + 1) in index:
                page += 1
            cached = (page, list(index.get(_page_key(kind, name, page), [])))
        page, seqs = cached

        if not seqs or seqs[-1] < seq:
            if len(seqs) >= _INDEX_PAGE:
                page, seqs = page + 1, []
            seqs = [*seqs, seq]
            index[_page_key(kind, name, page)] = seqs
        self._pages[cache_key] = (page, seqs)
        if len(self._pages) > _CACHED_PAGES:
            del self._pages[next(iter(self._pages))]

    def _candidates(
        self,
        last: int,
        since: float | None,
        image_id: str | None,
        request_id: str | None,
    ) -> list[int]:
        """Event seqs that may match, oldest first, from the cheapest index."""
        seqs = self._indexed_candidates(last, since, image_id, request_id)
        tail = [
            seq
            for seq, event in self._tail.items()
            if seq <= last
            and (since is None or event.at >= since)
            and (image_id is None or event.image_id == image_id)
            and (request_id is None or event.request_id == request_id)
        ]
        return sorted({*seqs, *tail}) if tail else seqs

    def _indexed_candidates(
        self,
        last: int,
        since: float | None,
        image_id: str | None,
        request_id: str | None,
    ) -> list[int]:
        if request_id is not None:
            return [s for s in self._indexed("r", request_id) if s <= last]
        if image_id is not None:
            return [s for s in self._indexed("i", image_id) if s <= last]
        if since is None:
            return list(range(1, last + 1))

        index = self._table("event_index")
        seqs: list[int] = []
        for page in range((last + _TIME_PAGE - 1) // _TIME_PAGE):
            top = index.get(f"t/{page:06d}")
            if top is None or top >= since:
                first = page * _TIME_PAGE + 1
                seqs.extend(range(first, min(last, first + _TIME_PAGE - 1) + 1))
        return seqs

    def _indexed(self, kind: str, name: str) -> list[int]:
        index = self._table("event_index")
        seqs: list[int] = []
        page = 0
        while (chunk := index.get(_page_key(kind, name, page))) is not None:
            seqs.extend(chunk)
            page += 1
        return seqs

    def _load_events(self, seqs: Sequence[int], last: int) -> Iterator[AuditEvent]:
        """Decode the events at `seqs`, in that order, out of `last` in all."""
        events = self._table("events")
        if len(seqs) * _POINT_READ_COST <= last:
            for seq in seqs:
                data = events.get(_key(seq))
                if data is not None:
                    yield AuditEvent.from_dict(data)
            return

        wanted = set(seqs)
        by_seq: dict[int, Any] = {}
        for key, data in events.items():
            if int(key) in wanted:
                by_seq[int(key)] = data
        for seq in seqs:
            if seq in by_seq:
                yield AuditEvent.from_dict(by_seq[seq])

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        if self._closed:
            raise StoreError(
                f"cannot {action}: the request store {self.path} is closed"
            )
        try:
            yield
        except _DRIVER_ERRORS as exc:
            raise self._error(action, exc) from exc

    def _error(self, action: str, exc: BaseException) -> StoreError:
        text = str(exc)
        if "locked" in text:
            return StoreError(
                f"cannot {action}: the state file {self.path} is locked by another "
                "process; stop the other imagebot that uses it, or give this one "
                "its own file (IMAGEBOT_DB)"
            )
        if "not a database" in text or isinstance(exc, json.JSONDecodeError):
            return StoreError(
                f"cannot {action}: {self.path} is not an imagebot state file; "
                "point IMAGEBOT_DB at the right file or at a new one"
            )
        if "directory does not exist" in text or "unable to open" in text:
            return StoreError(
                f"cannot {action}: the state file {self.path} cannot be created or "
                "opened; check that its directory exists and is writable"
            )
        return StoreError(f"cannot {action} in the state file {self.path}: {text}")

    def _close_tables(self) -> BaseException | None:
        first: BaseException | None = None
        # The read-only tables share one connection, the reader's.
        owners = list(self._tables.values()) if self._reader is None else [self._reader]
        for owner in owners:
            try:
                owner.close()
            except _DRIVER_ERRORS as exc:
                first = first or exc
        self._tables.clear()
        self._reader = None
        return first
