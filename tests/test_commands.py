"""The slash-command grammar: what people type, what the bot understands."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import attributes
from bot.commands import USAGE, CommandError, help_text, parse, usage
from bot.model import Command, Verb

REGION = "cn-hangzhou"


def run(text: str, **kwargs: str) -> Command:
    kwargs.setdefault("default_region", REGION)
    return parse(text, **kwargs)


def error(text: str, **kwargs: str) -> CommandError:
    kwargs.setdefault("default_region", REGION)
    with pytest.raises(CommandError) as caught:
        parse(text, **kwargs)
    return caught.value


# --- verbs -------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\u00a0\t\n"])
def test_empty_text_asks_for_help(text: str) -> None:
    assert parse(text) == Command(verb=Verb.HELP)


def test_help_with_a_topic_stores_the_normalised_verb() -> None:
    assert parse("help SET") == Command(verb=Verb.HELP, topic="set")
    assert parse("Help deprecate").topic == "deprecate"


def test_help_with_an_unknown_topic_names_the_commands() -> None:
    caught = error("help frobnicate")
    assert "`frobnicate`" in caught.message
    assert "deprecate" in caught.message
    assert caught.usage == usage(Verb.HELP)


def test_verbs_are_case_insensitive() -> None:
    assert run("SHOW m-abc1").verb is Verb.SHOW
    assert run("Pending").verb is Verb.PENDING


def test_unknown_verb_suggests_the_closest_and_shows_every_usage() -> None:
    caught = error("deprecat m-abc1")
    assert caught.message.startswith("Unknown command `deprecat`.")
    assert "`/image deprecate`" in caught.message
    assert "/image help" in caught.message
    for verb in Verb:
        assert usage(verb) in caught.usage


def test_key_value_in_place_of_the_verb_is_an_unknown_command() -> None:
    assert "Unknown command `region=cn-hangzhou`" in error("region=cn-hangzhou").message


def test_show_reads_image_and_region() -> None:
    command = run("show m-bp18ygjuqnwhechc1234 region=AP-Southeast-1")
    assert command == Command(
        verb=Verb.SHOW, image_id="m-bp18ygjuqnwhechc1234", region="ap-southeast-1"
    )


def test_family_reads_the_family_name_including_public_families() -> None:
    assert run("family web-base").family == "web-base"
    assert run("family acs:ubuntu_22_04_x64").family == "acs:ubuntu_22_04_x64"


def test_family_rejects_what_cannot_be_a_family_name() -> None:
    caught = error("family 9lives")
    assert "`9lives` is not a family name" in caught.message
    assert caught.usage == usage(Verb.FAMILY)


def test_deprecate_restore_and_rename_build_their_changes() -> None:
    assert run("deprecate m-abc1").changes == {"status": "Deprecated"}
    assert run("restore m-abc1").changes == {"status": "Available"}
    rename = run("rename m-abc1 web-2026-12-01")
    assert rename.changes == {"name": "web-2026-12-01"}
    assert rename.image_id == "m-abc1"


def test_history_takes_an_optional_image_and_no_region() -> None:
    assert run("history") == Command(verb=Verb.HISTORY)
    assert parse("history m-WebOld01") == Command(
        verb=Verb.HISTORY, image_id="m-WebOld01"
    )


def test_pending_takes_nothing_more() -> None:
    assert parse("pending") == Command(verb=Verb.PENDING)
    caught = error("pending now")
    assert "Unexpected `now`" in caught.message
    assert caught.usage == usage(Verb.PENDING)


@pytest.mark.parametrize(
    "text", ["help", "help show", "history", "history m-a1", "pending"]
)
def test_commands_that_touch_no_image_need_no_region(text: str) -> None:
    assert parse(text).region == ""


# --- image ids and regions ---------------------------------------------------------


@pytest.mark.parametrize("image_id", ["m-bp18ygjuqnwhechc1234", "m-webold01", "m-ABC9"])
def test_image_ids_keep_their_case(image_id: str) -> None:
    assert run(f"show {image_id}").image_id == image_id


@pytest.mark.parametrize(
    "image_id",
    ["bp18ygjuq", "m-", "m-abc_1", "M-abc1", "i-bp1abc", "m-abc.1", "<@U123|bob>"],
)
def test_anything_else_is_not_an_image_id(image_id: str) -> None:
    caught = error(f"deprecate {image_id}")
    assert (
        f"`{image_id}` is not an image id (they look like m-bp1abc…)" in caught.message
    )
    assert caught.usage == usage(Verb.DEPRECATE)


def test_missing_image_id_is_named_with_an_example() -> None:
    caught = error("show")
    assert "Missing <image-id>" in caught.message
    assert "/image show m-" in caught.message
    assert caught.usage == usage(Verb.SHOW)


def test_rename_without_a_new_name_says_so() -> None:
    assert "Missing <new-name>" in error("rename m-abc1").message


def test_default_region_applies_when_none_is_given() -> None:
    assert parse("show m-abc1", default_region="eu-central-1").region == "eu-central-1"
    given_one = parse("show m-abc1 region=cn-beijing", default_region="eu-central-1")
    assert given_one.region == "cn-beijing"


def test_no_region_at_all_says_how_to_add_one() -> None:
    caught = error("deprecate m-abc1", default_region="")
    assert "region=<r>" in caught.message
    assert "IMAGEBOT_REGION" in caught.message
    assert caught.usage == usage(Verb.DEPRECATE)


@pytest.mark.parametrize(
    "region", ["hangzhou", "cn_hangzhou", "c-hangzhou", "cn-", "1n-x"]
)
def test_malformed_region_is_refused_with_an_example(region: str) -> None:
    caught = error(f"show m-abc1 region={region}")
    assert f"`{region}` is not a region" in caught.message
    assert "region=cn-hangzhou" in caught.message


def test_empty_region_is_refused() -> None:
    assert "`region=` has no value" in error("show m-abc1 region=").message
    assert "`region=` is empty" in error("show m-abc1 region=''").message


# --- set -----------------------------------------------------------------------------


def test_set_normalises_keys_aliases_and_enum_values() -> None:
    command = run(
        "set m-abc1 BOOT=uefi-preferred Image-Name=web-2 STATE=deprecated "
        "license-type=byol NVME=Supported imds_support=V2 desc='New base' "
        "image_family=web-base"
    )
    assert command.changes == {
        "name": "web-2",
        "family": "web-base",
        "description": "New base",
        "status": "Deprecated",
        "boot-mode": "UEFI-Preferred",
        "license": "BYOL",
        "nvme": "supported",
        "imds": "v2",
    }
    assert list(command.changes) == attributes.ordered(command.changes)


def test_set_accepts_reason_incident_and_region_in_any_case() -> None:
    command = run(
        'set m-abc1 status=available Reason="rollback" INCIDENT=INC-7 Region=cn-beijing'
    )
    assert command.reason == "rollback"
    assert command.incident == "INC-7"
    assert command.region == "cn-beijing"
    assert command.changes == {"status": "Available"}


def test_set_without_changes_asks_for_one() -> None:
    caught = error('set m-abc1 reason="why not"')
    assert "Nothing to change" in caught.message
    assert "key=value" in caught.message
    assert caught.usage == usage(Verb.SET)


def test_the_same_key_twice_is_named() -> None:
    caught = error("set m-abc1 name=web-1 Image-Name=web-2")
    assert "`name` is given twice" in caught.message
    assert "`Image-Name=`" in caught.message
    assert (
        "`reason` is given twice"
        in error("set m-abc1 nvme=supported reason=a reason=b").message
    )


def test_unknown_key_lists_the_valid_keys_and_a_guess() -> None:
    caught = error("set m-abc1 boot-mod=UEFI")
    assert "Unknown key `boot-mod`" in caught.message
    assert "Did you mean `boot-mode`?" in caught.message
    for attribute in attributes.CATALOGUE:
        assert attribute.key in caught.message
    assert caught.usage == usage(Verb.SET)


def test_invalid_value_carries_the_api_error_code_and_the_catalogue_message() -> None:
    caught = error("set m-abc1 boot-mode=legacy")
    assert caught.code == "InvalidBootMode.NotSupport"
    assert (
        caught.message
        == "`boot-mode` must be one of BIOS | UEFI | UEFI-Preferred (got `legacy`)."
    )
    assert error("set m-abc1 name=aliyun-web").code == "InvalidImageName.Malformed"
    assert error("set m-abc1 family=1web").code == "InvalidImageFamily.Malformed"
    assert error("set m-abc1 description=x").code == "InvalidDescription.Malformed"


def test_empty_value_says_what_to_give() -> None:
    caught = error('set m-abc1 imds=""')
    assert caught.message == "`imds=` is empty: give one of v1 | v2."
    assert caught.code == "InvalidParameter.FeaturesImdsSupport"


def test_space_after_equals_is_pointed_out() -> None:
    caught = error("set m-abc1 Boot= uefi")
    assert caught.message.startswith("`Boot=` has no value")
    assert "no space" in caught.message
    assert caught.code == "InvalidBootMode.NotSupport"


def test_key_without_a_name_hints_at_spaces_around_equals() -> None:
    caught = error("set m-abc1 name =web-1")
    assert "no key before `=`" in caught.message


def test_other_verbs_refuse_attribute_keys_and_point_to_set() -> None:
    caught = error("deprecate m-abc1 status=Available")
    assert "does not take `status=`" in caught.message
    assert "/image set <image-id> status=" in caught.message
    assert (
        "takes no key=value options"
        in error("history m-abc1 region=cn-beijing").message
    )


def test_a_second_word_of_an_unquoted_reason_suggests_quoting() -> None:
    caught = error("deprecate m-abc1 reason=bad build")
    assert "Unexpected `build`" in caught.message
    assert 'reason="' in caught.message


# --- reason and incident -----------------------------------------------------------


def test_reason_may_be_500_characters_but_not_501() -> None:
    assert len(run(f"deprecate m-abc1 reason={'r' * 500}").reason) == 500
    caught = error(f"deprecate m-abc1 reason={'r' * 501}")
    assert "1 to 500 characters (got 501)" in caught.message


def test_empty_reason_is_refused() -> None:
    assert "`reason=` is empty" in error('restore m-abc1 reason=""').message


@pytest.mark.parametrize(
    "ref", ["INC-42", "https://status.example/i/7", "PD#1234", "a.b_c:d"]
)
def test_incident_references_accept_common_forms(ref: str) -> None:
    assert run(f"deprecate m-abc1 incident={ref}").incident == ref


@pytest.mark.parametrize("ref", ["INC 42", "inc;drop", "x" * 101, "<@U1|bob>"])
def test_incident_references_refuse_other_characters_and_length(ref: str) -> None:
    caught = error(f"deprecate m-abc1 incident='{ref}'")
    assert "is not an incident reference" in caught.message
    assert caught.usage == usage(Verb.DEPRECATE)


# --- quoting, escaping and whitespace ------------------------------------------------


@pytest.mark.parametrize(
    "quoted",
    [
        '"Patched kernel"',
        "'Patched kernel'",
        "“Patched kernel”",
        "‘Patched kernel’",
        "„Patched kernel“",
        "”Patched kernel”",
        "«Patched kernel»",
    ],
)
def test_values_may_be_quoted_every_way_phones_type(quoted: str) -> None:
    assert run(f"set m-abc1 description={quoted}").changes == {
        "description": "Patched kernel"
    }


def test_apostrophes_inside_quotes_and_words_stay_literal() -> None:
    assert run("deprecate m-abc1 reason='it's broken'").reason == "it's broken"
    assert run("deprecate m-abc1 reason=don't").reason == "don't"
    assert run("deprecate m-abc1 reason=“it’s broken”").reason == "it’s broken"


def test_several_quoted_values_on_one_line() -> None:
    command = run(
        'set m-abc1 description="new base" reason="weekly rebuild" incident=I-1'
    )
    assert command.changes == {"description": "new base"}
    assert command.reason == "weekly rebuild"
    assert command.incident == "I-1"


def test_a_quoted_positional_is_still_validated() -> None:
    assert run('show "m-abc1"').image_id == "m-abc1"
    caught = error('rename m-abc1 "new name"')
    assert caught.code == "InvalidImageName.Malformed"
    assert "(not ' ')" in caught.message
    assert caught.usage == usage(Verb.RENAME)


def test_unterminated_quote_is_reported_with_the_verbs_usage() -> None:
    caught = error('deprecate m-abc1 reason="disk full')
    assert caught.message.startswith('Unterminated quote in `"disk full`')
    assert caught.usage == usage(Verb.DEPRECATE)
    assert "Unterminated quote" in error("set m-abc1 description=“half").message


def test_text_glued_to_a_closing_quote_is_reported() -> None:
    caught = error('set m-abc1 description="a"b')
    assert "put a space after the closing quote" in caught.message


def test_slack_entities_are_unescaped_ampersand_last() -> None:
    command = run('deprecate m-abc1 reason="a &lt;b&gt; &amp;amp; &amp;lt;"')
    assert command.reason == "a <b> &amp; &lt;"


def test_escaped_mentions_are_ordinary_text() -> None:
    command = run('deprecate m-abc1 reason="ask &lt;@U123|bob&gt;"')
    assert command.reason == "ask <@U123|bob>"
    assert "is not an image id" in error("show &lt;@U123|bob&gt;").message


def test_whitespace_of_every_kind_collapses() -> None:
    command = run(
        "set\u00a0m-abc1\u2007\u202f desc=“Patched\u00a0\u00a0 kernel”\n reason=x"
    )
    assert command.changes == {"description": "Patched kernel"}
    assert run("show m-abc1\u200b").image_id == "m-abc1"


# --- usage and help ----------------------------------------------------------------


def test_usage_lines_use_the_configured_command_name() -> None:
    assert USAGE[Verb.SHOW] == "/image show <image-id> [region=<r>]"
    assert set(USAGE) == set(Verb)
    assert usage(Verb.PENDING, "/img") == "/img pending"
    caught = error("show", command="/img")
    assert caught.usage == "/img show <image-id> [region=<r>]"
    assert "/img show m-" in caught.message


def test_overall_help_lists_every_command_and_every_key_with_its_choices() -> None:
    text = help_text(command="/img")
    for verb in Verb:
        assert usage(verb, "/img") in text
    for attribute in attributes.CATALOGUE:
        assert f"`{attribute.key}`" in text
        for choice in attribute.choices:
            assert choice in text
    assert "/image" not in text


def test_command_help_has_usage_details_and_an_example() -> None:
    for verb in Verb:
        text = help_text(verb)
        assert text.startswith(f"`{USAGE[verb]}`")
        assert "Example: `/image " in text
    assert "image-name" in help_text(Verb.SET)


@pytest.mark.parametrize("topic", [None, *Verb])
def test_help_stays_under_slacks_comfortable_size(topic: Verb | None) -> None:
    assert len(help_text(topic, command="/" + "x" * 31)) < 2900


def test_every_help_example_parses() -> None:
    for verb in Verb:
        example = help_text(verb).split("Example: `/image ", 1)[1].split("`")[0]
        assert parse(example, default_region=REGION).verb is verb


def test_command_error_keeps_message_usage_and_code() -> None:
    caught = CommandError("bad", usage="/image pending", code="X")
    assert (str(caught), caught.message, caught.usage, caught.code) == (
        "bad",
        "bad",
        "/image pending",
        "X",
    )
    assert CommandError("bad").usage == "" and CommandError("bad").code == ""


# --- properties --------------------------------------------------------------------

_FRAGMENTS = st.sampled_from(
    [
        *[v.value for v in Verb],
        *[n for a in attributes.CATALOGUE for n in (a.key, *a.aliases)],
        "region",
        "reason",
        "incident",
        "m-abc1",
        "M-X",
        "=",
        "==",
        '"',
        "'",
        "“",
        "”",
        "‘",
        "’",
        "„",
        "«",
        "&amp;",
        "&lt;",
        "&gt;",
        "&amp;lt;",
        "<@U123|bob>",
        " ",
        "\u00a0",
        "\u200b",
        "\n",
        "uefi",
        "BYOL",
        "v2",
        "cn-hangzhou",
        "web-1",
        "aliyun",
        "http://",
        "中文",
        "ß",
        "İ",
    ]
)
_WORDS = st.one_of(
    _FRAGMENTS,
    st.text(max_size=6),
    st.builds("{}={}".format, _FRAGMENTS, st.one_of(_FRAGMENTS, st.text(max_size=6))),
)
_TEXTS = st.one_of(
    st.text(max_size=80),
    st.lists(st.one_of(_FRAGMENTS, st.text(max_size=4)), max_size=12).map("".join),
    st.builds(
        lambda verb, image, words: " ".join([verb, image, *words]),
        st.sampled_from([*Verb, "SET", "Deprecate"]),
        st.sampled_from(["", "m-abc1"]),
        st.lists(_WORDS, max_size=8),
    ),
)


@settings(max_examples=300, deadline=None)
@given(text=_TEXTS, default_region=st.sampled_from(["", "cn-hangzhou"]))
def test_any_text_parses_or_fails_with_a_useful_error(
    text: str, default_region: str
) -> None:
    try:
        command = parse(text, default_region=default_region)
    except CommandError as caught:
        assert caught.message.strip()
        assert caught.usage.startswith("/image ")
        return
    assert isinstance(command, Command)
    for key, value in command.changes.items():
        assert attributes.get(key).normalize(value) == value
    if command.verb.changes_image:
        assert command.image_id.startswith("m-")
        assert command.changes
        assert command.region


def _quote(value: str, style: str) -> str:
    opener, closer = style
    return f"{opener}{value}{closer}"


_QUOTES = st.sampled_from(['""', "''", "“”", "‘’", "„“"])
_NAMES = st.from_regex(r"[A-Za-z][A-Za-z0-9.:_-]{1,40}", fullmatch=True).filter(
    lambda v: not v.startswith(("aliyun", "acs:"))
)
_DESCRIPTIONS = st.text(
    alphabet=st.characters(
        codec="utf-8",
        exclude_categories=("Cs", "Cc", "Zl", "Zp"),
        exclude_characters="\"'“”„‘’‚«»\u200b\u2060\ufeff",
    ),
    min_size=2,
    max_size=120,
).filter(
    lambda v: (
        len(" ".join(v.split())) >= 2
        and not v.lstrip().startswith(("http://", "https://"))
    )
)


def _random_case(draw: st.DrawFn, word: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
    return "".join(
        c.upper() if flip else c.lower() for c, flip in zip(word, flips, strict=True)
    )


@st.composite
def _pair(draw: st.DrawFn, attribute: attributes.Attribute) -> tuple[str, str, str]:
    """(typed key=value, catalogue key, expected value) for one attribute."""
    key = _random_case(draw, draw(st.sampled_from((attribute.key, *attribute.aliases))))
    if attribute.choices:
        expected = draw(st.sampled_from(attribute.choices))
        raw = _random_case(draw, expected)
    elif attribute.key == "description":
        raw = draw(_DESCRIPTIONS)
        expected = " ".join(raw.split())
    else:
        raw = expected = draw(_NAMES)
    needs_quotes = any(c.isspace() for c in raw) or raw == ""
    if needs_quotes or draw(st.booleans()):
        raw = _quote(raw, draw(_QUOTES))
    return f"{key}={raw}", attribute.key, expected


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@st.composite
def _set_commands(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
    chosen = draw(
        st.lists(st.sampled_from(attributes.CATALOGUE), min_size=1, unique=True)
    )
    pairs = [draw(_pair(attribute)) for attribute in chosen]
    typed = " ".join(pair for pair, _, _ in pairs)
    verb = _random_case(draw, "set")
    return _slack_escape(f"{verb} m-Bp1x9 {typed}"), {k: v for _, k, v in pairs}


@settings(max_examples=300, deadline=None)
@given(case=_set_commands())
def test_generated_set_commands_round_trip_to_normalised_changes(
    case: tuple[str, dict[str, str]],
) -> None:
    text, expected = case
    command = parse(text, default_region=REGION)
    assert command.verb is Verb.SET
    assert command.image_id == "m-Bp1x9"
    assert command.changes == expected


def test_a_value_may_end_with_an_equals_sign() -> None:
    parsed = parse("set m-plain0001 description=0= reason=a=b", default_region="cn-x1")

    assert parsed.changes["description"] == "0="
    assert parsed.reason == "a=b"
