"""The local ECS emulator, driven by the real Alibaba SDK over HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import logging
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from alibabacloud_ecs20140526 import models as ecs
from alibabacloud_ecs20140526.client import Client
from alibabacloud_tea_openapi import models as oa
from alibabacloud_tea_openapi.exceptions import (
    ClientException,
    ServerException,
    ThrottlingException,
)
from darabonba.exceptions import UnretryableException

from bot.sandbox.ecs_emulator import (
    DEMO_ACCESS_KEY_ID,
    DEMO_ACCESS_KEY_SECRET,
    EcsEmulator,
    keys_from_env,
    parse_fault,
    serve,
)

KEY_ID = "test-key"
SECRET = "test-secret"
REGION = "cn-hangzhou"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def emulator() -> Iterator[EcsEmulator]:
    with EcsEmulator(access_keys={KEY_ID: SECRET}) as running:
        yield running


def client(
    emulator: EcsEmulator,
    *,
    key_id: str = KEY_ID,
    secret: str = SECRET,
    v1: bool = False,
    read_timeout: int = 5000,
) -> Client:
    config = oa.Config(
        endpoint=emulator.netloc,
        protocol="http",
        access_key_id=key_id,
        access_key_secret=secret,
        region_id=REGION,
        read_timeout=read_timeout,
        connect_timeout=2000,
    )
    if v1:
        config.signature_algorithm = "v2"
    return Client(config)


def modify(c: Client, image_id: str | None = "m-plain0001", **fields: Any) -> Any:
    features = {
        k: fields.pop(k) for k in ("nvme_support", "imds_support") if k in fields
    }
    request = ecs.ModifyImageAttributeRequest(
        region_id=fields.pop("region_id", REGION), image_id=image_id, **fields
    )
    if features:
        request.features = ecs.ModifyImageAttributeRequestFeatures(**features)
    return c.modify_image_attribute(request)


def all_images(c: Client, page_size: int, **filters: Any) -> tuple[list[str], int]:
    ids: list[str] = []
    page = 1
    while True:
        body = c.describe_images(
            ecs.DescribeImagesRequest(
                region_id=REGION, page_number=page, page_size=page_size, **filters
            )
        ).body
        assert body.page_number == page and body.page_size == page_size
        ids += [image.image_id for image in body.images.image]
        if len(ids) >= body.total_count or not body.images.image:
            return ids, body.total_count
        page += 1


def error_of(call: Any) -> Any:
    with pytest.raises(Exception) as caught:
        call()
    return caught.value


# -- reads -----------------------------------------------------------------------------


def test_describe_images_pages_through_every_status_newest_first(
    emulator: EcsEmulator,
) -> None:
    ids, total = all_images(client(emulator), 2, status="ALL")

    assert total == 9
    assert len(ids) == 9 and len(set(ids)) == 9
    assert ids[0] == "m-creating1" and ids[-1] == "m-plain0001"


def test_describe_images_hides_non_available_images_by_default(
    emulator: EcsEmulator,
) -> None:
    ids, total = all_images(client(emulator), 100)

    assert total == 7
    assert "m-webdep01" not in ids and "m-creating1" not in ids


def test_describe_images_filters_by_family_name_id_and_status_list(
    emulator: EcsEmulator,
) -> None:
    c = client(emulator)

    family, _ = all_images(c, 10, image_family="web-base", status="Available")
    fuzzy, _ = all_images(c, 10, image_name="WEB-2026", status="Available,Deprecated")
    by_id, _ = all_images(c, 10, image_id="m-webdep01,m-dbonly01", status="ALL")

    assert family == ["m-webnew01", "m-webold01"]
    assert fuzzy == ["m-webnew01", "m-webdep01", "m-webold01"]
    assert sorted(by_id) == ["m-dbonly01", "m-webdep01"]


def test_describe_images_returns_wire_fields_the_sdk_maps(
    emulator: EcsEmulator,
) -> None:
    body = (
        client(emulator)
        .describe_images(
            ecs.DescribeImagesRequest(region_id=REGION, image_id="m-inuse01")
        )
        .body
    )

    image = body.images.image[0]
    assert body.region_id == REGION
    assert image.image_family == "app-base" and image.boot_mode == "BIOS"
    assert image.usage == "instance" and image.is_self_shared == "False"
    assert image.image_owner_alias == "self" and image.license_type == "Auto"
    assert image.features.nvme_support == "supported"
    assert image.features.imds_support == "v1"
    assert image.creation_time == "2026-02-20T08:00:00Z"


def test_describe_images_owner_alias_separates_own_images_from_system_ones(
    emulator: EcsEmulator,
) -> None:
    emulator.add_image({"ImageId": "m-system01", "ImageOwnerAlias": "system"})
    c = client(emulator)

    own, _ = all_images(c, 100, image_owner_alias="self")
    system, _ = all_images(c, 100, image_owner_alias="system")
    default, _ = all_images(c, 100)

    assert "m-system01" not in own and system == ["m-system01"]
    assert "m-system01" in default


@pytest.mark.parametrize(
    "filters",
    [
        {"status": "ALL,Available"},
        {"status": "Broken"},
        {"page_size": 101},
        {"image_owner_alias": "nobody"},
    ],
)
def test_describe_images_refuses_bad_filters(
    emulator: EcsEmulator, filters: dict[str, Any]
) -> None:
    error = error_of(
        lambda: client(emulator).describe_images(
            ecs.DescribeImagesRequest(region_id=REGION, **filters)
        )
    )

    assert isinstance(error, ClientException)
    assert (error.code, error.status_code) == ("InvalidParameter", 400)


def test_family_resolves_to_newest_available_then_rolls_back(
    emulator: EcsEmulator,
) -> None:
    c = client(emulator)

    def resolve(family: str) -> str | None:
        request = ecs.DescribeImageFromFamilyRequest(
            region_id=REGION, image_family=family
        )
        return c.describe_image_from_family(request).body.image.image_id

    assert resolve("web-base") == "m-webnew01"
    modify(c, "m-webnew01", status="Deprecated")
    assert resolve("web-base") == "m-webold01"
    modify(c, "m-dbonly01", status="Deprecated")
    assert resolve("db-base") is None
    assert resolve("no-such-family") is None


def test_share_permission_pages_accounts_and_lists_groups(
    emulator: EcsEmulator,
) -> None:
    extra = [f"10000000000000{n:02d}" for n in range(11)]
    emulator.share("m-shared01", extra)
    c = client(emulator)

    seen: list[str] = []
    for page in (1, 2, 3):
        body = c.describe_image_share_permission(
            ecs.DescribeImageSharePermissionRequest(
                region_id=REGION, image_id="m-shared01", page_number=page, page_size=5
            )
        ).body
        assert body.total_count == 12 and body.image_id == "m-shared01"
        seen += [account.aliyun_id for account in body.accounts.account]

    assert seen == ["1234567890123456", *extra]
    assert body.accounts.account[0].shared_time.endswith("Z")
    assert body.share_groups.share_group == []


def test_share_permission_of_unknown_image_is_not_found(emulator: EcsEmulator) -> None:
    error = error_of(
        lambda: client(emulator).describe_image_share_permission(
            ecs.DescribeImageSharePermissionRequest(region_id=REGION, image_id="m-nope")
        )
    )

    assert (error.code, error.status_code) == ("InvalidImageId.NotFound", 404)


def test_describe_instances_pages_with_next_token(emulator: EcsEmulator) -> None:
    added = emulator.add_instances("m-inuse01", 150, status="Stopped")
    c = client(emulator)

    seen: list[str] = []
    token = None
    pages = 0
    while True:
        body = c.describe_instances(
            ecs.DescribeInstancesRequest(
                region_id=REGION,
                image_id="m-inuse01",
                max_results=100,
                next_token=token,
            )
        ).body
        pages += 1
        assert body.total_count == 153
        seen += [instance.instance_id for instance in body.instances.instance]
        token = body.next_token
        if not token:
            break

    assert pages == 2
    assert seen == ["i-inuse0001", "i-inuse0002", "i-inuse0003", *added]
    assert body.instances.instance[-1].status == "Stopped"
    assert body.instances.instance[-1].image_id == "m-inuse01"


def test_describe_instances_of_unused_image_is_empty(emulator: EcsEmulator) -> None:
    body = (
        client(emulator)
        .describe_instances(
            ecs.DescribeInstancesRequest(region_id=REGION, image_id="m-plain0001")
        )
        .body
    )

    assert body.total_count == 0 and body.instances.instance == []
    assert not body.next_token


# -- ModifyImageAttribute -----------------------------------------------------------


def test_dry_run_that_passes_answers_dry_run_operation_and_changes_nothing(
    emulator: EcsEmulator,
) -> None:
    before = emulator.image("m-webnew01")

    error = error_of(
        lambda: modify(
            client(emulator), "m-webnew01", status="Deprecated", dry_run=True
        )
    )

    assert isinstance(error, ClientException)
    assert (error.code, error.status_code) == ("DryRunOperation", 400)
    assert error.data["Message"] == (
        "Request validation has been passed with DryRun flag set."
    )
    assert emulator.image("m-webnew01") == before
    assert emulator.count("ModifyImageAttribute", dry_run=True, status=400) == 1


def test_dry_run_that_fails_answers_the_real_error(emulator: EcsEmulator) -> None:
    error = error_of(
        lambda: modify(
            client(emulator), "m-shared01", status="Deprecated", dry_run=True
        )
    )

    assert (error.code, error.status_code) == ("ImageUseShared", 403)


ERROR_CASES = [
    ("m-plain0001", {"region_id": None}, "MissingParameter", 400),
    (None, {"image_name": "renamed"}, "MissingParameter", 400),
    ("m-nope", {"image_name": "renamed"}, "InvalidImageId.NotFound", 404),
    (
        "m-plain0001",
        {"image_name": "1-starts-with-digit"},
        "InvalidImageName.Malformed",
        400,
    ),
    ("m-plain0001", {"image_name": "aliyun-web"}, "InvalidImageName.Malformed", 400),
    ("m-plain0001", {"image_name": "has space"}, "InvalidImageName.Malformed", 400),
    ("m-plain0001", {"image_name": "x"}, "InvalidImageName.Malformed", 400),
    ("m-plain0001", {"image_name": "a" * 129}, "InvalidImageName.Malformed", 400),
    ("m-plain0001", {"image_name": "see-http://x"}, "InvalidImageName.Malformed", 400),
    ("m-plain0001", {"image_name": "web-2026-03"}, "InvalidImageName.Duplicated", 400),
    (
        "m-plain0001",
        {"description": "https://x.example"},
        "InvalidDescription.Malformed",
        400,
    ),
    ("m-plain0001", {"description": "d" * 257}, "InvalidDescription.Malformed", 400),
    ("m-plain0001", {"image_family": "acs:web"}, "InvalidImageFamily.Malformed", 400),
    ("m-plain0001", {"boot_mode": "Legacy"}, "InvalidBootMode.NotSupport", 400),
    ("m-plain0001", {"license_type": "Auto"}, "InvalidLicenseType.NotSupported", 400),
    (
        "m-plain0001",
        {"imds_support": "v3"},
        "InvalidParameter.FeaturesImdsSupport",
        400,
    ),
    ("m-plain0001", {"nvme_support": "yes"}, "InvalidParameter", 400),
    ("m-plain0001", {"status": "deprecated"}, "InvalidParameter", 400),
    ("m-webdep01", {"status": "Deprecated"}, "ImageStatus.NotAvailable", 403),
    ("m-webnew01", {"status": "Available"}, "ImageStatus.NotDeprecated", 403),
    ("m-shared01", {"status": "Deprecated"}, "ImageUseShared", 403),
    ("m-inuse01", {"boot_mode": "UEFI"}, "OperationDeined.ImageUsingByInstance", 403),
    (
        "m-imdsv201",
        {"imds_support": "v1"},
        "InvalidOperation.FeaturesImdsSupportNotMatch",
        403,
    ),
    ("m-creating1", {"image_name": "renamed"}, "InvalidStatus.ImageIsCreating", 403),
]


@pytest.mark.parametrize(("image_id", "fields", "code", "status"), ERROR_CASES)
def test_modify_refuses_with_the_documented_code_and_status(
    emulator: EcsEmulator,
    image_id: str | None,
    fields: dict[str, Any],
    code: str,
    status: int,
) -> None:
    before = {image: emulator.image(image) for image in ("m-plain0001", "m-webnew01")}

    for dry_run in (True, False):
        error = error_of(
            lambda: modify(client(emulator), image_id, dry_run=dry_run, **fields)  # noqa: B023
        )
        assert (error.code, error.status_code) == (code, status)
        assert error.data["Recommend"] == (
            f"https://api.aliyun.com/troubleshoot?q={code}&product=Ecs"
            f"&requestId={error.data['RequestId']}"
        )

    assert {image: emulator.image(image) for image in before} == before


def test_arm64_image_refuses_bios_boot_mode(emulator: EcsEmulator) -> None:
    emulator.add_image({"ImageId": "m-arm00001", "Architecture": "arm64"})
    c = client(emulator)

    error = error_of(lambda: modify(c, "m-arm00001", boot_mode="BIOS"))
    modify(c, "m-arm00001", boot_mode="UEFI")

    assert (error.code, error.status_code) == ("InvalidBootMode.NotSupport", 400)
    assert "architecture" in error.data["Message"]
    assert emulator.image("m-arm00001")["BootMode"] == "UEFI"


def test_family_quotas_are_enforced() -> None:
    with EcsEmulator(
        access_keys={KEY_ID: SECRET}, family_quota=3, region_family_quota=4
    ) as emulator:
        c = client(emulator)
        full_family = error_of(lambda: modify(c, "m-dbonly01", image_family="web-base"))
        full_region = error_of(lambda: modify(c, "m-plain0001", image_family="fresh"))
        modify(c, "m-plain0001", image_family="db-base")

        assert (full_family.code, full_family.status_code) == (
            "ImageQuotaFull.ImageFamily",
            400,
        )
        assert (full_region.code, full_region.status_code) == (
            "ImageFamilyQuotaFull",
            400,
        )
        assert emulator.image("m-plain0001")["ImageFamily"] == "db-base"


def test_modify_applies_every_attribute_and_reads_show_it(
    emulator: EcsEmulator,
) -> None:
    c = client(emulator)

    response = modify(
        c,
        "m-plain0001",
        image_name="plain-2026.04:final",
        description="Rebuilt with the NVMe driver (驱动)",
        image_family="plain-base",
        boot_mode="UEFI-Preferred",
        license_type="BYOL",
        nvme_support="supported",
        imds_support="v2",
    )
    image = (
        c.describe_images(
            ecs.DescribeImagesRequest(region_id=REGION, image_id="m-plain0001")
        )
        .body.images.image[0]
        .to_map()
    )

    assert response.status_code == 200 and response.body.request_id
    assert image["ImageName"] == "plain-2026.04:final"
    assert image["Description"] == "Rebuilt with the NVMe driver (驱动)"
    assert image["ImageFamily"] == "plain-base"
    assert image["BootMode"] == "UEFI-Preferred"
    assert image["LicenseType"] == "BYOL"
    assert image["Features"] == {"NvmeSupport": "supported", "ImdsSupport": "v2"}


def test_deprecate_and_restore_round_trip(emulator: EcsEmulator) -> None:
    c = client(emulator)

    modify(c, "m-webnew01", status="Deprecated")
    hidden, _ = all_images(c, 100, image_family="web-base")
    modify(c, "m-webnew01", status="Available")
    shown, _ = all_images(c, 100, image_family="web-base")

    assert hidden == ["m-webold01"]
    assert shown == ["m-webnew01", "m-webold01"]


def test_unsharing_allows_deprecation(emulator: EcsEmulator) -> None:
    c = client(emulator)
    assert emulator.image("m-shared01")["IsSelfShared"] == "True"

    emulator.unshare("m-shared01")
    modify(c, "m-shared01", status="Deprecated")

    assert emulator.image("m-shared01")["Status"] == "Deprecated"
    assert emulator.image("m-shared01")["IsSelfShared"] == "False"


def test_out_of_band_change_is_what_the_next_read_sees(emulator: EcsEmulator) -> None:
    emulator.set_image(
        "m-webold01", Description="Changed by hand", Features={"ImdsSupport": "v2"}
    )

    image = emulator.image("m-webold01")
    error = error_of(lambda: modify(client(emulator), "m-webold01", imds_support="v1"))

    assert image["Description"] == "Changed by hand"
    assert image["Features"] == {"NvmeSupport": "supported", "ImdsSupport": "v2"}
    assert error.code == "InvalidOperation.FeaturesImdsSupportNotMatch"


def test_regions_are_separate_tables(tmp_path: Path) -> None:
    seed = {
        "images": [
            {"ImageId": "m-sh000001", "RegionId": "cn-shanghai", "ImageName": "same"},
            {"ImageId": "m-hz000001", "ImageName": "same"},
        ]
    }
    with EcsEmulator(seed=seed, access_keys={KEY_ID: SECRET}) as emulator:
        c = client(emulator)
        shanghai = c.describe_images(ecs.DescribeImagesRequest(region_id="cn-shanghai"))
        missing = error_of(
            lambda: modify(c, "m-sh000001", region_id=REGION, description="moved")
        )
        modify(c, "m-sh000001", region_id="cn-shanghai", description="here")

        assert [i.image_id for i in shanghai.body.images.image] == ["m-sh000001"]
        assert missing.code == "InvalidImageId.NotFound"
        assert emulator.image("m-sh000001", "cn-shanghai")["Description"] == "here"


# -- signatures ------------------------------------------------------------------------


def describe(c: Client) -> Any:
    return c.describe_images(ecs.DescribeImagesRequest(region_id=REGION))


def test_wrong_secret_is_signature_does_not_match(emulator: EcsEmulator) -> None:
    for v1 in (False, True):
        error = error_of(lambda: describe(client(emulator, secret="nope", v1=v1)))  # noqa: B023

        assert (error.code, error.status_code) == ("SignatureDoesNotMatch", 400)


def test_unknown_key_id_is_not_found(emulator: EcsEmulator) -> None:
    for v1 in (False, True):
        error = error_of(lambda: describe(client(emulator, key_id="stranger", v1=v1)))  # noqa: B023

        assert (error.code, error.status_code) == ("InvalidAccessKeyId.NotFound", 404)


def test_v1_signed_requests_are_accepted(emulator: EcsEmulator) -> None:
    c = client(emulator, v1=True)

    modify(c, "m-plain0001", image_name="旧签名-image")

    assert describe(c).body.total_count == 7
    assert emulator.image("m-plain0001")["ImageName"] == "旧签名-image"


def test_demo_keys_are_the_default() -> None:
    with EcsEmulator() as emulator:
        body = describe(
            client(emulator, key_id=DEMO_ACCESS_KEY_ID, secret=DEMO_ACCESS_KEY_SECRET)
        ).body
        refused = error_of(lambda: describe(client(emulator)))

    assert body.total_count == 7
    assert refused.code == "InvalidAccessKeyId.NotFound"


def test_keys_come_from_the_environment_only_as_a_pair() -> None:
    pair = {"ALIBABA_CLOUD_ACCESS_KEY_ID": "id", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "s"}

    assert keys_from_env(pair) == {"id": "s"}
    assert keys_from_env({"ALIBABA_CLOUD_ACCESS_KEY_ID": "id"}) == {
        DEMO_ACCESS_KEY_ID: DEMO_ACCESS_KEY_SECRET
    }


def test_each_call_logs_one_line_without_the_secret(
    emulator: EcsEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.sandbox.ecs_emulator")

    error_of(lambda: modify(client(emulator), "m-webdep01", status="Deprecated"))

    lines = [r.getMessage() for r in caplog.records if r.name.endswith("ecs_emulator")]
    assert len(lines) == 1
    assert "ModifyImageAttribute" in lines[0] and "403" in lines[0]
    assert "ImageStatus.NotAvailable" in lines[0]
    assert SECRET not in caplog.text


# -- hand-made requests ----------------------------------------------------------------


def v1_params(params: dict[str, str], method: str = "POST") -> dict[str, str]:
    signed = {
        "Format": "JSON",
        "Version": "2014-05-26",
        "AccessKeyId": KEY_ID,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": uuid.uuid4().hex,
        "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **params,
    }
    joined = "&".join(
        f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in sorted(signed.items())
    )
    to_sign = f"{method}&%2F&{quote(joined, safe='~')}"
    digest = hmac.new(f"{SECRET}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return {**signed, "Signature": base64.b64encode(digest).decode()}


def send(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    body: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], dict[str, Any]]:
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    raw = response.read()
    return response.status, dict(response.getheaders()), json.loads(raw)


def test_form_body_and_lower_case_booleans_are_accepted(emulator: EcsEmulator) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=5)
    params = v1_params(
        {
            "Action": "ModifyImageAttribute",
            "RegionId": REGION,
            "ImageId": "m-plain0001",
            "ImageName": "form body",  # a space: refused by the naming rule
            "DryRun": "true",
        }
    )
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    status, headers, body = send(conn, "POST", "/", urlencode(params), form)
    params = v1_params(
        {
            "Action": "ModifyImageAttribute",
            "RegionId": REGION,
            "ImageId": "m-plain0001",
            "ImageName": "form-body",
            "DryRun": "true",
        }
    )
    dry_status, _, dry_body = send(conn, "POST", "/", urlencode(params), form)
    conn.close()

    assert (status, body["Code"]) == (400, "InvalidImageName.Malformed")
    assert headers["Content-Type"] == "application/json;charset=utf-8"
    assert set(body) == {"RequestId", "HostId", "Code", "Message", "Recommend"}
    assert (dry_status, dry_body["Code"]) == (400, "DryRunOperation")
    assert emulator.image("m-plain0001")["ImageName"] == "plain-image"


def test_get_with_query_parameters_is_served_on_one_keep_alive_connection(
    emulator: EcsEmulator,
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=5)

    answers = []
    for _ in range(3):
        params = v1_params(
            {"Action": "DescribeImages", "RegionId": REGION, "Status": "ALL"}, "GET"
        )
        answers.append(send(conn, "GET", "/?" + urlencode(params)))
        assert conn.sock is not None  # still the same open connection
    conn.close()

    assert [(status, body["TotalCount"]) for status, _, body in answers] == [
        (200, 9)
    ] * 3
    assert all(int(headers["Content-Length"]) > 0 for _, headers, _ in answers)


def test_unknown_action_and_missing_signature_are_json_errors(
    emulator: EcsEmulator,
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=5)
    unknown = v1_params({"Action": "DeleteEverything", "RegionId": REGION})

    action = send(conn, "POST", "/?" + urlencode(unknown))
    unsigned = send(conn, "POST", "/?Action=DescribeImages&Version=2014-05-26")
    bad_version = send(
        conn,
        "POST",
        "/?"
        + urlencode(v1_params({"Action": "DescribeImages", "Version": "2099-01-01"})),
    )
    conn.close()

    assert (action[0], action[2]["Code"]) == (404, "InvalidAction.NotFound")
    assert (unsigned[0], unsigned[2]["Code"]) == (400, "MissingParameter")
    assert (bad_version[0], bad_version[2]["Code"]) == (400, "InvalidVersion")


# -- faults ----------------------------------------------------------------------------


def test_throttle_fault_is_a_client_error_and_counts_down(
    emulator: EcsEmulator,
) -> None:
    emulator.inject("DescribeImages", "throttle", times=1)
    c = client(emulator)

    error = error_of(lambda: describe(c))
    after = describe(c)

    assert isinstance(error, ClientException)
    assert (error.code, error.status_code) == ("Throttling.User", 400)
    assert after.body.total_count == 7
    assert emulator.count("DescribeImages", status=400) == 1


def test_throttle_with_retry_after_is_a_throttling_exception(
    emulator: EcsEmulator,
) -> None:
    emulator.inject("*", "throttle", retry_after_ms=1500)

    error = error_of(lambda: describe(client(emulator)))

    assert isinstance(error, ThrottlingException)
    assert error.retry_after == 1500


@pytest.mark.parametrize(
    ("fault", "code", "status"),
    [("5xx", "ServiceUnavailable", 503), ("500", "InternalError", 500)],
)
def test_server_faults_on_modify_apply_nothing(
    emulator: EcsEmulator, fault: str, code: str, status: int
) -> None:
    emulator.inject("ModifyImageAttribute", fault)

    error = error_of(
        lambda: modify(client(emulator), "m-webnew01", status="Deprecated")
    )

    assert isinstance(error, ServerException)
    assert (error.code, error.status_code) == (code, status)
    assert emulator.image("m-webnew01")["Status"] == "Available"


def test_drop_fault_closes_the_connection_without_an_answer(
    emulator: EcsEmulator,
) -> None:
    emulator.inject("ModifyImageAttribute", "drop", times=1)
    c = client(emulator)

    error = error_of(lambda: modify(c, "m-webnew01", status="Deprecated"))

    assert isinstance(error, UnretryableException) and error.code is None
    assert emulator.image("m-webnew01")["Status"] == "Available"
    assert emulator.count("ModifyImageAttribute", status=0) == 1


@pytest.mark.parametrize("fault", ["apply-then-5xx", "apply-then-drop"])
def test_apply_then_fail_faults_leave_the_change_applied(
    emulator: EcsEmulator, fault: str
) -> None:
    emulator.inject("ModifyImageAttribute", fault, times=1)
    c = client(emulator)

    preview = error_of(
        lambda: modify(c, "m-webnew01", status="Deprecated", dry_run=True)
    )
    error = error_of(lambda: modify(c, "m-webnew01", status="Deprecated"))

    expected = ServerException if fault == "apply-then-5xx" else UnretryableException
    assert preview.code == "DryRunOperation"
    assert isinstance(error, expected)
    assert emulator.image("m-webnew01")["Status"] == "Deprecated"


def test_non_json_fault_breaks_sdk_parsing(emulator: EcsEmulator) -> None:
    emulator.inject("DescribeImages", "non-json")

    error = error_of(lambda: describe(client(emulator)))

    assert isinstance(error, UnretryableException)


def test_latency_fault_and_global_latency_delay_answers(emulator: EcsEmulator) -> None:
    c = client(emulator)
    emulator.inject("DescribeImages", "latency", latency_ms=150, times=1)
    emulator.latency_ms = 100

    started = time.perf_counter()
    describe(c)
    first = time.perf_counter() - started
    emulator.latency_ms = 0
    started = time.perf_counter()
    describe(c)
    second = time.perf_counter() - started

    assert first >= 0.25
    assert second < first


def test_slow_fault_outlasts_the_client_timeout(emulator: EcsEmulator) -> None:
    emulator.inject("DescribeImages", "slow", latency_ms=3000, times=1)

    started = time.perf_counter()
    error = error_of(lambda: describe(client(emulator, read_timeout=200)))

    assert isinstance(error, UnretryableException)
    assert time.perf_counter() - started < 2.5


def test_clear_faults_restores_normal_answers(emulator: EcsEmulator) -> None:
    emulator.inject("*", "5xx")
    emulator.clear_faults()

    assert describe(client(emulator)).body.total_count == 7


def test_inject_refuses_unknown_faults(emulator: EcsEmulator) -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        emulator.inject("*", "explode")


# -- performance and concurrency -------------------------------------------------------


def test_one_sdk_round_trip_is_fast(emulator: EcsEmulator) -> None:
    c = client(emulator)
    describe(c)
    timings = []
    for _ in range(20):
        started = time.perf_counter()
        describe(c)
        timings.append(time.perf_counter() - started)

    median_ms = statistics.median(timings) * 1000
    print(f"median SDK round trip: {median_ms:.2f} ms")
    assert median_ms < 1000


def test_concurrent_callers_are_all_answered(emulator: EcsEmulator) -> None:
    results: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        c = client(emulator)
        for _ in range(5):
            total = describe(c).body.total_count
            with lock:
                results.append(total)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert results == [7] * 20
    assert emulator.count("DescribeImages", status=200) == 20


# -- seed file and command line --------------------------------------------------------


def test_seed_file_replaces_the_demo(tmp_path: Path) -> None:
    seed = {
        "images": [
            {
                "ImageId": "m-seed0001",
                "ImageName": "seeded",
                "ImageFamily": "seed-base",
                "CreationTime": "2026-04-01T00:00:00Z",
            },
            {
                "ImageId": "m-seed0002",
                "Status": "Deprecated",
                "ImageFamily": "seed-base",
            },
        ],
        "instances": [{"InstanceId": "i-seed1", "ImageId": "m-seed0001"}],
        "shares": {"m-seed0001": {"accounts": ["1111222233334444"], "groups": ["all"]}},
    }
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed), encoding="utf-8")

    with EcsEmulator(
        seed=json.loads(path.read_text(encoding="utf-8")), access_keys={KEY_ID: SECRET}
    ) as emulator:
        ids, total = all_images(client(emulator), 10, status="ALL")
        image = emulator.image("m-seed0001")

    # m-seed0002 has no CreationTime, so it was created "now": the newest.
    assert total == 2 and ids == ["m-seed0002", "m-seed0001"]
    assert image["Usage"] == "instance" and image["IsSelfShared"] == "True"
    assert image["BootMode"] == "BIOS" and image["Features"]["ImdsSupport"] == "v1"
    with pytest.raises(KeyError):
        EcsEmulator(seed={}).image("m-webnew01")


def test_help_explains_seeding_latency_faults_and_keys(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        serve(["--help"])

    text = capsys.readouterr().out
    assert exit_info.value.code == 0
    for phrase in ("--seed", "--latency-ms", "ACTION:FAULT", "apply-then-5xx"):
        assert phrase in text
    assert DEMO_ACCESS_KEY_ID in text and "ALIBABA_CLOUD_ACCESS_KEY_ID" in text


def test_parse_fault_reads_action_fault_and_times() -> None:
    assert parse_fault("ModifyImageAttribute:5xx:2") == (
        "ModifyImageAttribute",
        "5xx",
        {"times": 2},
    )
    assert parse_fault("*:throttle=500") == ("*", "throttle", {"retry_after_ms": 500})
    assert parse_fault("*:latency=20") == ("*", "latency", {"latency_ms": 20.0})
    for bad in ("ModifyImageAttribute", "*:boom", "*:5xx:x", "*:latency"):
        with pytest.raises(ValueError):
            parse_fault(bad)


def test_serve_refuses_a_broken_seed_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "seed.json"
    path.write_text("[1, 2]", encoding="utf-8")

    assert serve(["--seed", str(path), "--port", "0"]) == 2
    assert "seed" in capsys.readouterr().err


def test_serve_runs_until_sigterm_with_seed_and_faults(tmp_path: Path) -> None:
    seed_path = tmp_path / "seed.json"
    seed_path.write_text(json.dumps({"images": [{"ImageId": "m-cli00001"}]}), "utf-8")
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("ALIBABA_CLOUD_ACCESS")
    }
    code = "from bot.sandbox.ecs_emulator import serve; raise SystemExit(serve())"
    args = ["--port", "0", "--seed", str(seed_path), "--fail", "DescribeImages:5xx:1"]
    process = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        port = int(line.split("http://127.0.0.1:")[1].split()[0])
        config = oa.Config(
            endpoint=f"127.0.0.1:{port}",
            protocol="http",
            access_key_id=DEMO_ACCESS_KEY_ID,
            access_key_secret=DEMO_ACCESS_KEY_SECRET,
            region_id=REGION,
        )
        c = Client(config)
        first = error_of(lambda: describe(c))
        second = describe(c)
    finally:
        process.send_signal(signal.SIGTERM)
        returncode = process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()

    assert DEMO_ACCESS_KEY_ID in line
    assert first.code == "ServiceUnavailable"
    assert [i.image_id for i in second.body.images.image] == ["m-cli00001"]
    assert returncode == 0
