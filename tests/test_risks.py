"""What a change could break, judged from the preflight facts alone."""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot import attributes
from bot.model import DryRun, ImageSnapshot, Preflight, Risk, Severity
from bot.risks import assess, is_risky

REGION = "cn-hangzhou"
BLOCKING_CODES = frozenset(
    {
        "creating",
        "dry_run",
        "not_available",
        "shared",
        "not_deprecated",
        "in_use",
        "boot_mode_arch",
        "imds_downgrade",
    }
)
KNOWN_CODES = BLOCKING_CODES | {
    "last_available",
    "rollback",
    "roll_forward",
    "boot_mode",
    "imds_v2",
    "nvme",
}


def image(image_id: str = "m-target", **fields: Any) -> ImageSnapshot:
    base = ImageSnapshot(
        image_id=image_id,
        region=REGION,
        name="web-2026-01",
        family="web-base",
        status="Available",
        creation_time="2026-01-10T00:00:00Z",
        architecture="x86_64",
    )
    return dataclasses.replace(base, **fields)


OLDER = image("m-older", name="web-2025-12", creation_time="2025-12-01T00:00:00Z")
OLDEST = image("m-oldest", name="web-2025-06", creation_time="2025-06-01T00:00:00Z")


def by_code(risks: list[Risk]) -> dict[str, Risk]:
    codes = [r.code for r in risks]
    assert len(codes) == len(set(codes)), codes
    return {r.code: r for r in risks}


def only(risks: list[Risk], code: str) -> Risk:
    assert [r.code for r in risks] == [code]
    return risks[0]


# Images that are not ready.


def test_image_being_created_blocks_any_change_and_shows_progress() -> None:
    for status in ("Creating", "Waiting"):
        facts = Preflight(image(status=status, progress="42%"))

        risk = only(assess({"name": "web-new"}, facts), "creating")

        assert risk.severity is Severity.BLOCK
        assert "m-target" in risk.text
        assert "(42%)" in risk.text


def test_image_being_created_without_progress_shows_no_empty_brackets() -> None:
    risk = only(
        assess({"name": "web-new"}, Preflight(image(status="Creating"))), "creating"
    )

    assert "()" not in risk.text


def test_failed_dry_run_blocks_and_quotes_ecs() -> None:
    facts = Preflight(
        image(),
        dry_run=DryRun(False, "InvalidImageName.Duplicated", "The name is in use."),
    )

    risk = only(assess({"name": "web-new"}, facts), "dry_run")

    assert risk.severity is Severity.BLOCK
    assert "InvalidImageName.Duplicated" in risk.text
    assert "The name is in use." in risk.text


def test_plain_rename_of_a_ready_image_has_no_risks() -> None:
    assert (
        assess({"name": "web-new", "description": "Patched"}, Preflight(image())) == []
    )


# Deprecation.


def test_deprecating_an_image_that_is_not_available_is_blocked() -> None:
    facts = Preflight(image(status="CreateFailed"), family_available=(OLDER,))

    risk = only(assess({"status": "Deprecated"}, facts), "not_available")

    assert risk.severity is Severity.BLOCK
    assert "CreateFailed" in risk.text


def test_deprecating_a_shared_image_is_blocked_and_names_the_accounts() -> None:
    facts = Preflight(
        image(), family_available=(image(), OLDER), shared_with=("1001", "1002")
    )

    risk = by_code(assess({"status": "Deprecated"}, facts))["shared"]

    assert risk.severity is Severity.BLOCK
    assert "1001, 1002" in risk.text
    assert "more" not in risk.text
    assert "ModifyImageSharePermission" in risk.text


def test_shared_risk_lists_five_accounts_and_counts_the_rest() -> None:
    accounts = tuple(f"10{i:02d}" for i in range(8))
    facts = Preflight(image(), family_available=(OLDER,), shared_with=accounts)

    risk = by_code(assess({"status": "Deprecated"}, facts))["shared"]

    assert ", ".join(accounts[:5]) in risk.text
    assert accounts[5] not in risk.text
    assert "and 3 more" in risk.text


def test_shared_risk_with_exactly_five_accounts_has_no_remainder() -> None:
    accounts = tuple(f"10{i:02d}" for i in range(5))
    facts = Preflight(image(), family_available=(OLDER,), shared_with=accounts)

    risk = by_code(assess({"status": "Deprecated"}, facts))["shared"]

    assert accounts[4] in risk.text
    assert "more" not in risk.text


def test_deprecating_the_only_available_image_of_a_family_is_a_danger() -> None:
    for family_available in ((), (image(),)):
        facts = Preflight(
            image(), family_available=family_available, family_resolves_to="m-target"
        )

        risk = only(assess({"status": "Deprecated"}, facts), "last_available")

        assert risk.severity is Severity.DANGER
        assert "m-target" in risk.text
        assert "family web-base" in risk.text
        assert "deprecating it" in risk.text


def test_moving_the_last_available_image_to_another_family_is_a_danger() -> None:
    facts = Preflight(
        image(), family_available=(image(),), family_resolves_to="m-target"
    )

    risk = only(assess({"family": "web-next"}, facts), "last_available")

    assert risk.severity is Severity.DANGER
    assert "family web-base" in risk.text
    assert "moving it to family web-next" in risk.text


def test_deprecating_the_image_the_family_resolves_to_names_the_rollback_target() -> (
    None
):
    # Listed oldest first, so the successor must be picked by creation time.
    facts = Preflight(
        image(),
        family_available=(OLDEST, image(), OLDER),
        family_resolves_to="m-target",
    )

    risk = only(assess({"status": "Deprecated"}, facts), "rollback")

    assert risk.severity is Severity.CAUTION
    assert "m-older" in risk.text
    assert "web-2025-12" in risk.text
    assert "2025-12-01T00:00:00Z" in risk.text
    assert "m-oldest" not in risk.text


def test_rollback_names_an_unnamed_successor_as_such() -> None:
    unnamed = image("m-older", name="", creation_time="2025-12-01T00:00:00Z")
    facts = Preflight(
        image(), family_available=(image(), unnamed), family_resolves_to="m-target"
    )

    risk = only(assess({"status": "Deprecated"}, facts), "rollback")

    assert "m-older (unnamed" in risk.text


def test_moving_the_image_the_family_resolves_to_away_is_a_rollback() -> None:
    facts = Preflight(
        image(), family_available=(image(), OLDER), family_resolves_to="m-target"
    )

    risk = only(assess({"family": "web-next"}, facts), "rollback")

    assert "m-older" in risk.text
    assert "moving it to family web-next" in risk.text


def test_deprecating_an_image_the_family_does_not_resolve_to_is_harmless() -> None:
    older = image("m-target", creation_time="2025-01-01T00:00:00Z")
    newer = image("m-newer", creation_time="2026-02-01T00:00:00Z")
    facts = Preflight(
        older, family_available=(older, newer), family_resolves_to="m-newer"
    )

    assert assess({"status": "Deprecated"}, facts) == []


def test_deprecating_an_image_without_a_family_has_no_family_risks() -> None:
    facts = Preflight(image(family=""))

    assert assess({"status": "Deprecated"}, facts) == []


def test_setting_the_family_it_already_has_or_a_first_family_is_harmless() -> None:
    alone = Preflight(
        image(), family_available=(image(),), family_resolves_to="m-target"
    )
    no_family = Preflight(image(family=""))

    assert assess({"family": "web-base"}, alone) == []
    assert assess({"family": "web-next"}, no_family) == []


# Restore.


def test_restoring_an_image_that_is_not_deprecated_is_blocked() -> None:
    for status in ("Available", "CreateFailed"):
        risk = only(
            assess({"status": "Available"}, Preflight(image(status=status))),
            "not_deprecated",
        )

        assert risk.severity is Severity.BLOCK
        assert status in risk.text


def test_restoring_the_newest_image_moves_the_family_forward() -> None:
    facts = Preflight(
        image(status="Deprecated"),
        family_available=(OLDER, OLDEST),
        family_resolves_to="m-older",
    )

    risk = only(assess({"status": "Available"}, facts), "roll_forward")

    assert risk.severity is Severity.CAUTION
    assert "resolves to m-older now" in risk.text
    assert "resolve to m-target" in risk.text


def test_restoring_an_older_image_leaves_the_family_alone() -> None:
    old = image(status="Deprecated", creation_time="2025-01-01T00:00:00Z")
    facts = Preflight(old, family_available=(OLDER,), family_resolves_to="m-older")

    assert assess({"status": "Available"}, facts) == []


def test_restoring_into_a_family_with_no_available_image_is_harmless() -> None:
    facts = Preflight(image(status="Deprecated"))

    assert assess({"status": "Available"}, facts) == []


# Boot mode.


def test_boot_mode_change_of_an_image_in_use_is_blocked_and_lists_instances() -> None:
    instances = tuple(f"i-{n}" for n in range(7))
    facts = Preflight(image(), instances=instances)

    risk = only(assess({"boot-mode": "UEFI"}, facts), "in_use")

    assert risk.severity is Severity.BLOCK
    assert "7 instance(s)" in risk.text
    assert "i-0, i-1, i-2, i-3, i-4 and 2 more" in risk.text
    assert "i-5" not in risk.text


def test_bios_on_an_arm64_image_is_blocked() -> None:
    facts = Preflight(image(architecture="arm64"))

    risk = only(assess({"boot-mode": "BIOS"}, facts), "boot_mode_arch")

    assert risk.severity is Severity.BLOCK
    assert "arm64" in risk.text
    assert only(assess({"boot-mode": "UEFI"}, facts), "boot_mode")


def test_boot_mode_change_of_an_unused_image_is_a_caution_naming_the_mode() -> None:
    risk = only(assess({"boot-mode": "BIOS"}, Preflight(image())), "boot_mode")

    assert risk.severity is Severity.CAUTION
    assert "BIOS" in risk.text


# IMDS and NVMe.


def test_imds_back_from_v2_to_v1_is_blocked() -> None:
    facts = Preflight(image(imds_support="v2"))

    risk = only(assess({"imds": "v1"}, facts), "imds_downgrade")

    assert risk.severity is Severity.BLOCK
    assert "m-target" in risk.text


def test_imds_v1_to_v2_is_a_caution_that_it_cannot_be_undone() -> None:
    facts = Preflight(image(imds_support="v1"))

    risk = only(assess({"imds": "v2"}, facts), "imds_v2")

    assert risk.severity is Severity.CAUTION
    assert "cannot be undone" in risk.text


def test_imds_v1_on_an_image_without_imds_support_is_harmless() -> None:
    assert assess({"imds": "v1"}, Preflight(image())) == []


def test_marking_nvme_supported_is_a_caution_but_unsupported_is_not() -> None:
    risk = only(assess({"nvme": "supported"}, Preflight(image())), "nvme")

    assert risk.severity is Severity.CAUTION
    assert "driver" in risk.text
    assert assess({"nvme": "unsupported"}, Preflight(image())) == []


def test_independent_risks_add_up() -> None:
    facts = Preflight(
        image(status="Creating", imds_support="v2"),
        dry_run=DryRun(False, "X", "no"),
        instances=("i-1",),
    )

    risks = assess({"boot-mode": "UEFI", "imds": "v1", "nvme": "supported"}, facts)

    assert set(by_code(risks)) == {
        "creating",
        "dry_run",
        "in_use",
        "imds_downgrade",
        "nvme",
    }


# Which changes count as risky for the policy.


def test_boot_mode_changes_are_risky_whatever_their_risks() -> None:
    assert is_risky([], {"boot-mode": "UEFI"})
    in_use = assess({"boot-mode": "UEFI"}, Preflight(image(), instances=("i-1",)))
    assert is_risky(in_use, {"boot-mode": "UEFI"})


def test_deprecating_the_last_image_is_risky() -> None:
    changes = {"status": "Deprecated"}
    risks = assess(changes, Preflight(image()))

    assert is_risky(risks, changes)


def test_other_risks_are_not_risky() -> None:
    cases: list[tuple[dict[str, str], Preflight]] = [
        ({"nvme": "supported"}, Preflight(image())),
        ({"imds": "v1"}, Preflight(image(imds_support="v2"))),
        ({"imds": "v2"}, Preflight(image())),
        (
            {"status": "Deprecated"},
            Preflight(
                image(),
                family_available=(image(), OLDER),
                family_resolves_to="m-target",
                shared_with=("1001",),
            ),
        ),
        (
            {"status": "Available"},
            Preflight(image(status="Deprecated"), (OLDER,), "m-older"),
        ),
        ({"name": "n2"}, Preflight(image(status="Creating"), dry_run=DryRun(False))),
    ]
    for changes, facts in cases:
        risks = assess(changes, facts)

        assert risks, changes
        assert not is_risky(risks, changes), [r.code for r in risks]


# Any combination the catalogue allows.

IDS = ("m-target", "m-a", "m-b", "m-c")
STATUSES = ("Available", "Deprecated", "Creating", "Waiting", "CreateFailed", "")
TIMES = ("", "2025-01-01T00:00:00Z", "2025-06-01T00:00:00Z", "2026-01-01T00:00:00Z")
FREE_TEXT = {
    "name": ("web-a", "web-b"),
    "family": ("web-base", "web-next"),
    "description": ("Patched kernel", "<!channel> & more"),
}


def snapshots(image_id: st.SearchStrategy[str]) -> st.SearchStrategy[ImageSnapshot]:
    return st.builds(
        ImageSnapshot,
        image_id=image_id,
        region=st.just(REGION),
        name=st.sampled_from(("", "web-a", "web-b")),
        family=st.sampled_from(("", "web-base", "web-next")),
        status=st.sampled_from(STATUSES),
        boot_mode=st.sampled_from(("", "BIOS", "UEFI", "UEFI-Preferred")),
        nvme_support=st.sampled_from(("", "supported", "unsupported")),
        imds_support=st.sampled_from(("", "v1", "v2")),
        creation_time=st.sampled_from(TIMES),
        architecture=st.sampled_from(("", "x86_64", "arm64")),
        progress=st.sampled_from(("", "0%", "99%")),
    )


def values_of(attribute: attributes.Attribute) -> st.SearchStrategy[str]:
    return st.sampled_from(attribute.choices or FREE_TEXT[attribute.key])


CHANGES = st.fixed_dictionaries(
    {},
    optional={a.key: values_of(a) for a in attributes.CATALOGUE},
)
FACTS = st.builds(
    Preflight,
    image=snapshots(st.just("m-target")),
    family_available=st.lists(snapshots(st.sampled_from(IDS)), max_size=4).map(tuple),
    family_resolves_to=st.sampled_from(("", *IDS)),
    shared_with=st.lists(st.sampled_from(("1001", "1002", "1003")), max_size=7).map(
        tuple
    ),
    instances=st.lists(st.sampled_from(("i-1", "i-2")), max_size=7).map(tuple),
    dry_run=st.builds(
        DryRun,
        passed=st.booleans(),
        code=st.sampled_from(("", "InvalidParameter")),
        message=st.sampled_from(("", "Refused.")),
    ),
)


@settings(max_examples=400, deadline=None)
@given(changes=CHANGES, facts=FACTS)
def test_any_change_gets_well_formed_risks(
    changes: dict[str, str], facts: Preflight
) -> None:
    risks = assess(changes, facts)

    codes = [r.code for r in risks]
    assert len(codes) == len(set(codes))
    for risk in risks:
        assert risk.code in KNOWN_CODES
        assert risk.text.strip()
        assert (risk.severity is Severity.BLOCK) == (risk.code in BLOCKING_CODES)
    assert (not facts.dry_run.passed) == ("dry_run" in codes)
    assert is_risky(risks, changes) == (
        "boot-mode" in changes or "last_available" in codes
    )
