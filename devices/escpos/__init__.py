"""ESC/POS printing core: capability profiles, a printable document model, its rendering to bytes, and a preview.

Pure data in, bytes out — no transports here. ``render(doc, profile)`` picks how Vietnamese reaches paper from
the profile (code-page text, raster bands only where needed, or one image); ``preview_image`` interprets any byte
stream back into a picture of the paper, for the simulator and the tests.
"""
