"""`python -m bot run` as its own process: start-up time, peak memory, clean exit."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import get_status
from bench.latency import BurstResult, Watcher, burst
from bot.sandbox.ecs_emulator import (
    DEMO_ACCESS_KEY_ID,
    DEMO_ACCESS_KEY_SECRET,
    EcsEmulator,
)
from bot.sandbox.fake_slack import FakeSlack
from tests.harness import SIGNING_SECRET

ROOT = Path(__file__).resolve().parents[1]
_PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY")


@dataclass(frozen=True)
class ProcessResult:
    startups: list[float]
    interpreter: float
    imports: float
    cold: BurstResult
    warm: BurstResult
    cold_cpu: float
    warm_cpu: float
    rss_ready_mb: float
    peak_rss_mb: float
    exit_codes: list[int]
    stop_seconds: float


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def bot_env(
    slack: FakeSlack, emulator: EcsEmulator, db: str, port: int
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _PROXIES}
    env.update(
        SLACK_BOT_TOKEN=slack.bot_token,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        IMAGEBOT_SLACK_API_URL=slack.api_url,
        IMAGEBOT_ECS_ENDPOINT=emulator.endpoint,
        IMAGEBOT_PORT=str(port),
        IMAGEBOT_HOST="127.0.0.1",
        IMAGEBOT_DB=db,
        IMAGEBOT_REGION="cn-hangzhou",
        ALIBABA_CLOUD_ACCESS_KEY_ID=DEMO_ACCESS_KEY_ID,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET=DEMO_ACCESS_KEY_SECRET,
        ALIBABA_CLOUD_ECS_METADATA_DISABLED="true",
        ALIBABA_CLOUD_CLI_PROFILE_DISABLED="true",
    )
    env.pop("SLACK_APP_TOKEN", None)
    return env


def vm_kb(pid: int, field: str) -> int:
    """A /proc/<pid>/status memory field (VmHWM, VmRSS) in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wall_time(code: str) -> float:
    """Seconds for a fresh interpreter of the same venv to run `code` and exit."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    return time.perf_counter() - started


class BotProcess:
    """One `python -m bot run`, its log in a file."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.port = port
        self.log = log
        self._log = log.open("wb")
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            env=env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 30.0) -> float:
        """Seconds from process start until GET /healthz answered 200."""
        while time.perf_counter() - self.started < timeout:
            if get_status(self.port, "/healthz") == 200:
                return time.perf_counter() - self.started
            if self.process.poll() is not None:
                break
            time.sleep(0.005)
        self.kill()
        raise RuntimeError(f"the bot never became ready; log:\n{self.tail()}")

    def terminate(self, timeout: float = 60.0) -> tuple[int, float]:
        """SIGTERM; the exit code and the seconds it took to exit."""
        started = time.perf_counter()
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            code = -9
        self._log.close()
        return code, time.perf_counter() - started

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._log.close()

    def tail(self, lines: int = 30) -> str:
        self._log.flush()
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def measure_process(
    runs: int, burst_size: int, latency_ms: float, *, probes: int = 3
) -> ProcessResult:
    """Start the bot `runs` times; the last run also takes two bursts, then SIGTERM."""
    interpreter = min(wall_time("pass") for _ in range(probes))
    imports = min(wall_time("import bot.cli, bot.slack.app") for _ in range(probes))
    emulator = EcsEmulator(latency_ms=latency_ms).start()
    slack = FakeSlack().start()
    watcher = Watcher(slack)
    startups: list[float] = []
    codes: list[int] = []
    try:
        with tempfile.TemporaryDirectory(prefix="imagebot-bench-") as tmp:
            for run in range(runs):
                port = free_port()
                env = bot_env(slack, emulator, f"{tmp}/state-{run}.sqlite", port)
                bot = BotProcess(env, port, Path(tmp) / f"bot-{run}.log")
                try:
                    startups.append(bot.wait_ready())
                    if run < runs - 1:
                        codes.append(bot.terminate()[0])
                        continue
                    rss_ready = vm_kb(bot.process.pid, "VmHWM") / 1024
                    # The first commands after a start pay for whatever the bot
                    # left to first use; the second burst shows the steady state.
                    pid = bot.process.pid
                    cpu = cpu_seconds(pid)
                    cold = burst(
                        port, watcher, slack.response_url, burst_size, latency_ms
                    )
                    cold_cpu, cpu = cpu_seconds(pid) - cpu, cpu_seconds(pid)
                    warm = burst(
                        port, watcher, slack.response_url, burst_size, latency_ms
                    )
                    warm_cpu = cpu_seconds(pid) - cpu
                    peak = vm_kb(bot.process.pid, "VmHWM") / 1024
                    code, stop = bot.terminate()
                    codes.append(code)
                except BaseException:
                    print(bot.tail(), file=sys.stderr)
                    bot.kill()
                    raise
    finally:
        slack.stop()
        emulator.stop()
    return ProcessResult(
        startups,
        interpreter,
        imports,
        cold,
        warm,
        cold_cpu,
        warm_cpu,
        rss_ready,
        peak,
        codes,
        stop,
    )
