"""The server's own checks on ECS parameters: names, changes, filters and paging."""

from __future__ import annotations

import base64
import json
import re
import sys
from collections.abc import Callable, Mapping

from bot.sandbox.ecs_errors import ApiError

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


def checked_change(params: Mapping[str, str]) -> dict[str, str]:
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


def required(params: Mapping[str, str], name: str) -> str:
    """A parameter that must be given and not empty."""
    value = params.get(name, "")
    if not value:
        raise ApiError("MissingParameter", name)
    return value


def boolean(params: Mapping[str, str], name: str) -> bool:
    """A true/false parameter; absent means false."""
    value = params.get(name, "").lower()
    if value in ("", "false"):
        return False
    if value == "true":
        return True
    raise ApiError("InvalidParameter", name)


def integer(params: Mapping[str, str], name: str, default: int, *, high: int) -> int:
    """A whole-number parameter from 1 to `high`; absent means `default`."""
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


def paging(params: Mapping[str, str]) -> tuple[int, int]:
    """PageNumber and PageSize, with ECS's defaults and limits."""
    page = integer(params, "PageNumber", 1, high=sys.maxsize)
    return page, integer(params, "PageSize", 10, high=100)


def comma_list(raw: str) -> set[str]:
    """The items of a comma-separated parameter."""
    return {item.strip() for item in raw.split(",") if item.strip()}


def status_filter(raw: str) -> set[str]:
    """The image statuses DescribeImages should show (default: Available)."""
    wanted = comma_list(raw) or {"Available"}
    if "ALL" in wanted:
        if len(wanted) > 1:
            raise ApiError("InvalidParameter", "Status (ALL cannot be combined)")
        return set(_IMAGE_STATUSES)
    if not wanted <= set(_IMAGE_STATUSES):
        raise ApiError("InvalidParameter", "Status")
    return wanted


def owner_filter(raw: str) -> set[str]:
    """The ImageOwnerAlias values DescribeImages should show."""
    if not raw:
        return {"system", "self", "others"}
    if raw not in _OWNER_ALIASES:
        raise ApiError("InvalidParameter", "ImageOwnerAlias")
    return {raw}


def instance_ids(raw: str) -> set[str] | None:
    """The ids of a JSON InstanceIds list; None when not given."""
    if not raw:
        return None
    try:
        ids = json.loads(raw)
    except ValueError:
        raise ApiError("InvalidParameter", "InstanceIds") from None
    if not isinstance(ids, list):
        raise ApiError("InvalidParameter", "InstanceIds")
    return {str(item) for item in ids}


def next_token(offset: int) -> str:
    """The NextToken that resumes a listing at `offset`."""
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def token_offset(token: str) -> int:
    """The offset a NextToken resumes at."""
    try:
        kind, _, number = base64.urlsafe_b64decode(token).decode().partition(":")
        if kind == "offset" and number.isdigit():
            return int(number)
    except ValueError:
        pass
    raise ApiError("InvalidParameter", "NextToken")
