"""The procedure catalogue as citizens look for it: by life event, by field, or by typing a few words.

Search ignores accents and case ("khai sinh", "KHAI SINH", "khai sinh" typed without tones all find "Đăng ký khai
sinh") and needs every typed word to appear in the name, the field or the English name. The catalogue comes from
the backend and is cached on disk, so a kiosk that starts offline can still take dossiers into its outbox.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts.text import fold


@dataclass(frozen=True)
class LifeEvent:
    key: str
    name_vi: str
    name_en: str
    procedure_ids: tuple[str, ...]

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_vi


class Catalogue:
    def __init__(self, data: dict[str, Any]) -> None:
        self._procedures: dict[str, dict[str, Any]] = {p["id"]: p for p in data.get("procedures", [])}
        self.life_events = [LifeEvent(key, event["name_vi"], event["name_en"], tuple(event["procedures"]))
                            for key, event in data.get("life_events", {}).items()]
        self._index = {pid: fold(" ".join([p["name_vi"], p["name_en"], p.get("field", ""), pid]))
                       for pid, p in self._procedures.items()}

    def only(self, offered: set[str]) -> Catalogue:
        """The subset a content bundle says this kiosk offers (life events keep their offered procedures)."""
        events = {e.key: {"name_vi": e.name_vi, "name_en": e.name_en,
                          "procedures": [pid for pid in e.procedure_ids if pid in offered]}
                  for e in self.life_events}
        return Catalogue({"procedures": [p for pid, p in self._procedures.items() if pid in offered],
                          "life_events": {key: e for key, e in events.items() if e["procedures"]}})

    def __len__(self) -> int:
        return len(self._procedures)

    def __contains__(self, proc_id: object) -> bool:
        return proc_id in self._procedures

    def get(self, proc_id: str) -> dict[str, Any]:
        return self._procedures[proc_id]

    def fields(self) -> list[str]:
        """Fields ("Hộ tịch", "Cư trú", …) in catalogue order."""
        return list(dict.fromkeys(p.get("field", "") for p in self._procedures.values()))

    def in_field(self, field: str) -> list[dict[str, Any]]:
        return [p for p in self._procedures.values() if p.get("field") == field]

    def for_event(self, key: str) -> list[dict[str, Any]]:
        event = next(e for e in self.life_events if e.key == key)
        return [self._procedures[pid] for pid in event.procedure_ids if pid in self._procedures]

    def search(self, query: str, limit: int = 20) -> list[dict[str, Any]]:
        """Procedures with a word starting with each typed word; the typed phrase as a whole ranks first.

        "chung thuc" finds the three "Chứng thực …" procedures before "Cấp giấy chứng nhận … thực phẩm".
        """
        phrase = fold(query)
        words = phrase.split()
        if not words:
            return []
        hits = [pid for pid, text in self._index.items()
                if all(any(token.startswith(w) for token in text.split()) for w in words)]
        hits.sort(key=lambda pid: (phrase not in self._index[pid], not self._procedures[pid]["kiosk"],
                                   self._procedures[pid]["name_vi"]))
        return [self._procedures[pid] for pid in hits[:limit]]


def load_catalogue(fetch: Any, cache: Path) -> Catalogue | None:
    """The backend's catalogue (refreshing the cache), else the cached copy, else None.

    ``fetch`` is ``BackendClient.procedures`` or None when no backend is connected; any error falls back.
    """
    if fetch is not None:
        try:
            data = fetch()
        except Exception:  # noqa: BLE001 — offline or a bad answer: the cached catalogue is still right enough
            data = None
        if isinstance(data, dict) and data.get("procedures"):
            cache.parent.mkdir(parents=True, exist_ok=True)
            temp = cache.with_suffix(".tmp")
            temp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            os.replace(temp, cache)  # never a half-written cache after a power cut
            return Catalogue(data)
    try:
        return Catalogue(json.loads(cache.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None
