"""The configuration as technicians may see it: secrets replaced, paths as text.

Used by ``config show`` and the maintenance screen, which a passer-by could photograph over a shoulder.
"""

from __future__ import annotations

from typing import Any

from config.schema import KioskConfig

SECRET_KEYS = frozenset({"pin_hash", "token", "password", "secret"})
MASK = "••••••"


def _mask(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (MASK if k in SECRET_KEYS and v else _mask(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    return value


def masked_config(config: KioskConfig) -> dict[str, Any]:
    return _mask(config.model_dump(mode="json"))


def flat_lines(data: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """``{"printer": {"kind": "sim"}}`` → ``[("printer.kind", "sim")]`` for a two-column display."""
    lines: list[tuple[str, str]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            lines.extend(flat_lines(value, f"{name}."))
        else:
            lines.append((name, str(value)))
    return lines
