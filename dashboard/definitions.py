"""The catalogue of figures as people read it: the `/definitions` page and
docs/definitions.md (`python -m dashboard definitions`) are rendered from these rows."""

from __future__ import annotations

from dashboard import catalogue

# What each kind of figure is, in words.
KIND_TEXT = {
    catalogue.MEN: "count of men",
    catalogue.SESSIONS: "count of sessions",
    catalogue.ROWS: "count of records",
    catalogue.HOURS: "hours",
    catalogue.RATIO: "ratio",
    catalogue.SHARE: "share (%)",
    catalogue.MEAN: "mean score",
    catalogue.CHANGE: "change in score",
    catalogue.SURVIVAL: "survival estimate (%)",
}
SOURCE = "python -m dashboard definitions > docs/definitions.md"


def privacy(entry: catalogue.Figure, settings=None) -> str:
    """How the privacy gate treats a figure (SPEC §4), in one sentence."""
    k = getattr(settings, "suppression_threshold", 5)
    pairs = getattr(settings, "survey_min_pairs", 10)
    if entry.kind == catalogue.SESSIONS:
        return "Not about men: never hidden."
    if entry.counts_men:
        text = (
            f"Shown as <{k} below {k} men; leadership and funders get a cell-key protected count."
        )
        if entry.key in catalogue.SURVEY_BASES:
            text += f" Figures resting on it need {pairs} or more for leadership and funders."
        return text
    base = catalogue.figure(entry.base)
    return f"Rests on {base.label}: hidden when that count is below {k} or hidden."


def rows(settings=None) -> list[tuple[str, list[dict]]]:
    """Every catalogue figure by part: key, label, definition (with these settings), kind and
    privacy, as the page and the docs show them."""
    return [
        (
            title,
            [
                {
                    "key": entry.key,
                    "label": entry.label,
                    "definition": catalogue.definition(entry.key, settings),
                    "kind": KIND_TEXT[entry.kind],
                    "privacy": privacy(entry, settings),
                    "reads": ", ".join(catalogue.SOURCES[name] for name in entry.reads),
                }
                for entry in figures
            ],
        )
        for title, figures in catalogue.sections()
    ]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(settings=None) -> str:
    """docs/definitions.md: every figure's label, definition, kind, privacy base and the
    stored data it is computed from."""
    window = getattr(settings, "active_window_weeks", 8)
    completion = getattr(settings, "completion_threshold", 0.7)
    k = getattr(settings, "suppression_threshold", 5)
    lines = [
        "# Definitions of the figures",
        "",
        "Every figure the pages, downloads, reports and `summary` show, from the catalogue of "
        "figures (`dashboard/catalogue.py`). The app shows the same list on its `/definitions` "
        "page, with its own settings.",
        "",
        f"Generated, do not edit by hand: `{SOURCE}`. A test fails when this file and the "
        "catalogue differ.",
        "",
        f"Settings assumed here: `ACTIVE_WINDOW_WEEKS` {window}, `COMPLETION_THRESHOLD` "
        f"{completion:.0%}, `SUPPRESSION_THRESHOLD` (k) {k}.",
        "",
        "Privacy (docs/product.md, §4): coordinators (their own networks) and admins see exact "
        f"figures. For leadership and funders a count of men below k is shown as `<{k}`, the "
        "other counts of men are cell-key protected, and a figure resting on a hidden count is "
        "hidden with it.",
        "",
        "Computed from (the *reads* column): *attendance summaries* are the attendance per man, "
        "group and month, quarter or fiscal year, derived from the attendance rows and kept in "
        "step by every import and undo, read for the whole months, quarters and years of a "
        "period (the raw rows for the days at its edges); *member spans* are each man's first "
        "and last present; *survey pairs* each later survey response with the man's first "
        "baseline; *enrolments* carry the sessions held within each and the man's presents "
        "at them, derived and kept in step likewise; *presences* are each man's presents by "
        "group and date, read for the enrolments that cross an edge of the period; "
        "*attendance rows* are the raw rows of the period.",
    ]
    for title, entries in rows(settings):
        lines += [
            "",
            f"## {title}",
            "",
            "| figure | definition | kind | privacy | reads |",
            "|---|---|---|---|---|",
        ]
        for row in entries:
            lines.append(
                f"| **{_cell(row['label'])}** (`{row['key']}`) | {_cell(row['definition'])} "
                f"| {row['kind']} | {_cell(row['privacy'])} | {row['reads']} |"
            )
    return "\n".join(lines) + "\n"
