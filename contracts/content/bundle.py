"""Build a signed content bundle from a folder, and check one before anything of it is trusted.

Checks run cheapest first and stop at the first problem, which becomes the one-line reason of
:class:`BundleRejected`: size of the file → zip structure (names, symlinks, declared sizes, compression ratio) →
reading every entry under the caps → signature by a trusted key → manifest → target → version → expiry → file hashes
→ content schema (and the config allow-list of :mod:`.policy`). The backend runs the same checks on upload
(:func:`inspect_bundle`, against its own trusted keys) and the kiosk again on its stored content at every start
(:func:`verify_stored`). Nothing is written anywhere while checking; the kiosk writes only a bundle that passed
(see :mod:`kiosk.content.store`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import os
import stat
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nacl.signing import SigningKey
from pydantic import ValidationError

from config.schema import KioskConfig
from contracts.content.models import (
    CONFIG_FILE,
    ContentFiles,
    ContentInvalid,
    Manifest,
    Target,
    is_content_name,
    parse_content,
    read_config_overrides,
)
from contracts.content.signing import decode_public_key, encode_public_key, sign, signature_valid

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
MIB = 1024 * 1024
MAX_ENTRIES = 256
MAX_FILE_BYTES = 8 * MIB
MAX_RATIO = 100  # unpacked/packed per entry; real JSON and images stay far below, zip bombs far above
RATIO_FLOOR = MIB  # entries smaller than this are not ratio-checked (a short repetitive JSON compresses well)
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed entry times: the same folder and key give the same bytes
DEFAULT_EXPIRES_DAYS = 365  # a year: content is re-published far more often, and a stolen old bundle dies
MAX_EXPIRES_DAYS = 5 * 365
KIOSK_TRUST = "content.trusted_keys"  # where a kiosk's trusted keys are set, for the refusal when there are none


class BundleRejected(Exception):
    """The bundle must not be applied; ``reason`` is one line for the technician or the log, ``code`` a word for
    programs (``untrusted_signer``, ``expired``, ``forbidden_config_key``, ``invalid_bundle``)."""

    def __init__(self, reason: str, code: str = "invalid_bundle") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class BuildError(Exception):
    """``content build`` cannot make a bundle from the folder; the message is one line."""


@dataclass(frozen=True)
class Limits:
    max_bytes: int  # the bundle file and, separately, everything in it unpacked
    max_file_bytes: int = MAX_FILE_BYTES

    @classmethod
    def from_config(cls, config: KioskConfig) -> Limits:
        return cls(int(config.content.max_bundle_mb * MIB))


@dataclass(frozen=True)
class VerifiedBundle:
    manifest: Manifest
    manifest_bytes: bytes
    signature_text: bytes
    files: dict[str, bytes]
    content: ContentFiles


def _mb(size: int) -> str:
    return f"{size / MIB:.2f} MB"


def _path_problem(name: str) -> str | None:
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return f"absolute path {name!r} in the bundle"
    if "\\" in name:
        return f"backslash in path {name!r}"
    parts = name.split("/")
    if ".." in parts:
        return f"path {name!r} escapes the bundle"
    if name.endswith("/"):
        return f"directory entry {name!r} (bundles hold files only)"
    if any(part in ("", ".") for part in parts) or "\x00" in name:
        return f"malformed path {name!r}"
    return None


def _check_entry(info: zipfile.ZipInfo, limits: Limits) -> None:
    problem = _path_problem(info.filename)
    if problem:
        raise BundleRejected(problem)
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise BundleRejected(f"symlink {info.filename!r} in the bundle")
    if info.flag_bits & 0x1:
        raise BundleRejected(f"encrypted entry {info.filename!r}")
    if info.file_size > limits.max_file_bytes:
        raise BundleRejected(f"{info.filename} unpacks to {_mb(info.file_size)}, over the per-file limit of "
                             f"{_mb(limits.max_file_bytes)}")
    if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        raise BundleRejected(f"{info.filename} is compressed {info.file_size // max(info.compress_size, 1)}:1 "
                             f"(zip bomb?); the limit is {MAX_RATIO}:1")


def read_entries(source: Path | bytes, limits: Limits) -> dict[str, bytes]:
    """Every entry of the zip, name → bytes, after the structural and size checks.

    :raises BundleRejected: unreadable, unsafe or oversize.
    """
    try:
        size = len(source) if isinstance(source, bytes) else source.stat().st_size
        if size > limits.max_bytes:
            raise BundleRejected(f"bundle is {_mb(size)}, over the limit of {_mb(limits.max_bytes)}")
        with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_ENTRIES:
                raise BundleRejected(f"bundle has {len(infos)} entries, over the limit of {MAX_ENTRIES}")
            names = [info.filename for info in infos]
            if len(names) != len(set(names)):
                raise BundleRejected("bundle has two entries with the same name")
            for info in infos:
                _check_entry(info, limits)
            declared = sum(info.file_size for info in infos)
            if declared > limits.max_bytes:
                raise BundleRejected(f"bundle unpacks to {_mb(declared)}, over the limit of {_mb(limits.max_bytes)}")
            # zipfile stops at the declared size and checks the CRC, so a lying header cannot inflate a read
            return {info.filename: archive.read(info) for info in infos}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError) as exc:
        raise BundleRejected(f"unreadable bundle: {exc}") from None
    except OSError as exc:
        raise BundleRejected(f"cannot read the bundle: {exc.strerror or exc}") from None


def _signer(manifest_bytes: bytes) -> bytes:
    try:
        signer = json.loads(manifest_bytes.decode("utf-8")).get("signer")
        return decode_public_key(signer)
    except (UnicodeDecodeError, ValueError, AttributeError, TypeError):
        raise BundleRejected("manifest.json does not name a valid signer key") from None


def _check_signature(manifest_bytes: bytes, signature_text: bytes, trusted: Sequence[str], setting: str) -> None:
    """The signer the manifest names must be in ``trusted`` (set in ``setting``) and the signature valid for it."""
    signer = _signer(manifest_bytes)
    if not trusted:
        raise BundleRejected(f"no trusted keys configured ({setting}): every bundle is refused", "untrusted_signer")
    if signer not in {decode_public_key(key) for key in trusted}:
        raise BundleRejected(f"signed by key {base64.b64encode(signer).decode()[:12]}…, which is not among "
                             "the trusted keys", "untrusted_signer")
    try:
        signature = base64.b64decode(signature_text.strip(), validate=True)
    except binascii.Error:
        signature = b""
    if len(signature) != 64 or not signature_valid(signer, manifest_bytes, signature):
        raise BundleRejected("bad signature: manifest.json or manifest.sig was altered")


def _parse_manifest(manifest_bytes: bytes) -> Manifest:
    try:
        return Manifest.model_validate_json(manifest_bytes)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"]) or "(top level)"
        raise BundleRejected(f"manifest.json: {key}: {error['msg'].removeprefix('Value error, ')}") from None


def _check_files(manifest: Manifest, files: dict[str, bytes]) -> None:
    unlisted = sorted(set(files) - set(manifest.files))
    if unlisted:
        raise BundleRejected(f"{unlisted[0]} is in the bundle but not in the manifest")
    for name, entry in sorted(manifest.files.items()):
        if name not in files:
            raise BundleRejected(f"{name} is in the manifest but missing from the bundle")
        data = files[name]
        if len(data) != entry.size or hashlib.sha256(data).hexdigest() != entry.sha256:
            raise BundleRejected(f"{name} does not match its hash in the manifest (altered after signing)")


def _signed_parts(entries: dict[str, bytes]) -> tuple[bytes, bytes]:
    if MANIFEST not in entries:
        raise BundleRejected("no manifest.json: not a content bundle")
    if SIGNATURE not in entries:
        raise BundleRejected("unsigned: no manifest.sig")
    return entries.pop(MANIFEST), entries.pop(SIGNATURE)


def check_not_expired(manifest: Manifest, now: datetime | None = None) -> None:
    """:raises BundleRejected: ``manifest`` expired (code ``expired``)."""
    if manifest.expires <= (now or datetime.now(UTC)):
        raise BundleRejected(f"bundle version {manifest.version} expired on {manifest.expires.isoformat()}; "
                             "build and publish a new one", "expired")


def _check_config_keys(files: dict[str, bytes]) -> None:
    if CONFIG_FILE in files:
        try:
            read_config_overrides(files[CONFIG_FILE])
        except ContentInvalid as exc:
            raise BundleRejected(str(exc), "forbidden_config_key") from None


@dataclass(frozen=True)
class InspectedBundle:
    manifest: Manifest
    files: dict[str, bytes]  # the content files, without manifest and signature


def inspect_bundle(data: bytes, limits: Limits, *, trusted: Sequence[str], setting: str) -> InspectedBundle:
    """What a publishing server checks without knowing the kiosks' configs: structure, a signature by one of
    ``trusted`` (configured in ``setting``), the manifest, the hashes and the config allow-list. Expiry is left to
    the caller: a base to build on may be old, a bundle to publish may not.

    :raises BundleRejected: the first problem.
    """
    entries = read_entries(data, limits)
    manifest_bytes, signature_text = _signed_parts(entries)
    _check_signature(manifest_bytes, signature_text, trusted, setting)
    manifest = _parse_manifest(manifest_bytes)
    _check_files(manifest, entries)
    _check_config_keys(entries)
    return InspectedBundle(manifest, entries)


def _content(entries: dict[str, bytes], config: KioskConfig) -> ContentFiles:
    _check_config_keys(entries)
    try:
        return parse_content(entries, config)
    except ContentInvalid as exc:
        raise BundleRejected(str(exc)) from None


def verify_bundle(source: Path | bytes, config: KioskConfig, *, applied_version: int) -> VerifiedBundle:
    """Everything the kiosk requires before applying ``source``.

    :param applied_version: the newest version this kiosk ever applied (0 for none); only newer ones pass.
    :raises BundleRejected: the first problem.
    """
    entries = read_entries(source, Limits.from_config(config))
    manifest_bytes, signature_text = _signed_parts(entries)
    _check_signature(manifest_bytes, signature_text, config.content.trusted_keys, KIOSK_TRUST)
    manifest = _parse_manifest(manifest_bytes)
    if not manifest.target.matches(config.kiosk.id, config.content.group):
        group = f", group {config.content.group}" if config.content.group else ""
        raise BundleRejected(f"bundle is for {manifest.target}, not for this kiosk ({config.kiosk.id}{group})")
    if manifest.version <= applied_version:
        raise BundleRejected(f"version {manifest.version} is not newer than the applied version {applied_version}")
    check_not_expired(manifest)
    _check_files(manifest, entries)
    return VerifiedBundle(manifest, manifest_bytes, signature_text, entries, _content(entries, config))


def verify_stored(manifest_bytes: bytes, signature_text: bytes, files: dict[str, bytes],
                  config: KioskConfig) -> tuple[Manifest, ContentFiles]:
    """Re-check content a kiosk applied earlier, as it lies on disk: a signature by a key the kiosk trusts *today*,
    the hashes, the allow-list and today's local config. Expiry is not checked: content that was valid when applied
    stays better than none until a newer bundle arrives.

    :raises BundleRejected: the first problem.
    """
    _check_signature(manifest_bytes, signature_text, config.content.trusted_keys, KIOSK_TRUST)
    manifest = _parse_manifest(manifest_bytes)
    _check_files(manifest, files)
    return manifest, _content(files, config)


def _collect(source_dir: Path) -> dict[str, bytes]:
    if not source_dir.is_dir():
        raise BuildError(f"{source_dir}: not a folder")
    files = {}
    for path in sorted(source_dir.rglob("*")):
        name = path.relative_to(source_dir).as_posix()
        if path.is_symlink():
            raise BuildError(f"{name}: symlinks are not allowed in content")
        if path.is_dir():
            continue
        if not is_content_name(name):
            raise BuildError(f"{name}: not a content file (announcements.json, services.json, ticket.json, "
                             "catalogue.json, theme.json, config.toml, images/NAME.png|jpg)")
        files[name] = path.read_bytes()
    if not files:
        raise BuildError(f"{source_dir}: no content files")
    return files


def _zip_entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, _ZIP_TIME)
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def build_bundle(source_dir: Path, key: SigningKey, *, version: int, target: Target, out: Path,
                 config: KioskConfig, expires_days: int = DEFAULT_EXPIRES_DAYS,
                 now: datetime | None = None) -> Manifest:
    """Check the folder's files as a kiosk with ``config`` would, sign a manifest and write the zip to ``out``.

    :param expires_days: kiosks refuse the bundle this many days after ``now`` (1 to :data:`MAX_EXPIRES_DAYS`).
    :raises BuildError: a file is not content, breaks the schema or the allow-list, or the result is too big.
    """
    if not 1 <= expires_days <= MAX_EXPIRES_DAYS:
        raise BuildError(f"expiry of {expires_days} days: use 1 to {MAX_EXPIRES_DAYS} days")
    files = _collect(source_dir)
    try:
        parse_content(files, config)
    except ContentInvalid as exc:
        raise BuildError(str(exc)) from None
    created = (now or datetime.now(UTC)).replace(microsecond=0)
    manifest = Manifest(
        version=version, target=target, created=created, expires=created + timedelta(days=expires_days),
        signer=encode_public_key(key.verify_key),
        files={name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)} for name, data in files.items()},
    )
    manifest_bytes = json.dumps(manifest.model_dump(mode="json", exclude_none=True), ensure_ascii=False,
                                indent=2, sort_keys=True).encode("utf-8")
    signature = base64.b64encode(sign(key, manifest_bytes)) + b"\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with zipfile.ZipFile(partial, "w") as archive:
        for name, data in [(MANIFEST, manifest_bytes), (SIGNATURE, signature), *sorted(files.items())]:
            archive.writestr(_zip_entry(name), data)
    os.replace(partial, out)
    try:
        read_entries(out, Limits.from_config(config))
    except BundleRejected as exc:
        out.unlink()
        raise BuildError(f"the bundle would be refused by kiosks: {exc.reason}") from None
    return manifest
