"""Ed25519 keys for content bundles (PyNaCl): make a key pair, keep the private half safe, sign and check.

A private key file holds the 32-byte seed in base64 on one line and is created with mode 0600 (it never exists
with wider permissions, not even for a moment). Public keys are written as 44-character base64; config accepts
them as base64 or as 64 hex digits (``content.trusted_keys``).
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

PRIVATE_KEY_NAME = "content-signing.key"
PUBLIC_KEY_NAME = "content-signing.pub"


class KeyFileError(Exception):
    """A key file is missing, unreadable or does not hold a key; the message says which."""


def decode_public_key(text: str) -> bytes:
    """32 key bytes from 64 hex digits or base64 (the forms ``content.trusted_keys`` accepts).

    :raises ValueError: neither form, or not 32 bytes.
    """
    text = text.strip()
    try:
        raw = bytes.fromhex(text) if len(text) == 64 else base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        raise ValueError(f"{text!r} is not hex or base64") from None
    if len(raw) != 32:
        raise ValueError(f"{text!r} is not a 32-byte Ed25519 public key")
    return raw


def encode_public_key(key: VerifyKey) -> str:
    return base64.b64encode(bytes(key)).decode("ascii")


def generate_key_pair(directory: Path) -> tuple[Path, str]:
    """Write a new private key (mode 0600) and its public key into ``directory``; returns (key file, public key).

    :raises KeyFileError: a key already exists there (never overwritten: that would orphan every kiosk trusting it).
    """
    directory.mkdir(parents=True, exist_ok=True)
    private_path = directory / PRIVATE_KEY_NAME
    key = SigningKey.generate()
    try:
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileError(f"{private_path} already exists; refusing to overwrite a signing key") from None
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(base64.b64encode(bytes(key)).decode("ascii") + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    public = encode_public_key(key.verify_key)
    (directory / PUBLIC_KEY_NAME).write_text(public + "\n", encoding="ascii")
    return private_path, public


def load_signing_key(path: Path) -> SigningKey:
    """The private key in ``path`` (as written by :func:`generate_key_pair`).

    :raises KeyFileError: unreadable or malformed.
    """
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"{path}: cannot read the signing key: {exc}") from None
    try:
        seed = base64.b64decode(text, validate=True)
    except binascii.Error:
        seed = b""
    if len(seed) != 32:
        raise KeyFileError(f"{path}: not a signing key made by `content keygen`")
    return SigningKey(seed)


def load_public_keys(files: Sequence[Path], env_name: str, *,
                     environ: Mapping[str, str] = os.environ) -> tuple[str, ...]:
    """Public keys (as base64) from key files (``content-signing.pub``) and the comma-separated variable ``env_name``.

    :raises KeyFileError: a file is unreadable or an entry is not an Ed25519 public key.
    """
    found = []
    for path in files:
        try:
            found.append((str(path), path.read_text(encoding="ascii")))
        except (OSError, UnicodeDecodeError) as exc:
            raise KeyFileError(f"{path}: cannot read the public key: {exc}") from None
    found += [(env_name, item) for item in environ.get(env_name, "").split(",") if item.strip()]
    keys = []
    for source, text in found:
        try:
            keys.append(base64.b64encode(decode_public_key(text)).decode("ascii"))
        except ValueError as exc:
            raise KeyFileError(f"{source}: {exc}") from None
    return tuple(keys)


def sign(key: SigningKey, message: bytes) -> bytes:
    """The 64-byte detached signature of ``message``."""
    return key.sign(message).signature


def signature_valid(public_key: bytes, message: bytes, signature: bytes) -> bool:
    try:
        VerifyKey(public_key).verify(message, signature)
    except (BadSignatureError, ValueError):
        return False
    return True
