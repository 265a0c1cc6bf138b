"""What the kiosk calls: apply a bundle (USB stick or download) and load the active content at start.

Both take the store's lock and run recovery first, so a kiosk that lost power in the middle of an apply starts
on whole content. :func:`load_current` re-checks the stored files against their manifest and checks them against
today's local config; if the active version fails, it rolls back to the one before and says so in
``Content.problem`` (the kiosk logs it and reports it to the fleet).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from config.schema import KioskConfig
from contracts.content.bundle import MANIFEST, SIGNATURE, VerifiedBundle, verify_bundle
from contracts.content.models import ContentFiles, ContentInvalid, Manifest, parse_content
from kiosk.content.store import ContentStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Content:
    """The active content; ``problem`` says why a newer version was rolled back, when one was."""

    version: int
    manifest: Manifest
    files: ContentFiles
    directory: Path
    problem: str | None = None


def content_store(config: KioskConfig) -> ContentStore:
    return ContentStore(config.data_dir / "content")


def apply_bundle(source: Path | bytes, config: KioskConfig) -> VerifiedBundle:
    """Verify ``source`` against the config and the applied version, then make it the active content.

    :raises contracts.content.bundle.BundleRejected: refused; the active content is unchanged.
    :raises kiosk.content.store.StoreBusy: another apply held the lock too long.
    """
    store = content_store(config)
    with store.locked():
        store.recover()
        bundle = verify_bundle(source, config, applied_version=store.applied_version())
        store.install(bundle)
    log.info("content version %d for %s applied", bundle.manifest.version, bundle.manifest.target)
    return bundle


def _read_version(directory: Path, config: KioskConfig) -> tuple[Manifest, ContentFiles]:
    try:
        manifest = Manifest.model_validate_json((directory / MANIFEST).read_bytes())
        files = {name: (directory / name).read_bytes() for name in manifest.files}
    except (OSError, ValidationError) as exc:
        raise ContentInvalid(f"{directory.name}: unreadable: {str(exc).splitlines()[0]}") from None
    for name, entry in manifest.files.items():
        if hashlib.sha256(files[name]).hexdigest() != entry.sha256:
            raise ContentInvalid(f"{name} is damaged (hash differs from the manifest)")
    if not (directory / SIGNATURE).is_file():
        raise ContentInvalid(f"{SIGNATURE} is missing")
    return manifest, parse_content(files, config)


def load_current(config: KioskConfig) -> Content | None:
    """The active content, rolling back past versions that no longer load; None when there is none."""
    store = content_store(config)
    if not store.root.is_dir():
        return None
    problems: list[str] = []
    with store.locked():
        store.recover()
        version = store.current_version()
        while version is not None:
            directory = store.version_dir(version)
            try:
                manifest, files = _read_version(directory, config)
            except ContentInvalid as exc:
                fallback = store.previous_version()
                problems.append(f"content version {version} failed to load ({exc}); "
                                + (f"rolled back to version {fallback}" if fallback else "using the local config"))
                log.warning("%s", problems[-1])
                store.switch_to(fallback)
                store.recover()
                version = fallback
                continue
            return Content(version, manifest, files, directory, "; ".join(problems) or None)
    return None
