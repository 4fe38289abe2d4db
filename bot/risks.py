"""What could go wrong with a change, from the preflight facts alone (pure).

Texts here are plain text: the Slack blocks escape them when they render.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.model import ImageSnapshot, Preflight, Risk, Severity

# Codes that make a change "risky" for the policy's stricter approval rules.
RISKY_CODES = frozenset({"last_available", "boot_mode"})

_BUILDING = ("Creating", "Waiting")


def assess(changes: Mapping[str, str], facts: Preflight) -> list[Risk]:
    """Every risk of applying `changes` (only what differs) to the image."""
    image = facts.image
    risks: list[Risk] = []
    if image.status in _BUILDING:
        progress = f" ({image.progress})" if image.progress else ""
        risks.append(
            Risk(
                "creating",
                Severity.BLOCK,
                f"{image.image_id} is still being created{progress}. ECS refuses "
                "changes until creation completes; run the command again then.",
            )
        )
    if not facts.dry_run.passed:
        risks.append(
            Risk(
                "dry_run",
                Severity.BLOCK,
                f"ECS refused the dry run ({facts.dry_run.code}): "
                f"{facts.dry_run.message}",
            )
        )
    status = changes.get("status")
    if status == "Deprecated":
        risks += _deprecation_risks(facts)
    elif status == "Available":
        risks += _restore_risks(facts)
    if "family" in changes and image.status == "Available" and status != "Deprecated":
        risks += _leaving_family_risks(facts, changes["family"])
    if "boot-mode" in changes:
        risks += _boot_mode_risks(image, changes["boot-mode"], facts.instances)
    if "imds" in changes:
        risks += _imds_risks(image, changes["imds"])
    if changes.get("nvme") == "supported":
        risks.append(
            Risk(
                "nvme",
                Severity.CAUTION,
                "Mark NVMe as supported only if the image's OS already has the NVMe "
                "driver: otherwise instances of NVMe instance types fail to start.",
            )
        )
    return risks


def is_risky(risks: list[Risk], changes: Mapping[str, str]) -> bool:
    """Whether the policy's stricter rules for risky changes apply."""
    return "boot-mode" in changes or any(r.code in RISKY_CODES for r in risks)


def _deprecation_risks(facts: Preflight) -> list[Risk]:
    image = facts.image
    risks: list[Risk] = []
    if image.status not in ("Available", *_BUILDING):
        risks.append(
            Risk(
                "not_available",
                Severity.BLOCK,
                f"{image.image_id} is {image.status}, and only an Available image "
                "can be deprecated.",
            )
        )
    if facts.shared_with:
        shown = ", ".join(facts.shared_with[:5])
        more = (
            f" and {len(facts.shared_with) - 5} more"
            if len(facts.shared_with) > 5
            else ""
        )
        risks.append(
            Risk(
                "shared",
                Severity.BLOCK,
                f"{image.image_id} is shared with {shown}{more}. ECS refuses to "
                "deprecate a shared image: remove its share permissions first "
                "(ModifyImageSharePermission), then run the command again.",
            )
        )
    if image.family and image.status == "Available":
        risks += _family_exit_risks(facts, "deprecating it")
    return risks


def _leaving_family_risks(facts: Preflight, new_family: str) -> list[Risk]:
    if not facts.image.family or facts.image.family == new_family:
        return []
    return _family_exit_risks(facts, f"moving it to family {new_family}")


def _family_exit_risks(facts: Preflight, action: str) -> list[Risk]:
    image = facts.image
    others = [i for i in facts.family_available if i.image_id != image.image_id]
    if not others:
        return [
            Risk(
                "last_available",
                Severity.DANGER,
                f"{image.image_id} is the last Available image of family "
                f"{image.family}. After {action}, no instance can be created from "
                f"family {image.family} until another image of it is Available.",
            )
        ]
    if facts.family_resolves_to == image.image_id:
        successor = _newest(others)
        return [
            Risk(
                "rollback",
                Severity.CAUTION,
                f"Family {image.family} resolves to {image.image_id} now. After "
                f"{action}, it will resolve to {successor.image_id} "
                f"({successor.name or 'unnamed'}, created {successor.creation_time}).",
            )
        ]
    return []


def _restore_risks(facts: Preflight) -> list[Risk]:
    image = facts.image
    if image.status != "Deprecated":
        return [
            Risk(
                "not_deprecated",
                Severity.BLOCK,
                f"{image.image_id} is {image.status}; only a Deprecated image can be "
                "restored.",
            )
        ]
    current = facts.family_resolves_to
    if image.family and current and current != image.image_id:
        newest = _newest([*facts.family_available, image])
        if newest.image_id == image.image_id:
            return [
                Risk(
                    "roll_forward",
                    Severity.CAUTION,
                    f"Family {image.family} resolves to {current} now. After the "
                    f"restore, it will resolve to {image.image_id}, its newest "
                    "Available image.",
                )
            ]
    return []


def _boot_mode_risks(
    image: ImageSnapshot, mode: str, instances: tuple[str, ...]
) -> list[Risk]:
    if instances:
        shown = ", ".join(instances[:5])
        more = f" and {len(instances) - 5} more" if len(instances) > 5 else ""
        return [
            Risk(
                "in_use",
                Severity.BLOCK,
                f"{image.image_id} is used by {len(instances)} instance(s) ({shown}"
                f"{more}). ECS refuses boot-mode changes while instances use the "
                "image.",
            )
        ]
    if image.architecture == "arm64" and mode == "BIOS":
        return [
            Risk(
                "boot_mode_arch",
                Severity.BLOCK,
                f"{image.image_id} is an arm64 image, which boots with UEFI only.",
            )
        ]
    return [
        Risk(
            "boot_mode",
            Severity.CAUTION,
            f"Instances boot only if the image's OS supports {mode}. A wrong boot "
            "mode makes new instances from this image unbootable.",
        )
    ]


def _imds_risks(image: ImageSnapshot, target: str) -> list[Risk]:
    if target == "v1" and image.imds_support == "v2":
        return [
            Risk(
                "imds_downgrade",
                Severity.BLOCK,
                f"{image.image_id} supports IMDSv2, and ECS cannot take an image "
                "back from v2 to v1.",
            )
        ]
    if target == "v2":
        return [
            Risk(
                "imds_v2",
                Severity.CAUTION,
                "Instances from this image may then run the metadata service in "
                "IMDSv2-only mode. This cannot be undone: v2 never goes back to v1.",
            )
        ]
    return []


def _newest(images: list[ImageSnapshot]) -> ImageSnapshot:
    return max(images, key=lambda i: i.creation_time)
