"""The attribute catalogue against the ModifyImageAttribute rules it mirrors."""

from __future__ import annotations

import pytest

from bot import attributes
from bot.attributes import CATALOGUE, InvalidValue
from bot.model import ImageSnapshot

NAME_RULES = [
    ("name", "InvalidImageName.Malformed"),
    ("family", "InvalidImageFamily.Malformed"),
]


def refusal(key: str, value: str) -> InvalidValue:
    with pytest.raises(InvalidValue) as caught:
        attributes.get(key).normalize(value)
    return caught.value


# --- the catalogue itself ----------------------------------------------------------


def test_catalogue_maps_every_key_to_its_api_field() -> None:
    assert {a.key: a.api_field for a in CATALOGUE} == {
        "name": "ImageName",
        "family": "ImageFamily",
        "description": "Description",
        "status": "Status",
        "boot-mode": "BootMode",
        "license": "LicenseType",
        "nvme": "Features.NvmeSupport",
        "imds": "Features.ImdsSupport",
    }


def test_enum_choices_are_exactly_the_api_values() -> None:
    choices = {a.key: a.choices for a in CATALOGUE if a.choices}
    assert choices == {
        "status": ("Available", "Deprecated"),
        "boot-mode": ("BIOS", "UEFI", "UEFI-Preferred"),
        "license": ("BYOL",),
        "nvme": ("supported", "unsupported"),
        "imds": ("v1", "v2"),
    }


def test_each_attribute_refuses_with_the_code_the_api_would_return() -> None:
    assert {a.key: a.error_code for a in CATALOGUE} == {
        "name": "InvalidImageName.Malformed",
        "family": "InvalidImageFamily.Malformed",
        "description": "InvalidDescription.Malformed",
        "status": "InvalidParameter",
        "boot-mode": "InvalidBootMode.NotSupport",
        "license": "InvalidLicenseType.NotSupported",
        "nvme": "InvalidParameter",
        "imds": "InvalidParameter.FeaturesImdsSupport",
    }


def test_every_attribute_is_either_a_choice_or_checked() -> None:
    for attribute in CATALOGUE:
        assert bool(attribute.choices) != (attribute.check is not None), attribute.key


def test_keys_and_aliases_are_unique_lowercase_and_free_of_spaces() -> None:
    names = [n for a in CATALOGUE for n in (a.key, *a.aliases)]
    assert len(names) == len(set(names))
    assert all(n == n.lower() and " " not in n and "=" not in n for n in names)
    assert not {"region", "reason", "incident"} & set(names)


def test_snapshot_fields_exist_on_the_image_snapshot() -> None:
    fields = ImageSnapshot.__dataclass_fields__
    assert all(a.snapshot_field in fields for a in CATALOGUE)


# --- find and get -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("name", "name"),
        ("Image-Name", "name"),
        ("IMAGE_FAMILY", "family"),
        ("desc", "description"),
        ("State", "status"),
        ("boot", "boot-mode"),
        ("BootMode", "boot-mode"),
        ("license_type", "license"),
        ("NVMe-Support", "nvme"),
        (" imds ", "imds"),
    ],
)
def test_find_resolves_keys_and_aliases_in_any_case(typed: str, key: str) -> None:
    found = attributes.find(typed)
    assert found is not None and found.key == key


@pytest.mark.parametrize(
    "typed", ["", "names", "boot mode", "region", "Features.NvmeSupport"]
)
def test_find_returns_none_for_anything_else(typed: str) -> None:
    assert attributes.find(typed) is None


def test_get_takes_only_catalogue_keys() -> None:
    assert attributes.get("boot-mode").api_field == "BootMode"
    for wrong in ("boot", "Boot-Mode", "nope"):
        with pytest.raises(KeyError):
            attributes.get(wrong)


# --- names and families ---------------------------------------------------------------


@pytest.mark.parametrize(("key", "code"), NAME_RULES)
@pytest.mark.parametrize(
    "value",
    [
        "ab",
        "a" * 128,
        "web-2026.12.01",
        "web:base_v2",
        "中文镜像",
        "镜像-1",
        "\u4e00\u9fa5",
        "Zz9",
        "my-aliyun",
        "acs-web",
        "Web_HTTP-2",
    ],
)
def test_names_following_the_rule_are_kept(key: str, code: str, value: str) -> None:
    assert attributes.get(key).normalize(value) == value


@pytest.mark.parametrize(("key", "code"), NAME_RULES)
def test_names_must_be_2_to_128_characters(key: str, code: str) -> None:
    assert "2 to 128 characters long (got 1)" in refusal(key, "a").message
    assert "(got 129)" in refusal(key, "a" * 129).message
    assert "(got 0)" in refusal(key, "   ").message
    assert refusal(key, "a").code == code


@pytest.mark.parametrize(("key", "code"), NAME_RULES)
@pytest.mark.parametrize(
    "value", ["1web", "-web", "_web", ".web", ":web", "éclair", "\u3400x"]
)
def test_names_must_start_with_a_letter_or_chinese_character(
    key: str, code: str, value: str
) -> None:
    caught = refusal(key, value)
    assert "must start with a letter or a Chinese character" in caught.message
    assert caught.code == code


@pytest.mark.parametrize(("key", "code"), NAME_RULES)
@pytest.mark.parametrize(
    "value", ["aliyun", "aliyun-web", "aliyunx", "acs:web", "acs:"]
)
def test_names_must_not_start_with_aliyun_or_acs(
    key: str, code: str, value: str
) -> None:
    caught = refusal(key, value)
    assert "must not start with `aliyun` or `acs:`" in caught.message
    assert caught.code == code


@pytest.mark.parametrize(("key", "code"), NAME_RULES)
@pytest.mark.parametrize("value", ["web-http://x", "xhttps://y", "ahttp://"])
def test_names_must_not_contain_a_url_scheme(key: str, code: str, value: str) -> None:
    caught = refusal(key, value)
    assert "must not contain `http://` or `https://`" in caught.message


@pytest.mark.parametrize(("key", "code"), NAME_RULES)
@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("web base", "' '"),
        ("web/base", "'/'"),
        ("web@base", "'@'"),
        ("web+base=1", "'+' '='"),
        ("web\u9fa6", "'\u9fa6'"),
        ("web（1）", "'（' '）'"),
        ("webé", "'é'"),
    ],
)
def test_names_may_hold_only_letters_chinese_digits_and_four_marks(
    key: str, code: str, value: str, shown: str
) -> None:
    caught = refusal(key, value)
    assert caught.message.startswith(
        f"{'An image name' if key == 'name' else 'A family'} may contain only letters, "
        "Chinese characters, digits and . : _ -"
    )
    assert f"(not {shown})" in caught.message
    assert caught.code == code
    assert caught.key == key


def test_name_refusals_end_with_an_example() -> None:
    assert refusal("name", "1").message.endswith("Example: `name=web-2026-12-01`.")
    assert refusal("family", "1").message.endswith("Example: `family=web-base`.")


def test_surrounding_whitespace_is_trimmed_before_the_check() -> None:
    assert attributes.get("name").normalize("  web-1\t") == "web-1"


# --- descriptions ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "ab",
        "d" * 256,
        "Patched kernel, see https://x",
        "含中文 & <symbols> 'quotes'",
        "HTTP://x",
    ],
)
def test_descriptions_of_2_to_256_characters_are_kept(value: str) -> None:
    assert attributes.get("description").normalize(value) == value


def test_descriptions_must_be_2_to_256_characters() -> None:
    assert "(got 1)" in refusal("description", "d").message
    assert "(got 257)" in refusal("description", "d" * 257).message
    assert refusal("description", "d").code == "InvalidDescription.Malformed"


@pytest.mark.parametrize("value", ["http://wiki/x", "https://wiki/x"])
def test_descriptions_must_not_start_with_a_url(value: str) -> None:
    caught = refusal("description", value)
    assert "must not start with `http://` or `https://`" in caught.message
    assert caught.message.endswith('`description="Patched kernel"`.')


# --- enumerations -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "typed", "api"),
    [
        ("status", "available", "Available"),
        ("status", "DEPRECATED", "Deprecated"),
        ("boot-mode", "bios", "BIOS"),
        ("boot-mode", "Uefi", "UEFI"),
        ("boot-mode", "uefi-preferred", "UEFI-Preferred"),
        ("license", "byol", "BYOL"),
        ("nvme", "Supported", "supported"),
        ("nvme", " UNSUPPORTED ", "unsupported"),
        ("imds", "V1", "v1"),
        ("imds", "v2", "v2"),
    ],
)
def test_enum_values_normalise_to_the_api_spelling(
    key: str, typed: str, api: str
) -> None:
    assert attributes.get(key).normalize(typed) == api


@pytest.mark.parametrize(
    ("key", "typed", "code"),
    [
        ("status", "Creating", "InvalidParameter"),
        ("status", "ALL", "InvalidParameter"),
        ("boot-mode", "UEFI_Preferred", "InvalidBootMode.NotSupport"),
        ("license", "Auto", "InvalidLicenseType.NotSupported"),
        ("nvme", "yes", "InvalidParameter"),
        ("imds", "v3", "InvalidParameter.FeaturesImdsSupport"),
    ],
)
def test_other_enum_values_are_refused_with_the_choices(
    key: str, typed: str, code: str
) -> None:
    caught = refusal(key, typed)
    allowed = " | ".join(attributes.get(key).choices)
    assert caught.message == f"`{key}` must be one of {allowed} (got `{typed}`)."
    assert (caught.key, caught.code) == (key, code)
    assert str(caught) == caught.message


def test_normalize_is_idempotent_on_every_valid_value() -> None:
    samples = {"name": "web-1", "family": "web-base", "description": " Patched kernel "}
    for attribute in CATALOGUE:
        for value in attribute.choices or (samples[attribute.key],):
            once = attribute.normalize(value)
            assert attribute.normalize(once) == once


# --- reading and writing images ------------------------------------------------------


def test_read_returns_current_values_by_key() -> None:
    image = ImageSnapshot(
        image_id="m-a1",
        region="cn-hangzhou",
        name="web-1",
        family="web",
        status="Available",
        boot_mode="UEFI",
        license_type="BYOL",
        nvme_support="supported",
        imds_support="v2",
    )
    everything = attributes.read(image)
    assert list(everything) == [a.key for a in CATALOGUE]
    assert everything["boot-mode"] == "UEFI"
    assert everything["description"] == ""
    assert attributes.read(image, ["imds", "name"]) == {"imds": "v2", "name": "web-1"}


def test_to_api_uses_wire_field_names() -> None:
    assert attributes.to_api(
        {"name": "web-2", "imds": "v2", "status": "Deprecated"}
    ) == {
        "ImageName": "web-2",
        "Features.ImdsSupport": "v2",
        "Status": "Deprecated",
    }
    with pytest.raises(KeyError):
        attributes.to_api({"image-name": "web-2"})


def test_ordered_follows_the_catalogue_and_drops_unknown_keys() -> None:
    assert attributes.ordered(["imds", "name", "nope", "status"]) == [
        "name",
        "status",
        "imds",
    ]


def test_invalid_value_survives_copy_and_pickle() -> None:
    import copy
    import pickle

    error = attributes.InvalidValue("name", "InvalidImageName.Malformed", "too short")

    for clone in (copy.copy(error), pickle.loads(pickle.dumps(error))):
        assert (clone.key, clone.code, clone.message) == (
            error.key,
            error.code,
            error.message,
        )
        assert str(clone) == "too short"
