"""Attacks on the content trust chain (issue 16, "Content laundering"), each refused.

A bundle is signed content every kiosk applies, so whoever gets one signed by a trusted key steers the fleet. The
attacks: publishing a bundle signed by one's own key with a stolen admin token; getting the admin pages to re-sign
such a bundle as the base of an announcement; a bundle whose config.toml points kiosks elsewhere (or opens a file
printer, or takes maintenance); replaying an old bundle; changing a kiosk's stored content on disk.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from nacl.signing import SigningKey

from backend.admin.publishing import PublishingShelf, current_files, publish_announcements
from backend.content_routes import Rejected
from config.loader import load_config
from contracts.content.bundle import BuildError, build_bundle
from contracts.content.models import Target, TimedAnnouncement
from contracts.content.signing import encode_public_key
from kiosk.content import BundleRejected, apply_bundle
from kiosk.content.apply import content_store
from kiosk.core import with_content
from tests.stores import store_target
from tests.support import ADMIN_TOKEN, content_config, make_bundle, signed_zip

ELSEWHERE = "http://203.0.113.9:8600"
# one key of each family a bundle may not set → a config.toml setting it
FORBIDDEN = {
    "backend.url": f'[backend]\nurl = "{ELSEWHERE}"\n',
    "backend.token": '[backend]\ntoken = "token-of-the-attacker"\n',
    "technician.pin_hash": '[technician]\npin_hash = "scrypt$16384$8$1$c2FsdHNhbHQ$aGFzaGhhc2g"\n',
    "content.trusted_keys": '[content]\ntrusted_keys = []\n',
    "printer.connection": '[printer]\nconnection = "file:/etc/cron.d/kiosk"\nkind = "file"\n',
    "scanner.connection": '[scanner]\nconnection = "sim:0.0.0.0:8765"\n',
    "voice.output": '[voice]\noutput = "file:/etc/profile.d/kiosk.sh"\n',
    "data_dir": 'data_dir = "/tmp/elsewhere"\n',
    "kiosk.id": '[kiosk]\nname = "Sảnh chính"\nid = "HN-BD-07"\n',  # an allowed key beside it changes nothing
    "kiosk.dev_mode": "[kiosk]\ndev_mode = true\n",
    "queue.server": f'[queue]\nserver = "{ELSEWHERE}"\n',
    "queue.token": '[queue]\ntoken = "K1:token-of-the-attacker"\n',
}


def public(key: SigningKey) -> str:
    return encode_public_key(key.verify_key)


def upload(backend, bundle_path) -> httpx.Response:
    return httpx.post(f"{backend.url}/api/content/bundles", content=bundle_path.read_bytes(),
                      headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/zip"})


def latest_status(backend) -> int:
    return httpx.get(f"{backend.url}/api/content/latest", params={"kiosk": "HN-HK-01"},
                     headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).status_code


@pytest.mark.stores
def test_the_publish_api_refuses_a_bundle_signed_by_an_untrusted_key(tmp_path, signed_backend):
    """A stolen admin token and one's own key: the bundle is self-consistent but nobody the backend trusts signed it."""
    attacker = SigningKey.generate()
    refused = upload(signed_backend, make_bundle(tmp_path, attacker, 1, text="Trung tâm chuyển địa chỉ"))
    assert refused.status_code == 422
    assert refused.json()["error"] == "untrusted_signer"
    assert "not among the trusted keys" in refused.json()["message"]
    assert latest_status(signed_backend) == 404  # nothing was stored for kiosks to fetch


@pytest.mark.stores
def test_admin_publishing_never_re_signs_a_base_it_did_not_verify(tmp_path, key):
    """A foreign bundle is the newest on the shelf (stored while its key was trusted, since removed): the
    announcements editor refuses to build on it rather than sign it with the backend's own key."""
    stranger = SigningKey.generate()
    db = store_target(tmp_path / "content.db")
    foreign = make_bundle(tmp_path, stranger, 5, text="Nội dung không rõ nguồn")
    PublishingShelf(db, (public(stranger),)).publish(foreign.read_bytes())
    shelf = PublishingShelf(db, (public(key),))  # restarted: the stranger's key is no longer trusted

    base = current_files(shelf, Target(all=True), lambda _kiosk: None)
    with pytest.raises(Rejected) as refused:
        publish_announcements(shelf, key, Target(all=True), [TimedAnnouncement(text="Nghỉ lễ 2/9")], base,
                              load_config(None, [f"data_dir={tmp_path / 'builder'}"]))
    assert (refused.value.status, refused.value.code) == (409, "unverified_base")
    assert "version 5) cannot be built on: signed by key" in refused.value.message
    assert shelf.newest_version() == 5  # nothing was signed on top of it


@pytest.mark.stores
@pytest.mark.parametrize("forbidden", FORBIDDEN)
def test_bundle_config_may_not_set_local_keys(tmp_path, key, signed_backend, forbidden):
    """Builder, publish API and kiosk each refuse, naming the key, a config.toml outside the allow-list."""
    files = {"config.toml": FORBIDDEN[forbidden].encode(), "ticket.json": b"{}"}
    message = f"config.toml may not set {forbidden}"
    source = tmp_path / "src"
    source.mkdir()
    for name, data in files.items():
        (source / name).write_bytes(data)
    with pytest.raises(BuildError, match=message.replace(".", r"\.")):
        build_bundle(source, key, version=1, target=Target(all=True), out=tmp_path / "built.zip",
                     config=load_config(None, [f"data_dir={tmp_path / 'builder'}"]))

    signed = signed_zip(tmp_path / "signed.zip", files, key, version=1)  # signed by the trusted key itself
    refused = upload(signed_backend, signed)
    assert (refused.status_code, refused.json()["error"]) == (422, "forbidden_config_key")
    assert message in refused.json()["message"]

    config = content_config(tmp_path / "kiosk", key)
    with pytest.raises(BundleRejected) as rejected:
        apply_bundle(signed, config)
    assert message in rejected.value.reason
    assert with_content(config) == (config, None)


@pytest.mark.stores
def test_an_expired_bundle_is_refused_by_the_kiosk_and_the_publish_api(tmp_path, key, signed_backend):
    """An old signed bundle kept by someone and replayed to a kiosk that never saw a newer one."""
    source = tmp_path / "src"
    source.mkdir()
    (source / "announcements.json").write_text(json.dumps({"announcements": [{"text": "Giờ làm việc năm ngoái"}]},
                                                          ensure_ascii=False), encoding="utf-8")
    old = tmp_path / "old.zip"
    manifest = build_bundle(source, key, version=1, target=Target(all=True), out=old,
                            config=load_config(None, [f"data_dir={tmp_path / 'builder'}"]),
                            now=datetime.now(UTC) - timedelta(days=400))  # the default expiry: a year
    config = content_config(tmp_path / "kiosk", key)
    with pytest.raises(BundleRejected) as rejected:
        apply_bundle(old, config)
    assert rejected.value.code == "expired"
    assert rejected.value.reason == (f"bundle version 1 expired on {manifest.expires.isoformat()}; "
                                     "build and publish a new one")
    assert content_store(config).current_version() is None
    refused = upload(signed_backend, old)
    assert (refused.status_code, refused.json()["error"]) == (422, "expired")


def _forge_manifest(directory, name: str, data: bytes) -> None:
    """What an attacker with the disk does: change a file and its hash in manifest.json (they cannot re-sign it)."""
    (directory / name).write_bytes(data)
    manifest = json.loads((directory / "manifest.json").read_bytes())
    manifest["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    (directory / "manifest.json").write_text(json.dumps(manifest))


def _plant(directory, name: str, data: bytes) -> None:
    """A file beside the signed ones that the manifest does not list."""
    (directory / name).write_bytes(data)


@pytest.mark.parametrize("tamper", [_forge_manifest, _plant])
def test_stored_content_changed_on_disk_is_not_used_at_start(tmp_path, key, tamper, caplog):
    """The kiosk re-verifies its active content at start and goes back to the previous verified version."""
    config = content_config(tmp_path / "kiosk", key)
    apply_bundle(make_bundle(tmp_path, key, 1, text="Phiên bản 1"), config)
    apply_bundle(make_bundle(tmp_path, key, 2, text="Phiên bản 2"), config)
    tamper(content_store(config).version_dir(2), "config.toml", f'[backend]\nurl = "{ELSEWHERE}"\n'.encode())

    with caplog.at_level(logging.WARNING, logger="kiosk.content.apply"):
        effective, content = with_content(config)
    assert content.version == 1 and content.files.announcements.announcements[0].text == "Phiên bản 1"
    assert effective.backend.url == config.backend.url != ELSEWHERE
    assert content.problem.startswith("content version 2 failed to load (")
    assert content.problem.endswith("rolled back to version 1")
    assert "content version 2 failed to load" in caplog.text
