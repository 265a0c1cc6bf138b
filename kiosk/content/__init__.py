"""Remote content: signed bundles that administrators publish and kiosks verify, apply atomically and load.

A bundle is a zip::

    manifest.json        {"format": 1, "version": 7, "target": {"all": true} | {"group": "X"} | {"kiosk": "ID"},
                          "created": "2025-11-20T02:00:00Z", "expires": "2026-11-20T02:00:00Z",
                          "signer": "<base64 public key>",
                          "files": {"services.json": {"sha256": "…", "size": 812}, …}}
    manifest.sig         base64 Ed25519 signature of manifest.json, byte for byte
    announcements.json   {"announcements": [{"text", "text_en", "image": "images/x.png", "start", "end"}]}
    services.json        {"services": [<as [[queue.services]] in config>]}  (counters and opening hours included)
    ticket.json          {"header": [lines], "footer": [lines]}
    catalogue.json       {"procedures": ["HT01", …]}  the subset of the backend's catalogue this kiosk offers
    theme.json           {"primary", "accent", "ticker_bg", "ticker_text": "#RRGGBB", "logo": "images/…"}
    config.toml          overrides merged over the kiosk's config and validated by the same schema
    images/NAME.png|jpg  pictures the files above refer to

Every content file is optional. Versions only go up: a kiosk refuses a bundle not newer than the newest it has
applied, or past its expiry. ``config.toml`` may set only the keys in :mod:`contracts.content.policy`.
Modules: :mod:`.models` (file schemas), :mod:`.signing` (keys), :mod:`.bundle` (build and verify),
:mod:`.store` (atomic on-disk versions), :mod:`.apply` (apply and load), :mod:`.sync` (polling the backend).
"""

from contracts.content.bundle import BundleRejected
from kiosk.content.apply import Content, apply_bundle, load_current

__all__ = ["BundleRejected", "Content", "apply_bundle", "load_current"]
