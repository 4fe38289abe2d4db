"""The command line, the configuration and the packaging artefacts."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bot import config, policy
from bot.sandbox import slack_client
from bot.sandbox.ecs_emulator import (
    DEMO_ACCESS_KEY_ID,
    DEMO_ACCESS_KEY_SECRET,
    EcsEmulator,
)
from bot.sandbox.fake_slack import FakeSlack
from tests.harness import CHANNEL, buttons, message_text

ROOT = Path(__file__).resolve().parent.parent


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "IMAGEBOT_", "ALIBABA_CLOUD_ACCESS"))
    }
    env.update(ALIBABA_CLOUD_ECS_METADATA_DISABLED="true", PYTHONPATH=str(ROOT))
    env.update(extra)
    return env


def _bot_env(
    emulator: EcsEmulator, slack: FakeSlack, tmp_path: Path, **extra: str
) -> dict[str, str]:
    """The environment of a deployment, pointed at the emulator and the fake Slack."""
    return _env(
        SLACK_BOT_TOKEN=slack.bot_token,
        IMAGEBOT_SLACK_API_URL=slack.api_url,
        IMAGEBOT_ECS_ENDPOINT=emulator.endpoint,
        IMAGEBOT_DB=str(tmp_path / "state.sqlite"),
        IMAGEBOT_REGION="cn-hangzhou",
        ALIBABA_CLOUD_ACCESS_KEY_ID=DEMO_ACCESS_KEY_ID,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET=DEMO_ACCESS_KEY_SECRET,
        **extra,
    )


def _imagebot(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=_env(**env),
        timeout=60,
        check=False,
    )


def test_help_does_not_pay_for_the_ecs_sdk() -> None:
    code = (
        "import sys\n"
        "from bot import cli\n"
        "try:\n"
        "    cli.main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('alibabacloud_ecs20140526' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=_env(),
        check=True,
    )

    assert "imagebot run" in result.stdout or "run" in result.stdout
    assert result.stdout.strip().endswith("False")


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "nope"}, "SLACK_APP_TOKEN"),
        (
            {
                "SLACK_BOT_TOKEN": "xoxb-1",
                "SLACK_SIGNING_SECRET": "s",
                "IMAGEBOT_PORT": "x",
            },
            "IMAGEBOT_PORT",
        ),
        (
            {
                "SLACK_BOT_TOKEN": "xoxb-1",
                "SLACK_SIGNING_SECRET": "s",
                "IMAGEBOT_REGION": "Not_A_Region!",
            },
            "IMAGEBOT_REGION",
        ),
        (
            {
                "SLACK_BOT_TOKEN": "xoxb-1",
                "SLACK_SIGNING_SECRET": "s",
                "IMAGEBOT_DB": "/nonexistent/dir/state.sqlite",
            },
            "IMAGEBOT_DB",
        ),
    ],
)
def test_bad_configuration_stops_start_up_with_one_line(
    env: dict[str, str], named: str
) -> None:
    result = _imagebot("run", **env)

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0]


def test_a_malformed_policy_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text("approvals_required = -1\n")

    result = _imagebot(
        "run",
        SLACK_BOT_TOKEN="xoxb-1",
        SLACK_SIGNING_SECRET="s",
        IMAGEBOT_POLICY=str(path),
        IMAGEBOT_DB=str(tmp_path / "db.sqlite"),
    )

    assert result.returncode == 2
    assert "approvals_required" in result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("IMAGEBOT_SLACK_API_URL", "ftp://x"),
        ("IMAGEBOT_ECS_ENDPOINT", "http://"),
        ("IMAGEBOT_COMMAND", "image"),
    ],
)
def test_settings_name_the_malformed_variable(name: str, value: str) -> None:
    with pytest.raises(config.ConfigError, match=name):
        config.from_env({name: value}, run=False)


def test_settings_repr_hides_secrets() -> None:
    settings = config.from_env(
        {"SLACK_BOT_TOKEN": "xoxb-secret-1", "SLACK_SIGNING_SECRET": "shh"}
    )

    assert "secret-1" not in repr(settings) and "shh" not in repr(settings)


def test_the_manifest_declares_the_command_and_minimal_scopes() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())

    command = manifest["features"]["slash_commands"][0]
    assert command["command"] == "/image"
    assert command["should_escape"] is True
    for verb in ("help", "show", "family", "set", "deprecate", "restore", "rename"):
        assert verb in command["usage_hint"]
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "commands",
        "chat:write",
        "usergroups:read",
    }
    assert len(manifest["display_information"]["name"]) <= 35


def test_the_example_policy_is_valid() -> None:
    loaded = policy.load(str(ROOT / "policy.example.toml"))

    assert loaded.approvals_required == 1
    assert loaded.risky_approvals_required == 2
    assert loaded.announce_channel == "C0INCIDENTS"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def services() -> Iterator[tuple[EcsEmulator, FakeSlack]]:
    with EcsEmulator() as emulator, FakeSlack() as slack:
        yield emulator, slack


def test_sigterm_lets_an_executing_change_finish_and_report(
    services: tuple[EcsEmulator, FakeSlack], tmp_path: Path
) -> None:
    emulator, slack = services
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        env=_bot_env(
            emulator,
            slack,
            tmp_path,
            SLACK_SIGNING_SECRET="s3cret",
            IMAGEBOT_HOST="127.0.0.1",
            IMAGEBOT_PORT=str(port),
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_healthy(port)
        url = f"http://127.0.0.1:{port}/slack/events"
        body = slack_client.command_body(
            "set m-plain0001 name=during-shutdown",
            user="UALICE",
            channel=CHANNEL,
            response_url=slack.response_url("cmd"),
        )
        assert slack_client.post(url, body, "s3cret").status == 200
        slack.wait_for("chat.postMessage", timeout=30)
        root = slack.messages(CHANNEL)[-1]
        emulator.inject("ModifyImageAttribute", "latency", latency_ms=1500)

        click = slack_client.block_actions_body(
            "imagebot:apply",
            buttons(root)["apply"]["value"],
            user="UALICE",
            channel=CHANNEL,
            message_ts=root.ts,
            response_url=slack.response_url("click"),
        )
        assert slack_client.post(url, click, "s3cret").status == 200
        _wait_for(lambda: emulator.count("ModifyImageAttribute", dry_run=False) == 1)
        process.send_signal(signal.SIGTERM)

        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
        output = process.communicate()[0]
    assert "Applied" in message_text(slack.thread(CHANNEL, root.ts)[0]), output
    assert emulator.image("m-plain0001")["ImageName"] == "during-shutdown"
    assert "xoxb" not in output and DEMO_ACCESS_KEY_SECRET not in output


def test_sigterm_in_socket_mode_also_finishes_the_executing_change(
    services: tuple[EcsEmulator, FakeSlack], tmp_path: Path
) -> None:
    emulator, slack = services
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        env=_bot_env(emulator, slack, tmp_path, SLACK_APP_TOKEN=slack.app_token),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        slack.wait_connected(timeout=30)
        slack.send_envelope(
            "slash_commands",
            {
                "command": "/image",
                "text": "set m-plain0001 name=socket-shutdown",
                "user_id": "UALICE",
                "channel_id": CHANNEL,
                "response_url": slack.response_url("cmd"),
            },
        )
        slack.wait_for("chat.postMessage", timeout=30)
        root = slack.messages(CHANNEL)[-1]
        emulator.inject("ModifyImageAttribute", "latency", latency_ms=1500)
        slack.send_envelope(
            "interactive",
            {
                "type": "block_actions",
                "user": {"id": "UALICE"},
                "team": {"id": "T"},
                "channel": {"id": CHANNEL},
                "response_url": slack.response_url("click"),
                "actions": [
                    {
                        "action_id": "imagebot:apply",
                        "value": buttons(root)["apply"]["value"],
                        "type": "button",
                    }
                ],
            },
        )
        _wait_for(lambda: emulator.count("ModifyImageAttribute", dry_run=False) == 1)
        process.send_signal(signal.SIGTERM)

        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
        output = process.communicate()[0]
    assert "Applied" in message_text(slack.thread(CHANNEL, root.ts)[0]), output
    assert "xapp" not in output and DEMO_ACCESS_KEY_SECRET not in output


def _wait_healthy(port: int) -> None:
    def healthy() -> bool:
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{port}/healthz", timeout=1
            ) as r:
                return r.status == 200
        except OSError:
            return False

    _wait_for(healthy, timeout=30)


def _wait_for(check: object, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)
