"""Priority categories served before others (Vietnamese practice at one-stop centres) and the fairness policy.

The law gives priority to the elderly, people with disabilities, pregnant women, people of merit to the
revolution and children under 6 (with the adult accompanying them); centres also call citizens who booked online
ahead of walk-ins. Priority tickets are called first, but at most ``max_in_row`` of them in a row at one counter
while ordinary tickets wait, so a steady stream of priority arrivals cannot starve everybody else.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PriorityCategory:
    code: str
    label_vi: str
    label_en: str

    def label(self, lang: str) -> str:
        return self.label_en if lang == "en" else self.label_vi


PRIORITY_CATEGORIES: tuple[PriorityCategory, ...] = (
    PriorityCategory("elderly", "Người cao tuổi", "Elderly person"),
    PriorityCategory("disabled", "Người khuyết tật", "Person with a disability"),
    PriorityCategory("pregnant", "Phụ nữ mang thai", "Pregnant woman"),
    PriorityCategory("merit", "Người có công với cách mạng", "Person of merit to the revolution"),
    PriorityCategory("child_under_6", "Trẻ em dưới 6 tuổi", "Child under 6 (with an adult)"),
    PriorityCategory("booking", "Đặt lịch trước", "Booked online"),
    PriorityCategory("help", "Cần hỗ trợ", "Needs help"),  # the home screen's help button (help desk)
)
KIOSK_ASSIGNED = ("booking", "help")  # given by the kiosk itself, never chosen from the priority list
PRIORITY_CODES: tuple[str, ...] = tuple(category.code for category in PRIORITY_CATEGORIES)


def choose_priority(streak: int, max_in_row: int, priority_waiting: bool, normal_waiting: bool) -> bool:
    """Whether the next call goes to a priority ticket, given the counter's current run of priority calls.

    After ``max_in_row`` priority calls one ordinary ticket goes next, if one waits; with nobody ordinary waiting
    the priority line keeps going.
    """
    if not priority_waiting:
        return False
    return streak < max_in_row or not normal_waiting
