"""The baseline: the fastest Bolt app that only acks, served the way the bot is.

Same Bolt settings that matter for the ack (process_before_response, no token
verification, a client pointed at the fake Slack), same signing secret, same
waitress server behind slack_bolt's WSGI adapter, same serving loop.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from slack_bolt import Ack, App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from waitress import wasyncore
from waitress.server import create_server

from bot.slack.app import HTTP_THREADS
from tests.harness import SIGNING_SECRET


class BareApp:
    """A Bolt app with one command listener and one action listener, each ack()."""

    def __init__(self, slack_api_url: str, bot_token: str) -> None:
        self.app = App(
            client=WebClient(token=bot_token, base_url=slack_api_url),
            signing_secret=SIGNING_SECRET,
            process_before_response=True,
            token_verification_enabled=False,
        )

        def ack_only(ack: Ack) -> None:
            ack()

        self.app.command("/image")(ack_only)
        self.app.action(re.compile(r"^imagebot:"))(ack_only)
        self._server: Any = create_server(
            SlackRequestHandler(self.app),
            host="127.0.0.1",
            port=0,
            threads=HTTP_THREADS,
            ident="bare",
            clear_untrusted_proxy_headers=True,
        )
        self.port = int(self._server.effective_port)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="bare-http")

    def start(self) -> BareApp:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _serve(self) -> None:
        server = self._server
        while not self._stop.is_set():
            wasyncore.loop(timeout=0.25, map=server._map, count=1)
        server.task_dispatcher.shutdown(cancel_pending=False, timeout=5)
        wasyncore.close_all(server._map)
