"""A local ECS API server that speaks Alibaba's signed RPC protocol over HTTP.

It serves the five calls imagebot makes (DescribeImages, DescribeImageFromFamily,
DescribeImageSharePermission, DescribeInstances, ModifyImageAttribute) from an
in-memory table, enforces the server's documented rules for ModifyImageAttribute on
its own (it shares no code with the bot's client-side checks, so the two cross-check
each other), verifies ACS3-HMAC-SHA256 and HMAC-SHA1 (V1) signatures, and injects
latency and faults on demand. It is for tests, demos and `imagebot try`.

Seed format (JSON file or dict; every key optional):

    {"images": [{"ImageId": "m-abc", "RegionId": "cn-hangzhou", "ImageName": "web-1",
                 "ImageFamily": "web", "Status": "Available",
                 "CreationTime": "2026-01-10T08:00:00Z", "BootMode": "BIOS",
                 "Architecture": "x86_64",
                 "Features": {"NvmeSupport": "supported", "ImdsSupport": "v1"}}],
     "instances": [{"InstanceId": "i-1", "ImageId": "m-abc", "RegionId": "cn-hangzhou",
                    "Status": "Running"}],
     "shares": {"m-abc": {"accounts": ["1234567890123456"], "groups": ["all"],
                          "RegionId": "cn-hangzhou"}}}

Image records use DescribeImages' wire names; only ImageId is required. Missing fields
default to: RegionId cn-hangzhou, ImageName = ImageId, Status Available, CreationTime
now (ISO-8601 UTC with a trailing Z), BootMode BIOS, LicenseType Auto, Architecture
x86_64, Description "Seeded demo image", NvmeSupport supported, ImdsSupport v1,
ImageOwnerAlias self. Usage and IsSelfShared are always derived from the instances and
shares. A share's accounts may be ids or {"AliyunId", "SharedTime"} objects; its
region defaults to the region of the image with that id.

Where the public documentation leaves a rule open, this server picks one: enum values
are case-sensitive; an empty optional parameter means "unchanged"; arm64 images accept
only UEFI; any BootMode parameter is refused while instances use the image; image
names are unique per region; the family quotas are constructor arguments;
DescribeImages keeps its default Status=Available filter even when ImageId is given.
Limitation: signatures are checked, but timestamps and nonces are not (no replay check).
"""

from __future__ import annotations

import logging
import threading
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from bot.sandbox.ecs_actions import Action, ImageActions
from bot.sandbox.ecs_cli import DEFAULT_PORT, serve
from bot.sandbox.ecs_errors import ApiError
from bot.sandbox.ecs_faults import (
    FAULT_KINDS,
    SLOW_DEFAULT_MS,
    Fault,
    fault_response,
    parse_fault,
    take_faults,
)
from bot.sandbox.ecs_http import (
    Request,
    Response,
    Server,
    error_response,
    json_response,
    new_request_id,
    outcome,
)
from bot.sandbox.ecs_rules import (
    boolean,
    description_is_valid,
    name_is_valid,
    required,
)
from bot.sandbox.ecs_seed import DEFAULT_REGION, demo_seed
from bot.sandbox.ecs_signing import (
    DEMO_ACCESS_KEY_ID,
    DEMO_ACCESS_KEY_SECRET,
    PROTOCOL_PARAMS,
    authenticate,
    keys_from_env,
)

__all__ = [
    "API_VERSION",
    "DEFAULT_PORT",
    "DEFAULT_REGION",
    "DEMO_ACCESS_KEY_ID",
    "DEMO_ACCESS_KEY_SECRET",
    "FAULT_KINDS",
    "SLOW_DEFAULT_MS",
    "ApiError",
    "Call",
    "EcsEmulator",
    "demo_seed",
    "description_is_valid",
    "keys_from_env",
    "name_is_valid",
    "parse_fault",
    "serve",
]

log = logging.getLogger(__name__)

API_VERSION = "2014-05-26"


@dataclass(frozen=True)
class Call:
    """One request the emulator answered (status 0 = connection dropped)."""

    action: str
    params: dict[str, str]
    dry_run: bool
    status: int
    code: str
    request_id: str = ""


class EcsEmulator(ImageActions):
    """The local ECS API: an in-memory image table behind a threaded HTTP server."""

    def __init__(
        self,
        *,
        seed: dict[str, Any] | None = None,
        access_keys: Mapping[str, str] | None = None,
        latency_ms: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        family_quota: int = 50,
        region_family_quota: int = 100,
    ) -> None:
        self.latency_ms = latency_ms
        self.calls: list[Call] = []
        self._host = host
        self._port = port
        self._keys = dict(
            access_keys
            if access_keys is not None
            else {DEMO_ACCESS_KEY_ID: DEMO_ACCESS_KEY_SECRET}
        )
        self._faults: list[Fault] = []
        self._stopping = threading.Event()
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        super().__init__(
            seed=seed,
            family_quota=family_quota,
            region_family_quota=region_family_quota,
        )

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> EcsEmulator:
        """Bind and serve in a background thread."""
        if self._server is not None:
            raise RuntimeError("the ECS emulator is already running")
        self._stopping.clear()
        self._server = Server((self._host, self._port), self._handle)
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"ecs-emulator-{self._port}",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake sleeping handlers and close every connection."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()
        server.shutdown()
        thread.join()
        server.close_connections()
        server.server_close()
        self._server = self._thread = None

    def __enter__(self) -> EcsEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def endpoint(self) -> str:
        return f"http://{self._host}:{self._port}"

    @property
    def netloc(self) -> str:
        """host:port, the form the SDK's Config(endpoint=...) expects."""
        return f"{self._host}:{self._port}"

    # -- faults and call log -----------------------------------------------------

    def inject(
        self,
        action: str,
        fault: str,
        *,
        times: int | None = None,
        latency_ms: float = 0.0,
        retry_after_ms: int | None = None,
    ) -> None:
        """Make calls to `action` ("*" = every action) fail or slow down."""
        if fault not in FAULT_KINDS:
            raise ValueError(f"unknown fault {fault!r}; choose from {FAULT_KINDS}")
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None for always)")
        if fault == "slow" and not latency_ms:
            latency_ms = SLOW_DEFAULT_MS
        with self._lock:
            self._faults.append(Fault(action, fault, times, latency_ms, retry_after_ms))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def count(
        self, action: str, *, dry_run: bool | None = None, status: int | None = None
    ) -> int:
        """How many calls of `action` were answered, by dry run and status if given."""
        with self._lock:
            return sum(
                1
                for call in self.calls
                if call.action == action
                and (dry_run is None or call.dry_run == dry_run)
                and (status is None or call.status == status)
            )

    # -- request handling ----------------------------------------------------------

    def _handle(self, request: Request) -> Response | None:
        """Answer one HTTP request; None means drop the connection."""
        request_id = new_request_id()
        params = dict(request.query)
        if request.header("content-type").startswith(
            "application/x-www-form-urlencoded"
        ):
            body = request.body.decode("utf-8", "replace")
            params.update(parse_qsl(body, keep_blank_values=True))
        action = request.header("x-acs-action") or params.get("Action", "")
        region = params.get("RegionId", "") or DEFAULT_REGION
        dry_run = params.get("DryRun", "").lower() == "true"
        response: Response | None
        try:
            handler = self._route(request, params, action)
            response = self._perform(request_id, action, params, handler)
        except ApiError as error:
            response = error_response(error, request_id, region)
        api_params = {k: v for k, v in params.items() if k not in PROTOCOL_PARAMS}
        self._record(Call(action, api_params, dry_run, *outcome(response), request_id))
        return response

    def _route(
        self, request: Request, params: Mapping[str, str], action: str
    ) -> Action:
        authenticate(request, params, self._keys)
        if not action:
            raise ApiError("MissingParameter", "Action")
        handler = self._actions.get(action)
        if handler is None:
            raise ApiError("InvalidAction.NotFound")
        version = request.header("x-acs-version") or params.get("Version", "")
        if not version:
            raise ApiError("MissingParameter", "Version")
        if version != API_VERSION:
            raise ApiError("InvalidVersion")
        return handler

    def _perform(
        self,
        request_id: str,
        action: str,
        params: Mapping[str, str],
        handler: Action,
    ) -> Response | None:
        dry_run_asked = params.get("DryRun", "").lower() == "true"
        with self._lock:
            delay_ms, fault = take_faults(
                self._faults, action, dry_run_asked, self.latency_ms
            )
        if delay_ms > 0 and self._stopping.wait(delay_ms / 1000):
            return None
        error_region = params.get("RegionId", "") or DEFAULT_REGION
        if fault is not None and not fault.kind.startswith("apply-then-"):
            return fault_response(fault, request_id, error_region)

        region = required(params, "RegionId")
        dry_run = boolean(params, "DryRun")
        body = handler(region, params, dry_run)
        if dry_run:
            raise ApiError("DryRunOperation")

        if fault is not None:
            return fault_response(fault, request_id, error_region)
        return json_response(200, {"RequestId": request_id, **body})

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)
        log.info(
            "ECS %s -> %s %s (request %s)",
            call.action or "-",
            call.status or "dropped",
            call.code or "OK",
            call.request_id,
        )
