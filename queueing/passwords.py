"""How strong a counter password must be: at least 6 digits, or at least 8 characters of any kind.

A 4-digit PIN falls to a patient guesser in about a day even behind a lockout; a million 6-digit codes behind the
counter login's backoff (``queueing.server.counters``) take years from one address. The rule is checked where a
password is hashed (``config pin-hash --counter``) and at every login, so a hash made from a shorter password
before this rule existed can no longer be used: its counter gets a message saying to set a new one.
"""

from __future__ import annotations

MIN_DIGITS = 6
MIN_CHARS = 8
RULE = f"counter passwords are at least {MIN_DIGITS} digits or {MIN_CHARS} characters"


def counter_password_problem(password: str) -> str | None:
    """Why ``password`` is too weak for a counter, or None when it is strong enough."""
    if (password.isdigit() and len(password) >= MIN_DIGITS) or len(password) >= MIN_CHARS:
        return None
    return f"{RULE}; this one has {len(password)}"
