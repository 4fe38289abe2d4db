"""SlackDirectory against a local fake of usergroups.users.list."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from slack_sdk import WebClient

from bot import policy
from bot.policy import DirectoryError, Policy
from bot.slack.directory import SlackDirectory


@dataclass
class FakeGroups:
    """What the fake Slack answers: members per group, and faults to inject."""

    members: dict[str, list[str]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    broken_http: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        form = parse_qs(self.rfile.read(length).decode())
        group = form.get("usergroup", [""])[0]
        fake = self.server.fake
        with fake.lock:
            fake.calls.append(f"{self.path}:{group}")

        if self.path != "/usergroups.users.list":
            self._reply(404, b"not found", "text/plain")
        elif group in fake.broken_http:
            self._reply(502, b"<html>bad gateway</html>", "text/html")
        elif group in fake.errors:
            self._json({"ok": False, "error": fake.errors[group]})
        elif group in fake.members:
            self._json({"ok": True, "users": fake.members[group]})
        else:
            self._json({"ok": False, "error": "no_such_subteam"})

    def _json(self, body: dict[str, object]) -> None:
        self._reply(200, json.dumps(body).encode(), "application/json")

    def _reply(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeGroups) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake() -> FakeGroups:
    return FakeGroups(members={"S0SRE": ["U0ALICE", "U0BOB"], "S0LEADS": ["U0DANA"]})


@pytest.fixture
def client(fake: FakeGroups) -> Iterator[WebClient]:
    server = _Server(fake)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        port = server.server_address[1]
        yield WebClient(token="xoxb-test", base_url=f"http://127.0.0.1:{port}/")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_members_come_from_usergroups_users_list(
    fake: FakeGroups, client: WebClient
) -> None:
    directory = SlackDirectory(client)

    assert directory.members("S0SRE") == frozenset({"U0ALICE", "U0BOB"})
    assert fake.calls == ["/usergroups.users.list:S0SRE"]


def test_second_lookup_within_ttl_uses_the_cache(
    fake: FakeGroups, client: WebClient
) -> None:
    clock = Clock()
    directory = SlackDirectory(client, ttl_seconds=60, clock=clock)

    directory.members("S0SRE")
    clock.now += 59
    fake.members["S0SRE"] = ["U0EVE"]

    assert directory.members("S0SRE") == frozenset({"U0ALICE", "U0BOB"})
    assert len(fake.calls) == 1


def test_lookup_after_ttl_asks_slack_again(fake: FakeGroups, client: WebClient) -> None:
    clock = Clock()
    directory = SlackDirectory(client, ttl_seconds=60, clock=clock)

    directory.members("S0SRE")
    fake.members["S0SRE"] = ["U0EVE"]
    clock.now += 60

    assert directory.members("S0SRE") == frozenset({"U0EVE"})
    assert len(fake.calls) == 2


def test_each_group_is_cached_on_its_own(fake: FakeGroups, client: WebClient) -> None:
    directory = SlackDirectory(client, clock=Clock())

    assert directory.members("S0SRE") == frozenset({"U0ALICE", "U0BOB"})
    assert directory.members("S0LEADS") == frozenset({"U0DANA"})
    directory.members("S0LEADS")

    assert fake.calls == [
        "/usergroups.users.list:S0SRE",
        "/usergroups.users.list:S0LEADS",
    ]


@pytest.mark.parametrize(
    ("code", "hint"),
    [
        ("no_such_subteam", "check the user-group ID"),
        ("missing_scope", "usergroups:read"),
        ("plan_upgrade_required", "paid Slack plan"),
        ("ratelimited", "rate limiting"),
    ],
)
def test_slack_errors_raise_directory_error_naming_the_group(
    fake: FakeGroups, client: WebClient, code: str, hint: str
) -> None:
    fake.errors["S0SRE"] = code

    with pytest.raises(DirectoryError) as info:
        SlackDirectory(client).members("S0SRE")

    assert info.value.group_id == "S0SRE"
    assert code in str(info.value)
    assert hint in str(info.value)


def test_failures_are_not_cached(fake: FakeGroups, client: WebClient) -> None:
    directory = SlackDirectory(client, clock=Clock())
    fake.errors["S0SRE"] = "ratelimited"
    with pytest.raises(DirectoryError):
        directory.members("S0SRE")

    del fake.errors["S0SRE"]

    assert directory.members("S0SRE") == frozenset({"U0ALICE", "U0BOB"})
    assert len(fake.calls) == 2


def test_a_non_json_http_error_raises_directory_error(
    fake: FakeGroups, client: WebClient
) -> None:
    fake.broken_http.add("S0SRE")

    with pytest.raises(DirectoryError) as info:
        SlackDirectory(client).members("S0SRE")

    assert info.value.group_id == "S0SRE"


def test_an_unreachable_slack_raises_directory_error() -> None:
    # A port that was free a moment ago: nothing listens there now.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = WebClient(
        token="xoxb-test", base_url=f"http://127.0.0.1:{port}/", retry_handlers=[]
    )

    with pytest.raises(DirectoryError) as info:
        SlackDirectory(client).members("S0SRE")

    assert info.value.group_id == "S0SRE"


def test_concurrent_lookups_of_one_group_make_one_call(
    fake: FakeGroups, client: WebClient
) -> None:
    directory = SlackDirectory(client, clock=Clock())
    results: list[frozenset[str]] = []

    def look() -> None:
        results.append(directory.members("S0SRE"))

    threads = [threading.Thread(target=look) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert results == [frozenset({"U0ALICE", "U0BOB"})] * 8
    assert len(fake.calls) == 1


def test_policy_decisions_use_slack_groups(fake: FakeGroups, client: WebClient) -> None:
    rules = Policy(approvals_required=1, approvers=("S0SRE",))
    directory = SlackDirectory(client, clock=Clock())

    def approve(user: str) -> policy.Decision:
        return policy.may_approve(
            rules, user, requester="U0ALICE", risky=False, directory=directory
        )

    assert approve("U0BOB").allowed
    assert not approve("U0EVE").allowed
    assert not approve("U0ALICE").allowed

    fake.errors["S0LEADS"] = "ratelimited"
    refused = policy.may_approve(
        Policy(approvers=("S0LEADS",)),
        "U0DANA",
        requester="U0ALICE",
        risky=False,
        directory=directory,
    )
    assert not refused.allowed
    assert "`S0LEADS`" in refused.reason
