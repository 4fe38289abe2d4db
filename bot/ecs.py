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
from typing import TYPE_CHECKING, Any, TypeVar

from bot import attributes
from bot.ecs_errors import (
    BAD_RESPONSE,
    CONNECTION_LOST,
    DRY_RUN_IGNORED,
    TIMEOUT,
    UNREACHABLE,
    explain,
)
from bot.ecs_sdk import (
    CallFailed,
    Failure,
    as_text,
    classify,
    describe_failure,
    to_snapshot,
    wire_changes,
)
from bot.ecs_sdk import split_endpoint as _split_endpoint
from bot.model import DryRun, ImageSnapshot, Outcome, WriteResult

if TYPE_CHECKING:
    from bot.config import Settings

__all__ = [
    "BAD_RESPONSE",
    "CONNECTION_LOST",
    "DRY_RUN_IGNORED",
    "TIMEOUT",
    "UNREACHABLE",
    "EcsError",
    "EcsGateway",
    "explain",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

_PAGE_SIZE = 100


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
                return to_snapshot(image, region)
        raise EcsError(
            "InvalidImageId.NotFound",
            explain("InvalidImageId.NotFound", image_id=image_id, region=region),
            http_status=404,
            request_id=as_text(body.request_id),
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
                found[image.image_id] = to_snapshot(image, region)
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
        return to_snapshot(body.image, region)

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
            names = [as_text(a.aliyun_id) for a in accounts] + [
                as_text(g.group) for g in groups
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
            found.extend(as_text(i.instance_id) for i in instances if i.instance_id)
            token = as_text(body.next_token)
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
        except CallFailed as failed:
            failure = failed.failure
            if failure.code == "DryRunOperation":
                return DryRun(passed=True)
            if failure.transient:
                raise self._error(failure, image_id, region) from None
            return DryRun(
                passed=False,
                code=failure.code,
                message=describe_failure(failure, image_id, region),
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
        except CallFailed as failed:
            failure = failed.failure
            outcome = Outcome.FAILED if failure.rejected else Outcome.UNKNOWN
            result = WriteResult(
                outcome=outcome,
                ecs_request_id=failure.request_id,
                code=failure.code,
                message=describe_failure(failure, image_id, region),
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
                ecs_request_id=as_text(
                    response.body.request_id if response.body else ""
                ),
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
        wire = {"RegionId": region, "ImageId": image_id, **wire_changes(changes)}
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
        except CallFailed as failed:
            image_id = "" if subject.startswith("family:") else subject
            raise self._error(failed.failure, image_id, region) from None
        return response.body

    def _error(self, failure: Failure, image_id: str, region: str) -> EcsError:
        return EcsError(
            failure.code,
            describe_failure(failure, image_id, region),
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
        retry: Callable[[Failure], bool],
    ) -> T:
        """One API call with retries; raises CallFailed with the last failure."""
        client = self._client(region)
        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            try:
                response = self._send(region, client, send)
            except Exception as exc:
                failure = classify(exc)
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
                raise CallFailed(failure) from exc
            body = getattr(response, "body", None)
            log.debug(
                "ecs %s region=%s image=%s attempt=%d elapsed_ms=%.0f code=OK "
                "ecs_request_id=%s",
                action,
                region,
                subject,
                attempt,
                (time.monotonic() - started) * 1000,
                as_text(getattr(body, "request_id", None)) or "-",
            )
            return response

    def _delay(self, attempt: int, failure: Failure) -> float:
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
