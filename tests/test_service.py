"""The service's preflight ordering, with an in-process gateway that can hold calls.

The end-to-end tests prove the flow over the wire; these pin down what only a
controllable gateway can show: which reads overlap.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from bot.ecs import EcsError
from bot.model import (
    ChangeRequest,
    Command,
    DryRun,
    EventKind,
    ImageSnapshot,
    Outcome,
    State,
    Verb,
    WriteResult,
)
from bot.policy import Policy
from bot.preflight import FamilyMemo
from bot.service import Service
from bot.store import RequestStore

REGION = "cn-hangzhou"


class HeldGateway:
    """A gateway whose image read waits until the family listing has begun."""

    def __init__(self, images: dict[str, ImageSnapshot]) -> None:
        self.images = images
        self.family_started = threading.Event()
        self.hold_image = False
        self.calls: list[tuple[str, str]] = []

    def image(self, region: str, image_id: str) -> ImageSnapshot:
        self.calls.append(("image", image_id))
        if self.hold_image and not self.family_started.wait(5):
            raise AssertionError(
                "the family read never started alongside the image read"
            )
        return self.images[image_id]

    def family_images(
        self, region: str, family: str, statuses: Sequence[str] = ("Available",)
    ) -> list[ImageSnapshot]:
        self.calls.append(("family", family))
        self.family_started.set()
        return [i for i in self.images.values() if i.family == family]

    def list_images(self, region: str) -> list[ImageSnapshot]:
        self.calls.append(("list", region))
        return list(self.images.values())

    def resolve_family(self, region: str, family: str) -> ImageSnapshot | None:
        self.calls.append(("resolve", family))
        members = [i for i in self.images.values() if i.family == family]
        return max(members, key=lambda i: i.creation_time) if members else None

    def shared_with(self, region: str, image_id: str) -> list[str]:
        return []

    def instances_using(self, region: str, image_id: str) -> list[str]:
        return []

    def dry_run(self, region: str, image_id: str, changes: Mapping[str, str]) -> DryRun:
        return DryRun(passed=True)

    def modify(
        self, region: str, image_id: str, changes: Mapping[str, str]
    ) -> WriteResult:
        return WriteResult(Outcome.SUCCEEDED, "req-1")


class NoDirectory:
    def members(self, group_id: str) -> frozenset[str]:
        return frozenset()


class Posted:
    def __init__(self) -> None:
        self.published: list[ChangeRequest] = []

    def publish(self, request: ChangeRequest) -> str:
        self.published.append(request)
        return "1.0001"

    def refresh(self, request: ChangeRequest) -> None:
        pass

    def reply(self, request: ChangeRequest, kind: EventKind, actor: str) -> None:
        pass

    def announce(self, channel: str, request: ChangeRequest) -> None:
        pass


def _image(image_id: str, family: str, created: str) -> ImageSnapshot:
    return ImageSnapshot(
        image_id=image_id,
        region=REGION,
        name=image_id,
        family=family,
        status="Available",
        creation_time=created,
    )


@pytest.fixture
def world() -> Iterator[tuple[Service, HeldGateway, Posted]]:
    gateway = HeldGateway(
        {
            "m-old": _image("m-old", "web", "2026-01-01T00:00:00Z"),
            "m-new": _image("m-new", "web", "2026-02-01T00:00:00Z"),
        }
    )
    posted = Posted()
    store = RequestStore(":memory:")
    service = Service(
        gateway=gateway,  # type: ignore[arg-type]
        store=store,
        policy=Policy(),
        directory=NoDirectory(),
        notifier=posted,
    )
    yield service, gateway, posted
    service.close()
    store.close()


def _deprecate(image_id: str) -> Command:
    return Command(
        verb=Verb.DEPRECATE,
        image_id=image_id,
        region=REGION,
        changes={"status": "Deprecated"},
    )


def test_a_seen_image_reads_its_family_alongside_the_image(
    world: tuple[Service, HeldGateway, Posted],
) -> None:
    service, gateway, posted = world
    service.show(Command(verb=Verb.SHOW, image_id="m-new", region=REGION))
    gateway.hold_image = True

    preview = service.request_change(_deprecate("m-new"), "UALICE", "C1")

    assert [r.code for r in preview.request.risks] == ["rollback"]
    assert "m-old" in preview.request.risks[0].text
    assert [r.id for r in posted.published] == [preview.request.id]


def test_a_wrong_family_guess_is_corrected_by_the_image_read(
    world: tuple[Service, HeldGateway, Posted],
) -> None:
    service, gateway, _ = world
    service.show(Command(verb=Verb.SHOW, image_id="m-new", region=REGION))
    gateway.images["m-new"] = _image("m-new", "solo", "2026-02-01T00:00:00Z")

    preview = service.request_change(_deprecate("m-new"), "UALICE", "C1")

    assert [r.code for r in preview.request.risks] == ["last_available"]
    assert ("family", "solo") in gateway.calls


def test_an_unseen_image_reads_its_family_after_the_image(
    world: tuple[Service, HeldGateway, Posted],
) -> None:
    service, gateway, _ = world

    service.request_change(_deprecate("m-old"), "UALICE", "C1")

    assert gateway.calls.index(("image", "m-old")) < gateway.calls.index(
        ("family", "web")
    )


def test_the_family_memo_forgets_the_oldest_entries() -> None:
    memo = FamilyMemo(size=2)
    for n in range(3):
        memo.saw(_image(f"m-{n}", f"f{n}", ""))

    assert memo.get(REGION, "m-0") == ""
    assert memo.get(REGION, "m-2") == "f2"


def test_dry_run_args_are_the_differing_changes_only(
    world: tuple[Service, HeldGateway, Posted],
) -> None:
    service, gateway, _ = world
    seen: list[dict[str, Any]] = []
    gateway.dry_run = lambda region, image_id, changes: (  # type: ignore[method-assign]
        seen.append(dict(changes)) or DryRun(passed=True)
    )

    service.request_change(
        Command(
            verb=Verb.SET,
            image_id="m-old",
            region=REGION,
            changes={"status": "Available", "name": "renamed"},
        ),
        "UALICE",
        "C1",
    )

    assert seen[-1] == {"name": "renamed"}


class FlakyNotifier(Posted):
    """Slack that times out on every update of a posted message."""

    def refresh(self, request: ChangeRequest) -> None:
        raise TimeoutError("slack did not answer")


def _service(gateway: HeldGateway, notifier: Posted, policy: Policy) -> Service:
    return Service(
        gateway=gateway,  # type: ignore[arg-type]
        store=RequestStore(":memory:"),
        policy=policy,
        directory=NoDirectory(),
        notifier=notifier,
    )


def _rename(image_id: str) -> Command:
    return Command(
        verb=Verb.SET, image_id=image_id, region=REGION, changes={"name": "renamed"}
    )


def test_a_notification_failure_never_stops_the_write() -> None:
    gateway = HeldGateway({"m-old": _image("m-old", "", "2026-01-01T00:00:00Z")})
    writes: list[Mapping[str, str]] = []
    gateway.modify = lambda r, i, changes: (  # type: ignore[method-assign]
        writes.append(changes) or WriteResult(Outcome.SUCCEEDED, "req-9")
    )
    service = _service(gateway, FlakyNotifier(), Policy())
    request = service.request_change(_rename("m-old"), "UALICE", "C1").request

    assert service.click(request.id, "apply", "UALICE") == ""

    stored = service.store.get(request.id)
    assert stored is not None and stored.state.value == "SUCCEEDED"
    assert writes == [{"name": "renamed"}]
    service.close()


def test_the_last_approval_and_the_claim_are_one_write() -> None:
    gateway = HeldGateway({"m-old": _image("m-old", "", "2026-01-01T00:00:00Z")})
    service = _service(gateway, Posted(), Policy(approvals_required=1))
    request = service.request_change(_rename("m-old"), "UALICE", "C1").request
    seen: list[str] = []
    gateway.image = lambda region, image_id: (  # type: ignore[method-assign]
        seen.append(service.store.get(request.id).state.value)  # type: ignore[union-attr]
        or gateway.images[image_id]
    )

    service.click(request.id, "approve", "UBOB")

    assert seen[0] == "EXECUTING"
    stored = service.store.get(request.id)
    assert stored is not None and stored.approvals == ["UBOB"]
    assert stored.state.value == "SUCCEEDED"
    service.close()


def test_approvals_during_shutdown_are_refused_and_not_recorded() -> None:
    gateway = HeldGateway({"m-old": _image("m-old", "", "2026-01-01T00:00:00Z")})
    service = _service(gateway, Posted(), Policy(approvals_required=1))
    request = service.request_change(_rename("m-old"), "UALICE", "C1").request
    assert service.drain(timeout=1)

    message = service.click(request.id, "approve", "UBOB")

    assert "restarting" in message
    stored = service.store.get(request.id)
    assert (
        stored is not None
        and stored.approvals == []
        and stored.state.value == "PREVIEWED"
    )
    service.close()


class SlowPost(Posted):
    """Slack whose answer to the preview post is held back until released."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.replies: list[str] = []

    def publish(self, request: ChangeRequest) -> str:
        self.published.append(request)
        self.release.wait(5)
        return "9.0001"

    def reply(self, request: ChangeRequest, kind: EventKind, actor: str) -> None:
        self.replies.append(request.root_ts)


def test_a_click_that_outruns_the_preview_post_waits_for_its_ts() -> None:
    gateway = HeldGateway({"m-old": _image("m-old", "", "2026-01-01T00:00:00Z")})
    slack = SlowPost()
    service = _service(gateway, slack, Policy())
    opening = threading.Thread(
        target=service.request_change, args=(_rename("m-old"), "UALICE", "C1")
    )
    opening.start()
    while not slack.published:
        threading.Event().wait(0.01)
    request_id = slack.published[0].id

    clicking = threading.Thread(
        target=service.click, args=(request_id, "cancel", "UALICE")
    )
    clicking.start()
    threading.Event().wait(0.2)
    slack.release.set()
    opening.join()
    clicking.join()

    assert slack.replies == ["9.0001"]
    service.close()


def test_the_warm_up_lets_a_first_deprecation_read_its_family_at_once(
    world: tuple[Service, HeldGateway, Posted],
) -> None:
    service, gateway, _ = world
    service.warm_up(REGION)
    gateway.hold_image = True

    preview = service.request_change(_deprecate("m-new"), "UALICE", "C1")

    assert [r.code for r in preview.request.risks] == ["rollback"]


class SlowDirectory:
    """A user-group lookup that takes a while: the clock moves while it runs."""

    def __init__(self, clock: list[float], step: float) -> None:
        self.clock, self.step = clock, step

    def members(self, group_id: str) -> frozenset[str]:
        self.clock[0] += self.step
        return frozenset({"UALICE"})


def test_a_request_that_expires_during_the_policy_check_does_not_run() -> None:
    now = [1000.0]
    gateway = HeldGateway({"m-old": _image("m-old", "", "2026-01-01T00:00:00Z")})
    service = Service(
        gateway=gateway,  # type: ignore[arg-type]
        store=RequestStore(":memory:"),
        policy=Policy(requesters=("S0OPS",), pending_ttl_minutes=1),
        directory=SlowDirectory(now, step=0),
        notifier=Posted(),
        clock=lambda: now[0],
    )
    request = service.request_change(_rename("m-old"), "UALICE", "C1").request
    now[0] += 59
    service.directory = SlowDirectory(now, step=5)

    message = service.click(request.id, "apply", "UALICE")

    assert "expired" in message
    stored = service.store.get(request.id)
    assert stored is not None and stored.state.value == "EXPIRED"
    assert not any(call[0] == "image" for call in gateway.calls[1:])
    service.close()


def test_start_up_reconciles_only_what_an_earlier_process_left_executing(
    tmp_path: Any,
) -> None:
    gateway = HeldGateway({"m-old": _image("m-old", "", "2026-01-01T00:00:00Z")})
    path = str(tmp_path / "state.sqlite")
    first = Service(
        gateway=gateway,  # type: ignore[arg-type]
        store=RequestStore(path),
        policy=Policy(),
        directory=NoDirectory(),
        notifier=Posted(),
    )
    left = first.request_change(_rename("m-old"), "UALICE", "C1").request
    first.store.transition(left.id, {State.PREVIEWED}, State.EXECUTING)
    first.close()
    first.store.close()

    second = Service(
        gateway=gateway,  # type: ignore[arg-type]
        store=RequestStore(path),
        policy=Policy(),
        directory=NoDirectory(),
        notifier=Posted(),
    )
    live = second.request_change(_rename("m-old"), "UALICE", "C1").request
    second.store.transition(live.id, {State.PREVIEWED}, State.EXECUTING)
    failures = [EcsError("Transport.Timeout", "no answer", transient=True)]

    def image(region: str, image_id: str) -> ImageSnapshot:
        if failures:
            raise failures.pop()
        return gateway.images[image_id]

    gateway.image = image  # type: ignore[method-assign]

    assert second.reconcile() == 1
    assert second.reconcile() == 0
    assert second.store.get(left.id).state is State.UNKNOWN  # type: ignore[union-attr]
    assert second.store.get(live.id).state is State.EXECUTING  # type: ignore[union-attr]
    second.close()
    second.store.close()


def test_a_revert_is_recorded_when_it_is_applied_and_only_one_may_be_open() -> None:
    gateway = HeldGateway({"m-old": _image("m-old", "", "2026-01-01T00:00:00Z")})
    applied: dict[str, str] = {}

    def modify(region: str, image_id: str, changes: Mapping[str, str]) -> WriteResult:
        applied.update(changes)
        current = gateway.images[image_id]
        gateway.images[image_id] = ImageSnapshot(
            **{**current.to_dict(), "name": changes.get("name", current.name)}
        )
        return WriteResult(Outcome.SUCCEEDED, "req-1")

    gateway.modify = modify  # type: ignore[method-assign]
    service = _service(gateway, Posted(), Policy())
    change = service.request_change(_rename("m-old"), "UALICE", "C1").request
    service.click(change.id, "apply", "UALICE")

    assert service.click(change.id, "revert", "UALICE") == ""
    assert "already open" in service.click(change.id, "revert", "UALICE")
    kinds = [e.kind for e in service.store.events(request_id=change.id)]
    assert EventKind.REVERTED not in kinds
    [revert] = service.pending()
    service.click(revert.id, "apply", "UALICE")

    reverted = service.store.events(image_id="m-old")
    assert [e.detail for e in reverted if e.kind is EventKind.REVERTED] == [change.id]
    assert applied == {"name": "m-old"}
    service.close()
