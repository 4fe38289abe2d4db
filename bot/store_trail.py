"""The audit trail: events in order, their paged indexes, recovery and queries."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from bot.model import AuditEvent
from bot.store_file import page_key, seq_key

_CACHED_PAGES = 1024  # last index pages kept in memory, to append without a read


class AuditTrail:
    """The events and event_index tables, plus the event counter in meta.

    The store holds its lock and error guard around every call; the trail only
    reads and writes the tables it is given.
    """

    def __init__(
        self,
        tables: dict[str, Any],
        *,
        read_only: bool,
        index_page: int,
        time_page: int,
        seq_checkpoint: int,
        point_read_cost: int,
    ) -> None:
        self._tables = tables
        self._read_only = read_only
        self._index_page = index_page
        self._time_page = time_page
        self._seq_checkpoint = seq_checkpoint
        self._point_read_cost = point_read_cost
        # Read-only: events past meta["event_seq"], which may lack their indexes.
        self._tail: dict[int, AuditEvent] = {}
        self._seq: int | None = None
        self._checkpoint = 0
        self._pages: dict[str, tuple[int, list[int]]] = {}
        self._time_top: tuple[int, float] | None = None

    def append(self, event: AuditEvent, data: dict[str, Any]) -> None:
        """Store `data` as the next event and index it."""
        try:
            seq = self.next_seq()
            self._table("events")[seq_key(seq)] = data
            self._index_event(seq, event)
            self._seq = seq
            if seq - self._checkpoint >= self._seq_checkpoint:
                self._table("meta")["event_seq"] = seq
                self._checkpoint = seq
        except BaseException:
            self._seq = None
            raise

    def find(
        self,
        last: int,
        *,
        since: float | None,
        image_id: str | None,
        request_id: str | None,
        limit: int | None,
        newest_first: bool,
    ) -> list[AuditEvent]:
        """Events up to seq `last` matching every filter given (see RequestStore)."""
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

    def save_counter(self) -> None:
        """Write the event counter if events were recorded since its checkpoint."""
        seq = self._seq
        if not self._read_only and seq is not None and seq != self._checkpoint:
            self._table("meta")["event_seq"] = seq

    def next_seq(self) -> int:
        if self._seq is None or self._read_only:
            self.recover()
        assert self._seq is not None
        return self._seq + 1

    def recover(self) -> None:
        """Find the last event from the checkpoint on and index any left unindexed."""
        if self._read_only:
            self._catch_up()
            return
        events = self._table("events")
        seq = checkpoint = int(self._table("meta").get("event_seq", 0))
        self._pages.clear()
        self._time_top = None
        while (data := events.get(seq_key(seq + 1))) is not None:
            seq += 1
            self._index_event(seq, AuditEvent.from_dict(data))
        if seq != checkpoint:
            self._table("meta")["event_seq"] = seq
        self._seq = self._checkpoint = seq

    def _catch_up(self) -> None:
        """Find the last event without writing: keep those past the checkpoint here.

        Events up to meta["event_seq"] are indexed, since the writer saves that
        counter only after indexing; later ones may not be, after a crash.
        """
        events = self._table("events")
        checkpoint = int(self._table("meta").get("event_seq", 0))
        self._tail = {s: e for s, e in self._tail.items() if s > checkpoint}
        seq = max(checkpoint, self._seq or 0)
        while (data := events.get(seq_key(seq + 1))) is not None:
            seq += 1
            self._tail[seq] = AuditEvent.from_dict(data)
        self._seq = seq

    def _table(self, name: str) -> Any:
        return self._tables[name]

    def _index_event(self, seq: int, event: AuditEvent) -> None:
        """Add `seq` to its image's, request's and time page's index (idempotent)."""
        self._append_to_index("i", event.image_id, seq)
        self._append_to_index("r", event.request_id, seq)

        page = (seq - 1) // self._time_page
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
            while page_key(kind, name, page + 1) in index:
                page += 1
            cached = (page, list(index.get(page_key(kind, name, page), [])))
        page, seqs = cached

        if not seqs or seqs[-1] < seq:
            if len(seqs) >= self._index_page:
                page, seqs = page + 1, []
            seqs = [*seqs, seq]
            index[page_key(kind, name, page)] = seqs
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
        for page in range((last + self._time_page - 1) // self._time_page):
            top = index.get(f"t/{page:06d}")
            if top is None or top >= since:
                first = page * self._time_page + 1
                seqs.extend(range(first, min(last, first + self._time_page - 1) + 1))
        return seqs

    def _indexed(self, kind: str, name: str) -> list[int]:
        index = self._table("event_index")
        seqs: list[int] = []
        page = 0
        while (chunk := index.get(page_key(kind, name, page))) is not None:
            seqs.extend(chunk)
            page += 1
        return seqs

    def _load_events(self, seqs: Sequence[int], last: int) -> Iterator[AuditEvent]:
        """Decode the events at `seqs`, in that order, out of `last` in all."""
        events = self._table("events")
        if len(seqs) * self._point_read_cost <= last:
            for seq in seqs:
                data = events.get(seq_key(seq))
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
