"""The catalogue of figures: one entry per figure of SPEC §3, read by every page, report and
download for its label, definition, kind, privacy base and display format.

A figure's *kind* says what it counts, and so how the privacy gate treats it:
- `men`: a count of distinct men (protected: `<k` below the threshold, cell-key for leadership);
- `sessions`: a count of sessions (not about men: never hidden);
- `rows`, `hours`, `ratio`, `share`, `mean`, `change`, `survival`: derived from the men of its
  *base* (another figure of kind `men`): hidden when that base is hidden or below k.

Definitions are templates filled from the settings (`{window}` weeks, `{completion}` share), so
a setting changed in the environment changes the sentence users read.
"""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.wording import signed

MEN = "men"
SESSIONS = "sessions"
ROWS = "rows"
HOURS = "hours"
RATIO = "ratio"
SHARE = "share"
MEAN = "mean"
CHANGE = "change"
SURVIVAL = "survival"
KINDS = (MEN, SESSIONS, ROWS, HOURS, RATIO, SHARE, MEAN, CHANGE, SURVIVAL)


@dataclass(frozen=True)
class Figure:
    """One figure: what users read about it, how it is shown and what protects it."""

    key: str
    label: str
    definition: str
    kind: str
    base: str | None = None  # the `men` figure it rests on (None: it is a count itself)
    metric: str | None = None  # the function of dashboard.metrics that computes it
    digits: int = 0  # decimals shown

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"figure {self.key}: unknown kind {self.kind!r}")
        if self.kind not in (MEN, SESSIONS) and self.base is None:
            raise ValueError(
                f"figure {self.key}: kind {self.kind!r} needs the count of men it rests on"
            )

    @property
    def counts_men(self) -> bool:
        return self.kind == MEN

    @property
    def reads(self) -> tuple[str, ...]:
        """The stored data its metric reads (keys of SOURCES), so that a cold figure costs
        what its answer costs, not what the history costs (issue 14)."""
        return FIGURE_READS.get(self.key) or (READS[self.metric] if self.metric else ())


# What a figure's metric reads. The summaries are derived from the raw rows and kept in step
# by every write (dashboard/derived.py); a period reads the summary rows of its whole fiscal
# years, quarters and months and the raw rows of the days at its edges only
# (queries.attendance_rows).
SOURCES = {
    "attendance_summary": "attendance summaries",
    "member_spans": "member spans",
    "survey_pair": "survey pairs",
    "session": "sessions",
    "attendance": "attendance rows",
    "enrollment": "enrolments",
    "presence": "presences",
}
READS: dict[str, tuple[str, ...]] = {
    "sessions_held": ("session",),
    "outputs": ("attendance_summary", "member_spans", "session"),
    "new_members": ("member_spans",),
    "group_table": ("attendance_summary", "session"),
    "weekly_heatmap": ("attendance",),
    "member_dosage": ("enrollment", "session", "presence"),
    "completion": ("enrollment",),
    "active_members": ("attendance_summary",),
    "at_risk_members": ("attendance",),
    "retention_at": ("member_spans",),
    "retention": ("member_spans",),
    "survival_curves": ("member_spans",),
    "cohort_matrix": ("member_spans", "attendance_summary"),
    "survey_change": ("survey_pair",),
    "score_distribution": ("survey_pair",),
    "item_shares": ("survey_pair",),
    "headline": ("attendance_summary", "member_spans", "survey_pair"),
}
# Figures that read only part of what their metric reads.
FIGURE_READS: dict[str, tuple[str, ...]] = {
    "cancelled": ("session",),
    **dict.fromkeys(
        (
            "men_reached",
            "attendance",
            "attendance_hours",
            "attendance_rate",
            "excused",
            "excused_rate",
        ),
        ("attendance_summary",),
    ),
    "average_attendance": ("attendance_summary", "session"),
    "capacity_use": ("attendance_summary", "session"),
}


# In a row of one session each attendance record is a different man, so these counts of
# records are counts of men there (like the heatmap's `present_men`): {figure: the count of
# men it then equals}. The gate protects them as such in rows of one session, and withholds
# the figures derived from the same men, which would give the exact count back.
MEN_IN_ONE_SESSION = {"attendance": "men_reached", "excused": "excused"}


def _entries(*figures: Figure) -> dict[str, Figure]:
    return {figure.key: figure for figure in figures}


FIGURES: dict[str, Figure] = _entries(
    # Outputs (what the programs did)
    Figure(
        "sessions_held",
        "Sessions held",
        "Group sessions held in the period; cancelled ones are not counted.",
        SESSIONS,
        metric="sessions_held",
    ),
    Figure(
        "cancelled",
        "Sessions cancelled",
        "Sessions in the period marked cancelled.",
        SESSIONS,
        metric="group_table",
    ),
    Figure(
        "men_reached",
        "Men reached",
        "Different men who attended at least one session in the period.",
        MEN,
        metric="outputs",
    ),
    Figure(
        "new_members",
        "New members",
        "Men reached whose first session ever was in the period.",
        MEN,
        metric="new_members",
    ),
    Figure(
        "attendance",
        "Attendance",
        "Attendances ('present' records) in the period.",
        ROWS,
        base="men_reached",
        metric="outputs",
    ),
    Figure(
        "average_attendance",
        "Average attendance",
        "Attendances per session held.",
        RATIO,
        base="men_reached",
        metric="outputs",
        digits=1,
    ),
    Figure(
        "attendance_hours",
        "Attendance-hours",
        "Hours men spent in sessions: every attendance counts the session's length.",
        HOURS,
        base="men_reached",
        metric="outputs",
    ),
    Figure(
        "attendance_rate",
        "Attendance rate",
        "Presents among the recorded attendance of sessions held (present, excused and absent).",
        SHARE,
        base="men_reached",
        metric="outputs",
    ),
    Figure(
        "excused",
        "Excused absences",
        "Absences marked 'excused' in sessions held.",
        ROWS,
        base="men_reached",
        metric="outputs",
    ),
    Figure(
        "excused_rate",
        "Excused rate",
        "Excused absences among the recorded attendance of sessions held.",
        SHARE,
        base="men_reached",
        metric="outputs",
    ),
    Figure(
        "capacity_use",
        "Capacity use",
        "Average attendance as a share of the group's capacity.",
        SHARE,
        base="men_reached",
        metric="group_table",
    ),
    Figure(
        "present_men",
        "Men present",
        "Attendances ('present' records) in one group's sessions of one week: with one "
        "session a week, the men present that week (protected as a count of men).",
        MEN,
        metric="weekly_heatmap",
    ),
    Figure(
        "dosage",
        "Dosage",
        "Sessions a man attended / sessions held in his groups while he was enrolled.",
        SHARE,
        base="dosage_men",
        metric="member_dosage",
    ),
    Figure(
        "dosage_men",
        "Men with a dosage",
        "Men enrolled in the selected groups while sessions were held.",
        MEN,
        metric="member_dosage",
    ),
    Figure(
        "completion_base",
        "Men ending a fixed-length group",
        "Different men whose place "
        "in a fixed-length program (e.g. a 10-session Men's Well-Being Group) ended in the "
        "period.",
        MEN,
        metric="completion",
    ),
    Figure(
        "completion_enrolments",
        "Places ended",
        "Places (enrollments) in fixed-length programs that ended in the period.",
        ROWS,
        base="completion_base",
        metric="completion",
    ),
    Figure(
        "completion_rate",
        "Completion rate",
        "Share of those places where the man "
        "attended at least {completion} of the program's sessions.",
        SHARE,
        base="completion_base",
        metric="completion",
    ),
    # Retention
    Figure(
        "active_members",
        "Active members",
        "Men with a 'present' in the {window} weeks up to the period's last day "
        "(or the data's last day, if earlier).",
        MEN,
        metric="active_members",
    ),
    Figure(
        "at_risk",
        "Members at risk",
        "Active men with no 'present' in the last 3 weeks.",
        MEN,
        metric="at_risk_members",
    ),
    Figure(
        "retention_base",
        "New members followed",
        "New members of the period, followed to "
        "the data's end (the base of the retention estimates).",
        MEN,
        metric="retention_at",
    ),
    Figure(
        "retention_12w",
        "Retention at 12 weeks",
        "Kaplan-Meier estimate: share of the period's new members still coming 12 weeks on.",
        SURVIVAL,
        base="retention_base",
        metric="retention_at",
    ),
    Figure(
        "retention_4w",
        "Retention at 4 weeks",
        "Kaplan-Meier estimate: share of the period's new members still coming 4 weeks on.",
        SURVIVAL,
        base="retention_base",
        metric="retention",
    ),
    Figure(
        "retention_26w",
        "Retention at 26 weeks",
        "Kaplan-Meier estimate: share of the period's new members still coming 26 weeks on.",
        SURVIVAL,
        base="retention_base",
        metric="retention",
    ),
    Figure(
        "retention_52w",
        "Retention at 52 weeks",
        "Kaplan-Meier estimate: share of the period's new members still coming 52 weeks on.",
        SURVIVAL,
        base="retention_base",
        metric="retention",
    ),
    Figure(
        "survival_curve",
        "Still coming (Kaplan-Meier)",
        "Share of the period's new members still coming that many weeks after their first "
        "session, with its 95% confidence band; a man lapses at his last 'present' when no "
        "'present' follows within {window} weeks, and a man still coming at the data's end is "
        "counted as followed so far (censored).",
        SURVIVAL,
        base="retention_base",
        metric="survival_curves",
    ),
    Figure(
        "at_risk_number",
        "Numbers at risk",
        "Men of the curve still followed at that time.",
        MEN,
        metric="survival_curves",
    ),
    Figure(
        "cohort_size",
        "Cohort size",
        "Men whose first 'present' fell in that month or quarter.",
        MEN,
        metric="cohort_matrix",
    ),
    Figure(
        "cohort_present",
        "Cohort members coming",
        "Men of the cohort with a 'present' that many months or quarters after joining.",
        MEN,
        metric="cohort_matrix",
    ),
    Figure(
        "cohort_share",
        "Still coming",
        "Share of the cohort with a 'present' that many months or quarters after joining.",
        SHARE,
        # The share reveals the men counted in it: it rests on them (fewer than the cohort).
        base="cohort_present",
        metric="cohort_matrix",
    ),
    # Outcomes (what changed for the men)
    Figure(
        "matched_pairs",
        "Matched pairs",
        "Men with a baseline survey and a later one on "
        "this scale, the later one in the period; each counts in his home network.",
        MEN,
        metric="survey_change",
    ),
    Figure(
        "mean_baseline",
        "Mean at baseline",
        "Average baseline score of the matched pairs.",
        MEAN,
        base="matched_pairs",
        metric="survey_change",
        digits=1,
    ),
    Figure(
        "mean_later",
        "Mean later",
        "Average later score of the matched pairs.",
        MEAN,
        base="matched_pairs",
        metric="survey_change",
        digits=1,
    ),
    Figure(
        "mean_change",
        "Mean change (95% CI)",
        "Average of later score minus baseline score, with its 95% confidence interval.",
        CHANGE,
        base="matched_pairs",
        metric="survey_change",
        digits=2,
    ),
    Figure(
        "ci_low",
        "95% CI, low end",
        "Low end of the mean change's 95% confidence interval (paired t).",
        CHANGE,
        base="matched_pairs",
        metric="survey_change",
        digits=2,
    ),
    Figure(
        "ci_high",
        "95% CI, high end",
        "High end of the mean change's 95% confidence interval (paired t).",
        CHANGE,
        base="matched_pairs",
        metric="survey_change",
        digits=2,
    ),
    Figure(
        "d_z",
        "Effect size d_z",
        "Mean change divided by the standard deviation of the changes (paired effect size).",
        CHANGE,
        base="matched_pairs",
        metric="survey_change",
        digits=2,
    ),
    Figure(
        "share_improved",
        "Reliably improved",
        "Share of pairs whose score moved the "
        "better way by more than measurement error (Jacobson-Truax reliable change).",
        SHARE,
        base="matched_pairs",
        metric="survey_change",
    ),
    Figure(
        "share_unchanged",
        "No reliable change",
        "Share of pairs whose change is within measurement error.",
        SHARE,
        base="matched_pairs",
        metric="survey_change",
    ),
    Figure(
        "share_worse",
        "Reliably worse",
        "Share of pairs whose score moved the worse way by more than measurement error.",
        SHARE,
        base="matched_pairs",
        metric="survey_change",
    ),
    Figure(
        "score_share",
        "Share of matched men",
        "Share of the matched pairs whose baseline (or later) score falls in that range.",
        SHARE,
        base="matched_pairs",
        metric="score_distribution",
    ),
    Figure(
        "item_answers",
        "Men answering the item",
        "Matched men who answered that item in their baseline (or later) survey.",
        MEN,
        metric="item_shares",
    ),
    Figure(
        "item_share",
        "Share of answers",
        "Share of the men answering an item whose answer was below, at or above the middle "
        "of the answer scale (answers as given, before reverse-scoring).",
        SHARE,
        base="item_answers",
        metric="item_shares",
    ),
    Figure(
        "wellbeing_pairs",
        "Well-being pairs",
        "Matched SWEMWBS pairs of the period.",
        MEN,
        metric="headline",
    ),
    Figure(
        "wellbeing_improved",
        "Reliably improved well-being",
        "Share of matched SWEMWBS pairs whose change is reliable (Jacobson-Truax) and upward.",
        SHARE,
        base="wellbeing_pairs",
        metric="headline",
    ),
)

# Counts of matched pairs: what rests on them needs SURVEY_MIN_PAIRS pairs (SPEC §4).
SURVEY_BASES = ("matched_pairs", "wellbeing_pairs", "item_answers")

# The survey figures of one instrument, in the order tables show them.
SURVEY_KEYS = (
    "matched_pairs",
    "mean_baseline",
    "mean_later",
    "mean_change",
    "ci_low",
    "ci_high",
    "d_z",
    "share_improved",
    "share_unchanged",
    "share_worse",
)


def figure(key: str) -> Figure:
    """The catalogue entry of `key` (a KeyError names a figure missing from the catalogue)."""
    try:
        return FIGURES[key]
    except KeyError:
        raise KeyError(f"figure {key!r} is not in the catalogue (dashboard/catalogue.py)") from None


def label(key: str) -> str:
    return figure(key).label


def definition(key: str, settings=None) -> str:
    """The sentence users read, with the settings it depends on filled in."""
    window = getattr(settings, "active_window_weeks", 8)
    completion = getattr(settings, "completion_threshold", 0.7)
    return figure(key).definition.format(window=window, completion=f"{completion:.0%}")


def roles(columns: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """For a table whose columns hold figures ({column: figure key}): the columns counting men,
    and {derived column: the column holding its base}. A base absent from the table is looked
    for under its own key (tables often carry their base as a plain column)."""
    column_of = {key: column for column, key in columns.items()}
    counts, derived = [], {}
    for column, key in columns.items():
        entry = figure(key)
        if entry.counts_men:
            counts.append(column)
        elif entry.base is not None:
            derived[column] = column_of.get(entry.base, entry.base)
    return counts, derived


def rounded(key: str, value) -> int | float | None:
    """The number a file (CSV, XLSX) carries: to the decimals it is shown with, so it agrees
    with its text (a share of 67.89% shown as "68%" is 0.68); counts whole; None as None."""
    if value is None:
        return None
    entry = figure(key)
    if entry.kind in (MEN, SESSIONS, ROWS):
        return int(value)
    digits = entry.digits + 2 if entry.kind in (SHARE, SURVIVAL) else entry.digits
    return round(float(value), digits) if digits else round(float(value))


def format_value(key: str, value, hidden_text: str = "—") -> str:
    """How a figure's value reads on screen and in files: `hidden_text` when withheld."""
    if value is None:
        return hidden_text
    entry = figure(key)
    if entry.kind in (SHARE, SURVIVAL):
        return f"{value:.{entry.digits}%}"
    if entry.kind == CHANGE:
        return signed(value, entry.digits)  # never "-0.00"
    if entry.kind in (RATIO, MEAN):
        return f"{value:,.{entry.digits}f}"
    return f"{value:,.0f}"


# The catalogue's parts, each from its first figure on in FIGURES' order: how the definitions
# page and docs/definitions.md group the figures (a figure added inside a part joins it).
SECTIONS = (
    ("Outputs: what the programs did", "sessions_held"),
    ("Retention", "active_members"),
    ("Outcomes: what changed for the men", "matched_pairs"),
)


def sections() -> list[tuple[str, list[Figure]]]:
    """The figures by part of the catalogue, in the catalogue's order."""
    keys = list(FIGURES)
    starts = [keys.index(first) for _, first in SECTIONS] + [len(keys)]
    return [
        (title, [FIGURES[key] for key in keys[start:stop]])
        for (title, _), start, stop in zip(SECTIONS, starts, starts[1:], strict=False)
    ]
