"""Publishing from the admin pages: the backend builds and signs a bundle itself, with the key given to it.

An announcement edit must not wipe what else a target receives (services, ticket text, theme…), so the new bundle
is the newest content that target currently receives with ``announcements.json`` replaced. That base is verified
again, as it lies in the database, against the backend's trusted keys and the config allow-list before anything of
it is re-signed (:func:`current_files`); a base that fails is never built on and publishing says why. It is built by
:func:`contracts.content.bundle.build_bundle` (the same checks as ``content build``) with the version one above the
newest published; if another administrator published in between, the shelf refuses the version and it is built
again with the next one.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nacl.signing import SigningKey
from pydantic import ValidationError

from backend.content_routes import ContentShelf, Rejected
from config.schema import KioskConfig
from config.services import ServiceDef
from contracts.content.bundle import BundleRejected, build_bundle
from contracts.content.models import Announcements, Target, TimedAnnouncement

ANNOUNCEMENTS = "announcements.json"
SERVICES = "services.json"
PUBLISH_ATTEMPTS = 3


@dataclass(frozen=True)
class Base:
    """The content files (no manifest, no signature) of the newest bundle a target receives, verified just now;
    ``problem`` says why that bundle cannot be built on (then ``files`` is empty and publishing is refused)."""

    files: dict[str, bytes]
    version: int | None = None
    problem: str | None = None


@dataclass(frozen=True)
class Published:
    version: int
    target_kind: str
    target_value: str | None
    published_at: str
    size: int


class PublishingShelf(ContentShelf):
    """The content shelf with the read-outs the admin pages need besides serving kiosks."""

    def newest_version(self) -> int:
        """The highest version published to any target (0 before the first)."""
        return self.db.query("SELECT max(version) FROM content_bundles")[0][0] or 0

    def published(self, limit: int = 50) -> list[Published]:
        """The newest ``limit`` bundles, newest first (without their bytes)."""
        rows = self.db.query("SELECT version, target_kind, target_value, published_at, length(data) "
                             "FROM content_bundles ORDER BY version DESC LIMIT ?", [limit])
        return [Published(*row) for row in rows]

    def version_for(self, kiosk_id: str, group: str | None) -> int | None:
        """The version a kiosk should be running: the newest for all kiosks, its group or its id."""
        newest = self.newest_for(kiosk_id, group)
        return newest[0] if newest else None


def receiver(target: Target, group_of: Callable[[str], str | None]) -> tuple[str, str | None]:
    """(kiosk id, group) whose newest bundle is what ``target`` currently receives; "" matches no kiosk."""
    if target.kiosk:
        return target.kiosk, group_of(target.kiosk)
    return "", target.group


def current_files(shelf: ContentShelf, target: Target, group_of: Callable[[str], str | None]) -> Base:
    """The newest bundle ``target`` receives, verified again against the shelf's trusted keys (it may have been
    stored before a key was removed, or the database changed since); an empty base when nothing is published."""
    found = shelf.latest_for(*receiver(target, group_of))
    if found is None:
        return Base({})
    version, _digest, data = found
    try:
        return Base(shelf.inspect(data).files, version)
    except BundleRejected as exc:
        return Base({}, version, f"the newest content for {target} (version {version}) cannot be built on: "
                                 f"{exc.reason}; publish a complete bundle with `content publish` first")


def current_announcements(base: Base) -> list[TimedAnnouncement]:
    if ANNOUNCEMENTS not in base.files:
        return []
    try:
        return list(Announcements.model_validate_json(base.files[ANNOUNCEMENTS]).announcements)
    except ValidationError:
        return []


def publish_announcements(shelf: PublishingShelf, key: SigningKey, target: Target,
                          announcements: list[TimedAnnouncement], base: Base,
                          config: KioskConfig) -> dict[str, object]:
    """Publish ``base`` with its announcements replaced (see :func:`publish_files`)."""
    data = json.dumps({"announcements": [item.model_dump(mode="json", exclude_defaults=True)
                                         for item in announcements]}, ensure_ascii=False, indent=2)
    return publish_files(shelf, key, target, {ANNOUNCEMENTS: data.encode("utf-8")}, base, config)


def current_services(base: Base, config: KioskConfig) -> str:
    """The services a target receives, as the JSON the editor shows (the kiosks' local list when none is published)."""
    if SERVICES in base.files:
        return base.files[SERVICES].decode("utf-8")
    return services_json(config.queue.services)


def services_json(services: list[ServiceDef]) -> str:
    return json.dumps({"services": [service.model_dump(mode="json") for service in services]},
                      ensure_ascii=False, indent=2)


def publish_files(shelf: PublishingShelf, key: SigningKey, target: Target, replaced: dict[str, bytes],
                  base: Base, config: KioskConfig) -> dict[str, object]:
    """Build, sign and publish ``base`` with ``replaced`` files swapped in; returns what the shelf stored.

    Everything else the target receives (announcements, services, ticket text, theme) is kept as it is. The bundle
    expires after the builder's default (:data:`contracts.content.bundle.DEFAULT_EXPIRES_DAYS`).

    :raises contracts.content.bundle.BuildError: the content would be refused by kiosks.
    :raises backend.content_routes.Rejected: the base failed verification (409 ``unverified_base``) or the shelf
        refused the bundle.
    """
    if base.problem is not None:
        raise Rejected(409, "unverified_base", base.problem)
    files = {**base.files, **replaced}
    with tempfile.TemporaryDirectory(prefix="publish-") as tmp:
        source = Path(tmp) / "content"
        for name, data in files.items():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            (source / name).write_bytes(data)
        out = Path(tmp) / "bundle.zip"
        attempts = 0
        while True:  # bounded: at most PUBLISH_ATTEMPTS builds
            build_bundle(source, key, version=shelf.newest_version() + 1, target=target, out=out, config=config)
            try:
                return shelf.publish(out.read_bytes())
            except Rejected as exc:
                attempts += 1
                if exc.status != 409 or attempts >= PUBLISH_ATTEMPTS:
                    raise
