"""What the screens show, as small frozen dataclasses already in the citizen's language.

:class:`kiosk.core.KioskCore` builds these from its flows and hands them to the screens (as return values or in
events); a screen copies them into its widgets and never reads a flow, a config section or a device itself. Each
module serves one part of the kiosk; the builders are pure functions, so every text is testable without Kivy.
"""
