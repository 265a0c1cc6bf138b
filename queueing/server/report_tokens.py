"""Report credentials of the branch queue server: who may read the day's figures per service and per counter.

The figures tell how each counter (so each member of staff) performed: they are for the centre's managers, not
for everyone on the branch LAN. ``QUEUE_REPORT_TOKEN`` holds one token or a comma-separated list (or the file of
``queue serve --report-token-file``); there is no default, and without one every report call is refused with a
401 naming the variable. A report token reads the report and nothing else: kiosk and counter routes take their
own credentials. Each token is at least ``MIN_SECRET`` characters (as a kiosk's secret) and is looked up by its
SHA-256 digest, so the comparison does not leak how much of a guessed token matched.
"""

from __future__ import annotations

from collections.abc import Iterable

from contracts.http import Refused
from queueing.server.kiosks import MIN_SECRET, digest

ENV = "QUEUE_REPORT_TOKEN"


class BadReportToken(ValueError):
    """A configured report token is too short; the message names its position, never the token."""


class ReportTokens:
    def __init__(self, tokens: Iterable[str] = ()) -> None:
        """:raises BadReportToken: an entry is shorter than ``MIN_SECRET`` characters."""
        self._digests: set[bytes] = set()
        for position, token in enumerate(tokens, start=1):
            if len(token) < MIN_SECRET:
                raise BadReportToken(f"report token {position} is shorter than {MIN_SECRET} characters: make one "
                                     "with python -c \"import secrets; print(secrets.token_urlsafe(24))\"")
            self._digests.add(digest(token))

    def __len__(self) -> int:
        return len(self._digests)

    def check(self, token: str) -> str:
        """The caller's role, ``"report"``, when ``token`` is a report token.

        :raises Refused: 401 when no report token is configured or ``token`` is not one of them.
        """
        if not self._digests:
            raise Refused(401, "report_not_configured", f"this queue server has no report token ({ENV} is not "
                                                        "set), so it refuses every report call")
        if not token or digest(token) not in self._digests:
            raise Refused(401, "report_refused", "send a report token (Authorization: Bearer <token>); the one "
                                                 "sent is missing or unknown")
        return "report"
