"""The running kiosk core and published content: the ticker, the catalogue subset and services, applied between
sessions — against a real backend on 127.0.0.1."""

from __future__ import annotations

import json

from nacl.signing import SigningKey

from kiosk.cli.embedded import open_backend
from kiosk.core import KioskCore
from tests.support import content_config, eventually, kiosk_token, make_bundle, publish


def test_published_announcement_reaches_the_ticker_after_the_session_ends(tmp_path, signed_backend, key):
    config = content_config(tmp_path / "data", key, f"backend.url={signed_backend.url}",
                            f"backend.token={kiosk_token(signed_backend)}", "scanner.connection=sim:127.0.0.1:0")
    catalogue = json.dumps({"procedures": ["HT01", "HT05"]}).encode()
    bundle = make_bundle(tmp_path, key, 3, text="Bộ phận Một cửa làm việc sáng thứ Bảy",
                         extra_files={"catalogue.json": catalogue})
    assert publish(signed_backend, bundle).returncode == 0
    core = KioskCore(config, backend=open_backend)
    published: list[int] = []
    core.events.subscribe("content", lambda version: published.append(version))
    core.session.start()  # a citizen is using the kiosk: nothing changes under their fingers
    try:
        core.start()  # the first poll happens at once and downloads the bundle
        eventually(lambda: core.content_status is not None and core.content_status.outcome == "pending")
        assert published == [] and "Bộ phận Một cửa làm việc sáng thứ Bảy" not in core.announcements()
        core.session.end()
        eventually(lambda: published == [3])
        assert core.announcements()[0] == "Bộ phận Một cửa làm việc sáng thứ Bảy"
        eventually(lambda: core.catalogue is not None and len(core.catalogue) == 2)
        assert [e.key for e in core.catalogue.life_events] == ["birth"]
    finally:
        core.close()
    # the applied content is there at the next start, before any network
    restarted = KioskCore(config, backend=open_backend)
    try:
        assert restarted.content.version == 3 and restarted.announcements()[0].startswith("Bộ phận Một cửa")
    finally:
        restarted.close()


def test_services_from_content_replace_the_local_list_at_start(tmp_path):
    key = SigningKey.generate()
    config = content_config(tmp_path / "data", key, "scanner.connection=sim:127.0.0.1:0")
    services = {"services": [{"code": "HT", "name_vi": "Hộ tịch", "name_en": "Civil status", "counters": [1, 2]}]}
    bundle = make_bundle(tmp_path, key, 1, extra_files={"services.json": json.dumps(services).encode()})
    from kiosk.content import apply_bundle

    apply_bundle(bundle, config)
    core = KioskCore(config, backend=open_backend)
    try:
        assert [s.code for s in core.queue.services()] == ["HT"]
        assert core.local_config.queue.services != core.config.queue.services
    finally:
        core.close()
