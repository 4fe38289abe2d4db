"""The request log and the open list: the order requests came in, which are open."""

from __future__ import annotations

from typing import Any

from bot.model import State
from bot.store_file import seq_key


class RequestLog:
    """The request_log table, and the request counter and open list in meta.

    The store holds its lock and error guard around every call; the log only
    reads and writes the tables it is given.
    """

    def __init__(self, tables: dict[str, Any], *, read_only: bool) -> None:
        self._tables = tables
        self._read_only = read_only
        self._seq: int | None = None
        self._open: list[str] = []

    def add(self, request_id: str, state: State, data: Any) -> None:
        """Log a new request and store `data` as its first version."""
        try:
            seq = self.next_seq()
            self._table("request_log")[seq_key(seq)] = request_id
            if not state.is_final:
                self._set_open([*self._open, request_id])
            self._table("requests")[request_id] = data
            self._table("meta")["request_seq"] = seq
            self._seq = seq
        except BaseException:
            self._seq = None  # re-read what reached the file
            raise

    def write(self, request_id: str, state: State, data: Any) -> None:
        """Store `data` as the request's new version, keeping the open list true."""
        try:
            # The file's open list stays a superset of the open requests: grow it
            # before the request is written, shrink it after.
            if not state.is_final and request_id not in self._open:
                self._set_open([*self._open, request_id])
            self._table("requests")[request_id] = data
            if state.is_final and request_id in self._open:
                self._set_open([i for i in self._open if i != request_id])
        except BaseException:
            self._seq = None
            raise

    def open_ids(self) -> list[str]:
        """Ids of every request not yet final, and perhaps of a few that are."""
        if self._seq is None or self._read_only:
            self.recover()
        return list(self._open)

    def next_seq(self) -> int:
        if self._seq is None or self._read_only:
            self.recover()
        assert self._seq is not None
        return self._seq + 1

    def recover(self) -> None:
        """Read the request counter and open list, finishing an interrupted add."""
        meta, log = self._table("meta"), self._table("request_log")
        requests = self._table("requests")
        seq = int(meta.get("request_seq", 0))
        stored_open: list[str] = list(meta.get("open", []))
        candidates = list(stored_open)
        while (request_id := log.get(seq_key(seq + 1))) is not None:
            seq += 1
            candidates.append(request_id)

        still_open = []
        for request_id in dict.fromkeys(candidates):
            data = requests.get(request_id)
            if data is not None and not State(data["state"]).is_final:
                still_open.append(request_id)
        self._open = still_open
        self._seq = seq
        if self._read_only:
            return
        if still_open != stored_open:
            meta["open"] = still_open
        if seq != int(meta.get("request_seq", 0)):
            meta["request_seq"] = seq

    def _set_open(self, ids: list[str]) -> None:
        self._table("meta")["open"] = ids
        self._open = ids

    def _table(self, name: str) -> Any:
        return self._tables[name]
