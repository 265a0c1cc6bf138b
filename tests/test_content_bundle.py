"""Content bundles: build, verify, refuse with a clear reason, apply atomically, survive kill -9, roll back."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from config.loader import DEFAULT_PATH, ConfigError, load_config
from contracts.content.bundle import BuildError, build_bundle
from contracts.content.models import Target
from contracts.content.signing import encode_public_key
from kiosk.content import BundleRejected, apply_bundle, load_current
from kiosk.content.apply import content_store
from tests.support import KIOSK_ID, ROOT, signed_zip

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24


def public(key: SigningKey) -> str:
    return encode_public_key(key.verify_key)


def config_for(data_dir: Path, *keys: SigningKey, extra: tuple[str, ...] = ()):
    trusted = json.dumps([public(key) for key in keys])
    return load_config(None, [f"data_dir={data_dir}", f"content.trusted_keys={trusted}", f"kiosk.id={KIOSK_ID}",
                              *extra])


def content_files(text: str = "Thông báo") -> dict[str, bytes]:
    return {
        "announcements.json": json.dumps({"announcements": [
            {"text": text, "image": "images/banner.png", "start": "2025-09-01T00:00:00+07:00",
             "end": "2025-09-03T00:00:00+07:00"}]}, ensure_ascii=False).encode(),
        "services.json": json.dumps({"services": [
            {"code": "HT", "name_vi": "Hộ tịch", "counters": [1, 2], "hours": {"mon": ["07:30-11:30"]}}]}).encode(),
        "ticket.json": json.dumps({"header": ["UBND PHƯỜNG HOÀN KIẾM"], "footer": ["Xin cảm ơn"]}).encode(),
        "catalogue.json": json.dumps({"procedures": ["HT01", "CT01"]}).encode(),
        "theme.json": json.dumps({"primary": "#0B3C8C", "logo": "images/banner.png"}).encode(),
        "config.toml": b"[session]\nidle_reset_s = 20\n",
        "images/banner.png": PNG,
    }


def rewrite(source: Path, out: Path, changes: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, changes.get(info.filename, src.read(info)))
    return out


def snapshot(config) -> tuple[int | None, dict[str, bytes], list[str]]:
    store = content_store(config)
    version = store.current_version()
    directory = store.version_dir(version) if version else None
    files = {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()} \
        if directory else {}
    return version, files, sorted(p.name for p in store.versions.iterdir())


@pytest.fixture
def applied(tmp_path, key):
    """A kiosk with version 1 applied; returns its config."""
    config = config_for(tmp_path / "data", key)
    apply_bundle(signed_zip(tmp_path / "v1.zip", content_files("Phiên bản 1"), key, version=1), config)
    return config


def test_build_apply_and_load_round_trip(tmp_path, key):
    source = tmp_path / "src"
    for name, data in content_files("Nghỉ lễ Quốc khánh 2/9").items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes(data)
    config = config_for(tmp_path / "data", key)
    out = tmp_path / "bundle.zip"
    manifest = build_bundle(source, key, version=4, target=Target.parse(f"kiosk:{KIOSK_ID}"), out=out, config=config)
    assert manifest.version == 4 and str(manifest.target) == f"kiosk {KIOSK_ID}"
    assert load_current(config) is None
    apply_bundle(out, config)
    content = load_current(config)
    assert content.version == 4 and content.problem is None
    assert content.files.announcements.announcements[0].text == "Nghỉ lễ Quốc khánh 2/9"
    assert [s.code for s in content.files.services.services] == ["HT"]
    assert content.files.ticket.header == ["UBND PHƯỜNG HOÀN KIẾM"]
    assert content.files.catalogue.procedures == ["HT01", "CT01"]
    assert content.files.theme.logo == "images/banner.png"
    assert content.files.config.session.idle_reset_s == 20 and config.session.idle_reset_s == 15
    assert os.readlink(content_store(config).current_link) == "versions/4"


def test_build_is_deterministic_apart_from_the_creation_time_and_refuses_bad_folders(tmp_path, key):
    source = tmp_path / "src"
    source.mkdir()
    (source / "ticket.json").write_text('{"footer": ["ok"]}')
    config = config_for(tmp_path / "data", key)
    (source / "notes.txt").write_text("draft")
    with pytest.raises(BuildError, match="notes.txt: not a content file"):
        build_bundle(source, key, version=1, target=Target(all=True), out=tmp_path / "b.zip", config=config)
    (source / "notes.txt").unlink()
    (source / "services.json").symlink_to("/etc/passwd")
    with pytest.raises(BuildError, match="services.json: symlinks are not allowed"):
        build_bundle(source, key, version=1, target=Target(all=True), out=tmp_path / "b.zip", config=config)
    (source / "services.json").unlink()
    (source / "theme.json").write_text('{"primary": "blue"}')
    with pytest.raises(BuildError, match="theme.json: primary: String should match pattern"):
        build_bundle(source, key, version=1, target=Target(all=True), out=tmp_path / "b.zip", config=config)
    assert not (tmp_path / "b.zip").exists()


def _big(name: str, size: int) -> bytes:
    return PNG + random.Random(name).randbytes(size)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _symlink_entry() -> zipfile.ZipInfo:
    info = zipfile.ZipInfo("images/link.png")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


# name → (how to make the bad bundle from (tmp_path, trusted key), expected reason fragment)
BAD_BUNDLES = {
    "tampered file": (lambda d, k: rewrite(signed_zip(d / "g.zip", content_files(), k, version=2), d / "b.zip",
                                           {"ticket.json": '{"footer": ["Lừa đảo"]}'.encode()}),
                      "ticket.json does not match its hash in the manifest"),
    "tampered manifest": (lambda d, k: rewrite(signed_zip(d / "g.zip", content_files(), k, version=2), d / "b.zip", {
        "manifest.json": zipfile.ZipFile(d / "g.zip").read("manifest.json").replace(b'"version": 2', b'"version": 9')}),
        "bad signature: manifest.json or manifest.sig was altered"),
    "unsigned": (lambda d, k: signed_zip(d / "b.zip", content_files(), k, version=2, sign=False),
                 "unsigned: no manifest.sig"),
    "garbage signature": (lambda d, k: rewrite(signed_zip(d / "g.zip", content_files(), k, version=2), d / "b.zip",
                                               {"manifest.sig": b"bm90IGEgc2lnbmF0dXJl"}),
                          "bad signature"),
    "wrongly signed": (lambda d, k: signed_zip(d / "b.zip", content_files(), SigningKey.generate(), version=2),
                       "which is not among the trusted keys"),
    "older": (lambda d, k: signed_zip(d / "b.zip", content_files(), k, version=1),
              "version 1 is not newer than the applied version 1"),
    "another kiosk": (lambda d, k: signed_zip(d / "b.zip", content_files(), k, version=2,
                                              target={"kiosk": "HN-BD-07"}),
                      f"bundle is for kiosk HN-BD-07, not for this kiosk ({KIOSK_ID})"),
    "another group": (lambda d, k: signed_zip(d / "b.zip", content_files(), k, version=2, target={"group": "ba-dinh"}),
                      "bundle is for group ba-dinh, not for this kiosk"),
    "zip slip": (lambda d, k: signed_zip(d / "b.zip", content_files(), k, version=2,
                                         extra_entries=[("images/../../../etc/cron.d/x", b"* * * * * root sh")]),
                 "escapes the bundle"),
    "absolute path": (lambda d, k: signed_zip(d / "b.zip", content_files(), k, version=2,
                                              extra_entries=[("/etc/passwd", b"root::0:0::/:/bin/sh")]),
                      "absolute path '/etc/passwd'"),
    "symlink": (lambda d, k: signed_zip(d / "b.zip", content_files(), k, version=2,
                                        extra_entries=[(_symlink_entry(), b"/etc/shadow")]),
                "symlink 'images/link.png'"),
    "oversize file": (lambda d, k: signed_zip(d / "b.zip", {**content_files(), "images/huge.png":
                                                            PNG + b"\x00" * (9 * 1024 * 1024)}, k, version=2),
                      "over the per-file limit"),
    "zip bomb": (lambda d, k: signed_zip(d / "b.zip", {**content_files(), "images/bomb.png":
                                                       PNG + b"\x00" * (3 * 1024 * 1024)}, k, version=2),
                 "(zip bomb?)"),
    "not a zip": (lambda d, k: _write(d / "b.zip", b"PK\x03\x04 definitely not a zip"),
                  "unreadable bundle"),
    "unlisted file": (lambda d, k: signed_zip(d / "b.zip", content_files(), k, version=2,
                                              extra_entries=[("theme.json.bak", b"{}")]),
                      "theme.json.bak is in the bundle but not in the manifest"),
    "missing file": (lambda d, k: signed_zip(d / "b.zip", {"ticket.json": b"{}"}, k, version=2, manifest_files={
        "ticket.json": {"sha256": hashlib.sha256(b"{}").hexdigest(), "size": 2},
        "services.json": {"sha256": "0" * 64, "size": 1}}),
        "services.json is in the manifest but missing from the bundle"),
    "invalid json": (lambda d, k: signed_zip(d / "b.zip", {"services.json": b'{"services": ['}, k, version=2),
                     "services.json: invalid JSON"),
    "schema": (lambda d, k: signed_zip(d / "b.zip", {"services.json": b'{"services": [{"code": "ht", "name_vi": "x"}]}'},
                                       k, version=2),
               "services.json: services.0.code: String should match pattern"),
    "duplicate services": (lambda d, k: signed_zip(d / "b.zip", {"services.json": json.dumps({"services": [
        {"code": "HT", "name_vi": "a"}, {"code": "HT", "name_vi": "b"}]}).encode()}, k, version=2),
        "service codes must be unique; repeated: HT"),
    "config override": (lambda d, k: signed_zip(d / "b.zip", {"config.toml": b"[session]\nidle_reset_s = 1\n"}, k,
                                                version=2),
                        "config.toml: session.idle_reset_s: Input should be greater than or equal to 3"),
    "local-only key": (lambda d, k: signed_zip(d / "b.zip", {"config.toml": b'[content]\ntrusted_keys = []\n'}, k,
                                               version=2),
                       "config.toml may not set content.trusted_keys"),
    "expired": (lambda d, k: signed_zip(d / "b.zip", content_files(), k, version=2,
                                        expires="2025-11-21T02:00:00+00:00"),
                "bundle version 2 expired on 2025-11-21T02:00:00+00:00; build and publish a new one"),
    "no expiry": (lambda d, k: signed_zip(d / "b.zip", content_files(), k, version=2, expires=None),
                  "manifest.json: expires: Field required"),
    "missing image": (lambda d, k: signed_zip(d / "b.zip", {"theme.json": b'{"logo": "images/logo.png"}'}, k,
                                              version=2),
                      "theme.json: image images/logo.png is not in the bundle"),
    "fake image": (lambda d, k: signed_zip(d / "b.zip", {"images/x.png": b"<script>"}, k, version=2),
                   "images/x.png: not a PNG or JPEG image"),
}


@pytest.mark.parametrize("case", BAD_BUNDLES)
def test_bad_bundles_are_refused_with_a_reason_and_the_current_content_stays(tmp_path, key, applied, case):
    make, reason = BAD_BUNDLES[case]
    before = snapshot(applied)
    bundle = make(tmp_path, key)
    with pytest.raises(BundleRejected) as refused:
        apply_bundle(bundle, applied)
    assert reason in refused.value.reason
    assert "\n" not in refused.value.reason
    assert snapshot(applied) == before
    assert load_current(applied).version == 1


def test_oversize_bundle_is_refused_before_it_is_opened(tmp_path, key):
    config = config_for(tmp_path / "data", key, extra=("content.max_bundle_mb=0.05",))
    bundle = signed_zip(tmp_path / "b.zip", {**content_files(), "images/photo.png": _big("photo", 80_000)}, key,
                        version=1)
    with pytest.raises(BundleRejected, match=r"bundle is 0\.08 MB, over the limit of 0\.05 MB"):
        apply_bundle(bundle, config)
    assert load_current(config) is None


def test_group_and_kiosk_targets_are_accepted_for_this_kiosk(tmp_path, key):
    config = config_for(tmp_path / "data", key, extra=("content.group=hoan-kiem",))
    apply_bundle(signed_zip(tmp_path / "g.zip", content_files(), key, version=5, target={"group": "hoan-kiem"}), config)
    apply_bundle(signed_zip(tmp_path / "k.zip", content_files(), key, version=6, target={"kiosk": KIOSK_ID}), config)
    store = content_store(config)
    assert store.current_version() == 6 and store.previous_version() == 5 and store.applied_version() == 6


def test_trusted_keys_may_be_hex_and_a_malformed_key_is_a_config_error(tmp_path, key):
    hex_key = bytes(key.verify_key).hex()
    config = load_config(None, [f"data_dir={tmp_path}", f'content.trusted_keys=["{hex_key}"]'])
    apply_bundle(signed_zip(tmp_path / "b.zip", {"ticket.json": b"{}"}, key, version=1), config)
    with pytest.raises(ConfigError) as bad:
        load_config(None, ['content.trusted_keys=["abc"]'])
    assert bad.value.problems == [f"{DEFAULT_PATH} (with --set): content.trusted_keys: 'abc' is not an Ed25519 "
                                  "public key (64 hex digits or 44-character base64)"]


def test_only_the_current_and_the_previous_version_are_kept(tmp_path, key):
    config = config_for(tmp_path / "data", key)
    for version in (1, 2, 3, 7):
        apply_bundle(signed_zip(tmp_path / f"{version}.zip", content_files(f"v{version}"), key, version=version), config)
    assert snapshot(config)[2] == ["3", "7"]


def test_damaged_new_version_rolls_back_to_the_previous_and_is_not_reapplied(tmp_path, key, applied):
    v2 = signed_zip(tmp_path / "v2.zip", content_files("Phiên bản 2"), key, version=2)
    apply_bundle(v2, applied)
    (content_store(applied).version_dir(2) / "services.json").write_text('{"services": []}')
    content = load_current(applied)
    assert content.version == 1
    assert content.problem.startswith("content version 2 failed to load (services.json does not match its hash")
    assert content.problem.endswith("rolled back to version 1")
    assert content.files.announcements.announcements[0].text == "Phiên bản 1"
    assert snapshot(applied)[2] == ["1"]
    with pytest.raises(BundleRejected, match="version 2 is not newer than the applied version 2"):
        apply_bundle(v2, applied)


def test_content_signed_by_a_key_no_longer_trusted_rolls_back(tmp_path, key, applied):
    """Key rotation done in the wrong order: the kiosk stops trusting a key before content signed by it is replaced."""
    retired = SigningKey.generate()
    apply_bundle(signed_zip(tmp_path / "v2.zip", content_files("Khoá cũ"), retired, version=2),
                 config_for(tmp_path / "data", key, retired))
    content = load_current(applied)  # the local config trusts only ``key`` now
    assert content.version == 1 and content.files.announcements.announcements[0].text == "Phiên bản 1"
    assert "content version 2 failed to load (signed by key" in content.problem
    assert "not among the trusted keys); rolled back to version 1" in content.problem


def test_recovery_removes_debris_of_an_interrupted_apply(tmp_path, key, applied):
    store = content_store(applied)
    half = store.versions / ".tmp-2-abcd"
    half.mkdir()
    (half / "ticket.json").write_text('{"hea')
    orphan = store.versions / "3"
    shutil.copytree(store.version_dir(1), orphan)  # renamed into place, but the power went before the switch
    os.symlink("versions/3", store.root / "current.new")
    content = load_current(applied)
    assert content.version == 1
    assert snapshot(applied)[2] == ["1"]
    assert not (store.root / "current.new").is_symlink()
    apply_bundle(signed_zip(tmp_path / "v3.zip", content_files("v3"), key, version=3), applied)
    assert load_current(applied).version == 3


def run_main(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_cli_keygen_build_apply_show_exit_codes(tmp_path):
    keys = tmp_path / "keys"
    result = run_main("content", "keygen", "--out", str(keys))
    assert result.returncode == 0
    pub = result.stdout.strip()
    assert len(pub) == 44 and (keys / "content-signing.pub").read_text().strip() == pub
    assert stat.S_IMODE((keys / "content-signing.key").stat().st_mode) == 0o600
    again = run_main("content", "keygen", "--out", str(keys))
    assert again.returncode == 1 and "refusing to overwrite" in again.stderr

    source = tmp_path / "src"
    source.mkdir()
    (source / "ticket.json").write_text('{"footer": ["Cảm ơn quý khách"]}', encoding="utf-8")
    sets = ["--set", f"data_dir={tmp_path / 'data'}", "--set", f'content.trusted_keys=["{pub}"]']
    bundle = tmp_path / "b.zip"
    build = run_main("content", "build", str(source), "--key", str(keys / "content-signing.key"), "--version", "3",
                     "--target", f"kiosk:{KIOSK_ID}", "--out", str(bundle), *sets)
    assert build.returncode == 0, build.stderr
    assert build.stdout.strip() == f"built {bundle}: content version 3 for kiosk {KIOSK_ID}: ticket.json"

    assert run_main("content", "show", *sets).stdout.strip() == "no content applied (the kiosk uses its local config)"
    applied = run_main("content", "apply", str(bundle), *sets)
    assert (applied.returncode, applied.stdout.strip()) == (0, f"applied content version 3 for kiosk {KIOSK_ID}: "
                                                               "ticket.json")
    refused = run_main("content", "apply", str(bundle), *sets)
    assert (refused.returncode, refused.stderr.strip()) == (1, "refused: version 3 is not newer than the applied "
                                                               "version 3")
    untrusted = run_main("content", "apply", str(bundle), "--set", f"data_dir={tmp_path / 'other'}")
    assert untrusted.returncode == 1 and "no trusted keys configured" in untrusted.stderr
    missing = run_main("content", "apply", str(tmp_path / "nope.zip"), *sets)
    assert missing.returncode == 1 and missing.stderr.startswith("refused: cannot read the bundle")
    assert "Traceback" not in missing.stderr + refused.stderr + untrusted.stderr
    assert run_main("content", "show", *sets).stdout.startswith(f"content version 3 for kiosk {KIOSK_ID}")


CHILD = """
import sys, time
from pathlib import Path
from config.loader import DEFAULT_PATH, ConfigError, load_config
from kiosk.content.apply import apply_bundle
config = load_config(None, sys.argv[2:])
print("ready", flush=True)
sys.stdin.readline()
started = time.perf_counter()
apply_bundle(Path(sys.argv[1]), config)
print(time.perf_counter() - started, flush=True)
"""


def _start_child(bundle: Path, data_dir: Path, pub: str) -> subprocess.Popen:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(bundle), f"data_dir={data_dir}", f'content.trusted_keys=["{pub}"]',
         f"kiosk.id={KIOSK_ID}"],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ready"
    return child


def _whole_version(config, expected: dict[int, dict[str, bytes]]) -> int:
    """The version ``current`` points at, after checking its directory holds exactly that version's files."""
    version, files, _ = snapshot(config)
    assert version in expected, f"current points at {version}"
    names = set(expected[version]) | {"manifest.json", "manifest.sig"}
    assert set(files) == names, f"version {version} has {sorted(files)}"
    assert all(files[name] == data for name, data in expected[version].items()), f"version {version} is mixed"
    return version


def test_kill_9_during_apply_leaves_old_or_new_never_a_mix(tmp_path, key):
    """Many runs: an apply process is SIGKILLed at spread-out moments; the content is always one whole version."""
    old = content_files("Nội dung cũ")
    new = {**content_files("Nội dung mới"), **{f"images/p{i:02d}.png": _big(f"p{i}", 20_000) for i in range(40)}}
    pristine = tmp_path / "pristine"
    pristine_config = config_for(pristine, key)
    apply_bundle(signed_zip(tmp_path / "old.zip", old, key, version=1), pristine_config)
    new_bundle = signed_zip(tmp_path / "new.zip", new, key, version=2)
    expected = {1: old, 2: new}

    timing_dir = tmp_path / "timing"
    shutil.copytree(pristine, timing_dir, symlinks=True)
    child = _start_child(new_bundle, timing_dir, public(key))
    child.stdin.write("\n")
    child.stdin.flush()
    apply_s = float(child.stdout.readline())
    assert child.wait(timeout=10) == 0

    rng = random.Random(10)
    outcomes = []
    runs = 30
    for run in range(runs):
        data_dir = tmp_path / f"run{run}"
        shutil.copytree(pristine, data_dir, symlinks=True)
        config = config_for(data_dir, key)
        child = _start_child(new_bundle, data_dir, public(key))
        delay = apply_s * 1.4 * (run + rng.random()) / runs
        child.stdin.write("\n")
        child.stdin.flush()
        time.sleep(delay)  # the moment of the kill is what this test varies, so here a sleep is the fault itself
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        before = _whole_version(config, expected)
        debris = [p.name for p in content_store(config).versions.iterdir() if not p.name.isdigit()]
        content = load_current(config)  # what the kiosk does at start: recover, then load
        assert content is not None and content.version == before
        assert content.files.announcements.announcements[0].text == ("Nội dung cũ" if before == 1 else "Nội dung mới")
        assert all(p.name.isdigit() for p in content_store(config).versions.iterdir())
        outcomes.append((before, bool(debris)))
    assert {version for version, _ in outcomes} == {1, 2}, outcomes
