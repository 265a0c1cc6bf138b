"""A fatal error in the UI loop: a calm "Kiosk đang khởi động lại" screen, never a stack trace, then a restart.

Kivy hands an exception that escapes a frame to its ExceptionManager. This handler logs it (the kiosk log scrubs
personal data), covers the window with the restart message in both languages, ends any citizen session (wiping
its data) and stops the app with a non-zero exit status after :data:`RESTART_AFTER_S`, so systemd
(``Restart=always``) starts a fresh kiosk. A second error while the message shows changes nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from kivy.base import ExceptionHandler, ExceptionManager
from kivy.clock import Clock
from kivy.core.text import Label as CoreLabel
from kivy.core.window import Window
from kivy.graphics import Color, Rectangle
from kivy.uix.widget import Widget

from kiosk.i18n import tr

log = logging.getLogger(__name__)
RESTART_AFTER_S = 3.0
EXIT_STATUS = 70  # EX_SOFTWARE: systemd restarts the unit; the journal shows it was not a clean stop



class RestartOnFatal(ExceptionHandler):
    def __init__(self, app: Any) -> None:
        super().__init__()
        self._app = app
        self.failed = False

    def handle_exception(self, exception: BaseException) -> int:
        if isinstance(exception, (KeyboardInterrupt, SystemExit)):
            return ExceptionManager.RAISE
        if not self.failed:
            self.failed = True
            log.error("fatal error in the UI, restarting", exc_info=exception)
            Clock.schedule_once(lambda _dt: self._app.stop_with(EXIT_STATUS), RESTART_AFTER_S)
            try:
                self._cover()
            except Exception:  # noqa: BLE001 — the restart must happen whatever state the UI is in
                log.exception("showing the restart screen failed")
        else:
            log.warning("another error while restarting: %s", exception, exc_info=exception)
        return ExceptionManager.PASS

    def _cover(self) -> None:
        """Draw the message with plain canvas instructions and synchronous textures, then draw one frame now.

        After an error out of the clock's frame work Kivy's deferred machinery (kv bindings, layout and texture
        triggers) cannot be trusted, so nothing here depends on it.
        """
        width, height = Window.size
        unit = self._app.u
        cover = Widget(size=(width, height))
        with cover.canvas:
            Color(*self._app.theme.primary_dark)
            Rectangle(pos=(0, 0), size=(width, height))
            y = height * 0.55
            for lang, size, font in (("vi", 72, self._app.font_bold), ("en", 40, self._app.font_regular)):
                text = CoreLabel(text=tr("fatal.restarting", lang), font_size=unit * size, font_name=font,
                                 text_size=(width * 0.85, None), halign="center")
                text.refresh()
                Color(*self._app.theme.on_fill)
                Rectangle(texture=text.texture, size=text.texture.size,
                          pos=((width - text.texture.width) / 2, y))
                y -= text.texture.height + unit * 60
        Window.add_widget(cover)
        Window.dispatch("on_draw")
        Window.dispatch("on_flip")
        self._app.core.end_session()  # a half-finished form does not outlive the crash, even in memory


def install(app: Any) -> RestartOnFatal:
    """Called by the kiosk runner (not by tests driving the app, where an error must fail the test)."""
    handler = RestartOnFatal(app)
    ExceptionManager.add_handler(handler)
    return handler
