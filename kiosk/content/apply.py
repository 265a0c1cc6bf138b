"""What the kiosk calls: apply a bundle (USB stick or download) and load the active content at start.

Both take the store's lock and run recovery first, so a kiosk that lost power in the middle of an apply starts
on whole content. :func:`load_current` re-verifies the stored version as it would a download (signature by a key
it trusts today, hashes, config allow-list, today's local config; not the expiry, see
:func:`contracts.content.bundle.verify_stored`): files changed on disk, or signed by a key since removed from
``content.trusted_keys``, are not shown. It then rolls back to the version before (verified the same way), or to
the content shipped with the software and the local config, and says why in ``Content.problem`` and the log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from config.schema import KioskConfig
from contracts.content.bundle import MANIFEST, SIGNATURE, BundleRejected, VerifiedBundle, verify_bundle, verify_stored
from contracts.content.models import ContentFiles, Manifest
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
    """:raises BundleRejected: unreadable, or it fails :func:`verify_stored`."""
    try:
        manifest_bytes = (directory / MANIFEST).read_bytes()
        signature_text = (directory / SIGNATURE).read_bytes()
        files = {path.relative_to(directory).as_posix(): path.read_bytes() for path in directory.rglob("*")
                 if path.is_file()}  # every file: one planted beside the signed ones is refused too
        del files[MANIFEST], files[SIGNATURE]
    except OSError as exc:
        raise BundleRejected(f"unreadable: {exc}") from None
    return verify_stored(manifest_bytes, signature_text, files, config)


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
            except BundleRejected as exc:
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
