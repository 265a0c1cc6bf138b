"""Config loading: defaults, site files merged over them, --set overrides, and one clear line per problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.loader import ConfigError, load_config, parse_override
from config.schema import parse_connection


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_default_config_is_valid_and_embedded():
    config = load_config()
    assert config.printer.kind == "sim" and config.backend.url == "embedded" and config.queue.mode == "local"
    assert config.screen.orientation == "portrait"


def test_site_file_overrides_only_what_it_names(tmp_path):
    config = load_config(write(tmp_path, '[branch]\nname = "UBND Phường Cửa Nam"\n'))
    assert config.branch.name == "UBND Phường Cửa Nam"
    assert config.branch.unit == load_config().branch.unit


@pytest.mark.parametrize(
    ("override", "attr", "expected"),
    [
        ("printer.paper_width_mm=58", ("printer", "paper_width_mm"), 58),
        ("data_dir=kiosk-data-2", ("data_dir",), Path("kiosk-data-2")),
        ("queue.server=http://10.0.0.5:8700", ("queue", "server"), "http://10.0.0.5:8700"),
        ("scanner.connection=serial:/dev/ttyACM0?baudrate=9600", ("scanner", "connection"), "serial:/dev/ttyACM0?baudrate=9600"),
    ],
)
def test_set_overrides_one_key(override, attr, expected):
    config = load_config(None, [override])
    value = config
    for part in attr:
        value = getattr(value, part)
    assert value == expected


def test_set_file_printer_needs_matching_kind():
    config = load_config(None, ["printer.kind=file", "printer.connection=file:out/ticket.bin"])
    assert config.printer.conn.target == "out/ticket.bin"
    with pytest.raises(ConfigError) as err:
        load_config(None, ["printer.connection=file:out/ticket.bin"])
    assert "printer" in err.value.problems[0] and "kind is 'sim'" in err.value.problems[0]


@pytest.mark.parametrize(
    ("text", "expected_fragments"),
    [
        ('[printer]\nkindd = "sim"\n', ["site.toml", "printer.kindd", "unknown key"]),
        ('[printer]\npaper_width_mm = 70\n', ["printer.paper_width_mm", "58"]),
        ('[queue]\nmode = "branch"\n', ["queue", "server"]),
        ('[backend]\nurl = "ftp://x"\n', ["backend.url", "http"]),
        ('[technician]\npin_hash = "1234"\n', ["technician.pin_hash", "never a plain PIN"]),
        ('[session]\nidle_warning_s = 1\n', ["session.idle_warning_s"]),
        ("[printer\n", ["site.toml", "TOML syntax error"]),
        ('[printer]\nkind = "tcp"\nconnection = "tcp:printer"\n', ["HOST:PORT"]),
    ],
)
def test_each_problem_is_one_line_naming_file_and_key(tmp_path, text, expected_fragments):
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    assert len(err.value.problems) == 1
    for fragment in expected_fragments:
        assert fragment in err.value.problems[0]


def test_several_problems_are_all_reported(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, '[kiosk]\nlanguage = "fr"\n[screen]\nwidth = "wide"\n'))
    keys = sorted(line.split(": ")[1] for line in err.value.problems)
    assert keys == ["kiosk.language", "screen.width"]


def test_missing_file_is_reported(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "nope.toml")
    assert err.value.problems == [f"{tmp_path / 'nope.toml'}: file not found"]


@pytest.mark.parametrize("bad", ["printer.kind", "=x", "a..b=1"])
def test_malformed_set_is_rejected(bad):
    with pytest.raises(ConfigError):
        parse_override(bad)


@pytest.mark.parametrize(
    ("text", "scheme", "target", "options"),
    [
        ("sim:", "sim", "", {}),
        ("file:out/t.bin", "file", "out/t.bin", {}),
        ("serial:/dev/ttyUSB0?baudrate=115200&rtscts=1", "serial", "/dev/ttyUSB0", {"baudrate": "115200", "rtscts": "1"}),
        ("tcp:192.168.1.50:9100", "tcp", "192.168.1.50:9100", {}),
        ("usb:0416:5011", "usb", "0416:5011", {}),
    ],
)
def test_connection_strings(text, scheme, target, options):
    conn = parse_connection(text)
    assert (conn.scheme, conn.target, conn.options) == (scheme, target, options)


def test_connection_parts():
    assert parse_connection("tcp:[::1]:9100").host_port == ("::1", 9100)
    assert parse_connection("usb:0416:5011").usb_ids == (0x0416, 0x5011)


@pytest.mark.parametrize("bad", ["lpt:1", "usb:zz:11", "tcp:host", "serial:", "file:", "serial:/dev/x?baudrate=fast"])
def test_bad_connection_strings(bad):
    with pytest.raises(ValueError):
        parse_connection(bad)
