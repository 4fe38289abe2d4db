"""The ECS emulator's in-memory images, instances and shares, and edits to them."""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.ecs_errors import ApiError
from bot.sandbox.ecs_seed import DEFAULT_REGION, demo_seed, image_record, now


@dataclass
class Share:
    """The accounts and groups an image is shared with."""

    accounts: dict[str, str] = field(default_factory=dict)  # account id -> shared time
    groups: list[str] = field(default_factory=list)


class ImageTable:
    """Images, instances and shares by region, guarded by one lock."""

    def __init__(self, *, seed: dict[str, Any] | None = None) -> None:
        self._lock = threading.RLock()
        self._images: dict[tuple[str, str], dict[str, Any]] = {}
        self._instances: dict[tuple[str, str], dict[str, str]] = {}
        self._shares: dict[tuple[str, str], Share] = {}
        self._instance_counter = 0
        self._load(demo_seed() if seed is None else seed)

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
        region, image = image_record(record)
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
            share = self._shares.setdefault((region, image_id), Share())
            for account in accounts:
                share.accounts.setdefault(account, now())

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
            share = self._shares.setdefault((region, image_id), Share())
            for account in raw.get("accounts", []):
                if isinstance(account, Mapping):
                    shared_at = str(account.get("SharedTime") or now())
                    share.accounts[str(account["AliyunId"])] = shared_at
                else:
                    share.accounts[str(account)] = now()
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
