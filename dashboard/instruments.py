"""Survey instruments (data, not code) and the one scoring rule of SPEC §3."""

from __future__ import annotations

import math
from collections.abc import Sequence

from sqlalchemy.orm import Session

from dashboard.models import Instrument

# SWEMWBS raw-sum to metric-score conversion (Stewart-Brown et al. 2009, Rasch conversion
# table published by Warwick Medical School).
SWEMWBS_CONVERSION = {
    7: 7.00,
    8: 9.51,
    9: 11.25,
    10: 12.40,
    11: 13.33,
    12: 14.08,
    13: 14.75,
    14: 15.32,
    15: 15.84,
    16: 16.36,
    17: 16.88,
    18: 17.43,
    19: 17.98,
    20: 18.59,
    21: 19.25,
    22: 19.98,
    23: 20.73,
    24: 21.54,
    25: 22.35,
    26: 23.21,
    27: 24.11,
    28: 25.03,
    29: 26.02,
    30: 27.03,
    31: 28.13,
    32: 29.31,
    33: 30.70,
    34: 32.55,
    35: 35.00,
}

INSTRUMENTS: list[dict] = [
    {
        "id": "swemwbs",
        "name": "Short Warwick-Edinburgh Mental Wellbeing Scale (SWEMWBS)",
        "construct": "well-being",
        "items": [
            "I've been feeling optimistic about the future",
            "I've been feeling useful",
            "I've been feeling relaxed",
            "I've been dealing with problems well",
            "I've been thinking clearly",
            "I've been feeling close to other people",
            "I've been able to make up my own mind about things",
        ],
        "min_answer": 1,
        "max_answer": 5,
        "reverse_items": [],
        "scoring": "sum",
        "conversion": {str(k): v for k, v in SWEMWBS_CONVERSION.items()},
        "higher_is_better": True,
        "alpha": 0.84,
        "alpha_source": "Stewart-Brown et al. (2009), Health Qual Life Outcomes 7:15",
        # No published reference SD (SPEC §3): reliable change uses the SD of all scored
        # baseline responses to the instrument in the database.
        "reference_sd": None,
        "reference_sd_source": None,
    },
    {
        "id": "ucla-3",
        "name": "UCLA 3-item Loneliness Scale",
        "construct": "loneliness",
        "items": [
            "How often do you feel that you lack companionship?",
            "How often do you feel left out?",
            "How often do you feel isolated from others?",
        ],
        "min_answer": 1,
        "max_answer": 3,
        "reverse_items": [],
        "scoring": "sum",
        "conversion": None,
        "higher_is_better": False,
        "alpha": 0.72,
        "alpha_source": "Hughes et al. (2004), Research on Aging 26(6):655-672",
        "reference_sd": None,
        "reference_sd_source": None,
    },
    {
        "id": "healthy-relationships",
        "name": "AMN Healthy Relationships and Gender-Equitable Attitudes (6 items)",
        "construct": "healthy relationships",
        "items": [
            "I can talk about my feelings with the people close to me",
            "When I am angry, I can calm down before I act",
            "Decisions at home should be made together by partners",
            "A man should have the final word in his relationship",  # reverse-scored
            "I ask for consent and respect a no",
            "It is a sign of weakness for a man to ask for help",  # reverse-scored
        ],
        "min_answer": 1,
        "max_answer": 5,
        "reverse_items": [4, 6],
        "scoring": "mean",
        "conversion": None,
        "higher_is_better": True,
        "alpha": 0.80,
        "alpha_source": (
            "Project's planning value: short gender-equitable-attitude scales such as the "
            "GEM Scale short forms (Pulerwitz & Barker 2008, Men and Masculinities 10(3)) "
            "report alphas near 0.8; replace with the network's own estimate from its "
            "baseline responses"
        ),
        "reference_sd": None,
        "reference_sd_source": None,
    },
]


def load_instruments(session: Session) -> None:
    """Insert the shipped instruments, or bring stored ones up to date."""
    for spec in INSTRUMENTS:
        row = session.get(Instrument, spec["id"])
        if row is None:
            session.add(Instrument(**spec))
        else:
            for key, value in spec.items():
                setattr(row, key, value)


def max_missing(n_items: int) -> int:
    """Items a response may miss and still be scored: at most one in five."""
    return n_items // 5


def score_response(answers: Sequence[int | None], instrument: Instrument | dict) -> float | None:
    """Score one response by the instrument's rule; None when too many items are missing.

    Missing items (allowed up to one in five) are replaced by the mean of the answered
    items (prorating), then reverse items are flipped, then summed or averaged, then
    converted through the instrument's table (rounding a prorated sum to the nearest whole).
    """
    get = instrument.get if isinstance(instrument, dict) else lambda k: getattr(instrument, k)
    n_items = len(get("items"))
    low, high = get("min_answer"), get("max_answer")
    reverse = set(get("reverse_items") or [])
    if len(answers) != n_items:
        return None
    values = [
        None if a is None else (low + high - a if i + 1 in reverse else a)
        for i, a in enumerate(answers)
    ]
    answered = [v for v in values if v is not None]
    if n_items - len(answered) > max_missing(n_items) or not answered:
        return None
    item_mean = sum(answered) / len(answered)
    if get("scoring") == "mean":
        return item_mean
    total = item_mean * n_items
    conversion = get("conversion")
    if conversion:
        return float(conversion[str(int(math.floor(total + 0.5)))])
    return total
