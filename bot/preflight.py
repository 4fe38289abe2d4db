"""Everything the bot reads from ECS before it shows anything: cards and preflights.

Calls that do not depend on each other run concurrently on one pool. Errors stay
EcsError here (plain text); the service turns them into what the person reads.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from bot.ecs import EcsError, EcsGateway
from bot.model import Command, DryRun, ImageSnapshot, Preflight

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class ImageView:
    image: ImageSnapshot
    family_resolves_to: str


@dataclass(frozen=True)
class FamilyView:
    family: str
    region: str
    images: list[ImageSnapshot]
    resolves_to: str


class FamilyMemo:
    """The family each image was last seen in, so family reads can start early.

    Only a head start: the preflight checks the guess against the image it reads.
    """

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._seen: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def get(self, region: str, image_id: str) -> str:
        with self._lock:
            return self._seen.get((region, image_id), "")

    def saw(self, image: ImageSnapshot) -> None:
        with self._lock:
            key = (image.region, image.image_id)
            self._seen.pop(key, None)
            self._seen[key] = image.family
            if len(self._seen) > self._size:
                del self._seen[next(iter(self._seen))]


class Reader:
    """Concurrent ECS reads for cards, previews and the start-up warm-up."""

    def __init__(self, gateway: EcsGateway, *, workers: int = 64) -> None:
        self.gateway = gateway
        self.families = FamilyMemo()
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="imagebot-ecs")

    def image(self, region: str, image_id: str) -> ImageView:
        image = self.gateway.image(region, image_id)
        self.families.saw(image)
        resolves_to = ""
        if image.family:
            found = self.gateway.resolve_family(region, image.family)
            resolves_to = found.image_id if found else ""
        return ImageView(image, resolves_to)

    def family(self, region: str, family: str) -> FamilyView:
        listing = self._pool.submit(
            self.gateway.family_images, region, family, ("Available", "Deprecated")
        )
        resolved = self._pool.submit(self.gateway.resolve_family, region, family)
        images = listing.result()
        current = resolved.result()
        for image in images:
            self.families.saw(image)
        return FamilyView(family, region, images, current.image_id if current else "")

    def preflight(self, command: Command) -> Preflight:
        """Read everything the risks need; independent calls run concurrently."""
        region, image_id, changes = command.region, command.image_id, command.changes
        gw = self.gateway
        image_f = self._pool.submit(gw.image, region, image_id)
        dry_f = self._pool.submit(gw.dry_run, region, image_id, changes)
        deprecating = changes.get("status") == "Deprecated"
        shares_f = self._maybe(deprecating, gw.shared_with, region, image_id)
        instances_f = self._maybe(
            "boot-mode" in changes, gw.instances_using, region, image_id
        )

        # The family reads need the image's family. When the bot has seen the
        # image before, they start now on that guess, alongside the image read.
        wants_family = "status" in changes or "family" in changes
        guess = self.families.get(region, image_id) if wants_family else ""
        family_f = resolve_f = None
        if guess:
            family_f = self._pool.submit(gw.family_images, region, guess)
            resolve_f = self._pool.submit(gw.resolve_family, region, guess)

        image = image_f.result()
        self.families.saw(image)
        if image.family != guess:
            family_f = resolve_f = None
            if wants_family and image.family:
                family_f = self._pool.submit(gw.family_images, region, image.family)
                resolve_f = self._pool.submit(gw.resolve_family, region, image.family)
        resolved = resolve_f.result() if resolve_f else None
        family: list[ImageSnapshot] = family_f.result() if family_f else []
        shares: list[str] = shares_f.result() if shares_f else []
        instances: list[str] = instances_f.result() if instances_f else []
        return Preflight(
            image=image,
            family_available=tuple(family),
            family_resolves_to=resolved.image_id if resolved else "",
            shared_with=tuple(shares),
            instances=tuple(instances),
            dry_run=_verdict(dry_f),
        )

    def recheck(
        self, region: str, image_id: str, family: str
    ) -> tuple[ImageSnapshot, list[ImageSnapshot]]:
        """The image now and, when `family` is given, its family's Available images."""
        listing = (
            self._pool.submit(self.gateway.family_images, region, family)
            if family
            else None
        )
        image = self.gateway.image(region, image_id)
        return image, listing.result() if listing else []

    def dry_run(self, region: str, image_id: str, changes: Mapping[str, str]) -> DryRun:
        return _verdict(
            self._pool.submit(self.gateway.dry_run, region, image_id, changes)
        )

    def warm_up(self, region: str) -> None:
        """Load the SDK, open the connection and learn the images' families.

        Run in the background at start: the first commands then pay none of it,
        and a first deprecation can start its family reads at once.
        """
        try:
            for image in self.gateway.list_images(region):
                self.families.saw(image)
        except EcsError as error:
            log.warning("warm-up in %s: could not list images: %s", region, error.code)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _maybe(
        self, wanted: bool, fn: Callable[..., T], *args: Any
    ) -> Future[T] | None:
        return self._pool.submit(fn, *args) if wanted else None


def _verdict(future: Future[DryRun]) -> DryRun:
    """A dry run that could not reach a verdict counts as refused, with why."""
    try:
        return future.result()
    except EcsError as error:
        return DryRun(passed=False, code=error.code, message=error.message)
