"""The impact summary as text: what every cell of the page, the PDF, the CSV and the XLSX reads.

Labels, definitions, kinds and formats come from the catalogue (dashboard/catalogue.py); this
module only says which figures each section shows, and how a hidden cell, a confidence interval
and a change from the previous period read. It imports nothing that touches data or Dash, so the
chart builders (charts/impact.py) may use it.
"""

from __future__ import annotations

import pandas as pd

from dashboard import catalogue, wording

COMBINED = "Combined"
TITLE = "Impact summary"
# Short names for headings and chart labels; the instrument's full name is in its table.
SHORT_NAMES = {
    "swemwbs": "Well-being (SWEMWBS)",
    "ucla-3": "Loneliness (UCLA-3)",
    "healthy-relationships": "Healthy relationships",
}
OUTPUTS_TITLE = "Outputs: what the programs did"
OUTCOMES_TITLE = "Outcomes: what changed for the men"

# The figures of each section, in the order they are shown (catalogue keys). Completion shows
# its rate beside the places (enrollments) it is computed over, after the men those places
# belong to (its privacy base): SPEC §3, metrics.completion_figures.
OUTPUT_KEYS = (
    "sessions_held",
    "men_reached",
    "new_members",
    "attendance_hours",
    "completion_base",
    "completion_enrolments",
    "completion_rate",
)
OUTCOME_KEYS = (
    "matched_pairs",
    "mean_change",
    "ci_low",
    "ci_high",
    "share_improved",
    "share_unchanged",
    "share_worse",
)
# In the files, not as rows of their own on the page or in the PDF: the interval is shown
# inside the mean change's cell.
NOT_SHOWN = frozenset({"ci_low", "ci_high"})


def figure_entry(key: str, settings=None, show: bool = True) -> dict:
    """One figure of a section as the views read it: the catalogue's label, kind and definition
    (filled from the settings), and whether it has a row of its own."""
    entry = catalogue.figure(key)
    return {
        "key": key,
        "label": entry.label,
        "kind": entry.kind,
        "definition": catalogue.definition(key, settings),
        "show": show,
    }


def section_figures(keys, settings=None) -> list[dict]:
    return [figure_entry(key, settings, key not in NOT_SHOWN) for key in keys]


def section(figures: dict, section_id: str) -> dict:
    return next(s for s in figures["sections"] if s["id"] == section_id)


def describe_selection(f, columns: list[str]) -> str:
    names = [c for c in columns if c != COMBINED]
    text = " and ".join(names) if names else "No network"
    extra = [
        (label, values)
        for label, values in (
            ("groups", f.groups),
            ("program types", [wording.program_label(p) for p in f.program_types]),
            ("age bands", f.age_bands),
            ("communities", f.communities),
        )
        if values
    ]
    for label, values in extra:
        text += f"; {label}: {', '.join(values)}"
    return text


# --- Values as text ---


def change_digits(value: float, most: int | None = None) -> int:
    """Changes under 1 point (e.g. on a 1-5 mean-scored scale) get two decimals, larger ones
    one: the report's rule for the catalogue's `change` figures; never more than `most` (the
    decimals the privacy gate left, figures["change_digits"])."""
    digits = 2 if abs(value) < 1 else 1
    return digits if most is None else min(digits, most)


def change_format(figures: dict, value: float) -> str:
    """A change in score as text, e.g. +0.42 or -1.3."""
    return wording.signed(value, change_digits(value, figures.get("change_digits")))


def hidden_text(key: str, note: str | None, threshold: int) -> str:
    """A hidden cell: `<k` for a count of men below k; a dash for anything else, including a
    count hidden to protect another (it is not below k, so `<k` would be untrue)."""
    small = note is not None and note.startswith("fewer than")
    return f"<{threshold}" if small and catalogue.figure(key).counts_men else "—"


def shown(
    value, key: str, note: str | None = None, threshold: int = 5, most: int | None = None
) -> str:
    """A figure as text, in the catalogue's format (`key`: a catalogue key; `most`: at most
    this many decimals for a change)."""
    if value is None:
        return hidden_text(key, note, threshold)
    if catalogue.figure(key).kind == catalogue.CHANGE:
        return wording.signed(value, change_digits(value, most))
    return catalogue.format_value(key, value)


def cell(
    figures: dict, section_id: str, column: str, key: str, period: str = "current"
) -> tuple[str, str | None]:
    """(text, why hidden or None) of one figure in one column."""
    part = section(figures, section_id)
    value = part[period].get(column, {}).get(key)
    note = part["notes"][period].get(column, {}).get(key)
    text = shown(value, key, note, figures["threshold"], figures.get("change_digits"))
    if key == "mean_change" and value is not None:
        low = part[period][column].get("ci_low")
        high = part[period][column].get("ci_high")
        if low is not None and high is not None:
            digits = change_digits(value, figures.get("change_digits"))
            text += f" ({wording.signed(low, digits)} to {wording.signed(high, digits)})"
    return text, note


def change_text(figures: dict, section_id: str, column: str, key: str) -> str:
    """The change from the previous period, in the figure's own units."""
    part = section(figures, section_id)
    kind = catalogue.figure(key).kind
    now = part["current"].get(column, {}).get(key)
    before = part["previous"].get(column, {}).get(key)
    if now is None or before is None:
        return "no comparison"
    diff = now - before
    if kind in (catalogue.SHARE, catalogue.SURVIVAL):
        return wording.points(diff * 100)
    if kind == catalogue.CHANGE:
        return change_format(figures, diff)
    text = wording.signed(diff)
    if before:
        text += f" ({wording.signed_percent(diff / before)})"
    return text


def suppression_note(figures: dict) -> str:
    k = figures["threshold"]
    if figures["suppressed"]:
        return (
            f"To protect the men's privacy, a count of fewer than {k} men shows as <{k}, "
            f"and a share, average or change based on fewer than {k} men shows as —. "
            "Where one network's figure is hidden, another is hidden too so that it "
            "can't be worked out from the combined total."
        )
    return "Exact figures (not suppressed): for internal use only, not for distribution."


# --- Every figure as a row (the CSV and XLSX) ---


def figure_rows(figures: dict) -> pd.DataFrame:
    """Every figure behind the summary, one row per period, section, figure and column."""
    rows = []
    for part in figures["sections"]:
        for period in ("current", "previous"):
            when = figures["period" if period == "current" else "previous"]
            for figure in part["figures"]:
                key = figure["key"]
                for column in figures["columns"]:
                    value = part[period].get(column, {}).get(key)
                    note = part["notes"][period].get(column, {}).get(key)
                    rows.append(
                        {
                            "period": when["label"],
                            "from": when["start"].isoformat(),
                            "to": when["end"].isoformat(),
                            "section": "Outputs"
                            if part["instrument"] is None
                            else f"Outcome: {part['title']}",
                            "figure": figure["label"],
                            "network": column,
                            "value": catalogue.rounded(key, value),
                            "shown": shown(
                                value, key, note, figures["threshold"], figures.get("change_digits")
                            ),
                            "note": f"hidden: {note}" if note else "",
                            "definition": figure["definition"],
                        }
                    )
    return pd.DataFrame(rows, dtype=object)


def file_stem(figures: dict) -> str:
    period = figures["period"]
    label = period["fiscal"] or f"{period['start']:%Y-%m-%d}_{period['end']:%Y-%m-%d}"
    return f"impact-summary-{label}"
