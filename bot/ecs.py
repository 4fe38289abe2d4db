"""EcsGateway: the bot's one door to the ECS API (reads, dry run and the write).

The Alibaba SDK is imported on first use, so importing this module stays cheap, and
no SDK type leaves it: callers get bot.model types, EcsError, or plain strings.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from bot import attributes
from bot.model import DryRun, ImageSnapshot, Outcome, WriteResult

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")

# Codes the gateway gives failures that never got an ECS answer.
TIMEOUT = "Transport.Timeout"
CONNECTION_LOST = "Transport.ConnectionLost"
UNREACHABLE = "Transport.Unreachable"
BAD_RESPONSE = "Transport.BadResponse"
# The endpoint answered a dry run with success, as if it had run the change.
DRY_RUN_IGNORED = "DryRunIgnored"

_SERVER_TROUBLE = frozenset({"InternalError", "ServiceUnavailable", "UnknownError"})
# Markers of urllib3 errors raised before a single byte of the request was sent.
_UNSENT_MARKERS = (
    "NewConnectionError",
    "ConnectTimeoutError",
    "NameResolutionError",
    "Failed to establish a new connection",
)
_PAGE_SIZE = 100
_ERROR_CENTRE = "https://api.alibabacloud.com/document/Ecs/2014-05-26/errorCode"


class EcsError(Exception):
    """A read or a dry run that ECS (or the way to it) did not answer usefully."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        http_status: int = 0,
        request_id: str = "",
        transient: bool = False,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status
        self.request_id = request_id
        self.transient = transient


# What happened and what to do next, per error code; {image} and {region} are
# filled in by explain().
_EXPLANATIONS: dict[str, str] = {
    "InvalidImageName.Malformed": (
        "ECS refused the new name of {image}: a name has 2 to 128 characters, starts "
        "with a letter or a Chinese character, does not start with `aliyun` or `acs:`, "
        "contains no `http://` or `https://`, and uses only letters, Chinese "
        "characters, digits and . : _ -. Choose another name and try again."
    ),
    "InvalidImageName.Duplicated": (
        "Another image in {region} already has that name. Choose a different name "
        "for {image} and try again."
    ),
    "InvalidDescription.Malformed": (
        "ECS refused the description of {image}: it must be 2 to 256 characters and "
        "must not start with `http://` or `https://`. Fix it and try again."
    ),
    "InvalidImageFamily.Malformed": (
        "ECS refused the family name for {image}: a family has 2 to 128 characters, "
        "starts with a letter or a Chinese character, does not start with `aliyun` "
        "or `acs:`, and uses only letters, Chinese characters, digits and . : _ -. "
        "Choose another family and try again."
    ),
    "ImageQuotaFull.ImageFamily": (
        "That family already holds as many images as ECS allows, so {image} cannot "
        "join it. Delete an old image of the family or choose another family, then "
        "try again."
    ),
    "ImageFamilyQuotaFull": (
        "ECS allows no more image families in {region}. Put {image} in an existing "
        "family, or remove a family nobody uses, then try again."
    ),
    "InvalidBootMode.NotSupport": (
        "ECS does not support that boot mode for {image} (the value, or the image's "
        "architecture). Choose a mode the image's OS supports (BIOS, UEFI or "
        "UEFI-Preferred) and try again."
    ),
    "InvalidLicenseType.NotSupported": (
        "ECS does not accept that license type for {image}; BYOL is the only "
        "supported value. Use `license=BYOL` or leave the license unchanged."
    ),
    "InvalidParameter.FeaturesImdsSupport": (
        "ECS refused the IMDS setting for {image}: it must be v1 or v2. Fix the value "
        "and try again."
    ),
    "ImageStatus.NotAvailable": (
        "{image} is not Available, so ECS will not deprecate it. Check its current "
        "status with `show`; if it is already Deprecated there is nothing to do."
    ),
    "ImageStatus.NotDeprecated": (
        "{image} is not Deprecated, so ECS will not restore it. Check its current "
        "status with `show`; if it is already Available there is nothing to do."
    ),
    "ImageUseShared": (
        "{image} is shared with other accounts; unshare it "
        "(ModifyImageSharePermission) and try again."
    ),
    "OperationDeined.ImageUsingByInstance": (
        "{image} has instances created from it, so ECS will not change its boot mode. "
        "Release those instances, or build a new image with the boot mode you need."
    ),
    "InvalidOperation.FeaturesImdsSupportNotMatch": (
        "{image} already requires IMDSv2, and ECS cannot switch an image back to v1. "
        "Build a new image if instances need IMDSv1."
    ),
    "InvalidStatus.ImageIsCreating": (
        "{image} is still being created. Wait until `show` reports it Available, "
        "then try again."
    ),
    "InvalidImageId.NotFound": (
        "{image} is not a custom image in {region} of this account. Check the "
        "image id and the region (`region=<r>`), then try again."
    ),
    "MissingParameter": (
        "ECS says the request for {image} lacks a required parameter. This is a bug "
        "in the bot: report it to the bot's operators with the ECS request id."
    ),
    "InvalidParameter": (
        "ECS refused a value in the request for {image}. Check the values against "
        "`help set` and try again."
    ),
    "Throttling": (
        "ECS is throttling this account's requests in {region} (too many calls this "
        "minute). Wait a minute and try again."
    ),
    "SignatureDoesNotMatch": (
        "ECS rejected the bot's request signature: the AccessKey secret the bot uses "
        "is wrong. An operator must fix the bot's Alibaba Cloud credentials and "
        "restart it."
    ),
    "InvalidAccessKeyId.NotFound": (
        "ECS does not know the AccessKey id the bot uses (deleted or mistyped). An "
        "operator must give the bot a valid AccessKey and restart it."
    ),
    "Forbidden.RAM": (
        "The bot's RAM identity may not do this on {image} in {region}. Ask an "
        "Alibaba Cloud administrator to allow ecs:ModifyImageAttribute and the "
        "ecs:Describe* reads for the image, then try again."
    ),
    "InvalidCredentials": (
        "The bot has no usable Alibaba Cloud credentials. An operator must set "
        "ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET (or another "
        "source of the Alibaba credential chain) and restart the bot."
    ),
    "InternalError": (
        "ECS reported an internal error while handling {image}. Wait a moment and try "
        "again; after a change, check the image with `show` first, because the change "
        "may have been applied."
    ),
    "ServiceUnavailable": (
        "ECS in {region} is temporarily unavailable. Wait a moment and try again; "
        "after a change, check {image} with `show` first, because the change may "
        "have been applied."
    ),
    "DryRunOperation": (
        "The dry run passed: ECS accepted the credentials, permissions and format of "
        "the change to {image}."
    ),
    TIMEOUT: (
        "ECS did not answer in time. Try again in a moment; after a change, check "
        "{image} with `show` first, because the change may have been applied."
    ),
    CONNECTION_LOST: (
        "The connection to ECS broke before an answer arrived. Try again in a moment; "
        "after a change, check {image} with `show` first, because the change may "
        "have been applied."
    ),
    UNREACHABLE: (
        "The bot could not connect to ECS, so nothing was sent. An operator should "
        "check the bot's network, proxy and IMAGEBOT_ECS_ENDPOINT; then try again."
    ),
    BAD_RESPONSE: (
        "ECS sent an answer the bot could not read. Try again in a moment; after a "
        "change, check {image} with `show` first, because the change may have been "
        "applied."
    ),
    DRY_RUN_IGNORED: (
        "The ECS endpoint answered the dry run for {image} as if it had applied the "
        "change. Check the image with `show`; an operator should check that "
        "IMAGEBOT_ECS_ENDPOINT points at ECS."
    ),
}
_GENERIC = (
    "ECS refused the request for {image} with error {code}. Look the code up in the "
    "ECS error centre (" + _ERROR_CENTRE + "), fix the cause and try again."
)


def explain(code: str, *, image_id: str = "", region: str = "") -> str:
    """User-facing text for an ECS or gateway error code: what happened, what to do."""
    template = _EXPLANATIONS.get(code)
    if template is None and code.startswith("Throttling"):
        template = _EXPLANATIONS["Throttling"]
    image = f"image `{image_id}`" if image_id else "the image"
    text = (template or _GENERIC).format(
        image=image, region=f"`{region}`" if region else "this region", code=code
    )
    return text[0].upper() + text[1:]


@dataclass(frozen=True)
class _Failure:
    """One failed attempt, reduced to what the retry and outcome rules need."""

    code: str
    http_status: int = 0
    request_id: str = ""
    server_message: str = ""
    retry_after_ms: int | None = None
    answered: bool = True  # ECS sent an error answer
    sent: bool = True  # the request may have reached ECS

    @property
    def throttled(self) -> bool:
        return self.code.startswith("Throttling")

    @property
    def transient(self) -> bool:
        return (
            self.throttled
            or not self.answered
            or self.http_status >= 500
            or self.code in _SERVER_TROUBLE
        )

    @property
    def rejected(self) -> bool:
        """ECS refused the request before executing it (or it never left)."""
        return not self.sent or (self.answered and not self.transient) or self.throttled


class _CallFailed(Exception):
    def __init__(self, failure: _Failure) -> None:
        super().__init__(failure.code)
        self.failure = failure


def _failure(exc: Exception) -> _Failure | None:
    """Classify an SDK exception; None for one that is no API or transport failure."""
    from Tea.exceptions import TeaException

    if not isinstance(exc, TeaException):
        return None
    data = exc.data if isinstance(exc.data, dict) else {}
    code = exc.code if exc.code not in (None, "", "None") else ""
    status = getattr(exc, "status_code", None) or getattr(exc, "statusCode", None) or 0
    if code or status:
        request_id = str(data.get("RequestId") or data.get("requestId") or "")
        retry_after = getattr(exc, "retry_after", None)
        return _Failure(
            code=code or f"HTTP{status}",
            http_status=int(status),
            request_id=request_id,
            server_message=str(data.get("Message") or data.get("message") or ""),
            retry_after_ms=int(retry_after) if retry_after else None,
            # The SDK refuses to send without credentials; nothing left the process.
            sent=bool(status),
        )

    inner = getattr(exc, "inner_exception", None) or exc
    text = str(inner)
    if type(inner).__name__ == "CredentialException":
        return _Failure("InvalidCredentials", server_message=text, sent=False)
    if isinstance(inner, RuntimeError):  # darabonba's "Failed to parse ... as json"
        return _Failure(BAD_RESPONSE, server_message=text, answered=False)
    if any(marker in text for marker in _UNSENT_MARKERS):
        return _Failure(UNREACHABLE, server_message=text, answered=False, sent=False)
    if "timed out" in text.lower() or "timeout" in text.lower():
        return _Failure(TIMEOUT, server_message=text, answered=False)
    return _Failure(CONNECTION_LOST, server_message=text, answered=False)


def _describe(failure: _Failure, image_id: str, region: str) -> str:
    text = explain(failure.code, image_id=image_id, region=region)
    known = failure.code in _EXPLANATIONS or failure.throttled
    if not known and failure.server_message and failure.answered:
        text = f"{text} ECS said: {failure.server_message}"
    return text


def _split_endpoint(raw: str) -> tuple[str, str]:
    """An endpoint setting as (host[:port], protocol); a bare host means https."""
    value = raw.strip().rstrip("/")
    if "://" not in value:
        return value, "https"
    parts = urlsplit(value)
    return parts.netloc, parts.scheme.lower()


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _snapshot(image: Any, region: str) -> ImageSnapshot:
    """An SDK image model (DescribeImages or DescribeImageFromFamily) as a snapshot."""
    features = getattr(image, "features", None)
    shared = _text(getattr(image, "is_self_shared", None)).lower() == "true"
    return ImageSnapshot(
        image_id=_text(image.image_id),
        region=region,
        name=_text(image.image_name),
        family=_text(image.image_family),
        description=_text(image.description),
        status=_text(image.status),
        boot_mode=_text(getattr(image, "boot_mode", None)),
        license_type=_text(getattr(image, "license_type", None)),
        nvme_support=_text(getattr(features, "nvme_support", None)),
        imds_support=_text(getattr(features, "imds_support", None)),
        creation_time=_text(image.creation_time),
        architecture=_text(image.architecture),
        os_name=_text(getattr(image, "osname_en", None) or image.osname),
        usage=_text(image.usage),
        is_self_shared=shared,
        progress=_text(image.progress),
    )


def _wire_changes(changes: Mapping[str, str]) -> dict[str, Any]:
    """Catalogue changes as a ModifyImageAttribute map; Features.X nests under X."""
    wire: dict[str, Any] = {}
    for field, value in attributes.to_api(changes).items():
        head, _, tail = field.partition(".")
        if tail:
            wire.setdefault(head, {})[tail] = value
        else:
            wire[field] = value
    return wire


class EcsGateway:
    """Reads, dry runs and writes image attributes through the Alibaba ECS SDK."""

    # Retries are done here rather than by darabonba's RetryOptions: the read and the
    # write need different rules (the write never repeats after a 5xx or a timeout),
    # retry_after must be capped, each attempt is logged, and tests swap the sleep.
    _sleep: Callable[[float], None] = staticmethod(time.sleep)

    def __init__(
        self,
        *,
        endpoint: str = "",
        access_key_id: str = "",
        access_key_secret: str = "",
        connect_timeout_ms: int = 5000,
        read_timeout_ms: int = 10000,
        read_attempts: int = 4,
        backoff_ms: int = 500,
        max_backoff_ms: int = 20000,
    ) -> None:
        self._endpoint, self._protocol = (
            _split_endpoint(endpoint) if endpoint else ("", "")
        )
        self._access_key_id = access_key_id
        self._access_key_secret = access_key_secret
        self._connect_timeout_ms = connect_timeout_ms
        self._read_timeout_ms = read_timeout_ms
        self._attempts = max(1, read_attempts)
        self._backoff_ms = max(0, backoff_ms)
        self._max_backoff_ms = max(self._backoff_ms, max_backoff_ms)
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._warm: set[str] = set()
        self._warm_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> EcsGateway:
        """A gateway for the configured endpoint and keys (empty keys: the chain)."""
        return cls(
            endpoint=settings.ecs_endpoint,
            access_key_id=settings.access_key_id,
            access_key_secret=settings.access_key_secret,
        )

    def __repr__(self) -> str:
        endpoint = self._endpoint or "regional"
        return (
            f"EcsGateway(endpoint={endpoint!r}, protocol={self._protocol or 'https'})"
        )

    # -- reads ---------------------------------------------------------------

    def image(self, region: str, image_id: str) -> ImageSnapshot:
        """The account's own image with this id, whatever its status."""
        from alibabacloud_ecs20140526 import models as ecs

        request = ecs.DescribeImagesRequest(
            region_id=region,
            image_id=image_id,
            status="ALL",
            image_owner_alias="self",
            page_size=_PAGE_SIZE,
        )
        body = self._read("DescribeImages", region, image_id, request)
        for image in body.images.image if body.images and body.images.image else []:
            if image.image_id == image_id:
                return _snapshot(image, region)
        raise EcsError(
            "InvalidImageId.NotFound",
            explain("InvalidImageId.NotFound", image_id=image_id, region=region),
            http_status=404,
            request_id=_text(body.request_id),
        )

    def family_images(
        self, region: str, family: str, statuses: Sequence[str] = ("Available",)
    ) -> list[ImageSnapshot]:
        """The account's images of a family in these statuses, newest first."""
        images = self._list_images(region, statuses, family=family)
        found = [i for i in images if i.family == family]
        return sorted(found, key=lambda i: i.creation_time, reverse=True)

    def list_images(
        self,
        region: str,
        statuses: Sequence[str] = ("Available", "Deprecated"),
        *,
        most: int = 2000,
    ) -> list[ImageSnapshot]:
        """The account's own images in these statuses, up to `most` of them."""
        return self._list_images(region, statuses, most=most)

    def _list_images(
        self,
        region: str,
        statuses: Sequence[str],
        *,
        family: str = "",
        most: int = 0,
    ) -> list[ImageSnapshot]:
        from alibabacloud_ecs20140526 import models as ecs

        found: dict[str, ImageSnapshot] = {}
        page = 1
        while True:
            request = ecs.DescribeImagesRequest(
                region_id=region,
                image_family=family or None,
                status=",".join(statuses),
                image_owner_alias="self",
                page_number=page,
                page_size=_PAGE_SIZE,
            )
            subject = f"family:{family}" if family else "images"
            body = self._read("DescribeImages", region, subject, request)
            images = body.images.image if body.images and body.images.image else []
            for image in images:
                found[image.image_id] = _snapshot(image, region)
            if not images or page * _PAGE_SIZE >= (body.total_count or 0):
                break
            if most and len(found) >= most:
                break
            page += 1
        return list(found.values())

    def resolve_family(self, region: str, family: str) -> ImageSnapshot | None:
        """The image a launch by family would use now, or None if there is none."""
        from alibabacloud_ecs20140526 import models as ecs

        request = ecs.DescribeImageFromFamilyRequest(
            region_id=region, image_family=family
        )
        body = self._read(
            "DescribeImageFromFamily", region, f"family:{family}", request
        )
        # An empty family answers "Image": {}, which the SDK turns into an empty model.
        if body.image is None or not body.image.image_id:
            return None
        return _snapshot(body.image, region)

    def shared_with(self, region: str, image_id: str) -> list[str]:
        """Accounts and share groups the image is shared with."""
        from alibabacloud_ecs20140526 import models as ecs

        shares: list[str] = []
        accounts_seen = 0
        page = 1
        while True:
            request = ecs.DescribeImageSharePermissionRequest(
                region_id=region,
                image_id=image_id,
                page_number=page,
                page_size=_PAGE_SIZE,
            )
            body = self._read("DescribeImageSharePermission", region, image_id, request)
            accounts = (
                body.accounts.account if body.accounts and body.accounts.account else []
            )
            groups = (
                body.share_groups.share_group
                if body.share_groups and body.share_groups.share_group
                else []
            )
            names = [_text(a.aliyun_id) for a in accounts] + [
                _text(g.group) for g in groups
            ]
            shares.extend(n for n in names if n and n not in shares)
            accounts_seen += len(accounts)
            if not accounts or accounts_seen >= (body.total_count or 0):
                return shares
            page += 1

    def instances_using(self, region: str, image_id: str) -> list[str]:
        """Ids of the instances created from the image, all pages."""
        from alibabacloud_ecs20140526 import models as ecs

        found: list[str] = []
        token = ""
        tokens_seen: set[str] = set()
        while True:
            request = ecs.DescribeInstancesRequest(
                region_id=region,
                image_id=image_id,
                max_results=_PAGE_SIZE,
                next_token=token or None,
            )
            body = self._read("DescribeInstances", region, image_id, request)
            instances = (
                body.instances.instance
                if body.instances and body.instances.instance
                else []
            )
            found.extend(_text(i.instance_id) for i in instances if i.instance_id)
            token = _text(body.next_token)
            # A repeated token would loop forever; stop at what was read so far.
            if not token or token in tokens_seen:
                return found
            tokens_seen.add(token)

    # -- dry run and write ---------------------------------------------------

    def dry_run(self, region: str, image_id: str, changes: Mapping[str, str]) -> DryRun:
        """Ask ECS to check the change without applying it."""
        request = self._modify_request(region, image_id, changes, dry_run=True)
        try:
            self._call(
                "ModifyImageAttribute(DryRun)",
                region,
                image_id,
                lambda client: client.modify_image_attribute(request),
                retry=lambda f: f.transient,
            )
        except _CallFailed as failed:
            failure = failed.failure
            if failure.code == "DryRunOperation":
                return DryRun(passed=True)
            if failure.transient:
                raise self._error(failure, image_id, region) from None
            return DryRun(
                passed=False,
                code=failure.code,
                message=_describe(failure, image_id, region),
            )
        # A dry run never succeeds outright: a 200 means the endpoint ignored DryRun
        # and may have applied the change, which the preview must not hide.
        log.error(
            "ECS answered a dry run for %s in %s with success; DryRun was ignored",
            image_id,
            region,
        )
        return DryRun(
            passed=False,
            code=DRY_RUN_IGNORED,
            message=explain(DRY_RUN_IGNORED, image_id=image_id, region=region),
        )

    def modify(
        self, region: str, image_id: str, changes: Mapping[str, str]
    ) -> WriteResult:
        """Apply the change once; a write that may have run is UNKNOWN, not repeated."""
        request = self._modify_request(region, image_id, changes, dry_run=False)
        fields = attributes.to_api(changes)
        started = time.monotonic()
        try:
            response = self._call(
                "ModifyImageAttribute",
                region,
                image_id,
                lambda client: client.modify_image_attribute(request),
                # Throttling refuses a call before it runs, so repeating it is safe.
                retry=lambda f: f.throttled,
            )
        except _CallFailed as failed:
            failure = failed.failure
            outcome = Outcome.FAILED if failure.rejected else Outcome.UNKNOWN
            result = WriteResult(
                outcome=outcome,
                ecs_request_id=failure.request_id,
                code=failure.code,
                message=_describe(failure, image_id, region),
            )
        except Exception:
            # An unforeseen error after the request may have left: assume it ran.
            log.exception(
                "ModifyImageAttribute %s in %s failed unexpectedly", image_id, region
            )
            result = WriteResult(
                outcome=Outcome.UNKNOWN,
                code=BAD_RESPONSE,
                message=explain(BAD_RESPONSE, image_id=image_id, region=region),
            )
        else:
            result = WriteResult(
                outcome=Outcome.SUCCEEDED,
                ecs_request_id=_text(response.body.request_id if response.body else ""),
            )
        log.info(
            "ModifyImageAttribute region=%s image=%s fields=%s outcome=%s code=%s "
            "ecs_request_id=%s elapsed_ms=%.0f",
            region,
            image_id,
            fields,
            result.outcome.value,
            result.code or "-",
            result.ecs_request_id or "-",
            (time.monotonic() - started) * 1000,
        )
        return result

    def close(self) -> None:
        """Forget the SDK clients; the gateway builds new ones if used again."""
        with self._lock:
            self._clients.clear()
        with self._warm_lock:
            self._warm.clear()

    # -- plumbing ------------------------------------------------------------

    def _modify_request(
        self, region: str, image_id: str, changes: Mapping[str, str], *, dry_run: bool
    ) -> Any:
        from alibabacloud_ecs20140526 import models as ecs

        if not changes:
            raise ValueError("ModifyImageAttribute needs at least one change")
        wire = {"RegionId": region, "ImageId": image_id, **_wire_changes(changes)}
        if dry_run:
            wire["DryRun"] = True
        return ecs.ModifyImageAttributeRequest().from_map(wire)

    def _read(self, action: str, region: str, subject: str, request: Any) -> Any:
        """Send a Describe* request with read retries; the response body or EcsError."""
        method = {
            "DescribeImages": "describe_images",
            "DescribeImageFromFamily": "describe_image_from_family",
            "DescribeImageSharePermission": "describe_image_share_permission",
            "DescribeInstances": "describe_instances",
        }[action]
        try:
            response = self._call(
                action,
                region,
                subject,
                lambda client: getattr(client, method)(request),
                retry=lambda f: f.transient,
            )
        except _CallFailed as failed:
            image_id = "" if subject.startswith("family:") else subject
            raise self._error(failed.failure, image_id, region) from None
        return response.body

    def _error(self, failure: _Failure, image_id: str, region: str) -> EcsError:
        return EcsError(
            failure.code,
            _describe(failure, image_id, region),
            http_status=failure.http_status,
            request_id=failure.request_id,
            transient=failure.transient,
        )

    def _call(
        self,
        action: str,
        region: str,
        subject: str,
        send: Callable[[Any], T],
        *,
        retry: Callable[[_Failure], bool],
    ) -> T:
        """One API call with retries; raises _CallFailed with the last failure."""
        client = self._client(region)
        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            try:
                response = self._send(region, client, send)
            except Exception as exc:
                failure = _failure(exc)
                elapsed = (time.monotonic() - started) * 1000
                log.debug(
                    "ecs %s region=%s image=%s attempt=%d elapsed_ms=%.0f code=%s "
                    "ecs_request_id=%s",
                    action,
                    region,
                    subject,
                    attempt,
                    elapsed,
                    failure.code if failure else type(exc).__name__,
                    (failure.request_id if failure else "") or "-",
                )
                if failure is None:
                    raise
                if attempt < self._attempts and retry(failure):
                    self._sleep(self._delay(attempt, failure) / 1000)
                    continue
                raise _CallFailed(failure) from exc
            body = getattr(response, "body", None)
            log.debug(
                "ecs %s region=%s image=%s attempt=%d elapsed_ms=%.0f code=OK "
                "ecs_request_id=%s",
                action,
                region,
                subject,
                attempt,
                (time.monotonic() - started) * 1000,
                _text(getattr(body, "request_id", None)) or "-",
            )
            return response

    def _delay(self, attempt: int, failure: _Failure) -> float:
        """Milliseconds before the next attempt: retry_after, else equal jitter."""
        if failure.retry_after_ms:
            # Capped: someone in Slack is waiting, and a clear "throttled" beats a hang.
            return float(min(failure.retry_after_ms, self._max_backoff_ms))
        ceiling = min(self._max_backoff_ms, self._backoff_ms << min(attempt - 1, 30))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def _send(self, region: str, client: Any, send: Callable[[Any], T]) -> T:
        key = self._endpoint or region
        if key not in self._warm:
            # The SDK creates its pooled HTTP session per host on first use without a
            # lock; concurrent first calls would each build one and leak all but one.
            with self._warm_lock:
                if key not in self._warm:
                    try:
                        return send(client)
                    finally:
                        self._warm.add(key)
        return send(client)

    def _client(self, region: str) -> Any:
        with self._lock:
            client = self._clients.get(region)
            if client is None:
                client = self._clients[region] = self._new_client(region)
            return client

    def _new_client(self, region: str) -> Any:
        from alibabacloud_ecs20140526.client import Client
        from alibabacloud_tea_openapi.models import Config

        config = Config(
            region_id=region,
            connect_timeout=self._connect_timeout_ms,
            read_timeout=self._read_timeout_ms,
        )
        if self._access_key_id and self._access_key_secret:
            config.access_key_id = self._access_key_id
            config.access_key_secret = self._access_key_secret
        else:
            from alibabacloud_credentials.client import Client as Credentials

            # Without a credential the SDK does not fall back to the chain by itself.
            config.credential = Credentials()
        if self._endpoint:
            config.endpoint = self._endpoint
            config.protocol = self._protocol
        return Client(config)
