"""Device setup logic behind the maintenance screen and ``devices status``/``test-scan``: real files, sockets, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from backend.server import free_port
from config.loader import ConfigError, load_config
from devices.errors import DeviceNotFound
from devices.escpos.render import render
from devices.escpos.sample import sample_ticket
from devices.payloads import parse_payload
from devices.sim.escpos_device import TcpPrinterSimulator
from devices.sim.printer import SimPrinter
from devices.sim.scanner import SimScanner, send_payload
from kiosk.device_setup import (
    Choice,
    Detected,
    DeviceDraft,
    DeviceSetup,
    cameras,
    detected_cameras,
    probe_scanner,
    save_device_sections,
    scan_summary,
    site_config_path,
    split_baud,
    usb_printers,
    with_baud,
)
from kiosk.i18n import tr
from kiosk.printing import PrintQueue
from kiosk.tickets import printer_profile
from kiosk.view_models.technician import cameras_text
from kiosk.workers import SingleFlight
from tests.camera_video import code_frame, write_video
from tests.support import ROOT, eventually

SITE = '''# Hoàn Kiếm kiosk 1 — installed 2025-11-20
data_dir = "/var/lib/kiosk"

[kiosk]
id = "HN-HK-07"   # printed on tickets

[printer]
kind = "sim"
connection = "sim:"
'''


def usb_device(sysfs: Path, name: str, vid: str, pid: str, product: str, interface_class: str) -> None:
    device = sysfs / name
    device.mkdir(parents=True)
    for key, value in (("idVendor", vid), ("idProduct", pid), ("manufacturer", "Xprinter"), ("product", product)):
        (device / key).write_text(value + "\n")
    interface = sysfs / f"{name}:1.0"
    interface.mkdir()
    (interface / "bInterfaceClass").write_text(interface_class + "\n")


def test_usb_printers_are_the_devices_with_a_printer_class_interface(tmp_path):
    usb_device(tmp_path, "1-1", "0416", "5011", "XP-80C", "07")
    usb_device(tmp_path, "1-2", "0c2e", "0b61", "Honeywell scanner", "03")
    (tmp_path / "usb1").mkdir()  # a root hub without ids
    [printer] = usb_printers(tmp_path)
    assert printer.connection == "usb:0416:5011" and "XP-80C" in printer.label


@pytest.mark.parametrize(("connection", "base", "baud"), [
    ("serial:/dev/ttyUSB0?baudrate=115200&rtscts=1", "serial:/dev/ttyUSB0?rtscts=1", 115200),
    ("serial:/dev/ttyACM0", "serial:/dev/ttyACM0", 9600),
    ("tcp:192.168.1.50:9100", "tcp:192.168.1.50:9100", 9600),
])
def test_baud_rate_is_split_off_and_put_back(connection, base, baud):
    assert split_baud(connection) == (base, baud)
    assert with_baud(base, 19200) == (base if not base.startswith("serial:") else
                                      base + ("&" if "?" in base else "?") + "baudrate=19200")


def test_site_config_is_the_config_flag_or_site_toml_in_the_data_dir(kiosk_config, tmp_path):
    assert site_config_path(kiosk_config, tmp_path / "hk07.toml") == tmp_path / "hk07.toml"
    assert site_config_path(kiosk_config, None) == kiosk_config.data_dir / "site.toml"


def test_save_keeps_comments_and_other_keys_backs_up_and_validates(tmp_path):
    site = tmp_path / "site.toml"
    site.write_text(SITE, encoding="utf-8")
    draft = DeviceDraft("serial:/dev/ttyUSB0?rtscts=1", 115200, "xprinter-xp58", 58, "hid:0c2e:0b61", 9600)
    saved = save_device_sections(site, draft.sections())
    assert saved.printer.connection == "serial:/dev/ttyUSB0?rtscts=1&baudrate=115200" and saved.printer.kind == "serial"
    assert saved.scanner.kind == "hid" and saved.kiosk.id == "HN-HK-07"
    text = site.read_text(encoding="utf-8")
    assert "# Hoàn Kiếm kiosk 1" in text and "# printed on tickets" in text
    assert site.with_name("site.toml.bak").read_text(encoding="utf-8") == SITE
    assert load_config(site) == saved
    assert not site.with_name("site.toml.tmp").exists()


def test_first_save_creates_the_site_file_without_a_backup(tmp_path):
    site = tmp_path / "data" / "site.toml"
    save_device_sections(site, DeviceDraft("sim:", 9600, "generic-58", 58, "sim:127.0.0.1:8765", 9600).sections())
    assert load_config(site).printer.paper_width_mm == 58
    assert not site.with_name("site.toml.bak").exists()


@pytest.mark.parametrize(("existing", "problem"), [
    (SITE + "\n[printer.extra]\ncolour = 1\n", "site.toml: printer.extra: unknown key"),
    (SITE + "\n[printer\n", "cannot read the site config"),
])
def test_a_save_that_would_not_load_leaves_the_site_file_untouched(tmp_path, existing, problem):
    site = tmp_path / "site.toml"
    site.write_text(existing, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        save_device_sections(site, DeviceDraft("sim:", 9600, "generic-80", 80, "sim:127.0.0.1:8765",
                                               9600).sections())
    assert problem in caught.value.problems[0] and ".tmp" not in caught.value.problems[0]
    assert site.read_text(encoding="utf-8") == existing
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site.toml"]


def test_a_site_file_the_kiosk_cannot_write_is_a_clear_refusal():
    site = Path("/proc/self/kiosk/site.toml")  # like /etc under systemd's ProtectSystem=strict: not writable
    with pytest.raises(ConfigError, match="cannot write: .*needs write access to /proc/self/kiosk"):
        save_device_sections(site, DeviceDraft("sim:", 9600, "generic-80", 80, "sim:127.0.0.1:8765", 9600).sections())


@pytest.fixture
def live(kiosk_config):
    """The kiosk's own (simulated) printer behind its print queue."""
    printer = SimPrinter(kiosk_config.spool_dir)
    queue = PrintQueue(printer)
    yield printer, queue
    queue.close()


def test_a_bad_draft_is_refused_before_the_file_is_touched(kiosk_config, tmp_path, live):
    setup = DeviceSetup(kiosk_config, tmp_path / "site.toml", live[1])
    setup.change(printer="tcp:printer-without-port")
    with pytest.raises(ConfigError, match="printer: expected HOST:PORT"):
        setup.save()
    assert not (tmp_path / "site.toml").exists()


def outcome_of(setup: DeviceSetup):
    done = threading.Event()
    result: list = []
    setup.test_print(lambda error: (result.append(error), done.set()))
    assert done.wait(10)
    return result[0]


def test_test_print_reaches_the_drafted_network_printer_and_reports_a_dead_one(kiosk_config, tmp_path, live):
    setup = DeviceSetup(kiosk_config, tmp_path / "site.toml", live[1])
    sim = TcpPrinterSimulator()
    try:
        setup.change(printer=f"tcp:127.0.0.1:{sim.port}", paper_width_mm=58, profile="xprinter-xp58")
        assert outcome_of(setup) is None
        expected = render(sample_ticket(), printer_profile(setup.draft.applied_to(kiosk_config)))  # 58 mm, no cutter
        eventually(lambda: len(sim.core.received) >= len(expected), message="the whole sample ticket arrived")
        assert bytes(sim.core.received) == expected
    finally:
        sim.stop()
    setup.change(printer="tcp:127.0.0.1:1")
    assert isinstance(outcome_of(setup), DeviceNotFound)
    assert live[0].jobs() == []  # the kiosk's own printer was never used


def test_test_print_of_the_printer_in_use_goes_through_the_live_queue(kiosk_config, tmp_path, live):
    setup = DeviceSetup(kiosk_config, tmp_path / "site.toml", live[1])
    assert outcome_of(setup) is None
    assert len(live[0].jobs()) == 1


def test_status_queries_run_one_at_a_time():
    release, shown = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow_read() -> None:
        calls.append(1)
        release.wait(2)
        shown.set()

    status = SingleFlight("device-status")
    assert status.start(slow_read)
    assert not status.start(slow_read)  # a tick while the dead printer is still being asked: skipped
    release.set()
    assert shown.wait(2) and calls == [1]


def test_scan_summary_lists_the_parsed_fields():
    summary = scan_summary({"kind": "vietqr", "bank_bin": "970436", "amount": 50000, "crc_ok": True})
    assert summary.splitlines() == ["kind: vietqr", "bank_bin: 970436", "amount: 50000", "crc_ok: true"]


def with_scanner(config, connection: str):
    return load_config(None, [f"data_dir={config.data_dir}", f"scanner.connection={connection}",
                              f"scanner.kind={connection.partition(':')[0]}"])


def test_probe_scanner_for_each_kind(kiosk_config):
    sim = SimScanner("127.0.0.1", 0)
    sim.start(lambda _payload: None)
    host, port = sim.address
    try:
        assert probe_scanner(with_scanner(kiosk_config, f"sim:{host}:{port}")) == "listening"
    finally:
        sim.stop()
    assert probe_scanner(with_scanner(kiosk_config, f"sim:{host}:{port}")) == "offline"
    assert probe_scanner(with_scanner(kiosk_config, "serial:loop://")) == "ok"
    assert probe_scanner(with_scanner(kiosk_config, "serial:/dev/ttyUSB-missing")) == "not_found"


def main_py(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def test_devices_status_json_reports_both_devices_and_exits_1_when_one_is_not_ready(tmp_path):
    printer = TcpPrinterSimulator()
    scanner = SimScanner("127.0.0.1", 0)
    scanner.start(lambda _payload: None)
    host, port = scanner.address
    common = ["devices", "status", "--json", "--set", f"data_dir={tmp_path}", "--set", "printer.kind=tcp",
              "--set", f"printer.connection=tcp:127.0.0.1:{printer.port}",
              "--set", f"scanner.connection=sim:{host}:{port}"]
    try:
        ready = main_py(*common)
        printer.core.state = "paper_out"
        paper_out = main_py(*common)
    finally:
        printer.stop()
        scanner.stop()
    assert ready.returncode == 0, ready.stderr
    report = json.loads(ready.stdout)
    assert report["printer"]["status"] == "ok" and report["scanner"]["status"] == "listening" and report["ok"]
    assert paper_out.returncode == 1 and json.loads(paper_out.stdout)["printer"]["status"] == "paper_out"


def test_devices_test_scan_with_another_scanner_prints_the_parsed_scan(tmp_path):
    port = free_port()
    run = subprocess.Popen([sys.executable, "main.py", "devices", "test-scan", "--set", f"data_dir={tmp_path}",
                            "--scanner", f"sim:127.0.0.1:{port}", "--timeout", "20"],
                           cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def scanned() -> bool:
            assert run.poll() is None, "test-scan ended before it listened"
            try:
                send_payload("127.0.0.1", port, b"BK-251120-DEMO01\r\n")
            except OSError:  # not listening yet
                return False
            return True

        eventually(scanned, message="test-scan listening")
        out, err = run.communicate(timeout=20)
    finally:
        run.kill()
    assert run.returncode == 0, err
    assert json.loads(out) == {"kind": "booking", "code": "BK-251120-DEMO01"}


def test_devices_test_scan_rejects_a_malformed_scanner(tmp_path):
    refused = main_py("devices", "test-scan", "--set", f"data_dir={tmp_path}", "--scanner", "hid:keyboard")
    assert refused.returncode == 2 and "hid: needs an input device" in refused.stderr


# -- cameras -----------------------------------------------------------------------------------------------------------
DOSSIER = "000.00.13.H26-251120-0001"
CCCD = "001190012345|123456789|Lê Thị Hoa|12051990|Nữ|Số 5 Hàng Gai, Hoàn Kiếm, Hà Nội|15062021"


def test_a_scanned_cccd_shows_the_technician_its_kind_and_validity_but_no_personal_data():
    summary = scan_summary(parse_payload(CCCD.encode()))
    assert summary.splitlines() == ["kind: cccd", "id: •••••••••345", "valid: true"]
    refused = scan_summary(parse_payload(CCCD.replace("Nữ", "Nu").encode()))
    assert "valid: false" in refused and "problems:" in refused
    for personal in ("Lê Thị Hoa", "001190012345", "1990", "Hàng Gai", "Nữ"):
        assert personal not in summary and personal not in refused


def test_camera_detection_lists_only_cameras_that_deliver_frames(tmp_path):
    (tmp_path / "video0").write_bytes(b"")  # a device node that is no camera (like a V4L2 metadata node)
    assert cameras([str(tmp_path / "video0"), str(tmp_path / "video9")]) == []
    found = Detected([], [Choice("sim:127.0.0.1:8765", "sim"), Choice("camera:/dev/video0", "camera:/dev/video0 · camera"),
                          Choice("camera:/dev/video2", "camera:/dev/video2 · camera")])
    assert detected_cameras(found) == ["camera:/dev/video0", "camera:/dev/video2"]
    assert cameras_text(found, "vi") == "Camera: camera:/dev/video0, camera:/dev/video2"
    assert cameras_text(Detected([], []), "vi") == tr("maint.no_cameras", "vi")
    assert cameras_text(Detected([], []), "en") == "Cameras: none found (/dev/video*)"


def test_probe_scanner_opens_a_camera_and_reads_a_frame(kiosk_config, tmp_path):
    video = write_video(tmp_path / "camera.avi", [code_frame(None)] * 3)
    assert probe_scanner(with_scanner(kiosk_config, f"camera:file:{video}")) == "ok"
    assert probe_scanner(with_scanner(kiosk_config, f"camera:file:{tmp_path / 'gone.avi'}")) == "not_found"
    assert probe_scanner(with_scanner(kiosk_config, "camera:/dev/video-missing")) == "not_found"
    assert probe_scanner(with_scanner(kiosk_config, "camera:somewhere")) == "unsupported"


def test_devices_status_and_test_scan_open_a_camera(tmp_path):
    video = write_video(tmp_path / "camera.avi", [code_frame(None)] * 5 + [code_frame(DOSSIER)] * 5)
    camera = ["--set", f"data_dir={tmp_path}", "--set", f"scanner.connection=camera:file:{video}"]
    status = main_py("devices", "status", "--json", *camera)
    assert json.loads(status.stdout)["scanner"] == {"connection": f"camera:file:{video}", "kind": "camera",
                                                    "status": "ok"}
    scanned = main_py("devices", "test-scan", "--set", f"data_dir={tmp_path}", "--scanner", f"camera:file:{video}",
                      "--timeout", "20")
    assert scanned.returncode == 0, scanned.stderr
    assert json.loads(scanned.stdout) == {"kind": "dossier", "code": DOSSIER}
    listed = main_py("devices", "list", *camera)
    assert listed.returncode == 0 and "cameras (V4L2, delivering frames):" in listed.stdout
