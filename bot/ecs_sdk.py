"""Between EcsGateway and the Alibaba SDK: failures, image models, request maps."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bot import attributes
from bot.ecs_errors import (
    BAD_RESPONSE,
    CONNECTION_LOST,
    TIMEOUT,
    UNREACHABLE,
    explain,
    has_explanation,
)
from bot.model import ImageSnapshot

_SERVER_TROUBLE = frozenset({"InternalError", "ServiceUnavailable", "UnknownError"})
# Markers of urllib3 errors raised before a single byte of the request was sent.
_UNSENT_MARKERS = (
    "NewConnectionError",
    "ConnectTimeoutError",
    "NameResolutionError",
    "Failed to establish a new connection",
)


@dataclass(frozen=True)
class Failure:
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


class CallFailed(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.code)
        self.failure = failure


def classify(exc: Exception) -> Failure | None:
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
        return Failure(
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
        return Failure("InvalidCredentials", server_message=text, sent=False)
    if isinstance(inner, RuntimeError):  # darabonba's "Failed to parse ... as json"
        return Failure(BAD_RESPONSE, server_message=text, answered=False)
    if any(marker in text for marker in _UNSENT_MARKERS):
        return Failure(UNREACHABLE, server_message=text, answered=False, sent=False)
    if "timed out" in text.lower() or "timeout" in text.lower():
        return Failure(TIMEOUT, server_message=text, answered=False)
    return Failure(CONNECTION_LOST, server_message=text, answered=False)


def describe_failure(failure: Failure, image_id: str, region: str) -> str:
    text = explain(failure.code, image_id=image_id, region=region)
    known = has_explanation(failure.code)
    if not known and failure.server_message and failure.answered:
        text = f"{text} ECS said: {failure.server_message}"
    return text


def split_endpoint(raw: str) -> tuple[str, str]:
    """An endpoint setting as (host[:port], protocol); a bare host means https."""
    value = raw.strip().rstrip("/")
    if "://" not in value:
        return value, "https"
    parts = urlsplit(value)
    return parts.netloc, parts.scheme.lower()


def as_text(value: Any) -> str:
    return "" if value is None else str(value)


def to_snapshot(image: Any, region: str) -> ImageSnapshot:
    """An SDK image model (DescribeImages or DescribeImageFromFamily) as a snapshot."""
    features = getattr(image, "features", None)
    shared = as_text(getattr(image, "is_self_shared", None)).lower() == "true"
    return ImageSnapshot(
        image_id=as_text(image.image_id),
        region=region,
        name=as_text(image.image_name),
        family=as_text(image.image_family),
        description=as_text(image.description),
        status=as_text(image.status),
        boot_mode=as_text(getattr(image, "boot_mode", None)),
        license_type=as_text(getattr(image, "license_type", None)),
        nvme_support=as_text(getattr(features, "nvme_support", None)),
        imds_support=as_text(getattr(features, "imds_support", None)),
        creation_time=as_text(image.creation_time),
        architecture=as_text(image.architecture),
        os_name=as_text(getattr(image, "osname_en", None) or image.osname),
        usage=as_text(image.usage),
        is_self_shared=shared,
        progress=as_text(image.progress),
    )


def wire_changes(changes: Mapping[str, str]) -> dict[str, Any]:
    """Catalogue changes as a ModifyImageAttribute map; Features.X nests under X."""
    wire: dict[str, Any] = {}
    for field, value in attributes.to_api(changes).items():
        head, _, tail = field.partition(".")
        if tail:
            wire.setdefault(head, {})[tail] = value
        else:
            wire[field] = value
    return wire
