"""A read-only view of the state file, for the audit export."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class ReadOnlyFile:
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

    def table(self, name: str) -> ReadOnlyTable:
        return ReadOnlyTable(self, name)

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


class ReadOnlyTable:
    """The part of SqliteDict's mapping interface that reads use."""

    def __init__(self, file: ReadOnlyFile, name: str) -> None:
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
