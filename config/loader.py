"""Load TOML config files into a validated :class:`~config.schema.KioskConfig`.

Layers, later wins: ``config/default.toml`` → the site file given with ``--config`` → ``--set KEY=VALUE``
overrides (all of them one layer). A layer that sets a device's connection without its kind also replaces the
kind an earlier layer gave, so the kind follows the connection (see :mod:`config.schema`). Problems come back
as :class:`ConfigError` holding one line per problem, each naming the file, the dotted key and what is wrong, so
an operator can fix a kiosk over SSH without reading a traceback.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from config.schema import KioskConfig

DEFAULT_PATH = Path(__file__).with_name("default.toml")
DEVICE_SECTIONS = ("printer", "scanner")  # tables whose kind follows their connection


class ConfigError(Exception):
    """The configuration cannot be used; ``problems`` are ready-to-print lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def read_toml(path: Path) -> dict[str, Any]:
    """Read one TOML file, turning I/O and syntax errors into a one-line :class:`ConfigError`."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read: {exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: TOML syntax error: {exc}"]) from None


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge tables; lists and scalars in ``override`` replace those in ``base``."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def merge_layer(base: Mapping[str, Any], layer: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`merge` one layer; a device whose connection the layer sets without a kind forgets its old kind."""
    for section in DEVICE_SECTIONS:
        table, inherited = layer.get(section), base.get(section)
        if isinstance(table, Mapping) and "connection" in table and "kind" not in table and isinstance(
                inherited, Mapping):
            base = {**base, section: {key: value for key, value in inherited.items() if key != "kind"}}
    return merge(base, layer)


def parse_override(item: str) -> dict[str, Any]:
    """Turn ``printer.paper_width_mm=58`` into ``{"printer": {"paper_width_mm": 58}}``.

    The value is read as a TOML value when it is one (numbers, booleans, quoted strings) and as a plain string
    otherwise, so ``--set printer.connection=file:out/t.bin`` needs no quoting.
    """
    key, sep, raw = item.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise ConfigError([f"--set {item}: expected KEY=VALUE with a dotted key, e.g. printer.kind=file"])
    try:
        value: Any = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    for part in reversed(key.split(".")):
        value = {part: value}
    return value


def _problem_lines(exc: ValidationError, source: str) -> list[str]:
    lines = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "(top level)"
        if error["type"] == "extra_forbidden":
            message = "unknown key (misspelt?)"
        else:
            message = error["msg"].removeprefix("Value error, ")
        lines.append(f"{source}: {key}: {message}")
    return lines


def load_config(path: Path | None = None, overrides: Iterable[str] = ()) -> KioskConfig:
    """Build the effective configuration or raise :class:`ConfigError` listing every problem."""
    data = read_toml(DEFAULT_PATH)
    source = str(path) if path else str(DEFAULT_PATH)
    if path is not None:
        data = merge_layer(data, read_toml(path))
    override_list = list(overrides)
    if override_list:
        layer: dict[str, Any] = {}
        for item in override_list:
            layer = merge(layer, parse_override(item))
        data = merge_layer(data, layer)
        source += " (with --set)"
    try:
        return KioskConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_problem_lines(exc, source)) from None
