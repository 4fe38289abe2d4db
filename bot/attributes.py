"""The catalogue of image attributes that ModifyImageAttribute can change.

One row per attribute: the command key and its aliases, the API field, the label
people read, and how a value is checked. The parser, the gateway, the risk checks
and the Slack blocks all read this table, so adding an attribute is one new row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from bot.model import ImageSnapshot


class InvalidValue(ValueError):
    """A value the API would refuse; `code` is the error code the API would return."""

    def __init__(self, key: str, code: str, message: str) -> None:
        # All three reach Exception so that copies and pickles rebuild the error.
        super().__init__(key, code, message)
        self.key = key
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message


# A letter or a Chinese character first, then letters, Chinese characters, digits
# and . : _ - ; 2 to 128 characters in all.
_NAME_FIRST = re.compile(r"[A-Za-z\u4e00-\u9fa5]")
_NAME_CHAR = re.compile(r"[A-Za-z0-9\u4e00-\u9fa5.:_-]")
_FORBIDDEN_PREFIXES = ("aliyun", "acs:")
_URL_PREFIXES = ("http://", "https://")


def _check_name(what: str) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        if not 2 <= len(value) <= 128:
            return f"{what} must be 2 to 128 characters long (got {len(value)})."
        if not _NAME_FIRST.fullmatch(value[0]):
            return f"{what} must start with a letter or a Chinese character."
        if value.startswith(_FORBIDDEN_PREFIXES):
            return f"{what} must not start with `aliyun` or `acs:`."
        if any(prefix in value for prefix in _URL_PREFIXES):
            return f"{what} must not contain `http://` or `https://`."
        bad = sorted({c for c in value if not _NAME_CHAR.fullmatch(c)})
        if bad:
            shown = " ".join(repr(c) for c in bad)
            return (
                f"{what} may contain only letters, Chinese characters, digits and "
                f". : _ - (not {shown})."
            )
        return None

    return check


def _check_description(value: str) -> str | None:
    if not 2 <= len(value) <= 256:
        return f"A description must be 2 to 256 characters long (got {len(value)})."
    if value.startswith(_URL_PREFIXES):
        return "A description must not start with `http://` or `https://`."
    return None


@dataclass(frozen=True)
class Attribute:
    """One changeable attribute of an image."""

    key: str
    aliases: tuple[str, ...]
    api_field: str
    label: str
    snapshot_field: str
    error_code: str
    choices: tuple[str, ...] = ()
    check: Callable[[str], str | None] | None = None
    hint: str = ""

    def normalize(self, raw: str) -> str:
        """Return the value in the API's spelling, or raise InvalidValue."""
        value = raw.strip()
        if self.choices:
            for choice in self.choices:
                if value.lower() == choice.lower():
                    return choice
            allowed = " | ".join(self.choices)
            raise InvalidValue(
                self.key,
                self.error_code,
                f"`{self.key}` must be one of {allowed} (got `{value}`).",
            )
        problem = self.check(value) if self.check else None
        if problem:
            raise InvalidValue(
                self.key, self.error_code, f"{problem} {self.hint}".strip()
            )
        return value

    def current(self, image: ImageSnapshot) -> str:
        value = getattr(image, self.snapshot_field)
        return str(value)


CATALOGUE: tuple[Attribute, ...] = (
    Attribute(
        key="name",
        aliases=("image-name", "imagename", "image_name"),
        api_field="ImageName",
        label="Name",
        snapshot_field="name",
        error_code="InvalidImageName.Malformed",
        check=_check_name("An image name"),
        hint="Example: `name=web-2026-12-01`.",
    ),
    Attribute(
        key="family",
        aliases=("image-family", "imagefamily", "image_family"),
        api_field="ImageFamily",
        label="Family",
        snapshot_field="family",
        error_code="InvalidImageFamily.Malformed",
        check=_check_name("A family"),
        hint="Example: `family=web-base`.",
    ),
    Attribute(
        key="description",
        aliases=("desc",),
        api_field="Description",
        label="Description",
        snapshot_field="description",
        error_code="InvalidDescription.Malformed",
        check=_check_description,
        hint='Quote text with spaces: `description="Patched kernel"`.',
    ),
    Attribute(
        key="status",
        aliases=("state",),
        api_field="Status",
        label="Status",
        snapshot_field="status",
        error_code="InvalidParameter",
        choices=("Available", "Deprecated"),
    ),
    Attribute(
        key="boot-mode",
        aliases=("bootmode", "boot_mode", "boot"),
        api_field="BootMode",
        label="Boot mode",
        snapshot_field="boot_mode",
        error_code="InvalidBootMode.NotSupport",
        choices=("BIOS", "UEFI", "UEFI-Preferred"),
    ),
    Attribute(
        key="license",
        aliases=("license-type", "licensetype", "license_type"),
        api_field="LicenseType",
        label="License type",
        snapshot_field="license_type",
        error_code="InvalidLicenseType.NotSupported",
        choices=("BYOL",),
    ),
    Attribute(
        key="nvme",
        aliases=("nvme-support", "nvmesupport", "nvme_support"),
        api_field="Features.NvmeSupport",
        label="NVMe support",
        snapshot_field="nvme_support",
        error_code="InvalidParameter",
        choices=("supported", "unsupported"),
    ),
    Attribute(
        key="imds",
        aliases=("imds-support", "imdssupport", "imds_support"),
        api_field="Features.ImdsSupport",
        label="IMDS support",
        snapshot_field="imds_support",
        error_code="InvalidParameter.FeaturesImdsSupport",
        choices=("v1", "v2"),
    ),
)

_BY_NAME: dict[str, Attribute] = {
    name: attribute
    for attribute in CATALOGUE
    for name in (attribute.key, *attribute.aliases)
}


def find(name: str) -> Attribute | None:
    """The attribute a command key or alias names (any case), if any."""
    return _BY_NAME.get(name.strip().lower())


def get(key: str) -> Attribute:
    """The attribute with this catalogue key; KeyError for an unknown key."""
    attribute = _BY_NAME[key]
    if attribute.key != key:
        raise KeyError(key)
    return attribute


def read(image: ImageSnapshot, keys: Iterable[str] | None = None) -> dict[str, str]:
    """Current values of the image, by catalogue key (all attributes by default)."""
    wanted = CATALOGUE if keys is None else [get(k) for k in keys]
    return {a.key: a.current(image) for a in wanted}


def to_api(changes: Mapping[str, str]) -> dict[str, str]:
    """Catalogue keys → ModifyImageAttribute wire fields."""
    return {get(key).api_field: value for key, value in changes.items()}


def ordered(keys: Iterable[str]) -> list[str]:
    """Keys in catalogue order, so every table lists attributes the same way."""
    wanted = set(keys)
    return [a.key for a in CATALOGUE if a.key in wanted]
