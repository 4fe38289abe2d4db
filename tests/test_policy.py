"""The policy file and the authorization decisions built on it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bot import policy
from bot.policy import Decision, DirectoryError, Policy, PolicyError

FULL = """
approvals_required = 1
approvers = ["U0ALICE", "S0SRE", "U0ALICE"]
requesters = ["S0PLATFORM", "W0BOB"]
pending_ttl_minutes = 0.05

[risky]
approvals_required = 2
approvers = ["S0LEADS"]

[break_glass]
responders = ["S0ONCALL", "U0CAROL"]
announce_channel = "C0INCIDENT"
require_reason = false
"""


class FakeDirectory:
    """Group membership from a dict; groups listed in `broken` cannot be read."""

    def __init__(
        self, groups: dict[str, set[str]] | None = None, broken: tuple[str, ...] = ()
    ) -> None:
        self.groups = groups or {}
        self.broken = broken
        self.calls: list[str] = []

    def members(self, group_id: str) -> frozenset[str]:
        self.calls.append(group_id)
        if group_id in self.broken:
            raise DirectoryError("slack is down")
        return frozenset(self.groups.get(group_id, set()))


NOBODY = FakeDirectory()


def error_of(text: str) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        policy.parse(textwrap.dedent(text), source="test.toml")
    return info.value


# Parsing.


def test_full_file_sets_every_field() -> None:
    loaded = policy.parse(FULL)

    assert loaded == Policy(
        approvals_required=1,
        approvers=("U0ALICE", "S0SRE"),
        requesters=("S0PLATFORM", "W0BOB"),
        pending_ttl_minutes=0.05,
        risky_approvals_required=2,
        risky_approvers=("S0LEADS",),
        responders=("S0ONCALL", "U0CAROL"),
        announce_channel="C0INCIDENT",
        require_incident_reason=False,
    )


def test_fractional_ttl_becomes_seconds() -> None:
    assert policy.parse(FULL).ttl_seconds == pytest.approx(3.0)
    assert policy.parse("pending_ttl_minutes = 2").ttl_seconds == 120.0


def test_empty_file_and_empty_path_give_the_defaults() -> None:
    assert policy.parse("") == Policy()
    assert policy.load("") == Policy()
    assert Policy().ttl_seconds == 1800.0
    assert Policy().require_incident_reason is True


def test_docstring_example_is_a_valid_policy() -> None:
    doc = policy.__doc__ or ""
    example = doc.split("every key shown:\n\n")[1].split("\nGroup IDs")[0]

    loaded = policy.parse(textwrap.dedent(example))

    assert loaded.approvals_required == 1
    assert loaded.risky_approvers == ("S0SRELEADS",)
    assert loaded.announce_channel == "C0INCIDENTS"


def test_risky_defaults_to_the_top_level_rules() -> None:
    loaded = policy.parse('approvals_required = 1\napprovers = ["S0SRE"]')

    assert loaded.risky_approvals_required == 1
    assert loaded.risky_approvers == ("S0SRE",)


def test_empty_risky_approvers_fall_back_to_the_top_level_list() -> None:
    loaded = policy.parse('approvers = ["S0SRE"]\n[risky]\napprovers = []')

    assert policy.approvers_for(loaded, risky=True) == ("S0SRE",)


def test_risky_approvals_below_the_base_are_rejected() -> None:
    err = error_of(
        """
        approvals_required = 2
        [risky]
        approvals_required = 1
        """
    )

    assert err.key == "risky.approvals_required"
    assert "at least the top-level approvals_required (2)" in str(err)


@pytest.mark.parametrize(
    ("text", "key", "allowed"),
    [
        ("approvals_required = -1", "approvals_required", "whole number >= 0"),
        ("approvals_required = 1.5", "approvals_required", "whole number >= 0"),
        ("approvals_required = true", "approvals_required", "whole number >= 0"),
        ('approvals_required = "2"', "approvals_required", "whole number >= 0"),
        ('approvers = "U0ALICE"', "approvers", "must be a list"),
        ('approvers = ["@alice"]', "approvers", "not names or @handles"),
        ("approvers = [42]", "approvers", "member IDs (U…, W…)"),
        ('requesters = ["C0CHANNEL"]', "requesters", "user-group IDs (S…)"),
        ("pending_ttl_minutes = 0", "pending_ttl_minutes", "> 0"),
        ("pending_ttl_minutes = -5", "pending_ttl_minutes", "> 0"),
        ("pending_ttl_minutes = 10081", "pending_ttl_minutes", "at most 10080"),
        ("pending_ttl_minutes = inf", "pending_ttl_minutes", "at most 10080"),
        ("pending_ttl_minutes = nan", "pending_ttl_minutes", "number of minutes"),
        ('pending_ttl_minutes = "30"', "pending_ttl_minutes", "number of minutes"),
        ("pending_ttl_minutes = false", "pending_ttl_minutes", "number of minutes"),
        ("risky = 2", "risky", "[risky] section"),
        ("break_glass = []", "break_glass", "[break_glass] section"),
        (
            "[risky]\napprovals_required = -2",
            "risky.approvals_required",
            "whole number >= 0",
        ),
        ("[risky]\napprovers = [true]", "risky.approvers", "member IDs"),
        ('[break_glass]\nresponders = "S0X"', "break_glass.responders", "a list"),
        (
            '[break_glass]\nannounce_channel = "#incidents"',
            "break_glass.announce_channel",
            "channel ID (C…, G…)",
        ),
        (
            "[break_glass]\nannounce_channel = 7",
            "break_glass.announce_channel",
            "channel ID",
        ),
        (
            '[break_glass]\nrequire_reason = "yes"',
            "break_glass.require_reason",
            "true or false",
        ),
    ],
)
def test_wrong_types_name_the_key_and_what_is_allowed(
    text: str, key: str, allowed: str
) -> None:
    err = error_of(text)

    assert err.key == key
    assert f"`{key}`" in str(err)
    assert allowed in str(err)
    assert str(err).startswith("test.toml: ")


@pytest.mark.parametrize(
    ("text", "key", "suggestion"),
    [
        ("approver = []", "approver", "approvers"),
        ("pending_ttl = 5", "pending_ttl", "pending_ttl_minutes"),
        ("[breakglass]\nresponders = []", "breakglass", "break_glass"),
        (
            "[risky]\napproval_required = 3",
            "risky.approval_required",
            "risky.approvals_required",
        ),
        (
            "[break_glass]\nresponder = []",
            "break_glass.responder",
            "break_glass.responders",
        ),
    ],
)
def test_unknown_keys_are_rejected_with_the_closest_suggestion(
    text: str, key: str, suggestion: str
) -> None:
    err = error_of(text)

    assert err.key == key
    assert f"unknown key `{key}`" in str(err)
    assert "allowed keys" in str(err)
    assert f"Did you mean `{suggestion}`?" in str(err)


def test_unknown_key_without_a_close_match_lists_the_allowed_keys() -> None:
    err = error_of("colour = 'blue'")

    assert "allowed keys: approvals_required, approvers, requesters" in str(err)
    assert "Did you mean" not in str(err)


def test_nested_table_inside_risky_is_an_unknown_key() -> None:
    assert error_of("[risky.extra]\nx = 1").key == "risky.extra"


def test_more_approvals_than_listed_people_is_rejected() -> None:
    err = error_of('approvals_required = 3\napprovers = ["U0A", "U0B"]')

    assert err.key == "approvals_required"
    assert "lists only 2 people" in str(err)


def test_approval_count_is_not_limited_when_a_group_is_listed() -> None:
    loaded = policy.parse('approvals_required = 3\napprovers = ["U0A", "S0SRE"]')

    assert loaded.approvals_required == 3


def test_malformed_toml_names_the_source_and_the_line() -> None:
    err = error_of("approvals_required = 1\napprovers = [,]\n")

    assert str(err).startswith("test.toml is not valid TOML")
    assert "line 2" in str(err)


def test_toml_cut_short_names_the_last_line() -> None:
    err = error_of("approvals_required = 1\napprovers = [\n")

    assert "end of document" in str(err)
    assert "ends at line 3" in str(err)


def test_load_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(FULL, encoding="utf-8")

    assert policy.load(str(path)) == policy.parse(FULL)


def test_load_names_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"

    with pytest.raises(PolicyError, match=r"nope\.toml does not exist"):
        policy.load(str(missing))


def test_load_names_the_file_and_line_of_bad_toml(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("approvals_required = 1\n= 2\n", encoding="utf-8")

    with pytest.raises(PolicyError, match=r"bad\.toml is not valid TOML.*line 2"):
        policy.load(str(path))


def test_load_rejects_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.toml"
    path.write_bytes(b'approvers = ["\xe9"]\n')

    with pytest.raises(PolicyError, match="not UTF-8"):
        policy.load(str(path))


# Requesting.


def test_everyone_may_request_when_no_requesters_are_listed() -> None:
    assert policy.may_request(Policy(), "U0ANY", NOBODY) == Decision(True)


def test_requesters_list_admits_people_and_group_members() -> None:
    rules = Policy(requesters=("U0ALICE", "S0PLATFORM"))
    directory = FakeDirectory({"S0PLATFORM": {"U0BOB"}})

    assert policy.may_request(rules, "U0ALICE", directory).allowed
    assert policy.may_request(rules, "U0BOB", directory).allowed
    refused = policy.may_request(rules, "U0EVE", directory)
    assert not refused.allowed
    assert "requesters" in refused.reason


def test_listed_person_needs_no_directory_call() -> None:
    directory = FakeDirectory(broken=("S0PLATFORM",))

    decision = policy.may_request(
        Policy(requesters=("S0PLATFORM", "U0ALICE")), "U0ALICE", directory
    )

    assert decision.allowed
    assert directory.calls == []


def test_request_is_denied_when_the_directory_fails() -> None:
    directory = FakeDirectory(broken=("S0PLATFORM",))

    decision = policy.may_request(Policy(requesters=("S0PLATFORM",)), "U0A", directory)

    assert not decision.allowed
    assert "Could not check membership of user group `S0PLATFORM`" in decision.reason
    assert "try again" in decision.reason


# Approving.


def test_requester_cannot_approve_even_when_listed() -> None:
    rules = Policy(approvals_required=1, approvers=("U0ALICE",))

    decision = policy.may_approve(
        rules, "U0ALICE", requester="U0ALICE", risky=False, directory=NOBODY
    )

    assert not decision.allowed
    assert "cannot approve" in decision.reason


def test_requester_cannot_approve_with_an_open_approver_list() -> None:
    decision = policy.may_approve(
        Policy(approvals_required=1),
        "U0ALICE",
        requester="U0ALICE",
        risky=False,
        directory=NOBODY,
    )

    assert not decision.allowed


def test_empty_approver_list_means_anyone_but_the_requester() -> None:
    decision = policy.may_approve(
        Policy(approvals_required=1),
        "U0STRANGER",
        requester="U0ALICE",
        risky=False,
        directory=NOBODY,
    )

    assert decision.allowed


def test_non_approver_is_refused_with_who_may_approve() -> None:
    rules = Policy(approvals_required=1, approvers=("U0BOB", "S0SRE"))

    decision = policy.may_approve(
        rules, "U0EVE", requester="U0ALICE", risky=False, directory=FakeDirectory()
    )

    assert not decision.allowed
    assert "<@U0BOB>, <!subteam^S0SRE> may approve" in decision.reason


def test_group_membership_makes_an_approver() -> None:
    rules = Policy(approvals_required=1, approvers=("S0SRE",))
    directory = FakeDirectory({"S0SRE": {"U0BOB"}})

    decision = policy.may_approve(
        rules, "U0BOB", requester="U0ALICE", risky=False, directory=directory
    )

    assert decision.allowed
    assert directory.calls == ["S0SRE"]


def test_directory_failure_denies_approval() -> None:
    rules = Policy(approvals_required=1, approvers=("S0SRE",))

    decision = policy.may_approve(
        rules,
        "U0BOB",
        requester="U0ALICE",
        risky=False,
        directory=FakeDirectory({"S0SRE": {"U0BOB"}}, broken=("S0SRE",)),
    )

    assert not decision.allowed
    assert "`S0SRE`" in decision.reason
    assert "try again" in decision.reason


def test_a_readable_group_admits_even_when_another_group_fails() -> None:
    rules = Policy(approvals_required=1, approvers=("S0DOWN", "S0SRE"))
    directory = FakeDirectory({"S0SRE": {"U0BOB"}}, broken=("S0DOWN",))

    decision = policy.may_approve(
        rules, "U0BOB", requester="U0ALICE", risky=False, directory=directory
    )

    assert decision.allowed


def test_is_member_raises_when_no_readable_group_admits() -> None:
    directory = FakeDirectory({"S0SRE": set()}, broken=("S0DOWN",))

    with pytest.raises(DirectoryError) as info:
        policy.is_member("U0BOB", ("S0SRE", "S0DOWN"), directory)

    assert info.value.group_id == "S0DOWN"


def test_second_approval_by_the_same_person_is_refused() -> None:
    decision = policy.may_approve(
        Policy(approvals_required=2),
        "U0BOB",
        requester="U0ALICE",
        risky=False,
        directory=NOBODY,
        already=["U0BOB"],
    )

    assert not decision.allowed
    assert "already approved" in decision.reason


def test_risky_changes_use_the_risky_approvers_and_count() -> None:
    rules = policy.parse(FULL)
    directory = FakeDirectory({"S0SRE": {"U0BOB"}, "S0LEADS": {"U0DANA"}})

    def approve(user: str, risky: bool) -> bool:
        return policy.may_approve(
            rules, user, requester="U0X", risky=risky, directory=directory
        ).allowed

    assert approve("U0BOB", risky=False)
    assert not approve("U0BOB", risky=True)
    assert approve("U0DANA", risky=True)
    assert not approve("U0DANA", risky=False)
    assert policy.approvals_needed(rules, risky=False) == 1
    assert policy.approvals_needed(rules, risky=True) == 2


def test_risky_refusal_says_the_change_is_risky() -> None:
    rules = Policy(approvers=("U0BOB",), risky_approvers=("S0LEADS",))

    decision = policy.may_approve(
        rules, "U0BOB", requester="U0X", risky=True, directory=FakeDirectory()
    )

    assert not decision.allowed
    assert "risky change" in decision.reason
    assert "<!subteam^S0LEADS>" in decision.reason


def test_risky_count_never_falls_below_the_base_count() -> None:
    rules = Policy(approvals_required=2, risky_approvals_required=0)

    assert policy.approvals_needed(rules, risky=True) == 2


def test_risky_approvers_default_to_the_base_list() -> None:
    rules = Policy(approvers=("U0BOB",))

    assert policy.approvers_for(rules, risky=True) == ("U0BOB",)
    assert policy.approvers_for(rules, risky=False) == ("U0BOB",)


# Breaking glass.


def test_responder_may_break_glass_directly_or_through_a_group() -> None:
    rules = Policy(responders=("U0CAROL", "S0ONCALL"))
    directory = FakeDirectory({"S0ONCALL": {"U0DAVE"}})

    assert policy.may_break_glass(rules, "U0CAROL", directory).allowed
    assert policy.may_break_glass(rules, "U0DAVE", directory).allowed


def test_non_responder_may_not_break_glass() -> None:
    rules = Policy(responders=("S0ONCALL",))

    decision = policy.may_break_glass(rules, "U0EVE", FakeDirectory())

    assert not decision.allowed
    assert "incident responders (<!subteam^S0ONCALL>)" in decision.reason
    assert "drop incident=" in decision.reason


def test_nobody_may_break_glass_without_responders() -> None:
    decision = policy.may_break_glass(Policy(), "U0CAROL", NOBODY)

    assert not decision.allowed
    assert "no incident responders" in decision.reason


def test_break_glass_is_denied_when_the_directory_fails() -> None:
    rules = Policy(responders=("S0ONCALL",))
    directory = FakeDirectory({"S0ONCALL": {"U0DAVE"}}, broken=("S0ONCALL",))

    decision = policy.may_break_glass(rules, "U0DAVE", directory)

    assert not decision.allowed
    assert "S0ONCALL" in decision.reason


# Display.


def test_mentions_render_people_and_groups() -> None:
    assert policy.mentions(["U1", "W2", "S3"]) == "<@U1>, <@W2>, <!subteam^S3>"
    assert policy.mentions([]) == ""


def test_mentions_escape_anything_that_is_not_an_id() -> None:
    assert policy.mentions(["<!channel>"]) == "&lt;!channel&gt;"
