"""The benchmark script runs end to end in --quick mode and reports every figure.

Values are not checked: timings belong to bench/README.md, not to a test.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

FIGURES = [
    "ack of a slash command, L=0 ms",
    "ack of a click (Apply), L=0 ms",
    "ack of a slash command, L=100 ms",
    "ack of a click (Apply), L=100 ms",
    "ack of a slash command, L=300 ms",
    "ack of a click (Apply), L=300 ms",
    "preview, set description, L=0 ms",
    "preview, deprecate m-webnew01 (image seen before), L=0 ms",
    "preview, deprecate m-webnew01 (first sight of the image), L=0 ms",
    "Apply → thread reply, L=0 ms",
    "preview, set description, L=100 ms",
    "deprecate m-webnew01 (image seen before), L=100 ms",
    "deprecate m-webnew01 (first sight of the image), L=100 ms",
    "Apply → thread reply, L=100 ms",
    "preview, set description, L=300 ms",
    "deprecate m-webnew01 (image seen before), L=300 ms",
    "deprecate m-webnew01 (first sight of the image), L=300 ms",
    "Apply → thread reply, L=300 ms",
    "in-process: max ack",
    "in-process: max preview",
    "just started (cold): max ack",
    "just started (cold): max preview",
    "second burst: max ack",
    "second burst: max preview",
    "CPU per command in a burst",
    "start-up: process start → GET /healthz 200",
    "peak RSS (VmHWM)",
    "SIGTERM → exit code",
    "store: transitions PREVIEWED→EXECUTING→SUCCEEDED",
    "store: open with",
    "cost: one ECS read via the SDK, L=0",
    "cost: one chat.postMessage via slack_sdk",
]


def test_quick_bench_reports_every_figure_with_a_verdict(tmp_path: Path) -> None:
    out = tmp_path / "results.md"

    done = subprocess.run(
        [sys.executable, "bench/run.py", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line for line in out.read_text().splitlines() if line.startswith("| ")]
    for figure in FIGURES:
        found = [row for row in rows if figure in row]
        assert found, f"no row for {figure!r} in:\n" + "\n".join(rows)
        verdict = found[0].rstrip(" |").rsplit("|", 1)[1].strip()
        assert verdict in ("pass", "miss", "p99 miss", "info"), found[0]
    assert "nproc: " in out.read_text()
    assert "load average" in out.read_text()
