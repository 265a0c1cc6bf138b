"""The centres' clock: Vietnam keeps one time zone (ICT, UTC+7) with no daylight saving.

Working days, opening hours, ticket days and daily reports all count in it, on the kiosk and on the servers,
whatever time zone the host is set to.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
