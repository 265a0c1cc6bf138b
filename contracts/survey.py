"""The satisfaction survey's vocabulary: what a kiosk may send and the backend accepts.

Reasons are codes, not free text, so nobody can type personal data into them.
"""

from __future__ import annotations

SCORES = (1, 2, 3, 4, 5)
REASONS = ("wait_time", "staff_attitude", "guidance", "facilities", "kiosk_easy", "kiosk_hard")
KINDS = ("ticket", "lookup", "standalone")  # after a ticket, after a look-up, or from the home screen
SERVICE_PATTERN = r"^[A-Z0-9]{0,8}$"  # a queue service code; "" when the answer is about no service
