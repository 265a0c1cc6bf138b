"""One documented tree for everything a device can do wrong, so kiosk/ can decide without knowing transports.

::

    DeviceError
    ├── DeviceNotFound     port/USB device/host absent (unplugged, wrong config)
    ├── DeviceOffline      present but not answering or reporting itself offline
    ├── DeviceTimeout      a write or status query did not finish in time
    ├── PaperOut           printer: paper end sensor
    └── CoverOpen          printer: cover or platen open

Each carries ``status``: the short code shown on the maintenance screen and sent in heartbeats.
"""

from __future__ import annotations


class DeviceError(Exception):
    status = "error"


class DeviceNotFound(DeviceError):
    status = "not_found"


class DeviceOffline(DeviceError):
    status = "offline"


class DeviceTimeout(DeviceError):
    status = "timeout"


class PaperOut(DeviceError):
    status = "paper_out"


class CoverOpen(DeviceError):
    status = "cover_open"
