"""Secrets for the servers and the kiosk: from an environment variable or a file, never from a default in the code.

A secret written in the code is a secret everyone has, and one on the command line shows in ``ps`` to every user
of the machine; an environment variable or a file does neither. The rules, shared by ``backend serve``,
``queue serve``, the kiosk and ``doctor``:

- a file named by a ``--…-file`` flag wins over the environment variable; neither means "not configured" (None);
- a secret file holds the secret on its first line (surrounding whitespace is dropped) and must not be readable or
  writable by other users (mode ``o-rwx``) nor writable by the group: group read stays allowed, so a root-owned
  ``0640`` file can be shared with the service's group, as ``/etc/ssl/private`` does;
- a list (``BACKEND_KIOSK_TOKEN=t1,t2``) is comma-separated; blanks are dropped.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path


class SecretError(Exception):
    """A secret file that is missing, empty or exposed to other users; the message says how to fix it."""


def exposure(path: Path) -> str | None:
    """Why ``path`` is exposed to other users (``world-readable`` …), or None when only its owner and group read it.

    :raises OSError: the file cannot be examined.
    """
    mode = path.stat().st_mode
    if mode & (stat.S_IROTH | stat.S_IWOTH | stat.S_IXOTH):
        return "readable or writable by every user"
    if mode & stat.S_IWGRP:
        return "writable by its group"
    return None


def read_protected(path: Path, what: str, error: type[SecretError] | None = None) -> list[str]:
    """The lines of a file of secrets (a token, a gateway's keys) once it is known that nobody else can read it.

    :param what: what the file holds, for the message (``the secret``, ``the SMS keys``).
    :raises SecretError: (or ``error``, a subclass) the file is missing, unreadable or exposed; the message names
        the fix.
    """
    refuse = error or SecretError
    try:
        exposed = exposure(path)
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise refuse(f"{path}: cannot read {what} ({getattr(exc, 'strerror', None) or exc})") from None
    if exposed:
        raise refuse(f"{path} is {exposed}: run `chmod 600 {path}` (or 640 for a service group)")
    return lines


def read_secret_file(path: Path) -> str:
    """The secret on the first line of ``path``.

    :raises SecretError: the file is missing, unreadable, empty or exposed (the message names the fix).
    """
    lines = read_protected(path, "the secret")
    secret = lines[0].strip() if lines else ""
    if not secret:
        raise SecretError(f"{path} is empty: put the secret on its first line")
    return secret


def secret(env_name: str, file: Path | None = None, *, environ: Mapping[str, str] = os.environ) -> str | None:
    """The secret from ``file`` when given, else from the variable ``env_name``, else None (never a default).

    :raises SecretError: ``file`` is given but unusable (see :func:`read_secret_file`).
    """
    if file is not None:
        return read_secret_file(file)
    return environ.get(env_name, "").strip() or None


def secret_list(env_name: str, file: Path | None = None, *,
                environ: Mapping[str, str] = os.environ) -> list[str]:
    """A comma-separated list of secrets from ``file`` or ``env_name`` (see :func:`secret`); [] when neither."""
    found = secret(env_name, file, environ=environ)
    return [item.strip() for item in (found or "").split(",") if item.strip()]
