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

import argparse
import base64
import contextlib
import copy
import hashlib
import hmac
import json
import logging
import re
import signal
import socket
import sys
import threading
import types
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

log = logging.getLogger(__name__)

API_VERSION = "2014-05-26"
DEFAULT_REGION = "cn-hangzhou"
DEMO_ACCESS_KEY_ID = "imagebot-demo"
DEMO_ACCESS_KEY_SECRET = "imagebot-demo-secret"
DEFAULT_PORT = 18080
SLOW_DEFAULT_MS = 12000.0  # above the SDK's default 10 s read timeout

FAULT_KINDS = (
    "latency",
    "slow",
    "throttle",
    "5xx",
    "500",
    "drop",
    "non-json",
    "apply-then-5xx",
    "apply-then-drop",
)

# Code -> (HTTP status, message). Messages follow the public error tables where
# they give one; %s slots take a parameter name.
_ERRORS: dict[str, tuple[int, str]] = {
    "MissingParameter": (
        400,
        'The input parameter "%s" that is mandatory for processing this request '
        "is not supplied.",
    ),
    "InvalidParameter": (400, "The specified parameter %s is not valid."),
    "InvalidAction.NotFound": (
        404,
        "Specified api is not found, please check your url and method.",
    ),
    "InvalidVersion": (400, "Specified parameter Version is not valid."),
    "IncompleteSignature": (
        400,
        "The request signature does not conform to Aliyun standards.",
    ),
    "SignatureDoesNotMatch": (
        400,
        "Specified signature is not matched with our calculation.",
    ),
    "InvalidAccessKeyId.NotFound": (404, "Specified access key is not found."),
    "DryRunOperation": (
        400,
        "Request validation has been passed with DryRun flag set.",
    ),
    "Throttling.User": (400, "Request was denied due to user flow control."),
    "ServiceUnavailable": (
        503,
        "The request has failed due to a temporary failure of the server.",
    ),
    "InternalError": (
        500,
        "The request processing has failed due to some unknown error, exception "
        "or failure.",
    ),
    "InvalidImageId.NotFound": (404, "The specified ImageId does not exist."),
    "InvalidImageName.Malformed": (
        400,
        "The specified Image name is wrongly formed. It must be 2 to 128 characters "
        "long, start with a letter or a Chinese character, not start with aliyun or "
        "acs:, not contain http:// or https://, and contain only letters, Chinese "
        "characters, digits, periods (.), colons (:), underscores (_) and hyphens (-).",
    ),
    "InvalidImageName.Duplicated": (
        400,
        "The specified Image name has already bean used.",
    ),
    "InvalidDescription.Malformed": (
        400,
        "The specified description is wrongly formed. It must be 2 to 256 characters "
        "long and must not start with http:// or https://.",
    ),
    "InvalidImageFamily.Malformed": (
        400,
        "The specified ImageFamily is wrongly formed; it follows the image name rule.",
    ),
    "ImageQuotaFull.ImageFamily": (
        400,
        "The number of images in the image family has reached the upper limit.",
    ),
    "ImageFamilyQuotaFull": (
        400,
        "The number of image families in the region has reached the upper limit.",
    ),
    "InvalidBootMode.NotSupport": (400, "The specified BootMode is not supported."),
    "InvalidLicenseType.NotSupported": (
        400,
        "The specified LicenseType is not supported; only BYOL is.",
    ),
    "InvalidParameter.FeaturesImdsSupport": (
        400,
        "The specified Features.ImdsSupport is not valid; use v1 or v2.",
    ),
    "ImageStatus.NotAvailable": (403, "The status of the image is not Available."),
    "ImageStatus.NotDeprecated": (403, "The status of the image is not Deprecated."),
    "ImageUseShared": (
        403,
        "The image is shared with other accounts; cancel the sharing first.",
    ),
    "OperationDeined.ImageUsingByInstance": (
        403,
        "The BootMode of the image cannot be changed while instances use it.",
    ),
    "InvalidOperation.FeaturesImdsSupportNotMatch": (
        403,
        "Features.ImdsSupport cannot be changed from v2 to v1.",
    ),
    "InvalidStatus.ImageIsCreating": (
        403,
        "The image is being created; try again after creation completes.",
    ),
}

_IMAGE_STATUSES = (
    "Creating",
    "Waiting",
    "Available",
    "UnAvailable",
    "CreateFailed",
    "Deprecated",
)
_OWNER_ALIASES = ("self", "system", "others", "marketplace")
_BOOT_MODES = ("BIOS", "UEFI", "UEFI-Preferred")
# The V1 signing parameters are protocol, not API input: calls record them out.
_PROTOCOL_PARAMS = frozenset(
    {
        "Action",
        "Version",
        "Format",
        "Timestamp",
        "SignatureNonce",
        "SignatureMethod",
        "SignatureVersion",
        "SignatureType",
        "AccessKeyId",
        "Signature",
        "SecurityToken",
    }
)

# The documented naming rule for ImageName and ImageFamily.
_NAME = re.compile(r"[a-zA-Z\u4e00-\u9fa5][a-zA-Z0-9\u4e00-\u9fa5.:_-]{1,127}")


def name_is_valid(value: str) -> bool:
    """Whether an ImageName or ImageFamily follows the documented rule."""
    if _NAME.fullmatch(value) is None:
        return False
    if value.startswith("aliyun") or value.startswith("acs:"):
        return False
    return "http://" not in value and "https://" not in value


def description_is_valid(value: str) -> bool:
    """Whether a Description follows the documented rule."""
    return 2 <= len(value) <= 256 and not value.startswith(("http://", "https://"))


def keys_from_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The access key pair from ALIBABA_CLOUD_ACCESS_KEY_*, else the demo pair."""
    key_id = environ.get("ALIBABA_CLOUD_ACCESS_KEY_ID", "").strip()
    secret = environ.get("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "").strip()
    if key_id and secret:
        return {key_id: secret}
    return {DEMO_ACCESS_KEY_ID: DEMO_ACCESS_KEY_SECRET}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _request_id() -> str:
    return str(uuid.uuid4()).upper()


@dataclass(frozen=True)
class Call:
    """One request the emulator answered (status 0 = connection dropped)."""

    action: str
    params: dict[str, str]
    dry_run: bool
    status: int
    code: str
    request_id: str = ""


class ApiError(Exception):
    """An error answer: HTTP status, Code and Message."""

    def __init__(
        self, code: str, detail: str = "", *, headers: dict[str, str] | None = None
    ) -> None:
        status, message = _ERRORS[code]
        if "%s" in message:
            message = message % detail
        elif detail:
            message = detail
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message
        self.headers = headers or {}


@dataclass
class _Fault:
    action: str
    kind: str
    times: int | None
    latency_ms: float
    retry_after_ms: int | None


@dataclass
class _Share:
    accounts: dict[str, str] = field(default_factory=dict)  # account id -> shared time
    groups: list[str] = field(default_factory=list)


@dataclass
class _Request:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, list[str]]  # lower-case names
    body: bytes

    def header(self, name: str) -> str:
        values = self.headers.get(name, [])
        return values[0] if values else ""


@dataclass
class _Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json;charset=utf-8"


def demo_seed() -> dict[str, Any]:
    """The demo images, instances and shares (all in cn-hangzhou)."""

    def image(image_id: str, name: str, created: str, **extra: Any) -> dict[str, Any]:
        return {
            "ImageId": image_id,
            "ImageName": name,
            "CreationTime": f"{created}T08:00:00Z",
            "RegionId": DEFAULT_REGION,
            **extra,
        }

    return {
        "images": [
            image("m-webold01", "web-2026-01", "2026-01-10", ImageFamily="web-base"),
            image(
                "m-webdep01",
                "web-2026-02",
                "2026-02-10",
                ImageFamily="web-base",
                Status="Deprecated",
            ),
            image("m-webnew01", "web-2026-03", "2026-03-10", ImageFamily="web-base"),
            image("m-dbonly01", "db-2026-03", "2026-03-05", ImageFamily="db-base"),
            image(
                "m-shared01", "shared-2026-03", "2026-03-01", ImageFamily="shared-base"
            ),
            image(
                "m-inuse01",
                "app-2026-02",
                "2026-02-20",
                ImageFamily="app-base",
                BootMode="BIOS",
            ),
            image(
                "m-creating1",
                "build-in-progress",
                "2026-03-20",
                Status="Creating",
                Progress="45%",
            ),
            image(
                "m-imdsv201",
                "hardened-2026",
                "2026-03-12",
                Features={"NvmeSupport": "supported", "ImdsSupport": "v2"},
            ),
            image(
                "m-plain0001",
                "plain-image",
                "2025-12-01",
                BootMode="BIOS",
                Features={"NvmeSupport": "unsupported", "ImdsSupport": "v1"},
            ),
        ],
        "instances": [
            {
                "InstanceId": f"i-inuse000{n}",
                "ImageId": "m-inuse01",
                "RegionId": DEFAULT_REGION,
                "Status": "Running",
            }
            for n in (1, 2, 3)
        ],
        "shares": {
            "m-shared01": {
                "accounts": [
                    {
                        "AliyunId": "1234567890123456",
                        "SharedTime": "2026-03-02T08:00:00Z",
                    }
                ],
                "groups": [],
            }
        },
    }


def _image_record(raw: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    if not raw.get("ImageId"):
        raise ValueError(f"a seeded image has no ImageId: {dict(raw)!r}")
    record: dict[str, Any] = {
        "ImageName": raw["ImageId"],
        "ImageFamily": "",
        "ImageVersion": "",
        "Description": "Seeded demo image",
        "Status": "Available",
        "CreationTime": _now(),
        "BootMode": "BIOS",
        "LicenseType": "Auto",
        "Architecture": "x86_64",
        "OSName": "Alibaba Cloud Linux 3.2104 LTS 64 bit",
        "OSNameEn": "Alibaba Cloud Linux 3.2104 LTS 64 bit",
        "OSType": "linux",
        "Platform": "Aliyun",
        "ImageOwnerAlias": "self",
        "Progress": "100%",
        "Size": 40,
        "IsPublic": False,
        "IsCopied": False,
        "IsSubscribed": False,
        "IsSupportCloudinit": True,
        "IsSupportIoOptimized": True,
    }
    record.update(
        {k: copy.deepcopy(v) for k, v in raw.items() if k not in ("RegionId", "Usage")}
    )
    features = {"NvmeSupport": "supported", "ImdsSupport": "v1"}
    features.update(raw.get("Features") or {})
    record["Features"] = features
    record.pop("IsSelfShared", None)
    return str(raw.get("RegionId") or DEFAULT_REGION), record


class EcsEmulator:
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
        self.family_quota = family_quota
        self.region_family_quota = region_family_quota
        self.calls: list[Call] = []
        self._host = host
        self._port = port
        self._keys = dict(
            access_keys
            if access_keys is not None
            else {DEMO_ACCESS_KEY_ID: DEMO_ACCESS_KEY_SECRET}
        )
        self._lock = threading.RLock()
        self._images: dict[tuple[str, str], dict[str, Any]] = {}
        self._instances: dict[tuple[str, str], dict[str, str]] = {}
        self._shares: dict[tuple[str, str], _Share] = {}
        self._faults: list[_Fault] = []
        self._instance_counter = 0
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._actions: dict[str, Callable[[str, Mapping[str, str], bool], Any]] = {
            "DescribeImages": self._describe_images,
            "DescribeImageFromFamily": self._describe_image_from_family,
            "DescribeImageSharePermission": self._describe_image_share_permission,
            "DescribeInstances": self._describe_instances,
            "ModifyImageAttribute": self._modify_image_attribute,
        }
        self._load(demo_seed() if seed is None else seed)

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> EcsEmulator:
        """Bind and serve in a background thread."""
        if self._server is not None:
            raise RuntimeError("the ECS emulator is already running")
        self._stopping.clear()
        self._server = _Server((self._host, self._port), self)
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
            self._faults.append(
                _Fault(action, fault, times, latency_ms, retry_after_ms)
            )

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

    # -- state, out of band ------------------------------------------------------

    def image(self, image_id: str, region: str = DEFAULT_REGION) -> dict[str, Any]:
        """The image as DescribeImages shows it, plus RegionId (a copy)."""
        with self._lock:
            record = self._images.get((region, image_id))
            if record is None:
                raise KeyError(f"no image {image_id} in {region}")
            return {**self._wire_image(region, record), "RegionId": region}

    def add_image(self, record: dict[str, Any]) -> None:
        """Add or replace an image (wire-style fields plus RegionId)."""
        region, image = _image_record(record)
        with self._lock:
            self._images[(region, image["ImageId"])] = image

    def set_image(
        self, image_id: str, region: str = DEFAULT_REGION, **wire_fields: Any
    ) -> None:
        """Change an image behind the API's back (Features merges)."""
        with self._lock:
            record = self._images[(region, image_id)]
            for name, value in wire_fields.items():
                if name == "Features":
                    record["Features"].update(value)
                else:
                    record[name] = copy.deepcopy(value)

    def add_instances(
        self,
        image_id: str,
        count: int,
        region: str = DEFAULT_REGION,
        status: str = "Running",
    ) -> list[str]:
        """Launch `count` instances from the image; returns their ids."""
        ids = []
        with self._lock:
            for _ in range(count):
                self._instance_counter += 1
                instance_id = f"i-emu{self._instance_counter:010d}"
                self._add_instance(instance_id, image_id, region, status)
                ids.append(instance_id)
        return ids

    def share(
        self, image_id: str, accounts: list[str], region: str = DEFAULT_REGION
    ) -> None:
        """Share the image with other accounts."""
        with self._lock:
            share = self._shares.setdefault((region, image_id), _Share())
            for account in accounts:
                share.accounts.setdefault(account, _now())

    def unshare(
        self,
        image_id: str,
        accounts: list[str] | None = None,
        region: str = DEFAULT_REGION,
    ) -> None:
        """Stop sharing with the accounts (None = with everyone, groups included)."""
        with self._lock:
            share = self._shares.get((region, image_id))
            if share is None:
                return
            if accounts is None:
                del self._shares[(region, image_id)]
                return
            for account in accounts:
                share.accounts.pop(account, None)

    def _load(self, seed: Mapping[str, Any]) -> None:
        for raw in seed.get("images", []):
            self.add_image(raw)
        for raw in seed.get("instances", []):
            self._add_instance(
                str(raw["InstanceId"]),
                str(raw["ImageId"]),
                str(raw.get("RegionId") or DEFAULT_REGION),
                str(raw.get("Status") or "Running"),
            )
        for image_id, raw in (seed.get("shares") or {}).items():
            region = raw.get("RegionId") or self._region_of(image_id)
            share = self._shares.setdefault((region, image_id), _Share())
            for account in raw.get("accounts", []):
                if isinstance(account, Mapping):
                    shared_at = str(account.get("SharedTime") or _now())
                    share.accounts[str(account["AliyunId"])] = shared_at
                else:
                    share.accounts[str(account)] = _now()
            share.groups.extend(str(group) for group in raw.get("groups", []))

    def _add_instance(
        self, instance_id: str, image_id: str, region: str, status: str
    ) -> None:
        self._instances[(region, instance_id)] = {
            "InstanceId": instance_id,
            "InstanceName": instance_id,
            "ImageId": image_id,
            "RegionId": region,
            "Status": status,
        }

    def _region_of(self, image_id: str) -> str:
        for region, known in self._images:
            if known == image_id:
                return region
        return DEFAULT_REGION

    # -- request handling ----------------------------------------------------------

    def _handle(self, request: _Request) -> _Response | None:
        """Answer one HTTP request; None means drop the connection."""
        request_id = _request_id()
        params = dict(request.query)
        if request.header("content-type").startswith(
            "application/x-www-form-urlencoded"
        ):
            body = request.body.decode("utf-8", "replace")
            params.update(parse_qsl(body, keep_blank_values=True))
        action = request.header("x-acs-action") or params.get("Action", "")
        region = params.get("RegionId", "") or DEFAULT_REGION
        dry_run = params.get("DryRun", "").lower() == "true"
        response: _Response | None
        try:
            handler = self._route(request, params, action)
            response = self._perform(request_id, action, params, handler)
        except ApiError as error:
            response = self._error(error, request_id, region)
        api_params = {k: v for k, v in params.items() if k not in _PROTOCOL_PARAMS}
        self._record(Call(action, api_params, dry_run, *_outcome(response), request_id))
        return response

    def _route(
        self, request: _Request, params: Mapping[str, str], action: str
    ) -> Callable[[str, Mapping[str, str], bool], Any]:
        self._authenticate(request, params)
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
        handler: Callable[[str, Mapping[str, str], bool], Any],
    ) -> _Response | None:
        dry_run_asked = params.get("DryRun", "").lower() == "true"
        delay_ms, fault = self._take_faults(action, dry_run_asked)
        if delay_ms > 0 and self._stopping.wait(delay_ms / 1000):
            return None
        if fault is not None and not fault.kind.startswith("apply-then-"):
            return self._fault_response(fault, request_id, params)

        region = _required(params, "RegionId")
        dry_run = _boolean(params, "DryRun")
        body = handler(region, params, dry_run)
        if dry_run:
            raise ApiError("DryRunOperation")

        if fault is not None:
            return self._fault_response(fault, request_id, params)
        return _json_response(200, {"RequestId": request_id, **body})

    def _take_faults(self, action: str, dry_run: bool) -> tuple[float, _Fault | None]:
        """Total latency to add, and the fault (if any) that decides the answer."""
        delay = self.latency_ms
        decisive: _Fault | None = None
        with self._lock:
            for fault in list(self._faults):
                if fault.action not in ("*", action):
                    continue
                if dry_run and fault.kind.startswith("apply-then-"):
                    continue  # a dry run applies nothing, so leave it for the write
                is_delay = fault.kind in ("latency", "slow")
                if not is_delay and decisive is not None:
                    continue
                if is_delay:
                    delay += fault.latency_ms
                else:
                    decisive = fault
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
        return delay, decisive

    def _fault_response(
        self, fault: _Fault, request_id: str, params: Mapping[str, str]
    ) -> _Response | None:
        region = params.get("RegionId", "") or DEFAULT_REGION
        if fault.kind in ("drop", "apply-then-drop"):
            return None
        if fault.kind == "non-json":
            return _Response(
                502, b"<html><body>502 Bad Gateway</body></html>", {}, "text/html"
            )
        if fault.kind == "throttle":
            headers = {}
            if fault.retry_after_ms is not None:
                headers["x-acs-retry-after"] = str(fault.retry_after_ms)
            error = ApiError("Throttling.User", headers=headers)
        elif fault.kind == "500":
            error = ApiError("InternalError")
        else:
            error = ApiError("ServiceUnavailable")
        return self._error(error, request_id, region)

    def _error(self, error: ApiError, request_id: str, region: str) -> _Response:
        body = {
            "RequestId": request_id,
            "HostId": f"ecs.{region}.aliyuncs.com",
            "Code": error.code,
            "Message": error.message,
            "Recommend": (
                f"https://api.aliyun.com/troubleshoot?q={error.code}"
                f"&product=Ecs&requestId={request_id}"
            ),
        }
        response = _json_response(error.status, body)
        response.headers.update(error.headers)
        return response

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

    # -- signatures ----------------------------------------------------------------

    def _authenticate(self, request: _Request, params: Mapping[str, str]) -> None:
        authorization = request.header("authorization")
        if authorization:
            self._verify_v3(request, authorization)
        elif "AccessKeyId" in params or "Signature" in params:
            self._verify_v1(request, params)
        else:
            raise ApiError("MissingParameter", "AccessKeyId")

    def _secret(self, key_id: str) -> str:
        secret = self._keys.get(key_id)
        if secret is None:
            raise ApiError("InvalidAccessKeyId.NotFound")
        return secret

    def _verify_v3(self, request: _Request, authorization: str) -> None:
        algorithm, _, rest = authorization.partition(" ")
        if algorithm != "ACS3-HMAC-SHA256":
            raise ApiError("IncompleteSignature", f"Unsupported algorithm {algorithm}.")
        parts: dict[str, str] = {}
        for part in rest.split(","):
            name, _, value = part.strip().partition("=")
            parts[name] = value
        key_id = parts.get("Credential", "")
        signed = parts.get("SignedHeaders", "")
        signature = parts.get("Signature", "")
        if not (key_id and signed and signature):
            raise ApiError("IncompleteSignature")
        secret = self._secret(key_id)

        names = signed.split(";")
        if any(name.lower() not in request.headers for name in names):
            raise ApiError("IncompleteSignature", "A signed header is missing.")
        body_hash = hashlib.sha256(request.body).hexdigest()
        payload_hash = request.header("x-acs-content-sha256") or body_hash
        if payload_hash != body_hash:
            raise ApiError(
                "SignatureDoesNotMatch", "x-acs-content-sha256 does not match the body."
            )

        canonical = "\n".join(
            [
                request.method,
                unquote(urlsplit(request.path).path) or "/",
                "&".join(f"{k}={quote(v, safe='~')}" for k, v in sorted(request.query)),
                "".join(_canonical_header(request, name) for name in names),
                signed,
                payload_hash,
            ]
        )
        digest = hashlib.sha256(canonical.encode()).hexdigest()
        expected = hmac.new(
            secret.encode(), f"{algorithm}\n{digest}".encode(), hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise ApiError("SignatureDoesNotMatch")

    def _verify_v1(self, request: _Request, params: Mapping[str, str]) -> None:
        key_id = params.get("AccessKeyId", "")
        signature = params.get("Signature", "")
        for name, value in (("AccessKeyId", key_id), ("Signature", signature)):
            if not value:
                raise ApiError("MissingParameter", name)
        method = params.get("SignatureMethod", "")
        if method != "HMAC-SHA1":
            raise ApiError(
                "IncompleteSignature", f"Unsupported SignatureMethod {method!r}."
            )
        secret = self._secret(key_id)
        joined = "&".join(
            f"{_quote(k)}={_quote(v)}"
            for k, v in sorted(params.items())
            if k != "Signature"
        )
        to_sign = f"{request.method}&%2F&{_quote(joined)}"
        mac = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1)
        expected = base64.b64encode(mac.digest()).decode()
        if not hmac.compare_digest(expected, signature):
            raise ApiError("SignatureDoesNotMatch")

    # -- read actions ----------------------------------------------------------------

    def _describe_images(
        self, region: str, params: Mapping[str, str], dry_run: bool
    ) -> dict[str, Any]:
        statuses = _status_filter(params.get("Status", ""))
        owners = _owner_filter(params.get("ImageOwnerAlias", ""))
        ids = _list(params.get("ImageId", ""))
        family = params.get("ImageFamily", "")
        name = params.get("ImageName", "").lower()
        exact = {
            key: params[key]
            for key in ("Usage", "Architecture", "OSType")
            if params.get(key)
        }
        page, size = _paging(params)
        with self._lock:
            images = [
                self._wire_image(region, record)
                for (image_region, _), record in self._images.items()
                if image_region == region
            ]
        chosen = [
            image
            for image in images
            if image["Status"] in statuses
            and image["ImageOwnerAlias"] in owners
            and (not ids or image["ImageId"] in ids)
            and (not family or image["ImageFamily"] == family)
            and name in image["ImageName"].lower()
            and all(image.get(key) == value for key, value in exact.items())
        ]
        chosen.sort(key=lambda image: image["CreationTime"], reverse=True)
        return {
            "RegionId": region,
            "TotalCount": len(chosen),
            "PageNumber": page,
            "PageSize": size,
            "Images": {"Image": chosen[(page - 1) * size : page * size]},
        }

    def _describe_image_from_family(
        self, region: str, params: Mapping[str, str], dry_run: bool
    ) -> dict[str, Any]:
        family = _required(params, "ImageFamily")
        with self._lock:
            candidates = [
                self._wire_image(region, record)
                for (image_region, _), record in self._images.items()
                if image_region == region
                and record["ImageFamily"] == family
                and record["Status"] == "Available"
            ]
        newest = max(candidates, key=lambda image: image["CreationTime"], default={})
        return {"Image": newest}

    def _describe_image_share_permission(
        self, region: str, params: Mapping[str, str], dry_run: bool
    ) -> dict[str, Any]:
        image_id = _required(params, "ImageId")
        page, size = _paging(params)
        with self._lock:
            self._own_image(region, image_id)
            share = self._shares.get((region, image_id), _Share())
            accounts = [
                {"AliyunId": account, "SharedTime": shared_at}
                for account, shared_at in share.accounts.items()
            ]
            groups = [{"Group": group} for group in share.groups]
        return {
            "ImageId": image_id,
            "RegionId": region,
            "TotalCount": len(accounts),
            "PageNumber": page,
            "PageSize": size,
            "Accounts": {"Account": accounts[(page - 1) * size : page * size]},
            "ShareGroups": {"ShareGroup": groups},
        }

    def _describe_instances(
        self, region: str, params: Mapping[str, str], dry_run: bool
    ) -> dict[str, Any]:
        limit = _integer(params, "MaxResults", 10, high=100)
        token = params.get("NextToken", "")
        start = _token_offset(token) if token else 0
        wanted_ids = _instance_ids(params.get("InstanceIds", ""))
        filters = {k: params[k] for k in ("ImageId", "Status") if params.get(k)}
        with self._lock:
            chosen = [
                dict(instance)
                for (instance_region, instance_id), instance in self._instances.items()
                if instance_region == region
                and (wanted_ids is None or instance_id in wanted_ids)
                and all(instance[key] == value for key, value in filters.items())
            ]
        end = start + limit
        return {
            "TotalCount": len(chosen),
            "NextToken": _token(end) if end < len(chosen) else "",
            "MaxResults": limit,
            "Instances": {"Instance": chosen[start:end]},
        }

    # -- ModifyImageAttribute ----------------------------------------------------------

    def _modify_image_attribute(
        self, region: str, params: Mapping[str, str], dry_run: bool
    ) -> dict[str, Any]:
        image_id = _required(params, "ImageId")
        change = _checked_change(params)
        with self._lock:
            record = self._own_image(region, image_id)
            self._check_state(region, record, change)
            if dry_run:
                return {}
            for name, value in change.items():
                if name.startswith("Features."):
                    record["Features"][name.removeprefix("Features.")] = value
                else:
                    record[name] = value
        return {}

    def _check_state(
        self, region: str, record: dict[str, Any], change: Mapping[str, str]
    ) -> None:
        """The rules that depend on the image and its region; caller holds the lock."""
        if record["Status"] in ("Creating", "Waiting"):
            raise ApiError("InvalidStatus.ImageIsCreating")
        image_id = record["ImageId"]

        target = change.get("Status")
        if target == "Deprecated":
            if record["Status"] != "Available":
                raise ApiError("ImageStatus.NotAvailable")
            share = self._shares.get((region, image_id))
            if share is not None and (share.accounts or share.groups):
                raise ApiError("ImageUseShared")
        elif target == "Available" and record["Status"] != "Deprecated":
            raise ApiError("ImageStatus.NotDeprecated")

        if "BootMode" in change:
            if record["Architecture"] == "arm64" and change["BootMode"] != "UEFI":
                raise ApiError(
                    "InvalidBootMode.NotSupport",
                    "The specified BootMode is not supported for the image's "
                    "architecture (arm64 images boot with UEFI only).",
                )
            if self._instance_count(region, image_id):
                raise ApiError("OperationDeined.ImageUsingByInstance")

        if (
            change.get("Features.ImdsSupport") == "v1"
            and record["Features"].get("ImdsSupport") == "v2"
        ):
            raise ApiError("InvalidOperation.FeaturesImdsSupportNotMatch")

        name = change.get("ImageName")
        if name is not None and any(
            other_region == region
            and other_id != image_id
            and other["ImageName"] == name
            for (other_region, other_id), other in self._images.items()
        ):
            raise ApiError("InvalidImageName.Duplicated")

        family = change.get("ImageFamily")
        if family is not None and family != record["ImageFamily"]:
            self._check_family_quota(region, family)

    def _check_family_quota(self, region: str, family: str) -> None:
        families: dict[str, int] = {}
        for (image_region, _), record in self._images.items():
            if image_region == region and record["ImageFamily"]:
                families[record["ImageFamily"]] = (
                    families.get(record["ImageFamily"], 0) + 1
                )
        if family in families:
            if families[family] >= self.family_quota:
                raise ApiError("ImageQuotaFull.ImageFamily")
        elif len(families) >= self.region_family_quota:
            raise ApiError("ImageFamilyQuotaFull")

    # -- helpers over the table (caller holds the lock) ---------------------------

    def _own_image(self, region: str, image_id: str) -> dict[str, Any]:
        record = self._images.get((region, image_id))
        if record is None or record["ImageOwnerAlias"] != "self":
            raise ApiError("InvalidImageId.NotFound")
        return record

    def _instance_count(self, region: str, image_id: str) -> int:
        return sum(
            1
            for (instance_region, _), instance in self._instances.items()
            if instance_region == region and instance["ImageId"] == image_id
        )

    def _wire_image(self, region: str, record: Mapping[str, Any]) -> dict[str, Any]:
        share = self._shares.get((region, record["ImageId"]))
        shared = share is not None and bool(share.accounts or share.groups)
        image = copy.deepcopy(dict(record))
        image["Usage"] = (
            "instance" if self._instance_count(region, record["ImageId"]) else "none"
        )
        image["IsSelfShared"] = "True" if shared else "False"
        return image


def _checked_change(params: Mapping[str, str]) -> dict[str, str]:
    """The requested change, after the checks that need no image (format, enums)."""
    change = {
        name: params[name]
        for name in (
            "ImageName",
            "Description",
            "Status",
            "ImageFamily",
            "BootMode",
            "LicenseType",
            "Features.NvmeSupport",
            "Features.ImdsSupport",
        )
        if params.get(name)
    }
    checks: list[tuple[str, Callable[[str], bool], str]] = [
        ("ImageName", name_is_valid, "InvalidImageName.Malformed"),
        ("Description", description_is_valid, "InvalidDescription.Malformed"),
        ("ImageFamily", name_is_valid, "InvalidImageFamily.Malformed"),
        ("Status", ("Available", "Deprecated").__contains__, "InvalidParameter"),
        ("BootMode", _BOOT_MODES.__contains__, "InvalidBootMode.NotSupport"),
        ("LicenseType", "BYOL".__eq__, "InvalidLicenseType.NotSupported"),
        (
            "Features.NvmeSupport",
            ("supported", "unsupported").__contains__,
            "InvalidParameter",
        ),
        (
            "Features.ImdsSupport",
            ("v1", "v2").__contains__,
            "InvalidParameter.FeaturesImdsSupport",
        ),
    ]
    for name, valid, code in checks:
        if name in change and not valid(change[name]):
            raise ApiError(code, name if code == "InvalidParameter" else "")
    return change


def _canonical_header(request: _Request, name: str) -> str:
    values = sorted(value.strip() for value in request.headers[name.lower()])
    return f"{name}:{','.join(values)}\n"


def _quote(value: str) -> str:
    return quote(value, safe="~")


def _outcome(response: _Response | None) -> tuple[int, str]:
    if response is None:
        return 0, ""
    if response.status == 200:
        return 200, ""
    try:
        return response.status, str(json.loads(response.body).get("Code", ""))
    except ValueError:
        return response.status, ""


def _json_response(status: int, body: Mapping[str, Any]) -> _Response:
    return _Response(status, json.dumps(body, ensure_ascii=False).encode("utf-8"))


def _required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name, "")
    if not value:
        raise ApiError("MissingParameter", name)
    return value


def _boolean(params: Mapping[str, str], name: str) -> bool:
    value = params.get(name, "").lower()
    if value in ("", "false"):
        return False
    if value == "true":
        return True
    raise ApiError("InvalidParameter", name)


def _integer(params: Mapping[str, str], name: str, default: int, *, high: int) -> int:
    raw = params.get(name, "")
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError("InvalidParameter", name) from None
    if not 1 <= value <= high:
        raise ApiError("InvalidParameter", name)
    return value


def _paging(params: Mapping[str, str]) -> tuple[int, int]:
    page = _integer(params, "PageNumber", 1, high=sys.maxsize)
    return page, _integer(params, "PageSize", 10, high=100)


def _list(raw: str) -> set[str]:
    return {item.strip() for item in raw.split(",") if item.strip()}


def _status_filter(raw: str) -> set[str]:
    wanted = _list(raw) or {"Available"}
    if "ALL" in wanted:
        if len(wanted) > 1:
            raise ApiError("InvalidParameter", "Status (ALL cannot be combined)")
        return set(_IMAGE_STATUSES)
    if not wanted <= set(_IMAGE_STATUSES):
        raise ApiError("InvalidParameter", "Status")
    return wanted


def _owner_filter(raw: str) -> set[str]:
    if not raw:
        return {"system", "self", "others"}
    if raw not in _OWNER_ALIASES:
        raise ApiError("InvalidParameter", "ImageOwnerAlias")
    return {raw}


def _instance_ids(raw: str) -> set[str] | None:
    if not raw:
        return None
    try:
        ids = json.loads(raw)
    except ValueError:
        raise ApiError("InvalidParameter", "InstanceIds") from None
    if not isinstance(ids, list):
        raise ApiError("InvalidParameter", "InstanceIds")
    return {str(item) for item in ids}


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _token_offset(token: str) -> int:
    try:
        kind, _, number = base64.urlsafe_b64decode(token).decode().partition(":")
        if kind == "offset" and number.isdigit():
            return int(number)
    except ValueError:
        pass
    raise ApiError("InvalidParameter", "NextToken")


# -- HTTP plumbing ----------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], emulator: EcsEmulator) -> None:
        self.emulator = emulator
        self._open: dict[socket.socket, threading.Thread] = {}
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def opened(self, connection: socket.socket) -> None:
        with self._open_lock:
            self._open[connection] = threading.current_thread()

    def closed(self, connection: socket.socket) -> None:
        with self._open_lock:
            self._open.pop(connection, None)

    def close_connections(self) -> None:
        """Shut idle keep-alive connections so their threads end, then join them."""
        with self._open_lock:
            open_now = list(self._open.items())
        for connection, _ in open_now:
            with contextlib.suppress(OSError):  # the client closed it already
                connection.shutdown(socket.SHUT_RDWR)
        for _, thread in open_now:
            thread.join(timeout=5)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, OSError):
            log.debug("ECS emulator: client %s went away: %s", client_address, error)
        else:
            log.exception("ECS emulator: request from %s failed", client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "imagebot-ecs-emulator"
    sys_version = ""
    timeout = 30  # idle keep-alive connections close after this many seconds
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.closed(self.connection)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one INFO line per call comes from EcsEmulator._record

    def send_error(
        self, code: int, message: str | None = None, explain: str | None = None
    ) -> None:
        # The SDK cannot parse an HTML error page, so even protocol errors are JSON.
        body = json.dumps(
            {
                "RequestId": _request_id(),
                "Code": "InvalidRequest",
                "Message": message or explain or f"HTTP {code}",
            }
        ).encode()
        self.close_connection = True
        self.send_response(code, message)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _serve(self) -> None:
        headers: dict[str, list[str]] = {}
        for name, value in self.headers.items():
            headers.setdefault(name.lower(), []).append(value)
        request = _Request(
            method=self.command,
            path=self.path,
            query=parse_qsl(urlsplit(self.path).query, keep_blank_values=True),
            headers=headers,
            body=self._read_body(),
        )
        response = self.server.emulator._handle(request)
        if response is None:
            self.close_connection = True
            return
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.body)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""


# -- command line -----------------------------------------------------------------

_HELP = f"""\
Seeding:
  Without --seed the emulator serves the demo images in cn-hangzhou: m-webold01,
  m-webdep01 (Deprecated) and m-webnew01 in family web-base; m-dbonly01, the only
  image of db-base; m-shared01 (shared with 1234567890123456); m-inuse01 (three
  Running instances); m-creating1 (Creating); m-imdsv201 (ImdsSupport v2);
  m-plain0001. --seed FILE replaces them with a JSON file:
    {{"images": [{{"ImageId": "m-1", "RegionId": "cn-hangzhou", "ImageName": "web-1",
                 "ImageFamily": "web", "Status": "Available",
                 "CreationTime": "2026-01-10T08:00:00Z"}}],
     "instances": [{{"InstanceId": "i-1", "ImageId": "m-1",
                    "RegionId": "cn-hangzhou", "Status": "Running"}}],
     "shares": {{"m-1": {{"accounts": ["1234567890123456"], "groups": []}}}}}}
  Image fields use DescribeImages' names; only ImageId is required.

Latency and faults:
  --latency-ms N delays every call by N milliseconds.
  --fail ACTION:FAULT[:TIMES] makes ACTION ("*" = every action) fail, TIMES times
  (default: always). FAULT is one of:
    throttle[=MS]   400 Throttling.User (=MS adds x-acs-retry-after: MS)
    5xx / 500       503 ServiceUnavailable / 500 InternalError, nothing applied
    drop            close the connection without an answer
    latency=MS      answer normally after MS milliseconds
    slow[=MS]       like latency, default {SLOW_DEFAULT_MS:.0f} ms (past SDK timeouts)
    non-json        502 with an HTML body
    apply-then-5xx, apply-then-drop
                    apply the change, then answer 503 or drop: an unknown outcome
                    (dry runs pass these by; they wait for a real write)
  Example: --fail ModifyImageAttribute:apply-then-5xx:1 --fail '*:latency=200'

Access keys:
  Requests must be signed (ACS3-HMAC-SHA256 or V1 HMAC-SHA1). The emulator accepts
  ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET when both are set,
  else the public demo pair {DEMO_ACCESS_KEY_ID} / {DEMO_ACCESS_KEY_SECRET}.
  Point the bot at it with IMAGEBOT_ECS_ENDPOINT=http://127.0.0.1:PORT.
"""


def parse_fault(spec: str) -> tuple[str, str, dict[str, Any]]:
    """ACTION:FAULT[=N][:TIMES] -> (action, fault, keyword arguments of inject)."""
    parts = spec.split(":")
    if len(parts) not in (2, 3) or not parts[0]:
        raise ValueError(f"--fail wants ACTION:FAULT[:TIMES], got {spec!r}")
    action, fault_spec = parts[0], parts[1]
    fault, _, number = fault_spec.partition("=")
    if fault not in FAULT_KINDS:
        raise ValueError(f"unknown fault {fault!r} in {spec!r}; see --help")
    options: dict[str, Any] = {}
    try:
        if len(parts) == 3:
            options["times"] = int(parts[2])
        if number and fault == "throttle":
            options["retry_after_ms"] = int(number)
        elif number and fault in ("latency", "slow"):
            options["latency_ms"] = float(number)
        elif number:
            raise ValueError(f"fault {fault!r} takes no =N in {spec!r}")
    except ValueError as error:
        raise ValueError(f"--fail {spec!r}: {error}") from None
    if fault == "latency" and "latency_ms" not in options:
        raise ValueError(f"--fail {spec!r}: latency needs =MS, e.g. latency=200")
    return action, fault, options


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imagebot emulator",
        description="Serve a local ECS API with seeded demo images on 127.0.0.1.",
        epilog=_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}"
    )
    parser.add_argument("--seed", metavar="FILE", help="JSON seed replacing the demo")
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, metavar="N", help="delay every call"
    )
    parser.add_argument(
        "--fail",
        action="append",
        default=[],
        metavar="ACTION:FAULT[:TIMES]",
        help="inject a fault (repeatable; see below)",
    )
    return parser


def _read_seed(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        seed = json.load(handle)
    if not isinstance(seed, dict):
        raise ValueError("the seed must be a JSON object with images/instances/shares")
    return seed


def serve(argv: list[str] | None = None) -> int:
    """`imagebot emulator`: serve until SIGINT or SIGTERM; returns the exit status."""
    from bot.config import environ

    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        seed = _read_seed(args.seed) if args.seed else None
        faults = [parse_fault(spec) for spec in args.fail]
        keys = keys_from_env(environ())
        emulator = EcsEmulator(
            seed=seed,
            access_keys=keys,
            latency_ms=args.latency_ms,
            host=args.host,
            port=args.port,
        )
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(
            f"imagebot emulator: cannot load the seed or faults: {error}",
            file=sys.stderr,
        )
        return 2
    for action, fault, options in faults:
        emulator.inject(action, fault, **options)

    try:
        emulator.start()
    except OSError as error:
        print(
            f"imagebot emulator: cannot listen on {args.host}:{args.port} ({error}); "
            "pick another --port.",
            file=sys.stderr,
        )
        return 1
    stop = threading.Event()
    previous = {
        signum: signal.signal(signum, lambda *_: stop.set())
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    key_id = next(iter(keys))
    shown = (
        f", secret {DEMO_ACCESS_KEY_SECRET}"
        if keys[key_id] == DEMO_ACCESS_KEY_SECRET
        else ""
    )
    print(
        f"ECS emulator on {emulator.endpoint} (access key {key_id}{shown}); "
        "Ctrl-C stops it.",
        flush=True,
    )
    try:
        while not stop.wait(0.5):
            pass
    finally:
        emulator.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0
