"""The kiosk draws what shows, once: no stencil clipping, one screen per frame, no hidden overlay, clipped lists.

Without a GPU every pixel drawn costs CPU (docs/BENCHMARKS.md, touch to frame); these are the drawing habits that
made each frame several times dearer than its content, checked on the real app's canvas and pixels.
"""

from __future__ import annotations

from PIL import Image

from tests.support import backend_ready, wait_for
from tests.ui.test_filing import open_filing


def instructions(group):
    for instruction in group.children:
        yield instruction
        if hasattr(instruction, "children"):
            yield from instructions(instruction)


def stencils_drawn() -> list[str]:
    from kivy.core.window import Window

    return [type(i).__name__ for i in instructions(Window.canvas) if type(i).__name__.startswith("Stencil")]


def test_no_multisampling_no_stencil_on_the_citizen_screens(kiosk):
    from kivy.config import Config

    assert Config.getint("graphics", "multisamples") == 0
    assert stencils_drawn() == []
    for flow in ("queue", "lookup", "survey"):
        kiosk.tap(kiosk.app.manager.get_screen("home").ids[flow])
        assert kiosk.screen.name == flow
        assert stencils_drawn() == [], flow
        kiosk.app.go_home()
        kiosk.frames(2)
    screen = open_filing(kiosk)
    kiosk.tap(list(reversed(screen.ids.events.children))[0])
    assert screen.state == "results" and stencils_drawn() == []


def test_a_touch_that_opens_a_screen_leaves_only_that_screen_to_draw(kiosk):
    from kivy.tests.common import UnitTestTouch

    home = kiosk.screen
    x, y = home.ids.queue.to_window(*home.ids.queue.center)
    touch = UnitTestTouch(x, y)
    touch.touch_down()
    touch.touch_up()  # the switch happens here, before the next frame is drawn
    manager = kiosk.app.manager
    assert manager.current == "queue"
    assert manager.children == [manager.get_screen("queue")]
    assert home.parent is None


def test_the_idle_overlay_is_drawn_only_while_it_shows(kiosk):
    overlay = kiosk.app.idle_overlay
    assert overlay.parent is None
    kiosk.app.go("pin")
    kiosk.clock.advance(kiosk.app.core.config.session.idle_warning_s + 1)
    kiosk.until(lambda: overlay.opacity == 1, "the idle warning")
    assert overlay.parent is kiosk.app.root and kiosk.app.root.children[0] is overlay.__self__  # on top
    kiosk.app.go_home()
    kiosk.frames(2)
    assert overlay.parent is None


def test_a_scrolled_list_stays_inside_its_box(kiosk):
    """The catalogue scrolled half-way: its tiles must not cover the top bar above it (scissor, not stencil)."""
    backend_ready(kiosk)
    screen = open_filing(kiosk)
    top_bar = next(w for w in screen.walk() if type(w).__name__ == "TopBar")
    scroll = next(w for w in screen.walk() if type(w).__name__ == "ClippedScrollView")
    assert wait_for(kiosk, lambda: scroll.viewport_size[1] > scroll.height * 1.2)  # taller than its box
    scroll.scroll_y = 0.5
    shot = Image.open(kiosk.screenshot("filing-catalogue-scrolled")).convert("RGB")
    primary = tuple(round(c * 255) for c in kiosk.app.theme.primary[:3])
    bar_x, bar_y = top_bar.to_window(top_bar.x, top_bar.y)
    left, right = bar_x + top_bar.ids.back.width + 20, bar_x + top_bar.width / 2 - 200  # between Back and the title
    rows = range(round(shot.height - bar_y - top_bar.height + 6), round(shot.height - bar_y - 2), 6)  # PNG: top down
    colours = {shot.getpixel((x, y)) for x in range(round(left), round(right), 7) for y in rows}
    assert all(max(abs(a - b) for a, b in zip(colour, primary, strict=True)) <= 2 for colour in colours), colours
    box = scroll._scissor
    x, y = scroll.to_window(scroll.x, scroll.y)
    assert (box.x, box.y, box.width, box.height) == (round(x), round(y), round(scroll.width), round(scroll.height))
    scroll.scroll_y = 1
