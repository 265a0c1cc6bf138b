"""Start the kiosk at one window size in this process, check the home screen's geometry, save a screenshot.

Kivy cannot re-create its offscreen GL surface at another size within one process, so each size runs in its own
process: ``python -m tests.ui.snapshot WIDTHxHEIGHT OUT.png DATA_DIR``. Prints one JSON line with the geometry.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> int:
    size, out, data = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    width, height = (int(v) for v in size.split("x"))
    from config.loader import load_config
    from screens.kivy_env import prepare_kivy

    config = load_config(None, [f"data_dir={data}", f"screen.width={width}", f"screen.height={height}",
                                "screen.fullscreen=false", "scanner.connection=sim:127.0.0.1:0"])
    prepare_kivy(data / "kivy", width=width, height=height, fullscreen=False)
    from kivy.base import EventLoop
    from kivy.core.window import Window

    from kiosk.cli.embedded import open_backend
    from kiosk.core import KioskCore
    from screens.app import KioskApp

    app = KioskApp(KioskCore(config, backend=open_backend))
    app._run_prepare()
    for _ in range(6):
        EventLoop.idle()
    boxes = {}
    for name in ("queue", "lookup", "submit", "survey", "language"):
        widget = app.manager.current_screen.ids[name]
        x, y = widget.to_window(widget.x, widget.y)
        boxes[name] = [x, y, widget.width, widget.height]
    written = Path(Window.screenshot(name=str(out.with_name(out.stem + "-.png"))))
    written.replace(out)
    print(json.dumps({"window": list(Window.size), "boxes": boxes}))
    app.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
