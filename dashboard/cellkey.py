"""The cell-key method (SPEC §4; ABS TableBuilder, ONS Cantabular): small zero-mean noise on
every count of distinct men a leadership user receives, the same for the same set of men.

Every member holds a secret random record key (`member.record_key`, in [1, 2**40), never
sent). A cell's key is the sum of its men's record keys modulo 2**40, scaled to [0, 1): the
same men always give the same cell key, and any other set of men an unrelated one. The
perturbation table turns (count, cell key) into an adjustment:

| count n            | adjustment: probability                       |
|--------------------|-----------------------------------------------|
| 0                  | 0 (an empty cell stays empty)                 |
| 1 .. k-1           | hidden anyway (`<k`); no adjustment           |
| k and above        | -2, -1, 0, +1, +2: 1/5 each (mean 0, variance 2) |

A perturbed count below k is shown as `<k`, like an exact one. Because two cells hold
different men, their adjustments are independent: the difference of two protected counts
equals the difference of the exact counts only when both adjustments are equal, with
probability 1/5 (the sum of the squared probabilities). That is the rate the project's
attack test holds leadership to.
"""

from __future__ import annotations

import secrets

KEY_SPACE = 2**40
ADJUSTMENTS = (-2, -1, 0, 1, 2)  # equally likely, from the cell key
EXACT_DIFFERENCE_RATE = sum((1 / len(ADJUSTMENTS)) ** 2 for _ in ADJUSTMENTS)  # 0.2


KEY_SUFFIX = "__cellkey"


def key_column(count: str) -> str:
    """Where a metric puts the cell key (its men's key sum) of its count `count`."""
    return count + KEY_SUFFIX


def without_keys(figures: dict) -> dict:
    """A metric's figures without their cell keys (for exact outputs such as `summary`)."""
    return {k: v for k, v in figures.items() if not k.endswith(KEY_SUFFIX)}


def new_record_key() -> int:
    """A member's secret record key."""
    return 1 + secrets.randbelow(KEY_SPACE - 1)


def cell_key(key_sum: int | None) -> float:
    """A cell's key in [0, 1) from the sum of its men's record keys."""
    return ((key_sum or 0) % KEY_SPACE) / KEY_SPACE


def adjustment(count: int, key: float, threshold: int) -> int:
    """The table's adjustment for a cell of `count` men with cell key `key`."""
    if count < threshold:
        return 0
    return ADJUSTMENTS[min(int(key * len(ADJUSTMENTS)), len(ADJUSTMENTS) - 1)]


def perturb(count: int, key: float, threshold: int) -> int:
    """The protected count: exact count plus its adjustment (never below zero)."""
    return max(0, count + adjustment(count, key, threshold))
