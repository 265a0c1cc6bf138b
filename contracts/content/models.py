"""The files of a content bundle as typed models, and the check of a whole set of files against a kiosk's config.

Every file is optional: a bundle carries what the administrators manage remotely and the kiosk keeps its local
settings for the rest. Problems are :class:`ContentInvalid` with one line naming the file, the key and what is
wrong, e.g. ``services.json: services.0.code: String should match pattern '^[A-Z0-9]{1,8}$'``.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from config.loader import merge
from config.schema import KioskConfig
from config.services import ServiceDef, load_services
from contracts.content.policy import forbidden_key

JSON_FILES = ("announcements.json", "services.json", "ticket.json", "catalogue.json", "theme.json")
CONFIG_FILE = "config.toml"
IMAGE_NAME = re.compile(r"^images/[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}\.(png|jpg|jpeg)$")
_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$"
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")


class ContentInvalid(ValueError):
    """A content file is malformed or breaks the schema; the message is one line."""


def is_content_name(name: str) -> bool:
    """True for the names a bundle may carry besides its manifest and signature."""
    return name in JSON_FILES or name == CONFIG_FILE or bool(IMAGE_NAME.match(name))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Target(_Model):
    """Who a bundle is for: exactly one of ``{"all": true}``, ``{"group": "X"}``, ``{"kiosk": "ID"}``."""

    all: Literal[True] | None = None
    group: str | None = Field(default=None, pattern=_ID)
    kiosk: str | None = Field(default=None, pattern=_ID)

    @model_validator(mode="after")
    def _exactly_one(self) -> Target:
        if sum(value is not None for value in (self.all, self.group, self.kiosk)) != 1:
            raise ValueError('target must be exactly one of {"all": true}, {"group": X}, {"kiosk": ID}')
        return self

    @classmethod
    def parse(cls, text: str) -> Target:
        """``all``, ``group:X`` or ``kiosk:ID`` (the command-line form)."""
        kind, _, value = text.partition(":")
        if text == "all":
            return cls(all=True)
        if kind in ("group", "kiosk") and value:
            return cls.model_validate({kind: value})
        raise ValueError(f"target {text!r} must be all, group:NAME or kiosk:ID")

    def matches(self, kiosk_id: str, group: str | None) -> bool:
        return bool(self.all) or self.kiosk == kiosk_id or (self.group is not None and self.group == group)

    def __str__(self) -> str:
        if self.all:
            return "all kiosks"
        return f"group {self.group}" if self.group else f"kiosk {self.kiosk}"


class FileEntry(_Model):
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)


class Manifest(_Model):
    """``manifest.json``: signed as a whole, so everything the kiosk trusts about the bundle is in here."""

    format: Literal[1] = 1
    version: int = Field(ge=1, le=2**53)
    target: Target
    created: AwareDatetime
    expires: AwareDatetime  # kiosks refuse the bundle from then on, so an old signed bundle cannot be replayed
    signer: str = Field(pattern=r"^[A-Za-z0-9+/]{43}=$")
    files: dict[str, FileEntry]

    @model_validator(mode="after")
    def _expires_after_created(self) -> Manifest:
        if self.expires <= self.created:
            raise ValueError("expires must be after created")
        return self

    @field_validator("files")
    @classmethod
    def _known_names(cls, files: dict[str, FileEntry]) -> dict[str, FileEntry]:
        for name in files:
            if not is_content_name(name):
                raise ValueError(f"{name!r} is not a content file (see kiosk/content/__init__.py)")
        return files


class TimedAnnouncement(_Model):
    text: str = Field(min_length=1, max_length=500)
    text_en: str = Field(default="", max_length=500)
    image: str | None = Field(default=None, pattern=IMAGE_NAME.pattern)
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> TimedAnnouncement:
        if self.start and self.end and self.end <= self.start:
            raise ValueError("end must be after start")
        return self

    def shown_at(self, moment: datetime) -> bool:
        return (self.start is None or self.start <= moment) and (self.end is None or moment < self.end)


class Announcements(_Model):
    announcements: list[TimedAnnouncement] = Field(max_length=50)

    def shown_at(self, moment: datetime) -> list[TimedAnnouncement]:
        return [item for item in self.announcements if item.shown_at(moment)]


class Services(_Model):
    """Services with their counters and opening hours, in the same form as ``[[queue.services]]``."""

    services: list[ServiceDef] = Field(min_length=1)

    @field_validator("services")
    @classmethod
    def _unique_codes(cls, services: list[ServiceDef]) -> list[ServiceDef]:
        return load_services(services)


TicketLine = Annotated[str, StringConstraints(max_length=48, pattern=r"^[^\n]*$")]


class TicketText(_Model):
    """Extra lines printed above and below the ticket (48 characters fit an 80 mm roll in the small font)."""

    header: list[TicketLine] = Field(default=[], max_length=4)
    footer: list[TicketLine] = Field(default=[], max_length=4)


ProcedureId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")]


class Catalogue(_Model):
    """The procedures this kiosk offers, by id in the backend's catalogue."""

    procedures: list[ProcedureId] = Field(min_length=1, max_length=5000)

    @field_validator("procedures")
    @classmethod
    def _no_repeats(cls, ids: list[str]) -> list[str]:
        if len(ids) != len(set(ids)):
            raise ValueError("procedure ids must not repeat")
        return ids


Colour = Annotated[str, StringConstraints(pattern=r"^#[0-9A-Fa-f]{6}$")]


class ThemeTweaks(_Model):
    """Colour roles of the standard theme a centre may brand, and an optional logo from the bundle."""

    primary: Colour | None = None
    accent: Colour | None = None
    ticker_bg: Colour | None = None
    ticker_text: Colour | None = None
    logo: str | None = Field(default=None, pattern=IMAGE_NAME.pattern)


_MODELS: dict[str, type[_Model]] = {
    "announcements.json": Announcements, "services.json": Services, "ticket.json": TicketText,
    "catalogue.json": Catalogue, "theme.json": ThemeTweaks,
}


@dataclass(frozen=True)
class ContentFiles:
    """A checked set of content files; ``config`` is the kiosk's config with the bundle's overrides applied."""

    config: KioskConfig
    announcements: Announcements | None = None
    services: Services | None = None
    ticket: TicketText | None = None
    catalogue: Catalogue | None = None
    theme: ThemeTweaks | None = None
    config_overrides: dict[str, Any] = field(default_factory=dict)
    images: tuple[str, ...] = ()


def _one_line(name: str, exc: ValidationError) -> str:
    errors = exc.errors()
    first = errors[0]
    key = ".".join(str(part) for part in first["loc"]) or "(top level)"
    message = "unknown key (misspelt?)" if first["type"] == "extra_forbidden" else \
        first["msg"].removeprefix("Value error, ")
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{name}: {key}: {message}{more}"


def _json_object(name: str, data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ContentInvalid(f"{name}: invalid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ContentInvalid(f"{name}: must be a JSON object")
    return value


def read_config_overrides(data: bytes) -> dict[str, Any]:
    """A bundle's ``config.toml`` as a table; refused if it sets a key outside the allow-list (:mod:`.policy`)."""
    try:
        overrides = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ContentInvalid(f"{CONFIG_FILE}: TOML syntax error: {exc}") from None
    key = forbidden_key(overrides)
    if key is not None:
        raise ContentInvalid(f"{CONFIG_FILE} may not set {key} (only the kiosk's local config may)")
    return overrides


def apply_config_overrides(config: KioskConfig, data: bytes) -> tuple[KioskConfig, dict[str, Any]]:
    """Validate ``config.toml`` from a bundle as the local config is validated; returns (effective, overrides)."""
    overrides = read_config_overrides(data)
    try:
        effective = KioskConfig.model_validate(merge(config.model_dump(), overrides))
    except ValidationError as exc:
        raise ContentInvalid(_one_line(CONFIG_FILE, exc)) from None
    return effective, overrides


def _check_image(name: str, data: bytes) -> None:
    if not data.startswith(_IMAGE_MAGIC):
        raise ContentInvalid(f"{name}: not a PNG or JPEG image")


def parse_content(files: Mapping[str, bytes], config: KioskConfig) -> ContentFiles:
    """Check every content file in ``files`` (name → bytes) and the images they refer to.

    :raises ContentInvalid: the first problem, as one line.
    """
    parsed: dict[str, Any] = {}
    for name, model in _MODELS.items():
        if name in files:
            try:
                parsed[name] = model.model_validate(_json_object(name, files[name]))
            except ValidationError as exc:
                raise ContentInvalid(_one_line(name, exc)) from None
    images = tuple(sorted(name for name in files if IMAGE_NAME.match(name)))
    for name in images:
        _check_image(name, files[name])
    referenced = [("theme.json", parsed["theme.json"].logo)] if "theme.json" in parsed else []
    if "announcements.json" in parsed:
        referenced += [("announcements.json", item.image) for item in parsed["announcements.json"].announcements]
    for source, image in referenced:
        if image is not None and image not in images:
            raise ContentInvalid(f"{source}: image {image} is not in the bundle")
    effective, overrides = apply_config_overrides(config, files[CONFIG_FILE]) if CONFIG_FILE in files \
        else (config, {})
    return ContentFiles(
        config=effective, announcements=parsed.get("announcements.json"), services=parsed.get("services.json"),
        ticket=parsed.get("ticket.json"), catalogue=parsed.get("catalogue.json"), theme=parsed.get("theme.json"),
        config_overrides=overrides, images=images,
    )
