"""Each frame's drawing goes to the renderer when the window flips, as a real display's buffer swap makes it go.

SDL's offscreen driver (a headless kiosk, CI, every bench here) flips without flushing OpenGL, and Mesa's software
renderer (llvmpipe) then keeps binning frame after frame into one scene until the scene reaches its size limit:
a kiosk drawing continuously (the ticker) held 65 to 130 MiB of native memory in drawing commands of frames
long shown, freed only in bursts. heaptrack named it (one 64 KiB block per frame, allocated in the draw call and
alive ~1,000 frames later); a bare Kivy label redrawn 1,500 times holds 80 MiB of heap without a flush per frame
and 16 MiB with one, at the same 17 ms a frame (docs/BENCHMARKS.md, "Soak"). On a real display the swap flushes
anyway, so the extra ``glFlush`` finds nothing to do.
"""

from __future__ import annotations

from kivy.core.window import Window
from kivy.graphics.opengl import glFlush


def flush_each_frame() -> None:
    """Flush OpenGL at every flip of the window (binding twice still flushes once a frame)."""
    Window.unbind(on_flip=_flush)
    Window.bind(on_flip=_flush)


def _flush(*_args: object) -> None:
    glFlush()
