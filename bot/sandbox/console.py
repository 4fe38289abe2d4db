"""`imagebot try`: a terminal Slack channel for the real bot, all on 127.0.0.1.

The ECS emulator, a fake Slack Web API and the bot (in Slack's HTTP mode) run in
this process; the console posts signed slash commands and button presses to the
bot exactly as Slack would, and prints what the bot posts back.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import tempfile
import time
from typing import Any, TextIO

from bot.config import Settings
from bot.policy import Policy
from bot.sandbox import render, slack_client
from bot.sandbox.ecs_emulator import (
    DEFAULT_REGION,
    DEMO_ACCESS_KEY_ID,
    DEMO_ACCESS_KEY_SECRET,
    EcsEmulator,
    demo_seed,
)
from bot.sandbox.fake_slack import FakeSlack
from bot.slack.app import Bot

CHANNEL = "C0DEMO"
# Known to anyone who reads this file; it only guards a server on loopback.
SIGNING_SECRET = "imagebot-try-signing-secret"
SETTLE_SECONDS = 0.3
MAX_WAIT_SECONDS = 15.0

_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
_COMMAND_PREFIX = re.compile(r"^/?image\b\s*", re.IGNORECASE)

HELP = """\
Type what you would type after /image, for example:
  show m-webnew01            an image's attributes (only you see the answer)
  family web-base            the images of a family and where it resolves
  set m-plain0001 name=plain-v2
                             a change: preview with buttons in the channel
  deprecate m-dbonly01       the last image of a family: watch the warning
  restore m-webdep01 · rename <id> <name> · history · pending · help
Press a button by typing its number. Console commands:
  :user UBOB   act as another Slack user (to approve someone's request)
  :images      the emulator's images now      :policy   the demo's policy
  :help        this text                      :quit     stop everything"""


class Sandbox:
    """The emulator, the fake Slack and the bot, with state in a temp dir."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._tmp = tempfile.TemporaryDirectory(prefix="imagebot-try-")
        self.db_path = f"{self._tmp.name}/state.sqlite"
        self.emulator = EcsEmulator()
        self.slack = FakeSlack()
        self.bot: Bot | None = None
        self.port = 0

    def start(self) -> Sandbox:
        self.emulator.start()
        self.slack.start()
        settings = Settings(
            slack_bot_token=self.slack.bot_token,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=self.slack.api_url,
            host="127.0.0.1",
            port=0,
            region=DEFAULT_REGION,
            ecs_endpoint=self.emulator.endpoint,
            db_path=self.db_path,
            access_key_id=DEMO_ACCESS_KEY_ID,
            access_key_secret=DEMO_ACCESS_KEY_SECRET,
        )
        self.bot = Bot(settings, policy=self.policy)
        self.port = self.bot.start_http()
        return self

    def stop(self) -> None:
        """Stop the bot first, so that it finishes what it is doing against both."""
        if self.bot is not None:
            self.bot.stop()
            self.bot = None
        self.slack.stop()
        self.emulator.stop()
        self._tmp.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def activity(self) -> int:
        """A counter that grows whenever the bot talks to Slack or ECS."""
        return len(self.slack.calls) + len(self.emulator.calls)


class Console:
    """A terminal channel: read lines, send them as Slack would, print the bot."""

    def __init__(
        self,
        stdin: TextIO,
        stdout: TextIO,
        *,
        policy: Policy | None = None,
        user: str = "UALICE",
        echo: bool | None = None,
        settle: float = SETTLE_SECONDS,
        max_wait: float = MAX_WAIT_SECONDS,
        sandbox: Sandbox | None = None,
    ) -> None:
        self.stdin, self.stdout = stdin, stdout
        self.policy = sandbox.policy if sandbox else (policy or Policy())
        self.user = user
        # A piped script is not echoed by a terminal; echo it so the output reads.
        self.echo = (not stdin.isatty()) if echo is None else echo
        self.settle, self.max_wait = settle, max_wait
        self.feed = render.Feed()
        self._given = sandbox  # started and stopped by run(); a new one if None
        self._sandbox: Sandbox | None = None
        self._seen = 0  # how many of the fake Slack's calls are already shown

    @property
    def sandbox(self) -> Sandbox:
        if self._sandbox is None:
            raise RuntimeError("the console is not running")
        return self._sandbox

    def run(self) -> int:
        """Start everything, serve the person until :quit, EOF or Ctrl-C, stop."""
        self._say("Starting the ECS emulator, a fake Slack and imagebot…")
        try:
            self._sandbox = self._given or Sandbox(self.policy)
            self._sandbox.start()
            self._banner()
            while (line := self._ask(f"{self.user} #demo> ")) is not None:
                if not self.handle(line):
                    break
        except KeyboardInterrupt:
            self._say("")
        finally:
            if self._sandbox is not None:
                self._sandbox.stop()
                self._sandbox = None
        self._say("Stopped. Nothing outside this demo was touched.")
        return 0

    def handle(self, line: str) -> bool:
        """Act on one line; False when the person asked to quit."""
        line = line.strip()
        if not line:
            return True
        if line.startswith(":"):
            return self._console_command(line)
        if line.isdigit():
            self._press(int(line))
        else:
            self._command(_COMMAND_PREFIX.sub("", line, count=1))
        return True

    # -- what the person does ------------------------------------------------------

    def _command(self, text: str) -> None:
        response_url = self.sandbox.slack.response_url(f"cmd-{self.user}")
        body = slack_client.command_body(
            text, user=self.user, channel=CHANNEL, response_url=response_url
        )
        answered = self._send(body)
        self._watch(expect=not answered)

    def _press(self, number: int) -> None:
        if not 1 <= number <= len(self.feed.buttons):
            self._say(f"There is no button [{number}]; press one of the numbers shown.")
            return
        button, message_ts = self.feed.buttons[number - 1]
        if button.confirm and not self._confirmed(button.confirm):
            self._say(f"{button.confirm.no}: nothing was sent.")
            return

        body = slack_client.block_actions_body(
            button.action_id,
            button.value,
            user=self.user,
            channel=CHANNEL,
            message_ts=message_ts,
            response_url=self.sandbox.slack.response_url(f"click-{self.user}"),
            block_id=button.block_id,
        )
        self._send(body)
        self._watch(expect=True)

    def _confirmed(self, confirm: render.Confirm) -> bool:
        self._say(f"┌ {confirm.title}\n│ {confirm.text}")
        answer = self._ask(f"└ {confirm.yes}? [y/N] ")
        return (answer or "").strip().lower() in ("y", "yes")

    def _fill_modal(self, view: dict[str, Any]) -> None:
        """Ask for a modal's inputs and submit it, until the bot accepts or we close."""
        self._say(render.dialog(view))
        inputs = [b for b in view.get("blocks", []) if b.get("type") == "input"]
        while True:
            values: dict[str, dict[str, str]] = {}
            for block in inputs:
                label = str(block.get("label", {}).get("text", "Value"))
                answer = (self._ask(f"└ {label} (empty closes it) ") or "").strip()
                if not answer:
                    self._say("Dialog closed: nothing was sent.")
                    return
                action = str(block.get("element", {}).get("action_id", ""))
                values[str(block.get("block_id", ""))] = {action: answer}

            body = slack_client.view_submission_body(view, values, user=self.user)
            reply = slack_client.post(self.sandbox.url, body, SIGNING_SECRET)
            errors = reply.json().get("errors") or {}
            if not errors:
                self._watch(expect=True)
                return
            self._say("\n".join(f"│ {message}" for message in errors.values()))

    def _console_command(self, line: str) -> bool:
        name, _, arg = line[1:].partition(" ")
        name, arg = name.lower(), arg.strip()
        if name in ("quit", "q", "exit"):
            return False
        if name == "user":
            self._switch_user(arg)
        elif name == "images":
            emulator = self.sandbox.emulator
            ids = [seeded["ImageId"] for seeded in demo_seed()["images"]]
            self._say(render.images_table(emulator.image(i) for i in ids))
        elif name == "policy":
            self._say(render.policy_summary(self.policy))
        elif name == "help":
            self._say(HELP)
        else:
            self._say(f"Unknown console command :{name}; type :help for the list.")
        return True

    def _switch_user(self, user: str) -> None:
        if not _USER.match(user.upper()):
            self._say("Give a Slack user ID, for example :user UBOB.")
            return
        self.user = user.upper()
        self._say(f"You are now {self.user}.")

    # -- what the bot says ---------------------------------------------------------

    def _send(self, body: str) -> bool:
        """POST to the bot; print what it answered in the response; True if anything."""
        reply = slack_client.post(self.sandbox.url, body, SIGNING_SECRET)
        if reply.status != 200:
            self._say(f"(imagebot answered HTTP {reply.status}: {reply.body[:200]})")
            return True
        answer = reply.json()
        if not answer.get("text") and not answer.get("blocks"):
            return False
        self._say(self.feed.private(answer))
        return True

    def _watch(self, *, expect: bool) -> None:
        """Wait until the bot goes quiet, then print what it said in Slack."""
        sandbox = self.sandbox
        deadline = time.monotonic() + self.max_wait
        # The first answer can take seconds (ECS preflight), so quiet alone is no
        # sign of being done until the bot has said something visible.
        while expect and not self._spoke() and time.monotonic() < deadline:
            time.sleep(0.02)
        last, quiet_since = sandbox.activity(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.02)
            now = sandbox.activity()
            if now != last:
                last, quiet_since = now, time.monotonic()
            elif time.monotonic() - quiet_since >= self.settle:
                break

        calls = sandbox.slack.calls[self._seen :]
        self._seen += len(calls)
        text, views = self.feed.calls(calls)
        if text:
            self._say(text)
        for view in views:
            self._fill_modal(view)

    def _spoke(self) -> bool:
        return any(
            c.method in render.SHOWN for c in self.sandbox.slack.calls[self._seen :]
        )

    # -- the terminal ----------------------------------------------------------------

    def _banner(self) -> None:
        sandbox = self.sandbox
        self._say(
            "imagebot try: everything runs here, on 127.0.0.1; nothing reaches "
            "Slack or Alibaba Cloud.\n"
            f"  ECS emulator  {sandbox.emulator.endpoint} (seeded demo images)\n"
            f"  fake Slack    {sandbox.slack.api_url} (this terminal is #demo)\n"
            f"  imagebot      {sandbox.url} (HTTP mode, signed requests)\n"
            f"  state file    {sandbox.db_path} (deleted on exit)\n"
            f"{render.policy_summary(self.policy)}\n\n{HELP}\n"
        )

    def _ask(self, prompt: str) -> str | None:
        self.stdout.write(prompt)
        self.stdout.flush()
        line = self.stdin.readline()
        if not line:
            self._say("")
            return None
        if self.echo:
            self._say(line.rstrip("\n"))
        return line

    def _say(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    """`imagebot try [--approvals N]`; argv is what follows `try`."""
    parser = argparse.ArgumentParser(
        prog="imagebot try",
        description="A local demo: the bot, the ECS emulator and a terminal channel.",
    )
    parser.add_argument(
        "--approvals",
        type=int,
        default=0,
        choices=range(0, 6),
        metavar="N",
        help="approvals needed from someone other than the requester (default 0)",
    )
    args = parser.parse_args([] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    policy = Policy(approvals_required=args.approvals, pending_ttl_minutes=30)
    return Console(sys.stdin, sys.stdout, policy=policy).run()
