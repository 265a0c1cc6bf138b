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


def test_set_file_printer_alone_makes_a_file_printer():
    config = load_config(None, ["printer.connection=file:out/ticket.bin"])
    assert config.printer.kind == "file" and config.printer.conn.target == "out/ticket.bin"
    config = load_config(None, ["printer.kind=file", "printer.connection=file:out/ticket.bin"])
    assert config.printer.kind == "file" and config.printer.conn.target == "out/ticket.bin"


@pytest.mark.parametrize(
    ("section", "connection", "kind"),
    [
        ("printer", "tcp:192.168.1.50:9100", "tcp"),
        ("printer", "serial:/dev/ttyUSB0?baudrate=115200", "serial"),
        ("printer", "usb:0416:5011", "usb"),
        ("printer", "sim:?fault=paper_out", "sim"),
        ("scanner", "serial:/dev/ttyACM0?baudrate=9600", "serial"),
        ("scanner", "hid:0c2e:0b61", "hid"),
        ("scanner", "camera:/dev/video0", "camera"),
        ("scanner", "sim:127.0.0.1:0", "sim"),
    ],
)
def test_a_device_kind_follows_its_connection_scheme(section, connection, kind):
    assert getattr(load_config(None, [f"{section}.connection={connection}"]), section).kind == kind


def test_set_connection_replaces_the_kind_a_site_file_gave(tmp_path):
    site = write(tmp_path, '[printer]\nkind = "tcp"\nconnection = "tcp:10.0.0.5:9100"\n'
                           '[scanner]\nkind = "serial"\nconnection = "serial:/dev/ttyACM0"\n')
    assert load_config(site).printer.kind == "tcp"
    config = load_config(site, ["printer.connection=file:out/ticket.bin", "scanner.connection=hid:0c2e:0b61"])
    assert (config.printer.kind, config.scanner.kind) == ("file", "hid")


def test_a_site_file_with_only_a_connection_gets_its_kind(tmp_path):
    config = load_config(write(tmp_path, '[printer]\nconnection = "usb:0416:5011"\n'))
    assert config.printer.kind == "usb"


@pytest.mark.parametrize(
    ("text", "overrides", "kind", "connection"),
    [
        ('[printer]\nkind = "file"\nconnection = "sim:"\n', [], "'file'", "'sim:'"),
        ("", ["printer.kind=serial", "printer.connection=tcp:10.0.0.5:9100"], "'serial'", "'tcp:10.0.0.5:9100'"),
        ("", ["printer.kind=file"], "'file'", "'sim:'"),
    ],
    ids=["in one file", "in one --set", "a kind against the inherited connection"],
)
def test_a_kind_that_contradicts_the_connection_is_one_sentence_naming_both_keys(tmp_path, text, overrides, kind,
                                                                                  connection):
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text), overrides)
    [problem] = err.value.problems
    assert problem.startswith(f"{tmp_path / 'site.toml'}")
    assert f"printer.kind is {kind}" in problem and f"printer.connection {connection}" in problem
    assert problem.endswith(".") and "remove printer.kind" in problem


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("printer.connection=hid:0c2e:0b61", "is not a printer connection; a printer takes sim:, file:PATH"),
        ("scanner.connection=tcp:10.0.0.5:9100", "is not a scanner connection; a scanner takes sim:HOST:PORT"),
        ("printer.connection=lpt:1", "is not a printer connection"),
        ("scanner.connection=sim:", "sim:HOST:PORT"),
    ],
)
def test_a_connection_another_device_takes_is_refused_with_the_forms_this_one_takes(override, fragment):
    with pytest.raises(ConfigError) as err:
        load_config(None, [override])
    [problem] = err.value.problems
    assert f"{override.partition('=')[0]}: " in problem and fragment in problem


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
