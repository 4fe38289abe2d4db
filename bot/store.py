"""RequestStore: change requests and the audit trail in one sqlitedict file."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
from collections.abc import Callable, Collection, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from types import TracebackType
from typing import Any

from bot.model import AuditEvent, ChangeRequest, State
from bot.store_file import (
    DRIVER_ERRORS,
    TABLES,
    check_file,
    encode,
    open_table,
    seq_key,
)
from bot.store_reader import ReadOnlyFile
from bot.store_requests import RequestLog
from bot.store_trail import AuditTrail

logger = logging.getLogger(__name__)

# The audit trail's sizes, handed to AuditTrail as each store opens.
_INDEX_PAGE = 500  # event seqs per page of one image's or request's index
_TIME_PAGE = 1000  # events summarised by one "t/<page>" entry
_SEQ_CHECKPOINT = 64  # events between writes of meta["event_seq"]
# A point read through sqlitedict's queue costs about as much as streaming eight rows:
# past one event in eight, reading the whole table once is faster.
_POINT_READ_COST = 8

_SETTABLE = frozenset(f.name for f in dataclasses.fields(ChangeRequest)) - {
    "id",
    "state",
}


class StoreError(Exception):
    """The state file cannot be opened, read or written; the message says why."""


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
        self._reader: ReadOnlyFile | None = None
        self._requests = RequestLog(self._tables, read_only=read_only)
        self._trail = AuditTrail(
            self._tables,
            read_only=read_only,
            index_page=_INDEX_PAGE,
            time_page=_TIME_PAGE,
            seq_checkpoint=_SEQ_CHECKPOINT,
            point_read_cost=_POINT_READ_COST,
        )
        try:
            if read_only:
                self._open_read_only()
                return
            check_file(path)
            for name in TABLES:
                self._tables[name] = open_table(path, name)
            with self._guard("open"):
                self._requests.recover()
                self._trail.recover()
        except BaseException as exc:
            self._close_tables()
            self._closed = True
            if isinstance(exc, DRIVER_ERRORS):
                raise self._error("open", exc) from exc
            raise

    def _open_read_only(self) -> None:
        if self.path == ":memory:" or not os.path.isfile(self.path):
            raise StoreError(
                f"cannot open the state file {self.path} read-only: there is no such "
                "file; point IMAGEBOT_DB (or --db) at the file the bot writes"
            )
        self._reader = ReadOnlyFile(self.path)
        if not set(TABLES) <= self._reader.table_names():
            raise StoreError(
                f"cannot open {self.path}: it is not an imagebot state file; "
                "point IMAGEBOT_DB (or --db) at the file the bot writes"
            )
        # Filled in place: the request log and the trail hold this same mapping.
        self._tables.update((name, self._reader.table(name)) for name in TABLES)
        with self._guard("open"), self._reading():
            self._requests.recover()
            self._trail.recover()

    # --- requests ---------------------------------------------------------------

    def add(self, request: ChangeRequest) -> None:
        """Store a new request; StoreError if its id is already taken."""
        self._refuse_if_read_only(f"store request {request.id}")
        data = self._checked(request.to_dict(), f"request {request.id}")
        with self._lock, self._guard(f"store request {request.id}"):
            if request.id in self._table("requests"):
                raise StoreError(f"request {request.id} already exists in {self.path}")

            self._requests.add(request.id, request.state, data)
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
                self._requests.write(request_id, new.state, data)
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
                ids = self._requests.open_ids()
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
                last = self._requests.next_seq() - 1
            found: list[ChangeRequest] = []
            seen: set[str] = set()
            with self._guard("read recent requests"):
                log = self._table("request_log")
                for seq in range(last, 0, -1):
                    if len(found) >= limit:
                        break
                    request_id = log.get(seq_key(seq))
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
            self._trail.append(event, data)

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
                last = self._trail.next_seq() - 1

            with self._guard("read the audit trail"):
                return self._trail.find(
                    last,
                    since=since,
                    image_id=image_id,
                    request_id=request_id,
                    limit=limit,
                    newest_first=newest_first,
                )

    # --- life cycle -------------------------------------------------------------

    def close(self) -> None:
        """Commit and close the file; later calls do nothing."""
        with self._lock:
            if self._closed:
                return
            try:
                with self._guard("close"):
                    self._trail.save_counter()
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
            encode(data)
        except (TypeError, ValueError) as exc:
            raise StoreError(
                f"cannot store {what}: {exc}; nothing was written"
            ) from exc
        return data

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        if self._closed:
            raise StoreError(
                f"cannot {action}: the request store {self.path} is closed"
            )
        try:
            yield
        except DRIVER_ERRORS as exc:
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
            except DRIVER_ERRORS as exc:
                first = first or exc
        self._tables.clear()
        self._reader = None
        return first
