"""Applied content on disk: complete versions side by side and one ``current`` symlink switched atomically.

::

    <data_dir>/content/
        versions/<N>/            a complete version: manifest.json, manifest.sig and the content files
        versions/.tmp-*          a version being written, or an old one being deleted (gone after recovery)
        current -> versions/N    the active version
        applied_version          the newest version ever applied: rollback protection survives a rollback
        .lock                    serialises apply, rollback and recovery (USB apply vs the sync thread)

An apply makes each step durable (fsync of the files and of the directory) before the next: write the version
into ``versions/.tmp-…`` → rename it to ``versions/N`` → create a temporary symlink to it → ``os.replace`` it over
``current`` (the commit point) → record N in ``applied_version`` → delete versions other than the current one and
the one before it. A directory only gets a version's name by a rename of a finished directory, and loses it by a
rename before deletion, so ``versions/N`` is always whole. A power cut before the commit point leaves the old
content plus debris that :meth:`ContentStore.recover` removes; after it, the new content.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from contracts.content.bundle import MANIFEST, SIGNATURE, VerifiedBundle

_VERSION_LINK = re.compile(r"^versions/(\d+)$")
LOCK_TIMEOUT_S = 30.0


class StoreBusy(Exception):
    """Another process held the content lock for too long."""


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_durable(path: Path, data: bytes) -> None:
    with path.open("xb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


class ContentStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.versions = root / "versions"
        self.current_link = root / "current"

    def version_dir(self, version: int) -> Path:
        return self.versions / str(version)

    @contextlib.contextmanager
    def locked(self, timeout_s: float = LOCK_TIMEOUT_S) -> Iterator[None]:
        """Exclusive use of the store across processes; waits at most ``timeout_s``."""
        self.versions.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("a") as fh:
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise StoreBusy(f"{self.root}: content is being changed by another process") from None
                    time.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # -- reading ------------------------------------------------------------------------------------------------
    def current_version(self) -> int | None:
        try:
            match = _VERSION_LINK.match(os.readlink(self.current_link))
        except OSError:
            return None
        if not match or not self.version_dir(int(match[1])).is_dir():
            return None
        return int(match[1])

    def stored_versions(self) -> list[int]:
        if not self.versions.is_dir():
            return []
        return sorted(int(path.name) for path in self.versions.iterdir() if path.name.isdigit() and path.is_dir())

    def previous_version(self) -> int | None:
        """The newest stored version older than the current one: what a rollback returns to."""
        current = self.current_version()
        older = [v for v in self.stored_versions() if current is not None and v < current]
        return older[-1] if older else None

    def applied_version(self) -> int:
        """The newest version ever applied here (0 for none); a bundle must be newer to be accepted."""
        try:
            recorded = int((self.root / "applied_version").read_text().strip())
        except (OSError, ValueError):
            recorded = 0
        return max(recorded, self.current_version() or 0)

    # -- changing (call with the lock held) ---------------------------------------------------------------------
    def recover(self) -> None:
        """Remove what an interrupted apply or delete left behind; the current version is never touched."""
        for leftover in (self.root / "current.new", self.root / "applied_version.new"):
            if leftover.is_symlink() or leftover.exists():
                leftover.unlink()
        if self.current_link.is_symlink() and self.current_version() is None:
            self.current_link.unlink()  # dangling: nothing valid to show, the kiosk runs on its local config
        if self.versions.is_dir():
            for path in self.versions.iterdir():
                if path.name.startswith(".tmp-"):
                    shutil.rmtree(path, ignore_errors=True)
        self._prune()

    def install(self, bundle: VerifiedBundle) -> None:
        """Write a verified bundle as a new version and make it current (see the module docstring for the order).

        Call :meth:`recover` first: it removes an orphan of the same version left by an interrupted apply.
        """
        version = bundle.manifest.version
        final = self.version_dir(version)
        staging = Path(tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=self.versions))
        written_dirs = {staging}
        for name, data in [(MANIFEST, bundle.manifest_bytes), (SIGNATURE, bundle.signature_text),
                           *bundle.files.items()]:
            path = staging / name
            if path.parent != staging:
                path.parent.mkdir(exist_ok=True)
                written_dirs.add(path.parent)
            _write_durable(path, data)
        for directory in sorted(written_dirs, reverse=True):
            _fsync_dir(directory)
        os.rename(staging, final)
        _fsync_dir(self.versions)
        self.switch_to(version)
        self._record_applied(version)
        self._prune()

    def switch_to(self, version: int | None) -> None:
        """Point ``current`` at ``version`` atomically (None: no content, the kiosk uses its local config)."""
        if version is None:
            if self.current_link.is_symlink():
                self.current_link.unlink()
        else:
            temp = self.root / "current.new"
            if temp.is_symlink():
                temp.unlink()
            os.symlink(f"versions/{version}", temp)
            os.replace(temp, self.current_link)
        _fsync_dir(self.root)

    def _record_applied(self, version: int) -> None:
        temp = self.root / "applied_version.new"
        if temp.exists():
            temp.unlink()
        _write_durable(temp, f"{max(version, self.applied_version())}\n".encode())
        os.replace(temp, self.root / "applied_version")
        _fsync_dir(self.root)

    def _discard(self, path: Path) -> None:
        # rename first: a version directory is either whole under its name or gone from it
        doomed = Path(tempfile.mkdtemp(prefix=f".tmp-discard-{path.name}-", dir=self.versions))
        os.replace(path, doomed)
        _fsync_dir(self.versions)
        shutil.rmtree(doomed, ignore_errors=True)

    def _prune(self) -> None:
        keep = {self.current_version(), self.previous_version()}
        for version in self.stored_versions():
            if version not in keep:
                self._discard(self.version_dir(version))
