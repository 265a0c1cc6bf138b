"""Priority groups served before others (Vietnamese practice at one-stop centres) and the fairness policy.

Priority tickets are called first, but at most ``max_in_row`` of them in a row at one counter while ordinary
tickets wait, so a steady stream of priority arrivals cannot starve everybody else.
"""

from __future__ import annotations

PRIORITY_LABELS: dict[str, tuple[str, str]] = {
    "elderly": ("Người cao tuổi", "Elderly person"),
    "disabled": ("Người khuyết tật", "Person with a disability"),
    "pregnant": ("Phụ nữ mang thai", "Pregnant woman"),
    "merit": ("Người có công với cách mạng", "Person of merit to the revolution"),
    "child_under_6": ("Người đi cùng trẻ em dưới 6 tuổi", "Person with a child under 6"),
    "booking": ("Đặt lịch trước", "Booked in advance"),
}
PRIORITY_CODES = tuple(PRIORITY_LABELS)


def choose_priority(streak: int, max_in_row: int, priority_waiting: bool, normal_waiting: bool) -> bool:
    """Whether the next call goes to a priority ticket, given the counter's current run of priority calls."""
    if not priority_waiting:
        return False
    return streak < max_in_row or not normal_waiting
