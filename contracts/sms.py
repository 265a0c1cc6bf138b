"""Text messages to citizens' phones: the phone number rules and one adapter per way of sending.

Both servers send SMS (the queue server's one-time codes and "your turn is near", the backend's dossier status),
so what a phone number is, how it shows in a log, and how a message reaches a gateway live here, once.

- :func:`normalise_phone` turns what people type ("+84 91-234-5678", "0912.345.678") into the one stored form
  ``0912345678`` and refuses anything that is not a Vietnamese mobile number with one sentence saying why: a
  message to a landline or to a number retired in 2018 is lost silently, so a clear "no" beats a wrong "yes".
- :func:`mask_phone` is the only form of a phone number a log line or an admin page shows.
- :class:`EsmsGateway` speaks the eSMS.vn JSON API (``SendMultipleMessage_V4_post_json``), a Vietnamese provider
  with Brandname messages; :class:`SimulatedGateway` writes each message as a JSON file instead (the default, for
  demos and tests: :func:`read_simulated` reads them back). :func:`gateway_from_options` picks one from the
  servers' ``--sms-url``.

Every failure is an :class:`SmsError` whose ``transient`` says what a sender does next: try again later (network,
a 5xx, the provider's "unknown error" 99) or give up (bad keys, no balance, an unregistered brandname, a refused
number). Nothing here logs; callers log with :func:`mask_phone` and never the text.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
import uuid
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from config.localtime import LOCAL_TZ
from contracts.scrub import scrub
from contracts.secrets import SecretError, read_protected

# The 3-digit prefixes the Ministry allocates to mobile networks since the 2018 switch to 10 digits (Viettel
# 032-039/086/096-098, Vinaphone 081-085/088/091/094, MobiFone 070/076-079/089/090/093, Vietnamobile 052/056/058/092,
# Gmobile 059/099, Reddi/Wintel 055, iTel 087). An unallocated prefix (030, 071, 095 …) is refused: no SMS reaches it.
MOBILE_PREFIXES = frozenset(
    [f"03{d}" for d in "23456789"] + ["052", "055", "056", "058", "059"]
    + ["070", "076", "077", "078", "079"] + [f"08{d}" for d in "123456789"]
    + ["090", "091", "092", "093", "094", "096", "097", "098", "099"])
_SEPARATORS = re.compile(r"[\s.\-()/]+")
_COUNTRY = re.compile(r"^(?:\+84|0084|84(?=\d{9}$))")  # bare 84 only when exactly 9 digits follow (84912345678)

# eSMS CodeResult values with a known meaning; 100 is success, 99 the provider's own "try again".
ESMS_OK = "100"
ESMS_RETRY = "99"
ESMS_REFUSALS = {
    "101": "the eSMS API key or secret key is wrong",
    "102": "the eSMS account is locked",
    "103": "the eSMS account has no balance left",
    "104": "the brandname is not registered with eSMS for this account",
}
ESMS_PATH = "/MainService.svc/json/SendMultipleMessage_V4_post_json/"
SIM_DIR_NAME = "sms-sim"  # the simulator's spool under a server's data directory
KEY_NAMES = ("SMS_API_KEY", "SMS_SECRET_KEY", "SMS_BRANDNAME")

if TYPE_CHECKING:  # httpx is imported when an EsmsGateway is made: a server using the simulator never loads it
    import httpx


class SmsError(Exception):
    """A message that did not go: ``transient`` True means try again later, False means the gateway refused it."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class SmsConfigError(SecretError):
    """An unusable ``--sms-url`` or missing gateway keys (a :class:`SecretError`, so a server's start-up check for
    secrets catches it too): the message is the one line to print before exiting 2."""


def normalise_phone(text: str) -> str:
    """The 10-digit form (``0912345678``) of a Vietnamese mobile number typed in any common way.

    Accepts +84/0084/84 prefixes (also "+84 (0) 912…"), spaces, dots, dashes, slashes and brackets.

    :raises ValueError: not a Vietnamese mobile number; the message is one sentence a citizen can act on.
    """
    compact = _SEPARATORS.sub("", text.strip())
    if not compact:
        raise ValueError("Enter a mobile phone number.")
    international = _COUNTRY.match(compact)
    digits = compact[international.end():] if international else compact
    if not digits.isascii() or not digits.isdigit():
        raise ValueError("A phone number has only digits (spaces, dots, dashes and +84 are allowed).")
    if international:
        digits = "0" + digits.removeprefix("0")  # "+84 (0)912…" writes the trunk 0 as well
    elif not digits.startswith("0"):
        raise ValueError("A Vietnamese mobile number starts with 0 or +84.")
    if digits.startswith("02"):
        raise ValueError("That is a landline number, which cannot receive SMS: give a mobile number.")
    if len(digits) == 11 and digits.startswith("01"):
        raise ValueError("11-digit numbers starting with 01 changed to 10 digits in 2018: give the new number.")
    if len(digits) != 10:
        raise ValueError("A Vietnamese mobile number has 10 digits (0 and 9 more).")
    if digits[:3] not in MOBILE_PREFIXES:
        raise ValueError(f"No Vietnamese mobile network uses numbers starting with {digits[:3]}.")
    return digits


def mask_phone(phone: str) -> str:
    """``0912345678`` → ``091****678``: enough to tell numbers apart in a log, not enough to call one."""
    if len(phone) <= 6:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 6) + phone[-3:]


class SmsGateway(Protocol):
    """Anything that sends one text to one phone."""

    def send(self, phone: str, text: str, *, request_id: str) -> str:
        """Send ``text`` to ``phone`` (normalised); the gateway's message id.

        ``request_id`` identifies the message across retries: the provider drops a repeat, so a retry after a
        timeout does not send twice.

        :raises SmsError: not sent (see ``transient``).
        """
        ...


class EsmsGateway:
    """The eSMS.vn JSON API: one POST per message, Unicode (Vietnamese with diacritics), customer-care Brandname."""

    def __init__(self, url: str, api_key: str, secret_key: str, brandname: str, *, timeout_s: float = 10,
                 client: httpx.Client | None = None) -> None:
        import httpx

        self.url, self.brandname = url, brandname
        self._keys = {"ApiKey": api_key, "SecretKey": secret_key}
        self._client = client or httpx.Client(timeout=timeout_s)
        self._timeout = httpx.Timeout(timeout_s)
        self._network_errors = httpx.HTTPError

    def __str__(self) -> str:
        return f"eSMS gateway at {self.url} (brandname {self.brandname})"

    def send(self, phone: str, text: str, *, request_id: str) -> str:
        body = {**self._keys, "Phone": phone, "Content": text, "Brandname": self.brandname, "SmsType": "2",
                "IsUnicode": "1", "Sandbox": "0", "RequestId": request_id}
        try:
            response = self._client.post(self.url, json=body, timeout=self._timeout)
        except self._network_errors as exc:
            raise SmsError(f"eSMS not reached: {type(exc).__name__}", transient=True) from None
        if response.status_code >= 500 or response.status_code == 429:
            raise SmsError(f"eSMS answered HTTP {response.status_code}", transient=True)
        if response.status_code >= 400:
            raise SmsError(f"eSMS refused the request: HTTP {response.status_code}", transient=False)
        return _esms_answer(response)

    def close(self) -> None:
        self._client.close()


def _esms_answer(response: httpx.Response) -> str:
    """The SMSID of a 2xx answer, or the SmsError its CodeResult means."""
    try:
        answer = response.json()
        code = str(answer["CodeResult"])
    except (ValueError, KeyError, TypeError):
        # A proxy's HTML page or a half answer: the provider may not have seen the message; the RequestId makes a
        # retry safe.
        raise SmsError("eSMS gave an answer without a CodeResult", transient=True) from None
    if code == ESMS_OK:
        return str(answer.get("SMSID") or "")
    said = scrub(str(answer.get("ErrorMessage") or "")[:200])  # a provider may echo the number back
    if code == ESMS_RETRY:
        raise SmsError(f"eSMS error 99 (try again): {said}".rstrip(": "), transient=True)
    meaning = ESMS_REFUSALS.get(code, "the message was refused")
    raise SmsError(f"eSMS {code}: {meaning}" + (f" ({said})" if said else ""), transient=False)


class SimulatedGateway:
    """Writes each message to ``spool_dir`` as one JSON file instead of sending it.

    A file is written under a temporary name and renamed, so a reader never sees half a message; its name starts
    with the time in nanoseconds and ends with a random id, so several processes spool into one directory without
    colliding and the names sort oldest first.
    """

    def __init__(self, spool_dir: Path) -> None:
        self.spool_dir = Path(spool_dir)

    def __str__(self) -> str:
        return f"SMS simulator writing to {self.spool_dir}/ (no message leaves this machine)"

    def send(self, phone: str, text: str, *, request_id: str) -> str:
        message_id = uuid.uuid4().hex
        record = {"phone": phone, "text": text, "request_id": request_id,
                  "at": datetime.now(LOCAL_TZ).isoformat(timespec="milliseconds")}
        try:
            self.spool_dir.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.spool_dir, prefix=".", suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(record, out, ensure_ascii=False)
            os.replace(temporary, self.spool_dir / f"{time.time_ns():020d}-{message_id}.json")
        except OSError as exc:
            raise SmsError(f"the SMS simulator cannot write to {self.spool_dir}: {exc.strerror}",
                           transient=True) from None
        return message_id


def read_simulated(spool_dir: Path) -> list[dict[str, Any]]:
    """The messages :class:`SimulatedGateway` spooled to ``spool_dir``, oldest first ([] when there is none)."""
    try:
        names = sorted(path for path in Path(spool_dir).glob("*.json") if not path.name.startswith("."))
    except OSError:
        return []
    messages = []
    for path in names:
        try:
            messages.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue  # removed by someone clearing the spool while we read
    return messages


def _key_file(path: Path) -> dict[str, str]:
    """``NAME=value`` lines of a gateway key file (the format of systemd's EnvironmentFile), checked for exposure."""
    lines = read_protected(path, "the SMS keys", SmsConfigError)
    pairs = (line.split("=", 1) for line in lines if "=" in line and not line.lstrip().startswith("#"))
    return {name.strip(): value.strip() for name, value in pairs if name.strip() in KEY_NAMES}


def gateway_from_options(url: str | None, spool_dir: Path, *, key_file: Path | None = None,
                         environ: Mapping[str, str] = os.environ, timeout_s: float = 10) -> SmsGateway:
    """The gateway a server's ``--sms-url`` names: the simulator spooling to ``spool_dir`` without one, else eSMS at
    ``url`` with SMS_API_KEY, SMS_SECRET_KEY and SMS_BRANDNAME from ``key_file`` (``NAME=value`` lines, mode 600)
    or the environment. ``str(gateway)`` is the start-up line's description.

    :raises SmsConfigError: the URL is not http(s) or a key is missing (one line naming it).
    """
    if url is None:
        return SimulatedGateway(spool_dir)
    if not re.match(r"^https?://[^\s/]+", url):
        raise SmsConfigError(f"--sms-url {url!r} is not an http:// or https:// URL")
    found = _key_file(key_file) if key_file is not None else {}
    values = {name: found.get(name) or environ.get(name, "").strip() for name in KEY_NAMES}
    missing = [name for name in KEY_NAMES if not values[name]]
    if missing:
        raise SmsConfigError(f"--sms-url needs {', '.join(missing)} (environment or --sms-key-file)")
    return EsmsGateway(url, values["SMS_API_KEY"], values["SMS_SECRET_KEY"], values["SMS_BRANDNAME"],
                       timeout_s=timeout_s)
