"""Builds the bot (Bolt app, service, store) and serves it over HTTP or Socket Mode."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from types import FrameType
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot import policy as policy_module
from bot.config import Settings
from bot.ecs import EcsGateway
from bot.policy import Policy
from bot.service import Service
from bot.slack.directory import SlackDirectory
from bot.slack.listeners import register
from bot.slack.notifier import SlackNotifier
from bot.store import RequestStore

log = logging.getLogger(__name__)

# Enough listener threads that 50 simultaneous commands never queue behind each
# other while they wait on ECS.
LISTENER_THREADS = 64
HTTP_THREADS = 16

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def slack_client(settings: Settings) -> WebClient:
    """A Web API client that waits out HTTP 429 as Slack asks (Retry-After)."""
    client = WebClient(
        token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=10
    )
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=3))
    return client


def build_app(settings: Settings, service: Service, client: WebClient) -> App:
    """The Bolt app with imagebot's listeners."""
    app = App(
        client=client,
        signing_secret=settings.slack_signing_secret,
        process_before_response=True,
        listener_executor=ThreadPoolExecutor(
            LISTENER_THREADS, thread_name_prefix="imagebot-listener"
        ),
        token_verification_enabled=False,
        ignoring_self_events_enabled=False,
    )
    register(app, service, settings)
    return app


class Bot:
    """Everything `imagebot run` runs, with a clean start and stop."""

    def __init__(
        self,
        settings: Settings,
        *,
        gateway: EcsGateway | None = None,
        policy: Policy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.client = slack_client(settings)
        self.store = RequestStore(settings.db_path)
        self.policy = policy or policy_module.load(settings.policy_path)
        self.gateway = gateway or EcsGateway.from_settings(settings)
        self.service = Service(
            gateway=self.gateway,
            store=self.store,
            policy=self.policy,
            directory=SlackDirectory(self.client),
            notifier=SlackNotifier(self.client),
            clock=clock,
        )
        self.app = build_app(settings, self.service, self.client)
        self.ready = threading.Event()
        self._stopped = threading.Event()
        self._http_stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._server: Any = None
        self._socket: Any = None

    # -- start ---------------------------------------------------------------

    def start_http(self) -> int:
        """Serve POST /slack/events and GET /healthz; returns the bound port."""
        from waitress.server import create_server

        self._server = create_server(
            self.wsgi(),
            host=self.settings.host,
            port=self.settings.port,
            threads=HTTP_THREADS,
            ident="imagebot",
            clear_untrusted_proxy_headers=True,
        )
        port = int(self._server.effective_port)
        self._spawn("imagebot-http", self._serve_http)
        self._after_start()
        log.info("serving Slack's HTTP mode on %s:%d", self.settings.host, port)
        return port

    def start_socket(self) -> None:
        """Connect to Slack over Socket Mode."""
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        self._socket = SocketModeHandler(
            self.app, self.settings.slack_app_token, concurrency=HTTP_THREADS
        )
        self._socket.connect()
        self._after_start()
        log.info("connected to Slack over Socket Mode")

    def _after_start(self) -> None:
        if self.settings.region:
            # Loading the SDK and opening ECS's connection take a second or more:
            # paid here, in the background, instead of by the first commands.
            self._spawn(
                "imagebot-warm-up", lambda: self.service.warm_up(self.settings.region)
            )
        self._spawn("imagebot-reconcile", self.service.reconcile)
        self._spawn("imagebot-sweeper", self._sweep)
        self.ready.set()

    def wsgi(self) -> WsgiApp:
        bolt = SlackRequestHandler(self.app)

        def route(
            environ: dict[str, Any], start_response: Callable[..., Any]
        ) -> Iterable[bytes]:
            if environ.get("PATH_INFO") == "/healthz":
                ok = self.ready.is_set() and not self._stopped.is_set()
                start_response(
                    "200 OK" if ok else "503 Service Unavailable",
                    [("Content-Type", "text/plain; charset=utf-8")],
                )
                return [b"ok\n" if ok else b"not ready\n"]
            return bolt(environ, start_response)

        return route

    # -- run and stop --------------------------------------------------------

    def run_forever(self) -> None:
        """Serve until SIGTERM or SIGINT, then stop gracefully."""
        wake = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            log.info("signal %d: shutting down", signum)
            wake.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        if self.settings.socket_mode:
            self.start_socket()
        else:
            self.start_http()
        wake.wait()
        self.stop()

    def stop(self, drain_timeout: float = 30.0) -> None:
        """Take no new work, let executing requests finish and report, then close."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self._http_stop.set()
        if not self.service.drain(drain_timeout):
            log.warning(
                "stopping with requests still executing; they reconcile at start"
            )
        if self._socket is not None:
            # Leaving for good: a reconnect attempt would only delay the exit.
            self._socket.client.auto_reconnect_enabled = False
            self._socket.close()
        for thread in self._threads:
            thread.join(timeout=5)
        executor = self.app.listener_runner.listener_executor
        if isinstance(executor, ThreadPoolExecutor):
            executor.shutdown(wait=True, cancel_futures=False)
        self.service.close()
        self.store.close()
        log.info("stopped")

    def _serve_http(self) -> None:
        """Waitress's loop, run here so that it also closes its sockets here.

        Closing them from another thread would pull them out from under select().
        """
        from waitress import wasyncore

        server = self._server
        while not self._http_stop.is_set():
            wasyncore.loop(timeout=0.25, map=server._map, count=1)
        server.task_dispatcher.shutdown(cancel_pending=False, timeout=5)
        wasyncore.close_all(server._map)

    def _sweep(self) -> None:
        interval = min(30.0, max(0.5, self.policy.ttl_seconds / 3))
        while not self._stopped.wait(interval):
            try:
                self.service.expire_overdue()
                self.service.reconcile()
            except Exception:
                log.exception("periodic sweep failed")

    def _spawn(self, name: str, target: Callable[[], Any]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)
