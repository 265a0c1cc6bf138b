"""The technician PIN: salted scrypt hashes in config, and a gate that locks out after repeated wrong PINs.

A kiosk stands in a public hall, so the PIN is never stored in plain text and guessing is throttled: after
``max_attempts`` wrong PINs the gate refuses every attempt (even the right PIN) until ``lockout_s`` has passed.
Hash format: ``scrypt$N$r$p$<salt b64url>$<hash b64url>``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_pin(pin: str, *, n: int = 2**14, r: int = 8, p: int = 1) -> str:
    """Hash a PIN with a fresh random salt."""
    salt = secrets.token_bytes(12)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, dklen=32)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def verify_pin(pin: str, stored: str) -> bool:
    """Constant-time check of a PIN against a stored hash; a malformed hash never matches."""
    try:
        _, n, r, p, salt, digest = stored.split("$")
        expected = _unb64(digest)
        actual = hashlib.scrypt(pin.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


@dataclass(frozen=True)
class PinResult:
    ok: bool
    locked_for_s: float = 0.0
    attempts_left: int = 0


class PinGate:
    """Checks PINs and counts failures; ``clock`` is monotonic seconds so tests can move time."""

    def __init__(
        self, pin_hash: str, max_attempts: int, lockout_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._hash = pin_hash
        self._max = max_attempts
        self._lockout_s = lockout_s
        self._clock = clock
        self._failures = 0
        self._locked_until = 0.0

    def locked_for(self) -> float:
        """Seconds until PINs are accepted again (0 when not locked)."""
        return max(0.0, self._locked_until - self._clock())

    def check(self, pin: str) -> PinResult:
        remaining = self.locked_for()
        if remaining > 0:
            return PinResult(ok=False, locked_for_s=remaining)
        if verify_pin(pin, self._hash):
            self._failures = 0
            return PinResult(ok=True, attempts_left=self._max)
        self._failures += 1
        if self._failures >= self._max:
            self._failures = 0
            self._locked_until = self._clock() + self._lockout_s
            return PinResult(ok=False, locked_for_s=self._lockout_s)
        return PinResult(ok=False, attempts_left=self._max - self._failures)
