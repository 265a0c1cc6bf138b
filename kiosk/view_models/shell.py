"""The app shell and the home screen: the header, the idle warning, and the survey's answer."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HomeView:
    branch_unit: str
    branch_name: str
    ticker: str  # the announcements showing now, in one line
    dev_mode: bool  # offer the text box that feeds the scanner simulator


@dataclass(frozen=True)
class IdleStatus:
    """What the idle overlay shows on this tick."""

    warning: bool  # "Bạn có cần thêm thời gian?" is up
    seconds_left: int
    expired: bool  # the session ran out: back to the home screen


@dataclass(frozen=True)
class SurveyOutcome:
    saved: bool
    message: str  # the thank-you, or why the answer could not be kept
