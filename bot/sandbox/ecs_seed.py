"""What the ECS emulator serves at start: the demo images, or a seed file's."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

DEFAULT_REGION = "cn-hangzhou"


def now() -> str:
    """The current time as ECS writes it (ISO-8601 UTC, trailing Z)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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


def image_record(raw: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The region and stored record of a seeded image, defaults filled in."""
    if not raw.get("ImageId"):
        raise ValueError(f"a seeded image has no ImageId: {dict(raw)!r}")
    record: dict[str, Any] = {
        "ImageName": raw["ImageId"],
        "ImageFamily": "",
        "ImageVersion": "",
        "Description": "Seeded demo image",
        "Status": "Available",
        "CreationTime": now(),
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


def read_seed(path: str) -> dict[str, Any]:
    """The seed in a JSON file."""
    with open(path, encoding="utf-8") as handle:
        seed = json.load(handle)
    if not isinstance(seed, dict):
        raise ValueError("the seed must be a JSON object with images/instances/shares")
    return seed
