"""The workflow of a change request: preview, approve, execute, close, reconcile.

The service meets the three edges here: the ECS gateway, the request store and the
notifier that posts to Slack. It knows no Slack types; what the person who acted
should read privately comes back as a return value or a UserError.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from bot import attributes, policy, risks, texts
from bot.ecs import EcsError, EcsGateway
from bot.model import (
    AuditEvent,
    ChangeRequest,
    Command,
    EventKind,
    ImageSnapshot,
    Outcome,
    Preflight,
    State,
    Verb,
    WriteResult,
)
from bot.mrkdwn import esc
from bot.policy import Directory, Policy
from bot.preflight import FamilyView, ImageView, Reader
from bot.store import RequestStore

log = logging.getLogger(__name__)

T = TypeVar("T")


class UserError(Exception):
    """Something the person who acted must read; nothing was changed.

    The message is Slack mrkdwn that is already safe: values from people or
    from ECS in it are escaped.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DeliveryError(Exception):
    """Slack would not take a message (e.g. the bot is not in the channel)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Notifier(Protocol):
    """Where a request's messages go (Slack in production)."""

    def publish(self, request: ChangeRequest) -> str: ...

    def refresh(self, request: ChangeRequest) -> None: ...

    def reply(self, request: ChangeRequest, kind: EventKind, actor: str) -> None: ...

    def announce(self, channel: str, request: ChangeRequest) -> None: ...


@dataclass(frozen=True)
class Preview:
    """A preview: posted in the channel, or (blocked) shown to the requester alone."""

    request: ChangeRequest
    posted: bool


ACTIONS = ("apply", "approve", "cancel", "revert")


class Service:
    """Opens, approves, executes and closes change requests."""

    def __init__(
        self,
        *,
        gateway: EcsGateway,
        store: RequestStore,
        policy: Policy,
        directory: Directory,
        notifier: Notifier,
        clock: Callable[[], float] = time.time,
        workers: int = 64,
    ) -> None:
        self.gateway = gateway
        self.store = store
        self.policy = policy
        self.directory = directory
        self.notifier = notifier
        self.clock = clock
        self.reader = Reader(gateway, workers=workers)
        self._executing = 0
        self._idle = threading.Condition()
        self._closing = False
        self._posting: dict[str, threading.Event] = {}
        # Requests a previous process left EXECUTING: only these are reconciled,
        # never one this process is applying right now.
        self._orphans = {
            r.id for r in store.open_requests() if r.state is State.EXECUTING
        }

    # -- reads ---------------------------------------------------------------

    def show(self, command: Command) -> ImageView:
        return self._read(lambda: self.reader.image(command.region, command.image_id))

    def family(self, command: Command) -> FamilyView:
        return self._read(lambda: self.reader.family(command.region, command.family))

    def history(self, image_id: str = "", limit: int = 15) -> list[AuditEvent]:
        return self.store.events(
            image_id=image_id or None, limit=limit, newest_first=True
        )

    def pending(self) -> list[ChangeRequest]:
        return [r for r in self.store.open_requests() if r.state is State.PREVIEWED]

    # -- opening a request ---------------------------------------------------

    def request_change(
        self, command: Command, user: str, channel: str, *, revert_of: str = ""
    ) -> Preview:
        """Read the image, dry-run the change and post the preview."""
        self._refuse_when_closing()
        self._check(policy.may_request(self.policy, user, self.directory))
        if command.incident:
            self._check_break_glass(user, command)

        facts = self._read(lambda: self.reader.preflight(command))
        before = attributes.read(facts.image, command.changes)
        after = {k: v for k, v in command.changes.items() if before[k] != v}
        if not after:
            raise UserError(texts.no_change(facts.image, command.changes))
        if after != command.changes:
            # The dry run ran on the whole command, alongside the image read; the
            # write will carry only what differs, so that is what must be checked.
            dry_run = self.reader.dry_run(command.region, command.image_id, after)
            facts = dataclasses.replace(facts, dry_run=dry_run)
        request = self._new_request(command, user, channel, facts, after, revert_of)
        self._record(EventKind.REQUESTED, request, user)

        if request.blocked:
            self._record(EventKind.PREVIEWED, request, user, detail="blocked")
            log.info(
                "request %s by %s for %s blocked", request.id, user, request.image_id
            )
            return Preview(request, posted=False)

        self.store.add(request)
        self._record(EventKind.PREVIEWED, request, user)
        # A click can reach the bot before Slack's answer to the post does; it
        # waits on this so that its thread replies know the message's ts.
        posting = self._posting[request.id] = threading.Event()
        try:
            ts = self.notifier.publish(request)
            posted = self.store.update(
                request.id, lambda r: dataclasses.replace(r, root_ts=ts)
            )
        except DeliveryError as error:
            cancelled = self.store.transition(
                request.id,
                {State.PREVIEWED},
                State.CANCELLED,
                close_reason=error.reason,
            )
            if cancelled is not None:
                self._record(EventKind.CANCELLED, cancelled, "", detail=error.reason)
            raise UserError(texts.undelivered(error.reason)) from None
        finally:
            posting.set()
            self._posting.pop(request.id, None)
        log.info(
            "request %s by %s for %s in %s previewed (approvals %d)",
            request.id,
            user,
            request.image_id,
            request.region,
            request.approvals_required,
        )
        return Preview(posted or request, posted=True)

    def _check_break_glass(self, user: str, command: Command) -> None:
        decision = policy.may_break_glass(self.policy, user, self.directory)
        if not decision.allowed:
            raise UserError(decision.reason)
        if self.policy.require_incident_reason and not command.reason:
            raise UserError(
                f'A break-glass change needs a reason: add reason="…" next to '
                f"incident={command.incident}."
            )

    def _new_request(
        self,
        command: Command,
        user: str,
        channel: str,
        facts: Preflight,
        after: dict[str, str],
        revert_of: str,
    ) -> ChangeRequest:
        found = risks.assess(after, facts)
        risky = risks.is_risky(found, after)
        break_glass = bool(command.incident)
        now = self.clock()
        return ChangeRequest(
            id="r" + secrets.token_hex(8),
            requester=user,
            channel=channel,
            region=command.region,
            image_id=facts.image.image_id,
            before=attributes.read(facts.image, after),
            after=after,
            snapshot=facts.image.to_dict(),
            created_at=now,
            updated_at=now,
            expires_at=now + self.policy.ttl_seconds,
            risks=found,
            dry_run=facts.dry_run,
            reason=command.reason,
            incident=command.incident,
            break_glass=break_glass,
            approvals_required=(
                0 if break_glass else policy.approvals_needed(self.policy, risky=risky)
            ),
            approvers=list(policy.approvers_for(self.policy, risky=risky)),
            revert_of=revert_of,
        )

    # -- clicks --------------------------------------------------------------

    def click(self, request_id: str, action: str, user: str) -> str:
        """Handle a button; returns what the clicker alone should read, or ""."""
        if action not in ACTIONS:
            return "That button is not one of imagebot's."
        request = self.request(request_id)
        if request is None:
            log.warning("click %s by %s names no request %r", action, user, request_id)
            return "That request no longer exists; nothing was changed."
        if action == "revert":
            return self._revert(request, user)
        request = self._expire_if_overdue(request)
        if request.state is not State.PREVIEWED:
            return texts.closed(request)
        if action == "cancel":
            return self._cancel(request, user)
        if action == "approve":
            return self._approve(request, user)
        return self._apply(request, user)

    def _apply(self, request: ChangeRequest, user: str) -> str:
        if user != request.requester:
            who = f"<@{request.requester}>"
            if request.approvals_required:
                return f"Only {who} can confirm this request; approvers use Approve."
            return f"Only {who}, who asked for this change, can apply it."
        if request.blocked:
            return "This change is blocked; see the problems listed in the request."
        self._check(policy.may_request(self.policy, user, self.directory))
        if request.break_glass:
            self._check(policy.may_break_glass(self.policy, user, self.directory))
        if request.approvals_missing:
            return (
                f"This change still needs {request.approvals_missing} approval(s) "
                f"from {policy.mentions(request.approvers) or 'anyone but you'}; it "
                "runs as soon as the last approval arrives."
            )
        return self._execute(request, user)

    def _approve(self, request: ChangeRequest, user: str) -> str:
        risky = risks.is_risky(request.risks, request.after)
        decision = policy.may_approve(
            self.policy,
            user,
            requester=request.requester,
            risky=risky,
            directory=self.directory,
            already=request.approvals,
        )
        if not decision.allowed:
            return decision.reason

        with self._work() as working:
            if not working:
                return texts.RESTARTING
            return self._approve_claimed(request, user)

    def _approve_claimed(self, request: ChangeRequest, user: str) -> str:
        now = self.clock()

        def add(current: ChangeRequest) -> ChangeRequest | None:
            if current.state is not State.PREVIEWED or user in current.approvals:
                return None
            if now >= current.expires_at:
                return None
            if not current.approvals_missing:
                return None
            approved = dataclasses.replace(
                current, approvals=[*current.approvals, user], updated_at=self.clock()
            )
            if approved.approvals_missing:
                return approved
            # The last approval claims the execution in the same write, so no
            # crash or shutdown can leave a fully approved request that never runs.
            return dataclasses.replace(approved, state=State.EXECUTING, closed_by=user)

        approved = self.store.update(request.id, add)
        if approved is None:
            latest = self._expire_if_overdue(self.store.get(request.id) or request)
            if latest.state is not State.PREVIEWED:
                return texts.closed(latest)
            if user in latest.approvals:
                return "You already approved this request."
            return "This request already has all the approvals it needs."
        self._record(EventKind.APPROVED, approved, user)
        log.info(
            "request %s for %s approved by %s (%d missing)",
            approved.id,
            approved.image_id,
            user,
            approved.approvals_missing,
        )
        self._tell(self.notifier.reply, approved, EventKind.APPROVED, user)
        if approved.state is State.EXECUTING:
            return self._run(approved, user)
        self._tell(self.notifier.refresh, approved)
        return ""

    def _cancel(self, request: ChangeRequest, user: str) -> str:
        if user != request.requester:
            return (
                f"Only <@{request.requester}> can cancel this request; approvers can "
                "Reject it instead."
            )
        return self._close(request, user, State.CANCELLED, EventKind.CANCELLED, "")

    def reject(self, request_id: str, user: str, reason: str) -> str:
        """Close a request on an approver's word, with their reason."""
        request = self.request(request_id)
        if request is None:
            return "That request no longer exists; nothing was changed."
        request = self._expire_if_overdue(request)
        if request.state is not State.PREVIEWED:
            return texts.closed(request)
        decision = self.may_reject(request, user)
        if not decision.allowed:
            return decision.reason
        return self._close(request, user, State.REJECTED, EventKind.REJECTED, reason)

    def may_reject(self, request: ChangeRequest, user: str) -> policy.Decision:
        if user == request.requester:
            return policy.Decision(False, "Use Cancel to withdraw your own request.")
        if not request.approvals_required:
            return policy.Decision(
                False, "This request needs no approval, so there is nothing to reject."
            )
        if self.clock() >= request.expires_at:
            expired = dataclasses.replace(request, state=State.EXPIRED)
            return policy.Decision(False, texts.closed(expired))
        risky = risks.is_risky(request.risks, request.after)
        return policy.may_approve(
            self.policy,
            user,
            requester=request.requester,
            risky=risky,
            directory=self.directory,
        )

    def request(self, request_id: str) -> ChangeRequest | None:
        """The stored request, once its preview is posted (or failed to post)."""
        posting = self._posting.get(request_id)
        if posting is not None:
            posting.wait(timeout=10)
        return self.store.get(request_id)

    def _close(
        self,
        request: ChangeRequest,
        user: str,
        state: State,
        kind: EventKind,
        reason: str,
    ) -> str:
        closed = self.store.transition(
            request.id,
            {State.PREVIEWED},
            state,
            closed_by=user,
            close_reason=reason,
            updated_at=self.clock(),
        )
        if closed is None:
            return texts.closed(self.store.get(request.id) or request)
        self._record(kind, closed, user, detail=reason)
        log.info(
            "request %s for %s %s by %s", closed.id, closed.image_id, state.value, user
        )
        self._tell(self.notifier.refresh, closed)
        self._tell(self.notifier.reply, closed, kind, user)
        return ""

    # -- execution -----------------------------------------------------------

    def _execute(self, request: ChangeRequest, user: str) -> str:
        """PREVIEWED → EXECUTING exactly once, then the one real write."""
        with self._work() as working:
            if not working:
                return texts.RESTARTING
            now = self.clock()

            def claim(current: ChangeRequest) -> ChangeRequest | None:
                # Expiry is checked inside the compare-and-set: a slow policy
                # check between the click and here must not outlive the request.
                if current.state is not State.PREVIEWED or now >= current.expires_at:
                    return None
                return dataclasses.replace(
                    current, state=State.EXECUTING, closed_by=user, updated_at=now
                )

            running = self.store.update(request.id, claim)
            if running is None:
                latest = self.store.get(request.id) or request
                return texts.closed(self._expire_if_overdue(latest))
            return self._run(running, user)

    def _run(self, running: ChangeRequest, user: str) -> str:
        """The write of a request this thread has claimed (state EXECUTING)."""
        log.info(
            "request %s executing for %s on %s in %s",
            running.id,
            user,
            running.image_id,
            running.region,
        )
        self._tell(self.notifier.refresh, running)

        changed = self._changed_since_preview(running)
        if changed:
            return self._finish(running, user, changed)
        result = self.gateway.modify(running.region, running.image_id, running.after)
        if result.outcome is Outcome.UNKNOWN:
            result = self._reconcile_write(running, result)
        return self._finish(running, user, result)

    @contextmanager
    def _work(self) -> Iterator[bool]:
        """Count work that must finish before shutdown; False once shutting down."""
        with self._idle:
            if self._closing:
                yield False
                return
            self._executing += 1
        try:
            yield True
        finally:
            with self._idle:
                self._executing -= 1
                self._idle.notify_all()

    def _tell(self, send: Callable[..., None], *args: Any) -> None:
        """Notify Slack; a failure is logged and never stops the request's work."""
        try:
            send(*args)
        except Exception:
            log.exception("notification %s failed", getattr(send, "__name__", send))

    def _changed_since_preview(self, request: ChangeRequest) -> WriteResult | None:
        """A refusal when the image no longer matches the preview, else None.

        Texts here are plain: the thread reply escapes them.
        """
        before = request.image
        leaving = (
            request.after.get("status") == "Deprecated" or "family" in request.after
        )
        try:
            now, family = self.reader.recheck(
                request.region, request.image_id, before.family if leaving else ""
            )
        except EcsError as error:
            return WriteResult(
                Outcome.FAILED,
                code="RereadFailed",
                message=f"Could not read {request.image_id} again before applying, "
                f"so nothing was applied: {error.message}",
            )
        then = attributes.read(before)
        current = attributes.read(now)
        moved = [k for k in attributes.ordered(then) if then[k] != current[k]]
        if not moved:
            return self._family_emptied(request, family) if leaving else None
        shown = ", ".join(
            f"{attributes.get(k).label} {then[k] or '(empty)'} → "
            f"{current[k] or '(empty)'}"
            for k in moved
        )
        return WriteResult(
            Outcome.FAILED,
            code="ImageChanged",
            message=f"{request.image_id} changed since the preview ({shown}), so the "
            "approval no longer matches what was shown. Nothing was applied; run "
            "the command again for a fresh preview.",
        )

    def _family_emptied(
        self, request: ChangeRequest, family: list[ImageSnapshot]
    ) -> WriteResult | None:
        """A refusal when the change would now empty a family it did not at preview.

        The approval covered the risks shown; "last Available image" was not
        among them, so a change that has become one needs a fresh preview.
        """
        if not request.image.family or request.image.status != "Available":
            return None
        if any(r.code == "last_available" for r in request.risks):
            return None
        if any(i.image_id != request.image_id for i in family):
            return None
        return WriteResult(
            Outcome.FAILED,
            code="FamilyChanged",
            message=f"Since the preview, the other Available images of family "
            f"{request.image.family} were deprecated or moved, so this change would "
            f"now leave the family with no Available image, which the preview did "
            "not show. Nothing was applied; run the command again for a fresh "
            "preview.",
        )

    def _reconcile_write(
        self, request: ChangeRequest, result: WriteResult
    ) -> WriteResult:
        """After a timeout or 5xx, read the image to learn whether the write landed.

        Old values do not prove the write failed (ECS may still apply it), so
        anything but the new values stays UNKNOWN, and nothing is written again.
        """
        try:
            image = self.gateway.image(request.region, request.image_id)
        except EcsError:
            return result
        if attributes.read(image, request.after) == request.after:
            return WriteResult(Outcome.SUCCEEDED, result.ecs_request_id)
        return WriteResult(
            Outcome.UNKNOWN,
            result.ecs_request_id,
            result.code or "NoAnswer",
            f"ECS did not confirm the change ({result.message}), and "
            f"{request.image_id} does not show it yet. It may still land: check "
            "the image with show before running the command again.",
        )

    def _finish(self, request: ChangeRequest, user: str, result: WriteResult) -> str:
        """EXECUTING → the outcome's state, recorded, then reported in the thread."""
        state = State(result.outcome.value)
        after_state = dict(request.snapshot)
        if state is State.SUCCEEDED:
            for key, value in request.after.items():
                after_state[attributes.get(key).snapshot_field] = value
        done = self.store.transition(
            request.id,
            {State.EXECUTING},
            state,
            ecs_request_id=result.ecs_request_id,
            error_code=result.code,
            error_message=result.message,
            result_snapshot=after_state if state is State.SUCCEEDED else {},
            updated_at=self.clock(),
        )
        if done is None:
            log.error(
                "request %s: outcome %s (ecs request %s) found the request no longer "
                "EXECUTING; its thread was not told",
                request.id,
                state.value,
                result.ecs_request_id or "-",
            )
            return ""
        kind = {
            State.SUCCEEDED: EventKind.APPLIED,
            State.FAILED: EventKind.FAILED,
        }.get(state, EventKind.UNKNOWN)
        self._record(kind, done, user, detail=result.code)
        log.info(
            "request %s %s for %s on %s in %s (ecs request %s, code %s)",
            done.id,
            state.value,
            user,
            done.image_id,
            done.region,
            done.ecs_request_id or "-",
            result.code or "-",
        )
        if done.revert_of and state is State.SUCCEEDED:
            self._record(EventKind.REVERTED, done, user, detail=done.revert_of)
        if done.break_glass and state is State.SUCCEEDED:
            self._record(EventKind.BREAK_GLASS, done, user, detail=done.incident)
            if self.policy.announce_channel:
                self._tell(self.notifier.announce, self.policy.announce_channel, done)
        self._tell(self.notifier.refresh, done)
        self._tell(self.notifier.reply, done, kind, user)
        return ""

    # -- revert, expiry, start-up --------------------------------------------

    def _revert(self, request: ChangeRequest, user: str) -> str:
        if request.state is not State.SUCCEEDED:
            return "Only an applied change can be reverted."
        waiting = [
            r.id for r in self.store.open_requests() if r.revert_of == request.id
        ]
        if waiting:
            return f"A revert of this change is already open: request `{waiting[0]}`."
        restorable = {k: v for k, v in request.before.items() if v}
        if not restorable:
            return (
                "There is nothing ECS can put back: the previous values were empty, "
                "and ECS cannot clear an attribute."
            )
        command = Command(
            verb=Verb.SET,
            image_id=request.image_id,
            region=request.region,
            changes=restorable,
            reason=f"revert of {request.id}",
        )
        try:
            preview = self.request_change(
                command, user, request.channel, revert_of=request.id
            )
        except UserError as error:
            return error.message
        if not preview.posted:
            return texts.revert_blocked(preview.request)
        return ""

    def _expire_if_overdue(self, request: ChangeRequest) -> ChangeRequest:
        if request.state is State.PREVIEWED and self.clock() >= request.expires_at:
            self._expire(request)
            return self.store.get(request.id) or request
        return request

    def _expire(self, request: ChangeRequest) -> None:
        expired = self.store.transition(
            request.id, {State.PREVIEWED}, State.EXPIRED, updated_at=self.clock()
        )
        if expired is None:
            return
        self._record(EventKind.EXPIRED, expired, "")
        log.info("request %s for %s expired", expired.id, expired.image_id)
        self._tell(self.notifier.refresh, expired)
        self._tell(self.notifier.reply, expired, EventKind.EXPIRED, "")

    def expire_overdue(self) -> int:
        """Expire every request past its time; returns how many."""
        now = self.clock()
        overdue = [
            r
            for r in self.store.open_requests()
            if r.state is State.PREVIEWED and now >= r.expires_at
        ]
        for request in overdue:
            self._expire(request)
        return len(overdue)

    def reconcile(self) -> int:
        """Settle requests a previous process left EXECUTING, by reading the image.

        Called at start and again by the periodic sweep until every one is
        settled (ECS may be unreachable at first); returns how many remain.
        """
        for request_id in sorted(self._orphans):
            request = self.store.get(request_id)
            if (
                request is None
                or request.state is not State.EXECUTING
                or self._reconcile_one(request)
            ):
                self._orphans.discard(request_id)
        return len(self._orphans)

    def _reconcile_one(self, request: ChangeRequest) -> bool:
        try:
            image = self.gateway.image(request.region, request.image_id)
        except EcsError as error:
            log.warning("request %s: cannot reconcile yet: %s", request.id, error.code)
            return False
        if attributes.read(image, request.after) == request.after:
            state, message = State.SUCCEEDED, ""
        else:
            # Old values do not prove the write never reached ECS.
            state = State.UNKNOWN
            message = (
                f"{request.image_id} does not show the change; most likely the write "
                "never reached ECS, but that is not certain. Check the image with "
                "show before running the command again."
            )
        settled = self.store.transition(
            request.id,
            {State.EXECUTING},
            state,
            error_code="" if state is State.SUCCEEDED else "Interrupted",
            error_message=message,
            result_snapshot=image.to_dict() if state is State.SUCCEEDED else {},
            updated_at=self.clock(),
        )
        if settled is None:
            return True
        self._record(EventKind.RECONCILED, settled, "", detail=state.value)
        log.info(
            "request %s for %s reconciled as %s", settled.id, settled.image_id, state
        )
        self._tell(self.notifier.refresh, settled)
        self._tell(self.notifier.reply, settled, EventKind.RECONCILED, "")
        return True

    # -- lifecycle -----------------------------------------------------------

    def warm_up(self, region: str) -> None:
        """Prepare ECS reads in the background at start (see Reader.warm_up)."""
        self.reader.warm_up(region)

    def drain(self, timeout: float = 30.0) -> bool:
        """Take no new work; wait for executing requests to finish and report."""
        deadline = time.monotonic() + timeout
        with self._idle:
            self._closing = True
            while self._executing:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def close(self) -> None:
        self.reader.close()

    # -- helpers -------------------------------------------------------------

    def _refuse_when_closing(self) -> None:
        if self._closing:
            raise UserError(
                "imagebot is restarting; run the command again in a minute."
            )

    def _check(self, decision: policy.Decision) -> None:
        if not decision.allowed:
            raise UserError(decision.reason)

    def _read(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except EcsError as error:
            raise UserError(esc(error.message)) from None

    def _record(
        self, kind: EventKind, request: ChangeRequest, user: str, *, detail: str = ""
    ) -> None:
        self.store.record(
            AuditEvent(
                at=self.clock(),
                kind=kind,
                request_id=request.id,
                user=user,
                image_id=request.image_id,
                region=request.region,
                before=dict(request.before),
                after=dict(request.after),
                ecs_request_id=request.ecs_request_id,
                break_glass=request.break_glass,
                reason=request.reason,
                detail=detail,
            )
        )
