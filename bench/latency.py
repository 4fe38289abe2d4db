"""Ack, preview, execution and burst latencies of the real bot over real HTTP.

The bot, the ECS emulator (per-call latency L) and the fake Slack run in this
process (tests.harness.Stack); arrival times are the fake Slack's own clock for
each Web API call, so a preview "arrives" when its chat.postMessage reaches Slack.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from bench.bare import BareApp
from bench.common import Sent, Stats, click_body, command_body, post
from bot.preflight import FamilyMemo
from bot.sandbox.fake_slack import ApiCall, FakeSlack
from bot.store import RequestStore
from tests.harness import Stack, buttons


class Watcher:
    """The fake Slack's chat.postMessage calls by channel, waitable.

    Indexed by channel so that fifty waiters in a burst do not each rescan every
    call the fake has answered (that scan would compete with the bot for the GIL).
    """

    def __init__(self, slack: FakeSlack) -> None:
        self._posts: dict[str, list[ApiCall]] = {}
        self._count = 0
        self._changed = threading.Condition()
        slack.subscribe(self._on_call)

    def _on_call(self, call: ApiCall) -> None:
        with self._changed:
            self._count += 1
            if call.method == "chat.postMessage":
                channel = str(call.params.get("channel", ""))
                self._posts.setdefault(channel, []).append(call)
            self._changed.notify_all()

    def wait_post(
        self, channel: str, thread_ts: str = "", timeout: float = 30.0
    ) -> ApiCall:
        """The first successful post in `channel` (in the thread `thread_ts`)."""
        found: list[ApiCall] = []

        def seen() -> bool:
            found[:] = [
                c
                for c in self._posts.get(channel, ())
                if c.ok and (c.params.get("thread_ts") or "") == thread_ts
            ]
            return bool(found)

        with self._changed:
            if not self._changed.wait_for(seen, timeout):
                raise TimeoutError(f"no message posted in {channel} in time")
        return found[0]

    def settle(self, quiet: float = 0.5, limit: float = 20.0) -> None:
        """Wait until the bot has made no Slack call for `quiet` seconds."""
        deadline = time.monotonic() + limit
        with self._changed:
            count = self._count
        while time.monotonic() < deadline:
            time.sleep(quiet)
            with self._changed:
                if self._count == count:
                    return
                count = self._count


_channels = itertools.count(1)


def new_channel() -> str:
    """A channel of its own per measured request, so its messages are unambiguous."""
    return f"CBENCH{next(_channels):06d}"


@dataclass
class Bench:
    """The stack, the bare baseline and a watcher on the fake Slack."""

    stack: Stack
    bare: BareApp
    watcher: Watcher = field(init=False)

    def __post_init__(self) -> None:
        self.watcher = Watcher(self.stack.slack)

    def set_latency(self, latency_ms: float) -> None:
        self.stack.emulator.latency_ms = latency_ms

    def command(self, text: str, *, user: str, channel: str, port: int = 0) -> Sent:
        body = command_body(
            text,
            user=user,
            channel=channel,
            response_url=self.stack.slack.response_url(f"cmd-{user}"),
        )
        return post(port or self.stack.port, body)

    def click(
        self,
        action: str,
        value: str,
        *,
        user: str,
        channel: str,
        message_ts: str = "1.0",
        port: int = 0,
    ) -> Sent:
        body = click_body(
            action,
            value,
            user=user,
            channel=channel,
            message_ts=message_ts,
            response_url=self.stack.slack.response_url(f"click-{user}"),
        )
        return post(port or self.stack.port, body)


# -- ack ----------------------------------------------------------------------


@dataclass(frozen=True)
class AckResult:
    latency_ms: float
    bot_command: Stats
    bare_command: Stats
    bot_click: Stats
    bare_click: Stats


def measure_acks(
    bench: Bench, latency_ms: float, n: int, warmup: int, gap: float = 0.01
) -> AckResult:
    """Bot and bare app answered alternately, in shuffled order, so noise hits both."""
    bench.set_latency(latency_ms)
    samples: dict[str, list[float]] = {
        "bot_command": [],
        "bare_command": [],
        "bot_click": [],
        "bare_click": [],
    }
    channel = new_channel()
    shuffle = random.Random(int(latency_ms))
    for i in range(warmup + n):
        text = f"set m-plain0001 description=ack-{int(latency_ms)}-{i}"
        bare = bench.bare.port
        actions: dict[str, Callable[[], Sent]] = {
            "bot_command": partial(bench.command, text, user="UACK", channel=channel),
            "bare_command": partial(
                bench.command, text, user="UACK", channel=channel, port=bare
            ),
            # A request that names nothing: the click's work never reaches ECS.
            "bot_click": partial(
                bench.click, "apply", "r-none", user="UACK", channel=channel
            ),
            "bare_click": partial(
                bench.click, "apply", "r-none", user="UACK", channel=channel, port=bare
            ),
        }
        order = list(actions)
        shuffle.shuffle(order)
        for name in order:
            sent = actions[name]()
            if sent.status != 200:
                raise RuntimeError(f"{name} answered HTTP {sent.status}: {sent.body!r}")
            if i >= warmup:
                samples[name].append(sent.elapsed)
        time.sleep(gap)
    bench.watcher.settle()
    return AckResult(latency_ms, **{k: Stats.of(v) for k, v in samples.items()})


# -- preview and execution ----------------------------------------------------


@dataclass(frozen=True)
class FlowResult:
    latency_ms: float
    preview_plain: Stats
    preview_deprecate: Stats
    preview_deprecate_first: Stats
    execution: Stats


def measure_flow(bench: Bench, latency_ms: float, n: int, warmup: int) -> FlowResult:
    """Per round: a plain change previewed and applied, then two deprecations.

    The first deprecation is of an image the bot has seen before; for the second
    the bot is made to forget which family each image is in, as after a restart.
    Rounds run one after another, so each figure is one request on an idle bot.
    """
    bench.set_latency(latency_ms)
    plain: list[float] = []
    deprecate: list[float] = []
    first_sight: list[float] = []
    execution: list[float] = []
    slack = bench.stack.slack
    store = bench.stack.bot.store
    for i in range(warmup + n):
        keep = i >= warmup

        channel = new_channel()
        text = f"set m-plain0001 description=flow-{int(latency_ms)}-{i}"
        sent = bench.command(text, user="UFLOW", channel=channel)
        root = bench.watcher.wait_post(channel)
        if keep:
            plain.append(root.at - sent.started)

        ts = str(root.response["ts"])
        request_id = buttons(slack.message(channel, ts))["apply"]["value"]
        _wait_until(partial(_has_root, store, request_id, ts))
        sent = bench.click(
            "apply", request_id, user="UFLOW", channel=channel, message_ts=ts
        )
        reply = bench.watcher.wait_post(channel, ts)
        if keep:
            execution.append(reply.at - sent.started)

        channel = new_channel()
        sent = bench.command("deprecate m-webnew01", user="UFLOW", channel=channel)
        root = bench.watcher.wait_post(channel)
        if keep:
            deprecate.append(root.at - sent.started)

        forget_families(bench.stack)
        channel = new_channel()
        sent = bench.command("deprecate m-webnew01", user="UFLOW", channel=channel)
        root = bench.watcher.wait_post(channel)
        if keep:
            first_sight.append(root.at - sent.started)
    bench.watcher.settle(quiet=0.2)
    return FlowResult(
        latency_ms,
        Stats.of(plain),
        Stats.of(deprecate),
        Stats.of(first_sight),
        Stats.of(execution),
    )


def forget_families(stack: Stack) -> None:
    """Empty the reader's memo of image families, as for an image never seen.

    The memo lets a deprecation start its family reads alongside the image read;
    an image the bot has not seen since it started has no entry.
    """
    stack.bot.service.reader.families = FamilyMemo()


def _has_root(store: RequestStore, request_id: str, ts: str) -> bool:
    """The bot has stored the preview's ts, so Apply can update that message."""
    request = store.get(request_id)
    return request is not None and request.root_ts == ts


def _wait_until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.001)


# -- burst --------------------------------------------------------------------

# A mix of what people type: plain changes on several images, a rename and a
# deprecation of a family image (the one preview that needs two rounds of reads).
BURST_COMMANDS = (
    "set m-plain0001 description=burst-{n}",
    "set m-imdsv201 description=burst-{n}",
    "set m-shared01 description=burst-{n}",
    "rename m-dbonly01 db-burst-{n}",
    "deprecate m-webnew01",
)


@dataclass(frozen=True)
class BurstResult:
    size: int
    latency_ms: float
    ack: Stats
    preview: Stats
    failures: list[str]


def burst(
    port: int,
    watcher: Watcher,
    response_url: Callable[[str], str],
    size: int,
    latency_ms: float,
) -> BurstResult:
    """`size` slash commands from different users, released at the same instant."""
    gate = threading.Barrier(size)
    acks: list[float] = [0.0] * size
    previews: list[float] = [0.0] * size
    failures: list[str] = []

    def one(n: int) -> None:
        user, channel = f"UBURST{n:03d}", new_channel()
        text = BURST_COMMANDS[n % len(BURST_COMMANDS)].format(n=n)
        body = command_body(
            text, user=user, channel=channel, response_url=response_url(user)
        )
        try:
            gate.wait(timeout=30)
            sent = post(port, body)
            acks[n] = sent.elapsed
            if sent.status != 200:
                failures.append(f"{user}: HTTP {sent.status}")
                return
            root = watcher.wait_post(channel)
            previews[n] = root.at - sent.started
        except Exception as error:
            failures.append(f"{user}: {type(error).__name__}: {error}")

    threads = [threading.Thread(target=one, args=(n,)) for n in range(size)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    watcher.settle(quiet=0.3)
    return BurstResult(
        size,
        latency_ms,
        Stats.of([a for a in acks if a]),
        Stats.of([p for p in previews if p] or [float("inf")]),
        failures,
    )
