"""EcsGateway through the real Alibaba SDK against the local ECS emulator."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bot.config import Settings
from bot.ecs import (
    BAD_RESPONSE,
    CONNECTION_LOST,
    DRY_RUN_IGNORED,
    TIMEOUT,
    UNREACHABLE,
    EcsError,
    EcsGateway,
    _split_endpoint,
    explain,
)
from bot.model import DryRun, Outcome
from bot.sandbox.ecs_emulator import (
    DEMO_ACCESS_KEY_ID,
    DEMO_ACCESS_KEY_SECRET,
    EcsEmulator,
)

REGION = "cn-hangzhou"
MODIFY = "ModifyImageAttribute"


@pytest.fixture(scope="module")
def port() -> int:
    # One port for every emulator here: the SDK builds an HTTP session (and a TLS
    # context, ~0.3 s) per host:port, so a fresh port per test would dominate.
    return _closed_port()


@pytest.fixture
def emulator(port: int) -> Iterator[EcsEmulator]:
    with EcsEmulator(port=port) as server:
        yield server


def _gateway(server: EcsEmulator, **options: Any) -> EcsGateway:
    settings: dict[str, Any] = {
        "endpoint": server.endpoint,
        "access_key_id": DEMO_ACCESS_KEY_ID,
        "access_key_secret": DEMO_ACCESS_KEY_SECRET,
        "backoff_ms": 1,
        "max_backoff_ms": 5,
        "read_timeout_ms": 3000,
    }
    settings.update(options)
    return EcsGateway(**settings)


@pytest.fixture
def gateway(emulator: EcsEmulator) -> Iterator[EcsGateway]:
    gw = _gateway(emulator)
    yield gw
    gw.close()


def _wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- module hygiene -----------------------------------------------------------


def test_importing_the_gateway_does_not_load_the_sdk() -> None:
    code = (
        "import sys, bot.ecs\n"
        "loaded = [m for m in sys.modules if m.startswith("
        "('alibabacloud', 'darabonba', 'Tea'))]\n"
        "print(loaded)\n"
    )
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("http://127.0.0.1:18080", ("127.0.0.1:18080", "http")),
        ("https://ecs.example.com:8443/", ("ecs.example.com:8443", "https")),
        ("ecs-cn-hangzhou.aliyuncs.com", ("ecs-cn-hangzhou.aliyuncs.com", "https")),
    ],
)
def test_endpoint_scheme_picks_the_protocol(
    raw: str, expected: tuple[str, str]
) -> None:
    assert _split_endpoint(raw) == expected


def test_without_endpoint_each_region_gets_its_own_cached_regional_client() -> None:
    gw = EcsGateway(access_key_id="id", access_key_secret="secret")
    hangzhou = gw._client("cn-hangzhou")
    shanghai = gw._client("cn-shanghai")

    assert gw._client("cn-hangzhou") is hangzhou
    assert hangzhou is not shanghai
    assert hangzhou._endpoint == "ecs-cn-hangzhou.aliyuncs.com"
    assert shanghai._endpoint == "ecs.cn-shanghai.aliyuncs.com"
    gw.close()


def test_from_settings_uses_the_configured_endpoint_and_keys(
    emulator: EcsEmulator,
) -> None:
    settings = Settings(
        ecs_endpoint=emulator.endpoint,
        access_key_id=DEMO_ACCESS_KEY_ID,
        access_key_secret=DEMO_ACCESS_KEY_SECRET,
    )
    gw = EcsGateway.from_settings(settings)

    assert gw.image(REGION, "m-plain0001").name == "plain-image"
    assert DEMO_ACCESS_KEY_SECRET not in repr(gw)
    gw.close()


# -- reads --------------------------------------------------------------------


def test_image_reads_any_status_with_its_attributes(gateway: EcsGateway) -> None:
    deprecated = gateway.image(REGION, "m-webdep01")
    creating = gateway.image(REGION, "m-creating1")
    hardened = gateway.image(REGION, "m-imdsv201")
    shared = gateway.image(REGION, "m-shared01")
    in_use = gateway.image(REGION, "m-inuse01")

    assert (deprecated.status, deprecated.family) == ("Deprecated", "web-base")
    assert (creating.status, creating.progress) == ("Creating", "45%")
    assert (hardened.imds_support, hardened.nvme_support) == ("v2", "supported")
    assert shared.is_self_shared and not hardened.is_self_shared
    assert in_use.usage == "instance" and in_use.boot_mode == "BIOS"
    assert deprecated.region == REGION
    assert deprecated.creation_time == "2026-02-10T08:00:00Z"


def test_unknown_image_raises_not_found(gateway: EcsGateway) -> None:
    with pytest.raises(EcsError) as caught:
        gateway.image(REGION, "m-nosuch001")

    assert caught.value.code == "InvalidImageId.NotFound"
    assert caught.value.http_status == 404
    assert not caught.value.transient
    assert "m-nosuch001" in caught.value.message


def test_family_images_are_newest_first_and_filtered_by_status(
    gateway: EcsGateway,
) -> None:
    available = gateway.family_images(REGION, "web-base")
    every = gateway.family_images(REGION, "web-base", ("Available", "Deprecated"))

    assert [i.image_id for i in available] == ["m-webnew01", "m-webold01"]
    assert [i.image_id for i in every] == ["m-webnew01", "m-webdep01", "m-webold01"]
    assert gateway.family_images(REGION, "no-such-family") == []


def test_family_images_reads_every_page(
    emulator: EcsEmulator, gateway: EcsGateway
) -> None:
    for n in range(120):
        emulator.add_image(
            {
                "ImageId": f"m-batch{n:05d}",
                "ImageFamily": "batch-base",
                "CreationTime": f"2026-01-01T{n // 60:02d}:{n % 60:02d}:00Z",
            }
        )

    images = gateway.family_images(REGION, "batch-base")

    assert len(images) == 120
    assert images[0].image_id == "m-batch00119"
    assert images[-1].image_id == "m-batch00000"
    assert emulator.count("DescribeImages") == 2


def test_list_images_reads_pages_up_to_its_limit_in_any_listed_status(
    emulator: EcsEmulator, gateway: EcsGateway
) -> None:
    for n in range(150):
        emulator.add_image({"ImageId": f"m-many{n:05d}", "ImageFamily": "many"})

    every = gateway.list_images(REGION)
    capped = gateway.list_images(REGION, most=100)

    ids = {i.image_id for i in every}
    assert {"m-webdep01", "m-webnew01", "m-many00149"} <= ids
    assert "m-creating1" not in ids
    assert len(capped) == 100
    assert next(i for i in every if i.image_id == "m-webdep01").family == "web-base"


def test_resolve_family_gives_the_newest_available_image(
    gateway: EcsGateway,
) -> None:
    resolved = gateway.resolve_family(REGION, "web-base")

    assert resolved is not None
    assert resolved.image_id == "m-webnew01"
    assert resolved.family == "web-base"


def test_resolve_family_is_none_without_an_available_image(
    emulator: EcsEmulator, gateway: EcsGateway
) -> None:
    emulator.set_image("m-dbonly01", Status="Deprecated")

    assert gateway.resolve_family(REGION, "db-base") is None
    assert gateway.resolve_family(REGION, "never-heard-of") is None


def test_shared_with_lists_accounts_and_groups_over_pages(
    emulator: EcsEmulator, gateway: EcsGateway
) -> None:
    accounts = [f"{n:016d}" for n in range(150)]
    emulator.share("m-plain0001", accounts)

    assert gateway.shared_with(REGION, "m-shared01") == ["1234567890123456"]
    assert gateway.shared_with(REGION, "m-plain0001") == accounts
    assert gateway.shared_with(REGION, "m-webnew01") == []


def test_shared_with_includes_share_groups(port: int) -> None:
    seed = {
        "images": [{"ImageId": "m-community1"}],
        "shares": {
            "m-community1": {"accounts": ["1111222233334444"], "groups": ["all"]}
        },
    }
    with EcsEmulator(seed=seed, port=port) as server:
        gw = _gateway(server)
        assert gw.shared_with(REGION, "m-community1") == ["1111222233334444", "all"]
        gw.close()


def test_instances_using_follows_next_token_over_every_page(
    emulator: EcsEmulator, gateway: EcsGateway
) -> None:
    launched = emulator.add_instances("m-plain0001", 250)

    found = gateway.instances_using(REGION, "m-plain0001")

    assert sorted(found) == sorted(launched)
    assert emulator.count("DescribeInstances") == 3
    assert len(gateway.instances_using(REGION, "m-inuse01")) == 3
    assert gateway.instances_using(REGION, "m-webnew01") == []


def test_twenty_concurrent_reads_all_succeed(emulator: EcsEmulator) -> None:
    emulator.latency_ms = 20
    gw = _gateway(emulator)

    with ThreadPoolExecutor(max_workers=20) as pool:
        images = list(pool.map(lambda _: gw.image(REGION, "m-webnew01"), range(20)))

    assert {i.image_id for i in images} == {"m-webnew01"}
    assert emulator.count("DescribeImages", status=200) == 20
    gw.close()


# -- dry run and write ----------------------------------------------------------


def test_dry_run_passes_without_changing_the_image(
    emulator: EcsEmulator, gateway: EcsGateway
) -> None:
    result = gateway.dry_run(REGION, "m-plain0001", {"name": "plain-renamed"})

    assert result == DryRun(passed=True)
    assert emulator.image("m-plain0001")["ImageName"] == "plain-image"
    assert emulator.count(MODIFY, dry_run=True) == 1
    assert emulator.count(MODIFY, dry_run=False) == 0


def test_dry_run_failure_carries_the_code_and_an_explanation(
    gateway: EcsGateway,
) -> None:
    result = gateway.dry_run(REGION, "m-shared01", {"status": "Deprecated"})

    assert not result.passed
    assert result.code == "ImageUseShared"
    assert result.message == explain(
        "ImageUseShared", image_id="m-shared01", region=REGION
    )


def test_dry_run_answered_with_success_is_not_a_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class IgnoresDryRun:
        def modify_image_attribute(self, request: Any) -> Any:
            assert request.dry_run is True
            return SimpleNamespace(body=SimpleNamespace(request_id="r-1"))

    gw = EcsGateway(
        endpoint="http://127.0.0.1:9", access_key_id="a", access_key_secret="b"
    )
    monkeypatch.setattr(gw, "_client", lambda region: IgnoresDryRun())

    result = gw.dry_run(REGION, "m-plain0001", {"name": "plain-2026"})

    assert (result.passed, result.code) == (False, DRY_RUN_IGNORED)
    assert "m-plain0001" in result.message


def test_modify_succeeds_and_the_next_read_shows_it(
    emulator: EcsEmulator, gateway: EcsGateway
) -> None:
    changes = {
        "name": "plain-2026",
        "description": "Patched kernel",
        "family": "plain-base",
        "nvme": "supported",
        "imds": "v2",
        "boot-mode": "UEFI",
        "license": "BYOL",
    }

    result = gateway.modify(REGION, "m-plain0001", changes)
    image = gateway.image(REGION, "m-plain0001")

    assert result.outcome is Outcome.SUCCEEDED
    assert result.ecs_request_id == emulator.calls[-2].request_id
    assert (image.name, image.description, image.family) == (
        "plain-2026",
        "Patched kernel",
        "plain-base",
    )
    assert (image.nvme_support, image.imds_support) == ("supported", "v2")
    assert (image.boot_mode, image.license_type) == ("UEFI", "BYOL")
    sent = emulator.calls[-2].params
    assert sent["Features.NvmeSupport"] == "supported"
    assert sent["Features.ImdsSupport"] == "v2"


def test_deprecate_then_restore(emulator: EcsEmulator, gateway: EcsGateway) -> None:
    first = gateway.modify(REGION, "m-webnew01", {"status": "Deprecated"})
    assert gateway.resolve_family(REGION, "web-base").image_id == "m-webold01"  # type: ignore[union-attr]

    second = gateway.modify(REGION, "m-webnew01", {"status": "Available"})

    assert (first.outcome, second.outcome) == (Outcome.SUCCEEDED, Outcome.SUCCEEDED)
    assert emulator.image("m-webnew01")["Status"] == "Available"


# Each documented ModifyImageAttribute error, driven through the emulator's own rules.
DOCUMENTED_ERRORS = [
    ("m-plain0001", {"name": "9lives"}, "InvalidImageName.Malformed"),
    ("m-webold01", {"name": "web-2026-03"}, "InvalidImageName.Duplicated"),
    (
        "m-plain0001",
        {"description": "https://x.example"},
        "InvalidDescription.Malformed",
    ),
    ("m-plain0001", {"family": "acs:web"}, "InvalidImageFamily.Malformed"),
    ("m-plain0001", {"boot-mode": "EFI"}, "InvalidBootMode.NotSupport"),
    ("m-plain0001", {"license": "Auto"}, "InvalidLicenseType.NotSupported"),
    ("m-plain0001", {"imds": "v3"}, "InvalidParameter.FeaturesImdsSupport"),
    ("m-plain0001", {"status": "Gone"}, "InvalidParameter"),
    ("m-webdep01", {"status": "Deprecated"}, "ImageStatus.NotAvailable"),
    ("m-webnew01", {"status": "Available"}, "ImageStatus.NotDeprecated"),
    ("m-shared01", {"status": "Deprecated"}, "ImageUseShared"),
    ("m-inuse01", {"boot-mode": "UEFI"}, "OperationDeined.ImageUsingByInstance"),
    ("m-imdsv201", {"imds": "v1"}, "InvalidOperation.FeaturesImdsSupportNotMatch"),
    ("m-creating1", {"name": "renamed"}, "InvalidStatus.ImageIsCreating"),
    ("m-nosuch001", {"name": "renamed"}, "InvalidImageId.NotFound"),
]


@pytest.mark.parametrize(("image_id", "changes", "code"), DOCUMENTED_ERRORS)
def test_documented_error_fails_the_write_with_its_code(
    emulator: EcsEmulator,
    gateway: EcsGateway,
    image_id: str,
    changes: dict[str, str],
    code: str,
) -> None:
    before = emulator.image(image_id) if image_id != "m-nosuch001" else None

    result = gateway.modify(REGION, image_id, changes)
    preview = gateway.dry_run(REGION, image_id, changes)

    assert result.outcome is Outcome.FAILED
    assert result.code == code
    assert result.message == explain(code, image_id=image_id, region=REGION)
    assert result.ecs_request_id
    assert (preview.passed, preview.code) == (False, code)
    assert emulator.count(MODIFY, dry_run=False) == 1
    if before is not None:
        assert emulator.image(image_id) == before


def test_missing_region_fails_with_missing_parameter(
    emulator: EcsEmulator, gateway: EcsGateway
) -> None:
    result = gateway.modify("", "m-plain0001", {"name": "plain-2026"})

    assert (result.outcome, result.code) == (Outcome.FAILED, "MissingParameter")
    assert emulator.image("m-plain0001")["ImageName"] == "plain-image"


def test_family_quotas_fail_the_write(port: int) -> None:
    # The demo seed holds four families; web-base has three images.
    with EcsEmulator(family_quota=3, region_family_quota=4, port=port) as server:
        gw = _gateway(server)
        full_family = gw.modify(REGION, "m-plain0001", {"family": "web-base"})
        full_region = gw.modify(REGION, "m-plain0001", {"family": "brand-new"})
        gw.close()

    assert (full_family.outcome, full_family.code) == (
        Outcome.FAILED,
        "ImageQuotaFull.ImageFamily",
    )
    assert (full_region.outcome, full_region.code) == (
        Outcome.FAILED,
        "ImageFamilyQuotaFull",
    )


def test_modify_without_changes_is_a_programming_error(gateway: EcsGateway) -> None:
    with pytest.raises(ValueError):
        gateway.modify(REGION, "m-plain0001", {})


# -- credentials ------------------------------------------------------------------


def test_wrong_secret_is_a_signature_error_and_not_retried(
    emulator: EcsEmulator,
) -> None:
    gw = _gateway(emulator, access_key_secret="not-the-secret")

    with pytest.raises(EcsError) as caught:
        gw.image(REGION, "m-plain0001")
    write = gw.modify(REGION, "m-plain0001", {"name": "plain-2026"})
    preview = gw.dry_run(REGION, "m-plain0001", {"name": "plain-2026"})

    assert caught.value.code == "SignatureDoesNotMatch"
    assert not caught.value.transient
    assert "secret" in caught.value.message
    assert (write.outcome, write.code) == (Outcome.FAILED, "SignatureDoesNotMatch")
    assert (preview.passed, preview.code) == (False, "SignatureDoesNotMatch")
    assert emulator.count("DescribeImages") == 1
    assert emulator.image("m-plain0001")["ImageName"] == "plain-image"
    gw.close()


def test_unknown_access_key_id_is_reported(emulator: EcsEmulator) -> None:
    gw = _gateway(emulator, access_key_id="nobody")

    write = gw.modify(REGION, "m-plain0001", {"name": "plain-2026"})

    assert (write.outcome, write.code) == (
        Outcome.FAILED,
        "InvalidAccessKeyId.NotFound",
    )
    assert "AccessKey" in write.message
    gw.close()


def test_no_credentials_anywhere_fails_before_sending(emulator: EcsEmulator) -> None:
    home_file = Path.home() / ".alibabacloud" / "credentials.ini"
    chain = ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_CREDENTIALS_FILE")
    if home_file.exists() or any(os.environ.get(name) for name in chain):
        pytest.skip("this machine has Alibaba credentials in its default chain")
    gw = _gateway(emulator, access_key_id="", access_key_secret="")

    write = gw.modify(REGION, "m-plain0001", {"name": "plain-2026"})
    with pytest.raises(EcsError) as caught:
        gw.image(REGION, "m-plain0001")

    assert (write.outcome, write.code) == (Outcome.FAILED, "InvalidCredentials")
    assert caught.value.code == "InvalidCredentials"
    assert not caught.value.transient
    assert emulator.calls == []
    gw.close()


# -- retries and faults -------------------------------------------------------------


@pytest.mark.parametrize("fault", ["throttle", "5xx", "500", "drop", "non-json"])
def test_reads_retry_transient_failures(
    emulator: EcsEmulator, gateway: EcsGateway, fault: str
) -> None:
    emulator.inject("DescribeImages", fault, times=2)

    image = gateway.image(REGION, "m-webnew01")

    assert image.image_id == "m-webnew01"
    assert emulator.count("DescribeImages") == 3


def test_reads_give_up_after_the_configured_attempts(emulator: EcsEmulator) -> None:
    gw = _gateway(emulator, read_attempts=3)
    emulator.inject("DescribeImageSharePermission", "5xx")

    with pytest.raises(EcsError) as caught:
        gw.shared_with(REGION, "m-shared01")

    assert caught.value.code == "ServiceUnavailable"
    assert caught.value.transient
    assert caught.value.http_status == 503
    assert caught.value.request_id
    assert emulator.count("DescribeImageSharePermission") == 3
    gw.close()


def test_dry_run_retries_throttling_then_passes(
    emulator: EcsEmulator, gateway: EcsGateway
) -> None:
    emulator.inject(MODIFY, "throttle", times=2)

    assert gateway.dry_run(REGION, "m-plain0001", {"name": "plain-2026"}).passed
    assert emulator.count(MODIFY, dry_run=True) == 3


def test_dry_run_that_cannot_reach_a_verdict_raises(emulator: EcsEmulator) -> None:
    gw = _gateway(emulator, read_attempts=2)
    emulator.inject(MODIFY, "drop")

    with pytest.raises(EcsError) as caught:
        gw.dry_run(REGION, "m-plain0001", {"name": "plain-2026"})

    assert caught.value.code == CONNECTION_LOST
    assert caught.value.transient
    gw.close()


def test_write_retries_throttling_and_applies_once(
    emulator: EcsEmulator, gateway: EcsGateway
) -> None:
    emulator.inject(MODIFY, "throttle", times=2)

    result = gateway.modify(REGION, "m-plain0001", {"name": "plain-2026"})

    assert result.outcome is Outcome.SUCCEEDED
    assert emulator.count(MODIFY, dry_run=False) == 3
    assert emulator.count(MODIFY, dry_run=False, status=200) == 1
    assert emulator.image("m-plain0001")["ImageName"] == "plain-2026"


def test_write_throttled_on_every_attempt_fails_unapplied(
    emulator: EcsEmulator,
) -> None:
    gw = _gateway(emulator, read_attempts=3)
    emulator.inject(MODIFY, "throttle")

    result = gw.modify(REGION, "m-plain0001", {"name": "plain-2026"})

    assert (result.outcome, result.code) == (Outcome.FAILED, "Throttling.User")
    assert "Wait a minute" in result.message
    assert emulator.count(MODIFY, dry_run=False) == 3
    assert emulator.image("m-plain0001")["ImageName"] == "plain-image"
    gw.close()


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ("apply-then-5xx", "ServiceUnavailable"),
        ("apply-then-drop", CONNECTION_LOST),
    ],
)
def test_write_that_may_have_run_is_unknown_and_never_repeated(
    emulator: EcsEmulator, gateway: EcsGateway, fault: str, code: str
) -> None:
    emulator.inject(MODIFY, fault)

    result = gateway.modify(REGION, "m-plain0001", {"name": "plain-2026"})

    assert (result.outcome, result.code) == (Outcome.UNKNOWN, code)
    assert "may have been applied" in result.message
    assert emulator.count(MODIFY, dry_run=False) == 1
    assert emulator.image("m-plain0001")["ImageName"] == "plain-2026"


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ("5xx", "ServiceUnavailable"),
        ("500", "InternalError"),
        ("non-json", BAD_RESPONSE),
    ],
)
def test_write_answered_with_a_server_error_is_unknown(
    emulator: EcsEmulator, gateway: EcsGateway, fault: str, code: str
) -> None:
    emulator.inject(MODIFY, fault)

    result = gateway.modify(REGION, "m-plain0001", {"name": "plain-2026"})

    assert (result.outcome, result.code) == (Outcome.UNKNOWN, code)
    assert emulator.count(MODIFY, dry_run=False) == 1


def test_write_timeout_is_unknown_and_not_repeated(emulator: EcsEmulator) -> None:
    gw = _gateway(emulator, read_timeout_ms=200)
    emulator.inject(MODIFY, "latency", latency_ms=600)

    started = time.monotonic()
    result = gw.modify(REGION, "m-plain0001", {"name": "plain-2026"})

    assert time.monotonic() - started < 0.55
    assert (result.outcome, result.code) == (Outcome.UNKNOWN, TIMEOUT)
    # The emulator finishes the slow call after the gateway gave up: it did run.
    assert _wait_for(lambda: emulator.count(MODIFY, dry_run=False) == 1)
    assert emulator.image("m-plain0001")["ImageName"] == "plain-2026"
    time.sleep(0.1)
    assert emulator.count(MODIFY, dry_run=False) == 1
    gw.close()


def test_read_timeout_is_transient_after_every_attempt(emulator: EcsEmulator) -> None:
    gw = _gateway(emulator, read_timeout_ms=200, read_attempts=2)
    emulator.inject("DescribeInstances", "latency", latency_ms=600)

    started = time.monotonic()
    with pytest.raises(EcsError) as caught:
        gw.instances_using(REGION, "m-inuse01")

    assert time.monotonic() - started < 0.55
    assert caught.value.code == TIMEOUT
    assert caught.value.transient
    assert _wait_for(lambda: emulator.count("DescribeInstances") == 2)
    gw.close()


def test_unreachable_endpoint_fails_the_write_and_the_read() -> None:
    gw = EcsGateway(
        endpoint=f"http://127.0.0.1:{_closed_port()}",
        access_key_id="id",
        access_key_secret="secret",
        backoff_ms=1,
        max_backoff_ms=2,
    )

    write = gw.modify(REGION, "m-plain0001", {"name": "plain-2026"})
    with pytest.raises(EcsError) as caught:
        gw.image(REGION, "m-plain0001")

    assert (write.outcome, write.code) == (Outcome.FAILED, UNREACHABLE)
    assert caught.value.code == UNREACHABLE and caught.value.transient
    gw.close()


def test_backoff_grows_with_jitter_up_to_the_cap(emulator: EcsEmulator) -> None:
    gw = _gateway(emulator, backoff_ms=100, max_backoff_ms=250)
    sleeps: list[float] = []
    gw._sleep = sleeps.append  # type: ignore[method-assign]
    emulator.inject("DescribeImages", "5xx", times=3)

    gw.image(REGION, "m-plain0001")

    assert len(sleeps) == 3
    assert 0.05 <= sleeps[0] <= 0.1
    assert 0.1 <= sleeps[1] <= 0.2
    assert 0.125 <= sleeps[2] <= 0.25
    gw.close()


def test_retry_after_from_the_server_is_honoured(emulator: EcsEmulator) -> None:
    gw = _gateway(emulator, max_backoff_ms=10000)
    sleeps: list[float] = []
    gw._sleep = sleeps.append  # type: ignore[method-assign]
    emulator.inject(MODIFY, "throttle", times=1, retry_after_ms=1500)

    result = gw.modify(REGION, "m-plain0001", {"name": "plain-2026"})

    assert result.outcome is Outcome.SUCCEEDED
    assert sleeps == [1.5]
    gw.close()


# -- messages and logs ----------------------------------------------------------------

EXPLAINED_CODES = [code for _, _, code in DOCUMENTED_ERRORS] + [
    "MissingParameter",
    "ImageQuotaFull.ImageFamily",
    "ImageFamilyQuotaFull",
    "Throttling",
    "Throttling.User",
    "Throttling.Api",
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId.NotFound",
    "Forbidden.RAM",
    "InvalidCredentials",
    "InternalError",
    "ServiceUnavailable",
    TIMEOUT,
    CONNECTION_LOST,
    UNREACHABLE,
    BAD_RESPONSE,
    DRY_RUN_IGNORED,
]


@pytest.mark.parametrize("code", EXPLAINED_CODES)
def test_every_known_code_has_its_own_explanation(code: str) -> None:
    text = explain(code, image_id="m-abc", region="cn-beijing")

    assert code not in text
    assert "error centre" not in text
    assert "{" not in text
    assert text[0].isupper() and text.endswith(".")


def test_shared_image_explanation_says_how_to_unshare() -> None:
    text = explain("ImageUseShared", image_id="m-abc")

    assert "m-abc" in text
    assert "unshare it (ModifyImageSharePermission) and try again" in text


def test_unknown_code_gets_a_generic_message_naming_the_code() -> None:
    text = explain("QuotaExceeded.Weird", image_id="m-abc")

    assert "QuotaExceeded.Weird" in text
    assert "m-abc" in text


def test_explanation_without_image_or_region_still_reads_well() -> None:
    assert explain("InvalidImageId.NotFound").startswith(
        "The image is not a custom image in this region"
    )
    assert explain("InvalidImageId.NotFound", image_id="m-x1").startswith(
        "Image `m-x1` is not a custom image"
    )


def test_each_call_logs_one_debug_line_and_the_write_one_info_line(
    emulator: EcsEmulator, gateway: EcsGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.ecs")

    gateway.image(REGION, "m-plain0001")
    result = gateway.modify(REGION, "m-plain0001", {"name": "plain-2026"})

    debug = [r for r in caplog.records if r.levelno == logging.DEBUG]
    info = [r for r in caplog.records if r.levelno == logging.INFO]
    assert len(debug) == 2
    assert "DescribeImages" in debug[0].getMessage()
    assert emulator.calls[0].request_id in debug[0].getMessage()
    assert len(info) == 1
    assert result.ecs_request_id in info[0].getMessage()
    assert "SUCCEEDED" in info[0].getMessage()


def test_keys_never_reach_the_logs(
    emulator: EcsEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    gw = _gateway(emulator, access_key_secret="s3cr3t-value")

    gw.modify(REGION, "m-plain0001", {"name": "plain-2026"})
    with pytest.raises(EcsError):
        gw.image(REGION, "m-plain0001")
    good = _gateway(emulator)
    good.modify(REGION, "m-plain0001", {"name": "plain-2026"})

    assert caplog.records
    assert "s3cr3t-value" not in caplog.text
    assert DEMO_ACCESS_KEY_SECRET not in caplog.text
    gw.close()
    good.close()
