"""imagebot's benchmarks in one run: `make bench` (see bench/README.md).

    .venv/bin/python bench/run.py [--quick] [--out FILE] [--readme]

Latencies are compared with baselines measured in the same process during the same
run (a bare Bolt app, the emulator's latency L), because the machine is shared.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# The Alibaba credential library reads these at import: no metadata service, no
# CLI profile, no proxy between the bot and 127.0.0.1.
os.environ["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"
os.environ["ALIBABA_CLOUD_CLI_PROFILE_DISABLED"] = "true"
for _proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
    os.environ.pop(_proxy, None)

from bench.bare import BareApp  # noqa: E402
from bench.common import Figure, Stats, ms, verdict  # noqa: E402
from bench.latency import (  # noqa: E402
    AckResult,
    Bench,
    BurstResult,
    FlowResult,
    burst,
    measure_acks,
    measure_flow,
)
from bench.process import ProcessResult, measure_process  # noqa: E402
from bench.store_bench import StoreResult, measure  # noqa: E402
from tests.harness import Stack  # noqa: E402

RESULTS = ROOT / "bench" / "results.md"
README = ROOT / "bench" / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"


@dataclass(frozen=True)
class Plan:
    """How many samples each figure takes."""

    ack_n: int
    ack_warmup: int
    flow_n: dict[int, int]
    flow_warmup: int
    burst: int
    starts: int
    probes: int
    store_events: int
    store_requests: int
    cost_n: int


FULL = Plan(
    ack_n=200,
    ack_warmup=30,
    flow_n={0: 60, 100: 40, 300: 30},
    flow_warmup=3,
    burst=50,
    starts=5,
    probes=3,
    store_events=100_000,
    store_requests=2_000,
    cost_n=200,
)
QUICK = Plan(
    ack_n=6,
    ack_warmup=2,
    flow_n={0: 1, 100: 1, 300: 1},
    flow_warmup=0,
    burst=10,
    starts=1,
    probes=1,
    store_events=500,
    store_requests=100,
    cost_n=5,
)
ACK_LATENCIES = (0, 100, 300)
BURST_LATENCY = 300


# -- the run ----------------------------------------------------------------------


@dataclass
class Results:
    acks: list[AckResult]
    flows: list[FlowResult]
    burst: BurstResult
    process: ProcessResult
    store: StoreResult
    ecs_cost: Stats
    slack_cost: Stats


def step(label: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {label}", file=sys.stderr, flush=True)


def run(plan: Plan) -> Results:
    with tempfile.TemporaryDirectory(prefix="imagebot-bench-") as tmp:
        stack = Stack(Path(tmp))
        bare = BareApp(stack.slack.api_url, stack.slack.bot_token).start()
        try:
            bench = Bench(stack, bare)
            step("SDK and Slack client round trips at L=0")
            ecs_cost, slack_cost = round_trips(stack, plan.cost_n)
            acks = []
            for latency in ACK_LATENCIES:
                step(f"acks at L={latency} ms")
                acks.append(measure_acks(bench, latency, plan.ack_n, plan.ack_warmup))
            flows = []
            for latency, n in plan.flow_n.items():
                step(f"preview and execution at L={latency} ms")
                flows.append(measure_flow(bench, latency, n, plan.flow_warmup))
            step(f"burst of {plan.burst} commands at L={BURST_LATENCY} ms")
            bench.set_latency(BURST_LATENCY)
            burst_result = burst(
                stack.port,
                bench.watcher,
                stack.slack.response_url,
                plan.burst,
                BURST_LATENCY,
            )
        finally:
            bare.stop()
            stack.stop()

    step(f"`python -m bot run` x{plan.starts}, burst of {plan.burst}, SIGTERM")
    process = measure_process(
        plan.starts, plan.burst, BURST_LATENCY, probes=plan.probes
    )
    step(f"store: {plan.store_events} audit events via record(), then open")
    with tempfile.TemporaryDirectory(prefix="imagebot-store-") as tmp:
        store = measure(
            str(Path(tmp) / "store.sqlite"), plan.store_events, plan.store_requests
        )
    return Results(acks, flows, burst_result, process, store, ecs_cost, slack_cost)


def round_trips(stack: Stack, n: int) -> tuple[Stats, Stats]:
    """One ECS read through the SDK and one chat.postMessage, nothing else, at L=0."""
    stack.emulator.latency_ms = 0
    gateway = stack.bot.service.gateway
    client = stack.bot.client

    def ecs() -> None:
        gateway.image("cn-hangzhou", "m-plain0001")

    def slack() -> None:
        client.chat_postMessage(channel="CCOST", text="round trip")

    return timed(ecs, n), timed(slack, n)


def timed(action: Callable[[], None], n: int, warmup: int = 5) -> Stats:
    samples = []
    for i in range(warmup + n):
        started = time.perf_counter()
        action()
        if i >= warmup:
            samples.append(time.perf_counter() - started)
    return Stats.of(samples)


# -- the table --------------------------------------------------------------------


def figures(r: Results) -> list[Figure]:
    rows: list[Figure] = []
    for a in r.acks:
        for kind, bot, bare in (
            ("slash command", a.bot_command, a.bare_command),
            ("click (Apply)", a.bot_click, a.bare_click),
        ):
            p50, p99 = bot.p50 / bare.p50, bot.p99 / bare.p99
            rows.append(
                Figure(
                    f"ack.{kind.split()[0]}.L{a.latency_ms:.0f}",
                    f"ack of a {kind}, L={a.latency_ms:.0f} ms",
                    f"p50 {ms(bot.p50)} = {p50:.2f}x bare ({ms(bare.p50)}); "
                    f"p99 {ms(bot.p99)} = {p99:.2f}x bare ({ms(bare.p99)}); "
                    f"n={bot.n}",
                    "≤ 1.5x bare app",
                    verdict(p50 <= 1.5, p99 <= 1.5),
                )
            )
    for f in r.flows:
        latency = f.latency_ms
        for key, what, stats, goal_l in (
            ("preview.plain", "preview, set description", f.preview_plain, 1.5),
            (
                "preview.deprecate",
                "preview, deprecate m-webnew01 (image seen before)",
                f.preview_deprecate,
                1.5,
            ),
            (
                "preview.deprecate.first",
                "preview, deprecate m-webnew01 (first sight of the image)",
                f.preview_deprecate_first,
                1.5,
            ),
            ("execution", "Apply → thread reply", f.execution, 2.5),
        ):
            goal = goal_l * latency / 1000 + 0.050
            rows.append(
                Figure(
                    f"{key}.L{latency:.0f}",
                    f"{what}, L={latency:.0f} ms",
                    _multiple(stats, latency),
                    f"≤ {goal_l} L + 50 ms = {goal * 1000:.0f} ms",
                    verdict(stats.p50 <= goal, stats.p99 <= goal),
                )
            )
    rows += _burst_rows("burst", "in-process", r.burst)
    p = r.process
    rows += _burst_rows("burst.cold", "`python -m bot run` just started (cold)", p.cold)
    rows += _burst_rows("burst.warm", "`python -m bot run`, second burst", p.warm)
    rows.append(
        Figure(
            "burst.cpu",
            "bot process CPU per command in a burst (preview included)",
            f"cold {p.cold_cpu / p.cold.size * 1000:.1f} ms, "
            f"second burst {p.warm_cpu / p.warm.size * 1000:.1f} ms",
            "—",
            "info",
        )
    )
    starts = Stats.of(p.startups)
    rows.append(
        Figure(
            "startup",
            "start-up: process start → GET /healthz 200",
            f"p50 {starts.p50:.2f} s, max {starts.max:.2f} s (n={starts.n}); "
            f"of which `python -c pass` {p.interpreter:.2f} s, "
            f"`import bot.cli, bot.slack.app` {p.imports:.2f} s",
            "≤ 1.5 s",
            verdict(starts.p50 <= 1.5, starts.max <= 1.5),
        )
    )
    rows.append(
        Figure(
            "memory",
            f"peak RSS (VmHWM) after two {p.cold.size}-command bursts",
            f"{p.peak_rss_mb:.0f} MB (when ready: {p.rss_ready_mb:.0f} MB)",
            "≤ 150 MB",
            "pass" if p.peak_rss_mb <= 150 else "miss",
        )
    )
    rows.append(
        Figure(
            "sigterm",
            "SIGTERM → exit code",
            f"{', '.join(map(str, p.exit_codes))} "
            f"(the last exit took {p.stop_seconds:.2f} s)",
            "0",
            "pass" if all(c == 0 for c in p.exit_codes) else "miss",
        )
    )
    s = r.store
    rows.append(
        Figure(
            "store.transitions",
            "store: transitions PREVIEWED→EXECUTING→SUCCEEDED",
            f"{s.transitions_per_s:,.0f} /s ({s.requests} requests)",
            "—",
            "info",
        )
    )
    opens = Stats.of(s.open_seconds)
    rows.append(
        Figure(
            "store.open",
            f"store: open with {s.events:,} audit events",
            f"first {ms(s.open_seconds[0])}, p50 {ms(opens.p50)} (n={opens.n}); "
            f"building it with record() took {s.record_seconds:.0f} s "
            f"({s.events / s.record_seconds:,.0f} events/s)",
            "—",
            "info",
        )
    )
    for key, what, stats in (
        ("cost.ecs", "cost: one ECS read via the SDK, L=0", r.ecs_cost),
        ("cost.slack", "cost: one chat.postMessage via slack_sdk", r.slack_cost),
    ):
        rows.append(
            Figure(
                key,
                what,
                f"p50 {ms(stats.p50)}, p99 {ms(stats.p99)} (n={stats.n})",
                "—",
                "info",
            )
        )
    return rows


def _multiple(stats: Stats, latency_ms: float) -> str:
    if not latency_ms:
        return f"p50 {ms(stats.p50)}, p99 {ms(stats.p99)} (n={stats.n})"
    latency = latency_ms / 1000
    return (
        f"p50 {ms(stats.p50)} = {stats.p50 / latency:.2f} L, "
        f"p99 {ms(stats.p99)} = {stats.p99 / latency:.2f} L (n={stats.n})"
    )


def _burst_rows(key: str, where: str, b: BurstResult) -> list[Figure]:
    failed = f"; {len(b.failures)} failed: {b.failures[:3]}" if b.failures else ""
    return [
        Figure(
            f"{key}.ack",
            f"burst of {b.size}, L={b.latency_ms:.0f} ms, {where}: max ack",
            f"max {ms(b.ack.max)}, p50 {ms(b.ack.p50)}{failed}",
            "every ack < 1 s",
            "pass" if b.ack.max < 1 and not b.failures else "miss",
        ),
        Figure(
            f"{key}.preview",
            f"burst of {b.size}, L={b.latency_ms:.0f} ms, {where}: max preview",
            f"max {ms(b.preview.max)}, p50 {ms(b.preview.p50)}{failed}",
            "every preview < 2 s",
            "pass" if b.preview.max < 2 and not b.failures else "miss",
        ),
    ]


# -- the report -------------------------------------------------------------------


def machine(load_before: tuple[float, ...], load_after: tuple[float, ...]) -> str:
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()

    def load(values: tuple[float, ...]) -> str:
        return " ".join(f"{v:.2f}" for v in values)

    return (
        f"- nproc: {os.cpu_count()}; CPU: {model}\n"
        f"- Python {platform.python_version()} ({sys.executable})\n"
        f"- load average (1, 5, 15 min): {load(load_before)} at the start, "
        f"{load(load_after)} at the end\n"
        f"- commit: {commit or 'unknown'} (plus any uncommitted changes)"
    )


def table(rows: list[Figure]) -> str:
    lines = ["| figure | result | goal | verdict |", "|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row.what} | {row.value} | {row.goal} | {row.verdict} |")
    return "\n".join(lines)


def report(rows: list[Figure], about: str, took: float, quick: bool) -> str:
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    mode = " (--quick: too few samples to judge)" if quick else ""
    return (
        f"Run of {when}{mode}, {took / 60:.1f} min in all.\n\n"
        f"{about}\n\n{table(rows)}\n"
    )


def update_readme(text: str) -> None:
    readme = README.read_text()
    if START not in readme or END not in readme:
        raise SystemExit(f"{README} has no {START} … {END} markers")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{START}\n{text}{END}{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few samples, ~20 s")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results file")
    parser.add_argument(
        "--readme", action="store_true", help="also copy the table into the README"
    )
    args = parser.parse_args(argv)
    # Clicks on a request that names nothing are logged as warnings by design.
    logging.basicConfig(level=logging.ERROR)

    load_before = os.getloadavg()
    started = time.perf_counter()
    results = run(QUICK if args.quick else FULL)
    took = time.perf_counter() - started
    rows = figures(results)
    text = report(rows, machine(load_before, os.getloadavg()), took, args.quick)
    print(text)
    args.out.write_text(text)
    if args.readme:
        update_readme(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
