"""`imagebot try`: a script of typed lines in, the terminal channel out."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from bot.policy import Policy
from bot.sandbox import render
from bot.sandbox.console import Console, Sandbox

ROOT = Path(__file__).resolve().parent.parent


def run_script(*lines: str, approvals: int = 0) -> tuple[str, Sandbox]:
    """Type the lines into a fresh console; return what it printed and its sandbox."""
    sandbox = Sandbox(Policy(approvals_required=approvals))
    out = io.StringIO()
    console = Console(
        io.StringIO("".join(f"{line}\n" for line in lines)), out, sandbox=sandbox
    )
    assert console.run() == 0
    return out.getvalue(), sandbox


def test_set_previews_with_buttons_and_apply_changes_the_image() -> None:
    out, sandbox = run_script(
        "show m-webnew01",
        "/image set m-plain0001 name=plain-v2",
        "1",
        ":images",
        ":quit",
    )

    card, preview = out.split("#demo> show m-webnew01", 1)[1].split("#demo> /image", 1)
    assert "imagebot (only you):" in card
    assert "Family `web-base` resolves to this image." in card
    assert "Name: `plain-image` → `plain-v2`" in preview
    assert "@UALICE can apply" in preview
    assert "[1] Apply  [2] Cancel" in preview
    assert "imagebot in the thread of “Image change: m-plain0001”:" in out
    assert "    ✔ Applied by @UALICE to `m-plain0001`" in out
    assert "imagebot updated:" in out
    assert "m-plain0001  plain-v2" in out  # :images reads the emulator
    assert sandbox.emulator.image("m-plain0001")["ImageName"] == "plain-v2"
    assert out.rstrip().endswith("Stopped. Nothing outside this demo was touched.")


def test_deprecating_the_last_image_warns_and_asks_before_sending() -> None:
    out, sandbox = run_script("deprecate m-dbonly01", "1", "n", ":quit")

    assert "⚠ Last Available image of its family" in out
    assert "[1] Apply (danger, asks first)  [2] Cancel" in out
    assert "┌ Deprecate the last image?" in out
    assert "Deprecate it? [y/N] n" in out
    assert "Keep it: nothing was sent." in out
    assert sandbox.emulator.image("m-dbonly01")["Status"] == "Available"
    assert sandbox.emulator.count("ModifyImageAttribute", dry_run=False) == 0


def test_mistakes_are_explained_and_the_console_carries_on() -> None:
    out, _ = run_script(
        "frobnicate m-plain0001",
        "7",
        ":user bob",
        ":nonsense",
        "show m-nothere01",
    )

    assert "⚠ Unknown command `frobnicate`" in out
    assert "Usage: `/image help" in out
    assert "There is no button [7]" in out
    assert "Give a Slack user ID, for example :user UBOB." in out
    assert "Unknown console command :nonsense" in out
    assert "m-nothere01" in out.split("#demo> show m-nothere01", 1)[1]
    assert "Stopped." in out  # end of input stops everything


def test_peer_approval_and_reject_through_the_dialog() -> None:
    out, sandbox = run_script(
        "set m-plain0001 name=plain-v2",
        "1",
        ":user ubob",
        "2",
        "not during the freeze",
        ":quit",
        approvals=1,
    )

    assert "[1] Approve  [2] Reject  [3] Cancel" in out
    assert "you cannot approve it" in out
    assert "You are now UBOB." in out
    assert "┌ Reject change" in out
    assert "Why? (empty closes it) not during the freeze" in out
    assert "@UBOB rejected this: not during the freeze" in out
    assert sandbox.emulator.image("m-plain0001")["ImageName"] == "plain-image"


def test_mrkdwn_is_shown_as_plain_text() -> None:
    text = (
        "*Reason*: a &lt;b&gt; &amp; c · <@U123> · "
        "<!date^1700000000^{date}|2023-11-14> · `x *y* &lt;z&gt;` · _(empty)_ · "
        ":warning: · <https://x.test|docs>"
    )

    assert render.mrkdwn(text) == (
        "Reason: a <b> & c · @U123 · 2023-11-14 · `x *y* <z>` · (empty) · ⚠ · "
        "docs (https://x.test)"
    )


def test_buttons_are_numbered_and_danger_is_marked() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Title"}},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "imagebot:apply",
                    "text": {"type": "plain_text", "text": "Apply"},
                    "value": "r1",
                    "style": "danger",
                    "confirm": {
                        "title": {"type": "plain_text", "text": "Sure?"},
                        "text": {"type": "plain_text", "text": "Really."},
                        "confirm": {"type": "plain_text", "text": "Go"},
                        "deny": {"type": "plain_text", "text": "Stop"},
                    },
                },
                {
                    "type": "button",
                    "action_id": "imagebot:cancel",
                    "text": {"type": "plain_text", "text": "Cancel"},
                    "value": "r1",
                },
            ],
        },
    ]

    shown = render.message("fallback", blocks)

    assert shown.lines == ["== Title =="]
    assert render.choices(shown.buttons, 3) == (
        "[3] Apply (danger, asks first)  [4] Cancel"
    )
    assert shown.buttons[0].confirm == render.Confirm("Sure?", "Really.", "Go", "Stop")


def test_imagebot_try_runs_as_a_command() -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")
    }
    env["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"

    done = subprocess.run(
        [sys.executable, "-m", "bot", "try"],
        input="show m-webnew01\n:quit\n",
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        cwd=ROOT,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    assert "== m-webnew01 in cn-hangzhou ==" in done.stdout
    assert "Family `web-base` resolves to this image." in done.stdout
    assert "Stopped." in done.stdout
