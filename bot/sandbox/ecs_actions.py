"""The five ECS calls the emulator answers, over its image table."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot.sandbox.ecs_errors import ApiError
from bot.sandbox.ecs_rules import (
    checked_change,
    comma_list,
    instance_ids,
    integer,
    next_token,
    owner_filter,
    paging,
    required,
    status_filter,
    token_offset,
)
from bot.sandbox.ecs_table import ImageTable, Share

Action = Callable[[str, Mapping[str, str], bool], Any]


class ImageActions(ImageTable):
    """DescribeImages and friends, and ModifyImageAttribute with the server's rules."""

    def __init__(
        self,
        *,
        seed: dict[str, Any] | None = None,
        family_quota: int = 50,
        region_family_quota: int = 100,
    ) -> None:
        self.family_quota = family_quota
        self.region_family_quota = region_family_quota
        self._actions: dict[str, Action] = {
            "DescribeImages": self._describe_images,
            "DescribeImageFromFamily": self._describe_image_from_family,
            "DescribeImageSharePermission": self._describe_image_share_permission,
            "DescribeInstances": self._describe_instances,
            "ModifyImageAttribute": self._modify_image_attribute,
        }
        super().__init__(seed=seed)

    # -- read actions ----------------------------------------------------------------

    def _describe_images(
        self, region: str, params: Mapping[str, str], dry_run: bool
    ) -> dict[str, Any]:
        statuses = status_filter(params.get("Status", ""))
        owners = owner_filter(params.get("ImageOwnerAlias", ""))
        ids = comma_list(params.get("ImageId", ""))
        family = params.get("ImageFamily", "")
        name = params.get("ImageName", "").lower()
        exact = {
            key: params[key]
            for key in ("Usage", "Architecture", "OSType")
            if params.get(key)
        }
        page, size = paging(params)
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
        family = required(params, "ImageFamily")
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
        image_id = required(params, "ImageId")
        page, size = paging(params)
        with self._lock:
            self._own_image(region, image_id)
            share = self._shares.get((region, image_id), Share())
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
        limit = integer(params, "MaxResults", 10, high=100)
        token = params.get("NextToken", "")
        start = token_offset(token) if token else 0
        wanted_ids = instance_ids(params.get("InstanceIds", ""))
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
            "NextToken": next_token(end) if end < len(chosen) else "",
            "MaxResults": limit,
            "Instances": {"Instance": chosen[start:end]},
        }

    # -- ModifyImageAttribute ----------------------------------------------------------

    def _modify_image_attribute(
        self, region: str, params: Mapping[str, str], dry_run: bool
    ) -> dict[str, Any]:
        image_id = required(params, "ImageId")
        change = checked_change(params)
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
