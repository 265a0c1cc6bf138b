"""Why the kiosk collects garbage on the UI thread only (screens/ui_gc.py): the race it closes, met on demand.

The UI thread builds kv widgets that reference each other (as screens' widgets do, so only the cyclic collector
frees them), lets them go, and changes the property their kv rule reads (as the theme reset at the end of every
accessible session does); a worker thread allocates as the printer's and the HTTP clients' threads do. With
CPython's automatic collection, the worker's allocations sometimes collect the UI's widgets: weak references are
cleared before Kivy's callbacks unbind the rules, and a property change in that gap raises ``ReferenceError`` out
of Kivy. With ``collect_on_ui_thread`` it cannot happen. Prints rounds and seconds until the error, per mode.

    python bench/gc_race.py --seconds 20
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import weakref
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")

from kivy.clock import Clock  # noqa: E402
from kivy.event import EventDispatcher  # noqa: E402
from kivy.lang import Builder, global_idmap  # noqa: E402
from kivy.properties import NumericProperty, ObjectProperty  # noqa: E402
from kivy.uix.widget import Widget  # noqa: E402

from screens.ui_gc import collect_anywhere, collect_on_ui_thread  # noqa: E402


class Source(EventDispatcher):
    theme = NumericProperty(0)


class Probe(Widget):
    tint = NumericProperty(0)
    partner = ObjectProperty(None, allownone=True)


SOURCE = Source()
global_idmap["race_source"] = SOURCE
Builder.load_string("<Probe>:\n    tint: race_source.theme * 2\n")


def race(ui_thread_only: bool, seconds: float, widgets_per_round: int = 20) -> dict[str, object]:
    """Rounds until Kivy raised ReferenceError, or all of them within ``seconds`` without it."""
    stop = threading.Event()

    def worker() -> None:  # a worker thread's allocations, cyclic garbage included
        while not stop.is_set():
            for _ in range(200):
                cycle: list = []
                cycle.append(cycle)

    if ui_thread_only:
        collect_on_ui_thread()
    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    started, rounds, error = time.monotonic(), 0, None
    built: weakref.WeakSet = weakref.WeakSet()
    try:
        while time.monotonic() - started < seconds:
            for _ in range(widgets_per_round):
                probe = Probe()
                probe.partner = probe
                built.add(probe)
            del probe
            SOURCE.theme += 1
            Clock.tick()  # the frame: with ui_thread_only, the collection runs here
            rounds += 1
    except ReferenceError as exc:
        error = str(exc)
    finally:
        stop.set()
        thread.join()
        Clock.tick()
        collect_anywhere()
    return {"collection": "UI thread only" if ui_thread_only else "automatic (any thread)", "rounds": rounds,
            "seconds": round(time.monotonic() - started, 2), "reference_error": error,
            "widgets_built": rounds * widgets_per_round, "widgets_alive_at_end": len(built)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="bound of each mode's run")
    args = parser.parse_args(argv)
    results = [race(False, args.seconds), race(True, args.seconds)]
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
