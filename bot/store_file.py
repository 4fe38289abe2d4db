"""The state file's tables, their encoding, and how sqlitedict opens them."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from sqlitedict import SqliteDict

# requests: id -> request · request_log: seq -> id · events: seq -> event
# event_index: "i/<image>/<page>" and "r/<request>/<page>" -> [seq, …],
#              "t/<page>" -> latest `at` among that page's events
# meta: "request_seq", "event_seq", "open" -> ids of requests not yet final
TABLES = ("requests", "request_log", "events", "event_index", "meta")

DRIVER_ERRORS = (sqlite3.Error, RuntimeError, OSError, ValueError, KeyError)


def encode(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def seq_key(seq: int) -> str:
    return f"{seq:012d}"


def page_key(kind: str, name: str, page: int) -> str:
    return f"{kind}/{name}/{page:06d}"


def check_file(path: str) -> None:
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


def open_table(path: str, name: str) -> SqliteDict:
    """One table of the file, committing every write before it returns."""
    return SqliteDict(
        path,
        tablename=name,
        autocommit=True,
        # Five tables are five connections to one file: in WAL mode a
        # write on one does not block reads on the others (nor an audit
        # export from another process), and a commit appends to the log
        # instead of rewriting a journal, so a commit per write is cheap.
        # The price: the file must sit on a local disk, not a share.
        journal_mode="WAL",
        encode=encode,
        decode=json.loads,
        # Errors reach the caller as StoreError anyway; capturing the
        # caller's stack on every statement, only for a log line, made
        # each read and write markedly slower.
        outer_stack=False,
    )
