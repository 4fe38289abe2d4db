"""Shared pieces of the benchmarks: statistics, figures, a timed HTTP client.

Every latency here is measured over a fresh TCP connection per request (Slack opens
its own), with the request signed before the clock starts, so that only the
server's work and the loopback round trip are timed.
"""

from __future__ import annotations

import http.client
import math
import time
from dataclasses import dataclass

from bot.sandbox import slack_client
from tests.harness import CHANNEL, sign


@dataclass(frozen=True)
class Stats:
    """Percentiles of a sample, in the sample's own unit."""

    n: int
    p50: float
    p99: float
    max: float

    @classmethod
    def of(cls, values: list[float]) -> Stats:
        if not values:
            raise ValueError("no samples")
        ordered = sorted(values)
        return cls(
            n=len(ordered),
            p50=_rank(ordered, 0.50),
            p99=_rank(ordered, 0.99),
            max=ordered[-1],
        )


def _rank(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile: a value that was really observed."""
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@dataclass(frozen=True)
class Figure:
    """One row of the results table."""

    key: str
    what: str
    value: str
    goal: str
    verdict: str  # "pass", "miss", "p99 miss" or "info"


def verdict(p50_ok: bool, p99_ok: bool) -> str:
    if p50_ok and p99_ok:
        return "pass"
    return "p99 miss" if p50_ok else "miss"


# -- what Slack sends ---------------------------------------------------------


def command_body(
    text: str, *, user: str, channel: str = CHANNEL, response_url: str
) -> str:
    return slack_client.command_body(
        text, user=user, channel=channel, response_url=response_url
    )


def click_body(
    action: str,
    value: str,
    *,
    user: str,
    channel: str = CHANNEL,
    message_ts: str = "1.0",
    response_url: str,
) -> str:
    return slack_client.block_actions_body(
        f"imagebot:{action}",
        value,
        user=user,
        channel=channel,
        message_ts=message_ts,
        response_url=response_url,
        block_id="imagebot-actions",
    )


@dataclass(frozen=True)
class Sent:
    """One timed request: wall-clock start (to compare with the fake's clock)."""

    status: int
    started: float
    elapsed: float
    body: bytes


def post(port: int, body: str, path: str = "/slack/events") -> Sent:
    """Sign and POST `body` over a new connection; the clock covers the exchange."""
    headers = sign(body)
    data = body.encode()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        started_wall = time.time()
        started = time.perf_counter()
        connection.request("POST", path, data, headers)
        response = connection.getresponse()
        payload = response.read()
        elapsed = time.perf_counter() - started
    finally:
        connection.close()
    return Sent(response.status, started_wall, elapsed, payload)


def get_status(port: int, path: str, timeout: float = 0.5) -> int:
    """Status of a GET, or 0 when nothing answers yet."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status
    except OSError:
        return 0
    finally:
        connection.close()


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"
